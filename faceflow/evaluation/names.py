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


def listed(items, empty: str = "") -> str:
    """Names joined as a sentence lists them: ``a``, ``a and b``, ``a, b and c``.

    Parameters
    ----------
    items : iterable of str
    empty : str
        What an empty list reads as.

    Returns
    -------
    str

    Examples
    --------
    >>> listed(["SAMM", "SMIC", "CASME II"])
    'SAMM, SMIC and CASME II'
    >>> listed([display_name("raft-small")])
    'RAFT-small (C+T)'
    >>> listed([], empty="none of them")
    'none of them'
    """
    items = list(items)
    if not items:
        return empty
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
