"""Table 3 (improvement columns against the paper's numbers), runtimes, motion types for Fig. 4."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from faceflow import paper
from faceflow.evaluation import evaluate, tables
from faceflow.flow import synthetic
from faceflow.io.datasets import FlowPair
from faceflow.methods import registry


def _paper_averages() -> pd.DataFrame:
    t = paper.table3()
    return t[[("BP4D", "EPE"), ("BP4D", "AAE"), ("CK+", "EPE"), ("CK+", "AAE")]]


def test_improvement_formula_by_hand():
    # Farneback vs Exp2II on BP4D: (0.3670 - 0.2498) / 0.3670 = 31.93 %
    assert tables.improvement(0.3670, 0.2498) == pytest.approx(31.934, abs=1e-3)
    assert tables.improvement(0.2498, 0.2498) == 0


def test_improvement_columns_reproduce_the_paper():
    t = paper.table3()
    out, best = tables.with_improvement(_paper_averages(), ["Exp1", "Exp2II"])
    assert best == {"BP4D": "Exp2II", "CK+": "Exp1"}  # as stated in Sec. 5.2
    for s in ("BP4D", "CK+"):
        for m in ("EPE", "AAE"):
            got = out[(s, f"{m} impr. %")].round(2)
            np.testing.assert_allclose(got.to_numpy(), t[(s, f"{m} impr. %")].to_numpy(), atol=1e-9)


def test_table3_layout_and_order():
    avg = _paper_averages().rename(index={"Farneback": "farneback"})
    extra = pd.DataFrame([[0.5, 0.3, 0.6, 0.4]], index=["tvl1"], columns=avg.columns)
    avg = pd.concat([extra, avg])
    tab, best = tables.table3(avg, ["Exp1", "Exp2II"], order=tables.PAPER_BASELINES)
    assert list(tab.index) == [
        "Exp1",
        "Exp2II",
        "PWC-Net",
        "FlowNet2.0",
        "FlowNet3.0-CSS",
        "LiteFlowNet",
        "Farneback",
        "TV-L1",
    ]
    assert list(tab.columns.get_level_values(1)[:4]) == ["EPE", "AAE", "EPE impr. %", "AAE impr. %"]


def test_best_is_chosen_among_ours_only():
    avg = _paper_averages()
    avg.loc["magic"] = [0.01, 0.01, 0.01, 0.01]
    _, best = tables.with_improvement(avg, ["Exp1", "Exp2II"])
    assert best == {"BP4D": "Exp2II", "CK+": "Exp1"}
    with pytest.raises(ValueError, match="none of our networks"):
        tables.best_of_ours(avg, ["Exp9"])


def test_averages_from_per_pair_rows():
    rows = pd.DataFrame(
        [
            ("faces", "a", "p1", 1.0, 0.1),
            ("faces", "a", "p2", 3.0, 0.3),
            ("cross", "a", "q", 5.0, 0.5),
            ("faces", "b", "p1", 2.0, 0.2),
            ("faces", "b", "p2", 2.0, 0.2),
            ("cross", "b", "q", 1.0, 0.1),
        ],
        columns=["test_set", "method", "pair", "epe", "aae"],
    )
    avg = tables.averages(rows)
    assert list(avg.index) == ["a", "b"]
    assert list(avg.columns) == [("faces", "EPE"), ("faces", "AAE"), ("cross", "EPE"), ("cross", "AAE")]
    assert avg.loc["a", ("faces", "EPE")] == 2.0 and avg.loc["b", ("cross", "AAE")] == pytest.approx(0.1)


def _pair(A, name="p", shape=(64, 80)):
    img = synthetic.fallback_image()[100 : 100 + shape[0], 200 : 200 + shape[1]]
    return synthetic.affine_pair(np.ascontiguousarray(img), A, name)


def test_evaluate_and_cache(tmp_path, monkeypatch):
    pairs = [_pair(synthetic.similarity(tx=1.0), "a"), _pair(synthetic.similarity(ty=-1.0), "b")]
    df = evaluate.cached_evaluate(["zero", "farneback"], pairs, "faces", tmp_path)
    assert len(df) == 4 and set(df["method"]) == {"zero", "farneback"}
    assert df[df.method == "zero"]["epe"].to_numpy() == pytest.approx([1.0, 1.0], abs=1e-5)
    calls = []
    real = registry.estimate_flow
    monkeypatch.setattr(evaluate, "estimate_flow", lambda *a, **k: (calls.append(a[0]), real(*a, **k))[1])
    again = evaluate.cached_evaluate(["zero", "farneback"], pairs, "faces", tmp_path)
    assert calls == []  # served from the cache
    pd.testing.assert_frame_equal(again.reset_index(drop=True), df.reset_index(drop=True), check_dtype=False)
    evaluate.cached_evaluate(["zero"], pairs, "faces", tmp_path, method_tags={"zero": "new"})
    assert calls == ["zero", "zero"]  # a changed tag recomputes
    evaluate.cached_evaluate(["zero"], pairs[:1], "faces", tmp_path, method_tags={"zero": "new"})
    assert len(calls) == 3  # so does a changed pair list


def test_runtime_ms_at_paper_size():
    a = synthetic.fallback_image()[:100, :120]
    rt = evaluate.runtime_ms(["zero", "dis"], a, a, repeat=1)
    assert list(rt.index) == ["zero", "dis"]
    assert (rt["ms_per_pair"] >= 0).all()
    seen = []
    registry.register(
        "_test_size", lambda x, y: (seen.append(x.shape), np.zeros(x.shape[:2] + (2,), np.float32))[1], kind="test"
    )
    try:
        evaluate.runtime_ms(["_test_size"], a, a, repeat=2, warmup=1)
    finally:
        registry.unregister("_test_size")
    assert seen == [(384, 512, 3)] * 3


# ----------------------------------------------------------------------------- Tables 1 and 2
def _constant_pairs(name: str, flow_uv, n: int = 3, shape=(8, 12), face: bool = False) -> list[FlowPair]:
    """Pairs of a constant flow; ``face``: a valid mask on the middle 4 x 8 (landmark-like ground truth)."""
    img = np.random.default_rng(0).integers(0, 255, (*shape, 3), dtype=np.uint8)
    flow = np.broadcast_to(np.asarray(flow_uv, np.float32), (*shape, 2)).copy()
    mask = None
    if face:
        mask = np.zeros(shape, bool)
        mask[2:6, 2:10] = True
    return [FlowPair(f"{name}/{i}", img, img, flow, "test", mask) for i in range(n)]


def _constant_net(u: float, v: float):
    return lambda a, b: np.broadcast_to(np.float32([u, v]), (*a.shape[:2], 2)).copy()


def test_table2_builder_by_hand(tmp_path):
    sets = {"faces test": _constant_pairs("f", (1, 0)), "held-out source": _constant_pairs("h", (0, 2))}
    nets = {"Exp1": _constant_net(1, 0), "Exp2I": _constant_net(0, 0)}
    r = tables.table2(nets, sets, out_dir=tmp_path, convention="native")
    assert r.value("Exp1", "faces test") == pytest.approx(0.0)
    assert r.value("Exp1", "held-out source") == pytest.approx(np.sqrt(5))
    assert r.value("Exp1", "held-out source", "aae") == pytest.approx(np.arccos(1 / np.sqrt(2) / np.sqrt(5)), abs=1e-5)
    assert r.value("Exp2I", "faces test") == pytest.approx(1.0)
    assert r.zero.loc["faces test", "epe"] == pytest.approx(1.0) and r.zero.loc["held-out source", "epe"] == 2
    assert r.best("faces test") == "Exp1"
    assert r.beat_zero("faces test") == ["Exp1"]  # Exp2I equals zero flow: not below it
    d = r.display
    ours = "ours: whole crop"  # no valid mask here: the whole crop only
    assert list(d.index) == ["Exp1", "Exp2I", "Exp2II", "Exp3I", "Exp3II", "zero flow (reference)"]
    assert d.loc["Exp2II", ("faces test", "EPE", ours)] == tables.NOT_AVAILABLE
    assert d.loc["Exp1", ("held-out source", "EPE", ours)] == f"{np.sqrt(5):.4f}"
    want = paper.table2().loc["Exp3I", ("BP4D", "AAE")]
    assert d.loc["Exp3I", ("faces test", "AAE", "paper (BP4D): whole crop")] == f"{want:.4f}"
    assert d.loc["zero flow (reference)", ("held-out source", "EPE", ours)] == "2.0000"
    assert len(r.per_pair) == 2 * 2 * 3 and set(r.per_pair["method"]) == {"Exp1", "Exp2I"}
    assert (tmp_path / "table2.csv").is_file() and len(pd.read_csv(tmp_path / "table2_per_pair.csv")) == 12


def test_tables_report_the_face_apart_from_the_whole_crop():
    """A network right on the face and wrong outside it: 0 on the face, not on the whole crop."""
    sets = {"faces test": _constant_pairs("f", (2, 0), face=True)}

    def right_on_face(a, b):
        flow = np.zeros((*a.shape[:2], 2), np.float32)
        flow[2:6, 2:10] = (2.0, 0.0)
        return flow

    r = tables.table2({"Exp1": right_on_face}, sets, convention="native")
    assert r.value("Exp1", "faces test", "epe_face@moving") == pytest.approx(0.0)
    assert r.value("Exp1", "faces test", "epe_outside") == pytest.approx(2.0)
    assert r.value("Exp1", "faces test") == pytest.approx(2.0 * (96 - 32) / 96)
    assert r.display.loc["Exp1", ("faces test", "EPE", "ours: face, moving pairs")] == "0.0000"
    assert r.beat_zero("faces test", "epe_face@moving") == ["Exp1"]
    regions = r.by_region("faces test")
    assert regions.loc["Exp1", "face, moving pairs (3)"] == "0.0000"
    assert regions.loc["zero flow (reference)", "outside the face (3)"] == "2.0000"
    # above a floor of 2.5 px every pair is still: the moving columns are empty, not averaged in
    still = tables.table2({"Exp1": right_on_face}, sets, convention="native", floor=2.5)
    assert still.value("Exp1", "faces test", "epe_face@moving") is None
    assert still.value("Exp1", "faces test", "epe_face@still") == pytest.approx(0.0)


def test_table1_builder_marks_absent_cells_and_measures_on_the_k1_grid():
    sets = {"Faces": _constant_pairs("f", (0.5, 0)), "FlyingChairs": _constant_pairs("c", (3, 4))}
    r = tables.table1({"Faces": _constant_net(0.5, 0)}, sets)  # the paper's convention
    d = r.display
    assert d.loc["Faces", ("Faces", "ours: whole frame")] == "0.0000"
    # constant flows: on the half-resolution grid every vector is halved, so is the EPE
    assert d.loc["Faces", ("FlyingChairs", "ours: whole frame")] == f"{np.hypot(2.5, 4) / 2:.4f}"
    assert d.loc["Faces", ("Sintel", "ours: whole frame")] == tables.NOT_AVAILABLE  # no Sintel test set
    assert d.loc["Sintel", ("Faces", "ours: whole frame")] == tables.NOT_AVAILABLE  # no Sintel network
    assert d.loc["zero flow (reference)", ("FlyingChairs", "ours: whole frame")] == "2.5000"
    assert d.loc["Sintel", ("Sintel", "paper: whole crop")] == f"{paper.table1().loc['Sintel', 'Sintel']:.4f}"
    assert r.text("Faces", "Sintel") == tables.NOT_AVAILABLE and r.zero_text("Sintel") == tables.NOT_AVAILABLE


def test_rows_of_several_seeds_show_mean_and_range():
    sets = {"Faces": _constant_pairs("f", (2, 0))}
    r = tables.table1({"Faces": [_constant_net(2, 0), _constant_net(1, 0)]}, sets, convention="native")
    assert r.value("Faces", "Faces") == pytest.approx(0.5)  # seeds at 0 and 1 px
    assert r.seed_range("Faces", "Faces") == pytest.approx(1.0)
    assert r.display.loc["Faces", ("Faces", "ours: whole frame")] == "0.5000 ± 0.5000"
    assert sorted(set(r.per_pair["seed"])) == [0, 1]


def test_face_comparison_checks_the_claim_against_the_seed_range():
    pairs = _constant_pairs("f", (2, 0), face=True)
    nets = {
        "Faces": [_constant_net(2, 0), _constant_net(1.8, 0)],  # EPE 0 and 0.2 (native): range 0.2
        "FlyingChairs": _constant_net(1.9, 0),  # EPE 0.1: better than one face seed, within the range
    }
    r = tables.face_comparison(nets, pairs, classical=(), convention="native")
    assert r.values.loc["Faces", "epe_face@moving"] == pytest.approx(0.1)
    assert r.values.loc["Faces", "epe_face@moving_range"] == pytest.approx(0.2)
    checks = r.checks[r.checks["view"] == "face@moving"].set_index("against")
    assert checks.loc["zero flow", "holds"]  # margin 1.9 > 0.2
    assert not checks.loc["FlyingChairs", "holds"]  # margin 0 < 0.2
    assert not r.holds and "does not hold" in r.verdict() and "FlyingChairs" in r.verdict()
    assert r.display.loc["zero flow", "EPE vs zero flow % (face, moving pairs)"] == "+0.0"
    one = tables.face_comparison({"Faces": _constant_net(2, 0), "Sintel": _constant_net(0, 0)}, pairs, classical=())
    assert one.holds and one.verdict().startswith("holds")
    assert one.holds_in("whole") and one.verdict("whole").startswith("holds")


def test_table3_formatting():
    avg = _paper_averages().iloc[:2]
    tab, _ = tables.table3(avg, ["Exp1", "Exp2II"])
    shown = tables.format_table(tab, {"PWC-Net": "weights not available"})
    assert shown.loc["PWC-Net"].iloc[0] == "weights not available" and shown.loc["PWC-Net"].iloc[1:].eq("").all()
    assert shown.loc["Exp2II", ("BP4D", "EPE")] == "0.2498"
    assert shown.loc["Exp1", ("BP4D", "EPE impr. %")] == "12.54"


def test_set_means_and_the_mean_range_text_on_a_hand_worked_case():
    # method a: seed 0 pairs (1, 3) -> 2, seed 1 pair (4) -> 4: mean 3, range 2; b: one seed, 0.5
    rows = pd.DataFrame(
        {
            "method": ["a", "a", "a", "b"],
            "seed": [0, 0, 1, 0],
            "test_set": ["t", "t", "t", "t"],
            "epe": [1.0, 3.0, 4.0, 0.5],
            "aae": [0.1, 0.3, 0.4, 0.05],
        }
    )
    mean, spread = tables.set_means(rows, ["epe"], rows=["b", "a", "c"])
    assert list(mean.index) == ["b", "a", "c"] and list(mean.columns) == [("t", "epe")]
    assert mean.loc["a", ("t", "epe")] == 3.0 and spread.loc["a", ("t", "epe")] == 2.0
    assert mean.loc["b", ("t", "epe")] == 0.5 and spread.loc["b", ("t", "epe")] == 0.0
    assert np.isnan(mean.loc["c", ("t", "epe")])
    # without seeds, the mean over the pairs: (1 + 3 + 4) / 3 for a
    avg = tables.averages(rows.drop(columns="seed"))
    assert list(avg.columns) == [("t", "EPE"), ("t", "AAE")]
    assert avg.loc["a", ("t", "EPE")] == pytest.approx(8 / 3) and avg.loc["b", ("t", "AAE")] == 0.05
    # the two tables' cells: mean, then half the range when there are several seeds
    result = tables.TableResult(pd.DataFrame(), mean, rows, pd.DataFrame(), spread)
    assert result.text("a", "t") == "3.0000 ± 1.0000" and result.text("b", "t") == "0.5000"
    assert result.text("c", "t") == tables.NOT_AVAILABLE
    assert tables.mean_range_text(0.123456, 0.02, digits=3) == "0.123 ± 0.010"
