"""Generated data with exact flow, used when real data is absent (always labelled as generated)."""

from __future__ import annotations

import numpy as np

from faceflow.data import FlowPair


def fallback_image() -> np.ndarray:
    """scikit-image's astronaut photo (always available offline), RGB uint8 512x512."""
    from skimage import data as skdata

    return skdata.astronaut()


def affine_flow(shape: tuple[int, int], A: np.ndarray) -> np.ndarray:
    """Flow of the affine map ``p -> A @ [x, y, 1]`` on an (H, W) grid: ``A p - p``."""
    A = np.asarray(A, dtype=np.float64)
    if A.shape != (2, 3):
        raise ValueError(f"A must be a 2x3 affine matrix, got shape {A.shape}")
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    u = A[0, 0] * xs + A[0, 1] * ys + A[0, 2] - xs
    v = A[1, 0] * xs + A[1, 1] * ys + A[1, 2] - ys
    return np.stack([u, v], axis=-1).astype(np.float32)


def affine_pair(img: np.ndarray, A: np.ndarray, name: str = "generated-affine") -> FlowPair:
    """Second frame = ``img`` moved by the affine map ``A`` (2x3); exact flow from frame 1 to 2."""
    import cv2

    img = np.asarray(img)
    h, w = img.shape[:2]
    img2 = cv2.warpAffine(img, np.asarray(A, np.float64), (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)
    return FlowPair(name, img, img2, affine_flow((h, w), A), source="generated")


def similarity(scale: float = 1.0, angle_deg: float = 0.0, tx: float = 0.0, ty: float = 0.0,
               center: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """2x3 matrix of a rotation/scale about ``center`` followed by a translation."""
    a = np.deg2rad(angle_deg)
    c, s = scale * np.cos(a), scale * np.sin(a)
    cx, cy = center
    R = np.array([[c, -s], [s, c]])
    t = np.array([cx, cy]) - R @ np.array([cx, cy]) + np.array([tx, ty])
    return np.hstack([R, t[:, None]])
