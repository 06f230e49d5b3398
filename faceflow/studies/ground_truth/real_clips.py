"""Chapter 01: the ground truth of real clips against an independent method, reconciled with its
error on known motions.

The measurement itself (:func:`faceflow.evaluation.regions.ground_truth_quality`) is the
library's; this module runs it on the corpus's test and held-out people (built by
:func:`faceflow.studies.plans.face_data`) and sets it beside the known-motion study of
:mod:`faceflow.groundtruth.gterror`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from faceflow.evaluation.regions import ground_truth_quality


class _Memo:
    """A registered method whose flow is computed once per pair of frames (the same array objects),
    so that one estimate can be scored against two ground truths of the same frames."""

    def __init__(self, method: str):
        self.method, self.cache = method, {}

    def __call__(self, a, b):
        from faceflow.methods.registry import estimate_flow

        key = (id(a), id(b))
        if key not in self.cache:
            self.cache[key] = (a, b, estimate_flow(self.method, a, b))  # the arrays are kept alive with it
        return self.cache[key][2]


@dataclass
class Reconciliation:
    """The ground truth's error on known motions set beside its agreement with an independent
    method on real clips, in the same region and units.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per set; ``NaN``-free: what cannot be known on real clips (no true motion) reads
        "unknown (no true motion)".
    values : dict
        The numbers behind it, ``{(row, column): float}``.
    """

    table: pd.DataFrame
    values: dict

    def summary_values(self, real: str = "faces test") -> dict[str, str]:
        """Formatted numbers for a page: on the known motions the ground truth's and the
        reference's error against the truth (``gt_truth``, ``ref_truth``), their disagreement
        (``gt_ref_known``) and the motion (``motion_known``); on the real set ``real`` the
        disagreement (``gt_ref_real``) and the motion (``motion_real``); and each disagreement as
        a share of its motion (``share_known``, ``share_real``).

        Returns
        -------
        dict
            ``"not available"`` for what was not measured.
        """
        known = self.table.index[0]
        cols = list(self.table.columns[1:])

        def get(row, k):
            v = self.values.get((row, cols[k]))
            return None if v is None or np.isnan(v) else v

        out = {}
        for key, row, k in (
            ("gt_truth", known, 0),
            ("ref_truth", known, 1),
            ("gt_ref_known", known, 2),
            ("motion_known", known, 3),
            ("gt_ref_real", real, 2),
            ("motion_real", real, 3),
        ):
            v = get(row, k)
            out[key] = "not available" if v is None else f"{v:.2f}"
        for key, row in (("share_known", known), ("share_real", real)):
            d, m = get(row, 2), get(row, 3)
            out[key] = "not available" if d is None or not m else f"{d / m:.0%}"
        return out


#: Text of a cell that real clips cannot give.
UNKNOWN = "unknown (no true motion)"


def reconcile(
    known, landmark_pairs, qualities: dict, reference: str = "raft-small", progress: bool = False, cache_dir=None
):
    """One story of the ground truth's quality: known motions and real clips, on the face, k = 1 grid.

    On the known-motion set the true motion is known, so the landmark ground truth, the
    reference method and zero flow are each scored against it, and the ground truth against the
    reference as on real clips; on real clips only the last can be measured. When the two
    "ground truth vs reference" numbers agree, the known-motion set is a fair model of the real
    clips' ground truth, and its error against the truth says how wrong the real clips' ground
    truth is.

    Parameters
    ----------
    known : faceflow.groundtruth.gterror.KnownMotionSet
    landmark_pairs : list of FlowPair
        The pipeline's own ground truth of the known-motion pairs that the dataset keeps
        (``landmark_pairs`` of :func:`faceflow.groundtruth.gterror.ground_truth_error`).
    qualities : dict of str to faceflow.evaluation.regions.GroundTruthQuality
        ``{row label: the real clips' measurement}`` (:func:`ground_truth_quality`).
    reference : str
        A registered method.
    progress : bool
    cache_dir : path-like, optional
        Where the reference's rows on every known-motion pair are cached as
        :func:`faceflow.evaluation.evaluate.cached_evaluate` caches them (``outputs/evaluations``:
        chapter 04's ranking on exact ground truth reuses them); None computes without a cache.

    Returns
    -------
    Reconciliation
    """
    from faceflow.evaluation.evaluate import evaluate
    from faceflow.evaluation.names import display_name

    ref = display_name(reference)
    flow = _Memo(reference)
    exact = known.pairs()
    kept = {p.name for p in landmark_pairs}
    exact_kept = [p for p in exact if p.name in kept]
    if cache_dir is None:
        truth_ref = evaluate({reference: flow}, exact_kept, "known motion", convention="paper", progress=progress)
    else:  # every pair, cached where chapter 04's ranking on exact ground truth finds the reference's rows
        from faceflow.evaluation.evaluate import cached_evaluate
        from faceflow.methods.registry import get_method

        tags = {reference: str(get_method(reference).description)}  # the tag Table 3 caches it under
        every = cached_evaluate(
            [reference], exact, "known motion", cache_dir, tags, progress, "paper", functions={reference: flow}
        )
        truth_ref = every[every["pair"].isin(kept)]
    gt_ref = evaluate({reference: flow}, landmark_pairs, "known motion", convention="paper", progress=progress)
    stored = {id(p.img1): p.flow for p in landmark_pairs}  # the same frame arrays as the exact pairs
    gt_truth = evaluate(
        {"landmark ground truth": lambda a, b: stored[id(a)]}, exact_kept, "known motion", convention="paper"
    )
    cols = (
        "landmark ground truth vs true motion",
        f"{ref} vs true motion",
        f"landmark ground truth vs {ref}",
        "mean motion on the face (= zero flow's EPE)",
    )
    row = "known motion (true motion known)"
    measured = (gt_truth["epe_face"], truth_ref["epe_face"], gt_ref["epe_face"], truth_ref["gt_mag_face"])
    values = {(row, c): float(v.mean()) for c, v in zip(cols, measured)}
    rows = [row]
    for label, q in qualities.items():
        rows.append(label)
        values[(label, cols[2])] = q.value("epe", "face")
        values[(label, cols[3])] = q.value("gt_mag", "face")
    table = pd.DataFrame(index=pd.Index(rows, name="pairs (face, px of the k = 1 grid)"), columns=list(cols))
    for r in rows:
        for c in cols:
            table.loc[r, c] = f"{values[(r, c)]:.3f}" if (r, c) in values else UNKNOWN
    n = {row: len(exact_kept)} | {label: len(q.per_pair) for label, q in qualities.items()}
    table.insert(0, "pairs", [n[r] for r in rows])
    return Reconciliation(table, values)


@dataclass
class RealVideoQuality:
    """:func:`ground_truth_quality` on the face corpus's test people and held-out people.

    Attributes
    ----------
    sets : dict of str to faceflow.evaluation.regions.GroundTruthQuality
        ``{"faces test": ..., "held-out source": ...}`` (the sets of Tables 2 and 3).
    missing : dict of str to str
    """

    sets: dict
    missing: dict = field(default_factory=dict)


def real_video_quality(profile: str, data_root, outputs, floor: float, reference: str = "raft-small", face=None):
    """The ground truth of the corpus's test and held-out people against ``reference``, by region.

    The pairs are those of Tables 2 and 3 (``training.eval_pairs`` evenly spaced pairs of each
    set, at the stored size); the reference's rows are cached in ``outputs/evaluations`` where
    the chapters that score it again find them.

    Parameters
    ----------
    profile : str
    data_root : path-like or None
        Holds the corpus and the reference's weights.
    outputs : faceflow.profiles.OutputLayout
    floor : float
        The jitter floor.
    reference : str
        A pretrained network (:mod:`faceflow.methods.pretrained`) or any registered method.
    face : faceflow.studies.plans.FaceData, optional
        The corpus's ground truth (made when not given).

    Returns
    -------
    RealVideoQuality
    """
    from faceflow import profiles
    from faceflow.methods.pretrained import PRETRAINED, register_pretrained
    from faceflow.studies import plans
    from faceflow.training import datasets

    face = face or plans.face_data(profile, data_root, outputs, extra=False)
    if not face.ready:
        return RealVideoQuality({}, dict(face.missing))
    if reference in PRETRAINED:
        status = {s.name: s for s in register_pretrained(data_root)}[reference]
        if not status.available:
            return RealVideoQuality({}, {f"{PRETRAINED[reference].label} weights": status.reason})
    cap = profiles.get(profile).training.eval_pairs
    ds, _ = datasets.face_datasets(face.face_dir, None, face.split, max_pairs={"test": cap, "held_out": cap})
    sets = {}
    for name, key in (("faces test", "test"), ("held-out source", "held_out")):
        if len(ds[key]):
            sets[name] = ground_truth_quality(ds[key], floor, reference, outputs.root / "evaluations", name)
    return RealVideoQuality(sets)


def quality_table(quality: RealVideoQuality) -> pd.DataFrame:
    """The ``table()`` of every set of ``quality``, stacked (first level: the set).

    Parameters
    ----------
    quality : RealVideoQuality

    Returns
    -------
    pandas.DataFrame
        Empty when nothing was measured.
    """
    if not quality.sets:
        return pd.DataFrame()
    return pd.concat({name: q.table() for name, q in quality.sets.items()}, names=["set"])


def quality_values(quality: RealVideoQuality, test_set: str = "faces test") -> dict[str, str]:
    """Formatted numbers of ``test_set`` for a page (``"not available"`` when not measured).

    Returns
    -------
    dict
        ``pairs``, ``outside_share``, ``ref_outside`` (the reference's motion outside the face),
        ``face_epe``, ``face_motion`` (all pairs), ``moving_epe``, ``moving_motion``, ``still_share``.
    """
    keys = ("pairs", "outside_share", "ref_outside", "face_epe", "face_motion", "moving_epe", "moving_motion")
    q = quality.sets.get(test_set)
    if q is None:
        return dict.fromkeys((*keys, "still_share"), "not available")
    return {
        "pairs": str(len(q.per_pair)),
        "outside_share": f"{q.share_outside():.0%}",
        "ref_outside": f"{q.value('est_mag', 'outside'):.2f}",
        "face_epe": f"{q.value('epe', 'face'):.2f}",
        "face_motion": f"{q.value('gt_mag', 'face'):.2f}",
        "moving_epe": f"{q.value('epe', 'face', 'moving'):.2f}",
        "moving_motion": f"{q.value('gt_mag', 'face', 'moving'):.2f}",
        "still_share": f"{q.still_share():.0%}",
    }
