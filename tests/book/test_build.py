"""Book structure: TOC, chapter notebooks and their parameters cells (fast checks)."""

from __future__ import annotations

import jupytext
import pytest

from faceflow.book.build import default_parameters, notebook_sources, toc_files

REQUIRED_PARAMETERS = ("data_root", "profile", "seed", "device", "output_dir")


def test_toc_entries_exist(repo_root):
    for f in toc_files(repo_root):
        assert (repo_root / f"{f}.md").is_file() or (repo_root / f"{f}.ipynb").is_file(), f


def test_every_notebook_is_in_the_toc(repo_root):
    listed = {p.name for p in notebook_sources(repo_root)}
    on_disk = {p.name for p in (repo_root / "notebooks").glob("*.md")}
    assert on_disk == listed


@pytest.mark.parametrize("path", notebook_sources(), ids=lambda p: p.stem)
def test_notebook_has_parameters_cell(path):
    nb = jupytext.read(path)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path}: needs exactly one cell tagged 'parameters'"
    src = tagged[0].source
    for name in REQUIRED_PARAMETERS:
        assert f"{name} =" in src, f"{path}: parameters cell lacks {name}"
    headings = [l for c in nb.cells if c.cell_type == "markdown" for l in c.source.splitlines() if l.startswith("#")]
    for section in ("## Overview", "## Parameters", "## Summary"):
        assert any(h.startswith(section) for h in headings), f"{path}: missing section {section}"


def test_default_parameters_validate_profile(repo_root):
    assert default_parameters("smoke", repo_root)["output_dir"].endswith("outputs/smoke")
    with pytest.raises(ValueError, match="profile"):
        default_parameters("huge", repo_root)
