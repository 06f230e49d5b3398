"""Classical flow methods (OpenCV) and the zero field, registered under their names.

``farneback`` uses the parameters of the authors' evaluation script; ``tvl1`` is the flow behind
the STSTNet features; ``dis`` is a fast modern classical method; ``zero`` is the no-motion
reference every method has to beat.
"""

from __future__ import annotations

import numpy as np

from faceflow.io.images import to_gray
from faceflow.methods.registry import check_pair, register

#: Farneback parameters of the authors' released evaluation script (facialof_evaluate.py 1083-1087);
#: the paper gives none.
FARNEBACK_PARAMS = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)


def farneback(img1: np.ndarray, img2: np.ndarray, **params) -> np.ndarray:
    """Gunnar-Farneback dense flow with the authors' parameters (overridable).

    Parameters
    ----------
    img1, img2 : numpy.ndarray
        RGB (H, W, 3) or gray (H, W) uint8 frames of the same shape.
    **params
        Overrides of :data:`FARNEBACK_PARAMS`.

    Returns
    -------
    numpy.ndarray
        (H, W, 2) float32 flow from ``img1`` to ``img2``.

    Raises
    ------
    ValueError
        The shapes differ.
    """
    import cv2

    check_pair(img1, img2)
    p = {**FARNEBACK_PARAMS, **params}
    flow = cv2.calcOpticalFlowFarneback(to_gray(img1), to_gray(img2), None, **p)
    return flow.astype(np.float32)


def tvl1(img1: np.ndarray, img2: np.ndarray, **params) -> np.ndarray:
    """Dual TV-L1 (Zach et al.; ``cv2.optflow``), the flow behind the STSTNet features.

    Parameters
    ----------
    img1, img2 : numpy.ndarray
        RGB (H, W, 3) or gray (H, W) uint8 frames of the same shape.
    **params
        Arguments of ``cv2.optflow.DualTVL1OpticalFlow_create``.

    Returns
    -------
    numpy.ndarray
        (H, W, 2) float32 flow from ``img1`` to ``img2``.

    Raises
    ------
    ValueError
        The shapes differ.
    """
    import cv2

    check_pair(img1, img2)
    algo = cv2.optflow.DualTVL1OpticalFlow_create(**params)
    flow = algo.calc(to_gray(img1), to_gray(img2), None)
    return flow.astype(np.float32)


def dis(img1: np.ndarray, img2: np.ndarray, preset: str = "medium") -> np.ndarray:
    """DIS optical flow (Kroeger et al. 2016) with an OpenCV preset.

    Parameters
    ----------
    img1, img2 : numpy.ndarray
        RGB (H, W, 3) or gray (H, W) uint8 frames of the same shape.
    preset : {"ultrafast", "fast", "medium"}
        The OpenCV preset.

    Returns
    -------
    numpy.ndarray
        (H, W, 2) float32 flow from ``img1`` to ``img2``.

    Raises
    ------
    ValueError
        The shapes differ, or the preset is unknown.
    """
    import cv2

    check_pair(img1, img2)
    presets = {
        "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
        "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
        "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
    }
    if preset not in presets:
        raise ValueError(f"DIS preset must be one of {sorted(presets)}, got {preset!r}")
    algo = cv2.DISOpticalFlow_create(presets[preset])
    return algo.calc(to_gray(img1), to_gray(img2), None).astype(np.float32)


def zero(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
    """The zero field: the error of 'no motion', a floor every method should beat.

    Parameters
    ----------
    img1, img2 : numpy.ndarray
        RGB (H, W, 3) or gray (H, W) uint8 frames of the same shape.

    Returns
    -------
    numpy.ndarray
        (H, W, 2) float32 flow from ``img1`` to ``img2``.

    Raises
    ------
    ValueError
        The shapes differ.
    """
    check_pair(img1, img2)
    return np.zeros(np.shape(img1)[:2] + (2,), np.float32)


#: Every classical method registered here, the zero field first (the order of the data tour's table).
CLASSICAL_METHODS = ("zero", "farneback", "dis", "tvl1")

#: The classical methods that estimate motion (every one of :data:`CLASSICAL_METHODS` but the zero
#: field), in the order of the face-comparison tables; also the default of
#: :attr:`faceflow.profiles.TrainingProfile.classical`, which cannot import this module.
CLASSICAL_ESTIMATORS = ("farneback", "dis", "tvl1")

#: The classical methods that take well under a second per pair (all but TV-L1), the zero field
#: last: Table 3's classical rows, in its evaluation order (TV-L1 is added when asked for).
FAST_CLASSICAL_METHODS = ("farneback", "dis", "zero")

#: OpenCV's DIS refuses smaller images ("must have either width or height >= 12").
DIS_MIN_SIZE = 12

register("zero", zero, "zero flow (no-motion reference)")
register("farneback", farneback, "Gunnar-Farneback, authors' parameters")
register("tvl1", tvl1, "Dual TV-L1 (OpenCV optflow)")
register("dis", dis, "DIS, medium preset (OpenCV)", min_size=DIS_MIN_SIZE)
