"""Sec. 5.2, the comparison with other flow methods: the methods, Table 3, runtimes, away from faces.

Chapter 04 is one call per table to this module:

* :func:`comparison_methods` gathers the methods of Table 3 (our trained FlowNetS networks, the
  classical OpenCV methods, the paper's CNNs that have weights here, the published pretrained
  networks that stand in for them) and says why any is missing;
* :func:`table3` evaluates them on the face test sets (:func:`faceflow.evaluation.testsets.load_test_sets`)
  and returns Table 3 in the paper's layout, the per-pair rows and the best of our networks;
* :func:`runtime_table` times every method on one pair resized to the paper's 384x512;
* :func:`away_from_faces` evaluates the same methods on the Sintel and FlyingChairs samples;
* :func:`finetune_on_faces` (beyond the paper) fine-tunes RAFT-small on the face ground truth and
  compares it with the pretrained network on the same test pairs.

Every builder returns a result with a ``missing: dict[str, str]`` attribute naming what could not
run and why (shown by :meth:`faceflow.book.chapter.Chapter.report`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from faceflow.evaluation import tables
from faceflow.evaluation.evaluate import cached_evaluate, runtime_ms
from faceflow.evaluation.testsets import TestSets
from faceflow.io.atomic import atomic_write_text
from faceflow.io.datasets import FlowPair, chairs_pairs, locate, sintel_pairs
from faceflow.methods import cnn
from faceflow.methods.pretrained import PRETRAINED, register_pretrained
from faceflow.methods.registry import get_method
from faceflow.training.checkpoints import checkpoint_status, register_checkpoints

#: Classical methods of the accuracy tables (TV-L1 is added when asked for: seconds per pair).
CLASSICAL = ("farneback", "dis", "zero")

#: Methods timed without an untimed first call (no model to load).
TIMED_CLASSICAL = ("farneback", "tvl1", "dis")

#: Text of a Table 3 row whose CNN has no weights here.
NO_WEIGHTS = "weights not available"

#: Row groups of the displayed Table 3, by method kind.
GROUPS = {
    "ours": "ours (FlowNetS)",
    "cnn": "the paper's CNNs",
    "pretrained": "pretrained substitutes for the paper's CNNs",
    "classical": "classical",
}


@dataclass
class MethodSet:
    """The methods of Table 3 and why any of the paper's is missing.

    Attributes
    ----------
    ours : list of str
        Our trained FlowNetS networks (registered from their checkpoints).
    classical : list of str
        Registered classical methods.
    cnn : list of str
        The paper's CNNs registered with their weights.
    statuses : list of faceflow.methods.cnn.CNNStatus
        Every CNN of the paper, available or not.
    pretrained : list of str
        The published pretrained networks registered here (:mod:`faceflow.methods.pretrained`).
    pretrained_missing : dict of str to str
        ``{network: why}`` for each pretrained network asked for whose weights are not here.
    runs_dir : pathlib.Path
        Where our networks' checkpoints are (``<runs_dir>/<experiment>/last.pt``).
    trained_here : list of str
        Experiments this call trained because their run was missing altogether.
    missing : dict of str to str
        What could not be used, and why.
    """

    ours: list[str]
    classical: list[str]
    cnn: list[str]
    statuses: list
    runs_dir: Path
    pretrained: list[str] = field(default_factory=list)
    pretrained_missing: dict[str, str] = field(default_factory=dict)
    trained_here: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Every method that runs, in Table 3's evaluation order."""
        return self.ours + self.classical + self.cnn + self.pretrained

    @property
    def networks(self) -> list[str]:
        """The methods with a model to load (timed after one untimed call)."""
        return self.ours + self.cnn + self.pretrained

    @property
    def missing_cnn(self) -> dict[str, str]:
        """``{CNN: reason}`` for each paper CNN without weights, then each pretrained network without them."""
        return {s.name: s.reason for s in self.statuses if not s.available} | self.pretrained_missing

    def kind(self, method: str) -> str:
        """``ours``, ``cnn``, ``pretrained`` or ``classical`` (a missing network counts as its kind).

        Parameters
        ----------
        method : str
            A registry name.

        Returns
        -------
        str
        """
        if method in self.ours:
            return "ours"
        if method in self.pretrained or method in self.pretrained_missing:
            return "pretrained"
        if method in self.cnn or method in cnn.CNN_BASELINES:
            return "cnn"
        return "classical"

    def fig4_methods(self) -> list[str]:
        """The columns of Fig. 4: our networks, the classical methods but the zero field, the CNNs."""
        return self.ours + [m for m in self.classical if m != "zero"] + self.cnn + self.pretrained

    def cache_tags(self) -> dict[str, str]:
        """Cache key of each method: its description, plus the checkpoint's mtime for our networks."""
        tags = {m: str(get_method(m).description) for m in self.names}
        for m in self.ours:
            tags[m] += f"@{(self.runs_dir / m / 'last.pt').stat().st_mtime_ns}"
        return tags

    def table(self) -> pd.DataFrame:
        """One row per method: name, kind and how it runs here (or why it does not)."""
        rows = [(tables.display_name(m), get_method(m).kind, get_method(m).description) for m in self.names]
        rows += [(tables.display_name(name), self.kind(name), why) for name, why in self.missing_cnn.items()]
        return pd.DataFrame(rows, columns=["method", "kind", "how it runs here"]).set_index("method")

    def missing_table(self) -> pd.DataFrame:
        """``method, status`` of each paper CNN without weights (empty when all four ran)."""
        rows = [(tables.display_name(m), why) for m, why in self.missing_cnn.items()]
        return pd.DataFrame(rows, columns=["method", "status"]).set_index("method")


def train_missing_runs(
    runs_dir: str | os.PathLike,
    face_dir: str | os.PathLike,
    profile: str,
    exclude: Sequence[str],
    data_root: str | os.PathLike | None = None,
    device: str = "cpu",
) -> list[str]:
    """Train each FlowNetS experiment whose run is missing altogether; existing runs are left as they are.

    Parameters
    ----------
    runs_dir : path-like
        The face runs folder (``<runs_dir>/<experiment>/last.pt``).
    face_dir : path-like
        The ``faceflow gt`` face dataset the runs train on.
    profile : str
        Profile whose training settings a missing run gets.
    exclude : sequence of str
        Face sequences held out of the split (the cross-dataset source).
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

    runs_dir = Path(runs_dir)
    trained = []
    for exp in experiments.NAMES:
        if (runs_dir / exp / "last.pt").is_file():
            continue
        cfg = experiments.for_profile(exp, "faces", profile, data={"exclude": list(exclude)})
        ensure_trained(
            cfg, runs_dir / exp, data_root=data_root, face_dir=face_dir, device=device, progress=False, replace=True
        )
        trained.append(exp)
    return trained


def comparison_methods(
    runs_dir: str | os.PathLike,
    test_sets: TestSets,
    profile: str,
    include_tvl1: bool = False,
    cnn_weights: str | os.PathLike | None = None,
    data_root: str | os.PathLike | None = None,
    device: str = "cpu",
    pretrained: Sequence[str] = (),
    train_missing: bool = True,
) -> MethodSet:
    """Register and list the methods of Table 3.

    Our networks are the FlowNetS experiments under ``runs_dir``; when the face test sets are real
    and a run is missing altogether, it is trained first with the profile's settings
    (:func:`train_missing_runs`). With generated test sets no network is trained.

    Parameters
    ----------
    runs_dir : path-like
        The face runs folder.
    test_sets : TestSets
        The face test sets (:func:`faceflow.evaluation.testsets.load_test_sets`).
    profile : str
        Profile name (training settings of a missing run).
    include_tvl1 : bool
        Add TV-L1 to the classical methods (seconds per pair).
    cnn_weights : path-like, optional
        Folder with the paper's CNN weights (default ``$FACEFLOW_CNN_WEIGHTS``).
    data_root : path-like, optional
        The data root.
    device : str
        Torch device of the networks.
    pretrained : sequence of str
        Published pretrained networks to compare (keys of
        :data:`faceflow.methods.pretrained.PRETRAINED`); those without weights get a row saying
        where the weights come from.
    train_missing : bool
        Train the FlowNetS runs missing altogether (real face test sets only).

    Returns
    -------
    MethodSet
    """
    runs_dir = Path(runs_dir)
    trained = []
    if train_missing and not test_sets.generated:
        trained = train_missing_runs(
            runs_dir, test_sets.face_dir, profile, test_sets.exclude, data_root=data_root, device=device
        )
    ours = register_checkpoints(runs_dir, device=device)
    statuses = cnn.register_cnn_baselines(cnn_weights, device=device)
    classical = list(CLASSICAL) + (["tvl1"] if include_tvl1 else [])
    missing = {}
    if not ours:
        why = " (the face test set is generated, so none were trained)." if test_sets.generated else "."
        missing["Our FlowNetS networks"] = (
            f"no trained checkpoints under {runs_dir}{why} Table 3 is shown without them and without "
            "improvement columns."
        )
    available = [s.name for s in statuses if s.available]
    wanted = {s.name: s for s in register_pretrained(data_root, device=device) if s.name in pretrained}
    if not pretrained:
        missing["Pretrained networks"] = (
            f"not run in the {profile} profile (seconds per pair on a CPU); the default profile runs "
            f"{', '.join(n.label for n in PRETRAINED.values())}."
        )
    nets = [n for n, s in wanted.items() if s.available]
    nets_missing = {n: s.reason for n, s in wanted.items() if not s.available}
    return MethodSet(ours, classical, available, statuses, runs_dir, nets, nets_missing, trained, missing)


@dataclass
class Table3Result:
    """Table 3 computed here.

    Attributes
    ----------
    table : pandas.DataFrame
        Numbers: EPE, AAE (and the improvement columns when our networks ran) per test set.
    shown : pandas.DataFrame
        :attr:`table` as strings, with a row saying why for each CNN without weights; column
        groups say GENERATED when the test sets are generated.
    per_pair : pandas.DataFrame
        The :func:`faceflow.evaluation.evaluate.evaluate` rows behind the table.
    best : dict of str to str
        ``{test set: best of our networks}``, the reference of the improvement columns.
    missing : dict of str to str
        Nothing is missing from a computed table; kept for :meth:`Chapter.report`.
    """

    table: pd.DataFrame
    shown: pd.DataFrame
    per_pair: pd.DataFrame
    best: dict[str, str]
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def best_text(self) -> str:
        """The best network on each set, as a phrase for the page."""
        if not self.best:
            return "none: no trained networks"
        return ", ".join(f"{b} on {s}" for s, b in self.best.items())


def table3(
    test_sets: TestSets, methods: MethodSet, cache_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None
) -> Table3Result:
    """Table 3: every method of ``methods`` on every face test set, in the paper's layout.

    Per-(test set, method) results are cached under ``cache_dir``
    (:func:`faceflow.evaluation.evaluate.cached_evaluate`). Rows: the best of our networks on
    each set, then the paper's baselines in its order, then our extra methods. Improvement
    columns are relative to the best of our networks on each set (none without networks).

    Parameters
    ----------
    test_sets : TestSets
        The face test sets.
    methods : MethodSet
        From :func:`comparison_methods`.
    cache_dir : path-like
        Folder of the per-method CSV cache.
    out_dir : path-like, optional
        When given, ``per_pair.csv`` and ``table3.csv`` are written there.

    Returns
    -------
    Table3Result
    """
    tags = methods.cache_tags()
    per_pair = pd.concat(
        [cached_evaluate(methods.names, pairs, name, cache_dir, tags) for name, pairs in test_sets.sets.items()],
        ignore_index=True,
    )
    avg = tables.averages(per_pair)
    if methods.ours:
        table, best = tables.table3(avg, methods.ours, order=table3_order())
    else:
        table, best = avg.rename(index=tables.display_name), {}
    shown = grouped(tables.format_table(table, dict.fromkeys(methods.missing_cnn, NO_WEIGHTS)), methods)
    shown.columns = pd.MultiIndex.from_tuples([(test_sets.label(a), b) for a, b in shown.columns])
    if out_dir is not None:
        atomic_write_text(Path(out_dir) / "per_pair.csv", per_pair.to_csv(index=False))
        atomic_write_text(Path(out_dir) / "table3.csv", table.to_csv())
    return Table3Result(table, shown, per_pair, best)


def table3_order() -> tuple[str, ...]:
    """Row order of Table 3 after our networks: the paper's CNNs, the pretrained substitutes, Farneback.

    Returns
    -------
    tuple of str
        Display names; methods not listed follow in evaluation order.
    """
    paper_cnns = tuple(m for m in tables.PAPER_BASELINES if m in cnn.CNN_BASELINES)
    rest = tuple(m for m in tables.PAPER_BASELINES if m not in cnn.CNN_BASELINES)
    return paper_cnns + tuple(n.label for n in PRETRAINED.values()) + rest


def grouped(shown: pd.DataFrame, methods: MethodSet) -> pd.DataFrame:
    """``shown`` with a first index level naming each row's group (:data:`GROUPS`).

    Parameters
    ----------
    shown : pandas.DataFrame
        A table indexed by display names.
    methods : MethodSet
        Says each method's kind.

    Returns
    -------
    pandas.DataFrame
        Index ``(group, method)``; the same rows in the same order.
    """
    kinds = {tables.display_name(m): methods.kind(m) for m in methods.names + list(methods.missing_cnn)}
    groups = [GROUPS[kinds.get(m, "classical")] for m in shown.index]
    out = shown.copy()
    out.index = pd.MultiIndex.from_arrays([groups, list(shown.index)], names=["group", "method"])
    return out


def network_input_sizes(methods: MethodSet) -> dict[str, str]:
    """``{our network: "HxW (trained size)"}``: the resolution each checkpoint runs at."""
    out = {}
    for m in methods.ours:
        st = checkpoint_status(methods.runs_dir / m / "last.pt")
        res = (st or {}).get("config", {}).get("resolution")
        out[m] = "x".join(map(str, res)) + " (trained size)" if res else "?"
    return out


@dataclass
class RuntimeResult:
    """Milliseconds per pair at 384x512.

    Attributes
    ----------
    table : pandas.DataFrame
        Index: method (display names); columns ``ms_per_pair`` and ``network input (HxW)``.
    note : str
        CPU count, torch threads and the pair timed.
    missing : dict of str to str
        Always empty (every registered method is timed).
    """

    table: pd.DataFrame
    note: str
    missing: dict[str, str] = field(default_factory=dict)


def runtime_table(
    methods: MethodSet, pair: FlowPair, repeats: int, out_dir: str | os.PathLike | None = None
) -> RuntimeResult:
    """Milliseconds per pair of each network and classical method, the pair resized to 384x512.

    Networks get one untimed call first (model loading), classical methods none; the best of
    ``repeats`` timed calls is reported (:func:`faceflow.evaluation.evaluate.runtime_ms`).

    Parameters
    ----------
    methods : MethodSet
        From :func:`comparison_methods`.
    pair : FlowPair
        The pair to time.
    repeats : int
        Timed calls per method.
    out_dir : path-like, optional
        When given, ``runtime.csv`` is written there.

    Returns
    -------
    RuntimeResult
    """
    import torch

    runtime = pd.concat(
        [
            runtime_ms(methods.networks, pair.img1, pair.img2, repeat=repeats, warmup=1),
            runtime_ms(list(TIMED_CLASSICAL), pair.img1, pair.img2, repeat=repeats, warmup=0),
        ]
    )
    sizes = network_input_sizes(methods)
    runtime["network input (HxW)"] = [sizes.get(m, "384x512") for m in runtime.index]
    runtime.index = [tables.display_name(m) for m in runtime.index]
    if out_dir is not None:
        atomic_write_text(Path(out_dir) / "runtime.csv", runtime.to_csv())
    note = f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}; pair {pair.name}"
    return RuntimeResult(runtime, note)


@dataclass
class AwayResult:
    """Average EPE/AAE on the Sintel and FlyingChairs samples.

    Attributes
    ----------
    table : pandas.DataFrame or None
        Averages per method (display names) and set; None when neither set is here.
    shown : pandas.DataFrame or None
        :attr:`table` as strings, with the rows of CNNs without weights.
    per_pair : pandas.DataFrame
        The per-pair rows.
    missing : dict of str to str
        ``{"Sintel" | "FlyingChairs": why}`` for a set not under the data root.
    """

    table: pd.DataFrame | None
    shown: pd.DataFrame | None
    per_pair: pd.DataFrame
    missing: dict[str, str] = field(default_factory=dict)


#: The sets away from faces: name, DATASETS key, pair reader.
AWAY_SETS = (("Sintel", "sintel", sintel_pairs), ("FlyingChairs", "chairs", chairs_pairs))


def away_from_faces(
    methods: MethodSet,
    data_root: str | os.PathLike | None,
    max_pairs: int | None,
    cache_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
) -> AwayResult:
    """Every method of ``methods`` on the MPI-Sintel (clean) and FlyingChairs pairs of the data root.

    Parameters
    ----------
    methods : MethodSet
        From :func:`comparison_methods`.
    data_root : path-like or None
        The data root; a set not under it is reported in ``missing``.
    max_pairs : int, optional
        Keep the first ``max_pairs`` pairs of each set (None: all).
    cache_dir : path-like
        Folder of the per-method CSV cache.
    out_dir : path-like, optional
        When given, ``away_from_faces.csv`` is written there.

    Returns
    -------
    AwayResult
    """
    from faceflow.io.datasets import DATASETS

    tags = methods.cache_tags()
    frames, missing = [], {}
    for name, key, reader in AWAY_SETS:
        if data_root is None or locate(key, data_root) is None:
            missing[name] = f"not under the data root {data_root}. {DATASETS[key].hint}"
            continue
        refs = reader(data_root)[:max_pairs]
        frames.append(cached_evaluate(methods.names, [r.load() for r in refs], name, cache_dir, tags))
    if not frames:
        return AwayResult(None, None, pd.DataFrame(), missing)
    per_pair = pd.concat(frames, ignore_index=True)
    table = tables.averages(per_pair).rename(index=tables.display_name)
    if out_dir is not None:
        atomic_write_text(Path(out_dir) / "away_from_faces.csv", table.to_csv())
    shown = grouped(tables.format_table(table, dict.fromkeys(methods.missing_cnn, NO_WEIGHTS), digits=3), methods)
    return AwayResult(table, shown, per_pair, missing)


@dataclass
class FinetuneResult:
    """Beyond the paper: RAFT-small before and after fine-tuning on the face ground truth.

    Attributes
    ----------
    table : pandas.DataFrame or None
        Per test set: ``EPE``, ``AAE`` (all pixels, as Table 3) and ``EPE on face`` (pixels where
        the ground truth is non-zero), for the pretrained and the fine-tuned network and, for
        reference, the best of our FlowNetS networks, DIS and the zero field. None when not run.
    per_pair : pandas.DataFrame
        The rows behind it (with an ``epe_face`` column).
    history : pandas.DataFrame
        Training loss and EPE per step.
    config : dict
        The fine-tuning config (:class:`faceflow.training.finetune.FinetuneConfig`).
    seconds : float
        Training time.
    train_pairs : int
        Face training pairs the crops were drawn from.
    change : dict of str to float
        ``{test set: relative change of RAFT-small's EPE in percent}`` (negative: fine-tuning helped).
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
        """Steps, crop size, training pairs and training time, as a phrase for the page."""
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
        return ", ".join(f"{v:+.1f}% on {k}" for k, v in self.change.items())


def face_region_epe(flow, gt) -> float:
    """EPE over the pixels where the ground truth is non-zero (the face: the mesh ground truth is zero elsewhere).

    Parameters
    ----------
    flow, gt : numpy.ndarray
        (H, W, 2) flows.

    Returns
    -------
    float
        NaN when the ground truth is zero everywhere.
    """
    from faceflow.flow.metrics import epe

    valid = (gt != 0).any(axis=-1)
    return epe(flow, gt, valid) if valid.any() else float("nan")


def _rows_with_face_epe(names: Sequence[str], test_sets: TestSets) -> pd.DataFrame:
    """:func:`faceflow.evaluation.evaluate.evaluate` rows of ``names`` plus ``epe_face`` (:func:`face_region_epe`).

    ``evaluate`` runs each method on the pairs in order; a wrapper around each method computes the
    face-region EPE of the same flow as it passes, so each network runs once per pair.
    """
    from faceflow.evaluation.evaluate import evaluate
    from faceflow.methods.registry import estimate_flow

    frames = []
    for set_name, pairs in test_sets.sets.items():
        face: dict[str, list[float]] = {m: [] for m in names}

        def with_face_epe(method: str, pairs=pairs, face=face):
            def fn(a, b):
                flow = estimate_flow(method, a, b)
                face[method].append(face_region_epe(flow, pairs[len(face[method])].flow))
                return flow

            return fn

        rows = evaluate({m: with_face_epe(m) for m in names}, pairs, set_name)
        frames.append(rows.assign(epe_face=[v for m in names for v in face[m]]))
    return pd.concat(frames, ignore_index=True)


def finetune_on_faces(
    test_sets: TestSets,
    methods: MethodSet,
    table3: Table3Result | None,
    settings,
    run_dir: str | os.PathLike,
    data_root: str | os.PathLike | None = None,
    device: str = "cpu",
    seed: int = 0,
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
        From :func:`comparison_methods` (RAFT-small must be among its pretrained networks).
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

    Returns
    -------
    FinetuneResult
    """
    import json

    from faceflow.evaluation.evaluate import pairs_key
    from faceflow.io.atomic import atomic_write_text
    from faceflow.methods.pretrained import FINETUNED_NAME
    from faceflow.training.finetune import FinetuneConfig, finetune_raft, read_finetuned, register_finetuned

    what = "RAFT-small fine-tuned on faces"
    if settings.steps == 0:
        return FinetuneResult(None, missing={what: "not run in this profile (0 fine-tuning steps)."})
    if test_sets.generated:
        return FinetuneResult(None, missing={what: "no real face ground truth to fine-tune on."})
    if "raft-small" not in methods.pretrained:
        why = methods.pretrained_missing.get("raft-small", "RAFT-small is not among this profile's networks.")
        return FinetuneResult(None, missing={what: why})
    cfg = FinetuneConfig(
        steps=settings.steps,
        batch_size=settings.batch_size,
        crop=settings.crop,
        iters=settings.iters,
        lr=settings.lr,
        train_pairs=settings.train_pairs,
        split=test_sets.split.to_data(),
        seed=seed,
    )
    run_dir = Path(run_dir)
    ckpt = finetune_raft(cfg, test_sets.face_dir, run_dir, data_root=data_root, device=device)
    register_finetuned(ckpt, device)
    best = list(table3.best.values()) if table3 is not None else []
    names = list(dict.fromkeys(["raft-small", FINETUNED_NAME, *best, "dis", "zero"]))
    tags = {m: str(get_method(m).description) for m in names} | {FINETUNED_NAME: str(ckpt.stat().st_mtime_ns)}
    tags |= {m: t for m, t in methods.cache_tags().items() if m in names}
    key = {"pairs": [pairs_key(p) for p in test_sets.sets.values()], "sets": list(test_sets.sets), "tags": tags}
    csv, meta = run_dir / "comparison.csv", run_dir / "comparison.json"
    if csv.is_file() and meta.is_file() and json.loads(meta.read_text()) == key:
        per_pair = pd.read_csv(csv, dtype={"pair": str, "test_set": str, "method": str, "source": str})
    else:
        per_pair = _rows_with_face_epe(names, test_sets)
        atomic_write_text(csv, per_pair.to_csv(index=False))
        atomic_write_text(meta, json.dumps(key))
    means = per_pair.groupby(["method", "test_set"], sort=False)[["epe", "aae", "epe_face"]].mean()
    cols = [(s, c) for s in test_sets.sets for c in ("EPE", "AAE", "EPE on face")]
    table = pd.DataFrame(
        [[means.loc[(m, s), c] for s in test_sets.sets for c in ("epe", "aae", "epe_face")] for m in names],
        index=pd.Index([tables.display_name(m) for m in names], name="method"),
        columns=pd.MultiIndex.from_tuples(cols),
    )
    change = {
        s: float(tables.improvement(means.loc[("raft-small", s), "epe"], means.loc[(FINETUNED_NAME, s), "epe"]) * -1)
        for s in test_sets.sets
    }
    done = read_finetuned(ckpt)
    history = pd.DataFrame(done["extra"]["history"])
    seconds, n_train = float(done["extra"]["seconds"]), int(done["extra"]["train_pairs"])
    return FinetuneResult(table, per_pair, history, done["config"], seconds, n_train, change)


def fig4(test_sets: TestSets, methods: MethodSet, per_kind: int, path: str | os.PathLike | None = None):
    """Fig. 4 on the first face test set with every method of Fig. 4 (:meth:`MethodSet.fig4_methods`).

    Parameters
    ----------
    test_sets : TestSets
        The face test sets.
    methods : MethodSet
        From :func:`comparison_methods`.
    per_kind : int
        Rows per motion type.
    path : path-like, optional
        Where the PNG goes.

    Returns
    -------
    faceflow.evaluation.figures.Fig4Result
    """
    from faceflow.evaluation.figures import fig4_on_set

    name, pairs = next(iter(test_sets.sets.items()))
    title = f"{test_sets.label(name)}: ground truth, our networks, baselines, pretrained substitutes"
    return fig4_on_set(pairs, methods.fig4_methods(), title, per_kind=per_kind, path=path)
