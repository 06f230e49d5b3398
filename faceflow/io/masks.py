"""Valid masks of ground-truth flow: which pixels of a pair the ground truth defines.

The landmark ground truth of Sec. 3 is defined inside the face mesh of the pair's first frame
and nowhere else: the paper sets the flow to zero outside ("we assume that the background is
stationary"), an assumption, not a measurement. Like KITTI's valid bit and Sintel's occlusion
masks, every pair written by ``faceflow gt`` therefore carries a mask beside its flow: a
one-bit PNG of the stored flow's size, white (255) where the flow is defined.

A mask is a boolean ``(H, W)`` array; ``True`` means "ground truth defined here".
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from faceflow.io.atomic import atomic_write_bytes

#: File extension of a stored mask.
MASK_EXT = ".png"


class MaskFormatError(ValueError):
    """A mask file is unreadable or not a mask. The message names the file and the problem."""


def encode_mask(mask: np.ndarray) -> bytes:
    """The bytes of a one-bit PNG of ``mask``.

    Parameters
    ----------
    mask : numpy.ndarray
        ``(H, W)`` bool (any array whose non-zero entries mean True).

    Returns
    -------
    bytes
        A PNG file (bilevel, lossless).

    Raises
    ------
    ValueError
        ``mask`` is not two-dimensional or is empty.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((3, 4), bool); m[1, 1:3] = True
    >>> decode_mask(encode_mask(m)).tolist() == m.tolist()
    True
    """
    import cv2

    m = np.asarray(mask)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"a mask must be a non-empty (H, W) array, got shape {m.shape}")
    img = np.where(m.astype(bool), 255, 0).astype(np.uint8)
    ok, buf = cv2.imencode(MASK_EXT, img, [cv2.IMWRITE_PNG_BILEVEL, 1])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 image
        raise ValueError("PNG encoding of a mask failed")
    return buf.tobytes()


def decode_mask(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of a stored mask.

    Parameters
    ----------
    data : bytes
        A PNG written by :func:`encode_mask`.
    name : str
        Named in errors.

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` bool.

    Raises
    ------
    MaskFormatError
        Not a decodable single-channel image, or grey values other than black and white.
    """
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if img is None:
        raise MaskFormatError(f"{name}: not a mask image (cannot be decoded)")
    if img.ndim != 2:
        raise MaskFormatError(f"{name}: a mask has one channel, this image has {img.shape[2]}")
    values = np.unique(img)
    if not set(values.tolist()) <= {0, 1, 255}:
        raise MaskFormatError(f"{name}: a mask is black and white, this image has {len(values)} grey values")
    return img > 0


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask written by :func:`write_mask`.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    numpy.ndarray
        ``(H, W)`` bool.

    Raises
    ------
    FileNotFoundError
        No such file.
    MaskFormatError
        The file is not a mask (:func:`decode_mask`).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such mask file")
    return decode_mask(path.read_bytes(), str(path))


def write_mask(path: str | os.PathLike, mask: np.ndarray) -> None:
    """Write ``mask`` atomically as a one-bit PNG (the folder is created).

    Parameters
    ----------
    path : path-like
    mask : numpy.ndarray
        ``(H, W)`` bool.

    Raises
    ------
    ValueError
        As :func:`encode_mask`.
    """
    atomic_write_bytes(path, encode_mask(mask))
