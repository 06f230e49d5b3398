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

from faceflow.methods.pretrained import FINETUNED_NAME, PRETRAINED

#: The paper's Table 3 row order for the non-ours methods (our classical extras follow).
PAPER_BASELINES = ("PWC-Net", "FlowNet2.0", "FlowNet3.0-CSS", "LiteFlowNet", "Farneback")


#: Registry name -> name printed in the tables (the paper's spelling where it has one).
DISPLAY = {
    "farneback": "Farneback",
    "tvl1": "TV-L1",
    "dis": "DIS",
    "zero": "zero flow",
    **{n.name: n.label for n in PRETRAINED.values()},
    FINETUNED_NAME: "RAFT-small fine-tuned on faces (ours)",
}


def display_name(method: str) -> str:
    """The name a table prints for a registry name.

    Parameters
    ----------
    method : str
        A registry name.

    Returns
    -------
    str
        Its entry in :data:`DISPLAY`, else ``method`` itself.
    """
    return DISPLAY.get(method, method)


def averages(results: pd.DataFrame) -> pd.DataFrame:
    """Average EPE / AAE per method (rows) and test set (column groups), as Table 3 reports.

    Parameters
    ----------
    results : pandas.DataFrame
        Per-pair rows of :func:`faceflow.evaluation.evaluate.evaluate`.

    Returns
    -------
    pandas.DataFrame
        Index: method (first-seen order); columns ``(test set, "EPE" | "AAE")``.
    """
    g = results.groupby(["method", "test_set"], sort=False)[["epe", "aae"]].mean().unstack("test_set")
    g = g.swaplevel(0, 1, axis=1)
    sets = list(dict.fromkeys(results["test_set"]))
    cols = [(s, m) for s in sets for m in ("epe", "aae")]
    out = g.reindex(columns=pd.MultiIndex.from_tuples(cols))
    out.columns = pd.MultiIndex.from_tuples([(s, m.upper()) for s, m in cols])
    return out.reindex(list(dict.fromkeys(results["method"])))


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
    method in ``missing`` whose every cell says why it has no numbers (never invented values).

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
        out.loc[display_name(m)] = [why] * len(out.columns)
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
    EPE/AAE, index the row (network), columns ``(test set, "epe"|"aae")`` (the mean over seeds
    when a row has several); ``spread``: the same shape, the range (max - min) of the per-seed
    means (0 for one seed); ``per_pair``: the :func:`~faceflow.evaluation.evaluate.evaluate` rows
    (``method`` is the row, ``seed`` its index in the row's list of networks); ``zero``: the
    zero-flow means per test set; ``convention``: where the errors are measured; ``missing``.
    """

    display: pd.DataFrame
    values: pd.DataFrame
    per_pair: pd.DataFrame
    zero: pd.DataFrame
    spread: pd.DataFrame | None = None
    convention: str = "paper"
    missing: dict = field(default_factory=dict)

    def value(self, row: str, test_set: str, metric: str = "epe") -> float | None:
        """Our mean ``metric`` of network ``row`` on ``test_set`` (None when not computed)."""
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
        r = self.seed_range(row, test_set, metric)
        return f"{v:.{digits}f}" + (f" ± {r / 2:.{digits}f}" if r > 0 else "")

    def zero_text(self, test_set: str, metric: str = "epe", digits: int = 4) -> str:
        """The zero-flow mean on ``test_set``, formatted, or :data:`NOT_AVAILABLE`."""
        if test_set not in self.zero.index:
            return NOT_AVAILABLE
        return f"{self.zero.loc[test_set, metric]:.{digits}f}"

    def best(self, test_set: str, metric: str = "epe") -> str | None:
        """The network with the lowest mean ``metric`` on ``test_set`` (None when none was tested)."""
        key = (test_set, metric)
        if key not in self.values.columns or self.values[key].dropna().empty:
            return None
        return str(self.values[key].astype(float).idxmin())

    def beat_zero(self, test_set: str, metric: str = "epe") -> list[str]:
        """The networks whose mean ``metric`` on ``test_set`` is below zero flow's."""
        key = (test_set, metric)
        if key not in self.values.columns or test_set not in self.zero.index:
            return []
        col = self.values[key].dropna()
        return [str(n) for n, v in col.items() if v < self.zero.loc[test_set, metric]]


def _as_list(v) -> list:
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _flow_function(v, device: str, convention: str):
    from faceflow.training.checkpoints import checkpoint_flow_fn

    return v if callable(v) else checkpoint_flow_fn(v, device, largest=convention == "paper")


def _evaluate_all(
    networks: Mapping, test_sets: Mapping, device: str, convention: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-pair rows of every network (every seed) on every set, and zero flow's means per set."""
    from faceflow.evaluation.evaluate import COLUMNS, evaluate

    frames, zero = [], {}
    for name, pairs in test_sets.items():
        pairs = [pairs.pair(i) for i in range(len(pairs))] if hasattr(pairs, "pair") else list(pairs)
        for label, nets in networks.items():
            for seed, net in enumerate(_as_list(nets)):
                df = evaluate({label: _flow_function(net, device, convention)}, pairs, name, convention=convention)
                frames.append(df.assign(seed=seed))
        z = evaluate(["zero"], pairs, test_set=name, convention=convention)
        zero[name] = {"epe": z["epe"].mean(), "aae": z["aae"].mean()}
    per_pair = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS + ["seed"])
    return per_pair, pd.DataFrame.from_dict(zero, orient="index", columns=["epe", "aae"])


def _means(per_pair: pd.DataFrame, rows: Sequence[str], sets: Sequence[str], metrics=("epe", "aae")):
    """(mean over seeds of the per-seed means, max - min of the per-seed means), rows x (set, metric)."""
    cols = pd.MultiIndex.from_tuples([(s, m) for s in sets for m in metrics])
    if per_pair.empty:
        empty = pd.DataFrame(index=pd.Index(list(rows)), columns=cols, dtype=float)
        return empty, empty.copy()
    per_seed = per_pair.groupby(["method", "seed", "test_set"], sort=False)[list(metrics)].mean()
    out = []
    for agg in ("mean", lambda x: x.max() - x.min()):
        g = per_seed.groupby(["method", "test_set"], sort=False).agg(agg).unstack("test_set")
        g = g.swaplevel(0, 1, axis=1)
        out.append(g.reindex(index=list(rows), columns=cols).astype(float))
    return out[0], out[1]


def _save(result: TableResult, out_dir, name: str, per_pair: pd.DataFrame) -> None:
    if out_dir is None:
        return
    from faceflow.io.atomic import atomic_write_text

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / f"{name}.csv", result.display.to_csv())
    atomic_write_text(out_dir / f"{name}_per_pair.csv", per_pair.to_csv(index=False))


def table1(
    networks: Mapping, test_sets: Mapping, device: str = "cpu", out_dir=None, convention: str = "paper"
) -> TableResult:
    """Table 1: average EPE of each network (rows: trained on) on each test set (columns), beside the paper's.

    Parameters
    ----------
    networks : dict
        ``{trained on: checkpoint path or flow function, or a list of them (seeds)}``, labels
        among :data:`TABLE1_LABELS`.
    test_sets : dict
        ``{tested on: pairs}`` (a list of :class:`~faceflow.io.datasets.FlowPair` or a dataset
        with ``pair(i)``), each evaluated by the one loop :func:`faceflow.evaluation.evaluate.evaluate`.
    device : str
        Torch device of the checkpoints.
    out_dir : path-like, optional
        Writes ``table1.csv`` (the display table) and ``table1_per_pair.csv`` there.
    convention : {"paper", "native"}
        ``"paper"`` (default): the largest prediction (k = 1) against the ground truth brought
        to that grid, as the paper measures (Sec. 5.1); the display then also has the errors at
        the ground truth's own resolution, labelled :data:`FULL_RES`. ``"native"``: the
        prediction upsampled to the ground truth's resolution.

    Returns
    -------
    TableResult
        ``display`` has rows trained on (and a zero-flow reference row) and columns
        ``(tested on, "ours" | "paper" [| FULL_RES])``; a row of several seeds reads
        ``mean ± half range``; cells without a network or test set read :data:`NOT_AVAILABLE`.
    """
    from faceflow import paper

    per_pair, zero = _evaluate_all(networks, test_sets, device, convention)
    values, spread = _means(per_pair, list(networks), list(test_sets))
    ref = paper.table1()
    labels = list(TABLE1_LABELS)
    kinds = ["ours", "paper"] + ([FULL_RES] if convention == "paper" else [])
    cols = pd.MultiIndex.from_product([labels, kinds], names=["tested on", ""])
    table = pd.DataFrame(index=pd.Index(labels, name="trained on"), columns=cols, dtype=object)
    result = TableResult(table, values, per_pair, zero, spread, convention)
    full = None
    if convention == "paper":  # the same predictions measured at the ground truth's resolution
        at_full = per_pair.drop(columns=["epe", "aae"]).rename(columns={"epe_full": "epe", "aae_full": "aae"})
        full_values, full_spread = _means(at_full, list(networks), list(test_sets))
        full = TableResult(table, full_values, at_full, zero, full_spread)
    for tr in labels:
        for te in labels:
            table.loc[tr, (te, "ours")] = result.text(tr, te)
            table.loc[tr, (te, "paper")] = f"{ref.loc[tr, te]:.4f}"
            if full is not None:
                table.loc[tr, (te, FULL_RES)] = full.text(tr, te)
    table.loc["zero flow (reference)"] = [result.zero_text(te) if k == "ours" else "" for te in labels for k in kinds]
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

    Returns
    -------
    TableResult
        ``display`` columns ``(set, "EPE"|"AAE", "ours"|"paper (<paper set>)")``, with a zero-flow
        reference row when any network was evaluated.
    """
    from faceflow import paper

    per_pair, zero = _evaluate_all(networks, test_sets, device, convention)
    values, spread = _means(per_pair, list(experiments), list(test_sets))
    ref = paper.table2()
    sets = list(TABLE2_SETS) + [s for s in test_sets if s not in TABLE2_SETS]
    cols = []
    for s in sets:
        for metric in ("EPE", "AAE"):
            cols += [(s, metric, "ours")] + ([(s, metric, f"paper ({TABLE2_SETS[s]})")] if s in TABLE2_SETS else [])
    table = pd.DataFrame(
        index=pd.Index(list(experiments), name="experiment"), columns=pd.MultiIndex.from_tuples(cols), dtype=object
    )
    result = TableResult(table, values, per_pair, zero, spread, convention)
    for name in experiments:
        for s, metric, kind in cols:
            if kind == "ours":
                table.loc[name, (s, metric, kind)] = result.text(name, s, metric.lower())
            else:
                table.loc[name, (s, metric, kind)] = f"{ref.loc[name, (TABLE2_SETS[s], metric)]:.4f}"
    if networks:
        table.loc["zero flow (reference)"] = [
            result.zero_text(s, metric.lower()) if kind == "ours" else "" for s, metric, kind in cols
        ]
    out = per_pair.rename(columns={"method": "experiment", "test_set": "set"})
    _save(result, out_dir, "table2", out)
    return result


# ----------------------------------------------------------------------------- the face claim
#: Classical methods compared with the networks on the face test set.
CLASSICAL = ("farneback", "dis", "tvl1")


@dataclass
class FaceComparison:
    """Every method on the same face test pairs, and whether the paper's claim holds there.

    ``values``: index method (display names), columns ``epe``, ``aae``, ``epe_full`` (means; over
    seeds for a network of several) and ``epe_range`` (max - min over seeds); ``per_pair``: the
    :func:`~faceflow.evaluation.evaluate.evaluate` rows; ``checks``: one row per comparison the
    claim needs (the face network against zero flow and the networks trained on the other
    sets), with the margin, the seed range and whether the margin exceeds it; ``holds``: all
    checks pass.
    """

    display: pd.DataFrame
    values: pd.DataFrame
    per_pair: pd.DataFrame
    checks: pd.DataFrame
    holds: bool
    best_classical: str | None = None
    missing: dict = field(default_factory=dict)

    def text(self, method: str, column: str = "epe", digits: int = 4) -> str:
        """A value of :attr:`values` formatted, or :data:`NOT_AVAILABLE`."""
        if method not in self.values.index or pd.isna(self.values.loc[method, column]):
            return NOT_AVAILABLE
        return f"{self.values.loc[method, column]:.{digits}f}"

    def verdict(self) -> str:
        """One sentence: does the face-trained network beat every reference by more than its seed range?"""
        if self.checks.empty:
            return "could not be tested here (no face-trained network or no face test set)"
        failed = [f"{r.against}" for r in self.checks.itertuples() if not r.holds]
        if not failed:
            return (
                "holds here: the face-trained network beats "
                + ", ".join(self.checks["against"])
                + (" by more than its seed-to-seed range")
            )
        return (
            "does not hold here: the face-trained network does not beat "
            + ", ".join(failed)
            + (" by more than its seed-to-seed range")
        )


def face_comparison(
    networks: Mapping,
    pairs,
    face_label: str = "Faces",
    classical: Sequence[str] = CLASSICAL,
    device: str = "cpu",
    cache_dir=None,
    convention: str = "paper",
    test_set: str = "faces test",
) -> FaceComparison:
    """The networks, zero flow and classical methods on the same face test pairs (the claim of Tables 1-3).

    Parameters
    ----------
    networks : dict
        ``{trained on: checkpoint path(s) or flow function(s)}``; ``face_label`` is the face-trained one.
    pairs : dataset or list of FlowPair
    face_label : str
    classical : sequence of str
        Registered classical methods (their rows are cached in ``cache_dir`` when given).
    device : str
    cache_dir : path-like, optional
    convention : {"paper", "native"}
    test_set : str

    Returns
    -------
    FaceComparison
        The claim holds when the face network's mean EPE is below zero flow's and below every
        other network's by more than the face network's seed range (max - min of its seeds'
        means; with one seed the range is 0 and the check is only "below").
    """
    from faceflow.evaluation.evaluate import cached_evaluate, evaluate

    if pairs is None or len(pairs) == 0:
        empty = pd.DataFrame()
        why = "no face test pairs: the face comparison is not available."
        return FaceComparison(empty, empty, empty, empty, False, missing={"Face comparison": why})
    loaded = [pairs.pair(i) for i in range(len(pairs))] if hasattr(pairs, "pair") else list(pairs)
    nets, _ = _evaluate_all(networks, {test_set: loaded}, device, convention)
    rows = [nets]
    rows.append(evaluate(["zero"], loaded, test_set, convention=convention).assign(seed=0))
    for m in classical:
        if cache_dir is not None:
            rows.append(cached_evaluate([m], loaded, test_set, cache_dir, convention=convention).assign(seed=0))
        else:
            rows.append(evaluate([m], loaded, test_set, convention=convention).assign(seed=0))
    per_pair = pd.concat([r for r in rows if len(r)], ignore_index=True)
    if "epe_full" not in per_pair.columns:
        per_pair["epe_full"] = per_pair["epe"]
    per_seed = per_pair.groupby(["method", "seed"], sort=False)[["epe", "aae", "epe_full"]].mean()
    g = per_seed.groupby("method", sort=False)
    values = g.mean()
    values["epe_range"] = g["epe"].max() - g["epe"].min()
    values.index = [display_name(m) for m in values.index]
    checks = []
    if face_label in values.index:
        face, spread = values.loc[face_label, "epe"], values.loc[face_label, "epe_range"]
        for other in ["zero flow"] + [k for k in networks if k != face_label]:
            if other in values.index:
                margin = values.loc[other, "epe"] - face
                checks.append((f"{face_label} vs {other}", other, margin, spread, bool(margin > spread)))
    checks = pd.DataFrame(checks, columns=["comparison", "against", "EPE margin", "seed range", "holds"])
    names = [display_name(m) for m in classical if display_name(m) in values.index]
    best = min(names, key=lambda m: values.loc[m, "epe"]) if names else None
    display = pd.DataFrame(index=values.index, dtype=object)
    display.index.name = "method"
    zero = values.loc["zero flow", "epe"]
    display["EPE"] = [
        f"{v:.4f}" + (f" ± {r / 2:.4f}" if r > 0 else "") for v, r in zip(values["epe"], values["epe_range"])
    ]
    display["AAE"] = [f"{v:.4f}" for v in values["aae"]]
    display["EPE vs zero flow %"] = [f"{improvement(zero, v):+.1f}" for v in values["epe"]]
    if convention == "paper":
        display[f"EPE {FULL_RES}"] = [f"{v:.4f}" for v in values["epe_full"]]
    display["pairs"] = len(loaded)
    return FaceComparison(display, values, per_pair, checks, bool(len(checks)) and bool(checks["holds"].all()), best)
