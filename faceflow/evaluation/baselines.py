"""Sec. 5.2, the comparison with other flow methods: the methods, Table 3, runtimes, away from faces.

Chapter 04 is one call per table to this module:

* :func:`comparison_methods` gathers the methods of Table 3 (our trained FlowNetS networks, the
  classical OpenCV methods, the paper's CNNs that have weights here) and says why any is missing;
* :func:`table3` evaluates them on the face test sets (:func:`faceflow.evaluation.testsets.load_test_sets`)
  and returns Table 3 in the paper's layout, the per-pair rows and the best of our networks;
* :func:`runtime_table` times every method on one pair resized to the paper's 384x512;
* :func:`away_from_faces` evaluates the same methods on the Sintel and FlyingChairs samples.

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
from faceflow.io.datasets import FlowPair, chairs_pairs, locate, sintel_pairs
from faceflow.methods import cnn
from faceflow.methods.registry import get_method
from faceflow.training.checkpoints import checkpoint_status, register_checkpoints

#: Classical methods of the accuracy tables (TV-L1 is added when asked for: seconds per pair).
CLASSICAL = ("farneback", "dis", "zero")

#: Methods timed without an untimed first call (no model to load).
TIMED_CLASSICAL = ("farneback", "tvl1", "dis")

#: Text of a Table 3 row whose CNN has no weights here.
NO_WEIGHTS = "weights not available"


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
    trained_here: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Every method that runs, in Table 3's evaluation order."""
        return self.ours + self.classical + self.cnn

    @property
    def missing_cnn(self) -> dict[str, str]:
        """``{CNN: reason}`` for each paper CNN without weights."""
        return {s.name: s.reason for s in self.statuses if not s.available}

    def fig4_methods(self) -> list[str]:
        """The columns of Fig. 4: our networks, the classical methods but the zero field, the CNNs."""
        return self.ours + [m for m in self.classical if m != "zero"] + self.cnn

    def cache_tags(self) -> dict[str, str]:
        """Cache key of each method: its description, plus the checkpoint's mtime for our networks."""
        tags = {m: str(get_method(m).description) for m in self.names}
        for m in self.ours:
            tags[m] += f"@{(self.runs_dir / m / 'last.pt').stat().st_mtime_ns}"
        return tags

    def table(self) -> pd.DataFrame:
        """One row per method: name, kind and how it runs here (or why it does not)."""
        rows = [(tables.display_name(m), get_method(m).kind, get_method(m).description) for m in self.names]
        rows += [(name, "cnn", why) for name, why in self.missing_cnn.items()]
        return pd.DataFrame(rows, columns=["method", "kind", "how it runs here"]).set_index("method")

    def missing_table(self) -> pd.DataFrame:
        """``method, status`` of each paper CNN without weights (empty when all four ran)."""
        return pd.DataFrame(list(self.missing_cnn.items()), columns=["method", "status"]).set_index("method")


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
        ensure_trained(cfg, runs_dir / exp, data_root=data_root, face_dir=face_dir, device=device, progress=False)
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

    Returns
    -------
    MethodSet
    """
    runs_dir = Path(runs_dir)
    trained = []
    if not test_sets.generated:
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
    return MethodSet(ours, classical, available, statuses, runs_dir, trained, missing)


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
        table, best = tables.table3(avg, methods.ours, order=tables.PAPER_BASELINES)
    else:
        table, best = avg.rename(index=tables.display_name), {}
    shown = tables.format_table(table, dict.fromkeys(methods.missing_cnn, NO_WEIGHTS))
    shown.columns = pd.MultiIndex.from_tuples([(test_sets.label(a), b) for a, b in shown.columns])
    if out_dir is not None:
        per_pair.to_csv(Path(out_dir) / "per_pair.csv", index=False)
        table.to_csv(Path(out_dir) / "table3.csv")
    return Table3Result(table, shown, per_pair, best)


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

    networks = methods.ours + methods.cnn
    runtime = pd.concat(
        [
            runtime_ms(networks, pair.img1, pair.img2, repeat=repeats, warmup=1),
            runtime_ms(list(TIMED_CLASSICAL), pair.img1, pair.img2, repeat=repeats, warmup=0),
        ]
    )
    sizes = network_input_sizes(methods)
    runtime["network input (HxW)"] = [sizes.get(m, "384x512") for m in runtime.index]
    runtime.index = [tables.display_name(m) for m in runtime.index]
    if out_dir is not None:
        runtime.to_csv(Path(out_dir) / "runtime.csv")
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
        table.to_csv(Path(out_dir) / "away_from_faces.csv")
    shown = tables.format_table(table, dict.fromkeys(methods.missing_cnn, NO_WEIGHTS), digits=3)
    return AwayResult(table, shown, per_pair, missing)
