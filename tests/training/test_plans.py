"""What the chapters train: setups from a profile, missing data reported, runs trained once and reused."""

from __future__ import annotations

from faceflow import profiles
from faceflow.training import plans


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
    assert not face.ready and "Face dataset" in face.missing
    setup = plans.table1_setup("smoke", empty, out, face)
    assert list(setup.runs) == ["FlyingChairs"]  # generated flying shapes need no data
    assert {"Face dataset", "FlyingChairs test pairs", "MPI-Sintel pairs"} <= set(setup.missing)
    assert setup.test_sets == {}
    t2 = plans.table2_setup("smoke", out, face)
    assert t2.runs == {} and "Face dataset" in t2.missing


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
