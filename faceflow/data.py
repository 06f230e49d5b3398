"""One configurable data root and readers for the layouts found under it.

The root is, in order: the ``root`` argument, the ``FACEFLOW_DATA`` environment variable,
``./data``. The Makefile points ``FACEFLOW_DATA`` at ``../shared/data`` when it exists.

Readers accept both the small sample layouts shipped with the project's shared data and the
real on-disk layouts of the full (licensed) datasets:

* MPI-Sintel: sample ``sintel/<scene>/<pass>/frame_NNNN.png`` + ``sintel/<scene>/flow/``;
  real ``training/<pass>/<scene>/frame_NNNN.png`` + ``training/flow/<scene>/``.
* FlyingChairs: sample ``flyingchairs/NNNNNNN-img0.ppm, -img1.ppm, -gt.flo``;
  real ``FlyingChairs_release/data/NNNNN_img1.ppm, _img2.ppm, _flow.flo``.
* OpenFace samples: ``openface/image_sequence/*.jpg`` and ``openface/*.wmv|*.avi``.
* STSTNet inputs: ``mer/stst_uvos/*.png`` with ``labels.csv`` (file, dataset, subject, label).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENV_VAR = "FACEFLOW_DATA"

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".ppm", ".bmp", ".tif", ".tiff")
VIDEO_EXTS = (".avi", ".wmv", ".mp4", ".mov", ".mkv", ".mpg")


class DataNotFoundError(FileNotFoundError):
    """A data root or dataset is missing. The message says what and where to put it."""


def resolve_root(root: str | os.PathLike | None = None) -> Path:
    """Return the data root as an absolute path, raising :class:`DataNotFoundError` if absent."""
    if root is not None and str(root) != "":
        source, path = "argument", Path(root)
    elif os.environ.get(ENV_VAR):
        source, path = f"${ENV_VAR}", Path(os.environ[ENV_VAR])
    else:
        source, path = "default", Path("data")
    path = path.expanduser().resolve()
    if not path.is_dir():
        raise DataNotFoundError(
            f"data root {path} (from {source}) does not exist. Pass a data root, set "
            f"{ENV_VAR}, or create ./data with the sample layout (see the book's data page)."
        )
    return path


def find_dataset(name: str, root: str | os.PathLike | None, candidates: list[str], hint: str) -> Path:
    """First of ``candidates`` (relative to the root) that exists, else a clear error."""
    base = resolve_root(root)
    for rel in candidates:
        p = base / rel
        if p.exists():
            return p
    tried = ", ".join(str(base / c) for c in candidates)
    raise DataNotFoundError(f"{name} not found under {base} (looked for {tried}). {hint}")


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image as RGB uint8 (H, W, 3); clear error naming the file when unreadable."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path}: not a readable image (OpenCV could not decode it)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def to_gray(img: np.ndarray) -> np.ndarray:
    """An RGB (H, W, 3) or gray (H, W) uint8 image as gray uint8 (H, W); errors name the shape."""
    import cv2

    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    if img.ndim == 2:
        return img
    raise ValueError(f"image must be (H, W) or (H, W, 3), got shape {img.shape}")


@dataclass
class FlowPair:
    """Two RGB frames and, when known, the ground-truth flow from the first to the second."""

    name: str
    img1: np.ndarray
    img2: np.ndarray
    flow: np.ndarray | None = None
    source: str = ""


@dataclass
class FlowPairRef:
    """Paths of a frame pair with optional ground-truth ``.flo``; :meth:`load` reads them."""

    name: str
    img1: Path
    img2: Path
    flow: Path | None = None
    source: str = ""

    def load(self) -> FlowPair:
        from faceflow.flo import read_flo

        flow = read_flo(self.flow) if self.flow is not None else None
        a, b = read_image(self.img1), read_image(self.img2)
        if a.shape != b.shape:
            raise ValueError(f"{self.img1} and {self.img2} differ in size: {a.shape} vs {b.shape}")
        if flow is not None and flow.shape[:2] != a.shape[:2]:
            raise ValueError(f"{self.flow}: flow size {flow.shape[:2]} != image size {a.shape[:2]}")
        return FlowPair(self.name, a, b, flow, self.source)


_FRAME_RE = re.compile(r"frame_(\d+)\.png$")

SINTEL_HINT = (
    "Download MPI-Sintel (sintel.is.tue.mpg.de) and point the data root at a folder holding "
    "'sintel/training/...' (real layout) or 'sintel/<scene>/<pass>/' (sample layout)."
)
CHAIRS_HINT = (
    "Download FlyingChairs (lmb.informatik.uni-freiburg.de) and put 'FlyingChairs_release/data' "
    "(or the sample 'flyingchairs/NNNNNNN-img0.ppm' layout) under the data root."
)


def sintel_pairs(root: str | os.PathLike | None = None, dstype: str = "clean") -> list[FlowPairRef]:
    """Frame pairs with ground truth from MPI-Sintel (sample or real training layout).

    Parameters
    ----------
    root : path-like, optional
        Data root (see :func:`resolve_root`).
    dstype : {"clean", "final"}
        Rendering pass.
    """
    if dstype not in ("clean", "final"):
        raise ValueError(f"dstype must be 'clean' or 'final', got {dstype!r}")
    base = find_dataset("MPI-Sintel", root, ["sintel", "MPI-Sintel-complete", "MPI-Sintel"], SINTEL_HINT)
    training = base / "training"
    if training.is_dir():  # real layout
        scenes = sorted(p for p in (training / dstype).iterdir() if p.is_dir())
        scene_dirs = [(s.name, s, training / "flow" / s.name) for s in scenes]
    else:  # sample layout
        scene_dirs = [
            (s.name, s / dstype, s / "flow") for s in sorted(base.iterdir()) if (s / dstype).is_dir()
        ]
    pairs: list[FlowPairRef] = []
    for scene, img_dir, flow_dir in scene_dirs:
        frames = {}
        for p in img_dir.glob("frame_*.png"):
            m = _FRAME_RE.search(p.name)
            if m:
                frames[int(m.group(1))] = p
        for idx in sorted(frames):
            flo = flow_dir / f"frame_{idx:04d}.flo"
            if idx + 1 in frames and flo.is_file():
                pairs.append(
                    FlowPairRef(f"{scene}/{idx:04d}", frames[idx], frames[idx + 1], flo, f"sintel-{dstype}")
                )
    if not pairs:
        raise DataNotFoundError(f"no Sintel {dstype} pairs with ground truth under {base}. {SINTEL_HINT}")
    return pairs


def chairs_pairs(root: str | os.PathLike | None = None, split: str | None = None) -> list[FlowPairRef]:
    """FlyingChairs pairs (sample or real layout).

    Parameters
    ----------
    split : {"train", "val"}, optional
        With the real release and its ``FlyingChairs_train_val.txt`` (1 = train, 2 = val), keep
        one split. Ignored (all pairs) for the sample layout, which has no split file.
    """
    base = find_dataset(
        "FlyingChairs",
        root,
        ["FlyingChairs_release/data", "FlyingChairs/data", "flyingchairs"],
        CHAIRS_HINT,
    )
    pairs: list[FlowPairRef] = []
    real = sorted(base.glob("*_img1.ppm"))
    if real:
        split_ids = None
        split_file = next(
            (p for p in (base / "FlyingChairs_train_val.txt", base.parent / "FlyingChairs_train_val.txt") if p.is_file()),
            None,
        )
        if split is not None and split_file is not None:
            codes = split_file.read_text().split()
            want = {"train": "1", "val": "2"}[split]
            split_ids = {i + 1 for i, c in enumerate(codes) if c == want}
        for p in real:
            stem = p.name[: -len("_img1.ppm")]
            if split_ids is not None and int(stem) not in split_ids:
                continue
            pairs.append(
                FlowPairRef(stem, p, base / f"{stem}_img2.ppm", base / f"{stem}_flow.flo", "flyingchairs")
            )
    else:
        for p in sorted(base.glob("*-img0.ppm")):
            stem = p.name[: -len("-img0.ppm")]
            pairs.append(
                FlowPairRef(stem, p, base / f"{stem}-img1.ppm", base / f"{stem}-gt.flo", "flyingchairs")
            )
    if not pairs:
        raise DataNotFoundError(f"no FlyingChairs pairs under {base}. {CHAIRS_HINT}")
    return pairs


OPENFACE_HINT = (
    "The OpenFace sample frames belong in '<root>/openface/image_sequence/*.jpg' and the sample "
    "videos in '<root>/openface/'."
)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """Image files in ``folder``, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataNotFoundError(f"{folder}: no such folder of frames")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)


def openface_frames(root: str | os.PathLike | None = None) -> list[Path]:
    """The OpenFace sample image sequence (30 consecutive 640x480 frames of one face)."""
    folder = find_dataset("OpenFace image sequence", root, ["openface/image_sequence"], OPENFACE_HINT)
    frames = list_images(folder)
    if not frames:
        raise DataNotFoundError(f"{folder} holds no images. {OPENFACE_HINT}")
    return frames


def openface_videos(root: str | os.PathLike | None = None) -> list[Path]:
    """The OpenFace sample videos."""
    folder = find_dataset("OpenFace sample videos", root, ["openface"], OPENFACE_HINT)
    vids = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTS)
    if not vids:
        raise DataNotFoundError(f"no videos in {folder}. {OPENFACE_HINT}")
    return vids


def read_video_frames(
    path: str | os.PathLike, max_frames: int | None = None, start: int = 0, step: int = 1
) -> list[np.ndarray]:
    """Decode frames of a video as RGB uint8 arrays.

    Parameters
    ----------
    max_frames : int, optional
        Stop after this many frames have been returned.
    start, step : int
        Skip the first ``start`` frames, then keep every ``step``-th.
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such video file")
    if step < 1 or start < 0:
        raise ValueError(f"start must be >= 0 and step >= 1, got start={start} step={step}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path}: OpenCV cannot open this video")
    frames: list[np.ndarray] = []
    idx = 0
    try:
        while max_frames is None or len(frames) < max_frames:
            ok, frame = cap.read()
            if not ok:
                break
            if idx >= start and (idx - start) % step == 0:
                frames.append(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            idx += 1
    finally:
        cap.release()
    if not frames:
        raise ValueError(f"{path}: no frame could be decoded")
    return frames


STST_HINT = "The STSTNet images belong in '<root>/mer/stst_uvos/*.png' with 'labels.csv' beside them."


def stst_samples(root: str | os.PathLike | None = None):
    """Table of the 442 STSTNet input images: columns file, dataset, subject, label, path.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    folder = find_dataset("STSTNet images", root, ["mer/stst_uvos"], STST_HINT)
    labels = folder / "labels.csv"
    if not labels.is_file():
        raise DataNotFoundError(f"{labels}: missing. {STST_HINT}")
    df = pd.read_csv(labels, dtype={"subject": str})
    missing_cols = {"file", "dataset", "subject", "label"} - set(df.columns)
    if missing_cols:
        raise ValueError(f"{labels}: missing columns {sorted(missing_cols)}")
    df["path"] = [folder / f for f in df["file"]]
    absent = [str(p) for p in df["path"] if not p.is_file()]
    if absent:
        raise DataNotFoundError(f"{labels} lists {len(absent)} images that are missing, e.g. {absent[0]}")
    return df
