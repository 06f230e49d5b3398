"""Flow datasets: face manifest reader and splits (fake datasets), chairs/Sintel, flying shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from faceflow import flowdata
from faceflow.data import DataNotFoundError, FlowPair
from faceflow.flo import write_flo


def write_fake_gt(dst, sequences: dict, size=(48, 64), failed: int = 1, seed: int = 0):
    """A tiny `faceflow gt` output: {sequence: (subject, n_pairs)} -> manifest.csv + PNG + .flo."""
    import cv2

    rng = np.random.default_rng(seed)
    rows = []
    for seq, (subj, n) in sequences.items():
        for i in range(n):
            pair = f"{i:04d}"
            rel = f"{seq}/{pair}"
            (dst / seq).mkdir(parents=True, exist_ok=True)
            a = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
            b = np.roll(a, 1, axis=1)
            flow = np.zeros((*size, 2), np.float32)
            flow[..., 0] = 1.0
            cv2.imwrite(str(dst / f"{rel}_1.png"), a[..., ::-1])
            cv2.imwrite(str(dst / f"{rel}_2.png"), b[..., ::-1])
            write_flo(dst / f"{rel}.flo", flow)
            rows.append(dict(sequence=seq, subject=subj, pair=pair, img1=f"{rel}_1.png", img2=f"{rel}_2.png",
                             flow=f"{rel}.flo", status="ok", reason="", n_degenerate=0, mean_mag=1.0, max_mag=1.0))
        for j in range(failed):
            rows.append(dict(sequence=seq, subject=subj, pair=f"f{j}", img1="", img2="", flow="", status="failed",
                             reason="no face", n_degenerate=0, mean_mag=np.nan, max_mag=np.nan))
    pd.DataFrame(rows).to_csv(dst / "manifest.csv", index=False)
    return dst


def test_manifest_reader_keeps_ok_rows(tmp_path):
    write_fake_gt(tmp_path, {"a": ("s1", 3), "b": ("s2", 2)})
    df = flowdata.face_manifest(tmp_path)
    assert len(df) == 5 and set(df["status"]) == {"ok"}
    assert len(flowdata.face_manifest(tmp_path, only_ok=False)) == 7
    refs = flowdata.manifest_refs(df)
    p = refs[0].load()
    assert p.img1.shape == (48, 64, 3) and p.flow.shape == (48, 64, 2)


def test_manifest_missing_is_clear(tmp_path):
    with pytest.raises(DataNotFoundError, match="faceflow gt"):
        flowdata.face_manifest(tmp_path)


def test_split_by_subject_keeps_subjects_and_sequences_apart(tmp_path):
    seqs = {f"seq{i}": (f"subj{i // 2}", 3 + i) for i in range(8)}  # 4 subjects, 2 sequences each
    write_fake_gt(tmp_path, seqs, failed=0)
    sp = flowdata.split_faces(flowdata.face_manifest(tmp_path), seed=0)
    assert sp.level == "subject"
    parts = [sp.train, sp.val, sp.test]
    assert all(len(p) for p in parts)
    for col in ("subject", "sequence"):
        sets = [set(p[col]) for p in parts]
        assert not (sets[0] & sets[1]) and not (sets[0] & sets[2]) and not (sets[1] & sets[2])
    assert sum(len(p) for p in parts) == sum(n for _, n in seqs.values())


def test_split_by_sequence_and_exclude(tmp_path):
    write_fake_gt(tmp_path, {"default.wmv": ("me", 10), "changeLighting.wmv": ("me", 4),
                             "image_sequence": ("me", 3), "multi_face.avi": ("many", 5)}, failed=0)
    df = flowdata.face_manifest(tmp_path)
    sp = flowdata.split_faces(df, exclude=["multi_face"])
    assert sp.level == "sequence"
    seqs = [set(p["sequence"]) for p in (sp.train, sp.val, sp.test)]
    assert set().union(*seqs) == {"default.wmv", "changeLighting.wmv", "image_sequence"}
    assert not (seqs[0] & seqs[1]) and not (seqs[0] & seqs[2]) and not (seqs[1] & seqs[2])
    assert "default.wmv" in seqs[0]  # largest group goes to train
    held = flowdata.face_source_dataset(tmp_path, ["multi_face.avi"], size=(64, 64))
    assert len(held) == 5 and held[0]["img1"].shape == (3, 64, 64)


def test_split_by_blocks_when_one_sequence(tmp_path):
    write_fake_gt(tmp_path, {"only": ("me", 10)}, failed=0)
    sp = flowdata.split_faces(flowdata.face_manifest(tmp_path))
    assert sp.level == "block" and "NOT" in sp.note
    assert sum(sp.sizes().values()) == 10 and all(v > 0 for v in sp.sizes().values())
    assert list(sp.train["pair"]) == [f"{i:04d}" for i in range(len(sp.train))]


def test_face_datasets_resize_and_scale_flow(tmp_path):
    write_fake_gt(tmp_path, {f"s{i}": (f"p{i}", 2) for i in range(3)}, failed=0)
    ds, sp = flowdata.face_datasets(tmp_path, size=(64, 128))
    s = ds["train"][0]
    assert s["img1"].shape == (3, 64, 128) and s["flow"].shape == (2, 64, 128)
    assert float(s["flow"][0].mean()) == pytest.approx(2.0, rel=1e-5)  # u doubled with the width
    assert float(s["flow"][1].abs().max()) == 0.0


def test_resize_pair_units():
    flow = np.zeros((10, 20, 2), np.float32)
    flow[..., 0], flow[..., 1] = 4.0, 2.0
    img = np.zeros((10, 20, 3), np.uint8)
    p = flowdata.resize_pair(FlowPair("x", img, img, flow), (5, 40))
    assert p.flow.shape == (5, 40, 2)
    assert np.allclose(p.flow[..., 0], 8.0) and np.allclose(p.flow[..., 1], 1.0)


def test_flying_shapes_flow_is_exact():
    """Frame 2 sampled at p + flow(p) reproduces frame 1 where the moving layer stays visible."""
    import cv2

    p = flowdata.flying_shapes_pair(3, size=(96, 128))
    assert p.source == "generated" and p.flow.shape == (96, 128, 2) and p.img1.dtype == np.uint8
    assert np.abs(p.flow).max() > 0.5
    h, w = 96, 128
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    warped = cv2.remap(p.img2, xs + p.flow[..., 0], ys + p.flow[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REFLECT)
    err = np.abs(warped.astype(float) - p.img1.astype(float)).mean(axis=-1)
    assert np.median(err) < 3.0  # occlusions and borders make a minority of pixels differ
    p2 = flowdata.flying_shapes_pair(3, size=(96, 128))
    assert np.array_equal(p.img1, p2.img1) and np.array_equal(p.flow, p2.flow)  # seeded


def test_flying_shapes_dataset():
    ds = flowdata.FlyingShapes(3, size=(64, 64), seed=5)
    assert len(ds) == 3 and "generated" in ds.label
    s = ds[1]
    assert s["img1"].shape == (3, 64, 64) and s["flow"].shape == (2, 64, 64)
    assert 0.0 <= float(s["img1"].min()) and float(s["img1"].max()) <= 1.0


@pytest.mark.data
def test_real_chairs_and_sintel(data_root):
    ch = flowdata.chairs_dataset(data_root, size=(128, 192))
    assert len(ch) >= 1 and ch[0]["flow"].shape == (2, 128, 192)
    assert not flowdata.chairs_is_full_release(data_root)  # the samples are not the release
    scenes = flowdata.sintel_scenes(data_root)
    assert scenes
    si = flowdata.sintel_dataset(data_root, size=(128, 256), passes=("clean", "final"))
    assert len(si) >= 1 and si[0]["img1"].shape == (3, 128, 256)
    rest = flowdata.sintel_dataset(data_root, None, exclude_scenes=scenes[:-1])
    assert {r.name.split("/")[0] for r in rest.items} == {scenes[-1]}


def test_ensure_face_dataset_reuses_complete(tmp_path):
    write_fake_gt(tmp_path, {"a": ("s", 2)})
    assert flowdata.ensure_face_dataset(None, tmp_path) == tmp_path  # complete: used as it is


@pytest.mark.data
def test_ensure_face_dataset_from_openface(tmp_path, data_root):
    assert flowdata.gt_available() is None  # faceflow.gtdataset ships with the package
    dst = flowdata.ensure_face_dataset(data_root, tmp_path / "openface", max_frames=4)
    df = flowdata.face_manifest(dst)
    assert len(df) >= 3 and df["sequence"].nunique() >= 3
    sp = flowdata.split_faces(df, exclude=list(flowdata.OPENFACE_HELD_OUT))
    assert "multi_face" not in set(sp.train["sequence"]) | set(sp.val["sequence"]) | set(sp.test["sequence"])
    s = flowdata.PairDataset(flowdata.manifest_refs(sp.train), (64, 64))[0]
    assert s["flow"].shape == (2, 64, 64)
