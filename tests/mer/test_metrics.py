"""Eq. 12 metrics by hand, absent-class conventions, aggregation and the deltas of Tables 5-6."""

import numpy as np
import pandas as pd
import pytest

from faceflow.mer import metrics


def test_metrics_by_hand_all_classes_present():
    y = [0, 0, 1, 1, 2, 2]
    p = [0, 1, 1, 1, 2, 0]
    m = metrics.subject_metrics(y, p)
    # per class P: 0: 1/2, 1: 2/3, 2: 1/1 ; R: 0: 1/2, 1: 1, 2: 1/2
    pm, rm = np.mean([1 / 2, 2 / 3, 1]), np.mean([1 / 2, 1, 1 / 2])
    assert m["P_M"] == pytest.approx(pm) and m["R_M"] == pytest.approx(rm)
    assert m["F1_M"] == pytest.approx(2 * pm * rm / (pm + rm))  # Eq. 12: harmonic mean of P_M, R_M
    assert m["F1_mu"] == pytest.approx(4 / 6) == m["accuracy"]
    assert m["G_M"] == pytest.approx((0.5 * 1 * 0.5) ** (1 / 3))
    f1s = [2 * a * b / (a + b) for a, b in [(1 / 2, 1 / 2), (2 / 3, 1), (1, 1 / 2)]]
    assert metrics.subject_metrics(y, p, f1="mean")["F1_M"] == pytest.approx(np.mean(f1s))


def test_absent_class_conventions():
    y = [0, 0, 0, 1]  # class 2 absent from the subject's test set
    p = [0, 0, 2, 1]  # but predicted once
    present = metrics.subject_metrics(y, p, absent="present")
    assert present["classes"] == (0, 1)
    assert present["R_M"] == pytest.approx((2 / 3 + 1) / 2)
    assert present["P_M"] == pytest.approx(1.0)
    assert present["G_M"] == pytest.approx(np.sqrt(2 / 3))
    union = metrics.subject_metrics(y, p, absent="union")
    assert union["classes"] == (0, 1, 2)
    assert union["R_M"] == pytest.approx((2 / 3 + 1 + 0) / 3) and union["G_M"] == 0.0
    allc = metrics.subject_metrics([0, 0], [0, 0], absent="all")
    assert allc["R_M"] == pytest.approx(1 / 3) and allc["G_M"] == 0.0
    assert metrics.subject_metrics([0, 0], [0, 0])["R_M"] == 1.0
    with pytest.raises(ValueError):
        metrics.subject_metrics(y, p, absent="bogus")
    with pytest.raises(ValueError):
        metrics.subject_metrics([0], [0, 1])


@pytest.mark.parametrize("absent", metrics.ABSENT_CONVENTIONS)
def test_eq12_micro_metrics_are_accuracy_with_absent_classes(absent):
    # The issue's case: class 2 absent from the subject but predicted twice. Eq. 12 sums over
    # all 3 classes: tp = 2 (one 0, one 1), fp = 2 (the two 2s), fn = 2 (the two missed 0s).
    m = metrics.subject_metrics([0, 0, 0, 1], [0, 2, 2, 1], absent=absent)
    assert m["P_mu"] == m["R_mu"] == m["F1_mu"] == m["accuracy"] == 0.5
    # one class only, predicted as an absent class once: tp 1, fp 1, fn 1
    m = metrics.subject_metrics([2, 2], [2, 0], absent=absent)
    assert m["F1_mu"] == m["accuracy"] == 0.5
    # every prediction wrong and of an absent class
    m = metrics.subject_metrics([1, 1, 1], [0, 0, 2], absent=absent)
    assert m["F1_mu"] == 0.0 == m["accuracy"]
    # all right
    assert metrics.subject_metrics([0, 2], [0, 2], absent=absent)["F1_mu"] == 1.0


def test_micro_metrics_by_hand_and_checks():
    # tp: class 0 -> 1, class 1 -> 1, class 2 -> 0; fp: class 1 (the true-0 sample) 1, class 2 1
    p, r, f = metrics.micro_metrics([0, 0, 1, 2], [0, 1, 1, 1])
    assert p == r == f == 0.5
    with pytest.raises(ValueError, match="not among the labels"):
        metrics.micro_metrics([0, 3], [0, 0])
    with pytest.raises(ValueError):
        metrics.micro_metrics([], [])


def test_absent_class_macro_convention_on_the_issue_case():
    m = metrics.subject_metrics([0, 0, 0, 1], [0, 2, 2, 1])  # default: macro over present classes
    assert m["classes"] == (0, 1)
    assert m["P_M"] == pytest.approx(1.0) and m["R_M"] == pytest.approx((1 / 3 + 1) / 2)
    assert m["G_M"] == pytest.approx(np.sqrt(1 / 3))


def test_aggregate_is_mean_over_subjects_and_pooled():
    preds = pd.DataFrame(dict(subject=["a"] * 4 + ["b"] * 1, label=[0, 1, 2, 2, 1], pred=[0, 1, 2, 0, 0]))
    per = metrics.loso_metrics(preds)
    assert list(per.index) == ["a", "b"]
    agg = metrics.aggregate(per)
    assert agg["R_M"] == pytest.approx((per.loc["a", "R_M"] + per.loc["b", "R_M"]) / 2)
    pooled = metrics.pooled_metrics(preds["label"], preds["pred"])
    assert pooled["accuracy"] == pytest.approx(3 / 5)
    from sklearn.metrics import f1_score

    assert pooled["UF1"] == pytest.approx(f1_score(preds["label"], preds["pred"], average="macro"))


def test_deltas_match_paper_table6():
    from faceflow import paper

    t = paper.table6()
    d = metrics.deltas(t)
    assert (d >= 0).all().all() and (d.min() == 0).all()
    # Table 6 prints 0.017 under TVL1's P_M (best 0.757 of Exp2II)
    assert d.loc["TVL1", ("SAMM+SMIC", "P_M")] == pytest.approx(0.017)
    assert d.loc["Exp1", ("SAMM+SMIC", "G_M")] == pytest.approx(0.204)


def test_single_seed_has_no_spread():
    idx = pd.MultiIndex.from_tuples([("p", 0)], names=["protocol", "seed"])
    s = pd.DataFrame([[0.5] * 5], index=idx, columns=list(metrics.METRICS))
    mean, std = metrics.mean_std(s)
    assert np.isnan(std.loc["p", "P_M"])
    assert metrics.pm_table(mean, std).loc["p", "P_M"] == "0.500 (1 run)"
