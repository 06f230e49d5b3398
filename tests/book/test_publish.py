"""The staged book: no machine paths, measured timings, the student edition's config."""

from __future__ import annotations

import json

import nbformat
import pytest
import yaml

from faceflow.book import publish


def test_paths_become_relative_to_the_project_and_the_data_root(tmp_path):
    root = tmp_path / "proj"
    data = tmp_path / "shared" / "data"
    reps = publish.path_replacements(root, data)
    text = (
        f"output={root}/outputs/smoke/02_flownets data root={data} "
        f"file {data}/sintel/a.png cwd {root}. other {root}-old/x {root}x"
    )
    assert publish.replace_paths(text, reps) == (
        "output=outputs/smoke/02_flownets data root=../shared/data "
        f"file ../shared/data/sintel/a.png cwd .. other {root}-old/x {root}x"
    )


def test_a_far_data_root_is_shown_as_the_variable(tmp_path):
    reps = dict(publish.path_replacements(tmp_path / "a" / "b" / "proj", tmp_path / "elsewhere" / "data"))
    assert reps[str(tmp_path / "elsewhere" / "data")] == "$FACEFLOW_DATA"


def test_resolved_spelling_of_a_linked_data_root_is_replaced_too(tmp_path):
    real = tmp_path / "real" / "data"
    real.mkdir(parents=True)
    (tmp_path / "shared").symlink_to(tmp_path / "real")
    root = tmp_path / "proj"
    reps = publish.path_replacements(root, tmp_path / "shared" / "data")
    assert publish.replace_paths(f"{real}/x {tmp_path}/shared/data/y", reps) == "../shared/data/x ../shared/data/y"


def test_relative_paths_rewrites_sources_outputs_and_metadata(tmp_path):
    root, data = tmp_path / "proj", tmp_path / "shared" / "data"
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"parameters": {"data_root": str(data)}, "input_path": f"{root}/_build/x.ipynb"}
    cell = nbformat.v4.new_code_cell(f'data_root = "{data}"\n')
    cell.metadata["tags"] = ["injected-parameters"]
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"out {root}/outputs/smoke\n")]
    nb.cells.append(cell)
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert publish.relative_paths(path, publish.path_replacements(root, data))
    text = path.read_text()
    assert str(tmp_path) not in text
    back = nbformat.read(path, as_version=4)
    assert back.cells[0].source == 'data_root = "../shared/data"\n'
    assert back.cells[0].outputs[0]["text"] == "out outputs/smoke\n"
    assert not publish.relative_paths(path, publish.path_replacements(root, data))  # idempotent


def _timing(chapter, seconds, cached=(), checked=True):
    return publish.ChapterTiming(chapter, seconds, 2 * seconds, 0.5, tuple(cached), checked)


def test_timings_are_recorded_and_shown_with_where_they_come_from(tmp_path):
    stage = tmp_path / "_build" / "smoke"
    publish.record_timing(stage, "smoke", _timing("00_a", 12.34), commit="abc")
    publish.record_timing(stage, "smoke", _timing("00_a", 1.0, ["00_a/x.csv"]), commit="abc")
    publish.record_timing(stage, "smoke", _timing("01_b", 2.0, ["runs/", "datasets/f/a.flo"]), commit="abc")
    publish.record_timing(stage, "smoke", _timing("00_a", 11.0), commit="def")  # replaces the first run
    rows = publish.read_timings(publish.timings_path(stage))
    assert [(r["chapter"], r["cache"], r["cached_files"]) for r in rows] == [
        ("00_a", "cached", "1"),
        ("00_a", "first run", "0"),
        ("01_b", "cached", "2"),
    ]
    assert rows[1]["cpu_seconds"] == "22.0" and rows[1]["reference_seconds"] == "0.5000"
    md = publish.timings_markdown(tmp_path, ["00_a", "01_b"], {"smoke": stage})
    assert "| 00_a | 11.0 | not measured | not measured |" in md
    assert "| 01_b | 2.0 (reused cached results) |" in md
    assert "`smoke`: measured on this build's machine (commit abc" in md and "commit def" in md
    assert "`full`: not measured yet" in md
    snap = publish.save_snapshot(tmp_path, "smoke", stage)
    assert snap == tmp_path / "book" / "timings.csv"
    other = tmp_path / "elsewhere"  # another machine: only the snapshot
    md = publish.timings_markdown(tmp_path, ["00_a", "01_b"], {"smoke": other})
    assert "| 00_a | 11.0 |" in md and "the snapshot `book/timings.csv`" in md
    # this machine's cached run does not hide the snapshot's first run
    publish.record_timing(other, "smoke", _timing("00_a", 0.5, ["00_a/x.csv"]), commit="ghi")
    md = publish.timings_markdown(tmp_path, ["00_a", "01_b"], {"smoke": other})
    assert "| 00_a | 11.0 |" in md and "ghi" not in md


def test_records_without_logged_reads_are_not_first_runs(tmp_path):
    """Records written before the reads were logged: their "first run" only meant a new chapter folder."""
    old = tmp_path / "book" / "timings.csv"
    old.parent.mkdir()
    old.write_text(
        "profile,chapter,seconds,cache,commit,cpus,date\n"
        "default,02_flownets,345.1,first run,dd04644,2,2026-11-26\n"
        "default,03_ablations,40.0,rerun,dd04644,2,2026-11-26\n"
    )
    assert [r["cache"] for r in publish.read_timings(old)] == ["unchecked", "cached"]
    md = publish.timings_markdown(tmp_path, ["02_flownets", "03_ablations"])
    assert "| 02_flownets | not measured | 345.1 (not checked for cached results) |" in md
    assert "| 03_ablations | not measured | 40.0 (reused cached results) |" in md
    # a chapter whose kernel did not log its reads is not a first run either
    publish.record_timing(tmp_path / "stage", "smoke", _timing("02_flownets", 3.0, checked=False), commit="x")
    assert publish.read_timings(publish.timings_path(tmp_path / "stage"))[0]["cache"] == "unchecked"


def test_an_output_folder_outside_the_project_is_shown_as_outputs(tmp_path):
    root, out = tmp_path / "proj", tmp_path / "tmp" / "faceflow-smoke-from-nothing-x" / "smoke"
    reps = publish.path_replacements(root, None, {str(out): "outputs/smoke"})
    assert publish.replace_paths(f"output={out}/05_micro_expressions {root}/notebooks", reps) == (
        "output=outputs/smoke/05_micro_expressions notebooks"
    )


PAGE = """# A chapter

:::{exercise}
:label: ex-a

What is 1 + 1?
:::

:::{solution-start} ex-a
:class: dropdown
:::

Two, because SECRET-GATED-TEXT.

```{code-cell} ipython3
print("SECRET-GATED-CODE")
```

```python
:::{solution-end}
```

:::{solution-end}
:::

Between the exercises.

```markdown
:::{solution} shown-as-code
this block shows the syntax and stays
:::
```

::::{solution} ex-b
:label: ex-b-solution
:class: dropdown

```bash
echo SECRET-DIRECTIVE-CODE
```

:::{note}
SECRET-NESTED-NOTE
:::
::::

The end.
"""


def test_solutions_are_stripped_from_a_page_and_the_rest_is_kept():
    out = publish.strip_solutions(PAGE)
    assert "SECRET" not in out and "solution-start" not in out and "solution-end}\n:::" not in out
    for kept in ("What is 1 + 1?", "Between the exercises.", "this block shows the syntax and stays", "The end."):
        assert kept in out, kept
    assert out.count(":::{exercise}") == 1 and ":::{solution} shown-as-code" in out
    with pytest.raises(ValueError, match="page.md: a solution is not closed"):
        publish.strip_solutions(PAGE.split("Between")[0].replace(":::{solution-end}\n:::\n", ""), "page.md")


def test_a_notebooks_solution_cells_and_their_outputs_are_removed(tmp_path):
    nb = nbformat.v4.new_notebook()
    solved = nbformat.v4.new_code_cell('print("SECRET-CODE")\n')
    solved.outputs = [nbformat.v4.new_output("stream", name="stdout", text="SECRET-OUTPUT\n")]
    kept = nbformat.v4.new_code_cell("x = 1\n")
    nb.cells = [
        nbformat.v4.new_markdown_cell(":::{exercise}\nWhat?\n:::\n\n:::{solution-start} e\n:::\n\nSECRET-TEXT"),
        solved,
        nbformat.v4.new_markdown_cell(":::{solution-end}\n:::\n\n## Next"),
        kept,
        nbformat.v4.new_markdown_cell(":::{solution-start} f\n:::\nSECRET\n:::{solution-end}\n:::"),
    ]
    src, dest = tmp_path / "a.ipynb", tmp_path / "student" / "a.ipynb"
    nbformat.write(nb, src)
    publish.student_notebook(src, dest)
    text = dest.read_text()
    assert "SECRET" not in text
    back = nbformat.read(dest, as_version=4)
    assert [c.cell_type for c in back.cells] == ["markdown", "markdown", "code"]
    assert back.cells[0].source.startswith(":::{exercise}") and back.cells[1].source == "## Next"
    assert back.cells[2].source == "x = 1\n"


def test_the_student_stage_is_a_copy_without_solutions(tmp_path):
    stage = tmp_path / "stage"
    (stage / "book" / "_ext").mkdir(parents=True)
    (stage / "source" / "notebooks").mkdir(parents=True)
    (stage / "notebooks").mkdir()
    (stage / "_config.yml").write_text(yaml.safe_dump({"title": "T", "sphinx": {"config": {"hide_solutions": False}}}))
    (stage / "_toc.yml").write_text("root: book/intro\n")
    (stage / "book" / "course.md").write_text(PAGE)
    (stage / "book" / "_ext" / "ext.py").write_text("x = 1\n")
    (stage / "source" / "notebooks" / "00_a.md").write_text(PAGE)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(PAGE)]
    nbformat.write(nb, stage / "notebooks" / "00_a.ipynb")
    student = publish.prepare_student_stage(stage, ["00_a"])
    assert student == stage / "student"
    for path in ("book/course.md", "source/notebooks/00_a.md", "notebooks/00_a.ipynb"):
        text = (student / path).read_text()
        assert "SECRET" not in text and "The end." in text, path
    assert "SECRET" in (stage / "book" / "course.md").read_text()  # the teacher edition keeps them
    assert (student / "book" / "_ext" / "ext.py").read_text() == "x = 1\n"
    config = yaml.safe_load((student / "_config.yml").read_text())
    assert config["sphinx"]["config"]["hide_solutions"] is True and config["title"] == "T (student edition)"
    assert publish.jupyter_book_command("jb", stage, solutions=False)[2] == str(student)
    assert publish.jupyter_book_command("jb", stage, solutions=True)[2] == str(stage)
    assert publish.html_dir(stage, solutions=False) == student / "_build" / "html"


def test_source_links_name_every_chapter(monkeypatch):
    md = publish.source_markdown(["00_a", "01_b"], "https://example.org/faceflow")
    assert "<https://example.org/faceflow>" in md
    assert "{download}`notebooks/01_b.md <../source/notebooks/01_b.md>`" in md
    monkeypatch.setenv(publish.REPOSITORY_ENV, "https://example.org/x")
    assert publish.repository_url(publish.Path("/nonexistent")) == "https://example.org/x"


def test_the_project_config_enables_exercises_and_offline_mathjax(repo_root):
    config = yaml.safe_load((repo_root / "_config.yml").read_text())
    assert "sphinx_exercise" in config["sphinx"]["extra_extensions"]
    assert config["sphinx"]["config"]["hide_solutions"] is False
    assert not config["sphinx"]["config"]["mathjax_path"].startswith("http")
    assert json.loads(json.dumps(config))  # plain YAML


def test_the_injected_parameters_cell_is_removed_from_the_page_but_kept_in_the_notebook(tmp_path):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('profile = "default"\n')
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell('# Parameters\nprofile = "smoke"\n')
    injected.metadata["tags"] = ["injected-parameters"]
    nb.cells += [params, injected, nbformat.v4.new_code_cell("x = 1\n")]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert publish.hide_injected_parameters(path)
    back = nbformat.read(path, as_version=4)
    assert [c.metadata.get("tags", []) for c in back.cells] == [
        ["parameters"],
        ["injected-parameters", "remove-cell"],
        [],
    ]
    assert back.cells[1].source == '# Parameters\nprofile = "smoke"\n'  # still in the download
    assert not publish.hide_injected_parameters(path)  # idempotent


def test_launch_buttons_are_set_only_when_the_repository_is_known(tmp_path, monkeypatch):
    root, stage = tmp_path / "proj", tmp_path / "stage"
    (root / "book").mkdir(parents=True)
    stage.mkdir()
    config = {"title": "T", "html": {"use_repository_button": False}}
    monkeypatch.delenv(publish.REPOSITORY_ENV, raising=False)
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    (stage / "_config.yml").write_text(yaml.safe_dump(config))
    publish.prepare_stage(stage, root, "smoke", [], None)  # no address (tmp_path is no git checkout)
    staged = yaml.safe_load((stage / "_config.yml").read_text())
    assert "launch_buttons" not in staged and "repository" not in staged

    monkeypatch.setenv(publish.REPOSITORY_ENV, "https://github.com/someone/faceflow")
    monkeypatch.setenv(publish.BRANCH_ENV, "release")
    publish.prepare_stage(stage, root, "smoke", [], None)
    staged = yaml.safe_load((stage / "_config.yml").read_text())
    assert staged["repository"] == {"url": "https://github.com/someone/faceflow", "branch": "release"}
    assert staged["launch_buttons"]["binderhub_url"] == publish.BINDERHUB_URL
    assert staged["html"]["use_repository_button"] is True
