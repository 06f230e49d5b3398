"""Landmark-driven ground-truth optical flow for faces (paper Sec. 3, Eq. 1-3; the +10 px crop of Secs. 4.3 and 5.2).

Conventions (used everywhere in this module and in the datasets it writes)
--------------------------------------------------------------------------
* Points are ``(x, y)`` in pixels; pixel ``(x, y)`` is the centre of column ``x``, row ``y``.
* Landmarks of a sequence are an array ``(N, 68, 2)``; a frame without a face is all-NaN.
* **Flow of pair k** is the flow *from frame k to frame k+1* (the paper's
  :math:`u_{k}`, computed from :math:`t_{k}` and :math:`t_{k+1}`), defined **on the integer grid
  of frame k** (the first frame of the pair): ``flow[y, x] = (u, v)`` means pixel ``(x, y)`` of
  frame k moves to ``(x + u, y + v)`` in frame k+1. Written in the paper's indexing this is the
  flow "from frame k-1 to k on the grid of frame k-1".
* Flow is **zero outside the face**, i.e. outside the union of the mesh triangles placed on the
  first frame of the pair. :func:`face_mask` gives that region.

Algorithm (Sec. 3)
------------------
1. The first frame's landmarks are triangulated with Delaunay (:func:`triangulate`); the same
   triangle topology is used on every frame of the sequence.
2. The integer pixels inside each triangle of the first frame are found with the barycentric
   test of Eq. 2 (:func:`barycentric_eq2`, :func:`triangle_interiors`), once per sequence.
3. For each triangle and pair, the affine map :math:`A = (t^*_{k-1})^{-1} t^*_k` (Eq. 1,
   :func:`affine_maps`, row-vector convention: ``[x, y, 1] @ A = [x', y', 1]``).
4. Triangles whose area in the source frame is below ``min_area`` (singular :math:`t^*`) are
   degenerate: they are counted and left out.
5. ``paper`` mode carries the first frame's pixels through the chain of maps and takes
   :math:`\\tilde u = v_k - v_{k-1}` (Eq. 3) on those irregular points, then resamples onto the
   integer grid of the source frame with a bicubic spline over the irregular grid of carried
   points (:class:`PaperChain`; ``interp="scattered"`` uses SciPy's Clough-Tocher instead,
   ``interp="scattered-linear"`` SciPy's linear ``griddata``, as the authors' released code does).
6. ``exact`` mode rasterises the triangles of the source frame and applies each triangle's
   affine map to the integer pixels it covers (:func:`exact_flow`): the same piecewise-affine
   field without resampling error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceflow.flow.fields import resize_flow

MODES = ("paper", "exact")
#: Resampling of ``paper`` mode: bicubic / bilinear spline over the irregular grid of carried
#: points (in its lattice parametrisation), or SciPy's Clough-Tocher over the scattered points
#: (slow: SciPy's point location degrades badly on these point sets), or SciPy's piecewise-linear
#: interpolant over the scattered points (the released code's ``griddata(..., 'linear')``,
#: facialof_datasetgen.py 365-376; equally slow).
INTERPS = ("cubic", "linear", "scattered", "scattered-linear")
#: Default minimal triangle area (px^2) below which a triangle is degenerate.
MIN_AREA = 0.5
#: Tolerance of the barycentric inside test (closure of the triangle).
BARY_TOL = 1e-9


# ----------------------------------------------------------------------------- mesh, Eq. 1, Eq. 2
class DegenerateMeshError(ValueError):
    """The landmarks admit no triangle mesh (collinear or coincident points); one line, no Qhull dump."""


def triangulate(points: np.ndarray) -> np.ndarray:
    """Delaunay triangulation (scipy) of the (68, 2) landmarks: (Nt, 3) vertex indices.

    Parameters
    ----------
    points : ndarray, shape (n, 2)

    Returns
    -------
    ndarray, shape (Nt, 3), int64

    Raises
    ------
    ValueError
        Wrong shape or non-finite points.
    DegenerateMeshError
        The points are collinear or coincide (no triangle exists).
    """
    from scipy.spatial import Delaunay, QhullError

    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    if not np.isfinite(points).all():
        raise ValueError("cannot triangulate landmarks with NaN/inf (frame without a face?)")
    try:
        simplices = Delaunay(points).simplices
    except QhullError:
        distinct = len(np.unique(np.round(points, 6), axis=0))
        raise DegenerateMeshError(
            f"degenerate mesh: the {len(points)} landmarks ({distinct} distinct) are collinear or coincide"
        ) from None
    return np.ascontiguousarray(simplices, dtype=np.int64)


def homogeneous(tris: np.ndarray) -> np.ndarray:
    """:math:`t^* = (t, 1)`: (..., 3, 2) triangles -> (..., 3, 3) rows ``[x, y, 1]``.

    Parameters
    ----------
    tris : ndarray, shape (..., 3, 2)

    Returns
    -------
    ndarray, shape (..., 3, 3), float64
    """
    tris = np.asarray(tris, dtype=np.float64)
    ones = np.ones(tris.shape[:-1] + (1,))
    return np.concatenate([tris, ones], axis=-1)


def triangle_areas(tris: np.ndarray) -> np.ndarray:
    """Signed areas of (..., 3, 2) triangles: half the determinant of the edge vectors.

    Positive when the vertices turn from +x towards +y (clockwise on screen, where y points down).

    Parameters
    ----------
    tris : ndarray, shape (..., 3, 2)

    Returns
    -------
    ndarray, shape (...), float64
    """
    t = np.asarray(tris, dtype=np.float64)
    e1 = t[..., 1, :] - t[..., 0, :]
    e2 = t[..., 2, :] - t[..., 0, :]
    return 0.5 * (e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0])


@dataclass
class PairMaps:
    """Affine maps of one frame pair: Eq. 1 for every triangle, with degeneracy flags.

    Attributes
    ----------
    A : (Nt, 3, 3)
        ``A[l]`` sends ``t*_{k-1}[l]`` to ``t*_k[l]``; rows of degenerate triangles are NaN.
    inv : (Nt, 3, 3)
        :math:`(t^*_{k-1})^{-1}`; ``[x, y, 1] @ inv[l]`` are the barycentric coordinates.
    degenerate : (Nt,) bool
        Source triangle singular or of area below ``min_area``.
    flipped : (Nt,) bool
        Orientation differs between the source triangle and the sequence's first frame.
    """

    A: np.ndarray
    inv: np.ndarray
    degenerate: np.ndarray
    flipped: np.ndarray

    @property
    def n_degenerate(self) -> int:
        return int(self.degenerate.sum())


def affine_maps(
    p_prev: np.ndarray,
    p_next: np.ndarray,
    simplices: np.ndarray,
    min_area: float = MIN_AREA,
    ref_sign: np.ndarray | None = None,
) -> PairMaps:
    """Eq. 1: :math:`A^l = (t^{l,*}_{k-1})^{-1} t^{l,*}_k` for every triangle ``l``.

    Parameters
    ----------
    p_prev, p_next : (68, 2)
        Landmarks of frames k-1 and k.
    simplices : (Nt, 3)
        Triangle topology (from :func:`triangulate` on the sequence's first frame).
    min_area : float
        Source triangles with ``|area| < min_area`` px^2 are degenerate (left out).
    ref_sign : (Nt,), optional
        Sign of each triangle's area on the first frame, to flag fold-overs.

    Returns
    -------
    PairMaps
    """
    t_prev = homogeneous(np.asarray(p_prev, np.float64)[simplices])
    t_next = homogeneous(np.asarray(p_next, np.float64)[simplices])
    area = triangle_areas(t_prev[..., :2])
    degenerate = ~np.isfinite(area) | (np.abs(area) < min_area)
    if ref_sign is None:
        flipped = np.zeros(len(simplices), bool)
    else:
        flipped = ~degenerate & (np.sign(area) != np.sign(ref_sign))
    inv = np.full_like(t_prev, np.nan)
    A = np.full_like(t_prev, np.nan)
    ok = ~degenerate
    if ok.any():
        inv[ok] = np.linalg.inv(t_prev[ok])
        A[ok] = inv[ok] @ t_next[ok]
    return PairMaps(A, inv, degenerate, flipped)


def barycentric_eq2(points: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Barycentric coordinates by Eq. 2 (the normal equations of [47]).

    Solves :math:`V \\lambda = b` with
    :math:`V = [[|v_1-v_0|^2, (v_2-v_0)\\cdot(v_1-v_0)], [(v_2-v_0)\\cdot(v_1-v_0), |v_2-v_0|^2]]`
    and :math:`b = [(v-v_0)\\cdot(v_1-v_0), (v-v_0)\\cdot(v_2-v_0)]`.

    Parameters
    ----------
    points : (M, 2)
    tri : (3, 2)
        Vertices ``v0, v1, v2``.

    Returns
    -------
    (M, 3) array of ``(lambda_0, lambda_1, lambda_2)`` with ``v = l0 v0 + l1 v1 + l2 v2``
    (``lambda_0`` is the paper's :math:`\\lambda_3 = 1 - \\lambda_1 - \\lambda_2`). All NaN for a
    degenerate triangle.
    """
    tri = np.asarray(tri, np.float64)
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    e1, e2 = tri[1] - tri[0], tri[2] - tri[0]
    d = pts - tri[0]
    v11, v12, v22 = e1 @ e1, e1 @ e2, e2 @ e2
    det = v11 * v22 - v12 * v12
    if not np.isfinite(det) or abs(det) <= 1e-12 * max(v11 * v22, 1e-300):
        return np.full((len(pts), 3), np.nan)
    b1, b2 = d @ e1, d @ e2
    l1 = (v22 * b1 - v12 * b2) / det
    l2 = (v11 * b2 - v12 * b1) / det
    return np.stack([1.0 - l1 - l2, l1, l2], axis=1)


def inside_from_barycentric(lam: np.ndarray, tol: float = BARY_TOL) -> np.ndarray:
    """Closure test of Sec. 3: every :math:`\\lambda_i \\in [0, 1]` (with a tolerance).

    Parameters
    ----------
    lam : ndarray, shape (..., 3)
    tol : float

    Returns
    -------
    ndarray of bool, shape (...)
    """
    lam = np.asarray(lam)
    return np.all((lam >= -tol) & (lam <= 1 + tol), axis=-1)


@dataclass
class Interiors:
    """Integer pixels inside the first frame's triangles (each pixel once, lowest triangle first)."""

    points: np.ndarray  # (M, 2) float64 (x, y)
    tri: np.ndarray  # (M,) triangle index
    bary: np.ndarray  # (M, 3) barycentric coordinates in their triangle


def triangle_interiors(
    p0: np.ndarray, simplices: np.ndarray, shape: tuple[int, int], skip: np.ndarray | None = None
) -> Interiors:
    """Step 1: integer pixels of the (H, W) grid inside each triangle, by Eq. 2 on its bounding box.

    A pixel on an edge shared by two triangles is kept once, for the lower triangle index.

    Parameters
    ----------
    p0 : ndarray, shape (68, 2)
    simplices : ndarray, shape (Nt, 3)
    shape : (H, W)
    skip : ndarray of bool, shape (Nt,), optional
        Triangles left out (degenerate ones).

    Returns
    -------
    Interiors
    """
    h, w = shape
    p0 = np.asarray(p0, np.float64)
    owner = np.full((h, w), -1, np.int64)
    pts_l, tri_l, bary_l = [], [], []
    for l, s in enumerate(simplices):
        if skip is not None and skip[l]:
            continue
        tri = p0[s]
        x0, y0 = np.maximum(np.ceil(tri.min(0) - 1e-9).astype(int), 0)
        x1, y1 = np.minimum(np.floor(tri.max(0) + 1e-9).astype(int), [w - 1, h - 1])
        if x1 < x0 or y1 < y0:
            continue
        ys, xs = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
        grid = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
        lam = barycentric_eq2(grid, tri)
        inside = inside_from_barycentric(lam)
        if not inside.any():
            continue
        gx, gy = xs.ravel()[inside], ys.ravel()[inside]
        free = owner[gy, gx] < 0
        owner[gy[free], gx[free]] = l
        pts_l.append(grid[inside][free])
        tri_l.append(np.full(int(free.sum()), l, np.int64))
        bary_l.append(lam[inside][free])
    if not pts_l:
        return Interiors(np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros((0, 3)))
    return Interiors(np.concatenate(pts_l), np.concatenate(tri_l), np.concatenate(bary_l))


# ----------------------------------------------------------------------------- rasterisation
@dataclass
class MeshPixels:
    """The integer pixels covered by a mesh: one entry per (pixel, triangle) of every row span.

    Attributes
    ----------
    x, y : ndarray of int64
        Pixel coordinates.
    tri : ndarray of int64
        Triangle whose closure holds the pixel. A pixel on an edge shared by several triangles
        appears once per triangle, lowest triangle index first.
    """

    x: np.ndarray
    y: np.ndarray
    tri: np.ndarray

    def owners(self, shape: tuple[int, int]) -> np.ndarray:
        """Label image (H, W) int32: the lowest-index triangle holding each pixel, -1 outside.

        Parameters
        ----------
        shape : (H, W)

        Returns
        -------
        ndarray, shape (H, W), int32
        """
        label = np.full(int(shape[0]) * int(shape[1]), -1, np.int32)
        # reversed: with repeated indices the last assignment stays, i.e. the lowest index
        label[(self.y * shape[1] + self.x)[::-1]] = self.tri[::-1]
        return label.reshape(shape)


def mesh_pixels(
    points: np.ndarray,
    simplices: np.ndarray,
    shape: tuple[int, int],
    maps: PairMaps | None = None,
    min_area: float = MIN_AREA,
    tol: float = BARY_TOL,
) -> MeshPixels:
    """Integer pixels inside each non-degenerate triangle, found row by row (scanline spans).

    For a triangle ``l`` and a row ``y`` each barycentric coordinate
    :math:`\\lambda_i = a_i x + c_i(y)` is affine in ``x``, so the closure test of Sec. 3
    (every :math:`\\lambda_i \\ge -tol`) holds on one interval of ``x``. Its ends are solved for
    all (triangle, row) pairs at once and then checked with the test itself, so a pixel is in
    triangle ``l`` exactly when its barycentric coordinates ``x * inv[l, 0] + (y * inv[l, 1] + inv[l, 2])``
    pass the test.

    Parameters
    ----------
    points : ndarray, shape (68, 2)
        Landmarks of the source frame.
    simplices : ndarray, shape (Nt, 3)
    shape : (H, W)
    maps : PairMaps, optional
        Maps of the pair (their ``inv`` and ``degenerate`` are used); computed when absent.
    min_area : float
    tol : float
        Barycentric tolerance.

    Returns
    -------
    MeshPixels
        Triangle by triangle in index order, rows top to bottom, pixels left to right.
    """
    h, w = shape
    points = np.asarray(points, np.float64)
    if maps is None:
        maps = affine_maps(points, points, simplices, min_area)
    ok = np.flatnonzero(~maps.degenerate)
    empty = np.zeros(0, np.int64)
    if ok.size == 0:
        return MeshPixels(empty, empty, empty)
    tris = points[simplices[ok]]  # (n, 3, 2)
    y0 = np.maximum(np.ceil(tris[:, :, 1].min(1) - 1e-6), 0).astype(np.int64)
    y1 = np.minimum(np.floor(tris[:, :, 1].max(1) + 1e-6), h - 1).astype(np.int64)
    rows = np.maximum(y1 - y0 + 1, 0)
    l = np.repeat(ok, rows)
    y = np.repeat(y0, rows) + np.arange(rows.sum()) - np.repeat(np.cumsum(rows) - rows, rows)
    inv = maps.inv
    a = inv[l, 0, :]  # (m, 3): d lambda_i / dx
    c = y[:, None] * inv[l, 1, :] + inv[l, 2, :]  # lambda_i at x = 0

    def passes(x):  # the closure test of pixel (x, y) of each span's row
        return (x[:, None] * a + c).min(1) >= -tol

    with np.errstate(divide="ignore", invalid="ignore"):
        bound = (-tol - c) / a
    lo = np.where(a > 0, bound, -np.inf).max(1)
    hi = np.where(a < 0, bound, np.inf).min(1)
    never = ((a == 0) & (c < -tol)).any(1)
    xl = np.ceil(np.clip(lo, -1, w)).astype(np.int64)
    xr = np.floor(np.clip(hi, -1, w)).astype(np.int64)
    # the ends are decided by the test itself (rounding of the division aside)
    xl = np.where((xl - 1 >= 0) & passes(xl - 1), xl - 1, xl)
    xl = np.where((xl <= xr) & ~passes(xl), xl + 1, xl)
    xr = np.where((xr + 1 <= w - 1) & passes(xr + 1), xr + 1, xr)
    xr = np.where((xr >= xl) & ~passes(xr), xr - 1, xr)
    xl, xr = np.maximum(xl, 0), np.minimum(xr, w - 1)
    n = np.where(never, 0, np.maximum(xr - xl + 1, 0))
    start = np.cumsum(n) - n
    x = np.repeat(xl, n) + np.arange(n.sum()) - np.repeat(start, n)
    return MeshPixels(x, np.repeat(y, n), np.repeat(l, n))


def rasterize_mesh(
    points: np.ndarray,
    simplices: np.ndarray,
    shape: tuple[int, int],
    maps: PairMaps | None = None,
    min_area: float = MIN_AREA,
    tol: float = BARY_TOL,
) -> np.ndarray:
    """Label image (H, W) int32: index of the triangle whose closure holds each pixel, -1 outside.

    Exact: a pixel gets label ``l`` only when its barycentric coordinates ``[x, y, 1] @ inv[l]``
    pass the closure test (:func:`mesh_pixels`). Where triangles share an edge or overlap
    (fold-overs) the lowest triangle index owns the pixel. Degenerate triangles own no pixel.

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
    return mesh_pixels(points, simplices, shape, maps, min_area, tol).owners(shape)


def face_mask(
    points: np.ndarray, simplices: np.ndarray, shape: tuple[int, int], min_area: float = MIN_AREA
) -> np.ndarray:
    """Bool (H, W): pixels inside the mesh placed on ``points`` (where the flow is defined).

    Parameters
    ----------
    points : ndarray, shape (68, 2)
    simplices : ndarray, shape (Nt, 3)
    shape : (H, W)
    min_area : float

    Returns
    -------
    ndarray of bool, shape (H, W)
    """
    return rasterize_mesh(points, simplices, shape, min_area=min_area) >= 0


# ----------------------------------------------------------------------------- exact mode
@dataclass
class FlowResult:
    """Flow of one pair on the grid of its first frame, with the face region and bookkeeping."""

    flow: np.ndarray  # (H, W, 2) float32, zero outside the face
    mask: np.ndarray  # (H, W) bool face region
    n_degenerate: int
    n_flipped: int = 0


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

    Examples
    --------
    Landmarks on a grid, moved by an affine map: inside the mesh the flow is that map's
    displacement at every pixel, outside it is zero.

    >>> import numpy as np
    >>> from faceflow.groundtruth.mesh import exact_flow, triangulate
    >>> ys, xs = np.mgrid[10:50:5, 10:50:5]
    >>> p_prev = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(float)
    >>> moved = exact_flow(p_prev, p_prev + (2.0, 1.0), triangulate(p_prev), shape=(64, 64))
    >>> bool(np.allclose(moved.flow[moved.mask], (2.0, 1.0))), bool((moved.flow[~moved.mask] == 0).all())
    (True, True)
    >>> stretched = exact_flow(p_prev, p_prev * (1.5, 1.0), triangulate(p_prev), shape=(64, 64))
    >>> [round(float(v), 4) + 0.0 for v in stretched.flow[20, 30]]  # x' = 1.5 x at x = 30: u = 15
    [15.0, 0.0]
    """
    maps = affine_maps(p_prev, p_next, simplices, min_area, ref_sign)
    px = mesh_pixels(p_prev, simplices, shape, maps, min_area)
    label = px.owners(shape)
    h, w = shape
    flow = np.zeros((h * w, 2), np.float32)
    if px.x.size:
        # displacement (A - I) applied to [x, y, 1]; reversed so that the lowest triangle wins
        D = maps.A[:, :, :2].copy()
        D[:, 0, 0] -= 1.0
        D[:, 1, 1] -= 1.0
        l, xf, yf = px.tri[::-1], px.x[::-1].astype(np.float64), px.y[::-1].astype(np.float64)
        flat = px.y[::-1] * w + px.x[::-1]
        flow[flat, 0] = xf * D[l, 0, 0] + yf * D[l, 1, 0] + D[l, 2, 0]
        flow[flat, 1] = xf * D[l, 0, 1] + yf * D[l, 1, 1] + D[l, 2, 1]
    flow = flow.reshape(h, w, 2)
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
        # the first frame's lattice: the carried points' integer positions there, in a padded box
        h, w = self.shape
        g = np.round(self.interiors.points).astype(np.int64)
        if len(g):
            self.box = (max(g[:, 0].min() - 3, 0), max(g[:, 1].min() - 3, 0))
            self.box += (min(g[:, 0].max() + 4, w), min(g[:, 1].max() + 4, h))
        else:
            self.box = (0, 0, 1, 1)
        bw = self.box[2] - self.box[0]
        self.node = (g[:, 1] - self.box[1]) * bw + (g[:, 0] - self.box[0])  # flat lattice index of each point
        self._nearest_key: bytes | None = None
        self._nearest: np.ndarray | None = None

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
        A = maps.A
        vx, vy = self.v[:, 0], self.v[:, 1]
        v_next = np.empty_like(self.v)
        v_next[:, 0] = vx * A[tri, 0, 0] + vy * A[tri, 1, 0] + A[tri, 2, 0]
        v_next[:, 1] = vx * A[tri, 0, 1] + vy * A[tri, 1, 1] + A[tri, 2, 1]
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
        px = mesh_pixels(self.p_prev, self.simplices, self.shape, maps, self.min_area)
        mask = px.owners(self.shape) >= 0
        v_prev = self.v
        on_grid = self.on_grid
        bad = self._carry(maps, p_next)
        u_tilde = self.v - v_prev  # Eq. 3 on the irregular points v_{k-1}
        keep = ~bad & np.isfinite(u_tilde).all(1)
        if self.interp in ("scattered", "scattered-linear"):
            method = "cubic" if self.interp == "scattered" else "linear"
            flow = resample_scattered(v_prev[keep], u_tilde[keep], mask, on_grid, method)
        else:
            flow = self._resample_lattice(u_tilde, keep, px, maps)
        return FlowResult(flow, mask, maps.n_degenerate, int(maps.flipped.sum()))

    def _nearest_sample(self, keep: np.ndarray) -> np.ndarray:
        """For every node of the lattice box, the index of the nearest kept sample (cached per ``keep``)."""
        from scipy.ndimage import distance_transform_edt

        key = np.packbits(keep).tobytes()
        if key != self._nearest_key:
            x0, y0, x1, y1 = self.box
            owner = np.full((y1 - y0) * (x1 - x0), -1, np.int64)
            owner[self.node[keep]] = np.flatnonzero(keep)
            owner = owner.reshape(y1 - y0, x1 - x0)
            iy, ix = distance_transform_edt(owner < 0, return_distances=False, return_indices=True)
            self._nearest, self._nearest_key = owner[iy, ix].ravel(), key
        return self._nearest

    def _resample_lattice(self, u_tilde, keep, px: MeshPixels, maps: PairMaps) -> np.ndarray:
        """Bicubic (or bilinear) spline over the irregular grid of carried points.

        The carried points of a triangle are the affine image of the integer pixels it held on
        the segment's first frame, so the irregular grid has a natural regular parametrisation:
        a pixel ``x`` of frame k-1 in triangle ``l`` sits at ``g = lambda(x) . t_0`` on the first
        frame's lattice (barycentric invariance), and the flow samples are interpolated there
        with a bicubic (Keys, a = -0.5) spline over the 4x4 neighbouring samples. On the first
        pair ``g`` is ``x`` itself and the samples are copied. Lattice nodes without a sample
        (outside the mesh, degenerate triangles) take the nearest sample's value.
        """
        h, w = self.shape
        flow = np.zeros((h * w, 2), np.float32)
        if px.x.size == 0 or not keep.any():
            return flow.reshape(h, w, 2)
        x0, y0, x1, y1 = self.box
        uc = u_tilde[:, 0] + 1j * u_tilde[:, 1]
        lattice = uc[self._nearest_sample(keep)].reshape(y1 - y0, x1 - x0)
        # g = [x, y, 1] @ inv[l] @ t_0[l]: one (3, 2) matrix per triangle
        B = np.einsum("lij,ljk->lik", maps.inv, self.p0[self.simplices])
        l = px.tri[::-1]  # reversed: the lowest triangle index is written last, so it owns the pixel
        xf, yf = px.x[::-1].astype(np.float64), px.y[::-1].astype(np.float64)
        gx = xf * B[l, 0, 0] + yf * B[l, 1, 0] + B[l, 2, 0] - x0
        gy = xf * B[l, 0, 1] + yf * B[l, 1, 1] + B[l, 2, 1] - y0
        val = _spline_sample(lattice, gx, gy, self.interp)
        flat = px.y[::-1] * w + px.x[::-1]
        flow[flat, 0] = val.real
        flow[flat, 1] = val.imag
        return flow.reshape(h, w, 2)


def _keys_taps(d: np.ndarray) -> tuple[np.ndarray, ...]:
    """Keys' cubic convolution weights (a = -0.5) of the taps -1, 0, 1, 2 at fractional offsets ``d`` in [0, 1)."""
    near = lambda t: (1.5 * t - 2.5) * t * t + 1  # noqa: E731  |t| <= 1
    far = lambda t: ((-0.5 * t + 2.5) * t - 4) * t + 2  # noqa: E731  1 < |t| < 2
    return far(1 + d), near(d), near(1 - d), far(2 - d)


def _spline_sample(U: np.ndarray, gx: np.ndarray, gy: np.ndarray, interp: str = "cubic") -> np.ndarray:
    """Sample the (h, w) complex grid ``U`` (u + iv) at fractional ``(gx, gy)``: bicubic (Keys) or bilinear.

    Indices outside the grid are clamped to its border (edge replication).
    """
    pad = 4  # with the base index clamped to [-3, size + 1], every tap lands in the padded grid
    h, w = U.shape
    fx, fy = np.floor(gx), np.floor(gy)
    dx, dy = gx - fx, gy - fy
    fx = np.clip(fx, -3, w + 1).astype(np.int64) + pad
    fy = np.clip(fy, -3, h + 1).astype(np.int64) + pad
    if interp == "cubic":
        taps, wx, wy = (-1, 0, 1, 2), _keys_taps(dx), _keys_taps(dy)
    else:
        taps, wx, wy = (0, 1), (1 - dx, dx), (1 - dy, dy)
    flat = np.pad(U, pad, mode="edge").ravel()
    base = fy * (w + 2 * pad) + fx
    out = np.zeros(len(gx), np.complex128)
    for j, wyj in zip(taps, wy):
        row = base + j * (w + 2 * pad)
        acc = wx[0] * flat.take(row + taps[0])
        for i in range(1, len(taps)):
            acc += wx[i] * flat.take(row + taps[i])
        out += wyj * acc
    return out


def resample_scattered(
    points: np.ndarray, values: np.ndarray, mask: np.ndarray, on_grid: bool = False, interp: str = "cubic"
) -> np.ndarray:
    """Resample scattered flow samples onto the integer pixels of ``mask`` (zero elsewhere).

    The paper's "bicubic spline interpolation over the irregular grid": scipy's Clough-Tocher
    piecewise-cubic C1 interpolant (``griddata(method='cubic')``). Pixels of the mask outside the
    samples' convex hull take the nearest sample. When the samples are the integer pixels
    themselves (``on_grid``, the first pair of a sequence) they are copied without interpolation.

    Parameters
    ----------
    points : ndarray, shape (M, 2)
    values : ndarray, shape (M, 2)
    mask : ndarray of bool, shape (H, W)
    on_grid : bool
    interp : {"cubic", "linear"}

    Returns
    -------
    ndarray, shape (H, W, 2), float32
    """
    from scipy.interpolate import CloughTocher2DInterpolator, LinearNDInterpolator, NearestNDInterpolator

    h, w = mask.shape
    flow = np.zeros((h, w, 2), np.float32)
    ys, xs = np.nonzero(mask)
    if ys.size == 0 or len(points) == 0:
        return flow
    if on_grid:
        xi = np.round(points).astype(np.int64)
        okp = (xi[:, 0] >= 0) & (xi[:, 0] < w) & (xi[:, 1] >= 0) & (xi[:, 1] < h)
        grid = np.full((h, w, 2), np.nan)
        grid[xi[okp, 1], xi[okp, 0]] = values[okp]
        vals = grid[ys, xs]
    else:
        pts = np.asarray(points, np.float64)
        if len(pts) < 4:
            vals = np.full((len(ys), 2), np.nan)
        else:
            from scipy.spatial import ConvexHull, Delaunay

            tri = Delaunay(pts)
            q = np.stack([xs, ys], 1).astype(np.float64)
            # Only queries strictly inside the samples' convex hull are interpolated: SciPy's
            # point location degrades to a brute-force search (seconds) on queries outside or on
            # the hull, so those are decided here by the hull's half-planes and take the nearest.
            eq = ConvexHull(pts).equations  # a x + b y + c <= 0 inside
            inside = np.ones(len(q), bool)
            for a_, b_, c_ in eq:
                inside &= a_ * q[:, 0] + b_ * q[:, 1] + c_ < -1e-6
            cls = CloughTocher2DInterpolator if interp == "cubic" else LinearNDInterpolator
            vals = np.full((len(q), 2), np.nan)
            if inside.any():
                vals[inside] = cls(tri, values)(q[inside])
    missing = ~np.isfinite(vals).all(1)
    if missing.any():
        nn = NearestNDInterpolator(np.asarray(points, np.float64), values)
        vals[missing] = nn(xs[missing].astype(np.float64), ys[missing].astype(np.float64))
    flow[ys, xs] = vals
    return flow


# ----------------------------------------------------------------------------- sequences
@dataclass
class PairOutcome:
    """Flow of pair k (frame k -> k+1) or why it was skipped."""

    pair: int
    status: str  # "ok" | "skipped" | "failed"
    reason: str = ""
    result: FlowResult | None = None
    n_degenerate: int = 0


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
    DegenerateMeshError
        The first frame with a face has no triangle mesh (the message names the frame).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    lm = np.asarray(landmarks, np.float64)
    n = len(lm)
    has = np.isfinite(lm).all(axis=(1, 2)) if n else np.zeros(0, bool)
    if simplices is None and has.any():
        first = int(np.argmax(has))
        try:
            simplices = triangulate(lm[first])
        except DegenerateMeshError as exc:
            raise DegenerateMeshError(f"frame {first}: {exc}") from None
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
                yield _outcome(k, res, res.n_degenerate, len(simplices))
            else:
                m = affine_maps(lm[k], lm[k + 1], simplices, min_area)
                yield _outcome(k, None, m.n_degenerate, len(simplices))
            continue
        if chain is None:
            chain = PaperChain(lm[k], simplices, shape, min_area, interp)
            chain.ref_sign = ref_sign
        if want:
            res = chain.step(lm[k + 1])
            yield _outcome(k, res, res.n_degenerate, len(simplices))
        else:
            m = chain.advance(lm[k + 1])
            yield _outcome(k, None, m.n_degenerate, len(simplices))


def _outcome(k: int, res: FlowResult | None, n_degenerate: int, n_triangles: int) -> PairOutcome:
    """Pair ``k``'s outcome: failed when every triangle of its source frame is degenerate."""
    if n_degenerate >= n_triangles:
        why = f"frame {k}: all {n_triangles} triangles degenerate (landmarks collinear or coincident)"
        return PairOutcome(k, "failed", why, None, n_degenerate)
    return PairOutcome(k, "ok", "", res, n_degenerate)


# ----------------------------------------------------------------------------- training crop
def crop_box(points: np.ndarray, shape: tuple[int, int], offset: int = 10) -> tuple[int, int, int, int]:
    """Secs. 4.3 and 5.2 crop: the landmarks' min/max box plus ``offset`` px each side, clipped to the image.

    Parameters
    ----------
    points : ndarray, shape (68, 2) or (..., 2)
        One frame's or several frames' landmarks stacked; NaNs are ignored.
    shape : (H, W)
    offset : int

    Returns
    -------
    (x0, y0, x1, y1) : tuple of int
        Exclusive ``x1, y1`` (integer pixel bounds).

    Raises
    ------
    ValueError
        No finite landmark, or an empty crop.
    """
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(1)]
    if len(pts) == 0:
        raise ValueError("crop_box: no finite landmark")
    h, w = shape
    x0 = int(np.floor(pts[:, 0].min())) - offset
    y0 = int(np.floor(pts[:, 1].min())) - offset
    x1 = int(np.ceil(pts[:, 0].max())) + offset + 1
    y1 = int(np.ceil(pts[:, 1].max())) + offset + 1
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, w), min(y1, h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError(f"crop_box: empty crop {(x0, y0, x1, y1)} for image {shape}")
    return x0, y0, x1, y1


def crop_resize_pair(
    img1: np.ndarray,
    img2: np.ndarray,
    flow: np.ndarray,
    box: tuple[int, int, int, int],
    size: tuple[int, int] = (384, 512),
    flow_units: str = "crop",
):
    """Crop both images and the flow to ``box`` and resize to ``size`` (H, W), bilinear (Sec. 4.3).

    Flow components are multiplied by ``W / crop_w`` and ``H / crop_h`` so they stay in pixels
    of the resized image (``flow_units="crop"``); ``flow_units="frame"`` scales them by the full
    frame instead (:func:`scale_to_frame`).

    Parameters
    ----------
    img1, img2 : ndarray
    box : (x0, y0, x1, y1)
        As :func:`crop_box`.
    flow : ndarray, shape (H0, W0, 2)
        On the grid of ``img1``.
    size : (H, W)
    flow_units : {"crop", "frame"}

    Returns
    -------
    img1, img2 : ndarray
        Resized crops (same dtype).
    flow : ndarray, shape (H, W, 2), float32

    Raises
    ------
    ValueError
        ``flow_units`` is neither ``"crop"`` nor ``"frame"``.
    """
    if flow_units not in ("crop", "frame"):
        raise ValueError(f"flow_units must be 'crop' or 'frame', got {flow_units!r}")
    import cv2

    x0, y0, x1, y1 = box
    H, W = size
    a = cv2.resize(np.ascontiguousarray(img1[y0:y1, x0:x1]), (W, H), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(np.ascontiguousarray(img2[y0:y1, x0:x1]), (W, H), interpolation=cv2.INTER_LINEAR)
    f = resize_flow(flow[y0:y1, x0:x1], size)
    if flow_units == "frame":
        scale_to_frame(f, box, img1.shape[:2])
    return a, b, f


def scale_to_frame(flow: np.ndarray, box: tuple[int, int, int, int], frame_shape: tuple[int, int]) -> np.ndarray:
    """Rescale, in place, a cropped and resized flow from crop units to the released code's units.

    The flow resized from a crop of ``box`` is in pixels of the resized image (``W / crop_w``
    per source pixel); the authors' released code multiplies by ``W / frame_w`` instead
    (facialof_train.py 792-794, 1006-1007), i.e. by ``crop_w / frame_w`` (and ``crop_h /
    frame_h``) relative to ours.

    Parameters
    ----------
    flow : ndarray, shape (H, W, 2)
        Modified in place.
    box : (x0, y0, x1, y1)
    frame_shape : (H0, W0)
        The full frame's size.

    Returns
    -------
    ndarray
        ``flow``.
    """
    x0, y0, x1, y1 = box
    flow[..., 0] *= (x1 - x0) / frame_shape[1]
    flow[..., 1] *= (y1 - y0) / frame_shape[0]
    return flow
