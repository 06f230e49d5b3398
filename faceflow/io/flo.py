"""Middlebury ``.flo`` optical-flow files.

Layout (little endian): float32 magic 202021.25 (the bytes ``PIEH``), int32 width,
int32 height, then ``height * width * 2`` float32 values, u and v interleaved row by row.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from faceflow.io.atomic import atomic_write_bytes

MAGIC = 202021.25
_MAGIC_BYTES = struct.pack("<f", MAGIC)
_HEADER = 12
#: Largest width or height accepted when reading; guards against garbage headers.
MAX_DIM = 1 << 15


class FloFormatError(ValueError):
    """A ``.flo`` file (or buffer) is malformed. The message names the file and the problem."""


def decode_flo(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode the bytes of a ``.flo`` file.

    Parameters
    ----------
    data : bytes
        Whole file content.
    name : str
        Used in error messages.

    Returns
    -------
    numpy.ndarray
        float32 array of shape (H, W, 2): ``[..., 0]`` is u (x), ``[..., 1]`` is v (y).

    Raises
    ------
    FloFormatError
        Bad magic, bad dimensions, truncated data or trailing bytes.
    """
    if len(data) < _HEADER:
        raise FloFormatError(f"{name}: truncated header ({len(data)} bytes, need {_HEADER})")
    if data[:4] != _MAGIC_BYTES:
        got = struct.unpack("<f", data[:4])[0]
        raise FloFormatError(f"{name}: bad magic {got!r} (bytes {data[:4]!r}), expected {MAGIC}")
    width, height = struct.unpack("<ii", data[4:12])
    if not (0 < width <= MAX_DIM and 0 < height <= MAX_DIM):
        raise FloFormatError(f"{name}: bad size width={width} height={height} (each must be in 1..{MAX_DIM})")
    expected = _HEADER + width * height * 2 * 4
    if len(data) < expected:
        raise FloFormatError(f"{name}: truncated: {len(data)} bytes for {width}x{height}, expected {expected}")
    if len(data) > expected:
        raise FloFormatError(f"{name}: {len(data) - expected} trailing bytes after {width}x{height} flow")
    flow = np.frombuffer(data, dtype="<f4", offset=_HEADER).reshape(height, width, 2)
    return flow.astype(np.float32)


def read_flo(path: str | os.PathLike) -> np.ndarray:
    """Read a ``.flo`` file into an (H, W, 2) float32 array. See :func:`decode_flo`.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    numpy.ndarray
        float32 (H, W, 2).

    Raises
    ------
    FileNotFoundError
        No such file.
    FloFormatError
        The file is malformed (see :func:`decode_flo`).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such .flo file") from None
    return decode_flo(data, name=str(path))


def encode_flo(flow: np.ndarray) -> bytes:
    """Encode an (H, W, 2) flow array as ``.flo`` bytes.

    Parameters
    ----------
    flow : numpy.ndarray
        (H, W, 2) numbers; stored as little-endian float32.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        Wrong shape, a size outside ``1..MAX_DIM`` or a non-numeric dtype.
    """
    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow must have shape (H, W, 2), got {flow.shape}")
    height, width = flow.shape[:2]
    if not (0 < width <= MAX_DIM and 0 < height <= MAX_DIM):
        raise ValueError(f"flow size {height}x{width} outside 1..{MAX_DIM}")
    if not np.issubdtype(flow.dtype, np.number):
        raise ValueError(f"flow must be numeric, got dtype {flow.dtype}")
    header = _MAGIC_BYTES + struct.pack("<ii", width, height)
    return header + np.ascontiguousarray(flow, dtype="<f4").tobytes()


def write_flo(path: str | os.PathLike, flow: np.ndarray) -> None:
    """Write an (H, W, 2) flow to ``path`` atomically (temporary file + rename).

    Parameters
    ----------
    path : path-like
    flow : numpy.ndarray
        (H, W, 2); see :func:`encode_flo`.
    """
    atomic_write_bytes(path, encode_flo(flow))
