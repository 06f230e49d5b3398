"""Paths that come from data files, and outputs that must not land on inputs.

Two rules of trust, each checked in one place:

* :func:`inside_root`: a path read from a data file (a manifest's frame and flow columns, the
  sample registry and ``SOURCES.csv``, a label file, a subject name that becomes a file name)
  must stay under the root it is relative to. An absolute path, a drive, a ``..`` component or
  an empty or NUL-carrying name is refused with one line *before* anything is read or written,
  and the refusal is decided on the text alone, so the message is the same whether or not the
  outside file exists (nothing about the world outside the root leaks).
* :func:`refuse_output_over_input`: a command whose output is one of its inputs refuses with one
  line instead of overwriting what it reads (resolved paths are compared: ``./a`` and ``a``, a
  symlink and its target are the same file).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath, PureWindowsPath


class UnsafePathError(ValueError):
    """A path from a data file that would leave its root (absolute, a drive, ``..``)."""


class OutputOverInputError(ValueError):
    """An output path that is one of the command's inputs."""


def unsafe_reason(name: str) -> str | None:
    """Why ``name`` may not be used as a path relative to a root, or None when it may.

    The decision is lexical (no file-system access): absolute paths (POSIX or Windows), drive
    letters, ``..`` components (with ``/`` or ``\\`` separators), NUL characters and empty names
    are refused.

    Parameters
    ----------
    name : str
        The path as written in the data file.

    Returns
    -------
    str or None
        A short reason, e.g. ``"an absolute path"``.
    """
    if not name or not name.strip():
        return "an empty path"
    if "\x00" in name:
        return "a path with a NUL character"
    win = PureWindowsPath(name)
    if PurePosixPath(name).is_absolute() or win.is_absolute() or win.drive or win.root:
        return "an absolute path"
    if ".." in PurePosixPath(name).parts or ".." in win.parts:
        return "a path with a '..' component"
    return None


def inside_root(root: str | os.PathLike, name, source: str) -> Path:
    """``root / name`` for a path ``name`` read from the data file ``source``; refused if it leaves ``root``.

    Parameters
    ----------
    root : path-like
        The folder ``name`` is relative to (a dataset folder, the data root, a cache folder).
    name : str or path-like
        The path as read from the data file.
    source : str
        Where ``name`` was read, for the message (e.g. ``"<manifest>: row 3, column img1"``).

    Returns
    -------
    pathlib.Path
        ``root / name``.

    Raises
    ------
    UnsafePathError
        One line ``<source>: refused path '<name>' (<why>); paths in data files must stay inside
        <root>``. The same message whether or not the target exists.
    """
    text = os.fspath(name) if isinstance(name, os.PathLike) else str(name)
    why = unsafe_reason(text)
    if why is not None:
        raise UnsafePathError(f"{source}: refused path {text!r} ({why}); paths in data files must stay inside {root}")
    return Path(root) / text


def safe_name(name, source: str, what: str = "name") -> str:
    """A name from a data file that becomes one file name (e.g. a subject's ``<subject>.csv``).

    Parameters
    ----------
    name : str
        As read from the data file.
    source : str
        Where it was read, for the message.
    what : str
        What the name is (``"subject"``), for the message.

    Returns
    -------
    str
        ``name``, unchanged.

    Raises
    ------
    UnsafePathError
        The name is not one plain path component: empty, absolute, ``..``, ``.``, or holding a
        ``/`` or ``\\`` (the same message whether or not such a file exists).
    """
    text = str(name)
    why = unsafe_reason(text)
    if why is None and (text in (".", "..") or "/" in text or "\\" in text):
        why = "not a single file name"
    if why is not None:
        raise UnsafePathError(f"{source}: refused {what} {text!r} ({why}); it names a file and must be a plain name")
    return text


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same file once resolved (symlinks followed, ``./a`` == ``a``).

    Parameters
    ----------
    a, b : path-like

    Returns
    -------
    bool
        Also True for two hard links of one existing file.
    """
    pa, pb = Path(a).expanduser(), Path(b).expanduser()
    if pa.exists() and pb.exists():
        return os.path.samefile(pa, pb)
    return pa.resolve() == pb.resolve()


def refuse_output_over_input(output: str | os.PathLike | None, inputs: Iterable, what: str = "output") -> None:
    """Refuse (one line) when ``output`` is the same file as one of ``inputs``.

    Parameters
    ----------
    output : path-like or None
        The file a command is about to write (None: nothing to check).
    inputs : iterable of path-like or None
        The files it reads (None entries are skipped); may be long (every file of a dataset).
    what : str
        How the output is named in the message, e.g. ``"--png"``.

    Raises
    ------
    OutputOverInputError
        ``<what> <output> is the input <input>; refusing to overwrite an input``.
    """
    if output is None:
        return
    out = Path(output).expanduser().resolve()  # "sub/../a" is "a" once the writer makes "sub"
    if out.exists():  # an existing output can only be an existing input: compare the files
        key = (out.stat().st_dev, out.stat().st_ino)
        hits = (s for s in inputs if s is not None and os.path.exists(s) and _file_key(s) == key)
    else:  # a new file can only be an input that does not exist yet either
        hits = (s for s in inputs if s is not None and not os.path.exists(s) and Path(s).expanduser().resolve() == out)
    src = next(hits, None)
    if src is not None:
        raise OutputOverInputError(f"{what} {output} is the input {src}; refusing to overwrite an input")


def _file_key(path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino
