"""68-point iBUG facial landmarks.

The default backend is dlib's frontal face detector with the 68-point shape predictor shipped by
the ``face-recognition-models`` package (the same iBUG point layout as OpenFace). The model file
is located through :func:`importlib.util.find_spec`, because importing
``face_recognition_models`` needs ``pkg_resources``, which new environments lack. Landmarks
computed elsewhere (OpenFace CSVs, CK+ files, ``.npy``) are read by :mod:`faceflow.io.landmark_files`.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from faceflow.io.images import to_gray
from faceflow.io.landmark_files import N_LANDMARKS


class LandmarkModelError(RuntimeError):
    """A landmark model (weights file or package) is not available."""


def dlib_model_path() -> Path:
    """Path of ``shape_predictor_68_face_landmarks.dat`` from ``face-recognition-models``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    LandmarkModelError
        The package or its model file is missing.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise LandmarkModelError(
            "package 'face-recognition-models' is not installed; it ships dlib's 68-point model "
            "(pip install face-recognition-models)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / "shape_predictor_68_face_landmarks.dat"
    if not path.is_file():
        raise LandmarkModelError(f"{path}: dlib 68-point model missing from face-recognition-models")
    return path


@lru_cache(maxsize=1)
def _dlib_models():
    import dlib

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(dlib_model_path()))


@dataclass
class Face:
    """A detected face: box (left, top, right, bottom) in pixels and its (68, 2) landmarks (x, y)."""

    box: tuple[int, int, int, int]
    landmarks: np.ndarray
    score: float = 0.0


def dlib_landmarks_in_box(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Fit the 68-point shape predictor inside ``box`` (left, top, right, bottom).

    Parameters
    ----------
    img : ndarray
        RGB or gray uint8 image.
    box : (left, top, right, bottom)
        Pixels; rounded to integers.

    Returns
    -------
    ndarray, shape (68, 2), float64
        (x, y) of the iBUG points.
    """
    import dlib

    _, predictor = _dlib_models()
    gray = to_gray(img)
    rect = dlib.rectangle(*(int(round(v)) for v in box))
    shape = predictor(gray, rect)
    return np.array([[shape.part(i).x, shape.part(i).y] for i in range(N_LANDMARKS)], dtype=np.float64)


def dlib_detect_faces(img: np.ndarray, upsample: int = 0) -> list[Face]:
    """Detect every frontal face in an RGB or gray uint8 image, largest first.

    Parameters
    ----------
    img : ndarray
    upsample : int
        Times the detector upsamples the image (finds smaller faces, slower).

    Returns
    -------
    list of Face
    """
    detector, _ = _dlib_models()
    gray = to_gray(img)
    rects, scores, _ = detector.run(gray, upsample, 0.0)
    faces = []
    for r, s in zip(rects, scores):
        box = (r.left(), r.top(), r.right(), r.bottom())
        faces.append(Face(box, dlib_landmarks_in_box(gray, box), float(s)))
    faces.sort(key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), reverse=True)
    return faces


# ============================================================================ backends, tracking
class DlibBackend:
    """dlib HOG detector + 68-point shape predictor (the default; works offline)."""

    name = "dlib"

    def __init__(self, upsample: int = 0):
        _dlib_models()  # fail early with a clear error
        self.upsample = upsample

    def detect(self, img: np.ndarray) -> list[Face]:
        """Every face of ``img``, largest first (:func:`dlib_detect_faces`).

        Parameters
        ----------
        img : ndarray

        Returns
        -------
        list of Face
        """
        return dlib_detect_faces(img, self.upsample)

    def fit(self, img: np.ndarray, box) -> np.ndarray:
        """The 68 landmarks of the face in ``box`` (:func:`dlib_landmarks_in_box`).

        Parameters
        ----------
        img : ndarray
        box : (left, top, right, bottom)

        Returns
        -------
        ndarray, shape (68, 2)
        """
        return dlib_landmarks_in_box(img, box)


class FaceAlignmentBackend:
    """``face-alignment`` (FAN, 2D 68 points), only when its weights are already on this machine.

    face-alignment downloads its weights into the torch hub cache on first use; this project
    runs offline, so the backend refuses to start (``LandmarkModelError``) unless the weight
    files are present locally.
    """

    name = "face-alignment"
    WEIGHT_PATTERNS = ("2DFAN4*", "s3fd*")

    def __init__(self, device: str = "cpu"):
        try:
            import face_alignment  # noqa: F401
        except Exception as exc:  # ImportError, or a missing dependency such as numba
            raise LandmarkModelError(
                f"the face-alignment backend is unavailable: importing face_alignment failed ({exc}). "
                "Use backend='dlib' (default) or install face-alignment with its dependencies."
            ) from exc
        import torch

        ckpt = Path(torch.hub.get_dir()) / "checkpoints"
        missing = [p for p in self.WEIGHT_PATTERNS if not list(ckpt.glob(p))]
        if missing:
            raise LandmarkModelError(
                f"face-alignment weights not found locally in {ckpt} (missing {', '.join(missing)}). "
                "They are downloaded on first use, which needs network access; fetch them once "
                "(python -c 'import face_alignment as f; f.FaceAlignment(f.LandmarksType.TWO_D)') "
                "or use backend='dlib'."
            )
        import face_alignment

        self._fa = face_alignment.FaceAlignment(face_alignment.LandmarksType.TWO_D, device=device)

    def detect(self, img: np.ndarray) -> list[Face]:
        """Every face of ``img`` (S3FD detector, then FAN), largest first.

        Parameters
        ----------
        img : ndarray

        Returns
        -------
        list of Face
        """
        img = np.asarray(img)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        boxes = self._fa.face_detector.detect_from_image(img[..., ::-1].copy())
        faces = []
        for b in boxes or []:
            box = tuple(int(round(v)) for v in b[:4])
            faces.append(Face(box, self.fit(img, box), float(b[4]) if len(b) > 4 else 0.0))
        faces.sort(key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), reverse=True)
        return faces

    def fit(self, img: np.ndarray, box) -> np.ndarray:
        """The 68 landmarks of the face in ``box`` (FAN); all NaN when FAN finds none.

        Parameters
        ----------
        img : ndarray
        box : (left, top, right, bottom)

        Returns
        -------
        ndarray, shape (68, 2)
        """
        img = np.asarray(img)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        out = self._fa.get_landmarks_from_image(img, detected_faces=[list(box)])
        if not out:
            return np.full((N_LANDMARKS, 2), np.nan)
        return np.asarray(out[0][:, :2], np.float64)


BACKENDS = {"dlib": DlibBackend, "face-alignment": FaceAlignmentBackend}


def get_backend(name: str = "dlib", **kwargs):
    """Instantiate a landmark backend by name (``dlib`` or ``face-alignment``).

    Parameters
    ----------
    name : str
    **kwargs
        Passed to the backend's constructor.

    Returns
    -------
    DlibBackend or FaceAlignmentBackend

    Raises
    ------
    ValueError
        Unknown name.
    LandmarkModelError
        The backend's model is not available.
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown landmark backend {name!r}; choose one of {sorted(BACKENDS)}")
    return BACKENDS[name](**kwargs)


def landmark_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the landmarks' min/max.

    Parameters
    ----------
    points : ndarray, shape (n, 2)

    Returns
    -------
    tuple of float
    """
    p = np.asarray(points, np.float64)
    return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())


def box_iou(a, b) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes.

    Parameters
    ----------
    a, b : (left, top, right, bottom)

    Returns
    -------
    float
        0 when the union is empty.
    """
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / ua) if ua > 0 else 0.0


@dataclass
class TrackResult:
    """Landmarks of a sequence with the tracker's log.

    Attributes
    ----------
    landmarks : (N, 68, 2) float64, NaN for frames without a face
    source : list of str, per frame: ``"detect"``, ``"track"`` or ``"none"``
    n_detect : number of full detector runs
    seconds_detect, seconds_track : time spent in detection and in tracked fits
    lost : dict, frame -> why the tracked landmarks are not on the face they started on (the
        verification of :class:`FaceVerifier`; empty when not verified or nothing was found)
    """

    landmarks: np.ndarray
    source: list = field(default_factory=list)
    n_detect: int = 0
    seconds_detect: float = 0.0
    seconds_track: float = 0.0
    lost: dict = field(default_factory=dict)

    @property
    def missing(self) -> list[int]:
        return [i for i, s in enumerate(self.source) if s == "none"]


class FaceTracker:
    """Detect a face once, then follow it from the previous frame's box; detect again on failure.

    Tracking fits the landmark model in a box predicted from the previous frame's landmarks
    (the detector box is kept relative to the landmarks' min/max box, so the model sees the box
    shape it was trained on). The fit is accepted when the new landmarks stay consistent with
    the previous ones: the landmark box keeps its size within ``max_scale_change`` and moves
    less than ``max_shift`` of its size. Otherwise the detector runs on the whole frame and
    the face nearest to the last known box is taken (several faces: the tracked one is followed,
    not the largest). No face: the frame is recorded as missing (NaN), never an error.

    Parameters
    ----------
    backend : str or backend object
    redetect_every : int
        Also run the detector every this many frames (0: only on failure) to confirm the track.
    min_iou : float
        On re-detection, a face must overlap the last known box by this much to count as the
        same face (when a face was tracked before); otherwise the largest face is taken only if
        no face was tracked yet.
    """

    def __init__(
        self,
        backend="dlib",
        redetect_every: int = 0,
        max_shift: float = 0.25,
        max_scale_change: float = 0.2,
        min_iou: float = 0.2,
    ):
        self.backend = get_backend(backend) if isinstance(backend, str) else backend
        self.redetect_every = redetect_every
        self.max_shift = max_shift
        self.max_scale_change = max_scale_change
        self.min_iou = min_iou
        self.reset()

    def reset(self) -> None:
        """Forget the tracked face and the timing counters."""
        self.prev: np.ndarray | None = None  # last landmarks (None after a miss)
        self.last_box = None  # last known detector-style box (kept across misses)
        self.rel = None  # detector box relative to the landmark box
        self.since_detect = 0
        self.n_detect = 0
        self.seconds_detect = 0.0
        self.seconds_track = 0.0

    def _remember(self, face_box, pts) -> None:
        lb = landmark_box(pts)
        w, h = max(lb[2] - lb[0], 1.0), max(lb[3] - lb[1], 1.0)
        self.rel = (
            (face_box[0] - lb[0]) / w,
            (face_box[1] - lb[1]) / h,
            (face_box[2] - lb[2]) / w,
            (face_box[3] - lb[3]) / h,
        )

    def _predict_box(self, pts):
        lb = landmark_box(pts)
        w, h = max(lb[2] - lb[0], 1.0), max(lb[3] - lb[1], 1.0)
        r = self.rel or (0.0, 0.0, 0.0, 0.0)
        return (lb[0] + r[0] * w, lb[1] + r[1] * h, lb[2] + r[2] * w, lb[3] + r[3] * h)

    def _consistent(self, old, new) -> bool:
        if not np.isfinite(new).all():
            return False
        a, b = landmark_box(old), landmark_box(new)
        wa, ha = a[2] - a[0], a[3] - a[1]
        wb, hb = b[2] - b[0], b[3] - b[1]
        if wa <= 0 or ha <= 0 or wb <= 0 or hb <= 0:
            return False
        if abs(wb / wa - 1) > self.max_scale_change or abs(hb / ha - 1) > self.max_scale_change:
            return False
        shift = np.hypot((a[0] + a[2] - b[0] - b[2]) / 2, (a[1] + a[3] - b[1] - b[3]) / 2)
        return shift <= self.max_shift * max(wa, ha)

    def _detect(self, img):
        import time

        t = time.perf_counter()
        faces = self.backend.detect(img)
        self.seconds_detect += time.perf_counter() - t
        self.n_detect += 1
        self.since_detect = 0
        if not faces:
            return None
        if self.last_box is None:
            return faces[0]  # largest
        scored = [(box_iou(f.box, self.last_box), f) for f in faces]
        iou, best = max(scored, key=lambda s: s[0])
        return best if iou >= self.min_iou else None

    def reanchor(self, box) -> None:
        """Detect again on the next frame, taking the face that overlaps ``box`` (after a lost track).

        Parameters
        ----------
        box : (left, top, right, bottom)
            Where the face is now (e.g. found by :class:`FaceVerifier`).
        """
        self.prev = None
        self.last_box = box

    def update(self, img: np.ndarray) -> tuple[np.ndarray, str]:
        """Landmarks of the next frame and how they were obtained (detect/track/none).

        Parameters
        ----------
        img : ndarray
            The next frame (RGB or gray uint8).

        Returns
        -------
        landmarks : ndarray, shape (68, 2)
            All NaN when no face was found.
        source : str
            ``"track"``, ``"detect"`` or ``"none"``.
        """
        import time

        if self.prev is not None and (self.redetect_every <= 0 or self.since_detect + 1 < self.redetect_every):
            box = self._predict_box(self.prev)
            t = time.perf_counter()
            pts = self.backend.fit(img, box)
            self.seconds_track += time.perf_counter() - t
            if self._consistent(self.prev, pts):
                self.prev = pts
                self.last_box = self._predict_box(pts)
                self.since_detect += 1
                return pts, "track"
        face = self._detect(img)
        if face is None:
            self.prev = None
            return np.full((N_LANDMARKS, 2), np.nan), "none"
        self._remember(face.box, face.landmarks)
        self.prev = face.landmarks
        self.last_box = face.box
        return face.landmarks, "detect"


#: dlib's face-descriptor distance above which two faces are different people (its documented 0.6).
SAME_PERSON_DISTANCE = 0.6
#: A re-detected face must overlap the tracked landmarks' box by this much to be the tracked face.
VERIFY_MIN_IOU = 0.3
#: Mean grey-level change inside the face box between two frames that calls for a check at once
#: (a cut: blank frames, another person). Between consecutive frames of the real face corpus it is
#: 3 at the median and at most 25 (first 40 frames of every third clip); a cut to grey or to
#: another photo changes it by 35 to 60.
VERIFY_CHANGE = 20.0


@lru_cache(maxsize=1)
def _dlib_encoder():
    import dlib

    path = dlib_model_path().parent / "dlib_face_recognition_resnet_model_v1.dat"
    if not path.is_file():
        raise LandmarkModelError(f"{path}: dlib face-recognition model missing from face-recognition-models")
    return dlib.face_recognition_model_v1(str(path))


def dlib_face_models():
    """dlib's face detector, 68-point shape predictor and face-recognition encoder, each loaded once.

    The one loader of dlib's models (tracking, verification and the subject table share it).

    Returns
    -------
    (detector, predictor, encoder)
        ``dlib.fhog_object_detector``, ``dlib.shape_predictor``, ``dlib.face_recognition_model_v1``.

    Raises
    ------
    LandmarkModelError
        ``face-recognition-models`` or one of its model files is missing.
    """
    detector, predictor = _dlib_models()
    return detector, predictor, _dlib_encoder()


def face_descriptor(img: np.ndarray, points: np.ndarray) -> np.ndarray:
    """dlib's 128-d face descriptor of the face whose 68 landmarks are ``points``.

    Parameters
    ----------
    img : ndarray
        RGB (or gray) uint8 frame.
    points : ndarray, shape (68, 2)

    Returns
    -------
    ndarray, shape (128,), float64
        Two faces of one person are usually closer than :data:`SAME_PERSON_DISTANCE`.
    """
    import dlib

    rgb = np.ascontiguousarray(np.repeat(img[..., None], 3, 2) if img.ndim == 2 else img)
    x0, y0, x1, y1 = (int(round(v)) for v in landmark_box(points))
    parts = [dlib.point(int(round(x)), int(round(y))) for x, y in points]
    shape = dlib.full_object_detection(dlib.rectangle(x0, y0, x1, y1), parts)
    return np.asarray(_dlib_encoder().compute_face_descriptor(rgb, shape, 0), np.float64)


class FaceVerifier:
    """Re-detect the face now and then and compare it with the tracked one.

    A tracker follows whatever its landmark model fits in the predicted box: through blank
    frames, onto the background when the face leaves the frame, onto another person who takes
    the place. Every ``every`` frames (and on every frame while a check fails) the detector runs
    on the frame (again on a padded copy when it finds nothing: tight crops defeat it); a frame
    whose face region changes suddenly (a cut) is checked at once. The check fails when

    * no detected face overlaps the tracked landmarks' box by :data:`VERIFY_MIN_IOU` ("no face at
      the tracked landmarks"), or
    * the detected face's descriptor is farther than :data:`SAME_PERSON_DISTANCE` from that of the
      first face checked ("another person").

    A check never changes landmarks: it says which frames to distrust. When the tracked
    landmarks have left the face but the first face is found elsewhere in the frame, the check
    also returns that face's box, and :func:`track_and_stabilize` re-anchors the tracker on it.

    Parameters
    ----------
    backend : backend object
        Its ``detect`` finds the faces.
    every : int
        Frames between two routine checks (>= 1).
    """

    def __init__(self, backend, every: int):
        if every < 1:
            raise ValueError(f"verification interval must be >= 1 frame, got {every}")
        self.backend, self.every = backend, every
        self.reference: np.ndarray | None = None
        self.failing = False
        self.n_checks = 0

    def due(self, k: int, change: float = 0.0) -> bool:
        """Whether frame ``k`` is checked: a routine frame, a sudden change, or the face is being looked for.

        Parameters
        ----------
        k : int
        change : float
            Mean grey-level change inside the face box since the previous frame (a cut above
            :data:`VERIFY_CHANGE`).

        Returns
        -------
        bool
        """
        return self.failing or k % self.every == 0 or change > VERIFY_CHANGE

    def _faces(self, img: np.ndarray) -> list[Face]:
        import cv2

        faces = self.backend.detect(img)
        if faces:
            return faces
        pad = max(img.shape[:2]) // 4
        big = cv2.copyMakeBorder(np.ascontiguousarray(img), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        return [Face(tuple(v - pad for v in f.box), f.landmarks - pad, f.score) for f in self.backend.detect(big)]

    def _distance(self, img: np.ndarray, face: Face) -> float:
        return float(np.linalg.norm(face_descriptor(img, face.landmarks) - self.reference))

    def check(self, img: np.ndarray, points: np.ndarray) -> tuple[str, tuple | None]:
        """Why the tracked ``points`` are not on the face the sequence started with, and where that face is.

        Parameters
        ----------
        img : ndarray
            The frame.
        points : ndarray, shape (68, 2)
            The tracked landmarks (finite).

        Returns
        -------
        why : str
            Empty when the check passes.
        anchor : tuple or None
            When the tracked landmarks are on no face but the first face is elsewhere in the
            frame: its box (left, top, right, bottom); else None.
        """
        self.n_checks += 1
        tracked = landmark_box(points)
        faces = self._faces(img)
        iou, face = max(((box_iou(landmark_box(f.landmarks), tracked), f) for f in faces), default=(0.0, None))
        if face is None or iou < VERIFY_MIN_IOU:
            anchor = None
            if self.reference is not None and faces:
                dist, best = min(((self._distance(img, f), f) for f in faces), key=lambda t: t[0])
                anchor = best.box if dist <= SAME_PERSON_DISTANCE else None
            return "no face at the tracked landmarks (a blank frame, or the face left the frame?)", anchor
        if self.reference is None:
            self.reference = face_descriptor(img, face.landmarks)
            return "", None
        dist = self._distance(img, face)
        if dist > SAME_PERSON_DISTANCE:
            return f"another person (face descriptor {dist:.2f} from the first face's)", None
        return "", None


def track_sequence(frames, backend="dlib", progress: bool = False, **tracker_kwargs) -> TrackResult:
    """Landmarks of every frame of one sequence with :class:`FaceTracker` (detect once, then track).

    Parameters
    ----------
    frames : iterable of ndarray
        RGB (or gray) uint8 images.
    backend : str or backend object
    progress : bool
        Show a tqdm bar.
    **tracker_kwargs
        Passed to :class:`FaceTracker`.

    Returns
    -------
    TrackResult
    """
    tracker = FaceTracker(backend, **tracker_kwargs)
    pts, src = [], []
    it = frames
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(frames, desc="landmarks", leave=False)
    for img in it:
        p, s = tracker.update(img)
        pts.append(p)
        src.append(s)
    lm = np.array(pts, np.float64).reshape(-1, N_LANDMARKS, 2)
    return TrackResult(lm, src, tracker.n_detect, tracker.seconds_detect, tracker.seconds_track)


# ============================================================================ temporal stabilisation
STABILIZE = ("none", "smooth", "lk")


def smooth_landmarks(lm: np.ndarray, sigma: float = 1.0) -> np.ndarray:
    """Temporal Gaussian smoothing (``sigma`` in frames) within runs of frames that have a face.

    Parameters
    ----------
    lm : ndarray, shape (N, 68, 2)
    sigma : float
        0 returns a copy.

    Returns
    -------
    ndarray, shape (N, 68, 2), float64
    """
    from scipy.ndimage import gaussian_filter1d

    lm = np.array(lm, np.float64)
    if sigma <= 0:
        return lm
    has = np.isfinite(lm).all(axis=(1, 2))
    start = 0
    while start < len(lm):
        if not has[start]:
            start += 1
            continue
        end = start
        while end < len(lm) and has[end]:
            end += 1
        lm[start:end] = gaussian_filter1d(lm[start:end], sigma, axis=0, mode="nearest")
        start = end
    return lm


def lk_stabilize(frames, lm: np.ndarray, alpha: float = 0.2, win: int = 15, max_dev: float = 0.03) -> np.ndarray:
    """Detector-anchored Lucas-Kanade tracking of the landmarks.

    Frame k's landmarks are ``alpha * fitted_k + (1 - alpha) * LK(landmarks_{k-1})``: the
    previous (stabilised) landmarks are moved by pyramidal Lucas-Kanade to frame k and pulled
    towards the model's fit by ``alpha``. The per-frame model fit jitters by about a pixel
    (dlib), which is larger than the true motion between two video frames; the blend keeps the
    model's anchoring (no drift beyond a ~1/alpha-frame memory) with the image-consistent motion
    of the tracker. Points LK loses, or moves farther than ``max_dev`` times the landmark box
    diagonal from the fit, keep their fitted position. Runs restart after a frame
    without a face.

    Parameters
    ----------
    frames : iterable of ndarray
        The frames the landmarks were fitted on.
    lm : ndarray, shape (N, 68, 2)
        Fitted landmarks (NaN without a face).
    alpha : float
        Weight of the fit.
    win : int
        Lucas-Kanade window, px.
    max_dev : float
        Largest LK deviation from the fit, as a share of the landmark box diagonal.

    Returns
    -------
    ndarray, shape (N, 68, 2), float64
    """
    lm = np.asarray(lm, np.float64)
    lk = LKStabilizer(alpha, win, max_dev)
    out = np.array([lk.update(to_gray(img), lm[k]) for k, img in zip(range(len(lm)), frames)]).reshape(
        -1, N_LANDMARKS, 2
    )
    if len(out) < len(lm):  # fewer frames than landmarks: the rest stay as fitted
        out = np.concatenate([out, lm[len(out) :]])
    return out


class LKStabilizer:
    """The streaming form of :func:`lk_stabilize`: one frame at a time.

    Parameters
    ----------
    alpha, win, max_dev
        As :func:`lk_stabilize`.
    """

    def __init__(self, alpha: float = 0.2, win: int = 15, max_dev: float = 0.03):
        self.alpha, self.win, self.max_dev = alpha, win, max_dev
        self.prev_gray: np.ndarray | None = None
        self.prev: np.ndarray | None = None

    def update(self, gray: np.ndarray, fitted: np.ndarray) -> np.ndarray:
        """Stabilised landmarks of the next frame.

        Parameters
        ----------
        gray : ndarray, shape (H, W), uint8
            The frame.
        fitted : ndarray, shape (68, 2)
            The model's landmarks on it (NaN without a face).

        Returns
        -------
        ndarray, shape (68, 2), float64
        """
        import cv2

        fitted = np.asarray(fitted, np.float64)
        out = fitted.copy()
        if (
            self.prev_gray is not None
            and self.prev is not None
            and np.isfinite(self.prev).all()
            and np.isfinite(fitted).all()
        ):
            p0 = self.prev.astype(np.float32).reshape(-1, 1, 2)
            win = (self.win, self.win)
            p1, st, _ = cv2.calcOpticalFlowPyrLK(self.prev_gray, gray, p0, None, winSize=win, maxLevel=2)
            p1 = p1.reshape(-1, 2).astype(np.float64)
            st = st.ravel().astype(bool) & np.isfinite(p1).all(1)
            # LK is trusted only near the model's fit (it slips on low-texture points such
            # as the inner lips): farther than max_dev of the face size, the fit is kept
            lb = landmark_box(fitted)
            tol = self.max_dev * np.hypot(lb[2] - lb[0], lb[3] - lb[1])
            st &= np.linalg.norm(p1 - fitted, axis=1) <= tol
            out[st] = self.alpha * fitted[st] + (1 - self.alpha) * p1[st]
        self.prev_gray, self.prev = gray, out
        return out


def track_and_stabilize(
    frames,
    backend="dlib",
    method: str = "lk",
    alpha: float = 0.2,
    sigma: float = 1.0,
    progress: bool = False,
    verify_every: int = 0,
) -> tuple[TrackResult, np.ndarray]:
    """:func:`track_sequence` then :func:`stabilize` in one pass over the frames (each decoded once).

    Parameters
    ----------
    frames : iterable of ndarray or None
        RGB (or gray) uint8 frames, read once; None for a frame that could not be decoded
        (recorded as a frame without a face).
    backend : str or backend object
    method : {"none", "smooth", "lk"}
        Stabilisation (:func:`stabilize`).
    alpha, sigma : float
        As :func:`stabilize`.
    progress : bool
        A tqdm bar over the frames.
    verify_every : int
        Check the tracked face every this many frames with :class:`FaceVerifier` (0: never).
        When a check fails, the frames since the last passing check are checked one by one
        (kept in memory meanwhile) to find where the face was lost, and every frame is checked
        until one passes again; the failures are in ``track.lost``. The landmarks are the same
        with or without checks.

    Returns
    -------
    track : TrackResult
        The model's fits (unstabilised) and the tracker's log.
    landmarks : ndarray, shape (N, 68, 2), float64
        The stabilised landmarks.

    Raises
    ------
    ValueError
        Unknown method.
    """
    if method not in STABILIZE:
        raise ValueError(f"stabilize must be one of {STABILIZE}, got {method!r}")
    lk = LKStabilizer(alpha) if method == "lk" else None
    stable: list[np.ndarray] = []
    tracker_out: list[np.ndarray] = []
    tracker = FaceTracker(backend)
    verifier = FaceVerifier(tracker.backend, verify_every) if verify_every > 0 else None
    lost: dict[int, str] = {}
    since_check: list = []  # (frame, image, tracked points) since the last passing check
    previous = None  # (frame, image, points) of the previous frame
    src = []
    it = frames
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(frames, desc="landmarks", leave=False)
    for k, img in enumerate(it):
        if img is None:  # an undecodable frame: no face there, tracks restart after it
            tracker.prev = None
            p, s = np.full((N_LANDMARKS, 2), np.nan), "none"
            if lk is not None:
                lk.prev_gray = lk.prev = None
                stable.append(p)
        else:
            p, s = tracker.update(img)
            if lk is not None:
                stable.append(lk.update(to_gray(img), p))
        if verifier is not None and img is not None and np.isfinite(p).all():
            change = _face_change(previous, img, p)
            since_check = _verify(verifier, tracker, k, img, p, since_check, lost, change)
        elif verifier is not None:  # the track ended: were the frames since the last check still on the face?
            since_check = _scan(verifier, since_check, lost)
        tracker_out.append(p)
        src.append(s)
        previous = (k, img, p) if img is not None else None
    if verifier is not None and since_check and not verifier.failing:  # ended between two checks: check the last
        k_last, im, pts = since_check[-1]
        why, _ = verifier.check(im, pts)
        if why:
            _scan(verifier, since_check[:-1], lost)
            lost[k_last] = why
    lm = np.array(tracker_out, np.float64).reshape(-1, N_LANDMARKS, 2)
    track = TrackResult(lm, src, tracker.n_detect, tracker.seconds_detect, tracker.seconds_track, lost)
    if method == "lk":
        return track, np.array(stable, np.float64).reshape(-1, N_LANDMARKS, 2)
    return track, stabilize((), lm, method, alpha, sigma)


def _face_change(previous, img: np.ndarray, points: np.ndarray) -> float:
    """Mean absolute grey-level change inside the landmark box of ``points`` since ``previous``."""
    if previous is None or previous[1] is None or previous[1].shape != img.shape:
        return 0.0
    h, w = img.shape[:2]
    x0, y0, x1, y1 = landmark_box(points)
    x0, y0, x1, y1 = max(int(x0), 0), max(int(y0), 0), min(int(np.ceil(x1)), w), min(int(np.ceil(y1)), h)
    if x1 <= x0 or y1 <= y0:
        return 0.0
    a = to_gray(np.ascontiguousarray(previous[1][y0:y1, x0:x1])).astype(np.float32)
    b = to_gray(np.ascontiguousarray(img[y0:y1, x0:x1])).astype(np.float32)
    return float(np.abs(a - b).mean())


def _verify(
    verifier: FaceVerifier,
    tracker: FaceTracker,
    k: int,
    img,
    points,
    since_check: list,
    lost: dict,
    change: float = 0.0,
) -> list:
    """One frame of :func:`track_and_stabilize`'s verification; the frames kept since the last pass."""
    since_check.append((k, img, points))
    if not verifier.due(k, change):
        return since_check
    why, anchor = verifier.check(img, points)
    if not why:
        verifier.failing = False
        return []
    if not verifier.failing:  # the first failure after a pass: where, since then, was the face lost?
        _scan(verifier, since_check[:-1], lost)
    lost[k] = why
    verifier.failing = True
    if anchor is not None:  # the first face is elsewhere: follow it again from the next frame
        tracker.reanchor(anchor)
    return []


def _scan(verifier: FaceVerifier, frames: list, lost: dict) -> list:
    """Check each kept ``(frame, image, points)`` not yet checked; the failures go to ``lost``."""
    if not verifier.failing:
        for j, im, pj in frames:
            why, _ = verifier.check(im, pj)
            if why:
                lost[j] = why
    return []


def stabilize(frames, lm: np.ndarray, method: str = "lk", alpha: float = 0.2, sigma: float = 1.0) -> np.ndarray:
    """Apply a temporal stabilisation: ``none``, ``smooth`` or ``lk``.

    Parameters
    ----------
    frames : iterable of ndarray
        The frames (used by ``lk``).
    lm : ndarray, shape (N, 68, 2)
    method : {"none", "smooth", "lk"}
        :func:`smooth_landmarks` or :func:`lk_stabilize`.
    alpha : float
        ``lk`` weight of the fit.
    sigma : float
        ``smooth`` width in frames.

    Returns
    -------
    ndarray, shape (N, 68, 2), float64

    Raises
    ------
    ValueError
        Unknown method.
    """
    if method not in STABILIZE:
        raise ValueError(f"stabilize must be one of {STABILIZE}, got {method!r}")
    if method == "none":
        return np.asarray(lm, np.float64).copy()
    if method == "smooth":
        return smooth_landmarks(lm, sigma)
    return lk_stabilize(frames, lm, alpha)
