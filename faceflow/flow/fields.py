"""Facts about one flow field: resizing with the vectors rescaled, magnitude statistics."""

from __future__ import annotations

import numpy as np


def resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of an (h, w, 2) flow to ``size`` = (H, W), each component scaled by its axis's factor.

    Parameters
    ----------
    flow : ndarray, shape (h, w, 2)
    size : (H, W)

    Returns
    -------
    ndarray, shape (H, W, 2), float32
        In pixels of the resized grid.

    Raises
    ------
    ValueError
        ``flow`` is not (h, w, 2).
    """
    import cv2

    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow must have shape (H, W, 2), got {flow.shape}")
    H, W = size
    h, w = flow.shape[:2]
    out = cv2.resize(np.ascontiguousarray(flow, np.float32), (W, H), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= W / w
    out[..., 1] *= H / h
    return out


def flow_stats(flow: np.ndarray) -> dict:
    """Magnitude statistics of a flow over all its pixels.

    Parameters
    ----------
    flow : ndarray, shape (H, W, 2)

    Returns
    -------
    dict
        ``mean_mag`` and ``max_mag`` in pixels.
    """
    f = np.asarray(flow, np.float32)
    mag = np.hypot(f[..., 0], f[..., 1])  # float32, as stored
    return {"mean_mag": float(mag.mean(dtype=np.float64)), "max_mag": float(mag.max())}
