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


@dataclass
class TableResult:
    """A table of our networks beside the paper's, and what it was computed from.

    ``display``: strings, ours beside the paper's (what the book shows); ``values``: our mean
    EPE/AAE, index the row (network), columns ``(test set, "epe"|"aae")``; ``per_pair``: the
    :func:`~faceflow.evaluation.evaluate.evaluate` rows (``method`` is the network);
    ``zero``: the zero-flow means per test set; ``missing``: what could not be computed.
    """

    display: pd.DataFrame
    values: pd.DataFrame
    per_pair: pd.DataFrame
    zero: pd.DataFrame
    missing: dict = field(default_factory=dict)

    def value(self, row: str, test_set: str, metric: str = "epe") -> float | None:
        """Our mean ``metric`` of network ``row`` on ``test_set`` (None when not computed)."""
        key = (test_set, metric)
        if row not in self.values.index or key not in self.values.columns:
            return None
        v = self.values.loc[row, key]
        return None if pd.isna(v) else float(v)

    def text(self, row: str, test_set: str, metric: str = "epe", digits: int = 4) -> str:
        """:meth:`value` formatted for the prose, or :data:`NOT_AVAILABLE`."""
        v = self.value(row, test_set, metric)
        return NOT_AVAILABLE if v is None else f"{v:.{digits}f}"

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


def _flow_functions(networks: Mapping, device: str) -> dict:
    from faceflow.training.checkpoints import checkpoint_flow_fn

    return {k: (v if callable(v) else checkpoint_flow_fn(v, device)) for k, v in networks.items()}


def _evaluate_all(networks: Mapping, test_sets: Mapping, device: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-pair rows of every network on every set (one :func:`evaluate` call per set), and zero flow's means."""
    from faceflow.evaluation.evaluate import COLUMNS, evaluate

    fns = _flow_functions(networks, device)
    frames, zero = [], {}
    for name, pairs in test_sets.items():
        pairs = [pairs.pair(i) for i in range(len(pairs))] if hasattr(pairs, "pair") else list(pairs)
        if fns:
            frames.append(evaluate(fns, pairs, test_set=name))
        z = evaluate(["zero"], pairs, test_set=name)
        zero[name] = {"epe": z["epe"].mean(), "aae": z["aae"].mean()}
    per_pair = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    return per_pair, pd.DataFrame.from_dict(zero, orient="index", columns=["epe", "aae"])


def _means(per_pair: pd.DataFrame, rows: Sequence[str], sets: Sequence[str]) -> pd.DataFrame:
    cols = pd.MultiIndex.from_tuples([(s, m) for s in sets for m in ("epe", "aae")])
    if per_pair.empty:
        return pd.DataFrame(index=pd.Index(list(rows)), columns=cols, dtype=float)
    g = per_pair.groupby(["method", "test_set"], sort=False)[["epe", "aae"]].mean().unstack("test_set")
    g = g.swaplevel(0, 1, axis=1)
    return g.reindex(index=list(rows), columns=cols).astype(float)


def _save(result: TableResult, out_dir, name: str, per_pair: pd.DataFrame) -> None:
    if out_dir is None:
        return
    from faceflow.io.atomic import atomic_write_text

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / f"{name}.csv", result.display.to_csv())
    atomic_write_text(out_dir / f"{name}_per_pair.csv", per_pair.to_csv(index=False))


def table1(networks: Mapping, test_sets: Mapping, device: str = "cpu", out_dir=None) -> TableResult:
    """Table 1: average EPE of each network (rows: trained on) on each test set (columns), beside the paper's.

    Parameters
    ----------
    networks : dict
        ``{trained on: checkpoint path or flow function}``, labels among :data:`TABLE1_LABELS`.
    test_sets : dict
        ``{tested on: pairs}`` (a list of :class:`~faceflow.io.datasets.FlowPair` or a dataset
        with ``pair(i)``), each evaluated once by the one loop :func:`faceflow.evaluation.evaluate.evaluate`.
    device : str
        Torch device of the checkpoints.
    out_dir : path-like, optional
        Writes ``table1.csv`` (the display table) and ``table1_per_pair.csv`` there.

    Returns
    -------
    TableResult
        ``display`` has rows trained on (and a zero-flow reference row) and columns
        ``(tested on, "ours" | "paper")``; cells without a network or test set read
        :data:`NOT_AVAILABLE`.
    """
    from faceflow import paper

    per_pair, zero = _evaluate_all(networks, test_sets, device)
    values = _means(per_pair, list(networks), list(test_sets))
    ref = paper.table1()
    labels = list(TABLE1_LABELS)
    cols = pd.MultiIndex.from_product([labels, ["ours", "paper"]], names=["tested on", ""])
    table = pd.DataFrame(index=pd.Index(labels, name="trained on"), columns=cols, dtype=object)
    result = TableResult(table, values, per_pair, zero)
    for tr in labels:
        for te in labels:
            table.loc[tr, (te, "ours")] = result.text(tr, te)
            table.loc[tr, (te, "paper")] = f"{ref.loc[tr, te]:.4f}"
    table.loc["zero flow (reference)"] = [
        result.zero_text(te) if k == "ours" else "" for te in labels for k in ("ours", "paper")
    ]
    out = per_pair.rename(columns={"method": "trained on", "test_set": "tested on"})
    _save(result, out_dir, "table1", out)
    return result


def table2(
    networks: Mapping,
    test_sets: Mapping,
    device: str = "cpu",
    out_dir=None,
    experiments: Sequence[str] = ("Exp1", "Exp2I", "Exp2II", "Exp3I", "Exp3II"),
) -> TableResult:
    """Table 2: average EPE and AAE of the five setups on the face test set and the held-out source, beside the paper's.

    Parameters
    ----------
    networks : dict
        ``{experiment: checkpoint path or flow function}``.
    test_sets : dict
        ``{set: pairs}`` with the keys of :data:`TABLE2_SETS` ("faces test" stands for the
        paper's BP4D test set, "held-out source" for CK+).
    device : str
    out_dir : path-like, optional
        Writes ``table2.csv`` and ``table2_per_pair.csv`` there.
    experiments : sequence of str
        Row order; rows without a network read :data:`NOT_AVAILABLE`.

    Returns
    -------
    TableResult
        ``display`` columns ``(set, "EPE"|"AAE", "ours"|"paper (<paper set>)")``, with a zero-flow
        reference row when any network was evaluated.
    """
    from faceflow import paper

    per_pair, zero = _evaluate_all(networks, test_sets, device)
    values = _means(per_pair, list(experiments), list(test_sets))
    ref = paper.table2()
    cols = []
    for ours_set, paper_set in TABLE2_SETS.items():
        for metric in ("EPE", "AAE"):
            cols += [(ours_set, metric, "ours"), (ours_set, metric, f"paper ({paper_set})")]
    table = pd.DataFrame(
        index=pd.Index(list(experiments), name="experiment"), columns=pd.MultiIndex.from_tuples(cols), dtype=object
    )
    result = TableResult(table, values, per_pair, zero)
    for name in experiments:
        for ours_set, paper_set in TABLE2_SETS.items():
            for metric in ("EPE", "AAE"):
                table.loc[name, (ours_set, metric, "ours")] = result.text(name, ours_set, metric.lower())
                table.loc[name, (ours_set, metric, f"paper ({paper_set})")] = (
                    f"{ref.loc[name, (paper_set, metric)]:.4f}"
                )
    if networks:
        table.loc["zero flow (reference)"] = [
            text for s in TABLE2_SETS for m in ("EPE", "AAE") for text in (result.zero_text(s, m.lower()), "")
        ]
    out = per_pair.rename(columns={"method": "experiment", "test_set": "set"})
    _save(result, out_dir, "table2", out)
    return result
