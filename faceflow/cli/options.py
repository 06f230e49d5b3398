"""Options shared by several ``faceflow`` commands, defined once."""

from __future__ import annotations

import argparse

from faceflow.profiles import PROFILES


def add_data_root(p: argparse.ArgumentParser, flag: str = "--data-root") -> None:
    """``--data-root``: the data root (default ``$FACEFLOW_DATA`` or ``./data``)."""
    p.add_argument(flag, dest="data_root", default=None, help="data root (default: $FACEFLOW_DATA or ./data)")


def add_profile(p: argparse.ArgumentParser) -> None:
    """``--profile``: the settings profile (:mod:`faceflow.profiles`)."""
    p.add_argument("--profile", default="default", choices=list(PROFILES), help="settings profile (default: default)")


def add_output_dir(p: argparse.ArgumentParser) -> None:
    """``--output-dir``: where the profile's outputs go (default ``outputs/<profile>``)."""
    p.add_argument("--output-dir", default=None, help="default: outputs/<profile>")


def add_device(p: argparse.ArgumentParser, default: str = "auto") -> None:
    """``--device``: torch device."""
    p.add_argument("--device", default=default, choices=["auto", "cpu", "cuda"])


def add_quiet(p: argparse.ArgumentParser) -> None:
    """``--quiet``: no progress bars."""
    p.add_argument("--quiet", action="store_true", help="no progress bars")
