"""The one per-pair evaluation loop: columns, checkpoints as methods, zero flow, the CSV cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceflow.evaluation.evaluate import COLUMNS, cached_evaluate, evaluate
from faceflow.flow.synthetic import affine_pair, fallback_image, similarity
from faceflow.methods.flownets import predict_flow
from faceflow.training import datasets, loop
from faceflow.training.checkpoints import checkpoint_flow_fn, load_checkpoint


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
