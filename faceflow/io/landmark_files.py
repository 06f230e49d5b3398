"""Landmark files: OpenFace 2.x CSVs, the CK+ ``*_landmarks.txt`` files, and ``.npy`` arrays.

Every reader returns 68-point iBUG landmarks (the layout of dlib's predictor and of OpenFace) as
``(N, 68, 2)`` float64 ``(x, y)`` pixel positions, one row per frame in frame order, NaN where a
frame has no face. :func:`read_landmarks` picks the reader from the file type.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceflow.io.images import natural_key

#: Points of the iBUG 68-point layout.
N_LANDMARKS = 68


def read_openface_csv(path, min_confidence: float = 0.0) -> np.ndarray:
    """Landmarks from an OpenFace 2.x ``FeatureExtraction``/``FaceLandmarkImg`` CSV.

    Uses columns ``x_0..x_67``, ``y_0..y_67`` (column names may carry leading spaces, as
    OpenFace writes them). Rows with ``success == 0`` or ``confidence < min_confidence`` become
    NaN (frames without a face). When a ``face_id`` column holds several faces, the first face id
    is kept.

    Parameters
    ----------
    path : path-like
    min_confidence : float

    Returns
    -------
    ndarray, shape (N, 68, 2), float64
        In frame order.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A landmark column is missing.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such OpenFace CSV")
    df = pd.read_csv(path, skipinitialspace=True)
    df.columns = [c.strip() for c in df.columns]
    xs = [f"x_{i}" for i in range(N_LANDMARKS)]
    ys = [f"y_{i}" for i in range(N_LANDMARKS)]
    missing = [c for c in xs + ys if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: not an OpenFace landmark CSV (missing columns {missing[:3]}...)")
    if "face_id" in df.columns and df["face_id"].nunique() > 1:
        df = df[df["face_id"] == df["face_id"].iloc[0]]
    if "frame" in df.columns:
        df = df.sort_values("frame", kind="stable")
    lm = np.stack([df[xs].to_numpy(np.float64), df[ys].to_numpy(np.float64)], axis=-1)
    bad = np.zeros(len(df), bool)
    if "success" in df.columns:
        bad |= df["success"].to_numpy() == 0
    if "confidence" in df.columns:
        bad |= df["confidence"].to_numpy(np.float64) < min_confidence
    lm[bad] = np.nan
    return lm


def read_ckplus_txt(path) -> np.ndarray:
    """One CK+ ``Landmarks/Sxxx/nnn/*_landmarks.txt`` file: 68 lines of ``x y`` -> (68, 2).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    ndarray, shape (68, 2), float64

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not 136 numbers.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such CK+ landmark file")
    vals = np.array(path.read_text().split(), dtype=np.float64)
    if vals.size != 2 * N_LANDMARKS:
        raise ValueError(f"{path}: expected {2 * N_LANDMARKS} numbers (68 x, y pairs), got {vals.size}")
    return vals.reshape(N_LANDMARKS, 2)


def read_ckplus_sequence(folder, frames: list | None = None) -> np.ndarray:
    """CK+ landmarks of one sequence folder (``Landmarks/Sxxx/nnn``), one per frame, in name order.

    With ``frames`` (the image paths of ``cohn-kanade-images/Sxxx/nnn``), landmarks are matched
    by file stem (``S005_001_00000001.png`` <-> ``S005_001_00000001_landmarks.txt``) and frames
    without a file get NaN.

    Parameters
    ----------
    folder : path-like
    frames : list of path-like, optional

    Returns
    -------
    ndarray, shape (N, 68, 2), float64

    Raises
    ------
    FileNotFoundError
        No landmark file in ``folder``.
    ValueError
        A malformed landmark file.
    """
    folder = Path(folder)
    files = sorted(folder.glob("*_landmarks.txt"), key=natural_key)
    if not files:
        raise FileNotFoundError(f"{folder}: no *_landmarks.txt files")
    if frames is None:
        return np.stack([read_ckplus_txt(f) for f in files])
    by_stem = {f.name[: -len("_landmarks.txt")]: f for f in files}
    out = np.full((len(frames), N_LANDMARKS, 2), np.nan)
    for i, p in enumerate(frames):
        f = by_stem.get(Path(p).stem)
        if f is not None:
            out[i] = read_ckplus_txt(f)
    return out


def read_landmarks_npy(path) -> np.ndarray:
    """A ``.npy`` of shape (N, 68, 2) (or (68, 2) for one frame); NaN marks frames without a face.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    ndarray, shape (N, 68, 2), float64

    Raises
    ------
    ValueError
        Another shape, or not a plain array file (pickled objects are never loaded).
    """
    from faceflow.io.arrays import load_npy

    path = Path(path)
    arr = load_npy(path, "landmarks .npy file")
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (N_LANDMARKS, 2):
        raise ValueError(f"{path}: expected shape (N, 68, 2), got {arr.shape}")
    return arr.astype(np.float64)


def read_landmarks(path, frames: list | None = None) -> np.ndarray:
    """Dispatch on the file type: OpenFace ``.csv``, CK+ folder or ``.txt``, ``.npy``.

    Parameters
    ----------
    path : path-like
    frames : list of path-like, optional
        Frame paths to match (CK+ folders only).

    Returns
    -------
    ndarray, shape (N, 68, 2), float64

    Raises
    ------
    ValueError
        Unknown file type, or a malformed file.
    FileNotFoundError
        No such file.
    """
    path = Path(path)
    if path.is_dir():
        return read_ckplus_sequence(path, frames)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return read_openface_csv(path)
    if suffix == ".npy":
        return read_landmarks_npy(path)
    if suffix == ".txt":
        return read_ckplus_txt(path)[None]
    raise ValueError(f"{path}: unknown landmark file type (expected .csv, .npy, .txt or a CK+ folder)")
