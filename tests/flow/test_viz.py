"""Middlebury colour coding and the panel grid."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from faceflow.flow.viz import Panel, color_wheel, flow_to_rgb, panel_grid, panel_label, radius_text, wheel_image


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
    titles = {ax.get_title().split("\n")[0]: ax for ax in fig.get_axes()}
    assert len(fig.get_axes()) == 5  # four cells and the colour key
    assert titles["c"].get_title().startswith("c\nEPE 0.000")
    key = titles["flow colour key"].get_xlabel()
    assert "each panel's" in key and "largest vector" in key
    with pytest.raises(ValueError):
        panel_grid([])


def test_the_key_says_the_shared_radius_and_images_alone_get_no_key():
    flow = np.ones((4, 5, 2))
    fig = panel_grid([[Panel("a", flow=flow, max_radius=2.5)], [Panel("b", flow=flow, max_radius=2.5)]])
    keys = [ax.get_xlabel() for ax in fig.get_axes() if ax.get_title() == "flow colour key"]
    assert len(fig.get_axes()) == 3 and len(keys) == 1
    assert "2.5 px" in keys[0] and "largest" not in keys[0]
    only_images = panel_grid([[Panel("a", image=np.zeros((4, 5, 3), np.uint8))]])
    assert len(only_images.get_axes()) == 1
    assert radius_text([None, None]) == "rim = each panel's largest vector"
    assert radius_text([1.0, None]) == "rim = 1 px or each panel's largest vector"


def test_wheel_pixels_are_the_colours_of_the_vectors_they_stand_for():
    img = wheel_image(21)
    c = 10
    assert (img[c, c] == 255).all()  # zero vector: white
    unit = np.zeros((1, 4, 2))
    unit[0] = [(1, 0), (-1, 0), (0, 1), (0, -1)]  # right, left, down, up at the rim
    expected = flow_to_rgb(unit, max_radius=1.0)[0]
    for (row, col), colour in zip([(c, 20), (c, 0), (20, c), (0, c)], expected):
        np.testing.assert_array_equal(img[row, col], colour)
    half = np.zeros((1, 1, 2))
    half[0, 0] = (0.5, 0.0)
    np.testing.assert_array_equal(img[c, 15], flow_to_rgb(half, max_radius=1.0)[0, 0])
    assert (img[0, 0] == 255).all()  # the corner lies outside the disk
    with pytest.raises(ValueError, match="odd"):
        wheel_image(20)
