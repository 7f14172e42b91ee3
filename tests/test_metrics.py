"""Tests of ocad_lab.metrics against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ocad_lab import metrics

# Worked example: y = [0, 0, 1, 1], anomaly scores s = [0.1, 0.4, 0.35, 0.8].
# AUROC = P(score of an anomaly > score of a normal) over the 2 x 2 pairs:
#   0.35 > 0.1 yes, 0.35 > 0.4 no, 0.8 > 0.1 yes, 0.8 > 0.4 yes -> 3/4 = 0.75.
# Ranking by score: 0.8 (anomaly), 0.4 (normal), 0.35 (anomaly), 0.1 (normal).
# Average precision = mean precision at each anomaly's rank: (1/1 + 2/3) / 2 = 5/6.
# precision@1 = 1, precision@2 = 1/2, precision@3 = 2/3.
Y = [0, 0, 1, 1]
S = [0.1, 0.4, 0.35, 0.8]


def test_auroc_hand_example():
    assert metrics.auroc(Y, S) == pytest.approx(0.75)


def test_auprc_hand_example():
    assert metrics.auprc(Y, S) == pytest.approx(5 / 6)


@pytest.mark.parametrize("k, expected", [(1, 1.0), (2, 0.5), (3, 2 / 3), (4, 0.5)])
def test_precision_at_k_hand_example(k, expected):
    assert metrics.precision_at_k(Y, S, k=k) == pytest.approx(expected)


def test_sign_convention_flipping_scores_mirrors_auroc():
    # scores are anomaly scores: passing normality scores (e.g. decision_function) gives 1 - AUROC
    assert metrics.auroc(Y, -np.asarray(S)) == pytest.approx(0.25)


def test_ties_count_half():
    # one anomaly, one normal, equal scores: the pair counts 1/2
    assert metrics.auroc([0, 1], [0.3, 0.3]) == pytest.approx(0.5)


def test_evaluate_keys_and_values():
    out = metrics.evaluate(Y, S)
    assert set(out) == {"auroc", "auprc", "p_at_10"}
    assert out["auroc"] == pytest.approx(0.75) and out["auprc"] == pytest.approx(5 / 6)
    assert out["p_at_10"] == pytest.approx(0.5)  # k is capped at n = 4: 2 anomalies among 4
    assert set(metrics.evaluate(Y, S, k=1)) == {"auroc", "auprc", "p_at_1"}


@pytest.mark.parametrize(
    "y, s, match",
    [
        ([0, 1, 1], [0.1, np.nan, 0.3], "NaN"),
        ([0, 1, 1], [0.1, np.inf, 0.3], "NaN or infinite"),
        ([0, 1], [0.1, 0.2, 0.3], "different lengths"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "only 0"),
        ([-1, 1, 1], [0.1, 0.2, 0.3], "only 0"),
        ([1, 1, 1], [0.1, 0.2, 0.3], "only anomalies"),
        ([0, 0, 0], [0.1, 0.2, 0.3], "only normal"),
        ([], [], "empty"),
    ],
)
@pytest.mark.parametrize("fn", [metrics.auroc, metrics.auprc, metrics.evaluate])
def test_bad_input(fn, y, s, match):
    with pytest.raises(ValueError, match=match):
        fn(y, s)


def test_precision_at_k_bad_k_and_one_class_ok():
    with pytest.raises(ValueError, match="k must be"):
        metrics.precision_at_k(Y, S, k=0)
    with pytest.raises(ValueError, match="k must be"):
        metrics.precision_at_k(Y, S, k=5)
    assert metrics.precision_at_k([1, 1], [0.2, 0.1], k=1) == 1.0  # one class is fine for precision@k


def test_summarize_mean_std_over_seeds():
    rows = [
        {"method": "A", "seed": 0, "auroc": 0.8, "auprc": 0.5},
        {"method": "A", "seed": 1, "auroc": 0.9, "auprc": 0.6},
        {"method": "A", "seed": 2, "auroc": 1.0, "auprc": 0.7},
        {"method": "B", "seed": 0, "auroc": 0.6, "auprc": 0.4},
    ]
    table = metrics.summarize(rows, by="method")
    assert isinstance(table, pd.DataFrame)
    a = table.set_index("method").loc["A"]
    # mean 0.9; population std sqrt((0.1^2 + 0 + 0.1^2) / 3) = 0.0816...
    assert a["n"] == 3
    assert a["auroc_mean"] == pytest.approx(0.9) and a["auroc_std"] == pytest.approx(np.sqrt(0.02 / 3))
    assert a["auroc"] == "0.900 ± 0.082" and a["auprc"] == "0.600 ± 0.082"
    b = table.set_index("method").loc["B"]
    assert b["auroc_std"] == 0.0 and b["auroc"] == "0.600 ± 0.000"
    assert list(table["method"]) == ["A", "B"]  # groups keep their first-seen order


def test_summarize_several_keys_and_chosen_metrics():
    rows = [{"data": d, "method": m, "seed": s, "auroc": 0.5 + 0.1 * s, "x": 1.0}
            for d in ("mnist", "cifar10") for m in ("A", "B") for s in range(2)]
    table = metrics.summarize(pd.DataFrame(rows), by=["data", "method"], metrics=["auroc"], decimals=2)
    assert len(table) == 4 and "auprc" not in table and "x_mean" not in table
    assert (table["auroc"] == "0.55 ± 0.05").all()


def test_summarize_bad_input():
    with pytest.raises(ValueError, match="at least one row"):
        metrics.summarize([])
    with pytest.raises(ValueError, match="Grouping column"):
        metrics.summarize([{"auroc": 0.5}], by="method")
    with pytest.raises(ValueError, match="Metric column"):
        metrics.summarize([{"method": "A", "auroc": 0.5}], metrics=["auprc"])
    with pytest.raises(ValueError, match="No metric columns"):
        metrics.summarize([{"method": "A", "loss": 0.5}])
