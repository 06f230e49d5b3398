"""Issue 22: one data-root object, resolved once at the edge and passed down."""

from __future__ import annotations

import pytest

from faceflow.io import datasets as data
from faceflow.io.datasets import DataRoot


@pytest.fixture
def three_roots(tmp_path, monkeypatch):
    """An argument folder, an environment folder, and ./data in the working directory."""
    arg, env, cwd = tmp_path / "arg", tmp_path / "env", tmp_path / "cwd"
    for folder in (arg, env, cwd / "data"):
        folder.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv(data.ENV_VAR, str(env))
    return arg, env, cwd / "data"


def test_the_one_resolver_takes_argument_then_environment_then_default(three_roots, monkeypatch):
    arg, env, default = three_roots
    assert (DataRoot.resolve(arg).path, DataRoot.resolve(arg).source) == (arg, "argument")
    for unset in (None, ""):
        assert (DataRoot.resolve(unset).path, DataRoot.resolve(unset).source) == (env, "$FACEFLOW_DATA")
    monkeypatch.delenv(data.ENV_VAR)
    assert (DataRoot.resolve().path, DataRoot.resolve().source) == (default, "default")
    monkeypatch.setenv(data.ENV_VAR, "")  # an empty variable is not set
    assert DataRoot.resolve().source == "default"


def test_a_relative_argument_is_made_absolute(three_roots):
    _, _, default = three_roots
    root = DataRoot.resolve("data")
    assert root.location.is_absolute() and root.path == default and root.missing is None


def test_of_returns_a_data_root_unchanged_and_resolves_anything_else(three_roots, monkeypatch):
    arg, env, _ = three_roots
    root = DataRoot.resolve()
    assert DataRoot.of(root) is root
    assert DataRoot.of(arg) == DataRoot.resolve(arg)
    assert DataRoot.of(None) == root
    # passed down, the object is not resolved again: the environment changing does not move it
    (env / "sintel").mkdir()
    monkeypatch.setenv(data.ENV_VAR, str(arg))
    assert data.locate("sintel", root) == env / "sintel"
    assert data.locate("sintel") is None  # a fresh resolution reads the new variable


def test_an_absent_root_says_where_it_was_looked_for(tmp_path, monkeypatch):
    absent = tmp_path / "absent"
    root = DataRoot.resolve(absent)
    expected = (
        f"data root {absent} (from argument) does not exist. Pass a data root, set "
        "FACEFLOW_DATA, or create ./data with the sample layout (see the book's data page)."
    )
    assert (root.location, root.path, root.missing) == (absent, None, expected)
    monkeypatch.setenv(data.ENV_VAR, str(absent))
    assert DataRoot.resolve().missing == expected.replace("(from argument)", "(from $FACEFLOW_DATA)")
    with pytest.raises(data.DataNotFoundError) as exc:
        root.require()
    assert str(exc.value) == expected
    assert root.locate("sintel") is None
    with pytest.raises(data.DataNotFoundError, match="does not exist"):
        root.find("sintel")


def test_the_old_functions_answer_what_the_object_answers(tmp_path):
    for folder in (tmp_path, tmp_path / "absent"):
        root = DataRoot.resolve(folder)
        assert data.root_path(folder) == data.root_path(root) == root.location == folder
        assert data.root_or_none(folder) == data.root_or_none(root) == root.path
        assert data.missing_root_reason(folder) == data.missing_root_reason(root) == root.missing
    assert data.resolve_root(tmp_path) == data.resolve_root(DataRoot.resolve(tmp_path)) == tmp_path
    with pytest.raises(data.DataNotFoundError):
        data.resolve_root(DataRoot.resolve(tmp_path / "absent"))


def test_rechecked_sees_a_folder_created_after_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path / "later"))
    root = DataRoot.resolve()
    (tmp_path / "later").mkdir()
    assert root.path is None  # resolved once: a snapshot
    again = root.rechecked()
    assert (again.location, again.source, again.path, again.missing) == (
        root.location,
        "$FACEFLOW_DATA",
        tmp_path / "later",
        None,
    )


def test_locate_returns_only_candidate_folders_under_the_root(tmp_path, monkeypatch):
    root_dir, outside = tmp_path / "root", tmp_path / "outside"
    for spec in data.DATASETS.values():
        for rel in spec.candidates:
            (outside / rel).mkdir(parents=True, exist_ok=True)
    root_dir.mkdir()
    monkeypatch.setenv(data.ENV_VAR, str(outside))  # an environment root holding everything
    root = DataRoot.resolve(root_dir)
    for key in data.DATASETS:
        assert root.locate(key) is None, key  # never the environment's copy
    (root_dir / "faces").mkdir()
    (root_dir / "SAMM_v1").mkdir()
    assert root.locate("faces") == root_dir / "faces"
    assert root.locate("samm") == root_dir / "SAMM_v1"
    full = DataRoot.resolve(outside)
    for key in data.DATASETS:
        found = full.locate(key)
        assert found is not None and found.is_relative_to(outside), key
        assert found == outside / data.DATASETS[key].candidates[0], key
