"""Train/val/test splits of a face ground-truth manifest that keep people apart (Sec. 4.3).

Two ways to split:

* **The subject table** (:func:`table_split`, ``SplitOptions(table=...)``): for the face corpus,
  each sequence's subject has a split in the project's reviewed table
  (:func:`faceflow.io.datasets.face_subjects`): train/val/test (30/8/4 people, about 70/20/10 as
  the paper's 228k/65k/32k pairs) and ``cross``, the MEAD studio people held out whole as the
  cross-dataset set (the role of CK+ in Table 2).
* **Seeded assignment** (:func:`split_faces`): with at least three subjects, whole subjects go to
  one split; with fewer, whole sequences; with fewer still, contiguous blocks in time.

Either way the held-out sequences (``exclude``, or the ``cross`` subjects) are in no split and
come back as :attr:`FaceSplit.held_out`. :func:`evenly_spaced` caps a list of pairs for the small
profiles.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

#: Train/val/test shares of subjects (the default of every split in faceflow): the paper's
#: 228k/65k/32k pairs (Sec. 4.3.2) are 70/20/10.
DEFAULT_FRACTIONS = (0.7, 0.2, 0.1)
#: The shares a run config without ``fractions`` was split with (the default before 70/20/10).
LEGACY_FRACTIONS = (0.7, 0.15, 0.15)


def evenly_spaced(items: list, cap: int | None) -> list:
    """At most ``cap`` items, evenly spaced (first and last kept); all of them when ``cap`` is falsy.

    Parameters
    ----------
    items : list
    cap : int or None

    Returns
    -------
    list
    """
    if not cap or len(items) <= cap:
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, cap).round().astype(int)]


@dataclass
class FaceSplit:
    train: object
    val: object
    test: object
    level: str  # "subject", "sequence", "block" or "table"
    note: str
    held_out: object = None  # rows of the held-out sequences (exclude / cross subjects)

    def sizes(self) -> dict:
        """Pairs per split.

        Returns
        -------
        dict
            ``{"train": n, "val": n, "test": n}``.
        """
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def _assign_groups(sizes: dict, fractions, seed: int) -> dict:
    """Greedy: groups in a seeded order, each to the split furthest below its target share."""
    rng = np.random.default_rng(seed)
    names = sorted(sizes)
    rng.shuffle(names)
    # largest groups first so the targets can be met; ties broken by the seeded order
    names = sorted(names, key=lambda n: -sizes[n])
    total = sum(sizes.values())
    filled = {s: 0 for s in ("train", "val", "test")}
    target = dict(zip(("train", "val", "test"), fractions))
    out = {}
    order = ["train", "test", "val"]
    for i, n in enumerate(names):
        if i < 3:  # every split gets at least one group (callers pass three or more)
            split = order[i]
        else:
            split = max(filled, key=lambda s: target[s] * total - filled[s])
        out[n] = split
        filled[split] += sizes[n]
    return out


def split_faces(df, fractions=DEFAULT_FRACTIONS, seed: int = 0, exclude: list[str] | None = None) -> FaceSplit:
    """Train/val/test splits of a face manifest that keep subjects and sequences apart.

    With at least three subjects, whole subjects go to one split (so their sequences do too).
    With fewer subjects but at least three sequences, whole sequences do (subjects may then be
    shared; the ``note`` says so). With fewer, each sequence is cut into three contiguous
    blocks in time (pairs of one block never neighbour another block's pairs except at the cut).

    Parameters
    ----------
    df : pandas.DataFrame
        A manifest (:func:`~faceflow.groundtruth.dataset.read_manifest`); only ``ok`` rows are split.
    fractions : (float, float, float)
        Train, val and test shares, summing to 1.
    seed : int
        Seed of the group assignment.
    exclude : list of str, optional
        Sequences (exact names or names without extension) held out of all three splits,
        e.g. the cross-dataset source.

    Returns
    -------
    FaceSplit

    Raises
    ------
    ValueError
        Bad fractions, or fewer than 3 usable pairs.
    """
    if abs(sum(fractions) - 1) > 1e-6 or len(fractions) != 3:
        raise ValueError(f"fractions must be three numbers summing to 1, got {fractions}")
    df = df.copy()
    held = df.iloc[0:0]
    if exclude:
        ex = set(exclude) | {os.path.splitext(e)[0] for e in exclude}
        keep = [s not in ex and os.path.splitext(s)[0] not in ex for s in df["sequence"]]
        held = df[[not k for k in keep]].reset_index(drop=True)
        df = df[keep]
    if len(df) < 3:
        raise ValueError(f"only {len(df)} usable face pairs; need at least 3 for train/val/test")
    subjects = df["subject"].fillna("").astype(str)
    n_subj = subjects.nunique()
    n_seq = df["sequence"].nunique()
    if n_subj >= 3:
        level, key = "subject", subjects
        note = f"{n_subj} subjects: each subject (and so each of its sequences) is in one split only."
    elif n_seq >= 3:
        level, key = "sequence", df["sequence"].astype(str)
        note = (
            f"only {n_subj} subject(s) but {n_seq} sequences: whole sequences are assigned to one split; "
            "the same person can appear in several splits."
        )
    else:
        level = "block"
        note = (
            f"only {n_subj} subject(s) and {n_seq} sequence(s): each sequence is cut into contiguous "
            "train/val/test blocks in time; subjects and sequences are NOT kept apart."
        )
        parts = {"train": [], "val": [], "test": []}
        for _, g in df.groupby("sequence", sort=True):
            n = len(g)
            a = max(1, int(round(n * fractions[0])))
            b = max(a + 1, int(round(n * (fractions[0] + fractions[1]))))
            parts["train"].append(g.iloc[:a])
            parts["val"].append(g.iloc[a:b])
            parts["test"].append(g.iloc[b:])
        import pandas as pd

        out = (pd.concat(parts[s]).reset_index(drop=True) for s in ("train", "val", "test"))
        return FaceSplit(*out, level, note, held)
    sizes = key.value_counts().to_dict()
    assign = _assign_groups(sizes, fractions, seed)
    split_of = key.map(assign)
    out = [df[split_of == s].reset_index(drop=True) for s in ("train", "val", "test")]
    return FaceSplit(*out, level, note, held)


def table_digest(table) -> str:
    """A short hash of a subject table's clip, subject, split and exclude columns.

    Stored in a run's config (``SplitOptions.table``) so that a run trained with another table is
    never evaluated on a split it may have seen.

    Parameters
    ----------
    table : pandas.DataFrame
        A subject table (columns ``clip``, ``subject``, ``split``, ``exclude`` as text).

    Returns
    -------
    str
        12 hex digits.
    """
    import hashlib

    h = hashlib.sha1()
    for r in table[["clip", "subject", "split", "exclude"]].itertuples(index=False):
        h.update("\t".join(r).encode() + b"\n")
    return h.hexdigest()[:12]


def table_split(df, table) -> FaceSplit:
    """Train/val/test of a face-corpus manifest by the subject table's ``split`` of each sequence's subject.

    Parameters
    ----------
    df : pandas.DataFrame
        Manifest rows (:func:`faceflow.groundtruth.dataset.read_manifest`).
    table : pandas.DataFrame
        The subject table (:func:`faceflow.io.datasets.face_subjects`).

    Returns
    -------
    FaceSplit
        ``level == "table"``; ``held_out`` holds the ``cross`` subjects' rows. Rows of subjects
        the table does not list are in no split (the note counts them).

    Raises
    ------
    ValueError
        A subject of the manifest has two splits in the table, or a split is empty.
    """
    split_of = table.drop_duplicates("subject").set_index("subject")["split"]
    per = table.groupby("subject")["split"].nunique()
    if (per > 1).any():
        raise ValueError(f"subject {per[per > 1].index[0]} has clips in several splits of the subject table")
    key = df["subject"].map(split_of).fillna("")
    parts = {s: df[key == s].reset_index(drop=True) for s in ("train", "val", "test", "cross")}
    empty = [s for s in ("train", "val", "test") if parts[s].empty]
    if empty:
        raise ValueError(f"no usable pair of a {'/'.join(empty)} subject in the manifest")
    n = {s: parts[s]["subject"].nunique() for s in parts}
    unknown = int((key == "").sum())
    note = (
        f"subject table: {n['train']}/{n['val']}/{n['test']} people in train/val/test, "
        f"{n['cross']} held out whole (cross-dataset set); no person is in two splits"
        + (f"; {unknown} pairs of subjects the table does not list are left out" if unknown else "")
        + "."
    )
    return FaceSplit(parts["train"], parts["val"], parts["test"], "table", note, parts["cross"])


@dataclass(frozen=True)
class SplitOptions:
    """How a face manifest is split: held-out sequences, shares and seed.

    Stored in a training run's config under ``data`` (keys ``exclude``, ``fractions``,
    ``split_seed``), so evaluation can rebuild exactly the test split a network never saw.
    """

    exclude: tuple[str, ...] = ()
    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS
    seed: int = 0
    table: str = ""

    @classmethod
    def from_data(cls, data: dict | None) -> SplitOptions:
        """Read the options from a run config's ``data`` dict.

        Absent keys take the defaults, except ``fractions``: a config without it was written
        before the default became 70/20/10 and was split with :data:`LEGACY_FRACTIONS`.

        Parameters
        ----------
        data : dict or None

        Returns
        -------
        SplitOptions
        """
        data = data or {}
        return cls(
            tuple(data.get("exclude") or ()),
            tuple(data.get("fractions") or LEGACY_FRACTIONS),
            int(data.get("split_seed", 0)),
            str(data.get("subject_table", "")),
        )

    def to_data(self) -> dict:
        """The ``data`` entries of a run config that :meth:`from_data` reads back.

        Returns
        -------
        dict
            ``exclude``, ``fractions`` and, when set, ``split_seed`` and ``subject_table``.
        """
        out: dict = {"exclude": list(self.exclude), "fractions": list(self.fractions)}
        if self.seed:
            out["split_seed"] = self.seed
        if self.table:
            out["subject_table"] = self.table
        return out

    def split(self, manifest) -> FaceSplit:
        """:func:`table_split` with the project's subject table when ``table`` is set, else :func:`split_faces`.

        Parameters
        ----------
        manifest : pandas.DataFrame

        Returns
        -------
        FaceSplit

        Raises
        ------
        ValueError
            ``table`` is not the digest of the project's current subject table (the run was
            trained with another one).
        """
        if self.table:
            from faceflow.io.datasets import FACE_SUBJECTS, face_subjects

            subjects = face_subjects()
            if table_digest(subjects) != self.table:
                raise ValueError(
                    f"{FACE_SUBJECTS} has changed since this split was made (digest {table_digest(subjects)}, "
                    f"expected {self.table}); retrain, or restore the table"
                )
            return table_split(manifest, subjects)
        return split_faces(manifest, self.fractions, self.seed, list(self.exclude) or None)
