"""RAFT-small: shapes without data, the lookup's channel order, strict loading of the official file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from faceflow.methods import raft, weights


def test_forward_shapes_with_random_weights():
    torch.manual_seed(0)
    net = raft.RAFTSmall().eval()
    assert sum(p.numel() for p in net.parameters()) == raft.NUM_PARAMETERS
    with torch.inference_mode():
        out = net(torch.rand(1, 3, 64, 80) * 255, torch.rand(1, 3, 64, 80) * 255, iters=2)
        seq = net(torch.rand(1, 3, 64, 80) * 255, torch.rand(1, 3, 64, 80) * 255, iters=3, all_iters=True)
    assert out.shape == (1, 2, 64, 80) and len(seq) == 3 and seq[-1].shape == (1, 2, 64, 80)
    a = np.random.default_rng(0).integers(0, 256, (37, 50, 3), dtype=np.uint8)
    flow = raft.raft_flow(net, a, a, iters=2)  # padded to 64x64 inside, cropped back
    assert flow.shape == (37, 50, 2) and flow.dtype == np.float32 and np.isfinite(flow).all()
    with pytest.raises(ValueError, match="multiple of 8"):
        net(torch.zeros(1, 3, 60, 64), torch.zeros(1, 3, 60, 64))
    with pytest.raises(ValueError, match="at least 64"):
        net(torch.zeros(1, 3, 56, 64), torch.zeros(1, 3, 56, 64))


def test_lookup_channel_order_by_hand():
    """Channel i*7+j of a level holds the correlation at offset (dx, dy) = (i-3, j-3)."""
    torch.manual_seed(0)
    f1, f2 = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    pyr = raft.correlation_pyramid(f1, f2, levels=1)
    ys, xs = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
    out = raft.lookup(pyr, torch.stack((xs, ys))[None], radius=3)
    y, x, dx, dy = 4, 3, 2, -1
    want = (f1[0, :, y, x] * f2[0, :, y + dy, x + dx]).sum() / 2.0  # / sqrt(4 channels)
    assert torch.allclose(out[0, (dx + 3) * 7 + (dy + 3), y, x], want, atol=1e-5)
    assert out[0, 0, 0, 0] == 0  # offset (-3, -3) from the corner lies outside


def test_padding_is_centred_and_undone():
    t = torch.arange(2 * 3 * 50 * 70, dtype=torch.float32).view(2, 3, 50, 70)
    padded, (left, right, top, bottom) = raft.pad_to_eight(t)
    assert padded.shape[-2:] == (64, 72) and (left, right, top, bottom) == (1, 1, 7, 7)
    assert torch.equal(padded[..., top : top + 50, left : left + 70], t)


def test_a_wrong_state_dict_is_refused_with_the_differences():
    state = raft.RAFTSmall().state_dict()
    state["fnet.conv2.weight"] = torch.zeros(64, 96, 1, 1)
    state["extra.weight"] = torch.zeros(1)
    del state["cnet.conv1.bias"]
    with pytest.raises(weights.WeightsError) as err:
        raft.load_raft_state(state, "x.pth")
    msg = str(err.value)
    assert "missing ['cnet.conv1.bias']" in msg and "unexpected ['extra.weight']" in msg
    assert "fnet.conv2.weight: file (64, 96, 1, 1) vs model (128, 96, 1, 1)" in msg


@pytest.mark.data
def test_official_file_loads_strictly(data_root, tmp_path):
    net = raft.load_raft_small(data_root)
    raw = torch.load(data_root / "weights/raft/raft-small.pth", map_location="cpu", weights_only=True)
    assert all(k.startswith("module.") for k in raw)
    own = net.state_dict()
    assert set(own) == {k[len("module.") :] for k in raw}
    assert all(torch.equal(own[k[len("module.") :]], v) for k, v in raw.items())
    copy = tmp_path / "raft-small.pth"
    copy.write_bytes((data_root / "weights/raft/raft-small.pth").read_bytes()[:-1] + b"\0")
    with pytest.raises(weights.WeightsError, match="raft-small: .* is corrupt: sha256"):
        raft.load_raft_small(path=copy)
