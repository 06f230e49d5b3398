"""Which cached results a chapter read: the files of its output folder that existed before the build.

A chapter's time is a *first run* only when it computed everything it shows: it read no result
that an earlier build left under the profile's output folder (``outputs/<profile>``: datasets,
trained runs, evaluations, features, LOSO predictions). The build records this per chapter:

1. :func:`snapshot` lists every file under the output folder (size and modification time) before
   the build executes its first chapter;
2. the chapter's kernel loads this module as an IPython extension (``--ext=faceflow.book.cachelog``,
   :func:`load_ipython_extension`), which installs a Python audit hook (:class:`ReadLog`) that
   writes to a log each file under the output folder the kernel opens for reading (``open``
   events: Python's ``open``, ``Path.read_bytes``, ``numpy.load``, ``torch.load``, pandas and
   PIL readers all raise it) and each folder it lists (``os.listdir``/``os.scandir``: glob,
   ``iterdir``), with the file's size and modification time at that moment;
3. :func:`cached_reads` keeps the logged files that are in the snapshot unchanged (a file the
   build rewrote before reading it is not a cached result) and the listed folders that held files
   of the snapshot.

A chapter is a first run when that list is empty and its own folder (``outputs/<profile>/<chapter>``)
held no file of the snapshot either. Reads by worker processes the kernel spawns are not seen;
every cache of the package is opened (or its folder listed) by the kernel itself.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

#: Environment variables that tell a chapter's kernel to log its reads: the output folder, the log file.
ROOT_ENV = "FACEFLOW_CACHE_ROOT"
LOG_ENV = "FACEFLOW_CACHE_LOG"

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def snapshot(root: str | os.PathLike, exclude: Iterable[str] = ()) -> dict[str, tuple[int, int]]:
    """Every file under ``root``: ``{path relative to root: (size, mtime_ns)}``.

    Parameters
    ----------
    root : path-like
        The output folder (absent: an empty snapshot).
    exclude : iterable of str
        Relative paths left out (the build's own records).

    Returns
    -------
    dict
    """
    root = Path(root)
    skip = set(exclude)
    out = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            if rel in skip or not path.is_file():  # a broken link is no result
                continue
            st = path.stat()
            out[rel] = (st.st_size, st.st_mtime_ns)
    return out


def reads_for_writing(mode, flags) -> bool:
    """Whether an ``open`` audit event opens a file for writing.

    Parameters
    ----------
    mode : str or None
        ``open()``'s mode (None for ``os.open``).
    flags : int
        ``os.open``'s flags (0 for ``open()``).

    Returns
    -------
    bool
    """
    if isinstance(mode, str):
        return bool(set(mode) & set("wax+"))
    return bool(int(flags or 0) & _WRITE_FLAGS)


class ReadLog:
    """An audit hook (:func:`sys.addaudithook`) that logs reads under ``root`` to ``log``.

    The first line is ``start<TAB>output folder``; then each line is
    ``open<TAB>relative path<TAB>size<TAB>mtime_ns`` for a file opened for reading or
    ``list<TAB>relative folder`` for a listed folder (``.`` for ``root`` itself); each is
    written once, and flushed at once (so a chapter that fails still leaves its log).

    Parameters
    ----------
    root : path-like
        The output folder.
    log : path-like
        The log file (appended to; it must lie outside ``root``).
    """

    def __init__(self, root: str | os.PathLike, log: str | os.PathLike):
        given = os.path.abspath(root)
        self.roots = sorted({given, os.path.realpath(given)}, key=len, reverse=True)
        self.seen: set[str] = set()
        self.active = False
        self.log = open(log, "a", encoding="utf-8")  # noqa: SIM115 (open for the kernel's lifetime)
        self.log.write(f"start\t{given}\n")  # the log exists: the reads were watched
        self.log.flush()

    def relative(self, path) -> str | None:
        """``path`` relative to the output folder, or None when it lies elsewhere."""
        if isinstance(path, int):
            return None
        try:
            path = os.fsdecode(os.fspath(path))
        except TypeError:
            return None
        full = os.path.abspath(path)
        for root in self.roots:
            if full == root:
                return "."
            if full.startswith(root + os.sep):
                return full[len(root) + 1 :]
        return None

    def __call__(self, event: str, args: tuple) -> None:
        if self.active or event not in ("open", "os.listdir", "os.scandir"):
            return
        self.active = True  # writing the log raises events of its own
        try:
            if event == "open":
                path, mode, flags = (tuple(args) + (None, 0))[:3]
                rel = self.relative(path)
                if rel is None or reads_for_writing(mode, flags) or not os.path.isfile(path):
                    return
                st = os.stat(path)
                line = f"open\t{rel}\t{st.st_size}\t{st.st_mtime_ns}"
            else:
                rel = self.relative(args[0] if args and args[0] is not None else ".")
                if rel is None:
                    return
                line = f"list\t{rel}"
            if line not in self.seen:
                self.seen.add(line)
                self.log.write(line + "\n")
                self.log.flush()
        finally:
            self.active = False


def install(root: str | os.PathLike, log: str | os.PathLike) -> ReadLog:
    """Install a :class:`ReadLog` in this process (for the rest of its life).

    Parameters
    ----------
    root, log : path-like
        See :class:`ReadLog`.

    Returns
    -------
    ReadLog
    """
    hook = ReadLog(root, log)
    sys.addaudithook(hook)
    return hook


def load_ipython_extension(ipython) -> None:
    """Log the kernel's reads when the build set :data:`ROOT_ENV` and :data:`LOG_ENV`.

    Parameters
    ----------
    ipython : IPython.core.interactiveshell.InteractiveShell
        Unused.
    """
    if os.environ.get(ROOT_ENV) and os.environ.get(LOG_ENV):
        install(os.environ[ROOT_ENV], os.environ[LOG_ENV])


def cached_reads(log: str | os.PathLike, before: dict[str, tuple[int, int]]) -> list[str]:
    """The results of earlier builds a chapter read: its logged reads that are in ``before``.

    Parameters
    ----------
    log : path-like
        The chapter's :class:`ReadLog` log (absent: nothing was read).
    before : dict
        :func:`snapshot` of the output folder taken before the build ran its first chapter.

    Returns
    -------
    list of str
        Sorted relative paths: each file read whose size and modification time were those of the
        snapshot, and each listed folder (ending in ``/``) that held a file of the snapshot.
    """
    log = Path(log)
    if not log.is_file():
        return []
    found = set()
    for line in log.read_text(encoding="utf-8").splitlines():
        kind, rel, *stat = line.split("\t")
        if kind == "open" and before.get(rel) == (int(stat[0]), int(stat[1])):
            found.add(rel)
        elif kind == "list":
            prefix = "" if rel == "." else rel + "/"
            if any(path.startswith(prefix) for path in before):
                found.add(prefix or "./")
    return sorted(found)


def held_files(before: dict[str, tuple[int, int]], folder: str) -> bool:
    """Whether the snapshot ``before`` holds a file under the relative ``folder``.

    Parameters
    ----------
    before : dict
        :func:`snapshot` of the output folder.
    folder : str
        A relative folder (a chapter's, e.g. ``05_micro_expressions``).

    Returns
    -------
    bool
    """
    return any(path.startswith(folder.rstrip("/") + "/") for path in before)
