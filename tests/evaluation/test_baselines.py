"""Chapter 04's builders: test sets, the method set, Table 3, runtime, away from faces, Fig. 4."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from faceflow import profiles
from faceflow.evaluation import baselines, testsets
from faceflow.methods import registry
from faceflow.training import checkpoints, experiments


@pytest.fixture
def runs(tmp_path):
    """Two untrained FlowNetS checkpoints (Exp1, Exp2II) in a runs folder; unregistered afterwards."""
    folder = tmp_path / "runs"
    for exp in ("Exp1", "Exp2II"):
        cfg = experiments.make(exp, steps=1, resolution=(64, 64), model={"width": 0.0625})
        (folder / exp).mkdir(parents=True)
        checkpoints.save_checkpoint(
            folder / exp / "last.pt", checkpoints.build_model(cfg), None, 1, cfg, {"finished": True}
        )
    yield folder
    for exp in ("Exp1", "Exp2II"):
        if exp in registry.available_methods():
            registry.unregister(exp)


def test_load_test_sets_falls_back_to_generated_pairs_and_says_why(tmp_path, generated_test_sets):
    sets = generated_test_sets(tmp_path)
    assert list(sets.sets) == ["generated faces"] and len(sets.sets["generated faces"]) == 3
    assert "Face ground-truth dataset" in sets.missing and "Real face test set" in sets.missing
    assert sets.label("x") == "x (GENERATED)"
    summary = sets.summary()
    assert list(summary.columns) == ["pairs", "size (WxH)", "mean GT magnitude (px)"]
    assert summary.loc["generated faces", "pairs"] == 3
    mag = np.mean([np.linalg.norm(p.flow, axis=-1).mean() for p in sets.sets["generated faces"]])
    assert summary.loc["generated faces", "mean GT magnitude (px)"] == round(float(mag), 4) > 0  # as shown


def test_load_test_sets_reads_the_real_split(tmp_path, fake_gt):
    face_dir = fake_gt(tmp_path / "gt", {f"seq{i}": (f"s{i}", 4) for i in range(6)} | {"multi_face": ("m", 3)})
    settings = profiles.get("smoke")
    settings = replace(settings, baselines=replace(settings.baselines, max_pairs=2))
    sets = testsets.load_test_sets(face_dir, tmp_path / "no-runs", None, settings)
    assert not sets.generated and sets.missing == {}
    assert sets.exclude == ("multi_face",)
    assert set(sets.sets) == {"faces test", "held-out source"}
    assert [p.name for p in sets.sets["held-out source"]] == ["multi_face/0", "multi_face/2"]
    assert sets.label("faces test") == "faces test"
    assert sets.first_pair.flow.shape == (48, 64, 2)


def test_methods_without_networks_or_cnn_weights(tmp_path, monkeypatch, generated_test_sets):
    sets = generated_test_sets(tmp_path)
    methods = baselines.comparison_methods(tmp_path / "runs", sets, "smoke")
    assert methods.ours == []
    assert methods.names == ["farneback", "dis", "zero"]
    assert "generated" in methods.missing["Our FlowNetS networks"]
    assert set(methods.missing_cnn) == {"PWC-Net", "FlowNet2.0", "FlowNet3.0-CSS", "LiteFlowNet"}
    listed = methods.table()
    assert list(listed.index[:3]) == ["Farneback", "DIS", "zero flow"]
    assert "PWC-Net" in listed.index and len(methods.missing_table()) == 4
    assert methods.fig4_methods() == ["farneback", "dis"]
    assert "not run in the smoke profile" in methods.missing["Pretrained networks"]
    with_tvl1 = baselines.comparison_methods(tmp_path / "runs", sets, "smoke", include_tvl1=True)
    assert with_tvl1.fig4_methods() == ["farneback", "dis", "tvl1"]


def test_table3_without_networks_has_no_improvement_columns(tmp_path, monkeypatch, generated_test_sets):
    sets = generated_test_sets(tmp_path, n=3)
    methods = baselines.comparison_methods(tmp_path / "runs", sets, "smoke")
    t3 = baselines.table3(sets, methods, tmp_path / "cache", tmp_path)
    assert t3.best == {} and t3.best_text.startswith("none")
    # generated pairs have exact ground truth everywhere: the whole crop only
    assert list(t3.table.columns) == [("generated faces", "EPE (whole crop)"), ("generated faces", "AAE (whole crop)")]
    assert list(t3.shown.columns.get_level_values(0).unique()) == ["generated faces (GENERATED)"]
    # the reason once per method (its first cell), not in every cell
    assert list(t3.shown.loc[("the paper's CNNs", "PWC-Net")]) == [baselines.NO_WEIGHTS, ""]
    assert list(t3.shown.index.get_level_values("group").unique()) == ["classical", "the paper's CNNs"]
    # the zero field's EPE is the mean ground-truth magnitude, by definition
    gt_mag = np.mean([np.linalg.norm(p.flow, axis=-1).mean() for p in sets.sets["generated faces"]])
    # on the paper's k = 1 grid the magnitude is halved (these smooth fields barely change by averaging)
    assert t3.table.loc["zero flow", ("generated faces", "EPE (whole crop)")] == pytest.approx(gt_mag / 2, rel=2e-2)
    assert (tmp_path / "table3.csv").is_file()
    assert len(pd.read_csv(tmp_path / "per_pair.csv")) == 3 * len(methods.names)


def test_table3_with_networks_keeps_the_best_of_ours(tmp_path, runs, monkeypatch, generated_test_sets):
    sets = generated_test_sets(tmp_path, n=3)
    methods = baselines.comparison_methods(runs, sets, "smoke")
    assert methods.ours == ["Exp1", "Exp2II"] and "Our FlowNetS networks" not in methods.missing
    t3 = baselines.table3(sets, methods, tmp_path / "cache")
    (best,) = t3.best.values()
    assert best in ("Exp1", "Exp2II") and t3.best_text == f"{best} on the whole crop of generated faces"
    assert list(t3.table.index[:2]) == ["Exp1", "Exp2II"]  # every one of our networks, the best the reference
    epe, impr = ("generated faces", "EPE (whole crop)"), ("generated faces", "EPE impr. % (whole crop)")
    assert t3.table.loc[best, impr] == 0
    assert t3.table.loc["Farneback", impr] == pytest.approx(
        (t3.table.loc["Farneback", epe] - t3.table.loc[best, epe]) / t3.table.loc["Farneback", epe] * 100
    )
    tags = methods.cache_tags()
    assert "@" in tags["Exp1"] and "@" not in tags["dis"]
    # our networks are scored as Tables 1-2 score them (the largest, k = 1 prediction), cached or not
    from faceflow.evaluation import tables

    t2 = tables.table2({m: runs / m / "last.pt" for m in methods.ours}, sets.sets, experiments=methods.ours)
    uncached = baselines.table3(sets, methods, None)
    for t in (t3, uncached):
        rows = t.per_pair[t.per_pair["method"].isin(methods.ours)].sort_values(["method", "pair"])
        same = t2.per_pair[t2.per_pair["method"].isin(methods.ours)].sort_values(["method", "pair"])
        np.testing.assert_allclose(rows["epe"].to_numpy(), same["epe"].to_numpy(), rtol=1e-6)
    rt = baselines.runtime_table(methods, sets.first_pair, repeats=1, out_dir=tmp_path)
    assert list(rt.table.index) == ["Exp1", "Exp2II", "Farneback", "TV-L1", "DIS"]
    assert rt.table.loc["Exp1", "network input (HxW)"] == "64x64 (trained size)"
    assert rt.table.loc["DIS", "network input (HxW)"] == "384x512"
    assert (rt.table["ms_per_pair"] > 0).all() and (tmp_path / "runtime.csv").is_file()


def test_away_from_faces_reports_absent_sets(tmp_path, monkeypatch, generated_test_sets):
    sets = generated_test_sets(tmp_path)
    methods = baselines.comparison_methods(tmp_path / "runs", sets, "smoke")
    away = baselines.away_from_faces(methods, None, 1, tmp_path / "cache")
    assert away.table is None and set(away.missing) == {"Sintel", "FlyingChairs"}
    # a data root with only the FlyingChairs sample layout
    import cv2

    from faceflow.io.flo import write_flo

    chairs = tmp_path / "root" / "flyingchairs"
    chairs.mkdir(parents=True)
    pair = sets.first_pair
    cv2.imwrite(str(chairs / "0000000-img0.ppm"), pair.img1[:, :, ::-1])
    cv2.imwrite(str(chairs / "0000000-img1.ppm"), pair.img2[:, :, ::-1])
    write_flo(chairs / "0000000-gt.flo", pair.flow)
    away = baselines.away_from_faces(methods, tmp_path / "root", None, tmp_path / "cache", tmp_path)
    assert set(away.missing) == {"Sintel"}
    assert list(away.table.columns) == [("FlyingChairs", "EPE"), ("FlyingChairs", "AAE")]
    assert away.shown.xs("LiteFlowNet", level="method").iloc[0].tolist() == [baselines.NO_WEIGHTS, ""]
    assert (tmp_path / "away_from_faces.csv").is_file()


def test_pretrained_networks_without_weights_get_rows_saying_where_they_come_from(
    tmp_path, monkeypatch, generated_test_sets
):
    sets = generated_test_sets(tmp_path)
    methods = baselines.comparison_methods(
        tmp_path / "runs", sets, "default", data_root=tmp_path, pretrained=("spynet-sintel", "raft-small")
    )
    assert methods.pretrained == [] and set(methods.pretrained_missing) == {"spynet-sintel", "raft-small"}
    assert "Pretrained networks" not in methods.missing
    assert methods.kind("raft-small") == "pretrained" and methods.kind("PWC-Net") == "cnn"
    listed = methods.missing_table()
    assert "save it as" in listed.loc["RAFT-small (C+T)", "status"]
    t3 = baselines.table3(sets, methods, tmp_path / "cache")
    rows = t3.shown.xs("pretrained substitutes for the paper's CNNs", level="group")
    assert list(rows.index) == ["SPyNet (Sintel)", "RAFT-small (C+T)"]
    assert (rows.iloc[:, 0] == baselines.NO_WEIGHTS).all() and rows.iloc[:, 1:].eq("").all(axis=None)
    assert (t3.shown == baselines.NO_WEIGHTS).sum(axis=None) == len(methods.missing_cnn)  # once per method


def test_table3_order_puts_the_substitutes_after_the_paper_cnns():
    order = baselines.table3_order()
    assert order[:4] == ("PWC-Net", "FlowNet2.0", "FlowNet3.0-CSS", "LiteFlowNet")
    assert order[4:] == ("SPyNet (Chairs)", "SPyNet (Sintel)", "RAFT-small (C+T)", "Farneback")


def test_finetuning_settings_and_published_figures_as_phrases():
    ft = profiles.FinetuneProfile(steps=12_000, batch_size=8, crop=(368, 496), iters=12, lr=1e-4, train_pairs=50)
    want = "12,000 steps of 8 crops of 368x496, 12 updates, learning rate 0.0001, at most 50 training pairs"
    assert ft.describe() == want
    assert replace(ft, steps=0).describe() == "no fine-tuning"
    from faceflow import paper

    text = paper.pretrained_published_text()
    assert "RAFT-small (C+T) 2.21 px on Sintel clean train, 3.35 px on Sintel final train" in text
    assert text.endswith("SPyNet (Chairs) 2.63 px on FlyingChairs test")
