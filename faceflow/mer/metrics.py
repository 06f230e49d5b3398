"""Eq. (12) metrics of micro-expression recognition, per held-out subject and aggregated (Tables 5-6).

:func:`subject_metrics` / :func:`loso_metrics` / :func:`aggregate` compute Eq. (12) per held-out
subject and average over subjects; :func:`deltas` gives the distance to each column's best;
:func:`pooled_metrics` gives the MEGC 2019 pooled UF1 / UAR; :func:`summarize` / :func:`mean_std` /
:func:`pm_table` turn LOSO predictions into the rows of Tables 5-6.

Metric conventions (also in ``book/choices.md``)
------------------------------------------------
Eq. (12) sums true positives, false positives and false negatives over all ``n = 3`` classes for
the micro averages. With one predicted class per sample every error is one false positive (of
the predicted class) and one false negative (of the true class), so ``P_mu = R_mu = F1_mu`` =
accuracy, whatever classes the subject's test set holds. These three never depend on ``absent``.

The macro averages of Eq. (12) divide by ``tp + fn`` (recall) and ``tp + fp`` (precision) per
class; a held-out subject rarely shows all three classes, so a class's recall can be 0/0.
``absent`` chooses which classes enter the macro averages (``P_M``, ``R_M``, ``F1_M``, ``G_M``) of
that subject:

``"present"`` (default)
    the classes with at least one true sample in the subject's test set. Recall is then always
    defined; a class that is present but never predicted has precision 0. Predictions of an
    absent class are errors (false negatives of the true class) but the absent class itself gets
    no precision/recall entry.
``"union"``
    the classes present in the ground truth or in the predictions (scikit-learn's default): a
    predicted-but-absent class counts with precision 0 and recall 0.
``"all"``
    all three classes always; an absent class has recall 0 (and precision 0 when predicted), so
    ``G_M`` is 0 for every subject missing a class.

``f1`` chooses the macro F1: ``"eq12"`` (default) is the paper's Eq. (12), the harmonic mean of
that subject's ``P_M`` and ``R_M``; ``"mean"`` is scikit-learn's mean of per-class F1 scores.
``G_M`` is the geometric mean of the per-class recalls. Per-subject values are aggregated by the
**mean over subjects** (the paper's "aggregated metric"); each subject counts once, whatever its
number of samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LABELS = (0, 1, 2)
METRICS = ("P_M", "R_M", "F1_M", "F1_mu", "G_M")
ABSENT_CONVENTIONS = ("present", "union", "all")


def subject_metrics(y_true, y_pred, labels: Sequence[int] = LABELS, absent: str = "present", f1: str = "eq12") -> dict:
    """Eq. (12) metrics of one held-out subject; see the module docstring for ``absent``/``f1``.

    Parameters
    ----------
    y_true, y_pred : array-like of int
        True and predicted classes of the subject's test samples (equal length, not empty).
    labels : sequence of int
        All classes of the task.
    absent : {"present", "union", "all"}
        Which classes enter the macro averages.
    f1 : {"eq12", "mean"}
        Macro F1: harmonic mean of ``P_M`` and ``R_M`` (Eq. 12), or mean of per-class F1.

    Returns
    -------
    dict
        ``P_M, R_M, F1_M, F1_mu, G_M``, plus ``P_mu, R_mu, accuracy, n`` and ``classes`` (the
        classes of the macro averages; the micro ones always use all of ``labels``).

    Raises
    ------
    ValueError
        Inputs of different lengths, empty or not 1-D; an unknown ``absent`` or ``f1``.
    """
    from sklearn.metrics import accuracy_score, precision_recall_fscore_support

    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"y_true and y_pred must be equal-length non-empty 1-D, got {y_true.shape}, {y_pred.shape}")
    if absent not in ABSENT_CONVENTIONS:
        raise ValueError(f"absent must be one of {ABSENT_CONVENTIONS}, got {absent!r}")
    if f1 not in ("eq12", "mean"):
        raise ValueError(f"f1 must be 'eq12' or 'mean', got {f1!r}")
    if absent == "present":
        classes = sorted(set(y_true.tolist()))
    elif absent == "union":
        classes = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    else:
        classes = list(labels)
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=classes, zero_division=0)
    pm, rm = float(np.mean(p)), float(np.mean(r))
    # Eq. 12 micro averages: tp, fp, fn summed over all n classes (never only the present ones)
    p_mu, r_mu, f_mu = micro_metrics(y_true, y_pred, labels)
    if f1 == "eq12":
        f1m = 0.0 if pm + rm == 0 else 2 * pm * rm / (pm + rm)
    else:
        f1m = float(np.mean(f))
    gm = float(np.prod(r) ** (1.0 / len(r)))
    return dict(
        P_M=pm,
        R_M=rm,
        F1_M=f1m,
        F1_mu=f_mu,
        G_M=gm,
        P_mu=p_mu,
        R_mu=r_mu,
        accuracy=float(accuracy_score(y_true, y_pred)),
        n=int(len(y_true)),
        classes=tuple(classes),
    )


def micro_metrics(y_true, y_pred, labels: Sequence[int] = LABELS) -> tuple[float, float, float]:
    """Eq. (12) micro precision, recall and F1 over all classes in ``labels``.

    ``P_mu = sum_i tp_i / sum_i (tp_i + fp_i)``, ``R_mu = sum_i tp_i / sum_i (tp_i + fn_i)`` and
    ``F1_mu`` their harmonic mean, the sums over every class of the task. With one label per
    sample and every true and predicted label in ``labels``, all three equal the accuracy.

    Parameters
    ----------
    y_true, y_pred : array-like of int
        True and predicted classes (equal length, not empty).
    labels : sequence of int
        The task's classes.

    Returns
    -------
    p_mu, r_mu, f1_mu : float

    Raises
    ------
    ValueError
        A true or predicted class outside ``labels``, or inputs of different lengths or empty.
    """
    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or len(y_true) == 0:
        raise ValueError(f"y_true and y_pred must be equal-length non-empty 1-D, got {y_true.shape}, {y_pred.shape}")
    outside = sorted((set(y_true.tolist()) | set(y_pred.tolist())) - set(labels))
    if outside:
        raise ValueError(f"classes {outside} are not among the labels {list(labels)}")
    tp = sum(int(np.sum((y_true == c) & (y_pred == c))) for c in labels)
    fp = sum(int(np.sum((y_true != c) & (y_pred == c))) for c in labels)
    fn = sum(int(np.sum((y_true == c) & (y_pred != c))) for c in labels)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return float(p), float(r), float(f)


def loso_metrics(preds, absent: str = "present", f1: str = "eq12", by: str = "subject"):
    """Per-held-out-subject metrics of a predictions table (columns ``label``, ``pred``, ``by``).

    Parameters
    ----------
    preds : pandas.DataFrame
        Predictions with columns ``label``, ``pred`` and ``by``.
    absent, f1 : str
        See :func:`subject_metrics`.
    by : str
        Column naming the held-out subject.

    Returns
    -------
    pandas.DataFrame
        One row per subject (index), columns of :func:`subject_metrics`.
    """
    import pandas as pd

    rows = {}
    for s, g in preds.groupby(by, sort=False):
        rows[s] = subject_metrics(g["label"], g["pred"], absent=absent, f1=f1)
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = by
    return out


def aggregate(per_subject, metrics: Sequence[str] = METRICS) -> dict:
    """The paper's aggregated metric: the mean of each metric over held-out subjects.

    Parameters
    ----------
    per_subject : pandas.DataFrame
        :func:`loso_metrics` output.
    metrics : sequence of str
        Columns to average.

    Returns
    -------
    dict
        ``{metric: mean over subjects}``.
    """
    return {m: float(per_subject[m].mean()) for m in metrics}


def pooled_metrics(y_true, y_pred) -> dict:
    """MEGC 2019 figures pooled over all predictions: ``accuracy``, ``UF1``, ``UAR``.

    UF1 is the mean over classes of the per-class F1, UAR the mean per-class recall, both over the
    classes present in ``y_true`` (all three on the composite set).

    Parameters
    ----------
    y_true, y_pred : array-like of int
        True and predicted classes.

    Returns
    -------
    dict
        ``accuracy``, ``UF1``, ``UAR`` and ``n``.
    """
    from sklearn.metrics import accuracy_score, f1_score, recall_score

    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    classes = sorted(set(y_true.tolist()))
    return dict(
        accuracy=float(accuracy_score(y_true, y_pred)),
        UF1=float(f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)),
        UAR=float(recall_score(y_true, y_pred, labels=classes, average="macro", zero_division=0)),
        n=int(len(y_true)),
    )


def deltas(table):
    """Distance of each entry to its column's best (maximum), as printed under Tables 5-6.

    Parameters
    ----------
    table : pandas.DataFrame
        Methods (rows) by metrics (columns), larger is better.

    Returns
    -------
    pandas.DataFrame
        Same shape, ``max(column) - entry``.
    """
    return (table.max(axis=0) - table).abs()


def summarize(preds, absent: str = "present", f1: str = "eq12"):
    """Aggregated metrics per (protocol, seed), from :func:`run_protocols` predictions.

    Parameters
    ----------
    preds : pandas.DataFrame
        Predictions with columns ``protocol``, ``seed``, ``subject``, ``label``, ``pred`` and
        ``seconds`` (the fold's training time).
    absent, f1 : str
        See :func:`subject_metrics`.

    Returns
    -------
    pandas.DataFrame
        Index (protocol, seed); columns :data:`METRICS` plus pooled ``UF1``/``UAR``/``accuracy``.
    """
    import pandas as pd

    rows = []
    for (pname, seed), g in preds.groupby(["protocol", "seed"], sort=False):
        agg = aggregate(loso_metrics(g, absent=absent, f1=f1))
        pooled = pooled_metrics(g["label"], g["pred"])
        rows.append(
            dict(
                protocol=pname,
                seed=seed,
                **agg,
                UF1=pooled["UF1"],
                UAR=pooled["UAR"],
                accuracy=pooled["accuracy"],
                folds=g["subject"].nunique(),
                fold_seconds=float(g.groupby("subject")["seconds"].first().sum()),
            )
        )
    return pd.DataFrame(rows).set_index(["protocol", "seed"])


def mean_std(summary, metrics: Sequence[str] = METRICS):
    """Mean and standard deviation over seeds of a :func:`summarize` table, per protocol.

    Parameters
    ----------
    summary : pandas.DataFrame
        :func:`summarize` output, index (protocol, seed).
    metrics : sequence of str
        Columns to summarise.

    Returns
    -------
    mean, std : pandas.DataFrame
        Indexed by protocol; ``std`` is the sample standard deviation (NaN for a single seed:
        one run says nothing about the spread).
    """
    g = summary[list(metrics)].groupby(level="protocol", sort=False)
    return g.mean(), g.std(ddof=1)


def pm_table(mean, std, digits: int = 3):
    """``mean ± std`` strings of two aligned tables; just ``mean (1 run)`` where ``std`` is NaN.

    Parameters
    ----------
    mean, std : pandas.DataFrame
        Aligned tables.
    digits : int
        Decimals.

    Returns
    -------
    pandas.DataFrame
        String cells ``"m ± s"`` (``"m (1 run)"`` without a spread).
    """
    out = mean.copy().astype(object)
    for c in mean.columns:
        out[c] = [
            f"{x:.{digits}f} (1 run)" if np.isnan(y) else f"{x:.{digits}f} ± {y:.{digits}f}"
            for x, y in zip(mean[c], std[c])
        ]
    return out
