"""Sec. 5.2, the comparison with other flow methods: the methods, Table 3, runtimes, away from faces.

Chapter 04 is one call per table to this module (with :mod:`faceflow.studies.baselines`):

* :func:`comparison_methods` gathers the methods of Table 3 (our trained FlowNetS networks, the
  classical OpenCV methods, the published pretrained networks that stand in for the paper's CNNs)
  and says why any is missing (the paper's CNNs: :data:`faceflow.methods.pretrained.PAPER_CNNS`);
* :func:`table3` evaluates them on the face test sets (:func:`faceflow.evaluation.testsets.load_test_sets`)
  and returns Table 3 in the paper's layout, the per-pair rows and the best of our networks;
* :func:`runtime_table` times every method on one pair resized to the paper's 384x512;
* :func:`away_from_faces` evaluates the same methods on the Sintel and FlyingChairs samples.

What chapter 04 adds (training a missing run, fine-tuning RAFT-small, Fig. 4 in pieces) is in
:mod:`faceflow.studies.baselines`.

Every builder returns a result with a ``missing: dict[str, str]`` attribute naming what could not
run and why (shown by :meth:`faceflow.book.chapter.Chapter.report`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd

from faceflow.evaluation import tables
from faceflow.evaluation.evaluate import cached_evaluate, evaluate, runtime_ms
from faceflow.evaluation.testsets import TestSets
from faceflow.io.atomic import atomic_write_text
from faceflow.io.datasets import FlowPair, chairs_pairs, locate, sintel_pairs
from faceflow.methods.classical import FAST_CLASSICAL_METHODS
from faceflow.methods.flownets_checkpoints import checkpoint_flow_fn, checkpoint_status, register_checkpoints
from faceflow.methods.pretrained import PAPER_CNNS, PRETRAINED, paper_cnn_status, register_pretrained
from faceflow.methods.registry import estimate_flow, get_method

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
    statuses : list of faceflow.methods.pretrained.PretrainedStatus
        Every CNN of the paper (:func:`faceflow.methods.pretrained.paper_cnn_status`).
    pretrained : list of str
        The published pretrained networks registered here (:mod:`faceflow.methods.pretrained`).
    pretrained_missing : dict of str to str
        ``{network: why}`` for each pretrained network asked for whose weights are not here.
    runs_dir : pathlib.Path
        Where our networks' checkpoints are (``<runs_dir>/<experiment>/last.pt``).
    missing : dict of str to str
        What could not be used, and why.
    device : str
        Torch device our networks run on.
    """

    ours: list[str]
    classical: list[str]
    statuses: list
    runs_dir: Path
    pretrained: list[str] = field(default_factory=list)
    pretrained_missing: dict[str, str] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    device: str = "cpu"

    @property
    def names(self) -> list[str]:
        """Every method that runs, in Table 3's evaluation order."""
        return self.ours + self.classical + self.pretrained

    @property
    def networks(self) -> list[str]:
        """The methods with a model to load (timed after one untimed call)."""
        return self.ours + self.pretrained

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
        if method in PAPER_CNNS:
            return "cnn"
        return "classical"

    def fig4_methods(self) -> list[str]:
        """The columns of Fig. 4: our networks, the classical methods but the zero field, the CNNs."""
        return [m for group in self.fig4_groups().values() for m in group]

    def fig4_groups(self) -> dict[str, list[str]]:
        """The pieces of Fig. 4 (:data:`faceflow.studies.baselines.FIG4_PIECES`): our networks, the
        classical methods but the zero field, the networks with published weights (the pretrained
        substitutes for the paper's CNNs)."""
        classical = [m for m in self.classical if m != "zero"]
        return {"ours": list(self.ours), "classical": classical, "networks": list(self.pretrained)}

    def largest_predictions(self) -> dict[str, Callable]:
        """``{network: flow function}`` of our networks' largest (k = 1) prediction, as Tables 1-2
        score them in the paper's convention (the registered function returns the full-size flow,
        which the k = 1 grid would then average back down)."""
        return {
            m: checkpoint_flow_fn(self.runs_dir / m / "last.pt", device=self.device, largest=True) for m in self.ours
        }

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


def comparison_methods(
    runs_dir: str | os.PathLike,
    test_sets: TestSets,
    profile: str,
    include_tvl1: bool = False,
    data_root: str | os.PathLike | None = None,
    device: str = "cpu",
    pretrained: Sequence[str] = (),
) -> MethodSet:
    """Register and list the methods of Table 3.

    Our networks are the FlowNetS experiments under ``runs_dir`` that have a checkpoint; nothing
    is trained here (chapter 04 trains a missing run first:
    :func:`faceflow.studies.baselines.train_missing_runs`).

    Parameters
    ----------
    runs_dir : path-like
        The face runs folder.
    test_sets : TestSets
        The face test sets (:func:`faceflow.evaluation.testsets.load_test_sets`).
    profile : str
        Profile name (named when the pretrained networks are not run).
    include_tvl1 : bool
        Add TV-L1 to the classical methods (seconds per pair).
    data_root : path-like, optional
        The data root.
    device : str
        Torch device of the networks.
    pretrained : sequence of str
        Published pretrained networks to compare (keys of
        :data:`faceflow.methods.pretrained.PRETRAINED`); those without weights get a row saying
        where the weights come from.

    Returns
    -------
    MethodSet
    """
    runs_dir = Path(runs_dir)
    ours = register_checkpoints(runs_dir, device=device)
    statuses = paper_cnn_status()
    classical = list(FAST_CLASSICAL_METHODS) + (["tvl1"] if include_tvl1 else [])
    missing = {}
    if not ours:
        why = " (the face test set is generated, so none were trained)." if test_sets.generated else "."
        missing["Our FlowNetS networks"] = (
            f"no trained checkpoints under {runs_dir}{why} Table 3 is shown without them and without "
            "improvement columns."
        )
    wanted = {s.name: s for s in register_pretrained(data_root, device=device) if s.name in pretrained}
    if not pretrained:
        missing["Pretrained networks"] = (
            f"not run in the {profile} profile (seconds per pair on a CPU); the default profile runs "
            f"{', '.join(n.label for n in PRETRAINED.values())}."
        )
    nets = [n for n, s in wanted.items() if s.available]
    nets_missing = {n: s.reason for n, s in wanted.items() if not s.available}
    return MethodSet(ours, classical, statuses, runs_dir, nets, nets_missing, missing, device)


@dataclass
class Table3Result:
    """Table 3 computed here.

    Attributes
    ----------
    table : pandas.DataFrame
        Numbers per test set: EPE and AAE on the face's moving pairs and on the whole crop (the
        paper's convention), with the improvement columns of each when our networks ran.
    shown : pandas.DataFrame
        :attr:`table` as strings, with one row saying why for each CNN without weights; column
        groups say GENERATED when the test sets are generated.
    per_pair : pandas.DataFrame
        The :func:`faceflow.evaluation.evaluate.evaluate` rows behind the table, with their views
        (:func:`faceflow.evaluation.regions.with_views`).
    best : dict of str to str
        ``{test set: best of our networks}`` over the whole crop, the reference of the paper's
        improvement columns; ``best_face`` the same on the face's moving pairs.
    floor : float or None
        The jitter floor that split still and moving pairs.
    missing : dict of str to str
        Nothing is missing from a computed table; kept for :meth:`Chapter.report`.
    ours : list of str
        Our networks (registry names).
    """

    table: pd.DataFrame
    shown: pd.DataFrame
    per_pair: pd.DataFrame
    best: dict[str, str]
    best_face: dict[str, str] = field(default_factory=dict)
    floor: float | None = None
    missing: dict[str, str] = field(default_factory=dict)
    ours: list[str] = field(default_factory=list)

    @property
    def best_text(self) -> str:
        """The best network on each set (face, moving pairs; whole crop), as a phrase for the page."""
        if not self.best:
            return "none: no trained networks"
        parts = []
        for s, b in self.best.items():
            whole = f"{tables.display_name(b)} on the whole crop of {s}"
            face = self.best_face.get(s)
            parts.append(f"{tables.display_name(face)} on the face and {whole}" if face else whole)
        return "; ".join(parts)

    def claim(self, test_set: str = "faces test", view: str = "face@moving") -> str:
        """The paper's Sec. 5.2 claim on ``test_set`` in ``view``: our best network beats every other method.

        Parameters
        ----------
        test_set : str
        view : str
            A key of :data:`faceflow.evaluation.regions.VIEWS`.

        Returns
        -------
        str
            ``holds``, ``does not hold`` (naming the methods it does not beat) or ``not testable
            here``; single runs, so "beats" is a lower mean (:func:`~faceflow.evaluation.regions.beats`).
        """
        from faceflow.evaluation.regions import beats, view_column

        best = (self.best_face if view != "whole" else self.best).get(test_set)
        rows = self.per_pair[self.per_pair["test_set"] == test_set]
        if best is None or rows.empty:
            return "not testable here: no trained network or no face test pairs"
        means = rows.groupby("method")[view_column("epe", view)].mean()
        ours = set(self.ours) | set(self.best.values()) | set(self.best_face.values())
        others = [m for m in means.index if m not in ours and m != "zero"]
        others += ["zero"] if "zero" in means.index else []
        lost = [tables.display_name(m) for m in others if not beats(means[m] - means[best])]
        if not lost:
            return f"holds: {tables.display_name(best)} beats every other method here ({len(others)})"
        return f"does not hold: {tables.display_name(best)} does not beat {', '.join(lost)}"

    def by_region(self, test_set: str) -> pd.DataFrame:
        """Every method's mean EPE and AAE on ``test_set`` in every view, as strings.

        Parameters
        ----------
        test_set : str

        Returns
        -------
        pandas.DataFrame
            :func:`faceflow.evaluation.regions.views_display`: rows ``(method, EPE | AAE)``
            (display names), columns the views with their pair counts.
        """
        from faceflow.evaluation.regions import view_means, views_display

        rows = self.per_pair.assign(method=[tables.display_name(m) for m in self.per_pair["method"]])
        return views_display(view_means(rows, self.floor), test_set, still=self.floor is not None)


def table3(
    test_sets: TestSets,
    methods: MethodSet,
    cache_dir: str | os.PathLike | None,
    out_dir: str | os.PathLike | None = None,
    floor: float | None = None,
    views: Sequence[str] | None = None,
    convention: str = "paper",
    functions: Mapping[str, Callable] | None = None,
    all_ours: bool = True,
    progress: bool = False,
) -> Table3Result:
    """Table 3: every method of ``methods`` on every face test set, in the paper's layout, by region.

    Measured as Tables 1 and 2 (the paper's Sec. 5.1 convention: the k = 1 grid, half the stored
    size, so pixels of the 192 x 256 grid for 384 x 512 crops), on the face's moving pairs and
    on the whole crop. Per-(test set, method) results are cached under ``cache_dir``
    (:func:`faceflow.evaluation.evaluate.cached_evaluate`). Rows: our networks (or the best of
    them on each set), then the paper's baselines in its order, then our extra methods.
    Improvement columns are relative to the best of our networks on each set, in each view (none
    without networks). ``faceflow compare`` calls it with its own views, convention and flow
    functions.

    Parameters
    ----------
    test_sets : TestSets
        The face test sets.
    methods : MethodSet
        From :func:`comparison_methods`.
    cache_dir : path-like or None
        Folder of the per-method CSV cache; None: nothing is cached.
    out_dir : path-like, optional
        When given, ``per_pair.csv`` and ``table3.csv`` are written there.
    floor : float, optional
        The jitter floor (:mod:`faceflow.groundtruth.jitter`).
    views : sequence of str, optional
        The views of the table (keys of :data:`faceflow.evaluation.regions.VIEWS`); default: the
        face's moving pairs and the whole crop when the pairs have a face region, else the whole
        crop.
    convention : {"paper", "native"}
        Where the errors are measured (:func:`faceflow.evaluation.evaluate.evaluate`).
    functions : mapping of str to callable, optional
        The flow function of a method in place of its registered one (e.g. our networks' k = 1
        prediction); only without a cache, which is stored under the registered method's name.
    all_ours : bool
        Keep every one of our networks, not only the best on some set
        (:func:`faceflow.evaluation.tables.table3`).
    progress : bool
        Show tqdm bars.

    Returns
    -------
    Table3Result

    Raises
    ------
    ValueError
        ``functions`` together with a ``cache_dir``, or as :func:`faceflow.evaluation.evaluate.evaluate`.
    """
    from faceflow.evaluation.regions import PAPER_VIEW, VERDICT_VIEW, view_column, view_label, with_views

    largest = methods.largest_predictions() if convention == "paper" else {}
    if cache_dir is None:
        fns = {m: (functions or {}).get(m) or largest.get(m) or partial(estimate_flow, m) for m in methods.names}
        frames = [evaluate(fns, pairs, name, progress, convention) for name, pairs in test_sets.sets.items()]
    elif functions:
        raise ValueError("table3: flow functions in place of the registered methods cannot be cached")
    else:
        tags = methods.cache_tags()
        tags.update({m: f"{tags[m]}@k1" for m in largest})  # not the registered (full-size) estimate
        frames = [
            cached_evaluate(
                methods.names, pairs, name, cache_dir, tags, progress=progress, convention=convention, functions=largest
            )
            for name, pairs in test_sets.sets.items()
        ]
    per_pair = pd.concat(frames, ignore_index=True)
    per_pair = with_views(per_pair, floor)
    if views is None:
        views = (VERDICT_VIEW, PAPER_VIEW) if per_pair["epe_face"].notna().any() else (PAPER_VIEW,)
    parts, best = {}, {}
    for view in views:
        one = per_pair[["method", "test_set"]].assign(
            epe=per_pair[view_column("epe", view)], aae=per_pair[view_column("aae", view)]
        )
        avg = tables.averages(one)
        if methods.ours:
            table, best[view] = tables.table3(avg, methods.ours, order=table3_order(), all_ours=all_ours)
        else:
            table, best[view] = avg.rename(index=tables.display_name), {}
        parts[view] = table
    label = {v: view_label(v) for v in views}
    cols = []
    for s in test_sets.sets:
        for kind in ("EPE", "AAE", "EPE impr. %", "AAE impr. %"):
            for view in views:
                if (s, kind) in parts[view].columns:
                    cols.append((s, f"{kind} ({label[view]})", view, kind))
    table = pd.DataFrame({(s, name): parts[view][(s, kind)] for s, name, view, kind in cols})
    table.index.name = "method"
    shown = grouped(tables.format_table(table, dict.fromkeys(methods.missing_cnn, NO_WEIGHTS)), methods)
    shown.columns = pd.MultiIndex.from_tuples([(test_sets.label(a), b) for a, b in shown.columns])
    if out_dir is not None:
        atomic_write_text(Path(out_dir) / "per_pair.csv", per_pair.to_csv(index=False))
        atomic_write_text(Path(out_dir) / "table3.csv", table.to_csv())
    best_whole, best_face = best.get(PAPER_VIEW, {}), best.get(VERDICT_VIEW, {})
    return Table3Result(table, shown, per_pair, best_whole, best_face, floor, ours=list(methods.ours))


@dataclass
class ExactRanking:
    """Every method of Table 3 on the known-motion set (exact ground truth), best first.

    Attributes
    ----------
    table : pandas.DataFrame
        Strings: rank, EPE and AAE on the true face and over the whole frame, pairs.
    per_pair : pandas.DataFrame
        The rows behind it.
    missing : dict of str to str
    """

    table: pd.DataFrame
    per_pair: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing: dict[str, str] = field(default_factory=dict)

    def rank_of(self, method: str) -> int | None:
        """1-based rank of ``method`` (a registry or display name) by face EPE, None when absent."""
        name = tables.display_name(method)
        return int(self.table.loc[name, "rank"]) if name in self.table.index else None


def exact_ranking(methods: MethodSet, pairs: Sequence[FlowPair], cache_dir) -> ExactRanking:
    """Rank every method of ``methods`` on pairs with exact ground truth (the known-motion set).

    Measured as Tables 1-3 (k = 1 grid); the face is each pair's true face, and the whole frame is
    scored too (here the ground truth is exact everywhere, so the whole frame is a fair region).

    Parameters
    ----------
    methods : MethodSet
    pairs : sequence of FlowPair
        :meth:`faceflow.groundtruth.gterror.KnownMotionSet.pairs`.
    cache_dir : path-like

    Returns
    -------
    ExactRanking
        Ranked by EPE on the face.
    """
    if not pairs:
        return ExactRanking(pd.DataFrame(), missing={"Exact ground truth": "no known-motion pairs"})
    per_pair = cached_evaluate(
        methods.names, list(pairs), "known motion", cache_dir, methods.cache_tags(), convention="paper"
    )
    means = per_pair.groupby("method", sort=False)[["epe_face", "aae_face", "epe", "aae"]].mean()
    means = means.sort_values("epe_face")
    table = pd.DataFrame(
        {
            "rank": range(1, len(means) + 1),
            "kind": [GROUPS[methods.kind(m)] for m in means.index],
            "EPE face": [f"{v:.4f}" for v in means["epe_face"]],
            "AAE face": [f"{v:.4f}" for v in means["aae_face"]],
            "EPE whole frame": [f"{v:.4f}" for v in means["epe"]],
            "AAE whole frame": [f"{v:.4f}" for v in means["aae"]],
        },
        index=pd.Index([tables.display_name(m) for m in means.index], name="method"),
    )
    table["pairs"] = len(pairs)
    return ExactRanking(table, per_pair)


def table3_order() -> tuple[str, ...]:
    """Row order of Table 3 after our networks: the paper's CNNs, the pretrained substitutes, Farneback.

    Returns
    -------
    tuple of str
        Display names; methods not listed follow in evaluation order.
    """
    paper_cnns = tuple(m for m in tables.PAPER_BASELINES if m in PAPER_CNNS)
    rest = tuple(m for m in tables.PAPER_BASELINES if m not in PAPER_CNNS)
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
