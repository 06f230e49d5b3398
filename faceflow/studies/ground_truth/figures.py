"""Figures of the landmark ground truth (chapters 00 and 01): landmarks, Fig. 1, Fig. 2, magnitudes.

Every function returns a matplotlib figure already closed with pyplot (so that a notebook shows
it once, when it is displayed or glued), or a small result holding one with ``missing``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from faceflow.flow import synthetic
from faceflow.flow.viz import Panel, panel_grid
from faceflow.flow.warp import warp_forward
from faceflow.groundtruth import landmarks as lmk
from faceflow.groundtruth import mesh as gt
from faceflow.io import datasets
from faceflow.io.images import list_images, read_image
from faceflow.studies.ground_truth.analysis import DemoSequence, FlowMagnitudes, PhotometricCheck


def _closed(fig):
    import matplotlib.pyplot as plt

    plt.close(fig)
    return fig


@dataclass
class FigureResult:
    """A figure with the numbers it shows and the data it could not use.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
    values : dict
        Numbers drawn in the figure (for glue).
    missing : dict of str to str
    """

    figure: object
    values: dict = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


# ----------------------------------------------------------------------------- chapter 00
def face_landmarks(data_root: str | Path | None) -> FigureResult:
    """dlib's faces and 68 landmarks on the first OpenFace sample frame (the astronaut without it).

    Parameters
    ----------
    data_root : path-like or None

    Returns
    -------
    FigureResult
        ``values``: ``n_faces`` (faces detected) and ``label`` (the image shown).
    """
    import matplotlib.pyplot as plt

    missing: dict[str, str] = {}
    folder = datasets.locate("openface_frames", data_root)
    frames = list_images(folder) if folder is not None else []
    if frames:
        img, label = read_image(frames[0]), f"OpenFace sample, {frames[0].name}"
    else:
        missing["OpenFace frames"] = (
            f"{datasets.DATASETS['openface_frames'].hint} Showing scikit-image's astronaut (generated fallback)."
        )
        img, label = synthetic.fallback_image(), "astronaut (fallback)"
    faces = lmk.dlib_detect_faces(img)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.imshow(img)
    for f in faces:
        ax.plot(f.landmarks[:, 0], f.landmarks[:, 1], ".", ms=3, color="lime")
        l, t, r, b = f.box
        ax.add_patch(plt.Rectangle((l, t), r - l, b - t, fill=False, color="yellow", lw=1))
    ax.set_title(f"{label}: {len(faces)} face(s), 68 dlib landmarks")
    ax.axis("off")
    return FigureResult(_closed(fig), {"n_faces": len(faces), "label": label}, missing)


# ----------------------------------------------------------------------------- chapter 01
def pick_triangles(simplices: np.ndarray, points: np.ndarray) -> list[int]:
    """Two triangles to draw: one of the mouth (else the largest) and one of the eyes (else the smallest).

    Parameters
    ----------
    simplices : ndarray, shape (Nt, 3)
    points : ndarray, shape (68, 2)

    Returns
    -------
    list of int
        Two triangle indices.
    """
    areas = np.abs(gt.triangle_areas(np.asarray(points, np.float64)[simplices]))
    mouth = [i for i, s in enumerate(simplices) if all(v >= 48 for v in s)]
    eye = [i for i, s in enumerate(simplices) if all(36 <= v < 48 for v in s)]
    return [(mouth or [int(np.argmax(areas))])[0], (eye or [int(np.argmin(areas))])[0]]


def mesh_figure(demo: DemoSequence, k: int):
    """Fig. 1 (left): the Delaunay mesh on frame ``k`` and two triangles with their Eq. 1 maps.

    Parameters
    ----------
    demo : DemoSequence
    k : int
        The pair (frame ``k`` -> ``k + 1``); clipped to the sequence.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    lms, S, img = demo.landmarks, demo.simplices, demo.frames
    k = min(len(img) - 2, k)
    maps = gt.affine_maps(lms[k], lms[k + 1], S)
    pick = pick_triangles(S, lms[k])
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.3))
    ax = axes[0]
    ax.imshow(img[k])
    ax.triplot(lms[k][:, 0], lms[k][:, 1], S, color="lime", lw=0.5)
    for name, l, c in zip(["l1", "l2"], pick, ["red", "cyan"]):
        t = lms[k][S[l]]
        ax.fill(t[:, 0], t[:, 1], color=c, alpha=0.6)
        ax.text(*t.mean(0), name, color="white", fontsize=8)
    x0, y0, x1, y1 = gt.crop_box(lms[k], demo.shape)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y1, y0)
    ax.axis("off")
    ax.set_title(f"frame {k}: Delaunay mesh of {len(S)} triangles")
    for ax, l, c, name in zip(axes[1:], pick, ["red", "cyan"], ["l1", "l2"]):
        t0, t1 = lms[k][S[l]], lms[k + 1][S[l]]
        lo = np.minimum(t0.min(0), t1.min(0)) - 6
        hi = np.maximum(t0.max(0), t1.max(0)) + 6
        ax.imshow(img[k])
        ax.fill(t0[:, 0], t0[:, 1], fill=False, ec=c, lw=2, label=f"$t_{{{k}}}$")
        ax.fill(t1[:, 0], t1[:, 1], fill=False, ec="yellow", lw=2, ls="--", label=f"$t_{{{k + 1}}}$")
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(hi[1], lo[1])
        ax.axis("off")
        ax.legend(fontsize=7)
        rows = "\n".join("  ".join(f"{v:+.3f}" for v in row) for row in maps.A[l])
        ax.set_title(f"{name}: A =\n{rows}", fontsize=8, family="monospace")
    fig.tight_layout()
    return _closed(fig)


def resampling_figure(demo: DemoSequence, k2: int = 2):
    """Fig. 1 (right): carried points with their Eq. 3 flow and the resampled grid flow near the nose.

    Parameters
    ----------
    demo : DemoSequence
    k2 : int
        The frame the chain is stepped to (the pair ``k2 - 1`` -> ``k2``); clipped to the sequence.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    lms = demo.landmarks
    k2 = min(k2, len(lms) - 2)
    chain = gt.PaperChain(lms[0], demo.simplices, demo.shape)
    for j in range(1, k2):
        chain.advance(lms[j])
    v_prev = chain.v.copy()
    res = chain.step(lms[k2])
    u_tilde = chain.v - v_prev
    cx, cy = np.round(lms[k2 - 1][30]).astype(int)  # around the nose tip
    win = (np.abs(v_prev[:, 0] - cx) <= 1.6) & (np.abs(v_prev[:, 1] - cy) <= 1.6)
    fig, ax = plt.subplots(figsize=(5, 5))
    s = 1.0 / max(np.abs(u_tilde[win]).max(), 1e-6)
    arrows = dict(angles="xy", scale_units="xy", scale=2.5)
    ax.quiver(
        *v_prev[win].T,
        *(u_tilde[win] * s).T,
        color="tab:blue",
        width=0.006,
        label="carried points, $\\tilde u$",
        **arrows,
    )
    ax.plot(v_prev[win, 0], v_prev[win, 1], "o", color="tab:blue", ms=4)
    gy, gx = np.mgrid[cy - 1 : cy + 2, cx - 1 : cx + 2]
    grid_u = res.flow[gy, gx] * s
    ax.quiver(
        gx,
        gy,
        grid_u[..., 0],
        grid_u[..., 1],
        color="tab:red",
        width=0.01,
        label="grid pixels, resampled $u$",
        **arrows,
    )
    ax.plot(gx, gy, "s", color="tab:red", ms=7, mfc="none")
    ax.set_xlim(cx - 1.7, cx + 1.7)
    ax.set_ylim(cy + 1.7, cy - 1.7)
    ax.set_aspect("equal")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(f"3x3 grid of frame {k2 - 1} near the nose (arrows magnified)")
    return _closed(fig)


def sequence_figure(demo: DemoSequence, k: int, n_shown: int = 6) -> FigureResult:
    """Frames and colour-coded ``exact`` ground truth along the sequence, cropped around frame ``k``'s face.

    Parameters
    ----------
    demo : DemoSequence
    k : int
        The frame whose landmark box (+10 px) crops every panel; clipped to the sequence.
    n_shown : int
        Evenly spaced pairs shown.

    Returns
    -------
    FigureResult
        ``values``: ``max_radius`` (the shared colour scale, px) and ``ms_per_pair`` (exact mode).
    """
    lms, imgs, exact = demo.landmarks, demo.frames, demo.exact
    k = min(len(imgs) - 2, k)
    x0, y0, x1, y1 = gt.crop_box(lms[k], demo.shape)
    shown = np.linspace(0, len(exact) - 1, min(n_shown, len(exact))).astype(int)
    vmax = max(float(np.linalg.norm(exact[i].result.flow, axis=2).max()) for i in shown) or 1.0
    rows = [
        [Panel(f"frame {i}", image=imgs[i][y0:y1, x0:x1]) for i in shown],
        [Panel(f"u{i}: {i}->{i + 1}", flow=exact[i].result.flow[y0:y1, x0:x1], max_radius=vmax) for i in shown],
    ]
    fig = _closed(panel_grid(rows, cell_size=2.2))
    return FigureResult(fig, {"max_radius": vmax, "ms_per_pair": demo.seconds_exact_per_pair * 1e3})


def warp_figure(demo: DemoSequence, photometric: PhotometricCheck, data_root: str | Path | None) -> FigureResult:
    """Fig. 2: ``X1`` warped by ``Y`` against ``X2``, for the best-explained face pair and a FlyingChairs pair.

    The face pair is cropped and resized as in Sec. 4.3; the warp samples ``X1`` at ``x - Y(x)``.

    Parameters
    ----------
    demo : DemoSequence
    photometric : PhotometricCheck
        Chooses the face pair (:attr:`PhotometricCheck.best_pair`).
    data_root : path-like or None

    Returns
    -------
    FigureResult
        ``values``: ``pair`` (the face pair shown); ``missing`` names FlyingChairs when absent.
    """
    kk = photometric.best_pair
    lms, imgs = demo.landmarks, demo.frames
    box = gt.crop_box(np.stack([lms[kk], lms[kk + 1]]), demo.shape)
    fa, fb, ff = gt.crop_resize_pair(imgs[kk], imgs[kk + 1], demo.exact[kk].result.flow, box)
    rows = [
        [
            Panel("face X1", image=fa),
            Panel("X2", image=fb),
            Panel("X2' = X1 warped by Y", image=warp_forward(fa, ff)),
            Panel("Y", flow=ff),
        ]
    ]
    missing: dict[str, str] = {}
    if datasets.locate("chairs", data_root) is None:
        missing["FlyingChairs"] = datasets.DATASETS["chairs"].hint
    else:
        cp = datasets.chairs_pairs(data_root)[0].load()
        rows.append(
            [
                Panel("FlyingChairs X1", image=cp.img1),
                Panel("X2", image=cp.img2),
                Panel("X2'", image=warp_forward(cp.img1, cp.flow)),
                Panel("Y", flow=cp.flow),
            ]
        )
    return FigureResult(_closed(panel_grid(rows, cell_size=2.8)), {"pair": kk}, missing)


def magnitude_figure(mags: FlowMagnitudes, columns: int = 4):
    """Small multiples of the per-pair mean magnitude (one panel per sequence, shared bins and
    axes), and the histogram of the face pixels' magnitudes below them.

    Parameters
    ----------
    mags : FlowMagnitudes
    columns : int
        Sequence panels per row.

    Returns
    -------
    matplotlib.figure.Figure or None
        None when the dataset has no ok pair.
    """
    import matplotlib.pyplot as plt

    if mags.n_pairs == 0:
        return None
    groups = list(mags.per_pair.groupby("sequence", sort=False)["mean_mag"])
    ncols = min(columns, len(groups))
    nrows = -(-len(groups) // ncols)
    fig = plt.figure(figsize=(11, 1.5 * nrows + 3.2))
    grid = fig.add_gridspec(nrows + 1, ncols, height_ratios=[1.0] * nrows + [2.0])
    values = mags.per_pair["mean_mag"].to_numpy(dtype=np.float64)
    edges = np.linspace(values.min(), max(values.max(), values.min() + 1e-6), 31)
    top = max(np.histogram(g, edges)[0].max() for _, g in groups)
    for k, (seq, g) in enumerate(groups):
        ax = fig.add_subplot(grid[k // ncols, k % ncols])
        ax.hist(g, bins=edges, color="C0")
        ax.axvline(g.mean(), color="black", ls="--", lw=0.8)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(0, top * 1.2)
        ax.set_title(f"{seq}: {len(g)} pairs, mean {g.mean():.2f} px", fontsize=8)
        ax.tick_params(labelsize=7)
        if k % ncols == 0:
            ax.set_ylabel("pairs", fontsize=8)
        if k // ncols == nrows - 1 or k + ncols >= len(groups):
            ax.set_xlabel("per-pair mean |u| (px)", fontsize=8)
    fig.suptitle("per-pair mean flow magnitude over the stored 384x512 flow, by sequence", fontsize=10)
    ax = fig.add_subplot(grid[nrows, :])
    ax.hist(mags.pixels, bins=60, log=True, color="tab:gray")
    ax.set_xlabel("|u| of face pixels (px)")
    ax.set_ylabel("pixels")
    ax.set_title(f"pixel magnitudes, {mags.n_sampled} pairs")
    fig.tight_layout()
    return _closed(fig)
