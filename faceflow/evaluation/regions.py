"""Where the errors of a face test set are measured: regions of the crop and still or moving pairs.

The landmark ground truth is defined inside the face mesh only (:mod:`faceflow.io.masks`);
outside it the paper's zero is an assumption, and on *still* pairs (face motion below the jitter
floor, :mod:`faceflow.groundtruth.jitter`) the ground truth is mostly landmark noise. So every
face result of the book is reported

* by **region** (:data:`faceflow.flow.metrics.REGIONS`): the face (the valid mask), outside it,
  and the whole crop (the paper's Sec. 5.1 convention);
* by **pairs**: all, *moving* (face motion of the ground truth at or above the floor) and *still*
  (below it), side by side, never silently dropped or averaged in.

:func:`beats` is the one rule the book uses to say that one method beats another.
:func:`ground_truth_quality` measures the ground truth against an independent method (the
published RAFT-small) in the same regions, the evidence for reading the tables this way; chapter
01 runs it on the corpus (:mod:`faceflow.studies.ground_truth.real_clips`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from faceflow.flow.metrics import REGIONS, region_column

#: How each region is named in tables.
REGION_LABELS = {"face": "face", "outside": "outside the face", "whole": "whole crop"}
#: The pair subsets of a face test set, in table order.
SUBSETS = ("all", "moving", "still")
#: Labels of :data:`SUBSETS`.
SUBSET_LABELS = {"all": "all pairs", "moving": "moving pairs", "still": "still pairs"}


def motion_class(per_pair: pd.DataFrame, floor: float | None) -> pd.Series:
    """``"moving"`` or ``"still"`` for each row: its ground-truth face motion against ``floor``.

    Parameters
    ----------
    per_pair : pandas.DataFrame
        Rows of :func:`faceflow.evaluation.evaluate.evaluate` (column ``gt_mag_face``).
    floor : float or None
        The jitter floor (px of the grid of the errors). None: every pair is ``"moving"``.

    Returns
    -------
    pandas.Series
        ``""`` for rows without a face region (ground truth defined everywhere).
    """
    face = per_pair["gt_mag_face"] if "gt_mag_face" in per_pair.columns else pd.Series(np.nan, per_pair.index)
    out = pd.Series("moving", index=per_pair.index, dtype=object)
    if floor is not None:
        out[face < floor] = "still"
    out[face.isna()] = ""
    return out


def subset_rows(per_pair: pd.DataFrame, subset: str, floor: float | None) -> pd.DataFrame:
    """The rows of ``per_pair`` in one of :data:`SUBSETS`.

    Parameters
    ----------
    per_pair : pandas.DataFrame
    subset : {"all", "moving", "still"}
    floor : float or None

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValueError
        Unknown subset.
    """
    if subset not in SUBSETS:
        raise ValueError(f"subset must be one of {SUBSETS}, got {subset!r}")
    if subset == "all":
        return per_pair
    return per_pair[motion_class(per_pair, floor) == subset]


#: Views of a face test set, ``(key, label)``: a region and, for the face, which pairs. The first
#: is where the book makes its verdicts; ``whole`` is the paper's convention.
VIEWS = (
    ("face@moving", "face, moving pairs"),
    ("face@still", "face, still pairs"),
    ("face", "face, all pairs"),
    ("outside", "outside the face"),
    ("whole", "whole crop"),
)
#: The view of the book's verdicts and the paper's.
VERDICT_VIEW, PAPER_VIEW = "face@moving", "whole"


def view_label(view: str) -> str:
    """The printed name of a view (:data:`VIEWS`)."""
    return dict(VIEWS)[view]


def view_column(metric: str, view: str) -> str:
    """The per-pair column of ``metric`` in ``view`` after :func:`with_views`.

    Parameters
    ----------
    metric : {"epe", "aae"}
    view : a key of :data:`VIEWS`

    Returns
    -------
    str
        e.g. ``"epe"`` (whole crop), ``"epe_outside"``, ``"epe_face@moving"``.
    """
    region, _, subset = view.partition("@")
    return region_column(metric, region) + (f"@{subset}" if subset else "")


def view_columns(metrics=("epe", "aae")) -> list[str]:
    """Every view column of ``metrics``, in :data:`VIEWS` order."""
    return [view_column(m, v) for m in metrics for v, _ in VIEWS]


def with_views(per_pair: pd.DataFrame, floor: float | None) -> pd.DataFrame:
    """``per_pair`` with its ``motion`` class and one column per (metric, view) of :data:`VIEWS`.

    The face columns of the moving (still) pairs hold the pair's face error where the pair is
    moving (still) and NaN elsewhere, so a mean over the column is the mean over those pairs.

    Parameters
    ----------
    per_pair : pandas.DataFrame
        Rows of :func:`faceflow.evaluation.evaluate.evaluate`.
    floor : float or None
        The jitter floor; None: every pair with a face region counts as moving.

    Returns
    -------
    pandas.DataFrame
        A copy.
    """
    out = per_pair.copy()
    out["motion"] = motion_class(out, floor)
    for metric in ("epe", "aae"):
        face = region_column(metric, "face")
        for subset in ("moving", "still"):
            out[f"{face}@{subset}"] = out[face].where(out["motion"] == subset)
    return out


def view_means(per_pair: pd.DataFrame, floor: float | None, by: Sequence[str] = ("method", "test_set")) -> pd.DataFrame:
    """Mean EPE and AAE in every view of :data:`VIEWS` per group, and the pairs behind each mean.

    Parameters
    ----------
    per_pair : pandas.DataFrame
        Rows of :func:`faceflow.evaluation.evaluate.evaluate`.
    floor : float or None
        The jitter floor, in the units of the rows' ``gt_mag_face``; None: every pair with a face
        region counts as moving.
    by : sequence of str
        Columns that make a group.

    Returns
    -------
    pandas.DataFrame
        Index ``by`` (first-seen order); columns ``pairs_<view>`` (pairs with a value in that view:
        0 for the face views of a ground truth without a valid mask, and for the still pairs when
        no floor is known) followed by :func:`view_columns` (``epe_face@moving``, ..., ``epe``,
        ``aae_face@moving``, ..., ``aae``; ``epe``/``aae`` are the whole crop).

    Examples
    --------
    >>> rows = pd.DataFrame({"method": "m", "test_set": "t", "epe": [1.0, 3.0], "aae": 0.0,
    ...     "epe_face": [0.5, 1.5], "aae_face": 0.0, "epe_outside": [2.0, 4.0], "aae_outside": 0.0,
    ...     "gt_mag_face": [0.1, 2.0]})
    >>> m = view_means(rows, floor=0.3)
    >>> m.loc[("m", "t"), ["pairs_face@still", "epe_face@still", "epe_face@moving", "epe"]].tolist()
    [1.0, 0.5, 1.5, 2.0]
    """
    views = with_views(per_pair, floor)
    groups = views.groupby(list(by), sort=False)
    counts = groups[[view_column("epe", v) for v, _ in VIEWS]].count()
    counts.columns = [f"pairs_{v}" for v, _ in VIEWS]
    return pd.concat([counts, groups[view_columns()].mean()], axis=1)


def views_display(means: pd.DataFrame, test_set: str, still: bool = True, digits: int = 4) -> pd.DataFrame:
    """One test set of a :func:`view_means` table as strings, the way ``faceflow eval`` and
    ``faceflow compare`` print it.

    Parameters
    ----------
    means : pandas.DataFrame
        A :func:`view_means` table grouped by ``("method", "test_set")``.
    test_set : str
        The set to show.
    still : bool
        Whether the pairs were split at a jitter floor: the still pairs' column is shown (empty
        when there are none). Without a floor every pair counts as moving and it is left out.
    digits : int
        Decimals.

    Returns
    -------
    pandas.DataFrame
        Rows ``(method, "EPE" | "AAE")``, columns the views, each
        labelled with its number of pairs, e.g. ``"face, moving pairs (9)"``. Where the ground
        truth has no valid mask (defined everywhere) only the whole crop is shown.

    Raises
    ------
    KeyError
        ``test_set`` is not in ``means``.
    """
    part = means.xs(test_set, level="test_set")
    faces = bool(part["pairs_face"].max())
    columns = {}
    for view, label in VIEWS:
        pairs = int(part[f"pairs_{view}"].max())
        if (faces or view == "whole") and (still or view != "face@still"):
            columns[f"{label} ({pairs})"] = [
                "" if pd.isna(v) else f"{v:.{digits}f}"
                for m in part.index
                for v in (part.loc[m, view_column("epe", view)], part.loc[m, view_column("aae", view)])
            ]
    index = pd.MultiIndex.from_tuples(
        [(m, metric) for m in part.index for metric in ("EPE", "AAE")], names=["method", ""]
    )
    return pd.DataFrame(columns, index=index)


def floor_from_file(path) -> float:
    """The jitter floor kept in a :func:`faceflow.groundtruth.jitter.profile_floor` cache file.

    Parameters
    ----------
    path : path-like
        ``outputs/<profile>/datasets/jitter-floor.json``.

    Returns
    -------
    float
        The floor, px of the k = 1 grid.

    Raises
    ------
    ValueError
        The file is not a jitter-floor measurement (one line naming it).
    """
    import json
    from pathlib import Path

    from faceflow.groundtruth.jitter import JitterFloor

    path = Path(path)
    try:
        measured = JitterFloor.from_json(path.read_text())
        floor = measured.floor if len(measured.per_pair) else float("nan")
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a jitter-floor measurement ({type(exc).__name__}: {exc})") from None
    if not np.isfinite(floor) or floor < 0:
        raise ValueError(f"{path}: not a jitter-floor measurement (floor {floor})")
    return floor


def beats(margin: float, range_a: float = 0.0, range_b: float = 0.0) -> bool:
    """The book's one rule for "A beats B": A's mean error is below B's by more than the seed
    range of either.

    ``margin`` is B's mean minus A's mean (positive when A is lower); ``range_a`` and
    ``range_b`` are the spreads (max - min) of the per-seed means of A and B (0 for a single run).
    A margin inside the larger spread could be a seed's luck, so it does not count.

    Parameters
    ----------
    margin : float
    range_a, range_b : float

    Returns
    -------
    bool

    Examples
    --------
    >>> beats(0.05, 0.01), beats(0.05, 0.0, 0.08), beats(-0.01)
    (True, False, False)
    """
    return bool(margin > 0 and margin > max(range_a, range_b))


def verdict(a: str, b: str, mean_a: float | None, mean_b: float | None, range_a: float = 0.0, range_b: float = 0.0):
    """A verdict sentence on "``a`` beats ``b``" by :func:`beats` (lower mean error).

    Parameters
    ----------
    a, b : str
        The names printed.
    mean_a, mean_b : float or None
        Mean errors (None or NaN: not measured here).
    range_a, range_b : float
        Seed ranges.

    Returns
    -------
    str
        Starting with ``holds``, ``does not hold`` or ``not testable here``.

    Examples
    --------
    >>> verdict("Exp2II", "Exp1", 0.25, 0.29)
    'holds: Exp2II 0.2500 px against Exp1 0.2900 px'
    """
    if mean_a is None or mean_b is None or np.isnan(mean_a) or np.isnan(mean_b):
        return f"not testable here: {a if mean_a is None or np.isnan(mean_a) else b} was not measured"
    word = "holds" if beats(mean_b - mean_a, range_a, range_b) else "does not hold"
    spread = f" (seed ranges {range_a:.4f}, {range_b:.4f})" if range_a or range_b else ""
    return f"{word}: {a} {mean_a:.4f} px against {b} {mean_b:.4f} px{spread}"


@dataclass
class GroundTruthQuality:
    """The landmark ground truth against an independent method, by region and by pair motion.

    Attributes
    ----------
    per_pair : pandas.DataFrame
        :func:`faceflow.evaluation.evaluate.evaluate` rows of ``reference`` against the ground
        truth (paper convention), with ``motion`` (still / moving).
    floor : float
        The jitter floor used (px of the k = 1 grid).
    reference : str
        The independent method (a registry name) and ``reference_label`` its printed name.
    missing : dict
    """

    per_pair: pd.DataFrame
    floor: float
    reference: str
    reference_label: str
    missing: dict = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """One row per (pairs, region): pairs, the EPE between the ground truth and the reference,
        the mean motion of each, and the region's share of the crop.

        Returns
        -------
        pandas.DataFrame
            Index ``(pairs, region)``; a subset without pairs has no rows.
        """
        ref = self.reference_label
        rows = []
        for subset in SUBSETS:
            part = subset_rows(self.per_pair, subset, self.floor)
            if part.empty:  # no pair of this kind: no row of NaN
                continue
            for region in REGIONS:
                share = {
                    "face": part["face_share"].mean(),
                    "outside": 1 - part["face_share"].mean(),
                    "whole": 1.0,
                }[region]
                suffix = "" if region == "whole" else f"_{region}"
                rows.append(
                    {
                        "pairs": f"{SUBSET_LABELS[subset]} ({len(part)})",
                        "region": REGION_LABELS[region],
                        f"EPE ground truth vs {ref}": part[region_column("epe", region)].mean(),
                        "mean |ground truth|": part[f"gt_mag{suffix}"].mean(),
                        f"mean |{ref}|": part[f"est_mag{suffix}"].mean(),
                        "share of the crop": share,
                    }
                )
        return pd.DataFrame(rows).set_index(["pairs", "region"])

    def value(self, column: str, region: str = "face", subset: str = "all") -> float:
        """One mean of :meth:`table`'s data: ``column`` is ``"epe"``, ``"gt_mag"`` or ``"est_mag"``.

        Parameters
        ----------
        column : {"epe", "gt_mag", "est_mag"}
        region : one of :data:`faceflow.flow.metrics.REGIONS`
        subset : one of :data:`SUBSETS`

        Returns
        -------
        float
        """
        part = subset_rows(self.per_pair, subset, self.floor)
        name = region_column("epe", region) if column == "epe" else column + ("" if region == "whole" else f"_{region}")
        return float(part[name].mean())

    def share_outside(self) -> float:
        """Mean share of the crop outside the face's valid mask."""
        return float(1 - self.per_pair["face_share"].mean())

    def still_share(self) -> float:
        """Share of the pairs that are still."""
        return float((self.per_pair["motion"] == "still").mean())


def ground_truth_quality(
    pairs: Sequence,
    floor: float,
    reference: str = "raft-small",
    cache_dir=None,
    test_set: str = "faces test",
    progress: bool = False,
) -> GroundTruthQuality:
    """The ground truth of ``pairs`` against the flow of ``reference`` (paper convention, by region).

    The reference is an independent estimate, not the truth: where the two agree, the ground
    truth follows the motion that an unrelated method sees; where they differ, either may be
    wrong.

    Parameters
    ----------
    pairs : sequence of FlowPair (or a dataset with ``pair(i)``)
        Face pairs with ground truth and valid masks.
    floor : float
        The jitter floor (:func:`faceflow.groundtruth.jitter.jitter_floor`).
    reference : str
        A registered method (the pretrained networks need
        :func:`faceflow.methods.pretrained.register_pretrained` first).
    cache_dir : path-like, optional
        Reuses the reference's per-pair rows (:func:`faceflow.evaluation.evaluate.cached_evaluate`).
    test_set : str
    progress : bool

    Returns
    -------
    GroundTruthQuality
    """
    from faceflow.evaluation.evaluate import cached_evaluate, evaluate
    from faceflow.evaluation.names import display_name
    from faceflow.methods.registry import get_method

    loaded = [pairs.pair(i) for i in range(len(pairs))] if hasattr(pairs, "pair") else list(pairs)
    if cache_dir is not None:
        tags = {reference: str(get_method(reference).description)}  # the tag Table 3 caches it under
        rows = cached_evaluate([reference], loaded, test_set, cache_dir, tags, progress, convention="paper")
    else:
        rows = evaluate([reference], loaded, test_set, progress=progress, convention="paper")
    rows = rows.assign(motion=motion_class(rows, floor))
    return GroundTruthQuality(rows, floor, reference, display_name(reference))
