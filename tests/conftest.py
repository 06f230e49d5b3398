"""Shared fixtures. Tests that need the real sample data use ``data_root`` and skip without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _default_data_root() -> Path | None:
    env = os.environ.get("FACEFLOW_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real sample data root; the test is skipped when it is absent."""
    root = _default_data_root()
    if root is None:
        pytest.skip("real sample data not available (set FACEFLOW_DATA)")
    return root


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
