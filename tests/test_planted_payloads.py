"""Issue 23 part 2: no file the program reads back from a cache or an output folder can run code.

Each test plants a pickle payload (an object whose ``__reduce__`` creates a marker file) in one
file that a command or a chapter reads back, runs the reader, and checks that the answer is one
line naming the file and that the marker was never created.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch


class _Payload:
    """Pickles to a call of os.system creating ``marker``: what a hostile cache file carries."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PAYLOAD_RAN"
    yield path
    assert not path.exists(), "the planted payload ran"


def plant_torch(path, marker, **extra):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": 1, "x": _Payload(marker), **extra}, path)
    return path


def plant_npy(path, marker):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.array([_Payload(marker)], dtype=object), allow_pickle=True)
    return path


def plant_npz(path, marker, **entries):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez(fh, **entries, x=np.array([_Payload(marker)], dtype=object))
    return path


def one_line(message: str, *fragments) -> None:
    assert "\n" not in message.strip(), message
    for f in fragments:
        assert str(f) in message, (f, message)


# ----------------------------------------------------------------------------- torch files
def test_train_refuses_a_planted_last_pt(tmp_path, marker, tiny_cfg, cli_refuses):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps(tiny_cfg().to_dict()))
    ckpt = plant_torch(tmp_path / "run" / "last.pt", marker)
    cli_refuses(["train", cfg, "--run-dir", tmp_path / "run", "--quiet", "--device", "cpu"], ckpt)


def test_eval_refuses_a_planted_last_pt(tmp_path, marker, cli_refuses):
    ckpt = plant_torch(tmp_path / "run" / "last.pt", marker)
    cli_refuses(["eval", ckpt, "--on", "shapes", "--quiet", "--device", "cpu"], ckpt, "not a faceflow checkpoint")


def test_flow_refuses_a_planted_run_checkpoint(tmp_path, marker, cli_refuses, translated):
    from faceflow.io.images import write_image

    a, b = translated(1.0, 0.0, 64, 64)
    write_image(tmp_path / "a.png", a)
    write_image(tmp_path / "b.png", b)
    ckpt = plant_torch(tmp_path / "runs" / "Exp1" / "last.pt", marker)
    argv = [
        "flow",
        "Exp1",
        tmp_path / "a.png",
        tmp_path / "b.png",
        "-o",
        tmp_path / "o.flo",
        "--runs",
        tmp_path / "runs",
    ]
    cli_refuses([*argv, "--quiet"], ckpt)
    assert not (tmp_path / "o.flo").exists()


def test_finetuning_refuses_a_planted_state(tmp_path, marker):
    from faceflow.training.finetune import FinetuneConfig, finetune_raft

    ckpt = plant_torch(tmp_path / "ft" / "last.pt", marker)
    with pytest.raises(ValueError) as exc:
        finetune_raft(FinetuneConfig(steps=1), tmp_path / "no_faces", tmp_path / "ft", device="cpu")
    one_line(str(exc.value), ckpt, "not a fine-tuning checkpoint")


def test_loso_refuses_a_planted_resume_state(tmp_path, marker, toy_mer_set):
    """The batched engine's ``batched_state_<share>.pt`` was read with weights_only=False."""
    from faceflow.mer.loso import LosoConfig, run_loso

    state = plant_torch(tmp_path / "loso" / "batched_state_0.pt", marker, tag={}, state={"epoch": 0})
    with pytest.raises(ValueError) as exc:
        run_loso(toy_mer_set(), LosoConfig(epochs=2), tmp_path / "loso", progress=False)
    one_line(str(exc.value), state, "LOSO resume state")


# ----------------------------------------------------------------------------- NumPy files
def test_gt_resume_refuses_planted_landmarks(tmp_path, marker, cli, translated):
    """``<dst>/<sequence>/landmarks.npy`` is reused on a rerun: a pickle in it fails the sequence."""
    from faceflow.io.images import write_image

    src = tmp_path / "seq"
    for i in range(3):
        write_image(src / f"{i:03d}.png", translated(float(i), 0.0, 48, 64)[0])
    dst = tmp_path / "out"
    lm = plant_npy(dst / "seq" / "landmarks.npy", marker)
    (dst / "seq" / "meta.json").write_text(json.dumps({"shape": [48, 64], "n_frames": 3}))
    rc, out, _err = cli(["gt", src, dst, "--quiet", "--size", "32x32"])
    assert rc == 1
    failed = [x for x in out.splitlines() if "FAILED" in x]
    assert len(failed) == 1, out
    one_line(failed[0], lm, "pickled Python objects")


def test_gt_refuses_a_planted_landmarks_option(tmp_path, marker, cli_refuses, translated):
    from faceflow.io.images import write_image

    src = tmp_path / "seq"
    for i in range(3):
        write_image(src / f"{i:03d}.png", translated(float(i), 0.0, 48, 64)[0])
    lm = plant_npy(tmp_path / "lm.npy", marker)
    cli_refuses(["gt", src, tmp_path / "out", "--landmarks", lm, "--quiet"], lm, "pickled Python objects")


def test_flow_archives_are_never_unpickled(tmp_path, marker):
    from faceflow.io.flo import FloFormatError, read_flow

    path = plant_npz(tmp_path / "000000.npz", marker, flow=np.zeros((4, 4, 2), np.float16))
    with pytest.raises(FloFormatError) as exc:
        read_flow(path)
    one_line(str(exc.value), path, "pickled Python objects")


def test_mer_feature_cache_is_never_unpickled(tmp_path, marker):
    from faceflow.mer.features import MERSet

    path = plant_npz(tmp_path / "tvl1_4_0.npz", marker, images=np.zeros((1, 28, 28, 3), np.uint8), info="{}")
    with pytest.raises(ValueError) as exc:
        MERSet.load(path)
    one_line(str(exc.value), path, "pickled Python objects")


def test_contact_sheet_cache_is_never_unpickled(tmp_path, marker, monkeypatch):
    import pandas as pd

    from faceflow.groundtruth.subjects import clip_chips

    (tmp_path / "data" / "faces" / "src").mkdir(parents=True)
    cache = plant_npz(tmp_path / "chips.npz", marker)
    with pytest.raises(ValueError) as exc:
        clip_chips(pd.DataFrame({"clip": ["faces/src/a.mp4"]}), tmp_path / "data", cache)
    one_line(str(exc.value), cache, "pickled Python objects")
