"""Eq. (12) metrics, conventions for absent classes, deltas, pooled UF1/UAR, datasets and LOSO."""

import numpy as np
import pandas as pd
import pytest

from faceflow import mer


def test_metrics_by_hand_all_classes_present():
    y = [0, 0, 1, 1, 2, 2]
    p = [0, 1, 1, 1, 2, 0]
    m = mer.subject_metrics(y, p)
    # per class P: 0: 1/2, 1: 2/3, 2: 1/1 ; R: 0: 1/2, 1: 1, 2: 1/2
    pm, rm = np.mean([1 / 2, 2 / 3, 1]), np.mean([1 / 2, 1, 1 / 2])
    assert m["P_M"] == pytest.approx(pm) and m["R_M"] == pytest.approx(rm)
    assert m["F1_M"] == pytest.approx(2 * pm * rm / (pm + rm))  # Eq. 12: harmonic mean of P_M, R_M
    assert m["F1_mu"] == pytest.approx(4 / 6) == m["accuracy"]
    assert m["G_M"] == pytest.approx((0.5 * 1 * 0.5) ** (1 / 3))
    f1s = [2 * a * b / (a + b) for a, b in [(1 / 2, 1 / 2), (2 / 3, 1), (1, 1 / 2)]]
    assert mer.subject_metrics(y, p, f1="mean")["F1_M"] == pytest.approx(np.mean(f1s))


def test_absent_class_conventions():
    y = [0, 0, 0, 1]          # class 2 absent from the subject's test set
    p = [0, 0, 2, 1]          # but predicted once
    present = mer.subject_metrics(y, p, absent="present")
    assert present["classes"] == (0, 1)
    assert present["R_M"] == pytest.approx((2 / 3 + 1) / 2)
    assert present["P_M"] == pytest.approx(1.0)
    assert present["G_M"] == pytest.approx(np.sqrt(2 / 3))
    union = mer.subject_metrics(y, p, absent="union")
    assert union["classes"] == (0, 1, 2)
    assert union["R_M"] == pytest.approx((2 / 3 + 1 + 0) / 3) and union["G_M"] == 0.0
    allc = mer.subject_metrics([0, 0], [0, 0], absent="all")
    assert allc["R_M"] == pytest.approx(1 / 3) and allc["G_M"] == 0.0
    assert mer.subject_metrics([0, 0], [0, 0])["R_M"] == 1.0
    with pytest.raises(ValueError):
        mer.subject_metrics(y, p, absent="bogus")
    with pytest.raises(ValueError):
        mer.subject_metrics([0], [0, 1])


def test_aggregate_is_mean_over_subjects_and_pooled():
    preds = pd.DataFrame(dict(subject=["a"] * 4 + ["b"] * 1, label=[0, 1, 2, 2, 1], pred=[0, 1, 2, 0, 0]))
    per = mer.loso_metrics(preds)
    assert list(per.index) == ["a", "b"]
    agg = mer.aggregate(per)
    assert agg["R_M"] == pytest.approx((per.loc["a", "R_M"] + per.loc["b", "R_M"]) / 2)
    pooled = mer.pooled_metrics(preds["label"], preds["pred"])
    assert pooled["accuracy"] == pytest.approx(3 / 5)
    from sklearn.metrics import f1_score
    assert pooled["UF1"] == pytest.approx(f1_score(preds["label"], preds["pred"], average="macro"))


def test_deltas_match_paper_table6():
    from faceflow import paper

    t = paper.table6()
    d = mer.deltas(t)
    assert (d >= 0).all().all() and (d.min() == 0).all()
    # Table 6 prints 0.017 under TVL1's P_M (best 0.757 of Exp2II)
    assert d.loc["TVL1", ("SAMM+SMIC", "P_M")] == pytest.approx(0.017)
    assert d.loc["Exp1", ("SAMM+SMIC", "G_M")] == pytest.approx(0.204)


def _toy_set(n_subj=4, per=6, seed=0):
    rng = np.random.default_rng(seed)
    imgs, labels, subs = [], [], []
    for s in range(n_subj):
        for k in range(per):
            lab = k % 3
            img = rng.integers(0, 40, (28, 28, 3), dtype=np.uint8)
            img[..., lab] += 200  # class encoded in one channel: learnable
            imgs.append(img)
            labels.append(lab)
            subs.append(f"s{s}")
    return mer.MERSet(np.stack(imgs), labels, subs, ["toy"] * len(labels), [f"n{i}" for i in range(len(labels))],
                      "toy", "generated")


def test_merset_subset_save_load(tmp_path):
    ds = _toy_set()
    assert len(ds) == 24 and ds.summary().loc["toy", "subjects"] == 4
    ds.save(tmp_path / "x.npz")
    back = mer.MERSet.load(tmp_path / "x.npz")
    assert np.array_equal(back.images, ds.images) and back.kind == "generated"
    with pytest.raises(ValueError):
        ds.subset("nope")
    with pytest.raises(ValueError):
        mer.MERSet(np.zeros((2, 28, 28, 3), np.float32), [0, 1], ["a", "b"], ["d", "d"], ["x", "y"])


def test_loso_learns_caches_and_is_seeded(tmp_path):
    ds = _toy_set()
    cfg = mer.LosoConfig(epochs=60, lr=5e-3, seed=1)
    p1 = mer.run_loso(ds, cfg, tmp_path / "run", progress=False)
    assert len(p1) == len(ds) and set(p1["subject"]) == {"s0", "s1", "s2", "s3"}
    assert (p1["label"] == p1["pred"]).mean() > 0.8
    assert len(list((tmp_path / "run").glob("*.csv"))) == 4
    p2 = mer.run_loso(ds, cfg, tmp_path / "run", progress=False)  # from the cache
    assert p2["pred"].tolist() == p1["pred"].tolist()
    p3 = mer.run_loso(ds, cfg, None, progress=False)  # recomputed: same seed -> same predictions
    assert p3["pred"].tolist() == p1["pred"].tolist()
    par = mer.run_loso(ds, mer.LosoConfig(epochs=60, lr=5e-3, seed=1, workers=2), None, progress=False)
    assert par["pred"].tolist() == p1["pred"].tolist()  # worker processes: same result
    two = mer.run_loso(ds, cfg, None, progress=False, subjects=["s2"])
    assert set(two["subject"]) == {"s2"}


def test_protocols_summary(tmp_path):
    ds = _toy_set()
    preds = mer.run_protocols(ds, {"toy": ["toy"]}, [0, 1], mer.LosoConfig(epochs=3), tmp_path, progress=False,
                              max_folds=2)
    s = mer.summarize(preds)
    assert list(s.index) == [("toy", 0), ("toy", 1)] and (s["folds"] == 2).all()
    mean, std = mer.mean_std(s)
    assert list(mean.columns) == list(mer.METRICS) and (std >= 0).all().all()


@pytest.mark.data
def test_real_stst_set(data_root):
    ds = mer.from_stst_images(data_root)
    summ = ds.summary()
    assert summ.loc["samm", "samples"] == 133 and summ.loc["smic", "samples"] == 164
    assert summ.loc["casme2", "samples"] == 145 and summ["subjects"].sum() == 68


def test_generated_experiment_every_method_and_feature_cache(tmp_path):
    from faceflow import merdata

    samples, note = merdata.generated_samples(tmp_path / "no_root", per_class=1, size=48)
    assert "astronaut" in note
    methods = ["farneback", "dis"]
    preds, summary, secs = mer.generated_experiment(samples, methods, [0], mer.LosoConfig(epochs=2), tmp_path,
                                                    progress=False, max_folds=2)
    assert set(summary.index.get_level_values("method")) == set(methods) and set(secs) == set(methods)
    assert set(preds["method"]) == set(methods)
    feats = sorted((tmp_path / "generated" / "features").glob("*.npz"))
    assert len(feats) == 2
    again = mer.generated_features(samples, "dis", tmp_path / "generated" / "features")
    assert again.kind == "generated" and len(again) == len(samples)
    assert "zero" not in mer.flow_methods()
