"""The ground truth's cost: generation timings and the BP4D cost table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from faceflow.studies.ground_truth import cost


def test_generation_cost_and_bp4d_table(tmp_path):
    c = cost.measure_generation(tmp_path / "absent", n_frames=3, size=(512, 512))
    assert "OpenFace frames" in c.missing and len(c.runs) == 4
    st = c.storage()
    assert list(st.index) == ["flo", "f16"]
    assert st.loc["f16", "flow kB/pair"] < st.loc["flo", "flow kB/pair"]
    # .flo: header + float32, shown with one decimal
    assert st.loc["flo", "flow kB/pair"] == pytest.approx(384 * 512 * 8 / 1024 + 12 / 1024, abs=0.05)
    assert st.loc["flo", "flow kB/pair"] == round(st.loc["flo", "flow kB/pair"], 1)
    assert 0 <= c.f16_error["mean"] <= c.f16_error["max"] < 0.05
    runs = pd.DataFrame({"mode": ["exact"], "flow format": ["flo"], "cpu s/frame": [0.036], "total kB/pair": [1000.0]})
    table = cost.bp4d_cost(cost.GenerationCost(runs, {}, "hand"), processes=4)
    row = table.loc["faceflow gt, exact mode, flo"]
    assert row["CPU-hours"] == 3.3  # 325,720 frames x 0.036 s = 3.257 h, one decimal
    assert row["disk (GB)"] == 333.5  # 325,720 pairs x 1000 kB = 333.54 GB
    paper_row = table.loc["paper (Sec. 3): 5 days on 4 processes"]
    assert paper_row["CPU-hours"] == pytest.approx(480.0) and paper_row["days on 4 processes"] == 5.0
    assert paper_row["disk (GB)"] == "not stated"  # not NaN: the paper gives no disk use


def test_generation_cost_without_any_face_keeps_the_timings(tmp_path):
    # 64x64 frames: no face is found, so no pair has flows to compare; the timings still stand
    c = cost.measure_generation(tmp_path / "absent", n_frames=2, size=(64, 64))
    assert "float16 error" in c.missing and len(c.runs) == 4
    assert (c.runs["pairs"] == 0).all()
    assert np.isnan(c.f16_error["mean"]) and c.summary_values()["f16_mean"] == "nan"
