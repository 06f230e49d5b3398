"""Every optical-flow method behind one registry.

``estimate_flow(method, img1, img2)`` returns an (H, W, 2) float32 flow from ``img1`` to
``img2`` for RGB (H, W, 3) or gray (H, W) uint8 images. :func:`register` adds a method under a
name. The registry is filled at run time from four places, one per kind:

* ``classical``: the OpenCV methods and the zero field, registered when
  :mod:`faceflow.methods` is imported (:mod:`faceflow.methods.classical`);
* ``ours``: trained FlowNetS checkpoints, by
  :func:`faceflow.methods.flownets_checkpoints.register_checkpoints`;
* ``pretrained``: the published networks whose weights are in the data root (SPyNet,
  RAFT-small), by :func:`faceflow.methods.pretrained.register_pretrained`;
* ``finetuned``: RAFT-small fine-tuned on face ground truth, by
  :func:`faceflow.training.finetune.register_finetuned`.

The paper's CNNs (kind ``cnn`` in the tables) are never registered: their weights are not here
(:data:`faceflow.methods.pretrained.PAPER_CNNS`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

FlowFn = Callable[..., np.ndarray]


@dataclass
class Method:
    """A registered flow method.

    Attributes
    ----------
    name : str
        The registry name (``faceflow flow NAME``).
    fn : callable
        ``fn(img1, img2, **params) -> (H, W, 2)`` flow.
    description : str
        How it runs here (shown by ``faceflow flow --list`` and the chapters).
    kind : str
        ``classical``, ``ours``, ``pretrained``, ``finetuned`` (see the module docstring), or any
        label a caller uses.
    min_size : int
        Smallest image side (px) the method gives a meaningful flow for; smaller images are refused
        (a network would otherwise pad or stretch them into a number that looks real).
    """

    name: str
    fn: FlowFn
    description: str = ""
    kind: str = "classical"
    min_size: int = 1


_REGISTRY: dict[str, Method] = {}


def register(
    name: str, fn: FlowFn, description: str = "", kind: str = "classical", replace: bool = False, min_size: int = 1
) -> None:
    """Register ``fn(img1, img2, **params) -> (H, W, 2)`` under ``name``.

    Parameters
    ----------
    name : str
        Registry name.
    fn : callable
        The flow function.
    description : str
        How it runs here.
    kind : str
        The method's kind (see :class:`Method`).
    replace : bool
        Replace a method already registered under ``name``.
    min_size : int
        Smallest image side the method accepts (see :class:`Method`).

    Raises
    ------
    ValueError
        ``name`` is taken and ``replace`` is False.
    """
    if name in _REGISTRY and not replace:
        raise ValueError(f"flow method {name!r} is already registered")
    _REGISTRY[name] = Method(name, fn, description, kind, int(min_size))


def unregister(name: str) -> None:
    """Remove a method from the registry.

    Parameters
    ----------
    name : str
        A registered name.

    Raises
    ------
    KeyError
        ``name`` is not registered.
    """
    if name not in _REGISTRY:
        raise KeyError(f"flow method {name!r} is not registered")
    del _REGISTRY[name]


def available_methods() -> list[str]:
    """Names of the registered methods.

    Returns
    -------
    list of str
        Sorted names.
    """
    return sorted(_REGISTRY)


def get_method(name: str) -> Method:
    """The registered :class:`Method` called ``name``.

    Parameters
    ----------
    name : str
        A registered name.

    Returns
    -------
    Method

    Raises
    ------
    KeyError
        ``name`` is not registered; the message lists the known names.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown flow method {name!r}; registered: {', '.join(available_methods())}") from None


def check_pair(img1: np.ndarray, img2: np.ndarray) -> None:
    """Check that two images of a pair have the same shape.

    Parameters
    ----------
    img1, img2 : numpy.ndarray
        The frames.

    Raises
    ------
    ValueError
        The shapes differ.
    """
    if np.shape(img1) != np.shape(img2):
        raise ValueError(f"image shapes differ: {np.shape(img1)} vs {np.shape(img2)}")


def estimate_flow(method: str, img1: np.ndarray, img2: np.ndarray, **params) -> np.ndarray:
    """Flow from ``img1`` to ``img2`` by the registered ``method``.

    Parameters
    ----------
    method : str
        A registered name.
    img1, img2 : numpy.ndarray
        RGB (H, W, 3) or gray (H, W) uint8 frames of the same shape.
    **params
        Passed to the method's function.

    Returns
    -------
    numpy.ndarray
        (H, W, 2) float32 flow.

    Raises
    ------
    KeyError
        ``method`` is not registered.
    ValueError
        The images are smaller than the method's ``min_size``, or differ in shape.
    RuntimeError
        The method returned a flow of the wrong shape.

    Examples
    --------
    A smooth random texture moved 2 px to the right: Farneback finds (2, 0) away from the border.

    >>> import cv2
    >>> import numpy as np
    >>> import faceflow.methods  # registers the classical methods
    >>> from faceflow.methods.registry import estimate_flow
    >>> noise = cv2.GaussianBlur(np.random.default_rng(0).random((64, 80)).astype(np.float32), (0, 0), 2.0)
    >>> frame1 = cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    >>> frame2 = np.roll(frame1, 2, axis=1)
    >>> flow = estimate_flow("farneback", frame1, frame2)
    >>> flow.shape, flow.dtype
    ((64, 80, 2), dtype('float32'))
    >>> [round(float(v), 1) + 0.0 for v in np.median(flow[8:-8, 8:-8].reshape(-1, 2), axis=0)]
    [2.0, 0.0]
    """
    m = get_method(method)
    check_pair(img1, img2)
    h, w = np.shape(img1)[:2]
    if min(h, w) < m.min_size:
        raise ValueError(f"{method}: images of {w}x{h} px are too small; it needs at least {m.min_size} px per side")
    flow = np.asarray(m.fn(img1, img2, **params), dtype=np.float32)
    if flow.shape != np.shape(img1)[:2] + (2,):
        raise RuntimeError(f"method {method!r} returned shape {flow.shape}, expected {np.shape(img1)[:2] + (2,)}")
    return flow


def timed_flow(method: str, img1: np.ndarray, img2: np.ndarray, repeat: int = 1, **params) -> tuple[np.ndarray, float]:
    """Flow and the best wall time over ``repeat`` runs.

    Parameters
    ----------
    method : str
        A registered name.
    img1, img2 : numpy.ndarray
        The frames.
    repeat : int
        Timed runs.
    **params
        Passed to the method's function.

    Returns
    -------
    (numpy.ndarray, float)
        The last flow and the best time in seconds.

    Raises
    ------
    ValueError
        ``repeat`` < 1.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    best = float("inf")
    flow = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        flow = estimate_flow(method, img1, img2, **params)
        best = min(best, time.perf_counter() - t0)
    return flow, best


def methods_of_kind(kind: str) -> list[str]:
    """Registered method names of one kind, in registration order.

    Parameters
    ----------
    kind : str
        ``classical``, ``ours``, ``pretrained``, ``finetuned``.

    Returns
    -------
    list of str
    """
    return [name for name, m in _REGISTRY.items() if m.kind == kind]
