"""The smoke book's tables as CSV, checked against the reference CSVs kept in the project.

``make test`` fails here when any number of any table changed beyond its stated tolerance; the
failure lists (table, row, column, old, new). An intended change is accepted with
``faceflow tables --accept --no-execute`` (after the smoke build) and committed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from faceflow.book import tables
from faceflow.book.build import notebook_sources, stage_dir
from faceflow.book.publish import git_commit

pytestmark = pytest.mark.slow


def test_every_rendered_table_is_written_as_csv_with_profile_seed_and_commit(smoke_book, repo_root):
    folder = stage_dir("smoke", repo_root) / "tables"
    commit = git_commit(repo_root)
    for src in notebook_sources(repo_root):
        page = (smoke_book / "notebooks" / f"{src.stem}.html").read_text()
        shown = len(re.findall(r'<table[^>]*class="[^"]*dataframe', page))
        files = sorted((folder / src.stem).glob("*.csv"))
        assert len(files) == shown, f"{src.stem}: {shown} tables on the page, {len(files)} CSV files"
        for path in files:
            meta, frame = tables.read_table(path)
            assert (meta["profile"], meta["seed"], meta["commit"]) == ("smoke", "0", commit), path
            assert meta["table"] == f"{src.stem}/{path.stem}"
            assert len(frame.columns) >= 1, path
    assert any(folder.glob("03_ablations/table-2*.csv")), "Table 2 was not exported"


def test_smoke_tables_match_the_references(smoke_book, repo_root):
    reference = repo_root / tables.REFERENCE_DIR / "smoke"
    diffs = tables.compare(reference, stage_dir("smoke", repo_root) / "tables", repo_root / tables.TOLERANCES)
    assert not diffs, (
        f"{len(diffs)} table cells differ from {tables.REFERENCE_DIR}/smoke (table | row | column | old | new):\n"
        + "\n".join(d.line() for d in diffs)
        + "\nIf the change is intended: .venv/bin/faceflow tables --accept --no-execute, and commit the CSVs."
    )


def test_no_displayed_table_shows_nan_none_list_reprs_or_raw_floats(smoke_book, repo_root):
    folder = stage_dir("smoke", repo_root) / "tables"
    paths = sorted(folder.glob("*/*.csv"))
    assert paths, f"no table exported under {folder}"
    bad = []
    for path in paths:
        _, frame = tables.read_table(path)
        key = path.relative_to(folder).with_suffix("").as_posix()
        for row, col, cell, why in tables.unreadable_cells(frame):
            bad.append(f"{key} | row {row} | column {col} | {cell!r}: {why}")
    assert not bad, f"{len(bad)} table cells a reader should not see:\n" + "\n".join(bad)


#: The edit that changes one loss weight of the text's Exp1: a cyclic term (lambda2 0 -> 0.5).
EXP1_TEXT = '_TEXT = {\n    "Exp1": dict(\n        lambdas=(1.0, 0.0, 0.0),'
EXP1_CHANGED = '_TEXT = {\n    "Exp1": dict(\n        lambdas=(0.5, 0.5, 0.0),'


def _copy_project(repo_root: Path, dest: Path, out: Path) -> Path:
    """A copy of the project's sources, the smoke stage's executed notebooks and cached outputs ``out``."""
    for name in ("faceflow", "notebooks", "book", "reference"):
        shutil.copytree(repo_root / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(repo_root / name, dest / name)
    stage = stage_dir("smoke", repo_root) / "notebooks"
    (dest / "_build" / "smoke" / "notebooks").mkdir(parents=True)
    for nb in stage.glob("*.ipynb"):
        if nb.name.count(".") == 1:
            shutil.copy2(nb, dest / "_build" / "smoke" / "notebooks" / nb.name)
    (dest / "outputs" / "smoke").mkdir(parents=True)
    (dest / "outputs" / "smoke" / "datasets").symlink_to(out / "datasets")  # read only: the face dataset
    shutil.copytree(out / "runs", dest / "outputs" / "smoke" / "runs")  # unchanged runs are reused
    return dest


def test_a_changed_loss_weight_fails_the_check_with_a_readable_diff(smoke_book, smoke_outputs, repo_root, tmp_path):
    copy = _copy_project(repo_root, tmp_path / "faceflow", smoke_outputs)
    experiments = copy / "faceflow" / "training" / "experiments.py"
    text = experiments.read_text()
    assert text.count(EXP1_TEXT) == 1, "the text's Exp1 loss weights not found in experiments.py: update this test"
    experiments.write_text(text.replace(EXP1_TEXT, EXP1_CHANGED))
    env = dict(os.environ, PYTHONPATH=str(copy))  # the kernels and the CLI import the edited copy
    run = subprocess.run(
        [sys.executable, "-m", "faceflow.cli.main", "tables", "--check", "--only", "03_ablations"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 1, out[-3000:]
    rows = [l for l in run.stdout.splitlines() if l.startswith("  03_ablations/table-2 | row Exp1 | column ")]
    assert rows, out[-3000:]
    old, new = re.search(r"\| old (\S+) \| new (\S+)$", rows[0]).groups()
    assert old != new
    assert "faceflow tables --accept" in run.stdout
