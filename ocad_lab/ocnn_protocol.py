"""The OC-NN paper's experimental protocol (Chalapathy, Menon & Chawla, 2018, sections 4-5) as one function.

**Transductive, contaminated**: each draw is one mixture that every detector is both fitted on and scored on
(labels: anomaly = 1), nu = the outlier share of the mixture:

========  ===========================  ===========================  ==========================================
set       normal                       anomalies                    autoencoder (for OC-NN, CAE-OC-SVM)
========  ===========================  ===========================  ==========================================
mnist     4,859 '4' (MNIST train)      265 of '0', '7', '9' pooled  the paper's CAE on the mixture's normals
usps      220 '1' (USPS train)         11 '7'                       same
cifar10   5,000 dogs (all train dogs)  50 cats                      same (= the 5,000 dogs, as section 4.3)
mnist5k   400 '4' (quick stand-in)     22 of '0', '7', '9'          same (5.2 % anomalies, as MNIST's 265/5,124)
digits    130 '4' (quick stand-in)     7 of '0', '7', '9'           same
========  ===========================  ===========================  ==========================================

The anomaly digits '0', '7', '9' are the ones the paper names (Table 1; its text says "e.g. '0', '7', '9'").
The autoencoder is trained on the mixture's *normal* images, because the paper says so (section 5.2: "trained
using nominal data"; section 5.3: "trained using 5000 images of dogs"): that uses the labels, a departure from a
purely unsupervised transductive setting which we keep to follow the paper (``ae_on="mixture"`` switches it off).
Pixels are in [0, 1] as loaded (the paper names no preprocessing).

Each draw (seed) redraws the mixture and refits every method; rows hold AUPRC, AUROC and P@10 on the anomaly
scores (``-decision_function``, anomalies positive), the same three on ``sign(decision_function)`` (``*_sign``)
and AUPRC with the *normal* class as the positive class (``auprc_normal``), which is what the paper's table is
closer to; ``notes`` keeps any warning a fit raised (e.g. a solver that stopped at its iteration limit). :func:`summarize_protocol` gives mean ± standard error over draws (the paper's "mean and standard
error ... over 20 random training set draws").

The paper's own numbers are :data:`PAPER_OCNN_TABLES` (Tables 3a, 3b, 4a and 4b, transcribed from the text);
:func:`max_auprc_given_auroc` shows which of them no ranking can produce.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from . import experiments as ex
from .config import get_device, is_quick

__all__ = [
    "SETUPS",
    "PROTOCOL_METHODS",
    "PAPER_OCNN_TABLES",
    "ROW_FIELDS",
    "protocol_config",
    "draw_mixture",
    "run_draw",
    "ocnn_protocol",
    "summarize_protocol",
    "compare_with_paper_ocnn",
    "max_auprc_given_auroc",
    "max_mean_auprc_given_mean_auroc",
    "paper_feasibility",
    "ROW_FORMAT",
    "protocol_keys",
    "read_protocol_results",
    "append_protocol_row",
]


@dataclass(frozen=True)
class Setup:
    """One data set of the protocol: which classes, how many of each, the Table 2 sizes, the robust AE."""

    dataset: str
    normal: int
    anomalies: tuple
    n_normal: int
    n_anomalies: int
    rep_dim: int  # Table 2 "# Input (encoded features)"
    hidden: int  # Table 2 "# hidden layer"
    robust: str  # "rda" (MNIST, Table 3a) or "rcae" (USPS, CIFAR-10)
    paper: str  # which paper table it is compared with


SETUPS = {
    "mnist": Setup("mnist", 4, (0, 7, 9), 4859, 265, 128, 32, "rda", "mnist"),
    "usps": Setup("usps", 1, (7,), 220, 11, 128, 32, "rcae", "usps"),
    "cifar10": Setup("cifar10", 5, (3,), 5000, 50, 32, 16, "rcae", "cifar10"),  # 5 = dog, 3 = cat
    "mnist5k": Setup("mnist5k", 4, (0, 7, 9), 400, 22, 128, 32, "rda", "mnist"),
    "digits": Setup("digits", 4, (0, 7, 9), 130, 7, 128, 32, "rda", "mnist"),
}

#: Method keys in the order of the paper's Tables 3-4 (the robust AE is RDA for MNIST, RCAE otherwise).
PROTOCOL_METHODS = ("ocnn-linear", "ocnn-sigmoid", "ocnn-relu", "cae-ocsvm-linear", "cae-ocsvm-rbf",
                    "dbn2-svdd-linear", "dbn2-svdd-rbf", "robust-ae", "rpca-ocsvm-rbf", "iforest", "ocsvm-linear",
                    "ocsvm-rbf")
_LABELS = {"ocnn-linear": "OC-NN-Linear", "ocnn-sigmoid": "OC-NN-Sigmoid", "ocnn-relu": "OC-NN-Relu",
           "cae-ocsvm-linear": "CAE-OC-SVM-Linear", "cae-ocsvm-rbf": "CAE-OC-SVM-RBF",
           "dbn2-svdd-linear": "DBN2-SVDD-Linear", "dbn2-svdd-rbf": "DBN2-SVDD-RBF", "rda": "RDA", "rcae": "RCAE",
           "rpca-ocsvm-rbf": "RPCA-OC-SVM-RBF", "iforest": "Isolation-Forest", "ocsvm-linear": "OC-SVM-Linear",
           "ocsvm-rbf": "OC-SVM-RBF"}

ROW_FIELDS = ("dataset", "normal_class", "method", "seed", "auprc", "auroc", "p_at_10", "auprc_sign", "auroc_sign",
              "p_at_10_sign", "auprc_normal", "n", "n_anomalies", "fit_seconds", "score_seconds", "device", "notes")
#: The protocol's results.csv, read and written by the same functions as the Deep SVDD sweep's
#: (:func:`ocad_lab.experiments.read_results`, :func:`~ocad_lab.experiments.append_row`, ...).
ROW_FORMAT = ex.RowFormat(ROW_FIELDS, ints=("normal_class", "seed", "n", "n_anomalies"),
                          floats=("auprc", "auroc", "p_at_10", "auprc_sign", "auroc_sign", "p_at_10_sign",
                                  "auprc_normal", "fit_seconds", "score_seconds"))

# ---------------------------------------------------------------------------------------------- paper's tables
# Transcribed from the paper's Tables 3 (a: MNIST, b: USPS) and 4 (a: CIFAR-10, b: PFAM): mean ± standard error over
# 20 draws of AUPRC, AUROC, P@10, in the tables' row order. Checked number by number against the text.
_PAPER_TEXT = {
    "mnist": """
ocnn-linear        0.9982 0.0005  0.7037 0.0200  0.9908 0.0113
ocnn-sigmoid       0.9940 0.0007  0.6669 0.0003  0.9913 0.0006
ocnn-relu          0.9842 0.0015  0.6681 0.0243  0.9998 0.0001
cae-ocsvm-linear   0.9755 0.0005  0.5739 0.0003  0.9990 0.0113
cae-ocsvm-rbf      0.9960 0.0025  0.7061 0.0004  0.9990 0.0003
dbn2-svdd-linear   0.9636 0.0105  0.9466 0.0002  0.9990 0.0001
dbn2-svdd-rbf      0.9877 0.0005  0.5243 0.0001  0.9999 0.0003
rda                0.8703 0.0105  0.8312 0.0002  0.8830 0.0053
rpca-ocsvm-rbf     0.9878 0.0262  0.8727 0.0024  0.8000 0.0107
iforest            0.9687 0.0002  0.6772 0.0014  0.9999 0.0002
ocsvm-linear       0.9685 0.0062  0.8061 0.0001  0.9999 0.0011
ocsvm-rbf          0.9998 0.0060  0.9998 0.0004  0.9998 0.0007
""",
    "usps": """
ocnn-linear        0.9999 0.0004  0.9995 0.0001  0.9998 0.0004
ocnn-sigmoid       0.9999 0.0005  0.9995 0.0002  0.9998 0.0005
ocnn-relu          0.9999 0.0001  0.9995 0.0003  0.9999 0.0021
cae-ocsvm-linear   0.9961 0.0025  0.9998 0.0243  0.9999 0.0001
cae-ocsvm-rbf      0.9977 0.0025  0.9322 0.0243  0.9999 0.0003
dbn2-svdd-linear   0.8865 0.0105  0.9561 0.0001  0.9999 0.0023
dbn2-svdd-rbf      0.9997 0.0105  0.1309 0.0032  0.9999 0.0003
rcae               0.9614 0.0025  0.9988 0.0243  0.9108 0.0113
rpca-ocsvm-rbf     0.9969 0.0002  0.9681 0.0054  0.9000 0.0107
iforest            0.9952 0.0004  0.9500 0.0004  0.9000 0.0003
ocsvm-linear       0.9999 0.0006  0.9946 0.0034  0.9999 0.0007
ocsvm-rbf          0.9999 0.0002  0.9999 0.0014  0.9999 0.0001
""",
    "cifar10": """
ocnn-linear        0.9999 0.0015  0.9999 0.0003  0.9999 0.0023
ocnn-sigmoid       0.9999 0.0006  0.9998 0.0113  0.9998 0.0203
ocnn-relu          0.9249 0.0015  0.4360 0.0003  0.9908 0.0111
cae-ocsvm-linear   0.9999 0.0702  0.5720 0.0443  0.9999 0.0001
cae-ocsvm-rbf      0.9999 0.0110  0.9998 0.0001  0.9998 0.0003
dbn2-svdd-linear   0.9015 0.0107  0.9992 0.0002  0.9999 0.0003
dbn2-svdd-rbf      0.9015 0.0225  0.4320 0.0702  0.9999 0.0053
rcae               0.9934 0.0003  0.6255 0.0055  0.8715 0.0005
rpca-ocsvm-rbf     0.9400 0.0262  0.6700 0.0004  0.9000 0.0108
iforest            0.9346 0.0332  0.6500 0.0014  0.8000 0.0012
ocsvm-linear       0.9352 0.0060  0.4320 0.0024  0.9999 0.0307
ocsvm-rbf          0.9175 0.0262  0.5160 0.0334  0.9999 0.0200
""",
    "pfam": """
ocnn-linear                 0.9999 0.0015  0.9998 0.0004  0.9998 0.0103
ocnn-sigmoid                0.9999 0.0125  0.9988 0.0003  0.9999 0.0223
ocnn-relu                   0.9999 0.0025  0.9999 0.0113  0.9999 0.0107
lstm-ae-ocsvm-linear        0.9920 0.0005  0.0600 0.0703  0.9998 0.0003
lstm-ae-ocsvm-rbf           0.9976 0.0033  0.9160 0.0443  0.9998 0.0663
dbn2-svdd-linear            0.9684 0.0106  0.9760 0.0001  0.9998 0.0003
dbn2-svdd-rbf               0.9634 0.0115  0.7000 0.0003  0.9998 0.0011
protvec-rpca-ocsvm-linear   0.8929 0.0002  0.4000 0.0054  0.9998 0.0107
protvec-rpca-ocsvm-rbf      0.9818 0.0002  0.9000 0.0054  0.7000 0.0000
protvec-iforest             0.9952 0.0004  0.4500 0.0024  0.9999 0.0003
protvec-ocsvm-linear        0.8124 0.0332  0.6600 0.0004  0.9999 0.0101
protvec-ocsvm-rbf           0.9553 0.0112  0.6000 0.0001  0.9999 0.0707
""",
}
#: Table 1's class counts (normal, anomalies) of each paper data set.
PAPER_COUNTS = {"mnist": (4859, 265), "usps": (220, 11), "cifar10": (5000, 50), "pfam": (154, 5)}


def _parse_paper():
    out = {}
    for ds, text in _PAPER_TEXT.items():
        for line in text.strip().splitlines():
            name, *v = line.split()
            v = [float(x) for x in v]
            out[(ds, name)] = {"auprc": (v[0], v[1]), "auroc": (v[2], v[3]), "p_at_10": (v[4], v[5])}
    return out


#: ``PAPER_OCNN_TABLES[("mnist", "ocnn-linear")]["auroc"] == (0.7037, 0.0200)`` (mean, standard error).
PAPER_OCNN_TABLES = _parse_paper()


# ------------------------------------------------------------------------------ what an AUPRC can be, given AUROC
def _check_counts(n_pos, n_neg):
    for name, v in (("n_pos", n_pos), ("n_neg", n_neg)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}.")
    return int(n_pos), int(n_neg)


def _check_auc(a):
    a = float(a)
    if not 0.0 <= a <= 1.0:
        raise ValueError(f"auroc must lie in [0, 1], got {a!r}.")
    return a


def _tail_sums(P, N):
    """tail[b] = sum_{k=b+1}^{P} k / (k + N): the positives below every negative."""
    k = np.arange(1, P + 1, dtype=np.float64)
    return np.r_[np.cumsum((k / (k + N))[::-1])[::-1], 0.0]


def _max_ap_at(F, P, N, tail=None):
    """Largest AP over the block vertices (see :func:`max_auprc_given_auroc`) at misordered-pair budget F."""
    from scipy.special import digamma

    tail = _tail_sums(P, N) if tail is None else tail
    best = 0.0
    b_min = max(0, int(math.ceil(P - F / N - 1e-9)))
    for b in range(b_min, P + 1):
        rest = F - N * (P - b)  # the pairs left for the middle block a+1..b
        if rest < -1e-9 * N:
            continue
        if b == 0 or rest <= 1e-12:
            val = b + tail[b] if (b > 0 or abs(rest) <= 1e-9 * N) else -1.0
            best = max(best, val)
            continue
        a_max = min(b - 1, int(math.floor(b - rest / N + 1e-9)))  # v = rest / (b - a) <= N
        if a_max < 0:
            continue
        a = np.arange(a_max + 1, dtype=np.float64)
        v = rest / (b - a)
        # sum_{k=a+1}^{b} k / (k + v) = (b - a) - v (psi(b + v + 1) - psi(a + v + 1))
        val = b - v * (digamma(b + v + 1.0) - digamma(a + v + 1.0)) + tail[b]
        best = max(best, float(val.max()))
    return best / P


def max_auprc_given_auroc(auroc, n_pos, n_neg):
    """An upper bound on the average precision (AUPRC) of any ranking of ``n_pos`` positives and ``n_neg`` negatives
    with the given AUROC.

    Derivation. Rank without ties; let f_k be the number of negatives above the k-th positive, so
    0 <= f_1 <= ... <= f_P <= N. Then AUROC = 1 - sum_k f_k / (P N) and AP = (1/P) sum_k k / (k + f_k). At a fixed
    AUROC the budget F = (1 - AUROC) P N of misordered pairs is fixed. Relax the f_k to real numbers: the feasible
    set is the chain simplex {0 <= f_1 <= ... <= f_P <= N} (its vertices are the steps (0..0, N..N)) cut by the
    hyperplane sum f = F, whose vertices lie on the simplex's edges: f = 0 on the first a positives, one value v on
    positives a+1..b, N on the rest. AP is a sum of convex functions of the f_k, so its maximum over that polytope
    sits at one of these vertices; we take the best of all (a, b), with the middle sum in closed form through the
    digamma function. The relaxation makes this an upper bound (it is attained when the best v is a whole number).

    It is a bound for scores without ties (continuous scores such as OC-NN's or an OC-SVM's decision values).
    With ties, scikit-learn's average precision gives every positive of a tied group the precision at the group's
    end, which can exceed it: four positives tied below one negative have AUROC 0 and AP 0.8, where untied
    rankings reach at most 0.679. So do not apply it to sign(scores).

    Parameters
    ----------
    auroc : float in [0, 1]
    n_pos, n_neg : int >= 1
        Positives (the class AUPRC is about) and negatives.

    Returns
    -------
    float
    """
    P, N = _check_counts(n_pos, n_neg)
    return _max_ap_at((1.0 - _check_auc(auroc)) * P * N, P, N)


@functools.lru_cache(maxsize=4096)
def _max_ap_cached(F, P, N):
    return _max_ap_at(F, P, N)


def max_mean_auprc_given_mean_auroc(auroc, n_pos, n_neg, grid=None, local=0.01, local_points=5):
    """Upper bound on the *mean* AUPRC over any number of draws (same counts) whose mean AUROC is ``auroc``.

    The mean of per-draw values is at most a concave majorant of the per-ranking bound B of
    :func:`max_auprc_given_auroc`, taken at the mean AUROC (Jensen). We use the upper concave hull of B's staircase
    -- the points (F_i, B(F_i)) and (F_{i+1}, B(F_i)) over a grid of misordered-pair budgets F, valid because B
    decreases in F -- with ``grid`` uniform steps plus ``local_points`` steps within ``local`` AUROC of the query
    (tighter where it matters; any grid gives a valid bound).

    Parameters
    ----------
    auroc : float in [0, 1]
    n_pos, n_neg : int >= 1
    grid, local, local_points : the grid (see above); ``grid=None``: 100 steps, or 20 when ``n_pos`` > 1,000
        (each step costs about n_pos^2 operations)

    Returns
    -------
    float
    """
    P, N = _check_counts(n_pos, n_neg)
    PN = float(P * N)
    F0 = (1.0 - _check_auc(auroc)) * PN
    grid = (100 if P <= 1000 else 20) if grid is None else grid
    pts = np.r_[np.linspace(0.0, PN, int(grid) + 1),
                np.clip(np.linspace(F0 - local * PN, F0 + local * PN, 2 * int(local_points) + 1), 0.0, PN)]
    F = np.unique(np.round(pts, 9))
    B = np.array([_max_ap_cached(float(f), P, N) for f in F])
    xs, ys = np.r_[F, F[1:]], np.r_[B, B[:-1]]
    order = np.lexsort((-ys, xs))
    hull = []
    for x, y in zip(xs[order], ys[order]):
        if hull and hull[-1][0] == x:
            continue  # same x: the first (largest y) is kept
        while len(hull) >= 2 and (hull[-1][0] - hull[-2][0]) * (y - hull[-2][1]) - \
                (hull[-1][1] - hull[-2][1]) * (x - hull[-2][0]) >= 0:
            hull.pop()
        hull.append((x, y))
    hx, hy = np.array(hull).T
    return float(np.interp(F0, hx, hy))


def paper_feasibility(tables=None, counts=None, mean=False):
    """Check every (AUPRC, AUROC) pair of the paper's tables against the bound on means, for both conventions.

    A pair is possible when AUPRC - 0.00005 <= the bound at AUROC + 0.00005 (the table's rounding, in its favour),
    with the class counts of Table 1. ``mean=False`` uses the per-ranking bound (:func:`max_auprc_given_auroc`:
    could one draw give this pair?); ``mean=True`` the bound on means over draws
    (:func:`max_mean_auprc_given_mean_auroc`; slower: seconds per row where the positive class has thousands).

    Returns
    -------
    pandas.DataFrame
        One row per (dataset, method): ``paper_auprc``, ``paper_auroc``, ``max_auprc_anomaly_positive`` (the largest
        mean AUPRC possible at that mean AUROC with the anomalies as the positive class, the paper's stated class),
        ``possible_anomaly_positive``, and the same with the normal class as positive (``..._normal_positive``).
    """
    import pandas as pd

    tables = PAPER_OCNN_TABLES if tables is None else tables
    counts = PAPER_COUNTS if counts is None else counts
    rows = []
    for (ds, method), cells in tables.items():
        n_norm, n_anom = counts[ds]
        a, p = cells["auroc"][0], cells["auprc"][0]
        # Benefit of the doubt for the 4-decimal rounding: the largest AUROC and smallest AUPRC that print so.
        a_hi, p = min(a + 5e-5, 1.0), p - 5e-5
        bound = max_mean_auprc_given_mean_auroc if mean else max_auprc_given_auroc
        b_anom = bound(a_hi, n_anom, n_norm)
        b_norm = bound(a_hi, n_norm, n_anom)
        rows.append({"dataset": ds, "method": method, "paper_auprc": cells["auprc"][0], "paper_auroc": a,
                     "max_auprc_anomaly_positive": b_anom, "possible_anomaly_positive": p <= b_anom + 1e-12,
                     "max_auprc_normal_positive": b_norm, "possible_normal_positive": p <= b_norm + 1e-12})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ configuration
def protocol_config(quick=None, **overrides):
    """Training settings of the protocol (quick mode: few epochs and draws, same code path).

    The paper reports none of these numbers for its CAE or baselines (it grid-searched them); ours are stated
    choices, the same for every data set, never tuned on the results.
    """
    quick = is_quick() if quick is None else bool(quick)
    cfg = {"draws": 20, "cae_epochs": 30, "cae_lr": 1e-3, "ocnn_epochs": 100, "ocnn_lr": 1e-3, "robust_outer": 10,
           "robust_inner": 5, "dbn_iter": 20, "pcp_max_iter": 100, "batch_size": 128, "ae_on": "normal"}
    if quick:
        cfg.update(draws=2, cae_epochs=2, ocnn_epochs=10, robust_outer=2, robust_inner=2, dbn_iter=3, pcp_max_iter=20)
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise ValueError(f"Unknown protocol setting(s) {sorted(unknown)}; known: {sorted(cfg)}.")
    cfg.update(overrides)
    if cfg["ae_on"] not in ("normal", "mixture"):
        raise ValueError(f"ae_on must be 'normal' (the paper) or 'mixture', got {cfg['ae_on']!r}.")
    cfg["quick"] = quick
    return cfg


def _setup(dataset):
    if dataset not in SETUPS:
        raise ValueError(f"Unknown OC-NN protocol data set {dataset!r}; choose from {', '.join(SETUPS)}.")
    return SETUPS[dataset]


def check_protocol_methods(methods):
    """Return the list of method keys (None = all of :data:`PROTOCOL_METHODS`); raise on an unknown one."""
    if methods is None:
        return list(PROTOCOL_METHODS)
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in PROTOCOL_METHODS]
    if bad or not methods:
        raise ValueError(f"Unknown method(s) {bad}; choose from {', '.join(PROTOCOL_METHODS)}.")
    return list(methods)


def method_key(method, setup):
    """The row's method name: "robust-ae" becomes "rda" (MNIST-like sets) or "rcae" (USPS, CIFAR-10)."""
    return setup.robust if method == "robust-ae" else method


def method_label(key):
    """The paper's row label of a method key."""
    return _LABELS.get(key, key)


# -------------------------------------------------------------------------------------------------- one draw
def draw_mixture(dataset, seed, root=None):
    """Draw one mixture of the protocol.

    Returns
    -------
    X : ndarray (n, C, H, W) float32 in [0, 1], shuffled
    y : ndarray (n,), 1 = anomaly
    """
    from .data import load_dataset

    s = _setup(dataset)
    X_all, c = load_dataset(s.dataset, "train", root=root)
    rng = np.random.default_rng(int(seed))
    idx_n = np.flatnonzero(c == s.normal)
    idx_a = np.flatnonzero(np.isin(c, s.anomalies))
    if len(idx_n) < s.n_normal or len(idx_a) < s.n_anomalies:
        raise ValueError(f"{dataset}: the training split has {len(idx_n)} normal and {len(idx_a)} anomalous images; "
                         f"the protocol needs {s.n_normal} and {s.n_anomalies}.")
    pick = np.r_[rng.choice(idx_n, s.n_normal, replace=False), rng.choice(idx_a, s.n_anomalies, replace=False)]
    y = np.r_[np.zeros(s.n_normal, np.int64), np.ones(s.n_anomalies, np.int64)]
    order = rng.permutation(len(pick))
    return X_all[pick[order]], y[order]


def _metrics(y, dec):
    """The row's metric cells from a decision function (negative = anomalous)."""
    from .metrics import auprc, auroc, precision_at_k

    s = -np.asarray(dec, dtype=np.float64)  # anomaly scores
    sign = np.sign(s)  # sign(scores): +1 flagged anomalous, -1 normal (0 on the boundary)
    k = min(10, len(y))
    return {"auprc": auprc(y, s), "auroc": auroc(y, s), "p_at_10": precision_at_k(y, s, k),
            "auprc_sign": auprc(y, sign), "auroc_sign": auroc(y, sign), "p_at_10_sign": precision_at_k(y, sign, k),
            "auprc_normal": auprc(1 - y, -s)}


def _build(method, setup, cfg, nu, seed, cae, device):
    """The estimator of a method key (the CAE already fitted where one is needed)."""
    from .baselines import CAEOCSVM, OCSVM, IsolationForest
    from .dbn import DBNSVDD
    from .estimators import OCNN
    from .robust import RCAE, RDA, RPCAOCSVM

    if method.startswith("ocnn-"):
        return OCNN(hidden_dim=setup.hidden, activation=method.split("-")[1], nu=nu, num_epochs=cfg["ocnn_epochs"],
                    lr=cfg["ocnn_lr"], batch_size=cfg["batch_size"], encoder=cae.ae_.encoder, random_state=seed,
                    device=device, verbose=0)
    if method.startswith("cae-ocsvm-"):
        return CAEOCSVM(autoencoder=cae, kernel=method.rsplit("-", 1)[1], nu=nu)
    if method.startswith("dbn2-svdd-"):
        return DBNSVDD(kernel=method.rsplit("-", 1)[1], nu=nu, n_iter=cfg["dbn_iter"], random_state=seed)
    if method == "robust-ae":
        klass = RDA if setup.robust == "rda" else RCAE
        kw = {} if setup.robust == "rda" else {"rep_dim": setup.rep_dim}
        return klass(nu=nu, n_outer=cfg["robust_outer"], inner_epochs=cfg["robust_inner"],
                     batch_size=cfg["batch_size"], random_state=seed, device=device, **kw)
    if method == "rpca-ocsvm-rbf":
        return RPCAOCSVM(nu=nu, max_iter=cfg["pcp_max_iter"], device=device if device.type == "cuda" else "cpu")
    if method == "iforest":
        return IsolationForest(nu=nu, random_state=seed)
    if method.startswith("ocsvm-"):
        return OCSVM(kernel=method.split("-")[1], nu=nu)
    raise ValueError(f"Unknown method {method!r}.")  # pragma: no cover - check_protocol_methods guards


def _one_line(message):
    """A warning's text on one line of at most 100 characters (a results row is one line)."""
    return " ".join(str(message).split())[:100]


def run_draw(dataset, seed, methods=None, config=None, device=None, root=None, return_scores=False,
             progress=False):
    """Run every method on one mixture (fitted and scored on the same set); return rows (and scores).

    Parameters
    ----------
    dataset : one of :data:`SETUPS`
    seed : int
        Draw index: the mixture and every method's seed.
    methods : sequence of str or None (all of :data:`PROTOCOL_METHODS`)
    config : dict from :func:`protocol_config` (None: the current mode's)
    device : torch device for the deep methods (None: automatic)
    root : local data folder (see :func:`ocad_lab.data.load_dataset`)
    return_scores : bool
        Also return ``{method: decision_function}`` and the labels (for the histograms of Figs. 4-5).

    Returns
    -------
    rows : list of dict (:data:`ROW_FIELDS`)
    scores : dict (only with ``return_scores``): ``{"y": y, <method>: decision values}``
    """
    import torch

    from .paper_cae import PaperCAE

    setup = _setup(dataset)
    cfg = protocol_config() if config is None else config
    methods = check_protocol_methods(methods)
    dev = get_device(device)
    X, y = draw_mixture(dataset, seed, root=root)
    nu = float(y.mean())  # section 4.5.3: nu = the outlier proportion
    flat = X.reshape(len(X), -1)
    cae, cae_seconds = None, 0.0
    if any(m.startswith(("ocnn-", "cae-")) for m in methods):
        X_ae = X[y == 0] if cfg["ae_on"] == "normal" else X
        t0 = time.perf_counter()
        cae = PaperCAE(rep_dim=setup.rep_dim, nu=nu, num_epochs=cfg["cae_epochs"], lr=cfg["cae_lr"],
                       batch_size=cfg["batch_size"], random_state=seed, device=dev).fit(X_ae)
        cae_seconds = time.perf_counter() - t0
    rows, scores = [], {"y": y}
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(methods), desc=f"{dataset} draw {seed}", leave=False)
    for method in methods:
        est = _build(method, setup, cfg, nu, seed, cae, dev)
        data = X if method.startswith(("ocnn-", "cae-")) or method == "robust-ae" and setup.robust == "rcae" else flat
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # convergence notes of libsvm / PCP / SMO go into the row's "notes"
            t0 = time.perf_counter()
            est.fit(data)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            fit_s = time.perf_counter() - t0 + (cae_seconds if cae is not None and data is X and
                                                  method != "robust-ae" else 0.0)
            t0 = time.perf_counter()
            dec = est.decision_function(data)
            score_s = time.perf_counter() - t0
        key = method_key(method, setup)
        rows.append({"dataset": dataset, "normal_class": setup.normal, "method": key, "seed": int(seed),
                     **_metrics(y, dec), "n": len(y), "n_anomalies": int(y.sum()), "fit_seconds": fit_s,
                     "score_seconds": score_s, "device": str(dev),
                     "notes": "; ".join(sorted({f"{w.category.__name__}: {_one_line(w.message)}" for w in caught}))})
        if return_scores:
            scores[key] = np.asarray(dec, dtype=np.float64)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return (rows, scores) if return_scores else rows


# ---------------------------------------------------------------------------------------------- results files
def read_protocol_results(path):
    """Rows of a protocol results.csv: :func:`ocad_lab.experiments.read_results` with :data:`ROW_FORMAT`."""
    return ex.read_results(path, ROW_FORMAT)


def append_protocol_row(path, row):
    """Append one row as one whole line: :func:`ocad_lab.experiments.append_row` with :data:`ROW_FORMAT`."""
    ex.append_row(path, row, ROW_FORMAT)


def protocol_keys(datasets, methods, draws):
    """The run keys (dataset, normal class, method, draw) that a protocol invocation wants, in run order."""
    methods = check_protocol_methods(methods)
    return [(ds, _setup(ds).normal, method_key(m, _setup(ds)), seed) for ds in datasets for seed in range(int(draws))
            for m in methods]


def ocnn_protocol(datasets=("mnist", "usps", "cifar10"), methods=None, draws=None, config=None, out=None,
                  device=None, root=None, progress=True, return_scores=False):
    """The paper's protocol: for each data set and draw 0..draws-1, every method on a fresh mixture.

    Parameters
    ----------
    datasets : sequence of :data:`SETUPS` keys
    methods : sequence of :data:`PROTOCOL_METHODS` keys, or None for all
    draws : int or None (the config's: 20 full, 2 quick)
    config : dict from :func:`protocol_config`
    out : path of a results.csv, optional
        Rows are appended as they finish (whole lines, :func:`ocad_lab.experiments.append_row`); runs whose rows
        are there already are skipped (resumable). A file with another header is refused
        (:class:`ocad_lab.experiments.ResultsFolderError`), never appended to.
    device, root, progress : as :func:`run_draw`
    return_scores : bool
        Also return ``{dataset: {"y": labels, <method>: decision values}}`` of draw 0 (for histograms; only for
        draws computed in this call).

    Returns
    -------
    rows : list of dict
        All rows for the requested data sets, methods and draws (the earlier ones read from ``out`` included).
    scores : dict (only with ``return_scores``)
    """
    cfg = protocol_config() if config is None else config
    draws = cfg["draws"] if draws is None else int(draws)
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}.")
    methods = check_protocol_methods(methods)
    done = []
    if out is not None:  # a partial last line is repaired (or dropped) first: never lost, never run twice
        ex.repair_results(out, ROW_FORMAT)
        done = read_protocol_results(out)
    have = {ex.run_key(r): r for r in done}
    rows, all_scores = [], {}
    for ds in datasets:
        setup = _setup(ds)
        for seed in range(draws):
            keys = {m: (ds, setup.normal, method_key(m, setup), seed) for m in methods}
            todo = [m for m in methods if keys[m] not in have]
            rows += [have[keys[m]] for m in methods if keys[m] in have]
            if not todo:
                continue
            keep = return_scores and seed == 0
            result = run_draw(ds, seed, todo, cfg, device=device, root=root, progress=progress, return_scores=keep)
            if keep:
                result, all_scores[ds] = result
            for row in result:
                if out is not None:
                    ex.append_row(out, row, ROW_FORMAT)
                rows.append(row)
    return (rows, all_scores) if return_scores else rows


# ------------------------------------------------------------------------------------------------- summaries
_METRICS = ("auprc", "auroc", "p_at_10")


def summarize_protocol(rows, metrics=_METRICS + ("auprc_sign", "auroc_sign", "p_at_10_sign", "auprc_normal",
                                                 "fit_seconds", "score_seconds")):
    """Mean and standard error (std / sqrt(draws), ddof=1; 0 for one draw) per (dataset, method), in table order."""
    import pandas as pd

    df = pd.DataFrame(rows)
    order = {m: i for i, m in enumerate(method_key(m, s) for s in SETUPS.values() for m in PROTOCOL_METHODS)}
    out = []
    for (ds, method), part in df.groupby(["dataset", "method"], sort=False):
        r = {"dataset": ds, "method": method, "label": method_label(method), "draws": len(part)}
        for m in metrics:
            v = part[m].to_numpy(dtype=float)
            r[f"{m}_mean"] = float(v.mean())
            r[f"{m}_se"] = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0
        out.append(r)
    res = pd.DataFrame(out)
    res["_o"] = [order.get(m, 99) for m in res["method"]]
    return res.sort_values(["dataset", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def compare_with_paper_ocnn(rows):
    """Our mean ± SE beside the paper's (Tables 3-4), with the difference ours - paper for each metric.

    Returns
    -------
    pandas.DataFrame
        Per (dataset, method): ``draws``, for AUPRC, AUROC and P@10 ``<m>_mean``, ``<m>_se``, ``paper_<m>``,
        ``paper_<m>_se`` and ``<m>_diff``; also ``auprc_normal_mean`` (normal class positive). The quick stand-ins
        (mnist5k, digits) are compared with the paper's MNIST table, as a rough guide only.
    """
    summ = summarize_protocol(rows)
    for m in _METRICS:
        paper, paper_se = [], []
        for ds, method in zip(summ["dataset"], summ["method"]):
            cell = PAPER_OCNN_TABLES.get((SETUPS[ds].paper if ds in SETUPS else ds, method), {}).get(m)
            paper.append(cell[0] if cell else math.nan)
            paper_se.append(cell[1] if cell else math.nan)
        summ[f"paper_{m}"] = paper
        summ[f"paper_{m}_se"] = paper_se
        summ[f"{m}_diff"] = summ[f"{m}_mean"] - summ[f"paper_{m}"]
    return summ


def table_text(rows, dataset):
    """A plain-text table of one data set: ours (mean ± SE) | paper | diff for AUPRC, AUROC, P@10."""
    cmp = compare_with_paper_ocnn([r for r in rows if r["dataset"] == dataset])
    head = f"{'method':<18}{'draws':>6}" + "".join(f"{m.upper():>33}" for m in ("auprc", "auroc", "p@10"))
    lines = [f"{dataset}: ours mean ± SE | paper | diff (ours - paper)", head]
    for r in cmp.itertuples(index=False):
        cells = ""
        for m in _METRICS:
            mu, se, p = getattr(r, f"{m}_mean"), getattr(r, f"{m}_se"), getattr(r, f"paper_{m}")
            cells += f"   {mu:.3f} ± {se:.3f} | {p:.4f} | {mu - p:+.3f}" if not math.isnan(p) else \
                f"   {mu:.3f} ± {se:.3f} |   —    |   —  "
        lines.append(f"{r.label:<18}{r.draws:>6}{cells}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------- `ocad-lab reproduce`
def cli_reproduce(args):
    """``ocad-lab reproduce --protocol ocnn``: run the missing draws, append rows to results.csv, write summary.md.

    ``--dataset`` takes a comma-separated list of :data:`SETUPS` keys (default: mnist,usps,cifar10; in quick mode
    mnist5k,digits), ``--methods`` keys of :data:`PROTOCOL_METHODS` (default all), ``--seeds`` the number of draws
    (default 20, quick 2). The results folder follows the same rules as the Deep SVDD sweep's
    (:func:`ocad_lab.experiments.check_results_folder`): a folder holding a run with other settings, rows without a
    config.json or a results.csv of another kind is refused (one line, exit 2) unless ``--force``; ``--fresh``
    starts over; a partial last line is repaired. Ctrl-C prints one line and exits 130; the same command resumes.
    """
    import sys
    from pathlib import Path

    from .config import SettingError, get_device
    from .data import DatasetUnavailable

    def error(message, code=2):
        sys.stderr.write(f"ocad-lab reproduce: error: {message}\n")
        return code

    parser = args._parser
    quick = bool(args.quick) or is_quick()
    overrides = {}
    if args.epochs is not None:
        overrides = {"cae_epochs": args.epochs, "ocnn_epochs": args.epochs}
    cfg = protocol_config(quick=quick, **overrides)
    names = args.dataset or ("mnist5k,digits" if quick else "mnist,usps,cifar10")
    datasets = [d.strip() for d in names.split(",") if d.strip()]
    bad = [d for d in datasets if d not in SETUPS]
    if bad:
        parser.error(f"--protocol ocnn: unknown dataset(s) {', '.join(bad)}; choose from {', '.join(SETUPS)}")
    try:
        methods = check_protocol_methods(None if args.methods == "deep-svdd,ocsvm" else args.methods)
    except ValueError as err:
        parser.error(str(err).rstrip("."))
    draws = cfg["draws"] if args.seeds is None else args.seeds
    settings = {"protocol": "ocnn", "datasets": datasets, "methods": methods, "draws": draws, "quick": quick,
                "config": cfg}
    out = Path(args.out)
    try:  # before any file is written: the device (the one check, config.get_device), then the folder
        get_device(args.device)
        if out.exists() and not out.is_dir():
            raise SettingError(f"--out {out} is a file, not a folder; choose a folder path (it is created).")
    except SettingError as err:
        return error(err)
    try:  # fail early, before any file is written, when a data set is not here
        for ds in datasets:
            draw_mixture(ds, 0)
    except (DatasetUnavailable, ValueError) as err:
        return error(err, 1)
    try:  # the results folder, as the Deep SVDD sweep's: foreign, config-less or other-settings folders are refused
        previous = ex.check_results_folder(out, settings, keys=("protocol", "quick", "config"), force=args.force,
                                           fresh=args.fresh, row_format=ROW_FORMAT, select=lambda r: True)
    except ex.ResultsFolderError as err:
        return error(err)
    csv_path = out / ex.RESULTS_CSV
    wanted = protocol_keys(datasets, methods, draws)
    n_before = len(set(wanted) & {ex.run_key(r) for r in previous})
    ex.write_config(out, settings)
    print(f"ocad-lab reproduce --protocol ocnn: {', '.join(datasets)}; {len(methods)} method(s) x {draws} draw(s) "
          f"= {len(wanted)} runs; {n_before} already in {csv_path} (skipped) "
          f"({'quick' if quick else 'full'} mode).", flush=True)
    try:
        rows = ocnn_protocol(datasets, methods, draws, cfg, out=csv_path, device=args.device,
                             progress=not args.no_progress)
        text = "\n\n".join(table_text(rows, d) for d in datasets)
        title = "# OC-NN protocol (Chalapathy et al. 2018, Tables 3-4)\n\n"
        ex.write_text_atomic(out / ex.SUMMARY_MD, title + "```\n" + text + "\n```\n")
    except KeyboardInterrupt:
        try:  # the file is the record: whole lines only, so the rows in it are the runs done
            n_done = len(set(wanted) & {ex.run_key(r) for r in ex.read_results(csv_path, ROW_FORMAT)})
        except (ex.ResultsFolderError, OSError, KeyboardInterrupt):
            n_done = n_before
        sys.stderr.write(f"\nocad-lab reproduce --protocol ocnn: interrupted after {n_done} of {len(wanted)} runs "
                         f"({n_done - n_before} new in {csv_path}); the same command resumes.\n")
        return 130
    except DatasetUnavailable as err:
        return error(err, 1)
    except ex.ResultsFolderError as err:
        return error(err)
    print(text)
    return 0
