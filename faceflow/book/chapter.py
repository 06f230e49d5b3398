"""Small helpers shared by the chapter notebooks (kept here so notebooks stay thin).

A chapter starts with :func:`setup`, which turns the papermill parameters into a
:class:`Chapter`: the data root resolved once (:class:`~faceflow.io.datasets.DataRoot`: its
path, or the reason it is missing), the output folder for
cached results, the seed and the torch device. :meth:`Chapter.missing` renders a visible note in
the page instead of failing when data is absent.

A chapter launched from the book (Binder: the repository's ``start`` script sets
``$FACEFLOW_FETCH``) first downloads the sample data it reads (:data:`CHAPTER_DATA`) into its data
root, the files that are not already there (:func:`fetch_chapter_data`, the function behind
``faceflow data fetch --only ...``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from faceflow import profiles
from faceflow.io.datasets import DataRoot
from faceflow.runtime import resolve_device, seed_everything


@dataclass
class Chapter:
    """A chapter's resolved parameters; ``root`` is its data root, resolved once by :func:`setup`."""

    name: str
    profile: str
    root: DataRoot
    output_dir: Path
    seed: int
    device: str
    settings: profiles.Profile

    @property
    def data_root(self) -> Path | None:
        """The data root's absolute path, or None when it is missing (``DataRoot.path``)."""
        return self.root.path

    @property
    def data_error(self) -> str | None:
        """Why the data root is missing, or None when it is there (``DataRoot.missing``)."""
        return self.root.missing

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


#: Set to ``1`` (as the repository's Binder ``start`` script does), :func:`setup` downloads the
#: chapter's sample data that its data root lacks.
FETCH_ENV = "FACEFLOW_FETCH"

#: The sample data each chapter reads, as ``faceflow data fetch --only`` names (folders of the
#: registry ``faceflow/io/samples.csv``).
CHAPTER_DATA: dict[str, tuple[str, ...]] = {
    "00_data_tour": ("openface", "sintel", "flyingchairs"),
    "01_ground_truth": ("openface", "dlib_faces", "flyingchairs"),
    "02_flownets": ("faces", "openface", "sintel", "flyingchairs"),
    "03_ablations": ("faces", "openface", "sintel", "flyingchairs"),
    "04_baselines": ("faces", "openface", "sintel", "flyingchairs", "weights"),
    "05_micro_expressions": ("mer", "dlib_faces", "openface"),
}


def fetch_chapter_data(name: str, data_root: DataRoot | str | os.PathLike | None = None, progress: bool = True):
    """Download the sample data chapter ``name`` reads into the data root; files already there
    (with the right sha256) are not downloaded again.

    Parameters
    ----------
    name : str
        A chapter of :data:`CHAPTER_DATA`.
    data_root : DataRoot or path-like, optional
        The data root (created when missing); default ``$FACEFLOW_DATA`` or ``./data``.
    progress : bool
        Say what is downloaded, with a progress bar.

    Returns
    -------
    faceflow.io.fetch.FetchReport
        Files downloaded, already present, and failed (with the reason).

    Raises
    ------
    ValueError
        ``name`` is not a chapter of :data:`CHAPTER_DATA`.
    """
    from faceflow.io import fetch

    if name not in CHAPTER_DATA:
        raise ValueError(f"no sample data listed for chapter {name!r}; chapters: {', '.join(CHAPTER_DATA)}")
    return fetch.fetch(DataRoot.of(data_root).location, only=CHAPTER_DATA[name], progress=progress)


def setup(
    name: str,
    profile: str = "default",
    data_root: str | None = None,
    output_dir: str | None = None,
    seed: int = 0,
    device: str = "auto",
    fetch: bool | None = None,
) -> Chapter:
    """Resolve a chapter's parameters. Never raises for a missing data root: records why.

    Parameters
    ----------
    name : str
        The chapter (``00_data_tour`` ...).
    profile : str
        ``smoke``, ``default`` or ``full``.
    data_root : str, optional
        The data root; default ``$FACEFLOW_DATA`` or ``./data``. Resolved here once
        (:meth:`~faceflow.io.datasets.DataRoot.resolve`): ``ch.root``.
    output_dir : str, optional
        Cached results; default ``outputs/<profile>``.
    seed : int
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    fetch : bool, optional
        First download the chapter's sample data that the data root lacks
        (:func:`fetch_chapter_data`); default: whether ``$FACEFLOW_FETCH`` is ``1``. A file that
        cannot be downloaded is shown as a note; the chapter then runs on what it has.

    Returns
    -------
    Chapter
    """
    quiet_widget_fallback()
    if fetch is None:
        fetch = os.environ.get(FETCH_ENV) == "1"
    root = DataRoot.resolve(data_root)
    fetched = fetch_chapter_data(name, root) if fetch else None
    if fetched is not None:
        root = root.rechecked()  # the download may have created the folder
    settings = profiles.get(profile)
    out = profiles.outputs(profile, output_dir).chapter(name)
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(seed)
    ch = Chapter(name, profile, root, out, int(seed), resolve_device(device), settings)
    if fetched is not None and fetched.failed:
        first = next(iter(fetched.failed.items()))
        ch.missing(
            "Part of the sample data",
            f"{len(fetched.failed)} files could not be downloaded (first: {first[0]}: {first[1]}); "
            f"`faceflow data fetch --only {' '.join(CHAPTER_DATA[name])}` retries them.",
        )
    return ch


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
