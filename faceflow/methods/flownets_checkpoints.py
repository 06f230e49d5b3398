"""Trained FlowNetS checkpoints: reading them (``weights_only``-safe) and running them as flow methods.

A checkpoint (``last.pt``) holds the weights, the optimiser state, the step, the config and the
loss history (written by :func:`faceflow.training.checkpoints.save_checkpoint`). It contains only
tensors, numbers, strings, lists and dicts, so :func:`load_checkpoint` reads it with
``torch.load(weights_only=True)``: no arbitrary pickle is ever executed.
:func:`register_checkpoints` puts trained experiments into the flow-method registry. Loading a
trained network is the network's business, so evaluation needs nothing from ``training/``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from faceflow import paper
from faceflow.methods.flownets import FlowNetS, FlowNetSConfig, predict_flow
from faceflow.methods.registry import FlowFn, check_pair, register
from faceflow.runtime import load_weights_file, resolve_device

CHECKPOINT = "last.pt"
#: Smallest image side a trained FlowNetS is run on: its six stride-2 convolutions bring 64 px to
#: one cell (smaller images are stretched to the training resolution past recognition).
FLOWNETS_MIN_SIZE = 64
FORMAT_VERSION = 1
_KEYS = ("model", "optimizer", "step", "config", "extra")


def read_checkpoint(path, map_location="cpu") -> dict:
    """The raw content of a faceflow checkpoint, read with ``torch.load(weights_only=True)``.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        The file is not a faceflow checkpoint (not a torch file, truncated, a pickle needing code
        to run, or another format version); one line naming the file.
    """
    obj = load_weights_file(path, "faceflow checkpoint", map_location)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_VERSION or set(_KEYS) - set(obj):
        raise ValueError(f"{path}: not a faceflow checkpoint (format {FORMAT_VERSION} with {', '.join(_KEYS)})")
    return obj


def load_checkpoint(path, map_location="cpu"):
    """``(model, config_dict, extra)`` from a checkpoint, read with ``weights_only=True``.

    The model is in eval mode on ``map_location``, with ``model.input_size`` set to the training
    resolution (the default size of :func:`faceflow.flownets.predict_flow`). ``extra`` holds
    ``step``, ``finished``, ``history`` and ``val`` (validation EPE by step).
    """
    obj = read_checkpoint(path, map_location)
    cfg = json.loads(obj["config"])
    extra = json.loads(obj["extra"])
    extra["step"] = obj["step"]
    model = FlowNetS(FlowNetSConfig(**cfg["model"]))
    try:
        model.load_state_dict(obj["model"])
    except RuntimeError as exc:  # load_state_dict's report of missing/unexpected keys or shapes
        raise ValueError(f"{path}: weights do not fit its config's FlowNetS ({str(exc).splitlines()[0]})") from None
    model.input_size = tuple(int(x) for x in cfg["resolution"])  # predict_flow's default size
    model.to(map_location if isinstance(map_location, (str, torch.device)) else "cpu").eval()
    return model, cfg, extra


def checkpoint_status(path) -> dict | None:
    """``{"step", "finished", "config"}`` of a checkpoint, or None when absent or unreadable."""
    try:
        obj = read_checkpoint(path)
    except (FileNotFoundError, ValueError, RuntimeError, EOFError):
        return None
    extra = json.loads(obj["extra"])
    return {"step": obj["step"], "finished": bool(extra.get("finished")), "config": json.loads(obj["config"])}


def history(path) -> tuple:
    """(training history, validation history) DataFrames of a checkpoint."""
    import pandas as pd

    obj = read_checkpoint(path)
    extra = json.loads(obj["extra"])
    return pd.DataFrame(extra.get("history", [])), pd.DataFrame(extra.get("val", []))


def checkpoint_flow_fn(path, device: str = "cpu", largest: bool = False) -> FlowFn:
    """A flow function backed by a trained FlowNetS checkpoint; the model loads on first call.

    Uses :func:`load_checkpoint` and :func:`faceflow.methods.flownets.predict_flow`, run at the
    resolution the checkpoint was trained at (its config's ``resolution``), with the flow brought back
    to the input's size and pixel units; with ``largest=True`` the function returns the largest
    prediction (k = 1, half the training resolution) in its own pixels instead, for the paper's
    measurement (:func:`faceflow.evaluation.evaluate.evaluate` with ``convention="paper"``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    device = resolve_device(device)
    cache: dict = {}

    def fn(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
        check_pair(img1, img2)
        if "model" not in cache:
            model, config, _extra = load_checkpoint(path, map_location="cpu")
            cache["model"] = model.to(device).eval()
            res = (config or {}).get("resolution")
            cache["size"] = tuple(res) if res else None  # run at the trained resolution
        a, b = np.asarray(img1), np.asarray(img2)
        if a.ndim == 2:
            a, b = np.repeat(a[..., None], 3, 2), np.repeat(b[..., None], 3, 2)
        return predict_flow(cache["model"], a, b, device=device, size=cache["size"], largest=largest)

    return fn


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies under it (no machine paths in the book)."""
    path = Path(path).absolute()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def register_checkpoints(
    runs_dir,
    experiments: Sequence[str] = paper.EXPERIMENTS,
    filename: str = "last.pt",
    device: str = "cpu",
    replace: bool = True,
) -> list[str]:
    """Register each ``<runs_dir>/<experiment>/<filename>`` that exists as flow method ``experiment``.

    ``runs_dir`` is one training set's runs folder, e.g. ``outputs/default/runs/<train_set>``.
    Returns the names registered (missing checkpoints are skipped, not errors).
    """
    runs_dir = Path(runs_dir)
    done = []
    for exp in experiments:
        ckpt = runs_dir / exp / filename
        if ckpt.is_file():
            what = f"FlowNetS {exp} ({_shown(ckpt)})"
            register(
                exp, checkpoint_flow_fn(ckpt, device), what, kind="ours", replace=replace, min_size=FLOWNETS_MIN_SIZE
            )
            done.append(exp)
    return done
