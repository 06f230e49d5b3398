"""Frames as the float tensors the published pretrained networks take (RAFT-small, SPyNet).

:func:`image_tensor` turns a uint8 RGB or gray frame into a (1, 3, H, W) float tensor in the
channel order and value range a network was trained with.
"""

from __future__ import annotations

import numpy as np
import torch


def image_tensor(img: np.ndarray, order: str = "rgb", unit: float = 255.0) -> torch.Tensor:
    """A uint8 RGB (H, W, 3) or gray (H, W) image as a float (1, 3, H, W) tensor of ``values / unit``.

    Parameters
    ----------
    img : numpy.ndarray
        uint8 RGB or gray image (gray is repeated into three channels).
    order : {"rgb", "bgr"}
        Channel order of the tensor.
    unit : float
        Divisor of the 0..255 values (255: range [0, 1]; 1: range 0..255).

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ValueError
        Not uint8, not (H, W, 3) or (H, W), or an unknown ``order``.
    """
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {img.dtype}")
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"images must be (H, W, 3) RGB or (H, W) gray, got {img.shape}")
    if order not in ("rgb", "bgr"):
        raise ValueError(f"order must be 'rgb' or 'bgr', got {order!r}")
    chans = img[:, :, ::-1] if order == "bgr" else img
    return torch.from_numpy(np.ascontiguousarray(chans.transpose(2, 0, 1), dtype=np.float32) / unit)[None]
