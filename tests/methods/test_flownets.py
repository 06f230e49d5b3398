"""FlowNetS: shapes, units, size errors, predict_flow."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceflow.methods import flownets
from faceflow.methods.flownets import FlowNetS, FlowNetSConfig


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return FlowNetS(width=0.0625)


def test_five_scales_shapes(tiny):
    x = torch.rand(2, 3, 128, 192)
    out = tiny(x, x)
    assert [tuple(o.shape) for o in out] == [(2, 2, 128 // 2**k, 192 // 2**k) for k in range(1, 6)]


def test_paper_resolution_scales(tiny):
    # the paper's (H_k, W_k) = (384 * 2^-k, 512 * 2^-k), k = 1..5, from the network itself
    x = torch.rand(1, 3, 384, 512)
    with torch.no_grad():
        out = tiny(x, x)
    assert [tuple(o.shape[-2:]) for o in out] == [(192, 256), (96, 128), (48, 64), (24, 32), (12, 16)]


def test_units_scale_with_k(tiny):
    x = torch.rand(1, 3, 64, 64)
    raw = tiny.forward_raw(x, x)
    out = tiny(x, x)
    s = tiny.config.flow_scale
    for k, (r, o) in enumerate(zip(raw, out), start=1):
        assert torch.allclose(o, r * s / 2**k)


def test_size_error_is_clear(tiny):
    x = torch.rand(1, 3, 100, 64)
    with pytest.raises(ValueError, match="divisible by 64"):
        tiny(x, x)


def test_full_width_is_default():
    cfg = FlowNetSConfig()
    assert cfg.width == 1.0
    m = FlowNetS(cfg)
    assert m.conv1[0].out_channels == 64 and m.conv6_1[0].out_channels == 1024
    assert isinstance(m.conv1[1], torch.nn.LeakyReLU) and m.conv1[1].negative_slope == 0.1
    assert m.conv1[0].in_channels == 6


def test_full_resolution_units():
    f = torch.ones(1, 2, 4, 4)
    up = flownets.full_resolution(f, 1)
    assert up.shape == (1, 2, 8, 8) and torch.allclose(up, torch.full_like(up, 2.0))


def test_predict_flow_any_size(tiny):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (50, 70, 3), dtype=np.uint8)
    flow = flownets.predict_flow(tiny, a, a)
    assert flow.shape == (50, 70, 2) and flow.dtype == np.float32
    with pytest.raises(ValueError):
        flownets.predict_flow(tiny, a, a[:10])


def test_input_normalisation_is_a_parameter():
    torch.manual_seed(0)
    m1 = FlowNetS(width=0.0625)
    torch.manual_seed(0)
    m2 = FlowNetS(width=0.0625, input_mean=(0.0, 0.0, 0.0), input_std=(2.0, 2.0, 2.0))
    x = torch.rand(1, 3, 64, 64)
    assert not torch.allclose(m1(x, x)[0], m2(x, x)[0])


def test_flops_counter_positive(tiny):
    assert flownets.inference_flops(tiny, 64, 64) > 0
