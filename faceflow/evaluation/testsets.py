"""The face test sets of Tables 2-3: the held-out test split and the held-out face source.

The split is rebuilt from the options stored in the trained networks' configs
(:func:`split_options`), so the test pairs are exactly those the networks never saw.
:func:`load_test_sets` is what chapter 04 calls: the real face test sets when the face dataset is
(or can be made) here, else generated face pairs, labelled as such.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from faceflow import paper, profiles
from faceflow.flow.synthetic import generated_face_pairs
from faceflow.groundtruth.dataset import MANIFEST, OPENFACE_HELD_OUT, ensure_face_dataset, manifest_refs, read_manifest
from faceflow.groundtruth.splits import SplitOptions, evenly_spaced
from faceflow.io.datasets import DATASETS, locate
from faceflow.methods.flownets_checkpoints import checkpoint_status


def split_options(runs_dir: str | Path) -> SplitOptions | None:
    """The face split options our networks were trained with, or None when no run is there.

    Read from the config of the first experiment checkpoint found under ``runs_dir`` so the
    test split is exactly the one held out from training.

    Parameters
    ----------
    runs_dir : path-like
        A runs folder (``<runs_dir>/<experiment>/last.pt``).

    Returns
    -------
    SplitOptions or None
    """
    for exp in paper.EXPERIMENTS:
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
        set is every usable pair held out of the three splits (the subject table's ``cross``
        people, or the ``exclude`` sequences: the held-out face source, the paper's CK+ role).
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
    if parts.held_out is not None and len(parts.held_out):
        sets["held-out source"] = evenly_spaced(manifest_refs(parts.held_out), max_pairs)
    from tqdm.auto import tqdm

    loaded = {}
    for k, refs in sets.items():
        if refs:
            loaded[k] = [r.load() for r in tqdm(refs, desc=f"{k}: loading pairs", disable=not progress, leave=False)]
    return loaded, parts.note


@dataclass
class TestSets:
    """The face test sets of Table 3 and how they were made.

    Attributes
    ----------
    sets : dict of str to list of FlowPair
        Loaded pairs of each test set, in order.
    note : str
        The split's note (or "generated pairs, no split").
    generated : bool
        True when the real face data is absent and the sets are generated face pairs.
    face_dir : pathlib.Path
        The ``faceflow gt`` dataset the sets come from.
    split : SplitOptions
        The split of the face dataset (held-out sequences, shares, seed).
    missing : dict of str to str
        What is not available, and why.
    """

    sets: dict[str, list]
    note: str
    generated: bool
    face_dir: Path
    split: SplitOptions = field(default_factory=SplitOptions)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def exclude(self) -> tuple[str, ...]:
        """Sequences held out of the split (the cross-dataset source).

        Returns
        -------
        tuple of str
        """
        return self.split.exclude

    @property
    def first_pair(self):
        """The first pair of the first set (the pair the runtime table times).

        Returns
        -------
        FlowPair
        """
        return next(iter(self.sets.values()))[0]

    def label(self, name: str) -> str:
        """``name`` of a set, marked GENERATED when the sets are generated.

        Parameters
        ----------
        name : str
            A set's name.

        Returns
        -------
        str
        """
        return f"{name} (GENERATED)" if self.generated else name

    def summary(self) -> pd.DataFrame:
        """One row per set: pairs, image size (WxH) and mean ground-truth magnitude (px, 4 decimals).

        Returns
        -------
        pandas.DataFrame
            Index ``test set``.
        """
        rows = [
            (
                name,
                len(pairs),
                f"{pairs[0].img1.shape[1]}x{pairs[0].img1.shape[0]}",
                round(float(np.mean([np.linalg.norm(p.flow, axis=-1).mean() for p in pairs])), 4),
            )
            for name, pairs in self.sets.items()
        ]
        return pd.DataFrame(rows, columns=["test set", "pairs", "size (WxH)", "mean GT magnitude (px)"]).set_index(
            "test set"
        )


def load_test_sets(
    face_dir: str | os.PathLike,
    runs_dir: str | os.PathLike,
    data_root: str | os.PathLike | None,
    settings: profiles.Profile,
    seed: int = 0,
    default_split: SplitOptions | None = None,
) -> TestSets:
    """The face test sets of Table 3: real when the face dataset is here or can be made, else generated.

    The face dataset in ``face_dir`` is used as it is; when it is absent and the OpenFace samples
    are under the data root, it is generated first (:func:`ensure_face_dataset`, with the
    profile's ``groundtruth.max_frames``). The split is the one our networks were trained with
    (:func:`split_options` of ``runs_dir``), else ``default_split``, else the split holding out
    :data:`OPENFACE_HELD_OUT`. Each set keeps the profile's ``baselines.max_pairs`` evenly spaced
    pairs. Without real face data the sets are ``baselines.generated_pairs`` generated face pairs
    with exact ground truth, and ``missing`` says so.

    Parameters
    ----------
    face_dir : path-like
        A ``faceflow gt`` output folder.
    runs_dir : path-like
        The face runs folder whose configs hold the split options.
    data_root : path-like or None
        The data root (for generating the face dataset).
    settings : faceflow.profiles.Profile
        The profile's settings.
    seed : int
        Seed of the generated stand-in.
    default_split : SplitOptions, optional
        The split when no trained run records one (:func:`faceflow.studies.baselines.face_source` gives the corpus's).

    Returns
    -------
    TestSets
    """
    face_dir = Path(face_dir)
    missing: dict[str, str] = {}
    sets, note = {}, ""
    split = split_options(runs_dir) or default_split or SplitOptions(tuple(OPENFACE_HELD_OUT))
    if not (face_dir / MANIFEST).is_file():
        if data_root is None or locate("openface", data_root) is None:
            missing["Face ground-truth dataset"] = (
                f"{face_dir / MANIFEST} does not exist and the OpenFace samples to make it are not under the "
                f"data root {data_root}. {DATASETS['openface'].hint}"
            )
        else:
            ensure_face_dataset(data_root, face_dir, max_frames=settings.groundtruth.max_frames)
    if (face_dir / MANIFEST).is_file():
        sets, note = face_test_sets(face_dir, split, settings.baselines.max_pairs)
    if sets:
        return TestSets(sets, note, False, face_dir, split, missing)
    missing["Real face test set"] = (
        "This page falls back to GENERATED face pairs (the astronaut image with exact global, local and "
        "mixed motion). Their numbers only show that the pipeline works."
    )
    generated = {"generated faces": generated_face_pairs(settings.baselines.generated_pairs, seed=seed)}
    return TestSets(generated, "generated pairs, no split", True, face_dir, split, missing)
