"""Beyond the paper: fine-tuning the pretrained RAFT-small on the face ground truth.

The paper trains FlowNetS from scratch on faces. A question it leaves open is whether face
ground truth also improves a modern network that was pretrained on generic synthetic data. This
module fine-tunes RAFT-small (official Chairs+Things weights, :mod:`faceflow.methods.raft`) on
the training split of a ``faceflow gt`` face dataset, with RAFT's own recipe scaled to the
profile: random crops (and horizontal flips), the sequence loss over all recurrent updates
(``sum_i gamma^(N-i) |f_i - f_gt|_1``, gamma 0.8), AdamW with a one-cycle learning rate, gradient
clipping at 1. The split is the one the FlowNetS networks were trained with, so the test pairs
(subject-disjoint) are those of Table 3.

**Masked loss (beyond the paper and RAFT, ``FinetuneConfig.masked``).** The landmark ground truth
is defined only inside the face mesh (:mod:`faceflow.io.masks`). With ``masked=True`` each
update's L1 error is averaged over the valid pixels of the batch's crops (both flow components)
instead of every pixel (:func:`faceflow.training.losses.masked_mean`, as the FlowNetS masked loss
does), so a pixel outside the face has no gradient; the crops carry the mask through the same
crop and flip as the frames and the flow. The plain loss stays the default.

:func:`ensure_finetuned` is idempotent and resumable like :func:`faceflow.training.loop.ensure_trained`:
a finished run of the same config is reused, a partial one resumed. Checkpoints hold tensors,
numbers and strings only and are read with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import math
import os
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from faceflow.groundtruth.splits import SplitOptions
from faceflow.io.atomic import atomic_write_text
from faceflow.methods.pretrained import FINETUNED_NAME, RAFT_MIN_SIZE
from faceflow.methods.raft import RAFTSmall, load_raft_small, load_raft_state, raft_flow
from faceflow.methods.registry import FlowFn, register
from faceflow.runtime import load_weights_file, resolve_device
from faceflow.training.checkpoints import write_checkpoint
from faceflow.training.loop import batch_indices
from faceflow.training.losses import masked_mean

#: File of a fine-tuning run.
CHECKPOINT = "last.pt"
FORMAT = "faceflow-raft-finetune-1"


@dataclass
class FinetuneConfig:
    """One fine-tuning run of RAFT-small on face ground truth.

    Attributes
    ----------
    steps : int
        Optimiser steps.
    batch_size : int
        Crops per step.
    crop : (int, int)
        (H, W) of the random crops (multiples of 8, at least 64).
    iters : int
        Recurrent updates in training.
    lr : float
        Peak learning rate of the one-cycle schedule (AdamW).
    weight_decay : float
        AdamW weight decay.
    gamma : float
        Weight decay of the sequence loss over the updates.
    clip : float
        Gradient-norm clip.
    flip : bool
        Random horizontal flips (u negated).
    train_pairs : int, optional
        At most this many evenly spaced training pairs (None: all).
    split : dict
        The face split as :meth:`SplitOptions.to_data` writes it (``exclude``, ``fractions``,
        ``split_seed``, ``subject_table``), so the training pairs are the training split the
        test pairs were held out of.
    seed : int
        Seed of the crops, flips and batch order.
    masked : bool
        Beyond the paper: the sequence loss over the ground truth's valid mask only (module
        docstring). Recorded in :meth:`to_dict` only when set, so the plain runs made before this
        option are still found.
    """

    steps: int
    batch_size: int = 4
    crop: tuple[int, int] = (192, 256)
    iters: int = 12
    lr: float = 1e-4
    weight_decay: float = 1e-5
    gamma: float = 0.8
    clip: float = 1.0
    flip: bool = True
    train_pairs: int | None = None
    split: dict = field(default_factory=dict)
    seed: int = 0
    masked: bool = False

    def __post_init__(self) -> None:
        self.crop = tuple(int(c) for c in self.crop)
        if self.steps < 1 or self.batch_size < 1 or self.iters < 1:
            raise ValueError(f"steps, batch_size, iters must be >= 1: {self.steps}, {self.batch_size}, {self.iters}")
        if len(self.crop) != 2 or any(c % 8 or c < 64 for c in self.crop):
            raise ValueError(f"crop must be (H, W), multiples of 8 and at least 64, got {self.crop}")

    def to_dict(self) -> dict:
        """The config as JSON-ready values.

        Returns
        -------
        dict
        """
        d = asdict(self)
        d["crop"] = list(self.crop)
        if not self.masked:
            del d["masked"]
        return d

    @classmethod
    def from_settings(cls, settings, split: dict, seed: int = 0, masked: bool = False) -> FinetuneConfig:
        """The run of a profile's fine-tuning settings.

        Parameters
        ----------
        settings : faceflow.profiles.FinetuneProfile
            Steps, batch, crop, updates, learning rate, training pairs.
        split : dict
            The face split (:meth:`SplitOptions.to_data`).
        seed : int
            Seed of the crops, flips and batch order.
        masked : bool
            The masked loss (beyond the paper).

        Returns
        -------
        FinetuneConfig
        """
        return cls(
            steps=settings.steps,
            batch_size=settings.batch_size,
            crop=settings.crop,
            iters=settings.iters,
            lr=settings.lr,
            train_pairs=settings.train_pairs,
            split=split,
            seed=seed,
            masked=masked,
        )


def sequence_loss(
    preds: list[torch.Tensor], gt: torch.Tensor, gamma: float = 0.8, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """RAFT's loss: the L1 error of every update, weighted ``gamma^(N-1-i)`` (the last weighs 1).

    Parameters
    ----------
    preds : list of torch.Tensor
        ``(B, 2, H, W)`` flows after each update, first to last.
    gt : torch.Tensor
        ``(B, 2, H, W)`` ground truth.
    gamma : float
        Decay per update towards the first.
    mask : torch.Tensor, optional
        ``(B, 1, H, W)`` valid mask (1 where the ground truth is defined): each update's error is
        then the mean over the valid entries of the batch (the masked loss, beyond the paper);
        None: over every entry.

    Returns
    -------
    torch.Tensor
        Scalar loss.

    Raises
    ------
    ValueError
        No predictions, or a shape differs from the ground truth's (or the mask's from ``(B, 1, H, W)``).
    """
    if not preds:
        raise ValueError("no predictions")
    for p in preds:
        if p.shape != gt.shape:
            raise ValueError(f"prediction {tuple(p.shape)} vs ground truth {tuple(gt.shape)}")
    if mask is not None and mask.shape != (gt.shape[0], 1, *gt.shape[2:]):
        raise ValueError(f"mask {tuple(mask.shape)} vs ground truth {tuple(gt.shape)}")
    n = len(preds)
    return sum(gamma ** (n - 1 - i) * masked_mean((p - gt).abs(), mask) for i, p in enumerate(preds))


def crop_sample(sample: dict, crop: tuple[int, int], rng: np.random.Generator, flip: bool) -> dict:
    """A random crop (and, with ``flip``, a random horizontal flip) of a training sample.

    Parameters
    ----------
    sample : dict
        ``img1``, ``img2`` (3, H, W) and ``flow`` (2, H, W) tensors, and ``mask`` (1, H, W) when
        the sample has one (:func:`faceflow.training.datasets.pair_to_sample`).
    crop : (int, int)
        (h, w) of the crop; the sample must be at least that large.
    rng : numpy.random.Generator
        Source of the crop position and flip.
    flip : bool
        Flip horizontally with probability 1/2 (the flow's u changes sign).

    Returns
    -------
    dict
        The cropped ``img1``, ``img2``, ``flow`` (and ``mask``): the same crop and flip for each;
        the draws do not depend on whether there is a mask.

    Raises
    ------
    ValueError
        The sample is smaller than the crop.
    """
    h, w = sample["img1"].shape[-2:]
    ch, cw = crop
    if h < ch or w < cw:
        raise ValueError(f"sample {sample.get('name', '')} is {h}x{w}, smaller than the {ch}x{cw} crop")
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    out = {k: sample[k][:, y : y + ch, x : x + cw] for k in ("img1", "img2", "flow", "mask") if k in sample}
    if flip and rng.random() < 0.5:
        out = {k: v.flip(-1) for k, v in out.items()}
        out["flow"] = out["flow"] * torch.tensor([-1.0, 1.0]).view(2, 1, 1)
    return out


def _save(path: Path, model: RAFTSmall, opt, sched, step: int, cfg: FinetuneConfig, extra: dict) -> None:
    obj = {
        "format": FORMAT,
        "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "step": int(step),
        "config": json.dumps(cfg.to_dict()),
        "extra": json.dumps(extra),
    }
    write_checkpoint(path, obj)


def read_finetuned(path: str | os.PathLike) -> dict:
    """The content of a fine-tuning checkpoint, read with ``torch.load(weights_only=True)``.

    Parameters
    ----------
    path : path-like
        A ``last.pt`` written by :func:`finetune_raft`.

    Returns
    -------
    dict
        ``model`` (state dict), ``step``, ``config`` and ``extra`` (decoded), ``optimizer``, ``scheduler``.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a fine-tuning checkpoint (one line naming the file).
    """
    path = Path(path)
    if path.is_file() and not zipfile.is_zipfile(path):  # torch.save writes zip archives
        raise ValueError(f"{path}: not a fine-tuning checkpoint (not a torch zip archive)")
    obj = load_weights_file(path, "fine-tuning checkpoint")
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path}: not a fine-tuning checkpoint ({FORMAT})")
    return {**obj, "config": json.loads(obj["config"]), "extra": json.loads(obj["extra"])}


def finetune_raft(
    cfg: FinetuneConfig,
    face_dir: str | os.PathLike,
    run_dir: str | os.PathLike,
    data_root: str | os.PathLike | None = None,
    device: str = "auto",
    progress: bool = False,
    stop_after: int | None = None,
) -> Path:
    """Fine-tune the official RAFT-small on the training split of a face dataset; resumable.

    Parameters
    ----------
    cfg : FinetuneConfig
        The run.
    face_dir : path-like
        A ``faceflow gt`` output folder.
    run_dir : path-like
        Where ``last.pt``, ``config.json`` and ``history.csv`` go.
    data_root : path-like, optional
        The data root holding the official weights.
    device : str
        Torch device.
    progress : bool
        Show a tqdm bar.
    stop_after : int, optional
        Stop (checkpointed, unfinished) after this step; for tests and budgets.

    Returns
    -------
    pathlib.Path
        ``run_dir/last.pt``.

    Raises
    ------
    faceflow.methods.weights.WeightsError
        The official weights are missing or corrupt.
    ValueError
        The training split is empty, or a pair is smaller than the crop.
    """
    import pandas as pd
    from tqdm import tqdm

    from faceflow.training.datasets import face_datasets

    device = resolve_device(device)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt = run_dir / CHECKPOINT
    previous = read_finetuned(ckpt) if ckpt.is_file() else None
    if previous is not None and previous["config"] != cfg.to_dict():
        previous = None  # another config: start afresh
    if previous is not None and previous["extra"].get("finished"):
        return ckpt
    split = SplitOptions.from_data(cfg.split)
    train = face_datasets(face_dir, None, split, {"train": cfg.train_pairs})[0]["train"]
    if len(train) == 0:
        raise ValueError(f"{face_dir}: the face training split is empty")
    torch.manual_seed(cfg.seed)
    model = load_raft_small(data_root).to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, eps=1e-8)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.steps + 100, pct_start=0.05, cycle_momentum=False, anneal_strategy="linear"
    )
    step, extra = 0, {"history": [], "finished": False, "seconds": 0.0, "train_pairs": len(train)}
    if previous is not None:
        model.load_state_dict(previous["model"])
        opt.load_state_dict(previous["optimizer"])
        sched.load_state_dict(previous["scheduler"])
        step, extra = int(previous["step"]), previous["extra"]
    atomic_write_text(run_dir / "config.json", json.dumps(cfg.to_dict(), indent=1))
    end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, desc="fine-tune RAFT-small", mininterval=2.0)
    t0 = time.perf_counter()
    while step < end:
        rng = np.random.default_rng([cfg.seed, step])
        idx = batch_indices(len(train), cfg.batch_size, step, cfg.seed)
        samples = [crop_sample(train[i], cfg.crop, rng, cfg.flip) for i in idx]
        img1, img2, gt, mask = (
            torch.stack([s[k] for s in samples]).to(device) for k in ("img1", "img2", "flow", "mask")
        )
        preds = model(img1 * 255.0, img2 * 255.0, iters=cfg.iters, all_iters=True)
        loss = sequence_loss(preds, gt, cfg.gamma, mask if cfg.masked else None)
        if not math.isfinite(float(loss.detach())):
            raise RuntimeError(f"fine-tuning RAFT-small: non-finite loss at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()
        sched.step()
        step += 1
        err = torch.linalg.vector_norm(preds[-1].detach() - gt, dim=1)
        epe, epe_valid = float(err.mean()), float(masked_mean(err, mask))  # the crops' whole / valid mask
        row = {"step": step, "loss": float(loss.detach()), "epe": epe, "epe_valid": epe_valid}
        extra["history"].append({**row, "lr": sched.get_last_lr()[0]})
        bar.update(1)
        if step == end or step % 10 == 0:
            extra["finished"] = step >= cfg.steps
            extra["seconds"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            _save(ckpt, model, opt, sched, step, cfg, extra)
    bar.close()
    atomic_write_text(run_dir / "history.csv", pd.DataFrame(extra["history"]).to_csv(index=False))
    return ckpt


def finetuned_flow_fn(path: str | os.PathLike, device: str = "cpu") -> FlowFn:
    """A flow function backed by a fine-tuned RAFT-small checkpoint (loaded, strictly, on the first call).

    Parameters
    ----------
    path : path-like
        A finished :func:`finetune_raft` checkpoint.
    device : str
        Torch device.

    Returns
    -------
    callable
        ``fn(img1, img2) -> (H, W, 2)`` float32 flow, 12 updates as the pretrained network.
    """
    cache: dict = {}

    def fn(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
        if "model" not in cache:
            cache["model"] = load_raft_state(read_finetuned(path)["model"], where=str(path))
        return raft_flow(cache["model"], img1, img2, device=device)

    return fn


def register_finetuned(path: str | os.PathLike, device: str = "cpu", name: str = FINETUNED_NAME) -> str:
    """Register a fine-tuned RAFT-small as flow method ``name`` (kind ``finetuned``).

    Parameters
    ----------
    path : path-like
        Its checkpoint.
    device : str
        Torch device.
    name : str
        Registry name.

    Returns
    -------
    str
        ``name``.

    Raises
    ------
    FileNotFoundError
        No such checkpoint.
    """
    if not Path(path).is_file():
        raise FileNotFoundError(f"{path}: no such fine-tuning checkpoint")
    what = f"RAFT-small fine-tuned on face ground truth ({path})"
    register(name, finetuned_flow_fn(path, device), what, "finetuned", replace=True, min_size=RAFT_MIN_SIZE)
    return name
