"""Every smoke / default / full setting of faceflow, and where each profile writes its outputs.

A *profile* scales the paper's experiments to a machine:

``smoke``
    seconds per chapter, for CI: tiny networks, a few pairs and epochs.
``default``
    what ``make book`` runs on a 2-core CPU within its time budget.
``full``
    the paper's settings: a GPU and the real datasets.

Chapters, the CLI and the engine read their settings from :func:`get` and nowhere else; a
parameter given explicitly (a chapter's papermill parameter, a CLI option) always wins.

Outputs of a profile live under ``outputs/<profile>/`` (:class:`OutputLayout`):
``datasets/<name>/`` (``faceflow gt`` folders), ``runs/<train set>/<experiment>/last.pt``
(training runs) and ``<chapter>/`` (each chapter's cached tables, figures and per-pair CSVs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: The profile names, smallest first.
PROFILES = ("smoke", "default", "full")


@dataclass(frozen=True)
class TrainingProfile:
    """FlowNetS training (Sec. 4.3) scaled to a profile.

    ``steps``: optimiser steps of a from-scratch run; ``finetune_steps``: of an Exp3 run (which
    starts from Exp2I); ``max_pairs``: caps on the face splits ({split: n}); ``n_shapes``:
    generated flying-shapes pairs standing in for FlyingChairs; ``eval_pairs``: evenly spaced
    test pairs per set (None: all); ``lr_multiplier``: the learning rate relative to the paper's;
    ``seeds``: seeds of the headline face-trained Exp. 1 network (Table 1, the face comparison);
    ``overfit_steps``: steps of the overfit check on ``overfit_pairs`` training pairs (0: none);
    ``classical``: the classical methods compared with the networks on the face test set;
    ``masked_seeds``: seeds of the face-trained Exp. 1 with the masked loss (beyond the paper:
    every term averaged over the ground truth's valid mask, :mod:`faceflow.training.losses`);
    ``exact_classical``: the classical methods also scored on the known-motion set (None: all of
    ``classical``; TV-L1 costs about 1.5 s per 384 x 512 pair on 2 cores);
    ``variant_runs``: train the released code's variant of Exp1 and Exp3I beside the text's
    (chapter 03; without it the chapter lists the variant's settings and leaves its runs to the
    profiles that train them).
    ``full``: 15 epochs of 228,160 pairs at batch 16 (Exp2, and Exp1 on faces), 14 epochs for
    Exp3 (Sec. 4.3.2-4.3.3); chairs 40 epochs of 21,592 pairs and Sintel 400 epochs of 870 pairs
    (Sec. 4.3.1).
    """

    resolution: tuple[int, int]
    width: float
    batch_size: int
    steps: int
    finetune_steps: int
    lr_multiplier: float
    val_every: int
    val_pairs: int
    max_pairs: dict | None
    n_shapes: int
    eval_pairs: int | None
    steps_by_train_set: dict = field(default_factory=dict)
    seeds: int = 1
    overfit_pairs: int = 16
    overfit_steps: int = 0
    classical: tuple = ("farneback", "dis", "tvl1")  # faceflow.methods.classical.CLASSICAL_ESTIMATORS
    masked_seeds: int = 1
    exact_classical: tuple | None = None
    variant_runs: bool = True

    def classical_on_exact(self) -> tuple:
        """The classical methods scored on the known-motion set."""
        return self.classical if self.exact_classical is None else self.exact_classical

    def steps_for(self, train_set: str) -> int:
        """Optimiser steps of a from-scratch run on ``train_set``."""
        return int(self.steps_by_train_set.get(train_set, self.steps))


@dataclass(frozen=True)
class GroundTruthProfile:
    """Sec. 3 ground truth: the chapter's demonstrations and the face dataset it writes.

    ``max_frames``: frames per OpenFace sample sequence fed to ``faceflow gt`` (None: all);
    ``demo_frames``: frames of the image sequence shown on the page; ``demo_pair``: index of the
    pair drawn in Fig. 1; ``video_frames``: frames of a sample video used to compare the modes;
    ``corpus_frames``: the first frames of each clip of the face corpus (None: all);
    ``corpus_clips``: clips of the corpus per split of the subject table, an int for every split
    or ``{split: n}`` (None: all).
    ``error_photos``, ``error_frames``: face photos and frames per sequence of the known-motion set
    (the ground-truth error study and the exact-ground-truth test set; real clips are tens of
    frames long, and on very short sequences an expression unfolds in two or three frames, far
    faster than on video), ``error_clip_frames``: frames of each real clip tracked for its
    expressions; ``cost_frames``: frames timed for the storage and BP4D cost tables;
    ``jitter_sources``, ``jitter_frames``: still clips (and their frames) of the jitter floor
    (:mod:`faceflow.groundtruth.jitter`); ``quality_reference``: the independent method the
    ground truth of real clips is compared with (the published RAFT-small; the smoke profile uses
    DIS, seconds instead of minutes on a CPU).
    """

    max_frames: int | None
    demo_frames: int
    demo_pair: int
    video_frames: int
    corpus_frames: int | None = None
    corpus_clips: int | dict | None = None
    error_photos: int = 3
    error_frames: int = 12
    error_clip_frames: int = 60
    cost_frames: int = 30
    jitter_sources: int = 8
    jitter_frames: int = 10
    quality_reference: str = "raft-small"


@dataclass(frozen=True)
class FinetuneProfile:
    """Beyond the paper: RAFT-small fine-tuned on the face ground truth (chapter 04).

    ``steps`` optimiser steps of ``batch_size`` random ``crop`` (H, W) crops of the face training
    pairs (at most ``train_pairs`` evenly spaced ones; None: all), ``iters`` recurrent updates in
    training, AdamW at ``lr`` with a one-cycle schedule. ``steps == 0`` skips the fine-tuning.
    """

    steps: int
    batch_size: int
    crop: tuple[int, int]
    iters: int
    lr: float
    train_pairs: int | None

    def describe(self) -> str:
        """The settings as a phrase for a page.

        Returns
        -------
        str
            E.g. ``"30 steps of 2 crops of 192x256, 12 updates, learning rate 0.0001"``.
        """
        if self.steps == 0:
            return "no fine-tuning"
        crop = "x".join(map(str, self.crop))
        pairs = f", at most {self.train_pairs} training pairs" if self.train_pairs else ""
        return (
            f"{self.steps:,} steps of {self.batch_size} crops of {crop}, {self.iters} updates, "
            f"learning rate {self.lr:g}{pairs}"
        )


@dataclass(frozen=True)
class BaselinesProfile:
    """Sec. 5.2 comparison (Table 3, Fig. 4).

    ``max_pairs``: evenly spaced pairs per face test set (None: all; the same as
    ``training.eval_pairs``, so that Table 3 scores the pairs Tables 1 and 2 score); ``generated_pairs``: the
    generated stand-in's size; ``runtime_repeats``: timed calls per method; ``away_pairs``: Sintel
    and FlyingChairs pairs (None: all); ``fig4_per_kind``: Fig. 4 rows per motion type;
    ``include_tvl1``: TV-L1 in the accuracy tables (seconds per pair); ``pretrained``: the published
    pretrained networks (:mod:`faceflow.methods.pretrained`) in Table 3 and Fig. 4 (seconds per
    pair on a CPU); ``finetune``: the face fine-tuning of RAFT-small.
    """

    max_pairs: int | None
    generated_pairs: int
    runtime_repeats: int
    away_pairs: int | None
    fig4_per_kind: int
    include_tvl1: bool
    pretrained: tuple[str, ...] = ()
    finetune: FinetuneProfile = FinetuneProfile(0, 1, (64, 64), 1, 1e-4, 1)


@dataclass(frozen=True)
class MerProfile:
    """Sec. 4.4 / 5.3 micro-expression recognition (Tables 5-6).

    ``epochs`` per LOSO fold (paper: 500); ``n_seeds`` seeds of the real TV-L1 rows;
    ``max_folds`` held-out subjects (None: all); the generated set: ``gen_identities``
    identities, ``gen_per_class`` clips per class and identity, ``gen_size`` pixels, ``gen_n_seeds``
    seeds; ``workers`` LOSO worker processes (0: as many as cores, at most 2); ``max_clips`` real
    onset-to-offset clips used for the feature check (None: all); ``engine`` the LOSO training
    engine (:data:`faceflow.mer.loso.ENGINES`: ``"batched"`` trains the folds of a protocol and
    seed together, shared out between ``workers`` processes, with the results of ``"loop"``).

    ``loso_methods``: the registered flow methods that get LOSO rows on onset/apex pairs (None:
    every one), ``loso_reason`` why, shown by the chapter. ``tvl1_protocols``: the paper's
    protocols (:data:`faceflow.mer.loso.PROTOCOLS`) of the TVL1 rows (None: all three); the
    others' rows say "full profile".

    ``default`` is sized to chapter 05's budget (``_DEFAULT_BUDGETS``). Measured on the shared
    2-core machine (CPU seconds, so that the load of other work counts less): with the batched
    engine one epoch of the TV-L1 rows' three protocols (88 folds over 297 SAMM and SMIC images)
    costs about 3.5 CPU s (SAMM 0.6, SMIC 0.5, SAMM+SMIC 2.5) and one epoch of a generated-set row
    (20 folds over 120 clips) about 0.5 CPU s, halved in wall time by the two workers. The paper's
    500 epochs over five seeds do not fit, and fewer epochs under-train: over SMIC's 16 folds F1_M
    is 0.38 after 100 epochs and 0.46 after 200, over SAMM's 28 folds 0.57 and 0.61. The 30-minute
    book (issue 20) made ``default`` train 150 epochs and one seed, SAMM and SMIC but not
    SAMM+SMIC (70% of the TV-L1 rows' cost), three methods' rows on the generated set instead of
    one per registered method (eight or more with the FlowNetS runs, each one more LOSO training)
    and a generated set of 14 identities. The chapter states the epochs, seeds and protocols it
    ran, the methods it trained and the extrapolated time of the full protocol, all computed.
    """

    epochs: int
    n_seeds: int
    max_folds: int | None
    gen_identities: int | None
    gen_per_class: int
    gen_size: int
    gen_n_seeds: int
    workers: int
    max_clips: int | None = None
    engine: str = "batched"
    loso_methods: tuple[str, ...] | None = None
    loso_reason: str = "the full profile trains a LOSO row for every registered flow method"
    tvl1_protocols: tuple[str, ...] | None = None

    def worker_count(self) -> int:
        """Worker processes to use on this machine."""
        return self.workers if self.workers > 0 else max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True)
class ChapterBudget:
    """How long one chapter may take from nothing (an empty ``outputs/``), in reference units.

    ``units``: the chapter's seconds divided by the seconds of the reference computation
    (:func:`faceflow.book.budgets.reference_workload`) timed on the same machine just before and
    after the chapter ran, so that one budget holds on slower and faster machines; ``reason``: what
    the chapter computes in that time.
    """

    units: float
    reason: str


#: Seconds of the reference computation on the 2-core machine the ``default`` budgets were set for:
#: the median of the references recorded before each chapter of the default build from nothing
#: at 8628c3d (0.078-0.099 s, median 0.090; ``benchmarks/book_time.py`` prints them). Builds with
#: other work on the machine recorded 0.10-0.146 s, and an old one under a load of 8-10 0.45 s: the
#: short reference slows far more under load than a chapter does.
#: ``default`` budgets are minutes there: :func:`minutes_budget`.
REFERENCE_SECONDS_2_CORES = 0.09
#: What ``make book`` may take from nothing on 2 cores, all chapters together (CONTRIBUTING).
DEFAULT_BOOK_MINUTES = 30


def minutes_budget(minutes: float, reason: str) -> ChapterBudget:
    """A budget of ``minutes`` on the 2-core machine of :data:`REFERENCE_SECONDS_2_CORES`.

    Parameters
    ----------
    minutes : float
        Minutes from nothing on that machine.
    reason : str
        What the chapter computes in that time.

    Returns
    -------
    ChapterBudget
    """
    return ChapterBudget(round(minutes * 60 / REFERENCE_SECONDS_2_CORES), f"{minutes:g} min on 2 cores: {reason}")


@dataclass(frozen=True)
class TourProfile:
    """The data tour: ``all_pairs`` evaluates every real pair; otherwise the first and last."""

    all_pairs: bool


@dataclass(frozen=True)
class Profile:
    """All settings of one profile."""

    name: str
    tour: TourProfile
    groundtruth: GroundTruthProfile
    training: TrainingProfile
    baselines: BaselinesProfile
    mer: MerProfile
    budgets: dict = field(default_factory=dict)

    def budget(self, chapter: str) -> ChapterBudget | None:
        """The chapter's time budget (None: this profile has none for it)."""
        return self.budgets.get(chapter)


#: Chapter 05's LOSO rows on onset/apex pairs in the smoke and default profiles (``full``: every
#: registered flow method).
_MER_LOSO_METHODS = ("tvl1", "farneback", "Exp1")
_MER_LOSO_REASON = (
    "TV-L1, the flow of the paper's TVL1 rows; Farneback, the classical method of the paper's Tables 5-6; "
    "and Exp1, the face-trained FlowNetS of chapter 02 (the paper's network): the three rows that test the "
    "paper's claim, while each further method costs one more LOSO training as long as theirs"
)

#: ``smoke`` budgets, in reference units: about three times what each chapter took from nothing
#: (``faceflow book --profile smoke --from-nothing``) on the 2-core development machine, quiet
#: (00: 191, 01: 524, 02: 568, 03: 289, 04: 263, 05: 173 units; under a load of 8-10 the ratios
#: came out lower, 50-241, because the short reference slows more than a chapter), so that a
#: loaded or slow machine passes while a chapter that starts to train or evaluate at default sizes
#: (ten to a hundred times the work) goes far over.
_SMOKE_BUDGETS = {
    "00_data_tour": ChapterBudget(600, "kernel start, imports, first and last pair of each sample set"),
    "01_ground_truth": ChapterBudget(
        1600,
        "12 OpenFace frames, 6-frame corpus clips of 2 people per split, 2 known-motion photos, DIS as the reference",
    ),
    "02_flownets": ChapterBudget(1700, "3-step FlowNetS runs at 64x64, 6 test pairs"),
    "03_ablations": ChapterBudget(900, "3-step ablation runs, 6 test pairs"),
    "04_baselines": ChapterBudget(800, "6 face pairs, 1 away pair, no pretrained network"),
    "05_micro_expressions": ChapterBudget(600, "5 epochs, 2 folds per protocol, 12 generated clips"),
}

#: ``default`` budgets: :data:`DEFAULT_BOOK_MINUTES` from nothing on 2 cores, shared out by what
#: each chapter must show. The build from nothing at 8628c3d (``make book-from-nothing
#: PROFILE=default``) took 1.1, 7.3, 6.7, 4.4, 2.3 and 1.9 minutes (23.6 in all, 24.3 with the HTML);
#: each budget leaves its chapter a quarter to a third more.
_DEFAULT_BUDGETS = {
    "00_data_tour": minutes_budget(1.5, "every real pair of the sample sets with the classical methods"),
    "01_ground_truth": minutes_budget(
        9, "the face corpus ground truth (about 3.5 min), known motions, the jitter floor, RAFT-small on the test pairs"
    ),
    "02_flownets": minutes_budget(8.5, "the FlowNetS runs of Table 1 (plain and masked loss), the face comparisons"),
    "03_ablations": minutes_budget(5.5, "the ablation runs of Table 2"),
    "04_baselines": minutes_budget(3, "Table 3 with RAFT-small, the ranking on exact ground truth, Fig. 4"),
    "05_micro_expressions": minutes_budget(2.5, "the TVL1 rows' SAMM and SMIC protocols and three methods' LOSO rows"),
}

#: ``default``: the pretrained networks of Tables 3 and the exact-ground-truth ranking. RAFT-small
#: only: chapter 01 already runs it as the independent reference on the same pairs (its rows are
#: reused), while SPyNet runs its 7x7 convolutions at full resolution, about 1.2 s per 384 x 512
#: pair on 2 cores, some 4 minutes of the default book for each SPyNet; ``full`` runs both SPyNets.
_DEFAULT_PRETRAINED = ("raft-small",)
#: ``default``: the classical methods beside the networks on the face test set and on the
#: known-motion set. TV-L1 (about 1.7 s per 384 x 512 pair on 2 cores, 2 minutes of chapter 02)
#: runs in ``full``; it is the flow of chapter 05's TVL1 rows, which use the published TV-L1 images.
_DEFAULT_CLASSICAL = ("farneback", "dis")

_SETTINGS = {
    "smoke": Profile(
        "smoke",
        TourProfile(all_pairs=False),
        GroundTruthProfile(
            max_frames=12,
            demo_frames=6,
            demo_pair=1,
            video_frames=0,
            error_photos=1,
            error_frames=3,
            error_clip_frames=15,
            cost_frames=4,
            corpus_frames=6,
            corpus_clips=2,
            jitter_sources=2,
            jitter_frames=3,
            quality_reference="dis",
        ),
        TrainingProfile(
            resolution=(64, 64),
            width=0.0625,
            batch_size=4,
            steps=3,
            finetune_steps=2,
            lr_multiplier=10.0,
            val_every=3,
            val_pairs=4,
            max_pairs={"train": 16, "val": 4, "test": 6},
            n_shapes=16,
            eval_pairs=6,
            overfit_steps=2,
            overfit_pairs=4,
            classical=("farneback", "dis"),
        ),
        BaselinesProfile(
            max_pairs=6,
            generated_pairs=3,
            runtime_repeats=1,
            away_pairs=1,
            fig4_per_kind=1,
            include_tvl1=False,
            pretrained=(),
            finetune=FinetuneProfile(steps=0, batch_size=1, crop=(64, 64), iters=1, lr=1e-4, train_pairs=1),
        ),
        MerProfile(
            epochs=5,
            n_seeds=1,
            max_folds=2,
            gen_identities=4,
            gen_per_class=1,
            gen_size=64,
            gen_n_seeds=1,
            workers=1,
            max_clips=2,
            loso_methods=_MER_LOSO_METHODS,
            loso_reason=_MER_LOSO_REASON,
        ),
        _SMOKE_BUDGETS,
    ),
    "default": Profile(
        "default",
        TourProfile(all_pairs=True),
        GroundTruthProfile(
            max_frames=60,
            demo_frames=30,
            demo_pair=16,
            video_frames=20,
            corpus_frames=40,
            corpus_clips={"cross": 13},
            error_photos=4,
        ),
        TrainingProfile(
            resolution=(128, 192),
            width=0.25,
            batch_size=8,
            steps=300,
            finetune_steps=100,
            lr_multiplier=10.0,
            val_every=50,
            val_pairs=32,
            max_pairs={"val": 32, "test": 64},
            n_shapes=400,
            eval_pairs=64,
            seeds=2,
            overfit_steps=60,
            masked_seeds=2,
            classical=_DEFAULT_CLASSICAL,
            variant_runs=False,
        ),
        BaselinesProfile(
            max_pairs=64,
            generated_pairs=9,
            runtime_repeats=3,
            away_pairs=None,
            fig4_per_kind=2,
            include_tvl1=False,
            pretrained=_DEFAULT_PRETRAINED,
            finetune=FinetuneProfile(steps=0, batch_size=2, crop=(192, 256), iters=12, lr=1e-4, train_pairs=None),
        ),
        MerProfile(
            epochs=150,
            n_seeds=1,
            max_folds=None,
            gen_identities=14,
            gen_per_class=2,
            gen_size=96,
            gen_n_seeds=1,
            workers=0,
            loso_methods=_MER_LOSO_METHODS,
            loso_reason=_MER_LOSO_REASON,
            tvl1_protocols=("SAMM", "SMIC"),  # SAMM+SMIC: 70% of the TVL1 rows' training, in full
        ),
        _DEFAULT_BUDGETS,
    ),
    "full": Profile(
        "full",
        TourProfile(all_pairs=True),
        GroundTruthProfile(
            max_frames=None,
            demo_frames=30,
            demo_pair=16,
            video_frames=60,
            corpus_frames=None,
            corpus_clips=None,
            error_photos=8,
            error_frames=30,
            jitter_sources=24,
            jitter_frames=20,
        ),
        TrainingProfile(
            resolution=(384, 512),
            width=1.0,
            batch_size=16,
            steps=213_900,
            finetune_steps=199_640,
            lr_multiplier=1.0,
            val_every=1000,
            val_pairs=1000,
            max_pairs=None,
            n_shapes=22_232,
            eval_pairs=None,
            steps_by_train_set={"chairs": 53_980, "sintel": 21_750},
            seeds=2,
            masked_seeds=2,
        ),
        BaselinesProfile(
            max_pairs=None,
            generated_pairs=18,
            runtime_repeats=5,
            away_pairs=None,
            fig4_per_kind=3,
            include_tvl1=True,
            pretrained=("spynet-chairs", "spynet-sintel", "raft-small"),
            finetune=FinetuneProfile(steps=10_000, batch_size=8, crop=(368, 496), iters=12, lr=1e-4, train_pairs=None),
        ),
        MerProfile(
            epochs=500,
            n_seeds=5,
            max_folds=None,
            gen_identities=None,
            gen_per_class=3,
            gen_size=112,
            gen_n_seeds=3,
            workers=0,
        ),
        {},  # the paper's scale on a GPU: hours, no budget
    ),
}


def check_profile(name: str) -> str:
    """``name`` if it is a profile, else a :class:`ValueError` listing the profiles."""
    if name not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {name!r}")
    return name


def get(name: str) -> Profile:
    """The settings of profile ``name``.

    Raises
    ------
    ValueError
        ``name`` is not one of :data:`PROFILES`.
    """
    return _SETTINGS[check_profile(name)]


@dataclass(frozen=True)
class OutputLayout:
    """Where a profile's outputs go: ``<root>/datasets``, ``<root>/runs``, ``<root>/<chapter>``."""

    root: Path

    def dataset(self, name: str) -> Path:
        """A ``faceflow gt`` output folder, e.g. ``datasets/openface``."""
        return self.root / "datasets" / name

    def runs(self, train_set: str, variant: str = "text") -> Path:
        """Training runs of one training set: ``runs/<train set>`` (``runs/<train set>-code`` for the code variant)."""
        return self.root / "runs" / (train_set if variant == "text" else f"{train_set}-{variant}")

    def chapter(self, name: str) -> Path:
        """A chapter's cached results."""
        return self.root / name


def outputs(profile: str, output_dir: str | os.PathLike | None = None) -> OutputLayout:
    """The output layout of ``profile``: ``output_dir``, else ``$FACEFLOW_OUTPUT``, else ``outputs/<profile>``.

    The path is made absolute (relative to the working directory) but not created.
    """
    check_profile(profile)
    root = Path(output_dir or os.environ.get("FACEFLOW_OUTPUT", "") or Path("outputs") / profile)
    return OutputLayout(root.expanduser().resolve())
