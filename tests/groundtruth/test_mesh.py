"""Ground-truth flow of Sec. 3 (Eq. 1-3), both modes, and the Sec. 4.3 training crop."""

from __future__ import annotations

import numpy as np
import pytest

from faceflow.flow.synthetic import affine_flow
from faceflow.groundtruth import mesh as gt

SHAPE = (120, 160)


def face_like_points(seed: int = 0, n: int = 68) -> np.ndarray:
    """68 well-spread points in the middle of a 120x160 image (a jittered grid)."""
    rng = np.random.default_rng(seed)
    xs, ys = np.meshgrid(np.linspace(35, 125, 9), np.linspace(22, 98, 8))
    pts = np.stack([xs.ravel(), ys.ravel()], 1)[:n]
    return pts + rng.uniform(-3, 3, pts.shape)


def naive_pair_flow(p_prev, p_next, simplices, shape, min_area: float = gt.MIN_AREA) -> np.ndarray:
    """Straightforward per-pixel implementation of the paper's loops: the oracle of the vectorised exact mode.

    For every triangle: Eq. 1 with :func:`numpy.linalg.inv`; for every pixel of its bounding box:
    solve Eq. 2 with :func:`numpy.linalg.solve`, and if inside, apply the map (Eq. 3). First
    triangle wins on shared edges. Slow by design.

    Parameters
    ----------
    p_prev, p_next : ndarray, shape (68, 2)
    simplices : ndarray, shape (Nt, 3)
    shape : (H, W)
    min_area : float

    Returns
    -------
    ndarray, shape (H, W, 2), float32
    """
    h, w = shape
    flow = np.zeros((h, w, 2), np.float32)
    done = np.zeros((h, w), bool)
    p_prev = np.asarray(p_prev, np.float64)
    p_next = np.asarray(p_next, np.float64)
    for s in simplices:
        t0, t1 = p_prev[s], p_next[s]
        if abs(gt.triangle_areas(t0)) < min_area:
            continue
        ts0 = np.hstack([t0, np.ones((3, 1))])
        ts1 = np.hstack([t1, np.ones((3, 1))])
        A = np.linalg.inv(ts0) @ ts1
        v0, v1, v2 = t0
        V = np.array([[(v1 - v0) @ (v1 - v0), (v2 - v0) @ (v1 - v0)], [(v2 - v0) @ (v1 - v0), (v2 - v0) @ (v2 - v0)]])
        xa, ya = (int(max(np.ceil(t0[:, i].min()), 0)) for i in (0, 1))
        xb = int(min(np.floor(t0[:, 0].max()), w - 1))
        yb = int(min(np.floor(t0[:, 1].max()), h - 1))
        for y in range(ya, yb + 1):
            for x in range(xa, xb + 1):
                if done[y, x]:
                    continue
                v = np.array([x, y], np.float64)
                b = np.array([(v - v0) @ (v1 - v0), (v - v0) @ (v2 - v0)])
                l1, l2 = np.linalg.solve(V, b)
                l3 = 1 - l1 - l2
                if min(l1, l2, l3) >= -gt.BARY_TOL and max(l1, l2, l3) <= 1 + gt.BARY_TOL:
                    nv = np.array([x, y, 1.0]) @ A
                    flow[y, x] = nv[:2] - v
                    done[y, x] = True
    return flow


def analytic_field(p_prev, p_next, simplices, shape):
    """Known piecewise-affine field, by an independent route: barycentric coordinates of every
    pixel by a dense linear solve, then x' = sum_i lambda_i t_k,i. Returns flow, owner mask."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w]
    q = np.stack([xs.ravel(), ys.ravel()], 1).astype(float)
    flow = np.zeros((h * w, 2))
    done = np.zeros(h * w, bool)
    for s in simplices:
        t0, t1 = p_prev[s], p_next[s]
        M = np.vstack([t0.T, np.ones(3)])  # 3x3: columns are homogeneous vertices
        lam = np.linalg.solve(M, np.vstack([q.T, np.ones(len(q))])).T
        inside = np.all(lam >= -1e-9, 1) & ~done
        flow[inside] = lam[inside] @ t1 - q[inside]
        done |= inside
    return flow.reshape(h, w, 2), done.reshape(h, w)


def test_affine_map_sends_vertices_exactly():
    rng = np.random.default_rng(1)
    p0 = face_like_points(1)
    p1 = p0 + rng.normal(0, 2.0, p0.shape)
    S = gt.triangulate(p0)
    maps = gt.affine_maps(p0, p1, S)
    assert not maps.degenerate.any()
    t0 = gt.homogeneous(p0[S])
    t1 = gt.homogeneous(p1[S])
    np.testing.assert_allclose(t0 @ maps.A, t1, atol=1e-9)
    # Eq. 1 literally: A = (t*_{k-1})^-1 t*_k
    np.testing.assert_allclose(maps.A[3], np.linalg.inv(t0[3]) @ t1[3], atol=1e-12)


def _inside_by_edges(pts, tri):
    """Brute-force point-in-triangle: signs of the three edge cross products agree (closed)."""

    def cross(a, b, p):
        return (b[0] - a[0]) * (p[:, 1] - a[1]) - (b[1] - a[1]) * (p[:, 0] - a[0])

    c = np.stack([cross(tri[0], tri[1], pts), cross(tri[1], tri[2], pts), cross(tri[2], tri[0], pts)], 1)
    return np.all(c >= -1e-9, 1) | np.all(c <= 1e-9, 1)


@pytest.mark.parametrize("seed", range(20))
def test_barycentric_eq2_agrees_with_brute_force(seed):
    rng = np.random.default_rng(seed)
    tri = rng.uniform(0, 50, (3, 2))
    if abs(gt.triangle_areas(tri)) < 1:
        tri[2] += 10
    ys, xs = np.mgrid[-5:56, -5:56]
    pts = np.stack([xs.ravel(), ys.ravel()], 1).astype(float)
    lam = gt.barycentric_eq2(pts, tri)
    np.testing.assert_allclose(lam @ tri, pts, atol=1e-8)  # they are barycentric coordinates
    ours = gt.inside_from_barycentric(lam)
    ref = _inside_by_edges(pts, tri)
    # points within float noise of an edge may go either way; everything else must agree
    margin = np.abs(lam).min(1) > 1e-7
    assert np.array_equal(ours[margin], ref[margin])
    assert ours.sum() > 0 or ref.sum() == 0


def test_interiors_cover_each_pixel_once():
    p0 = face_like_points(2)
    S = gt.triangulate(p0)
    it = gt.triangle_interiors(p0, S, SHAPE)
    keys = it.points[:, 1] * SHAPE[1] + it.points[:, 0]
    assert len(np.unique(keys)) == len(keys)
    _, owner = analytic_field(p0, p0, S, SHAPE)
    assert len(keys) == owner.sum()
    np.testing.assert_allclose(np.einsum("mi,mij->mj", it.bary, p0[S[it.tri]]), it.points, atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_mode_recovers_piecewise_affine_field(seed):
    rng = np.random.default_rng(seed)
    p0 = face_like_points(seed)
    p1 = p0 + rng.normal(0, 1.5, p0.shape)
    S = gt.triangulate(p0)
    res = gt.exact_flow(p0, p1, S, SHAPE)
    ref, owner = analytic_field(p0, p1, S, SHAPE)
    assert np.array_equal(res.mask, owner)
    np.testing.assert_allclose(res.flow[owner], ref[owner], atol=1e-4)  # float32 storage
    assert np.abs(res.flow[~owner]).max() == 0.0  # zero outside the face
    naive = naive_pair_flow(p0, p1, S, SHAPE)
    np.testing.assert_allclose(res.flow, naive, atol=1e-4)


def test_exact_mode_float_precision_for_global_affine():
    p0 = face_like_points(3)
    A = np.array([[1.02, 0.03, -1.5], [-0.02, 0.98, 2.25]])
    p1 = p0 @ A[:, :2].T + A[:, 2]
    S = gt.triangulate(p0)
    res = gt.exact_flow(p0, p1, S, SHAPE)
    ref = affine_flow(SHAPE, A)
    err = np.abs(res.flow - ref)[res.mask]
    assert err.max() < 1e-4  # float32 precision of the stored field


def test_paper_mode_recovers_chained_field():
    rng = np.random.default_rng(5)
    p0 = face_like_points(5)
    lms = [p0]
    for _ in range(3):
        lms.append(lms[-1] + rng.normal(0, 0.8, p0.shape))
    lms = np.array(lms)
    S = gt.triangulate(p0)
    paper = list(gt.sequence_flows(lms, SHAPE, "paper", simplices=S))
    exact = list(gt.sequence_flows(lms, SHAPE, "exact", simplices=S))
    import cv2

    for k, (a, b) in enumerate(zip(paper, exact)):
        assert a.status == b.status == "ok"
        assert np.array_equal(a.result.mask, b.result.mask)
        inner = cv2.erode(b.result.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        d = np.linalg.norm(a.result.flow - b.result.flow, axis=2)
        if k == 0:  # first pair: points on the grid, no resampling
            assert d.max() < 1e-4
        else:
            assert d[inner].mean() < 0.02, d[inner].mean()
        assert np.abs(a.result.flow[~a.result.mask]).max() == 0.0


def test_paper_mode_exact_for_global_affine_chain():
    p0 = face_like_points(6)
    A = np.array([[1.01, 0.01, 0.7], [-0.01, 1.0, -0.4]])
    lms = [p0]
    for _ in range(2):
        lms.append(lms[-1] @ A[:, :2].T + A[:, 2])
    S = gt.triangulate(p0)
    out = list(gt.sequence_flows(np.array(lms), SHAPE, "paper", simplices=S))
    ref = affine_flow(SHAPE, A)
    import cv2

    assert len(out) == 2
    for o in out:
        inner = cv2.erode(o.result.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        assert np.abs(o.result.flow - ref)[inner].max() < 1e-3


def test_scattered_linear_resampling_is_exact_for_an_affine_chain():
    # the released code resamples with scipy's linear griddata: exact for an affine field inside the hull
    p0 = face_like_points(6)
    A = np.array([[1.01, 0.01, 0.7], [-0.01, 1.0, -0.4]])
    lms = np.array([p0, p0 @ A[:, :2].T + A[:, 2], (p0 @ A[:, :2].T + A[:, 2]) @ A[:, :2].T + A[:, 2]])
    S = gt.triangulate(p0)
    out = list(gt.sequence_flows(lms, SHAPE, "paper", interp="scattered-linear", simplices=S))
    ref = affine_flow(SHAPE, A)
    import cv2

    o = out[1]  # second pair: the carried points are off the grid, so they are resampled
    inner = cv2.erode(o.result.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert np.abs(o.result.flow - ref)[inner].max() < 1e-6
    with pytest.raises(ValueError, match="interp"):
        gt.PaperChain(p0, S, SHAPE, interp="nearest")


def test_degenerate_triangles_counted_and_left_out():
    p0 = face_like_points(7)
    S = gt.triangulate(p0)
    p_prev = p0.copy()
    a, b, c = S[10]
    p_prev[c] = (p_prev[a] + p_prev[b]) / 2  # collapse triangle 10 onto an edge
    p_next = p_prev + 0.5
    maps = gt.affine_maps(p_prev, p_next, S)
    assert maps.degenerate[10] and maps.n_degenerate >= 1
    res = gt.exact_flow(p_prev, p_next, S, SHAPE)
    assert res.n_degenerate == maps.n_degenerate
    assert np.isfinite(res.flow).all()
    lms = np.array([p0, p_prev, p_next])
    outs = list(gt.sequence_flows(lms, SHAPE, "paper", simplices=S))
    assert outs[1].n_degenerate >= 1 and np.isfinite(outs[1].result.flow).all()


def test_missing_face_skips_pairs():
    p0 = face_like_points(8)
    lms = np.array([p0, p0 + 1, np.full_like(p0, np.nan), p0 + 2, p0 + 2.5])
    for mode in gt.MODES:
        outs = list(gt.sequence_flows(lms, SHAPE, mode))
        assert [o.status for o in outs] == ["ok", "skipped", "skipped", "ok"]
        assert "frame 2" in outs[1].reason and "frame 2" in outs[2].reason
        f3 = outs[3].result.flow[outs[3].result.mask]
        np.testing.assert_allclose(f3, np.full_like(f3, 0.5), atol=1e-4)


def test_resume_subset_gives_identical_paper_flows():
    rng = np.random.default_rng(9)
    p0 = face_like_points(9)
    lms = np.cumsum(np.concatenate([p0[None], rng.normal(0, 0.5, (4,) + p0.shape)]), axis=0)
    full = list(gt.sequence_flows(lms, SHAPE, "paper"))
    part = list(gt.sequence_flows(lms, SHAPE, "paper", pairs={2, 3}))
    assert part[0].result is None and part[1].result is None
    for k in (2, 3):
        assert np.array_equal(full[k].result.flow, part[k].result.flow)


def test_crop_box_offset_and_clip():
    pts = np.array([[20.2, 30.7], [60.0, 80.0]])
    assert gt.crop_box(pts, (200, 300)) == (10, 20, 71, 91)
    assert gt.crop_box(pts, (85, 65)) == (10, 20, 65, 85)


def test_resize_of_affine_flow_is_analytic():
    H0, W0 = 200, 260
    A = np.array([[1.03, 0.02, 1.5], [-0.04, 0.97, -2.0]])
    flow = affine_flow((H0, W0), A)
    img = np.zeros((H0, W0, 3), np.uint8)
    box = (30, 20, 230, 170)  # 200 wide, 150 high
    size = (384, 512)
    _, _, f = gt.crop_resize_pair(img, img, flow, box, size)
    x0, y0, x1, y1 = box
    sx, sy = size[1] / (x1 - x0), size[0] / (y1 - y0)
    ys, xs = np.mgrid[0 : size[0], 0 : size[1]].astype(float)
    # OpenCV's bilinear resize samples the source at (x + 0.5) / s - 0.5 (pixel centres)
    X = x0 + (xs + 0.5) / sx - 0.5
    Y = y0 + (ys + 0.5) / sy - 0.5
    u = A[0, 0] * X + A[0, 1] * Y + A[0, 2] - X
    v = A[1, 0] * X + A[1, 1] * Y + A[1, 2] - Y
    expected = np.stack([u * sx, v * sy], -1)
    inner = (x0 <= X) & (x1 - 1 >= X) & (y0 <= Y) & (y1 - 1 >= Y)  # no border clamping
    assert inner.mean() > 0.95
    np.testing.assert_allclose(f[inner], expected[inner], atol=2e-3)


def test_flow_units_frame_scales_by_the_full_frame():
    # the released code multiplies the resized crop's flow by size / frame instead of size / crop
    flow = np.ones((200, 260, 2), np.float32)
    img = np.zeros((200, 260, 3), np.uint8)
    box, size = (30, 20, 230, 170), (48, 64)
    _, _, crop = gt.crop_resize_pair(img, img, flow, box, size)
    _, _, frame = gt.crop_resize_pair(img, img, flow, box, size, flow_units="frame")
    np.testing.assert_allclose(crop[..., 0], 64 / 200, rtol=1e-5)
    np.testing.assert_allclose(frame[..., 0], 64 / 260, rtol=1e-5)
    np.testing.assert_allclose(frame[..., 1], 48 / 200, rtol=1e-5)
    with pytest.raises(ValueError, match="flow_units"):
        gt.crop_resize_pair(img, img, flow, box, size, flow_units="pixels")


def test_modes_validated():
    with pytest.raises(ValueError, match="mode"):
        list(gt.sequence_flows(np.zeros((2, 68, 2)), SHAPE, "bicubic"))


@pytest.mark.data
def test_real_sequence_flow_lowers_photometric_error(data_root):
    """Warping frame k+1 back with the generated flow beats zero flow on the face for most pairs."""
    from faceflow.flow.warp import photometric_error
    from faceflow.groundtruth import landmarks
    from faceflow.io.datasets import openface_frames
    from faceflow.io.images import read_image

    frames = openface_frames(data_root)
    imgs = [read_image(p) for p in frames]
    # dlib fits jitter by ~1 px per frame, more than the true motion; the writer's default
    # stabilisation (detector-anchored Lucas-Kanade) is used, as in the generated dataset
    lms = landmarks.stabilize(imgs, landmarks.track_sequence(imgs).landmarks, "lk")
    shape = imgs[0].shape[:2]
    wins, rows = 0, []
    outs = list(gt.sequence_flows(lms, shape, "exact"))
    for o in outs:
        assert o.status == "ok"
        f, m = o.result.flow, o.result.mask
        e_gt = photometric_error(imgs[o.pair], imgs[o.pair + 1], f, m)
        e_0 = photometric_error(imgs[o.pair], imgs[o.pair + 1], np.zeros_like(f), m)
        rows.append((o.pair, e_0, e_gt))
        wins += e_gt < e_0
    print("pair, zero-flow error, ground-truth error:", rows)
    assert wins >= 0.7 * len(outs), rows


# ----------------------------------------------------------------------------- issue 15 kernels
def _closure_owner(points, simplices, shape, tol=gt.BARY_TOL):
    """Brute force: the lowest-index non-degenerate triangle whose closure holds each pixel."""
    maps = gt.affine_maps(points, points, simplices)
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(float)
    owner = np.full((h, w), -1)
    for l in range(len(simplices)):
        if maps.degenerate[l]:
            continue
        lam = xs[..., None] * maps.inv[l, 0] + ys[..., None] * maps.inv[l, 1] + maps.inv[l, 2]
        owner[(owner < 0) & (lam.min(-1) >= -tol)] = l
    return owner


@pytest.mark.parametrize("seed", range(12))
def test_rasterize_is_the_closure_test_even_for_folded_meshes(seed):
    """Every pixel is labelled by the lowest triangle whose barycentric closure test passes; a
    pixel no triangle holds is -1 (the OpenCV-fill rasteriser labelled such pixels)."""
    rng = np.random.default_rng(seed)
    p0 = rng.uniform(-20, 140, (68, 2))  # spills over the image border
    S = gt.triangulate(p0)
    for pts in (p0, p0 + rng.normal(0, 4, p0.shape)):  # valid mesh, then folded
        np.testing.assert_array_equal(gt.rasterize_mesh(pts, S, (120, 100)), _closure_owner(pts, S, (120, 100)))


def test_mesh_pixels_lists_every_triangle_of_a_shared_edge():
    pts = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0], [4.0, 4.0]])
    S = np.array([[0, 1, 2], [1, 3, 2]])
    px = gt.mesh_pixels(pts, S, (6, 6))
    on_diagonal = [(x, y) for x, y, l in zip(px.x, px.y, px.tri) if x + y == 4]
    assert len(on_diagonal) == 2 * 5  # the 5 pixels of the shared edge, once per triangle
    assert set(zip(px.x.tolist(), px.y.tolist())) == {(x, y) for x in range(5) for y in range(5)}
    assert (px.owners((6, 6))[np.arange(5), 4 - np.arange(5)] == 0).all()  # lowest index owns it


def test_keys_taps_are_the_keys_kernel():
    def keys(t):
        t = np.abs(t)
        return np.where(t <= 1, 1.5 * t**3 - 2.5 * t**2 + 1, np.where(t < 2, -0.5 * t**3 + 2.5 * t**2 - 4 * t + 2, 0))

    d = np.linspace(0, 1, 101, endpoint=False)
    for w, i in zip(gt._keys_taps(d), (-1, 0, 1, 2)):
        np.testing.assert_allclose(w, keys(d - i), atol=1e-12)
    np.testing.assert_allclose(sum(gt._keys_taps(d)), 1.0, atol=1e-12)  # partition of unity


def test_spline_sample_reproduces_quadratics_and_clamps_at_the_border():
    h, w = 12, 15
    ys, xs = np.mgrid[0:h, 0:w].astype(float)
    U = (0.3 * xs**2 - xs * ys + 2 * ys) + 1j * (xs - 0.5 * ys**2)
    rng = np.random.default_rng(0)
    gx, gy = rng.uniform(1, w - 3, 200), rng.uniform(1, h - 3, 200)
    got = gt._spline_sample(U, gx, gy)
    expect = (0.3 * gx**2 - gx * gy + 2 * gy) + 1j * (gx - 0.5 * gy**2)  # Keys (a=-0.5) is exact on quadratics
    np.testing.assert_allclose(got, expect, atol=1e-9)
    far = gt._spline_sample(U, np.array([-50.0, 100.0]), np.array([-7.0, 200.0]))
    np.testing.assert_allclose(far, [U[0, 0], U[h - 1, w - 1]])  # clamped to the corner samples
    lin = gt._spline_sample(U.real + 0j, np.array([2.5]), np.array([3.0]), "linear")
    np.testing.assert_allclose(lin.real, 0.5 * (U.real[3, 2] + U.real[3, 3]))
