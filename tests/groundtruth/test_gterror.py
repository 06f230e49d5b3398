"""The ground truth's own error on known motions, and the cost tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from faceflow.flow import synthetic
from faceflow.groundtruth import gterror


def test_procrustes_residual_removes_similarities_only():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 100, (68, 2))
    S = synthetic.similarity(1.1, 7.0, 3.0, -2.0, (50, 50))
    moved = p @ S[:, :2].T + S[:, 2]
    np.testing.assert_allclose(gterror.procrustes_residual(p, moved), 0, atol=1e-9)
    bump = np.zeros_like(p)
    bump[60:] = [0.0, 2.0]  # the mouth opens
    r = gterror.procrustes_residual(p, moved + bump @ S[:, :2].T)
    assert np.abs(r[60:, 1]).mean() > 1.0 > np.abs(r[:17]).mean()


def test_expression_displacements_strongest_first_and_apart():
    p = np.random.default_rng(1).uniform(0, 100, (68, 2))
    seq = np.stack([p + np.outer(np.arange(68) >= 48, [0, a]) for a in (0, 1, 5, 4, 2, 3, 0.5)])
    got = gterror.expression_displacements([seq], n=2, min_gap=2)
    rms = [float(np.sqrt((g**2).sum(1).mean())) for g in got]
    assert len(got) == 2 and rms[0] > rms[1]
    one = gterror.expression_displacements([seq], n=1)[0]
    np.testing.assert_allclose(one, gterror.procrustes_residual(p, seq[2]) / gterror.face_size(p))


def test_tps_field_interpolates_and_known_motion_inverts():
    rng = np.random.default_rng(2)
    pts = rng.choice(80, (20, 2), replace=False).astype(float) + 20  # on pixel centres
    disp = rng.normal(0, 2, (20, 2))
    E = gterror.tps_field(pts, disp, (120, 128))
    ij = pts.astype(int)
    np.testing.assert_allclose(E[ij[:, 1], ij[:, 0]], disp, atol=1e-6)  # the spline passes through the points
    motion = gterror.KnownMotion(E, pts, [synthetic.similarity(1.01, 1.0, 1.0, 0.5, (60, 60))] * 2, [0.0, 0.7])
    inv = motion.inverse_grid(1)
    ys, xs = np.mgrid[0:120, 0:128].astype(float)
    back = motion.forward(1, inv)
    inside = (slice(10, 110), slice(10, 118))
    np.testing.assert_allclose(back[inside], np.stack([xs, ys], -1)[inside], atol=1e-3)


@pytest.fixture(scope="module")
def photo():
    found = gterror.face_photo(synthetic.fallback_image())
    assert found is not None
    return found


def test_a_pure_head_motion_is_piecewise_affine_exactly(photo):
    crop, pts = photo
    frames, flows, true_lm = gterror.known_sequence(crop, pts, np.zeros((68, 2)), 3, np.random.default_rng(0))
    rows, landmark_pairs = gterror.sequence_errors(gterror.KnownMotionSequence("astronaut", frames, flows, true_lm))
    pwa = rows[(rows.part == "piecewise-affine") & (rows.region == "interior")]
    assert (pwa.epe < 1e-3).all()  # a similarity is affine on every triangle
    zero = rows[(rows.part == "zero flow")]
    np.testing.assert_allclose(zero.epe, zero["mean |u|"], rtol=1e-5)  # zero flow's EPE is |u|
    assert set(rows.part) == set(gterror.PARTS)
    # the pipeline's own ground truth, as `faceflow gt` would store it: zero outside its valid mask
    assert len(landmark_pairs) == 2
    for p in landmark_pairs:
        assert 0.05 < p.mask.mean() < 0.9  # the face, not the whole frame
        assert np.abs(p.flow[p.mask]).max() > 0.1 and np.abs(p.flow[~p.mask]).mean() < 0.05


def test_ground_truth_error_without_data(tmp_path):
    known = gterror.known_motion_set(tmp_path / "absent", n_sources=1, n_frames=3)
    res = gterror.ground_truth_error(known)
    assert {"dlib face photos", "real expressions"} <= set(res.missing)
    assert res.sources == ["astronaut"]
    t = res.table()
    assert list(t.index) == list(gterror.PARTS)
    assert {"face", "interior", "boundary band"} <= set(t.columns.get_level_values(0))


def test_bilinear_sample_is_hand_worked_and_bit_identical_to_two_index_gathers():
    """The known-motion inversion's sampler: a hand-worked case, the border clamp, and the same
    bits as gathering the (H, W, 2) array with two index arrays (the form it replaced)."""
    field = np.zeros((3, 4, 2))
    field[..., 0] = np.arange(12.0).reshape(3, 4)  # f(x, y) = 4y + x: bilinear reproduces it exactly
    field[..., 1] = 1.0
    got = gterror._sample(field, np.array([[1.25, 0.5], [-3.0, 9.0], [2.5, 2.0]]))
    np.testing.assert_allclose(got, [[3.25, 1.0], [8.0, 1.0], [10.5, 1.0]])  # (-3, 9) clamps to (0, 2)

    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        f = rng.normal(size=(20, 30, 2)).astype(dtype)
        x = rng.uniform(-5, 35, (17, 9, 2))
        px, py = np.clip(x[..., 0], 0, 29), np.clip(x[..., 1], 0, 19)
        x0 = np.minimum(np.floor(px).astype(np.int64), 28)
        y0 = np.minimum(np.floor(py).astype(np.int64), 18)
        fx, fy = (px - x0)[..., None], (py - y0)[..., None]
        top = f[y0, x0] * (1 - fx) + f[y0, x0 + 1] * fx
        bottom = f[y0 + 1, x0] * (1 - fx) + f[y0 + 1, x0 + 1] * fx
        np.testing.assert_array_equal(gterror._sample(f, x), top * (1 - fy) + bottom * fy)


def test_known_motion_set_round_trips_through_its_cache_and_gives_exact_pairs(tmp_path):
    cache = tmp_path / "known.npz"
    made = gterror.known_motion_set(tmp_path / "absent", n_sources=1, n_frames=3, cache=cache)
    again = gterror.known_motion_set(tmp_path / "absent", n_sources=1, n_frames=3, cache=cache)
    assert again.sources == made.sources and again.settings == made.settings
    for a, b in zip(made.pairs(), again.pairs()):
        assert a.name == b.name and a.source == gterror.KNOWN_MOTION
        np.testing.assert_array_equal(a.img1, b.img1)
        np.testing.assert_array_equal(a.flow, b.flow)
        np.testing.assert_array_equal(a.mask, b.mask)
    # exact: frame k+1 sampled where the true flow sends frame k's pixels gives frame k back
    import cv2

    p = made.pairs()[0]
    h, w = p.flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    back = cv2.remap(p.img2, xs + p.flow[..., 0], ys + p.flow[..., 1], cv2.INTER_LINEAR)
    inner = p.mask & (np.abs(p.flow).max(-1) < 30)
    assert np.abs(back[inner].astype(float) - p.img1[inner].astype(float)).mean() < 6.0
    other = gterror.known_motion_set(tmp_path / "absent", n_sources=1, n_frames=4, cache=cache)
    assert len(other.pairs()) == 3  # other settings: made anew, not read from the cache


def test_largest_part():
    rows = []
    for part, e in zip(gterror.PARTS, (0.5, 0.01, 2.0, 2.2, 3.0)):
        rows.append(dict(sequence="s", pair=0, part=part, region="face", epe=e, aae=0.1, suspect=False))
    res = gterror.GroundTruthError(pd.DataFrame(rows), ["s"], "hand", 0.0)
    assert res.largest_part() == "landmark noise" and res.epe("zero flow") == 3.0


def test_suspect_pairs_are_counted_but_left_out_as_the_dataset_leaves_them_out():
    rows = []
    for pair, (e, suspect) in enumerate([(0.4, False), (0.6, False), (9.0, True)]):
        for part in gterror.PARTS:
            rows.append(dict(sequence="s", pair=pair, part=part, region="face", epe=e, aae=0.1, suspect=suspect))
            rows[-1]["mean |u|"] = 1.0
    res = gterror.GroundTruthError(pd.DataFrame(rows), ["s"], "hand", 0.0)
    assert res.epe("whole pipeline") == pytest.approx(0.5)  # the 9 px tracker jump is not averaged in
    assert res.suspect_share() == pytest.approx(1 / 3)
    assert res.table().loc["whole pipeline", ("face", "epe")] == pytest.approx(0.5)
