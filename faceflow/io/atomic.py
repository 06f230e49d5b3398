"""Atomic file writing shared by every writer in the package.

A writer produces the complete content in a temporary file in the destination folder and
renames it over the target, so a crash or a kill never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

#: Mode bits of a new file before the umask is applied (what ``open(path, "w")`` uses).
NEW_FILE_MODE = 0o666


def current_umask() -> int:
    """The process's umask (read from ``/proc/self/status`` where possible: no global change).

    Returns
    -------
    int
        The umask bits, e.g. ``0o022``.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file next to ``path``; rename it onto ``path`` on success.

    Parameters
    ----------
    path : path-like
        Final destination. Its parent folder is created if needed.
    mode : {"wb", "w"}
        Binary or text mode.

    Yields
    ------
    file object
        Write the full content to it. If the ``with`` body raises, the temporary file is
        removed and ``path`` is left untouched.

    Raises
    ------
    ValueError
        ``mode`` is neither ``"wb"`` nor ``"w"``.
    OSError
        Writing failed (e.g. ``ENOSPC``, disk full); the error's ``filename`` is ``path``.

    Notes
    -----
    The file gets the usual mode of a new file, ``0o666`` less the umask (``mkstemp`` alone
    would leave it ``0o600``).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, mode) as fh:
            os.fchmod(fh.fileno(), NEW_FILE_MODE & ~current_umask())
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # disk full, permissions...: the error names the destination
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically.

    Parameters
    ----------
    path : path-like
        Final destination (see :func:`atomic_write`).
    data : bytes
        The whole content.
    """
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    Parameters
    ----------
    path : path-like
        Final destination (see :func:`atomic_write`).
    text : str
        The whole content.
    """
    atomic_write_bytes(path, text.encode("utf-8"))
