"""Figures of the ground-truth chapters: what they draw, checked on the figure's own data."""

from __future__ import annotations

import numpy as np
import pytest

from faceflow.groundtruth import mesh as gt
from faceflow.studies.ground_truth import analysis, figures


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return analysis.demo_sequence(tmp_path_factory.mktemp("empty") / "absent", 4)


def test_face_landmarks_fallback_detects_the_astronaut(tmp_path):
    res = figures.face_landmarks(tmp_path / "absent")
    assert "OpenFace frames" in res.missing
    assert res.values["n_faces"] >= 1
    ax = res.figure.axes[0]
    # one marker line of 68 points per face, one rectangle per face
    assert [len(line.get_xdata()) for line in ax.lines] == [68] * res.values["n_faces"]
    assert len(ax.patches) == res.values["n_faces"]


def test_pick_triangles_mouth_and_eye(demo):
    S, pts = demo.simplices, demo.landmarks[0]
    a, b = figures.pick_triangles(S, pts)
    assert all(v >= 48 for v in S[a])  # a face mesh has mouth triangles ...
    assert all(36 <= v < 48 for v in S[b])  # ... and eye triangles
    # without mouth or eye triangles: the largest and the smallest triangle
    S2 = np.array([[0, 1, 2], [3, 4, 5]])
    pts2 = np.zeros((6, 2))
    pts2[:3] = [[0, 0], [10, 0], [0, 10]]
    pts2[3:] = [[0, 0], [1, 0], [0, 1]]
    assert figures.pick_triangles(S2, pts2) == [0, 1]


def test_mesh_figure_titles_hold_the_eq1_maps(demo):
    fig = figures.mesh_figure(demo, 1)
    assert len(fig.axes) == 3
    k = 1
    maps = gt.affine_maps(demo.landmarks[k], demo.landmarks[k + 1], demo.simplices)
    for ax, l in zip(fig.axes[1:], figures.pick_triangles(demo.simplices, demo.landmarks[k])):
        A = np.array([[float(v) for v in row.split()] for row in ax.get_title().splitlines()[1:]])
        np.testing.assert_allclose(A, maps.A[l], atol=5e-4)


def test_resampling_figure_draws_the_3x3_grid(demo):
    fig = figures.resampling_figure(demo, 2)
    ax = fig.axes[0]
    grid_quiver = ax.collections[1]
    assert len(grid_quiver.get_offsets()) == 9


def test_sequence_figure_scale_is_the_largest_shown_vector(demo):
    res = figures.sequence_figure(demo, 1, n_shown=3)
    shown = np.linspace(0, len(demo.exact) - 1, 3).astype(int)
    expect = max(float(np.linalg.norm(demo.exact[i].result.flow, axis=2).max()) for i in shown)
    assert res.values["max_radius"] == pytest.approx(expect)
    assert len(res.figure.axes) == 7  # 2 x 3 panels and the colour key, at the shared radius
    key = next(ax for ax in res.figure.axes if ax.get_title() == "flow colour key")
    assert f"rim = {expect:.3g} px" in key.get_xlabel()


def test_warp_figure_without_chairs(demo, tmp_path):
    photo = analysis.photometric_check(demo)
    res = figures.warp_figure(demo, photo, tmp_path / "absent")
    assert set(res.missing) == {"FlyingChairs"}
    assert res.values["pair"] == photo.best_pair
    assert len(res.figure.axes) == 5  # four panels and the colour key


def test_magnitude_figure_empty_and_full(tmp_path, fake_gt):
    from faceflow.groundtruth.dataset import read_manifest

    empty = analysis.FlowMagnitudes(analysis.pd.DataFrame(columns=["sequence", "mean_mag"]), np.zeros(0), 0)
    assert figures.magnitude_figure(empty) is None
    fake_gt(tmp_path, {"s1": ("a", 2)}, failed=0)
    mags = analysis.flow_magnitudes(analysis.FaceDataset(tmp_path, read_manifest(tmp_path)))
    fig = figures.magnitude_figure(mags)
    assert len(fig.axes) == 2  # one sequence, the pixel histogram


def test_magnitude_figure_draws_one_panel_per_sequence_on_shared_bins():
    per_pair = analysis.pd.DataFrame(
        {"sequence": ["a"] * 3 + ["b"] * 2 + ["c"] * 4 + ["d", "e"], "mean_mag": [0.1, 0.2, 0.3, 5.0, 6.0] + [1.0] * 6}
    )
    mags = analysis.FlowMagnitudes(per_pair, np.array([0.5, 1.0, 2.0]), 3)
    fig = figures.magnitude_figure(mags, columns=4)
    panels = {ax.get_title().split(":")[0]: ax for ax in fig.axes if ax.get_title() and "pixel" not in ax.get_title()}
    assert set(panels) == {"a", "b", "c", "d", "e"}  # small multiples, not overlaid curves
    assert len({ax.get_xlim() for ax in panels.values()}) == 1 and len({ax.get_ylim() for ax in panels.values()}) == 1
    for seq, n in (("a", 3), ("b", 2), ("c", 4)):
        assert sum(p.get_height() for p in panels[seq].patches) == n  # every pair of the sequence in its panel
