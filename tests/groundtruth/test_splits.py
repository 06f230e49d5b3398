"""The manifest reader and the subject-disjoint splits, on tiny generated ``faceflow gt`` outputs."""

from __future__ import annotations

import pytest

from faceflow.groundtruth.dataset import OPENFACE_HELD_OUT, ensure_face_dataset, manifest_refs, read_manifest
from faceflow.groundtruth.splits import SplitOptions, split_faces


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
    assert SplitOptions.from_data(None) == SplitOptions()
    opts = SplitOptions.from_data({"exclude": ["multi_face"], "fractions": [0.6, 0.2, 0.2], "split_seed": 3})
    assert opts == SplitOptions(("multi_face",), (0.6, 0.2, 0.2), 3)
