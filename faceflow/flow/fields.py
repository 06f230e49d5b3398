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


#: A resized cell counts as valid when at least this share of the bilinear weight that its flow
#: draws from falls on valid pixels (non-integer resizes); 1 up to float round-off.
MASK_COVERAGE = 1.0 - 1e-3


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A valid mask brought to the grid ``size`` = (H, W) the way its flow is brought there.

    The rule for partly covered cells: a cell of the new grid is valid only when **every**
    pixel its flow value is drawn from is valid; a cell that mixes valid and invalid pixels
    (the face's boundary) is invalid. For integer downsampling factors on both axes the flow is
    block-averaged (:func:`to_grid`, the multi-scale loss), so a cell
    is valid when its whole block is; for any other size the flow is resized bilinearly
    (:func:`resize_flow`), so a cell is valid when its bilinear weights fall on valid pixels
    (at least :data:`MASK_COVERAGE` of them).

    Parameters
    ----------
    mask : ndarray, shape (h, w), bool
    size : (H, W)

    Returns
    -------
    ndarray, shape (H, W), bool

    Raises
    ------
    ValueError
        ``mask`` is not two-dimensional.

    Examples
    --------
    >>> m = np.ones((4, 4), bool); m[0, 0] = False
    >>> resize_mask(m, (2, 2)).tolist()
    [[False, True], [True, True]]
    """
    import cv2

    m = np.asarray(mask, bool)
    if m.ndim != 2:
        raise ValueError(f"mask must have shape (H, W), got {m.shape}")
    h, w = m.shape
    H, W = int(size[0]), int(size[1])
    if (h, w) == (H, W):
        return m.copy()
    if h % H == 0 and w % W == 0:
        return m.reshape(H, h // H, W, w // W).all(axis=(1, 3))
    cover = cv2.resize(m.astype(np.float32), (W, H), interpolation=cv2.INTER_LINEAR)
    return cover >= MASK_COVERAGE


def paper_grid(shape: tuple[int, ...]) -> tuple[int, int]:
    """The paper's measurement grid for a ground truth of ``shape`` (H, W, ...): its k = 1 grid (H // 2, W // 2).

    Parameters
    ----------
    shape : tuple of int

    Returns
    -------
    (int, int)

    Raises
    ------
    ValueError
        A side below 2 pixels.
    """
    h, w = int(shape[0]), int(shape[1])
    if h < 2 or w < 2:
        raise ValueError(f"ground truth of size {h}x{w} is too small for the k=1 grid")
    return h // 2, w // 2


def to_grid(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``flow`` (h, w, 2) on the grid ``size`` = (H, W), u and v in pixels of that grid.

    An integer downsampling factor on both axes averages each block (area), as the multi-scale
    loss does (:func:`faceflow.training.losses.downsample_flow`); any other size is resized
    bilinearly. u is scaled by ``W / w``, v by ``H / h``. Its valid mask goes to the same grid
    with :func:`resize_mask`.

    Parameters
    ----------
    flow : ndarray, shape (h, w, 2)
    size : (H, W)

    Returns
    -------
    ndarray, shape (H, W, 2), float32

    Raises
    ------
    ValueError
        ``flow`` is not (h, w, 2).
    """
    import cv2

    flow = np.asarray(flow, np.float32)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow must have shape (H, W, 2), got {flow.shape}")
    h, w = flow.shape[:2]
    H, W = int(size[0]), int(size[1])
    if (h, w) == (H, W):
        return flow
    if h % H == 0 and w % W == 0:
        out = flow.reshape(H, h // H, W, w // W, 2).mean(axis=(1, 3))
    else:
        out = cv2.resize(np.ascontiguousarray(flow), (W, H), interpolation=cv2.INTER_LINEAR)
    out = out * np.float32([W / w, H / h])
    return np.ascontiguousarray(out, dtype=np.float32)
