"""The one per-pair evaluation loop: columns, checkpoints as methods, zero flow, the CSV cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceflow.evaluation.evaluate import COLUMNS, cached_evaluate, evaluate, paper_grid, to_grid
from faceflow.flow.synthetic import affine_pair, fallback_image, similarity
from faceflow.io.datasets import FlowPair
from faceflow.methods.flownets import predict_flow
from faceflow.methods.flownets_checkpoints import checkpoint_flow_fn, load_checkpoint
from faceflow.training import datasets, loop


def test_checkpoint_rows_and_zero_weights_equal_zero_flow(tmp_path, tiny_cfg):
    tr = datasets.FlyingShapes(3, size=(64, 64), seed=0)
    path = loop.train(tiny_cfg(steps=1), tr, None, tmp_path, device="cpu", progress=False)
    ds = datasets.FlyingShapes(2, size=(40, 50), seed=7)
    df = evaluate({"net": checkpoint_flow_fn(path, "cpu")}, ds, "shapes")
    assert list(df.columns) == COLUMNS and len(df) == 2
    assert set(df["method"]) == {"net"} and set(df["test_set"]) == {"shapes"}
    assert np.isfinite(df[["epe", "aae"]].to_numpy()).all()
    # a network with all-zero weights predicts zero flow: EPE = mean |gt| = the zero method's EPE
    model, _, _ = load_checkpoint(path)
    for p in model.parameters():
        torch.nn.init.zeros_(p)
    zeroed = evaluate({"zeroed": lambda a, b: predict_flow(model, a, b, size=(64, 64))}, ds)
    assert np.allclose(zeroed["epe"], zeroed["gt_mag"], rtol=1e-5)
    assert np.allclose(evaluate(["zero"], ds)["epe"], zeroed["epe"], rtol=1e-5)


def test_exact_flow_scores_zero_and_rows_follow_methods():
    img = fallback_image()[:128, :160]
    pair = affine_pair(img, similarity(1.0, 0.0, 1.5, -0.5))
    df = evaluate({"exact": lambda a, b: pair.flow, "zero": lambda a, b: np.zeros_like(pair.flow)}, [pair], "t")
    assert list(df["method"]) == ["exact", "zero"]
    assert df.loc[0, "epe"] == 0 and df.loc[0, "aae"] == 0
    assert df.loc[1, "epe"] == pytest.approx(np.hypot(1.5, 0.5), rel=1e-5)


def test_missing_ground_truth_and_wrong_shape_are_errors():
    img = fallback_image()[:64, :64]
    pair = affine_pair(img, similarity(tx=1.0))
    with pytest.raises(ValueError, match="flow shape"):
        evaluate({"bad": lambda a, b: np.zeros((3, 3, 2), np.float32)}, [pair])
    pair.flow = None
    with pytest.raises(ValueError, match="no ground truth"):
        evaluate(["zero"], [pair])


def test_cache_reuses_rows_until_the_tag_changes(tmp_path):
    img = fallback_image()[:64, :64]
    pairs = [affine_pair(img, similarity(tx=1.0))]
    a = cached_evaluate(["zero"], pairs, "t", tmp_path, {"zero": "v1"})
    csv = tmp_path / "t__zero.csv"
    stamp = csv.stat().st_mtime_ns
    b = cached_evaluate(["zero"], pairs, "t", tmp_path, {"zero": "v1"})
    assert csv.stat().st_mtime_ns == stamp and a["epe"].tolist() == b["epe"].tolist()
    cached_evaluate(["zero"], pairs, "t", tmp_path, {"zero": "v2"})
    assert csv.stat().st_mtime_ns != stamp


def test_paper_convention_by_hand():
    """k = 1 measurement: the 4 x 4 ground truth averaged to 2 x 2 and halved; flows of any size brought there."""
    gt = np.zeros((4, 4, 2), np.float32)
    gt[:2, :2] = (4.0, 0.0)  # top-left 2 x 2 block moves 4 px right, the rest is still
    gt[2:, 2:] = (0.0, 2.0)  # bottom-right block moves 2 px down
    assert paper_grid(gt.shape) == (2, 2)
    g = to_grid(gt, (2, 2))
    np.testing.assert_array_equal(g[..., 0], [[2.0, 0.0], [0.0, 0.0]])  # 4 px at 4x4 = 2 px at 2x2
    np.testing.assert_array_equal(g[..., 1], [[0.0, 0.0], [0.0, 1.0]])
    img = np.zeros((4, 4, 3), np.uint8)
    pair = FlowPair("p", img, img, gt)
    k1 = np.zeros((2, 2, 2), np.float32)
    k1[0, 0] = (2.0, 0.0)  # a k = 1 prediction, exact on the top-left cell, misses the bottom-right one
    full = gt.copy()
    full[2:, 2:] = (0.0, 0.0)  # the same at full resolution: 2 px error on 4 of 16 pixels
    df = evaluate({"k1": lambda a, b: k1, "full": lambda a, b: full}, [pair], convention="paper")
    # on the 2 x 2 grid: one cell wrong by (0, 1) -> EPE = 1/4; AAE there = angle((0,0,1), (0,1,1)) = pi/4
    assert df["epe"].tolist() == pytest.approx([0.25, 0.25])
    assert df["aae"].tolist() == pytest.approx([np.pi / 16, np.pi / 16])
    assert df["gt_mag"].tolist() == pytest.approx([0.75, 0.75])  # (2 + 1) / 4 on the grid
    # at full resolution the full flow is wrong by 2 px on 4 pixels: 0.5; native refuses the 2 x 2 flow
    assert df.loc[1, "epe_full"] == pytest.approx(0.5)
    assert evaluate({"full": lambda a, b: full}, [pair])["epe"].item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="flow shape"):
        evaluate({"k1": lambda a, b: k1}, [pair])
    with pytest.raises(ValueError, match="convention"):
        evaluate(["zero"], [pair], convention="k1")


def test_paper_convention_uses_the_networks_largest_prediction(tmp_path, tiny_cfg):
    tr = datasets.FlyingShapes(3, size=(64, 64), seed=0)
    path = loop.train(tiny_cfg(steps=1), tr, None, tmp_path, device="cpu", progress=False)
    p = datasets.FlyingShapes(1, size=(128, 128), seed=3).pair(0)
    k1 = checkpoint_flow_fn(path, "cpu", largest=True)(p.img1, p.img2)
    assert k1.shape == (32, 32, 2)  # half the 64 x 64 training input
    df = evaluate({"net": checkpoint_flow_fn(path, "cpu", largest=True)}, [p], convention="paper")
    # the 32 x 32 prediction is upsampled (values x 2) to the 64 x 64 grid of the 128 x 128 ground truth
    want = np.linalg.norm(to_grid(k1, (64, 64)) - to_grid(p.flow, (64, 64)), axis=-1).mean()
    assert df["epe"].item() == pytest.approx(want, rel=1e-5) and want > 0


def test_non_finite_ground_truth_or_estimate_is_an_error_not_a_smaller_mean():
    """Issue 14 row 2: a pair is scored in full or the evaluation stops naming it."""
    img = fallback_image()[:64, :64]
    good, bad = affine_pair(img, similarity(tx=1.0)), affine_pair(img, similarity(tx=2.0))
    bad.name, bad.source = "seq/0007", "faces"
    bad.flow = bad.flow.copy()
    bad.flow[3, 4, 0] = np.nan
    bad.flow[5, 6, 1] = np.inf
    with pytest.raises(ValueError, match=r"faces pair seq/0007: ground truth has 2 of 4096 pixels non-finite"):
        evaluate(["zero"], [good, bad], "t")

    def nan_flow(a, b):
        out = np.zeros(a.shape[:2] + (2,), np.float32)
        out[0, 0, 1] = np.nan
        return out

    good.name = "seq/0001"
    with pytest.raises(ValueError, match=r"broken on .*pair seq/0001: estimated flow has 1 of 4096 pixels non-finite"):
        evaluate({"broken": nan_flow}, [good], "t")


def test_cache_with_missing_errors_is_recomputed(tmp_path):
    """A cached table with an empty EPE cell (or fewer rows than pairs) is not reused as complete."""
    import pandas as pd

    img = fallback_image()[:64, :64]
    pairs = [affine_pair(img, similarity(tx=1.0)), affine_pair(img, similarity(tx=-1.0))]
    first = cached_evaluate(["zero"], pairs, "t", tmp_path)
    csv = tmp_path / "t__zero.csv"
    broken = pd.read_csv(csv)
    broken.loc[1, "epe"] = np.nan
    broken.to_csv(csv, index=False)
    again = cached_evaluate(["zero"], pairs, "t", tmp_path)
    assert again["epe"].notna().all() and again["epe"].tolist() == first["epe"].tolist()
    broken.iloc[:1].assign(epe=first["epe"].iloc[0]).to_csv(csv, index=False)
    assert len(cached_evaluate(["zero"], pairs, "t", tmp_path)) == 2


def test_progress_bars_for_loading_and_scoring_only_when_asked(capsys):
    """Issue 14 row 12: a dataset's pairs load and are scored under tqdm bars; quiet by default."""
    ds = datasets.FlyingShapes(2, size=(32, 32), seed=1)
    evaluate(["zero"], ds, "shapes")
    assert capsys.readouterr().err == ""
    evaluate(["zero"], ds, "shapes", progress=True)
    err = capsys.readouterr().err
    assert "shapes: loading pairs" in err and "shapes: zero" in err


def test_regions_on_the_paper_grid_by_hand():
    """The valid mask is averaged to the k = 1 grid like the flow: a 2 x 2 cell is face only when
    all four of its pixels are; the partly covered cell counts as outside."""
    gt = np.zeros((4, 4, 2), np.float32)
    gt[:2, :2] = (4.0, 0.0)  # top-left block (the face) moves 4 px right
    mask = np.zeros((4, 4), bool)
    mask[:2, :2] = True  # top-left cell: all four pixels face
    mask[2, 2] = True  # bottom-right cell: one pixel of four -> not face on the grid
    img = np.zeros((4, 4, 3), np.uint8)
    pair = FlowPair("p", img, img, gt, mask=mask)
    right_on_face = np.zeros((2, 2, 2), np.float32)
    right_on_face[0, 0] = (2.0, 0.0)  # exact on the face cell ...
    right_on_face[1, :] = (1.0, 0.0)  # ... and wrong by 1 px on the two bottom cells
    df = evaluate({"net": lambda a, b: right_on_face}, [pair], convention="paper")
    r = df.iloc[0]
    assert r["face_share"] == pytest.approx(0.25)  # one cell of four
    assert r["epe_face"] == 0.0
    assert r["epe_outside"] == pytest.approx(2 / 3)  # 1 + 1 + 0 over three cells
    assert r["epe"] == pytest.approx(0.5)  # the whole crop, the paper's number
    assert r["gt_mag_face"] == pytest.approx(2.0) and r["gt_mag"] == pytest.approx(0.5)
    no_mask = evaluate({"net": lambda a, b: right_on_face}, [FlowPair("p", img, img, gt)], convention="paper")
    assert np.isnan(no_mask.loc[0, "epe_face"]) and no_mask.loc[0, "epe"] == r["epe"]
