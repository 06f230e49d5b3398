"""Chapter 04's studies: the face data it tests on, the FlowNetS runs it trains when missing,
Fig. 4 in pieces, and RAFT-small fine-tuned on faces (beyond the paper).

The measurements are the library's (:mod:`faceflow.evaluation.baselines`: the methods, Table 3,
runtimes, away from faces); what trains, or builds the corpus, is here, so that evaluation
never trains.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from faceflow import profiles
from faceflow.evaluation import tables
from faceflow.evaluation.baselines import MethodSet, Table3Result
from faceflow.evaluation.evaluate import cached_evaluate
from faceflow.evaluation.testsets import TestSets
from faceflow.groundtruth.splits import SplitOptions
from faceflow.methods.registry import get_method


def face_source(
    profile: str, data_root, outputs: profiles.OutputLayout, face_dir: str | os.PathLike | None = None
) -> tuple[Path, SplitOptions | None]:
    """The face ground truth chapter 04 tests on: ``face_dir``, else the face corpus, else the OpenFace samples.

    The corpus dataset is the one chapters 02 and 03 train and test on
    (:func:`faceflow.studies.plans.face_data`, made once per profile), split by the project's
    subject table; without the corpus under the data root, the OpenFace samples' dataset
    (``outputs/datasets/openface``) with its default split.

    Parameters
    ----------
    profile : str
        The profile (frames and clips of the corpus).
    data_root : path-like or None
        The data root.
    outputs : faceflow.profiles.OutputLayout
        Where the datasets are (or are written).
    face_dir : path-like, optional
        A ``faceflow gt`` folder chosen by the reader: used as it is, with its default split.

    Returns
    -------
    (pathlib.Path, SplitOptions or None)
        The dataset folder and the split to use when no trained run records one.
    """
    from faceflow.studies import plans

    if face_dir is not None:
        return Path(face_dir), None
    face = plans.face_data(profile, data_root, outputs, extra=False)
    if face.ready:
        return face.face_dir, face.split
    return outputs.dataset("openface"), None


#: The pieces of Fig. 4 after the pairs themselves, by method group, and their titles.
FIG4_PIECES = {
    "ours": "our FlowNetS networks",
    "classical": "classical methods",
    "networks": "networks with published weights (the paper's CNNs, pretrained substitutes)",
}


def train_missing_runs(
    runs_dir: str | os.PathLike,
    test_sets: TestSets,
    profile: str,
    data_root: str | os.PathLike | None = None,
    device: str = "cpu",
) -> list[str]:
    """Train each FlowNetS experiment whose run is missing altogether, before Table 3 lists the methods.

    Only when the face test sets are real: the runs train on their face dataset, with their
    held-out sequences left out of the split, and the profile's settings. Existing runs are left
    as they are; with generated test sets nothing is trained.

    Parameters
    ----------
    runs_dir : path-like
        The face runs folder (``<runs_dir>/<experiment>/last.pt``).
    test_sets : faceflow.evaluation.testsets.TestSets
        The face test sets (their ``face_dir`` and ``exclude``).
    profile : str
        Profile whose training settings a missing run gets.
    data_root : path-like, optional
        The data root.
    device : str
        Torch device.

    Returns
    -------
    list of str
        The experiments trained by this call.
    """
    from faceflow.training import experiments
    from faceflow.training.loop import ensure_trained

    if test_sets.generated:
        return []
    runs_dir = Path(runs_dir)
    trained = []
    for exp in experiments.NAMES:
        if (runs_dir / exp / "last.pt").is_file():
            continue
        cfg = experiments.for_profile(exp, "faces", profile, data={"exclude": list(test_sets.exclude)})
        ensure_trained(
            cfg,
            runs_dir / exp,
            data_root=data_root,
            face_dir=test_sets.face_dir,
            device=device,
            progress=False,
            replace=True,
        )
        trained.append(exp)
    return trained


@dataclass
class FinetuneResult:
    """Beyond the paper: RAFT-small before and after fine-tuning on the face ground truth.

    Attributes
    ----------
    table : pandas.DataFrame or None
        Per test set: EPE on the face's moving pairs and over the whole crop, and AAE over the
        whole crop (as Table 3), for the pretrained and the fine-tuned network and, for
        reference, the best of our FlowNetS networks, DIS and the zero field. None when not run.
    per_pair : pandas.DataFrame
        The rows behind it, with their views.
    history : pandas.DataFrame
        Training loss and EPE per step.
    config : dict
        The fine-tuning config (:class:`faceflow.training.finetune.FinetuneConfig`).
    seconds : float
        Training time.
    train_pairs : int
        Face training pairs the crops were drawn from.
    change : dict
        ``{(test set, view): relative change of RAFT-small's EPE in percent}`` (negative:
        fine-tuning helped), on the face's moving pairs and over the whole crop.
    missing : dict of str to str
        Why it did not run.
    """

    table: pd.DataFrame | None
    per_pair: pd.DataFrame = field(default_factory=pd.DataFrame)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    config: dict = field(default_factory=dict)
    seconds: float = 0.0
    train_pairs: int = 0
    change: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def setup_text(self) -> str:
        """Steps, crop size, training pairs and training time, as a phrase for the page (why not, when not run)."""
        if not self.config:
            return "; ".join(self.missing.values()) or "not run"
        crop = "x".join(map(str, self.config.get("crop", ())))
        return (
            f"{len(self.history)} steps of {self.config.get('batch_size')} {crop} crops from "
            f"{self.train_pairs:,} face training pairs, {self.seconds / 60:.1f} min"
        )

    @property
    def change_text(self) -> str:
        """How fine-tuning changed RAFT-small's EPE on each set, as a phrase for the page."""
        if not self.change:
            return "not measured here"
        return ", ".join(f"{v:+.1f}% on {view} of {s}" for (s, view), v in self.change.items())


def finetune_on_faces(
    test_sets: TestSets,
    methods: MethodSet,
    table3: Table3Result | None,
    settings,
    run_dir: str | os.PathLike,
    data_root: str | os.PathLike | None = None,
    device: str = "cpu",
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    floor: float | None = None,
) -> FinetuneResult:
    """Fine-tune RAFT-small on the face training split and compare it with the pretrained network.

    The training split is the one of ``test_sets`` (the split our FlowNetS networks were trained
    with), so the test pairs are Table 3's, subject-disjoint from the training pairs. Both networks
    run 12 updates on the same pairs; the result also gives the EPE over the face pixels alone,
    because the mesh ground truth is zero off the face and a network fine-tuned on it learns that
    too. The run is resumable and reused (:func:`faceflow.training.finetune.finetune_raft`); the
    comparison rows are cached in ``run_dir``.

    Parameters
    ----------
    test_sets : TestSets
        The face test sets of Table 3.
    methods : MethodSet
        From :func:`faceflow.evaluation.baselines.comparison_methods` (RAFT-small must be among its
        pretrained networks).
    table3 : Table3Result, optional
        Table 3; its best networks are shown beside the two RAFT-small, with DIS and the zero field.
    settings : faceflow.profiles.FinetuneProfile
        Steps, batch, crop, updates, learning rate, training pairs.
    run_dir : path-like
        Where the fine-tuning run and the comparison cache go.
    data_root : path-like, optional
        The data root holding the official weights.
    device : str
        Torch device.
    seed : int
        Seed of the crops, flips and batch order.
    cache_dir : path-like, optional
        Where the per-pair rows are cached (default ``run_dir``); Table 3's cache reuses the
        pretrained networks' rows.
    floor : float, optional
        The jitter floor splitting still and moving pairs.

    Returns
    -------
    FinetuneResult
    """

    from faceflow.methods.pretrained import FINETUNED_NAME
    from faceflow.training.finetune import FinetuneConfig, finetune_raft, read_finetuned, register_finetuned

    what = "RAFT-small fine-tuned on faces"
    if settings.steps == 0:
        why = "not run in this profile (0 fine-tuning steps; the full profile runs it)"
        return FinetuneResult(None, missing={what: why})
    if test_sets.generated:
        return FinetuneResult(None, missing={what: "no real face ground truth to fine-tune on."})
    if "raft-small" not in methods.pretrained:
        why = methods.pretrained_missing.get("raft-small", "RAFT-small is not among this profile's networks.")
        return FinetuneResult(None, missing={what: why})
    cfg = FinetuneConfig.from_settings(settings, test_sets.split.to_data(), seed)
    run_dir = Path(run_dir)
    ckpt = finetune_raft(cfg, test_sets.face_dir, run_dir, data_root=data_root, device=device)
    register_finetuned(ckpt, device)
    from faceflow.evaluation.regions import with_views

    best = list(dict.fromkeys(table3.best.values())) if table3 is not None else []
    names = list(dict.fromkeys(["raft-small", FINETUNED_NAME, *best, "dis", "zero"]))
    tags = methods.cache_tags() | {
        FINETUNED_NAME: f"{get_method(FINETUNED_NAME).description}@{ckpt.stat().st_mtime_ns}"
    }
    tags = {m: tags.get(m, str(get_method(m).description)) for m in names}
    cache = Path(cache_dir) if cache_dir is not None else run_dir
    per_pair = pd.concat(
        [cached_evaluate(names, pairs, s, cache, tags, convention="paper") for s, pairs in test_sets.sets.items()],
        ignore_index=True,
    )
    per_pair = with_views(per_pair, floor)
    means = per_pair.groupby(["method", "test_set"], sort=False)[["epe_face@moving", "epe", "aae"]].mean()
    shown = (("EPE face, moving pairs", "epe_face@moving"), ("EPE whole crop", "epe"), ("AAE whole crop", "aae"))
    cols = [(s, label) for s in test_sets.sets for label, _ in shown]
    table = pd.DataFrame(
        [[means.loc[(m, s), c] for s in test_sets.sets for _, c in shown] for m in names],
        index=pd.Index([tables.display_name(m) for m in names], name="method"),
        columns=pd.MultiIndex.from_tuples(cols),
    ).round(4)  # 4 decimals, as every table of the book shows them
    change = {
        (s, view): float(tables.improvement(means.loc[("raft-small", s), c], means.loc[(FINETUNED_NAME, s), c]) * -1)
        for s in test_sets.sets
        for view, c in (("face, moving pairs", "epe_face@moving"), ("whole crop", "epe"))
    }
    done = read_finetuned(ckpt)
    history = pd.DataFrame(done["extra"]["history"])
    seconds, n_train = float(done["extra"]["seconds"]), int(done["extra"]["train_pairs"])
    return FinetuneResult(table, per_pair, history, done["config"], seconds, n_train, change)


def fig4(test_sets: TestSets, methods: MethodSet, per_kind: int, path: str | os.PathLike | None = None):
    """Fig. 4 on the first face test set, one piece per group of methods (:meth:`MethodSet.fig4_groups`).

    Parameters
    ----------
    test_sets : TestSets
        The face test sets.
    methods : MethodSet
        From :func:`faceflow.evaluation.baselines.comparison_methods`.
    per_kind : int
        Rows per motion type.
    path : path-like, optional
        Where the PNGs go (one per piece, ``fig4-<piece>.png`` for ``fig4.png``).

    Returns
    -------
    faceflow.studies.flow_figures.Fig4Result
        Its ``figures``: the pairs, then one piece per key of :data:`FIG4_PIECES`.
    """
    from faceflow.studies.flow_figures import fig4_on_set

    name, pairs = next(iter(test_sets.sets.items()))
    missing = ", ".join(tables.display_name(m) for m in methods.missing_cnn)
    absent = {
        "ours": "no trained network here",
        "classical": "no classical method here",
        "networks": f"none runs here ({missing}: weights not available)" if missing else "none asked for",
    }
    return fig4_on_set(
        pairs,
        methods.fig4_groups(),
        test_sets.label(name),
        per_kind=per_kind,
        path=path,
        labels=FIG4_PIECES,
        absent=absent,
    )
