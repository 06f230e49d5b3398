"""The ground-truth kernels as they were before the issue-15 speed-up: the benchmark's reference.

A verbatim copy of ``rasterize_mesh`` (OpenCV fill + edge checks), ``exact_flow``, ``PaperChain``
(einsum carry, per-step lattice fill and Keys spline with ``np.where`` weights) and
``sequence_flows`` from ``faceflow.groundtruth.mesh`` at commit ff2be5d, used only by
``benchmarks/gt_throughput.py`` to print speed ratios measured in the same run. Not a
production path: nothing in ``faceflow`` imports it.
"""

# ruff: noqa: E741

from __future__ import annotations

import numpy as np

from faceflow.groundtruth.mesh import (
    BARY_TOL,
    INTERPS,
    MIN_AREA,
    MODES,
    FlowResult,
    PairMaps,
    PairOutcome,
    affine_maps,
    inside_from_barycentric,
    resample_scattered,
    triangle_areas,
    triangle_interiors,
    triangulate,
)


def rasterize_mesh(
    points: np.ndarray,
    simplices: np.ndarray,
    shape: tuple[int, int],
    maps: PairMaps | None = None,
    min_area: float = MIN_AREA,
    tol: float = BARY_TOL,
) -> np.ndarray:
    """Label image (H, W) int32: index of the triangle whose closure holds each pixel, -1 outside.

    Exact: every label is verified with the barycentric coordinates ``[x, y, 1] @ inv`` and pixels
    near triangle edges are decided by that test (OpenCV's ``fillPoly`` only gives the bulk).
    Where triangles overlap (fold-overs) the pixel keeps a deterministic owner. Degenerate
    triangles own no pixel.

    Parameters
    ----------
    points : ndarray, shape (68, 2)
    simplices : ndarray, shape (Nt, 3)
    shape : (H, W)
    maps : PairMaps, optional
        Maps of the pair (their ``inv`` and ``degenerate`` are used); computed when absent.
    min_area : float
    tol : float
        Barycentric tolerance.

    Returns
    -------
    ndarray, shape (H, W), int32
    """
    import cv2

    h, w = shape
    points = np.asarray(points, np.float64)
    if maps is None:
        maps = affine_maps(points, points, simplices, min_area)
    ok = np.flatnonzero(~maps.degenerate)
    label = np.full((h, w), -1, np.int32)
    if ok.size == 0:
        return label
    tris = points[simplices[ok]]  # (n, 3, 2)
    lo = np.floor(tris.reshape(-1, 2).min(0)).astype(int) - 1
    hi = np.ceil(tris.reshape(-1, 2).max(0)).astype(int) + 2
    x0, y0 = max(lo[0], 0), max(lo[1], 0)
    x1, y1 = min(hi[0], w), min(hi[1], h)
    if x1 <= x0 or y1 <= y0:
        return label
    # bulk: OpenCV fills the triangles (sub-pixel vertices) into a small label image
    small = len(simplices) < 255
    roi = np.zeros((y1 - y0, x1 - x0), np.uint8 if small else np.int32)
    fixed = np.round((tris - [x0, y0]) * 256).astype(np.int32)
    for i, l in enumerate(ok):
        cv2.fillConvexPoly(roi, fixed[i], int(l) + 1, lineType=cv2.LINE_8, shift=8)
    # candidates: pixels whose 3x3 neighbourhood holds another label (edges), plus the outer band
    k3 = np.ones((3, 3), np.uint8)
    rf = roi if small else roi.astype(np.float32)  # OpenCV morphology has no int32
    edge = cv2.dilate(rf, k3) != cv2.erode(rf, k3)
    cy, cx = np.nonzero(edge)
    inv = maps.inv
    if cy.size:
        # each candidate is tested against the labels of its 3x3 neighbourhood (OpenCV's fill is
        # sub-pixel accurate, so the owner of a pixel is always among its neighbours' labels)
        pad = np.pad(roi, 1)
        nb = np.stack([pad[cy + dy, cx + dx] for dy in range(3) for dx in range(3)], 1).astype(np.int64) - 1
        order = [4, 0, 1, 2, 3, 5, 6, 7, 8]  # own label first: kept when it passes
        nb = nb[:, order]
        valid = nb >= 0
        li = np.where(valid, nb, 0)
        px = (cx + float(x0))[:, None]
        py = (cy + float(y0))[:, None]
        lam0 = px * inv[li, 0, 0] + py * inv[li, 1, 0] + inv[li, 2, 0]
        lam1 = px * inv[li, 0, 1] + py * inv[li, 1, 1] + inv[li, 2, 1]
        lam2 = px * inv[li, 0, 2] + py * inv[li, 1, 2] + inv[li, 2, 2]
        score = np.minimum(np.minimum(lam0, lam1), lam2)
        score = np.where(valid & np.isfinite(score), score, -np.inf)
        passes = score >= -tol
        first = np.argmax(passes, axis=1)  # own label if it passes, else first passing neighbour
        anyp = passes[np.arange(len(first)), first]
        roi[cy, cx] = np.where(anyp, nb[np.arange(len(first)), first] + 1, 0)
        # unresolved candidates (outside the hull, or corners of folded meshes): exact test
        # against every triangle whose bounding box holds them
        uy, ux = cy[~anyp], cx[~anyp]
        if uy.size:
            tb_lo = tris.min(1) - [x0, y0] - tol
            tb_hi = tris.max(1) - [x0, y0] + tol
            inbox = (
                (ux[:, None] >= tb_lo[None, :, 0])
                & (ux[:, None] <= tb_hi[None, :, 0])
                & (uy[:, None] >= tb_lo[None, :, 1])
                & (uy[:, None] <= tb_hi[None, :, 1])
            )
            ci, ti = np.nonzero(inbox)  # row-major: triangles in index order per candidate
            if ci.size:
                l = ok[ti]
                qx, qy = ux[ci] + float(x0), uy[ci] + float(y0)
                lam = qx[:, None] * inv[l, 0, :] + qy[:, None] * inv[l, 1, :] + inv[l, 2, :]
                hit = inside_from_barycentric(lam, tol)
                ci, l = ci[hit], l[hit]
                first_hit = np.unique(ci, return_index=True)[1]
                roi[uy[ci[first_hit]], ux[ci[first_hit]]] = l[first_hit] + 1
    # thin triangles (smallest altitude < 6 px), which the fill may miss by more than a pixel:
    # exact test on their bounding boxes
    e = tris - np.roll(tris, 1, axis=1)
    longest = np.sqrt((e**2).sum(-1)).max(1)
    altitude = 2 * np.abs(triangle_areas(tris)) / np.maximum(longest, 1e-12)
    for l in ok[altitude < 6.0]:
        t = points[simplices[l]]
        xa, ya = np.maximum(np.ceil(t.min(0)).astype(int), [x0, y0])
        xb, yb = np.minimum(np.floor(t.max(0)).astype(int), [x1 - 1, y1 - 1])
        if xb < xa or yb < ya:
            continue
        gy, gx = np.mgrid[ya : yb + 1, xa : xb + 1]
        lam = gx[..., None] * inv[l, 0] + gy[..., None] * inv[l, 1] + inv[l, 2]
        hit = inside_from_barycentric(lam, tol) & (roi[gy - y0, gx - x0] == 0)
        roi[gy[hit] - y0, gx[hit] - x0] = l + 1
    label[y0:y1, x0:x1] = roi.astype(np.int32) - 1
    return label


def exact_flow(
    p_prev: np.ndarray,
    p_next: np.ndarray,
    simplices: np.ndarray,
    shape: tuple[int, int],
    min_area: float = MIN_AREA,
    ref_sign: np.ndarray | None = None,
) -> FlowResult:
    """``exact`` mode: rasterise the triangles of frame k-1, apply each one's affine map (Eq. 1).

    Parameters
    ----------
    p_prev, p_next : ndarray, shape (68, 2)
        Landmarks of frames k-1 and k.
    simplices : ndarray, shape (Nt, 3)
    shape : (H, W)
    min_area : float
    ref_sign : ndarray, shape (Nt,), optional
        Orientation of each triangle on the sequence's first frame (to count fold-overs).

    Returns
    -------
    FlowResult
        The flow from frame k-1 to frame k on the integer grid of frame k-1, zero outside the face.
    """
    maps = affine_maps(p_prev, p_next, simplices, min_area, ref_sign)
    label = rasterize_mesh(p_prev, simplices, shape, maps, min_area)
    flow = np.zeros(tuple(shape) + (2,), np.float32)
    ys, xs = np.nonzero(label >= 0)
    if ys.size:
        l = label[ys, xs]
        # displacement (A - I) applied to [x, y, 1], one coefficient table per entry
        D = maps.A[:, :, :2].copy()
        D[:, 0, 0] -= 1.0
        D[:, 1, 1] -= 1.0
        xf, yf = xs.astype(np.float64), ys.astype(np.float64)
        flow[ys, xs, 0] = xf * D[l, 0, 0] + yf * D[l, 1, 0] + D[l, 2, 0]
        flow[ys, xs, 1] = xf * D[l, 0, 1] + yf * D[l, 1, 1] + D[l, 2, 1]
    return FlowResult(flow, label >= 0, maps.n_degenerate, int(maps.flipped.sum()))


# ----------------------------------------------------------------------------- paper mode
class PaperChain:
    """``paper`` mode over one sequence segment: carry the first frame's pixels through the maps.

    Create it on the segment's first frame (landmarks ``p0``), then call :meth:`step` with the
    landmarks of each following frame, in order. Step ``k`` returns the flow from the previous
    frame to this one, resampled onto the integer grid of the previous frame.

    Points of a triangle that is degenerate on the source frame of a pair are left out of that
    pair's samples (its map does not exist); they are re-placed on the next frame from their
    barycentric coordinates, which is where the chain of maps would have sent them.
    """

    def __init__(
        self,
        p0: np.ndarray,
        simplices: np.ndarray,
        shape: tuple[int, int],
        min_area: float = MIN_AREA,
        interp: str = "cubic",
    ):
        if interp not in INTERPS:
            raise ValueError(f"interp must be one of {INTERPS}, got {interp!r}")
        self.simplices = np.asarray(simplices)
        self.shape = tuple(shape)
        self.min_area = min_area
        self.interp = interp
        self.p_prev = np.asarray(p0, np.float64)
        self.p0 = self.p_prev.copy()
        area0 = triangle_areas(self.p_prev[self.simplices])
        self.ref_sign = np.sign(area0)
        degenerate0 = np.abs(area0) < min_area
        self.interiors = triangle_interiors(self.p_prev, self.simplices, self.shape, skip=degenerate0)
        self.v = self.interiors.points.copy()  # current positions v_{k-1}
        self.on_grid = True  # v_{k-1} are integer pixels (first pair of the segment)

    def advance(self, p_next: np.ndarray) -> PairMaps:
        """Move the points to the next frame without computing a flow (resuming); returns the maps.

        Parameters
        ----------
        p_next : ndarray, shape (68, 2)

        Returns
        -------
        PairMaps
        """
        maps = affine_maps(self.p_prev, p_next, self.simplices, self.min_area, self.ref_sign)
        self._carry(maps, np.asarray(p_next, np.float64))
        return maps

    def _carry(self, maps: PairMaps, p_next: np.ndarray) -> np.ndarray:
        tri = self.interiors.tri
        A = maps.A[tri]
        vh = np.concatenate([self.v, np.ones((len(self.v), 1))], 1)
        v_next = np.einsum("mi,mij->mj", vh, A)[:, :2]
        bad = maps.degenerate[tri]
        if bad.any():  # re-place by barycentric coordinates (what the chain would give)
            t_next = p_next[self.simplices[tri[bad]]]
            v_next[bad] = np.einsum("mi,mij->mj", self.interiors.bary[bad], t_next)
        self.v = v_next
        self.p_prev = p_next
        self.on_grid = False
        return bad

    def step(self, p_next: np.ndarray) -> FlowResult:
        """Flow from the current frame to ``p_next``'s frame (Eq. 3 + resampling).

        Parameters
        ----------
        p_next : ndarray, shape (68, 2)

        Returns
        -------
        FlowResult
        """
        p_next = np.asarray(p_next, np.float64)
        maps = affine_maps(self.p_prev, p_next, self.simplices, self.min_area, self.ref_sign)
        label = rasterize_mesh(self.p_prev, self.simplices, self.shape, maps, self.min_area)
        v_prev = self.v
        on_grid = self.on_grid
        bad = self._carry(maps, p_next)
        u_tilde = self.v - v_prev  # Eq. 3 on the irregular points v_{k-1}
        keep = ~bad & np.isfinite(u_tilde).all(1)
        if self.interp == "scattered":
            flow = resample_scattered(v_prev[keep], u_tilde[keep], label >= 0, on_grid, "cubic")
        else:
            flow = self._resample_lattice(u_tilde, keep, label, maps)
        return FlowResult(flow, label >= 0, maps.n_degenerate, int(maps.flipped.sum()))

    def _resample_lattice(self, u_tilde, keep, label, maps) -> np.ndarray:
        """Bicubic (or bilinear) spline over the irregular grid of carried points.

        The carried points of a triangle are the affine image of the integer pixels it held on
        the segment's first frame, so the irregular grid has a natural regular parametrisation:
        a pixel ``x`` of frame k-1 in triangle ``l`` sits at ``g = lambda(x) . t_0`` on the first
        frame's lattice (barycentric invariance), and the flow samples are interpolated there
        with a bicubic (Keys, a = -0.5) spline over the 4x4 neighbouring samples. On the first
        pair ``g`` is ``x`` itself and the samples are copied. Lattice nodes without a sample
        (outside the mesh, degenerate triangles) take the nearest sample's value.
        """
        from scipy.ndimage import distance_transform_edt

        h, w = self.shape
        flow = np.zeros((h, w, 2), np.float32)
        ys, xs = np.nonzero(label >= 0)
        if ys.size == 0 or not keep.any():
            return flow
        g = np.round(self.interiors.points).astype(np.int64)
        x0, y0 = max(g[:, 0].min() - 3, 0), max(g[:, 1].min() - 3, 0)
        x1, y1 = min(g[:, 0].max() + 4, w), min(g[:, 1].max() + 4, h)
        U = np.zeros((y1 - y0, x1 - x0, 2))
        valid = np.zeros(U.shape[:2], bool)
        U[g[keep, 1] - y0, g[keep, 0] - x0] = u_tilde[keep]
        valid[g[keep, 1] - y0, g[keep, 0] - x0] = True
        if not valid.all():
            iy, ix = distance_transform_edt(~valid, return_distances=False, return_indices=True)
            U = U[iy, ix]
        l = label[ys, xs]
        xf, yf = xs.astype(np.float64), ys.astype(np.float64)
        lam = xf[:, None] * maps.inv[l, 0, :] + yf[:, None] * maps.inv[l, 1, :] + maps.inv[l, 2, :]
        t0 = self.p0[self.simplices[l]]  # (M, 3, 2) the triangle on the segment's first frame
        gx = np.einsum("mi,mi->m", lam, t0[:, :, 0]) - x0
        gy = np.einsum("mi,mi->m", lam, t0[:, :, 1]) - y0
        flow[ys, xs] = _spline_sample(U, gx, gy, self.interp)
        return flow


def _keys(t: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel (a = -0.5), the usual bicubic spline weights."""
    t = np.abs(t)
    return np.where(t <= 1, (1.5 * t - 2.5) * t * t + 1, np.where(t < 2, ((-0.5 * t + 2.5) * t - 4) * t + 2, 0.0))


def _spline_sample(U: np.ndarray, gx: np.ndarray, gy: np.ndarray, interp: str = "cubic") -> np.ndarray:
    """Sample the (h, w, C) grid ``U`` at fractional ``(gx, gy)``: bicubic (Keys) or bilinear, clamped."""
    h, w = U.shape[:2]
    fx, fy = np.floor(gx), np.floor(gy)
    dx, dy = gx - fx, gy - fy
    fx, fy = fx.astype(np.int64), fy.astype(np.int64)
    taps = range(-1, 3) if interp == "cubic" else range(2)
    out = np.zeros((len(gx),) + U.shape[2:])
    for j in taps:
        wy = _keys(dy - j) if interp == "cubic" else np.where(j == 0, 1 - dy, dy)
        yy = np.clip(fy + j, 0, h - 1)
        for i in taps:
            wx = _keys(dx - i) if interp == "cubic" else np.where(i == 0, 1 - dx, dx)
            xx = np.clip(fx + i, 0, w - 1)
            out += (wx * wy)[:, None] * U[yy, xx]
    return out


def sequence_flows(
    landmarks: np.ndarray,
    shape: tuple[int, int],
    mode: str = "exact",
    min_area: float = MIN_AREA,
    interp: str = "cubic",
    pairs: set[int] | None = None,
    simplices: np.ndarray | None = None,
):
    """Yield a :class:`PairOutcome` for every pair ``k`` (frame k -> k+1) of a sequence, in order.

    Parameters
    ----------
    landmarks : (N, 68, 2)
        NaN rows for frames without a face; pairs touching them are skipped, and ``paper``
        mode restarts its chain on the next frame with a face (same triangle topology).
    shape : (H, W)
    mode : {"paper", "exact"}
    min_area : float
    interp : str
        ``paper`` mode resampling (:data:`INTERPS`).
    pairs : set of int, optional
        Compute the flow only for these pairs (others yield ``result=None`` with status
        ``"ok"`` when they would be computable); ``paper`` mode still carries its points through
        them, so the flows are identical to an uninterrupted run.
    simplices : (Nt, 3), optional
        Triangle topology; default: Delaunay of the first frame with a face.

    Yields
    ------
    PairOutcome

    Raises
    ------
    ValueError
        Unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    lm = np.asarray(landmarks, np.float64)
    n = len(lm)
    has = np.isfinite(lm).all(axis=(1, 2)) if n else np.zeros(0, bool)
    if simplices is None and has.any():
        simplices = triangulate(lm[int(np.argmax(has))])
    ref_sign = None if simplices is None else np.sign(triangle_areas(lm[int(np.argmax(has))][simplices]))
    chain: PaperChain | None = None
    for k in range(n - 1):
        if not has[k] or not has[k + 1]:
            missing = [str(i) for i in (k, k + 1) if not has[i]]
            chain = None
            yield PairOutcome(k, "skipped", f"no face in frame {' and '.join(missing)}")
            continue
        want = pairs is None or k in pairs
        if mode == "exact":
            if want:
                res = exact_flow(lm[k], lm[k + 1], simplices, shape, min_area, ref_sign)
                yield PairOutcome(k, "ok", "", res, res.n_degenerate)
            else:
                m = affine_maps(lm[k], lm[k + 1], simplices, min_area)
                yield PairOutcome(k, "ok", "", None, m.n_degenerate)
            continue
        if chain is None:
            chain = PaperChain(lm[k], simplices, shape, min_area, interp)
            chain.ref_sign = ref_sign
        if want:
            res = chain.step(lm[k + 1])
            yield PairOutcome(k, "ok", "", res, res.n_degenerate)
        else:
            m = chain.advance(lm[k + 1])
            yield PairOutcome(k, "ok", "", None, m.n_degenerate)


# ----------------------------------------------------------------------------- reference loops
