"""The one torch backward warp (training losses, SPyNet): shifts, borders, sizes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceflow.flow.warp import warp_backward, warp_backward_torch


@pytest.mark.parametrize("du, dv", [(1, 0), (0, 2), (-3, 1), (2, -2)])
def test_an_integer_shift_is_a_roll_inside_the_valid_area(du, dv):
    img = torch.rand(2, 3, 9, 11, dtype=torch.float64)
    flow = torch.zeros(2, 2, 9, 11, dtype=torch.float64)
    flow[:, 0], flow[:, 1] = du, dv
    out = warp_backward_torch(img, flow)
    rolled = torch.roll(img, shifts=(-dv, -du), dims=(2, 3))  # out(p) = img(p + (du, dv))
    ys = slice(max(0, -dv), 9 - max(0, dv))
    xs = slice(max(0, -du), 11 - max(0, du))
    assert torch.allclose(out[..., ys, xs], rolled[..., ys, xs], atol=1e-12)


def test_positions_outside_are_clamped_with_border_padding_and_zero_with_zeros():
    img = torch.arange(20.0).view(1, 1, 4, 5)
    flow = torch.zeros(1, 2, 4, 5)
    flow[:, 0] = 1.0  # one pixel to the right: the last column samples past the edge
    assert torch.equal(warp_backward_torch(img, flow)[..., 4], img[..., 4])
    assert torch.equal(warp_backward_torch(img, flow, "zeros")[..., 4], torch.zeros(1, 1, 4))


def test_half_a_pixel_is_the_mean_of_two_neighbours():
    img = torch.arange(20.0).view(1, 1, 4, 5)
    flow = torch.zeros(1, 2, 4, 5)
    flow[:, 1] = 0.5
    out = warp_backward_torch(img, flow)
    assert torch.allclose(out[..., :3, :], (img[..., :3, :] + img[..., 1:, :]) / 2)


def test_agrees_with_the_numpy_warp_on_a_smooth_flow():
    rng = np.random.default_rng(3)
    img = rng.random((12, 14)).astype(np.float32)
    yy, xx = np.mgrid[0:12, 0:14].astype(np.float32)
    flow = np.stack([0.3 * np.sin(yy / 3), 0.4 * np.cos(xx / 4)], axis=-1).astype(np.float32)
    ours = warp_backward_torch(torch.from_numpy(img)[None, None], torch.from_numpy(flow).permute(2, 0, 1)[None])
    assert np.allclose(ours[0, 0].numpy(), warp_backward(img, flow), atol=1e-3)


def test_mismatched_sizes_are_refused():
    with pytest.raises(ValueError, match="do not match"):
        warp_backward_torch(torch.zeros(1, 3, 4, 5), torch.zeros(1, 2, 4, 6))
    with pytest.raises(ValueError, match="do not match"):
        warp_backward_torch(torch.zeros(1, 3, 4, 5), torch.zeros(2, 2, 4, 5))
