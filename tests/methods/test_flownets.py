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


# ----------------------------------------------------------------------------- released-code options
def test_default_config_is_the_stacked_faceflow_network():
    cfg = FlowNetSConfig()
    assert (cfg.encoder, cfg.decoder, cfg.padding, cfg.init) == ("stacked", "faceflow", "symmetric", "faceflow")
    keys = set(FlowNetS(cfg).state_dict())
    assert "conv1.0.weight" in keys and "up5.weight" in keys and not any("redir" in k or "fuse" in k for k in keys)
    with pytest.raises(ValueError, match="encoder"):
        FlowNetSConfig(encoder="corr")


def test_siamese_channel_counts_match_the_released_code():
    m = FlowNetS(encoder="siamese", decoder="released")
    assert m.conv1[0].in_channels == 3 and m.conv1[0].out_channels == 64
    assert m.conv3[0].out_channels == 256 and m.conv_redir[0].kernel_size == (1, 1)
    assert m.conv_redir[0].out_channels == 32 and m.conv3_1[0].in_channels == 32 + 256 + 256
    assert isinstance(m.conv6_1[-1], torch.nn.ReLU)  # conv6_1 is plain ReLU in the released code
    assert m.fuse5[0].in_channels == 512 + 512 + 2 and m.fuse5[0].out_channels == 1024
    assert m.fuse3[0].out_channels == 512 and not hasattr(m, "fuse2")
    assert m.predict2.in_channels == 128 + 128 + 2 and m.predict1.in_channels == 64 + 64 + 2


def test_siamese_towers_share_weights_and_fuse_after_conv3():
    torch.manual_seed(0)
    m = FlowNetS(width=0.0625, encoder="siamese").eval()
    a, b = torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64)
    seen = {}
    m.conv3_1.register_forward_hook(lambda mod, inp, out: seen.update(x=inp[0]))
    with torch.no_grad():
        o1, o2, *_ = m.encode(a, b)
        t3a = m.conv3(m.conv2(m.conv1(a)))
        t3b = m.conv3(m.conv2(m.conv1(b)))  # the same tower on the second frame
        expected = torch.cat([m.conv_redir(t3a), t3a, t3b], 1)
        assert torch.allclose(seen["x"], expected, atol=1e-6)
        assert torch.allclose(o1, m.conv1(a), atol=1e-6) and torch.allclose(o2, m.conv2(m.conv1(a)), atol=1e-6)
        # the skips come from the first frame only
        o1b, o2b, o3b, *_ = m.encode(a, torch.rand(2, 3, 64, 64))
        assert torch.equal(o1, o1b) and torch.equal(o2, o2b) and not torch.allclose(seen["x"], expected)


def test_tf_same_padding_puts_the_extra_pixel_at_the_bottom():
    x = torch.arange(8.0).view(1, 1, 8, 1).expand(1, 1, 8, 8).contiguous()  # value = row index
    for padding, first in (("tf-same", (0 + 1 + 2) * 3), ("symmetric", (0 + 0 + 1) * 3)):
        conv = flownets._conv(1, 1, 3, 2, False, padding)
        c = [mod for mod in conv if isinstance(mod, torch.nn.Conv2d)][0]
        torch.nn.init.ones_(c.weight)
        torch.nn.init.zeros_(c.bias)
        with torch.no_grad():
            out = conv(x)
        assert out.shape == (1, 1, 4, 4)
        assert float(out[0, 0, 0, 1]) == first  # TF: rows 0..2; PyTorch: rows -1..1
    # TF 'same' for 7x7 / 5x5 stride 2: 2+3 and 1+2 pixels
    assert flownets._conv(3, 4, 7, 2, False, "tf-same")[0].padding == (2, 3, 2, 3)
    assert flownets._conv(3, 4, 5, 2, False, "tf-same")[0].padding == (1, 2, 1, 2)


def test_upsample2x_tf1_by_hand():
    x = torch.tensor([0.0, 2.0, 4.0]).view(1, 1, 1, 3).expand(1, 1, 2, 3)
    out = flownets.upsample2x_tf1(x)
    assert out.shape == (1, 1, 4, 6)
    assert out[0, 0, 0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 4.0]  # sample at i / 2, clamped
    assert torch.equal(out[0, 0, 0], out[0, 0, 3])


def test_released_decoder_outputs_pixels_without_div_flow():
    torch.manual_seed(0)
    m = FlowNetS(width=0.0625, encoder="siamese", decoder="released", flow_scale=20.0)
    x, y = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    raw, out = m.forward_raw(x, y), m(x, y)
    assert all(torch.equal(r, o) for r, o in zip(raw, out))
    assert [tuple(o.shape[-2:]) for o in out] == [(32, 32), (16, 16), (8, 8), (4, 4), (2, 2)]


def test_keras_init_is_glorot_uniform_with_zero_bias():
    m = FlowNetS(width=0.0625, encoder="siamese", decoder="released", init="keras")
    w = m.conv4[0].weight.detach()
    fan_in, fan_out = w.shape[1] * 9, w.shape[0] * 9
    assert float(w.abs().max()) <= (6 / (fan_in + fan_out)) ** 0.5
    assert float(m.conv4[0].bias.detach().abs().max()) == 0.0
    assert float(m.predict1.weight.detach().std()) > 1e-2  # not the small predictor init of ours


def test_raw_0_255_input_by_normalisation():
    torch.manual_seed(0)
    m = FlowNetS(width=0.0625, input_mean=(0.0, 0.0, 0.0), input_std=(1 / 255,) * 3).eval()
    seen = {}
    m.conv1.register_forward_hook(lambda mod, inp, out: seen.update(x=inp[0]))
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        m(x, x)
    assert torch.allclose(seen["x"][:, :3], x * 255, atol=1e-4)
