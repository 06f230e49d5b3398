"""The atomic writer: all-or-nothing files with the usual permissions (issue 14 row 11)."""

from __future__ import annotations

import os
import stat

import pytest

from faceflow.io.atomic import atomic_write, atomic_write_bytes, atomic_write_text, current_umask


@pytest.fixture
def umask():
    """``umask(mask)`` sets the process umask for the test and restores it afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077, 0o002])
def test_written_files_have_the_mode_the_umask_gives(tmp_path, umask, mask):
    umask(mask)
    assert current_umask() == mask
    atomic_write_text(tmp_path / "a.txt", "x")
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o666 & ~mask
    # the same mode as a file made by open(), the behaviour users expect
    (tmp_path / "b.txt").write_text("x")
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == stat.S_IMODE((tmp_path / "b.txt").stat().st_mode)


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.bin"
    atomic_write_bytes(path, b"old")
    with pytest.raises(RuntimeError), atomic_write(path) as fh:
        fh.write(b"half")
        raise RuntimeError("killed")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_missing_parent_folders_are_made(tmp_path):
    atomic_write_text(tmp_path / "x" / "y" / "a.txt", "hi")
    assert (tmp_path / "x" / "y" / "a.txt").read_text() == "hi"
