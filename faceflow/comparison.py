"""Sec. 5.2 of the paper: Table 3 (flow methods on the face test sets), runtimes, Fig. 4.

* :func:`evaluate` runs registered flow methods (:mod:`faceflow.baselines`) on loaded pairs and
  returns one row per (test set, method, pair); :func:`cached_evaluate` keeps those rows in a CSV
  so a chapter rebuild re-uses them.
* :func:`improvement` is the paper's improvement column: for each test set, the best of *our*
  networks (lowest average EPE on that set) against every method,
  ``(other - best) / other * 100`` for EPE and for AAE. :func:`table3` assembles the table in
  the paper's layout.
* :func:`runtime_ms` times each method on one pair resized to 384x512 (the paper's input size).
* :func:`motion_shares` splits a ground-truth flow into a global part (the least-squares affine
  motion over the face) and a local residual; :func:`select_rows` picks Fig. 4 rows by motion
  type from those shares; :func:`fig4` draws the grid.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from faceflow import baselines
from faceflow.metrics import aae, epe

#: Input size (H, W) of the paper's runtime comparison.
RUNTIME_SIZE = (384, 512)

#: The paper's Table 3 row order for the non-ours methods (our classical extras follow).
PAPER_BASELINES = ("PWC-Net", "FlowNet2.0", "FlowNet3.0-CSS", "LiteFlowNet", "Farneback")

#: Registry name -> name printed in the tables (the paper's spelling where it has one).
DISPLAY = {"farneback": "Farneback", "tvl1": "TV-L1", "dis": "DIS", "zero": "zero flow"}


def display_name(method: str) -> str:
    return DISPLAY.get(method, method)


# --------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------


def evaluate(methods: Sequence[str], pairs: Iterable, test_set: str, progress: bool = False) -> pd.DataFrame:
    """EPE and AAE (radians, Eq. 8) of each method on each :class:`faceflow.data.FlowPair`.

    Returns one row per (method, pair): test_set, method, pair, epe, aae, seconds.
    """
    rows = []
    pairs = list(pairs)
    for m in methods:
        t_m = time.perf_counter()
        for p in pairs:
            if p.flow is None:
                raise ValueError(f"pair {p.name} has no ground truth")
            t0 = time.perf_counter()
            flow = baselines.estimate_flow(m, p.img1, p.img2)
            secs = time.perf_counter() - t0
            rows.append(dict(test_set=test_set, method=m, pair=p.name, epe=epe(flow, p.flow),
                             aae=aae(flow, p.flow), seconds=secs))
        if progress:
            print(f"  {test_set}: {m} on {len(pairs)} pairs in {time.perf_counter() - t_m:.1f} s", flush=True)
    return pd.DataFrame(rows, columns=["test_set", "method", "pair", "epe", "aae", "seconds"])


def _pairs_key(pairs: Sequence) -> str:
    h = hashlib.sha1()
    for p in pairs:
        h.update(p.name.encode())
        h.update(str(p.img1.shape).encode())
        h.update(np.ascontiguousarray(p.flow[::16, ::16]).tobytes())
    return h.hexdigest()[:16]


def cached_evaluate(methods: Sequence[str], pairs: Sequence, test_set: str, cache_dir: str | Path,
                    method_tags: dict[str, str] | None = None, progress: bool = False) -> pd.DataFrame:
    """:func:`evaluate` with a per-(test set, method) CSV cache under ``cache_dir``.

    A cached result is re-used only when the pair list (names, sizes, ground truth) is the same
    and the method's tag (e.g. its checkpoint's mtime) has not changed.
    """
    from faceflow.fileio import atomic_write_text

    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = _pairs_key(pairs)
    frames = []
    for m in methods:
        tag = (method_tags or {}).get(m, "")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{test_set}__{m}")
        csv, meta = cache_dir / f"{safe}.csv", cache_dir / f"{safe}.json"
        want = {"pairs": key, "tag": tag, "n": len(pairs)}
        if csv.is_file() and meta.is_file():
            try:
                if json.loads(meta.read_text()) == want:
                    frames.append(pd.read_csv(csv, dtype={"pair": str}))
                    continue
            except (ValueError, OSError):
                pass
        df = evaluate([m], pairs, test_set, progress=progress)
        atomic_write_text(csv, df.to_csv(index=False))
        atomic_write_text(meta, json.dumps(want))
        frames.append(df)
    if not frames:
        return evaluate([], pairs, test_set)
    return pd.concat(frames, ignore_index=True)


def averages(results: pd.DataFrame) -> pd.DataFrame:
    """Average EPE / AAE per method (rows) and test set (column groups), as Table 3 reports."""
    g = results.groupby(["method", "test_set"], sort=False)[["epe", "aae"]].mean().unstack("test_set")
    g = g.swaplevel(0, 1, axis=1)
    sets = list(dict.fromkeys(results["test_set"]))
    cols = [(s, m) for s in sets for m in ("epe", "aae")]
    out = g.reindex(columns=pd.MultiIndex.from_tuples(cols))
    out.columns = pd.MultiIndex.from_tuples([(s, m.upper()) for s, m in cols])
    return out.reindex(list(dict.fromkeys(results["method"])))


# --------------------------------------------------------------------------------------------
# improvement columns
# --------------------------------------------------------------------------------------------


def improvement(other, best):
    """The paper's improvement of ``best`` over ``other`` in percent: ``(other - best) / other * 100``."""
    other = np.asarray(other, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (other - best) / other * 100.0


def best_of_ours(avg: pd.DataFrame, ours: Sequence[str]) -> dict[str, str]:
    """For each test set of an :func:`averages`-style table, our method with the lowest EPE."""
    present = [m for m in ours if m in avg.index]
    if not present:
        raise ValueError(f"none of our networks {list(ours)} is in the table (rows: {list(avg.index)})")
    out = {}
    for s in dict.fromkeys(avg.columns.get_level_values(0)):
        col = avg.loc[present, (s, "EPE")].dropna()
        if col.empty:
            raise ValueError(f"no EPE of our networks on {s}")
        out[s] = str(col.idxmin())
    return out


def with_improvement(avg: pd.DataFrame, ours: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Add "EPE impr. %" and "AAE impr. %" per test set, relative to the best of ``ours`` there.

    The best network on a test set is the one of ``ours`` with the lowest average EPE; both of
    its metrics are the reference (the paper names one network per test set: Exp. 2II on
    BP4D-Spontaneous, Exp. 1 on CK+). Returns the table and ``{test set: best network}``.
    """
    best = best_of_ours(avg, ours)
    cols = {}
    for s in dict.fromkeys(avg.columns.get_level_values(0)):
        b = best[s]
        cols[(s, "EPE")] = avg[(s, "EPE")]
        cols[(s, "AAE")] = avg[(s, "AAE")]
        cols[(s, "EPE impr. %")] = improvement(avg[(s, "EPE")], avg.loc[b, (s, "EPE")])
        cols[(s, "AAE impr. %")] = improvement(avg[(s, "AAE")], avg.loc[b, (s, "AAE")])
    out = pd.DataFrame(cols, index=avg.index)
    out.columns = pd.MultiIndex.from_tuples(list(cols))
    return out, best


def table3(avg: pd.DataFrame, ours: Sequence[str], order: Sequence[str] | None = None,
           all_ours: bool = False) -> tuple[pd.DataFrame, dict[str, str]]:
    """Table 3 in the paper's layout from an :func:`averages` table.

    Rows: our best network on each test set (every one of ``ours`` with ``all_ours``), then the
    other methods in ``order`` (default: the paper's baselines, then any other rows). Method
    names are shown with :func:`display_name`.
    """
    full, best = with_improvement(avg, ours)
    mine = [m for m in ours if m in avg.index and (all_ours or m in best.values())]
    others = [m for m in avg.index if m not in ours]
    if order is not None:
        rank = {display_name(m): i for i, m in enumerate(order)}
        others = sorted(others, key=lambda m: rank.get(display_name(m), len(rank)))
    out = full.loc[mine + others]
    out.index = pd.Index([display_name(m) for m in out.index], name="method")
    return out, best


# --------------------------------------------------------------------------------------------
# runtime
# --------------------------------------------------------------------------------------------


def runtime_ms(methods: Sequence[str], img1: np.ndarray, img2: np.ndarray, size=RUNTIME_SIZE,
               repeat: int = 3, warmup: int = 1) -> pd.DataFrame:
    """Milliseconds per pair of each method with the pair resized to ``size`` = (H, W).

    Each method runs ``warmup`` untimed calls (model loading, allocator warm-up), then the best
    of ``repeat`` timed calls is reported.
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
            baselines.estimate_flow(m, a, b)
        _, secs = baselines.timed_flow(m, a, b, repeat=repeat)
        rows.append(dict(method=m, ms_per_pair=1000.0 * secs))
    return pd.DataFrame(rows, columns=["method", "ms_per_pair"]).set_index("method")


# --------------------------------------------------------------------------------------------
# motion type (Fig. 4 rows)
# --------------------------------------------------------------------------------------------


def face_mask(flow: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Pixels the face ground truth covers: where the flow is not exactly zero.

    The generated face ground truth is zero outside the face mesh, so this is the face region.
    """
    return np.abs(np.asarray(flow)).max(axis=-1) > eps


def fit_affine(flow: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Least-squares affine motion ``(u, v) = M [x, y, 1]`` over ``mask``; returns M (2x3)."""
    flow = np.asarray(flow, dtype=np.float64)
    h, w = flow.shape[:2]
    if mask is None:
        mask = np.ones((h, w), bool)
    ys, xs = np.nonzero(mask)
    if len(xs) < 3:
        return np.zeros((2, 3))
    # centre and scale the coordinates for a well-conditioned system
    cx, cy, s = xs.mean(), ys.mean(), max(h, w)
    X = np.stack([(xs - cx) / s, (ys - cy) / s, np.ones_like(xs, dtype=float)], axis=1)
    coef, *_ = np.linalg.lstsq(X, flow[ys, xs], rcond=None)  # (3, 2)
    a, b, c = coef[0] / s, coef[1] / s, coef[2]
    # back to raw pixel coordinates: u = a x + b y + (c - a cx - b cy)
    return np.stack([a, b, c - a * cx - b * cy], axis=1)  # row 0: u, row 1: v


def affine_field(M: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    u = M[0, 0] * xs + M[0, 1] * ys + M[0, 2]
    v = M[1, 0] * xs + M[1, 1] * ys + M[1, 2]
    return np.stack([u, v], axis=-1)


@dataclass
class MotionShares:
    global_share: float  # energy of the fitted affine field / total energy, over the face
    local_share: float  # energy of the residual / total energy
    energy: float  # mean squared flow magnitude over the face (px^2)
    kind: str  # "global", "local" or "both"


def classify(global_share: float, hi: float = 0.7, lo: float = 0.3) -> str:
    """``global`` when the affine part holds >= ``hi`` of the energy, ``local`` when <= ``lo``."""
    if global_share >= hi:
        return "global"
    if global_share <= lo:
        return "local"
    return "both"


def motion_shares(flow: np.ndarray, mask: np.ndarray | None = None, hi: float = 0.7, lo: float = 0.3) -> MotionShares:
    """Global (head) vs local (expression) motion of a ground-truth flow.

    Fits the least-squares affine motion to the flow over the face (``mask``, default
    :func:`face_mask`); the global share is the energy (sum of squared magnitudes) of the fitted
    field, the local share that of the residual, both divided by their sum. An affine map
    covers head translation, in-plane rotation, scaling and, approximately, small out-of-plane
    turns; eye and mouth motion stays in the residual.
    """
    flow = np.asarray(flow, dtype=np.float64)
    if mask is None:
        mask = face_mask(flow)
    if not mask.any():
        return MotionShares(0.0, 0.0, 0.0, "none")
    glob = affine_field(fit_affine(flow, mask), flow.shape[:2])
    res = flow - glob
    eg = float((glob[mask] ** 2).sum())
    el = float((res[mask] ** 2).sum())
    tot = eg + el
    if tot <= 0:
        return MotionShares(0.0, 0.0, 0.0, "none")
    g = eg / tot
    return MotionShares(g, el / tot, float((flow[mask] ** 2).sum(-1).mean()), classify(g, hi, lo))


def motion_table(pairs: Sequence, hi: float = 0.7, lo: float = 0.3) -> pd.DataFrame:
    """:func:`motion_shares` of each pair's ground truth, one row per pair."""
    rows = []
    for i, p in enumerate(pairs):
        s = motion_shares(p.flow, hi=hi, lo=lo)
        rows.append(dict(index=i, pair=p.name, global_share=s.global_share, local_share=s.local_share,
                         energy=s.energy, kind=s.kind))
    return pd.DataFrame(rows, columns=["index", "pair", "global_share", "local_share", "energy", "kind"])


def select_rows(motion: pd.DataFrame, per_kind: int = 2, min_energy_quantile: float = 0.5) -> pd.DataFrame:
    """Pick Fig. 4 rows: ``per_kind`` pairs each of global, local and both kinds of motion.

    Only pairs with visible motion are candidates (energy at or above the
    ``min_energy_quantile`` of all pairs). Within a kind the pairs with the most motion are taken.
    When a kind has too few members, the candidates closest to it by global share fill in
    (highest share for global, lowest for local, nearest 0.5 for both), so the figure always has
    rows of each type, the ``kind`` column saying what each really is.
    """
    if motion.empty:
        return motion.assign(row_type=[])
    cand = motion[motion["kind"] != "none"]
    thr = cand["energy"].quantile(min_energy_quantile) if len(cand) else 0.0
    cand = cand[cand["energy"] >= thr]
    chosen, types = [], []
    score = {
        "global": lambda d: -d["global_share"],
        "local": lambda d: d["global_share"],
        "both": lambda d: (d["global_share"] - 0.5).abs(),
    }
    for kind in ("global", "local", "both"):
        pool = cand[~cand["index"].isin(chosen)]
        same = pool[pool["kind"] == kind].sort_values("energy", ascending=False)
        picks = list(same["index"][:per_kind])
        if len(picks) < per_kind:
            rest = pool[~pool["index"].isin(picks)]
            rest = rest.assign(_s=score[kind](rest)).sort_values("_s")
            picks += list(rest["index"][: per_kind - len(picks)])
        chosen += picks
        types += [kind] * len(picks)
    out = motion.set_index("index").loc[chosen].reset_index()
    out.insert(1, "row_type", types)
    return out


def fig4(pairs: Sequence, rows: pd.DataFrame, methods: Sequence[str], cell_size: float = 1.9, fontsize: int = 6):
    """Fig. 4: one row per selected pair, columns frame 1, ground truth, then each method.

    Flow panels use the Middlebury colours, each normalised by its own largest vector (as the
    paper does) and titled with EPE and AAE (radians) against the ground truth.
    """
    from faceflow.viz import Panel, panel_grid

    grid = []
    for r in rows.itertuples():
        p = pairs[int(r.index)]
        line = [Panel(f"{p.name}\n{r.row_type} (global {r.global_share:.2f})", image=p.img1),
                Panel("ground truth", flow=p.flow)]
        for m in methods:
            line.append(Panel(display_name(m), flow=baselines.estimate_flow(m, p.img1, p.img2), gt=p.flow))
        grid.append(line)
    return panel_grid(grid, cell_size=cell_size, fontsize=fontsize)


# --------------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------------


def format_table(df: pd.DataFrame, missing: dict[str, str] | None = None, digits: int = 4) -> pd.DataFrame:
    """Strings for display: numbers rounded (``impr. %`` with 2 decimals), and one row per
    method in ``missing`` whose every cell says why it has no numbers (never invented values).
    """
    out = pd.DataFrame(index=df.index, columns=df.columns, dtype=object)
    for col in df.columns:
        name = col[-1] if isinstance(col, tuple) else col
        fmt = "{:.2f}" if "%" in str(name) else f"{{:.{digits}f}}"
        out[col] = [("" if pd.isna(v) else fmt.format(v)) for v in df[col]]
    for m, why in (missing or {}).items():
        out.loc[display_name(m)] = [why] * len(out.columns)
    return out


# --------------------------------------------------------------------------------------------
# test sets
# --------------------------------------------------------------------------------------------


def _spaced(items: list, cap: int | None) -> list:
    if cap and len(items) > cap:
        idx = np.linspace(0, len(items) - 1, cap).round().astype(int)
        return [items[i] for i in idx]
    return items


def split_options(runs_dir: str | Path) -> dict:
    """The face-data options (``exclude``, ``fractions``, ``split_seed``) our networks were trained with.

    Read from the config of the first experiment checkpoint found under ``runs_dir`` so the
    test split here is exactly the one held out from training. Empty when there is none.
    """
    from faceflow.training import checkpoint_status

    for exp in baselines.EXPERIMENTS:
        st = checkpoint_status(Path(runs_dir) / exp / "last.pt")
        if st is not None:
            return dict((st["config"] or {}).get("data") or {})
    return {}


def face_test_sets(face_dir: str | Path, exclude: Sequence[str] | None = None, fractions=(0.7, 0.15, 0.15),
                   split_seed: int = 0, max_pairs: int | None = None) -> tuple[dict[str, list], str]:
    """The face test pairs (loaded): ``{"faces test": [...], "held-out source": [...]}`` and a note.

    The test split is :func:`faceflow.flowdata.split_faces` of the ``faceflow gt`` manifest with the
    same options as training; the cross-dataset set is every usable pair of the ``exclude``
    sequences (the held-out face source, the paper's CK+ role). ``max_pairs`` keeps evenly
    spaced pairs of each set.
    """
    from faceflow import flowdata

    df = flowdata.face_manifest(face_dir)
    split = flowdata.split_faces(df, tuple(fractions), int(split_seed), list(exclude) if exclude else None)
    sets = {"faces test": _spaced(flowdata.manifest_refs(split.test), max_pairs)}
    note = split.note
    if exclude:
        names = set(exclude) | {Path(e).stem for e in exclude}
        held = df[[s in names or Path(s).stem in names for s in df["sequence"]]]
        if len(held):
            sets["held-out source"] = _spaced(flowdata.manifest_refs(held), max_pairs)
    return {k: [r.load() for r in v] for k, v in sets.items() if v}, note


def generated_face_pairs(n: int = 6, size=(192, 256), seed: int = 0) -> list:
    """Generated stand-in for the face test set (always labelled ``generated``): the astronaut's face
    with exact flow of three motion types: global (similarity), local (eye and mouth bumps) and both.

    Frame 1 is frame 2 sampled at ``p + f(p)`` (``cv2.remap``), so ``f`` is exactly the flow from
    frame 1 to frame 2. The flow is zero outside an ellipse around the face, like the mesh-based
    ground truth.
    """
    import cv2

    from faceflow.data import FlowPair
    from faceflow.synthetic import affine_flow, fallback_image, similarity

    rng = np.random.default_rng(seed)
    h, w = size
    base = cv2.resize(fallback_image()[20:260, 110:430], (w, h), interpolation=cv2.INTER_AREA)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = 0.52 * w, 0.5 * h
    face = ((xs - cx) / (0.3 * w)) ** 2 + ((ys - cy) / (0.45 * h)) ** 2 <= 1.0
    parts = [(0.42 * w, 0.4 * h), (0.62 * w, 0.4 * h), (0.52 * w, 0.72 * h)]  # eyes, mouth
    pairs = []
    for i in range(n):
        kind = ("global", "local", "both")[i % 3]
        flow = np.zeros((h, w, 2), np.float32)
        if kind in ("global", "both"):
            A = similarity(1 + rng.uniform(-0.02, 0.02), rng.uniform(-3, 3), rng.uniform(-2, 2), rng.uniform(-2, 2), (cx, cy))
            flow += (0.12 if kind == "both" else 1.0) * affine_flow((h, w), A)
        if kind in ("local", "both"):
            for px, py in parts:
                amp = rng.uniform(1.0, 2.5) * rng.choice([-1, 1])
                g = np.exp(-((xs - px) ** 2 + (ys - py) ** 2) / (2 * (0.05 * w) ** 2))
                flow[..., 1] += amp * g
                flow[..., 0] += 0.3 * amp * g * rng.uniform(-1, 1)
        flow[~face] = 0
        img1 = cv2.remap(base, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        pairs.append(FlowPair(f"generated-{kind}-{i}", img1, base.copy(), flow, "generated"))
    return pairs
