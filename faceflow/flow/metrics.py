"""Flow error metrics: average end-point error (EPE) and the paper's average angular error.

The angular error follows Eq. (8) of the paper: the angle between the homogeneous vectors
``(u, v, 1)`` and ``(û, v̂, 1)``, computed as ``atan2(|a x b|, a . b)``. This equals the
paper's ``arctan(|a x b| / (a . b))`` whenever the dot product is positive and stays correct
(in ``[0, pi]``) when it is not.

Every function takes NumPy arrays of shape (..., H, W, 2); the two per-pixel maps also exist for
torch tensors of shape (..., 2, H, W) (the channel-first layout networks use, for the training
losses), giving the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
import torch


def _check_pair(pred, gt, channel_axis: int) -> None:
    if pred.shape != gt.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} != ground truth shape {tuple(gt.shape)}")
    if pred.ndim < 3 or pred.shape[channel_axis] != 2:
        layout = "(..., H, W, 2)" if channel_axis == -1 else "(..., 2, H, W)"
        raise ValueError(f"flow must have layout {layout}, got shape {tuple(pred.shape)}")


def _masked_mean_np(err: np.ndarray, valid: np.ndarray | None) -> float:
    if valid is None:
        return float(err.mean())
    valid = np.asarray(valid, dtype=bool)
    if valid.shape != err.shape:
        raise ValueError(f"valid mask shape {valid.shape} != per-pixel error shape {err.shape}")
    if not valid.any():
        raise ValueError("valid mask selects no pixel")
    return float(err[valid].mean())


def epe_map(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-pixel end-point error ``||pred - gt||_2`` for (..., H, W, 2) arrays.

    Parameters
    ----------
    pred, gt : ndarray, shape (..., H, W, 2)

    Returns
    -------
    ndarray, shape (..., H, W)

    Raises
    ------
    ValueError
        The shapes differ or the last axis is not 2.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    _check_pair(pred, gt, -1)
    return np.sqrt(((pred - gt) ** 2).sum(axis=-1))


def angular_error_map(pred: np.ndarray, gt: np.ndarray, degrees: bool = False) -> np.ndarray:
    """Per-pixel angular error of Eq. (8) for (..., H, W, 2) arrays (radians by default).

    Parameters
    ----------
    pred, gt : ndarray, shape (..., H, W, 2)
    degrees : bool
        Degrees instead of radians.

    Returns
    -------
    ndarray, shape (..., H, W)

    Raises
    ------
    ValueError
        The shapes differ or the last axis is not 2.
    """
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    _check_pair(pred, gt, -1)
    u, v = gt[..., 0], gt[..., 1]
    uh, vh = pred[..., 0], pred[..., 1]
    # cross product of (u, v, 1) and (uh, vh, 1)
    cx = v - vh
    cy = uh - u
    cz = u * vh - v * uh
    cross = np.sqrt(cx**2 + cy**2 + cz**2)
    dot = u * uh + v * vh + 1.0
    ang = np.arctan2(cross, dot)
    return np.degrees(ang) if degrees else ang


def epe(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Average end-point error in pixels over all (or the ``valid``) pixels.

    Parameters
    ----------
    pred, gt : ndarray, shape (..., H, W, 2)
    valid : ndarray of bool, shape (..., H, W), optional

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Shapes differ, or ``valid`` has the wrong shape or selects no pixel.

    Examples
    --------
    One pixel of six is off by a 6-8-10 triangle, the others are exact:

    >>> import numpy as np
    >>> from faceflow.flow.metrics import epe
    >>> gt = np.zeros((2, 3, 2), np.float32)
    >>> pred = gt.copy()
    >>> pred[0, 0] = (6.0, 8.0)
    >>> round(epe(pred, gt), 4)  # (10 + 5 * 0) / 6
    1.6667
    >>> valid = np.zeros((2, 3), bool)
    >>> valid[0, 0] = True
    >>> epe(pred, gt, valid)  # only the wrong pixel counts
    10.0
    """
    return _masked_mean_np(epe_map(pred, gt), valid)


def aae(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray | None = None, degrees: bool = False) -> float:
    """Average angular error, Eq. (8); radians unless ``degrees=True``.

    Parameters
    ----------
    pred, gt : ndarray, shape (..., H, W, 2)
    valid : ndarray of bool, shape (..., H, W), optional
    degrees : bool

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Shapes differ, or ``valid`` has the wrong shape or selects no pixel.

    Examples
    --------
    Zero flow against a flow of one pixel to the right: the angle between ``(0, 0, 1)`` and
    ``(1, 0, 1)`` is 45 degrees, whatever the image size.

    >>> import numpy as np
    >>> from faceflow.flow.metrics import aae
    >>> gt = np.zeros((4, 4, 2), np.float32)
    >>> gt[..., 0] = 1.0
    >>> round(aae(np.zeros_like(gt), gt, degrees=True), 4)
    45.0
    >>> round(aae(gt, gt), 4)  # a perfect estimate
    0.0
    """
    return _masked_mean_np(angular_error_map(pred, gt, degrees=degrees), valid)


#: Regions of a frame where errors are reported: the ground truth's valid mask (the face, for
#: landmark ground truth), its complement, and every pixel (the paper's Sec. 5.1 convention).
REGIONS = ("face", "outside", "whole")


def region_column(metric: str, region: str) -> str:
    """Name of the column holding ``metric`` over ``region`` in per-pair tables.

    Parameters
    ----------
    metric : {"epe", "aae"}
    region : one of :data:`REGIONS`

    Returns
    -------
    str
        ``"epe"`` for the whole frame (the paper's number), ``"epe_face"``, ``"epe_outside"``.

    Raises
    ------
    ValueError
        Unknown region.
    """
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    return metric if region == "whole" else f"{metric}_{region}"


def region_errors(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray | None = None) -> dict[str, float]:
    """EPE and AAE (radians) over the valid ``mask``, outside it and over the whole frame.

    Parameters
    ----------
    pred, gt : ndarray, shape (H, W, 2)
    mask : ndarray of bool, shape (H, W), optional
        Where the ground truth is defined. None: defined everywhere, and the face and outside
        columns are NaN (no such regions).

    Returns
    -------
    dict
        ``epe``, ``aae`` (whole frame), ``epe_face``, ``aae_face``, ``epe_outside``,
        ``aae_outside`` (NaN for an empty region) and ``face_share`` (the mask's share of the
        frame; NaN without a mask).

    Raises
    ------
    ValueError
        Shapes differ.

    Examples
    --------
    A flow right inside the mask and wrong outside it has no error on the face:

    >>> gt = np.zeros((4, 4, 2)); mask = np.zeros((4, 4), bool); mask[1:3, 1:3] = True
    >>> pred = np.where(mask[..., None], gt, 1.0)
    >>> e = region_errors(pred, gt, mask)
    >>> float(e["epe_face"]), round(float(e["epe_outside"]), 4), float(e["face_share"])
    (0.0, 1.4142, 0.25)
    """
    e = epe_map(pred, gt)
    a = angular_error_map(pred, gt)
    out = {"epe": float(e.mean()), "aae": float(a.mean())}
    nan = float("nan")
    if mask is None:
        return dict(out, epe_face=nan, aae_face=nan, epe_outside=nan, aae_outside=nan, face_share=nan)
    m = np.asarray(mask, bool)
    if m.shape != e.shape:
        raise ValueError(f"mask shape {m.shape} != flow shape {e.shape}")
    for region, sel in (("face", m), ("outside", ~m)):
        out[f"epe_{region}"] = float(e[sel].mean()) if sel.any() else nan
        out[f"aae_{region}"] = float(a[sel].mean()) if sel.any() else nan
    out["face_share"] = float(m.mean())
    return out


def epe_map_torch(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Per-pixel EPE for (..., 2, H, W) tensors; differentiable.

    Parameters
    ----------
    pred, gt : torch.Tensor, shape (..., 2, H, W)

    Returns
    -------
    torch.Tensor, shape (..., H, W)

    Raises
    ------
    ValueError
        The shapes differ or the channel axis is not 2.
    """
    _check_pair(pred, gt, -3)
    return torch.linalg.vector_norm(pred - gt, dim=-3)


def angular_error_map_torch(pred: torch.Tensor, gt: torch.Tensor, degrees: bool = False) -> torch.Tensor:
    """Per-pixel angular error of Eq. (8) for (..., 2, H, W) tensors; differentiable.

    A tiny epsilon inside the square root keeps the gradient finite where prediction and
    ground truth coincide (angle 0).

    Parameters
    ----------
    pred, gt : torch.Tensor, shape (..., 2, H, W)
    degrees : bool

    Returns
    -------
    torch.Tensor, shape (..., H, W)

    Raises
    ------
    ValueError
        The shapes differ or the channel axis is not 2.
    """
    _check_pair(pred, gt, -3)
    u, v = gt[..., 0, :, :], gt[..., 1, :, :]
    uh, vh = pred[..., 0, :, :], pred[..., 1, :, :]
    cx = v - vh
    cy = uh - u
    cz = u * vh - v * uh
    eps = torch.finfo(pred.dtype).eps ** 2
    cross = torch.sqrt(cx * cx + cy * cy + cz * cz + eps)
    dot = u * uh + v * vh + 1.0
    ang = torch.atan2(cross, dot)
    return ang * (180.0 / math.pi) if degrees else ang
