"""The paper's text against the authors' released code, measured (chapter 03, ``book/choices.md``).

* :func:`huber_zones`: where the residuals that the Huber penalties of Eqs. 5 and 7 see fall
  relative to their thresholds ``d``. The text calls the penalty "a variant of the L1 loss",
  which it is only when typical residuals exceed ``d``.
* :func:`compare_variants`: the same experiments trained in the ``text`` and the ``code``
  variant (:mod:`faceflow.training.experiments`) on the same pairs, evaluated on the same test
  pairs. Two configurations that differ only in their name are one training run (in the code
  variant Exp1 and Exp2I are: the released code gives both the loss (1, 0), the same rate and
  no initialisation), and the table says which run a row reuses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from faceflow import profiles
from faceflow.evaluation import tables
from faceflow.methods.flownets_checkpoints import load_checkpoint
from faceflow.training import experiments
from faceflow.training.experiments import TrainConfig
from faceflow.training.loop import ensure_trained
from faceflow.training.losses import CYCLIC_HUBER_D, SMOOTH_HUBER_D, downsample_flow, reconstruct_second

#: Column of :class:`HuberZones`'s table: the share of values in the Huber penalty's linear zone.
LINEAR_SHARE = "share >= d (linear zone)"


@dataclass
class HuberZones:
    """Result of :func:`huber_zones`.

    table : one row per penalty and input: threshold, share of the values at or above it (the
        linear zone; at ``d`` itself both branches of Eq. 5 meet; 4 decimals), median and 90th
        percentile (4 significant digits).
    values : the measured values by row name (grey levels for the cyclic rows, px/px for the
        gradient row), for further plots.
    figure : the histograms against the thresholds (None when nothing could be measured).
    missing : what could not be measured, and why.
    """

    table: pd.DataFrame
    values: dict = field(default_factory=dict)
    figure: object = None
    missing: dict = field(default_factory=dict)

    def share(self, row: str) -> float | None:
        """The share of ``row``'s values in the linear zone (None when not measured)."""
        if row not in self.table.index:
            return None
        return float(self.table.loc[row, LINEAR_SHARE])

    def share_text(self, row: str) -> str:
        """:meth:`share` as a percentage for the page, or :data:`faceflow.evaluation.tables.NOT_AVAILABLE`.

        Parameters
        ----------
        row : str
            A row of :attr:`table`.

        Returns
        -------
        str
        """
        share = self.share(row)
        return tables.NOT_AVAILABLE if share is None or np.isnan(share) else f"{100 * share:.0f} %"


def huber_zones(
    pairs,
    n_pairs: int = 32,
    cyclic_d: float = CYCLIC_HUBER_D,
    smooth_d: float = SMOOTH_HUBER_D,
    intensity_scale: float = 255.0,
    charbonnier_eps: float = 0.01,
) -> HuberZones:
    """Residuals of the cyclic loss (Eq. 5) and flow gradients (Eq. 7) against the Huber thresholds.

    Parameters
    ----------
    pairs : torch dataset or None
        Training samples (dicts with ``img1``, ``img2`` in [0, 1] and ``flow`` in pixels), e.g.
        :func:`faceflow.training.datasets.face_datasets`' test split. ``None`` or empty: the
        result's ``missing`` says so.
    n_pairs : int
        Evenly spaced pairs to measure.
    cyclic_d, smooth_d : float
        The thresholds to check (grey levels; px/px on the k = 1 grid).
    intensity_scale : float
        Intensities are compared as ``intensity_scale * X`` (255: grey levels).
    charbonnier_eps : float
        The released code's Charbonnier ``eps``, drawn beside ``smooth_d`` for comparison.

    Returns
    -------
    HuberZones
        The cyclic residuals ``|X_{i+1} - X̂_{i+1}|`` (every pixel and channel) with ``X̂`` warped
        by the ground-truth flow and by zero flow (a network at its start), and the non-zero
        forward differences of the ground truth on the k = 1 grid (the face pixels).
    """
    if pairs is None or len(pairs) == 0:
        return HuberZones(pd.DataFrame(), missing={"Huber zones": "no face pairs to measure residuals on"})
    idx = np.unique(np.linspace(0, len(pairs) - 1, min(n_pairs, len(pairs))).round().astype(int))
    res_gt, res_zero, grads = [], [], []
    with torch.no_grad():
        for i in idx:
            s = pairs[int(i)]
            img1, img2, gt = s["img1"][None], s["img2"][None], s["flow"][None]
            res_gt.append(((img2 - reconstruct_second(img1, gt)) * intensity_scale).abs().flatten())
            res_zero.append(((img2 - img1) * intensity_scale).abs().flatten())
            g = downsample_flow(gt, 1)
            d = torch.cat([(g[..., :, 1:] - g[..., :, :-1]).flatten(), (g[..., 1:, :] - g[..., :-1, :]).flatten()])
            grads.append(d.abs()[d != 0])
    values = {
        "cyclic, ground-truth flow": torch.cat(res_gt).numpy(),
        "cyclic, zero flow": torch.cat(res_zero).numpy(),
        "smoothness, ground truth": torch.cat(grads).numpy(),
    }
    thresholds = {
        "cyclic, ground-truth flow": (cyclic_d, "grey levels"),
        "cyclic, zero flow": (cyclic_d, "grey levels"),
        "smoothness, ground truth": (smooth_d, "px/px (k = 1 grid)"),
    }
    rows = []
    for name, v in values.items():
        d, unit = thresholds[name]
        rows.append((name, unit, d, _linear_share(v, d), *_quantiles(v)))
    g = values["smoothness, ground truth"]
    rows.append(
        (
            "(released code: Charbonnier eps)",
            "px/px (k = 1 grid)",
            charbonnier_eps,
            _linear_share(g, charbonnier_eps),
            *_quantiles(g),
        )
    )
    table = pd.DataFrame(rows, columns=["values", "unit", "d", LINEAR_SHARE, "median", "90th pct"])
    table[LINEAR_SHARE] = table[LINEAR_SHARE].round(4)
    for col in ("median", "90th pct"):  # 4 significant digits: float32 quantiles such as 1.9999998 read 2
        table[col] = [float(f"{v:.4g}") for v in table[col]]
    table.attrs["n_pairs"] = int(len(idx))
    return HuberZones(table.set_index("values"), values, _zones_figure(values, cyclic_d, smooth_d, charbonnier_eps))


#: Relative tolerance of the linear-zone test: a residual of exactly one grey level computed in
#: float32 as ``(k + 1) / 255 * 255 - k / 255 * 255`` can land a few ulps below 1.
ZONE_RTOL = 1e-4


def _linear_share(v: np.ndarray, d: float) -> float:
    """Share of ``v`` at or above ``d`` (the Huber penalty's linear zone), float32 round-off forgiven."""
    return float((v >= d * (1 - ZONE_RTOL)).mean()) if v.size else float("nan")


def _quantiles(v: np.ndarray) -> tuple[float, float]:
    return (float(np.median(v)), float(np.percentile(v, 90))) if v.size else (np.nan, np.nan)


def _zones_figure(values: dict, cyclic_d: float, smooth_d: float, eps: float):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3))
    for name, style in (("cyclic, ground-truth flow", "C0"), ("cyclic, zero flow", "C1")):
        v = values[name]
        bins = np.logspace(-2, np.log10(max(float(v.max()), 1.0) + 1), 50)
        axes[0].hist(np.clip(v, bins[0], None), bins=bins, histtype="step", color=style, label=name.split(", ")[1])
    axes[0].axvline(cyclic_d, color="k", ls="--", label=f"d = {cyclic_d:g}")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("|X2 - X2'| (grey levels; < 0.01 drawn at 0.01)")
    axes[0].set_ylabel("pixels x channels")
    axes[0].set_title("cyclic loss, Eq. 5", fontsize=9)
    axes[0].legend(fontsize=7)
    g = values["smoothness, ground truth"]
    if g.size:
        bins = np.logspace(np.log10(max(float(g.min()), 1e-5)), np.log10(float(g.max()) + 1e-6), 50)
        axes[1].hist(g, bins=bins, histtype="step", color="C2", label="ground truth, non-zero")
    axes[1].axvline(smooth_d, color="k", ls="--", label=f"Huber d = {smooth_d:g}")
    axes[1].axvline(eps, color="C3", ls=":", label=f"code's Charbonnier eps = {eps:g}")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("|flow difference| (px per px, k = 1 grid)")
    axes[1].set_title("smoothness, Eq. 7", fontsize=9)
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    plt.close(fig)
    return fig


@dataclass
class VariantComparison:
    """Result of :func:`compare_variants`.

    table : one row per (experiment, variant): its loss weights, whether the k = 1 EPE term is
        in, the learning rate used, initialisation, steps, the run it is (when shared), the
        training time, then mean EPE and AAE per test set (4 decimals); a last row per
        variant-free reference (zero flow), its training cells empty.
    per_pair : the per-pair errors behind the table.
    runs : checkpoint of each (experiment, variant).
    missing : what could not be computed, and why.
    """

    table: pd.DataFrame
    per_pair: pd.DataFrame = field(default_factory=pd.DataFrame)
    runs: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)


def _identity(cfg: TrainConfig) -> str:
    """Everything that defines a training run except its name."""
    d = cfg.to_dict()
    d.pop("experiment")
    return json.dumps(d, sort_keys=True)


def compare_variants(
    test_sets: Mapping[str, object],
    layout: profiles.OutputLayout,
    profile: str = "default",
    names: Sequence[str] = ("Exp1", "Exp3I"),
    variants: Sequence[str] = experiments.VARIANTS,
    train_set: str = "faces",
    data: dict | None = None,
    data_root=None,
    face_dir=None,
    train_data=None,
    val_data=None,
    device: str = "cpu",
    progress: bool = False,
    trained: Sequence[str] | None = None,
    **overrides,
) -> VariantComparison:
    """Train (or reuse) ``names`` in each variant and evaluate them on the same test pairs.

    Parameters
    ----------
    test_sets : mapping of name to pairs
        The test sets (anything :func:`faceflow.evaluation.evaluate.evaluate` accepts). Empty:
        nothing is trained and ``missing`` says so.
    layout : faceflow.profiles.OutputLayout
        Runs go to ``layout.runs(train_set, variant) / <experiment>``: the text variant's runs
        are those of Table 2.
    profile : str
        Training settings (:func:`faceflow.training.experiments.for_profile`); ``overrides`` win.
    names, variants : sequences of str
        Experiments and variants to compare.
    train_set, data, data_root, face_dir, train_data, val_data, device, progress
        As for :func:`faceflow.training.loop.ensure_trained`.
    trained : sequence of str, optional
        The variants trained and scored (default: all); the others get their settings' rows with
        :data:`NOT_TRAINED` in place of the scores and of the training columns.
    **overrides
        :class:`~faceflow.training.experiments.TrainConfig` fields (and ``finetune_steps``).

    Returns
    -------
    VariantComparison
    """
    if not test_sets:
        return VariantComparison(pd.DataFrame(), missing={"Variant comparison": "no face test set"})
    rows, per_pair, runs, zero = [], [], {}, None
    trained = list(variants if trained is None else trained)
    for variant in variants:
        cfgs = {n: experiments.for_profile(n, train_set, profile, variant, data=data, **overrides) for n in names}
        if variant not in trained:
            rows += [_untrained_row(n, variant, c, test_sets) for n, c in cfgs.items()]
            continue
        # runs this variant trains anyway: the requested ones and their initialisations
        pool = {c.init_from: TrainConfig.from_dict(c.init_config) for c in cfgs.values() if c.init_from}
        pool.update({n: c for n, c in cfgs.items() if n not in pool})
        root = layout.runs(train_set, variant)
        info = {}
        for n, c in cfgs.items():
            owner = next(m for m, pc in pool.items() if _identity(pc) == _identity(c))
            path = ensure_trained(  # the book's own run cache: a stale run is replaced
                pool[owner],
                root / owner,
                data_root,
                face_dir,
                train_data,
                val_data,
                device=device,
                progress=progress,
                replace=True,
            )
            runs[(n, variant)] = path
            _, _, extra = load_checkpoint(path)
            info[n] = _settings_row(n, variant, c) | {
                "steps": int(extra["step"]),
                "run": owner if owner != n else "",
                "train s": round(float(extra.get("seconds", 0.0))),
            }
        # the evaluation of Table 2 (same pairs, same convention)
        t = tables.table2({n: runs[(n, variant)] for n in names}, test_sets, device, experiments=list(names))
        for n in names:
            row = info[n]
            for set_name in test_sets:
                for metric in ("EPE", "AAE"):
                    row[f"{set_name} {metric}"] = t.value(n, set_name, metric.lower())
            rows.append(row)
        per_pair.append(t.per_pair.assign(variant=variant))
        zero = t.zero
    ref = {k: "" for k in rows[0]} | {"experiment": "zero flow (reference)"}  # no training settings
    for set_name in test_sets:
        for metric in ("EPE", "AAE"):
            ref[f"{set_name} {metric}"] = (
                float(zero.loc[set_name, metric.lower()])
                if zero is not None and set_name in zero.index
                else tables.NOT_AVAILABLE
            )
    for row in rows + [ref]:  # errors with 4 decimals, as every table of the book shows them
        for key, value in row.items():
            if key.endswith((" EPE", " AAE")) and isinstance(value, float):
                row[key] = round(value, 4)
    table = pd.DataFrame(rows + [ref]).set_index(["experiment", "variant"])
    per_pair = pd.concat(per_pair, ignore_index=True) if per_pair else pd.DataFrame()
    return VariantComparison(table, per_pair, runs)


#: What a variant's row shows in place of scores when the profile does not train it.
NOT_TRAINED = "full profile"


def _settings_row(name: str, variant: str, cfg: TrainConfig) -> dict:
    """The columns of a variant's row that its settings alone give (loss weights, lr, init)."""
    lc = cfg.loss_config()
    return {
        "experiment": name,
        "variant": variant,
        "lambda1/2/3": f"{lc.lambda1:g} / {lc.lambda2:g} / {lc.lambda3:g}",
        "k=1 EPE term": "no" if lc.weights()[0] == 0 else "yes",
        "lr used": f"{cfg.lr * cfg.lr_multiplier:.3g}",
        "init": cfg.init_from or "scratch",
    }


def _untrained_row(name: str, variant: str, cfg: TrainConfig, test_sets) -> dict:
    """A variant's row from its settings alone (nothing trained)."""
    row = _settings_row(name, variant, cfg) | {"steps": NOT_TRAINED, "run": "", "train s": NOT_TRAINED}
    for set_name in test_sets:
        for metric in ("EPE", "AAE"):
            row[f"{set_name} {metric}"] = NOT_TRAINED
    return row


def variant_gap(result: VariantComparison, set_name: str, metric: str = "EPE") -> dict[str, float]:
    """``code - text`` of ``metric`` on ``set_name`` for each experiment in both variants."""
    t = result.table
    out = {}
    for name in dict.fromkeys(t.index.get_level_values(0)):
        if (name, "text") in t.index and (name, "code") in t.index:
            col = f"{set_name} {metric}"
            code, text = t.loc[(name, "code"), col], t.loc[(name, "text"), col]
            if isinstance(code, float) and isinstance(text, float):
                out[name] = float(code - text)
    return out


def gap_text(result: VariantComparison, set_name: str, metric: str = "EPE") -> str:
    """:func:`variant_gap` for a page: ``"Exp1 +0.123 px; ..."``, or why there is none.

    Parameters
    ----------
    result : VariantComparison
    set_name, metric : str

    Returns
    -------
    str
    """
    gap = variant_gap(result, set_name, metric)
    if gap:
        return "; ".join(f"{k} {v:+.3f} px" for k, v in gap.items())
    return f"not measured in this profile (the code variant's rows say '{NOT_TRAINED}')"
