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


def test_groups_are_the_connected_components_of_a_hand_worked_graph():
    # cluster 0 joins p, q and obama_clip2 (one name: merged); cluster 1 joins obama_clip1 and t, so
    # through the name p, q, both Obama clips and t are one person; cluster 2 joins r and s; u has
    # no descriptor; x sits in cluster 0 but is locked as its own person by a review
    a = "faces/a/"
    clips = [a + n for n in ("p.mp4", "q.mp4", "obama_clip2.mp4", "obama_clip1.mp4", "t.mp4", "r.mp4", "s.mp4")]
    clips += [a + "u.mp4", a + "x.mp4"]
    labels = np.array([0, 0, 0, 1, 1, 2, 2, -1, 0])
    group, conflicts = subjects.combine(clips, labels, {a + "x.mp4": ("self", "seen")})
    people = sorted(sorted(c[len(a) :] for c in clips if group[c] == g) for g in set(group.values()))
    assert people == [
        ["obama_clip1.mp4", "obama_clip2.mp4", "p.mp4", "q.mp4", "t.mp4"],
        ["r.mp4", "s.mp4"],
        ["u.mp4"],
        ["x.mp4"],
    ]
    # each group is named by its smallest key ("clip:..." < "name:..." < "self:...")
    assert group[a + "t.mp4"] == "clip:faces/a/p.mp4" and group[a + "s.mp4"] == "clip:faces/a/r.mp4"
    assert group[a + "x.mp4"] == "self:faces/a/x.mp4" and not conflicts


def test_the_real_subject_table_is_reproduced_from_its_clusters():
    from faceflow.io.datasets import face_subjects

    table = face_subjects()
    clips, labels = list(table["clip"]), table["descriptor_cluster"].astype(int).to_numpy()
    overrides = subjects.reviewed_decisions().overrides
    group, conflicts = subjects.combine(clips, labels, overrides)
    assert subjects.subject_ids(clips, group, overrides) == dict(zip(clips, table["subject"])) and not conflicts
    excluded = dict(zip(clips, table["exclude"]))
    assert all(excluded[c].startswith(why) for c, why in subjects.reviewed_decisions().exclude.items())


def test_reviewed_decisions_round_trip_and_are_package_data():
    import csv
    import io
    import tomllib
    from pathlib import Path

    d = subjects.reviewed_decisions()
    assert d.overrides["faces/eamm/sad.mp4"][0] == "mead:M030" and "faces/liveportrait/d14.mp4" in d.exclude
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(subjects.REVIEWED_COLUMNS)
    w.writerows(("person", c, g, "", r) for c, (g, r) in d.overrides.items())
    w.writerows(("apart", "", *sorted(p), r) for p, r in d.apart.items())
    w.writerows(("exclude", c, "", "", r) for c, r in d.exclude.items())
    assert subjects.read_reviewed_decisions(out.getvalue()) == d
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert f"groundtruth/{subjects.REVIEWED_FILE}" in pyproject["tool"]["setuptools"]["package-data"]["faceflow"]


@pytest.mark.parametrize(
    "row, message",
    [
        ("merge,faces/a/x.mp4,self,,r", "line 3: decision 'merge'"),
        ("person,faces/a/x.mp4,,,r", "line 3: a person decision needs group"),
        ("exclude,faces/a/x.mp4,self,,r", "line 3: a exclude decision takes no group"),
        ("apart,,name:a,name:a,r", "line 3: name:a and name:a"),
        ("person,faces/a/x.mp4,self,,", "line 3: no reason"),
        ("person,faces/a/x.mp4,self", "line 3: 3 values"),
        ("person,faces/a/y.mp4,self,,r", "line 3: faces/a/y.mp4 has a person decision already"),
    ],
)
def test_a_bad_reviewed_row_is_named_by_file_and_line(row, message):
    text = f"{','.join(subjects.REVIEWED_COLUMNS)}\nperson,faces/a/y.mp4,self,,seen\n{row}\n"
    with pytest.raises(ValueError, match=f"^mine.csv: {message}"):
        subjects.read_reviewed_decisions(text, "mine.csv")
    with pytest.raises(ValueError, match="^mine.csv: line 1: the header"):
        subjects.read_reviewed_decisions("decision,clip\n", "mine.csv")
