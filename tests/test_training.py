"""Training engine: determinism, resume == uninterrupted, safe checkpoints, ensure_trained, eval."""

from __future__ import annotations

import json

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from faceflow import experiments, flowdata, training
from faceflow.experiments import TrainConfig


def tiny_cfg(**kw) -> TrainConfig:
    base = dict(experiment="Exp1", train_set="chairs", lr=1e-3, steps=4, batch_size=2, resolution=(64, 64),
                val_every=2, val_pairs=2, model={"width": 0.0625}, loss={"lambda1": 0.75, "lambda2": 0.25})
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def shapes():
    return flowdata.FlyingShapes(5, size=(64, 64), seed=0), flowdata.FlyingShapes(2, size=(64, 64), seed=99)


def _weights(path):
    return torch.load(path, weights_only=True)["model"]


def test_resume_equals_uninterrupted(tmp_path, shapes):
    tr, va = shapes
    cfg = tiny_cfg()
    full = training.train(cfg, tr, va, tmp_path / "full", device="cpu", progress=False)
    part = training.train(cfg, tr, va, tmp_path / "part", device="cpu", progress=False, stop_after=2)
    st = training.checkpoint_status(part)
    assert st["step"] == 2 and not st["finished"]
    resumed = training.train(cfg, tr, va, tmp_path / "part", device="cpu", progress=False)
    a, b = _weights(full), _weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    _, _, ea = training.load_checkpoint(full)
    _, _, eb = training.load_checkpoint(resumed)
    assert [h["J"] for h in ea["history"]] == [h["J"] for h in eb["history"]]
    assert ea["finished"] and eb["finished"] and ea["step"] == 4
    assert [v["step"] for v in ea["val"]] == [2, 4]


def test_seeded_runs_are_identical(tmp_path, shapes):
    tr, va = shapes
    cfg = tiny_cfg(steps=2)
    a = training.train(cfg, tr, None, tmp_path / "a", device="cpu", progress=False)
    b = training.train(cfg, tr, None, tmp_path / "b", device="cpu", progress=False)
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_checkpoint_contents_and_safe_load(tmp_path, shapes):
    tr, _ = shapes
    cfg = tiny_cfg(steps=1)
    path = training.train(cfg, tr, None, tmp_path, device="cpu", progress=False)
    obj = torch.load(path, weights_only=True)  # no arbitrary pickle needed
    assert {"model", "optimizer", "step", "config", "extra"} <= set(obj)
    assert obj["optimizer"]["state"]  # Adam moments saved
    model, cfgd, extra = training.load_checkpoint(path)
    assert cfgd == cfg.to_dict() and extra["step"] == 1 and not model.training
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temporary file
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(Exception):
        training.load_checkpoint(tmp_path / "bad.pt")


def test_ensure_trained_is_idempotent_and_inits_exp3(tmp_path, shapes):
    tr, va = shapes
    over = dict(steps=2, batch_size=2, resolution=(64, 64), val_every=2, val_pairs=2, model={"width": 0.0625})
    cfg = experiments.make("Exp3II", "faces", **over)
    assert cfg.init_from == "Exp2I" and cfg.init_config["experiment"] == "Exp2I"
    run = tmp_path / "runs" / "faces" / "Exp3II"
    p = training.ensure_trained(cfg, run, train_data=tr, val_data=va, device="cpu", progress=False)
    assert p == run / "last.pt" and (tmp_path / "runs" / "faces" / "Exp2I" / "last.pt").is_file()
    mtime = p.stat().st_mtime_ns
    assert training.ensure_trained(cfg, run, train_data=tr, val_data=va, device="cpu", progress=False) == p
    assert p.stat().st_mtime_ns == mtime  # finished: not retrained
    assert training.ensure_trained(cfg.to_dict(), run) == p  # no data needed when finished


def test_evaluate_per_pair(tmp_path, shapes):
    tr, _ = shapes
    path = training.train(tiny_cfg(steps=1), tr, None, tmp_path, device="cpu", progress=False)
    ds = flowdata.FlyingShapes(2, size=(40, 50), seed=7)
    df = training.evaluate_checkpoint(path, ds, device="cpu")
    assert list(df.columns) == ["pair", "source", "epe", "aae", "gt_mag"] and len(df) == 2
    assert np.isfinite(df[["epe", "aae"]].to_numpy()).all()
    # zero prediction has EPE = mean |gt|
    model, _, _ = training.load_checkpoint(path)
    for p in model.parameters():
        torch.nn.init.zeros_(p)
    df0 = training.evaluate(model, ds, device="cpu", size=(64, 64))
    assert np.allclose(df0["epe"], df0["gt_mag"], rtol=1e-5)


def test_batch_indices_cover_each_epoch():
    idx = [i for s in range(5) for i in training.batch_indices(10, 2, s, seed=3)]
    assert sorted(idx) == list(range(10))
    assert training.batch_indices(10, 2, 7, 3) == training.batch_indices(10, 2, 7, 3)


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
    cw = experiments.make("Exp2II", variant="code", code_scale_weights=[1, 1, 1, 1, 1],
                          code_lambdas={"Exp2II": (0.5, 0.5, 0.0)})
    assert cw.loss_config().weights() == [1, 1, 1, 1, 1] and cw.loss["lambda2"] == 0.5
    assert len(experiments.differences()) == 3
    with pytest.raises(ValueError):
        experiments.make("Exp4")


def test_flownet_schedule():
    cfg = tiny_cfg(lr=1e-4, steps=600, schedule="flownet")
    assert cfg.learning_rate(0) == 1e-4 and cfg.learning_rate(299) == 1e-4
    assert cfg.learning_rate(300) == 5e-5 and cfg.learning_rate(400) == 2.5e-5 and cfg.learning_rate(599) == 1.25e-5
    assert tiny_cfg(schedule="constant", lr=1e-4).learning_rate(3) == 1e-4


def test_config_roundtrip_json():
    cfg = experiments.make("Exp3I", steps=3)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert TrainConfig.from_dict(d).to_dict() == cfg.to_dict()
    with pytest.raises(ValueError, match="divisible by 64"):
        tiny_cfg(resolution=(60, 64))


@pytest.mark.data
def test_cli_train_and_eval(tmp_path, data_root, capsys):
    from faceflow.cli import main

    out = tmp_path / "out"
    args = ["--profile", "smoke", "--output-dir", str(out), "--data-root", str(data_root), "--quiet", "--device", "cpu"]
    assert main(["train", "Exp1", "--train-set", "chairs", "--steps", "2", *args]) == 0
    ckpt = out / "runs" / "chairs" / "Exp1" / "last.pt"
    assert training.checkpoint_status(ckpt)["finished"]
    assert main(["eval", str(ckpt), "--on", "chairs", *args]) == 0
    csv = ckpt.with_name("eval_chairs.csv")
    df = pd.read_csv(csv)
    assert len(df) == 3 and {"epe", "aae"} <= set(df.columns) and csv.with_suffix(".png").is_file()
    assert "EPE" in capsys.readouterr().out


def test_cli_train_faces_from_fake_gt(tmp_path, capsys):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_flowdata import write_fake_gt

    from faceflow.cli import main

    face = write_fake_gt(tmp_path / "gt", {"a": ("s1", 4), "b": ("s2", 4), "c": ("s3", 4), "multi_face": ("m", 3)})
    out = tmp_path / "out"
    common = ["--profile", "smoke", "--output-dir", str(out), "--face-dir", str(face), "--quiet", "--device", "cpu"]
    assert main(["train", "Exp2II", "--steps", "1", *common]) == 0
    ckpt = out / "runs" / "faces" / "Exp2II" / "last.pt"
    _, cfg, _ = training.load_checkpoint(ckpt)
    assert cfg["data"]["exclude"] == ["multi_face"]
    assert main(["eval", str(ckpt), "--on", "faces", *common]) == 0
    assert main(["eval", str(ckpt), "--on", "faces", "--sequences", "multi_face", "--out", str(tmp_path / "x.csv"),
                 *common]) == 0
    assert len(pd.read_csv(tmp_path / "x.csv")) == 3


def test_loaded_model_predicts_at_training_resolution(tmp_path, shapes):
    from faceflow.flownets import predict_flow

    tr, _ = shapes
    path = training.train(tiny_cfg(steps=1), tr, None, tmp_path, device="cpu", progress=False)
    model, cfg, _ = training.load_checkpoint(path)
    assert model.input_size == (64, 64)
    a = (np.random.default_rng(0).random((100, 130, 3)) * 255).astype(np.uint8)
    f_default = predict_flow(model, a, a)
    f_explicit = predict_flow(model, a, a, size=(64, 64))
    assert f_default.shape == (100, 130, 2) and np.array_equal(f_default, f_explicit)
