"""The flow-method registry and the classical methods on a known translation."""

from __future__ import annotations

import numpy as np
import pytest

from faceflow.methods import classical, registry


@pytest.mark.parametrize("method", ["farneback", "tvl1", "dis"])
@pytest.mark.parametrize("shift", [(2.0, -1.0), (-1.5, 2.5)])
def test_classical_methods_recover_a_translation(method, shift, translated):
    a, b = translated(*shift)
    flow = registry.estimate_flow(method, a, b)
    assert flow.shape == (96, 128, 2) and flow.dtype == np.float32
    inner = flow[20:-20, 20:-20].reshape(-1, 2)
    med = np.median(inner, axis=0)
    assert med == pytest.approx(shift, abs=0.25), (method, med)


def test_zero_method_and_gray_input(translated):
    a, b = translated(1, 0)
    ga, gb = a[..., 0], b[..., 0]
    assert np.all(registry.estimate_flow("zero", a, b) == 0)
    assert registry.estimate_flow("farneback", ga, gb).shape == (96, 128, 2)


def test_farneback_uses_the_authors_parameters(monkeypatch, translated):
    import cv2

    seen = {}

    def fake(prev, nxt, flow, **kw):
        seen.update(kw)
        return np.zeros(prev.shape + (2,), np.float32)

    monkeypatch.setattr(cv2, "calcOpticalFlowFarneback", fake)
    a, b = translated(1, 1)
    classical.farneback(a, b)
    assert seen == dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)


def test_registry_register_duplicate_unregister(translated):
    fn = lambda a, b: np.ones(np.shape(a)[:2] + (2,), np.float32)  # noqa: E731
    registry.register("_test_ones", fn, "ones", kind="test")
    try:
        assert "_test_ones" in registry.available_methods()
        assert registry.methods_of_kind("test") == ["_test_ones"]
        with pytest.raises(ValueError, match="already registered"):
            registry.register("_test_ones", fn)
        registry.register("_test_ones", fn, replace=True, kind="test")
        a, b = translated(0, 0)
        assert np.all(registry.estimate_flow("_test_ones", a, b) == 1)
    finally:
        registry.unregister("_test_ones")
    assert "_test_ones" not in registry.available_methods()
    with pytest.raises(KeyError):
        registry.unregister("_test_ones")


def test_unknown_method_lists_known_names():
    with pytest.raises(KeyError, match="farneback"):
        registry.get_method("no-such-method")


def test_wrong_output_shape_is_an_error(translated):
    registry.register("_test_bad", lambda a, b: np.zeros((3, 3, 2)), kind="test")
    try:
        a, b = translated(0, 0)
        with pytest.raises(RuntimeError, match="shape"):
            registry.estimate_flow("_test_bad", a, b)
    finally:
        registry.unregister("_test_bad")


def test_mismatched_or_non_uint8_images_are_rejected(translated):
    a, b = translated(0, 0)
    with pytest.raises(ValueError, match="differ"):
        registry.estimate_flow("farneback", a, b[:-1])
    with pytest.raises(ValueError, match="uint8"):
        registry.estimate_flow("farneback", a.astype(np.float32), b.astype(np.float32))


def test_classical_method_constants_name_the_registered_classical_methods():
    """The three named tuples are the registered classical methods, all of them or the subset each names."""
    from faceflow.profiles import TrainingProfile

    assert sorted(classical.CLASSICAL_METHODS) == sorted(registry.methods_of_kind("classical"))
    assert tuple(m for m in classical.CLASSICAL_METHODS if m != "zero") == classical.CLASSICAL_ESTIMATORS
    assert set(classical.FAST_CLASSICAL_METHODS) == set(classical.CLASSICAL_METHODS) - {"tvl1"}
    assert TrainingProfile.__dataclass_fields__["classical"].default == classical.CLASSICAL_ESTIMATORS
