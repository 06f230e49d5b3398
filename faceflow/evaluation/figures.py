"""Figures of the evaluation: per-pair error histograms and Fig. 4 (flows on pairs picked by motion type).

Fig. 4's rows are chosen from the global/local motion shares of each pair's ground truth
(:func:`faceflow.flow.affine.motion_shares`): :func:`motion_table` computes them,
:func:`select_rows` picks pairs of each kind and :func:`fig4` draws the grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from faceflow.evaluation.tables import display_name
from faceflow.flow.affine import motion_shares
from faceflow.flow.viz import Panel, panel_grid
from faceflow.methods.registry import estimate_flow


def motion_table(pairs: Sequence, hi: float = 0.7, lo: float = 0.3) -> pd.DataFrame:
    """:func:`motion_shares` of each pair's ground truth, one row per pair.

    Parameters
    ----------
    pairs : sequence of FlowPair
        Pairs with ground truth.
    hi, lo : float
        Global-share thresholds of the ``global`` and ``local`` kinds.

    Returns
    -------
    pandas.DataFrame
        Columns ``index, pair, global_share, local_share, energy, kind``.
    """
    rows = []
    for i, p in enumerate(pairs):
        s = motion_shares(p.flow, hi=hi, lo=lo)
        rows.append(
            dict(
                index=i,
                pair=p.name,
                global_share=s.global_share,
                local_share=s.local_share,
                energy=s.energy,
                kind=s.kind,
            )
        )
    return pd.DataFrame(rows, columns=["index", "pair", "global_share", "local_share", "energy", "kind"])


def select_rows(motion: pd.DataFrame, per_kind: int = 2, min_energy_quantile: float = 0.5) -> pd.DataFrame:
    """Pick Fig. 4 rows: ``per_kind`` pairs each of global, local and both kinds of motion.

    Only pairs with visible motion are candidates (energy at or above the
    ``min_energy_quantile`` of all pairs). Within a kind the pairs with the most motion are taken.
    When a kind has too few members, the candidates closest to it by global share fill in
    (highest share for global, lowest for local, nearest 0.5 for both), so the figure always has
    rows of each type, the ``kind`` column saying what each really is.

    Parameters
    ----------
    motion : pandas.DataFrame
        A :func:`motion_table`.
    per_kind : int
        Rows per motion type.
    min_energy_quantile : float
        Candidates have at least this quantile of the energy.

    Returns
    -------
    pandas.DataFrame
        The chosen rows of ``motion`` with a ``row_type`` column, global rows first.
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

    Parameters
    ----------
    pairs : sequence of FlowPair
        The test set.
    rows : pandas.DataFrame
        From :func:`select_rows` (its ``index`` column indexes ``pairs``).
    methods : sequence of str
        Registered methods, one column each.
    cell_size : float
        Inches per panel.
    fontsize : int
        Title font size.

    Returns
    -------
    matplotlib.figure.Figure
    """

    grid = []
    for r in rows.itertuples():
        p = pairs[int(r.index)]
        line = [
            Panel(f"{p.name}\n{r.row_type} (global {r.global_share:.2f})", image=p.img1),
            Panel("ground truth", flow=p.flow),
        ]
        for m in methods:
            line.append(Panel(display_name(m), flow=estimate_flow(m, p.img1, p.img2), gt=p.flow))
        grid.append(line)
    return panel_grid(grid, cell_size=cell_size, fontsize=fontsize)


@dataclass
class Fig4Result:
    """Fig. 4 and how its rows were chosen.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
        The grid: frame 1, ground truth, then one flow panel per method.
    rows : pandas.DataFrame
        The selected pairs (:func:`select_rows`).
    counts : str
        How many test pairs have each kind of motion, e.g. ``"global: 10, local: 3"``.
    missing : dict of str to str
        Always empty; kept for :meth:`Chapter.report`.
    """

    figure: object
    rows: pd.DataFrame
    counts: str
    missing: dict[str, str] = field(default_factory=dict)

    def row_table(self) -> pd.DataFrame:
        """The selected pairs with their motion shares, rounded for display.

        Returns
        -------
        pandas.DataFrame
        """
        return self.rows[["pair", "row_type", "kind", "global_share", "local_share", "energy"]].round(3)


def fig4_on_set(
    pairs: Sequence,
    methods: Sequence[str],
    title: str,
    per_kind: int = 2,
    min_energy_quantile: float = 0.5,
    path=None,
) -> Fig4Result:
    """Fig. 4 on one test set: rows picked by motion type, one column per method.

    Parameters
    ----------
    pairs : sequence of FlowPair
        The test set (with ground truth).
    methods : sequence of str
        Registered methods, one column each.
    title : str
        The figure's title.
    per_kind : int
        Rows per motion type (:func:`select_rows`).
    min_energy_quantile : float
        Only pairs with at least this quantile of motion energy are candidates.
    path : path-like, optional
        When given, the figure is saved there (PNG, 110 dpi).

    Returns
    -------
    Fig4Result
    """
    import matplotlib.pyplot as plt

    motion = motion_table(pairs)
    rows = select_rows(motion, per_kind=per_kind, min_energy_quantile=min_energy_quantile)
    fig = fig4(pairs, rows, methods)
    fig.suptitle(title, y=1.0)
    if path is not None:
        fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    counts = ", ".join(f"{k}: {v}" for k, v in motion["kind"].value_counts().items())
    return Fig4Result(fig, rows, counts)


def error_histograms(results: dict, bins: int = 30):
    """A figure with EPE and AAE histograms, one step curve per entry of ``{label: per-pair df}``.

    Parameters
    ----------
    results : dict of str to pandas.DataFrame
        Per-pair rows (columns ``epe``, ``aae``) by label; empty or None entries are skipped.
    bins : int
        Histogram bins.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for label, df in results.items():
        if df is None or len(df) == 0:
            continue
        for ax, col in zip(axes, ("epe", "aae")):
            ax.hist(df[col], bins=bins, histtype="step", label=label)
    axes[0].set_xlabel("EPE (px)")
    axes[1].set_xlabel("AAE (rad)")
    axes[0].set_ylabel("pairs")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig
