"""Torch datasets for training and testing FlowNetS (Sec. 4.3): faces, FlyingChairs, Sintel, shapes.

* **Faces**: the output of ``faceflow gt`` (``DST/manifest.csv`` with columns sequence, subject,
  pair, img1, img2, flow, status, reason, n_degenerate, mean_mag, max_mag; paths relative to
  DST; rows with status ``ok`` are usable). :func:`face_manifest` reads it and
  :func:`split_faces` makes train/val/test splits that keep subjects (or, with fewer than three
  subjects, sequences) apart, as the paper does.
* **FlyingChairs / MPI-Sintel**: torch datasets on top of :func:`faceflow.data.chairs_pairs` and
  :func:`faceflow.data.sintel_pairs` (real and sample layouts).
* **Flying shapes** (generated, always labelled so): textured shapes moving with random affine
  motions over a textured background that moves with its own affine motion, with the exact
  flow. It stands in for the FlyingChairs training set when the real release is absent.

Every dataset yields dicts ``{"img1": (3, H, W) float in [0, 1], "img2": ..., "flow": (2, H, W)
float pixels, "name": str}`` resized to a common ``size`` (the flow's u and v rescaled by the
width and height ratios, so it stays in pixels of the resized image).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from faceflow.data import DataNotFoundError, FlowPair, FlowPairRef

MANIFEST_COLUMNS = ("sequence", "subject", "pair", "img1", "img2", "flow", "status")

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
    flow = None
    if pair.flow is not None:
        flow = cv2.resize(pair.flow, (ww, hh), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        flow[..., 0] *= ww / w
        flow[..., 1] *= hh / h
    return FlowPair(pair.name, a, b, flow, pair.source)


def pair_to_sample(pair: FlowPair) -> dict:
    def img(x):
        return torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1).float() / 255.0

    if pair.flow is None:
        raise ValueError(f"{pair.name}: no ground-truth flow")
    return {"img1": img(pair.img1), "img2": img(pair.img2),
            "flow": torch.from_numpy(np.ascontiguousarray(pair.flow, dtype=np.float32)).permute(2, 0, 1),
            "name": pair.name}


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

    def __getitem__(self, i: int) -> dict:
        # the cache keeps the resized uint8 frames (4x smaller than float tensors)
        if self.cache is not None and i in self.cache:
            return pair_to_sample(self.cache[i])
        p = resize_pair(self.pair(i), self.size)
        if self.cache is not None:
            self.cache[i] = p
        return pair_to_sample(p)


# ----------------------------------------------------------------------------- faces

def face_manifest(dst: str | os.PathLike, only_ok: bool = True):
    """Read ``DST/manifest.csv`` written by ``faceflow gt``; absolute paths in img1/img2/flow.

    Returns a DataFrame of the usable (status ``ok``) rows unless ``only_ok=False``.
    """
    import pandas as pd

    dst = Path(dst)
    man = dst / "manifest.csv"
    if not man.is_file():
        raise DataNotFoundError(f"{man}: no face ground-truth manifest; run `faceflow gt` first")
    df = pd.read_csv(man, dtype={"sequence": str, "subject": str, "pair": str, "status": str})
    missing = set(MANIFEST_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"{man}: missing columns {sorted(missing)}")
    if only_ok:
        df = df[df["status"] == "ok"].copy()
    for col in ("img1", "img2", "flow"):
        df[col] = [str(dst / p) if isinstance(p, str) and p else "" for p in df[col]]
    return df.reset_index(drop=True)


def evenly_spaced(items: list, cap: int | None) -> list:
    """At most ``cap`` items, evenly spaced (first and last kept); all of them when ``cap`` is falsy."""
    if not cap or len(items) <= cap:
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, cap).round().astype(int)]


def manifest_refs(df) -> list[FlowPairRef]:
    return [FlowPairRef(f"{r.sequence}/{r.pair}", Path(r.img1), Path(r.img2), Path(r.flow), "faces")
            for r in df.itertuples()]


@dataclass
class FaceSplit:
    train: object
    val: object
    test: object
    level: str          # "subject", "sequence" or "block"
    note: str

    def sizes(self) -> dict:
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def _assign_groups(sizes: dict, fractions, seed: int) -> dict:
    """Greedy: groups in a seeded order, each to the split furthest below its target share."""
    rng = np.random.default_rng(seed)
    names = sorted(sizes)
    rng.shuffle(names)
    # largest groups first so the targets can be met; ties broken by the seeded order
    names = sorted(names, key=lambda n: -sizes[n])
    total = sum(sizes.values())
    filled = {s: 0 for s in ("train", "val", "test")}
    target = dict(zip(("train", "val", "test"), fractions))
    out = {}
    order = ["train", "test", "val"]
    for i, n in enumerate(names):
        if i < 3:  # every split gets at least one group (callers pass three or more)
            split = order[i]
        else:
            split = max(filled, key=lambda s: target[s] * total - filled[s])
        out[n] = split
        filled[split] += sizes[n]
    return out


def split_faces(df, fractions=(0.7, 0.15, 0.15), seed: int = 0, exclude: list[str] | None = None) -> FaceSplit:
    """Train/val/test splits of a face manifest that keep subjects and sequences apart.

    With at least three subjects, whole subjects go to one split (so their sequences do too).
    With fewer subjects but at least three sequences, whole sequences do (subjects may then be
    shared; the ``note`` says so). With fewer, each sequence is cut into three contiguous
    blocks in time (pairs of one block never neighbour another block's pairs except at the cut).

    exclude : sequences (exact names or names without extension) held out of all three splits,
        e.g. the cross-dataset source.
    """
    if abs(sum(fractions) - 1) > 1e-6 or len(fractions) != 3:
        raise ValueError(f"fractions must be three numbers summing to 1, got {fractions}")
    df = df.copy()
    if exclude:
        ex = set(exclude) | {os.path.splitext(e)[0] for e in exclude}
        keep = [s not in ex and os.path.splitext(s)[0] not in ex for s in df["sequence"]]
        df = df[keep]
    if len(df) < 3:
        raise ValueError(f"only {len(df)} usable face pairs; need at least 3 for train/val/test")
    subjects = df["subject"].fillna("").astype(str)
    n_subj = subjects.nunique()
    n_seq = df["sequence"].nunique()
    if n_subj >= 3:
        level, key = "subject", subjects
        note = f"{n_subj} subjects: each subject (and so each of its sequences) is in one split only."
    elif n_seq >= 3:
        level, key = "sequence", df["sequence"].astype(str)
        note = (f"only {n_subj} subject(s) but {n_seq} sequences: whole sequences are assigned to one split; "
                "the same person can appear in several splits.")
    else:
        level = "block"
        note = (f"only {n_subj} subject(s) and {n_seq} sequence(s): each sequence is cut into contiguous "
                "train/val/test blocks in time; subjects and sequences are NOT kept apart.")
        parts = {"train": [], "val": [], "test": []}
        for _, g in df.groupby("sequence", sort=True):
            n = len(g)
            a = max(1, int(round(n * fractions[0])))
            b = max(a + 1, int(round(n * (fractions[0] + fractions[1]))))
            parts["train"].append(g.iloc[:a])
            parts["val"].append(g.iloc[a:b])
            parts["test"].append(g.iloc[b:])
        import pandas as pd

        return FaceSplit(*(pd.concat(parts[s]).reset_index(drop=True) for s in ("train", "val", "test")), level, note)
    sizes = key.value_counts().to_dict()
    assign = _assign_groups(sizes, fractions, seed)
    split_of = key.map(assign)
    out = [df[split_of == s].reset_index(drop=True) for s in ("train", "val", "test")]
    return FaceSplit(*out, level, note)


def face_datasets(dst, size, fractions=(0.7, 0.15, 0.15), seed: int = 0, exclude=None,
                  max_pairs: dict | None = None) -> tuple[dict, FaceSplit]:
    """``{"train", "val", "test"}`` :class:`PairDataset` s from a ``faceflow gt`` folder.

    max_pairs : optional cap per split (evenly spaced pairs are kept), for the small profiles.
    """
    split = split_faces(face_manifest(dst), fractions, seed, exclude)
    out = {}
    for name in ("train", "val", "test"):
        refs = evenly_spaced(manifest_refs(getattr(split, name)), (max_pairs or {}).get(name))
        out[name] = PairDataset(refs, size, label=f"faces ({name})")
    return out, split


def face_source_dataset(dst, sequences: list[str], size, max_pairs: int | None = None) -> PairDataset:
    """All usable pairs of the named sequences (e.g. the held-out cross-dataset source)."""
    df = face_manifest(dst)
    names = set(sequences) | {os.path.splitext(s)[0] for s in sequences}
    df = df[[s in names or os.path.splitext(s)[0] in names for s in df["sequence"]]]
    if df.empty:
        raise DataNotFoundError(f"no usable pairs of sequences {sequences} in {Path(dst) / 'manifest.csv'}")
    return PairDataset(evenly_spaced(manifest_refs(df), max_pairs), size, label="faces (held-out source)")


# ----------------------------------------------------------------------------- chairs / sintel

def chairs_dataset(root=None, size=None, split: str | None = None) -> PairDataset:
    from faceflow.data import chairs_pairs

    return PairDataset(chairs_pairs(root, split), size, label="FlyingChairs")


def chairs_is_full_release(root=None) -> bool:
    """True when the real FlyingChairs release (``*_img1.ppm``) is under the root."""
    from faceflow.data import chairs_pairs

    try:
        refs = chairs_pairs(root)
    except (DataNotFoundError, TypeError):
        return False
    return any(r.img1.name.endswith("_img1.ppm") for r in refs) and len(refs) > 100


def sintel_dataset(root=None, size=None, passes=("clean",), scenes: list[str] | None = None,
                   exclude_scenes: list[str] | None = None) -> PairDataset:
    from faceflow.data import sintel_pairs

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
    from faceflow.data import sintel_pairs

    return sorted({r.name.split("/")[0] for r in sintel_pairs(root, "clean")})


# ----------------------------------------------------------------------------- flying shapes

def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A random colour texture: blurred multi-scale noise plus a few sinusoidal stripes, uint8."""
    import cv2

    img = np.zeros((h, w, 3), np.float32)
    for scale in (4, 16, 48):
        sh, sw = max(2, h // scale + 2), max(2, w // scale + 2)
        noise = rng.random((sh, sw, 3), dtype=np.float32)
        img += cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC) * (scale / 48 + 0.3)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    for _ in range(2):
        f = rng.uniform(0.05, 0.4)
        a = rng.uniform(0, np.pi)
        img += 0.4 * np.sin(f * (np.cos(a) * xs + np.sin(a) * ys))[..., None] * rng.random(3, dtype=np.float32)
    img -= img.min()
    img /= max(float(img.max()), 1e-6)
    return (img * 255).astype(np.uint8)


def _random_affine(rng, h, w, max_shift, max_rot_deg, max_scale, center) -> np.ndarray:
    from faceflow.synthetic import similarity

    s = float(np.exp(rng.uniform(-max_scale, max_scale)))
    ang = float(rng.uniform(-max_rot_deg, max_rot_deg))
    tx, ty = (rng.uniform(-max_shift, max_shift, 2) * np.array([w, h])).tolist()
    A = similarity(s, ang, tx, ty, center)
    A[:, :2] += rng.normal(0, 0.01, (2, 2))  # a little shear
    return A


def flying_shapes_pair(seed: int, size=(384, 512), n_shapes=(2, 5), max_shift: float = 0.04,
                       max_rot_deg: float = 8.0, max_scale: float = 0.08, name: str | None = None) -> FlowPair:
    """One generated pair: textured shapes with random affine motions over a textured background.

    The background moves with a small affine motion of its own, each shape with a larger one;
    the flow at a pixel of frame 1 is the affine motion of the topmost layer covering it
    (``A p - p``), exact by construction. Shifts are fractions of the image size.
    """
    import cv2

    from faceflow.synthetic import affine_flow

    rng = np.random.default_rng(seed)
    h, w = size
    bg = _texture(rng, h, w)
    A_bg = _random_affine(rng, h, w, max_shift / 3, max_rot_deg / 3, max_scale / 3, (w / 2, h / 2))
    img1 = bg.copy()
    img2 = cv2.warpAffine(bg, A_bg, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    flow = affine_flow((h, w), A_bg)
    for _ in range(int(rng.integers(n_shapes[0], n_shapes[1] + 1))):
        tex = _texture(rng, h, w)
        mask = np.zeros((h, w), np.uint8)
        cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h
        r = rng.uniform(0.08, 0.22) * min(h, w)
        if rng.random() < 0.5:
            cv2.ellipse(mask, (int(cx), int(cy)), (int(r), int(r * rng.uniform(0.5, 1.0))),
                        float(rng.uniform(0, 180)), 0, 360, 255, -1)
        else:
            k = int(rng.integers(3, 7))
            ang = np.sort(rng.uniform(0, 2 * np.pi, k))
            rad = r * rng.uniform(0.6, 1.2, k)
            pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1).astype(np.int32)
            cv2.fillPoly(mask, [pts], 255)
        A = _random_affine(rng, h, w, max_shift, max_rot_deg, max_scale, (cx, cy))
        m1 = mask > 127
        img1[m1] = tex[m1]
        tex2 = cv2.warpAffine(tex, A, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        m2 = cv2.warpAffine(mask, A, (w, h), flags=cv2.INTER_NEAREST) > 127
        img2[m2] = tex2[m2]
        flow[m1] = affine_flow((h, w), A)[m1]
    return FlowPair(name or f"shapes-{seed}", img1, img2, flow.astype(np.float32), source="generated")


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


# ----------------------------------------------------------------------------- face GT via faceflow gt

#: Sequences of the OpenFace samples held out of the face splits as the cross-dataset source
#: of Table 2 (the paper uses CK+): the multi-person video, disjoint from the training videos.
OPENFACE_HELD_OUT = ("multi_face",)


def gt_available() -> str | None:
    """None when :mod:`faceflow.gtdataset` (``faceflow gt``) is importable, else why not."""
    try:
        import faceflow.gtdataset as g  # noqa: F401
    except ImportError as exc:
        return f"faceflow.gtdataset is not available yet ({exc}); the face ground truth cannot be generated."
    if not hasattr(g, "ensure_dataset"):
        return "faceflow.gtdataset has no ensure_dataset(); the face ground truth cannot be generated."
    return None


#: Frames per OpenFace sample sequence fed to ``faceflow gt`` by profile (None: all frames).
GT_MAX_FRAMES = {"smoke": 12, "default": 150, "full": None}


def ensure_face_dataset(data_root, dst, max_frames: int | None = 150, **opts) -> Path:
    """The OpenFace-samples face dataset of ``faceflow gt`` in ``dst`` (generated once, reused).

    A complete dataset already in ``dst`` (its ``manifest.csv`` exists, e.g. written by the
    ground-truth chapter) is used as it is, whatever options made it. Otherwise this calls
    ``faceflow.gtdataset.openface_dataset(data_root, dst, max_frames=...)`` (or, without it,
    ``ensure_dataset(src, dst, max_frames=..., layout="folder", **opts)`` with ``src`` the OpenFace
    sample folder of the data root): every video and frame folder is a sequence. Raises :class:`DataNotFoundError` when the module or the source is missing.
    """
    dst = Path(dst)
    if (dst / "manifest.csv").is_file():
        return dst
    why = gt_available()
    if why:
        raise DataNotFoundError(why)
    from faceflow import gtdataset
    from faceflow.data import OPENFACE_HINT, find_dataset

    opts.setdefault("progress", False)
    opts.setdefault("verbose", False)
    if hasattr(gtdataset, "openface_dataset"):  # the ground-truth module's own entry for the samples
        gtdataset.openface_dataset(data_root, dst, max_frames=max_frames, **opts)
        return dst
    src = find_dataset("OpenFace samples", data_root, ["openface"], OPENFACE_HINT)
    opts.setdefault("layout", "folder")
    gtdataset.ensure_dataset(src, dst, max_frames=max_frames, **opts)
    return dst
