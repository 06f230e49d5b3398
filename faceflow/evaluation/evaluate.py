"""The one per-pair EPE/AAE loop of faceflow, its CSV cache, and runtimes (Sec. 5.1-5.2).

:func:`evaluate` runs flow methods (names in the registry of :mod:`faceflow.methods`, or
functions) on pairs with ground truth and returns one row per (method, pair): ``test_set,
method, pair, source, epe, aae, seconds, gt_mag`` and the same errors by region. Every table of
the book (1, 2, 3 and the data tour's) is built from such rows. :func:`cached_evaluate` keeps
them in CSV files so that a chapter rebuild reuses them.

Regions (:data:`faceflow.flow.metrics.REGIONS`). A pair whose ground truth carries a valid mask
(the landmark ground truth: inside the face) is also scored over the mask (``epe_face``,
``aae_face``) and outside it (``epe_outside``, ``aae_outside``); ``epe``/``aae`` stay the whole
crop, the paper's convention. ``face_share`` is the mask's share of the grid and ``gt_mag_face``
the mean ground-truth motion inside it. On the paper's grid the mask is averaged to the grid like
the flow (:func:`faceflow.flow.fields.resize_mask`): a cell counts as face only when every
ground-truth pixel it averages is face; partly covered cells (the face's outline) count as
outside. Pairs without a mask (ground truth defined everywhere) have NaN in the region columns.

Two measurement conventions (``convention=``):

``"native"``
    EPE/AAE at the ground truth's own resolution; a flow must have the ground truth's shape.
``"paper"``
    The paper's (Sec. 5.1, Tables 1-3): the error of the largest prediction (k = 1), whose grid
    is half the 384 x 512 input, i.e. 192 x 256. The ground truth is brought to that grid
    (:func:`paper_grid`, :func:`to_grid`: 2 x 2 area average, u and v halved) and so is any flow
    of another size (a classical method's full-resolution flow is averaged down the same way;
    a network's k = 1 prediction of another size is resized bilinearly, values rescaled). The
    errors are in pixels of that grid. The rows also get ``epe_full`` and ``aae_full``: the same
    flow at the ground truth's resolution (bilinear upsampling of a smaller flow), labelled as
    such where shown.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from faceflow.flow.fields import paper_grid, resize_mask, to_grid
from faceflow.flow.metrics import region_errors
from faceflow.io.atomic import atomic_write_text
from faceflow.methods.registry import estimate_flow, timed_flow

#: Columns of an :func:`evaluate` table.
COLUMNS = [
    "test_set",
    "method",
    "pair",
    "source",
    "epe",
    "aae",
    "seconds",
    "gt_mag",
    "epe_face",
    "aae_face",
    "epe_outside",
    "aae_outside",
    "face_share",
    "gt_mag_face",
    "gt_mag_outside",
    "est_mag",
    "est_mag_face",
    "est_mag_outside",
]
#: The measurement conventions of :func:`evaluate`.
CONVENTIONS = ("native", "paper")
#: Extra columns of a ``convention="paper"`` table: errors at the ground truth's own resolution.
FULL_COLUMNS = ["epe_full", "aae_full"]

#: Input size (H, W) of the paper's runtime comparison.
RUNTIME_SIZE = (384, 512)

FlowFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _as_functions(methods: Sequence[str] | Mapping[str, FlowFunction]) -> dict[str, FlowFunction]:
    if isinstance(methods, Mapping):
        return dict(methods)
    return {m: (lambda a, b, m=m: estimate_flow(m, a, b)) for m in methods}


def evaluate(
    methods: Sequence[str] | Mapping[str, FlowFunction],
    pairs: Iterable,
    test_set: str = "",
    progress: bool = False,
    convention: str = "native",
) -> pd.DataFrame:
    """EPE and AAE (radians, Eq. 8) of each method on each pair with ground truth.

    Parameters
    ----------
    methods : list of str or dict
        Registered method names, or ``{name: fn(img1, img2) -> (H, W, 2) flow}``.
    pairs : iterable of FlowPair
        Loaded pairs (:class:`faceflow.io.datasets.FlowPair`), each with ``flow``; a torch
        dataset with a ``pair(i)`` method is read pair by pair.
    test_set : str
        Name written in the ``test_set`` column.
    progress : bool
        Show a tqdm bar while a dataset's pairs load and one per method.
    convention : {"native", "paper"}
        Where the errors are measured (see the module docstring): at the ground truth's
        resolution, or on the paper's k = 1 grid (a flow may then have any size).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS` (plus :data:`FULL_COLUMNS` with ``convention="paper"``); rows
        method by method, pairs in order. ``gt_mag`` is the mean ground-truth magnitude on the
        grid of ``epe``.

    Raises
    ------
    ValueError
        A pair without ground truth, ground truth with unknown (non-finite) pixels, an estimated
        flow of the wrong shape or with non-finite values: a pair is scored in full or not at all,
        so a mean is never silently taken over fewer pixels or pairs. Also an unknown
        convention, or (``native``) a flow of the wrong shape.
    """
    from tqdm.auto import tqdm

    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    paper = convention == "paper"
    fns = _as_functions(methods)
    if hasattr(pairs, "pair"):
        desc = f"{test_set or 'evaluate'}: loading pairs"
        pairs = [pairs.pair(i) for i in tqdm(range(len(pairs)), desc=desc, disable=not progress, leave=False)]
    pairs = list(pairs)
    for p in pairs:
        if p.flow is None:
            raise ValueError(f"pair {p.name} has no ground truth")
        _check_finite(p.flow, f"{p.source or test_set} pair {p.name}: ground truth")
    grid_gt = [to_grid(p.flow, paper_grid(p.flow.shape)) if paper else p.flow for p in pairs]
    grid_mask = [None if p.mask is None else resize_mask(p.mask, gt.shape[:2]) for p, gt in zip(pairs, grid_gt)]
    gt_mag = [np.linalg.norm(gt, axis=-1) for gt in grid_gt]
    rows = []
    for name, fn in fns.items():
        for p, gt, mask, mag in tqdm(
            list(zip(pairs, grid_gt, grid_mask, gt_mag)),
            desc=f"{test_set or 'evaluate'}: {name}",
            disable=not progress,
            leave=False,
            mininterval=2.0,
        ):
            t0 = time.perf_counter()
            flow = np.asarray(fn(p.img1, p.img2), dtype=np.float32)
            secs = time.perf_counter() - t0
            if flow.ndim != 3 or flow.shape[2] != 2 or (not paper and flow.shape != p.flow.shape):
                raise ValueError(f"{name} on {p.name}: flow shape {flow.shape}, ground truth {p.flow.shape}")
            _check_finite(flow, f"{name} on {p.source or test_set} pair {p.name}: estimated flow")
            on_grid = to_grid(flow, gt.shape[:2]) if paper else flow
            row = dict(test_set=test_set, method=name, pair=p.name, source=p.source, seconds=secs)
            row.update(region_errors(on_grid, gt, mask))
            row.update(region_means("gt_mag", mag, mask))
            row.update(region_means("est_mag", np.linalg.norm(on_grid, axis=-1), mask))
            if paper:
                full = region_errors(to_grid(flow, p.flow.shape[:2]), p.flow)
                row.update(epe_full=full["epe"], aae_full=full["aae"])
            rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS + (FULL_COLUMNS if paper else []))


def region_means(name: str, values: np.ndarray, mask: np.ndarray | None) -> dict[str, float]:
    """``{name: mean, name_face: mean over mask, name_outside: mean outside}`` (NaN for an empty region).

    Parameters
    ----------
    name : str
        Column stem, e.g. ``"gt_mag"``.
    values : ndarray, shape (H, W)
    mask : ndarray of bool, shape (H, W), or None (no regions: NaN)

    Returns
    -------
    dict
    """
    out = {name: float(values.mean())}
    for region, sel in (("face", mask), ("outside", None if mask is None else ~mask)):
        out[f"{name}_{region}"] = float(values[sel].mean()) if sel is not None and sel.any() else np.nan
    return out


def _check_finite(flow: np.ndarray, what: str) -> None:
    bad = int((~np.isfinite(flow)).any(axis=-1).sum())
    if bad:
        raise ValueError(f"{what} has {bad} of {flow.shape[0] * flow.shape[1]} pixels non-finite (NaN or inf)")


def pairs_key(pairs: Sequence) -> str:
    """A short hash of a pair list (names, sizes, a subsample of the ground truth, the valid masks).

    Parameters
    ----------
    pairs : sequence of FlowPair
        Pairs with ground truth.

    Returns
    -------
    str
        16 hex digits.
    """
    h = hashlib.sha1()
    for p in pairs:
        h.update(p.name.encode())
        h.update(str(p.img1.shape).encode())
        h.update(np.ascontiguousarray(p.flow[::16, ::16]).tobytes())
        if p.mask is not None:
            h.update(np.packbits(p.mask).tobytes())
    return h.hexdigest()[:16]


def cached_evaluate(
    methods: Sequence[str],
    pairs: Sequence,
    test_set: str,
    cache_dir: str | Path,
    method_tags: dict[str, str] | None = None,
    progress: bool = False,
    convention: str = "native",
    functions: Mapping[str, FlowFunction] | None = None,
) -> pd.DataFrame:
    """:func:`evaluate` of registered methods with a per-(test set, method) CSV cache under ``cache_dir``.

    A cached result is reused only when the pair list (names, sizes, ground truth) is the same,
    the method's tag (e.g. its checkpoint's mtime) has not changed, and it was measured with the
    same ``convention``.

    Parameters
    ----------
    methods : sequence of str
        Registered method names.
    pairs : sequence of FlowPair
        Loaded pairs with ground truth.
    test_set : str
        Name of the set (``test_set`` column and cache file names).
    cache_dir : path-like
        Folder of the ``<test set>__<method>.csv`` / ``.json`` files.
    method_tags : dict of str to str, optional
        A tag per method; a changed tag recomputes.
    progress : bool
        Show tqdm bars.
    convention : str
        As for :func:`evaluate`.
    functions : mapping of str to callable, optional
        The flow function to compute a method with when its cache is missing (default: the
        registered method), e.g. one that keeps its flows for another use; it must compute the
        registered method, since the cache is stored under that method's name and tag.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`.

    Raises
    ------
    ValueError
        As :func:`evaluate`.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = pairs_key(pairs)
    frames = []
    for m in methods:
        tag = (method_tags or {}).get(m, "")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{test_set}__{m}")
        if convention != "native":
            safe += f"__{convention}"
        csv, meta = cache_dir / f"{safe}.csv", cache_dir / f"{safe}.json"
        want = {"pairs": key, "tag": tag, "n": len(pairs), "columns": COLUMNS}
        if convention != "native":
            want["convention"] = convention
        if csv.is_file() and meta.is_file() and json.loads(meta.read_text()) == want:
            cached = pd.read_csv(csv, dtype={"pair": str, "test_set": str, "method": str, "source": str})
            if len(cached) == len(pairs) and cached[["epe", "aae"]].notna().all().all():
                frames.append(cached)
                continue  # else an incomplete cache (a row per pair, every error known): recompute
        how = {m: functions[m]} if functions and m in functions else [m]
        df = evaluate(how, pairs, test_set, progress=progress, convention=convention)
        atomic_write_text(csv, df.to_csv(index=False))
        atomic_write_text(meta, json.dumps(want))
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(frames, ignore_index=True)


def runtime_ms(
    methods: Sequence[str], img1: np.ndarray, img2: np.ndarray, size=RUNTIME_SIZE, repeat: int = 3, warmup: int = 1
) -> pd.DataFrame:
    """Milliseconds per pair of each method with the pair resized to ``size`` = (H, W).

    Each method runs ``warmup`` untimed calls (model loading, allocator warm-up), then the best
    of ``repeat`` timed calls is reported.

    Parameters
    ----------
    methods : sequence of str
        Registered method names.
    img1, img2 : numpy.ndarray
        The pair (any size; resized to ``size``).
    size : (int, int)
        (H, W) the pair is resized to.
    repeat : int
        Timed calls per method.
    warmup : int
        Untimed calls first.

    Returns
    -------
    pandas.DataFrame
        Index ``method``, column ``ms_per_pair``.

    Raises
    ------
    ValueError
        ``repeat`` < 1.
    """
    import cv2

    if repeat < 1:
        raise ValueError(f"repeat must be >= 1, got {repeat}")
    h, w = size
    a = cv2.resize(np.asarray(img1), (w, h), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(np.asarray(img2), (w, h), interpolation=cv2.INTER_LINEAR)
    rows = []
    for m in methods:
        for _ in range(warmup):
            estimate_flow(m, a, b)
        _, secs = timed_flow(m, a, b, repeat=repeat)
        rows.append(dict(method=m, ms_per_pair=1000.0 * secs))
    return pd.DataFrame(rows, columns=["method", "ms_per_pair"]).set_index("method")
