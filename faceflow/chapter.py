"""Small helpers shared by the chapter notebooks (kept here so notebooks stay thin).

A chapter starts with :func:`setup`, which turns the papermill parameters into a
:class:`Chapter`: the resolved data root (or the reason it is missing), the output folder for
cached results, the seed and the torch device. :meth:`Chapter.missing` renders a visible note in
the page instead of failing when data is absent.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faceflow.bookbuild import PROFILES
from faceflow.data import DataNotFoundError, resolve_root


@dataclass
class Chapter:
    name: str
    profile: str
    data_root: Path | None
    data_error: str | None
    output_dir: Path
    seed: int
    device: str

    def pick(self, smoke, default, full=None):
        """Choose a value by profile (``full`` falls back to ``default``)."""
        return {"smoke": smoke, "default": default, "full": default if full is None else full}[self.profile]

    def missing(self, what: str, reason: str) -> None:
        """Show a visible 'not available' note in the rendered page."""
        show_note(f"**{what} not available.** {reason}", kind="warning")


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when available, else ``cpu``; validates explicit choices."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device='cuda' requested but torch sees no CUDA device")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def setup(
    name: str,
    profile: str = "default",
    data_root: str | None = None,
    output_dir: str | None = None,
    seed: int = 0,
    device: str = "auto",
) -> Chapter:
    """Resolve a chapter's parameters. Never raises for a missing data root: records why."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    try:
        root, err = resolve_root(data_root), None
    except DataNotFoundError as exc:
        root, err = None, str(exc)
    out = Path(output_dir or os.environ.get("FACEFLOW_OUTPUT", "") or Path("outputs") / profile)
    out = out.expanduser().resolve() / name
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(seed)
    return Chapter(name, profile, root, err, out, int(seed), resolve_device(device))


def show_note(markdown: str, kind: str = "note") -> None:
    """Display a MyST admonition-like note (rendered as HTML in the page)."""
    from IPython.display import HTML, display

    import html as _html

    css = {"note": "#e7f2fa", "warning": "#fff3cd"}.get(kind, "#eee")
    body = _html.escape(markdown).replace("**", "")
    display(HTML(f'<div class="faceflow-{kind}" style="background:{css};padding:0.6em 1em;'
                 f'border-left:4px solid #888;margin:0.5em 0">{body}</div>'))


def glue(name: str, value, display: bool = False) -> None:
    """Bind a computed value (number, DataFrame, figure) to ``name`` for ``{glue}`` references.

    Returns None so that a trailing call does not echo the value into the page.
    """
    from myst_nb import glue as _glue

    _glue(name, value, display=display)


def fmt(x: float, digits: int = 4) -> str:
    """Format a number for glue-ing into prose."""
    return f"{x:.{digits}f}"
