"""Download the real sample data into a data root, from the origins pinned in the project.

The registry (:data:`REGISTRY`, ``faceflow/io/samples.csv``) is generated from the data root's
``SOURCES.csv`` by :func:`write_registry` and committed: for every sample file it gives the
public repository, the commit and path it comes from, its sha256 and size. :func:`fetch`
downloads the files with :mod:`pooch` from ``<base>/<repo>/<commit>/<path>`` (GitHub's raw
files by default, or ``$FACEFLOW_DATA_URL``), checks each sha256 before the file takes its
place, keeps partial downloads (``<root>/.fetch/*.part``) so an interrupted run resumes where
it stopped, skips files already present with the right checksum, and shows one progress bar.

A file stored with Git LFS comes back from the raw address as a small pointer; it is then
fetched from GitHub's media address. ``mer/stst_uvos/labels.csv`` is not a byte copy of its
origin: it is derived from the origin CSV (:func:`stst_labels`) and the derived file is what the
checksum verifies.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from faceflow.io.atomic import atomic_write_text
from faceflow.io.paths import inside_root

#: The committed registry of sample files.
REGISTRY = Path(__file__).with_name("samples.csv")
#: Default base address: ``<base>/<repo>/<commit>/<path>`` is the raw file.
RAW_URL = "https://raw.githubusercontent.com"
#: Where GitHub serves Git LFS objects by ``<repo>/<commit>/<path>``.
MEDIA_URL = "https://media.githubusercontent.com/media"
#: Environment variable overriding the base address (tests serve a local copy).
URL_ENV = "FACEFLOW_DATA_URL"
#: How messages name the root of the registry's ``file`` column before the data root is known.
DATA_ROOT_LABEL = "the data root"
#: Folder of partial downloads under the data root.
PARTIAL_DIR = ".fetch"
REGISTRY_FIELDS = ("file", "repo", "commit", "path", "sha256", "bytes", "derive")
_LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"


class DerivationError(RuntimeError):
    """A derived sample could not be made from its downloaded origin."""


@dataclass(frozen=True)
class Sample:
    """One registry row: where ``file`` (relative to the data root) comes from."""

    file: str
    repo: str
    commit: str
    path: str
    sha256: str
    bytes: int
    derive: str = ""

    def url(self, base: str) -> str:
        """``<base>/<repo>/<commit>/<path>``, the path percent-encoded.

        Parameters
        ----------
        base : str
            Base URL of the raw-file server.

        Returns
        -------
        str
        """
        return f"{base.rstrip('/')}/{self.repo}/{self.commit}/{quote(self.path)}"


def stst_labels(origin: bytes) -> bytes:
    """``mer/stst_uvos/labels.csv`` from HTNet's ``combined_3_class2_for_optical_flow.csv``.

    One row per STSTNet image, ``file,dataset,subject,label`` with ``file`` =
    ``<sub>_<filename_o>.png`` (the PNG names), sorted by file, CRLF line ends.

    Parameters
    ----------
    origin : bytes
        The content of HTNet's CSV.

    Returns
    -------
    bytes
        The content of ``labels.csv``.

    Raises
    ------
    ValueError
        The origin lacks one of the columns dataset, sub, filename_o, label.
    """
    rows = list(csv.DictReader(io.StringIO(origin.decode("utf-8-sig"))))
    need = {"dataset", "sub", "filename_o", "label"}
    if not rows or not need <= set(rows[0]):
        raise ValueError(
            f"STSTNet label origin: expected columns {sorted(need)}, got {sorted(rows[0]) if rows else []}"
        )
    out = sorted((f"{r['sub']}_{r['filename_o']}.png", r["dataset"], r["sub"], r["label"]) for r in rows)
    buf = io.StringIO()
    writer = csv.writer(buf)  # lineterminator \r\n, as the file in the data root
    writer.writerow(["file", "dataset", "subject", "label"])
    writer.writerows(out)
    return buf.getvalue().encode("utf-8")


#: Files that are derived from their origin rather than copied, by registry ``derive`` name.
DERIVATIONS: dict[str, Callable[[bytes], bytes]] = {"stst_labels": stst_labels}
#: Which SOURCES.csv files are derived, and how.
DERIVED_FILES = {"mer/stst_uvos/labels.csv": "stst_labels"}


def read_registry(path: str | os.PathLike = REGISTRY) -> list[Sample]:
    """The samples of a registry CSV.

    Parameters
    ----------
    path : path-like
        The registry (default: the one shipped with faceflow).

    Returns
    -------
    list of Sample

    Raises
    ------
    ValueError
        A row lacks a column, has an unknown ``derive`` name, or a ``file`` that would leave the
        data root (absolute or with ``..``; :func:`faceflow.io.paths.inside_root`).
    """
    samples = []
    with open(path, newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            try:
                s = Sample(**{k: row[k] for k in REGISTRY_FIELDS if k != "bytes"}, bytes=int(row["bytes"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{n}: bad registry row ({exc})") from exc
            if s.derive and s.derive not in DERIVATIONS:
                raise ValueError(f"{path}:{n}: unknown derivation {s.derive!r} for {s.file}")
            inside_root(DATA_ROOT_LABEL, s.file, f"{path}:{n}: file")
            samples.append(s)
    return samples


def write_registry(sources: str | os.PathLike, dest: str | os.PathLike = REGISTRY) -> list[Sample]:
    """Generate the registry from a data root's ``SOURCES.csv``; returns its samples.

    Parameters
    ----------
    sources : path-like
        A data root's ``SOURCES.csv``.
    dest : path-like
        The registry to write.

    Returns
    -------
    list of Sample

    Raises
    ------
    ValueError
        A row of ``sources`` lacks a repository, commit, path or sha256, or names a file outside
        the data root (absolute or with ``..``); nothing is written then.
    """
    samples = []
    with open(sources, newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            missing = [k for k in ("file", "repo", "commit", "path", "sha256", "bytes") if not row.get(k)]
            if missing:
                raise ValueError(f"{sources}:{n}: {row.get('file')!r} lacks {', '.join(missing)}")
            inside_root(Path(sources).parent, row["file"], f"{sources}:{n}: file")
            samples.append(
                Sample(
                    row["file"],
                    row["repo"],
                    row["commit"],
                    row["path"],
                    row["sha256"],
                    int(row["bytes"]),
                    DERIVED_FILES.get(row["file"], ""),
                )
            )
    samples.sort(key=lambda s: s.file)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(REGISTRY_FIELDS)
    for s in samples:
        writer.writerow([s.file, s.repo, s.commit, s.path, s.sha256, s.bytes, s.derive])
    atomic_write_text(dest, buf.getvalue())
    return samples


def select(samples: list[Sample], only: Iterable[str] | None) -> list[Sample]:
    """The samples under any of the folders or files ``only`` (e.g. ``sintel``, ``mer/stst_uvos``,
    ``faces/*.mp4``); all when ``only`` is empty.

    Parameters
    ----------
    samples : list of Sample
    only : iterable of str, optional
        Folders, files or glob patterns relative to the data root.

    Returns
    -------
    list of Sample

    Raises
    ------
    ValueError
        A name matches no sample; the message lists the top-level folders.
    """
    names = [n.strip("/") for n in (only or [])]
    if not names:
        return list(samples)
    chosen = []
    for name in names:
        hits = [s for s in samples if s.file == name or s.file.startswith(name + "/") or fnmatch.fnmatch(s.file, name)]
        if not hits:
            tops = sorted({s.file.split("/")[0] for s in samples})
            raise ValueError(f"--only {name}: no sample file there; choose from {', '.join(tops)} (or a sub-folder)")
        chosen += [s for s in hits if s not in chosen]
    return chosen


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file.

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    str
    """
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class FetchReport:
    """What :func:`fetch` did: files downloaded, files already there, files that failed (why)."""

    downloaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


class _Download:
    """A pooch downloader: resumes ``.part`` files with HTTP ranges, follows Git LFS pointers to
    the media address, derives a file from its origin, and advances one shared progress bar."""

    def __init__(self, sample: Sample, part: Path, media_base: str | None, progress, timeout: float = 60.0):
        self.sample, self.part, self.media_base = sample, part, media_base
        self.progress, self.timeout = progress, timeout
        self.counted = 0

    def _advance(self, n: int) -> None:
        step = max(0, min(n, self.sample.bytes - self.counted))
        self.counted += step
        if self.progress is not None and step:
            self.progress.update(step)

    def _get(self, url: str) -> None:
        import requests

        have = self.part.stat().st_size if self.part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        with requests.get(url, headers=headers, stream=True, timeout=self.timeout) as r:
            if r.status_code == 416:  # the partial file is already complete
                return
            r.raise_for_status()
            mode = "ab" if r.status_code == 206 else "wb"
            if mode == "wb":
                have = 0
            self._advance(have)
            self.part.parent.mkdir(parents=True, exist_ok=True)
            with open(self.part, mode) as fh:
                for chunk in r.iter_content(chunk_size=1 << 16):
                    fh.write(chunk)
                    self._advance(len(chunk))

    def _is_lfs_pointer(self) -> bool:
        with open(self.part, "rb") as fh:
            return fh.read(len(_LFS_POINTER)) == _LFS_POINTER

    def __call__(self, url: str, output_file, pooch, check_only: bool = False) -> None:
        self._get(url)
        if self.media_base and self._is_lfs_pointer():
            self.part.unlink()
            self._get(self.sample.url(self.media_base))
        data = self.part.read_bytes()
        # the partial file has served its purpose: a bad checksum must not be resumed from
        self.part.unlink()
        if self.sample.derive:
            try:
                data = DERIVATIONS[self.sample.derive](data)
            except (ValueError, UnicodeDecodeError) as exc:
                raise DerivationError(f"cannot derive {self.sample.file} from {url}: {exc}") from exc
        Path(output_file).write_bytes(data)
        self._advance(self.sample.bytes)


def fetch(
    root: str | os.PathLike,
    only: Iterable[str] | None = None,
    base_url: str | None = None,
    registry: str | os.PathLike = REGISTRY,
    progress: bool = True,
) -> FetchReport:
    """Download the registry's samples (or those under ``only``) into the data root ``root``.

    Parameters
    ----------
    root : path-like
        The data root; created when missing.
    only : iterable of str, optional
        Folders or files to fetch (:func:`select`).
    base_url : str, optional
        Base address of ``<repo>/<commit>/<path>``; default ``$FACEFLOW_DATA_URL`` or GitHub's raw files.
    registry : path-like
        The registry CSV (default: the committed one).
    progress : bool
        One progress bar over the bytes to download.

    Returns
    -------
    FetchReport
        A file whose download failed or whose checksum did not match is in ``failed`` (with the
        reason) and is not written; the other files are fetched all the same.
    """
    import pooch
    import requests
    from tqdm.auto import tqdm

    pooch.get_logger().setLevel("WARNING")
    root = Path(root).expanduser().resolve()
    base = base_url or os.environ.get(URL_ENV) or RAW_URL
    media = MEDIA_URL if base.rstrip("/") == RAW_URL else None
    samples = select(read_registry(registry), only)
    report = FetchReport()
    todo = []
    for s in samples:  # read_registry refused names leaving the root; checked again where they are joined
        target = inside_root(root, s.file, f"{registry}: file")
        if target.is_file() and target.stat().st_size == s.bytes and sha256_of(target) == s.sha256:
            report.present.append(s.file)
        else:
            todo.append(s)
    if not todo:
        return report
    store = pooch.create(
        path=root,
        base_url=base,
        registry={s.file: f"sha256:{s.sha256}" for s in todo},
        urls={s.file: s.url(base) for s in todo},
    )
    umask = os.umask(0)
    os.umask(umask)
    total = sum(s.bytes for s in todo)
    if progress:
        print(f"fetching {len(todo)} files ({total / 1e6:.1f} MB) into {root}", flush=True)
    bar = tqdm(total=total, unit="B", unit_scale=True, disable=not progress, desc="faceflow data fetch")
    try:
        for s in todo:
            download = _Download(s, root / PARTIAL_DIR / f"{s.file}.part", media, bar)
            try:
                store.fetch(s.file, downloader=download)
            except ValueError as exc:  # pooch: the sha256 did not match
                report.failed[s.file] = f"checksum mismatch, file not written ({str(exc).splitlines()[0]})"
            except requests.exceptions.RequestException as exc:
                report.failed[s.file] = f"download failed from {s.url(base)}: {exc}"
            except DerivationError as exc:
                report.failed[s.file] = str(exc)
            else:
                # pooch writes through a private temporary file: give the sample the usual mode
                os.chmod(root / s.file, 0o666 & ~umask)
                report.downloaded.append(s.file)
            download._advance(s.bytes)
    finally:
        bar.close()
    partial = root / PARTIAL_DIR
    if partial.is_dir() and not any(p.is_file() for p in partial.rglob("*")):
        shutil.rmtree(partial)
    return report
