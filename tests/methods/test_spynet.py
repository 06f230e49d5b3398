"""SPyNet: shapes without data, strict loading of the published Torch7 files, the sign of a translation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceflow.methods import spynet, weights


def test_forward_shapes_with_random_weights():
    torch.manual_seed(0)
    net = spynet.SPyNet(num_models=5).eval()
    with torch.inference_mode():
        assert net(torch.randn(2, 3, 64, 96), torch.randn(2, 3, 64, 96)).shape == (2, 2, 64, 96)
    a = np.random.default_rng(0).integers(0, 256, (37, 50, 3), dtype=np.uint8)
    flow = spynet.spynet_flow(net, a, a)
    assert flow.shape == (37, 50, 2) and flow.dtype == np.float32 and np.isfinite(flow).all()
    assert spynet.spynet_flow(net, a[..., 0], a[..., 0]).shape == (37, 50, 2)  # gray works too


def test_pyramid_depth_follows_the_longer_side():
    assert [spynet.pyramid_depth(32, s) for s in (32, 64, 128, 256, 512, 1024)] == [1, 2, 3, 4, 5, 6]
    assert spynet.pyramid_depth(448, 1024) == 6 and spynet.pyramid_depth(384, 512) == 5


def test_bad_inputs_are_named():
    net = spynet.SPyNet(num_models=5).eval()
    with pytest.raises(ValueError, match="divisible by 4"):
        net(torch.zeros(1, 3, 90, 90), torch.zeros(1, 3, 90, 90))
    with pytest.raises(ValueError, match="uint8"):
        spynet.spynet_flow(net, np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="shapes differ"):
        spynet.spynet_flow(net, np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8))
    with pytest.raises(ValueError, match="num_models"):
        spynet.SPyNet(num_models=7)


@pytest.mark.data
@pytest.mark.parametrize(("variant", "levels"), [("chairs", 5), ("sintel", 6)])
def test_published_files_load_strictly(data_root, variant, levels):
    import torchfile

    net = spynet.load_spynet(variant, data_root)
    assert len(net.levels) == levels
    last = weights.weight_file(weights.spynet_file_names(variant)[-1])
    raw = torchfile.load(str(data_root / last.relpath))._obj[b"modules"][-1]._obj
    assert np.array_equal(net.levels[-1].body[8].weight.detach().numpy(), raw[b"weight"])
    assert np.array_equal(net.levels[-1].body[8].bias.detach().numpy(), raw[b"bias"])


def _t7_level(kernel: int = 7, seed: int = 0):
    """A Torch7 level model as torchfile returns it: nn.Sequential of 5 convolutions and 4 ReLUs."""
    import torchfile

    rng = np.random.default_rng(seed)
    modules = []
    for i, (cin, cout) in enumerate(zip(spynet.CHANNELS[:-1], spynet.CHANNELS[1:])):
        fields = dict(kW=kernel, kH=7, dW=1, dH=1, padW=3, padH=3, nInputPlane=cin, nOutputPlane=cout)
        fields = {k.encode(): v for k, v in fields.items()}
        fields[b"weight"] = rng.standard_normal((cout, cin, 7, 7)).astype(np.float32)
        fields[b"bias"] = rng.standard_normal(cout).astype(np.float32)
        modules.append(torchfile.TorchObject(b"nn.SpatialConvolution", fields))
        if i < 4:
            modules.append(torchfile.TorchObject(b"nn.ReLU", {}))
    return torchfile.TorchObject(b"nn.Sequential", {b"modules": modules})


def test_torch7_structure_is_checked(monkeypatch):
    import torchfile

    good = _t7_level()
    monkeypatch.setattr(torchfile, "load", lambda path: good)
    state = spynet.load_t7_level("level.t7")
    level = spynet.SpyLevel()
    level.load_state_dict(state, strict=True)
    assert np.array_equal(level.body[4].weight.detach().numpy(), good._obj[b"modules"][4]._obj[b"weight"])
    monkeypatch.setattr(torchfile, "load", lambda path: _t7_level(kernel=5))
    with pytest.raises(weights.WeightsError, match="level.t7 convolution 1: kW = 5, expected 7"):
        spynet.load_t7_level("level.t7")
    shuffled = _t7_level()
    shuffled._obj[b"modules"] = shuffled._obj[b"modules"][1:]
    monkeypatch.setattr(torchfile, "load", lambda path: shuffled)
    with pytest.raises(weights.WeightsError, match="module sequence"):
        spynet.load_t7_level("level.t7")


@pytest.mark.data
def test_translation_gives_the_right_sign(data_root):
    """Content moved right by 5 and up by 3 px gives flow (+5, -3)."""
    from faceflow.io.images import read_image

    img = read_image(data_root / "flyingchairs" / "0000001-img0.ppm")
    a, b = img[40:296, 40:424], img[43:299, 35:419]  # b(x, y) = a(x - 5, y + 3)
    flow = spynet.spynet_flow(spynet.load_spynet("chairs", data_root), a, b)
    assert np.allclose(np.median(flow[32:-32, 32:-32].reshape(-1, 2), axis=0), (5.0, -3.0), atol=0.3)
