"""EPE and the paper's angular error (Eq. 8), NumPy and torch, on values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from faceflow.flow import metrics


def _field(vectors):
    return np.array(vectors, dtype=np.float64).reshape(1, -1, 2)


def test_epe_by_hand():
    gt = _field([(0, 0), (1, 1)])
    pred = _field([(3, 4), (1, 1)])
    # |(3,4)| = 5 and 0 -> mean 2.5
    assert metrics.epe(pred, gt) == pytest.approx(2.5)
    assert metrics.epe(pred, gt, valid=np.array([[True, False]])) == pytest.approx(5.0)


def test_aae_by_hand():
    # gt (0,0,1) vs pred (1,0,1): angle 45 degrees
    gt = _field([(0, 0)])
    pred = _field([(1, 0)])
    assert metrics.aae(pred, gt) == pytest.approx(math.pi / 4)
    assert metrics.aae(pred, gt, degrees=True) == pytest.approx(45.0)
    # (1,0,1) vs (0,1,1): cos = 1/2 -> 60 degrees
    assert metrics.aae(_field([(0, 1)]), _field([(1, 0)]), degrees=True) == pytest.approx(60.0)
    # identical vectors: zero angle
    assert metrics.aae(gt, gt) == 0.0


def test_aae_is_obtuse_when_dot_is_negative():
    # (2,0,1).(-2,0,1) = -3 < 0: arctan of the ratio would be negative; the angle is obtuse
    gt, pred = _field([(2, 0)]), _field([(-2, 0)])
    cross = np.linalg.norm(np.cross([2, 0, 1], [-2, 0, 1]))
    expected = math.pi - math.atan(cross / 3)
    assert metrics.aae(pred, gt) == pytest.approx(expected)
    assert math.pi / 2 < metrics.aae(pred, gt) <= math.pi


def test_shape_errors_name_shapes():
    with pytest.raises(ValueError, match=r"\(1, 2, 2\)"):
        metrics.epe(np.zeros((1, 2, 2)), np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="layout"):
        metrics.epe(np.zeros((2, 2, 3)), np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="no pixel"):
        metrics.epe(np.zeros((1, 2, 2)), np.zeros((1, 2, 2)), valid=np.zeros((1, 2), bool))


def test_numpy_and_torch_maps_agree():
    rng = np.random.default_rng(1)
    gt = rng.normal(scale=3, size=(2, 5, 6, 2))
    pred = rng.normal(scale=3, size=(2, 5, 6, 2))
    tg = torch.from_numpy(gt).permute(0, 3, 1, 2)
    tp = torch.from_numpy(pred).permute(0, 3, 1, 2)
    np.testing.assert_allclose(metrics.epe_map_torch(tp, tg).numpy(), metrics.epe_map(pred, gt), rtol=1e-12)
    np.testing.assert_allclose(
        metrics.angular_error_map_torch(tp, tg, degrees=True).numpy(),
        metrics.angular_error_map(pred, gt, degrees=True),
        rtol=1e-6,
    )


def test_torch_angular_error_has_finite_gradient_at_zero_error():
    gt = torch.zeros(1, 2, 2, 2, dtype=torch.float64)
    pred = gt.clone().requires_grad_(True)
    metrics.angular_error_map_torch(pred, gt).mean().backward()
    assert torch.isfinite(pred.grad).all()


def test_region_errors_right_inside_the_mask_wrong_outside():
    from faceflow.flow.metrics import region_errors

    gt = np.zeros((6, 8, 2))
    gt[2:4, 3:6] = (1.5, -0.5)
    mask = np.zeros((6, 8), bool)
    mask[2:4, 3:6] = True
    pred = gt.copy()
    pred[~mask] = (3.0, 4.0)  # 5 px wrong on every pixel outside the face
    e = region_errors(pred, gt, mask)
    assert e["epe_face"] == 0.0 and e["aae_face"] == 0.0
    assert e["epe_outside"] == pytest.approx(5.0)
    assert e["epe"] == pytest.approx(5.0 * (48 - 6) / 48)
    assert e["face_share"] == pytest.approx(6 / 48)
    everywhere = region_errors(pred, gt, np.ones((6, 8), bool))
    assert np.isnan(everywhere["epe_outside"]) and everywhere["epe_face"] == e["epe"]
