"""Training and evaluation engine for FlowNetS (Sec. 4.3): seeded, resumable, safe checkpoints.

* :func:`train` runs a :class:`~faceflow.experiments.TrainConfig` on a dataset with Adam, tqdm
  progress and periodic validation. The batch order is a pure function of (seed, step), so a
  run resumed from its last checkpoint continues exactly as the uninterrupted run would (on the
  CPU; the tests check it).
* Checkpoints (``last.pt``) hold the weights, the optimiser state, the step, the config and the
  loss history. They are written atomically (temporary file + rename) and contain only tensors,
  numbers, strings, lists and dicts, so :func:`load_checkpoint` reads them with
  ``torch.load(weights_only=True)``: no arbitrary pickle is ever executed.
* :func:`ensure_trained` is the idempotent entry point used by the chapters, the CLI and other
  modules: returns ``run_dir/last.pt``, training or resuming only when needed.
* :func:`evaluate` gives per-pair EPE and AAE (Eq. 8) of the largest prediction upsampled to full
  resolution, in the pixels of each dataset's native ground truth.
"""

from __future__ import annotations

import io
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from faceflow.chapter import resolve_device
from faceflow.experiments import TrainConfig
from faceflow.fileio import atomic_write_bytes, atomic_write_text
from faceflow.flownets import FlowNetS, FlowNetSConfig, full_resolution, predict_flow
from faceflow.losses import total_loss
from faceflow.metrics import aae, epe, epe_map_torch

CHECKPOINT = "last.pt"
FORMAT_VERSION = 1


def build_model(cfg: TrainConfig) -> FlowNetS:
    return FlowNetS(FlowNetSConfig(**cfg.model))


# ----------------------------------------------------------------------------- checkpoints

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
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def _load_raw(path, map_location="cpu") -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    obj = torch.load(path, map_location=map_location, weights_only=True)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a faceflow checkpoint (format {FORMAT_VERSION})")
    return obj


def load_checkpoint(path, map_location="cpu"):
    """``(model, config_dict, extra)`` from a checkpoint, read with ``weights_only=True``.

    The model is in eval mode on ``map_location``, with ``model.input_size`` set to the training
    resolution (the default size of :func:`faceflow.flownets.predict_flow`). ``extra`` holds
    ``step``, ``finished``, ``history`` and ``val`` (validation EPE by step).
    """
    obj = _load_raw(path, map_location)
    cfg = json.loads(obj["config"])
    extra = json.loads(obj["extra"])
    extra["step"] = obj["step"]
    model = FlowNetS(FlowNetSConfig(**cfg["model"]))
    model.load_state_dict(obj["model"])
    model.input_size = tuple(int(x) for x in cfg["resolution"])  # predict_flow's default size
    model.to(map_location if isinstance(map_location, (str, torch.device)) else "cpu").eval()
    return model, cfg, extra


def checkpoint_status(path) -> dict | None:
    """``{"step", "finished", "config"}`` of a checkpoint, or None when absent or unreadable."""
    try:
        obj = _load_raw(path)
    except (FileNotFoundError, ValueError, RuntimeError, EOFError):
        return None
    extra = json.loads(obj["extra"])
    return {"step": obj["step"], "finished": bool(extra.get("finished")), "config": json.loads(obj["config"])}


# ----------------------------------------------------------------------------- training

def batch_indices(n: int, batch_size: int, step: int, seed: int) -> list[int]:
    """Sample indices of ``step``: consecutive slices of a per-epoch seeded permutation."""
    out, perms = [], {}
    start = step * batch_size
    for pos in range(start, start + batch_size):
        epoch, i = divmod(pos, n)
        if epoch not in perms:
            perms[epoch] = np.random.default_rng([seed, epoch]).permutation(n)
        out.append(int(perms[epoch][i]))
    return out


def collate(samples: list[dict]) -> dict:
    return {
        "img1": torch.stack([s["img1"] for s in samples]),
        "img2": torch.stack([s["img2"] for s in samples]),
        "flow": torch.stack([s["flow"] for s in samples]),
        "name": [s["name"] for s in samples],
    }


def _check_resolution(ds, cfg: TrainConfig) -> None:
    s = ds[0]
    if tuple(s["img1"].shape[-2:]) != tuple(cfg.resolution):
        raise ValueError(f"dataset samples are {tuple(s['img1'].shape[-2:])}, config resolution is "
                         f"{tuple(cfg.resolution)}; build the dataset with size=config.resolution")


@torch.no_grad()
def validation_epe(model, dataset, device: str, max_pairs: int = 64, batch_size: int = 8) -> float:
    """Mean EPE of the finest prediction upsampled to the training resolution, on the dataset."""
    was = model.training
    model.eval()
    n = min(len(dataset), max_pairs)
    idx = np.linspace(0, len(dataset) - 1, n).round().astype(int) if n < len(dataset) else np.arange(n)
    tot, cnt = 0.0, 0
    for b in range(0, len(idx), batch_size):
        batch = collate([dataset[int(i)] for i in idx[b:b + batch_size]])
        pred = full_resolution(model(batch["img1"].to(device), batch["img2"].to(device))[0], 1)
        e = epe_map_torch(pred, batch["flow"].to(device)).mean(dim=(1, 2))
        tot += float(e.sum())
        cnt += len(e)
    model.train(was)
    return tot / max(cnt, 1)


def train(cfg: TrainConfig, train_ds, val_ds, run_dir, device: str = "auto", progress: bool = True,
          resume: bool = True, stop_after: int | None = None, checkpoint_every: int | None = None,
          init_weights: dict | None = None) -> Path:
    """Train ``cfg`` on ``train_ds`` (validating on ``val_ds``), checkpointing to ``run_dir/last.pt``.

    resume : continue from ``run_dir/last.pt`` when it holds a partial run of the same config.
    stop_after : stop (checkpointed, unfinished) after this global step; for tests and budgets.
    init_weights : a state_dict to start from (Exp3 starts from Exp2I).
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
    opt = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate(0), betas=cfg.betas)
    step, extra = 0, {"history": [], "val": [], "finished": False, "seconds": 0.0}
    if resume and ckpt.is_file():
        obj = _load_raw(ckpt)
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
    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, desc=f"{cfg.train_set}/{cfg.experiment}",
               mininterval=2.0)
    t0 = time.perf_counter()
    while step < end:
        lr = cfg.learning_rate(step)
        for g in opt.param_groups:
            g["lr"] = lr
        batch = collate([train_ds[i] for i in batch_indices(len(train_ds), cfg.batch_size, step, cfg.seed)])
        img1, img2, gt = (batch[k].to(device) for k in ("img1", "img2", "flow"))
        preds = model(img1, img2)
        loss, terms = total_loss(preds, gt, img1, img2, loss_cfg)
        if not math.isfinite(terms["J"]):
            raise RuntimeError(f"{cfg.experiment}: non-finite loss at step {step}: {terms}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        extra["history"].append({"step": step, "lr": lr, **terms})
        bar.update(1)
        bar.set_postfix(J=f"{terms['J']:.3f}", refresh=False)
        if val_ds is not None and len(val_ds) and (step % cfg.val_every == 0 or step == cfg.steps):
            extra["val"].append({"step": step, "epe": validation_epe(model, val_ds, device, cfg.val_pairs)})
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


def _write_history(run_dir: Path, extra: dict) -> None:
    import pandas as pd

    if extra.get("history"):
        atomic_write_text(run_dir / "history.csv", pd.DataFrame(extra["history"]).to_csv(index=False))
    if extra.get("val"):
        atomic_write_text(run_dir / "val.csv", pd.DataFrame(extra["val"]).to_csv(index=False))


def history(path) -> tuple:
    """(training history, validation history) DataFrames of a checkpoint."""
    import pandas as pd

    obj = _load_raw(path)
    extra = json.loads(obj["extra"])
    return pd.DataFrame(extra.get("history", [])), pd.DataFrame(extra.get("val", []))


# ----------------------------------------------------------------------------- data per train set

def build_data(cfg: TrainConfig, data_root=None, face_dir=None) -> tuple:
    """``(train_ds, val_ds, label)`` for ``cfg.train_set`` with the options in ``cfg.data``.

    faces : ``face_dir`` (a ``faceflow gt`` folder); ``cfg.data`` keys ``exclude`` (held-out
        sequences), ``fractions``, ``split_seed``, ``max_pairs`` ({split: n}).
    chairs : the real FlyingChairs release (its train/val split) when present under the data
        root, else ``cfg.data["n_shapes"]`` generated flying-shapes pairs (labelled as such).
    sintel : the Sintel pairs of the scenes in ``cfg.data["sintel_train_scenes"]`` (all when
        absent), clean and final passes; validation on the same pairs (the sample has too few).
    """
    from faceflow import flowdata

    size = cfg.resolution
    opts = cfg.data or {}
    if cfg.train_set == "faces":
        if face_dir is None:
            raise ValueError("train_set='faces' needs face_dir (a `faceflow gt` output folder)")
        ds, _ = flowdata.face_datasets(face_dir, size, tuple(opts.get("fractions", (0.7, 0.15, 0.15))),
                                       int(opts.get("split_seed", 0)), opts.get("exclude"), opts.get("max_pairs"))
        return ds["train"], ds["val"], "faces"
    if cfg.train_set == "chairs":
        if not opts.get("force_shapes") and flowdata.chairs_is_full_release(data_root):
            return (flowdata.chairs_dataset(data_root, size, "train"), flowdata.chairs_dataset(data_root, size, "val"),
                    "FlyingChairs")
        n = int(opts.get("n_shapes", 2000))
        return (flowdata.FlyingShapes(n, size, seed=int(opts.get("shapes_seed", 1000))),
                flowdata.FlyingShapes(max(1, n // 20), size, seed=int(opts.get("shapes_seed", 1000)) + 10_000_000),
                flowdata.SHAPES_LABEL)
    if cfg.train_set == "sintel":
        scenes = opts.get("sintel_train_scenes")
        ds = flowdata.sintel_dataset(data_root, size, passes=("clean", "final"), scenes=scenes)
        return ds, ds, "MPI-Sintel"
    raise ValueError(f"unknown train_set {cfg.train_set!r}")


def ensure_trained(config: TrainConfig | dict, run_dir, data_root=None, face_dir=None, train_data=None,
                   val_data=None, device: str = "auto", progress: bool = True) -> Path:
    """Return ``run_dir/last.pt`` of a finished run of ``config``; train or resume as needed.

    Idempotent: a finished checkpoint with the same config is returned untouched; a partial one
    is resumed; one with a different config is replaced by a fresh run. Exp3 configs
    (``init_config`` set) first ensure their Exp2I run in ``run_dir/../<init_from>`` and start
    from its final weights. Datasets come from ``train_data``/``val_data`` or :func:`build_data`.
    """
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(config)
    run_dir = Path(run_dir)
    ckpt = run_dir / CHECKPOINT
    st = checkpoint_status(ckpt)
    if st is not None and st["finished"] and st["config"] == cfg.to_dict():
        return ckpt
    init_weights = None
    if cfg.init_config is not None:
        parent = TrainConfig.from_dict(cfg.init_config)
        pdir = run_dir.parent / (cfg.init_from or parent.experiment)
        pckpt = ensure_trained(parent, pdir, data_root, face_dir, train_data, val_data, device, progress)
        init_weights = _load_raw(pckpt)["model"]
    if train_data is None:
        train_data, val_data, _ = build_data(cfg, data_root, face_dir)
    resume = st is not None and st["config"] == cfg.to_dict()
    return train(cfg, train_data, val_data, run_dir, device, progress, resume=resume, init_weights=init_weights)


# ----------------------------------------------------------------------------- evaluation

def evaluate(model, dataset, device: str = "auto", size=None, progress: bool = False):
    """Per-pair EPE and AAE (radians, Eq. 8) of the largest prediction at full resolution.

    Each pair is read at its native size; the network runs at ``size`` (default: the
    resolution stored on the model by :func:`load_checkpoint` callers, else the nearest multiple
    of 64) and its flow is brought back to the native size and units (:func:`predict_flow`).
    Returns a DataFrame with columns pair, source, epe, aae, gt_mag.
    """
    import pandas as pd
    from tqdm import tqdm

    device = resolve_device(device)
    model = model.to(device)
    rows = []
    for i in tqdm(range(len(dataset)), disable=not progress, desc="evaluate", mininterval=2.0):
        p = dataset.pair(i)
        rows.append(_error_row(p, predict_flow(model, p.img1, p.img2, device=device,
                                               size=tuple(size) if size else None)))
    return pd.DataFrame(rows)


def _error_row(p, flow: np.ndarray) -> dict:
    """One row of :func:`evaluate`: EPE and AAE of ``flow`` against the pair's ground truth."""
    return {"pair": p.name, "source": p.source, "epe": epe(flow, p.flow), "aae": aae(flow, p.flow),
            "gt_mag": float(np.linalg.norm(p.flow, axis=-1).mean())}


def zero_flow_errors(dataset):
    """Per-pair EPE and AAE of the zero flow: the reference an estimate has to beat."""
    import pandas as pd

    rows = []
    for i in range(len(dataset)):
        p = dataset.pair(i)
        rows.append(_error_row(p, np.zeros_like(p.flow)))
    return pd.DataFrame(rows)


def evaluate_checkpoint(path, dataset, device: str = "auto", progress: bool = False):
    """:func:`evaluate` of a checkpoint at the resolution it was trained at."""
    model, cfg, _ = load_checkpoint(path)
    return evaluate(model, dataset, device, size=tuple(cfg["resolution"]), progress=progress)


def error_histograms(results: dict, bins: int = 30):
    """A figure with EPE and AAE histograms, one step curve per entry of ``{label: per-pair df}``."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for label, df in results.items():
        if df is None or len(df) == 0:
            continue
        for ax, col in zip(axes, ("epe", "aae")):
            ax.hist(df[col], bins=bins, histtype="step", label=label)
    axes[0].set_xlabel("EPE (px)")
    axes[1].set_xlabel("AAE (rad)")
    axes[0].set_ylabel("pairs")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig
