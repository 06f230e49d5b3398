"""Training engine: determinism, resume == uninterrupted, safe checkpoints, ensure_trained, eval."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from faceflow.methods import flownets_checkpoints
from faceflow.training import checkpoints as checkpoint_writer
from faceflow.training import datasets, experiments, loop
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
    st = flownets_checkpoints.checkpoint_status(part)
    assert st["step"] == 2 and not st["finished"]
    resumed = loop.train(cfg, tr, va, tmp_path / "part", device="cpu", progress=False)
    a, b = _weights(full), _weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)
    _, _, ea = flownets_checkpoints.load_checkpoint(full)
    _, _, eb = flownets_checkpoints.load_checkpoint(resumed)
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
    model, cfgd, extra = flownets_checkpoints.load_checkpoint(path)
    assert cfgd == cfg.to_dict() and extra["step"] == 1 and not model.training
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temporary file
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="bad.pt: not a faceflow checkpoint"):
        flownets_checkpoints.load_checkpoint(tmp_path / "bad.pt")


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
    assert e1.shuffle and e1.model == {"width": 1.0} and experiments.make("Exp2II").init_from is None
    with pytest.raises(ValueError):
        experiments.make("Exp4")


def test_code_variant_is_the_released_code():
    from faceflow.training.losses import released_scale_weights

    code = {(n, t): experiments.make(n, t, variant="code") for n in experiments.NAMES for t in ("faces", "chairs")}
    lam = {n: (c.loss["lambda1"], c.loss["lambda2"], c.loss["lambda3"]) for (n, t), c in code.items() if t == "faces"}
    # Exp2I: the if / if-elif-else chain leaves (1, 0); Exp3: 0.3 / 0.4 / 0.3
    assert lam == {
        "Exp1": (1.0, 0.0, 0.0),
        "Exp2I": (1.0, 0.0, 0.0),
        "Exp2II": (0.75, 0.25, 0.0),
        "Exp3I": (0.3, 0.4, 0.3),
        "Exp3II": (0.3, 0.4, 0.3),
    }
    for (n, _), c in code.items():
        assert c.lr == 2.5e-7 and c.schedule == "constant" and not c.shuffle
        lc = c.loss_config()
        w = released_scale_weights(lc.lambda1)
        assert lc.weights() == ([0.0] + w[1:] if n.startswith("Exp3") else w)
        assert (lc.huber_d, lc.intensity_scale, lc.smooth_penalty, lc.aae_grid) == (1.0, 255.0, "charbonnier", "k1")
        assert (lc.charbonnier_eps, lc.charbonnier_alpha) == (0.01, 0.5)
        assert c.model["encoder"] == "siamese" and c.model["decoder"] == "released"
        assert c.init_from == (None if n in ("Exp1", "Exp2I") else "Exp2I")
    # overrides merge into the code's network and reach the initialisation run
    c = experiments.make("Exp3I", variant="code", model={"width": 0.25}, steps=7)
    assert c.model["width"] == 0.25 and c.model["padding"] == "tf-same"
    assert c.init_config["model"] == c.model and c.init_config["steps"] == 7
    diff = experiments.differences()
    assert len(diff) >= 10 and diff["text (default)"].ne(diff["code"]).all()


def test_exp2II_code_trains_full_length_from_exp2I():
    text = experiments.for_profile("Exp2II", "faces", "smoke")
    code = experiments.for_profile("Exp2II", "faces", "smoke", "code")
    e3 = experiments.for_profile("Exp3I", "faces", "smoke", "code")
    p = experiments.profiles.get("smoke").training
    assert text.init_config is None and code.init_config["experiment"] == "Exp2I"
    assert code.steps == p.steps and e3.steps == p.finetune_steps


def test_unshuffled_batches_follow_the_dataset_order():
    idx = [loop.batch_indices(5, 2, s, seed=3, shuffle=False) for s in range(4)]
    assert idx == [[0, 1], [2, 3], [4, 0], [1, 2]]
    assert loop.batch_indices(5, 2, 0, seed=3) != [0, 1] or loop.batch_indices(5, 2, 1, seed=3) != [2, 3]


def test_code_variant_trains_end_to_end(tmp_path, shapes):
    tr, va = shapes
    over = dict(steps=1, batch_size=2, resolution=(64, 64), val_every=1, val_pairs=2, model={"width": 0.0625})
    cfg = experiments.make("Exp2II", "faces", "code", **over)
    run = tmp_path / "runs" / "faces-code" / "Exp2II"
    p = loop.ensure_trained(cfg, run, train_data=tr, val_data=va, device="cpu", progress=False)
    parent = tmp_path / "runs" / "faces-code" / "Exp2I" / "last.pt"
    assert parent.is_file()
    model, c, extra = flownets_checkpoints.load_checkpoint(p)
    assert c["model"]["encoder"] == "siamese" and hasattr(model, "conv_redir") and extra["finished"]


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
    model, cfg, _ = flownets_checkpoints.load_checkpoint(path)
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
    checkpoint_writer.save_checkpoint(
        tmp_path / "mis.pt", checkpoint_writer.build_model(tiny_cfg(model={"width": 0.125})), None, 1, cfg, {}
    )
    for name, expect in [
        ("x.flo", "x.flo: not a faceflow checkpoint (not a readable torch file"),
        ("other.pt", "other.pt: not a faceflow checkpoint (format 1"),
        ("mis.pt", "mis.pt: weights do not fit its config's FlowNetS"),
    ]:
        with pytest.raises(ValueError) as exc:
            flownets_checkpoints.load_checkpoint(tmp_path / name)
        assert expect in str(exc.value) and "\n" not in str(exc.value)
