"""The "your own video" page (book/own_video.md): every command and the Python example run.

The page's ``bash`` blocks run line by line, as written, in an empty folder holding a short clip
``me.mp4`` (five frames of the OpenFace sample video); its ``python`` block runs after them. The
data root starts empty: ``faceflow data fetch`` on the page downloads what the commands need from
a local copy of the registry's origins (the ``origin`` fixture, 127.0.0.1). Only the install block
(``shell``) is not run: it builds the environment these tests run in.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from faceflow.groundtruth.dataset import COLUMNS

pytestmark = pytest.mark.slow

#: The install block: what ``make venv`` already did for this test session.
INSTALL = ["make venv", "source .venv/bin/activate"]


def page_blocks(page: Path) -> list[tuple[str, str]]:
    """``(language, code)`` of each fenced code block of a MyST page, in order."""
    return re.findall(r"^```(\w+)\n(.*?)^```$", page.read_text(), flags=re.M | re.S)


def page_table_column(page: Path, heading: str) -> list[str]:
    """The backticked names in the first column of the table that follows the line ``heading``."""
    text = page.read_text()
    table = text[text.index(heading) :].split("\n\n")[1]
    names = []
    for row in table.splitlines()[2:]:
        names += re.findall(r"`([^`]+)`", row.split("|")[1])
    return names


def _short_clip(src: Path, dest: Path, frames: int = 5) -> None:
    import cv2

    cap = cv2.VideoCapture(str(src))
    writer = None
    for _ in range(frames):
        ok, frame = cap.read()
        assert ok, f"{src}: fewer than {frames} frames"
        if writer is None:
            size = (frame.shape[1], frame.shape[0])
            writer = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, size)
        writer.write(frame)
    writer.release()
    cap.release()


def test_every_command_of_the_page_runs_on_a_short_clip(tmp_path, repo_root, data_root, origin, serve_samples):
    page = repo_root / "book" / "own_video.md"
    blocks = page_blocks(page)
    assert {lang for lang, _ in blocks} <= {"shell", "bash", "python"}, "a block this test does not know how to run"
    assert [code.split("\n")[:-1] for lang, code in blocks if lang == "shell"] == [INSTALL]
    commands = [line for lang, code in blocks if lang == "bash" for line in code.splitlines() if line.strip()]
    python = [code for lang, code in blocks if lang == "python"]
    assert commands and len(python) == 1

    serve_samples(["weights/raft", "flyingchairs"])
    work = tmp_path / "work"
    work.mkdir()
    _short_clip(data_root / "openface" / "default.wmv", work / "me.mp4")
    env = dict(
        os.environ,
        FACEFLOW_DATA=str(tmp_path / "data"),
        FACEFLOW_DATA_URL=origin.url,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    )
    for command in commands:
        assert command.startswith("faceflow "), command
        run = subprocess.run(command, shell=True, cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, f"{command}\n{run.stdout}\n{run.stderr}"
    run = subprocess.run([sys.executable, "-c", python[0]], cwd=work, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["zero", "farneback", "dis"]
    assert all(re.search(r"EPE \d+\.\d+ px +AAE \d+\.\d+ deg over 4 pairs", line) for line in lines), lines

    # what the page says the commands wrote
    with open(work / "out" / "me" / "manifest.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header == COLUMNS
    assert sorted(page_table_column(page, "The columns of `manifest.csv`:")) == sorted(COLUMNS)
    for name in ("raft.flo", "raft.png", "exp1.flo", "runs/Exp1/last.pt", "out/me/me/frames/0000_000001.png"):
        assert (work / name).is_file(), name
    with open(work / "runs" / "Exp1" / "eval_faces.csv", newline="") as fh:
        eval_columns = next(csv.reader(fh))
    named = re.split(r",\s+", re.search(r"\(columns `([^`]+)`", page.read_text()).group(1))  # a list may wrap
    assert named == eval_columns
