"""The flow-method registry, the classical methods on a known translation, checkpoint registration."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from faceflow import baselines


def _texture(h=96, w=128, seed=0):
    """A smooth random texture (uint8 RGB): enough structure for every method to lock on."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.random((h, w, 3)).astype(np.float32)
    img = cv2.GaussianBlur(noise, (0, 0), 2.0)
    img = (img - img.min()) / (img.max() - img.min())
    return (255 * img).astype(np.uint8)


def _translated(dx, dy, h=96, w=128):
    """Frame 2 is frame 1 moved by (dx, dy): the true flow is (dx, dy) everywhere."""
    import cv2

    big = _texture(h + 40, w + 40)
    a = big[20 : 20 + h, 20 : 20 + w]
    M = np.float32([[1, 0, dx], [0, 1, dy]])
    b = cv2.warpAffine(big, M, (w + 40, h + 40), flags=cv2.INTER_LINEAR)[20 : 20 + h, 20 : 20 + w]
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


@pytest.mark.parametrize("method", ["farneback", "tvl1", "dis"])
@pytest.mark.parametrize("shift", [(2.0, -1.0), (-1.5, 2.5)])
def test_classical_methods_recover_a_translation(method, shift):
    a, b = _translated(*shift)
    flow = baselines.estimate_flow(method, a, b)
    assert flow.shape == (96, 128, 2) and flow.dtype == np.float32
    inner = flow[20:-20, 20:-20].reshape(-1, 2)
    med = np.median(inner, axis=0)
    assert med == pytest.approx(shift, abs=0.25), (method, med)


def test_zero_method_and_gray_input():
    a, b = _translated(1, 0)
    ga, gb = a[..., 0], b[..., 0]
    assert np.all(baselines.estimate_flow("zero", a, b) == 0)
    assert baselines.estimate_flow("farneback", ga, gb).shape == (96, 128, 2)


def test_farneback_uses_the_authors_parameters(monkeypatch):
    import cv2

    seen = {}

    def fake(prev, nxt, flow, **kw):
        seen.update(kw)
        return np.zeros(prev.shape + (2,), np.float32)

    monkeypatch.setattr(cv2, "calcOpticalFlowFarneback", fake)
    a, b = _translated(1, 1)
    baselines.farneback(a, b)
    assert seen == dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)


def test_registry_register_duplicate_unregister():
    fn = lambda a, b: np.ones(np.shape(a)[:2] + (2,), np.float32)  # noqa: E731
    baselines.register("_test_ones", fn, "ones", kind="test")
    try:
        assert "_test_ones" in baselines.available_methods()
        assert baselines.methods_of_kind("test") == ["_test_ones"]
        with pytest.raises(ValueError, match="already registered"):
            baselines.register("_test_ones", fn)
        baselines.register("_test_ones", fn, replace=True, kind="test")
        a, b = _translated(0, 0)
        assert np.all(baselines.estimate_flow("_test_ones", a, b) == 1)
        out = baselines.estimate_flow_batch("_test_ones", [(a, b), (a, b)])
        assert len(out) == 2
    finally:
        baselines.unregister("_test_ones")
    assert "_test_ones" not in baselines.available_methods()
    with pytest.raises(KeyError):
        baselines.unregister("_test_ones")


def test_unknown_method_lists_known_names():
    with pytest.raises(KeyError, match="farneback"):
        baselines.get_method("no-such-method")


def test_wrong_output_shape_is_an_error():
    baselines.register("_test_bad", lambda a, b: np.zeros((3, 3, 2)), kind="test")
    try:
        a, b = _translated(0, 0)
        with pytest.raises(RuntimeError, match="shape"):
            baselines.estimate_flow("_test_bad", a, b)
    finally:
        baselines.unregister("_test_bad")


def test_mismatched_or_non_uint8_images_are_rejected():
    a, b = _translated(0, 0)
    with pytest.raises(ValueError, match="differ"):
        baselines.estimate_flow("farneback", a, b[:-1])
    with pytest.raises(ValueError, match="uint8"):
        baselines.estimate_flow("farneback", a.astype(np.float32), b.astype(np.float32))


@pytest.fixture
def fake_training(monkeypatch):
    """A stand-in for issue 4's ``faceflow.training.load_checkpoint`` returning a small FlowNetS."""
    from faceflow.flownets import FlowNetS, FlowNetSConfig

    calls = []

    def load_checkpoint(path, map_location="cpu"):
        calls.append(str(path))
        return FlowNetS(FlowNetSConfig(width=0.125)), {}, {}

    mod = types.ModuleType("faceflow.training")
    mod.load_checkpoint = load_checkpoint
    monkeypatch.setitem(sys.modules, "faceflow.training", mod)
    return calls


def test_register_checkpoints_registers_existing_runs(tmp_path, fake_training):
    for exp in ("Exp1", "Exp2II"):
        (tmp_path / exp).mkdir()
        (tmp_path / exp / "last.pt").write_bytes(b"stub")
    names = baselines.register_checkpoints(tmp_path)
    try:
        assert names == ["Exp1", "Exp2II"]
        assert set(names) <= set(baselines.methods_of_kind("ours"))
        a, b = _translated(1, 0, h=64, w=96)
        flow = baselines.estimate_flow("Exp1", a, b)
        assert flow.shape == (64, 96, 2)
        baselines.estimate_flow("Exp1", a, b)
        assert len(fake_training) == 1  # the model is loaded once, lazily
    finally:
        for n in names:
            baselines.unregister(n)


def test_register_checkpoints_skips_missing(tmp_path):
    assert baselines.register_checkpoints(tmp_path) == []
    with pytest.raises(FileNotFoundError):
        baselines.checkpoint_flow_fn(tmp_path / "none.pt")



def test_register_checkpoints_with_a_real_checkpoint(tmp_path):
    """A checkpoint written by the training engine round-trips through the registry."""
    from faceflow import experiments, training

    cfg = experiments.make("Exp1", steps=1, resolution=(64, 128), model={"width": 0.125})
    model = training.build_model(cfg)
    (tmp_path / "Exp1").mkdir()
    training.save_checkpoint(tmp_path / "Exp1" / "last.pt", model, None, 1, cfg, {"finished": True})
    names = baselines.register_checkpoints(tmp_path)
    try:
        assert names == ["Exp1"]
        a, b = _translated(1, 0, h=90, w=100)
        flow = baselines.estimate_flow("Exp1", a, b)
        assert flow.shape == (90, 100, 2) and np.isfinite(flow).all()
    finally:
        baselines.unregister("Exp1")


def test_cli_flow_writes_a_flo_file(tmp_path, capsys):
    import cv2

    from faceflow.cli import main
    from faceflow.flo import read_flo

    a, b = _translated(2.0, 0.0)
    cv2.imwrite(str(tmp_path / "a.png"), a[:, :, ::-1])
    cv2.imwrite(str(tmp_path / "b.png"), b[:, :, ::-1])
    out = tmp_path / "out.flo"
    rc = main(["flow", "farneback", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(out),
               "--png", str(tmp_path / "out.png")])
    assert rc == 0 and (tmp_path / "out.png").is_file()
    flow = read_flo(out)
    assert np.median(flow[20:-20, 20:-20, 0]) == pytest.approx(2.0, abs=0.25)
    assert main(["flow", "--list"]) == 0
    assert "weights not available" in capsys.readouterr().out
    rc = main(["flow", "PWC-Net", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(out),
               "--cnn-weights", str(tmp_path)])
    assert rc == 2 and "weights not available" in capsys.readouterr().err
