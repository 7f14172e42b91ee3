"""Evaluation of anomaly scores: AUROC, AUPRC, precision@k, and mean ± std tables over seeds.

Conventions (the same everywhere in ocad_lab):

* ``y`` holds labels with **anomaly = 1** and normal = 0;
* ``scores`` are **anomaly scores**: higher means more anomalous. For an estimator that follows scikit-learn's
  ``OneClassSVM`` signs, that is ``-est.decision_function(X)`` (or ``-est.score_samples(X)``);
* AUROC and AUPRC are computed from the scores, never from predicted labels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["auroc", "auprc", "precision_at_k", "evaluate", "summarize"]

DEFAULT_METRICS = ("auroc", "auprc", "p_at_10")


def _check_labels_scores(y, scores, need_both=True):
    """Validate and return (y as int64, scores as float64); raise a ValueError saying what is wrong."""
    y = np.asarray(y)
    scores = np.asarray(scores)
    if y.ndim != 1 or scores.ndim != 1:
        y, scores = y.squeeze(), scores.squeeze()
        if y.ndim != 1 or scores.ndim != 1:
            raise ValueError(f"y and scores must be 1-D, got shapes {np.shape(y)} and {np.shape(scores)}.")
    if len(y) != len(scores):
        raise ValueError(f"y and scores have different lengths ({len(y)} vs {len(scores)}).")
    if len(y) == 0:
        raise ValueError("y and scores are empty.")
    try:
        scores = scores.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("scores must be numbers (anomaly scores, higher = more anomalous).") from None
    if not np.isfinite(scores).all():
        bad = int((~np.isfinite(scores)).sum())
        raise ValueError(
            f"scores contain {bad} NaN or infinite value(s); a model that diverged or was not fitted gives these. "
            "Check the training loss, lower lr, or refit."
        )
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:
        raise ValueError(
            f"y must contain only 0 (normal) and 1 (anomaly), found {sorted(values, key=str)}. "
            "Convert class labels first, e.g. y = (classes != normal_class).astype(int)."
        )
    if need_both and len(values) < 2:
        only = "anomalies" if values == {1} else "normal points"
        raise ValueError(f"y contains only {only}; AUROC and AUPRC need both normal (0) and anomalous (1) samples.")
    return y.astype(np.int64), scores


def auroc(y, scores):
    """Area under the ROC curve of anomaly scores (0.5 = chance, 1 = every anomaly ranked above every normal).

    Parameters
    ----------
    y : array-like of shape (n,)
        1 for an anomaly, 0 for a normal sample; both must occur.
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous.

    Returns
    -------
    float
    """
    from sklearn.metrics import roc_auc_score

    y, scores = _check_labels_scores(y, scores)
    return float(roc_auc_score(y, scores))


def auprc(y, scores):
    """Area under the precision-recall curve (average precision) with anomalies as the positive class.

    Chance level is the anomaly fraction, so AUPRC is more telling than AUROC when anomalies are rare.

    Parameters
    ----------
    y : array-like of shape (n,)
        1 for an anomaly, 0 for a normal sample; both must occur.
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous.

    Returns
    -------
    float
    """
    from sklearn.metrics import average_precision_score

    y, scores = _check_labels_scores(y, scores)
    return float(average_precision_score(y, scores))


def precision_at_k(y, scores, k=10):
    """Fraction of true anomalies among the ``k`` highest anomaly scores.

    Ties at the cut-off are broken by position (a stable sort), so the result is deterministic.

    Parameters
    ----------
    y : array-like of shape (n,)
        1 for an anomaly, 0 for a normal sample.
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous.
    k : int, default 10
        How many top-ranked samples to inspect, 1 <= k <= n.

    Returns
    -------
    float
    """
    y, scores = _check_labels_scores(y, scores, need_both=False)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(y):
        raise ValueError(f"k must be an integer between 1 and the number of samples ({len(y)}), got {k!r}.")
    top = np.argsort(-scores, kind="stable")[:k]
    return float(y[top].mean())


def evaluate(y, scores, k=10):
    """Compute AUROC, AUPRC and precision@k in one go.

    Parameters
    ----------
    y : array-like of shape (n,)
        1 for an anomaly, 0 for a normal sample; both must occur.
    scores : array-like of shape (n,)
        Anomaly scores, higher = more anomalous (e.g. ``-est.decision_function(X)``).
    k : int, default 10
        Cut-off of precision@k; capped at n.

    Returns
    -------
    dict
        Keys ``auroc``, ``auprc`` and ``p_at_{k}`` (``p_at_10`` by default).
    """
    y, scores = _check_labels_scores(y, scores)
    return {
        "auroc": auroc(y, scores),
        "auprc": auprc(y, scores),
        f"p_at_{k}": precision_at_k(y, scores, k=min(k, len(y))),
    }


def summarize(rows, by="method", metrics=None, decimals=3):
    """Tabulate mean ± std of metrics over repeated runs (seeds), one row per group.

    Parameters
    ----------
    rows : list of dict or pandas.DataFrame
        One entry per run, e.g. ``{"method": "OC-SVM", "seed": 0, "auroc": 0.91, ...}``.
    by : str or list of str, default "method"
        Columns that define a group (e.g. ``["dataset", "normal_class", "method"]``).
    metrics : list of str, optional
        Metric columns to summarise; default: those of ``auroc``, ``auprc``, ``p_at_10`` that are present.
    decimals : int, default 3
        Decimals in the formatted "mean ± std" strings.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``n`` (runs per group), then for each metric ``<m>_mean``, ``<m>_std`` (population
        standard deviation, ddof=0, so one run gives 0) and ``<m>`` as a string such as ``"0.912 ± 0.013"``.
    """
    import pandas as pd

    df = pd.DataFrame(rows)
    if df.empty:
        raise ValueError("summarize needs at least one row (one dict per run).")
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in by if c not in df.columns]
    if missing:
        raise ValueError(f"Grouping column(s) {missing} not in the rows; columns are {list(df.columns)}.")
    if metrics is None:
        metrics = [m for m in DEFAULT_METRICS if m in df.columns]
        if not metrics:
            raise ValueError(f"No metric columns found; pass metrics=[...]. Columns are {list(df.columns)}.")
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    missing = [m for m in metrics if m not in df.columns]
    if missing:
        raise ValueError(f"Metric column(s) {missing} not in the rows; columns are {list(df.columns)}.")

    grouped = df.groupby(by, sort=False, dropna=False)
    out = grouped.size().rename("n").to_frame()
    for m in metrics:
        values = pd.to_numeric(df[m], errors="raise")
        stats = values.groupby([df[c] for c in by], sort=False, dropna=False).agg(["mean", lambda v: v.std(ddof=0)])
        stats.columns = [f"{m}_mean", f"{m}_std"]
        out = out.join(stats)
        out[m] = [f"{mu:.{decimals}f} ± {sd:.{decimals}f}" for mu, sd in zip(out[f"{m}_mean"], out[f"{m}_std"])]
    return out.reset_index()
