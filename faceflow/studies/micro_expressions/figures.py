"""Fig. 3 of the paper: the optical-flow features of one real onset/apex pair for each flow method.

The pair comes from the real onset-to-offset clips (:func:`faceflow.studies.micro_expressions.tables.clip_comparison`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from faceflow.flow import strain
from faceflow.methods.registry import estimate_flow

#: Text of the placeholder figure drawn when Fig. 3 cannot be built.
NOT_AVAILABLE = "not available"


@dataclass
class Figure3:
    """Fig. 3 and where its frames come from; ``missing`` says why it could not be drawn."""

    figure: object
    source: str
    methods: list[str]
    missing: dict[str, str] = field(default_factory=dict)


def placeholder_figure(text: str = NOT_AVAILABLE):
    """A small figure that only says ``text`` (stands in for a figure that cannot be drawn).

    Parameters
    ----------
    text : str
        The message.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 1))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center")
    plt.close(fig)
    return fig


def features_figure(onset: np.ndarray, apex: np.ndarray, methods: Sequence[str], title: str = ""):
    """Onset, apex, their difference, and for each method ``u``, ``v``, strain and the 28x28 input.

    Parameters
    ----------
    onset, apex : numpy.ndarray
        (H, W, 3) uint8 RGB frames of the same size.
    methods : sequence of str
        Registered flow methods, one row each.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(methods) + 1`` rows of 4 panels (closed, ready to glue or save): the frames, then
        one row per method (named on its left) under column titles, laid out so that the
        title clears them.

    Raises
    ------
    ValueError
        The frames differ in shape or ``methods`` is empty.
    """
    import matplotlib.pyplot as plt

    if onset.shape != apex.shape:
        raise ValueError(f"onset {onset.shape} and apex {apex.shape} differ in shape")
    if not methods:
        raise ValueError("no flow method given")
    fig, axes = plt.subplots(
        len(methods) + 1, 4, figsize=(8, 2.1 * (len(methods) + 1)), layout="constrained", squeeze=False
    )
    axes[0, 0].imshow(onset)
    axes[0, 0].set_title("onset", fontsize=8)
    axes[0, 1].imshow(apex)
    axes[0, 1].set_title("apex", fontsize=8)
    axes[0, 2].imshow(np.abs(onset.astype(int) - apex).mean(2), cmap="gray")
    axes[0, 2].set_title("|apex - onset|", fontsize=8)
    axes[0, 3].axis("off")
    columns = ("u (min-max scaled)", "v (min-max scaled)", "strain magnitude", "28x28 input (RGB = u, v, strain)")
    for r, m in enumerate(methods, start=1):
        flow = estimate_flow(m, onset, apex)
        chans = [flow[..., 0], flow[..., 1], strain.strain_magnitude(flow)]
        for c, img in enumerate(chans):
            axes[r, c].imshow(strain.minmax(img), cmap="gray")
        axes[r, 3].imshow(strain.stst_image(flow))
        axes[r, 0].set_ylabel(m, fontsize=9)
        if r == 1:
            for c, name in enumerate(columns):
                axes[r, c].set_title(name, fontsize=8)
    for a in axes.ravel():
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle(title, fontsize=9)
    plt.close(fig)
    return fig


def figure3(comparison, methods: Sequence[str] | None = None) -> Figure3:
    """Fig. 3 from the real clips: the clip whose TV-L1 features best match the published image.

    Parameters
    ----------
    comparison : faceflow.studies.micro_expressions.tables.ClipComparison
        The clips' onset/apex crops and their comparison with the published images.
    methods : sequence of str, optional
        Flow methods, one row each; default every method of ``comparison``.

    Returns
    -------
    Figure3
        With a placeholder figure and ``missing`` set when the comparison could not run.
    """
    if comparison.table is None:
        return Figure3(placeholder_figure(), NOT_AVAILABLE, [], dict(comparison.missing))
    methods = list(methods or comparison.features)
    best = comparison.table[["r_u", "r_v", "r_strain"]].mean(axis=1).idxmax()
    pair = next(p for p in comparison.pairs if p.name == best)
    title = f"{pair.name} ({pair.dataset}): onset = frame 0, apex = frame {pair.apex_index} of {pair.n_frames}"
    return Figure3(features_figure(pair.onset, pair.apex, methods, title), pair.name, methods)
