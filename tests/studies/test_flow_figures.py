"""Flow figures shared by chapters 02-04: motion types and rows of Fig. 4, its grid, the histograms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from faceflow.flow import synthetic
from faceflow.io.datasets import FlowPair
from faceflow.studies import flow_figures


def _pair(A, name="p", shape=(64, 80)):
    img = synthetic.fallback_image()[100 : 100 + shape[0], 200 : 200 + shape[1]]
    return synthetic.affine_pair(np.ascontiguousarray(img), A, name)


def test_select_rows_covers_every_motion_type():
    pairs = []
    h, w = 40, 50
    ys, xs = np.mgrid[0:h, 0:w]
    for i in range(9):
        f = np.zeros((h, w, 2), np.float32)
        g = np.exp(-((xs - 25) ** 2 + (ys - 20) ** 2) / 15.0)
        if i % 3 == 0:
            f[..., 0] = 1.0 + 0.1 * i
        elif i % 3 == 1:
            f[..., 1] = (2.0 + 0.1 * i) * g
        else:
            f[..., 0] = 0.25 + 0.01 * i
            f[..., 1] = 3.0 * g
        f[0, 0] = 0.0
        pairs.append(FlowPair(f"p{i}", np.zeros((h, w, 3), np.uint8), np.zeros((h, w, 3), np.uint8), f))
    mt = flow_figures.motion_table(pairs)
    rows = flow_figures.select_rows(mt, per_kind=1, min_energy_quantile=0.0)
    assert list(rows["row_type"]) == ["global", "local", "both"]
    assert list(rows["kind"]) == ["global", "local", "both"]
    assert rows["index"].is_unique
    assert list(rows["label"]) == ["global", "local", "both"]
    # when a kind is absent the closest candidates fill in, labelled by the kind they really have
    only_global = mt[mt["kind"] == "global"]
    rows = flow_figures.select_rows(only_global, per_kind=1, min_energy_quantile=0.0)
    assert list(rows["row_type"]) == ["global", "local", "both"] and (rows["kind"] == "global").all()
    assert list(rows["label"]) == ["global", "global, for local", "global, for both"]


def test_select_rows_takes_a_kind_s_own_pairs_even_with_little_motion():
    # the smoke build's test set: the one local pair and the "both" pairs move less than the
    # median pair; they are still the rows of their kind, and no row is labelled by a kind it lacks
    motion = pd.DataFrame(
        {
            "index": range(6),
            "pair": [f"p{i}" for i in range(6)],
            "global_share": [0.827, 0.601, 0.916, 0.20, 0.50, 0.45],
            "energy": [22.9, 0.387, 3.47, 0.10, 0.20, 0.30],
            "kind": ["global", "both", "global", "local", "both", "both"],
        }
    ).assign(local_share=lambda d: 1 - d["global_share"])
    rows = flow_figures.select_rows(motion, per_kind=1)
    assert list(rows["pair"]) == ["p0", "p3", "p1"]
    assert list(rows["row_type"]) == list(rows["kind"]) == list(rows["label"]) == ["global", "local", "both"]


def test_fig4_grid():
    import matplotlib.pyplot as plt

    pairs = [_pair(synthetic.similarity(tx=1.0), "a"), _pair(synthetic.similarity(1.02, 2.0, 0, 0, (40, 32)), "b")]
    mt = flow_figures.motion_table(pairs)
    rows = flow_figures.select_rows(mt, per_kind=1, min_energy_quantile=0.0)
    fig = flow_figures.fig4(pairs, rows, ["zero", "farneback"])
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert any("EPE" in ax.get_title() and "AAE" in ax.get_title() for ax in axes)
    plt.close(fig)
    # more methods than a block holds wrap into blocks of rows: never more than 6 panels wide
    wide = flow_figures.fig4(
        pairs, rows, ["zero", "farneback", "dis", "zero", "dis", "farneback", "dis"], max_methods=5
    )
    grid = wide.axes[0].get_subplotspec().get_gridspec().get_geometry()
    assert grid == (2 * len(rows), 4 + 1 + 1)  # blocks of 4 and 3 methods after the ground truth; the key
    plt.close(wide)


def test_per_pair_histograms_are_small_multiples_with_shared_axes():
    import matplotlib.pyplot as plt

    rows = [
        dict(method=m, test_set=s, epe=e, aae=0.1 * e)
        for m, base in (("Exp1", 1.0), ("zero flow", 3.0))
        for s, n in (("faces", 4), ("chairs", 3))
        for e in base + np.arange(n, dtype=float)
    ]
    fig = flow_figures.per_pair_histograms(pd.DataFrame(rows), ["method", "test_set"])
    axes = fig.axes
    assert axes[0].get_subplotspec().get_gridspec().get_geometry() == (2, 4)  # methods x (set, metric)
    assert [ax.get_title() for ax in axes[:4]] == [
        "faces\nEPE (px)",
        "faces\nAAE (rad)",
        "chairs\nEPE (px)",
        "chairs\nAAE (rad)",
    ]
    assert not any(ax.get_legend() for ax in axes)  # one series per panel: nothing overlaid
    for j, n in enumerate((4, 4, 3, 3)):
        top, bottom = axes[j], axes[4 + j]
        assert top.get_xlim() == bottom.get_xlim() and top.get_ylim() == bottom.get_ylim()
        assert sum(p.get_height() for p in top.patches) == n == sum(p.get_height() for p in bottom.patches)
    # the dashed line marks each series' mean: Exp1 on faces, EPE 1, 2, 3, 4
    assert axes[0].lines[0].get_xdata()[0] == pytest.approx(2.5)
    plt.close(fig)
    single = flow_figures.error_histograms({"Exp1 on faces": pd.DataFrame({"epe": [1.0, 2.0], "aae": [0.1, 0.2]})})
    assert len(single.axes) == 2 and not any(ax.get_legend() for ax in single.axes)
    plt.close(single)


def test_fig4_on_set_saves_the_figure(tmp_path):
    pairs = synthetic.generated_face_pairs(3, size=(48, 64), seed=0)
    out = flow_figures.fig4_on_set(
        pairs,
        {"a": ["zero", "dis"], "b": []},
        "title",
        per_kind=1,
        min_energy_quantile=0.0,
        path=tmp_path / "fig4.png",
        labels={"a": "group A"},
        absent={"b": "no weights"},
    )
    assert list(out.figures) == ["pairs", "a", "b"]
    assert all((tmp_path / f"fig4-{k}.png").is_file() for k in out.figures)
    assert len(out.rows) == 3 and list(out.row_table().columns)[:2] == ["pair", "row_type"]
    assert sum(int(c.split(": ")[1]) for c in out.counts.split(", ")) == 3
    assert out.figures["a"]._suptitle.get_text() == "title: group A"
    assert "b: no weights" in out.figures["b"].axes[0].texts[0].get_text()
