"""What the chapters train: setups from a profile, missing data reported, runs trained once and reused."""

from __future__ import annotations

import pytest

from faceflow import profiles
from faceflow.studies import plans


def test_overrides_from_chapter_parameters():
    assert plans.overrides_from() == {}
    o = plans.overrides_from(resolution=[128, 192], steps="5", width=0.5, finetune_steps=2)
    assert o == {"resolution": (128, 192), "steps": 5, "model": {"width": 0.5}, "finetune_steps": 2}


def test_scale_table_shows_the_profile_beside_the_paper():
    t = plans.scale_table("smoke", {"steps": 7})
    assert t.loc["optimiser steps (faces)", "this page (smoke)"] == "7"
    assert t.loc["input resolution (H x W)", "paper"] == "384 x 512"


def test_without_data_only_the_generated_shapes_run_is_planned(tmp_path):
    out = profiles.outputs("smoke", tmp_path)
    empty = tmp_path / "empty_root"
    empty.mkdir()
    face = plans.face_data("smoke", empty, out)
    assert not face.ready and "Face corpus" in face.missing
    setup = plans.table1_setup("smoke", empty, out, face)
    assert list(setup.runs) == ["FlyingChairs"]  # generated flying shapes need no data
    assert {"Face corpus", "FlyingChairs test pairs", "MPI-Sintel pairs"} <= set(setup.missing)
    assert setup.test_sets == {}
    t2 = plans.table2_setup("smoke", out, face)
    assert t2.runs == {} and "Face corpus" in t2.missing


def test_train_runs_trains_once_then_reuses(tmp_path):
    out = profiles.outputs("smoke", tmp_path)
    face = plans.face_data("smoke", None, out)
    setup = plans.table1_setup("smoke", None, out, face, overrides={"steps": 2})
    first = plans.train_runs(setup)
    path = first.paths["FlyingChairs"]
    assert path == out.runs("chairs") / "Exp1" / "last.pt" and path.is_file()
    assert first.info.loc["FlyingChairs", "steps"] == 2
    mtime = path.stat().st_mtime_ns
    again = plans.train_runs(setup)
    assert again.paths == first.paths and path.stat().st_mtime_ns == mtime


@pytest.mark.data
def test_face_data_splits_the_corpus_by_person(tmp_path, data_root):
    """The smoke profile's corpus ground truth (2 clips per split, 6 frames): no person in two splits."""
    out = profiles.outputs("smoke", tmp_path)
    face = plans.face_data("smoke", data_root, out, extra=False)
    assert face.ready and face.split.table and "no person is in two splits" in face.note
    assert face.run_data()["subject_table"] == face.split.table
    from faceflow.groundtruth.dataset import read_manifest

    parts = face.split.split(read_manifest(face.face_dir, usable_only=True))
    people = [set(p["subject"]) for p in (parts.train, parts.val, parts.test, parts.held_out)]
    assert all(people) and all(not (people[i] & people[j]) for i in range(4) for j in range(i + 1, 4))
    assert all(s.startswith("mead-") for s in people[3])  # the cross-dataset set is the MEAD people
    setup = plans.table1_setup("smoke", data_root, out, face, seed=3)
    assert [c.seed for c, _ in setup.runs["Faces"]] == [3]
    assert setup.runs["Faces"][0][1] == out.runs("faces") / "Exp1"
    assert len(setup.test_sets["Faces"]) == len(parts.test) or len(setup.test_sets["Faces"]) == 6
