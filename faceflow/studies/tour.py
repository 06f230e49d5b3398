"""The data tour (chapter 00): the real flow pairs of the data root and the classical methods on them.

Each function returns a small result object whose ``missing`` dict says which data was absent
(and what was used instead); a chapter shows it with ``ch.report(result)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from faceflow.evaluation.evaluate import evaluate
from faceflow.flow import synthetic
from faceflow.io import datasets
from faceflow.io.atomic import atomic_write_text
from faceflow.io.datasets import FlowPair
from faceflow.methods.classical import CLASSICAL_METHODS

#: The flow sources of the tour, in display order: (dataset key, label, reader).
TOUR_SOURCES = (("sintel", "MPI-Sintel", datasets.sintel_pairs), ("chairs", "FlyingChairs", datasets.chairs_pairs))


@dataclass
class TourPairs:
    """Real frame pairs with ground truth, or a generated stand-in.

    Attributes
    ----------
    pairs : list of FlowPair
        Every pair of every source found, loaded, sources in :data:`TOUR_SOURCES` order.
    missing : dict of str to str
        Absent sources and why (also the generated fallback when nothing real was found).
    """

    pairs: list[FlowPair]
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def generated(self) -> bool:
        """True when the pairs are the generated stand-in."""
        return all(p.source == "generated" for p in self.pairs)

    def first_of_each_source(self) -> list[FlowPair]:
        """The first pair of each source, in order of appearance."""
        seen: dict[str, FlowPair] = {}
        for p in self.pairs:
            seen.setdefault(p.source, p)
        return list(seen.values())

    def figure(self, cell_size: float = 3.0):
        """One row per source: frame 1, frame 2 and the ground truth (Middlebury colours).

        Parameters
        ----------
        cell_size : float
            Inches per panel.

        Returns
        -------
        matplotlib.figure.Figure
            Closed with pyplot (display it, or glue it).
        """
        import matplotlib.pyplot as plt

        from faceflow.flow.viz import Panel, panel_grid

        rows = [
            [
                Panel(f"{p.source} {p.name}: frame 1", image=p.img1),
                Panel("frame 2", image=p.img2),
                Panel("ground truth", flow=p.flow),
            ]
            for p in self.first_of_each_source()
        ]
        fig = panel_grid(rows, cell_size=cell_size)
        plt.close(fig)
        return fig


def tour_pairs(data_root: str | Path | None) -> TourPairs:
    """Load every MPI-Sintel and FlyingChairs pair of the data root (a generated pair when none).

    Whether a dataset is present is decided with :func:`faceflow.io.datasets.locate`.

    Parameters
    ----------
    data_root : path-like or None
        The data root; None (or a missing folder) means no real pair.

    Returns
    -------
    TourPairs
        The pairs, with ``missing`` naming each absent source. Without any real pair, one
        generated affine pair of the astronaut photo (its exact flow as ground truth).
    """
    pairs: list[FlowPair] = []
    missing: dict[str, str] = {}
    for key, label, reader in TOUR_SOURCES:
        if datasets.locate(key, data_root) is None:
            missing[label] = f"not found under the data root. {datasets.DATASETS[key].hint}"
            continue
        pairs.extend(ref.load() for ref in reader(data_root))
    if not pairs:
        missing["Real flow pairs"] = "Using a generated affine pair of the astronaut image instead."
        img = synthetic.fallback_image()
        pairs = [synthetic.affine_pair(img, synthetic.similarity(1.02, 2.0, 3.0, -2.0, (256, 256)))]
    return TourPairs(pairs, missing)


@dataclass
class ClassicalResult:
    """The classical methods on the tour's pairs.

    Attributes
    ----------
    per_pair : pandas.DataFrame
        One row per (method, pair) (:data:`faceflow.evaluation.evaluate.COLUMNS`).
    summary : pandas.DataFrame
        Mean EPE, AAE (radians) and seconds per method (rows) and source (column level 0).
    best_method : str
        The method other than zero flow with the lowest mean EPE over all evaluated pairs.
    best_epe, zero_epe : float
        Mean EPE of the best method and of zero flow.
    """

    per_pair: pd.DataFrame
    summary: pd.DataFrame
    best_method: str
    best_epe: float
    zero_epe: float


def classical_summary(per_pair: pd.DataFrame, methods=CLASSICAL_METHODS) -> pd.DataFrame:
    """Mean EPE, AAE and seconds per method and source of an :func:`evaluate` table.

    Parameters
    ----------
    per_pair : pandas.DataFrame
        Rows of :func:`faceflow.evaluation.evaluate.evaluate`.
    methods : sequence of str
        Row order (methods absent from ``per_pair`` give NaN rows).

    Returns
    -------
    pandas.DataFrame
        Index ``method``; columns a (source, metric) MultiIndex, sources in order of appearance.

    Raises
    ------
    ValueError
        ``per_pair`` lacks a column among source, method, epe, aae, seconds.
    """
    need = {"source", "method", "epe", "aae", "seconds"}
    if not need <= set(per_pair.columns):
        raise ValueError(f"per-pair table lacks columns {sorted(need - set(per_pair.columns))}")
    summary = (
        per_pair.groupby(["source", "method"], sort=False)[["epe", "aae", "seconds"]]
        .mean()
        .unstack("source")
        .reindex(list(methods))
    )
    summary = summary.swaplevel(axis=1).sort_index(axis=1, level=0, sort_remaining=False)
    summary.columns.names = ["source", "metric"]
    return summary


def classical_methods(
    pairs: list[FlowPair], all_pairs: bool = True, methods=CLASSICAL_METHODS, csv_path: str | Path | None = None
) -> ClassicalResult:
    """Run the classical methods (and zero flow) on the tour's pairs.

    Parameters
    ----------
    pairs : list of FlowPair
        Pairs with ground truth (:attr:`TourPairs.pairs`).
    all_pairs : bool
        Every pair; otherwise the first and the last (the profile's ``tour.all_pairs``).
    methods : sequence of str
        Registered method names; must include ``"zero"``.
    csv_path : path-like, optional
        Write the per-pair rows there.

    Returns
    -------
    ClassicalResult

    Raises
    ------
    ValueError
        No pair, ``"zero"`` not among ``methods``, or a pair without ground truth.
    """
    if not pairs:
        raise ValueError("classical_methods needs at least one pair")
    if "zero" not in methods:
        raise ValueError(f"methods must include 'zero', got {list(methods)}")
    chosen = list(pairs) if all_pairs else list(pairs[:1]) + list(pairs[-1:])
    per_pair = evaluate(list(methods), chosen)
    if csv_path is not None:
        atomic_write_text(csv_path, per_pair.to_csv(index=False))
    mean_epe = per_pair.groupby("method")["epe"].mean()
    others = mean_epe.drop("zero")
    best = str(others.idxmin()) if len(others) else "zero"
    return ClassicalResult(
        per_pair, classical_summary(per_pair, methods), best, float(mean_epe[best]), float(mean_epe["zero"])
    )
