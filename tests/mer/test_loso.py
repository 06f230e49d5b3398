"""LOSO training: learning, caching, seeding, protocols, the real and generated sets."""

import pytest

from faceflow.mer import features, loso, metrics


def test_loso_learns_caches_and_is_seeded(tmp_path, toy_mer_set):
    ds = toy_mer_set()
    cfg = loso.LosoConfig(epochs=60, lr=5e-3, seed=1)
    p1 = loso.run_loso(ds, cfg, tmp_path / "run", progress=False)
    assert len(p1) == len(ds) and set(p1["subject"]) == {"s0", "s1", "s2", "s3"}
    assert (p1["label"] == p1["pred"]).mean() > 0.8
    assert len(list((tmp_path / "run").glob("*.csv"))) == 4
    p2 = loso.run_loso(ds, cfg, tmp_path / "run", progress=False)  # from the cache
    assert p2["pred"].tolist() == p1["pred"].tolist()
    p3 = loso.run_loso(ds, cfg, None, progress=False)  # recomputed: same seed -> same predictions
    assert p3["pred"].tolist() == p1["pred"].tolist()
    par = loso.run_loso(ds, loso.LosoConfig(epochs=60, lr=5e-3, seed=1, workers=2), None, progress=False)
    assert par["pred"].tolist() == p1["pred"].tolist()  # worker processes: same result
    two = loso.run_loso(ds, cfg, None, progress=False, subjects=["s2"])
    assert set(two["subject"]) == {"s2"}


def test_protocols_summary(tmp_path, toy_mer_set):
    ds = toy_mer_set()
    preds = loso.run_protocols(
        ds, {"toy": ["toy"]}, [0, 1], loso.LosoConfig(epochs=3), tmp_path, progress=False, max_folds=2
    )
    s = metrics.summarize(preds)
    assert list(s.index) == [("toy", 0), ("toy", 1)] and (s["folds"] == 2).all()
    mean, std = metrics.mean_std(s)
    assert list(mean.columns) == list(metrics.METRICS) and (std >= 0).all().all()


@pytest.mark.data
def test_real_stst_set(data_root):
    ds = features.from_stst_images(data_root)
    summ = ds.summary()
    assert summ.loc["samm", "samples"] == 133 and summ.loc["smic", "samples"] == 164
    assert summ.loc["casme2", "samples"] == 145 and summ["subjects"].sum() == 68


def test_generated_experiment_every_method_and_feature_cache(tmp_path):
    from faceflow.mer import data as merdata

    samples, note = merdata.generated_samples(tmp_path / "no_root", per_class=1, size=48)
    assert "astronaut" in note
    methods = ["farneback", "dis"]
    preds, summary, secs = loso.generated_experiment(
        samples, methods, [0], loso.LosoConfig(epochs=2), tmp_path, progress=False, max_folds=2
    )
    assert set(summary.index.get_level_values("method")) == set(methods) and set(secs) == set(methods)
    assert set(preds["method"]) == set(methods)
    feats = sorted((tmp_path / "generated" / "features").glob("*.npz"))
    assert len(feats) == 2
    again = features.generated_features(samples, "dis", tmp_path / "generated" / "features")
    assert again.kind == "generated" and len(again) == len(samples)
    assert "zero" not in features.flow_methods()
