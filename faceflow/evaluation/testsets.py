"""The face test sets of Tables 2-3: the held-out test split and the held-out face source.

The split is rebuilt from the options stored in the trained networks' configs
(:func:`split_options`), so the test pairs are exactly those the networks never saw.
"""

from __future__ import annotations

from pathlib import Path

from faceflow.groundtruth.dataset import manifest_refs, read_manifest
from faceflow.groundtruth.splits import SplitOptions, evenly_spaced
from faceflow.training.checkpoints import checkpoint_status
from faceflow.training.experiments import NAMES


def split_options(runs_dir: str | Path) -> SplitOptions | None:
    """The face split options our networks were trained with, or None when no run is there.

    Read from the config of the first experiment checkpoint found under ``runs_dir`` so the
    test split is exactly the one held out from training.
    """
    for exp in NAMES:
        st = checkpoint_status(Path(runs_dir) / exp / "last.pt")
        if st is not None:
            return SplitOptions.from_data((st["config"] or {}).get("data"))
    return None


def face_test_sets(
    face_dir: str | Path, split: SplitOptions | None = None, max_pairs: int | None = None, progress: bool = False
) -> tuple[dict[str, list], str]:
    """The face test pairs (loaded): ``{"faces test": [...], "held-out source": [...]}`` and a note.

    Parameters
    ----------
    face_dir : path-like
        A ``faceflow gt`` output folder.
    split : SplitOptions, optional
        The options the networks were trained with (:func:`split_options`); the cross-dataset
        set is every usable pair of the ``exclude`` sequences (the held-out face source, the
        paper's CK+ role).
    max_pairs : int, optional
        Keep this many evenly spaced pairs of each set.
    progress : bool
        A tqdm bar per set while its pairs load.

    Returns
    -------
    (dict, str)
        The loaded pairs of each non-empty set, and the split's note.
    """
    split = split or SplitOptions()
    df = read_manifest(face_dir, usable_only=True, absolute=True)
    parts = split.split(df)
    sets = {"faces test": evenly_spaced(manifest_refs(parts.test), max_pairs)}
    if split.exclude:
        names = set(split.exclude) | {Path(e).stem for e in split.exclude}
        held = df[[s in names or Path(s).stem in names for s in df["sequence"]]]
        if len(held):
            sets["held-out source"] = evenly_spaced(manifest_refs(held), max_pairs)
    from tqdm.auto import tqdm

    loaded = {}
    for k, refs in sets.items():
        if refs:
            loaded[k] = [r.load() for r in tqdm(refs, desc=f"{k}: loading pairs", disable=not progress, leave=False)]
    return loaded, parts.note
