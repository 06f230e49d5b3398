"""Middlebury ``.flo`` optical-flow files.

Layout (little endian): float32 magic 202021.25 (the bytes ``PIEH``), int32 width,
int32 height, then ``height * width * 2`` float32 values, u and v interleaved row by row.

Unknown flow: the Middlebury convention marks a pixel whose flow is unknown with a component
larger than :data:`UNKNOWN_THRESHOLD` (1e9) in absolute value; other datasets write NaN. faceflow's
ground truth (``faceflow gt``, Sintel, FlyingChairs) has no unknown pixels, so by default reading
such a file is an error naming the file and the number of pixels (``unknown="error"``): a NaN
must never turn silently into a smaller mean EPE or a non-finite training loss. A caller that
wants to mask them reads with ``unknown="nan"`` (every unknown pixel becomes NaN in u and v, see
:func:`unknown_mask`) or ``unknown="keep"`` (the raw values).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from faceflow.io.arrays import load_npz
from faceflow.io.atomic import atomic_write_bytes

MAGIC = 202021.25
_MAGIC_BYTES = struct.pack("<f", MAGIC)
_HEADER = 12
#: Largest width or height accepted when reading; guards against garbage headers.
MAX_DIM = 1 << 15
#: Middlebury's "unknown flow" marker: a component above this in absolute value.
UNKNOWN_THRESHOLD = 1e9
#: What :func:`read_flo` does with unknown pixels.
UNKNOWN_POLICIES = ("error", "nan", "keep")


class FloFormatError(ValueError):
    """A ``.flo`` file (or buffer) is malformed. The message names the file and the problem."""


def unknown_mask(flow: np.ndarray) -> np.ndarray:
    """Pixels whose flow is unknown: NaN, inf, or a component above 1e9 in absolute value.

    Parameters
    ----------
    flow : numpy.ndarray
        (H, W, 2) flow.

    Returns
    -------
    numpy.ndarray
        (H, W) bool.
    """
    flow = np.asarray(flow)
    with np.errstate(invalid="ignore"):
        return ~(np.abs(flow) <= UNKNOWN_THRESHOLD).all(axis=-1)


def decode_flo(data: bytes, name: str = "<bytes>", unknown: str = "error") -> np.ndarray:
    """Decode the bytes of a ``.flo`` file.

    Parameters
    ----------
    data : bytes
        Whole file content.
    name : str
        Used in error messages.
    unknown : {"error", "nan", "keep"}
        Pixels with unknown flow (:func:`unknown_mask`): raise (default), set to NaN, or keep
        the stored values.

    Returns
    -------
    numpy.ndarray
        float32 array of shape (H, W, 2): ``[..., 0]`` is u (x), ``[..., 1]`` is v (y).

    Raises
    ------
    FloFormatError
        Bad magic, bad dimensions, truncated data or trailing bytes; with ``unknown="error"``,
        unknown pixels (the message gives their number and the first one).
    """
    if unknown not in UNKNOWN_POLICIES:
        raise ValueError(f"unknown must be one of {UNKNOWN_POLICIES}, got {unknown!r}")
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
    flow = np.frombuffer(data, dtype="<f4", offset=_HEADER).reshape(height, width, 2).astype(np.float32)
    if unknown == "keep":
        return flow
    bad = unknown_mask(flow)
    if bad.any() and unknown == "error":
        y, x = np.argwhere(bad)[0]
        raise FloFormatError(
            f"{name}: {int(bad.sum())} of {bad.size} pixels have unknown flow (NaN, inf or above "
            f"{UNKNOWN_THRESHOLD:g}; first at x={x}, y={y}): not usable as ground truth"
        )
    flow[bad] = np.nan
    return flow


def read_flo(path: str | os.PathLike, unknown: str = "error") -> np.ndarray:
    """Read a ``.flo`` file into an (H, W, 2) float32 array. See :func:`decode_flo`.

    Parameters
    ----------
    path : path-like
    unknown : {"error", "nan", "keep"}
        What to do with unknown or non-finite flow (see :func:`decode_flo`).

    Returns
    -------
    numpy.ndarray
        float32 (H, W, 2).

    Raises
    ------
    FileNotFoundError
        No such file.
    FloFormatError
        A malformed file, or (with ``unknown="error"``, the default) unknown or non-finite flow.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such .flo file") from None
    return decode_flo(data, name=str(path), unknown=unknown)


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


#: Flow file formats of ``faceflow gt``: Middlebury ``.flo`` (float32, the default) or a
#: zlib-compressed NumPy archive holding the field as float16 (``.npz``).
FLOW_FORMATS = {"flo": ".flo", "f16": ".npz"}


def encode_flow_f16(flow: np.ndarray) -> bytes:
    """An (H, W, 2) flow as a compressed NumPy archive of float16 (``flow`` entry).

    float16 keeps 11 significant bits: the rounding error is at most ``abs(u) * 2**-11`` per
    component (about 0.01 px at 20 px), below 1e-3 px under 2 px.

    Parameters
    ----------
    flow : numpy.ndarray
        (H, W, 2), finite, components within float16's range (absolute values below 65504).

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        Wrong shape, or values float16 cannot hold.
    """
    import io

    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow must have shape (H, W, 2), got {flow.shape}")
    if not np.isfinite(flow).all() or np.abs(flow).max(initial=0) >= 65504:
        raise ValueError("flow holds NaN, inf or values beyond float16's range (65504)")
    buf = io.BytesIO()
    np.savez_compressed(buf, flow=flow.astype(np.float16))
    return buf.getvalue()


def read_flow(path: str | os.PathLike) -> np.ndarray:
    """Read a flow file of any :data:`FLOW_FORMATS` (by extension) as (H, W, 2) float32.

    The one reader of stored ground truth: :meth:`faceflow.io.datasets.FlowPairRef.load` uses it.

    Parameters
    ----------
    path : path-like
        ``.flo`` or ``.npz`` (float16 ``flow`` entry).

    Returns
    -------
    numpy.ndarray
        float32 (H, W, 2).

    Raises
    ------
    FileNotFoundError
        No such file.
    FloFormatError
        Malformed file, unknown extension, or an archive without an (H, W, 2) ``flow`` entry.

    Examples
    --------
    Write a flow, read it back: ``.flo`` is exact, ``.npz`` (float16) within its rounding.

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from faceflow.io.flo import encode_flow_f16, read_flow, write_flo
    >>> flow = np.zeros((4, 5, 2), np.float32)
    >>> flow[..., 0] = 1.5
    >>> flow[2, 3] = (-2.0, 0.3)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_flo(pathlib.Path(folder) / "pair.flo", flow)
    ...     _ = (pathlib.Path(folder) / "pair.npz").write_bytes(encode_flow_f16(flow))
    ...     exact = read_flow(pathlib.Path(folder) / "pair.flo")
    ...     compact = read_flow(pathlib.Path(folder) / "pair.npz")
    >>> exact.shape, exact.dtype
    ((4, 5, 2), dtype('float32'))
    >>> bool(np.array_equal(exact, flow)), bool(np.abs(compact - flow).max() < 1e-3)
    (True, True)
    """
    path = Path(path)
    if path.suffix.lower() == ".flo":
        return read_flo(path)
    if path.suffix.lower() != ".npz":
        raise FloFormatError(f"{path}: unknown flow format (expected .flo or .npz)")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such flow file")
    try:
        flow = load_npz(path, "readable flow archive").get("flow")
    except ValueError as exc:
        raise FloFormatError(str(exc)) from None
    if flow is None or flow.ndim != 3 or flow.shape[2] != 2:
        raise FloFormatError(f"{path}: no (H, W, 2) 'flow' entry")
    return flow.astype(np.float32)
