"""The ground-truth chapter's studies: demo sequence, photometric check, paper vs exact, dataset tables."""

from __future__ import annotations

import numpy as np
import pytest

from faceflow.groundtruth import mesh as gt
from faceflow.studies.ground_truth import analysis


def _grid_landmarks(n=4, motion=(0.7, -0.4), scale=0.0):
    """68 jittered grid points moved by a global affine motion per frame (frame k: k * motion)."""
    rng = np.random.default_rng(1)
    xs, ys = np.meshgrid(np.linspace(30, 110, 9), np.linspace(25, 85, 8))
    p0 = np.stack([xs.ravel(), ys.ravel()], 1)[:68] + rng.uniform(-2, 2, (68, 2))
    c = p0.mean(0)
    return np.stack([(p0 - c) * (1 + scale * k) + c + np.multiply(k, motion) for k in range(n)])


@pytest.fixture(scope="module")
def generated_demo(tmp_path_factory):
    """The demo sequence without a data root: the astronaut under generated motion."""
    return analysis.demo_sequence(tmp_path_factory.mktemp("empty") / "absent", 4)


def test_demo_sequence_falls_back_to_generated_frames_and_says_so(generated_demo):
    d = generated_demo
    assert d.name == "generated" and "OpenFace frames" in d.missing
    assert len(d.frames) == 4 and d.landmarks.shape == (4, 68, 2)
    assert np.isfinite(d.landmarks).all()
    assert d.simplices.min() >= 0 and d.simplices.max() < 68
    assert len(d.exact) == 3 and all(o.status == "ok" for o in d.exact)
    assert "4 frames 512x512" in d.describe()
    with pytest.raises(ValueError, match="n_frames"):
        analysis.demo_sequence(None, 1)


def test_generated_sequence_frame_zero_is_the_photo():
    from faceflow.flow import synthetic

    frames = analysis.generated_sequence(2)
    # frame 0 is the identity warp of the photo (bilinear resampling at integer positions)
    assert np.array_equal(frames[0], synthetic.fallback_image())
    assert not np.array_equal(frames[1], frames[0])


def test_photometric_check_flags_and_best_pair(generated_demo, tmp_path):
    photo = analysis.photometric_check(generated_demo, tmp_path / "photo.csv")
    t = photo.table
    assert list(t.index) == [0, 1, 2]
    assert (t["lower"] == (t["ground truth"] < t["zero flow"])).all()
    assert photo.n_lower == int(t["lower"].sum())
    drop = t["ground truth"] - t["zero flow"]
    assert drop[photo.best_pair] == drop.min()
    assert 0.0 <= photo.raw_lower_share <= 1.0 and photo.raw_mean > 0
    assert (tmp_path / "photo.csv").is_file()
    values = photo.summary_values()
    assert values["lower"] == photo.n_lower and values["pairs"] == 3
    assert values["zero"] == f"{t['zero flow'].mean():.3f}"


def test_modes_agree_on_a_global_affine_motion():
    """A global affine motion is reproduced exactly by both modes: the interior EPE is ~0."""
    lm = _grid_landmarks(n=4, scale=0.01)
    rows, tp, te = analysis.mode_differences(lm, (120, 150), "grid")
    assert list(rows["pair"]) == [0, 1, 2]
    assert rows.loc[0, "EPE face"] < 1e-9  # first pair: no resampling
    assert (rows["EPE interior"] < 1e-6).all()
    assert tp > 0 and te > 0


def test_mode_differences_mean_magnitude_of_a_translation():
    lm = _grid_landmarks(n=3, motion=(0.6, 0.8))
    rows, _, _ = analysis.mode_differences(lm, (120, 150), "grid")
    assert rows["mean |u| face"].to_numpy() == pytest.approx([1.0, 1.0], abs=1e-6)
    lm[:] = np.nan
    with pytest.raises(ValueError, match="no frame with a face"):
        analysis.mode_differences(lm, (120, 150), "grid")


def test_compare_modes_reports_a_missing_video(generated_demo, tmp_path):
    (tmp_path / "openface").mkdir()
    res = analysis.compare_modes(generated_demo, tmp_path, video_frames=5, csv_path=tmp_path / "m.csv")
    assert set(res.missing) == {"OpenFace video"}
    assert list(res.table.index) == ["generated"]
    assert res.table.loc["generated", "pairs"] == 3
    assert res.first_pair_max_epe < 1e-6
    no_root = analysis.compare_modes(generated_demo, None, video_frames=5)
    assert no_root.missing == {}


def test_face_dataset_without_data_is_missing_not_an_error(tmp_path):
    res = analysis.face_dataset(tmp_path / "absent", tmp_path / "ds", 10)
    assert res.manifest is None and "OpenFace samples" in res.missing
    assert res.per_sequence().empty
    assert analysis.flow_magnitudes(res).n_pairs == 0


def test_flow_magnitudes_of_a_written_dataset(tmp_path, fake_gt):
    from faceflow.groundtruth.dataset import read_manifest

    fake_gt(tmp_path, {"s1": ("a", 3), "s2": ("b", 2)}, failed=1)
    res = analysis.FaceDataset(tmp_path, read_manifest(tmp_path))
    table = res.per_sequence()
    assert table.loc["s1", "ok"] == 3 and table.loc["s2", "failed"] == 1
    mags = analysis.flow_magnitudes(res, n_sample=4)
    assert mags.n_pairs == 5 and mags.n_sampled == 4
    assert mags.pixels.size == 4 * 48 * 64
    assert mags.quantiles() == {"median": 1.0, "p95": 1.0, "max": 1.0}
    assert mags.summary_values() == {"pairs": 5, "median": "1.000", "p95": "1.000", "max": "1.00"}


def test_sample_video_finds_the_named_video(tmp_path):
    (tmp_path / "openface").mkdir()
    (tmp_path / "openface" / "default.wmv").write_bytes(b"")
    (tmp_path / "openface" / "default.txt").write_bytes(b"")
    assert analysis.sample_video(tmp_path) == tmp_path / "openface" / "default.wmv"
    assert analysis.sample_video(tmp_path, "other") is None
    assert analysis.sample_video(tmp_path / "absent") is None


@pytest.mark.data
def test_demo_sequence_on_the_openface_frames(data_root):
    d = analysis.demo_sequence(data_root, 3)
    assert d.name == "image_sequence" and d.missing == {}
    assert d.shape == (480, 640)
    assert gt.triangle_areas(d.landmarks[0][d.simplices]).size == len(d.simplices)
