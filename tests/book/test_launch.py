"""The repository's Binder files, which the chapters' launch buttons rely on (postBuild, start)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from faceflow.book import chapter
from faceflow.book.build import notebook_sources


def test_start_makes_a_launched_chapter_fetch_its_data_into_home(tmp_path, repo_root):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    shown = subprocess.run(["bash", str(repo_root / "start"), "env"], env=env, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    values = dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line)
    assert values[chapter.FETCH_ENV] == "1"
    assert values["FACEFLOW_DATA"] == str(tmp_path / "data")
    env["FACEFLOW_DATA"] = "/elsewhere"  # a data root set on the hub wins
    shown = subprocess.run(["bash", str(repo_root / "start"), "env"], env=env, capture_output=True, text=True)
    assert "FACEFLOW_DATA=/elsewhere" in shown.stdout.splitlines()


def test_post_build_makes_the_notebooks_the_launch_buttons_open(tmp_path, repo_root):
    script = (repo_root / "postBuild").read_text()
    pin = re.search(r"face-alignment==\S+", script).group(0)
    assert pin in (repo_root / "Makefile").read_text(), "postBuild and the Makefile install different face-alignment"
    convert = next(line for line in script.splitlines() if line.startswith("jupytext "))
    shutil.copytree(repo_root / "notebooks", tmp_path / "notebooks")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    run = subprocess.run(["bash", "-c", convert], cwd=tmp_path, env=dict(os.environ, PATH=path), capture_output=True)
    assert run.returncode == 0, run.stderr
    for src in notebook_sources(repo_root):
        assert (tmp_path / "notebooks" / f"{src.stem}.ipynb").is_file(), src.stem
