"""Can the network learn the face ground truth at all? The overfit check of the book (chapter 02).

A network that cannot drive its error on a handful of training pairs far below zero flow has an
optimisation problem (learning rate, input scaling, loss scale), not a data problem;
:func:`overfit_check` trains the profile's Exp. 1 configuration on ``overfit_pairs`` training
pairs and validates on the same pairs, so its validation curve is the training error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceflow import profiles
from faceflow.groundtruth.splits import evenly_spaced
from faceflow.training import datasets, experiments
from faceflow.training.loop import ensure_trained


@dataclass
class OverfitResult:
    """``path``: the run's checkpoint; ``zero_epe``: zero flow's EPE on the pairs (training
    resolution); ``final_epe``: the network's at the end; ``pairs``: how many; ``missing``."""

    path: Path | None
    zero_epe: float = float("nan")
    final_epe: float = float("nan")
    pairs: int = 0
    missing: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """``final_epe / zero_epe`` (below 1: the network fits the pairs better than zero flow)."""
        return self.final_epe / self.zero_epe if self.zero_epe > 0 else float("nan")


def overfit_check(
    face,
    profile: str,
    outputs: profiles.OutputLayout,
    seed: int = 0,
    device: str = "cpu",
    overrides=None,
    masked: bool = False,
):
    """Train Exp. 1 on a few face training pairs and measure how far below zero flow it gets on them.

    Parameters
    ----------
    face : faceflow.studies.plans.FaceData
    profile : str
        ``training.overfit_pairs`` pairs (evenly spaced over the training split) and
        ``training.overfit_steps`` steps; 0 steps skips the check (``missing`` says so).
    outputs : OutputLayout
        The run goes to ``runs/faces/overfit``.
    seed : int
    device : str
    overrides : dict, optional
        TrainConfig fields that win over the profile's (e.g. a chapter's resolution).
    masked : bool
        Train with the masked loss (beyond the paper) and measure on the valid masks: the run
        goes to ``runs/faces/overfit-masked``.

    Returns
    -------
    OverfitResult
        With ``masked``, ``zero_epe`` and ``final_epe`` are over the pairs' valid masks.
    """
    p = profiles.get(profile).training
    if not face.ready:
        return OverfitResult(None, missing=dict(face.missing))
    if p.overfit_steps <= 0:
        return OverfitResult(None, missing={"Overfit check": f"the {profile} profile runs no overfit check"})
    over = dict(overrides or {})
    over.update(steps=p.overfit_steps, val_every=max(1, p.overfit_steps // 10), val_pairs=p.overfit_pairs, seed=seed)
    if masked:
        over["loss"] = {**(over.get("loss") or {}), "masked": True}
    data = dict(face.run_data(), overfit_pairs=p.overfit_pairs)
    cfg = experiments.for_profile("Exp1", "faces", profile, data=data, **over)
    ds, _ = datasets.face_datasets(face.face_dir, cfg.resolution, face.split)
    few = datasets.PairDataset(evenly_spaced(ds["train"].items, p.overfit_pairs), cfg.resolution)
    # the profile's own run cache: a stale run is replaced
    run = outputs.runs("faces") / ("overfit-masked" if masked else "overfit")
    path = ensure_trained(cfg, run, train_data=few, val_data=few, device=device, progress=False, replace=True)
    from faceflow.methods.flownets_checkpoints import history

    _, val = history(path)
    column = "epe_valid" if masked else "epe"
    zero = zero_flow_epe(few, len(few), valid_only=masked)
    return OverfitResult(path, zero, float(val[column].iloc[-1]), len(few))


def zero_flow_epe(dataset, max_pairs: int = 64, valid_only: bool = False) -> float:
    """Zero flow's EPE on the pairs :func:`faceflow.training.loop.validation_epe` validates on (the same sampling).

    With ``valid_only`` each pair's mean is over its valid mask (``epe_valid`` of the validation).
    """
    n = min(len(dataset), max_pairs)
    if n == 0:
        return float("nan")
    idx = np.linspace(0, len(dataset) - 1, n).round().astype(int) if n < len(dataset) else np.arange(n)
    means = []
    for i in idx:
        s = dataset[int(i)]
        mag = np.linalg.norm(s["flow"].numpy(), axis=0)
        valid = s["mask"].numpy()[0] > 0 if valid_only else np.ones(mag.shape, bool)
        if valid.any():
            means.append(float(mag[valid].mean()))
    return float(np.mean(means)) if means else float("nan")
