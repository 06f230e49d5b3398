"""Training engine: determinism, resume == uninterrupted, safe checkpoints, ensure_trained, eval."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from faceflow.training import checkpoints, datasets, experiments, loop
from faceflow.training.experiments import TrainConfig


@pytest.fixture(scope="module")
def shapes():
    return datasets.FlyingShapes(5, size=(64, 64), seed=0), datasets.FlyingShapes(2, size=(64, 64), seed=99)


def _weights(path):
    return torch.load(path, weights_only=True)["model"]


def test_resume_equals_uninterrupted(tmp_path, shapes, tiny_cfg):
    tr, va = shapes
    cfg = tiny_cfg()
    full = loop.train(cfg, tr, va, tmp_path / "full", device="cpu", progress=False)
    part = loop.train(cfg, tr, va, tmp_path / "part", device="cpu", progress=False, stop_after=2)
    st = checkpoints.checkpoint_status(part)
    assert st["step"] == 2 and not st["finished"]
    resumed = loop.train(cfg, tr, va, tmp_path / "part", device="cpu", progress=False)
    a, b = _weights(full), _weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    _, _, ea = checkpoints.load_checkpoint(full)
    _, _, eb = checkpoints.load_checkpoint(resumed)
    assert [h["J"] for h in ea["history"]] == [h["J"] for h in eb["history"]]
    assert ea["finished"] and eb["finished"] and ea["step"] == 4
    assert [v["step"] for v in ea["val"]] == [2, 4]


def test_seeded_runs_are_identical(tmp_path, shapes, tiny_cfg):
    tr, va = shapes
    cfg = tiny_cfg(steps=2)
    a = loop.train(cfg, tr, None, tmp_path / "a", device="cpu", progress=False)
    b = loop.train(cfg, tr, None, tmp_path / "b", device="cpu", progress=False)
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_checkpoint_contents_and_safe_load(tmp_path, shapes, tiny_cfg):
    tr, _ = shapes
    cfg = tiny_cfg(steps=1)
    path = loop.train(cfg, tr, None, tmp_path, device="cpu", progress=False)
    obj = torch.load(path, weights_only=True)  # no arbitrary pickle needed
    assert {"model", "optimizer", "step", "config", "extra"} <= set(obj)
    assert obj["optimizer"]["state"]  # Adam moments saved
    model, cfgd, extra = checkpoints.load_checkpoint(path)
    assert cfgd == cfg.to_dict() and extra["step"] == 1 and not model.training
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temporary file
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pt: not a faceflow checkpoint"):
        checkpoints.load_checkpoint(tmp_path / "bad.pt")


def test_ensure_trained_is_idempotent_and_inits_exp3(tmp_path, shapes):
    tr, va = shapes
    over = dict(steps=2, batch_size=2, resolution=(64, 64), val_every=2, val_pairs=2, model={"width": 0.0625})
    cfg = experiments.make("Exp3II", "faces", **over)
    assert cfg.init_from == "Exp2I" and cfg.init_config["experiment"] == "Exp2I"
    run = tmp_path / "runs" / "faces" / "Exp3II"
    p = loop.ensure_trained(cfg, run, train_data=tr, val_data=va, device="cpu", progress=False)
    assert p == run / "last.pt" and (tmp_path / "runs" / "faces" / "Exp2I" / "last.pt").is_file()
    mtime = p.stat().st_mtime_ns
    assert loop.ensure_trained(cfg, run, train_data=tr, val_data=va, device="cpu", progress=False) == p
    assert p.stat().st_mtime_ns == mtime  # finished: not retrained
    assert loop.ensure_trained(cfg.to_dict(), run) == p  # no data needed when finished


def test_batch_indices_cover_each_epoch():
    idx = [i for s in range(5) for i in loop.batch_indices(10, 2, s, seed=3)]
    assert sorted(idx) == list(range(10))
    assert loop.batch_indices(10, 2, 7, 3) == loop.batch_indices(10, 2, 7, 3)


def test_experiment_configs_follow_text():
    e1 = experiments.make("Exp1", "faces")
    assert e1.lr == 1e-4 and e1.schedule == "flownet" and e1.batch_size == 16 and e1.betas == (0.9, 0.999)
    assert experiments.make("Exp1", "chairs").lr == 5e-5
    e2 = experiments.make("Exp2I", "faces")
    assert (e2.loss["lambda1"], e2.loss["lambda2"]) == (0.4, 0.6) and e2.lr == 2.5e-6 and e2.schedule == "constant"
    assert experiments.make("Exp2I", "chairs").lr == 1.25e-6
    assert experiments.make("Exp2II", "chairs").lr == 2.5e-6
    e3 = experiments.make("Exp3I")
    assert (e3.loss["lambda1"], e3.loss["lambda2"], e3.loss["lambda3"]) == (0.3, 0.5, 0.2)
    assert e3.loss["third"] == "smooth" and experiments.make("Exp3II").loss["third"] == "aae"
    assert not e3.loss_config().drop_finest_epe
    c3 = experiments.make("Exp3I", variant="code")
    assert c3.loss_config().drop_finest_epe and c3.loss_config().weights()[0] == 0.0
    assert not experiments.make("Exp2I", variant="code").loss_config().drop_finest_epe
    cw = experiments.make(
        "Exp2II", variant="code", code_scale_weights=[1, 1, 1, 1, 1], code_lambdas={"Exp2II": (0.5, 0.5, 0.0)}
    )
    assert cw.loss_config().weights() == [1, 1, 1, 1, 1] and cw.loss["lambda2"] == 0.5
    assert len(experiments.differences()) == 3
    with pytest.raises(ValueError):
        experiments.make("Exp4")


def test_flownet_schedule(tiny_cfg):
    cfg = tiny_cfg(lr=1e-4, steps=600, schedule="flownet")
    assert cfg.learning_rate(0) == 1e-4 and cfg.learning_rate(299) == 1e-4
    assert cfg.learning_rate(300) == 5e-5 and cfg.learning_rate(400) == 2.5e-5 and cfg.learning_rate(599) == 1.25e-5
    assert tiny_cfg(schedule="constant", lr=1e-4).learning_rate(3) == 1e-4


def test_config_roundtrip_json(tiny_cfg):
    cfg = experiments.make("Exp3I", steps=3)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert TrainConfig.from_dict(d).to_dict() == cfg.to_dict()
    with pytest.raises(ValueError, match="divisible by 64"):
        tiny_cfg(resolution=(60, 64))


def test_loaded_model_predicts_at_training_resolution(tmp_path, shapes, tiny_cfg):
    from faceflow.methods.flownets import predict_flow

    tr, _ = shapes
    path = loop.train(tiny_cfg(steps=1), tr, None, tmp_path, device="cpu", progress=False)
    model, cfg, _ = checkpoints.load_checkpoint(path)
    assert model.input_size == (64, 64)
    a = (np.random.default_rng(0).random((100, 130, 3)) * 255).astype(np.uint8)
    f_default = predict_flow(model, a, a)
    f_explicit = predict_flow(model, a, a, size=(64, 64))
    assert f_default.shape == (100, 130, 2) and np.array_equal(f_default, f_explicit)


@pytest.mark.parametrize("damage", ["truncated", "foreign"])
def test_a_corrupt_last_pt_stops_ensure_trained_instead_of_restarting(tmp_path, shapes, tiny_cfg, damage):
    """Issue 14 row 7: a truncated or foreign last.pt is never silently replaced by a fresh run."""
    tr, va = shapes
    cfg = tiny_cfg(steps=4)
    ckpt = loop.train(cfg, tr, va, tmp_path, device="cpu", progress=False, stop_after=2)
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[: len(data) // 2] if damage == "truncated" else np.random.default_rng(0).bytes(800))
    before = ckpt.read_bytes()
    with pytest.raises(ValueError, match=r"last\.pt: not a faceflow checkpoint .*cannot resume it: move it away"):
        loop.ensure_trained(cfg, tmp_path, train_data=tr, val_data=va, device="cpu", progress=False)
    assert ckpt.read_bytes() == before  # untouched


def test_checkpoint_errors_are_one_line(tmp_path, tiny_cfg):
    """Issue 14 row 7: foreign files, a .flo, a checkpoint of another shape: one line naming the file."""
    from faceflow.io.flo import write_flo

    write_flo(tmp_path / "x.flo", np.zeros((4, 4, 2), np.float32))
    torch.save({"model": {}, "format": 99}, tmp_path / "other.pt")
    cfg = tiny_cfg()
    checkpoints.save_checkpoint(
        tmp_path / "mis.pt", checkpoints.build_model(tiny_cfg(model={"width": 0.125})), None, 1, cfg, {}
    )
    for name, expect in [
        ("x.flo", "x.flo: not a faceflow checkpoint (not a readable torch file"),
        ("other.pt", "other.pt: not a faceflow checkpoint (format 1"),
        ("mis.pt", "mis.pt: weights do not fit its config's FlowNetS"),
    ]:
        with pytest.raises(ValueError) as exc:
            checkpoints.load_checkpoint(tmp_path / name)
        assert expect in str(exc.value) and "\n" not in str(exc.value)
