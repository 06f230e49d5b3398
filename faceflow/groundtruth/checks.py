"""Per-pair consistency checks of the landmark ground truth (tracker drift, lost faces).

A landmark tracker that drifts onto another face, or loses the face and re-locks elsewhere,
produces a confident-looking flow that does not follow the images. Two cheap signs mark such a
pair as *suspect* (the manifest's ``suspect`` and ``check`` columns); training and evaluation
skip suspect pairs by default (:func:`faceflow.groundtruth.dataset.read_manifest`):

* the landmarks jump: their centroid moves by more than :data:`MAX_JUMP` of the face size
  (landmark box diagonal), or the face size changes by more than :data:`MAX_SCALE`, between the
  two frames;
* the flow does not explain the images: frame 2 warped back by the ground truth differs from
  frame 1 (on the face) by more than :data:`MAX_PHOTO_RATIO` times, and by :data:`MIN_PHOTO_GAP`
  grey levels more than, frame 2 not warped at all (zero flow).

A third sign comes from the landmark stage: :class:`faceflow.groundtruth.landmarks.FaceVerifier`
re-detects the face every few frames (and at every sudden change) and compares it with the
first one; :func:`flag_lost_frames` marks the pairs of the frames where the face was not there
or was another person (blank frames, the face leaving the frame, a cut to someone else).

The thresholds are loose: on the OpenFace sample sequence the ground truth's warp error is at
most 1.25 times zero flow's (small motions, noise-level errors); a flow of the wrong sign or onto
another face roughly doubles it or more.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from faceflow.groundtruth.landmarks import landmark_box
from faceflow.io.images import to_gray

#: Largest centroid shift between the two frames of a pair, as a share of the face size.
MAX_JUMP = 0.15
#: Largest relative change of the face size (landmark box diagonal) between the two frames.
MAX_SCALE = 0.15
#: The ground truth's warp error may exceed zero flow's by this factor ...
MAX_PHOTO_RATIO = 1.5
#: ... and by this many grey levels before the pair is suspect.
MIN_PHOTO_GAP = 2.0


@dataclass
class PairCheck:
    """Consistency measures of one pair.

    Attributes
    ----------
    jump : float
        Centroid shift of the landmarks / face size.
    scale : float
        ``|size_2 / size_1 - 1|`` of the landmark box diagonal.
    photo_gt, photo_zero : float
        Mean absolute grey-level error on the face of frame 2 warped back by the ground truth,
        and of frame 2 itself (zero flow); NaN without face pixels.
    reason : str
        Why the pair is suspect; empty when it is not.
    """

    jump: float
    scale: float
    photo_gt: float
    photo_zero: float
    reason: str = ""

    @property
    def suspect(self) -> bool:
        """Whether a check failed."""
        return bool(self.reason)

    def as_row(self) -> dict:
        """The manifest columns of the check.

        Returns
        -------
        dict
            ``suspect``, ``check`` (the reason), ``photo_gt``, ``photo_zero``, ``lm_jump``.
        """
        return {
            "suspect": self.suspect,
            "check": self.reason,
            "photo_gt": round(self.photo_gt, 4),
            "photo_zero": round(self.photo_zero, 4),
            "lm_jump": round(self.jump, 4),
        }


def _size(points: np.ndarray) -> float:
    x0, y0, x1, y1 = landmark_box(points)
    return float(np.hypot(x1 - x0, y1 - y0))


@lru_cache(maxsize=4)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


def _photometric(img1: np.ndarray, img2: np.ndarray, flow: np.ndarray) -> tuple[float, float]:
    """Mean absolute grey-level error on the face, at half resolution: frame 2 warped back by the
    flow (bilinear) against frame 1, and frame 2 as it is (zero flow)."""
    import cv2

    g1 = to_gray(np.ascontiguousarray(img1[::2, ::2]))
    g2 = to_gray(np.ascontiguousarray(img2[::2, ::2]))
    half = flow[::2, ::2] * np.float32(0.5)
    mask = (half[..., 0] != 0) | (half[..., 1] != 0)
    if not mask.any():
        return float("nan"), float("nan")
    xs, ys = _grid(*g1.shape)
    warped = cv2.remap(g2, xs + half[..., 0], ys + half[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    f1 = g1.astype(np.float32)
    photo_gt = float(np.abs(warped.astype(np.float32) - f1)[mask].mean())
    photo_zero = float(np.abs(g2.astype(np.float32) - f1)[mask].mean())
    return photo_gt, photo_zero


def check_pair(p1: np.ndarray, p2: np.ndarray, img1: np.ndarray, img2: np.ndarray, flow: np.ndarray) -> PairCheck:
    """Landmark jump and photometric consistency of one pair.

    The photometric part works on grey levels at half the resolution of the images it is given
    (the stored 384x512 crops in the writer), on the pixels where the flow is non-zero (the face).

    Parameters
    ----------
    p1, p2 : ndarray, shape (68, 2)
        Landmarks of the two frames (any common coordinates).
    img1, img2 : ndarray
        The two frames (as stored), same shape.
    flow : ndarray, shape (H, W, 2)
        The ground truth from ``img1`` to ``img2`` on ``img1``'s grid, zero outside the face.

    Returns
    -------
    PairCheck

    Raises
    ------
    ValueError
        The images and the flow differ in size.
    """
    img1, img2, flow = np.asarray(img1), np.asarray(img2), np.asarray(flow, np.float32)
    if img1.shape != img2.shape or img1.shape[:2] != flow.shape[:2]:
        raise ValueError(f"images {img1.shape}, {img2.shape} and flow {flow.shape} differ in size")
    s1, s2 = _size(p1), _size(p2)
    jump = float(np.linalg.norm(np.mean(p2, 0) - np.mean(p1, 0)) / max(s1, 1e-9))
    scale = abs(s2 / max(s1, 1e-9) - 1.0)
    photo_gt, photo_zero = _photometric(img1, img2, flow)
    reasons = []
    if jump > MAX_JUMP:
        reasons.append(f"landmarks jump by {jump:.0%} of the face size")
    if scale > MAX_SCALE:
        reasons.append(f"face size changes by {scale:.0%}")
    if photo_gt > MAX_PHOTO_RATIO * photo_zero and photo_gt - photo_zero > MIN_PHOTO_GAP:
        reasons.append(f"ground-truth warp error {photo_gt:.1f} > zero flow's {photo_zero:.1f} grey levels")
    return PairCheck(jump, scale, photo_gt, photo_zero, "; ".join(reasons))


def flag_lost_frames(rows: list[dict], lost: dict[int, str]) -> None:
    """Mark suspect the ``ok`` pairs one of whose frames lost the tracked face (in place).

    Parameters
    ----------
    rows : list of dict
        Manifest rows of one sequence (``frame1``, ``frame2``, ``status``, ``suspect``, ``check``).
    lost : dict
        Frame -> why the tracked face was lost there (:attr:`TrackResult.lost`).
    """
    for row in rows:
        why = next((f"frame {f}: {lost[f]}" for f in (row.get("frame1"), row.get("frame2")) if f in lost), None)
        if why is None or row.get("status") != "ok":
            continue
        row["suspect"] = True
        row["check"] = "; ".join(r for r in (row.get("check") or "", why) if r)
