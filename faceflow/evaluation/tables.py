"""Table 3 of the paper (Sec. 5.2): averages per method and test set, and the improvement columns.

:func:`improvement` is the paper's improvement column: for each test set, the best of *our*
networks (lowest average EPE on that set) against every method, ``(other - best) / other * 100``
for EPE and for AAE. :func:`table3` assembles the table in the paper's layout and
:func:`format_table` turns it into strings, with a row saying why for every method that could
not run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from faceflow.evaluation.names import DISPLAY, display_name  # noqa: F401  (re-exported for the chapters)
from faceflow.methods.classical import CLASSICAL_ESTIMATORS

#: The paper's Table 3 row order for the non-ours methods (our classical extras follow).
PAPER_BASELINES = ("PWC-Net", "FlowNet2.0", "FlowNet3.0-CSS", "LiteFlowNet", "Farneback")


def set_means(
    per_pair: pd.DataFrame,
    metrics: Sequence[str] = ("epe", "aae"),
    rows: Sequence[str] | None = None,
    sets: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean of each metric per method (rows) and test set (column groups), and its range over seeds.

    With a ``seed`` column the mean is the mean over seeds of each seed's mean over the pairs,
    and the range is max - min of those per-seed means; without one every method has one seed
    (its mean over the pairs, range 0).

    Parameters
    ----------
    per_pair : pandas.DataFrame
        Per-pair rows of :func:`faceflow.evaluation.evaluate.evaluate` (``method``, ``test_set``,
        the metrics, optionally ``seed``).
    metrics : sequence of str
        Columns to average.
    rows : sequence of str, optional
        Row order (default: the methods in first-seen order); rows without pairs are NaN.
    sets : sequence of str, optional
        Column-group order (default: the test sets in first-seen order).

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Means and ranges, float, index the rows, columns ``(test set, metric)``.

    Examples
    --------
    >>> rows = pd.DataFrame({"method": ["a", "a", "a"], "seed": [0, 0, 1], "test_set": "t", "epe": [1.0, 3.0, 4.0]})
    >>> mean, spread = set_means(rows, ["epe"])
    >>> float(mean.loc["a", ("t", "epe")]), float(spread.loc["a", ("t", "epe")])
    (3.0, 2.0)
    """
    metrics = list(metrics)
    rows = list(dict.fromkeys(per_pair["method"])) if rows is None else list(rows)
    sets = list(dict.fromkeys(per_pair["test_set"])) if sets is None else list(sets)
    cols = pd.MultiIndex.from_tuples([(s, m) for s in sets for m in metrics])
    if per_pair.empty:
        empty = pd.DataFrame(index=pd.Index(rows), columns=cols, dtype=float)
        return empty, empty.copy()
    keys = ["method", "seed", "test_set"] if "seed" in per_pair.columns else ["method", "test_set"]
    per_seed = per_pair.groupby(keys, sort=False)[metrics].mean()
    out = []
    for agg in ("mean", lambda x: x.max() - x.min()):
        g = per_seed.groupby(["method", "test_set"], sort=False).agg(agg).unstack("test_set")
        g = g.swaplevel(0, 1, axis=1)
        out.append(g.reindex(index=rows, columns=cols).astype(float))
    return out[0], out[1]


def averages(results: pd.DataFrame) -> pd.DataFrame:
    """Average EPE / AAE per method (rows) and test set (column groups), as Table 3 reports.

    Parameters
    ----------
    results : pandas.DataFrame
        Per-pair rows of :func:`faceflow.evaluation.evaluate.evaluate`.

    Returns
    -------
    pandas.DataFrame
        Index: method (first-seen order); columns ``(test set, "EPE" | "AAE")``
        (:func:`set_means` of ``epe`` and ``aae``).
    """
    out, _ = set_means(results, ("epe", "aae"))
    out.columns = pd.MultiIndex.from_tuples([(s, m.upper()) for s, m in out.columns])
    return out


def mean_range_text(mean: float, spread: float, digits: int = 4) -> str:
    """``mean`` with ``digits`` decimals, followed by `` ± half the spread`` when the spread is positive.

    Parameters
    ----------
    mean : float
    spread : float
        Max - min over seeds (0 for one seed: nothing is added).
    digits : int

    Returns
    -------
    str

    Examples
    --------
    >>> mean_range_text(0.25, 0.1), mean_range_text(0.25, 0.0)
    ('0.2500 ± 0.0500', '0.2500')
    """
    return f"{mean:.{digits}f}" + (f" ± {spread / 2:.{digits}f}" if spread > 0 else "")


def improvement(other, best):
    """The paper's improvement of ``best`` over ``other`` in percent: ``(other - best) / other * 100``.

    Parameters
    ----------
    other : float or array-like
        The other method's error(s).
    best : float
        The best network's error.

    Returns
    -------
    numpy.ndarray or float
        Percentages (NaN or inf where ``other`` is 0).
    """
    other = np.asarray(other, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (other - best) / other * 100.0


def best_of_ours(avg: pd.DataFrame, ours: Sequence[str]) -> dict[str, str]:
    """For each test set of an :func:`averages`-style table, our method with the lowest EPE.

    Parameters
    ----------
    avg : pandas.DataFrame
        An :func:`averages` table.
    ours : sequence of str
        Our networks' names.

    Returns
    -------
    dict of str to str
        ``{test set: best network}``.

    Raises
    ------
    ValueError
        None of ``ours`` is in the table, or none has an EPE on a test set.
    """
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
    BP4D-Spontaneous, Exp. 1 on CK+).

    Parameters
    ----------
    avg : pandas.DataFrame
        An :func:`averages` table.
    ours : sequence of str
        Our networks' names.

    Returns
    -------
    (pandas.DataFrame, dict of str to str)
        The table with the improvement columns and ``{test set: best network}``.

    Raises
    ------
    ValueError
        As :func:`best_of_ours`.
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


def table3(
    avg: pd.DataFrame, ours: Sequence[str], order: Sequence[str] | None = None, all_ours: bool = False
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Table 3 in the paper's layout from an :func:`averages` table.

    Rows: our best network on each test set (every one of ``ours`` with ``all_ours``), then the
    other methods in ``order`` (default: the paper's baselines, then any other rows). Method
    names are shown with :func:`display_name`.

    Parameters
    ----------
    avg : pandas.DataFrame
        An :func:`averages` table.
    ours : sequence of str
        Our networks' names.
    order : sequence of str, optional
        Row order of the other methods (display names); unknown ones follow.
    all_ours : bool
        Keep every one of ``ours``, not only the best on some set.

    Returns
    -------
    (pandas.DataFrame, dict of str to str)
        The table (index ``method``) and ``{test set: best network}``.

    Raises
    ------
    ValueError
        As :func:`best_of_ours`.
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


def format_table(df: pd.DataFrame, missing: dict[str, str] | None = None, digits: int = 4) -> pd.DataFrame:
    """Strings for display: numbers rounded (``impr. %`` with 2 decimals), and one row per
    method in ``missing`` whose first cell says why it has no numbers, the others empty (never
    invented values).

    Parameters
    ----------
    df : pandas.DataFrame
        A numeric table.
    missing : dict of str to str, optional
        ``{method: why}`` rows to add.
    digits : int
        Decimals of the non-percentage columns.

    Returns
    -------
    pandas.DataFrame
        Strings, empty where a value is NaN.
    """
    out = pd.DataFrame(index=df.index, columns=df.columns, dtype=object)
    for col in df.columns:
        name = col[-1] if isinstance(col, tuple) else col
        fmt = "{:.2f}" if "%" in str(name) else f"{{:.{digits}f}}"
        out[col] = [("" if pd.isna(v) else fmt.format(v)) for v in df[col]]
    for m, why in (missing or {}).items():
        out.loc[display_name(m)] = [why] + [""] * (len(out.columns) - 1)
    return out


# ----------------------------------------------------------------------------- Tables 1 and 2
#: Shown in a cell whose network or test set this data root does not provide.
NOT_AVAILABLE = "not available"
#: Table 2's test sets and the paper's set each stands for.
TABLE2_SETS = {"faces test": "BP4D", "held-out source": "CK+"}
TABLE1_LABELS = ("Faces", "FlyingChairs", "Sintel")
#: Label of the errors at the ground truth's own resolution (the extra columns of ``convention="paper"``).
FULL_RES = "ours, full res."


@dataclass
class TableResult:
    """A table of our networks beside the paper's, and what it was computed from.

    ``display``: strings, ours beside the paper's (what the book shows); ``values``: our mean
    errors, index the row (network), columns ``(test set, column)`` with every view column of
    :func:`faceflow.evaluation.regions.view_columns` (``epe`` is the whole crop, the paper's
    number; ``epe_face@moving`` the face on moving pairs, ...; the mean over seeds when a row has
    several); ``spread``: the same shape, the range (max - min) of the per-seed means (0 for one
    seed); ``per_pair``: the :func:`~faceflow.evaluation.evaluate.evaluate` rows with their views
    (``method`` is the row, ``seed`` its index in the row's list of networks); ``zero``: zero
    flow's means per test set and column; ``floor``: the jitter floor that splits still and moving
    pairs; ``convention``: where the errors are measured; ``missing``.
    """

    display: pd.DataFrame
    values: pd.DataFrame
    per_pair: pd.DataFrame
    zero: pd.DataFrame
    spread: pd.DataFrame | None = None
    convention: str = "paper"
    missing: dict = field(default_factory=dict)
    floor: float | None = None

    def value(self, row: str, test_set: str, metric: str = "epe") -> float | None:
        """Our mean ``metric`` (a view column, e.g. ``"epe_face@moving"``) of ``row`` on ``test_set``."""
        key = (test_set, metric)
        if row not in self.values.index or key not in self.values.columns:
            return None
        v = self.values.loc[row, key]
        return None if pd.isna(v) else float(v)

    def seed_range(self, row: str, test_set: str, metric: str = "epe") -> float:
        """Max - min over the seeds of ``row`` of their mean ``metric`` (0 for a single seed)."""
        if self.spread is None or row not in self.spread.index or (test_set, metric) not in self.spread.columns:
            return 0.0
        v = self.spread.loc[row, (test_set, metric)]
        return 0.0 if pd.isna(v) else float(v)

    def text(self, row: str, test_set: str, metric: str = "epe", digits: int = 4) -> str:
        """:meth:`value` formatted (``± half the seed range`` with several seeds), or :data:`NOT_AVAILABLE`."""
        v = self.value(row, test_set, metric)
        if v is None:
            return NOT_AVAILABLE
        return mean_range_text(v, self.seed_range(row, test_set, metric), digits)

    def zero_value(self, test_set: str, metric: str = "epe") -> float | None:
        """Zero flow's mean ``metric`` on ``test_set`` (None when not computed)."""
        if (
            test_set not in self.zero.index
            or metric not in self.zero.columns
            or pd.isna(self.zero.loc[test_set, metric])
        ):
            return None
        return float(self.zero.loc[test_set, metric])

    def zero_text(self, test_set: str, metric: str = "epe", digits: int = 4) -> str:
        """The zero-flow mean on ``test_set``, formatted, or :data:`NOT_AVAILABLE`."""
        v = self.zero_value(test_set, metric)
        return NOT_AVAILABLE if v is None else f"{v:.{digits}f}"

    def has_regions(self, test_set: str) -> bool:
        """Whether ``test_set``'s ground truth has a valid mask (face / outside regions)."""
        rows = self.per_pair[self.per_pair["test_set"] == test_set]
        return bool(len(rows)) and bool(rows["epe_face"].notna().any())

    def best(self, test_set: str, metric: str = "epe") -> str | None:
        """The network with the lowest mean ``metric`` on ``test_set`` (None when none was tested)."""
        key = (test_set, metric)
        if key not in self.values.columns or self.values[key].dropna().empty:
            return None
        return str(self.values[key].astype(float).idxmin())

    def beat_zero(self, test_set: str, metric: str = "epe") -> list[str]:
        """The networks that beat zero flow on ``test_set`` in ``metric``, by the book's rule
        (:func:`~faceflow.evaluation.regions.beats`)."""
        from faceflow.evaluation.regions import beats

        zero = self.zero_value(test_set, metric)
        if zero is None or (test_set, metric) not in self.values.columns:
            return []
        col = self.values[(test_set, metric)].dropna()
        return [str(n) for n, v in col.items() if beats(zero - v, self.seed_range(str(n), test_set, metric))]

    def verdict(self, a: str, b: str, test_set: str, metric: str = "epe") -> str:
        """Does row ``a`` beat row ``b`` (or ``"zero flow"``) on ``test_set`` in ``metric``, by the book's rule?

        Parameters
        ----------
        a, b : str
            Row labels (``"zero flow"`` for the zero-flow reference).
        test_set : str
        metric : str
            A view column (``"epe"``: the whole crop; ``"epe_face@moving"``: the face's moving pairs).

        Returns
        -------
        str
            :func:`faceflow.evaluation.regions.verdict`.
        """
        from faceflow.evaluation.regions import verdict

        def get(row):
            if row == "zero flow":
                return self.zero_value(test_set, metric), 0.0
            return self.value(row, test_set, metric), self.seed_range(row, test_set, metric)

        (ma, ra), (mb, rb) = get(a), get(b)
        return verdict(a, b, ma, mb, ra, rb)

    def by_region(self, test_set: str, metric: str = "epe") -> pd.DataFrame:
        """Every row's ``metric`` on ``test_set`` in every view (:data:`faceflow.evaluation.regions.VIEWS`).

        Parameters
        ----------
        test_set : str
        metric : {"epe", "aae"}

        Returns
        -------
        pandas.DataFrame
            Strings; rows the networks and zero flow, columns the views, and the pairs per view.
        """
        from faceflow.evaluation.regions import VIEWS, motion_class, view_column

        rows = [r for r in self.values.index if self.value(r, test_set, metric) is not None]
        table = pd.DataFrame(index=pd.Index(rows + ["zero flow (reference)"], name="network"), dtype=object)
        first = self.per_pair[(self.per_pair["test_set"] == test_set)]
        first = first[first["method"] == first["method"].iloc[0]] if len(first) else first
        first = first[first["seed"] == 0] if "seed" in first.columns else first
        motion = motion_class(first, self.floor)
        counts = {"face@moving": int((motion == "moving").sum()), "face@still": int((motion == "still").sum())}
        for view, label in VIEWS:
            col = view_column(metric, view)
            n = counts.get(view, len(first))
            table[f"{label} ({n})"] = [self.text(r, test_set, col) for r in rows] + [self.zero_text(test_set, col)]
        return table


def _as_list(v) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _flow_function(v, device: str, convention: str):
    from faceflow.methods.flownets_checkpoints import checkpoint_flow_fn

    return v if callable(v) else checkpoint_flow_fn(v, device, largest=convention == "paper")


def _evaluate_all(
    networks: Mapping, test_sets: Mapping, device: str, convention: str, floor: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-pair rows (with their views) of every network (every seed) on every set, and zero flow's means."""
    from faceflow.evaluation.evaluate import COLUMNS, evaluate
    from faceflow.evaluation.regions import view_columns, with_views

    frames, zero = [], {}
    for name, pairs in test_sets.items():
        pairs = [pairs.pair(i) for i in range(len(pairs))] if hasattr(pairs, "pair") else list(pairs)
        for label, nets in networks.items():
            for seed, net in enumerate(_as_list(nets)):
                df = evaluate({label: _flow_function(net, device, convention)}, pairs, name, convention=convention)
                frames.append(with_views(df.assign(seed=seed), floor))
        z = with_views(evaluate(["zero"], pairs, test_set=name, convention=convention), floor)
        zero[name] = z[view_columns()].mean()
    per_pair = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS + ["seed"])
    return per_pair, pd.DataFrame.from_dict(zero, orient="index", columns=view_columns())


def _save(result: TableResult, out_dir, name: str, per_pair: pd.DataFrame) -> None:
    if out_dir is None:
        return
    from faceflow.io.atomic import atomic_write_text

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / f"{name}.csv", result.display.to_csv())
    atomic_write_text(out_dir / f"{name}_per_pair.csv", per_pair.to_csv(index=False))


def _ours_columns(result: TableResult, test_set: str) -> list[tuple[str, str]]:
    """``(label, view column of the EPE)`` shown for ``test_set``: the face on moving pairs and the
    whole crop where the ground truth has regions, else the whole frame."""
    from faceflow.evaluation.regions import PAPER_VIEW, VERDICT_VIEW, view_column, view_label

    if result.has_regions(test_set):
        return [(view_label(v), view_column("epe", v)) for v in (VERDICT_VIEW, PAPER_VIEW)]
    return [("whole frame", "epe")]


def table1(
    networks: Mapping,
    test_sets: Mapping,
    device: str = "cpu",
    out_dir=None,
    convention: str = "paper",
    floor: float | None = None,
) -> TableResult:
    """Table 1: average EPE of each network (rows: trained on) on each test set (columns), beside the paper's.

    Parameters
    ----------
    networks : dict
        ``{trained on: checkpoint path or flow function, or a list of them (seeds)}``; labels
        :data:`TABLE1_LABELS` get the paper's values beside them.
    test_sets : dict
        ``{tested on: pairs}`` (a list of :class:`~faceflow.io.datasets.FlowPair` or a dataset
        with ``pair(i)``), each evaluated by the one loop :func:`faceflow.evaluation.evaluate.evaluate`.
    device : str
        Torch device of the checkpoints.
    out_dir : path-like, optional
        Writes ``table1.csv`` (the display table) and ``table1_per_pair.csv`` there.
    convention : {"paper", "native"}
        ``"paper"`` (default): the largest prediction (k = 1) against the ground truth brought
        to that grid, as the paper measures (Sec. 5.1); ``"native"``: at the ground truth's resolution.
    floor : float, optional
        The jitter floor (:func:`faceflow.groundtruth.jitter.jitter_floor`) splitting still and
        moving face pairs.

    Returns
    -------
    TableResult
        ``display`` has rows trained on (and a zero-flow reference row); a face test set gets
        columns for the face on moving pairs (where the ground truth is defined and above the
        jitter floor) and the whole crop (the paper's convention) beside the paper's value; the
        other sets the whole frame beside the paper's. A row of several seeds reads ``mean ±
        half range``; cells without a network or test set read :data:`NOT_AVAILABLE`.
    """
    from faceflow import paper
    from faceflow.evaluation.regions import view_columns

    per_pair, zero = _evaluate_all(networks, test_sets, device, convention, floor)
    values, spread = set_means(per_pair, view_columns(), list(networks), list(test_sets))
    ref = paper.table1()
    result = TableResult(pd.DataFrame(), values, per_pair, zero, spread, convention, floor=floor)
    cols = []
    for te in TABLE1_LABELS:
        ours = _ours_columns(result, te) if te in test_sets else [("whole frame", "epe")]
        cols += [(te, f"ours: {label}", col) for label, col in ours] + [(te, "paper: whole crop", "")]
    rows = list(dict.fromkeys(list(TABLE1_LABELS) + list(networks)))
    table = pd.DataFrame(
        index=pd.Index(rows, name="trained on"),
        columns=pd.MultiIndex.from_tuples([(te, kind) for te, kind, _ in cols], names=["tested on", ""]),
        dtype=object,
    )
    for tr in rows:
        for te, kind, col in cols:
            if col:
                table.loc[tr, (te, kind)] = result.text(tr, te, col)
            else:
                table.loc[tr, (te, kind)] = f"{ref.loc[tr, te]:.4f}" if tr in ref.index else ""
    table.loc["zero flow (reference)"] = [result.zero_text(te, col) if col else "" for te, _, col in cols]
    result.display = table
    out = per_pair.rename(columns={"method": "trained on", "test_set": "tested on"})
    _save(result, out_dir, "table1", out)
    return result


def table2(
    networks: Mapping,
    test_sets: Mapping,
    device: str = "cpu",
    out_dir=None,
    experiments: Sequence[str] = ("Exp1", "Exp2I", "Exp2II", "Exp3I", "Exp3II"),
    convention: str = "paper",
    floor: float | None = None,
) -> TableResult:
    """Table 2: average EPE and AAE of the five setups on the face test set and the held-out source, beside the paper's.

    Parameters
    ----------
    networks : dict
        ``{experiment: checkpoint path or flow function, or a list of them (seeds)}``.
    test_sets : dict
        ``{set: pairs}``: the keys of :data:`TABLE2_SETS` ("faces test" stands for the paper's
        BP4D test set, "held-out source" for CK+) get the paper's columns beside ours; any other
        set (an extra test source) gets ours only.
    device : str
    out_dir : path-like, optional
        Writes ``table2.csv`` and ``table2_per_pair.csv`` there.
    experiments : sequence of str
        Row order; rows without a network read :data:`NOT_AVAILABLE`.
    convention : {"paper", "native"}
        See :func:`table1`.
    floor : float, optional
        See :func:`table1`.

    Returns
    -------
    TableResult
        ``display`` columns ``(set, "EPE"|"AAE", view or paper)``: ours on the face's moving
        pairs and on the whole crop, beside the paper's (whole crop); a zero-flow reference row
        when any network was evaluated.
    """
    from faceflow import paper
    from faceflow.evaluation.regions import PAPER_VIEW, VERDICT_VIEW, view_column, view_columns, view_label

    per_pair, zero = _evaluate_all(networks, test_sets, device, convention, floor)
    rows = list(dict.fromkeys(list(experiments) + list(networks)))
    values, spread = set_means(per_pair, view_columns(), rows, list(test_sets))
    ref = paper.table2()
    result = TableResult(pd.DataFrame(), values, per_pair, zero, spread, convention, floor=floor)
    sets = list(TABLE2_SETS) + [s for s in test_sets if s not in TABLE2_SETS]
    cols = []
    for s in sets:
        views = (VERDICT_VIEW, PAPER_VIEW) if s not in test_sets or result.has_regions(s) else (PAPER_VIEW,)
        for metric in ("EPE", "AAE"):
            cols += [(s, metric, f"ours: {view_label(v)}", view_column(metric.lower(), v)) for v in views]
            if s in TABLE2_SETS:
                cols.append((s, metric, f"paper ({TABLE2_SETS[s]}): whole crop", ""))
    table = pd.DataFrame(
        index=pd.Index(rows, name="experiment"),
        columns=pd.MultiIndex.from_tuples([c[:3] for c in cols]),
        dtype=object,
    )
    for name in rows:
        for s, metric, kind, col in cols:
            if col:
                table.loc[name, (s, metric, kind)] = result.text(name, s, col)
            else:
                cell = ref.loc[name, (TABLE2_SETS[s], metric)] if name in ref.index else None
                table.loc[name, (s, metric, kind)] = "" if cell is None else f"{cell:.4f}"
    if networks:
        table.loc["zero flow (reference)"] = [result.zero_text(s, col) if col else "" for s, _, _, col in cols]
    result.display = table
    out = per_pair.rename(columns={"method": "experiment", "test_set": "set"})
    _save(result, out_dir, "table2", out)
    return result


# ----------------------------------------------------------------------------- the face claim


@dataclass
class FaceComparison:
    """Every method on the same face test pairs, and whether the paper's claim holds there.

    ``values``: index method (display names), columns every view column (means; over seeds for a
    network of several) and the same with ``_range`` (max - min over seeds); ``per_pair``: the
    :func:`~faceflow.evaluation.evaluate.evaluate` rows with their views; ``checks``: per view
    (the verdict's, the face on moving pairs, and the paper's whole crop) one row per comparison
    the claim needs (the face network against zero flow and the networks trained on the other
    sets), with the margin and the seed range (4 decimals, as the page shows them) and whether
    the face network beats the other (:func:`~faceflow.evaluation.regions.beats`, decided on the
    unrounded numbers); ``holds``: all checks of the verdict's view pass.
    """

    display: pd.DataFrame
    values: pd.DataFrame
    per_pair: pd.DataFrame
    checks: pd.DataFrame
    holds: bool
    best_classical: str | None = None
    missing: dict = field(default_factory=dict)
    floor: float | None = None

    def text(self, method: str, column: str = "epe", digits: int = 4) -> str:
        """A value of :attr:`values` formatted, or :data:`NOT_AVAILABLE`."""
        if method not in self.values.index or column not in self.values.columns:
            return NOT_AVAILABLE
        v = self.values.loc[method, column]
        return NOT_AVAILABLE if pd.isna(v) else f"{v:.{digits}f}"

    def _checks(self, view: str, network: str | None) -> pd.DataFrame:
        if self.checks.empty:
            return self.checks
        c = self.checks[self.checks["view"] == view]
        return c[c["network"] == (network or c["network"].iloc[0])] if len(c) else c

    def holds_in(self, view: str, network: str | None = None) -> bool:
        """Whether every check of ``network`` (default: the first face network) in ``view`` passes."""
        c = self._checks(view, network)
        return bool(len(c)) and bool(c["holds"].all())

    def verdict(self, view: str | None = None, network: str | None = None) -> str:
        """One sentence: does the face-trained network beat every reference, by the book's rule, in ``view``?

        Parameters
        ----------
        view : str, optional
            A key of :data:`faceflow.evaluation.regions.VIEWS` (default: the verdict's view,
            the face on moving pairs).
        network : str, optional
            One of the face networks checked (default: the first, the paper's loss).

        Returns
        -------
        str
        """
        from faceflow.evaluation.regions import VERDICT_VIEW

        c = self._checks(view or VERDICT_VIEW, network)
        if c.empty:
            return "could not be tested here (no face-trained network or no face test pairs)"
        failed = [f"{r.against}" for r in c.itertuples() if not r.holds]
        rule = " by more than the seed-to-seed range"
        if not failed:
            return "holds here: the face-trained network beats " + ", ".join(c["against"]) + rule
        return "does not hold here: the face-trained network does not beat " + ", ".join(failed) + rule


def face_comparison(
    networks: Mapping,
    pairs,
    face_label: str | Sequence[str] = "Faces",
    classical: Sequence[str] = CLASSICAL_ESTIMATORS,
    device: str = "cpu",
    cache_dir=None,
    convention: str = "paper",
    test_set: str = "faces test",
    floor: float | None = None,
    extra: Sequence[str] = (),
) -> FaceComparison:
    """The networks, zero flow and classical methods on the same face test pairs (the claim of Tables 1-3).

    Parameters
    ----------
    networks : dict
        ``{trained on: checkpoint path(s) or flow function(s)}``; ``face_label`` is the face-trained one.
    pairs : dataset or list of FlowPair
    face_label : str or sequence of str
        The face-trained network(s) whose claim is checked (each against zero flow and every
        network not among them).
    classical : sequence of str
        Registered classical methods (their rows are cached in ``cache_dir`` when given).
    device : str
    cache_dir : path-like, optional
    convention : {"paper", "native"}
    test_set : str
    floor : float, optional
        The jitter floor splitting still and moving pairs.
    extra : sequence of str
        Other registered methods to show (pretrained networks), cached like ``classical``.

    Returns
    -------
    FaceComparison
        The claim holds (in a view) when the face network beats zero flow and every other
        network (:func:`~faceflow.evaluation.regions.beats`: lower mean EPE by more than the seed
        range of either).
    """
    from faceflow.evaluation.evaluate import cached_evaluate, evaluate
    from faceflow.evaluation.regions import PAPER_VIEW, VERDICT_VIEW, VIEWS, beats, view_column, with_views

    if pairs is None or len(pairs) == 0:
        empty = pd.DataFrame()
        why = "no face test pairs: the face comparison is not available."
        return FaceComparison(empty, empty, empty, empty, False, missing={"Face comparison": why})
    loaded = [pairs.pair(i) for i in range(len(pairs))] if hasattr(pairs, "pair") else list(pairs)
    nets, _ = _evaluate_all(networks, {test_set: loaded}, device, convention, floor)
    rows = [nets, with_views(evaluate(["zero"], loaded, test_set, convention=convention).assign(seed=0), floor)]
    for m in list(classical) + list(extra):
        if cache_dir is not None:
            df = cached_evaluate([m], loaded, test_set, cache_dir, convention=convention)
        else:
            df = evaluate([m], loaded, test_set, convention=convention)
        rows.append(with_views(df.assign(seed=0), floor))
    per_pair = pd.concat([r for r in rows if len(r)], ignore_index=True)
    cols = [view_column(m, v) for m in ("epe", "aae") for v, _ in VIEWS]
    per_seed = per_pair.groupby(["method", "seed"], sort=False)[cols].mean()
    g = per_seed.groupby("method", sort=False)
    values = g.mean()
    for c in cols:
        values[f"{c}_range"] = g[c].max() - g[c].min()
    values.index = [display_name(m) for m in values.index]
    faces = [face_label] if isinstance(face_label, str) else list(face_label)
    checks = []
    for net in [f for f in faces if f in values.index]:
        for view in (VERDICT_VIEW, PAPER_VIEW):
            col = view_column("epe", view)
            face, spread = values.loc[net, col], values.loc[net, f"{col}_range"]
            for other in ["zero flow"] + [k for k in networks if k not in faces]:
                if other in values.index and not pd.isna(face):
                    margin = values.loc[other, col] - face
                    holds = beats(margin, spread, values.loc[other, f"{col}_range"])
                    checks.append((net, view, f"{net} vs {other}", other, margin, spread, holds))
    columns = ["network", "view", "comparison", "against", "EPE margin", "seed range", "holds"]
    checks = pd.DataFrame(checks, columns=columns).round({"EPE margin": 4, "seed range": 4})  # as shown
    names = [display_name(m) for m in classical if display_name(m) in values.index]
    verdict_col = view_column("epe", VERDICT_VIEW)
    best = min(names, key=lambda m: values.loc[m, verdict_col]) if names else None
    display = pd.DataFrame(index=values.index, dtype=object)
    display.index.name = "method"
    zero = values.loc["zero flow"]
    for view, label in VIEWS:
        col = view_column("epe", view)
        display[f"EPE {label}"] = [
            "" if pd.isna(v) else mean_range_text(v, r) for v, r in zip(values[col], values[f"{col}_range"])
        ]
    for view in (VERDICT_VIEW, PAPER_VIEW):
        col = view_column("epe", view)
        display[f"EPE vs zero flow % ({dict(VIEWS)[view]})"] = [
            f"{improvement(zero[col], v):+.1f}" for v in values[col]
        ]
    display["pairs"] = len(loaded)
    return FaceComparison(
        display,
        values,
        per_pair,
        checks,
        bool(len(checks))
        and bool(checks[(checks["view"] == VERDICT_VIEW) & (checks["network"] == faces[0])]["holds"].all()),
        best,
        floor=floor,
    )
