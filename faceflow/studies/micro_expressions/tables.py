"""Tables 5-6 of the paper (Sec. 5.3) and the checks around them, one builder per table.

Each builder returns a small result object holding the table (None when it cannot be built), the
numbers the chapter quotes in its prose, and ``missing``: ``{what: why}`` for every part that
could not run because its data is absent (checked with :func:`faceflow.io.datasets.locate`,
never by catching an error). :meth:`faceflow.book.chapter.Chapter.report` shows those.

* :func:`published_check`: the authors' per-subject weights on their own images (pooled figures);
* :func:`tvl1_rows`: the "TVL1" rows of Tables 5-6 retrained from scratch, the paper's beside them;
* :func:`other_method_rows`: the same protocol for every registered flow method (real onset/apex
  frames when present, otherwise the generated set), with the deltas of Tables 5-6;
* :func:`paper_tables`: the paper's Tables 5 and 6 with their deltas.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from faceflow import paper
from faceflow.evaluation.names import listed
from faceflow.io.atomic import atomic_write_text
from faceflow.io.datasets import DATASETS, locate
from faceflow.mer import data as merdata
from faceflow.mer import features, loso, metrics
from faceflow.profiles import MerProfile, get

#: Text shown for a number that could not be computed.
NOT_AVAILABLE = "n/a"

#: Mean absolute difference from the paper's 15 TVL1 numbers (P, R, F1_M, F1_mu, G over the three
#: protocols) within which our rows count as reproducing them (ours, not the paper's): about the
#: seed-to-seed spread of one LOSO metric on SAMM's 28 folds.
TVL1_AGREEMENT = 0.05

#: Pooled UAR within this distance of chance (1/3 for three balanced-recall classes) counts as
#: "at chance" on the page (ours: about the spread of UAR over seeds at default scale).
CHANCE_MARGIN = 0.05


@dataclass
class MerPlan:
    """The training plan of chapter 05 for one profile: seeds, folds, generated-set size, LOSO settings.

    Build it with :func:`plan`.
    """

    epochs: int
    seeds: list[int]
    max_folds: int | None
    gen_identities: int | None
    gen_per_class: int
    gen_size: int
    gen_seeds: list[int]
    config: loso.LosoConfig
    max_clips: int | None = None
    loso_methods: tuple[str, ...] | None = None
    loso_reason: str = ""
    tvl1_protocols: tuple[str, ...] | None = None

    def tvl1_protocol_sources(self) -> dict[str, list[str]]:
        """The protocols of the TVL1 rows this plan trains: ``{name: source datasets}``."""
        names = self.tvl1_protocols or tuple(loso.PROTOCOLS)
        return {name: loso.PROTOCOLS[name] for name in names}

    @property
    def text(self) -> dict[str, str]:
        """The scale of this plan against the paper's protocol, as prose.

        Returns
        -------
        dict
            ``epochs``, ``seeds`` (counts), ``paper_epochs`` (Sec. 4.4.2), ``full_seeds`` (the
            ``full`` profile's), ``scale``: one sentence saying what this profile runs and, when it
            runs less than the paper, that it does.
        """

        full_seeds = get("full").mer.n_seeds
        epochs, seeds = self.epochs, len(self.seeds)
        ran = f"{epochs} epochs per fold and {seeds} seed{'s' if seeds != 1 else ''}"
        if epochs >= paper.STSTNET_EPOCHS and seeds >= full_seeds:
            scale = f"this build trains {ran}, the paper's protocol"
        else:
            scale = (
                f"this build trains {ran}, short of the paper's {paper.STSTNET_EPOCHS} epochs "
                f"and the {full_seeds} seeds of the full profile"
            )
        return dict(
            epochs=str(epochs),
            seeds=str(seeds),
            paper_epochs=str(paper.STSTNET_EPOCHS),
            full_seeds=str(full_seeds),
            scale=scale,
        )

    def table(self) -> pd.DataFrame:
        """The settings as a table for the page: each value as a reader writes it, and what it means.

        Returns
        -------
        pandas.DataFrame
            One row per setting (the profile's names), columns ``setting`` (the value as text:
            lists joined by commas, ``all`` for no limit) and ``meaning``.
        """

        def text(value) -> str:
            if value is None:
                return "all"
            if isinstance(value, (list, tuple)):
                return ", ".join(str(v) for v in value)
            return str(value)

        meanings = {
            "epochs": f"training epochs per LOSO fold (paper: {paper.STSTNET_EPOCHS})",
            "seeds": "training seeds of the real TV-L1 rows",
            "max_folds": "held-out subjects trained per protocol",
            "gen_identities": "identities of the generated set",
            "gen_per_class": "generated clips per class and identity",
            "gen_size": "generated frame size (px)",
            "gen_seeds": "training seeds on the generated set",
            "max_clips": "real onset-to-offset clips of the feature check",
            "loso_methods": "flow methods with LOSO rows on the generated set",
            "tvl1_protocols": "protocols of the TVL1 rows (the others in the full profile)",
        }
        rows = {k: (text(getattr(self, k)), why) for k, why in meanings.items()}
        rows["engine"] = (self.config.engine, "LOSO training engine")
        return pd.DataFrame(list(rows.values()), columns=["setting", "meaning"], index=list(rows))


def plan(settings: MerProfile, seed: int = 0, workers: int | None = None) -> MerPlan:
    """The chapter's training plan from a profile's MER settings and the run seed.

    Seeds are ``seed, seed + 1, ...``; the LOSO engine is the profile's (``settings.engine``):
    the batched engine trains all folds of a protocol and seed together on
    ``settings.worker_count()`` threads, the loop engine that many folds at once with one thread
    each (``workers`` overrides the count).

    Parameters
    ----------
    settings : faceflow.profiles.MerProfile
        The profile's MER settings.
    seed : int
        First seed.
    workers : int, optional
        LOSO worker processes; default the profile's.

    Returns
    -------
    MerPlan
    """
    cfg = loso.LosoConfig(
        epochs=settings.epochs,
        seed=int(seed),
        device="cpu",
        threads=1,
        workers=settings.worker_count() if workers is None else int(workers),
        engine=settings.engine,
    )
    return MerPlan(
        epochs=settings.epochs,
        seeds=[int(seed) + k for k in range(settings.n_seeds)],
        max_folds=settings.max_folds,
        gen_identities=settings.gen_identities,
        gen_per_class=settings.gen_per_class,
        gen_size=settings.gen_size,
        gen_seeds=[int(seed) + k for k in range(settings.gen_n_seeds)],
        config=cfg,
        max_clips=settings.max_clips,
        loso_methods=settings.loso_methods,
        loso_reason=settings.loso_reason,
        tvl1_protocols=settings.tvl1_protocols,
    )


@dataclass
class MethodChoice:
    """Which registered flow methods get LOSO rows on onset/apex pairs (:func:`choose_methods`).

    ``rows``: the methods trained, in the profile's order; ``others``: registered methods this
    profile leaves to the ``full`` one; ``absent``: methods the profile names that are not
    registered here (a network not trained, weights missing); ``reason``: the profile's.
    """

    rows: list[str]
    others: list[str]
    absent: list[str]
    reason: str
    every: bool

    @property
    def text(self) -> str:
        """The choice as prose for the chapter: which methods, why, and what the full profile adds.

        Returns
        -------
        str
        """
        if self.every:
            return f"This profile trains a LOSO row for every registered flow method ({listed(self.rows)})."
        out = (
            f"This profile trains LOSO rows for {listed(self.rows) or 'no method'}: {self.reason}. "
            f"The full profile trains a row for every registered flow method"
        )
        out += f", here also {listed(self.others)}." if self.others else "."
        if self.absent:
            verb = "is" if len(self.absent) == 1 else "are"
            out += f" {listed(self.absent)} {verb} not registered in this build, so {verb} not among the rows."
        return out


def choose_methods(available: Sequence[str], run: MerPlan) -> MethodChoice:
    """The flow methods that get LOSO rows under ``run``'s profile.

    Parameters
    ----------
    available : sequence of str
        Registered flow methods (:func:`faceflow.mer.features.register_flow_methods`).
    run : MerPlan
        ``loso_methods`` None: every available method; else those of its names that are
        available, in its order.

    Returns
    -------
    MethodChoice
    """
    available = list(available)
    if run.loso_methods is None:
        return MethodChoice(available, [], [], run.loso_reason, every=True)
    rows = [m for m in run.loso_methods if m in available]
    absent = [m for m in run.loso_methods if m not in available]
    others = [m for m in available if m not in rows]
    return MethodChoice(rows, others, absent, run.loso_reason, every=False)


def _absent(keys: Sequence[str], root) -> dict[str, str]:
    """``{label: hint}`` for each dataset key whose folder is not under ``root``."""
    return {DATASETS[k].label: DATASETS[k].hint for k in keys if locate(k, root) is None}


# ------------------------------------------------------------------------ published weights


@dataclass
class PublishedCheck:
    """The published per-subject weights applied to their own subjects' images.

    ``table``: accuracy, UF1 and UAR pooled over all predictions, ours beside the published
    figures (4 decimals); ``n`` predictions; ``pooled`` our unrounded figures; ``text`` the
    numbers as strings for the prose.
    """

    table: pd.DataFrame | None = None
    n: int | None = None
    pooled: dict | None = None
    predictions: pd.DataFrame | None = None
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> dict[str, str]:
        """``n``, ``UF1``, ``UAR``, the published ``UF1_published`` / ``UAR_published`` and a
        ``verdict`` (holds when ours equal the published figures to 4 decimals), as strings."""
        keys = ("n", "UF1", "UAR", "UF1_published", "UAR_published", "verdict")
        if self.pooled is None:
            return dict.fromkeys(keys, NOT_AVAILABLE)
        ours = {k: f"{self.pooled[k]:.4f}" for k in ("UF1", "UAR")}
        published = {k: f"{paper.STSTNET_PUBLISHED[k]:.4f}" for k in ("UF1", "UAR")}
        verdict = (
            "holds: our network and input pipeline reproduce the published UF1 and UAR to 4 decimals"
            if ours == published
            else f"does not hold: UF1 {ours['UF1']} / UAR {ours['UAR']} against the published "
            f"{published['UF1']} / {published['UAR']}"
        )
        return dict(
            n=str(self.n),
            **ours,
            UF1_published=published["UF1"],
            UAR_published=published["UAR"],
            verdict=verdict,
        )


def published_check(root: str | os.PathLike | None = None, device: str = "cpu") -> PublishedCheck:
    """Apply each subject's published STSTNet weights to that subject's images, pooled figures.

    Parameters
    ----------
    root : path-like, optional
        Data root holding ``mer/stst_uvos`` and ``mer/stst_weights``.
    device : str
        Torch device.

    Returns
    -------
    PublishedCheck
        ``missing`` names the images or weights when they are absent (``table`` is then None).
    """
    from faceflow.mer.stst import published_predictions

    missing = _absent(("stst_images", "stst_weights"), root)
    if missing:
        return PublishedCheck(missing=missing)
    pub = published_predictions(root, device)
    pooled = metrics.pooled_metrics(pub["label"], pub["pred"])
    keys = ("accuracy", "UF1", "UAR")
    table = pd.DataFrame(
        {
            "ours (published weights)": [pooled[k] for k in keys],
            "published": [paper.STSTNET_PUBLISHED[k] for k in keys],
        },
        index=list(keys),
    )
    return PublishedCheck(table.round(4), int(pooled["n"]), pooled, pub)


# ------------------------------------------------------------------------------- TVL1 rows


def paper_rows(method: str = "TVL1") -> pd.DataFrame:
    """One method's row of the paper's Tables 5 and 6, one row per protocol.

    Parameters
    ----------
    method : str
        A row name of :func:`faceflow.paper.table5` (e.g. ``"TVL1"``).

    Returns
    -------
    pandas.DataFrame
        Index SAMM, SMIC, SAMM+SMIC; columns :data:`faceflow.mer.metrics.METRICS`.

    Raises
    ------
    KeyError
        ``method`` is not a row of the paper's tables.
    """
    t5, t6 = paper.table5(), paper.table6()
    if method not in t5.index:
        raise KeyError(f"{method!r} is not a row of the paper's Tables 5-6 (rows: {list(t5.index)})")
    return pd.DataFrame(
        {"SAMM": t5["SAMM"].loc[method], "SMIC": t5["SMIC"].loc[method], "SAMM+SMIC": t6["SAMM+SMIC"].loc[method]}
    ).T[list(metrics.METRICS)]


def beside_paper(
    mean: pd.DataFrame, std: pd.DataFrame, label: str, method: str = "TVL1", not_run: Sequence[str] = ()
) -> pd.DataFrame:
    """Our ``mean ± std`` rows interleaved with the paper's row of ``method``, per protocol.

    Parameters
    ----------
    mean, std : pandas.DataFrame
        Per-protocol mean and standard deviation over seeds (:func:`faceflow.mer.metrics.mean_std`).
    label : str
        Name of our rows (e.g. ``"ours (200 epochs, 1 seed(s))"``).
    method : str
        The paper's row shown beside ours.
    not_run : sequence of str
        Protocols this profile leaves to the full profile: the paper's row, and ours saying
        :data:`FULL_PROFILE_ONLY`.

    Returns
    -------
    pandas.DataFrame
        Index (protocol, row): ``paper (<method>)`` then ``label`` for each protocol of the
        paper present in ``mean`` or in ``not_run``; cells are strings with 3 decimals.
    """
    ref = paper_rows(method)
    ours = metrics.pm_table(mean, std)
    rows = {}
    for prot in ref.index:
        if prot in ours.index:
            cells = list(ours.loc[prot, list(metrics.METRICS)])
        elif prot in not_run:
            cells = [FULL_PROFILE_ONLY] * len(metrics.METRICS)
        else:
            continue
        rows[(prot, f"paper ({method})")] = [f"{x:.3f}" for x in ref.loc[prot]]
        rows[(prot, label)] = cells
    out = pd.DataFrame.from_dict(rows, orient="index", columns=list(metrics.METRICS))
    out.index = pd.MultiIndex.from_tuples(out.index, names=["protocol", "row"])
    return out


@dataclass
class TVL1Rows:
    """The "TVL1" rows of Tables 5-6, STSTNet retrained from scratch on the real TV-L1 images.

    ``table``: per protocol the paper's row and ours (mean ± std over seeds); ``pooled``: the
    MEGC 2019 pooled UF1 / UAR / accuracy per (protocol, seed); ``summary`` the full
    :func:`faceflow.mer.metrics.summarize` table; ``gap`` / ``gap_signed``: mean absolute and
    signed difference ours - paper over the numbers of the protocols run (``gap_numbers`` of them,
    15 with all three protocols); ``folds`` and ``fold_seconds``: folds
    trained and the sum of their training times (recorded when they were trained, so also right
    for cached folds); ``seeds``: seeds run; ``protocol_folds``: the folds of one seed over all
    protocols (every subject of each protocol held out once); ``wall_seconds``: this call's time.
    """

    table: pd.DataFrame | None = None
    pooled: pd.DataFrame | None = None
    summary: pd.DataFrame | None = None
    predictions: pd.DataFrame | None = None
    epochs: int = 0
    gap: float | None = None
    gap_signed: float | None = None
    gap_numbers: int = 0
    folds: int = 0
    fold_seconds: float = 0.0
    wall_seconds: float = 0.0
    seeds: int = 0
    protocol_folds: int = 0
    missing: dict[str, str] = field(default_factory=dict)

    def full_protocol_seconds(self, seeds: int) -> float:
        """Extrapolated training time of the paper's protocol (every fold, the paper's epochs, ``seeds``).

        At this run's time per fold and epoch: ``fold_seconds / (folds x epochs)`` times
        ``protocol_folds x seeds x`` the paper's epochs. An extrapolation, not a measurement
        (with few folds trained at once the batched engine's time per fold is higher than with all).

        Parameters
        ----------
        seeds : int
            Seeds of the protocol to extrapolate to.

        Returns
        -------
        float
            Seconds (NaN when nothing was trained).
        """
        if not self.epochs or not self.folds:
            return float("nan")
        per_fold_epoch = self.fold_seconds / (self.folds * self.epochs)
        return per_fold_epoch * self.protocol_folds * seeds * paper.STSTNET_EPOCHS

    @property
    def text(self) -> dict[str, str]:
        """The prose numbers as strings (``n/a`` when missing).

        Returns
        -------
        dict
            secs, folds, per_fold, epochs, wall, gap, gap_signed, verdict (within
            :data:`TVL1_AGREEMENT` of the paper or not) and full_minutes: the
            extrapolated minutes of the paper's epochs over the ``full`` profile's seeds.
        """
        keys = ("secs", "folds", "per_fold", "epochs", "wall", "gap", "gap_signed", "full_minutes", "verdict")
        if self.table is None:
            return dict.fromkeys(keys, NOT_AVAILABLE)
        scale = f"{self.epochs} epochs per fold against the paper's {paper.STSTNET_EPOCHS}"
        if self.gap <= TVL1_AGREEMENT:
            verdict = (
                f"holds: our TVL1 rows are within {self.gap:.3f} of the paper's on average "
                f"({self.gap_numbers} numbers; {scale})"
            )
        else:
            verdict = (
                f"not reproduced at this scale: ours differ from the paper's by {self.gap:.3f} on "
                f"average (signed {self.gap_signed:+.3f}; {scale})"
            )

        return dict(
            full_minutes=f"{self.full_protocol_seconds(get('full').mer.n_seeds) / 60:.0f}",
            secs=f"{self.fold_seconds:.0f}",
            folds=str(self.folds),
            per_fold=f"{self.fold_seconds / max(self.folds, 1):.2f}",
            epochs=str(self.epochs),
            wall=f"{self.wall_seconds:.0f}",
            gap=f"{self.gap:.3f}",
            gap_signed=f"{self.gap_signed:+.3f}",
            verdict=verdict,
        )

    def chance_text(self) -> str:
        """The pooled UAR of each protocol (mean over seeds) against chance for three classes.

        Returns
        -------
        str
            Each protocol's mean pooled UAR, "at chance" within :data:`CHANCE_MARGIN` of 1/3,
            else above or below; ``n/a`` without results.

        Examples
        --------
        >>> import pandas as pd
        >>> pooled = pd.DataFrame({"UAR": [0.35, 0.61]}, index=pd.Index(["SAMM", "SMIC"], name="protocol"))
        >>> TVL1Rows(pooled=pooled).chance_text().split(": ", 1)[1]
        'SAMM 0.350, at chance (within 0.05); SMIC 0.610, above chance.'
        """
        if self.pooled is None or self.pooled.empty:
            return NOT_AVAILABLE
        uar = self.pooled["UAR"].groupby(level="protocol", sort=False).mean()
        chance = 1 / 3
        parts = []
        for protocol, value in uar.items():
            if abs(value - chance) <= CHANCE_MARGIN:
                where = f"at chance (within {CHANCE_MARGIN:.2f})"
            else:
                where = "above chance" if value > chance else "below chance"
            parts.append(f"{protocol} {value:.3f}, {where}")
        return (
            f"Pooled UAR (mean over seeds) against {chance:.3f} for guessing among three classes: "
            + "; ".join(parts)
            + "."
        )


def tvl1_rows(
    root: str | os.PathLike | None,
    run: MerPlan,
    out_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> TVL1Rows:
    """Retrain STSTNet leave-one-subject-out on the real TV-L1 images, the paper's rows beside ours.

    Parameters
    ----------
    root : path-like, optional
        Data root holding ``mer/stst_uvos``.
    run : MerPlan
        Epochs, seeds, folds and LOSO settings (:func:`plan`).
    out_dir : path-like, optional
        Cache of the per-subject predictions (``<out_dir>/tvl1_real/...``, resumable); the
        predictions are also written to ``<out_dir>/tvl1_real_predictions.csv``.
    progress : bool
        Show progress bars.

    Returns
    -------
    TVL1Rows
        ``missing`` names the images when they are absent.
    """
    missing = _absent(("stst_images",), root)
    if missing:
        return TVL1Rows(missing=missing)
    t0 = time.perf_counter()
    ds = features.from_stst_images(root)
    protocols = run.tvl1_protocol_sources()
    preds, summary = loso.real_tvl1_experiment(
        root, run.seeds, run.config, out_dir, progress=progress, max_folds=run.max_folds, protocols=protocols
    )
    wall = time.perf_counter() - t0
    if out_dir is not None:
        atomic_write_text(Path(out_dir) / "tvl1_real_predictions.csv", preds.to_csv(index=False))
    mean, std = metrics.mean_std(summary)
    label = f"ours ({run.epochs} epochs, {len(run.seeds)} seed(s))"
    ref = paper_rows("TVL1")
    gap = mean.reindex(ref.index)[list(metrics.METRICS)] - ref
    return TVL1Rows(
        table=beside_paper(mean, std, label, not_run=[p for p in loso.PROTOCOLS if p not in protocols]),
        pooled=summary[["UF1", "UAR", "accuracy", "folds"]].round(4),
        summary=summary,
        predictions=preds,
        epochs=run.epochs,
        gap=float(np.nanmean(np.abs(gap.to_numpy(float)))),
        gap_numbers=int(gap.notna().sum().sum()),
        gap_signed=float(np.nanmean(gap.to_numpy(float))),
        folds=int(summary["folds"].sum()),
        fold_seconds=float(summary["fold_seconds"].sum()),
        wall_seconds=wall,
        seeds=len(run.seeds),
        protocol_folds=sum(len(set(ds.subset(sources).subjects.tolist())) for sources in loso.PROTOCOLS.values()),
    )


# ---------------------------------------------------------------------------- other methods


#: The cell of a paper's method that is registered but gets its LOSO row only in the full profile.
FULL_PROFILE_ONLY = "full profile"


def method_rows(mean: pd.DataFrame, std: pd.DataFrame, left_out: Sequence[str] = ()) -> pd.DataFrame:
    """Tables 5-6 layout of per-(protocol, method) results: the paper's methods first.

    For each protocol: one row per method of the paper (:data:`faceflow.mer.loso.PAPER_METHODS`),
    ``mean ± std`` when a registered method provides it, :data:`FULL_PROFILE_ONLY` when it is
    registered but left to the full profile (``left_out``) and ``not available`` otherwise, then
    every other method as ``<name> (not in paper)``.

    Parameters
    ----------
    mean, std : pandas.DataFrame
        Indexed by (protocol, method), columns :data:`faceflow.mer.metrics.METRICS`.
    left_out : sequence of str
        Registered methods this profile trains no row for (:attr:`MethodChoice.others`).

    Returns
    -------
    pandas.DataFrame
        Index (protocol, method); string cells.
    """
    ours = metrics.pm_table(mean, std)
    rows = {}
    for prot in mean.index.get_level_values("protocol").unique():
        for label, name in loso.PAPER_METHODS.items():
            if (prot, name) in ours.index:
                rows[(prot, label)] = list(ours.loc[(prot, name)])
            else:
                why = FULL_PROFILE_ONLY if name in left_out else "not available"
                rows[(prot, label)] = [why] * len(metrics.METRICS)
        for name in mean.loc[prot].index:
            if name not in loso.PAPER_METHODS.values():
                rows[(prot, f"{name} (not in paper)")] = list(ours.loc[(prot, name)])
    out = pd.DataFrame.from_dict(rows, orient="index", columns=list(metrics.METRICS))
    out.index = pd.MultiIndex.from_tuples(out.index, names=["protocol", "method"])
    return out


def protocol_deltas(mean: pd.DataFrame) -> pd.DataFrame:
    """:func:`faceflow.mer.metrics.deltas` within each protocol of a (protocol, method) table.

    Parameters
    ----------
    mean : pandas.DataFrame
        Indexed by (protocol, method).

    Returns
    -------
    pandas.DataFrame
        Same index and columns: each method's distance to the best of its protocol and column.
    """
    prots = mean.index.get_level_values(0).unique()
    return pd.concat({p: metrics.deltas(mean.loc[p]) for p in prots}, names=["protocol", "method"])


@dataclass
class OtherMethodRows:
    """Tables 5-6 rows of every registered flow method, on real or generated onset/apex pairs.

    ``kind`` is ``"real"`` (SAMM and SMIC frames found) or ``"generated"``; ``table`` the rows in
    the paper's layout; ``deltas`` each method's distance to the best of its column;
    ``note`` says which samples were used; ``seconds`` the time for features and training.
    """

    kind: str
    table: pd.DataFrame
    deltas: pd.DataFrame
    summary: pd.DataFrame
    predictions: pd.DataFrame
    methods: list[str]
    note: str
    seconds: float
    missing: dict[str, str] = field(default_factory=dict)

    def verdict(self, face_network: str = "Exp1") -> str:
        """Whether the paper's ranking of flow methods for MER can be tested with these rows.

        Parameters
        ----------
        face_network : str
            The face-trained FlowNetS whose place is stated.

        Returns
        -------
        str
            "not testable here" on the generated set (its rows rank methods on known synthetic
            motions, not on the paper's data), with the face network's place; the ranking on
            the real frames otherwise.
        """
        if self.summary is None or self.summary.empty:
            return NOT_AVAILABLE
        if self.kind == "generated":
            return (
                "not testable here: the SAMM and SMIC onset/apex frames are licensed and absent; "
                "on the generated set, " + self.ranking_text(face_network=face_network)
            )
        return "tested on the real SAMM and SMIC frames: " + self.ranking_text(face_network=face_network)

    def ranking_text(self, metric: str = "F1_M", face_network: str = "Exp1") -> str:
        """The trained methods ranked by ``metric`` (mean over seeds) in each protocol, and
        where ``face_network`` (the face-trained FlowNetS) ranks.

        Parameters
        ----------
        metric : str
            One of :data:`faceflow.mer.metrics.METRICS`.
        face_network : str
            The method whose place is stated.

        Returns
        -------
        str
            ``n/a`` when no method was trained.
        """
        if self.summary is None or self.summary.empty:
            return NOT_AVAILABLE
        mean = self.summary[metric].groupby(level=["protocol", "method"], sort=False).mean()
        labels = {name: label for label, name in loso.PAPER_METHODS.items()}
        parts = []
        for protocol in dict.fromkeys(mean.index.get_level_values("protocol")):
            ranked = mean.loc[protocol].sort_values(ascending=False)
            listed = ", ".join(f"{labels.get(m, m)} {v:.3f}" for m, v in ranked.items())
            text = f"{protocol} ({self.kind} set), by {metric}: {listed}"
            if face_network in ranked.index:
                place = list(ranked.index).index(face_network) + 1
                n = len(ranked)
                where = "first" if place == 1 else "last" if place == n else f"{place} of {n}"
                text += f"; the face-trained FlowNetS ({face_network}) ranks {where}"
            parts.append(text)
        return ". ".join(parts) + "."


def other_method_rows(
    root: str | os.PathLike | None,
    methods: Sequence[str],
    run: MerPlan,
    out_dir: str | os.PathLike | None = None,
    seed: int = 0,
    progress: bool = False,
    left_out: Sequence[str] = (),
) -> OtherMethodRows:
    """The LOSO protocol for every flow method in ``methods``, in the layout of Tables 5-6.

    With the SAMM and SMIC onset/apex frames under ``root`` (:func:`faceflow.mer.data.real_samples`)
    the paper's three protocols run on them; otherwise the generated micro-expression set
    (:func:`faceflow.mer.data.generated_samples`, ``run``'s sizes, one protocol, ``run.gen_seeds``)
    is used and ``missing`` says why the real frames were not.

    Parameters
    ----------
    root : path-like, optional
        Data root.
    methods : sequence of str
        Registered flow methods.
    run : MerPlan
        Seeds, folds, generated-set sizes and LOSO settings.
    out_dir : path-like, optional
        Cache folder (features and per-subject predictions); the predictions are also written to
        ``<out_dir>/<kind>_method_predictions.csv``.
    seed : int
        Seed of the generated clips.
    progress : bool
        Show progress bars.
    left_out : sequence of str
        Registered methods this profile trains no row for; a paper's method among them is shown
        as :data:`FULL_PROFILE_ONLY` instead of ``not available``.

    Returns
    -------
    OtherMethodRows
    """
    t0 = time.perf_counter()
    real, missing = merdata.real_samples(root) if root is not None else ([], {"all": "no data root"})
    if {"samm", "smic"} <= {s.dataset for s in real}:
        kind = "real"
        samples = [s for s in real if s.dataset in ("samm", "smic")]
        note = f"real onset/apex frames: {len(samples)} SAMM and SMIC clips"
        preds, summary, _ = loso.generated_experiment(
            samples,
            methods,
            run.seeds,
            run.config,
            out_dir,
            progress=progress,
            max_folds=run.max_folds,
            protocols=loso.PROTOCOLS,
            tag="real_pairs",
        )
        shown = {}
    else:
        kind = "generated"
        samples, gen_note = merdata.generated_samples(
            root,
            per_class=run.gen_per_class,
            size=run.gen_size,
            max_identities=run.gen_identities,
            seed=seed,
            use_photos=root is not None,
        )
        note = f"generated set: {len(samples)} clips, {len({s.subject for s in samples})} identities ({gen_note})"
        preds, summary, _ = loso.generated_experiment(
            samples, methods, run.gen_seeds, run.config, out_dir, progress=progress, max_folds=run.max_folds
        )
        reasons = "; ".join(f"{k}: {v}" for k, v in missing.items())
        shown = {"SAMM / SMIC onset-apex frames": reasons + " The other rows use the generated micro-expression set."}
    seconds = time.perf_counter() - t0
    if out_dir is not None:
        atomic_write_text(Path(out_dir) / f"{kind}_method_predictions.csv", preds.to_csv(index=False))
    g = summary[list(metrics.METRICS)].groupby(level=["protocol", "method"], sort=False)
    mean, std = g.mean(), g.std(ddof=1)
    return OtherMethodRows(
        kind=kind,
        table=method_rows(mean, std, left_out),
        deltas=protocol_deltas(mean),
        summary=summary,
        predictions=preds,
        methods=list(methods),
        note=note,
        seconds=seconds,
        missing=shown,
    )


# ------------------------------------------------------------------------- real clips' features


@dataclass
class ClipComparison:
    """Our features of the real clips beside the published TV-L1 images of the same samples.

    ``table``: one row per clip file (TV-L1): size, colours of the onset frame, frames, apex, the
    correlation of each channel with
    the published image, the label and the class the published weights of the sample's subject
    predict on the published image and on ours. ``methods_table``: per flow method, the mean
    correlations and how often its prediction equals the one on the published image and the
    label. ``pairs`` the onset/apex crops, ``features`` ``{method: MERSet}``.
    """

    table: pd.DataFrame | None = None
    methods_table: pd.DataFrame | None = None
    pairs: list = field(default_factory=list)
    features: dict = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> dict[str, str]:
        """Prose numbers: ``n`` clips, ``samples``, mean ``r_u``/``r_v``/``r_strain``, ``agree`` (k of n)."""
        if self.table is None:
            return {k: NOT_AVAILABLE for k in ("n", "samples", "r_u", "r_v", "r_strain", "agree")}
        t = self.table
        return dict(
            n=str(len(t)),
            samples=str(t["sample"].nunique()),
            r_u=f"{t['r_u'].mean():.2f}",
            r_v=f"{t['r_v'].mean():.2f}",
            r_strain=f"{t['r_strain'].mean():.2f}",
            agree=f"{int(t['agree'].sum())} of {len(t)}",
        )


def clip_comparison(
    root: str | os.PathLike | None,
    methods: Sequence[str],
    max_clips: int | None = None,
    reference: str = "tvl1",
    progress: bool = False,
) -> ClipComparison:
    """STSTNet features of the real clips (``mer/clips``) for every method, checked against the published images.

    Parameters
    ----------
    root : path-like, optional
        Data root holding ``mer/clips``, ``mer/stst_uvos`` and ``mer/stst_weights``.
    methods : sequence of str
        Registered flow methods; ``reference`` (TV-L1, the published images' flow) is added.
    max_clips : int, optional
        Use only the first clips (smoke runs).
    reference : str
        The method compared clip by clip in ``table``.
    progress : bool
        Show progress bars.

    Returns
    -------
    ClipComparison
        ``missing`` names the clips, images or weights when absent.
    """
    from faceflow.mer import clips as merclips
    from faceflow.mer.stst import load_published, predict

    missing = _absent(("me_clips", "stst_images", "stst_weights"), root)
    if missing:
        return ClipComparison(missing=missing)
    found = merdata.me_clips(root)[:max_clips]
    published = merclips.published_images(root, [c.sample for c in found])
    found = [c for c in found if c.sample in published]
    pairs = merclips.load_clip_pairs(found, progress=progress)
    labels = {s: y for s, (_, y) in published.items()}
    methods = [reference] + [m for m in methods if m != reference]
    feats = {m: merclips.clip_features(pairs, m, labels) for m in methods}
    nets = {p.subject: load_published(p.subject, root) for p in pairs}
    pub_pred = {p.name: int(predict(nets[p.subject], published[p.clip.sample][0])[0]) for p in pairs}
    rows, per_method = [], {}
    for m, ds in feats.items():
        corr, agree, right = [], [], []
        for p, img in zip(pairs, ds.images):
            r = merclips.channel_correlations(img, published[p.clip.sample][0])
            pred = int(predict(nets[p.subject], img)[0])
            corr.append(r)
            agree.append(pred == pub_pred[p.name])
            right.append(pred == labels[p.clip.sample])
            if m == reference:
                rows.append(
                    dict(
                        clip=p.name,
                        sample=p.clip.sample,
                        dataset=p.dataset,
                        size="{}x{}".format(*p.frame_size),
                        colours=p.colours,
                        frames=p.n_frames,
                        apex=p.apex_index,
                        r_u=r[0],
                        r_v=r[1],
                        r_strain=r[2],
                        label=labels[p.clip.sample],
                        pred_published=pub_pred[p.name],
                        pred_ours=pred,
                        agree=pred == pub_pred[p.name],
                    )
                )
        c = np.asarray(corr)
        per_method[m] = dict(
            r_u=c[:, 0].mean(),
            r_v=c[:, 1].mean(),
            r_strain=c[:, 2].mean(),
            agree_with_published=f"{sum(agree)}/{len(agree)}",
            correct=f"{sum(right)}/{len(right)}",
        )
    pub_right = sum(pub_pred[p.name] == labels[p.clip.sample] for p in pairs)
    per_method["published image"] = dict(
        r_u=1.0,
        r_v=1.0,
        r_strain=1.0,
        agree_with_published=f"{len(pairs)}/{len(pairs)}",
        correct=f"{pub_right}/{len(pairs)}",
    )
    table = pd.DataFrame(rows).set_index("clip")
    methods_table = pd.DataFrame.from_dict(per_method, orient="index")
    methods_table.index.name = "features"
    return ClipComparison(table, methods_table, pairs, feats)


# ------------------------------------------------------------------------------ paper tables


def paper_tables() -> pd.DataFrame:
    """The paper's Tables 5 and 6 side by side, each cell ``value (Δ delta)``.

    The delta is the distance to the best (largest) value of its column, as printed in the paper
    (:func:`faceflow.mer.metrics.deltas`). No parameters.

    Returns
    -------
    pandas.DataFrame
        Rows: the paper's methods; columns (protocol, metric); string cells.
    """
    both = pd.concat([paper.table5(), paper.table6()], axis=1)
    d = metrics.deltas(both)
    show = both.copy().astype(object)
    for c in both.columns:
        show[c] = [f"{v:.3f} (Δ {dv:.3f})" for v, dv in zip(both[c], d[c])]
    return show
