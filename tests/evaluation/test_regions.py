"""Regions, still and moving pairs, the rule for "beats", and the ground truth's quality measures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from faceflow.evaluation import regions
from faceflow.io.datasets import FlowPair


def _pairs(mags, shape=(8, 12)):
    img = np.zeros((*shape, 3), np.uint8)
    mask = np.zeros(shape, bool)
    mask[2:6, 2:10] = True
    out = []
    for i, m in enumerate(mags):
        flow = np.zeros((*shape, 2), np.float32)
        flow[mask] = (m, 0.0)
        out.append(FlowPair(f"s/{i}", img, img, flow, "test", mask))
    return out


def test_still_and_moving_pairs_split_at_the_floor():
    rows = pd.DataFrame({"gt_mag_face": [0.1, 0.3, np.nan, 0.2]})
    assert regions.motion_class(rows, 0.2).tolist() == ["still", "moving", "", "moving"]
    assert regions.motion_class(rows, None).tolist() == ["moving", "moving", "", "moving"]
    views = regions.with_views(rows.assign(epe_face=[1.0, 2.0, np.nan, 3.0], aae_face=0.0), 0.2)
    assert views["epe_face@moving"].mean() == pytest.approx(2.5) and views["epe_face@still"].mean() == 1.0
    with pytest.raises(ValueError, match="subset"):
        regions.subset_rows(rows, "fast", 0.2)


def test_one_rule_for_beats():
    assert regions.beats(0.1) and not regions.beats(0.0) and not regions.beats(-0.1)
    assert not regions.beats(0.1, range_a=0.2) and not regions.beats(0.1, range_b=0.2)
    assert regions.beats(0.3, 0.2, 0.1)


def test_ground_truth_quality_against_zero_flow_is_the_motion_itself():
    q = regions.ground_truth_quality(_pairs([0.05, 2.0, 4.0]), floor=0.5, reference="zero", test_set="t")
    # zero flow: EPE against the ground truth equals the ground truth's own magnitude, region by region
    assert q.value("epe", "face") == pytest.approx(q.value("gt_mag", "face"))
    assert q.value("epe", "outside") == pytest.approx(0.0) and q.value("est_mag", "face") == 0.0
    assert q.still_share() == pytest.approx(1 / 3) and q.value("gt_mag", "face", "moving") == pytest.approx(1.5)
    t = q.table()
    assert t.loc[("still pairs (1)", "face"), "mean |ground truth|"] == pytest.approx(0.025)
    assert q.share_outside() == pytest.approx(1 - 8 / 24)
    # every pair is moving above a floor of 0.01: no row for the empty still subset (no NaN row)
    t = regions.ground_truth_quality(_pairs([1.0, 2.0]), floor=0.01, reference="zero", test_set="t").table()
    assert list(dict.fromkeys(t.index.get_level_values(0))) == ["all pairs (2)", "moving pairs (2)"]
    assert not t.isna().any(axis=None)
