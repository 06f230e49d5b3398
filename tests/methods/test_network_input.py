"""Frames as network input tensors: channel order, value range and shape, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceflow.methods.network_input import image_tensor


def test_rgb_and_bgr_tensors_of_a_two_pixel_image():
    img = np.array([[[255, 0, 51], [0, 102, 255]]], np.uint8)  # 1 x 2 pixels
    rgb = image_tensor(img)
    assert rgb.shape == (1, 3, 1, 2) and rgb.dtype == torch.float32
    assert rgb[0, :, 0, 0].tolist() == pytest.approx([1.0, 0.0, 0.2])
    assert rgb[0, :, 0, 1].tolist() == pytest.approx([0.0, 0.4, 1.0])
    bgr = image_tensor(img, "bgr", unit=1.0)
    assert bgr[0, :, 0, 0].tolist() == [51.0, 0.0, 255.0]


def test_gray_is_repeated_into_three_channels():
    gray = np.array([[0, 128], [255, 7]], np.uint8)
    t = image_tensor(gray, unit=1.0)
    assert t.shape == (1, 3, 2, 2)
    for c in range(3):
        assert t[0, c].tolist() == gray.tolist()


@pytest.mark.parametrize(
    ("img", "order", "match"),
    [
        (np.zeros((2, 2, 3), np.float32), "rgb", "uint8"),
        (np.zeros((2, 2, 4), np.uint8), "rgb", r"\(H, W, 3\)"),
        (np.zeros((2, 2, 3), np.uint8), "hsv", "order"),
    ],
)
def test_what_is_not_a_frame_is_refused(img, order, match):
    with pytest.raises(ValueError, match=match):
        image_tensor(img, order)
