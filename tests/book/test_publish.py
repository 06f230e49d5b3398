"""The staged book: no machine paths, measured timings, the student edition's config."""

from __future__ import annotations

import json

import nbformat
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


def test_timings_are_recorded_and_shown_with_where_they_come_from(tmp_path):
    publish.record_timing(tmp_path, "smoke", "00_a", 12.34, cold=True, commit="abc")
    publish.record_timing(tmp_path, "smoke", "00_a", 1.0, cold=False, commit="abc")
    publish.record_timing(tmp_path, "smoke", "01_b", 2.0, cold=False, commit="abc")
    publish.record_timing(tmp_path, "smoke", "00_a", 11.0, cold=True, commit="def")  # replaces the first run
    md = publish.timings_markdown(tmp_path, ["00_a", "01_b"])
    assert "| 00_a | 11.0 | not measured | not measured |" in md
    assert "| 01_b | 2.0 (rerun from cache) |" in md
    assert "`smoke`: measured on this build's machine (commit abc" in md and "commit def" in md
    assert "`full`: not measured yet" in md
    snap = publish.save_snapshot(tmp_path, "smoke")
    assert snap == tmp_path / "book" / "timings.csv"
    (tmp_path / "outputs").rename(tmp_path / "old-outputs")  # another machine: only the snapshot
    md = publish.timings_markdown(tmp_path, ["00_a", "01_b"])
    assert "| 00_a | 11.0 |" in md and "the snapshot `book/timings.csv`" in md


def test_student_edition_hides_solutions_in_its_own_output(tmp_path):
    config = {"title": "T", "sphinx": {"config": {"hide_solutions": False}}}
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    cmd = publish.jupyter_book_command("jb", tmp_path, solutions=False)
    assert cmd[-4:] == ["--config", str(tmp_path / "_config.student.yml"), "--path-output", str(tmp_path / "student")]
    config = yaml.safe_load((tmp_path / "_config.student.yml").read_text())
    assert config["sphinx"]["config"]["hide_solutions"] is True
    assert config["title"] == "T (student edition)"
    assert publish.html_dir(tmp_path, solutions=False) == tmp_path / "student" / "_build" / "html"
    assert "--config" not in publish.jupyter_book_command("jb", tmp_path, solutions=True)


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
