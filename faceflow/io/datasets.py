"""One configurable data root and readers for the dataset layouts found under it.

The root is, in order: the ``root`` argument, the ``FACEFLOW_DATA`` environment variable,
``./data``. The Makefile points ``FACEFLOW_DATA`` at ``../shared/data`` when it exists.
:class:`DataRoot` is that root resolved once (:meth:`DataRoot.resolve`, the one resolver); the
edges (a chapter's setup, the CLI) make it and pass it down, and every function here that takes
a root accepts a DataRoot or a path (:meth:`DataRoot.of`).

Readers accept both the small sample layouts shipped with the project's shared data and the
real on-disk layouts of the full (licensed) datasets:

* MPI-Sintel: sample ``sintel/<scene>/<pass>/frame_NNNN.png`` + ``sintel/<scene>/flow/``;
  real ``training/<pass>/<scene>/frame_NNNN.png`` + ``training/flow/<scene>/``.
* FlyingChairs: sample ``flyingchairs/NNNNNNN-img0.ppm, -img1.ppm, -gt.flo``;
  real ``FlyingChairs_release/data/NNNNN_img1.ppm, _img2.ppm, _flow.flo``.
* OpenFace samples: ``openface/image_sequence/*.jpg`` and ``openface/*.wmv|*.avi``.
* The face video corpus: ``faces/<source>/*.mp4`` (97 real videos of about 55 people), read with
  :func:`face_clips` together with the project's reviewed clip -> subject table
  (:func:`face_subjects`, ``faceflow/io/face_subjects.csv``, made by ``faceflow faces subjects``).
* STSTNet inputs: ``mer/stst_uvos/*.png`` with ``labels.csv`` (file, dataset, subject, label).
* Micro-expression clips, onset to offset: ``mer/clips/*.gif``.

Whether a dataset is there is asked with :func:`locate`, never by catching an error.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceflow.io.images import VIDEO_EXTS, list_images, read_image
from faceflow.io.paths import inside_root, safe_name

ENV_VAR = "FACEFLOW_DATA"


class DataNotFoundError(FileNotFoundError):
    """A data root or dataset is missing. The message says what and where to put it."""


#: Path-likes a library function accepts as its data root, besides a :class:`DataRoot`.
RootLike = str | os.PathLike | None


@dataclass(frozen=True)
class DataRoot:
    """The data root, resolved once: where it was looked for, which setting named it, and whether it is there.

    Made by :meth:`resolve` (the one resolver: argument, else ``$FACEFLOW_DATA``, else
    ``./data``) at the edge (a chapter's :func:`~faceflow.book.chapter.setup`, the CLI) and
    passed down; a library function that takes ``data_root`` coerces it with :meth:`of`, which
    returns a DataRoot unchanged, so the root is not resolved a second time on the way down.

    Attributes
    ----------
    location : pathlib.Path
        Where the data root is looked for (absolute), whether or not it exists.
    source : str
        Which setting named it: ``"argument"``, ``"$FACEFLOW_DATA"`` or ``"default"``.
    path : pathlib.Path or None
        ``location`` when it was a folder when resolved, else None.
    missing : str or None
        None when the root is there, else one sentence saying where it was looked for.
    """

    location: Path
    source: str
    path: Path | None
    missing: str | None

    @classmethod
    def resolve(cls, root: RootLike = None) -> DataRoot:
        """Resolve the data root: ``root``, else ``$FACEFLOW_DATA``, else ``./data``.

        Parameters
        ----------
        root : path-like, optional
            Explicit data root; empty or None means the environment variable or ``./data``.

        Returns
        -------
        DataRoot
            Never raises for a missing root: ``missing`` says why it is absent.
        """
        if root is not None and str(root) != "":
            source, path = "argument", Path(root)
        elif os.environ.get(ENV_VAR):
            source, path = f"${ENV_VAR}", Path(os.environ[ENV_VAR])
        else:
            source, path = "default", Path("data")
        return cls.at(path.expanduser().resolve(), source)

    @classmethod
    def at(cls, location: Path, source: str) -> DataRoot:
        """The data root at the absolute ``location`` named by ``source``, checked for existence now.

        Parameters
        ----------
        location : pathlib.Path
            Absolute path of the data root.
        source : str
            Which setting named it (for the message when it is missing).

        Returns
        -------
        DataRoot
        """
        if location.is_dir():
            return cls(location, source, location, None)
        why = (
            f"data root {location} (from {source}) does not exist. Pass a data root, set "
            f"{ENV_VAR}, or create ./data with the sample layout (see the book's data page)."
        )
        return cls(location, source, None, why)

    @classmethod
    def of(cls, root: DataRoot | RootLike = None) -> DataRoot:
        """``root`` as a DataRoot: a DataRoot unchanged (no second resolution), else :meth:`resolve`.

        Parameters
        ----------
        root : DataRoot or path-like, optional

        Returns
        -------
        DataRoot
        """
        return root if isinstance(root, DataRoot) else cls.resolve(root)

    def rechecked(self) -> DataRoot:
        """The same location and source, checked for existence again (after a download created it).

        Returns
        -------
        DataRoot
        """
        return DataRoot.at(self.location, self.source)

    def require(self) -> Path:
        """The data root's absolute path.

        Returns
        -------
        pathlib.Path

        Raises
        ------
        DataNotFoundError
            The folder does not exist (the message is ``missing``).
        """
        if self.path is None:
            raise DataNotFoundError(self.missing)
        return self.path

    def locate(self, key: str) -> Path | None:
        """Folder of dataset ``key`` (see :data:`DATASETS`) under the root, or None when absent.

        Parameters
        ----------
        key : str
            A key of :data:`DATASETS`.

        Returns
        -------
        pathlib.Path or None
            One of the dataset's candidate folders under the root (never a path outside it);
            None when the root or the dataset is missing.

        Raises
        ------
        KeyError
            ``key`` is not a known dataset.
        """
        spec = _spec(key)
        if self.path is None:
            return None
        return next((self.path / rel for rel in spec.candidates if (self.path / rel).exists()), None)

    def find(self, key: str) -> Path:
        """Folder of dataset ``key`` under the root.

        Parameters
        ----------
        key : str
            A key of :data:`DATASETS`.

        Returns
        -------
        pathlib.Path
            The first candidate folder of ``key`` that exists.

        Raises
        ------
        DataNotFoundError
            The root or the dataset is missing; the message says where it was looked for and how
            to get it.
        KeyError
            ``key`` is not a known dataset.
        """
        spec = _spec(key)
        base = self.require()
        found = self.locate(key)
        if found is None:
            tried = ", ".join(str(base / c) for c in spec.candidates)
            raise DataNotFoundError(f"{spec.label} not found under {base} (looked for {tried}). {spec.hint}")
        return found


def missing_root_reason(root: DataRoot | RootLike = None) -> str | None:
    """None when the data root exists, else one sentence saying where it was looked for.

    Parameters
    ----------
    root : DataRoot or path-like, optional
        Data root (see :meth:`DataRoot.resolve`).

    Returns
    -------
    str or None
        ``DataRoot.missing``.
    """
    return DataRoot.of(root).missing


def root_path(root: DataRoot | RootLike = None) -> Path:
    """Where the data root is (absolute), whether or not it exists: ``root``, ``$FACEFLOW_DATA``, ``./data``.

    Parameters
    ----------
    root : DataRoot or path-like, optional
        Explicit data root.

    Returns
    -------
    pathlib.Path
        ``DataRoot.location``.
    """
    return DataRoot.of(root).location


def root_or_none(root: DataRoot | RootLike = None) -> Path | None:
    """The data root of :func:`resolve_root`, or None when there is none (no error).

    Parameters
    ----------
    root : DataRoot or path-like, optional
        Data root (see :meth:`DataRoot.resolve`).

    Returns
    -------
    pathlib.Path or None
        Absolute path of an existing folder (``DataRoot.path``), or None.
    """
    return DataRoot.of(root).path


def resolve_root(root: DataRoot | RootLike = None) -> Path:
    """The data root as an absolute path: ``root``, else ``$FACEFLOW_DATA``, else ``./data``.

    Parameters
    ----------
    root : DataRoot or path-like, optional
        Explicit data root; empty or None means the environment variable or ``./data``.

    Returns
    -------
    pathlib.Path
        Absolute path of the data root (:meth:`DataRoot.require`).

    Raises
    ------
    DataNotFoundError
        The folder does not exist.
    """
    return DataRoot.of(root).require()


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset lives under the data root: candidate folders (first found wins) and a hint."""

    label: str
    candidates: tuple[str, ...]
    hint: str


#: Every dataset faceflow reads, by key. :func:`locate` / :func:`find_dataset` look them up.
DATASETS: dict[str, DatasetSpec] = {
    "sintel": DatasetSpec(
        "MPI-Sintel",
        ("sintel", "MPI-Sintel-complete", "MPI-Sintel"),
        "Download MPI-Sintel (sintel.is.tue.mpg.de) and point the data root at a folder holding "
        "'sintel/training/...' (real layout) or 'sintel/<scene>/<pass>/' (sample layout).",
    ),
    "chairs": DatasetSpec(
        "FlyingChairs",
        ("FlyingChairs_release/data", "FlyingChairs/data", "flyingchairs"),
        "Download FlyingChairs (lmb.informatik.uni-freiburg.de) and put 'FlyingChairs_release/data' "
        "(or the sample 'flyingchairs/NNNNNNN-img0.ppm' layout) under the data root.",
    ),
    "openface": DatasetSpec(
        "OpenFace samples",
        ("openface",),
        "The OpenFace sample frames belong in '<root>/openface/image_sequence/*.jpg' and the sample "
        "videos in '<root>/openface/'.",
    ),
    "faces": DatasetSpec(
        "face video corpus",
        ("faces",),
        "The face videos belong in '<root>/faces/<source>/*.mp4' (see the data README and SOURCES.csv "
        "for the origin and sha256 of each file).",
    ),
    "openface_frames": DatasetSpec(
        "OpenFace image sequence",
        ("openface/image_sequence",),
        "The OpenFace sample frames belong in '<root>/openface/image_sequence/*.jpg'.",
    ),
    "stst_images": DatasetSpec(
        "STSTNet images",
        ("mer/stst_uvos",),
        "The STSTNet images belong in '<root>/mer/stst_uvos/*.png' with 'labels.csv' beside them.",
    ),
    "stst_weights": DatasetSpec(
        "STSTNet weights",
        ("mer/stst_weights",),
        "The published per-subject STSTNet weights (christy1206/STSTNet, STSTNet_Weights/<subject>.pth) "
        "belong in '<root>/mer/stst_weights/'.",
    ),
    "onset_apex_gifs": DatasetSpec(
        "onset/apex GIFs",
        ("mer/onset_apex_gifs",),
        "The onset/apex GIFs belong in '<root>/mer/onset_apex_gifs/'.",
    ),
    "me_clips": DatasetSpec(
        "micro-expression clips",
        ("mer/clips",),
        "The real micro-expression clips (onset to offset, one GIF each, the SAMM/SMIC/CASME II sample id "
        "in the name) belong in '<root>/mer/clips/'; SOURCES.csv of the shared data lists where each comes from.",
    ),
    "dlib_faces": DatasetSpec(
        "dlib face photos",
        ("dlib_faces",),
        "The dlib example face photos (davisking/dlib examples/faces) belong in '<root>/dlib_faces/'.",
    ),
    "samm": DatasetSpec(
        "SAMM",
        ("SAMM", "samm", "SAMM_v1"),
        "SAMM belongs in '<root>/SAMM/<subject>/<clip>/' with its metadata .xlsx (SAMM_Micro_FACS_Codes_v2.xlsx).",
    ),
    "casme2": DatasetSpec(
        "CASME II",
        ("CASME2", "CASME2-RAW", "CASME2_RAW_selected", "CASME II"),
        "CASME II belongs in '<root>/CASME2/sub<NN>/<clip>/img<N>.jpg' with CASME2-coding-*.xlsx.",
    ),
    "smic": DatasetSpec(
        "SMIC-HS",
        ("SMIC/HS", "SMIC-HS", "SMIC_all_raw/HS", "SMIC/SMIC_all_raw/HS"),
        "SMIC-HS belongs in '<root>/SMIC/HS/s<NN>/micro/<negative|positive|surprise>/<clip>/'.",
    ),
}


def _spec(key: str) -> DatasetSpec:
    if key not in DATASETS:
        raise KeyError(f"unknown dataset key {key!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[key]


def locate(key: str, root: DataRoot | RootLike = None) -> Path | None:
    """Folder of dataset ``key`` (see :data:`DATASETS`) under the data root, or None when absent.

    Parameters
    ----------
    key : str
        A key of :data:`DATASETS`.
    root : DataRoot or path-like, optional
        Data root (see :meth:`DataRoot.resolve`); a missing root means a missing dataset.

    Returns
    -------
    pathlib.Path or None
        :meth:`DataRoot.locate`.
    """
    return DataRoot.of(root).locate(key)


def find_dataset(key: str, root: DataRoot | RootLike = None) -> Path:
    """Folder of dataset ``key`` under the data root.

    Parameters
    ----------
    key : str
        A key of :data:`DATASETS`.
    root : DataRoot or path-like, optional
        Data root (see :meth:`DataRoot.resolve`).

    Returns
    -------
    pathlib.Path
        The first candidate folder of ``key`` that exists.

    Raises
    ------
    DataNotFoundError
        The root or the dataset is missing; the message says where it was looked for and how to
        get it.
    KeyError
        ``key`` is not a known dataset.
    """
    return DataRoot.of(root).find(key)


@dataclass
class FlowPair:
    """Two RGB frames and, when known, the ground-truth flow from the first to the second.

    ``mask``: where the ground truth is defined ((H, W) bool, :mod:`faceflow.io.masks`), for
    ground truth that is defined only in part of the frame (the landmark ground truth: inside the
    face); None when it is defined at every pixel (Sintel, FlyingChairs, generated motions).
    """

    name: str
    img1: np.ndarray
    img2: np.ndarray
    flow: np.ndarray | None = None
    source: str = ""
    mask: np.ndarray | None = None


@dataclass
class FlowPairRef:
    """Paths of a frame pair with optional ground-truth ``.flo`` and valid mask; :meth:`load` reads them."""

    name: str
    img1: Path
    img2: Path
    flow: Path | None = None
    source: str = ""
    mask: Path | None = None

    def load(self) -> FlowPair:
        """Read both frames and, when there are, the ground-truth flow and its valid mask.

        Returns
        -------
        FlowPair

        Raises
        ------
        FileNotFoundError
            A file is missing.
        ValueError
            The frames differ in size, or the flow's size is not the frames' (the message names the
            files); an unreadable image or ``.flo`` file.
        """
        from faceflow.io.flo import read_flow
        from faceflow.io.masks import read_mask

        flow = read_flow(self.flow) if self.flow is not None else None
        mask = read_mask(self.mask) if self.mask is not None else None
        a, b = read_image(self.img1), read_image(self.img2)
        if a.shape != b.shape:
            raise ValueError(f"{self.img1} and {self.img2} differ in size: {a.shape} vs {b.shape}")
        if flow is not None and flow.shape[:2] != a.shape[:2]:
            raise ValueError(f"{self.flow}: flow size {flow.shape[:2]} != image size {a.shape[:2]}")
        if mask is not None and mask.shape != a.shape[:2]:
            raise ValueError(f"{self.mask}: mask size {mask.shape} != image size {a.shape[:2]}")
        return FlowPair(self.name, a, b, flow, self.source, mask)


_FRAME_RE = re.compile(r"frame_(\d+)\.png$")


def sintel_pairs(root: DataRoot | RootLike = None, dstype: str = "clean") -> list[FlowPairRef]:
    """Frame pairs with ground truth from MPI-Sintel (sample or real training layout).

    Parameters
    ----------
    root : DataRoot or path-like, optional
        Data root (see :meth:`DataRoot.resolve`).
    dstype : {"clean", "final"}
        Rendering pass.

    Returns
    -------
    list of FlowPairRef
        Consecutive frames of every scene that have a ``.flo``, source ``sintel-<dstype>``.

    Raises
    ------
    ValueError
        Unknown ``dstype``.
    DataNotFoundError
        No Sintel folder or no pair with ground truth in it.
    """
    if dstype not in ("clean", "final"):
        raise ValueError(f"dstype must be 'clean' or 'final', got {dstype!r}")
    base = find_dataset("sintel", root)
    training = base / "training"
    if training.is_dir():  # real layout
        scenes = sorted(p for p in (training / dstype).iterdir() if p.is_dir())
        scene_dirs = [(s.name, s, training / "flow" / s.name) for s in scenes]
    else:  # sample layout
        scene_dirs = [(s.name, s / dstype, s / "flow") for s in sorted(base.iterdir()) if (s / dstype).is_dir()]
    pairs: list[FlowPairRef] = []
    for scene, img_dir, flow_dir in scene_dirs:
        frames = {}
        for p in img_dir.glob("frame_*.png"):
            m = _FRAME_RE.search(p.name)
            if m:
                frames[int(m.group(1))] = p
        for idx in sorted(frames):
            flo = flow_dir / f"frame_{idx:04d}.flo"
            if idx + 1 in frames and flo.is_file():
                pairs.append(FlowPairRef(f"{scene}/{idx:04d}", frames[idx], frames[idx + 1], flo, f"sintel-{dstype}"))
    if not pairs:
        raise DataNotFoundError(f"no Sintel {dstype} pairs with ground truth under {base}. {DATASETS['sintel'].hint}")
    return pairs


def chairs_pairs(root: DataRoot | RootLike = None, split: str | None = None) -> list[FlowPairRef]:
    """FlyingChairs pairs (sample or real layout).

    Parameters
    ----------
    root : DataRoot or path-like, optional
        Data root (see :meth:`DataRoot.resolve`).
    split : {"train", "val"}, optional
        With the real release and its ``FlyingChairs_train_val.txt`` (1 = train, 2 = val), keep
        one split. Ignored (all pairs) for the sample layout, which has no split file.

    Returns
    -------
    list of FlowPairRef
        In file-name order, source ``flyingchairs``.

    Raises
    ------
    DataNotFoundError
        No FlyingChairs folder or no pair in it.
    """
    base = find_dataset("chairs", root)
    pairs: list[FlowPairRef] = []
    real = sorted(base.glob("*_img1.ppm"))
    if real:
        split_ids = None
        split_file = next(
            (
                p
                for p in (base / "FlyingChairs_train_val.txt", base.parent / "FlyingChairs_train_val.txt")
                if p.is_file()
            ),
            None,
        )
        if split is not None and split_file is not None:
            codes = split_file.read_text().split()
            want = {"train": "1", "val": "2"}[split]
            split_ids = {i + 1 for i, c in enumerate(codes) if c == want}
        for p in real:
            stem = p.name[: -len("_img1.ppm")]
            if split_ids is not None and int(stem) not in split_ids:
                continue
            pairs.append(FlowPairRef(stem, p, base / f"{stem}_img2.ppm", base / f"{stem}_flow.flo", "flyingchairs"))
    else:
        for p in sorted(base.glob("*-img0.ppm")):
            stem = p.name[: -len("-img0.ppm")]
            pairs.append(FlowPairRef(stem, p, base / f"{stem}-img1.ppm", base / f"{stem}-gt.flo", "flyingchairs"))
    if not pairs:
        raise DataNotFoundError(f"no FlyingChairs pairs under {base}. {DATASETS['chairs'].hint}")
    return pairs


def openface_frames(root: DataRoot | RootLike = None) -> list[Path]:
    """The OpenFace sample image sequence (30 consecutive 640x480 frames of one face).

    Parameters
    ----------
    root : DataRoot or path-like, optional
        Data root (see :meth:`DataRoot.resolve`).

    Returns
    -------
    list of pathlib.Path
        The frames, sorted by name.

    Raises
    ------
    DataNotFoundError
        No ``openface/image_sequence`` folder, or no image in it.
    """
    folder = find_dataset("openface_frames", root)
    frames = list_images(folder)
    if not frames:
        raise DataNotFoundError(f"{folder} holds no images. {DATASETS['openface'].hint}")
    return frames


def openface_videos(root: DataRoot | RootLike = None) -> list[Path]:
    """The OpenFace sample videos.

    Parameters
    ----------
    root : DataRoot or path-like, optional
        Data root (see :meth:`DataRoot.resolve`).

    Returns
    -------
    list of pathlib.Path
        Video files of ``openface/``, sorted by name.

    Raises
    ------
    DataNotFoundError
        No ``openface`` folder, or no video in it.
    """
    folder = find_dataset("openface", root)
    vids = sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTS)
    if not vids:
        raise DataNotFoundError(f"no videos in {folder}. {DATASETS['openface'].hint}")
    return vids


#: The three classes of the STSTNet images' ``labels.csv``: 0 negative, 1 positive, 2 surprise.
STST_LABELS = ("0", "1", "2")


def stst_samples(root: DataRoot | RootLike = None):
    """Table of the 442 STSTNet input images: columns file, dataset, subject, label, path.

    Every row of ``labels.csv`` is checked when it is read: ``label`` must be 0, 1 or 2 and
    ``file``, ``dataset`` and ``subject`` must not be empty (a wrong label would give a wrong
    UF1, an empty subject a sample no subject's weights predict).

    Parameters
    ----------
    root : DataRoot or path-like, optional
        Data root (see :meth:`DataRoot.resolve`).

    Returns
    -------
    pandas.DataFrame
        ``label`` as int, the other columns as str, ``path`` the image file.

    Raises
    ------
    DataNotFoundError
        No folder, no ``labels.csv``, or listed images that are missing.
    ValueError
        A missing column, a bad value, a file listed twice, or a file or subject name that would
        leave the folder (refused before anything is read); the message names the file, the line
        and the value.
    """
    import pandas as pd

    folder = find_dataset("stst_images", root)
    labels = folder / "labels.csv"
    if not labels.is_file():
        raise DataNotFoundError(f"{labels}: missing. {DATASETS['stst_images'].hint}")
    df = pd.read_csv(labels, dtype=str, keep_default_na=False)
    missing_cols = {"file", "dataset", "subject", "label"} - set(df.columns)
    if missing_cols:
        raise ValueError(f"{labels}: missing columns {sorted(missing_cols)}")
    first_line: dict[str, int] = {}
    paths = []
    for i, row in enumerate(df.itertuples(index=False)):
        line = i + 2  # the header is line 1
        for col in ("file", "dataset", "subject"):
            if not getattr(row, col).strip():
                raise ValueError(f"{labels}: line {line}: empty {col} (file {row.file!r})")
        if row.label.strip() not in STST_LABELS:
            raise ValueError(
                f"{labels}: line {line}: label {row.label!r} of {row.file} is not one of {', '.join(STST_LABELS)}"
            )
        if row.file in first_line:
            raise ValueError(
                f"{labels}: line {line}: {row.file} is listed twice (first on line {first_line[row.file]})"
            )
        first_line[row.file] = line
        paths.append(inside_root(folder, row.file, f"{labels}: line {line}, column file"))
        safe_name(row.subject, f"{labels}: line {line}", "subject")  # it names the subject's weights and caches
    df["label"] = df["label"].astype(int)
    df["path"] = paths
    absent = [str(p) for p in df["path"] if not p.is_file()]
    if absent:
        raise DataNotFoundError(f"{labels} lists {len(absent)} images that are missing, e.g. {absent[0]}")
    return df


# ----------------------------------------------------------------------------- the face corpus
#: The reviewed clip -> subject table of the face corpus, kept in the project.
FACE_SUBJECTS = Path(__file__).with_name("face_subjects.csv")
#: Splits of the subject table: subject-disjoint train/val/test, and "cross" (the MEAD studio
#: people, held out whole as the cross-dataset set that CK+ is in Table 2).
FACE_SPLITS = ("train", "val", "test", "cross")
_SUBJECT_COLUMNS = ("clip", "source", "subject", "split", "exclude")


def face_subjects(path: str | os.PathLike | None = None):
    """The clip -> subject table of the face corpus (default: :data:`FACE_SUBJECTS`).

    Parameters
    ----------
    path : path-like, optional
        Another table with the same columns (e.g. one written by ``faceflow faces subjects --out``).

    Returns
    -------
    pandas.DataFrame
        One row per clip: ``clip`` (path relative to the data root, ``faces/<source>/<name>.mp4``),
        ``source``, ``subject``, ``split`` (one of :data:`FACE_SPLITS`), ``exclude`` (empty, or
        why the clip is left out), and the measurements and review notes of the command.

    Raises
    ------
    FileNotFoundError
        The table is missing.
    ValueError
        A column is missing, a split is unknown, a clip is listed twice, or a subject has clips
        in two splits.
    """
    import pandas as pd

    path = Path(path) if path is not None else FACE_SUBJECTS
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no subject table; make one with `faceflow faces subjects`")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = set(_SUBJECT_COLUMNS) - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    bad = sorted(set(df["split"]) - set(FACE_SPLITS))
    if bad:
        raise ValueError(f"{path}: unknown split(s) {bad}; expected {', '.join(FACE_SPLITS)}")
    dup = df["clip"][df["clip"].duplicated()]
    if len(dup):
        raise ValueError(f"{path}: clip {dup.iloc[0]} is listed twice")
    per_subject = df.groupby("subject")["split"].nunique()
    mixed = per_subject[per_subject > 1]
    if len(mixed):
        raise ValueError(f"{path}: subject {mixed.index[0]} has clips in several splits")
    return df


def face_sequence_name(clip: str | os.PathLike) -> str:
    """The ``faceflow gt`` sequence name of a corpus clip: ``<source>-<file stem>``.

    Parameters
    ----------
    clip : path-like
        A clip path ``.../<source>/<file>`` (or the subject table's ``faces/<source>/<file>``).

    Returns
    -------
    str
        ``<source>-<file stem>``: the clip's parent folder name and its file name without suffix.
    """
    p = Path(clip)
    return f"{p.parent.name}-{p.stem}"


@dataclass(frozen=True)
class FaceClip:
    """One video of the face corpus with its subject and split (empty when the table does not list it)."""

    path: Path
    clip: str
    source: str
    subject: str
    split: str
    exclude: str

    @property
    def sequence(self) -> str:
        """Its sequence name in a ``faceflow gt`` dataset."""
        return face_sequence_name(self.clip)


def face_clips(root: DataRoot | RootLike = None, subjects=None, include_excluded: bool = False) -> list[FaceClip]:
    """The videos ``faces/<source>/*.mp4`` under the data root, with their subject and split.

    Parameters
    ----------
    root : DataRoot or path-like, optional
        Data root (see :meth:`DataRoot.resolve`).
    subjects : pandas.DataFrame, optional
        The subject table (default :func:`face_subjects`).
    include_excluded : bool
        Keep the clips the table excludes (their ``exclude`` says why).

    Returns
    -------
    list of FaceClip
        Sorted by clip path (see :func:`corpus_clips`).

    Raises
    ------
    DataNotFoundError
        The corpus is not under the data root, or holds no video.
    """
    return corpus_clips(find_dataset("faces", root), subjects, include_excluded)


def corpus_clips(folder: str | os.PathLike, subjects=None, include_excluded: bool = False) -> list[FaceClip]:
    """The videos ``<folder>/<source>/*`` of a folder laid out as the face corpus, with subjects and splits.

    A video is matched to the subject table by ``faces/<source>/<file name>`` whatever the
    folder is called; one the table does not list is its own subject, named after its sequence,
    with an empty split.

    Parameters
    ----------
    folder : path-like
        The corpus folder (``faces/`` under the data root, or a copy laid out the same way).
    subjects : pandas.DataFrame, optional
        The subject table (:func:`face_subjects`; default the project's).
    include_excluded : bool
        Also list the clips the table excludes (their ``exclude`` says why).

    Returns
    -------
    list of FaceClip
        One per video (extensions in ``VIDEO_EXTS``), sorted by path.

    Raises
    ------
    DataNotFoundError
        The folder holds no video in a sub-folder.
    """
    folder = Path(folder)
    table = face_subjects() if subjects is None else subjects
    rows = {r.clip: r for r in table.itertuples()}
    videos = sorted(p for p in folder.glob("*/*") if p.suffix.lower() in VIDEO_EXTS)
    if not videos:
        raise DataNotFoundError(f"no videos in {folder}/<source>/. {DATASETS['faces'].hint}")
    out = []
    for v in videos:
        clip = f"faces/{v.parent.name}/{v.name}"
        r = rows.get(clip)
        seq = face_sequence_name(clip)
        item = FaceClip(v, clip, v.parent.name, r.subject if r else seq, r.split if r else "", r.exclude if r else "")
        if include_excluded or not item.exclude:
            out.append(item)
    return out
