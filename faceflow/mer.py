"""Micro-expression recognition (paper Sec. 4.4.2 / 5.3): datasets, LOSO training, metrics.

* :class:`MERSet` holds STSTNet feature images with label, subject and source dataset; build it
  from the published STSTNet images (:func:`from_stst_images`) or from onset/apex frame pairs with
  any flow method of :mod:`faceflow.baselines` (:func:`from_pairs`).
* :func:`run_loso` trains STSTNet leave-one-subject-out as in the paper (Adam, lr 5e-5, at most
  500 epochs, seeded), one full batch per epoch, and saves each held-out subject's predictions.
* :func:`subject_metrics` / :func:`loso_metrics` / :func:`aggregate` compute Eq. (12) per
  held-out subject and average over subjects; :func:`deltas` gives the distance to each column's
  best (Tables 5-6); :func:`pooled_metrics` gives the MEGC 2019 pooled UF1 / UAR.

Metric conventions (also in ``book/choices.md``)
------------------------------------------------
A held-out subject rarely shows all three classes. ``absent`` chooses which classes enter the
macro averages of that subject:

``"present"`` (default)
    the classes with at least one true sample in the subject's test set. Recall is then always
    defined; a class that is present but never predicted has precision 0. Predictions of an
    absent class are errors (false negatives of the true class) but the absent class itself gets
    no precision/recall entry.
``"union"``
    the classes present in the ground truth or in the predictions (scikit-learn's default): a
    predicted-but-absent class counts with precision 0 and recall 0.
``"all"``
    all three classes always; an absent class has recall 0 (and precision 0 when predicted), so
    ``G_M`` is 0 for every subject missing a class.

``f1`` chooses the macro F1: ``"eq12"`` (default) is the paper's Eq. (12), the harmonic mean of
that subject's ``P_M`` and ``R_M``; ``"mean"`` is scikit-learn's mean of per-class F1 scores.
``F1_mu`` is scikit-learn's micro F1 over the same classes (equal to accuracy with ``"all"`` or
when every prediction is a present class). ``G_M`` is the geometric mean of the per-class
recalls. Per-subject values are aggregated by the **mean over subjects** (the paper's
"aggregated metric"); each subject counts once, whatever its number of samples.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

LABELS = (0, 1, 2)
METRICS = ("P_M", "R_M", "F1_M", "F1_mu", "G_M")
ABSENT_CONVENTIONS = ("present", "union", "all")


# --------------------------------------------------------------------------------------- metrics


def subject_metrics(y_true, y_pred, labels: Sequence[int] = LABELS, absent: str = "present",
                    f1: str = "eq12") -> dict:
    """Eq. (12) metrics of one held-out subject; see the module docstring for ``absent``/``f1``.

    Returns a dict with ``P_M, R_M, F1_M, F1_mu, G_M``, plus ``P_mu, R_mu, accuracy, n`` and
    ``classes`` (the classes averaged over).
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"y_true and y_pred must be equal-length non-empty 1-D, got {y_true.shape}, {y_pred.shape}")
    if absent not in ABSENT_CONVENTIONS:
        raise ValueError(f"absent must be one of {ABSENT_CONVENTIONS}, got {absent!r}")
    if f1 not in ("eq12", "mean"):
        raise ValueError(f"f1 must be 'eq12' or 'mean', got {f1!r}")
    if absent == "present":
        classes = sorted(set(y_true.tolist()))
    elif absent == "union":
        classes = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    else:
        classes = list(labels)
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    pm, rm = float(np.mean(p)), float(np.mean(r))
    p_mu, r_mu, f_mu, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=classes, average="micro", zero_division=0)
    if f1 == "eq12":
        f1m = 0.0 if pm + rm == 0 else 2 * pm * rm / (pm + rm)
    else:
        f1m = float(np.mean(f))
    gm = float(np.prod(r) ** (1.0 / len(r)))
    return dict(P_M=pm, R_M=rm, F1_M=f1m, F1_mu=float(f_mu), G_M=gm, P_mu=float(p_mu), R_mu=float(r_mu),
                accuracy=float(accuracy_score(y_true, y_pred)), n=int(len(y_true)), classes=tuple(classes))


def loso_metrics(preds, absent: str = "present", f1: str = "eq12", by: str = "subject"):
    """Per-held-out-subject metrics of a predictions table (columns ``label``, ``pred``, ``by``).

    Returns
    -------
    pandas.DataFrame
        One row per subject (index), columns of :func:`subject_metrics`.
    """
    import pandas as pd

    rows = {}
    for s, g in preds.groupby(by, sort=False):
        rows[s] = subject_metrics(g["label"], g["pred"], absent=absent, f1=f1)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = by
    return out


def aggregate(per_subject, metrics: Sequence[str] = METRICS) -> dict:
    """The paper's aggregated metric: the mean of each metric over held-out subjects."""
    return {m: float(per_subject[m].mean()) for m in metrics}


def pooled_metrics(y_true, y_pred) -> dict:
    """MEGC 2019 figures pooled over all predictions: ``accuracy``, ``UF1``, ``UAR``.

    UF1 is the mean over classes of the per-class F1, UAR the mean per-class recall, both over the
    classes present in ``y_true`` (all three on the composite set).
    """
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    classes = sorted(set(y_true.tolist()))
    return dict(
        accuracy=float(accuracy_score(y_true, y_pred)),
        UF1=float(f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)),
        UAR=float(recall_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)),
        n=int(len(y_true)),
    )


def deltas(table):
    """Distance of each entry to its column's best (maximum), as printed under Tables 5-6."""
    return (table.max(axis=0) - table).abs()


# -------------------------------------------------------------------------------------- datasets


@dataclass
class MERSet:
    """STSTNet feature images with their label, subject and source dataset.

    ``images`` are (N, 28, 28, 3) uint8 RGB ``(u, v, |e|)`` images (:func:`faceflow.strain.stst_image`).
    ``kind`` says where the features come from (``"real"`` or ``"generated"``) and ``method``
    which flow produced them.
    """

    images: np.ndarray
    labels: np.ndarray
    subjects: np.ndarray
    datasets: np.ndarray
    names: np.ndarray
    method: str = "tvl1"
    kind: str = "real"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.images = np.asarray(self.images)
        n = len(self.images)
        if self.images.ndim != 4 or self.images.shape[1:] != (28, 28, 3) or self.images.dtype != np.uint8:
            raise ValueError(f"images must be (N, 28, 28, 3) uint8, got {self.images.shape} {self.images.dtype}")
        self.labels = np.asarray(self.labels).astype(np.int64)
        self.subjects = np.asarray(self.subjects).astype(str)
        self.datasets = np.asarray(self.datasets).astype(str)
        self.names = np.asarray(self.names).astype(str)
        for k in ("labels", "subjects", "datasets", "names"):
            if len(getattr(self, k)) != n:
                raise ValueError(f"{k} has {len(getattr(self, k))} entries for {n} images")
        bad = set(self.labels.tolist()) - set(LABELS)
        if bad:
            raise ValueError(f"labels must be in {LABELS}, got {sorted(bad)}")

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, datasets: str | Iterable[str] | None = None, mask=None) -> "MERSet":
        """Samples of the given source datasets (e.g. ``["samm", "smic"]``) and/or a boolean mask."""
        keep = np.ones(len(self), bool) if mask is None else np.asarray(mask, bool)
        if datasets is not None:
            ds = [datasets] if isinstance(datasets, str) else list(datasets)
            unknown = set(ds) - set(self.datasets.tolist())
            if unknown:
                raise ValueError(f"datasets {sorted(unknown)} not in this set ({sorted(set(self.datasets))})")
            keep &= np.isin(self.datasets, ds)
        return MERSet(self.images[keep], self.labels[keep], self.subjects[keep], self.datasets[keep],
                      self.names[keep], self.method, self.kind, dict(self.meta))

    def table(self):
        """Samples as a DataFrame (name, dataset, subject, label)."""
        import pandas as pd

        return pd.DataFrame(dict(name=self.names, dataset=self.datasets, subject=self.subjects, label=self.labels))

    def summary(self):
        """Samples, subjects and class counts per source dataset."""
        t = self.table()
        g = t.groupby("dataset")
        out = g.agg(samples=("name", "size"), subjects=("subject", "nunique"))
        for lab in LABELS:
            out[f"class {lab}"] = g["label"].apply(lambda s, lab=lab: int((s == lab).sum()))
        return out

    def save(self, path: str | os.PathLike) -> None:
        """Write to one ``.npz`` (atomically)."""
        import io

        from faceflow.fileio import atomic_write_bytes

        buf = io.BytesIO()
        np.savez_compressed(buf, images=self.images, labels=self.labels, subjects=self.subjects,
                            datasets=self.datasets, names=self.names,
                            info=json.dumps(dict(method=self.method, kind=self.kind, meta=self.meta)))
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MERSet":
        with np.load(path, allow_pickle=False) as z:
            info = json.loads(str(z["info"]))
            return cls(z["images"], z["labels"], z["subjects"], z["datasets"], z["names"],
                       info["method"], info["kind"], info.get("meta", {}))


def from_stst_images(root: str | os.PathLike | None = None) -> MERSet:
    """The 442 published STSTNet images (TV-L1 features of the MEGC 2019 composite set)."""
    from faceflow.data import read_image, stst_samples

    df = stst_samples(root)
    images = np.stack([read_image(p) for p in df["path"]])
    return MERSet(images, df["label"].to_numpy(), df["subject"].to_numpy(), df["dataset"].to_numpy(),
                  df["file"].str.replace(".png", "", regex=False).to_numpy(), "tvl1", "real",
                  dict(source="STSTNet authors' images (mer/stst_uvos)"))


def pair_features(onset: np.ndarray, apex: np.ndarray, method: str, **params) -> np.ndarray:
    """STSTNet image of one onset/apex pair: flow by ``method`` (:mod:`faceflow.baselines`)."""
    from faceflow.baselines import estimate_flow
    from faceflow.strain import stst_image

    return stst_image(estimate_flow(method, onset, apex, **params))


def from_pairs(samples: Sequence, method: str, kind: str = "real", progress: bool = False,
               **params) -> MERSet:
    """Features of onset/apex pairs with any registered flow method.

    ``samples`` are objects with ``name, subject, dataset, label`` and a ``load()`` returning the
    (onset, apex) RGB uint8 frames, cropped to the face (e.g. :class:`faceflow.merdata.MESample`).
    """
    from tqdm import tqdm

    imgs, meta = [], []
    for s in tqdm(samples, desc=f"features ({method})", disable=not progress, leave=False):
        onset, apex = s.load()
        imgs.append(pair_features(onset, apex, method, **params))
        meta.append((s.name, s.subject, s.dataset, s.label))
    if not imgs:
        raise ValueError("no samples given")
    names, subjects, datasets, labels = map(np.array, zip(*meta))
    return MERSet(np.stack(imgs), labels, subjects, datasets, names, method, kind)


# ------------------------------------------------------------------------------------------- LOSO


@dataclass
class LosoConfig:
    """Training settings of one leave-one-subject-out run (paper: Adam, lr 5e-5, 500 epochs).

    Every epoch is one Adam step on the fold's whole training set (the authors' loader had batch
    size 256, which is the whole set for SAMM or SMIC alone). The model after the last epoch is
    evaluated; nothing is selected on the test subject.

    ``threads`` (torch CPU threads while training) defaults to 1: this small network gains little
    from a second thread, and OpenMP threads slow down badly when the cores are shared.
    ``workers`` > 1 trains that many folds at once in separate processes (each with ``threads``
    threads); results do not depend on it (every fold has its own seed).
    """

    epochs: int = 500
    lr: float = 5e-5
    seed: int = 0
    device: str = "cpu"
    threads: int | None = 1
    workers: int = 1

    def key(self) -> dict:
        return dict(epochs=self.epochs, lr=self.lr, seed=self.seed)


def fold_seed(seed: int, subject: str) -> int:
    """Seed of one fold: derived from the run seed and the held-out subject's name."""
    return int(np.random.SeedSequence([int(seed), zlib.crc32(str(subject).encode())]).generate_state(1)[0])


def train_fold(x_train, y_train, cfg: LosoConfig, seed: int):
    """Train a fresh STSTNet on one fold (tensors already on ``cfg.device``); returns the model."""
    import torch
    import torch.nn.functional as F

    from faceflow.stst import STSTNet

    torch.manual_seed(seed)
    model = STSTNet().to(cfg.device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    model.train()
    for _ in range(cfg.epochs):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x_train), y_train)
        loss.backward()
        opt.step()
    return model.eval()


def _cache_ok(folder: Path, key: dict) -> bool:
    f = folder / "config.json"
    return f.is_file() and json.loads(f.read_text()) == key


def run_loso(ds: MERSet, cfg: LosoConfig | None = None, out_dir: str | os.PathLike | None = None,
             progress: bool = True, subjects: Sequence[str] | None = None, desc: str = "LOSO"):
    """Leave-one-subject-out STSTNet training on ``ds``; returns the predictions table.

    Parameters
    ----------
    out_dir : path-like, optional
        Each held-out subject's predictions are written to ``out_dir/<subject>.csv`` as soon as its
        fold is done, with the settings in ``config.json``; a rerun with the same settings and
        data re-uses them (so an interrupted run resumes).
    subjects : sequence of str, optional
        Hold out only these subjects (e.g. a few folds for a smoke run).

    Returns
    -------
    pandas.DataFrame
        One row per test sample: name, dataset, subject, label, pred, seed, seconds (fold time).
    """
    import pandas as pd
    from tqdm import tqdm

    from faceflow.fileio import atomic_write_text

    cfg = cfg or LosoConfig()
    if cfg.epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {cfg.epochs}")
    if len(set(zip(ds.datasets, ds.subjects))) != len(set(ds.subjects)):
        raise ValueError("a subject name occurs in two source datasets; make subject names unique")
    all_subjects = list(dict.fromkeys(ds.subjects.tolist()))
    todo = all_subjects if subjects is None else [s for s in all_subjects if s in set(subjects)]
    if subjects is not None and len(todo) != len(set(subjects)):
        raise ValueError(f"unknown subjects: {sorted(set(subjects) - set(all_subjects))}")
    key = dict(cfg.key(), n=len(ds), method=ds.method, kind=ds.kind,
               data=zlib.crc32(ds.images.tobytes() + ds.labels.tobytes()))
    folder = Path(out_dir) if out_dir is not None else None
    if folder is not None:
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
        df = pd.DataFrame(dict(name=ds.names[test], dataset=ds.datasets[test], subject=s,
                               label=ds.labels[test], pred=pred, seed=cfg.seed, seconds=secs))
        if folder is not None:
            atomic_write_text(folder / f"{s}.csv", df.to_csv(index=False))
        parts[s] = df

    bar = tqdm(total=len(todo), initial=len(todo) - len(jobs), desc=desc, disable=not progress, leave=False)
    args = [(ds.images[ds.subjects != s], ds.labels[ds.subjects != s], ds.images[ds.subjects == s],
             asdict(cfg), fold_seed(cfg.seed, s)) for s in jobs]
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


_POOLS: dict = {}


def shutdown_pools() -> None:
    """Stop the reusable worker pools (registered with :mod:`atexit`)."""
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

    from faceflow.stst import images_to_input

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


def run_protocols(ds: MERSet, protocols: dict, seeds: Sequence[int], cfg: LosoConfig,
                  out_dir: str | os.PathLike | None = None, progress: bool = True, max_folds: int | None = None):
    """:func:`run_loso` for each protocol (name -> source datasets) and seed.

    Returns the concatenated predictions with columns ``protocol`` and ``seed`` added. With
    ``max_folds`` only the first that many subjects of each protocol are held out (smoke runs).
    """
    import pandas as pd

    parts = []
    for pname, sources in protocols.items():
        sub = ds.subset(sources)
        subjects = list(dict.fromkeys(sub.subjects.tolist()))[:max_folds] if max_folds else None
        for seed in seeds:
            c = LosoConfig(**{**asdict(cfg), "seed": int(seed)})
            folder = Path(out_dir) / _slug(pname) / f"seed{seed}" if out_dir is not None else None
            p = run_loso(sub, c, folder, progress, subjects, desc=f"{ds.method} {pname} seed {seed}")
            p["protocol"] = pname
            parts.append(p)
    return pd.concat(parts, ignore_index=True)


def _slug(s: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in s)


def summarize(preds, absent: str = "present", f1: str = "eq12"):
    """Aggregated metrics per (protocol, seed), from :func:`run_protocols` predictions.

    Returns
    -------
    pandas.DataFrame
        Index (protocol, seed); columns :data:`METRICS` plus pooled ``UF1``/``UAR``/``accuracy``.
    """
    import pandas as pd

    rows = []
    for (pname, seed), g in preds.groupby(["protocol", "seed"], sort=False):
        agg = aggregate(loso_metrics(g, absent=absent, f1=f1))
        pooled = pooled_metrics(g["label"], g["pred"])
        rows.append(dict(protocol=pname, seed=seed, **agg, UF1=pooled["UF1"], UAR=pooled["UAR"],
                         accuracy=pooled["accuracy"], folds=g["subject"].nunique(),
                         fold_seconds=float(g.groupby("subject")["seconds"].first().sum())))
    return pd.DataFrame(rows).set_index(["protocol", "seed"])


def mean_std(summary, metrics: Sequence[str] = METRICS):
    """Mean and standard deviation over seeds of a :func:`summarize` table, per protocol."""
    g = summary[list(metrics)].groupby(level="protocol", sort=False)
    return g.mean(), g.std(ddof=1).fillna(0.0)


# ------------------------------------------------------------------------------- experiments

#: The paper's three training protocols (Sec. 4.4.2): name -> source datasets.
PROTOCOLS = {"SAMM": ["samm"], "SMIC": ["smic"], "SAMM+SMIC": ["samm", "smic"]}

#: Flow methods of the paper's Tables 5-6 and the registry names that provide them.
PAPER_METHODS = {"TVL1": "tvl1", "Exp1": "Exp1", "Exp2I": "Exp2I", "Exp2II": "Exp2II", "Exp3I": "Exp3I",
                 "Exp3II": "Exp3II", "Farneback": "farneback", "FlowNet2.0": "FlowNet2.0",
                 "FlowNet3.0-CSS": "FlowNet3.0-CSS", "LiteFlowNet": "LiteFlowNet", "PWC-Net": "PWC-Net"}


def flow_methods(exclude: Sequence[str] = ("zero",)) -> list[str]:
    """Registered flow methods usable for features (the zero field carries no information)."""
    from faceflow.baselines import available_methods

    return [m for m in available_methods() if m not in set(exclude)]


def real_tvl1_experiment(root=None, seeds: Sequence[int] = (0,), cfg: LosoConfig | None = None,
                         out_dir=None, progress: bool = True, max_folds: int | None = None,
                         protocols: dict | None = None):
    """The "TVL1" rows of Tables 5-6: STSTNet from scratch on the real STSTNet images.

    Returns (predictions, :func:`summarize` table).
    """
    ds = from_stst_images(root)
    out = Path(out_dir) / "tvl1_real" if out_dir is not None else None
    preds = run_protocols(ds, protocols or PROTOCOLS, seeds, cfg or LosoConfig(), out, progress, max_folds)
    return preds, summarize(preds)


def _samples_key(samples: Sequence) -> int:
    """CRC of the samples' names, labels and frames (pixels in memory, else file paths)."""
    crc = 0
    for s in samples:
        crc = zlib.crc32(f"{s.name}|{s.subject}|{s.label}".encode(), crc)
        for f in (s.onset, s.apex):
            crc = zlib.crc32(f.tobytes() if isinstance(f, np.ndarray) else str(f).encode(), crc)
    return crc


def generated_features(samples: Sequence, method: str, cache_dir=None, progress: bool = False) -> MERSet:
    """:func:`from_pairs` of the generated set with ``method``, cached as ``<cache_dir>/<method>.npz``."""
    path = (Path(cache_dir) / f"{_slug(method)}_{len(samples)}_{_samples_key(samples):08x}.npz"
            if cache_dir is not None else None)
    if path is not None and path.is_file():
        ds = MERSet.load(path)
        if list(ds.names) == [s.name for s in samples]:
            return ds
    ds = from_pairs(samples, method, kind="generated", progress=progress)
    if path is not None:
        ds.save(path)
    return ds


def generated_experiment(samples: Sequence, methods: Sequence[str], seeds: Sequence[int] = (0,),
                         cfg: LosoConfig | None = None, out_dir=None, progress: bool = True,
                         max_folds: int | None = None, protocols: dict | None = None, tag: str = "generated"):
    """The LOSO protocol for each flow method on onset/apex samples (by default the generated set).

    With real samples (:func:`faceflow.merdata.real_samples`) pass ``protocols=PROTOCOLS`` and
    another ``tag`` (the cache sub-folder). Returns (predictions with a ``method`` column, summary
    indexed by (method, protocol, seed), feature seconds per method).
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
        p = run_protocols(ds, protocols, seeds, cfg or LosoConfig(),
                          out / _slug(m) if out is not None else None, progress, max_folds)
        p["method"] = m
        s = summarize(p).reset_index()
        s["method"] = m
        preds.append(p)
        sums.append(s)
    summary = pd.concat(sums, ignore_index=True).set_index(["method", "protocol", "seed"])
    return pd.concat(preds, ignore_index=True), summary, feat_secs


def pm_table(mean, std, digits: int = 3):
    """``mean ± std`` strings of two aligned tables."""
    out = mean.copy().astype(object)
    for c in mean.columns:
        out[c] = [f"{x:.{digits}f} ± {y:.{digits}f}" for x, y in zip(mean[c], std[c])]
    return out
