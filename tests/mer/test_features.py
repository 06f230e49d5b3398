"""MERSet: subsets and the .npz round trip."""

import numpy as np
import pytest

from faceflow.mer import features


def test_merset_subset_save_load(tmp_path, toy_mer_set):
    ds = toy_mer_set()
    assert len(ds) == 24 and ds.summary().loc["toy", "subjects"] == 4
    ds.save(tmp_path / "x.npz")
    back = features.MERSet.load(tmp_path / "x.npz")
    assert np.array_equal(back.images, ds.images) and back.kind == "generated"
    with pytest.raises(ValueError):
        ds.subset("nope")
    with pytest.raises(ValueError):
        features.MERSet(np.zeros((2, 28, 28, 3), np.float32), [0, 1], ["a", "b"], ["d", "d"], ["x", "y"])
