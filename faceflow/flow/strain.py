"""Optical strain of a flow field (paper Eq. 10-11) and the STSTNet input image.

Finite-difference scheme
------------------------
The partial derivatives of ``u`` and ``v`` are taken with :func:`numpy.gradient` on the pixel
grid (spacing 1 px): second-order **central differences** in the interior,
``du/dx(x) = (u(x+1) - u(x-1)) / 2``, and first-order one-sided differences on the first and
last row/column. ``x`` is the column (image width) axis, ``y`` the row axis. Then

* normal strains ``e_xx = du/dx``, ``e_yy = dv/dy``;
* shear strain ``e_xy = e_yx = (du/dy + dv/dx) / 2``;
* strain magnitude ``|e| = sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2)`` (Eq. 11).

STSTNet input
-------------
:func:`stst_features` turns a flow into the (28, 28, 3) image the STSTNet authors feed their
network, channels in RGB order ``(u, v, |e|)`` (Sec. 4.4.1):

1. the strain magnitude is computed at the flow's full resolution (scheme above);
2. ``u``, ``v`` and ``|e|`` are each resized to 28x28 (:func:`cv2.resize`, area interpolation);
3. each channel of each image is min-max normalised on its own to [0, 1], so its smallest value
   maps to 0 and its largest to 1 (a constant channel maps to 0).

This is the normalisation of the published STSTNet images (``mer/stst_uvos``: every channel of
every one of the 442 images spans exactly 0..255, and the strain channel, which is >= 0, sits near
0 while the signed ``u``/``v`` channels sit near the middle). Normalising after the resize is what
keeps those exact end points. :func:`stst_image` stores the result as 8-bit RGB, the layout of
those PNG files; :func:`faceflow.mer.stst.images_to_input` turns such images into network input.
"""

from __future__ import annotations

import numpy as np

#: Side of the STSTNet input image.
STST_SIZE = 28


def _check_flow(flow: np.ndarray) -> np.ndarray:
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow must be (H, W, 2), got shape {flow.shape}")
    if flow.shape[0] < 2 or flow.shape[1] < 2:
        raise ValueError(f"flow must be at least 2x2 for finite differences, got {flow.shape[:2]}")
    if not np.all(np.isfinite(flow)):
        raise ValueError("flow holds NaN or infinite values")
    return flow


def strain_tensor(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Components ``(e_xx, e_yy, e_xy)`` of the strain tensor (Eq. 10) of an (H, W, 2) flow.

    Derivatives by central differences (one-sided on the border), see the module docstring.

    Parameters
    ----------
    flow : ndarray, shape (H, W, 2)
        At least 2x2, finite.

    Returns
    -------
    e_xx, e_yy, e_xy : ndarray, shape (H, W), float64

    Raises
    ------
    ValueError
        Wrong shape, smaller than 2x2, or non-finite values.
    """
    flow = _check_flow(flow)
    u, v = flow[..., 0], flow[..., 1]
    du_dy, du_dx = np.gradient(u)  # axis 0 = rows = y, axis 1 = columns = x
    dv_dy, dv_dx = np.gradient(v)
    return du_dx, dv_dy, 0.5 * (du_dy + dv_dx)


def strain_magnitude(flow: np.ndarray) -> np.ndarray:
    """Optical strain magnitude ``sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2)`` (Eq. 11), (H, W) float64.

    Parameters
    ----------
    flow : ndarray, shape (H, W, 2)

    Returns
    -------
    ndarray, shape (H, W), float64

    Raises
    ------
    ValueError
        As :func:`strain_tensor`.
    """
    exx, eyy, exy = strain_tensor(flow)
    return np.sqrt(exx**2 + eyy**2 + 2.0 * exy**2)


def minmax(channel: np.ndarray) -> np.ndarray:
    """Min-max normalise one channel to [0, 1]; a constant channel becomes all zeros.

    Parameters
    ----------
    channel : ndarray

    Returns
    -------
    ndarray, float64
        Same shape.
    """
    channel = np.asarray(channel, dtype=np.float64)
    lo, hi = float(channel.min()), float(channel.max())
    if hi - lo <= 0.0:
        return np.zeros_like(channel)
    return (channel - lo) / (hi - lo)


def stst_features(flow: np.ndarray, size: int = STST_SIZE) -> np.ndarray:
    """The STSTNet input of a flow: (size, size, 3) float32 in [0, 1], channels ``(u, v, |e|)``.

    Parameters
    ----------
    flow : ndarray, shape (H, W, 2)
    size : int
        Side of the output (28 in STSTNet).

    Returns
    -------
    ndarray, shape (size, size, 3), float32

    Raises
    ------
    ValueError
        As :func:`strain_tensor`.
    """
    import cv2

    flow = _check_flow(flow)
    chans = [flow[..., 0], flow[..., 1], strain_magnitude(flow)]
    out = []
    for c in chans:
        small = cv2.resize(c.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
        out.append(minmax(small))
    return np.stack(out, axis=-1).astype(np.float32)


def stst_image(flow: np.ndarray, size: int = STST_SIZE) -> np.ndarray:
    """:func:`stst_features` as an 8-bit RGB image (the layout of the published PNG files).

    Parameters
    ----------
    flow : ndarray, shape (H, W, 2)
    size : int

    Returns
    -------
    ndarray, shape (size, size, 3), uint8

    Raises
    ------
    ValueError
        As :func:`strain_tensor`.
    """
    return np.round(stst_features(flow, size) * 255.0).astype(np.uint8)
