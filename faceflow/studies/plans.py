"""What the book trains: the face data of the chapters, the Table 1 networks and the Table 2 setups.

Each function turns a profile (:mod:`faceflow.profiles`) into configurations, datasets and cached
training runs, and says in a ``missing`` dict what could not be done (data absent) instead of
raising. The chapters call them once per step:

* :func:`face_data`: the face ground truth (generated once with ``faceflow gt``) and its split;
* :func:`table1_setup` / :func:`table2_setup`: the run configurations and the test sets of
  Table 1 (Exp. 1 on faces, FlyingChairs, Sintel) and Table 2 (the five setups of Sec. 4.3);
* :func:`train_runs`: every run of a setup trained or reused (``outputs/<profile>/runs/...``);
* :func:`scale_table`: what a profile scales down relative to the paper.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from faceflow import profiles
from faceflow.groundtruth.dataset import ensure_face_dataset, faces_dataset, read_manifest
from faceflow.groundtruth.splits import SplitOptions, table_digest
from faceflow.io.datasets import DataRoot, face_subjects
from faceflow.methods.flownets_checkpoints import load_checkpoint
from faceflow.studies.flownets import zero_flow_epe
from faceflow.training import datasets, experiments
from faceflow.training.experiments import TrainConfig
from faceflow.training.loop import ensure_trained

#: Table 1's training and test sets: (train-set key, label).
TABLE1_SETS = (("faces", "Faces"), ("chairs", "FlyingChairs"), ("sintel", "Sintel"))
#: Row of the face-trained Exp. 1 with the masked loss (beyond the paper, labelled as ours).
MASKED_LABEL = "Faces, masked loss (ours)"


@dataclass
class FaceData:
    """The face ground truth the chapters train and test on.

    ``face_dir``: a ``faceflow gt`` folder (None when it could not be made); ``split``: how its
    manifest is split (the subject table for the corpus; its ``cross`` people, or the ``exclude``
    sequences, are the held-out cross-dataset source); ``note`` and ``sizes``: the split's
    description and the pairs per split; ``extra_dir``: the OpenFace samples' ground truth, an
    extra test source of other people (None when absent).
    """

    face_dir: Path | None
    split: SplitOptions
    note: str = ""
    sizes: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)
    extra_dir: Path | None = None

    @property
    def ready(self) -> bool:
        return self.face_dir is not None

    def run_data(self) -> dict:
        """The ``data`` dict of a training config on these faces."""
        return self.split.to_data()


def given_root(data_root) -> DataRoot | None:
    """``data_root`` resolved once for a study (:meth:`DataRoot.of`: a DataRoot passes unchanged).

    The studies read None as "no data root" (a chapter run without data), not as the
    environment's root, so None stays None.

    Parameters
    ----------
    data_root : DataRoot, path-like or None

    Returns
    -------
    DataRoot or None
    """
    return None if data_root is None else DataRoot.of(data_root)


def face_data(profile: str, data_root, outputs: profiles.OutputLayout, extra: bool = True) -> FaceData:
    """The ground truth of the face video corpus in ``outputs/datasets/faces``, made once (``faceflow gt``).

    The profile's ``groundtruth.corpus_frames`` and ``corpus_clips`` cap the frames per clip and
    the clips per split. The split is the project's subject table (people apart; the MEAD
    studio people held out whole as the cross-dataset set).

    Parameters
    ----------
    profile : str
    data_root : DataRoot, path-like or None
        Without the corpus under it, the result records why in ``missing``.
    outputs : OutputLayout
        Where the dataset is (or is written).
    extra : bool
        Also make (or reuse) the OpenFace samples' ground truth (``outputs/datasets/openface``,
        as chapter 01 writes it), an extra test source.

    Returns
    -------
    FaceData
    """
    gt = profiles.get(profile).groundtruth
    split = SplitOptions(table=table_digest(face_subjects()))
    root = given_root(data_root)
    if root is None or root.locate("faces") is None:
        why = "The face video corpus is not under the data root; the face rows and columns are not available."
        return FaceData(None, split, missing={"Face corpus": why})
    face_dir = faces_dataset(root, outputs.dataset("faces"), gt.corpus_frames, gt.corpus_clips)
    parts = split.split(read_manifest(face_dir, usable_only=True, absolute=True))
    sizes = dict(parts.sizes(), held_out=len(parts.held_out))
    extra_dir = None
    if extra and root.locate("openface") is not None:
        extra_dir = ensure_face_dataset(root, outputs.dataset("openface"), max_frames=gt.max_frames)
    return FaceData(face_dir, split, parts.note, sizes, extra_dir=extra_dir)


def sintel_scene_split(data_root) -> tuple[list[str], list[str]]:
    """Sintel (train, test) scenes: the last scene (alphabetically) is the test scene when there are several."""
    root = given_root(data_root)
    if root is None or root.locate("sintel") is None:
        return [], []
    scenes = datasets.sintel_scenes(root)
    if len(scenes) > 1:
        return scenes[:-1], scenes[-1:]
    return scenes, scenes


@dataclass
class Setup:
    """The runs of one table and the sets they are tested on.

    ``runs``: ``{label: [(config, run folder), ...]}`` (one entry per seed); ``test_sets``: ``{label: dataset}``;
    ``summary``: one row per dataset role (for the chapter's data table).
    """

    runs: dict
    test_sets: dict
    summary: pd.DataFrame
    face: FaceData
    resolution: tuple[int, int]
    missing: dict = field(default_factory=dict)
    references: dict = field(default_factory=dict)


def table1_setup(
    profile: str,
    data_root,
    outputs: profiles.OutputLayout,
    face: FaceData,
    seed: int = 0,
    overrides: dict | None = None,
) -> Setup:
    """Table 1: Exp. 1 trained on faces, FlyingChairs (or generated shapes) and Sintel, and their test sets.

    Parameters
    ----------
    profile : str
    data_root : DataRoot, path-like or None
    outputs : OutputLayout
        Runs go to ``runs/<train set>/Exp1``.
    face : FaceData
        From :func:`face_data`.
    seed : int
    overrides : dict, optional
        :class:`~faceflow.training.experiments.TrainConfig` fields that win over the profile's.

    Returns
    -------
    Setup
    """
    overrides = dict(overrides or {})
    p = profiles.get(profile).training
    missing = dict(face.missing)
    cfg0 = experiments.for_profile("Exp1", "faces", profile, data=face.run_data(), **overrides)
    test_sets, rows, references = {}, [], {}
    if face.ready:
        ds, split = datasets.face_datasets(
            face.face_dir,
            cfg0.resolution,
            face.split,
            max_pairs={"test": p.eval_pairs} if p.eval_pairs else None,
        )
        test_sets["Faces"] = ds["test"]
        val = datasets.PairDataset(ds["val"].items, cfg0.resolution)
        references = {
            "zero flow (faces val)": zero_flow_epe(val, cfg0.val_pairs),
            "zero flow on the valid mask (faces val)": zero_flow_epe(val, cfg0.val_pairs, valid_only=True),
        }
        rows.append(("Faces", "train / val", f"{face.sizes['train']} / {face.sizes['val']}", face.note))
    root = given_root(data_root)
    chairs_real = root is not None and datasets.chairs_is_full_release(root)
    if root is not None and root.locate("chairs") is not None:
        test_sets["FlyingChairs"] = datasets.chairs_dataset(root, cfg0.resolution, "val" if chairs_real else None)
    else:
        missing["FlyingChairs test pairs"] = "FlyingChairs is not under the data root."
    train_scenes, test_scenes = sintel_scene_split(root)
    if test_scenes:
        test_sets["Sintel"] = datasets.sintel_dataset(root, cfg0.resolution, passes=("clean",), scenes=test_scenes)
    else:
        missing["MPI-Sintel pairs"] = "MPI-Sintel is not under the data root."
    rows += [(name, "test", len(d), getattr(d, "label", "")) for name, d in test_sets.items()]
    shapes = "FlyingChairs" if chairs_real else datasets.SHAPES_LABEL
    rows.append(("FlyingChairs", "train", "real release" if chairs_real else f"{p.n_shapes} generated", shapes))
    if train_scenes:
        real = (root.location / "sintel" / "training").is_dir()
        note = "MPI-Sintel training" if real else "the data root's sample pairs only"
        rows.append(("Sintel", "train", ", ".join(train_scenes) + " (clean + final)", note))
    runs = {}
    for train_set, label in TABLE1_SETS:
        if (train_set == "faces" and not face.ready) or (train_set == "sintel" and not train_scenes):
            continue
        data = face.run_data() if train_set == "faces" else {}
        if train_set == "sintel":
            data["sintel_train_scenes"] = train_scenes
        runs[label] = []
        for k in range(p.seeds if train_set == "faces" else 1):
            cfg = experiments.for_profile("Exp1", train_set, profile, data=data, seed=seed + k, **overrides)
            runs[label].append((cfg, outputs.runs(train_set) / ("Exp1" if k == 0 else f"Exp1-seed{seed + k}")))
    if face.ready and p.masked_seeds:
        runs[MASKED_LABEL] = [
            (
                experiments.for_profile(
                    "Exp1", "faces", profile, data=face.run_data(), seed=seed + k, **_masked(overrides)
                ),
                outputs.runs("faces") / ("Exp1-masked" if k == 0 else f"Exp1-masked-seed{seed + k}"),
            )
            for k in range(p.masked_seeds)
        ]
    summary = pd.DataFrame(rows, columns=["dataset", "role", "pairs", "notes"])
    return Setup(runs, test_sets, summary, face, cfg0.resolution, missing, references)


def _masked(overrides: dict) -> dict:
    """``overrides`` with the masked loss switched on (every term over the valid mask)."""
    out = dict(overrides)
    out["loss"] = {**(overrides.get("loss") or {}), "masked": True}
    return out


def table2_setup(
    profile: str,
    outputs: profiles.OutputLayout,
    face: FaceData,
    seed: int = 0,
    variant: str = "text",
    overrides: dict | None = None,
) -> Setup:
    """Table 2: the five setups of Sec. 4.3 trained on faces, tested on the face test split and the held-out source.

    Parameters
    ----------
    profile : str
    outputs : OutputLayout
        Runs go to ``runs/faces/<experiment>`` (``runs/faces-code/...`` for ``variant="code"``).
    face : FaceData
        From :func:`face_data`; its ``exclude`` sequences are the held-out (cross-dataset) source.
    seed : int
    variant : {"text", "code"}
    overrides : dict, optional
        TrainConfig fields (and ``finetune_steps``) that win over the profile's.

    Returns
    -------
    Setup
    """
    overrides = dict(overrides or {})
    overrides["seed"] = seed
    p = profiles.get(profile).training
    test_sets, rows, runs = {}, [], {}
    missing = dict(face.missing)
    if face.ready:
        cap = p.eval_pairs
        ds, _ = datasets.face_datasets(face.face_dir, None, face.split, max_pairs={"test": cap, "held_out": cap})
        test_sets["faces test"] = ds["test"]
        test_sets["held-out source"] = ds["held_out"]
        if face.extra_dir is not None:
            test_sets["OpenFace samples"] = datasets.face_source_dataset(face.extra_dir, None, None, cap)
        rows = [(k, len(v), v.label) for k, v in test_sets.items()]
        rows += [("train", face.sizes["train"], "faces (train)"), ("val", face.sizes["val"], "faces (val)")]
        for name in experiments.NAMES:
            cfg = experiments.for_profile(name, "faces", profile, variant, data=face.run_data(), **overrides)
            runs[name] = [(cfg, outputs.runs("faces", variant) / name)]
    summary = pd.DataFrame(rows, columns=["set", "pairs", "what"])
    resolution = experiments.for_profile("Exp1", "faces", profile, **overrides).resolution
    return Setup(runs, test_sets, summary, face, resolution, missing)


@dataclass
class TrainedRuns:
    """Finished runs: ``paths`` ``{label: last.pt, or a list of them (seeds)}``, ``info`` (one row per run)."""

    paths: dict
    info: pd.DataFrame
    missing: dict = field(default_factory=dict)


def _run_row(label: str, cfg: TrainConfig, path: Path, seconds: float) -> dict:
    _, _, extra = load_checkpoint(path)
    lc = cfg.loss_config()
    return {
        "run": label,
        "loss over": "valid mask (ours)" if lc.masked else "whole crop (paper)",
        "lambda1/2/3": f"{lc.lambda1:g} / {lc.lambda2:g} / {lc.lambda3:g}",
        "L3": lc.third or "-",
        "lr used": f"{cfg.lr * cfg.lr_multiplier:.2e}",
        "schedule": cfg.schedule,
        "init": cfg.init_from or "-",
        "steps": extra["step"],
        "training s (cached run)": f"{extra.get('seconds', 0):.0f}",
        "this build s": f"{seconds:.0f}",
        "final loss": f"{extra['history'][-1]['J']:.3f}",
        "val EPE (train res.)": f"{extra['val'][-1]['epe']:.3f}" if extra["val"] else "n/a",
        "val EPE, valid mask": f"{extra['val'][-1].get('epe_valid', float('nan')):.3f}" if extra["val"] else "n/a",
        "seed": cfg.seed,
    }


def train_runs(setup: Setup, data_root=None, device: str = "cpu", progress: bool = False) -> TrainedRuns:
    """Train (or reuse from cache) every run of ``setup``; see :func:`faceflow.training.loop.ensure_trained`.

    Returns
    -------
    TrainedRuns
        Paths of the finished checkpoints and a table of each run's settings, steps, time and
        final training loss / validation EPE.
    """
    paths, rows = {}, []
    for label, entries in setup.runs.items():
        done = []
        for cfg, run_dir in entries:
            t0 = time.perf_counter()
            face_dir = setup.face.face_dir
            path = ensure_trained(  # the book's own run cache: a stale run is replaced
                cfg, run_dir, data_root=data_root, face_dir=face_dir, device=device, progress=progress, replace=True
            )
            done.append(path)
            name = label if len(entries) == 1 else f"{label} (seed {cfg.seed})"
            rows.append(_run_row(name, cfg, path, time.perf_counter() - t0))
        paths[label] = done[0] if len(done) == 1 else done
    info = pd.DataFrame(rows).set_index("run") if rows else pd.DataFrame()
    return TrainedRuns(paths, info, dict(setup.missing))


def scale_table(profile: str, overrides: dict | None = None) -> pd.DataFrame:
    """What ``profile`` scales down: the paper's Exp. 1 settings beside this profile's.

    Returns
    -------
    pandas.DataFrame
        Index ``setting``; columns ``paper`` and ``this page (<profile>)``.
    """
    cfg = experiments.for_profile("Exp1", "faces", profile, **(overrides or {}))
    rows = [
        ("input resolution (H x W)", "384 x 512", " x ".join(map(str, cfg.resolution))),
        ("FlowNetS width multiplier", "1.0", f"{cfg.model['width']}"),
        ("batch size", "16", f"{cfg.batch_size}"),
        (
            "optimiser steps (faces)",
            "30 epochs x 15k pairs / 16 = 28k (Table 1); 228k-pair split for Exp1 of Table 2",
            f"{cfg.steps}",
        ),
        ("learning rate", "1e-4 faces, 5e-5 chairs", f"paper x {cfg.lr_multiplier:g}"),
        ("schedule", "FlowNet (halve after 300k, every 100k)", "same, at 1/2, 2/3, 5/6 of the steps"),
    ]
    return pd.DataFrame(rows, columns=["setting", "paper", f"this page ({profile})"]).set_index("setting")


def overrides_from(resolution=None, steps=None, width=None, finetune_steps=None) -> dict:
    """TrainConfig overrides from a chapter's parameters (None: the profile's value)."""
    out: dict = {}
    if resolution is not None:
        out["resolution"] = tuple(int(x) for x in resolution)
    if steps is not None:
        out["steps"] = int(steps)
    if width is not None:
        out["model"] = {"width": float(width)}
    if finetune_steps is not None:
        out["finetune_steps"] = int(finetune_steps)
    return out
