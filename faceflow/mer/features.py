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
from faceflow.io.datasets import stst_samples
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
        """Samples of the given source datasets (e.g. ``["samm", "smic"]``) and/or a boolean mask."""
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
        with np.load(path, allow_pickle=False) as z:
            info = json.loads(str(z["info"]))
            return cls(
                z["images"],
                z["labels"],
                z["subjects"],
                z["datasets"],
                z["names"],
                info["method"],
                info["kind"],
                info.get("meta", {}),
            )


def from_stst_images(root: str | os.PathLike | None = None) -> MERSet:
    """The 442 published STSTNet images (TV-L1 features of the MEGC 2019 composite set)."""
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


def pair_features(onset: np.ndarray, apex: np.ndarray, method: str, **params) -> np.ndarray:
    """STSTNet image of one onset/apex pair: flow by ``method`` (:mod:`faceflow.methods`)."""
    return stst_image(estimate_flow(method, onset, apex, **params))


def from_pairs(samples: Sequence, method: str, kind: str = "real", progress: bool = False, **params) -> MERSet:
    """Features of onset/apex pairs with any registered flow method.

    ``samples`` are objects with ``name, subject, dataset, label`` and a ``load()`` returning the
    (onset, apex) RGB uint8 frames, cropped to the face (e.g. :class:`faceflow.mer.data.MESample`).
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
    """``s`` with every character that is not a letter or digit replaced by ``_`` (a file name)."""
    return "".join(ch if ch.isalnum() else "_" for ch in s)


def flow_methods(exclude: Sequence[str] = ("zero",)) -> list[str]:
    """Registered flow methods usable for features (the zero field carries no information)."""
    return [m for m in available_methods() if m not in set(exclude)]


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
