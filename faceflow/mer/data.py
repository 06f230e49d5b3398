"""Micro-expression onset/apex pairs: readers for SAMM, SMIC-HS and CASME II, and a generated set.

Real layouts (the licensed datasets, as their owners distribute them), all under the data root:

* **SAMM**: ``SAMM/<subject>/<subject>_<clip>/<subject>_<frame>.jpg`` and the metadata workbook
  (``SAMM_Micro_FACS_Codes_v2.xlsx`` or any ``*.xlsx`` in ``SAMM/`` or the root) with columns
  Subject, Filename, Onset Frame, Apex Frame, Estimated Emotion. The title rows above the header
  are skipped (the header row is found by its column names).
* **CASME II**: ``CASME2/`` (or ``CASME2-RAW``, ``CASME2_RAW_selected``) ``/sub<NN>/<Filename>/img<frame>.jpg``
  and ``CASME2-coding-*.xlsx`` with Subject, Filename, OnsetFrame, ApexFrame, Estimated Emotion.
  Where the apex is not annotated (``/``) the middle of onset and offset is used.
* **SMIC-HS**: ``SMIC/HS/`` (or ``SMIC-HS``, ``SMIC_all_raw/HS``)
  ``/s<NN>/micro/{negative,positive,surprise}/<clip>/*.bmp``.
  SMIC has no apex annotation: the first frame is the onset, and the apex comes from an optional
  CSV (``smic_apex.csv`` in that folder, columns ``clip, apex`` = frame index in the sorted clip,
  e.g. the labels of Quang et al. that the paper uses), else the middle frame (a documented
  fallback).

SAMM and CASME II are both coded in a workbook and read by one reader, :func:`read_coded`, given
their :class:`CodedLayout` (:data:`SAMM`, :data:`CASME2`).

Labels follow the **MEGC 2019 three-class mapping** (:data:`MEGC2019`): negative (0), positive
(1), surprise (2); other emotions are dropped. Faces are cropped from the onset frame's 68 dlib
landmarks plus a margin (15 px, as the paper does for SMIC); the apex uses the same box.

The **generated set** (:func:`generated_samples`) is clearly labelled ``kind="generated"``: real
face photos of different people (``dlib_faces``, each detected face one identity; scikit-image's
astronaut when absent) warped by subtle (<= 2 px) class-specific landmark motions, with head
motion and sensor noise as nuisances.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceflow.flow.synthetic import affine_flow, fallback_image, similarity
from faceflow.flow.warp import warp_forward
from faceflow.groundtruth.landmarks import dlib_detect_faces
from faceflow.io.datasets import DATASETS, DataNotFoundError, find_dataset, locate
from faceflow.io.images import IMAGE_EXTS, read_image
from faceflow.io.paths import inside_root, safe_name

#: MEGC 2019 composite three-class mapping of each dataset's emotion labels (lower case).
MEGC2019 = {
    "samm": {"anger": 0, "contempt": 0, "disgust": 0, "fear": 0, "sadness": 0, "happiness": 1, "surprise": 2},
    "casme2": {"disgust": 0, "repression": 0, "happiness": 1, "surprise": 2},
    "smic": {"negative": 0, "positive": 1, "surprise": 2},
}


def megc2019_label(dataset: str, emotion: str) -> int | None:
    """Three-class label (0 negative, 1 positive, 2 surprise) of an emotion, None if excluded.

    Parameters
    ----------
    dataset : str
        A key of :data:`MEGC2019` (``samm``, ``casme2``, ``smic``).
    emotion : str
        The dataset's emotion label (case and surrounding spaces ignored).

    Returns
    -------
    int or None

    Raises
    ------
    ValueError
        Unknown dataset.
    """
    if dataset not in MEGC2019:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(MEGC2019)}")
    return MEGC2019[dataset].get(str(emotion).strip().lower())


# ------------------------------------------------------------------------------------- samples


def face_box(img: np.ndarray, margin: int = 15) -> tuple[int, int, int, int]:
    """Box (left, top, right, bottom) around the largest face's 68 landmarks plus ``margin``.

    Parameters
    ----------
    img : numpy.ndarray
        (H, W, 3) uint8 RGB image.
    margin : int
        Pixels added on every side (clipped to the image).

    Returns
    -------
    tuple of int
        ``(left, top, right, bottom)``; the whole image when no face is found.
    """
    h, w = img.shape[:2]
    faces = dlib_detect_faces(img) or dlib_detect_faces(img, upsample=1)
    if not faces:
        return 0, 0, w, h
    pts = faces[0].landmarks
    l, t = np.floor(pts.min(0)).astype(int) - margin
    r, b = np.ceil(pts.max(0)).astype(int) + margin
    return max(0, l), max(0, t), min(w, r), min(h, b)


@dataclass
class MESample:
    """One micro-expression clip: onset and apex frames, three-class label, subject."""

    name: str
    subject: str
    dataset: str
    label: int
    onset: Path | np.ndarray
    apex: Path | np.ndarray
    emotion: str = ""
    crop: bool = True
    margin: int = 15
    meta: dict = field(default_factory=dict)

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        """The onset and apex frames, cropped to the face of the onset frame when ``crop``.

        Returns
        -------
        onset, apex : numpy.ndarray
            RGB uint8 frames of the same size.

        Raises
        ------
        ValueError
            The two frames differ in size.
        """
        a = self.onset if isinstance(self.onset, np.ndarray) else read_image(self.onset)
        b = self.apex if isinstance(self.apex, np.ndarray) else read_image(self.apex)
        if a.shape != b.shape:
            where = "" if isinstance(self.onset, np.ndarray) else f" ({self.onset}, {self.apex})"
            raise ValueError(f"{self.name}: onset {a.shape} and apex {b.shape} differ in size{where}")
        if self.crop:
            l, t, r, bt = face_box(a, self.margin)
            a, b = a[t:bt, l:r], b[t:bt, l:r]
        return np.ascontiguousarray(a), np.ascontiguousarray(b)


_NUM = re.compile(r"(\d+)(?!.*\d)")


def _frame_index(folder: Path) -> dict[int, Path]:
    """Images of a clip folder by the last number in their file name."""
    out = {}
    for p in folder.iterdir():
        if p.suffix.lower() in IMAGE_EXTS:
            m = _NUM.search(p.stem)
            if m:
                out[int(m.group(1))] = p
    return out


def _norm(c) -> str:
    return re.sub(r"[^a-z0-9]", "", str(c).lower())


def read_metadata_table(path: Path, required: list[str]):
    """A metadata workbook (or CSV) as a DataFrame whose header row holds ``required`` columns.

    Column names are normalised (lower case, letters and digits only), so 'Onset Frame' and
    'OnsetFrame' both become ``onsetframe``. Title rows above the header are skipped.

    Parameters
    ----------
    path : pathlib.Path
        ``.xlsx`` or ``.csv`` file.
    required : list of str
        Normalised column names the header row must hold.

    Returns
    -------
    pandas.DataFrame
        The rows below the header, all cells as strings.

    Raises
    ------
    ValueError
        No header row with ``required`` among the first 40 rows.
    """
    import pandas as pd

    raw = (
        pd.read_csv(path, header=None, dtype=str)
        if path.suffix.lower() == ".csv"
        else pd.read_excel(path, header=None, dtype=str)
    )
    for i in range(min(len(raw), 40)):
        names = [_norm(v) for v in raw.iloc[i].tolist()]
        if all(r in names for r in required):
            df = raw.iloc[i + 1 :].copy()
            df.columns = names
            return df.dropna(how="all").reset_index(drop=True)
    raise ValueError(f"{path}: no header row with columns {required}")


def _first(base: Path, patterns: list[str]) -> Path | None:
    for pat in patterns:
        hits = sorted(base.glob(pat))
        if hits:
            return hits[0]
    return None


def _int_or_none(v) -> int | None:
    try:
        return int(float(str(v).strip()))
    except (TypeError, ValueError):
        return None


def _clip_folder(base: Path, subject: str, filename, source: str) -> Path:
    """``base/<subject>/<filename>`` of a workbook row; names that would leave ``base`` are refused
    (before anything is read, with the same message whether or not such a folder exists)."""
    subject = safe_name(subject, source, "subject")
    return inside_root(base / subject, str(filename).strip(), f"{source}, column filename")


def _clip_sample(
    dataset: str, subj: str, clip: Path, onset: int, apex: int, label: int, emotion, crop: bool
) -> MESample | None:
    """The sample of one workbook row: its clip folder's onset and apex frames, None if either is missing."""
    if not clip.is_dir():
        return None
    frames = _frame_index(clip)
    if onset not in frames or apex not in frames:
        return None
    return MESample(f"{subj}_{clip.name}", subj, dataset, label, frames[onset], frames[apex], str(emotion), crop)


@dataclass(frozen=True)
class CodedLayout:
    """How a micro-expression dataset coded in a workbook lies on disk (SAMM, CASME II).

    Each workbook row names a subject, a clip folder (``filename``) and its onset and apex frame
    numbers; the frames are the images of ``<images>/<subject>/<filename>/`` numbered by the last
    number in their names.

    Attributes
    ----------
    key : str
        The dataset's key in :data:`faceflow.io.datasets.DATASETS`, :data:`MEGC2019` and
        :attr:`MESample.dataset`.
    title : str
        The dataset's name in messages.
    workbook : str
        What the workbook is called in messages.
    patterns : tuple of str
        Glob patterns of the workbook in the dataset's folder, tried in order.
    parent_patterns : tuple of str
        Patterns tried next in the folder above (the data root).
    subject : callable
        The subject folder's name from the workbook's subject cell.
    images : str or None
        Sub-folder holding the subject folders when it exists (else the dataset's folder).
    apex_from_offset : bool
        A row without an apex frame takes the middle of its onset and offset frames.
    columns : tuple of str
        Normalised names of the columns read (:func:`read_metadata_table`): subject, clip folder,
        onset, apex, emotion.
    """

    key: str
    title: str
    workbook: str
    patterns: tuple[str, ...]
    parent_patterns: tuple[str, ...]
    subject: Callable[[object], str]
    images: str | None = None
    apex_from_offset: bool = False
    columns: tuple[str, ...] = ("subject", "filename", "onsetframe", "apexframe", "estimatedemotion")


def _samm_subject(cell) -> str:
    """SAMM subject folders are three digits (``006``); a non-numeric cell is used as it is."""
    return f"{_int_or_none(cell):03d}" if _int_or_none(cell) is not None else str(cell)


def _casme2_subject(cell) -> str:
    """CASME II subject folders are ``sub`` and two digits (``sub01``)."""
    return f"sub{_int_or_none(cell):02d}"


#: SAMM: ``SAMM/<subject>/<filename>/`` and ``SAMM_Micro_FACS_Codes*.xlsx``.
SAMM = CodedLayout(
    "samm",
    "SAMM",
    "metadata workbook",
    ("SAMM_Micro_FACS_Codes*.xlsx", "*.xlsx"),
    ("SAMM*.xlsx",),
    _samm_subject,
)
#: CASME II: ``CASME2[/CASME2-RAW]/sub<NN>/<filename>/`` and ``CASME2-coding*.xlsx``.
CASME2 = CodedLayout(
    "casme2",
    "CASME II",
    "coding workbook",
    ("CASME2-coding*.xlsx", "*.xlsx"),
    ("CASME2-coding*.xlsx",),
    _casme2_subject,
    images="CASME2-RAW",
    apex_from_offset=True,
)


def read_coded(layout: CodedLayout, root=None, crop: bool = True) -> list[MESample]:
    """The labelled samples of a dataset coded in a workbook, one per usable row.

    A row is used when its emotion has a MEGC 2019 label (:func:`megc2019_label`), its onset
    and apex are numbers (or, with ``layout.apex_from_offset``, the apex is the middle of onset
    and offset) and its clip folder holds both frames.

    Parameters
    ----------
    layout : CodedLayout
        :data:`SAMM` or :data:`CASME2`.
    root : path-like, optional
        Data root.
    crop : bool
        Crop the frames to the face when loading.

    Returns
    -------
    list of MESample
        In workbook order.

    Raises
    ------
    faceflow.io.datasets.DataNotFoundError
        No dataset folder, workbook or usable clip.
    ValueError
        A subject or clip name that would leave the dataset's folder, or no header row.
    """
    hint = DATASETS[layout.key].hint
    base = find_dataset(layout.key, root)
    meta = _first(base, list(layout.patterns)) or _first(base.parent, list(layout.parent_patterns))
    if meta is None:
        raise DataNotFoundError(f"no {layout.title} {layout.workbook} in {base}. {hint}")
    subject_col, clip_col, onset_col, apex_col, emotion_col = layout.columns
    df = read_metadata_table(meta, list(layout.columns))
    img_root = base / layout.images if layout.images and (base / layout.images).is_dir() else base
    out = []
    for i, r in df.iterrows():
        label = megc2019_label(layout.key, r[emotion_col])
        onset, apex = _int_or_none(r[onset_col]), _int_or_none(r[apex_col])
        if layout.apex_from_offset and apex is None and onset is not None:
            if _int_or_none(r.get("offsetframe")) is not None:
                apex = (onset + _int_or_none(r["offsetframe"])) // 2
        if label is None or onset is None or apex is None:
            continue
        subj = layout.subject(r[subject_col])
        clip = _clip_folder(img_root, subj, r[clip_col], f"{meta}: data row {i + 1}")
        s = _clip_sample(layout.key, subj, clip, onset, apex, label, r[emotion_col], crop)
        if s is not None:
            out.append(s)
    if not out:
        raise DataNotFoundError(f"no usable {layout.title} samples under {base}. {hint}")
    return out


def read_samm(root=None, crop: bool = True) -> list[MESample]:
    """SAMM micro-expressions with MEGC 2019 labels (onset and apex frames from the workbook).

    Parameters
    ----------
    root : path-like, optional
        Data root.
    crop : bool
        Crop the frames to the face when loading.

    Returns
    -------
    list of MESample

    Raises
    ------
    faceflow.io.datasets.DataNotFoundError
        No SAMM folder, workbook or usable clip.
    """
    return read_coded(SAMM, root, crop)


def read_casme2(root=None, crop: bool = True) -> list[MESample]:
    """CASME II micro-expressions with MEGC 2019 labels.

    Parameters
    ----------
    root : path-like, optional
        Data root.
    crop : bool
        Crop the frames to the face when loading.

    Returns
    -------
    list of MESample

    Raises
    ------
    faceflow.io.datasets.DataNotFoundError
        No CASME II folder, coding workbook or usable clip.
    """
    return read_coded(CASME2, root, crop)


def read_smic_hs(root=None, crop: bool = True, apex_csv: str | os.PathLike | None = None) -> list[MESample]:
    """SMIC-HS micro-expressions; onset = first frame, apex from ``apex_csv`` or the middle frame.

    Parameters
    ----------
    root : path-like, optional
        Data root.
    crop : bool
        Crop the frames to the face when loading.
    apex_csv : path-like, optional
        CSV with columns ``clip, apex`` (frame index in the sorted clip); default
        ``smic_apex.csv`` in the SMIC-HS folder.

    Returns
    -------
    list of MESample

    Raises
    ------
    faceflow.io.datasets.DataNotFoundError
        No SMIC-HS folder or usable clip.
    """
    import pandas as pd

    base = find_dataset("smic", root)
    apex_csv = Path(apex_csv) if apex_csv else base / "smic_apex.csv"
    apexes = {}
    if apex_csv.is_file():
        t = pd.read_csv(apex_csv, dtype=str)
        apexes = {str(c): int(a) for c, a in zip(t["clip"], t["apex"])}
    out = []
    for sdir in sorted(p for p in base.iterdir() if p.is_dir() and re.fullmatch(r"s\d+", p.name)):
        subj = f"s{int(sdir.name[1:]):02d}"
        for emo_dir in sorted((sdir / "micro").glob("*")) if (sdir / "micro").is_dir() else []:
            label = megc2019_label("smic", emo_dir.name)
            if label is None:
                continue
            for clip in sorted(p for p in emo_dir.iterdir() if p.is_dir()):
                frames = [v for _, v in sorted(_frame_index(clip).items())]
                if len(frames) < 2:
                    continue
                k = apexes.get(clip.name, len(frames) // 2)
                k = min(max(int(k), 1), len(frames) - 1)
                out.append(
                    MESample(
                        f"{subj}_{clip.name}",
                        subj,
                        "smic",
                        label,
                        frames[0],
                        frames[k],
                        emo_dir.name,
                        crop,
                        meta=dict(apex_from="csv" if clip.name in apexes else "middle"),
                    )
                )
    if not out:
        raise DataNotFoundError(f"no usable SMIC-HS samples under {base}. {DATASETS['smic'].hint}")
    return out


READERS = {"samm": read_samm, "smic": read_smic_hs, "casme2": read_casme2}


def real_samples(root=None, datasets=("samm", "smic", "casme2")) -> tuple[list[MESample], dict[str, str]]:
    """Samples of every real dataset found; also the reason each missing one is missing.

    Parameters
    ----------
    root : path-like, optional
        Data root.
    datasets : sequence of str
        Keys of :data:`READERS`.

    Returns
    -------
    samples : list of MESample
    missing : dict
        ``{dataset: why}`` for each dataset whose folder (:func:`faceflow.io.datasets.locate`),
        metadata or usable clips are absent. A malformed workbook is an error, not "missing".
    """
    samples, missing = [], {}
    for name in datasets:
        if locate(name, root) is None:
            missing[name] = f"{DATASETS[name].label} not found under {root}. {DATASETS[name].hint}"
            continue
        try:  # the folder is there: the reader says when its metadata or clips are absent
            samples.extend(READERS[name](root))
        except DataNotFoundError as exc:
            missing[name] = str(exc)
    return samples, missing


# ---------------------------------------------------------------------------- onset/apex GIFs


def read_onset_apex_gif(path: str | os.PathLike, crop_face: bool = True, margin: int = 15):
    """Onset and apex frames of one 2-frame GIF drawn on a plot canvas.

    The image region is the box of the rows and columns in which at least half as many pixels
    differ from the canvas colour (the most common border colour) as in the fullest row/column;
    the face is then cropped from the onset frame's landmarks (the whole region when dlib finds
    no face).

    Parameters
    ----------
    path : path-like
        A GIF of at least two frames (the first is the onset, the last the apex).
    crop_face : bool
        Crop to the face.
    margin : int
        Face box margin in pixels.

    Returns
    -------
    onset, apex : numpy.ndarray
        RGB uint8.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Fewer than two frames, or no image region found on the canvas.
    """
    from PIL import Image, ImageSequence

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such GIF")
    with Image.open(path) as im:
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    if len(frames) < 2:
        raise ValueError(f"{path}: expected 2 frames (onset, apex), found {len(frames)}")
    a, b = frames[0], frames[-1]
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    vals, counts = np.unique(border.reshape(-1, 3), axis=0, return_counts=True)
    canvas = vals[counts.argmax()]
    diff = np.any(np.abs(a.astype(int) - canvas) > 12, axis=2)
    rc, cc = diff.sum(1), diff.sum(0)
    rows = np.where(rc > 0.5 * rc.max())[0]
    cols = np.where(cc > 0.5 * cc.max())[0]
    if len(rows) < 8 or len(cols) < 8:
        raise ValueError(f"{path}: could not find the image region on the canvas")
    t, bt, l, r = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    a, b = a[t:bt, l:r], b[t:bt, l:r]
    if crop_face:
        l, t, r, bt = face_box(a, margin)
        a, b = a[t:bt, l:r], b[t:bt, l:r]
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


def onset_apex_gifs(root=None) -> list[Path]:
    """The real onset/apex GIFs of the shared data (``mer/onset_apex_gifs``).

    Parameters
    ----------
    root : path-like, optional
        Data root.

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    faceflow.io.datasets.DataNotFoundError
        The folder is absent or holds no GIF.
    """
    folder = find_dataset("onset_apex_gifs", root)
    gifs = sorted(folder.glob("*.gif"))
    if not gifs:
        raise DataNotFoundError(f"{folder}: no GIFs")
    return gifs


# ------------------------------------------------------------------------- onset-to-offset clips

#: Class names in clip file names (``1_5-Positive_022_3_3.gif``) and SMIC's abbreviations -> label.
CLASS_NAMES = {"negative": 0, "positive": 1, "surprise": 2, "ne": 0, "po": 1, "sur": 2}

_CLIP_PREFIX = re.compile(r"^\d+_\d+-(?P<cls>[A-Za-z]+)_(?P<rest>.+)$")
_CLIP_IDS = (
    ("samm", re.compile(r"^(?P<subj>\d{3})_(?P<rest>\d+_\d+)$")),
    ("smic", re.compile(r"^s(?P<subj>\d{1,2})_(?P<emo>po|ne|sur)_(?P<num>\d+)$", re.IGNORECASE)),
    ("casme2", re.compile(r"^sub(?P<subj>\d{1,2})_(?P<rest>EP\w+)$")),
)


@dataclass(frozen=True)
class ClipName:
    """What a clip's file name says: dataset, subject, sample id and (where named) the class.

    ``sample`` is the sample's name in the published STSTNet images (``mer/stst_uvos``), e.g.
    ``018_018_3_1``, ``s03_s03_po_05``, ``sub17_EP01_13``; ``label`` is None when the name
    carries no class.
    """

    dataset: str
    subject: str
    sample: str
    label: int | None


def parse_clip_name(stem: str) -> ClipName:
    """Dataset, subject, published sample id and class of a clip from its file name.

    Accepted: ``<SAMM id>`` (``018_3_1``), ``<SMIC id>`` (``s3_po_05``; the class is in the id),
    ``<CASME II id>`` (``sub17_EP01_13``), each optionally prefixed ``<n>_<n>-<Class>_`` as in
    ``1_5-Positive_022_3_3``.

    Parameters
    ----------
    stem : str
        File name without extension.

    Returns
    -------
    ClipName

    Raises
    ------
    ValueError
        The name matches no SAMM, SMIC or CASME II id, or names an unknown class, or two classes
        that disagree.
    """
    label = None
    m = _CLIP_PREFIX.match(stem)
    rest = stem
    if m:
        cls = m["cls"].lower()
        if cls not in CLASS_NAMES:
            raise ValueError(f"{stem}: unknown class {m['cls']!r}; expected one of negative, positive, surprise")
        label, rest = CLASS_NAMES[cls], m["rest"]
    for dataset, pattern in _CLIP_IDS:
        m = pattern.match(rest)
        if m is None:
            continue
        if dataset == "samm":
            subj = m["subj"]
            sample = f"{subj}_{subj}_{m['rest']}"
        elif dataset == "smic":
            subj = f"s{int(m['subj']):02d}"
            emo = m["emo"].lower()
            sample = f"{subj}_{subj}_{emo}_{m['num']}"
            if label is not None and label != CLASS_NAMES[emo]:
                raise ValueError(f"{stem}: the class prefix and the SMIC id ({emo}) disagree")
            label = CLASS_NAMES[emo]
        else:
            subj = f"sub{int(m['subj']):02d}"
            sample = f"{subj}_{m['rest']}"
        return ClipName(dataset, subj, sample, label)
    raise ValueError(f"{stem}: not a SAMM (018_3_1), SMIC (s3_po_05) or CASME II (sub17_EP01_13) clip name")


def read_clip(path: str | os.PathLike) -> np.ndarray:
    """All frames of a clip stored as an animated GIF, RGB uint8.

    Parameters
    ----------
    path : path-like
        The GIF.

    Returns
    -------
    numpy.ndarray
        (T, H, W, 3) uint8, T >= 2.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Not a readable image, or fewer than two frames.
    """
    from PIL import Image, ImageSequence, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such clip")
    try:
        with Image.open(path) as im:
            frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file PIL can read") from None
    if len(frames) < 2:
        raise ValueError(f"{path}: a clip needs at least 2 frames (onset ... offset), found {len(frames)}")
    return np.stack(frames)


@dataclass(frozen=True)
class MEClip:
    """One onset-to-offset clip file: its path and what its name says (:class:`ClipName`)."""

    path: Path
    name: ClipName

    @property
    def sample(self) -> str:
        """The sample id of the published STSTNet images."""
        return self.name.sample

    def frames(self) -> np.ndarray:
        """The clip's frames (:func:`read_clip`).

        Returns
        -------
        numpy.ndarray
            (T, H, W, 3) uint8.
        """
        return read_clip(self.path)


def me_clips(root=None) -> list[MEClip]:
    """The onset-to-offset clips of ``<root>/mer/clips`` (one GIF per clip), sorted by file name.

    Parameters
    ----------
    root : path-like, optional
        Data root.

    Returns
    -------
    list of MEClip

    Raises
    ------
    faceflow.io.datasets.DataNotFoundError
        The folder is absent or holds no GIF.
    ValueError
        A file name that :func:`parse_clip_name` does not understand.
    """
    folder = find_dataset("me_clips", root)
    paths = sorted(folder.glob("*.gif"))
    if not paths:
        raise DataNotFoundError(f"{folder}: no clips (*.gif). {DATASETS['me_clips'].hint}")
    return [MEClip(p, parse_clip_name(p.stem)) for p in paths]


# --------------------------------------------------------------------------------- generated set

#: Landmark motions of each generated class: (landmark indices, direction (dx, dy), weight).
#: Directions are in face units (x right, y down); ``out`` means away from the face's centre line.
CLASS_MOTIONS = {
    0: [  # negative: brow lowerer (AU4): inner brows down and together
        ([19, 20, 21], (0.5, 1.0), 1.0),
        ([22, 23, 24], (-0.5, 1.0), 1.0),
        ([17, 26], (0.0, 0.5), 0.5),
    ],
    1: [  # positive: lip-corner puller (AU12): corners up and outwards
        ([48], (-0.6, -1.0), 1.0),
        ([54], (0.6, -1.0), 1.0),
        ([49, 59], (-0.3, -0.6), 0.6),
        ([53, 55], (0.3, -0.6), 0.6),
    ],
    2: [  # surprise: brow raise (AU1+2) and jaw drop (AU26)
        (list(range(17, 27)), (0.0, -1.0), 0.8),
        ([6, 7, 8, 9, 10], (0.0, 1.0), 1.0),
        ([56, 57, 58], (0.0, 1.0), 1.0),
    ],
}


@dataclass
class Identity:
    """A face crop of one person and its 68 landmarks in crop coordinates."""

    name: str
    image: np.ndarray
    landmarks: np.ndarray
    source: str


def face_identities(
    root=None, size: int = 112, min_face: int = 60, max_identities: int | None = None, use_photos: bool = True
) -> tuple[list[Identity], str]:
    """Face crops of different people from ``dlib_faces`` (each detected face one identity).

    Falls back to scikit-image's astronaut (as four pseudo-identities) when the photos are absent
    or ``use_photos`` is False.

    Parameters
    ----------
    root : path-like, optional
        Data root holding ``dlib_faces``.
    size : int
        Side of the square face crops.
    min_face : int
        Smallest detected face width kept, in pixels.
    max_identities : int, optional
        Keep at most this many identities.
    use_photos : bool
        Use the photos when present.

    Returns
    -------
    identities : list of Identity
    note : str
        Where the faces came from.

    Raises
    ------
    RuntimeError
        No face found at all.
    """
    import cv2

    photos: list[tuple[str, np.ndarray]] = []
    note = ""
    folder = locate("dlib_faces", root) if use_photos else None
    if folder is not None:
        photos = [(p.stem, read_image(p)) for p in sorted(folder.glob("*.jpg"))]
        note = f"faces detected in the real photos of {folder}"
    if not photos:
        # One real face only: four pseudo-identities (mirrored and/or tone-mapped copies) so that
        # leave-one-subject-out still has training subjects. Said so in the returned note.
        img = fallback_image()
        lut = lambda g: np.clip(255 * (np.arange(256) / 255) ** g, 0, 255).astype(np.uint8)  # noqa: E731
        photos = [
            ("astronaut", img),
            ("astronaut-mirrored", np.ascontiguousarray(img[:, ::-1])),
            ("astronaut-dark", lut(1.4)[img]),
            ("astronaut-mirrored-light", lut(0.7)[img[:, ::-1]]),
        ]
        note = (
            "scikit-image's astronaut as 4 pseudo-identities (mirrored / tone-mapped copies; fallback: "
            "dlib_faces photos not found)"
        )
    fallback = not note.startswith("faces detected")
    ids = []
    for pname, img in photos:
        faces = dlib_detect_faces(img, upsample=1)
        for k, f in enumerate(faces[:1] if fallback else faces):
            l, t, r, b = f.box
            if r - l < min_face:
                continue
            pts = f.landmarks
            cx, cy = pts.mean(0)
            side = 1.35 * max(np.ptp(pts[:, 0]), np.ptp(pts[:, 1]))
            scale = size / side
            A = np.array([[scale, 0, size / 2 - scale * cx], [0, scale, size / 2 - scale * cy]])
            crop = cv2.warpAffine(
                img,
                A,
                (size, size),
                flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
                borderMode=cv2.BORDER_REFLECT,
            )
            lm = pts @ A[:, :2].T + A[:, 2]
            ids.append(Identity(f"{pname}#{k}", crop, lm, pname))
    if max_identities is not None:
        ids = ids[:max_identities]
    if not ids:
        raise RuntimeError("no face found for the generated micro-expression set")
    return ids, note


def expression_flow(
    landmarks: np.ndarray, label: int, amplitude: float, size: int, sigma: float | None = None
) -> np.ndarray:
    """Dense (size, size, 2) class-specific motion, peak magnitude exactly ``amplitude`` px.

    Each moving landmark carries a displacement; Gaussian weights (``sigma`` = 6 % of the face
    size by default) spread it to the neighbouring skin.

    Parameters
    ----------
    landmarks : numpy.ndarray
        (68, 2) landmarks in crop coordinates.
    label : int
        Class (a key of :data:`CLASS_MOTIONS`).
    amplitude : float
        Peak displacement in pixels.
    size : int
        Side of the square crop.
    sigma : float, optional
        Gaussian spread in pixels.

    Returns
    -------
    numpy.ndarray
        (size, size, 2) float32 flow.

    Raises
    ------
    ValueError
        Unknown label.
    """
    if label not in CLASS_MOTIONS:
        raise ValueError(f"label must be one of {sorted(CLASS_MOTIONS)}, got {label}")
    sigma = sigma or 0.06 * size
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    num = np.zeros((size, size, 2))
    den = np.zeros((size, size))
    for idx, (dx, dy), wgt in CLASS_MOTIONS[label]:
        d = np.array([dx, dy], float)
        d = d / np.linalg.norm(d) * wgt
        for i in idx:
            px, py = landmarks[i]
            g = np.exp(-((xs - px) ** 2 + (ys - py) ** 2) / (2 * sigma**2))
            num += g[..., None] * d
            den += g
    flow = num / np.maximum(den, 1.0)[..., None]
    peak = np.linalg.norm(flow, axis=2).max()
    return (flow * (amplitude / peak)).astype(np.float32)


def generated_samples(
    root=None,
    per_class: int = 2,
    size: int = 112,
    max_identities: int | None = None,
    seed: int = 0,
    max_amplitude: float = 2.0,
    head_motion: float = 1.0,
    noise: float = 2.0,
    min_face: int = 60,
    use_photos: bool = True,
) -> tuple[list[MESample], str]:
    """The generated micro-expression set (``dataset="generated"``, subjects are identities).

    For each identity and class, ``per_class`` clips: expression amplitude uniform in
    [0.4, 1] x ``max_amplitude`` px; a nuisance head motion (translation up to ``head_motion`` px,
    rotation up to 0.5 degrees, scale up to 0.5 %); brightness change up to 3 %; Gaussian sensor
    noise of ``noise`` grey levels on both frames. The exact flow is kept in ``meta["flow"]``.

    Parameters
    ----------
    root : path-like, optional
        Data root (for the face photos).
    per_class : int
        Clips per identity and class.
    size : int
        Side of the square face crops.
    max_identities : int, optional
        At most this many identities.
    seed : int
        Seed of the random motions and noise.
    max_amplitude, head_motion, noise : float
        Expression peak (px), head translation (px) and noise (grey levels).
    min_face : int
        Smallest face kept, in pixels.
    use_photos : bool
        Use the ``dlib_faces`` photos when present.

    Returns
    -------
    samples : list of MESample
    note : str
        Where the faces came from.
    """

    ids, note = face_identities(root, size, min_face, max_identities, use_photos)
    rng = np.random.default_rng(seed)
    out = []
    for k, ident in enumerate(ids):
        subj = f"g{k:02d}"
        base = ident.image.astype(np.float32)
        for label in (0, 1, 2):
            for j in range(per_class):
                amp = max_amplitude * rng.uniform(0.4, 1.0)
                expr = expression_flow(ident.landmarks, label, amp, size)
                head = affine_flow(
                    (size, size),
                    similarity(
                        1 + rng.uniform(-0.005, 0.005),
                        rng.uniform(-0.5, 0.5),
                        *rng.uniform(-head_motion, head_motion, 2),
                        (size / 2, size / 2),
                    ),
                )
                flow = expr + head
                apex = warp_forward(base, flow, interpolation="cubic", border="reflect") * (
                    1 + rng.uniform(-0.03, 0.03)
                )
                onset = base + rng.normal(0, noise, base.shape)
                apex = apex + rng.normal(0, noise, base.shape)
                out.append(
                    MESample(
                        f"{subj}_{label}_{j}",
                        subj,
                        "generated",
                        label,
                        np.clip(onset, 0, 255).round().astype(np.uint8),
                        np.clip(apex, 0, 255).round().astype(np.uint8),
                        ("negative", "positive", "surprise")[label],
                        crop=False,
                        meta=dict(identity=ident.name, amplitude=amp, flow=flow),
                    )
                )
    return out, note
