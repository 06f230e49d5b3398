"""Torch datasets: faces (resize and flow units), chairs/Sintel, flying shapes."""

from __future__ import annotations

import numpy as np
import pytest

from faceflow.flow.synthetic import flying_shapes_pair
from faceflow.io.datasets import FlowPair
from faceflow.training import datasets


def test_held_out_source_dataset(tmp_path, fake_gt):
    fake_gt(tmp_path, {"a": ("me", 3), "multi_face.avi": ("many", 5)}, failed=0)
    held = datasets.face_source_dataset(tmp_path, ["multi_face.avi"], size=(64, 64))
    assert len(held) == 5 and held[0]["img1"].shape == (3, 64, 64)


def test_face_datasets_resize_and_scale_flow(tmp_path, fake_gt):
    fake_gt(tmp_path, {f"s{i}": (f"p{i}", 2) for i in range(3)}, failed=0)
    ds, sp = datasets.face_datasets(tmp_path, size=(64, 128))
    s = ds["train"][0]
    assert s["img1"].shape == (3, 64, 128) and s["flow"].shape == (2, 64, 128)
    assert float(s["flow"][0].mean()) == pytest.approx(2.0, rel=1e-5)  # u doubled with the width
    assert float(s["flow"][1].abs().max()) == 0.0


def test_resize_pair_units():
    flow = np.zeros((10, 20, 2), np.float32)
    flow[..., 0], flow[..., 1] = 4.0, 2.0
    img = np.zeros((10, 20, 3), np.uint8)
    p = datasets.resize_pair(FlowPair("x", img, img, flow), (5, 40))
    assert p.flow.shape == (5, 40, 2)
    assert np.allclose(p.flow[..., 0], 8.0) and np.allclose(p.flow[..., 1], 1.0)


def test_flying_shapes_flow_is_exact():
    """Frame 2 sampled at p + flow(p) reproduces frame 1 where the moving layer stays visible."""
    import cv2

    p = flying_shapes_pair(3, size=(96, 128))
    assert p.source == "generated" and p.flow.shape == (96, 128, 2) and p.img1.dtype == np.uint8
    assert np.abs(p.flow).max() > 0.5
    h, w = 96, 128
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    warped = cv2.remap(
        p.img2, xs + p.flow[..., 0], ys + p.flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    err = np.abs(warped.astype(float) - p.img1.astype(float)).mean(axis=-1)
    assert np.median(err) < 3.0  # occlusions and borders make a minority of pixels differ
    p2 = flying_shapes_pair(3, size=(96, 128))
    assert np.array_equal(p.img1, p2.img1) and np.array_equal(p.flow, p2.flow)  # seeded


def test_flying_shapes_dataset():
    ds = datasets.FlyingShapes(3, size=(64, 64), seed=5)
    assert len(ds) == 3 and "generated" in ds.label
    s = ds[1]
    assert s["img1"].shape == (3, 64, 64) and s["flow"].shape == (2, 64, 64)
    assert float(s["img1"].min()) >= 0.0 and float(s["img1"].max()) <= 1.0


@pytest.mark.data
def test_real_chairs_and_sintel(data_root):
    ch = datasets.chairs_dataset(data_root, size=(128, 192))
    assert len(ch) >= 1 and ch[0]["flow"].shape == (2, 128, 192)
    assert not datasets.chairs_is_full_release(data_root)  # the samples are not the release
    scenes = datasets.sintel_scenes(data_root)
    assert scenes
    si = datasets.sintel_dataset(data_root, size=(128, 256), passes=("clean", "final"))
    assert len(si) >= 1 and si[0]["img1"].shape == (3, 128, 256)
    rest = datasets.sintel_dataset(data_root, None, exclude_scenes=scenes[:-1])
    assert {r.name.split("/")[0] for r in rest.items} == {scenes[-1]}


def test_tensor_bank_gives_the_same_batches_as_the_samples(tmp_path, fake_gt):
    import torch

    from faceflow.training import loop

    fake_gt(tmp_path, {f"s{i}": (f"p{i}", 3) for i in range(3)}, failed=0)
    faces, _ = datasets.face_datasets(tmp_path, size=(32, 48))
    for ds in (datasets.FlyingShapes(5, size=(64, 64), seed=3), faces["train"]):
        bank = datasets.TensorBank.from_dataset(ds)
        idx = [len(ds) - 1, 0, 1]
        b = loop.collate([ds[i] for i in idx])
        img1, img2, flow, mask = bank.batch(idx)
        assert torch.equal(img1, b["img1"]) and torch.equal(img2, b["img2"]) and torch.equal(flow, b["flow"])
        assert torch.equal(mask, b["mask"]) and mask.shape == (3, 1, *flow.shape[-2:])
        assert bank.img1.dtype == torch.uint8 and len(bank) == len(ds)
    assert 0 < float(mask.mean()) < 1  # the face data's masks survive the resize (4 of 64 columns invalid)


def test_resized_masks_keep_only_cells_drawn_from_valid_pixels(tmp_path, fake_gt):
    fake_gt(tmp_path, {"s0": ("p0", 1), "s1": ("p1", 1), "s2": ("p2", 1)}, failed=0)
    ds, _ = datasets.face_datasets(tmp_path, size=(24, 32))  # 48 x 64 -> half: 2 x 2 blocks
    s = ds["train"][0]
    assert s["mask"].shape == (1, 24, 32)
    # columns 0-3 of the stored grid are invalid: blocks 0 and 1 of the half grid hold them
    assert float(s["mask"][0, :, :2].max()) == 0.0 and float(s["mask"][0, :, 2:].min()) == 1.0


def test_bank_for_reuses_a_bank_of_the_same_files_only(tmp_path, fake_gt):
    import os

    import torch

    fake_gt(tmp_path, {f"s{i}": (f"p{i}", 3) for i in range(3)}, failed=0)
    first, _ = datasets.face_datasets(tmp_path, size=(32, 48))
    again, _ = datasets.face_datasets(tmp_path, size=(32, 48))  # another object, the same files
    bank = datasets.bank_for(first["train"])
    assert datasets.bank_for(again["train"]) is bank
    other_size, _ = datasets.face_datasets(tmp_path, size=(16, 24))
    assert datasets.bank_for(other_size["train"]) is not bank
    # a pair's flow rewritten on disk: a new bank with the new values, never the stale one
    bank = datasets.bank_for(first["train"])
    ref = first["train"].items[0]
    from faceflow.io.flo import write_flo

    assert ref.flow.suffix == ".flo"
    write_flo(ref.flow, ref.load().flow + 1.0)
    st = os.stat(ref.flow)
    os.utime(ref.flow, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    fresh = datasets.bank_for(again["train"])
    assert fresh is not bank and not torch.equal(fresh.flow[0], bank.flow[0])
    # pairs held in memory have no fingerprint: a new bank each time
    shapes = datasets.FlyingShapes(3, size=(32, 32), seed=1)
    assert datasets.bank_for(shapes) is not datasets.bank_for(shapes)


def test_bank_for_keeps_the_face_bank_through_two_other_training_sets(tmp_path, fake_gt, monkeypatch):
    """Chapter 02's order: faces, two other sets, faces again reuses the first bank; one more set
    beyond BANKS_KEPT frees the least recently used bank, not the one just reused."""
    monkeypatch.setattr(datasets, "_BANKS", {})
    fake_gt(tmp_path, {f"s{i}": (f"p{i}", 3) for i in range(3)}, failed=0)
    sizes = [(32, 48), (16, 24), (24, 32), (8, 16)]
    sets = [datasets.face_datasets(tmp_path, size=s)[0]["train"] for s in sizes]
    assert datasets.BANKS_KEPT == 3
    face = datasets.bank_for(sets[0])
    second = datasets.bank_for(sets[1])
    datasets.bank_for(sets[2])
    assert datasets.bank_for(sets[0]) is face  # still kept: the masked-loss runs reuse it
    datasets.bank_for(sets[3])  # evicts sets[1], the least recently used
    assert datasets.bank_for(sets[0]) is face
    assert datasets.bank_for(sets[1]) is not second
