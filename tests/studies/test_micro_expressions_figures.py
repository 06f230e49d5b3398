"""Fig. 3: one row per flow method, a placeholder when the frames are absent."""

import numpy as np
import pytest

from faceflow.studies.micro_expressions import figures


def test_features_figure_rows_and_checks():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (40, 36, 3), dtype=np.uint8)
    b = np.roll(a, 1, axis=1)
    fig = figures.features_figure(a, b, ["farneback", "dis"], "018_3_1 (samm): onset = frame 0, apex = frame 75")
    assert len(fig.axes) == 3 * 4
    assert fig.axes[4].get_ylabel() == "farneback" and fig.axes[8].get_ylabel() == "dis"
    assert fig.axes[4].get_title().startswith("u") and fig.axes[8].get_title() == ""  # column titles once
    with pytest.raises(ValueError, match="differ in shape"):
        figures.features_figure(a, b[:-1], ["dis"])
    with pytest.raises(ValueError, match="no flow method"):
        figures.features_figure(a, b, [])


def test_figure3_missing_data_gives_placeholder(tmp_path):
    from faceflow.studies.micro_expressions import tables

    cmp = tables.clip_comparison(tmp_path, ["dis"])
    assert cmp.table is None and "micro-expression clips" in cmp.missing
    f = figures.figure3(cmp)
    assert f.missing == cmp.missing and f.figure.axes[0].texts[0].get_text() == "not available"


def test_the_title_of_a_tall_figure_3_clears_the_column_titles():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (40, 36, 3), dtype=np.uint8)
    # nine rows as in the book (TV-L1, our five networks, the other methods): the title overlapped
    fig = figures.features_figure(a, np.roll(a, 1, axis=1), ["farneback", "dis", "zero"] * 3, "018_3_1 (samm)")
    canvas = FigureCanvasAgg(fig)  # the figure comes closed: draw it as a saved PNG would be
    canvas.draw()
    renderer = canvas.get_renderer()
    title_bottom = fig._suptitle.get_window_extent(renderer).y0
    assert all(ax.title.get_window_extent(renderer).y1 <= title_bottom for ax in fig.axes if ax.get_title())
