"""Table 3 of the paper (Sec. 5.2): averages per method and test set, and the improvement columns.

:func:`improvement` is the paper's improvement column: for each test set, the best of *our*
networks (lowest average EPE on that set) against every method, ``(other - best) / other * 100``
for EPE and for AAE. :func:`table3` assembles the table in the paper's layout and
:func:`format_table` turns it into strings, with a row saying why for every method that could
not run.
"""

from __future__ import annotations

from collections.abc import Sequence

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
