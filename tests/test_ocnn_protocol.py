"""The OC-NN paper's protocol: mixtures, rows, resume, the paper's tables and the AUPRC-given-AUROC bound."""

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from ocad_lab import ocnn_protocol as op
from ocad_lab.cli import main

PAPER = Path(__file__).resolve().parents[2] / "shared" / "papers" / "ocnn-chalapathy-menon-chawla-2018.md"
PAPER = PAPER if PAPER.exists() else Path("/work/shared/papers/ocnn-chalapathy-menon-chawla-2018.md")


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


# ---------------------------------------------------------------------------------------------- the bound
def brute_force_max_ap(n_pos, n_neg):
    """{AUROC: the largest AP} over every tie-free ranking of n_pos positives among n_pos + n_neg."""
    n = n_pos + n_neg
    best = {}
    scores = np.arange(n, 0, -1, dtype=float)  # position 0 = highest score
    for pos in itertools.combinations(range(n), n_pos):
        y = np.zeros(n, int)
        y[list(pos)] = 1
        a = round(roc_auc_score(y, scores), 12)
        ap = average_precision_score(y, scores)
        best[a] = max(best.get(a, 0.0), ap)
    return best


@pytest.mark.parametrize("n_pos, n_neg", [(1, 5), (2, 6), (3, 7), (4, 5), (5, 3)])
def test_bound_is_the_exact_maximum_on_small_rankings(n_pos, n_neg):
    gaps = []
    for a, ap in brute_force_max_ap(n_pos, n_neg).items():
        bound = op.max_auprc_given_auroc(a, n_pos, n_neg)
        assert bound >= ap - 1e-12  # a true upper bound ...
        gaps.append(bound - ap)
        assert op.max_mean_auprc_given_mean_auroc(a, n_pos, n_neg) >= ap - 1e-12
    assert max(gaps) < 0.02  # ... and a tight one (the gap is the relaxation of f_k to real numbers)
    assert min(gaps) < 1e-12  # attained at some AUROC values


def test_bound_holds_on_random_continuous_scores_and_for_means():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n_pos, n_neg = int(rng.integers(1, 30)), int(rng.integers(1, 60))
        y = np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)]
        s = rng.normal(size=len(y)) + rng.uniform(-1, 3) * y
        a, ap = roc_auc_score(y, s), average_precision_score(y, s)
        assert ap <= op.max_auprc_given_auroc(a, n_pos, n_neg) + 1e-12
    # means over draws: the envelope is above the mean of any set of per-draw maxima
    aucs = rng.uniform(0.3, 1.0, size=(200, 5))
    for row in aucs:
        mean_max = np.mean([op.max_auprc_given_auroc(a, 7, 40) for a in row])
        assert mean_max <= op.max_mean_auprc_given_mean_auroc(row.mean(), 7, 40) + 1e-12


def test_ties_are_outside_the_bound_as_documented():
    y, s = np.array([0, 1, 1, 1, 1]), np.array([1.0, 0, 0, 0, 0])  # four tied positives below one negative
    assert roc_auc_score(y, s) == 0 and average_precision_score(y, s) == pytest.approx(0.8)
    assert op.max_auprc_given_auroc(0.0, 4, 1) == pytest.approx(np.mean([1 / 2, 2 / 3, 3 / 4, 4 / 5]))


def test_bound_edges_and_errors():
    assert op.max_auprc_given_auroc(1.0, 5, 50) == pytest.approx(1.0)
    assert op.max_auprc_given_auroc(0.0, 1, 4) == pytest.approx(1 / 5)
    # P=2, N=6, 10 misordered pairs: f = (5, 5) beats putting one positive last, f = (4, 6)
    assert op.max_auprc_given_auroc(1 - 10 / 12, 2, 6) == pytest.approx(0.5 * (1 / 6 + 2 / 7))
    with pytest.raises(ValueError, match="auroc"):
        op.max_auprc_given_auroc(1.2, 5, 5)
    with pytest.raises(ValueError, match="n_pos"):
        op.max_auprc_given_auroc(0.5, 0, 5)


def test_paper_table3a_ocnn_linear_is_impossible_under_both_conventions():
    a, p = op.PAPER_OCNN_TABLES[("mnist", "ocnn-linear")]["auroc"][0], 0.9982
    assert op.max_auprc_given_auroc(a + 5e-5, 265, 4859) < 0.72  # one draw, anomalies positive (as stated)
    assert op.max_mean_auprc_given_mean_auroc(a + 5e-5, 265, 4859) < 0.75 < p  # the mean of 20 draws
    assert op.max_auprc_given_auroc(a + 5e-5, 4859, 265) < 0.983 < p  # even with the normals as positive class
    assert op.max_mean_auprc_given_mean_auroc(a + 5e-5, 4859, 265) < 0.99 < p
    df = op.paper_feasibility(mean=False)
    assert len(df) == 48
    assert df["possible_normal_positive"].sum() > df["possible_anomaly_positive"].sum()


# ------------------------------------------------------------------------------------------ the paper's tables
@pytest.mark.skipif(not PAPER.exists(), reason="the paper's text is not on this machine")
def test_paper_tables_match_the_paper_text():
    text = PAPER.read_text()
    t3 = [re.findall(r"(\d\.\d+) \$\\pm\$ (\d\.\d+)", line) for line in text.splitlines() if "$\\pm$" in line]
    t4 = [re.findall(r"(\d?\.\d+) ± (\d\.\d+)", line) for line in text.splitlines() if " ± " in line]
    sources = {"mnist": [r[:3] for r in t3], "usps": [r[3:] for r in t3], "cifar10": t4[:12], "pfam": t4[12:]}
    for ds, src in sources.items():
        names = [line.split()[0] for line in op._PAPER_TEXT[ds].strip().splitlines()]
        assert len(src) == len(names) == 12
        for name, cells in zip(names, src):
            got = op.PAPER_OCNN_TABLES[(ds, name)]
            assert [got[m] for m in ("auprc", "auroc", "p_at_10")] == [(float(a), float(b)) for a, b in cells]


# ------------------------------------------------------------------------------------------- mixtures, rows
def test_mixture_counts_and_shuffle():
    X, y = op.draw_mixture("digits", 0)
    assert X.shape[1:] == (1, 8, 8) and len(y) == 137 and y.sum() == 7
    X2, y2 = op.draw_mixture("digits", 1)
    assert not np.array_equal(X, X2)
    Xa, ya = op.draw_mixture("digits", 0)
    np.testing.assert_array_equal(X, Xa)
    assert y[:10].sum() < 7  # shuffled: the anomalies are not all at the end
    assert op.SETUPS["mnist"].n_normal == 4859 and op.SETUPS["mnist"].n_anomalies == 265
    assert op.SETUPS["usps"].anomalies == (7,) and op.SETUPS["cifar10"].normal == 5
    with pytest.raises(ValueError, match="Unknown"):
        op.draw_mixture("svhn", 0)


def test_run_draw_rows_and_scores():
    cfg = op.protocol_config(quick=True)
    rows, scores = op.run_draw("digits", 0, ["iforest", "ocsvm-rbf", "robust-ae"], cfg, return_scores=True)
    assert [r["method"] for r in rows] == ["iforest", "ocsvm-rbf", "rda"]
    for r in rows:
        assert set(op.ROW_FIELDS) <= set(r)
        assert 0 <= r["auroc"] <= 1 and r["n"] == 137 and r["n_anomalies"] == 7
        assert r["auroc_sign"] <= 1 and 0 <= r["auprc_normal"] <= 1
    assert scores["iforest"].shape == (137,) and scores["y"].sum() == 7
    assert rows[0]["auroc"] > 0.8  # Isolation Forest finds 0/7/9 among 4s in 8x8 digits


def test_a_fit_warning_is_kept_in_the_row(tmp_path):
    cfg = op.protocol_config(quick=True, pcp_max_iter=1)
    row = op.run_draw("digits", 0, ["rpca-ocsvm-rbf"], cfg)[0]
    assert "ConvergenceWarning" in row["notes"] and "max_iter=1" in row["notes"]
    op.append_protocol_row(tmp_path / "r.csv", row)
    assert op.read_protocol_results(tmp_path / "r.csv")[0]["notes"] == row["notes"]


def test_summary_is_mean_and_standard_error():
    rows = [{"dataset": "digits", "method": "iforest", "auprc": v, "auroc": v, "p_at_10": v, "auprc_sign": v,
             "auroc_sign": v, "p_at_10_sign": v, "auprc_normal": v, "fit_seconds": 1.0, "score_seconds": 1.0}
            for v in (0.2, 0.4, 0.9)]
    s = op.summarize_protocol(rows).iloc[0]
    assert s["auroc_mean"] == pytest.approx(0.5)
    assert s["auroc_se"] == pytest.approx(np.std([0.2, 0.4, 0.9], ddof=1) / math.sqrt(3))
    cmp = op.compare_with_paper_ocnn(rows).iloc[0]
    assert cmp["paper_auroc"] == 0.6772 and cmp["auroc_diff"] == pytest.approx(0.5 - 0.6772)


def test_protocol_resumes_from_its_results_file(tmp_path, monkeypatch):
    out = tmp_path / "results.csv"
    cfg = op.protocol_config(quick=True)
    rows = op.ocnn_protocol(["digits"], ["iforest", "ocsvm-linear"], draws=2, config=cfg, out=out, progress=False)
    assert len(rows) == 4 and len(op.read_protocol_results(out)) == 4
    calls = []
    real = op.run_draw
    monkeypatch.setattr(op, "run_draw", lambda *a, **k: calls.append(a) or real(*a, **k))
    again = op.ocnn_protocol(["digits"], ["iforest", "ocsvm-linear", "ocsvm-rbf"], draws=2, config=cfg, out=out,
                             progress=False)
    assert len(again) == 6 and [c[2] for c in calls] == [["ocsvm-rbf"], ["ocsvm-rbf"]]  # only the missing runs
    text = op.table_text(again, "digits")
    assert "Isolation-Forest" in text and "0.6772" in text


def test_cli_reproduce_protocol_ocnn(tmp_path, capsys):
    out = tmp_path / "res"
    args = ["reproduce", "--protocol", "ocnn", "--dataset", "digits", "--methods", "iforest,ocsvm-rbf", "--seeds",
            "1", "--quick", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    assert len(op.read_protocol_results(out / "results.csv")) == 2
    assert "OC-SVM-RBF" in (out / "summary.md").read_text()
    assert main(args) == 0  # resumed: nothing new
    assert len(op.read_protocol_results(out / "results.csv")) == 2
    with pytest.raises(SystemExit):
        main(["reproduce", "--protocol", "ocnn", "--dataset", "svhn", "--out", str(out)])
    with pytest.raises(SystemExit):
        main(["reproduce", "--out", str(out)])  # deep-svdd still needs --dataset


def test_usps_mixture_through_written_files(tmp_path, monkeypatch):
    """USPS '1' vs '7' (220 + 11) end to end on LIBSVM files the test writes, with RCAE as the robust AE."""
    from ocad_lab import data

    rng = np.random.default_rng(0)
    lines = []
    for digit, n in ((1, 230), (7, 15), (3, 5)):
        base = rng.uniform(-1, 1, 256)
        for _ in range(n):
            v = np.clip(base + 0.2 * rng.normal(size=256), -1, 1)
            lines.append(f"{digit + 1} " + " ".join(f"{j + 1}:{x:.4f}" for j, x in enumerate(v)) + "\n")
    (tmp_path / "usps").write_text("".join(lines))
    (tmp_path / "usps.t").write_text("".join(lines[:5]))
    monkeypatch.setenv("OCAD_USPS_DIR", str(tmp_path))
    data._read_usps_split.cache_clear()
    X, y = op.draw_mixture("usps", 0)
    assert X.shape == (231, 1, 16, 16) and y.sum() == 11
    cfg = op.protocol_config(quick=True, robust_outer=1, robust_inner=1)
    rows = op.run_draw("usps", 0, ["robust-ae", "iforest"], cfg)
    assert [r["method"] for r in rows] == ["rcae", "iforest"]
    assert rows[1]["auroc"] > 0.9  # two well-separated prototypes
    data._read_usps_split.cache_clear()


def test_cli_protocol_ocnn_missing_data_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from ocad_lab import data

    monkeypatch.setenv("OCAD_OFFLINE", "1")
    monkeypatch.setenv("OCAD_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OCAD_USPS_DIR", raising=False)
    data._read_usps_split.cache_clear()
    out = tmp_path / "res"
    assert main(["reproduce", "--protocol", "ocnn", "--dataset", "usps", "--quick", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "OCAD_USPS_DIR" in err and "Traceback" not in err
    assert not out.exists()  # nothing written
