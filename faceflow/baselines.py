"""Optical-flow baselines behind one interface.

``estimate_flow(method, img1, img2)`` returns an (H, W, 2) float32 flow from ``img1`` to
``img2`` for RGB (H, W, 3) or gray (H, W) uint8 images. Methods are looked up in a registry;
:func:`register` adds new ones (trained networks, CNN ports) under a name.

Kinds of method: ``classical`` (OpenCV: Farneback with the authors' parameters, Dual TV-L1, DIS,
and the zero field), ``ours`` (trained FlowNetS experiments, :func:`register_checkpoints`) and
``cnn`` (the paper's CNN baselines from user-given weights, :func:`register_cnn_baselines`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from faceflow.data import to_gray

FlowFn = Callable[..., np.ndarray]


@dataclass
class Method:
    """A registered flow method."""

    name: str
    fn: FlowFn
    description: str = ""
    kind: str = "classical"


_REGISTRY: dict[str, Method] = {}


def register(name: str, fn: FlowFn, description: str = "", kind: str = "classical", replace: bool = False) -> None:
    """Register ``fn(img1, img2, **params) -> (H, W, 2)`` under ``name``."""
    if name in _REGISTRY and not replace:
        raise ValueError(f"flow method {name!r} is already registered")
    _REGISTRY[name] = Method(name, fn, description, kind)


def unregister(name: str) -> None:
    """Remove a method from the registry (a missing name is an error)."""
    if name not in _REGISTRY:
        raise KeyError(f"flow method {name!r} is not registered")
    del _REGISTRY[name]


def available_methods() -> list[str]:
    """Names of the registered methods."""
    return sorted(_REGISTRY)


def get_method(name: str) -> Method:
    """The registered :class:`Method` called ``name``; the error lists the known names."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown flow method {name!r}; registered: {', '.join(available_methods())}") from None


def _check_pair(img1: np.ndarray, img2: np.ndarray) -> None:
    if np.shape(img1) != np.shape(img2):
        raise ValueError(f"image shapes differ: {np.shape(img1)} vs {np.shape(img2)}")


#: Farneback parameters used by the paper's authors (Sec. 5.2).
FARNEBACK_PARAMS = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)


def farneback(img1: np.ndarray, img2: np.ndarray, **params) -> np.ndarray:
    """Gunnar-Farneback dense flow with the authors' parameters (overridable)."""
    import cv2

    _check_pair(img1, img2)
    p = {**FARNEBACK_PARAMS, **params}
    flow = cv2.calcOpticalFlowFarneback(to_gray(img1), to_gray(img2), None, **p)
    return flow.astype(np.float32)


def tvl1(img1: np.ndarray, img2: np.ndarray, **params) -> np.ndarray:
    """Dual TV-L1 (Zach et al.; ``cv2.optflow``), the flow behind the STSTNet features."""
    import cv2

    _check_pair(img1, img2)
    algo = cv2.optflow.DualTVL1OpticalFlow_create(**params)
    flow = algo.calc(to_gray(img1), to_gray(img2), None)
    return flow.astype(np.float32)


def dis(img1: np.ndarray, img2: np.ndarray, preset: str = "medium") -> np.ndarray:
    """DIS optical flow (Kroeger et al. 2016), OpenCV preset ``ultrafast|fast|medium``."""
    import cv2

    _check_pair(img1, img2)
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
    """The zero field: the error of 'no motion', a floor every method should beat."""
    _check_pair(img1, img2)
    return np.zeros(np.shape(img1)[:2] + (2,), np.float32)


register("zero", zero, "zero flow (no-motion reference)")
register("farneback", farneback, "Gunnar-Farneback, authors' parameters")
register("tvl1", tvl1, "Dual TV-L1 (OpenCV optflow)")
register("dis", dis, "DIS, medium preset (OpenCV)")


def estimate_flow(method: str, img1: np.ndarray, img2: np.ndarray, **params) -> np.ndarray:
    """Flow from ``img1`` to ``img2`` by the registered ``method``; (H, W, 2) float32."""
    m = get_method(method)
    flow = np.asarray(m.fn(img1, img2, **params), dtype=np.float32)
    if flow.shape != np.shape(img1)[:2] + (2,):
        raise RuntimeError(f"method {method!r} returned shape {flow.shape}, expected {np.shape(img1)[:2] + (2,)}")
    return flow


def estimate_flow_batch(
    method: str, pairs: Iterable[tuple[np.ndarray, np.ndarray]], **params
) -> list[np.ndarray]:
    """:func:`estimate_flow` over a sequence of image pairs."""
    return [estimate_flow(method, a, b, **params) for a, b in pairs]


def timed_flow(method: str, img1: np.ndarray, img2: np.ndarray, repeat: int = 1, **params) -> tuple[np.ndarray, float]:
    """Flow and the best wall time over ``repeat`` runs, in seconds."""
    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    best = float("inf")
    flow = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        flow = estimate_flow(method, img1, img2, **params)
        best = min(best, time.perf_counter() - t0)
    return flow, best


def evaluate_methods(methods: Sequence[str], pairs, repeat: int = 1):
    """EPE / AAE / runtime of each method on each loaded :class:`faceflow.data.FlowPair`.

    Returns
    -------
    pandas.DataFrame
        One row per (method, pair) with columns method, pair, source, epe, aae, seconds.
    """
    import pandas as pd

    from faceflow.metrics import aae, epe

    rows = []
    for pair in pairs:
        if pair.flow is None:
            raise ValueError(f"pair {pair.name} has no ground truth")
        for m in methods:
            flow, secs = timed_flow(m, pair.img1, pair.img2, repeat=repeat)
            rows.append(
                dict(method=m, pair=pair.name, source=pair.source, epe=epe(flow, pair.flow),
                     aae=aae(flow, pair.flow), seconds=secs)
            )
    return pd.DataFrame(rows)


def methods_of_kind(kind: str) -> list[str]:
    """Registered method names of one kind (``classical``, ``ours``, ``cnn``), in registration order."""
    return [name for name, m in _REGISTRY.items() if m.kind == kind]


#: The paper's FlowNetS experiments (Sec. 4.3), in table order.
EXPERIMENTS = ("Exp1", "Exp2I", "Exp2II", "Exp3I", "Exp3II")


def checkpoint_flow_fn(path, device: str = "cpu") -> FlowFn:
    """A flow function backed by a trained FlowNetS checkpoint; the model loads on first call.

    Uses ``faceflow.training.load_checkpoint(path, map_location)`` and
    ``faceflow.flownets.predict_flow``, run at the resolution the checkpoint was trained at (its
    config's ``resolution``), with the flow brought back to the input's size and pixel units.
    """
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such checkpoint")
    cache: dict = {}

    def fn(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
        from faceflow.flownets import predict_flow

        _check_pair(img1, img2)
        if "model" not in cache:
            from faceflow.training import load_checkpoint

            model, config, _extra = load_checkpoint(path, map_location="cpu")
            cache["model"] = model.to(device).eval()
            res = (config or {}).get("resolution")
            cache["size"] = tuple(res) if res else None  # run at the trained resolution
        a, b = np.asarray(img1), np.asarray(img2)
        if a.ndim == 2:
            a, b = np.repeat(a[..., None], 3, 2), np.repeat(b[..., None], 3, 2)
        return predict_flow(cache["model"], a, b, device=device, size=cache["size"])

    return fn


def register_checkpoints(runs_dir, experiments: Sequence[str] = EXPERIMENTS, filename: str = "last.pt",
                         device: str = "cpu", replace: bool = True) -> list[str]:
    """Register each ``<runs_dir>/<experiment>/<filename>`` that exists as flow method ``experiment``.

    ``runs_dir`` is one training set's runs folder, e.g. ``outputs/default/runs/<train_set>``.
    Returns the names registered (missing checkpoints are skipped, not errors).
    """
    from pathlib import Path

    runs_dir = Path(runs_dir)
    done = []
    for exp in experiments:
        ckpt = runs_dir / exp / filename
        if ckpt.is_file():
            register(exp, checkpoint_flow_fn(ckpt, device), f"FlowNetS {exp} ({ckpt})", kind="ours", replace=replace)
            done.append(exp)
    return done


def register_cnn_baselines(weights_folder=None, device: str = "cpu", replace: bool = True):
    """Register the paper's CNN baselines whose weights are in ``weights_folder``.

    ``weights_folder`` defaults to ``$FACEFLOW_CNN_WEIGHTS``. Returns the
    :class:`faceflow.cnnflow.CNNStatus` of every CNN of the paper, registered or not, so callers
    can show why a row is missing.
    """
    from faceflow import cnnflow

    statuses = cnnflow.cnn_status(weights_folder)
    for st in statuses:
        if st.available:
            register(st.name, cnnflow.flow_fn_for(st, device), f"{st.name} ({st.route}: {st.path})", kind="cnn",
                     replace=replace)
    return statuses
