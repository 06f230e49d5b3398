"""Grouping the corpus clips by person: name hints, descriptor clusters, reviewed overrides, splits."""

from __future__ import annotations

import numpy as np
import pytest

from faceflow.groundtruth import subjects


def test_name_hints():
    assert subjects.name_hint("faces/mead/M030_front_sad_level3_001.mp4") == "mead:M030"
    assert subjects.name_hint("faces/styletalk/video_Obama_clip3.mp4") == "name:obama"
    assert subjects.name_hint("faces/hdtf/RD_Radio34_000.mp4") == "name:radio34"
    assert subjects.name_hint("faces/hdtf/WDA_KatieHill_000.mp4") == "name:katiehill"
    assert subjects.name_hint("faces/liveportrait/d3.mp4") is None


def test_clusters_join_unnamed_clips_but_never_two_names():
    clips = ["faces/a/x1.mp4", "faces/a/x2.mp4", "faces/mead/M001_a.mp4", "faces/mead/M002_b.mp4", "faces/b/y.mp4"]
    # clusters: the two unnamed clips together; both MEAD ids in one cluster (a conflict); y alone
    labels = np.array([0, 0, 1, 1, 2])
    group, conflicts = subjects.combine(clips, labels, {})
    assert group["faces/a/x1.mp4"] == group["faces/a/x2.mp4"]
    assert group["faces/mead/M001_a.mp4"] != group["faces/mead/M002_b.mp4"]
    assert conflicts and conflicts[0]["keys"] == ["mead:M001", "mead:M002"]
    # an override locks a clip as its own person, whatever its cluster says
    group, _ = subjects.combine(clips, labels, {"faces/a/x2.mp4": ("self", "checked by eye")})
    assert group["faces/a/x1.mp4"] != group["faces/a/x2.mp4"]
    ids = subjects.subject_ids(clips, group, {})
    assert ids["faces/mead/M001_a.mp4"] == "mead-M001" and ids["faces/a/x1.mp4"] == "S01"


def test_splits_keep_people_apart_and_hold_the_cross_set_out():
    frames = {f"S{i:02d}": 100 + 10 * i for i in range(20)} | {"mead-M001": 50, "mead-W002": 60}
    split = subjects.assign_splits(frames, cross={"mead-M001", "mead-W002"}, trials=500)
    assert split["mead-M001"] == split["mead-W002"] == "cross"
    counts = {s: sum(v == s for v in split.values()) for s in ("train", "val", "test")}
    assert counts == {"train": 14, "val": 4, "test": 2}  # 70/20/10 of 20 people
    assert split == subjects.assign_splits(frames, cross={"mead-M001", "mead-W002"}, trials=500)  # seeded
    with pytest.raises(ValueError, match="need 3"):
        subjects.assign_splits({"a": 1, "b": 1}, cross=set())


def test_contact_sheet_has_a_row_per_subject():
    import pandas as pd

    t = pd.DataFrame(
        {
            "clip": ["faces/a/1.mp4", "faces/a/2.mp4", "faces/b/3.mp4"],
            "subject": ["S01", "S01", "mead-M1"],
            "split": ["train", "train", "cross"],
            "exclude": ["", "duplicate", ""],
        }
    )
    chip = np.zeros((150, 150, 3), np.uint8)
    fig = subjects.contact_sheet(t, {"faces/a/1.mp4": chip, "faces/b/3.mp4": None})
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == (1, 6)  # 2 subjects in 2 blocks of 3 columns
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert any("excluded" in tt for tt in titles)
