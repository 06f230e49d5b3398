"""Text vs released-code variants: the Huber zone measurement and the side-by-side training."""

from __future__ import annotations

import pytest
import torch

from faceflow import profiles
from faceflow.book import tables as book_tables
from faceflow.evaluation import tables
from faceflow.studies import ablations
from faceflow.training import datasets


def _sample(shift_grey: float, slope: float, size=(32, 32)):
    h, w = size
    img1 = torch.full((3, h, w), 0.5)
    flow = torch.zeros(2, h, w)
    flow[0] = slope * torch.arange(w, dtype=torch.float32)  # du/dx = slope px per px
    return {"img1": img1, "img2": img1 + shift_grey / 255, "flow": flow, "name": "x"}


def test_huber_zones_by_hand():
    # a uniform image: warping changes nothing, so both residuals are the 10 grey-level shift
    res = ablations.huber_zones([_sample(10.0, 0.004)] * 3, n_pairs=3, cyclic_d=1.0, smooth_d=0.001)
    t = res.table
    assert t.loc["cyclic, zero flow", ablations.LINEAR_SHARE] == pytest.approx(1.0)
    assert t.loc["cyclic, ground-truth flow", "median"] == pytest.approx(10.0, abs=1e-3)
    # at k = 1 the field is halved and sampled every 2 px: the x difference stays 0.004 px/px
    assert t.loc["smoothness, ground truth", "median"] == pytest.approx(0.004, rel=1e-4)
    assert t.loc["smoothness, ground truth", ablations.LINEAR_SHARE] == 1.0
    assert t.loc["(released code: Charbonnier eps)", ablations.LINEAR_SHARE] == 0.0
    assert res.figure is not None and not res.missing and res.share("cyclic, zero flow") == 1.0
    assert res.share_text("cyclic, zero flow") == "100 %" and res.share_text("no such row") == tables.NOT_AVAILABLE
    # shown as a reader reads them: no float32 tail (9.9999995 grey levels reads 10)
    quantiles = t[["median", "90th pct"]].to_numpy().ravel()
    assert all(book_tables.significant_digits(repr(float(v))) <= 4 for v in quantiles)
    below = ablations.huber_zones([_sample(0.5, 0.0)], cyclic_d=1.0).table
    assert below.loc["cyclic, zero flow", ablations.LINEAR_SHARE] == 0.0


def test_whole_grey_levels_count_in_the_linear_zone_despite_float32_round_off():
    import torch

    # 8-bit frames as the loaders give them (uint8 / 255, float32): every pixel one grey level apart
    a = torch.arange(0, 200, dtype=torch.uint8).reshape(1, 10, 20).expand(3, 10, 20)
    img1 = (a.float() / 255).contiguous()
    img2 = ((a + 1).float() / 255).contiguous()
    assert ((img2 - img1) * 255 < 1).any()  # the round-off this guards against
    sample = {"img1": img1, "img2": img2, "flow": torch.zeros(2, 10, 20)}
    res = ablations.huber_zones([sample], n_pairs=1, cyclic_d=1.0)
    assert res.share("cyclic, zero flow") == 1.0


def test_huber_zones_without_pairs_reports_missing():
    res = ablations.huber_zones(None)
    assert res.figure is None and "Huber zones" in res.missing
    assert res.share_text("cyclic, zero flow") == tables.NOT_AVAILABLE


def _tiny_comparison(tmp_path, **kwargs):
    """compare_variants with one-step runs on flying shapes (64 x 64, a sixteenth of the width)."""
    shapes = datasets.FlyingShapes(4, size=(64, 64), seed=0)
    over = dict(
        steps=1, finetune_steps=1, batch_size=2, resolution=(64, 64), val_every=1, val_pairs=2, model={"width": 0.0625}
    )
    return ablations.compare_variants(
        {"shapes": datasets.FlyingShapes(2, size=(64, 64), seed=9)},
        profiles.OutputLayout(tmp_path),
        "smoke",
        train_data=shapes,
        val_data=shapes,
        **kwargs,
        **over,
    )


def test_compare_variants_trains_each_run_once(tmp_path):
    layout = profiles.OutputLayout(tmp_path)
    res = _tiny_comparison(tmp_path)
    t = res.table
    assert list(t.index) == [
        ("Exp1", "text"),
        ("Exp3I", "text"),
        ("Exp1", "code"),
        ("Exp3I", "code"),
        ("zero flow (reference)", ""),
    ]
    # in the released code Exp1 and Exp2I are the same training: one run, named in the table
    assert t.loc[("Exp1", "code"), "run"] == "Exp2I" and res.runs[("Exp1", "code")].parent.name == "Exp2I"
    assert t.loc[("Exp1", "text"), "run"] == "" and (tmp_path / "runs" / "faces" / "Exp2I" / "last.pt").is_file()
    assert t.loc[("Exp3I", "code"), "k=1 EPE term"] == "no" and t.loc[("Exp3I", "text"), "k=1 EPE term"] == "yes"
    assert t.loc[("Exp3I", "code"), "lambda1/2/3"] == "0.3 / 0.4 / 0.3"
    assert not (tmp_path / "runs" / "faces-code" / "Exp1").exists()
    # the reference row has no training settings: empty cells, not NaN; errors with 4 decimals
    assert not t.isna().any(axis=None)
    assert (t.loc[("zero flow (reference)", ""), ["lambda1/2/3", "steps", "run"]] == "").all()
    assert all(t[c].map(lambda v: round(v, 4) == v).all() for c in ("shapes EPE", "shapes AAE"))
    gap = ablations.variant_gap(res, "shapes")
    assert set(gap) == {"Exp1", "Exp3I"}
    assert gap["Exp1"] == pytest.approx(t.loc[("Exp1", "code"), "shapes EPE"] - t.loc[("Exp1", "text"), "shapes EPE"])
    assert ablations.compare_variants({}, layout).missing


def test_a_variant_left_untrained_shows_its_settings_and_trains_nothing(tmp_path):
    res = _tiny_comparison(tmp_path, trained=["text"])
    t = res.table
    assert t.loc[("Exp3I", "code"), "lambda1/2/3"] == "0.3 / 0.4 / 0.3"  # the settings, from the config
    assert (t.loc[("Exp1", "code"), ["steps", "train s", "shapes EPE"]] == ablations.NOT_TRAINED).all()
    assert isinstance(t.loc[("Exp1", "text"), "shapes EPE"], float)
    assert not (tmp_path / "runs" / "faces-code").exists() and ("Exp1", "code") not in res.runs
    assert ablations.variant_gap(res, "shapes") == {}
    assert ablations.gap_text(res, "shapes").startswith("not measured in this profile")
    assert not t.isna().any(axis=None)
