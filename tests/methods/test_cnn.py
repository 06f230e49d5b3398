"""PWC-Net and LiteFlowNet in the ports' layout: cost volume, warping, strict checkpoint loading."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

from faceflow.methods import cnn as cnnflow
from faceflow.methods import registry


def random_port_checkpoint(arch, path, seed=0, old_names=True):
    """Save a randomly initialised ``arch`` in the port's file layout (``module`` prefix with ``old_names``)."""
    torch.manual_seed(seed)
    sd = cnnflow.ARCHITECTURES[arch]().state_dict()
    if old_names:
        sd = {k.replace("net", "module"): v for k, v in sd.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(sd, path)
    return path


def _naive_correlation(f1, f2, r, stride):
    b, c, h, w = f1.shape
    ho, wo = -(-h // stride), -(-w // stride)
    out = torch.zeros(b, (2 * r + 1) ** 2, ho, wo)
    for i in range(ho):
        for j in range(wo):
            y, x = i * stride, j * stride
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    yy, xx = y + dy * stride, x + dx * stride
                    if 0 <= yy < h and 0 <= xx < w:
                        ch = (dy + r) * (2 * r + 1) + (dx + r)
                        out[:, ch, i, j] = (f1[:, :, y, x] * f2[:, :, yy, xx]).mean(1)
    return out


@pytest.mark.parametrize("r,stride,h,w", [(4, 1, 9, 11), (3, 2, 10, 12), (3, 2, 9, 7), (3, 1, 6, 5)])
def test_correlation_matches_a_naive_loop(r, stride, h, w):
    g = torch.Generator().manual_seed(0)
    f1, f2 = torch.randn(2, 5, h, w, generator=g), torch.randn(2, 5, h, w, generator=g)
    got = cnnflow.correlation(f1, f2, r, stride)
    assert torch.allclose(got, _naive_correlation(f1, f2, r, stride), atol=1e-6)


def test_backwarp_identity_and_integer_shift():
    x = torch.arange(2 * 3 * 8 * 10, dtype=torch.float32).view(2, 3, 8, 10)
    zero = torch.zeros(2, 2, 8, 10)
    assert torch.allclose(cnnflow.backwarp(x, zero), x, atol=1e-4)
    # flow is normalised by (W-1)/2 as in the ports: a flow of (W-1)/W * 2 ... keep to the
    # interior where a shift of one normalised pixel step samples the right neighbour
    flow = torch.zeros(2, 2, 8, 10)
    flow[:, 0] = (10 - 1.0) / 10  # one pixel in the ports' convention
    out = cnnflow.backwarp(x, flow)
    assert torch.allclose(out[..., :-1], x[..., 1:], atol=1e-3)
    masked = cnnflow.backwarp(x, flow, mask=True)
    assert torch.all(masked[..., -1] == 0)


#: A few (key, shape) pairs of the ports' published checkpoints.
PWC_KEYS = {
    "netExtractor.netOne.0.weight": (16, 3, 3, 3),
    "netExtractor.netSix.4.weight": (196, 196, 3, 3),
    "netSix.netOne.0.weight": (128, 81, 3, 3),
    "netFiv.netUpfeat.weight": (529, 2, 4, 4),
    "netTwo.netUpfeat.weight": (597, 2, 4, 4),
    "netTwo.netSix.0.weight": (2, 565, 3, 3),
    "netRefiner.netMain.0.weight": (128, 565, 3, 3),
    "netRefiner.netMain.12.weight": (2, 32, 3, 3),
}
LFN_KEYS = {
    "netFeatures.netOne.0.weight": (32, 3, 7, 7),
    "netFeatures.netSix.0.weight": (192, 128, 3, 3),
    "netMatching.0.netFeat.0.weight": (64, 32, 1, 1),
    "netMatching.0.netUpcorr.weight": (49, 1, 4, 4),
    "netMatching.0.netUpflow.weight": (2, 1, 4, 4),
    "netMatching.4.netMain.6.weight": (2, 32, 3, 3),
    "netSubpixel.4.netMain.0.weight": (128, 386, 3, 3),
    "netRegularization.0.netFeat.0.weight": (128, 32, 1, 1),
    "netRegularization.0.netDist.0.weight": (49, 32, 7, 1),
    "netRegularization.0.netDist.1.weight": (49, 49, 1, 7),
    "netRegularization.4.netMain.0.weight": (128, 195, 3, 3),
    "netRegularization.4.netDist.0.weight": (9, 32, 3, 3),
    "netRegularization.4.netScaleX.weight": (1, 9, 1, 1),
}


@pytest.mark.parametrize("arch,keys,n_params", [("PWC-Net", PWC_KEYS, 9_374_274), ("LiteFlowNet", LFN_KEYS, 5_381_969)])
def test_architecture_layout(arch, keys, n_params):
    sd = cnnflow.ARCHITECTURES[arch]().state_dict()
    for k, shape in keys.items():
        assert tuple(sd[k].shape) == shape, k
    assert sum(v.numel() for v in sd.values()) == n_params
    assert "netMatching.4.netUpflow.weight" not in sd  # level 6 has no upsampling
    if arch == "LiteFlowNet":
        assert "netMatching.2.netUpcorr.weight" not in sd  # level 4 correlates at stride 1


@pytest.mark.parametrize("arch", ["PWC-Net", "LiteFlowNet"])
@pytest.mark.parametrize("old_names", [True, False])
def test_random_port_checkpoint_loads_strictly_and_runs(tmp_path, arch, old_names):
    path = random_port_checkpoint(arch, tmp_path / "w.pytorch", seed=1, old_names=old_names)
    raw = torch.load(path, weights_only=True)
    assert all(("module" in k) == old_names for k in raw)
    model = cnnflow.load_port_checkpoint(arch, path)
    ref = cnnflow.ARCHITECTURES[arch]()
    assert set(model.state_dict()) == set(ref.state_dict())
    if not old_names:
        return
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (70, 90, 3), dtype=np.uint8)
    b = np.roll(a, 2, axis=1)
    flow = cnnflow.run_network(model, a, b)
    assert flow.shape == (70, 90, 2) and flow.dtype == np.float32 and np.isfinite(flow).all()


def test_dataparallel_prefix_and_wrapped_state_dict(tmp_path):
    sd = cnnflow.PWCNet().state_dict()
    torch.save({"state_dict": {"module." + k: v for k, v in sd.items()}}, tmp_path / "dp.pth")
    cnnflow.load_port_checkpoint("PWC-Net", tmp_path / "dp.pth")


def test_wrong_checkpoints_are_clear_errors(tmp_path):
    with pytest.raises(cnnflow.WeightsError, match="no such"):
        cnnflow.load_port_checkpoint("PWC-Net", tmp_path / "missing.pytorch")
    (tmp_path / "junk.pytorch").write_bytes(b"not a checkpoint")
    with pytest.raises(cnnflow.WeightsError, match="readable"):
        cnnflow.load_port_checkpoint("PWC-Net", tmp_path / "junk.pytorch")
    lfn = random_port_checkpoint("LiteFlowNet", tmp_path / "lfn.pytorch")
    with pytest.raises(cnnflow.WeightsError, match="not a PWC-Net"):
        cnnflow.load_port_checkpoint("PWC-Net", lfn)
    sd = cnnflow.PWCNet().state_dict()
    sd["netRefiner.netMain.0.weight"] = torch.zeros(128, 564, 3, 3)
    torch.save(sd, tmp_path / "shape.pytorch")
    with pytest.raises(cnnflow.WeightsError, match="shape mismatch"):
        cnnflow.load_port_checkpoint("PWC-Net", tmp_path / "shape.pytorch")
    with pytest.raises(ValueError, match="unknown architecture"):
        cnnflow.load_port_checkpoint("RAFT", lfn)


def test_status_without_weights_says_how_to_get_them(monkeypatch):
    monkeypatch.delenv(cnnflow.WEIGHTS_ENV, raising=False)
    st = cnnflow.cnn_status(None)
    assert [s.name for s in st] == ["FlowNet2.0", "FlowNet3.0-CSS", "LiteFlowNet", "PWC-Net"]
    assert not any(s.available for s in st)
    assert all(s.reason.startswith("weights not available") for s in st)
    assert "network-default.pytorch" in {s.name: s.reason for s in st}["PWC-Net"]


def test_register_cnn_baselines_from_a_weights_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(cnnflow, "ptlflow_available", lambda: False)
    random_port_checkpoint("PWC-Net", tmp_path / "pwc-default.pytorch")
    random_port_checkpoint("LiteFlowNet", tmp_path / "liteflownet-default.pytorch")
    (tmp_path / "flownet2.ckpt").write_bytes(b"x")
    st = {s.name: s for s in cnnflow.register_cnn_baselines(tmp_path)}
    try:
        assert st["PWC-Net"].available and st["LiteFlowNet"].available
        assert not st["FlowNet2.0"].available and "ptlflow" in st["FlowNet2.0"].reason
        assert not st["FlowNet3.0-CSS"].available
        assert sorted(registry.methods_of_kind("cnn")) == ["LiteFlowNet", "PWC-Net"]
        a = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
        assert registry.estimate_flow("PWC-Net", a, a).shape == (64, 64, 2)
    finally:
        for n in registry.methods_of_kind("cnn"):
            registry.unregister(n)


def test_ptlflow_adapter_with_a_stand_in_package(tmp_path, monkeypatch):
    """The adapter's glue (model building, BGR input, output layout) against a fake ptlflow."""
    seen = {}

    class FakeModel(torch.nn.Module):
        def forward(self, inputs):
            imgs = inputs["images"]  # (1, 2, 3, H, W)
            seen["shape"] = tuple(imgs.shape)
            b, n, c, h, w = imgs.shape
            flow = torch.zeros(1, 1, 2, h, w)
            flow[:, :, 0] = 1.5
            return {"flows": flow}

    class IOAdapter:
        def __init__(self, model, size):
            seen["size"] = size

        def prepare_inputs(self, images):
            seen["first_pixel"] = images[0][0, 0].tolist()
            t = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float()[None]
            return {"images": t}

    ptl = types.ModuleType("ptlflow")
    ptl.get_model = lambda name, ckpt_path=None: (seen.update(name=name, ckpt=ckpt_path), FakeModel())[1]
    utils = types.ModuleType("ptlflow.utils")
    io = types.ModuleType("ptlflow.utils.io_adapter")
    io.IOAdapter = IOAdapter
    monkeypatch.setitem(sys.modules, "ptlflow", ptl)
    monkeypatch.setitem(sys.modules, "ptlflow.utils", utils)
    monkeypatch.setitem(sys.modules, "ptlflow.utils.io_adapter", io)
    monkeypatch.setattr(cnnflow, "ptlflow_available", lambda: True)
    (tmp_path / "flownet2.ckpt").write_bytes(b"x")
    st = {s.name: s for s in cnnflow.cnn_status(tmp_path)}["FlowNet2.0"]
    assert st.available and st.route == "ptlflow"
    fn = cnnflow.flow_fn_for(st)
    a = np.zeros((20, 30, 3), np.uint8)
    a[0, 0] = (10, 20, 30)
    flow = fn(a, a)
    assert flow.shape == (20, 30, 2) and np.all(flow[..., 0] == 1.5)
    assert seen["name"] == "flownet2" and seen["ckpt"].endswith("flownet2.ckpt")
    assert seen["first_pixel"] == [30, 20, 10]  # BGR, as ptlflow's cv2-based pipeline expects
