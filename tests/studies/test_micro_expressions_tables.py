"""Tables 5-6 builders: the paper's rows beside ours, method rows, deltas, missing data."""

import numpy as np
import pandas as pd
import pytest

from faceflow import paper, profiles
from faceflow.mer import metrics
from faceflow.studies.micro_expressions import tables


def _cfg(epochs=2):
    return profiles.MerProfile(
        epochs=epochs,
        n_seeds=2,
        max_folds=1,
        gen_identities=2,
        gen_per_class=1,
        gen_size=48,
        gen_n_seeds=1,
        workers=1,
    )


def test_plan_from_profile():
    run = tables.plan(_cfg(), seed=3)
    assert run.seeds == [3, 4] and run.gen_seeds == [3] and run.config.epochs == 2
    assert run.config.seed == 3 and run.config.workers == 1 and run.config.threads == 1
    shown = run.table()
    assert shown.loc["seeds", "setting"] == "3, 4" and shown.loc["gen_seeds", "setting"] == "3"  # no list repr
    assert shown.loc["max_clips", "setting"] == "all"  # None: no limit
    every_fold = tables.plan(profiles.MerProfile(**{**_cfg().__dict__, "max_folds": None})).table()
    assert every_fold.loc["max_folds", "setting"] == "all"
    assert run.config.engine == "batched" and run.table().loc["engine", "setting"] == "batched"


def test_plan_states_its_scale_against_the_paper():
    short = tables.plan(_cfg(epochs=2)).text
    assert short["epochs"] == "2" and short["seeds"] == "2"
    assert short["paper_epochs"] == str(paper.STSTNET_EPOCHS) == "500"
    assert "short of the paper's 500 epochs" in short["scale"] and "2 seeds" in short["scale"]
    full = tables.plan(profiles.get("full").mer).text
    assert "short of" not in full["scale"] and "the paper's protocol" in full["scale"]
    one = tables.plan(profiles.MerProfile(**{**_cfg().__dict__, "n_seeds": 1})).text
    assert "1 seed," in one["scale"]


def test_full_protocol_extrapolation_is_linear_in_epochs_and_seeds():
    tv = tables.TVL1Rows(
        table=pd.DataFrame(), epochs=100, seeds=2, folds=6, protocol_folds=88, fold_seconds=30.0, gap=0, gap_signed=0
    )
    # 30 s for 6 folds x 100 epochs = 0.05 s per fold-epoch; 88 folds x 5 seeds x 500 epochs: 11000 s
    assert tv.full_protocol_seconds(5) == pytest.approx(11000.0)
    assert tv.text["full_minutes"] == "183"
    assert np.isnan(tables.TVL1Rows().full_protocol_seconds(5)) and tables.TVL1Rows().text["full_minutes"] == "n/a"


def test_paper_rows_are_the_paper_tables():
    rows = tables.paper_rows("TVL1")
    assert list(rows.index) == ["SAMM", "SMIC", "SAMM+SMIC"] and list(rows.columns) == list(metrics.METRICS)
    assert rows.loc["SAMM+SMIC", "P_M"] == paper.table6().loc["TVL1", ("SAMM+SMIC", "P_M")]
    assert rows.loc["SMIC", "G_M"] == paper.table5().loc["TVL1", ("SMIC", "G_M")]
    with pytest.raises(KeyError, match="not a row"):
        tables.paper_rows("nope")


def test_beside_paper_interleaves_and_skips_absent_protocols():
    mean = pd.DataFrame([[0.5] * 5, [0.25] * 5], index=["SAMM", "SMIC"], columns=list(metrics.METRICS))
    std = mean * 0 + 0.125
    t = tables.beside_paper(mean, std, "ours")
    assert list(t.index) == [("SAMM", "paper (TVL1)"), ("SAMM", "ours"), ("SMIC", "paper (TVL1)"), ("SMIC", "ours")]
    assert t.loc[("SMIC", "ours"), "F1_mu"] == "0.250 ± 0.125"
    assert t.loc[("SAMM", "paper (TVL1)"), "P_M"] == f"{paper.table5().loc['TVL1', ('SAMM', 'P_M')]:.3f}"


def test_method_rows_and_protocol_deltas():
    idx = pd.MultiIndex.from_tuples([("p", "tvl1"), ("p", "dis")], names=["protocol", "method"])
    mean = pd.DataFrame([[0.5] * 5, [0.75] * 5], index=idx, columns=list(metrics.METRICS))
    t = tables.method_rows(mean, mean * 0)
    assert t.loc[("p", "TVL1"), "P_M"] == "0.500 ± 0.000"
    assert t.loc[("p", "PWC-Net"), "G_M"] == "not available"
    assert t.loc[("p", "dis (not in paper)"), "R_M"] == "0.750 ± 0.000"
    assert len(t) == len(tables.loso.PAPER_METHODS) + 1
    # a paper's method that is registered but left to the full profile is not "not available"
    left = tables.method_rows(mean, mean * 0, left_out=["Exp2I", "dis"])
    assert left.loc[("p", "Exp2I"), "P_M"] == tables.FULL_PROFILE_ONLY == "full profile"
    assert left.loc[("p", "Exp2II"), "P_M"] == "not available"
    assert left.loc[("p", "dis (not in paper)"), "R_M"] == "0.750 ± 0.000"  # trained rows stay rows
    d = tables.protocol_deltas(mean)
    assert d.loc[("p", "tvl1"), "P_M"] == pytest.approx(0.25) and d.loc[("p", "dis"), "P_M"] == 0


def test_paper_tables_cells_carry_the_deltas():
    show = tables.paper_tables()
    assert show.loc["TVL1", ("SAMM+SMIC", "P_M")] == "0.740 (Δ 0.017)"  # Table 6 prints 0.017


def test_missing_data_is_reported_not_raised(tmp_path):
    run = tables.plan(_cfg())
    pub = tables.published_check(tmp_path)
    assert pub.table is None and "STSTNet images" in pub.missing and pub.text["UF1"] == "n/a"
    tv = tables.tvl1_rows(tmp_path, run, tmp_path / "out")
    assert tv.table is None and set(tv.missing) == {"STSTNet images"} and tv.text["gap"] == "n/a"


def _write_stst_layout(root, rng):
    """A tiny ``mer/stst_uvos`` folder: 2 SAMM and 2 SMIC subjects, learnable images."""
    import cv2

    folder = root / "mer" / "stst_uvos"
    folder.mkdir(parents=True)
    rows = []
    for ds, subjects in (("samm", ["006", "007"]), ("smic", ["s01", "s02"])):
        for s in subjects:
            for k in range(6):
                img = rng.integers(0, 40, (28, 28, 3), dtype=np.uint8)
                img[..., k % 3] += 200
                name = f"{s}_{k}.png"
                cv2.imwrite(str(folder / name), img[..., ::-1])
                rows.append(dict(file=name, dataset=ds, subject=s, label=k % 3))
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)


def test_tvl1_rows_on_a_tiny_layout(tmp_path):
    _write_stst_layout(tmp_path, np.random.default_rng(0))
    run = tables.plan(_cfg(epochs=2))
    tv = tables.tvl1_rows(tmp_path, run, tmp_path / "out")
    assert not tv.missing and tv.folds == 3 * 2  # one fold per protocol and seed (max_folds=1)
    assert list(tv.table.index.get_level_values(0).unique()) == ["SAMM", "SMIC", "SAMM+SMIC"]
    assert (tmp_path / "out" / "tvl1_real_predictions.csv").is_file()
    assert tv.text["epochs"] == "2" and tv.gap >= abs(tv.gap_signed)
    assert tv.protocol_folds == 2 + 2 + 4 and tv.seeds == 2  # subjects of SAMM, SMIC, SAMM+SMIC
    assert tv.gap_numbers == 15
    # a profile that leaves SAMM+SMIC to the full profile: trains two protocols, shows the third's
    # paper row beside "full profile", averages the gap over the 10 numbers it has
    two = tables.plan(profiles.MerProfile(**{**_cfg(epochs=2).__dict__, "tvl1_protocols": ("SAMM", "SMIC")}))
    part = tables.tvl1_rows(tmp_path, two, tmp_path / "out2")
    assert part.folds == 2 * 2 and part.gap_numbers == 10
    assert set(part.summary.index.get_level_values("protocol")) == {"SAMM", "SMIC"}
    assert (part.table.loc[("SAMM+SMIC", part.table.index[-1][1])] == tables.FULL_PROFILE_ONLY).all()
    assert part.table.loc[("SAMM+SMIC", "paper (TVL1)"), "P_M"] == "0.740"
    assert part.protocol_folds == tv.protocol_folds  # the extrapolation is still to all three protocols


def test_the_profile_chooses_the_methods_with_loso_rows():
    registered = ["dis", "Exp1", "Exp2I", "farneback", "tvl1"]
    small = tables.plan(
        profiles.MerProfile(**{**_cfg().__dict__, "loso_methods": ("tvl1", "Exp1"), "loso_reason": "R"})
    )
    choice = tables.choose_methods(registered, small)
    assert choice.rows == ["tvl1", "Exp1"] and choice.others == ["dis", "Exp2I", "farneback"] and not choice.absent
    assert choice.text == (
        "This profile trains LOSO rows for tvl1 and Exp1: R. The full profile trains a row for every registered "
        "flow method, here also dis, Exp2I and farneback."
    )
    untrained = tables.choose_methods(["farneback", "tvl1"], small)  # no FlowNetS run registered
    assert untrained.rows == ["tvl1"] and untrained.absent == ["Exp1"]
    assert untrained.text.endswith("Exp1 is not registered in this build, so is not among the rows.")
    full = tables.choose_methods(registered, tables.plan(profiles.get("full").mer))
    assert full.rows == registered and full.text.startswith("This profile trains a LOSO row for every registered")


def test_default_and_smoke_keep_the_papers_reference_methods():
    for name in ("smoke", "default"):
        mer = profiles.get(name).mer
        assert mer.loso_methods[0] == "tvl1" and "Exp1" in mer.loso_methods and mer.loso_reason
        assert tables.plan(mer).table().loc["loso_methods", "setting"] == ", ".join(mer.loso_methods)
    assert profiles.get("full").mer.loso_methods is None  # every registered method


def test_tvl1_verdict_follows_the_gap_to_the_paper():
    rows = tables.TVL1Rows(table=pd.DataFrame({"x": [1]}), epochs=200, gap=0.02, gap_signed=-0.01, folds=88)
    assert rows.text["verdict"].startswith("holds: our TVL1 rows are within 0.020")
    far = tables.TVL1Rows(table=pd.DataFrame({"x": [1]}), epochs=200, gap=0.21, gap_signed=-0.2, folds=88)
    assert far.text["verdict"] == (
        "not reproduced at this scale: ours differ from the paper's by 0.210 on average "
        "(signed -0.200; 200 epochs per fold against the paper's 500)"
    )
    assert tables.TVL1Rows().text["verdict"] == tables.NOT_AVAILABLE


def test_published_check_verdict_compares_to_four_decimals():
    published = {k: paper.STSTNET_PUBLISHED[k] for k in ("UF1", "UAR")}
    same = tables.PublishedCheck(table=pd.DataFrame(), n=442, pooled={k: v + 1e-6 for k, v in published.items()})
    assert same.text["verdict"].startswith("holds")
    off = tables.PublishedCheck(table=pd.DataFrame(), n=442, pooled={"UF1": 0.5, "UAR": published["UAR"]})
    assert off.text["verdict"].startswith("does not hold: UF1 0.5000")


def test_ranking_names_the_face_networks_place_by_hand():
    idx = pd.MultiIndex.from_product(
        [["tvl1", "farneback", "Exp1"], ["generated"], [0, 1]], names=["method", "protocol", "seed"]
    )
    f1 = [0.5, 0.7, 0.4, 0.4, 0.1, 0.3]  # means: tvl1 0.6, farneback 0.4, Exp1 0.2
    summary = pd.DataFrame({m: f1 for m in metrics.METRICS}, index=idx)
    rows = tables.OtherMethodRows("generated", pd.DataFrame(), pd.DataFrame(), summary, pd.DataFrame(), [], "", 0.0)
    assert rows.ranking_text() == (
        "generated (generated set), by F1_M: TVL1 0.600, Farneback 0.400, Exp1 0.200; "
        "the face-trained FlowNetS (Exp1) ranks last."
    )
    assert "ranks first" in rows.ranking_text(face_network="tvl1")


def test_chance_text_marks_protocols_near_one_third():
    pooled = pd.DataFrame(
        {"UAR": [0.30, 0.40, 0.70, 0.20]},
        index=pd.MultiIndex.from_tuples(
            [("SAMM", 0), ("SAMM", 1), ("SMIC", 0), ("SMIC", 1)], names=["protocol", "seed"]
        ),
    )
    text = tables.TVL1Rows(pooled=pooled).chance_text()
    assert "SAMM 0.350, at chance (within 0.05)" in text and "SMIC 0.450, above chance" in text


def test_other_rows_on_the_generated_set_are_not_a_test_of_the_papers_ranking():
    idx = pd.MultiIndex.from_product([["tvl1", "Exp1"], ["generated"], [0]], names=["method", "protocol", "seed"])
    summary = pd.DataFrame({m: [0.5, 0.2] for m in metrics.METRICS}, index=idx)
    generated = tables.OtherMethodRows("generated", pd.DataFrame(), pd.DataFrame(), summary, pd.DataFrame(), [], "", 0)
    assert generated.verdict().startswith("not testable here: the SAMM and SMIC onset/apex frames are licensed")
    assert generated.verdict().endswith("ranks last.")
    real = tables.OtherMethodRows("real", pd.DataFrame(), pd.DataFrame(), summary, pd.DataFrame(), [], "", 0)
    assert real.verdict().startswith("tested on the real SAMM and SMIC frames")
