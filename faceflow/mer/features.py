"""STSTNet features of micro-expression samples (Sec. 4.4.1) and the :class:`MERSet` that holds them.

Build a set from the published STSTNet images (:func:`from_stst_images`) or from onset/apex
frame pairs with any registered flow method (:func:`from_pairs`, :func:`generated_features`).
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceflow.flow.strain import stst_image
from faceflow.io.atomic import atomic_write_bytes
from faceflow.io.datasets import DATASETS, locate, stst_samples
from faceflow.io.images import read_image
from faceflow.mer.metrics import LABELS
from faceflow.methods.registry import available_methods, estimate_flow


@dataclass
class MERSet:
    """STSTNet feature images with their label, subject and source dataset.

    ``images`` are (N, 28, 28, 3) uint8 RGB ``(u, v, |e|)`` images (:func:`faceflow.flow.strain.stst_image`).
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

    def subset(self, datasets: str | Iterable[str] | None = None, mask=None) -> MERSet:
        """Samples of the given source datasets (e.g. ``["samm", "smic"]``) and/or a boolean mask.

        Parameters
        ----------
        datasets : str or iterable of str, optional
            Source datasets to keep.
        mask : array-like of bool, optional
            Samples to keep.

        Returns
        -------
        MERSet

        Raises
        ------
        ValueError
            A dataset that is not in this set.
        """
        keep = np.ones(len(self), bool) if mask is None else np.asarray(mask, bool)
        if datasets is not None:
            ds = [datasets] if isinstance(datasets, str) else list(datasets)
            unknown = set(ds) - set(self.datasets.tolist())
            if unknown:
                raise ValueError(f"datasets {sorted(unknown)} not in this set ({sorted(set(self.datasets))})")
            keep &= np.isin(self.datasets, ds)
        return MERSet(
            self.images[keep],
            self.labels[keep],
            self.subjects[keep],
            self.datasets[keep],
            self.names[keep],
            self.method,
            self.kind,
            dict(self.meta),
        )

    def table(self):
        """Samples as a DataFrame.

        Returns
        -------
        pandas.DataFrame
            Columns name, dataset, subject, label.
        """
        import pandas as pd

        return pd.DataFrame(dict(name=self.names, dataset=self.datasets, subject=self.subjects, label=self.labels))

    def summary(self):
        """Samples, subjects and class counts per source dataset.

        Returns
        -------
        pandas.DataFrame
            Index dataset; columns samples, subjects, ``class 0`` .. ``class 2``.
        """
        t = self.table()
        g = t.groupby("dataset")
        out = g.agg(samples=("name", "size"), subjects=("subject", "nunique"))
        for lab in LABELS:
            out[f"class {lab}"] = g["label"].apply(lambda s, lab=lab: int((s == lab).sum()))
        return out

    def save(self, path: str | os.PathLike) -> None:
        """Write to one ``.npz`` (atomically).

        Parameters
        ----------
        path : path-like
            Destination file.
        """
        import io

        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            images=self.images,
            labels=self.labels,
            subjects=self.subjects,
            datasets=self.datasets,
            names=self.names,
            info=json.dumps(dict(method=self.method, kind=self.kind, meta=self.meta)),
        )
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | os.PathLike) -> MERSet:
        """Read a set written by :meth:`save`.

        Parameters
        ----------
        path : path-like
            An ``.npz`` file.

        Returns
        -------
        MERSet

        Raises
        ------
        ValueError
            Not a feature set written by :meth:`save` (pickled objects are never loaded).
        """
        from faceflow.io.arrays import load_npz

        z = load_npz(path, "MER feature set")
        need = ("info", "images", "labels", "subjects", "datasets", "names")
        if set(need) - set(z):
            raise ValueError(f"{path}: not a MER feature set (entries {', '.join(need)})")
        try:
            info = json.loads(str(z["info"]))
            method, kind = info["method"], info["kind"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a MER feature set (bad info entry: {exc})") from None
        return cls(
            z["images"], z["labels"], z["subjects"], z["datasets"], z["names"], method, kind, info.get("meta", {})
        )


def from_stst_images(root: str | os.PathLike | None = None) -> MERSet:
    """The 442 published STSTNet images (TV-L1 features of the MEGC 2019 composite set).

    Parameters
    ----------
    root : path-like, optional
        Data root holding ``mer/stst_uvos``.

    Returns
    -------
    MERSet
        ``method="tvl1"``, ``kind="real"``.

    Raises
    ------
    faceflow.io.datasets.DataNotFoundError
        The images or ``labels.csv`` are absent.
    """
    df = stst_samples(root)
    images = np.stack([read_image(p) for p in df["path"]])
    return MERSet(
        images,
        df["label"].to_numpy(),
        df["subject"].to_numpy(),
        df["dataset"].to_numpy(),
        df["file"].str.replace(".png", "", regex=False).to_numpy(),
        "tvl1",
        "real",
        dict(source="STSTNet authors' images (mer/stst_uvos)"),
    )


@dataclass
class RealFeatures:
    """The published real features (:func:`from_stst_images`) and their per-dataset summary.

    ``data`` and ``table`` are None, and ``missing`` says why, when the images are absent.
    """

    data: MERSet | None = None
    table: object = None
    missing: dict[str, str] = field(default_factory=dict)


def real_feature_summary(root: str | os.PathLike | None = None) -> RealFeatures:
    """Samples, subjects and class counts per dataset of the published STSTNet images.

    Parameters
    ----------
    root : path-like, optional
        Data root holding ``mer/stst_uvos``.

    Returns
    -------
    RealFeatures
        ``missing`` names the images when they are absent (checked with
        :func:`faceflow.io.datasets.locate`).
    """
    if locate("stst_images", root) is None:
        return RealFeatures(missing={DATASETS["stst_images"].label: DATASETS["stst_images"].hint})
    ds = from_stst_images(root)
    return RealFeatures(ds, ds.summary())


def pair_features(onset: np.ndarray, apex: np.ndarray, method: str, **params) -> np.ndarray:
    """STSTNet image of one onset/apex pair: flow by ``method`` (:mod:`faceflow.methods`).

    Parameters
    ----------
    onset, apex : numpy.ndarray
        (H, W, 3) uint8 RGB frames.
    method : str
        Registered flow method.
    **params
        Passed to the method.

    Returns
    -------
    numpy.ndarray
        (28, 28, 3) uint8 RGB ``(u, v, |e|)`` image.
    """
    return stst_image(estimate_flow(method, onset, apex, **params))


def from_pairs(samples: Sequence, method: str, kind: str = "real", progress: bool = False, **params) -> MERSet:
    """Features of onset/apex pairs with any registered flow method.

    ``samples`` are objects with ``name, subject, dataset, label`` and a ``load()`` returning the
    (onset, apex) RGB uint8 frames, cropped to the face (e.g. :class:`faceflow.mer.data.MESample`).

    Parameters
    ----------
    samples : sequence
        The samples.
    method : str
        Registered flow method.
    kind : str
        ``"real"`` or ``"generated"``.
    progress : bool
        Show a progress bar.
    **params
        Passed to the flow method.

    Returns
    -------
    MERSet

    Raises
    ------
    ValueError
        No samples.
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


def slug(s: str) -> str:
    """``s`` with every character that is not a letter or digit replaced by ``_`` (a file name).

    Parameters
    ----------
    s : str

    Returns
    -------
    str
    """
    return "".join(ch if ch.isalnum() else "_" for ch in s)


def flow_methods(exclude: Sequence[str] = ("zero",)) -> list[str]:
    """Registered flow methods usable for features (the zero field carries no information).

    Parameters
    ----------
    exclude : sequence of str
        Registry names to leave out.

    Returns
    -------
    list of str
        Sorted registry names.
    """
    return [m for m in available_methods() if m not in set(exclude)]


@dataclass
class FlowMethods:
    """The flow methods MER features can use: ``methods`` (registry names), ``ours`` (FlowNetS
    runs registered), ``runs`` (the runs folder they came from) and ``missing`` (why the FlowNetS
    runs or the paper's CNNs are not among them)."""

    methods: list[str]
    ours: list[str]
    runs: Path | None
    missing: dict[str, str] = field(default_factory=dict)


def register_flow_methods(runs_root: str | os.PathLike | None, device: str = "cpu") -> FlowMethods:
    """Register our trained FlowNetS runs; list all methods, and why the paper's CNNs are missing.

    The FlowNetS runs come from the first training set under ``runs_root`` (runs trained on
    faces first, the paper's networks, then the others by name) that holds at least one
    ``<experiment>/last.pt``; the paper's CNNs do not run here
    (:func:`faceflow.methods.pretrained.paper_cnn_status`).

    Parameters
    ----------
    runs_root : path-like, optional
        The profile's ``runs`` folder (``outputs/<profile>/runs``).
    device : str
        Torch device the networks run on.

    Returns
    -------
    FlowMethods
        ``methods`` is :func:`flow_methods` after registration.
    """
    from faceflow.methods.flownets_checkpoints import register_checkpoints
    from faceflow.methods.pretrained import paper_cnn_status

    runs_root = Path(runs_root) if runs_root is not None else None
    ours, source, missing = [], None, {}
    if runs_root is not None and runs_root.is_dir():
        # prefer the runs trained on faces (the paper's networks)
        for d in sorted((p for p in runs_root.iterdir() if p.is_dir()), key=lambda p: ("face" not in p.name, p.name)):
            ours = register_checkpoints(d, device=device)
            if ours:
                source = d
                break
    if not ours:
        missing["FlowNetS runs"] = f"no trained run (<train set>/<experiment>/last.pt) under {runs_root}."
    absent = [st for st in paper_cnn_status() if not st.available]
    if absent:
        why = "; ".join(sorted({st.reason.split(". ")[0] for st in absent}))
        names = ", ".join(st.name for st in absent)
        missing[f"Paper CNNs ({names})"] = why + " (chapter 04 says where each comes from)."
    return FlowMethods(flow_methods(), ours, source, missing)


def _samples_key(samples: Sequence) -> int:
    """CRC of the samples' names, labels and frames (pixels in memory, else file paths)."""
    crc = 0
    for s in samples:
        crc = zlib.crc32(f"{s.name}|{s.subject}|{s.label}".encode(), crc)
        for f in (s.onset, s.apex):
            crc = zlib.crc32(f.tobytes() if isinstance(f, np.ndarray) else str(f).encode(), crc)
    return crc


def generated_features(samples: Sequence, method: str, cache_dir=None, progress: bool = False) -> MERSet:
    """:func:`from_pairs` with ``method``, cached in ``cache_dir``.

    The cache file is ``<method>_<n>_<crc>.npz``, the CRC over the samples' names, labels and
    frames, so changed samples are recomputed.

    Parameters
    ----------
    samples : sequence
        Onset/apex samples (see :func:`from_pairs`).
    method : str
        Registered flow method.
    cache_dir : path-like, optional
        Cache folder; None computes without caching.
    progress : bool
        Show a progress bar.

    Returns
    -------
    MERSet
    """
    path = (
        Path(cache_dir) / f"{slug(method)}_{len(samples)}_{_samples_key(samples):08x}.npz"
        if cache_dir is not None
        else None
    )
    if path is not None and path.is_file():
        ds = MERSet.load(path)
        if list(ds.names) == [s.name for s in samples]:
            return ds
    ds = from_pairs(samples, method, kind="generated", progress=progress)
    if path is not None:
        ds.save(path)
    return ds
