"""The manifest reader and the subject-disjoint splits, on tiny generated ``faceflow gt`` outputs."""

from __future__ import annotations

import pandas as pd
import pytest

from faceflow.groundtruth.dataset import OPENFACE_HELD_OUT, ensure_face_dataset, manifest_refs, read_manifest
from faceflow.groundtruth.splits import LEGACY_FRACTIONS, SplitOptions, split_faces, table_digest, table_split
from faceflow.io.datasets import face_subjects


def test_manifest_reader_keeps_ok_rows(tmp_path, fake_gt):
    fake_gt(tmp_path, {"a": ("s1", 3), "b": ("s2", 2)})
    df = read_manifest(tmp_path, usable_only=True, absolute=True)
    assert len(df) == 5 and set(df["status"]) == {"ok"}
    assert len(read_manifest(tmp_path)) == 7
    refs = manifest_refs(df)
    p = refs[0].load()
    assert p.img1.shape == (48, 64, 3) and p.flow.shape == (48, 64, 2)


def test_manifest_missing_is_clear(tmp_path, fake_gt):
    with pytest.raises(FileNotFoundError, match="faceflow gt"):
        read_manifest(tmp_path, usable_only=True, absolute=True)


def test_split_by_subject_keeps_subjects_and_sequences_apart(tmp_path, fake_gt):
    seqs = {f"seq{i}": (f"subj{i // 2}", 3 + i) for i in range(8)}  # 4 subjects, 2 sequences each
    fake_gt(tmp_path, seqs, failed=0)
    sp = split_faces(read_manifest(tmp_path, usable_only=True, absolute=True), seed=0)
    assert sp.level == "subject"
    parts = [sp.train, sp.val, sp.test]
    assert all(len(p) for p in parts)
    for col in ("subject", "sequence"):
        sets = [set(p[col]) for p in parts]
        assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert sum(len(p) for p in parts) == sum(n for _, n in seqs.values())


def test_split_by_sequence_and_exclude(tmp_path, fake_gt):
    fake_gt(
        tmp_path,
        {
            "default.wmv": ("me", 10),
            "changeLighting.wmv": ("me", 4),
            "image_sequence": ("me", 3),
            "multi_face.avi": ("many", 5),
        },
        failed=0,
    )
    df = read_manifest(tmp_path, usable_only=True, absolute=True)
    sp = split_faces(df, exclude=["multi_face"])
    assert sp.level == "sequence"
    seqs = [set(p["sequence"]) for p in (sp.train, sp.val, sp.test)]
    assert set().union(*seqs) == {"default.wmv", "changeLighting.wmv", "image_sequence"}
    assert not (seqs[0] & seqs[1]) and not (seqs[0] & seqs[2]) and not (seqs[1] & seqs[2])
    assert "default.wmv" in seqs[0]  # largest group goes to train


def test_split_by_blocks_when_one_sequence(tmp_path, fake_gt):
    fake_gt(tmp_path, {"only": ("me", 10)}, failed=0)
    sp = split_faces(read_manifest(tmp_path, usable_only=True, absolute=True))
    assert sp.level == "block" and "NOT" in sp.note
    assert sum(sp.sizes().values()) == 10 and all(v > 0 for v in sp.sizes().values())
    assert list(sp.train["pair"]) == list(range(len(sp.train)))


def test_ensure_face_dataset_reuses_complete(tmp_path, fake_gt):
    fake_gt(tmp_path, {"a": ("s", 2)}, failed=0)
    assert ensure_face_dataset(None, tmp_path) == tmp_path  # complete: used as it is


@pytest.mark.data
def test_ensure_face_dataset_from_openface(tmp_path, data_root):
    dst = ensure_face_dataset(data_root, tmp_path / "openface", max_frames=4)
    df = read_manifest(dst, usable_only=True, absolute=True)
    assert len(df) >= 3 and df["sequence"].nunique() >= 3
    sp = split_faces(df, exclude=list(OPENFACE_HELD_OUT))
    assert "multi_face" not in set(sp.train["sequence"]) | set(sp.val["sequence"]) | set(sp.test["sequence"])
    p = manifest_refs(sp.train)[0].load()
    assert p.flow.shape == p.img1.shape[:2] + (2,)


def test_split_options_round_trip_a_run_config():
    assert SplitOptions.from_data(SplitOptions().to_data()) == SplitOptions()
    assert SplitOptions().fractions == (0.7, 0.2, 0.1)  # the paper's 228k/65k/32k
    # a config written before fractions were stored was split 70/15/15: read it back as such
    assert SplitOptions.from_data({"exclude": ["x"]}).fractions == LEGACY_FRACTIONS == (0.7, 0.15, 0.15)
    assert SplitOptions.from_data({"subject_table": "abc"}).table == "abc"
    opts = SplitOptions.from_data({"exclude": ["multi_face"], "fractions": [0.6, 0.2, 0.2], "split_seed": 3})
    assert opts == SplitOptions(("multi_face",), (0.6, 0.2, 0.2), 3)


def _table(rows):
    return pd.DataFrame(rows, columns=["clip", "subject", "split", "exclude"])


def test_table_split_keeps_people_apart(tmp_path, fake_gt):
    # 6 sequences of 5 people; p1 has two clips, "cross" people are held out whole
    seqs = {"a1": ("p1", 4), "a2": ("p1", 3), "b": ("p2", 2), "c": ("p3", 2), "d": ("p4", 5), "e": ("p5", 1)}
    fake_gt(tmp_path, seqs, failed=0)
    table = _table(
        [
            ("faces/x/a1.mp4", "p1", "train", ""),
            ("faces/x/a2.mp4", "p1", "train", ""),
            ("faces/x/b.mp4", "p2", "val", ""),
            ("faces/x/c.mp4", "p3", "test", ""),
            ("faces/x/d.mp4", "p4", "cross", ""),
        ]
    )
    sp = table_split(read_manifest(tmp_path, usable_only=True), table)
    assert sp.level == "table"
    assert set(sp.train["sequence"]) == {"a1", "a2"} and set(sp.val["sequence"]) == {"b"}
    assert set(sp.test["sequence"]) == {"c"} and set(sp.held_out["sequence"]) == {"d"}
    assert "1 pairs of subjects the table does not list" in sp.note  # p5
    people = [set(p["subject"]) for p in (sp.train, sp.val, sp.test, sp.held_out)]
    assert all(not (people[i] & people[j]) for i in range(4) for j in range(i + 1, 4))
    with pytest.raises(ValueError, match="several splits"):
        table_split(read_manifest(tmp_path, usable_only=True), pd.concat([table, _table([("z", "p1", "val", "")])]))


def test_project_subject_table_has_no_person_in_two_splits():
    t = face_subjects()
    assert t.groupby("subject")["split"].nunique().max() == 1
    people = t.drop_duplicates("subject")["split"].value_counts().to_dict()
    assert people["train"] > people["val"] > people["test"] > 0 and people["cross"] > 0
    # every MEAD studio clip (mead/, eamm/) is in the cross-dataset set, and nothing else is
    mead = t["source"].isin(["mead", "eamm"])
    assert set(t.loc[mead, "split"]) == {"cross"} and "cross" not in set(t.loc[~mead, "split"])
    n = people["train"] + people["val"] + people["test"]
    assert abs(people["train"] / n - 0.7) < 0.05 and abs(people["test"] / n - 0.1) < 0.05


def test_split_options_refuse_a_changed_subject_table(tmp_path, fake_gt):
    fake_gt(tmp_path, {"a": ("p", 2)}, failed=0)
    with pytest.raises(ValueError, match="has changed"):
        SplitOptions(table="0" * 12).split(read_manifest(tmp_path, usable_only=True))
    assert len(table_digest(face_subjects())) == 12
