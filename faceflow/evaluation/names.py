"""The names the book's tables print for registered flow methods."""

from __future__ import annotations

from faceflow.methods.pretrained import FINETUNED_NAME, PRETRAINED

#: Registry name -> name printed in the tables (the paper's spelling where it has one).
DISPLAY = {
    "farneback": "Farneback",
    "tvl1": "TV-L1",
    "dis": "DIS",
    "zero": "zero flow",
    **{n.name: n.label for n in PRETRAINED.values()},
    FINETUNED_NAME: "RAFT-small fine-tuned on faces (ours)",
}


def display_name(method: str) -> str:
    """The name a table prints for a registry name.

    Parameters
    ----------
    method : str
        A registry name.

    Returns
    -------
    str
        Its entry in :data:`DISPLAY`, else ``method`` itself.
    """
    return DISPLAY.get(method, method)
