"""Middlebury colour coding and the panel grid."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from faceflow.flow.viz import Panel, color_wheel, flow_to_rgb, panel_grid, panel_label


def test_wheel_has_55_hues_in_range():
    w = color_wheel()
    assert w.shape == (55, 3)
    assert w.min() >= 0 and w.max() <= 255
    np.testing.assert_array_equal(w[0], [255, 0, 0])  # starts at red


def test_zero_flow_is_white():
    rgb = flow_to_rgb(np.zeros((3, 4, 2)))
    assert rgb.dtype == np.uint8 and rgb.shape == (3, 4, 3)
    assert (rgb == 255).all()


def test_direction_sets_hue_and_opposites_differ():
    flow = np.zeros((1, 4, 2))
    flow[0] = [(1, 0), (-1, 0), (0, 1), (0, -1)]
    rgb = flow_to_rgb(flow).astype(int)
    assert len({tuple(c) for c in rgb[0]}) == 4
    # Middlebury convention: rightward motion (u > 0) is red, leftward (u < 0) cyan.
    assert rgb[0, 0].argmax() == 0 and rgb[0, 0][0] == 255
    assert rgb[0, 1].argmin() == 0 and rgb[0, 1][2] == 255


def test_shared_radius_makes_panels_comparable():
    small = np.zeros((1, 1, 2))
    small[0, 0] = (1, 0)
    own = flow_to_rgb(small)
    shared = flow_to_rgb(small, max_radius=4.0)
    # with a larger shared radius the same vector is less saturated (closer to white)
    assert shared.astype(int).sum() > own.astype(int).sum()


def test_non_finite_vectors_are_black_and_bad_shapes_rejected():
    flow = np.zeros((1, 2, 2))
    flow[0, 0] = (np.nan, 0)
    flow[0, 1] = (1, 1)
    assert (flow_to_rgb(flow)[0, 0] == 0).all()
    with pytest.raises(ValueError, match=r"\(H, W, 2\)"):
        flow_to_rgb(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="max_radius"):
        flow_to_rgb(np.zeros((2, 2, 2)), max_radius=-1)


def test_panel_label_carries_epe_and_aae():
    gt = np.zeros((2, 2, 2))
    pred = np.zeros((2, 2, 2))
    pred[..., 0] = 1.0
    label = panel_label(Panel("net", flow=pred, gt=gt))
    assert "EPE 1.000" in label and "AAE 0.785" in label  # 45 degrees = 0.785 rad


def test_panel_grid_draws_every_cell():
    img = np.zeros((4, 5, 3), np.uint8)
    flow = np.ones((4, 5, 2))
    fig = panel_grid([[Panel("a", image=img), Panel("b", flow=flow)], [None, Panel("c", flow=flow, gt=flow)]])
    axes = fig.get_axes()
    assert len(axes) == 4
    assert axes[3].get_title().startswith("c\nEPE 0.000")
    with pytest.raises(ValueError):
        panel_grid([])
