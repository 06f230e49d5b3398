"""Small helpers shared by the chapter notebooks (kept here so notebooks stay thin).

A chapter starts with :func:`setup`, which turns the papermill parameters into a
:class:`Chapter`: the resolved data root (or the reason it is missing), the output folder for
cached results, the seed and the torch device. :meth:`Chapter.missing` renders a visible note in
the page instead of failing when data is absent.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from faceflow import profiles
from faceflow.io.datasets import missing_root_reason, root_or_none
from faceflow.runtime import resolve_device, seed_everything


@dataclass
class Chapter:
    name: str
    profile: str
    data_root: Path | None
    data_error: str | None
    output_dir: Path
    seed: int
    device: str
    settings: profiles.Profile

    @property
    def outputs(self) -> profiles.OutputLayout:
        """The profile's output layout (``outputs/<profile>``)."""
        return profiles.OutputLayout(self.output_dir.parent)

    def missing(self, what: str, reason: str) -> None:
        """Show a visible 'not available' note in the rendered page."""
        show_note(f"**{what} not available.** {reason}", kind="warning")

    def report(self, *results) -> None:
        """Show a 'not available' note for every ``(what, why)`` in each result's ``missing`` dict.

        Package functions that may not be able to run a part (data absent, weights absent) return
        a result with a ``missing: dict[str, str]`` attribute; this is the one place a chapter
        turns those into visible notes.
        """
        for result in results:
            for what, why in getattr(result, "missing", {}).items():
                self.missing(what, why)


def setup(
    name: str,
    profile: str = "default",
    data_root: str | None = None,
    output_dir: str | None = None,
    seed: int = 0,
    device: str = "auto",
) -> Chapter:
    """Resolve a chapter's parameters. Never raises for a missing data root: records why."""
    quiet_widget_fallback()
    settings = profiles.get(profile)
    root, err = root_or_none(data_root), missing_root_reason(data_root)
    out = profiles.outputs(profile, output_dir).chapter(name)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(seed)
    return Chapter(name, profile, root, err, out, int(seed), resolve_device(device), settings)


#: The start of tqdm's warning that a notebook kernel has no ipywidgets (tqdm.notebook.WARN_NOIPYW).
WIDGET_FALLBACK_WARNING = "IProgress not found"


def quiet_widget_fallback() -> None:
    """Keep tqdm's "IProgress not found" warning out of the chapter's page.

    In a notebook kernel without ipywidgets, the first ``import tqdm.auto`` warns that it falls
    back to text bars, with the path of the tqdm package in the message. The chapters show no
    bars (each passes ``progress=False``), so the fallback changes nothing a reader sees; only
    that one message of that one category is ignored, every other warning still shows.
    """
    from tqdm import TqdmWarning

    warnings.filterwarnings("ignore", message=WIDGET_FALLBACK_WARNING, category=TqdmWarning)


def show_note(markdown: str, kind: str = "note") -> None:
    """Display a MyST admonition-like note (rendered as HTML in the page)."""
    import html as _html

    from IPython.display import HTML, display

    css = {"note": "#e7f2fa", "warning": "#fff3cd"}.get(kind, "#eee")
    body = _html.escape(markdown).replace("**", "")
    display(
        HTML(
            f'<div class="faceflow-{kind}" style="background:{css};padding:0.6em 1em;'
            f'border-left:4px solid #888;margin:0.5em 0">{body}</div>'
        )
    )


def glue(name: str, value, display: bool = False) -> None:
    """Bind a computed value (number, DataFrame, figure) to ``name`` for ``{glue}`` references.

    Returns None so that a trailing call does not echo the value into the page. A matplotlib
    figure is closed once glued, so that it is shown only where the page references it.
    """
    from myst_nb import glue as _glue

    _glue(name, value, display=display)
    if type(value).__name__ == "Figure" and type(value).__module__.startswith("matplotlib"):
        import matplotlib.pyplot as plt

        plt.close(value)


def glue_many(prefix: str, values: dict) -> None:
    """:func:`glue` every ``{key: value}`` as ``<prefix>_<key>`` (a package result's summary values).

    Parameters
    ----------
    prefix : str
    values : dict
    """
    for key, value in values.items():
        glue(f"{prefix}_{key}", value)


def fmt(x: float, digits: int = 4) -> str:
    """Format a number for glue-ing into prose."""
    return f"{x:.{digits}f}"
