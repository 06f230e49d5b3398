"""Figures of the evaluation: per-pair error histograms and Fig. 4 (flows on pairs picked by motion type).

Fig. 4's rows are chosen from the global/local motion shares of each pair's ground truth
(:func:`faceflow.flow.affine.motion_shares`): :func:`motion_table` computes them,
:func:`select_rows` picks pairs of each kind and :func:`fig4` draws the grid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from faceflow.evaluation.tables import display_name
from faceflow.flow.affine import motion_shares
from faceflow.flow.viz import Panel, histogram_grid, panel_grid
from faceflow.io.atomic import atomic_write
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


#: The motion kinds of Fig. 4's rows, in order.
ROW_KINDS = ("global", "local", "both")


def select_rows(motion: pd.DataFrame, per_kind: int = 2, min_energy_quantile: float = 0.5) -> pd.DataFrame:
    """Pick Fig. 4 rows: ``per_kind`` pairs each of global, local and both kinds of motion.

    Within a kind the pairs with the most motion energy are taken, whatever their energy. When a
    kind has too few pairs, pairs of other kinds with visible motion (energy at or above the
    ``min_energy_quantile`` of all moving pairs) fill in, the closest to it by global share
    first (highest share for global, lowest for local, nearest 0.5 for both). A row is labelled
    by the kind it really has: a fill-in row reads e.g. ``"both, for local"``, never ``"local"``.

    Parameters
    ----------
    motion : pandas.DataFrame
        A :func:`motion_table`.
    per_kind : int
        Rows per motion type.
    min_energy_quantile : float
        Fill-in rows have at least this quantile of the energy.

    Returns
    -------
    pandas.DataFrame
        The chosen rows of ``motion`` with columns ``row_type`` (the kind the row stands for)
        and ``label`` (what it is: its ``kind``, and for a fill-in which kind it stands in for),
        global rows first.
    """
    if motion.empty:
        return motion.assign(row_type=[], label=[])
    moving = motion[motion["kind"] != "none"]
    thr = moving["energy"].quantile(min_energy_quantile) if len(moving) else 0.0
    score = {
        "global": lambda d: -d["global_share"],
        "local": lambda d: d["global_share"],
        "both": lambda d: (d["global_share"] - 0.5).abs(),
    }
    chosen, types = [], []
    for kind in ROW_KINDS:
        same = moving[(moving["kind"] == kind) & ~moving["index"].isin(chosen)]
        picks = list(same.sort_values("energy", ascending=False)["index"][:per_kind])
        chosen += picks
        types += [kind] * len(picks)
    for kind in ROW_KINDS:
        short = per_kind - types.count(kind)
        if short <= 0:
            continue
        rest = moving[~moving["index"].isin(chosen) & (moving["energy"] >= thr)]
        picks = list(rest.assign(_s=score[kind](rest)).sort_values("_s")["index"][:short])
        chosen += picks
        types += [kind] * len(picks)
    order = sorted(range(len(chosen)), key=lambda i: ROW_KINDS.index(types[i]))
    out = motion.set_index("index").loc[[chosen[i] for i in order]].reset_index()
    out.insert(1, "row_type", [types[i] for i in order])
    out.insert(
        2,
        "label",
        [k if k == t else f"{k}, for {t}" for k, t in zip(out["kind"], out["row_type"])],
    )
    return out


def _row_title(pair, row) -> str:
    return f"{pair.name}\n{row.label} ({row.global_share:.0%} global)"


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    """``items`` in as few blocks of at most ``size`` as possible, of nearly equal lengths."""
    items = list(items)
    n = max(1, -(-len(items) // size))
    step = -(-len(items) // n)
    return [items[i : i + step] for i in range(0, len(items), step)] or [[]]


def fig4(
    pairs: Sequence,
    rows: pd.DataFrame,
    methods: Sequence[str],
    cell_size: float = 1.7,
    fontsize: int = 8,
    max_methods: int = 5,
):
    """One piece of Fig. 4: one row per selected pair, columns the ground truth then each method.

    Flow panels use the Middlebury colours, each normalised by its own largest vector (as the
    paper does) and titled with EPE and AAE (radians) against the ground truth. More than
    ``max_methods`` methods wrap into blocks of rows, so that a piece is at most
    ``max_methods + 1`` panels wide (and the colour key).

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
    max_methods : int
        Most method columns in one block.

    Returns
    -------
    matplotlib.figure.Figure
    """
    grid = []
    for block in _chunks(methods, max_methods):
        for r in rows.itertuples():
            p = pairs[int(r.index)]
            line = [Panel(f"ground truth\n{_row_title(p, r)}", flow=p.flow)]
            for m in block:
                line.append(Panel(display_name(m), flow=estimate_flow(m, p.img1, p.img2), gt=p.flow))
            grid.append(line)
    return panel_grid(grid, cell_size=cell_size, fontsize=fontsize)


def fig4_pairs(pairs: Sequence, rows: pd.DataFrame, cell_size: float = 2.0, fontsize: int = 8):
    """The rows of Fig. 4: frame 1, frame 2 and the ground truth of each selected pair.

    Parameters
    ----------
    pairs : sequence of FlowPair
        The test set.
    rows : pandas.DataFrame
        From :func:`select_rows`.
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
        grid.append(
            [
                Panel(f"frame 1\n{_row_title(p, r)}", image=p.img1),
                Panel("frame 2", image=p.img2),
                Panel("ground truth", flow=p.flow),
            ]
        )
    return panel_grid(grid, cell_size=cell_size, fontsize=fontsize)


#: The piece of Fig. 4 that shows the selected pairs themselves (:func:`fig4_pairs`).
PAIRS_PIECE = "pairs"


@dataclass
class Fig4Result:
    """Fig. 4 in pieces a page can hold, and how its rows were chosen.

    Attributes
    ----------
    figures : dict of str to matplotlib.figure.Figure
        :data:`PAIRS_PIECE` (frame 1, frame 2 and ground truth of each row), then one piece per
        group of methods (the ground truth, then each method of the group), in the order of
        the groups given; a group without methods is a figure saying why.
    rows : pandas.DataFrame
        The selected pairs (:func:`select_rows`).
    counts : str
        How many test pairs have each kind of motion, e.g. ``"global: 10, local: 3, both: 0"``
        (and ``no motion: n`` when some have none).
    missing : dict of str to str
        Always empty; kept for :meth:`Chapter.report`.
    """

    figures: dict
    rows: pd.DataFrame
    counts: str
    missing: dict[str, str] = field(default_factory=dict)

    def row_table(self) -> pd.DataFrame:
        """The selected pairs with their motion shares, rounded for display.

        Returns
        -------
        pandas.DataFrame
            Columns ``pair``, ``row_type`` (the kind the row stands for), ``kind`` (the kind it
            has), the global and local shares and the energy.
        """
        return self.rows[["pair", "row_type", "kind", "global_share", "local_share", "energy"]].round(3)


def fig4_on_set(
    pairs: Sequence,
    groups: Mapping[str, Sequence[str]],
    title: str,
    per_kind: int = 2,
    min_energy_quantile: float = 0.5,
    path=None,
    labels: Mapping[str, str] | None = None,
    absent: Mapping[str, str] | None = None,
) -> Fig4Result:
    """Fig. 4 on one test set: rows picked by motion type, one piece per group of methods.

    Parameters
    ----------
    pairs : sequence of FlowPair
        The test set (with ground truth).
    groups : mapping of str to sequence of str
        ``{piece name: registered methods}``, one column each in that piece.
    title : str
        The figures' title; each piece adds its group's label.
    per_kind : int
        Rows per motion type (:func:`select_rows`).
    min_energy_quantile : float
        Pairs standing in for a missing kind have at least this quantile of motion energy.
    path : path-like, optional
        When given, each piece is saved beside it as ``<stem>-<piece><suffix>`` (PNG, 110 dpi).
    labels : mapping of str to str, optional
        The title of each group's piece (default its name).
    absent : mapping of str to str, optional
        What a group's piece says when it has no method (default ``"no method of this group
        runs here"``).

    Returns
    -------
    Fig4Result
    """
    import matplotlib.pyplot as plt

    motion = motion_table(pairs)
    rows = select_rows(motion, per_kind=per_kind, min_energy_quantile=min_energy_quantile)
    figures = {PAIRS_PIECE: fig4_pairs(pairs, rows)}
    figures[PAIRS_PIECE].suptitle(f"{title}: the pairs of each row")
    for name, methods in groups.items():
        label = (labels or {}).get(name, name)
        if not methods:
            figures[name] = not_available(f"{label}: {(absent or {}).get(name, 'no method of this group runs here')}")
            continue
        figures[name] = fig4(pairs, rows, methods)
        figures[name].suptitle(f"{title}: {label}")
    for name, fig in figures.items():
        fig.tight_layout()
        if path is not None:
            out = Path(path).with_name(f"{Path(path).stem}-{name}{Path(path).suffix}")
            with atomic_write(out) as fh:
                fig.savefig(fh, format=out.suffix.lstrip(".") or "png", dpi=110, bbox_inches="tight")
        plt.close(fig)
    counts = ", ".join(f"{k}: {int((motion['kind'] == k).sum())}" for k in ROW_KINDS)
    if (motion["kind"] == "none").any():
        counts += f", no motion: {int((motion['kind'] == 'none').sum())}"
    return Fig4Result(figures, rows, counts)


#: The per-pair errors drawn by :func:`error_histograms`: column and axis label.
ERROR_METRICS = (("epe", "EPE (px)"), ("aae", "AAE (rad)"))


def error_histograms(results: dict, bins: int = 30):
    """Small multiples of the per-pair EPE and AAE: one row per entry of ``{label: per-pair df}``.

    Parameters
    ----------
    results : dict of str to pandas.DataFrame
        Per-pair rows (columns ``epe``, ``aae``) by label; empty or None entries are skipped.
    bins : int
        Histogram bins.

    Returns
    -------
    matplotlib.figure.Figure
        Columns EPE and AAE, each shared by its panels (:func:`faceflow.flow.viz.histogram_grid`).
    """
    cells = {
        (label, name): df[col]
        for label, df in results.items()
        if df is not None and len(df)
        for col, name in ERROR_METRICS
    }
    if not cells:
        return not_available("no results")
    return histogram_grid(cells, bins=bins)


# ----------------------------------------------------------------------------- Chapters 02-03
def _seeds(v) -> list:
    """A run's checkpoints: a list of seeds, or one path."""
    return list(v) if isinstance(v, (list, tuple)) else [v]


def not_available(text: str = "not available"):
    """A small figure that says ``text`` (for a figure whose data is absent)."""
    import textwrap

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 1.5))
    ax.text(0.5, 0.5, textwrap.fill(text, 80), ha="center", va="center")
    ax.axis("off")
    return fig


def per_pair_histograms(per_pair: pd.DataFrame, by: Sequence[str], sep: str = " -> ", bins: int = 20):
    """Small multiples of per-pair EPE and AAE: one row per value of ``by[0]`` (e.g. the method),
    one column per metric and value of the other columns of ``by`` (e.g. the test set).

    Parameters
    ----------
    per_pair : pandas.DataFrame
        Per-pair rows with ``epe``, ``aae`` and the columns ``by``.
    by : sequence of str
        The grouping columns: the first gives the rows, the others (joined by ``sep``) the columns.
    sep : str
        Joins the values of ``by[1:]`` in a column title.
    bins : int
        Histogram bins.

    Returns
    -------
    matplotlib.figure.Figure
        Panels of a column share their axes (:func:`faceflow.flow.viz.histogram_grid`); a
        figure saying "no results" when ``per_pair`` is empty.
    """
    if per_pair is None or per_pair.empty:
        return not_available("no results")
    by = list(by)
    cells = {}
    for key, g in per_pair.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        where = sep.join(map(str, key[1:]))
        for col, name in ERROR_METRICS:
            cells[(str(key[0]), f"{where}\n{name}" if where else name)] = g[col]
    return histogram_grid(cells, bins=bins)


def learning_curves(
    paths: dict,
    term: str = "J",
    continues: dict | None = None,
    log: bool = True,
    reference: dict | None = None,
    reference_valid: dict | None = None,
):
    """Training loss term and validation EPE of finished runs, one curve per run.

    Parameters
    ----------
    paths : dict
        ``{label: checkpoint path}``.
    term : str
        The loss term drawn on the left (``"J"``: the total; ``"L1"``: the multi-scale EPE term).
    continues : dict, optional
        ``{label: other label}`` for runs that start from another run's weights (Exp. 3 from
        Exp. 2I): their steps are drawn after that run's last step.
    log : bool
        Log scale for the loss.
    reference : dict, optional
        ``{label: EPE}`` drawn as dashed horizontal lines on the validation panel (e.g. zero flow).
    reference_valid : dict, optional
        The same for a third panel, the validation EPE over each pair's valid mask (the face),
        drawn when given.
    """
    import matplotlib.pyplot as plt

    from faceflow.methods.flownets_checkpoints import checkpoint_status, history

    if not paths:
        return not_available()
    panels = 3 if reference_valid is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(4.5 * panels, 3))
    runs = [
        (label if len(_seeds(v)) == 1 else f"{label} #{k}", label, p)
        for label, v in paths.items()
        for k, p in enumerate(_seeds(v))
    ]
    for label, group, path in runs:
        h, v = history(path)
        parent = (continues or {}).get(group)
        off = checkpoint_status(_seeds(paths[parent])[0])["step"] if parent in paths else 0
        axes[0].plot(h["step"] + off, h[term], label=label)
        if len(v):
            axes[1].plot(v["step"] + off, v["epe"], marker="o", label=label)
            if panels == 3 and "epe_valid" in v.columns:
                axes[2].plot(v["step"] + off, v["epe_valid"], marker="o", label=label)
    axes[0].set_xlabel("step" + (" (continued runs start where their parent ended)" if continues else ""))
    axes[0].set_ylabel({"J": "training loss J", "L1": "multi-scale EPE term L1"}.get(term, term))
    if log:
        axes[0].set_yscale("log")
    for k, (label, value) in enumerate((reference or {}).items()):
        axes[1].axhline(value, ls="--", lw=1, color=f"C{7 + k}", label=label)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("validation EPE, whole crop (px)")
    axes[1].legend(fontsize=8)
    if panels == 3:
        for k, (label, value) in enumerate(reference_valid.items()):
            axes[2].axhline(value, ls="--", lw=1, color=f"C{7 + k}", label=label)
        axes[2].set_xlabel("step")
        axes[2].set_ylabel("validation EPE, valid mask (face) (px)")
        axes[2].legend(fontsize=8)
    fig.tight_layout()
    return fig


def shapes_figure(size: tuple[int, int], chairs_pairs=None, cell_size: float = 2.6):
    """A generated flying-shapes training pair with its exact flow, and the first FlyingChairs pair (when given)."""
    from faceflow.flow.synthetic import flying_shapes_pair

    chairs = None
    if chairs_pairs is not None and len(chairs_pairs):
        chairs = chairs_pairs.pair(0) if hasattr(chairs_pairs, "pair") else chairs_pairs[0]
    shape = flying_shapes_pair(0, size=tuple(size))
    rows = [
        [
            Panel("flying shapes (generated): frame 1", image=shape.img1),
            Panel("frame 2", image=shape.img2),
            Panel("exact flow", flow=shape.flow),
        ]
    ]
    if chairs is not None:
        rows.append(
            [
                Panel(f"FlyingChairs {chairs.name}: frame 1", image=chairs.img1),
                Panel("frame 2", image=chairs.img2),
                Panel("ground truth", flow=chairs.flow),
            ]
        )
    return panel_grid(rows, cell_size=cell_size)


def middle_pair(pairs):
    """The middle pair of a dataset (``pair(i)``) or list, None when it is empty or None."""
    if pairs is None or len(pairs) == 0:
        return None
    i = len(pairs) // 2
    return pairs.pair(i) if hasattr(pairs, "pair") else pairs[i]


def network_predictions(pair, paths: dict, device: str = "cpu", cell_size: float = 2.6):
    """Frame 1, the ground truth and each network's prediction of one pair (each panel scaled to its own maximum)."""
    from faceflow.methods.flownets_checkpoints import checkpoint_flow_fn

    if pair is None or not paths:
        return not_available("face data not available")
    row = [Panel(f"{pair.name}: frame 1", image=pair.img1), Panel("ground truth", flow=pair.flow)]
    for label, path in paths.items():
        flow = checkpoint_flow_fn(_seeds(path)[0], device)(pair.img1, pair.img2)
        row.append(Panel(f"trained on {label}", flow=flow))
    return panel_grid([row], cell_size=cell_size)


def warp_figure(pair, path, label: str = "Exp2II", device: str = "cpu", cell_size: float = 2.5):
    """The paper's Fig. 2: the second frame reconstructed from the first by the ground truth and by a network."""
    import numpy as np
    import torch

    from faceflow.methods.flownets import to_tensor
    from faceflow.methods.flownets_checkpoints import checkpoint_flow_fn
    from faceflow.training.losses import reconstruct_second

    if pair is None or path is None:
        return not_available()
    pred = checkpoint_flow_fn(_seeds(path)[0], device)(pair.img1, pair.img2)

    def warped(flow):
        f = torch.from_numpy(flow).permute(2, 0, 1)[None]
        x = reconstruct_second(to_tensor(pair.img1), f)[0].permute(1, 2, 0).numpy()
        return (np.clip(x, 0, 1) * 255).astype(np.uint8)

    row = [
        Panel("X1", image=pair.img1),
        Panel("X2", image=pair.img2),
        Panel("X2' from ground truth", image=warped(pair.flow)),
        Panel(f"X2' from {label}", image=warped(pred)),
        Panel(f"{label} flow", flow=pred, gt=pair.flow),
    ]
    return panel_grid([row], cell_size=cell_size)
