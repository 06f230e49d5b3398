"""Flow visualisation with the Middlebury colour wheel (Baker et al., 2011).

Hue encodes direction and saturation encodes magnitude relative to ``max_radius``. Panels that
should be comparable share one ``max_radius``; by default each panel is normalised by its own
largest vector, which is what the paper's Fig. 4 does. :func:`panel_grid` draws the colour key
(:func:`wheel_image`) beside any grid of flow panels, saying which length its rim stands for.
:func:`histogram_grid` draws small multiples of per-pair values (one panel per series, shared axes)
where overlaid histograms would hide each other.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from faceflow.flow.metrics import aae, epe

# Number of hues between the six primary/secondary colours of the wheel.
_SEGMENTS = (("RY", 15), ("YG", 6), ("GC", 4), ("CB", 11), ("BM", 13), ("MR", 6))


def color_wheel() -> np.ndarray:
    """The Middlebury colour wheel as an (N, 3) float array in [0, 255] (N = 55).

    Returns
    -------
    ndarray, shape (55, 3), float64
    """
    ry, yg, gc, cb, bm, mr = (n for _, n in _SEGMENTS)
    wheel = np.zeros((ry + yg + gc + cb + bm + mr, 3))
    i = 0
    wheel[i : i + ry, 0] = 255
    wheel[i : i + ry, 1] = np.floor(255 * np.arange(ry) / ry)
    i += ry
    wheel[i : i + yg, 0] = 255 - np.floor(255 * np.arange(yg) / yg)
    wheel[i : i + yg, 1] = 255
    i += yg
    wheel[i : i + gc, 1] = 255
    wheel[i : i + gc, 2] = np.floor(255 * np.arange(gc) / gc)
    i += gc
    wheel[i : i + cb, 1] = 255 - np.floor(255 * np.arange(cb) / cb)
    wheel[i : i + cb, 2] = 255
    i += cb
    wheel[i : i + bm, 2] = 255
    wheel[i : i + bm, 0] = np.floor(255 * np.arange(bm) / bm)
    i += bm
    wheel[i : i + mr, 2] = 255 - np.floor(255 * np.arange(mr) / mr)
    wheel[i : i + mr, 0] = 255
    return wheel


_WHEEL = color_wheel()


def flow_to_rgb(flow: np.ndarray, max_radius: float | None = None) -> np.ndarray:
    """Colour-code an (H, W, 2) flow field.

    Parameters
    ----------
    flow : ndarray, shape (H, W, 2)
        u (x) and v (y) components. Non-finite vectors are drawn black.
    max_radius : float, optional
        Magnitude drawn fully saturated. Defaults to the field's own largest magnitude.
        Pass the same value to several calls to put panels on one scale; longer vectors are
        drawn darker, as in the Middlebury code.

    Returns
    -------
    ndarray, shape (H, W, 3), uint8

    Raises
    ------
    ValueError
        ``flow`` is not (H, W, 2), or ``max_radius`` is negative.
    """
    flow = np.asarray(flow, dtype=np.float64)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"flow must have shape (H, W, 2), got {flow.shape}")
    u, v = flow[..., 0].copy(), flow[..., 1].copy()
    bad = ~(np.isfinite(u) & np.isfinite(v))
    u[bad] = 0.0
    v[bad] = 0.0
    rad = np.sqrt(u**2 + v**2)
    if max_radius is None:
        max_radius = float(rad.max()) if rad.size else 0.0
    if max_radius < 0:
        raise ValueError(f"max_radius must be >= 0, got {max_radius}")
    scale = max_radius if max_radius > 0 else 1.0
    u, v, rad = u / scale, v / scale, rad / scale

    ncols = _WHEEL.shape[0]
    angle = np.arctan2(-v, -u) / np.pi  # in [-1, 1]
    fk = (angle + 1) / 2 * (ncols - 1)
    k0 = np.floor(fk).astype(int)
    k1 = (k0 + 1) % ncols
    f = fk - k0
    img = np.empty(flow.shape[:2] + (3,))
    for c in range(3):
        col = (1 - f) * _WHEEL[k0, c] / 255 + f * _WHEEL[k1, c] / 255
        inside = rad <= 1
        col = np.where(inside, 1 - rad * (1 - col), col * 0.75)
        img[..., c] = col
    img[bad] = 0
    return np.clip(np.floor(255 * img), 0, 255).astype(np.uint8)


@dataclass
class Panel:
    """One cell of a :func:`panel_grid`: an RGB image or a flow, with an optional title.

    If ``flow`` and ``gt`` are both given, the title gains the EPE and AAE (radians).
    """

    title: str = ""
    image: np.ndarray | None = None
    flow: np.ndarray | None = None
    gt: np.ndarray | None = None
    max_radius: float | None = None


def panel_label(panel: Panel) -> str:
    """Title of a panel, with ``EPE/AAE`` appended when the panel has a ground truth.

    Parameters
    ----------
    panel : Panel

    Returns
    -------
    str
    """
    if panel.flow is not None and panel.gt is not None:
        return f"{panel.title}\nEPE {epe(panel.flow, panel.gt):.3f}  AAE {aae(panel.flow, panel.gt):.3f}"
    return panel.title


def wheel_image(size: int = 101) -> np.ndarray:
    """The colour key of :func:`flow_to_rgb`: each pixel coloured as the vector from the centre to it.

    The rim is a vector of length ``max_radius`` (fully saturated); outside the disk is white.
    Rows grow downwards as in an image, so the pixel below the centre is the colour of a
    downward vector (``v > 0``) and the one right of it that of a rightward vector (``u > 0``).

    Parameters
    ----------
    size : int
        Side in pixels (odd, so that the centre is a pixel).

    Returns
    -------
    ndarray, shape (size, size, 3), uint8

    Raises
    ------
    ValueError
        ``size`` is not an odd number of at least 3.
    """
    if size < 3 or size % 2 == 0:
        raise ValueError(f"size must be odd and >= 3, got {size}")
    c = size // 2
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    flow = np.stack([(xs - c) / c, (ys - c) / c], axis=-1)
    img = flow_to_rgb(flow, max_radius=1.0)
    img[np.hypot(*np.moveaxis(flow, -1, 0)) > 1.0] = 255
    return img


def radius_text(radii: Sequence[float | None]) -> str:
    """What the rim of the colour key stands for, given the ``max_radius`` of each flow panel.

    Parameters
    ----------
    radii : sequence of float or None
        One per flow panel; None: that panel is scaled to its own largest vector.

    Returns
    -------
    str
        ``"rim = 2.5 px"`` for one shared radius, ``"rim = each panel's largest vector"`` when
        every panel has its own, both when they are mixed.
    """
    shared = sorted({float(r) for r in radii if r is not None})
    own = any(r is None for r in radii)
    parts = [f"{r:.3g} px" for r in shared] + (["each panel's largest vector"] if own or not shared else [])
    return "rim = " + " or ".join(parts)


def draw_key(ax, radii: Sequence[float | None], fontsize: int = 8) -> None:
    """Draw the colour key (:func:`wheel_image`) in ``ax`` with what its rim stands for.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    radii : sequence of float or None
        The ``max_radius`` of each flow panel (:func:`radius_text`).
    fontsize : int
    """
    img = wheel_image()
    c = img.shape[0] // 2
    ax.imshow(img)
    ax.plot([c, 2 * c], [c, c], color="black", lw=0.8)  # a rightward vector of length rim
    ax.set_title("flow colour key", fontsize=fontsize)
    rim = radius_text(radii).replace(" largest vector", "\nlargest vector")
    ax.set_xlabel(f"colour of a vector\nfrom the centre;\n{rim}", fontsize=fontsize)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def panel_grid(rows: Sequence[Sequence[Panel | None]], cell_size: float = 2.4, fontsize: int = 8):
    """Draw a grid of image and flow panels; returns the matplotlib figure.

    When any panel is a flow, a colour key (:func:`draw_key`) stands right of the first row,
    saying which vector length the rim of the wheel is (each panel's own largest vector, or the
    shared ``max_radius``).

    Parameters
    ----------
    rows : sequence of sequences of Panel or None
        One list per row; ``None`` leaves a cell empty.
    cell_size : float
        Inches per panel.
    fontsize : int
        Title font size.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        No panel at all.
    """
    import matplotlib.pyplot as plt

    nrows = len(rows)
    ncols = max((len(r) for r in rows), default=0)
    if nrows == 0 or ncols == 0:
        raise ValueError("panel_grid needs at least one panel")
    radii = [p.max_radius for row in rows for p in row if p is not None and p.flow is not None]
    key = 0.7 if radii else 0.0
    fig, axes = plt.subplots(
        nrows,
        ncols + (1 if radii else 0),
        figsize=(cell_size * (ncols + key), cell_size * 0.85 * nrows),
        squeeze=False,
        width_ratios=[1.0] * ncols + ([key] if radii else []),
    )
    for r, row in enumerate(rows):
        for c in range(ncols):
            ax = axes[r][c]
            ax.axis("off")
            panel = row[c] if c < len(row) else None
            if panel is None:
                continue
            if panel.flow is not None:
                ax.imshow(flow_to_rgb(panel.flow, panel.max_radius))
            elif panel.image is not None:
                img = panel.image
                ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
            ax.set_title(panel_label(panel), fontsize=fontsize)
    if radii:
        draw_key(axes[0][ncols], radii, fontsize)
        for r in range(1, nrows):
            axes[r][ncols].remove()
    fig.tight_layout()
    return fig


def histogram_grid(
    cells: Mapping[tuple[str, str], Sequence[float]],
    bins: int = 20,
    cell_size: tuple[float, float] = (2.0, 1.25),
    fontsize: int = 8,
    ylabel: str = "pairs",
):
    """Small multiples: one histogram per ``(row, column)`` series instead of overlaid curves.

    The panels of a column share their bins, x range and y range, so a column reads top to
    bottom (e.g. one metric on one test set, method by method); each panel marks its mean with a
    dashed line and states it. Non-finite values are left out.

    Parameters
    ----------
    cells : mapping of (str, str) to sequence of float
        ``{(row label, column label): values}``; rows and columns in order of first appearance.
        A missing combination leaves its panel empty.
    bins : int
        Bins per column.
    cell_size : (float, float)
        Inches per panel (width, height).
    fontsize : int
        Label font size.
    ylabel : str
        What the bars count (left of the row labels).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        ``cells`` is empty.
    """
    import matplotlib.pyplot as plt

    if not cells:
        raise ValueError("histogram_grid needs at least one series")
    rows = list(dict.fromkeys(r for r, _ in cells))
    cols = list(dict.fromkeys(c for _, c in cells))
    values = {k: np.asarray(v, dtype=np.float64) for k, v in cells.items()}
    values = {k: v[np.isfinite(v)] for k, v in values.items()}
    fig, axes = plt.subplots(
        len(rows), len(cols), figsize=(cell_size[0] * len(cols), cell_size[1] * len(rows)), squeeze=False
    )
    for j, col in enumerate(cols):
        column = [values.get((r, col), np.empty(0)) for r in rows]
        pooled = np.concatenate(column)
        lo, hi = (float(pooled.min()), float(pooled.max())) if pooled.size else (0.0, 1.0)
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
        top = max((np.histogram(v, edges)[0].max() for v in column if v.size), default=1)
        for i, row in enumerate(rows):
            ax = axes[i][j]
            v = column[i]
            if (row, col) not in values:
                ax.axis("off")
                continue
            ax.hist(v, bins=edges, color="C0")
            if v.size:
                ax.axvline(v.mean(), color="black", ls="--", lw=0.8)
                ax.text(
                    0.98,
                    0.92,
                    f"mean {v.mean():.3g}",
                    transform=ax.transAxes,
                    ha="right",
                    va="top",
                    fontsize=fontsize - 1,
                )
            ax.set_xlim(edges[0], edges[-1])
            ax.set_ylim(0, top * 1.25)
            ax.tick_params(labelsize=fontsize - 1)
            if i == 0:
                ax.set_title(col, fontsize=fontsize)
            if j == 0:
                label = textwrap.fill(row, 16)
                ax.set_ylabel(label, fontsize=fontsize, rotation=0, ha="right", va="center")
    fig.supylabel(ylabel, fontsize=fontsize)
    fig.tight_layout()
    return fig
