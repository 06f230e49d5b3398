"""Least-squares affine fits of a flow and the global/local motion shares (Fig. 4's row types)."""

from __future__ import annotations

import numpy as np
import pytest

from faceflow.flow import affine, synthetic


def test_affine_fit_recovers_a_similarity_and_shares():
    A = synthetic.similarity(1.03, 4.0, 2.0, -1.0, (40, 30))
    flow = synthetic.affine_flow((60, 80), A)
    M = affine.fit_affine(flow)
    np.testing.assert_allclose(M, A - np.hstack([np.eye(2), np.zeros((2, 1))]), atol=1e-6)
    s = affine.motion_shares(flow)
    assert s.global_share == pytest.approx(1.0) and s.kind == "global"


def test_local_bumps_are_local_and_mixtures_are_both():
    h, w = 80, 100
    ys, xs = np.mgrid[0:h, 0:w]
    face = np.zeros((h, w), bool)
    face[10:70, 15:85] = True
    bump = np.zeros((h, w, 2), np.float32)
    for cx, cy, sgn in [(35, 30, 1), (65, 30, -1), (50, 58, 1)]:  # two "eyes" and a "mouth"
        g = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / 20.0)
        bump[..., 1] += sgn * 2.0 * g
    bump[~face] = 0
    local = affine.motion_shares(bump, face)
    assert local.kind == "local" and local.local_share > 0.7
    shift = np.zeros_like(bump)
    shift[face] = (0.3, 0.0)
    both = affine.motion_shares(bump + shift, face)
    assert both.kind == "both", both
    assert affine.motion_shares(np.zeros((5, 5, 2))).kind == "none"
