"""Fig. 3: one row per flow method, a placeholder when the frames are absent."""

import numpy as np
import pytest

from faceflow.mer import figures


def test_features_figure_rows_and_checks():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (40, 36, 3), dtype=np.uint8)
    b = np.roll(a, 1, axis=1)
    fig = figures.features_figure(a, b, ["farneback", "dis"], "toy")
    assert len(fig.axes) == 3 * 4
    assert fig.axes[4].get_title() == "farneback: u"
    with pytest.raises(ValueError, match="differ in shape"):
        figures.features_figure(a, b[:-1], ["dis"])
    with pytest.raises(ValueError, match="no flow method"):
        figures.features_figure(a, b, [])


def test_figure3_missing_data_gives_placeholder(tmp_path):
    from faceflow.mer import tables

    cmp = tables.clip_comparison(tmp_path, ["dis"])
    assert cmp.table is None and "micro-expression clips" in cmp.missing
    f = figures.figure3(cmp)
    assert f.missing == cmp.missing and f.figure.axes[0].texts[0].get_text() == "not available"
