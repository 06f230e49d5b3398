"""Book structure: TOC, chapter notebooks and their parameters cells (fast checks)."""

from __future__ import annotations

import shutil
import tempfile

import jupytext
import pytest

from faceflow.book.build import (
    chapter_parameters,
    check_parameters,
    default_parameters,
    notebook_sources,
    toc_files,
    typed_parameter,
)

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


@pytest.mark.parametrize("path", notebook_sources(), ids=lambda p: p.stem)
def test_every_chapter_ends_with_exercises_that_each_have_a_solution(path):
    """Issue 16: an Exercises section after the Summary; every exercise label has its solution."""
    import re

    text = path.read_text()
    assert "## Exercises" in text and text.index("## Exercises") > text.index("## Summary"), path
    exercises = re.findall(r":::\{exercise\}\n:label: (\S+)", text)
    solved = re.findall(r":::\{solution(?:-start)?\} (\S+)", text)
    assert exercises and sorted(exercises) == sorted(solved), (path, exercises, solved)


def test_default_parameters_validate_profile(repo_root):
    assert default_parameters("smoke", repo_root)["output_dir"].endswith("outputs/smoke")
    with pytest.raises(ValueError, match="profile"):
        default_parameters("huge", repo_root)


# issue 14 row 9: chapter parameters typed from the parameters cell and checked before any chapter runs


@pytest.mark.parametrize("path", notebook_sources(), ids=lambda p: p.stem)
def test_chapter_parameters_are_read_with_their_types(path):
    params = chapter_parameters(path)
    assert params["seed"] == 0 and params["profile"] == "default" and params["device"] == "auto"
    assert params["data_root"] is None and params["output_dir"] is None


@pytest.mark.parametrize(
    ("text", "default", "value"),
    [
        ("3", 0, 3),
        ("0.5", 1.0, 0.5),
        ("2", 1.0, 2.0),
        ("code", "text", "code"),
        ("3", "text", "3"),
        ("None", None, None),
        ("(128, 192)", None, (128, 192)),
        ("True", None, True),
        ("/some/folder", None, "/some/folder"),
        ("multi_face", None, "multi_face"),
        ("[1, 2]", (0, 0), (1, 2)),
    ],
)
def test_parameter_text_is_typed_like_its_default(text, default, value):
    got = typed_parameter("p", text, default, "ch.md")
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize(
    ("text", "default"), [("x", 0), ("1.5", 0), ("True", 0), ("None", 0), ("'a'", 1.0), ("3", (0, 0))]
)
def test_parameter_of_the_wrong_type_is_an_error(text, default):
    with pytest.raises(ValueError, match=r"parameter p=.* is not (an integer|a number|a tuple)\b.*\(ch\.md\)"):
        typed_parameter("p", text, default, "ch.md")


def _two_chapters(tmp_path):
    a, b = tmp_path / "01_a.md", tmp_path / "02_b.md"
    cell = "```{{code-cell}} ipython3\n:tags: [parameters]\n\n{}\n```\n"
    a.write_text("# A\n\n" + cell.format('profile = "default"\nseed = 0\ndevice = "auto"\nsteps = None'))
    b.write_text("# B\n\n" + cell.format('profile = "default"\nseed = 0\nwidth = 1.0'))
    return a, b


def test_check_parameters_types_each_chapter_and_injects_only_its_own(tmp_path):
    a, b = _two_chapters(tmp_path)
    out = check_parameters({"seed": "3", "steps": "20", "width": "0.5"}, [a, b])
    assert out == {a: {"seed": 3, "steps": 20}, b: {"seed": 3, "width": 0.5}}


@pytest.mark.parametrize(
    ("extra", "error", "match"),
    [
        (
            {"bogus": "1"},
            ValueError,
            r"unknown parameter 'bogus'; the chapters take data_root, device, seed, steps, width",
        ),
        ({"seed": "x"}, ValueError, r"parameter seed='x' is not an integer \(01_a\.md\)"),
        ({"profile": "smoke"}, ValueError, r"profile is set with --profile"),
        ({"device": "gpu"}, ValueError, r"device must be auto, cpu or cuda, got 'gpu'"),
        ({"data_root": "/no/such"}, FileNotFoundError, r"data root /no/such \(from argument\) does not exist"),
    ],
)
def test_check_parameters_refuses_bad_ones(tmp_path, extra, error, match):
    a, b = _two_chapters(tmp_path)
    a.write_text(a.read_text().replace("steps = None", "steps = None\ndata_root = None"))
    with pytest.raises(error, match=match):
        check_parameters(extra, [a, b])


def test_build_book_checks_everything_before_running_a_chapter(tmp_path, monkeypatch):
    from faceflow.book import build

    def never(*args, **kwargs):
        raise AssertionError("a chapter ran")

    monkeypatch.setattr(build, "execute_notebook", never)
    stage = tmp_path / "stage"
    for kwargs, match in [
        (dict(extra_parameters={"seed": "x"}), "seed='x'"),
        (dict(extra_parameters={"nosuch": "1"}), "unknown parameter 'nosuch'"),
        (dict(extra_parameters={"device": "gpu"}), "device"),
        (dict(only=["02_flownet"]), "--only 02_flownet: no such chapter"),
        (dict(only=["02_flownets"]), "not executed yet"),  # the others were never executed into this stage
    ]:
        with pytest.raises((ValueError, FileNotFoundError), match=match):
            build.build_book("smoke", stage=stage, **kwargs)
    assert not stage.exists()


def test_build_book_states_a_missing_data_root_on_the_terminal(tmp_path, monkeypatch, capsys):
    from faceflow.book import build

    class Stop(Exception):
        pass

    def stop(*args, **kwargs):
        raise Stop

    monkeypatch.setattr(build, "execute_notebook", stop)
    monkeypatch.setenv("FACEFLOW_DATA", str(tmp_path / "absent"))
    with pytest.raises(Stop):
        build.build_book("smoke", stage=tmp_path / "stage")
    err = capsys.readouterr().err
    assert f"warning: data root {tmp_path / 'absent'}" in err and "does not exist" in err


CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# {name}

```{{code-cell}} ipython3
:tags: [parameters]

profile = "default"
output_dir = None
data_root = None
```

```{{code-cell}} ipython3
from pathlib import Path

out = Path(output_dir)
{body}
```
"""

#: Chapter a makes a dataset; chapter b reads it (another chapter's result) and writes its own folder.
MAKES = 'made = out / "datasets" / "x.txt"\nmade.parent.mkdir(parents=True, exist_ok=True)\nmade.write_text("1")'
READS = '(out / "b").mkdir(exist_ok=True)\n(out / "b" / "y.txt").write_text((out / "datasets" / "x.txt").read_text())'


def _tiny_project(root):
    """Two chapters in a project of their own: a writes ``datasets/x.txt``, b reads it."""
    (root / "notebooks").mkdir(parents=True)
    (root / "book").mkdir()
    toc = "format: jb-book\nroot: intro\nchapters:\n- file: notebooks/a\n- file: notebooks/b\n"
    (root / "_toc.yml").write_text(toc)
    (root / "_config.yml").write_text("title: tiny\n")
    (root / "intro.md").write_text("# tiny\n")
    (root / "notebooks" / "a.md").write_text(CHAPTER.format(name="a", body=MAKES))
    (root / "notebooks" / "b.md").write_text(CHAPTER.format(name="b", body=READS))
    return root


@pytest.mark.slow
def test_a_chapter_reusing_another_chapters_results_is_no_first_run(tmp_path, monkeypatch):
    """Issue 20: chapter 02 found the corpus ground truth of an earlier build in outputs/ and was
    recorded as a first run because its own folder was new. Here b reads a's dataset."""
    from faceflow.book import build, cachelog, publish

    root = _tiny_project(tmp_path / "proj")
    monkeypatch.setattr(build, "project_root", lambda: root)
    monkeypatch.delenv("FACEFLOW_DATA", raising=False)
    monkeypatch.delenv("FACEFLOW_OUTPUT", raising=False)
    mine = root / "outputs" / "smoke"
    mine.mkdir(parents=True)
    (mine / "keep.txt").write_text("the user's")
    stage = tmp_path / "stage"
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))

    def records():
        return {(r["chapter"], r["cache"]): r for r in publish.read_timings(publish.timings_path(stage))}

    # from nothing: both chapters are first runs, and outputs/ is neither read nor written
    build.build_book("smoke", stage=stage, html=False, from_nothing=True)
    assert set(records()) == {("a", "first run"), ("b", "first run")}
    assert cachelog.snapshot(root / "outputs") == {"smoke/keep.txt": cachelog.snapshot(mine)["keep.txt"]}
    assert not list((tmp_path / "tmp").iterdir())  # the temporary outputs are gone
    staged = (stage / "notebooks" / "b.ipynb").read_text()
    assert "from-nothing" not in staged and "outputs/smoke" in staged  # its folder shown as outputs/smoke
    # b alone, its own folder removed: it reads a's dataset of the earlier build
    build.build_book("smoke", stage=stage, html=False)
    shutil.rmtree(mine / "b")
    build.build_book("smoke", only=["b"], stage=stage, html=False)
    rec = records()
    assert rec[("b", "cached")]["cached_files"] == "1"
    assert (stage / "cache_reads" / "b.txt").read_text() == "datasets/x.txt\n"
    assert float(rec[("b", "cached")]["reference_seconds"]) > 0
    assert float(rec[("a", "first run")]["cpu_seconds"]) > 0  # the kernel's CPU time
