"""Leave-one-subject-out STSTNet training (Sec. 4.4.2): folds, protocols, cached predictions.

:func:`run_loso` trains STSTNet leave-one-subject-out as in the paper (Adam, lr 5e-5, at most
500 epochs, seeded), one full batch per epoch, and saves each held-out subject's predictions;
:func:`run_protocols` runs the paper's three protocols over seeds; :func:`real_tvl1_experiment` and
:func:`generated_experiment` give the rows of Tables 5-6.
"""

from __future__ import annotations

import io
import json
import os
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from faceflow.io.atomic import atomic_write_text
from faceflow.io.paths import safe_name
from faceflow.mer.features import MERSet, from_stst_images, generated_features, slug
from faceflow.mer.metrics import summarize


@dataclass
class LosoConfig:
    """Training settings of one leave-one-subject-out run (paper: Adam, lr 5e-5, 500 epochs).

    Every epoch is one Adam step on the fold's whole training set (STSTNet's released training uses
    batch 256, the whole set for SAMM or SMIC alone; the paper gives none). The model after the last epoch is
    evaluated; nothing is selected on the test subject.

    ``threads`` (torch CPU threads while training) defaults to 1: this small network gains little
    from a second thread, and OpenMP threads slow down badly when the cores are shared.
    ``workers`` > 1 trains that many folds at once in separate processes (each with ``threads``
    threads); results do not depend on it (every fold has its own seed).

    ``engine``: ``"batched"`` (the default) trains the folds of a run together as
    :class:`faceflow.mer.batched.BatchedSTST` models (with ``workers`` > 1 the folds are shared
    out between that many processes of ``threads`` threads), with the same results as ``"loop"``
    (:func:`train_fold`, one fold after the other) up to float32 round-off
    (``tests/mer/test_batched.py``); it needs ``device="cpu"``.
    """

    epochs: int = 500
    lr: float = 5e-5
    seed: int = 0
    device: str = "cpu"
    threads: int | None = 1
    workers: int = 1
    engine: str = "batched"

    def key(self) -> dict:
        """The settings that decide the predictions (the cache key).

        Returns
        -------
        dict
            ``epochs``, ``lr``, ``seed`` and ``engine`` (the engines agree up to round-off, which
            can flip a near-tie prediction, so their caches are kept apart).
        """
        return dict(epochs=self.epochs, lr=self.lr, seed=self.seed, engine=self.engine)


def fold_seed(seed: int, subject: str) -> int:
    """Seed of one fold: derived from the run seed and the held-out subject's name.

    Parameters
    ----------
    seed : int
        Run seed.
    subject : str
        Held-out subject.

    Returns
    -------
    int
        A 32-bit seed.
    """
    return int(np.random.SeedSequence([int(seed), zlib.crc32(str(subject).encode())]).generate_state(1)[0])


def train_fold(x_train, y_train, cfg: LosoConfig, seed: int):
    """Train a fresh STSTNet on one fold: ``cfg.epochs`` full-batch Adam steps.

    Parameters
    ----------
    x_train : torch.Tensor
        (N, 3, 28, 28) input on ``cfg.device`` (:func:`faceflow.mer.stst.images_to_input`).
    y_train : torch.Tensor
        (N,) int64 labels.
    cfg : LosoConfig
        Epochs, learning rate, device.
    seed : int
        Seed of the initialisation (``torch.manual_seed(seed)``, then ``STSTNet()``) and of the
        dropout masks (``numpy.random.default_rng(seed)``, :func:`faceflow.mer.stst.dropout_keep`):
        :func:`faceflow.mer.batched.initial_model`.

    Returns
    -------
    STSTNet
        In eval mode.
    """
    import torch
    import torch.nn.functional as F

    from faceflow.mer.batched import initial_model

    model = initial_model(seed).to(cfg.device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    model.train()
    for _ in range(cfg.epochs):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x_train), y_train)
        loss.backward()
        opt.step()
    return model.eval()


def cache_key(ds: MERSet, cfg: LosoConfig) -> dict:
    """What decides a LOSO run's predictions: the settings (:meth:`LosoConfig.key`) and the data.

    Parameters
    ----------
    ds : MERSet
        The samples.
    cfg : LosoConfig
        The settings.

    Returns
    -------
    dict
        JSON-serialisable; ``data`` is a CRC-32 of the images and labels.
    """
    data = zlib.crc32(ds.images.tobytes() + np.asarray(ds.labels).tobytes())
    return dict(cfg.key(), n=len(ds), method=ds.method, kind=ds.kind, data=data)


def _cache_ok(folder: Path, key: dict) -> bool:
    f = folder / "config.json"
    return f.is_file() and json.loads(f.read_text()) == key


def run_loso(
    ds: MERSet,
    cfg: LosoConfig | None = None,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    subjects: Sequence[str] | None = None,
    desc: str = "LOSO",
):
    """Leave-one-subject-out STSTNet training on ``ds``; returns the predictions table.

    Parameters
    ----------
    ds : MERSet
        The samples of one protocol.
    cfg : LosoConfig, optional
        Training settings.
    out_dir : path-like, optional
        Each held-out subject's predictions are written to ``out_dir/<subject>.csv`` as soon as its
        fold is done, with the settings in ``config.json``; a rerun with the same settings and
        data re-uses them (so an interrupted run resumes).
    subjects : sequence of str, optional
        Hold out only these subjects (e.g. a few folds for a smoke run).
    progress : bool
        Show a progress bar.
    desc : str
        Its label.

    Returns
    -------
    pandas.DataFrame
        One row per test sample: name, dataset, subject, label, pred, seed, seconds (fold time).

    Raises
    ------
    ValueError
        ``epochs`` < 1, an unknown engine (or ``"batched"`` off the CPU), a subject name in two
        datasets, unknown ``subjects``, or (with ``out_dir``) a subject that is not a plain file
        name, or a resume state that is not one (:func:`read_resume_state`).
    """
    import pandas as pd
    from tqdm import tqdm

    cfg = cfg or LosoConfig()
    if cfg.epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {cfg.epochs}")
    if cfg.engine not in ENGINES:
        raise ValueError(f"LOSO engine must be one of {', '.join(ENGINES)}, got {cfg.engine!r}")
    if cfg.engine == "batched" and cfg.device != "cpu":
        raise ValueError(f"the batched LOSO engine runs on the CPU only, got device {cfg.device!r}; use engine='loop'")
    if len(set(zip(ds.datasets, ds.subjects))) != len(set(ds.subjects)):
        raise ValueError("a subject name occurs in two source datasets; make subject names unique")
    all_subjects = list(dict.fromkeys(ds.subjects.tolist()))
    todo = all_subjects if subjects is None else [s for s in all_subjects if s in set(subjects)]
    if subjects is not None and len(todo) != len(set(subjects)):
        raise ValueError(f"unknown subjects: {sorted(set(subjects) - set(all_subjects))}")
    key = cache_key(ds, cfg)
    folder = Path(out_dir) if out_dir is not None else None
    if folder is not None:
        for s in todo:  # each names a cache file <folder>/<subject>.csv: refused before anything is written
            safe_name(s, f"the {ds.method} samples", "subject")
        folder.mkdir(parents=True, exist_ok=True)
        if not _cache_ok(folder, key):
            for old in folder.glob("*.csv"):
                old.unlink()
            atomic_write_text(folder / "config.json", json.dumps(key))
    parts = {}
    jobs = []
    for s in todo:
        cached = folder / f"{s}.csv" if folder is not None else None
        if cached is not None and cached.is_file():
            parts[s] = pd.read_csv(cached, dtype={"subject": str, "name": str})
        else:
            jobs.append(s)

    def finish(s, pred, secs):
        test = ds.subjects == s
        df = pd.DataFrame(
            dict(
                name=ds.names[test],
                dataset=ds.datasets[test],
                subject=s,
                label=ds.labels[test],
                pred=pred,
                seed=cfg.seed,
                seconds=secs,
            )
        )
        if folder is not None:
            atomic_write_text(folder / f"{s}.csv", df.to_csv(index=False))
        parts[s] = df

    if cfg.engine == "batched":
        if jobs:
            preds, secs = _batched_jobs(ds, jobs, cfg, folder, key, progress, desc)
            for s in jobs:
                finish(s, preds[s], secs)
        return pd.concat([parts[s] for s in todo], ignore_index=True)

    bar = tqdm(total=len(todo), initial=len(todo) - len(jobs), desc=desc, disable=not progress, leave=False)
    args = [
        (
            ds.images[ds.subjects != s],
            ds.labels[ds.subjects != s],
            ds.images[ds.subjects == s],
            asdict(cfg),
            fold_seed(cfg.seed, s),
        )
        for s in jobs
    ]
    workers = max(1, min(cfg.workers, len(jobs)))
    if workers == 1:
        for s, a in zip(jobs, args):
            pred, secs = _fold_job(a)
            finish(s, pred, secs)
            bar.update()
            bar.set_postfix(subject=s, s_per_fold=f"{secs:.1f}")
    else:
        from concurrent.futures import as_completed

        pool = _pool(workers)
        futs = {pool.submit(_fold_job, a): s for s, a in zip(jobs, args)}
        for f in as_completed(futs):
            s = futs[f]
            pred, secs = f.result()
            finish(s, pred, secs)
            bar.update()
            bar.set_postfix(subject=s, s_per_fold=f"{secs:.1f}")
    bar.close()
    return pd.concat([parts[s] for s in todo], ignore_index=True)


#: LOSO training engines (:class:`LosoConfig` ``engine``).
ENGINES = ("batched", "loop")

#: Epochs between two saved states of a batched run (``batched_state_<part>.pt`` in the cache folder).
CHECKPOINT_EPOCHS = 50


def _batched_jobs(
    ds: MERSet, jobs: list[str], cfg: LosoConfig, folder: Path | None, key: dict, progress: bool, desc: str
):
    """Train the folds holding out ``jobs`` together; their test predictions and the seconds per fold.

    With ``cfg.workers`` > 1 the folds are shared out (every ``workers``-th) between that many
    worker processes, each training its share as one batched model on ``cfg.threads`` threads;
    otherwise one batched model in this process on ``workers x threads`` threads. The models are
    independent, so the split changes nothing but round-off. Seconds per fold: the wall time of the
    whole training divided by the folds. With a cache ``folder`` each share's state is saved every
    :data:`CHECKPOINT_EPOCHS` epochs to ``batched_state_<share>.pt`` (with the cache key and its
    held-out subjects) and a rerun resumes from it.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    n = max(1, min(cfg.workers, len(jobs)))
    shares = [jobs[i::n] for i in range(n)]
    common = (ds.images, ds.labels, ds.subjects, asdict(cfg), str(folder) if folder is not None else None, key)
    preds = {}
    if n == 1:
        threads = max(1, cfg.workers) * (cfg.threads or 1)
        preds.update(_batched_share((*common, shares[0], 0, threads, progress, desc)))
    else:
        from concurrent.futures import as_completed

        pool = _pool(n)
        futs = [
            pool.submit(_batched_share, (*common, share, i, cfg.threads or 1, False, desc))
            for i, share in enumerate(shares)
        ]
        bar = tqdm(total=len(jobs), desc=f"{desc} ({n} batched shares)", disable=not progress, leave=False)
        for f in as_completed(futs):
            done = f.result()
            preds.update(done)
            bar.update(len(done))
        bar.close()
    if folder is not None:
        for old in folder.glob("batched_state_*.pt"):
            old.unlink()
    return preds, (time.perf_counter() - t0) / len(jobs)


def _batched_share(args) -> dict:
    """One share of the folds as one :class:`~faceflow.mer.batched.BatchedSTST` (here or in a worker)."""
    import torch
    from tqdm import tqdm

    from faceflow.io.atomic import atomic_write_bytes
    from faceflow.mer.batched import BatchedSTST, Fold

    images, labels, subjects, cfg_dict, folder, key, jobs, index, threads, progress, desc = args
    cfg = LosoConfig(**cfg_dict)
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        folds = [Fold(s, cfg.seed, fold_seed(cfg.seed, s)) for s in jobs]
        model = BatchedSTST(images, labels, subjects, folds, lr=cfg.lr)
        state_file = Path(folder) / f"batched_state_{index}.pt" if folder is not None else None
        tag = {"key": key, "jobs": list(jobs)}
        if state_file is not None and state_file.is_file():
            saved = read_resume_state(state_file)
            if saved["tag"] == tag and saved["state"]["epoch"] <= cfg.epochs:
                model.load_state(saved["state"])
        bar = tqdm(
            total=cfg.epochs, initial=model.epoch, desc=f"{desc} ({len(jobs)} folds)", disable=not progress, leave=False
        )
        while model.epoch < cfg.epochs:
            model.step()
            bar.update()
            if state_file is not None and model.epoch % CHECKPOINT_EPOCHS == 0 and model.epoch < cfg.epochs:
                buf = io.BytesIO()
                torch.save({"tag": tag, "state": model.state()}, buf)
                atomic_write_bytes(state_file, buf.getvalue())
        bar.close()
        return dict(zip(jobs, model.predict()))
    finally:
        torch.set_num_threads(old)


def read_resume_state(path: Path) -> dict:
    """A batched LOSO share's resume state (``batched_state_<share>.pt``), read weights-only.

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    dict
        ``tag`` (cache key and held-out subjects) and ``state`` (:meth:`BatchedSTST.state`).

    Raises
    ------
    ValueError
        One line naming the file: not a torch file, one holding objects the safe loader refuses
        (no code in it runs), or not a resume state; delete it to start the share afresh.
    """
    from faceflow.runtime import load_weights_file

    what = "LOSO resume state"
    try:
        saved = load_weights_file(path, what)
    except ValueError as exc:
        raise ValueError(f"{exc}; delete it to train this share from the start") from None
    state = saved.get("state") if isinstance(saved, dict) else None
    if not isinstance(state, dict) or not isinstance(saved.get("tag"), dict) or not isinstance(state.get("epoch"), int):
        raise ValueError(f"{path}: not a {what} (tag and state); delete it to train this share from the start")
    return saved


_POOLS: dict = {}


def shutdown_pools() -> None:
    """Stop the reusable worker pools (registered with :mod:`atexit`).

    Returns
    -------
    None
    """
    while _POOLS:
        _, pool = _POOLS.popitem()
        pool.shutdown(wait=True, cancel_futures=True)


def _pool(workers: int):
    """A process pool of ``workers`` spawned workers, kept for reuse (starting one imports torch)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = _POOLS.get(workers)
    if pool is None or getattr(pool, "_broken", False):
        if not _POOLS:
            import atexit

            atexit.register(shutdown_pools)
        pool = _POOLS[workers] = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    return pool


def _fold_job(args):
    """Train one fold and predict its test images (runs in the caller or in a worker process)."""
    import torch

    from faceflow.mer.stst import images_to_input

    train_imgs, train_labels, test_imgs, cfg_dict, seed = args
    cfg = LosoConfig(**cfg_dict)
    old = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        t0 = time.perf_counter()
        # channels-last memory is markedly faster for this network on CPU (same values)
        x = images_to_input(train_imgs).to(cfg.device).contiguous(memory_format=torch.channels_last)
        y = torch.from_numpy(np.asarray(train_labels)).to(cfg.device)
        model = train_fold(x, y, cfg, seed)
        with torch.no_grad():
            xt = images_to_input(test_imgs).to(cfg.device).contiguous(memory_format=torch.channels_last)
            pred = model(xt).argmax(1).cpu().numpy()
        return pred, time.perf_counter() - t0
    finally:
        torch.set_num_threads(old)


def run_protocols(
    ds: MERSet,
    protocols: dict,
    seeds: Sequence[int],
    cfg: LosoConfig,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    max_folds: int | None = None,
):
    """:func:`run_loso` for each protocol (name -> source datasets) and seed.

    Parameters
    ----------
    ds : MERSet
        All samples.
    protocols : dict
        Protocol name -> source datasets.
    seeds : sequence of int
        Run seeds.
    cfg : LosoConfig
        Training settings (its seed is replaced by each of ``seeds``).
    out_dir : path-like, optional
        Cache root: ``<out_dir>/<protocol>/seed<k>/``.
    progress : bool
        Show progress bars.
    max_folds : int, optional
        Hold out only the first that many subjects of each protocol (smoke runs).

    Returns
    -------
    pandas.DataFrame
        The concatenated predictions of :func:`run_loso` with column ``protocol`` added.
    """
    import pandas as pd

    parts = []
    for pname, sources in protocols.items():
        sub = ds.subset(sources)
        subjects = list(dict.fromkeys(sub.subjects.tolist()))[:max_folds] if max_folds else None
        for seed in seeds:
            c = LosoConfig(**{**asdict(cfg), "seed": int(seed)})
            folder = Path(out_dir) / slug(pname) / f"seed{seed}" if out_dir is not None else None
            p = run_loso(sub, c, folder, progress, subjects, desc=f"{ds.method} {pname} seed {seed}")
            p["protocol"] = pname
            parts.append(p)
    return pd.concat(parts, ignore_index=True)


#: The paper's three training protocols (Sec. 4.4.2): name -> source datasets.
PROTOCOLS = {"SAMM": ["samm"], "SMIC": ["smic"], "SAMM+SMIC": ["samm", "smic"]}


#: Flow methods of the paper's Tables 5-6 and the registry names that provide them.
PAPER_METHODS = {
    "TVL1": "tvl1",
    "Exp1": "Exp1",
    "Exp2I": "Exp2I",
    "Exp2II": "Exp2II",
    "Exp3I": "Exp3I",
    "Exp3II": "Exp3II",
    "Farneback": "farneback",
    "FlowNet2.0": "FlowNet2.0",
    "FlowNet3.0-CSS": "FlowNet3.0-CSS",
    "LiteFlowNet": "LiteFlowNet",
    "PWC-Net": "PWC-Net",
}


def real_tvl1_experiment(
    root=None,
    seeds: Sequence[int] = (0,),
    cfg: LosoConfig | None = None,
    out_dir=None,
    progress: bool = True,
    max_folds: int | None = None,
    protocols: dict | None = None,
):
    """The "TVL1" rows of Tables 5-6: STSTNet from scratch on the real STSTNet images.

    Parameters
    ----------
    root : path-like, optional
        Data root holding ``mer/stst_uvos``.
    seeds, cfg, progress, max_folds
        See :func:`run_protocols`.
    out_dir : path-like, optional
        Cache root (``<out_dir>/tvl1_real``).
    protocols : dict, optional
        Default :data:`PROTOCOLS`.

    Returns
    -------
    predictions : pandas.DataFrame
    summary : pandas.DataFrame
        :func:`faceflow.mer.metrics.summarize` of the predictions.
    """
    ds = from_stst_images(root)
    out = Path(out_dir) / "tvl1_real" if out_dir is not None else None
    preds = run_protocols(ds, protocols or PROTOCOLS, seeds, cfg or LosoConfig(), out, progress, max_folds)
    return preds, summarize(preds)


def generated_experiment(
    samples: Sequence,
    methods: Sequence[str],
    seeds: Sequence[int] = (0,),
    cfg: LosoConfig | None = None,
    out_dir=None,
    progress: bool = True,
    max_folds: int | None = None,
    protocols: dict | None = None,
    tag: str = "generated",
):
    """The LOSO protocol for each flow method on onset/apex samples (by default the generated set).

    With real samples (:func:`faceflow.mer.data.real_samples`) pass ``protocols=PROTOCOLS`` and
    another ``tag`` (the cache sub-folder).

    Parameters
    ----------
    samples : sequence
        Onset/apex samples (:class:`faceflow.mer.data.MESample`).
    methods : sequence of str
        Registered flow methods.
    seeds, cfg, progress, max_folds
        See :func:`run_protocols`.
    out_dir : path-like, optional
        Cache root (``<out_dir>/<tag>/``: features and predictions).
    protocols : dict, optional
        Default ``{"generated": ["generated"]}``.
    tag : str
        Cache sub-folder; ``"generated"`` marks the features as generated.

    Returns
    -------
    predictions : pandas.DataFrame
        With a ``method`` column.
    summary : pandas.DataFrame
        Indexed by (method, protocol, seed).
    feature_seconds : dict
        Seconds spent on the features of each method.
    """
    import pandas as pd

    protocols = protocols or {"generated": ["generated"]}
    out = Path(out_dir) / tag if out_dir is not None else None
    preds, sums, feat_secs = [], [], {}
    for m in methods:
        t0 = time.perf_counter()
        ds = generated_features(samples, m, out / "features" if out is not None else None, progress)
        ds.kind = "generated" if tag == "generated" else "real"
        feat_secs[m] = time.perf_counter() - t0
        p = run_protocols(
            ds, protocols, seeds, cfg or LosoConfig(), out / slug(m) if out is not None else None, progress, max_folds
        )
        p["method"] = m
        s = summarize(p).reset_index()
        s["method"] = m
        preds.append(p)
        sums.append(s)
    summary = pd.concat(sums, ignore_index=True).set_index(["method", "protocol", "seed"])
    return pd.concat(preds, ignore_index=True), summary, feat_secs
