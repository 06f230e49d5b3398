"""Chapter 01's reconciliation of the known-motion error with the real clips' agreement."""

from __future__ import annotations

import numpy as np

from faceflow.studies.ground_truth import real_clips


def test_reconcile_caches_the_reference_on_every_exact_pair_for_the_ranking(tmp_path):
    from types import SimpleNamespace

    from faceflow.evaluation.evaluate import cached_evaluate
    from faceflow.io.datasets import FlowPair
    from faceflow.methods.registry import get_method

    rng = np.random.default_rng(0)
    exact = []
    for i in range(3):
        img1 = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
        img2 = np.roll(img1, 1, axis=1)
        flow = np.zeros((64, 64, 2), np.float32)
        flow[..., 0] = 1.0
        mask = np.zeros((64, 64), bool)
        mask[16:48, 16:48] = True
        exact.append(FlowPair(f"p{i}", img1, img2, flow, "s", mask))
    known = SimpleNamespace(pairs=lambda: exact)
    # the pipeline's ground truth of the pairs it keeps (two of three), on the same frame arrays
    landmark = [FlowPair(p.name, p.img1, p.img2, p.flow * 0.9, p.source, p.mask) for p in exact[:2]]
    plain = real_clips.reconcile(known, landmark, {}, "farneback")
    cached = real_clips.reconcile(known, landmark, {}, "farneback", cache_dir=tmp_path)
    assert plain.table.equals(cached.table) and plain.values == cached.values

    # the cache holds every exact pair under the tag chapter 04 uses: its ranking reads it back
    def never(a, b):
        raise AssertionError("recomputed instead of read from the cache")

    tags = {"farneback": str(get_method("farneback").description)}
    rows = cached_evaluate(
        ["farneback"], exact, "known motion", tmp_path, tags, convention="paper", functions={"farneback": never}
    )
    assert sorted(rows["pair"]) == ["p0", "p1", "p2"]
