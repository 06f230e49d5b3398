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


def test_view_means_by_hand():
    # two pairs of one method: one still (face motion 0.1 < floor 0.3), one moving
    rows = pd.DataFrame(
        {
            "method": "m",
            "test_set": "t",
            "gt_mag_face": [0.1, 2.0],
            "epe": [1.0, 3.0],
            "aae": [0.1, 0.3],
            "epe_face": [0.5, 1.5],
            "aae_face": [0.05, 0.15],
            "epe_outside": [2.0, 4.0],
            "aae_outside": [0.2, 0.4],
        }
    )
    m = regions.view_means(rows, 0.3).loc[("m", "t")]
    assert m["pairs_face@moving"] == m["pairs_face@still"] == 1 and m["pairs_face"] == m["pairs_whole"] == 2
    assert (m["epe_face@still"], m["epe_face@moving"], m["epe_face"]) == (0.5, 1.5, 1.0)
    assert (m["epe_outside"], m["epe"], m["aae_face@moving"]) == (3.0, 2.0, 0.15)
    # no floor: both pairs moving, the still view is empty
    m = regions.view_means(rows, None).loc[("m", "t")]
    assert m["pairs_face@still"] == 0 and np.isnan(m["epe_face@still"]) and m["epe_face@moving"] == 1.0


def test_views_display_labels_each_view_with_its_pairs():
    rows = pd.DataFrame(
        {
            "method": ["zero", "zero", "farneback", "farneback"],
            "test_set": "t",
            "gt_mag_face": [0.1, 2.0, 0.1, 2.0],
            **{c: [1.0, 3.0, 0.25, 0.75] for c in ("epe", "aae", "epe_face", "aae_face", "epe_outside", "aae_outside")},
        }
    )
    shown = regions.views_display(regions.view_means(rows, 0.3), "t")
    assert list(shown.columns) == [
        "face, moving pairs (1)",
        "face, still pairs (1)",
        "face, all pairs (2)",
        "outside the face (2)",
        "whole crop (2)",
    ]
    assert shown.loc[("zero", "EPE"), "face, still pairs (1)"] == "1.0000"
    assert shown.loc[("farneback", "AAE"), "whole crop (2)"] == "0.5000"
    assert "face, still pairs (0)" not in regions.views_display(regions.view_means(rows, None), "t", still=False)
    # ground truth defined everywhere: the whole frame only
    whole = rows.assign(epe_face=np.nan, aae_face=np.nan, epe_outside=np.nan, aae_outside=np.nan, gt_mag_face=np.nan)
    assert list(regions.views_display(regions.view_means(whole, 0.3), "t").columns) == ["whole crop (2)"]


def test_floor_from_file_reads_the_measurement_and_names_a_bad_file(tmp_path):
    from faceflow.groundtruth.jitter import JitterFloor

    measured = JitterFloor(pd.DataFrame({"source": "a", "pair": ["a/0", "a/1"], "face_motion": [0.1, 0.3]}), {})
    path = tmp_path / "jitter-floor.json"
    path.write_text(measured.to_json())
    assert regions.floor_from_file(path) == pytest.approx(measured.floor) == pytest.approx(0.29)
    for text in ("{not json", "[1, 2]", '{"settings": {}, "per_pair": {"pair": ["a/0"]}}'):
        path.write_text(text)
        with pytest.raises(ValueError, match="jitter-floor.json: not a jitter-floor measurement"):
            regions.floor_from_file(path)
