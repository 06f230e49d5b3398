"""NumPy files read back from caches and outputs, without ever unpickling an object.

``np.load`` runs pickled Python objects only with ``allow_pickle=True``; these readers pass
``allow_pickle=False`` explicitly and turn every way a file can be wrong (an object array, a
truncated or foreign file) into one :class:`ValueError` line naming the file. Every ``.npy`` /
``.npz`` the package reads back goes through them (the torch files through
:func:`faceflow.runtime.load_weights_file`).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

#: What ``np.load(allow_pickle=False)`` raises on a file that is not a plain array file: an
#: object array (ValueError), a foreign or truncated file (ValueError, OSError, EOFError, a bad zip).
_LOAD_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile)


def load_npy(path: str | os.PathLike, what: str) -> np.ndarray:
    """The array of a ``.npy`` file, read with ``allow_pickle=False``.

    Parameters
    ----------
    path : path-like
    what : str
        What the file should be, for the message (e.g. ``"landmarks file"``).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        One line ``<path>: not a <what> (...)``: an object (pickled) array, a truncated or
        foreign file.
    """
    arr = _load(path, what)
    if not isinstance(arr, np.ndarray):
        raise ValueError(f"{path}: not a {what} (an .npz archive, not one array)")
    return arr


def load_npz(path: str | os.PathLike, what: str) -> dict[str, np.ndarray]:
    """Every entry of an ``.npz`` archive, read eagerly with ``allow_pickle=False``.

    Parameters
    ----------
    path : path-like
    what : str
        What the file should be, for the message.

    Returns
    -------
    dict
        ``{name: array}``.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        One line ``<path>: not a <what> (...)``: not an archive, truncated, or an entry holding
        pickled objects.
    """
    z = _load(path, what)
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path}: not a {what} (one array, not an .npz archive)")
    try:
        with z:
            return {k: z[k] for k in z.files}
    except _LOAD_ERRORS as exc:
        raise ValueError(f"{path}: not a {what} ({_why(exc)})") from None


def _load(path, what: str):
    """``np.load(path, allow_pickle=False)`` with the one-line errors of this module."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such {what}")
    try:
        return np.load(path, allow_pickle=False)
    except _LOAD_ERRORS as exc:
        raise ValueError(f"{path}: not a {what} ({_why(exc)})") from None


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if "allow_pickle" in text:
        return "it holds pickled Python objects, which are never loaded"
    return text or type(exc).__name__
