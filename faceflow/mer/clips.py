"""STSTNet features from real onset-to-offset clips, checked against the published TV-L1 images.

Pipeline for one clip (:func:`clip_pair`, then :func:`faceflow.mer.features.pair_features`):

1. **Onset** = the first frame of the clip (the clips run onset to offset).
2. **Face crop** (:func:`face_crop_box`): the box of the onset frame's 68 dlib landmarks, raised
   at the top by a fraction of its height (:data:`CROP_TOP`) so that the brows and their motion
   stay inside; the same box on every frame. The published images come from the datasets' own
   face crops, which differ: the SAMM crops end at the landmarks, the SMIC and CASME II crops keep
   a strip of forehead (about 15 % of the face height). The fractions were read off the clips that
   come in the datasets' crops (the ``1_*`` SMIC clips match the published images at r > 0.9
   with 0.15) and checked against the published images of the other clips; said so on the page.
3. **Apex** (:func:`apex_index`) = the frame of largest non-rigid motion from the onset: for every
   frame the DIS flow (fast) from the onset on the face crop, minus its least-squares affine fit
   (head motion), mean magnitude; the largest wins. No apex annotation is published for these
   clips (SMIC has none; the SAMM and CASME II workbooks are licensed), so it is estimated.
4. **Features**: the flow onset -> apex of any registered method, ``u``, ``v`` and the optical
   strain magnitude at the crop's resolution, each area-resized to 28x28 and min-max normalised
   (:func:`faceflow.flow.strain.stst_image`), the published images' layout.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from faceflow.flow.affine import affine_field, fit_affine
from faceflow.groundtruth.landmarks import dlib_detect_faces
from faceflow.mer.data import MEClip
from faceflow.mer.features import MERSet, pair_features
from faceflow.methods.registry import estimate_flow

#: Extra crop above the landmark box, as a fraction of its height, per dataset (see the module doc).
CROP_TOP = {"samm": 0.0, "smic": 0.15, "casme2": 0.15}

#: Flow method that locates the apex (fast; only the argmax of its motion is used).
APEX_METHOD = "dis"


def face_crop_box(frame: np.ndarray, top: float = 0.0) -> tuple[int, int, int, int]:
    """Box ``(left, top, right, bottom)`` of the largest face's 68 landmarks, raised by ``top``.

    Parameters
    ----------
    frame : numpy.ndarray
        (H, W, 3) uint8 RGB frame.
    top : float
        Extra height above the landmarks, as a fraction of the landmark box's height.

    Returns
    -------
    tuple of int
        Clipped to the frame; the whole frame when no face is found.

    Raises
    ------
    ValueError
        ``top`` is negative.
    """
    if top < 0:
        raise ValueError(f"top must be >= 0, got {top}")
    h, w = frame.shape[:2]
    faces = dlib_detect_faces(frame) or dlib_detect_faces(frame, upsample=1)
    if not faces:
        return 0, 0, w, h
    pts = faces[0].landmarks
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    y0 -= top * (y1 - y0)
    box = (max(0, round(x0)), max(0, round(y0)), min(w, round(x1)), min(h, round(y1)))
    if box[2] - box[0] < 8 or box[3] - box[1] < 8:
        return 0, 0, w, h
    return box


def nonrigid_motion(flow: np.ndarray) -> float:
    """Mean magnitude of a flow minus its least-squares affine fit (the motion a head move cannot explain).

    Parameters
    ----------
    flow : numpy.ndarray
        (H, W, 2) flow.

    Returns
    -------
    float
        Pixels.
    """
    residual = flow - affine_field(fit_affine(flow), flow.shape[:2])
    return float(np.linalg.norm(residual, axis=2).mean())


def apex_index(frames: np.ndarray, method: str = APEX_METHOD) -> tuple[int, np.ndarray]:
    """The frame of largest non-rigid motion from the onset (frame 0).

    Parameters
    ----------
    frames : numpy.ndarray
        (T, H, W, 3) uint8 frames of one clip, cropped to the face, T >= 2.
    method : str
        Registered flow method measuring the motion.

    Returns
    -------
    apex : int
        Index in ``frames`` (>= 1).
    motion : numpy.ndarray
        (T,) :func:`nonrigid_motion` of the flow from frame 0 to each frame (0 for frame 0).

    Raises
    ------
    ValueError
        Fewer than two frames.
    """
    if len(frames) < 2:
        raise ValueError(f"a clip needs at least 2 frames, got {len(frames)}")
    motion = np.zeros(len(frames))
    for k in range(1, len(frames)):
        motion[k] = nonrigid_motion(estimate_flow(method, frames[0], frames[k]))
    return int(np.argmax(motion[1:]) + 1), motion


@dataclass
class ClipPair:
    """The onset and apex frames of one clip, cropped to the face, and how they were chosen.

    ``box`` is the face crop in the clip's frames of ``frame_size`` (width, height); ``colours``
    the number of distinct colours of the onset frame (a GIF re-quantised to a few grey levels
    shows it); ``motion`` the non-rigid motion from the onset of every frame (:func:`apex_index`).
    """

    clip: MEClip
    onset: np.ndarray
    apex: np.ndarray
    apex_index: int
    n_frames: int
    box: tuple[int, int, int, int]
    frame_size: tuple[int, int] = (0, 0)
    colours: int = 0
    motion: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    @property
    def name(self) -> str:
        """The clip's file name (stem): two files may hold the same sample."""
        return self.clip.path.stem

    @property
    def subject(self) -> str:
        """The sample's subject."""
        return self.clip.name.subject

    @property
    def dataset(self) -> str:
        """``samm``, ``smic`` or ``casme2``."""
        return self.clip.name.dataset

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """The (onset, apex) face crops (the interface of :func:`faceflow.mer.features.from_pairs`).

        Returns
        -------
        onset, apex : numpy.ndarray
            (h, w, 3) uint8.
        """
        return self.onset, self.apex


def clip_pair(clip: MEClip, crop_top: dict[str, float] | None = None, apex_method: str = APEX_METHOD) -> ClipPair:
    """Onset (first frame) and apex (:func:`apex_index`) of a clip, cropped by :func:`face_crop_box`.

    Parameters
    ----------
    clip : faceflow.mer.data.MEClip
        The clip.
    crop_top : dict, optional
        Top margin per dataset; default :data:`CROP_TOP`.
    apex_method : str
        Flow method locating the apex.

    Returns
    -------
    ClipPair
    """
    frames = clip.frames()
    top = (crop_top or CROP_TOP)[clip.name.dataset]
    l, t, r, b = face_crop_box(frames[0], top)
    faces = np.ascontiguousarray(frames[:, t:b, l:r])
    k, motion = apex_index(faces, apex_method)
    h, w = frames.shape[1:3]
    colours = len(np.unique(frames[0].reshape(-1, 3), axis=0))
    return ClipPair(clip, faces[0], faces[k], k, len(frames), (l, t, r, b), (w, h), colours, motion)


def clip_features(pairs: Sequence[ClipPair], method: str, labels: dict[str, int] | None = None) -> MERSet:
    """STSTNet feature images of clip pairs by one flow method.

    Parameters
    ----------
    pairs : sequence of ClipPair
        The clips.
    method : str
        Registered flow method.
    labels : dict, optional
        ``{sample: label}`` for clips whose name carries no class (e.g. the published labels).

    Returns
    -------
    MERSet
        ``names`` are the clip file stems, ``kind="real"``.

    Raises
    ------
    ValueError
        A clip with no class in its name and none in ``labels``, or no pairs.
    """
    if not pairs:
        raise ValueError("no clip pairs given")
    labels = labels or {}
    lab = []
    for p in pairs:
        y = p.clip.name.label if p.clip.name.label is not None else labels.get(p.clip.sample)
        if y is None:
            raise ValueError(f"{p.clip.path}: no class in the name and none given for sample {p.clip.sample}")
        lab.append(y)
    imgs = np.stack([pair_features(p.onset, p.apex, method) for p in pairs])
    return MERSet(
        imgs,
        lab,
        [p.subject for p in pairs],
        [p.dataset for p in pairs],
        [p.name for p in pairs],
        method,
        "real",
        dict(source="onset-to-offset clips (mer/clips)"),
    )


def channel_correlations(ours: np.ndarray, published: np.ndarray) -> tuple[float, float, float]:
    """Pearson correlation of each channel (u, v, strain) of two (28, 28, 3) feature images.

    Parameters
    ----------
    ours, published : numpy.ndarray
        Images of the same shape, channels last.

    Returns
    -------
    tuple of float
        One per channel; 0 where a channel is constant.

    Raises
    ------
    ValueError
        Shapes differ or are not (H, W, 3).
    """
    ours, published = np.asarray(ours, float), np.asarray(published, float)
    if ours.shape != published.shape or ours.ndim != 3 or ours.shape[2] != 3:
        raise ValueError(f"need two (H, W, 3) images of one shape, got {ours.shape} and {published.shape}")
    out = []
    for c in range(3):
        a, b = ours[..., c].ravel(), published[..., c].ravel()
        out.append(0.0 if a.std() == 0 or b.std() == 0 else float(np.corrcoef(a, b)[0, 1]))
    return tuple(out)


def load_clip_pairs(clips: Sequence[MEClip], progress: bool = False, **kw) -> list[ClipPair]:
    """:func:`clip_pair` of each clip.

    Parameters
    ----------
    clips : sequence of MEClip
        The clips.
    progress : bool
        Show a progress bar.
    **kw
        Passed to :func:`clip_pair`.

    Returns
    -------
    list of ClipPair
    """
    from tqdm import tqdm

    return [clip_pair(c, **kw) for c in tqdm(clips, desc="clips", disable=not progress, leave=False)]


def published_images(root: str | os.PathLike | None, samples: Sequence[str]) -> dict[str, tuple[np.ndarray, int]]:
    """The published feature image and label of each sample id.

    Parameters
    ----------
    root : path-like, optional
        Data root holding ``mer/stst_uvos``.
    samples : sequence of str
        Sample ids (file stems of the published images).

    Returns
    -------
    dict
        ``{sample: (image (28, 28, 3) uint8, label)}`` for the samples that have a published image.
    """
    from faceflow.io.datasets import stst_samples
    from faceflow.io.images import read_image

    df = stst_samples(root)
    df = df.assign(sample=df["file"].str.replace(".png", "", regex=False))
    rows = df[df["sample"].isin(set(samples))]
    return {s: (read_image(p), int(y)) for s, p, y in zip(rows["sample"], rows["path"], rows["label"])}
