"""Resizing flows and their valid masks together."""

from __future__ import annotations

import numpy as np

from faceflow.flow.fields import resize_flow, resize_mask


def test_mask_on_a_half_grid_by_hand():
    """Each 2 x 2 block is valid only when all four pixels are."""
    m = np.array(
        [
            [1, 1, 1, 0],
            [1, 1, 1, 1],
            [0, 1, 1, 1],
            [1, 1, 1, 1],
        ],
        bool,
    )
    np.testing.assert_array_equal(resize_mask(m, (2, 2)), [[True, False], [False, True]])
    assert resize_mask(m, (4, 4)).tolist() == m.tolist()


def test_non_integer_resize_keeps_only_cells_whose_bilinear_support_is_valid():
    rng = np.random.default_rng(0)
    m = rng.random((30, 40)) > 0.2
    size = (21, 29)
    r = resize_mask(m, size)
    # a flow that is 1 on valid pixels and 0 elsewhere, resized like a flow: exactly 1 where valid
    f = np.zeros((30, 40, 2), np.float32)
    f[m, 0] = 1.0
    up = resize_flow(f, size)[..., 0] / (size[1] / 40)
    assert r.any() and np.allclose(up[r], 1.0, atol=1e-3)
    # and no cell whose flow is drawn wholly from valid pixels is dropped
    assert r[up > 1 - 1e-6].all()
