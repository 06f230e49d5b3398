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


def add_convention(p: argparse.ArgumentParser) -> None:
    """``--convention``: where errors are measured (:func:`faceflow.evaluation.evaluate.evaluate`)."""
    p.add_argument(
        "--convention",
        default="paper",
        choices=["paper", "native"],
        help="paper (default): the largest prediction against the ground truth averaged to its grid "
        "(Sec. 5.1); native: the prediction upsampled to the ground truth's resolution",
    )


def add_quiet(p: argparse.ArgumentParser) -> None:
    """``--quiet`` / ``--no-progress`` (the same switch, ``args.quiet``): no progress bars."""
    p.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true", help="no progress bars")


#: Image sides (px) a ``--size`` / ``--resolution`` may ask for: below, nothing of a face is left;
#: above, one frame alone needs gigabytes (the paper works at 384 x 512).
MIN_SIDE, MAX_SIDE = 8, 4096


def image_side(text: str) -> int:
    """argparse ``type``: an image side in pixels, an integer in [:data:`MIN_SIDE`, :data:`MAX_SIDE`]."""
    value = _bounded(text, int, MIN_SIDE, f"an image side in pixels, {MIN_SIDE} to {MAX_SIDE}")
    if value > MAX_SIDE:
        raise argparse.ArgumentTypeError(f"expected an image side in pixels, {MIN_SIDE} to {MAX_SIDE}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse ``type``: an integer >= 1 (counts, steps, sizes)."""
    return _bounded(text, int, 1, "an integer >= 1")


def nonnegative_int(text: str) -> int:
    """argparse ``type``: an integer >= 0 (seeds, offsets)."""
    return _bounded(text, int, 0, "an integer >= 0")


def positive_float(text: str) -> float:
    """argparse ``type``: a finite number > 0 (learning rates, multipliers)."""
    value = _bounded(text, float, 0.0, "a finite number > 0")
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    """argparse ``type``: a finite number >= 0 (thresholds)."""
    return _bounded(text, float, 0.0, "a finite number >= 0")


def unit_float(text: str) -> float:
    """argparse ``type``: a number in [0, 1] (weights, fractions)."""
    value = _bounded(text, float, 0.0, "a number in [0, 1]")
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def _bounded(text: str, kind: type, low, what: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not (value >= low and value != float("inf")):  # also rejects nan
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value
