"""The error of the landmark ground truth itself, measured against known dense motions.

The paper calls its ground truth noisy but never measures it. Here real face photos are moved
by *known* dense, smooth, face-like motions and the whole Sec. 3 pipeline runs on the moved
frames; its flow is compared with the known field.

Motion model (frame ``k`` of a short sequence from one photo ``I``): a point ``x`` of the photo
goes to ``M_k(x) = S_k(x + a_k E(x))``, where ``E`` is a non-rigid expression field (a
thin-plate spline through the photo's 68 landmarks, displaced like the landmarks of a real
expression, see :func:`expression_displacements`), ``a_k`` ramps from 0 to 1 over the sequence
and ``S_k`` is a head motion (rotation, scale about the face centre, translation) growing with
``k``. Frame ``k`` is ``I`` sampled at ``M_k^{-1}`` (bilinear); the true flow of pair ``k`` on the
grid of frame ``k`` is ``M_{k+1}(M_k^{-1}(y)) - y``; the true landmarks of frame ``k`` are
``M_k(L)``, ``L`` the landmarks dlib finds on the photo.

The error is split (each EPE/AAE averaged over the true face hull of frame ``k``, over its
interior and over the band of :data:`BAND` px along its boundary):

* **piecewise-affine**: the ``exact`` mesh flow from the *true* landmarks against the true field
  (what a mesh of 68 points cannot represent);
* **resampling**: ``paper`` mode against ``exact`` mode, both from the true landmarks (the
  chain-and-resample construction alone);
* **landmark noise**: the ``exact`` flow from the *detected* (tracked, stabilised) landmarks
  against the one from the true landmarks;
* **whole pipeline**: ``paper`` mode from the detected landmarks against the true field (what the
  dataset would hold);
* **zero flow** against the true field, for scale.

Chapter 01's sentences and tables of this measurement (beside the paper's numbers, over several
clip lengths, with a profile's settings) are in :mod:`faceflow.studies.ground_truth.known_motion`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from faceflow.flow import synthetic
from faceflow.flow.metrics import aae, epe
from faceflow.groundtruth import landmarks as lmk
from faceflow.groundtruth import mesh as gt
from faceflow.io import datasets
from faceflow.io.images import VIDEO_EXTS, list_images, read_image, read_video_frames

#: Width (px) of the band along the face hull's boundary reported separately.
BAND = 6
#: Frame size (H, W) of the generated sequences: the Sec. 4.3 training crop.
SIZE = (384, 512)
#: Parts of the error, in table order.
PARTS = ("piecewise-affine", "resampling", "landmark noise", "whole pipeline", "zero flow")


# ----------------------------------------------------------------------------- expressions
def procrustes_residual(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Non-rigid part of the motion ``src -> dst``: ``dst`` aligned back onto ``src`` by the
    least-squares similarity, minus ``src``.

    Parameters
    ----------
    src, dst : ndarray, shape (n, 2)

    Returns
    -------
    ndarray, shape (n, 2)
        Zero when ``dst`` is a similarity image of ``src``.
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    a, b = src - ms, dst - md
    zs, zd = a[:, 0] + 1j * a[:, 1], b[:, 0] + 1j * b[:, 1]
    c = np.vdot(zd, zs) / np.vdot(zd, zd)  # the complex scale-rotation taking b onto a
    z = c * zd
    return np.stack([z.real, z.imag], 1) + ms - src


def face_size(points: np.ndarray) -> float:
    """Diagonal of the landmarks' bounding box.

    Parameters
    ----------
    points : ndarray, shape (n, 2)

    Returns
    -------
    float
    """
    p = np.asarray(points, np.float64)
    return float(np.hypot(*(p.max(0) - p.min(0))))


def expression_displacements(landmark_sequences, n: int = 4, min_gap: int = 5) -> list[np.ndarray]:
    """The ``n`` strongest real expressions: non-rigid landmark displacements between two frames.

    For each sequence, every frame is compared with the sequence's first frame with a face
    (:func:`procrustes_residual`); the residual is divided by that frame's face size. The ``n``
    largest (by RMS), at least ``min_gap`` frames apart within a sequence, are returned.

    Parameters
    ----------
    landmark_sequences : iterable of ndarray, shape (N, 68, 2)
        Tracked landmarks of real videos (NaN without a face).
    n : int
    min_gap : int

    Returns
    -------
    list of ndarray, shape (68, 2)
        Displacements in units of the face size, strongest first.
    """
    cands = []
    for s, lm in enumerate(landmark_sequences):
        lm = np.asarray(lm, np.float64)
        has = np.flatnonzero(np.isfinite(lm).all(axis=(1, 2)))
        if len(has) < 2:
            continue
        ref = lm[has[0]]
        for k in has[1:]:
            r = procrustes_residual(ref, lm[k]) / face_size(ref)
            cands.append((float(np.sqrt((r**2).sum(1).mean())), s, int(k), r))
    cands.sort(key=lambda c: -c[0])
    out: list[tuple] = []
    for c in cands:
        if all(c[1] != o[1] or abs(c[2] - o[2]) >= min_gap for o in out):
            out.append(c)
        if len(out) == n:
            break
    return [c[3] for c in out]


def generated_expression(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A made-up expression when no real one is available: mouth opening and brow raise.

    Parameters
    ----------
    points : ndarray, shape (68, 2)
    rng : numpy.random.Generator

    Returns
    -------
    ndarray, shape (68, 2)
        Displacement in units of the face size.
    """
    d = np.zeros((68, 2))
    d[57:60, 1] = d[65:68, 1] = d[6:11, 1] = rng.uniform(0.02, 0.04)  # jaw and lower lip down
    d[17:27, 1] = -rng.uniform(0.01, 0.02)  # brows up
    d[[48, 60], 0], d[[54, 64], 0] = -0.01, 0.01  # mouth corners out
    return d


# ----------------------------------------------------------------------------- the known motion
@dataclass
class KnownMotion:
    """``M_k(x) = S_k(x + a_k E(x))`` on frames of :data:`SIZE` (see the module docstring).

    Attributes
    ----------
    expression : ndarray, shape (H, W, 2)
        ``E`` on the photo's pixel grid (thin-plate spline through the landmarks).
    landmarks : ndarray, shape (68, 2)
        The photo's landmarks (the spline's control points).
    similarities : list of ndarray, shape (2, 3)
        ``S_k``.
    amounts : list of float
        ``a_k``.
    """

    expression: np.ndarray
    landmarks: np.ndarray
    similarities: list
    amounts: list

    def forward(self, k: int, x: np.ndarray) -> np.ndarray:
        """``M_k`` at points ``x`` (..., 2) of the photo (``E`` sampled bilinearly).

        Parameters
        ----------
        k : int
        x : ndarray, shape (..., 2)

        Returns
        -------
        ndarray, shape (..., 2)
        """
        p = x + self.amounts[k] * _sample(self.expression, x)
        S = self.similarities[k]
        return p @ S[:, :2].T + S[:, 2]

    def inverse_grid(self, k: int) -> np.ndarray:
        """``M_k^{-1}`` on the pixel grid of frame ``k``, by fixed-point iteration.

        Parameters
        ----------
        k : int

        Returns
        -------
        ndarray, shape (H, W, 2)
            Photo coordinates of every pixel of frame ``k``.
        """
        h, w = self.expression.shape[:2]
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
        S = self.similarities[k]
        Si = np.linalg.inv(np.vstack([S, [0, 0, 1]]))[:2]
        z = np.stack([xs, ys], -1) @ Si[:, :2].T + Si[:, 2]
        x = z.copy()
        if self.amounts[k] == 0:
            return x
        for _ in range(30):  # a contraction for face-like fields: stops once it has converged
            nxt = z - self.amounts[k] * _sample(self.expression, x)
            done = np.abs(nxt - x).max() < 1e-9
            x = nxt
            if done:
                break
        return x


def _savez_fast(file, **arrays: np.ndarray) -> None:
    """:func:`numpy.savez_compressed` at zlib level 1: a quarter of the time for float fields.

    The archive is an ordinary ``.npz`` (``numpy.load`` reads it; no pickled objects).
    """
    import zipfile

    with zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def _sample(field: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Bilinear samples (float64) of an (H, W, C) field at points (..., 2), clamped to the border.

    Each channel is gathered from its own contiguous copy by flat index (``take``), about twice
    as fast as indexing the (H, W, C) array with two index arrays and with the same arithmetic, so
    the same bits: ``inverse_grid`` calls this some 30 times per frame.
    """
    h, w = field.shape[:2]
    px = np.clip(x[..., 0], 0, w - 1)
    py = np.clip(x[..., 1], 0, h - 1)
    x0 = np.minimum(px.astype(np.int64), w - 2)  # px >= 0: truncation is the floor
    y0 = np.minimum(py.astype(np.int64), h - 2)
    fx, fy = px - x0, py - y0
    gx, gy = 1 - fx, 1 - fy
    i = y0 * w + x0
    out = np.empty(x.shape[:-1] + field.shape[2:], dtype=np.result_type(field.dtype, np.float64))
    for c in range(field.shape[2]):
        f = np.ascontiguousarray(field[..., c]).ravel()
        top = f.take(i) * gx + f.take(i + 1) * fx
        bottom = f.take(i + w) * gx + f.take(i + w + 1) * fx
        out[..., c] = top * gy + bottom * fy
    return out


def tps_field(points: np.ndarray, displacements: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Thin-plate spline through ``points`` with values ``displacements``, on an (H, W) grid.

    Parameters
    ----------
    points : ndarray, shape (n, 2)
    displacements : ndarray, shape (n, 2)
    shape : (H, W)

    Returns
    -------
    ndarray, shape (H, W, 2), float64
        Smooth, equal to ``displacements`` at ``points``, affine far away.
    """
    from scipy.interpolate import RBFInterpolator

    h, w = shape
    rbf = RBFInterpolator(
        np.asarray(points, np.float64), np.asarray(displacements, np.float64), kernel="thin_plate_spline"
    )
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    return rbf(np.stack([xs.ravel(), ys.ravel()], 1)).reshape(h, w, 2)


def face_photo(img: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The largest face of a photo cropped as in Sec. 4.3 (landmark box + 10 px) and resized to :data:`SIZE`.

    Parameters
    ----------
    img : ndarray
        RGB uint8 photo.

    Returns
    -------
    (ndarray, ndarray) or None
        The crop and dlib's landmarks on it; None without a face, or when the crop would be
        smaller than 120 px (an upscaled tiny face).
    """
    import cv2

    faces = lmk.dlib_detect_faces(img)
    if not faces:
        return None
    box = gt.crop_box(faces[0].landmarks, img.shape[:2], 30)
    x0, y0, x1, y1 = box
    if min(x1 - x0, y1 - y0) < 120:
        return None
    crop = cv2.resize(np.ascontiguousarray(img[y0:y1, x0:x1]), (SIZE[1], SIZE[0]), interpolation=cv2.INTER_AREA)
    found = lmk.dlib_detect_faces(crop)
    return (crop, found[0].landmarks) if found else None


def known_sequence(photo: np.ndarray, points: np.ndarray, expression: np.ndarray, n_frames: int, rng) -> tuple:
    """Frames of ``photo`` under a known head motion and expression, with the true flows and landmarks.

    Parameters
    ----------
    photo : ndarray, shape (H, W, 3)
    points : ndarray, shape (68, 2)
        The photo's landmarks.
    expression : ndarray, shape (68, 2)
        Landmark displacement of the expression at its apex, in units of the face size.
    n_frames : int
    rng : numpy.random.Generator
        Draws the head motion: per frame up to 0.8 degrees of rotation, 0.8 % of scale and
        1.5 px of translation.

    Returns
    -------
    frames : list of ndarray
    flows : list of ndarray, shape (H, W, 2)
        True flow of each pair on the grid of its first frame.
    true_landmarks : ndarray, shape (n_frames, 68, 2)
    """
    import cv2

    h, w = photo.shape[:2]
    size = face_size(points)
    E = tps_field(points, expression * size, (h, w))
    centre = tuple(points.mean(0))
    step = (rng.uniform(-0.8, 0.8), rng.uniform(-0.008, 0.008), *rng.uniform(-1.5, 1.5, 2))
    sims = [
        synthetic.similarity(1 + k * step[1], k * step[0], k * step[2], k * step[3], centre) for k in range(n_frames)
    ]
    amounts = list(np.linspace(0.0, 1.0, n_frames))
    motion = KnownMotion(E, np.asarray(points, np.float64), sims, amounts)
    inverses = [motion.inverse_grid(k) for k in range(n_frames)]
    frames = [
        cv2.remap(
            photo,
            inv[..., 0].astype(np.float32),
            inv[..., 1].astype(np.float32),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )
        for inv in inverses
    ]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    grid = np.stack([xs, ys], -1)
    flows = [(motion.forward(k + 1, inverses[k]) - grid).astype(np.float32) for k in range(n_frames - 1)]
    true_lm = np.stack([motion.forward(k, motion.landmarks) for k in range(n_frames)])
    return frames, flows, true_lm


# ----------------------------------------------------------------------------- the known-motion set
@dataclass
class KnownMotionSequence:
    """One photo moved by a known motion: frames, true flows and true landmarks.

    Attributes
    ----------
    name : str
        The source (photo or clip) it was made from.
    frames : list of ndarray
        RGB uint8 frames of :data:`SIZE`.
    flows : list of ndarray, shape (H, W, 2)
        The true flow of each pair (frame k to k+1) on the grid of frame k, defined everywhere.
    landmarks : ndarray, shape (N, 68, 2)
        The true landmarks of each frame.
    """

    name: str
    frames: list
    flows: list
    landmarks: np.ndarray

    def face_mask(self, k: int) -> np.ndarray:
        """The true face of frame ``k``: the mesh of its true landmarks (triangles of frame 0).

        Parameters
        ----------
        k : int

        Returns
        -------
        ndarray, shape (H, W), bool
        """
        return gt.face_mask(self.landmarks[k], gt.triangulate(self.landmarks[0]), self.frames[0].shape[:2])

    def pairs(self):
        """The sequence as flow pairs with exact ground truth, each masked by its true face.

        Returns
        -------
        list of faceflow.io.datasets.FlowPair
            Named ``<source>/<k>``, source ``known motion``; ``mask`` is the true face (the
            ground truth itself is exact everywhere, so regions here are regions, not validity).
        """
        return [
            datasets.FlowPair(
                f"{self.name}/{k}", self.frames[k], self.frames[k + 1], f, KNOWN_MOTION, self.face_mask(k)
            )
            for k, f in enumerate(self.flows)
        ]


#: Source label of the pairs of the known-motion set.
KNOWN_MOTION = "known motion"


@dataclass
class KnownMotionSet:
    """Real face photos of different people moved by known face-like motions (exact dense ground truth).

    Attributes
    ----------
    sequences : list of KnownMotionSequence
    expressions : str
        Where the expression displacements came from.
    settings : dict
        ``n_sources, n_frames, clip_frames, seed``.
    missing : dict of str to str
    """

    sequences: list
    expressions: str
    settings: dict
    missing: dict = field(default_factory=dict)

    @property
    def sources(self) -> list[str]:
        """The photos (and clip frames) the sequences were made from."""
        return [s.name for s in self.sequences]

    def pairs(self) -> list:
        """Every pair of every sequence (:meth:`KnownMotionSequence.pairs`).

        Returns
        -------
        list of faceflow.io.datasets.FlowPair
        """
        return [p for s in self.sequences for p in s.pairs()]

    def save(self, path) -> None:
        """Write the set to a compressed NumPy archive (the cache of :func:`known_motion_set`).

        Parameters
        ----------
        path : path-like
        """
        import io
        import json

        from faceflow.io.atomic import atomic_write_bytes

        buf = io.BytesIO()
        _savez_fast(
            buf,
            frames=np.stack([np.stack(s.frames) for s in self.sequences]),
            flows=np.stack([np.stack(s.flows) for s in self.sequences]),
            landmarks=np.stack([s.landmarks for s in self.sequences]),
            meta=np.frombuffer(
                json.dumps(
                    {"names": self.sources, "expressions": self.expressions, "settings": self.settings}
                ).encode(),
                np.uint8,
            ),
        )
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path) -> KnownMotionSet:
        """Read a set written by :meth:`save` (no pickled objects are read).

        Parameters
        ----------
        path : path-like

        Returns
        -------
        KnownMotionSet

        Raises
        ------
        ValueError
            Not a known-motion archive.
        """
        import json

        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode())
                frames, flows, lms = z["frames"], z["flows"], z["landmarks"]
        except (KeyError, ValueError, OSError) as exc:
            raise ValueError(f"{path}: not a known-motion archive ({exc})") from None
        seqs = [KnownMotionSequence(n, list(frames[i]), list(flows[i]), lms[i]) for i, n in enumerate(meta["names"])]
        return cls(seqs, meta["expressions"], meta["settings"])


def _photos(data_root, n: int) -> tuple[list[tuple[str, np.ndarray]], dict]:
    """Every photo of dlib's examples (the astronaut without them), to be tried in order."""
    missing = {}
    folder = datasets.locate("dlib_faces", data_root)
    photos = [(p.stem, read_image(p)) for p in list_images(folder)] if folder is not None else []
    if not photos:
        missing["dlib face photos"] = f"{datasets.DATASETS['dlib_faces'].hint} Using the astronaut photo."
        photos = [("astronaut", synthetic.fallback_image())]
    return photos, missing


def _expression_sources(data_root, n_frames: int) -> list[np.ndarray]:
    """Tracked landmarks of the real emotion clips of the face corpus (MEAD), else the OpenFace videos."""
    root = datasets.root_or_none(data_root)
    videos = []
    if root is not None:
        for sub in ("faces/mead", "openface"):
            if (root / sub).is_dir():
                videos += sorted(p for p in (root / sub).iterdir() if p.suffix.lower() in VIDEO_EXTS)
    seqs = []
    for v in videos[:3]:
        frames = read_video_frames(v, max_frames=n_frames)
        seqs.append(lmk.track_and_stabilize(frames)[1])
    return seqs


def known_motion_set(
    data_root, n_sources: int = 3, n_frames: int = 12, clip_frames: int = 60, seed: int = 0, cache=None
) -> KnownMotionSet:
    """Sequences of real face photos moved by known motions: the exact-ground-truth test set.

    Every usable photo of dlib's examples (a face of at least 120 px, :func:`face_photo`) gives
    one sequence of ``n_frames`` frames, until ``n_sources``; the head motion of each is drawn
    from ``seed``, its expression is one of the strongest real expressions of the corpus's MEAD
    clips (:func:`expression_displacements`), reached at the sequence's last frame. Made once
    and cached when ``cache`` is given (a ``.npz`` archive, reused when its settings match).

    Parameters
    ----------
    data_root : path-like or None
    n_sources : int
        Sequences (people).
    n_frames : int
        Frames per sequence. Real clips of the corpus are tens of frames long and an expression
        unfolds over many of them: with very short sequences the whole expression happens in
        two or three frames, and the tracker sees far faster non-rigid motion than real video
        gives (the ground-truth chapter measures the difference).
    clip_frames : int
        Frames of each real clip tracked for its expressions.
    seed : int
    cache : path-like, optional

    Returns
    -------
    KnownMotionSet

    Raises
    ------
    ValueError
        dlib finds no usable face on any photo.
    """
    from pathlib import Path

    settings = {"n_sources": n_sources, "n_frames": n_frames, "clip_frames": clip_frames, "seed": seed}
    photos, missing = _photos(data_root, n_sources)
    if cache is not None and Path(cache).is_file():
        cached = KnownMotionSet.load(cache)
        if cached.settings == dict(settings, photos=[n for n, _ in photos]):
            cached.missing = missing
            return cached
    rng = np.random.default_rng(seed)
    clips = _expression_sources(data_root, clip_frames)
    expressions = expression_displacements(clips, n=n_sources)
    source = "real clips (MEAD / OpenFace), Procrustes residuals" if expressions else "generated (no real clip)"
    if not expressions:
        missing["real expressions"] = (
            "No face video under the data root: a generated mouth-and-brow expression is used."
        )
    seqs = []
    for name, img in photos:
        found = face_photo(img)
        if found is None:
            continue
        crop, pts = found
        expr = expressions[len(seqs) % len(expressions)] if expressions else generated_expression(pts, rng)
        frames, flows, true_lm = known_sequence(crop, pts, expr, n_frames, rng)
        seqs.append(KnownMotionSequence(name, frames, flows, true_lm))
        if len(seqs) == n_sources:
            break
    if not seqs:
        raise ValueError("no face found on any photo: cannot make the known-motion set")
    if len(seqs) < n_sources:
        missing["known-motion sources"] = f"only {len(seqs)} of the photos have a usable face ({n_sources} wanted)"
    out = KnownMotionSet(seqs, source, dict(settings, photos=[n for n, _ in photos]), missing)
    if cache is not None:
        out.save(cache)
    return out


# ----------------------------------------------------------------------------- the study
def _regions(mask: np.ndarray) -> dict[str, np.ndarray]:
    import cv2

    inner = cv2.erode(mask.astype(np.uint8), np.ones((2 * BAND + 1, 2 * BAND + 1), np.uint8)).astype(bool)
    return {"face": mask, "interior": inner, "boundary band": mask & ~inner}


def sequence_errors(seq: KnownMotionSequence) -> tuple[pd.DataFrame, list]:
    """Run the pipeline on one known-motion sequence and split its error (module docstring).

    Errors are measured as the paper measures (Sec. 5.1): on the k = 1 grid, half the frame,
    every flow averaged there (:func:`faceflow.flow.fields.to_grid`) and each region with the
    rule of :func:`faceflow.flow.fields.resize_mask`.

    Parameters
    ----------
    seq : KnownMotionSequence

    Returns
    -------
    rows : pandas.DataFrame
        One row per (pair, part, region): ``sequence, pair, part, region, epe, aae`` (AAE in
        radians, Eq. 8), plus ``mean |u|`` of the true field there.
    landmark_pairs : list of FlowPair
        The pairs with the pipeline's own (landmark) ground truth and its valid mask, as
        ``faceflow gt`` would store them (uncropped): what a method is scored against on real
        clips.
    """
    from faceflow.flow.fields import paper_grid, resize_mask, to_grid
    from faceflow.groundtruth.checks import check_pair

    frames, flows, true_lm, name = seq.frames, seq.flows, seq.landmarks, seq.name
    shape = frames[0].shape[:2]
    grid = paper_grid(shape)
    _, det = lmk.track_and_stabilize(frames)
    S = gt.triangulate(true_lm[0])
    run = {
        (src, mode): [o.result for o in gt.sequence_flows(lms, shape, mode, simplices=S)]
        for src, lms in (("true", true_lm), ("detected", det))
        for mode in gt.MODES
        if np.isfinite(lms).all()
    }
    rows, landmark_pairs = [], []
    for k, truth in enumerate(flows):
        true_ex = run[("true", "exact")][k]
        zero = np.zeros_like(truth)
        det_ex = run.get(("detected", "exact"), [None] * len(flows))[k]
        det_pa = run.get(("detected", "paper"), [None] * len(flows))[k]
        suspect = False
        if det_pa is not None:
            valid = det_pa.mask & _inside_frame(det_pa.flow)
            # the writer's own consistency check: the dataset leaves suspect pairs out
            suspect = check_pair(det[k], det[k + 1], frames[k], frames[k + 1], det_pa.flow).suspect
            if not suspect:
                landmark_pairs.append(
                    datasets.FlowPair(f"{name}/{k}", frames[k], frames[k + 1], det_pa.flow, KNOWN_MOTION, valid)
                )
        pairs = {
            "piecewise-affine": (true_ex.flow, truth),
            "resampling": (run[("true", "paper")][k].flow, true_ex.flow),
            "landmark noise": (det_ex.flow if det_ex else None, true_ex.flow),
            "whole pipeline": (det_pa.flow if det_pa else None, truth),
            "zero flow": (zero, truth),
        }
        on_grid = {part: (None if a is None else to_grid(a, grid), to_grid(b, grid)) for part, (a, b) in pairs.items()}
        mag = np.linalg.norm(to_grid(truth, grid), axis=2)
        for region, m in _regions(true_ex.mask).items():
            m = resize_mask(m, grid)
            if not m.any():
                continue
            for part, (a, b) in on_grid.items():
                e = epe(a, b, m) if a is not None else np.nan
                ang = aae(a, b, m) if a is not None else np.nan
                rows.append(
                    dict(
                        sequence=name,
                        pair=k,
                        part=part,
                        region=region,
                        epe=e,
                        aae=ang,
                        suspect=suspect,
                        **{"mean |u|": float(mag[m].mean())},
                    )
                )
    return pd.DataFrame(rows), landmark_pairs


def _inside_frame(flow: np.ndarray) -> np.ndarray:
    """Pixels that ``flow`` carries to a point inside its frame."""
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    x, y = xs + flow[..., 0], ys + flow[..., 1]
    return (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


@dataclass
class GroundTruthError:
    """The error of the landmark ground truth on known motions.

    Attributes
    ----------
    per_pair : pandas.DataFrame
        Rows of :func:`sequence_errors` for every sequence.
    sources : list of str
        The photos used.
    expressions : str
        Where the expression displacements came from.
    seconds : float
    landmark_pairs : list of FlowPair
        The pipeline's ground truth of every pair (:func:`sequence_errors`).
    missing : dict of str to str
    """

    per_pair: pd.DataFrame
    sources: list
    expressions: str
    seconds: float
    landmark_pairs: list = field(default_factory=list)
    missing: dict = field(default_factory=dict)

    @property
    def usable(self) -> pd.DataFrame:
        """The rows of the pairs the dataset would keep (the writer's check passed, see
        :mod:`faceflow.groundtruth.checks`): what the tables and :meth:`epe` average."""
        return self.per_pair[~self.per_pair["suspect"].astype(bool)]

    def suspect_share(self) -> float:
        """Share of the pairs the writer's consistency check marks suspect (left out of the dataset).

        Returns
        -------
        float
        """
        pairs = self.per_pair.drop_duplicates(["sequence", "pair"])
        return float(pairs["suspect"].astype(bool).mean())

    def table(self) -> pd.DataFrame:
        """Mean EPE and AAE per part (rows) and region (columns), on the k = 1 grid, usable pairs.

        Returns
        -------
        pandas.DataFrame
        """
        t = self.usable.groupby(["part", "region"], sort=False)[["epe", "aae"]].mean().unstack("region")
        t = t.swaplevel(axis=1).sort_index(axis=1, level=0, sort_remaining=False).reindex(list(PARTS))
        t.columns.names = ["region", "metric"]
        return t

    def epe(self, part: str, region: str = "face") -> float:
        """Mean EPE of one part of the error over one region.

        Parameters
        ----------
        part : str
            One of :data:`PARTS`.
        region : {"face", "interior", "boundary band"}

        Returns
        -------
        float
        """
        rows = self.usable[(self.usable.part == part) & (self.usable.region == region)]
        return float(rows["epe"].mean())

    def largest_part(self) -> str:
        """The component (piecewise-affine, resampling or landmark noise) with the largest EPE on the face.

        Returns
        -------
        str
        """
        return max(PARTS[:3], key=self.epe)


def ground_truth_error(known: KnownMotionSet) -> GroundTruthError:
    """Measure the landmark ground truth's error on the known motions of ``known``.

    Parameters
    ----------
    known : KnownMotionSet
        From :func:`known_motion_set`.

    Returns
    -------
    GroundTruthError
    """
    t0 = time.perf_counter()
    parts, landmark_pairs = [], []
    for seq in known.sequences:
        rows, pairs = sequence_errors(seq)
        parts.append(rows)
        landmark_pairs += pairs
    return GroundTruthError(
        pd.concat(parts, ignore_index=True),
        known.sources,
        known.expressions,
        time.perf_counter() - t0,
        landmark_pairs,
        dict(known.missing),
    )
