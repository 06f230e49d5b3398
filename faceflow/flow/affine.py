"""Global (affine, head) versus local (residual, expression) motion of a flow field.

:func:`motion_shares` fits the least-squares affine motion to a flow over its support and splits
the energy between the fitted field and the residual; Fig. 4's rows are picked from those shares
(:mod:`faceflow.evaluation.fig4`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def nonzero_support(flow: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Pixels the face ground truth covers: where the flow is not exactly zero.

    The generated face ground truth is zero outside the face mesh, so this is the face region.

    Parameters
    ----------
    flow : ndarray, shape (..., 2)
    eps : float
        Largest absolute component counted as zero.

    Returns
    -------
    ndarray of bool, shape (...)
    """
    return np.abs(np.asarray(flow)).max(axis=-1) > eps


def fit_affine(flow: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Least-squares affine motion ``(u, v) = M [x, y, 1]`` over ``mask``; returns M (2x3).

    Parameters
    ----------
    flow : ndarray, shape (H, W, 2)
    mask : ndarray of bool, shape (H, W), optional
        Pixels used in the fit (default: all).

    Returns
    -------
    ndarray, shape (2, 3)
        Row 0 gives u, row 1 gives v, in raw pixel coordinates; zeros when the mask holds fewer
        than 3 pixels.
    """
    flow = np.asarray(flow, dtype=np.float64)
    h, w = flow.shape[:2]
    if mask is None:
        mask = np.ones((h, w), bool)
    ys, xs = np.nonzero(mask)
    if len(xs) < 3:
        return np.zeros((2, 3))
    # centre and scale the coordinates for a well-conditioned system
    cx, cy, s = xs.mean(), ys.mean(), max(h, w)
    X = np.stack([(xs - cx) / s, (ys - cy) / s, np.ones_like(xs, dtype=float)], axis=1)
    coef, *_ = np.linalg.lstsq(X, flow[ys, xs], rcond=None)  # (3, 2)
    a, b, c = coef[0] / s, coef[1] / s, coef[2]
    # back to raw pixel coordinates: u = a x + b y + (c - a cx - b cy)
    return np.stack([a, b, c - a * cx - b * cy], axis=1)  # row 0: u, row 1: v


def affine_field(M: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The flow ``(u, v) = M [x, y, 1]`` of an affine motion on an (H, W) grid.

    Parameters
    ----------
    M : ndarray, shape (2, 3)
        As returned by :func:`fit_affine`.
    shape : (H, W)

    Returns
    -------
    ndarray, shape (H, W, 2), float64
    """
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    u = M[0, 0] * xs + M[0, 1] * ys + M[0, 2]
    v = M[1, 0] * xs + M[1, 1] * ys + M[1, 2]
    return np.stack([u, v], axis=-1)


@dataclass
class MotionShares:
    global_share: float  # energy of the fitted affine field / total energy, over the face
    local_share: float  # energy of the residual / total energy
    energy: float  # mean squared flow magnitude over the face (px^2)
    kind: str  # "global", "local" or "both"


def classify(global_share: float, hi: float = 0.7, lo: float = 0.3) -> str:
    """``global`` when the affine part holds >= ``hi`` of the energy, ``local`` when <= ``lo``.

    Parameters
    ----------
    global_share : float
        Share of the flow energy explained by the affine fit.
    hi, lo : float
        Thresholds.

    Returns
    -------
    str
        ``"global"``, ``"local"`` or ``"both"``.
    """
    if global_share >= hi:
        return "global"
    if global_share <= lo:
        return "local"
    return "both"


def motion_shares(flow: np.ndarray, mask: np.ndarray | None = None, hi: float = 0.7, lo: float = 0.3) -> MotionShares:
    """Global (head) vs local (expression) motion of a ground-truth flow.

    Fits the least-squares affine motion to the flow over the face (``mask``, default
    :func:`nonzero_support`); the global share is the energy (sum of squared magnitudes) of the fitted
    field, the local share that of the residual, both divided by their sum. An affine map
    covers head translation, in-plane rotation, scaling and, approximately, small out-of-plane
    turns; eye and mouth motion stays in the residual.

    Parameters
    ----------
    flow : ndarray, shape (H, W, 2)
    mask : ndarray of bool, shape (H, W), optional
        The face region (default :func:`nonzero_support`).
    hi, lo : float
        Thresholds of :func:`classify`.

    Returns
    -------
    MotionShares
        Kind ``"none"`` (all zero) when the mask is empty.
    """
    flow = np.asarray(flow, dtype=np.float64)
    if mask is None:
        mask = nonzero_support(flow)
    if not mask.any():
        return MotionShares(0.0, 0.0, 0.0, "none")
    glob = affine_field(fit_affine(flow, mask), flow.shape[:2])
    res = flow - glob
    eg = float((glob[mask] ** 2).sum())
    el = float((res[mask] ** 2).sum())
    tot = eg + el
    if tot <= 0:
        return MotionShares(0.0, 0.0, 0.0, "none")
    g = eg / tot
    return MotionShares(g, el / tot, float((flow[mask] ** 2).sum(-1).mean()), classify(g, hi, lo))
