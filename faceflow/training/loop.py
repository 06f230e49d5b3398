"""The FlowNetS training loop (Sec. 4.3): seeded, resumable, checkpointed.

* :func:`train` runs a :class:`~faceflow.training.experiments.TrainConfig` on a dataset with Adam,
  tqdm progress and periodic validation. The batch order is a pure function of (seed, step), so a
  run resumed from its last checkpoint continues exactly as the uninterrupted run would (on the
  CPU; the tests check it).
* :func:`ensure_trained` is the idempotent entry point used by the chapters, the CLI and other
  modules: returns ``run_dir/last.pt``, training or resuming only when needed.
* :func:`build_data` makes the training and validation sets of a config's training set.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from faceflow.flow.metrics import epe_map_torch
from faceflow.groundtruth.splits import SplitOptions
from faceflow.io.atomic import atomic_write_text
from faceflow.methods.flownets import full_resolution
from faceflow.methods.flownets_checkpoints import CHECKPOINT, checkpoint_status, read_checkpoint
from faceflow.runtime import resolve_device
from faceflow.training import datasets
from faceflow.training.checkpoints import build_model, save_checkpoint
from faceflow.training.experiments import TrainConfig
from faceflow.training.losses import total_loss


def batch_indices(n: int, batch_size: int, step: int, seed: int, shuffle: bool = True) -> list[int]:
    """Sample indices of ``step``: consecutive slices of a per-epoch seeded permutation, or of
    the dataset's own order when ``shuffle`` is False (the authors' released code)."""
    out, perms = [], {}
    start = step * batch_size
    for pos in range(start, start + batch_size):
        epoch, i = divmod(pos, n)
        if not shuffle:
            out.append(i)
            continue
        if epoch not in perms:
            perms[epoch] = np.random.default_rng([seed, epoch]).permutation(n)
        out.append(int(perms[epoch][i]))
    return out


def collate(samples: list[dict]) -> dict:
    return {
        "img1": torch.stack([s["img1"] for s in samples]),
        "img2": torch.stack([s["img2"] for s in samples]),
        "flow": torch.stack([s["flow"] for s in samples]),
        "mask": torch.stack([s["mask"] for s in samples]),
        "name": [s["name"] for s in samples],
    }


def _check_resolution(ds, cfg: TrainConfig) -> None:
    s = ds[0]
    if tuple(s["img1"].shape[-2:]) != tuple(cfg.resolution):
        raise ValueError(
            f"dataset samples are {tuple(s['img1'].shape[-2:])}, config resolution is "
            f"{tuple(cfg.resolution)}; build the dataset with size=config.resolution"
        )


@torch.no_grad()
def validation_epe(model, dataset, device: str, max_pairs: int = 64, batch_size: int = 8) -> dict:
    """Mean EPE of the finest prediction upsampled to the training resolution, on the dataset.

    Returns
    -------
    dict
        ``epe``: over the whole crop (the mean over pairs of each pair's mean); ``epe_valid``: the
        same over each pair's valid mask (the face, for landmark ground truth; pairs without a
        valid pixel are left out of that mean).
    """
    was = model.training
    model.eval()
    n = min(len(dataset), max_pairs)
    idx = np.linspace(0, len(dataset) - 1, n).round().astype(int) if n < len(dataset) else np.arange(n)
    whole, valid = [], []
    for b in range(0, len(idx), batch_size):
        batch = collate([dataset[int(i)] for i in idx[b : b + batch_size]])
        pred = full_resolution(model(batch["img1"].to(device), batch["img2"].to(device))[0], 1)
        e = epe_map_torch(pred, batch["flow"].to(device))
        m = batch["mask"].to(device)[:, 0]
        whole += e.mean(dim=(1, 2)).tolist()
        count = m.sum(dim=(1, 2))
        valid += [float(v) for v, c in zip((e * m).sum(dim=(1, 2)) / count.clamp_min(1), count) if c > 0]
    model.train(was)
    return {
        "epe": float(np.mean(whole)) if whole else 0.0,
        "epe_valid": float(np.mean(valid)) if valid else float("nan"),
    }


def train(
    cfg: TrainConfig,
    train_ds,
    val_ds,
    run_dir,
    device: str = "auto",
    progress: bool = True,
    resume: bool = True,
    stop_after: int | None = None,
    checkpoint_every: int | None = None,
    init_weights: dict | None = None,
    channels_last: bool = True,
) -> Path:
    """Train ``cfg`` on ``train_ds`` (validating on ``val_ds``), checkpointing to ``run_dir/last.pt``.

    resume : continue from ``run_dir/last.pt`` when it holds a partial run of the same config.
    stop_after : stop (checkpointed, unfinished) after this global step; for tests and budgets.
    init_weights : a state_dict to start from (Exp3 starts from Exp2I).
    channels_last : run the network in channels-last memory format (faster convolutions on the
        CPU; the same computation).

    A training set that fits in :data:`BANK_BYTES` is loaded once into a
    :class:`~faceflow.training.datasets.TensorBank` (reused by the next run on the same files,
    :func:`~faceflow.training.datasets.bank_for`), so a batch is one indexing operation; larger
    sets are read sample by sample. All give the same batches.
    """
    from tqdm import tqdm

    device = resolve_device(device)
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt = run_dir / CHECKPOINT
    if len(train_ds) == 0:
        raise ValueError("empty training set")
    _check_resolution(train_ds, cfg)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg).to(device)
    if init_weights is not None:
        model.load_state_dict(init_weights)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate(0), betas=cfg.betas)
    step, extra = 0, {"history": [], "val": [], "finished": False, "seconds": 0.0}
    if resume and ckpt.is_file():
        obj = read_checkpoint(ckpt)
        if json.loads(obj["config"]) == cfg.to_dict():
            model.load_state_dict(obj["model"])
            opt.load_state_dict(obj["optimizer"])
            step = int(obj["step"])
            extra = json.loads(obj["extra"])
    atomic_write_text(run_dir / "config.json", json.dumps(cfg.to_dict(), indent=1))
    every = checkpoint_every or max(1, min(cfg.val_every, cfg.steps))
    loss_cfg = cfg.loss_config()
    model.train()
    end = cfg.steps if stop_after is None else min(cfg.steps, stop_after)
    bar = tqdm(
        total=cfg.steps, initial=step, disable=not progress, desc=f"{cfg.train_set}/{cfg.experiment}", mininterval=2.0
    )
    t0 = time.perf_counter()
    bank = datasets.bank_for(train_ds) if step < end and _fits_in_memory(train_ds, cfg) else None
    while step < end:
        lr = cfg.learning_rate(step)
        for g in opt.param_groups:
            g["lr"] = lr
        idx = batch_indices(len(train_ds), cfg.batch_size, step, cfg.seed, cfg.shuffle)
        if bank is not None:
            img1, img2, gt, mask = (t.to(device) for t in bank.batch(idx))
        else:
            batch = collate([train_ds[i] for i in idx])
            img1, img2, gt, mask = (batch[k].to(device) for k in ("img1", "img2", "flow", "mask"))
        img1, img2 = img1.contiguous(memory_format=fmt), img2.contiguous(memory_format=fmt)
        preds = model(img1, img2)
        loss, terms = total_loss(preds, gt, img1, img2, loss_cfg, mask)
        if not math.isfinite(terms["J"]):
            raise RuntimeError(f"{cfg.experiment}: non-finite loss at step {step} on samples {idx}: {terms}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        extra["history"].append({"step": step, "lr": lr, **terms})
        bar.update(1)
        bar.set_postfix(J=f"{terms['J']:.3f}", refresh=False)
        if val_ds is not None and len(val_ds) and (step % cfg.val_every == 0 or step == cfg.steps):
            extra["val"].append({"step": step, **validation_epe(model, val_ds, device, cfg.val_pairs)})
        if step % every == 0 or step == end:
            extra["finished"] = step >= cfg.steps
            extra["seconds"] = extra.get("seconds", 0.0) + (time.perf_counter() - t0)
            t0 = time.perf_counter()
            save_checkpoint(ckpt, model, opt, step, cfg, extra)
    bar.close()
    if step >= cfg.steps and not extra.get("finished"):
        extra["finished"] = True
        save_checkpoint(ckpt, model, opt, step, cfg, extra)
    _write_history(run_dir, extra)
    return ckpt


#: Largest training set (bytes of uint8 frames + float32 flows) that :func:`train` loads into memory at once.
BANK_BYTES = 3 * 2**30


def _fits_in_memory(ds, cfg: TrainConfig) -> bool:
    if not hasattr(ds, "pair"):
        return False
    h, w = cfg.resolution
    return len(ds) * h * w * (2 * 3 + 2 * 4) <= BANK_BYTES


def _write_history(run_dir: Path, extra: dict) -> None:
    import pandas as pd

    if extra.get("history"):
        atomic_write_text(run_dir / "history.csv", pd.DataFrame(extra["history"]).to_csv(index=False))
    if extra.get("val"):
        atomic_write_text(run_dir / "val.csv", pd.DataFrame(extra["val"]).to_csv(index=False))


def build_data(cfg: TrainConfig, data_root=None, face_dir=None) -> tuple:
    """``(train_ds, val_ds, label)`` for ``cfg.train_set`` with the options in ``cfg.data``.

    faces : ``face_dir`` (a ``faceflow gt`` folder); ``cfg.data`` keys ``exclude`` (held-out
        sequences), ``fractions``, ``split_seed``, ``max_pairs`` ({split: n}).
    chairs : the real FlyingChairs release (its train/val split) when present under the data
        root, else ``cfg.data["n_shapes"]`` generated flying-shapes pairs (labelled as such).
    sintel : the Sintel pairs of the scenes in ``cfg.data["sintel_train_scenes"]`` (all when
        absent), clean and final passes; validation on the same pairs (the sample has too few).
    """
    size = cfg.resolution
    opts = cfg.data or {}
    if cfg.train_set == "faces":
        if face_dir is None:
            raise ValueError("train_set='faces' needs face_dir (a `faceflow gt` output folder)")
        ds, _ = datasets.face_datasets(face_dir, size, SplitOptions.from_data(opts), opts.get("max_pairs"))
        return ds["train"], ds["val"], "faces"
    if cfg.train_set == "chairs":
        if not opts.get("force_shapes") and datasets.chairs_is_full_release(data_root):
            return (
                datasets.chairs_dataset(data_root, size, "train"),
                datasets.chairs_dataset(data_root, size, "val"),
                "FlyingChairs",
            )
        n = int(opts.get("n_shapes", 2000))
        seed = int(opts.get("shapes_seed", 1000))
        return (
            datasets.FlyingShapes(n, size, seed=seed),
            datasets.FlyingShapes(max(1, n // 20), size, seed=seed + 10_000_000),
            datasets.SHAPES_LABEL,
        )
    if cfg.train_set == "sintel":
        scenes = opts.get("sintel_train_scenes")
        ds = datasets.sintel_dataset(data_root, size, passes=("clean", "final"), scenes=scenes)
        return ds, ds, "MPI-Sintel"
    raise ValueError(f"unknown train_set {cfg.train_set!r}")


def ensure_trained(
    config: TrainConfig | dict,
    run_dir,
    data_root=None,
    face_dir=None,
    train_data=None,
    val_data=None,
    device: str = "auto",
    progress: bool = True,
    replace: bool = False,
) -> Path:
    """Return ``run_dir/last.pt`` of a finished run of ``config``; train or resume as needed.

    Idempotent: a finished checkpoint with the same config is returned untouched; a partial one
    is resumed. A run of another config in ``run_dir`` (its ``last.pt``, or its ``config.json``
    without one) is refused with one line naming the folder and what differs, unless ``replace``
    is set. An unreadable (truncated, corrupt, foreign) ``last.pt`` is an error: it is neither
    resumed nor silently overwritten. Exp3 configs (``init_config`` set) first ensure their Exp2I
    run in ``run_dir/../<init_from>`` (with the same ``replace``) and start from its final
    weights. Datasets come from ``train_data``/``val_data`` or :func:`build_data`.

    ``replace`` says who owns ``run_dir``: the package's own caches (the book's
    ``outputs/<profile>/runs/...``, where a changed chapter parameter makes the cached run stale)
    pass True and get a fresh run; a folder a user names (``faceflow train --run-dir``) keeps
    what it holds unless the user asks (``--replace``).
    """
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    run_dir = Path(run_dir)
    ckpt = run_dir / CHECKPOINT
    st = checkpoint_status(ckpt)
    if st is None and ckpt.is_file():
        try:
            read_checkpoint(ckpt)  # raises: say why, and never start afresh over it
        except ValueError as exc:
            raise ValueError(f"{exc}; cannot resume it: move it away to start a fresh run") from None
    if st is not None and st["finished"] and st["config"] == cfg.to_dict():
        return ckpt
    if not replace:
        refuse_other_run(run_dir, st["config"] if st is not None else None, cfg)
    init_weights = None
    if cfg.init_config is not None:
        parent = TrainConfig.from_dict(cfg.init_config)
        pdir = run_dir.parent / (cfg.init_from or parent.experiment)
        pckpt = ensure_trained(parent, pdir, data_root, face_dir, train_data, val_data, device, progress, replace)
        init_weights = read_checkpoint(pckpt)["model"]
    if train_data is None:
        train_data, val_data, _ = build_data(cfg, data_root, face_dir)
    resume = st is not None and st["config"] == cfg.to_dict()
    return train(cfg, train_data, val_data, run_dir, device, progress, resume=resume, init_weights=init_weights)


def _flat(d, prefix: str = "") -> dict:
    """A nested dict as ``{"model.width": 0.5, ...}``."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def config_differences(old: dict, new: dict, limit: int = 4) -> str:
    """What differs between two configs, e.g. ``experiment 'Exp1' -> 'Exp2I', model.width 0.5 -> 1``.

    Parameters
    ----------
    old, new : dict
        Configs (``TrainConfig.to_dict()``); nested dicts are compared key by key.
    limit : int
        Name at most this many differences (the rest are counted).

    Returns
    -------
    str
    """
    a, b = _flat(old), _flat(new)
    keys = sorted(set(a) | set(b), key=lambda k: (k not in ("experiment", "train_set", "model.width"), k))
    diffs = [f"{k} {a.get(k, '(none)')!r} -> {b.get(k, '(none)')!r}" for k in keys if a.get(k) != b.get(k)]
    more = f" and {len(diffs) - limit} more" if len(diffs) > limit else ""
    return ", ".join(diffs[:limit]) + more


def refuse_other_run(run_dir: Path, checkpoint_config: dict | None, cfg: TrainConfig) -> None:
    """Refuse (one line) a run folder that holds a run of another config than ``cfg``.

    Parameters
    ----------
    run_dir : pathlib.Path
    checkpoint_config : dict or None
        The config of the readable ``last.pt`` in ``run_dir`` (None: no checkpoint).
    cfg : TrainConfig
        The config about to be trained there.

    Raises
    ------
    ValueError
        ``<run_dir> holds a run of another config (<differences>); pass --replace ...``: its
        ``last.pt`` has another config, or (without a checkpoint) its ``config.json`` does.
    """
    old = checkpoint_config
    what = f"a checkpoint ({CHECKPOINT})"
    if old is None and (run_dir / "config.json").is_file():
        what = "a config.json"
        try:
            old = json.loads((run_dir / "config.json").read_text())
        except (UnicodeDecodeError, json.JSONDecodeError):
            old = {"config.json": "unreadable"}
        if not isinstance(old, dict):
            old = {"config.json": "not a config"}
    if old is None or old == cfg.to_dict():
        return
    raise ValueError(
        f"{run_dir} holds {what} of another run ({config_differences(old, cfg.to_dict())}); "
        "nothing was replaced: pass --replace to train over it, or choose another --run-dir"
    )
