"""The jitter floor: the ground truth's motion on faces that do not move."""

from __future__ import annotations

import numpy as np
import pytest

from faceflow.flow import synthetic
from faceflow.groundtruth import jitter


@pytest.fixture(scope="module")
def face():
    return [("astronaut", synthetic.fallback_image())]


def test_identical_frames_have_no_ground_truth_motion(face):
    r = jitter.measure(face, n_frames=3, noise=0.0, quality=100, size=(96, 128))
    assert len(r.per_pair) == 2 and r.floor == pytest.approx(0.0, abs=1e-9) and r.mean == pytest.approx(0.0, abs=1e-9)


def test_noisy_still_frames_move_the_landmarks_a_little(face, tmp_path):
    r = jitter.measure(face, n_frames=4, noise=2.0, quality=90, size=(192, 256))
    assert len(r.per_pair) == 3
    assert 0.0 < r.mean <= r.floor < 1.0  # a fraction of a pixel of the half grid
    assert r.floor == pytest.approx(np.quantile(r.per_pair["face_motion"], jitter.FLOOR_QUANTILE))
    again = jitter.JitterFloor.from_json(r.to_json())
    assert again.floor == r.floor and again.settings == r.settings


def test_the_floor_is_cached_by_settings_and_sources(tmp_path):
    cache = tmp_path / "floor.json"
    first = jitter.jitter_floor(tmp_path / "absent", cache, n_sources=1, n_frames=3, size=(96, 128))
    assert {"face corpus", "face photos"} <= set(first.missing) and cache.is_file()
    stamp = cache.stat().st_mtime_ns
    again = jitter.jitter_floor(tmp_path / "absent", cache, n_sources=1, n_frames=3, size=(96, 128))
    assert cache.stat().st_mtime_ns == stamp and again.floor == first.floor
    jitter.jitter_floor(tmp_path / "absent", cache, n_sources=1, n_frames=4, size=(96, 128))
    assert cache.stat().st_mtime_ns != stamp  # other settings: measured again
