"""The data tour's builders: real pairs with their fallback, the classical-methods table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from faceflow.flow import synthetic
from faceflow.io.flo import write_flo
from faceflow.studies import tour


def _chairs_sample(root, n=2, size=(40, 56)):
    """A tiny FlyingChairs sample layout (NNNNNNN-img0.ppm, -img1.ppm, -gt.flo) under ``root``."""
    import cv2

    folder = root / "flyingchairs"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        img = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"{i:07d}-img0.ppm"), img)
        cv2.imwrite(str(folder / f"{i:07d}-img1.ppm"), np.roll(img, 1, axis=1))
        flow = np.zeros((*size, 2), np.float32)
        flow[..., 0] = 1.0
        write_flo(folder / f"{i:07d}-gt.flo", flow)
    return root


def test_no_data_root_gives_the_generated_pair_and_says_so(tmp_path):
    res = tour.tour_pairs(tmp_path / "absent")
    assert res.generated and len(res.pairs) == 1
    assert {"MPI-Sintel", "FlyingChairs", "Real flow pairs"} <= set(res.missing)
    p = res.pairs[0]
    assert p.flow.shape == p.img1.shape[:2] + (2,)


def test_present_sources_are_loaded_and_absent_ones_reported(tmp_path):
    res = tour.tour_pairs(_chairs_sample(tmp_path))
    assert [p.source for p in res.pairs] == ["flyingchairs", "flyingchairs"]
    assert set(res.missing) == {"MPI-Sintel"}
    assert not res.generated
    assert len(res.first_of_each_source()) == 1
    fig = res.figure()
    panels = [ax for ax in fig.axes if ax.images and ax.get_title() != "flow colour key"]
    assert len(panels) == 3  # frame 1, frame 2, ground truth


def test_classical_summary_is_the_mean_per_method_and_source():
    rows = pd.DataFrame(
        {
            "source": ["a", "a", "b", "a", "a", "b"],
            "method": ["zero", "zero", "zero", "dis", "dis", "dis"],
            "epe": [1.0, 3.0, 5.0, 0.5, 1.5, 2.0],
            "aae": [0.1, 0.3, 0.5, 0.1, 0.1, 0.2],
            "seconds": [0.0, 0.0, 0.0, 1.0, 3.0, 2.0],
        }
    )
    s = tour.classical_summary(rows, methods=("zero", "dis", "tvl1"))
    assert list(s.index) == ["zero", "dis", "tvl1"]
    assert s.loc["zero", ("a", "epe")] == 2.0 and s.loc["dis", ("a", "epe")] == 1.0
    assert s.loc["dis", ("b", "seconds")] == 2.0
    assert s.loc["tvl1"].isna().all()
    with pytest.raises(ValueError, match="lacks columns"):
        tour.classical_summary(rows.drop(columns="aae"))


def test_classical_methods_zero_flow_epe_is_the_mean_flow_magnitude(tmp_path):
    img = synthetic.fallback_image()[160:288, 160:320]
    pair = synthetic.affine_pair(img, synthetic.similarity(1.0, 0.0, 1.5, -0.5))
    res = tour.classical_methods([pair], methods=("zero", "dis"), csv_path=tmp_path / "rows.csv")
    assert res.zero_epe == pytest.approx(float(np.linalg.norm(pair.flow, axis=2).mean()), rel=1e-5)
    assert res.best_method == "dis" and res.best_epe < res.zero_epe
    assert len(pd.read_csv(tmp_path / "rows.csv")) == 2
    with pytest.raises(ValueError, match="zero"):
        tour.classical_methods([pair], methods=("dis",))


def test_classical_methods_first_and_last_pair_only():
    img = synthetic.fallback_image()[160:224, 160:240]
    pairs = [synthetic.affine_pair(img, synthetic.similarity(1.0, 0.0, t, 0.0), name=f"p{t}") for t in (1, 2, 3)]
    res = tour.classical_methods(pairs, all_pairs=False, methods=("zero",))
    assert list(res.per_pair["pair"]) == ["p1", "p3"]
