"""Warping images by a flow field (NumPy/OpenCV, and torch), and the photometric error of a flow.

Conventions: ``flow[y, x] = (u, v)`` moves pixel ``(x, y)`` of frame 1 to ``(x + u, y + v)`` in
frame 2. :func:`warp_backward` reconstructs frame 1 from frame 2 (the warping layer of Sec. 4.2,
Fig. 2); :func:`warp_forward` makes a frame 2 from frame 1 for a small, smooth motion.
:func:`warp_backward_torch` is the same backward warp on channel-first torch batches (bilinear
``grid_sample``): the one used by the training losses and by SPyNet's pyramid.
"""

from __future__ import annotations

import numpy as np

_INTERP = {"linear": "INTER_LINEAR", "cubic": "INTER_CUBIC"}
_BORDER = {"replicate": "BORDER_REPLICATE", "reflect": "BORDER_REFLECT"}


def _remap(img: np.ndarray, flow: np.ndarray, sign: float, interpolation: str, border: str) -> np.ndarray:
    import cv2

    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow must have shape (H, W, 2), got {flow.shape}")
    if np.shape(img)[:2] != flow.shape[:2]:
        raise ValueError(f"image {np.shape(img)} and flow {flow.shape} differ in size")
    if interpolation not in _INTERP:
        raise ValueError(f"interpolation must be one of {sorted(_INTERP)}, got {interpolation!r}")
    if border not in _BORDER:
        raise ValueError(f"border must be one of {sorted(_BORDER)}, got {border!r}")
    h, w = flow.shape[:2]
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx = (xs + sign * flow[..., 0]).astype(np.float32)
    my = (ys + sign * flow[..., 1]).astype(np.float32)
    return cv2.remap(img, mx, my, getattr(cv2, _INTERP[interpolation]), borderMode=getattr(cv2, _BORDER[border]))


def warp_backward(
    img: np.ndarray, flow: np.ndarray, interpolation: str = "linear", border: str = "replicate"
) -> np.ndarray:
    """Sample ``img`` (frame 2) at ``x + flow(x)``: reconstructs frame 1 where the flow is right.

    Parameters
    ----------
    img : ndarray, shape (H, W) or (H, W, C)
        The second frame.
    flow : ndarray, shape (H, W, 2)
        Flow from frame 1 to frame 2, in pixels.
    interpolation : {"linear", "cubic"}
    border : {"replicate", "reflect"}

    Returns
    -------
    ndarray
        Same shape and dtype as ``img``.

    Raises
    ------
    ValueError
        Sizes differ, or an unknown interpolation or border.
    """
    return _remap(img, flow, 1.0, interpolation, border)


def warp_backward_torch(img, flow, padding_mode: str = "border"):
    """Sample ``img`` at ``p + flow(p)`` with bilinear interpolation: ``out(p) = img(p + flow(p))``.

    Positions outside the image take the value of ``padding_mode`` (``"border"``: clamped to the
    image, as SPyNet and the training losses use it).

    Parameters
    ----------
    img : torch.Tensor
        ``(B, C, H, W)``.
    flow : torch.Tensor
        ``(B, 2, H, W)`` in pixels (u along x, v along y).
    padding_mode : {"border", "zeros", "reflection"}
        :func:`torch.nn.functional.grid_sample`'s padding.

    Returns
    -------
    torch.Tensor
        ``(B, C, H, W)``.

    Raises
    ------
    ValueError
        The batch sizes or the sizes of ``img`` and ``flow`` differ, or ``flow`` has not 2 channels.
    """
    import torch
    import torch.nn.functional as F

    if img.shape[0] != flow.shape[0] or img.shape[-2:] != flow.shape[-2:] or flow.shape[1] != 2:
        raise ValueError(f"image {tuple(img.shape)} and flow {tuple(flow.shape)} do not match")
    b, _, h, w = img.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=flow.dtype, device=flow.device),
        torch.arange(w, dtype=flow.dtype, device=flow.device),
        indexing="ij",
    )
    pos = torch.stack([xs, ys], dim=0).unsqueeze(0).expand(b, 2, h, w) + flow
    # pixel centres -> [-1, 1] with align_corners=True (pixel 0 -> -1, pixel W-1 -> +1)
    gx = 2.0 * pos[:, 0] / max(w - 1, 1) - 1.0
    gy = 2.0 * pos[:, 1] / max(h - 1, 1) - 1.0
    grid = torch.stack([gx, gy], dim=-1)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode=padding_mode, align_corners=True)


def warp_forward(
    img: np.ndarray, flow: np.ndarray, interpolation: str = "linear", border: str = "replicate"
) -> np.ndarray:
    """A second frame for ``img`` moved by a small, smooth ``flow``: ``out(x) = img(x - flow(x))``.

    First-order forward warp (exact for constant flow).

    Parameters
    ----------
    img : ndarray, shape (H, W) or (H, W, C)
        The first frame.
    flow : ndarray, shape (H, W, 2)
        Flow from frame 1 to frame 2, in pixels.
    interpolation : {"linear", "cubic"}
    border : {"replicate", "reflect"}

    Returns
    -------
    ndarray
        Same shape and dtype as ``img``.

    Raises
    ------
    ValueError
        Sizes differ, or an unknown interpolation or border.
    """
    return _remap(img, flow, -1.0, interpolation, border)


def photometric_error(img1: np.ndarray, img2: np.ndarray, flow: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute intensity difference on ``mask`` between frame 1 and frame 2 warped back by ``flow``.

    Parameters
    ----------
    img1, img2 : ndarray
        Frames 1 and 2 (same shape).
    flow : ndarray, shape (H, W, 2)
    mask : ndarray of bool, shape (H, W)

    Returns
    -------
    float
        Mean over the masked pixels (and channels) of ``|warp_backward(img2, flow) - img1|``.
    """
    warped = warp_backward(img2, flow).astype(np.float64)
    diff = np.abs(warped - np.asarray(img1, np.float64))
    if diff.ndim == 3:
        diff = diff.mean(axis=2)
    return float(diff[mask].mean())
