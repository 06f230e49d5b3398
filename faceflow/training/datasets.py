"""Torch datasets for training and testing FlowNetS (Sec. 4.3): faces, FlyingChairs, Sintel, shapes.

* **Faces**: the output of ``faceflow gt`` (:func:`faceflow.groundtruth.dataset.read_manifest`),
  split by :mod:`faceflow.groundtruth.splits` so that subjects (or, with fewer than three subjects,
  sequences) stay apart, as the paper does.
* **FlyingChairs / MPI-Sintel**: on top of :func:`faceflow.io.datasets.chairs_pairs` and
  :func:`faceflow.io.datasets.sintel_pairs` (real and sample layouts).
* **Flying shapes** (generated, always labelled so, :func:`faceflow.flow.synthetic.flying_shapes_pair`):
  the stand-in for the FlyingChairs training set when the real release is absent.

Every dataset yields dicts ``{"img1": (3, H, W) float in [0, 1], "img2": ..., "flow": (2, H, W)
float pixels, "mask": (1, H, W) float, 1 where the ground truth is defined, "name": str}`` resized
to a common ``size`` (the flow's u and v rescaled by the width and height ratios, so it stays in
pixels of the resized image; the mask by :func:`faceflow.flow.fields.resize_mask`). Ground truth
defined everywhere (shapes, Chairs, Sintel) has a mask of ones.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from faceflow.flow.fields import resize_flow, resize_mask
from faceflow.flow.synthetic import flying_shapes_pair
from faceflow.groundtruth.dataset import manifest_refs, read_manifest
from faceflow.groundtruth.splits import FaceSplit, SplitOptions, evenly_spaced
from faceflow.io.datasets import DataNotFoundError, FlowPair, FlowPairRef, chairs_pairs, locate, sintel_pairs

#: Label used wherever flying-shapes data stands in for a real dataset.
SHAPES_LABEL = "flying shapes (generated stand-in for FlyingChairs)"


def resize_pair(pair: FlowPair, size: tuple[int, int] | None) -> FlowPair:
    """Resize both frames (bilinear) and the flow (bilinear, values rescaled) to ``size`` = (H, W)."""
    import cv2

    if size is None or tuple(pair.img1.shape[:2]) == tuple(size):
        return pair
    h, w = pair.img1.shape[:2]
    hh, ww = size
    a = cv2.resize(pair.img1, (ww, hh), interpolation=cv2.INTER_AREA if hh < h else cv2.INTER_LINEAR)
    b = cv2.resize(pair.img2, (ww, hh), interpolation=cv2.INTER_AREA if hh < h else cv2.INTER_LINEAR)
    flow = None if pair.flow is None else resize_flow(pair.flow, (hh, ww))
    mask = None if pair.mask is None else resize_mask(pair.mask, (hh, ww))
    return FlowPair(pair.name, a, b, flow, pair.source, mask)


def valid_mask(pair: FlowPair) -> np.ndarray:
    """The pair's valid mask, all True when its ground truth is defined everywhere (``mask`` None)."""
    if pair.mask is not None:
        return np.asarray(pair.mask, bool)
    return np.ones(pair.img1.shape[:2], bool)


def pair_to_sample(pair: FlowPair) -> dict:
    def img(x):
        return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1).float() / 255.0

    if pair.flow is None:
        raise ValueError(f"{pair.name}: no ground-truth flow")
    return {
        "img1": img(pair.img1),
        "img2": img(pair.img2),
        "flow": torch.from_numpy(np.ascontiguousarray(pair.flow, dtype=np.float32)).permute(2, 0, 1),
        "mask": torch.from_numpy(valid_mask(pair)).float().unsqueeze(0),
        "name": pair.name,
    }


class PairDataset(Dataset):
    """Pairs read from :class:`~faceflow.data.FlowPairRef` (or given :class:`FlowPair`), resized.

    cache : keep decoded, resized samples in memory (the datasets of the book are small).
    """

    def __init__(self, items: list, size: tuple[int, int] | None = None, cache: bool = True, label: str = ""):
        self.items = list(items)
        self.size = tuple(size) if size is not None else None
        self.cache = {} if cache else None
        self.label = label

    def __len__(self) -> int:
        return len(self.items)

    def pair(self, i: int) -> FlowPair:
        """The i-th pair at its native size (numpy)."""
        it = self.items[i]
        return it.load() if isinstance(it, FlowPairRef) else it

    def fingerprint(self) -> tuple | None:
        """What the samples are made of: the size and, per pair, each file's path, size and
        modification time; None when a pair is held in memory (nothing on disk to compare).

        Two datasets with equal fingerprints give the same samples, so a
        :class:`TensorBank` made from one serves the other (:func:`bank_for`).
        """
        key = [self.size]
        for it in self.items:
            if not isinstance(it, FlowPairRef):
                return None
            for path in (it.img1, it.img2, it.flow, it.mask):
                if path is None:
                    key.append(None)
                    continue
                st = os.stat(path)
                key.append((str(path), st.st_size, st.st_mtime_ns))
        return tuple(key)

    def __getitem__(self, i: int) -> dict:
        # the cache keeps the resized uint8 frames (4x smaller than float tensors)
        if self.cache is not None and i in self.cache:
            return pair_to_sample(self.cache[i])
        p = resize_pair(self.pair(i), self.size)
        if self.cache is not None:
            self.cache[i] = p
        return pair_to_sample(p)


def face_datasets(
    dst, size, split: SplitOptions | None = None, max_pairs: dict | None = None
) -> tuple[dict, FaceSplit]:
    """``{"train", "val", "test", "held_out"}`` :class:`PairDataset` s from a ``faceflow gt`` folder.

    Parameters
    ----------
    dst : path-like
        A ``faceflow gt`` output folder.
    size : (H, W) or None
        Size the pairs are resized to (None: native).
    split : SplitOptions, optional
        How the manifest is split (default options when None).
    max_pairs : dict, optional
        Cap per split (evenly spaced pairs are kept), for the small profiles.

    Returns
    -------
    (dict, FaceSplit)
        ``held_out`` holds the pairs in no split (the held-out sequences or the subject table's
        ``cross`` people; empty when there are none).
    """
    split_ = (split or SplitOptions()).split(read_manifest(dst, usable_only=True, absolute=True))
    out = {}
    for name in ("train", "val", "test", "held_out"):
        rows = getattr(split_, name)
        refs = evenly_spaced(manifest_refs(rows) if rows is not None else [], (max_pairs or {}).get(name))
        out[name] = PairDataset(refs, size, label=f"faces ({name.replace('_', '-')})")
    return out, split_


def face_source_dataset(dst, sequences: list[str] | None, size, max_pairs: int | None = None) -> PairDataset:
    """All usable pairs of the named sequences (every sequence when None), e.g. a held-out source."""
    df = read_manifest(dst, usable_only=True, absolute=True)
    if sequences is not None:
        names = set(sequences) | {os.path.splitext(s)[0] for s in sequences}
        df = df[[s in names or os.path.splitext(s)[0] in names for s in df["sequence"]]]
    if df.empty:
        raise DataNotFoundError(f"no usable pairs of sequences {sequences} in {Path(dst) / 'manifest.csv'}")
    label = f"{Path(dst).name} (held-out source)" if sequences is not None else f"{Path(dst).name} (all sequences)"
    return PairDataset(evenly_spaced(manifest_refs(df), max_pairs), size, label=label)


def chairs_dataset(root=None, size=None, split: str | None = None) -> PairDataset:
    """FlyingChairs pairs (one split of the real release, or the sample pairs) as a dataset."""
    return PairDataset(chairs_pairs(root, split), size, label="FlyingChairs")


def chairs_is_full_release(root=None) -> bool:
    """True when the real FlyingChairs release (more than 100 ``*_img1.ppm`` pairs) is under the root."""
    folder = locate("chairs", root)
    return folder is not None and len(list(folder.glob("*_img1.ppm"))) > 100


def sintel_dataset(
    root=None, size=None, passes=("clean",), scenes: list[str] | None = None, exclude_scenes: list[str] | None = None
) -> PairDataset:
    """Sintel pairs of the given passes, optionally only some scenes, as a dataset."""
    refs = []
    for p in passes:
        refs += sintel_pairs(root, p)
    if scenes is not None:
        refs = [r for r in refs if r.name.split("/")[0] in scenes]
    if exclude_scenes:
        refs = [r for r in refs if r.name.split("/")[0] not in exclude_scenes]
    if not refs:
        raise DataNotFoundError(f"no Sintel pairs left for scenes={scenes} exclude={exclude_scenes}")
    return PairDataset(refs, size, label="MPI-Sintel")


def sintel_scenes(root=None) -> list[str]:
    """Names of the Sintel scenes with ground truth under the root."""
    return sorted({r.name.split("/")[0] for r in sintel_pairs(root, "clean")})


class FlyingShapes(Dataset):
    """``n`` generated flying-shapes pairs of ``size``; pair i is generated from ``seed + i``."""

    def __init__(self, n: int, size=(384, 512), seed: int = 0, cache: bool = True, **kwargs):
        self.n, self.size, self.seed, self.kwargs = int(n), tuple(size), int(seed), kwargs
        self.cache = {} if cache else None
        self.label = SHAPES_LABEL

    def __len__(self) -> int:
        return self.n

    def pair(self, i: int) -> FlowPair:
        if not 0 <= i < self.n:
            raise IndexError(i)
        return flying_shapes_pair(self.seed + i, self.size, **self.kwargs)

    def __getitem__(self, i: int) -> dict:
        if self.cache is not None and i in self.cache:
            return pair_to_sample(self.cache[i])
        p = self.pair(i)
        if self.cache is not None:
            self.cache[i] = p
        return pair_to_sample(p)


class TensorBank:
    """Every sample of a dataset held as tensors, so that a batch is one indexing operation.

    Frames are kept as uint8 ``(N, 3, H, W)`` (a quarter of the float size) and turned into
    floats in ``[0, 1]`` per batch, exactly as :func:`pair_to_sample` does per sample; flows are
    float32 ``(N, 2, H, W)``, valid masks bool ``(N, 1, H, W)``. Made by
    :func:`faceflow.training.loop.train`.
    """

    def __init__(self, img1: torch.Tensor, img2: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor | None = None):
        if not (len(img1) == len(img2) == len(flow)) or img1.dtype != torch.uint8 or img2.dtype != torch.uint8:
            raise ValueError("TensorBank needs uint8 frames and flows of the same length")
        if mask is None:
            mask = torch.ones((len(flow), 1, *flow.shape[-2:]), dtype=torch.bool)
        if mask.shape != (len(flow), 1, *flow.shape[-2:]) or mask.dtype != torch.bool:
            raise ValueError("TensorBank needs bool masks of shape (N, 1, H, W)")
        self.img1, self.img2, self.flow, self.mask = img1, img2, flow, mask

    def __len__(self) -> int:
        return len(self.flow)

    @classmethod
    def from_dataset(cls, ds) -> TensorBank:
        """Load every sample of ``ds``: its ``pair(i)`` resized to ``ds.size`` (what ``ds[i]`` holds), uncached."""
        n = len(ds)
        if n == 0:
            raise ValueError("empty dataset")
        size = getattr(ds, "size", None)
        img1 = img2 = flow = mask = None
        for i in range(n):
            p = resize_pair(ds.pair(i), size)
            if p.flow is None:
                raise ValueError(f"{p.name}: no ground-truth flow")
            if img1 is None:
                h, w = p.img1.shape[:2]
                img1 = torch.empty((n, 3, h, w), dtype=torch.uint8)
                img2 = torch.empty((n, 3, h, w), dtype=torch.uint8)
                flow = torch.empty((n, 2, h, w), dtype=torch.float32)
                mask = torch.empty((n, 1, h, w), dtype=torch.bool)
            if p.img1.shape[:2] != tuple(img1.shape[-2:]):
                raise ValueError(f"{p.name} is {p.img1.shape[:2]}, the first pair {tuple(img1.shape[-2:])}")
            img1[i] = torch.from_numpy(np.ascontiguousarray(p.img1)).permute(2, 0, 1)
            img2[i] = torch.from_numpy(np.ascontiguousarray(p.img2)).permute(2, 0, 1)
            flow[i] = torch.from_numpy(np.ascontiguousarray(p.flow, dtype=np.float32)).permute(2, 0, 1)
            mask[i, 0] = torch.from_numpy(valid_mask(p))
        return cls(img1, img2, flow, mask)

    def batch(self, idx) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(img1, img2, flow, mask)`` of the samples ``idx``: float frames in [0, 1], flow in
        pixels, the valid mask as float (1 where the ground truth is defined)."""
        idx = torch.as_tensor(list(idx), dtype=torch.long)
        return self.img1[idx].float() / 255.0, self.img2[idx].float() / 255.0, self.flow[idx], self.mask[idx].float()


#: The :class:`TensorBank` objects made last by :func:`bank_for`, by the fingerprint of their dataset
#: (oldest first).
_BANKS: dict = {}
#: How many banks :func:`bank_for` keeps: chapter 02 trains on faces, then on flying shapes and
#: Sintel, then on faces again (the masked loss); three banks keep the face bank through that.
BANKS_KEPT = 3


def bank_for(ds) -> TensorBank:
    """A :class:`TensorBank` of ``ds``, reusing one made earlier when ``ds`` has its fingerprint.

    A chapter trains several runs on one training set (seeds, loss variants, Exp2 and Exp3); each
    run would otherwise decode every pair again. The last :data:`BANKS_KEPT` banks are kept (each
    holds its training set's pairs in memory); the least recently used goes first. A dataset
    without a fingerprint (pairs in memory, generated sets) gets a new bank each time.

    Parameters
    ----------
    ds : PairDataset or any dataset with ``pair(i)`` and ``size``

    Returns
    -------
    TensorBank
        Shared with earlier calls: treat it as read-only.
    """
    key = ds.fingerprint() if hasattr(ds, "fingerprint") else None
    if key is not None and key in _BANKS:
        _BANKS[key] = _BANKS.pop(key)  # most recently used last
        return _BANKS[key]
    while _BANKS and len(_BANKS) >= BANKS_KEPT:
        _BANKS.pop(next(iter(_BANKS)))  # free the oldest before making the new one
    bank = TensorBank.from_dataset(ds)
    if key is not None:
        _BANKS[key] = bank
    return bank
