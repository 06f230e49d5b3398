"""Writing FlowNetS checkpoints (and the fine-tuning's): atomic, ``weights_only``-safe files.

The one writer of the package's torch checkpoints: :func:`write_checkpoint` saves a dict of
tensors, numbers, strings, lists and dicts to a temporary file and renames it into place.
Reading a FlowNetS checkpoint, and running it as a flow method, is the network's business
(:mod:`faceflow.methods.flownets_checkpoints`).
"""

from __future__ import annotations

import io
import json

import torch

from faceflow.io.atomic import atomic_write_bytes
from faceflow.methods.flownets import FlowNetS, FlowNetSConfig
from faceflow.methods.flownets_checkpoints import FORMAT_VERSION
from faceflow.training.experiments import TrainConfig


def write_checkpoint(path, obj: dict) -> None:
    """Write ``obj`` with ``torch.save`` atomically (temporary file + rename).

    Parameters
    ----------
    path : path-like
        The checkpoint file.
    obj : dict
        Only ``weights_only``-safe values: tensors, numbers, strings, lists and dicts.
    """
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def build_model(cfg: TrainConfig) -> FlowNetS:
    return FlowNetS(FlowNetSConfig(**cfg.model))


def save_checkpoint(path, model, optimizer, step: int, cfg: TrainConfig, extra: dict) -> None:
    """Write a checkpoint atomically; only weights_only-safe types go in."""
    obj = {
        "format": FORMAT_VERSION,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": optimizer.state_dict() if optimizer is not None else {},
        "step": int(step),
        "config": json.dumps(cfg.to_dict()),
        "extra": json.dumps(extra),
    }
    write_checkpoint(path, obj)
