"""Checkpoints as flow methods: registration, lazy loading, a real checkpoint round trip."""

from __future__ import annotations

import numpy as np
import pytest

from faceflow.methods import flownets_checkpoints, registry
from faceflow.training import checkpoints as checkpoint_writer
from faceflow.training import experiments


@pytest.fixture
def fake_training(monkeypatch):
    """``load_checkpoint`` replaced by a stand-in returning a small FlowNetS; records its calls."""
    from faceflow.methods.flownets import FlowNetS, FlowNetSConfig

    calls = []

    def load_checkpoint(path, map_location="cpu"):
        calls.append(str(path))
        return FlowNetS(FlowNetSConfig(width=0.125)), {}, {}

    monkeypatch.setattr(flownets_checkpoints, "load_checkpoint", load_checkpoint)
    return calls


def test_register_checkpoints_registers_existing_runs(tmp_path, fake_training, translated):
    for exp in ("Exp1", "Exp2II"):
        (tmp_path / exp).mkdir()
        (tmp_path / exp / "last.pt").write_bytes(b"stub")
    names = flownets_checkpoints.register_checkpoints(tmp_path)
    try:
        assert names == ["Exp1", "Exp2II"]
        assert set(names) <= set(registry.methods_of_kind("ours"))
        a, b = translated(1, 0, h=64, w=96)
        flow = registry.estimate_flow("Exp1", a, b)
        assert flow.shape == (64, 96, 2)
        registry.estimate_flow("Exp1", a, b)
        assert len(fake_training) == 1  # the model is loaded once, lazily
    finally:
        for n in names:
            registry.unregister(n)


def test_register_checkpoints_skips_missing(tmp_path):
    assert flownets_checkpoints.register_checkpoints(tmp_path) == []
    with pytest.raises(FileNotFoundError):
        flownets_checkpoints.checkpoint_flow_fn(tmp_path / "none.pt")


def test_register_checkpoints_with_a_real_checkpoint(tmp_path, translated):
    """A checkpoint written by the training engine round-trips through the registry."""
    cfg = experiments.make("Exp1", steps=1, resolution=(64, 128), model={"width": 0.125})
    model = checkpoint_writer.build_model(cfg)
    (tmp_path / "Exp1").mkdir()
    checkpoint_writer.save_checkpoint(tmp_path / "Exp1" / "last.pt", model, None, 1, cfg, {"finished": True})
    names = flownets_checkpoints.register_checkpoints(tmp_path)
    try:
        assert names == ["Exp1"]
        a, b = translated(1, 0, h=90, w=100)
        flow = registry.estimate_flow("Exp1", a, b)
        assert flow.shape == (90, 100, 2) and np.isfinite(flow).all()
    finally:
        registry.unregister("Exp1")
