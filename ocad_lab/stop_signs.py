"""The Deep SVDD paper's Table 2 (section 4.3): can a one-class model of clean stop signs flag adversarial ones?

Protocol (the paper's): train on the GTSRB *training* stop signs only (780 in the official data); test on the 270
normal *test* stop signs plus 20 Boundary-Attack adversarials of randomly drawn test stop signs (anomaly = 1). Images
are geometry-preprocessed by :func:`ocad_lab.data.load_gtsrb` (10 % border removed, 32x32), then GCN-L1 and min-max
scaled with the constants of the training stop signs (:func:`ocad_lab.data.preprocess`): the adversarials go through
exactly the same preprocessing as the clean test signs. AUROC over seeds, mean +- standard deviation.

Methods and settings (``table2_config``):

* OC-SVM/SVDD, KDE, Isolation Forest: exactly as in :mod:`ocad_lab.experiments` (PCA 95 %; OC-SVM's gamma and nu
  picked on a labelled 10 % holdout of the test set, its AUROC measured on the other 90 %).
* DCAE, soft-boundary and one-class Deep SVDD: the paper's GTSRB network (:func:`ocad_lab.nets.lenet_gtsrb`: three
  bias-free 5x5 conv modules with 16, 32, 64 filters, a 32-unit dense layer), batch size 64, weight decay
  lambda = 1e-6, Adam at 1e-4 then 1e-5 (DCAE 250 + 100 epochs, Deep SVDD 150 + 100, initialised with the DCAE's
  encoder), soft-boundary nu = 0.1 (the paper picked the better of 0.01 and 0.1 on the test data; we don't).
* AnoGAN (:class:`ocad_lab.anogan.AnoGAN`): DCGAN with a 256-d latent space, lam = 0.1, 500 search steps, 100
  epochs. The paper reports no number: its DCGAN "did not converge" on 780 stop signs; here it runs, and its GAN
  history (``d_real``, ``d_fake``) shows what happened.

Quick mode (``OCAD_QUICK=1``) runs the same code with few epochs, a smaller GAN and a short latent search.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

import numpy as np

from .config import is_quick

__all__ = ["PAPER_TABLE2", "TABLE2_METHODS", "StopSignProblem", "stop_sign_problem", "table2_config", "fit_and_score",
           "run_table2", "table2_summary"]

#: Table 2 of Ruff et al. (2018): AUROC in % (mean, standard deviation over 10 seeds); AnoGAN: no result reported.
PAPER_TABLE2 = {"ocsvm": (67.5, 1.2), "kde": (60.5, 1.7), "if": (73.8, 0.9), "dcae": (79.1, 3.0), "anogan": None,
                "deep-svdd-soft": (77.8, 4.9), "deep-svdd": (80.3, 2.8)}
TABLE2_METHODS = tuple(PAPER_TABLE2)
LABELS = {"ocsvm": "OC-SVM/SVDD", "kde": "KDE", "if": "IF", "dcae": "DCAE", "anogan": "AnoGAN",
          "deep-svdd-soft": "Soft-bound. Deep SVDD", "deep-svdd": "One-class Deep SVDD"}
_DEEP = ("dcae", "deep-svdd", "deep-svdd-soft")


@dataclass
class StopSignProblem:
    """Table 2's one-class problem.

    Attributes
    ----------
    X_train : ndarray (n, 3, 32, 32)
        Preprocessed training stop signs (GCN-L1 + min-max with their own constants).
    X_test, y_test : ndarray
        Preprocessed normal test stop signs followed by the adversarials; ``y_test`` = 1 for an adversarial.
    X_test_raw : ndarray
        The same test images before GCN (for display).
    source_index : ndarray
        For each test row, the row of the clean test stop sign it is (normal) or was made from (adversarial).
    lo, hi : float
        The min-max constants (training stop signs only).
    """

    X_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    X_test_raw: np.ndarray
    source_index: np.ndarray
    lo: float
    hi: float

    def __repr__(self):
        return (f"StopSignProblem(train={len(self.X_train)} stop signs, test={int((self.y_test == 0).sum())} normal + "
                f"{int(self.y_test.sum())} adversarial)")


def stop_sign_problem(X_train_stops, X_test_stops, adversarials):
    """Build Table 2's problem from raw ([0, 1], 32x32) training and test stop signs and an AdversarialSet."""
    from .data import minmax_constants, preprocess

    X_train_stops = np.asarray(X_train_stops, dtype=np.float32)
    X_test_stops = np.asarray(X_test_stops, dtype=np.float32)
    if len(adversarials) == 0:
        raise ValueError("No adversarial examples: the attack failed on every stop sign (see its success_rate).")
    lo, hi = minmax_constants(X_train_stops)  # training stop signs only: no test statistics
    raw = np.concatenate([X_test_stops, adversarials.X_adv.astype(np.float32)])
    y = np.r_[np.zeros(len(X_test_stops), dtype=np.int64), np.ones(len(adversarials), dtype=np.int64)]
    src = np.r_[np.arange(len(X_test_stops)), np.asarray(adversarials.source_index)]
    return StopSignProblem(preprocess(X_train_stops, lo, hi), preprocess(raw, lo, hi), y, raw, src, lo, hi)


def table2_config(quick=None, **overrides):
    """Settings of Table 2's methods (see the module docstring); ``quick=None`` follows ``OCAD_QUICK``."""
    from .experiments import get_config

    quick = is_quick() if quick is None else bool(quick)
    cfg = get_config(quick=False)  # the shallow baselines' grids are the same in both modes
    cfg.update(batch_size=64, lr=1e-4, weight_decay=1e-6, ae_epochs=350, ae_milestones=[250], svdd_epochs=250,
               svdd_milestones=[150], soft_nu=0.1, anogan_latent=256, anogan_width=64, anogan_epochs=100,
               anogan_lr=2e-4, anogan_lam=0.1, anogan_iter=500, anogan_search_lr=0.01, anogan_offset=256)
    if quick:
        cfg.update(lr=1e-3, ae_epochs=10, ae_milestones=[], svdd_epochs=10, svdd_milestones=[], anogan_width=8,
                   anogan_epochs=10, anogan_iter=30, anogan_offset=32)
    unknown = sorted(set(overrides) - set(cfg))
    if unknown:
        raise ValueError(f"Unknown config key(s) {unknown}; known keys: {sorted(cfg)}.")
    cfg.update(overrides)
    return cfg


class _DCAE:
    """The one DCAE of a seed, trained on first use (serves DCAE and both Deep SVDD objectives)."""

    def __init__(self, problem, cfg, seed, device, verbose):
        self.args = problem, cfg, seed, device, verbose
        self.model, self.seconds = None, 0.0

    def get(self):
        if self.model is None:
            from .estimators import AutoencoderDetector

            problem, cfg, seed, device, verbose = self.args
            t0 = time.perf_counter()
            self.model = AutoencoderDetector(
                net="gtsrb", num_epochs=cfg["ae_epochs"], lr=cfg["lr"], lr_milestones=tuple(cfg["ae_milestones"]),
                weight_decay=cfg["weight_decay"], batch_size=cfg["batch_size"], random_state=seed, device=device,
                verbose=verbose).fit(problem.X_train)
            self.seconds = time.perf_counter() - t0
        return self.model


def fit_and_score(method, problem, config=None, seed=0, device=None, verbose=0, dcae=None):
    """Fit one Table 2 method on ``problem.X_train``; return (test labels, anomaly scores, fitted model or None).

    OC-SVM returns the labels and scores of the 90 % of the test set that its holdout did not use. ``dcae`` (a
    ``_DCAE``) lets DCAE and both Deep SVDD objectives share one autoencoder, as the paper pretrains Deep SVDD.
    """
    from .experiments import _fit_and_score_shallow

    cfg = table2_config() if config is None else config
    if method not in TABLE2_METHODS:
        raise ValueError(f"Unknown method {method!r}; choose from {', '.join(TABLE2_METHODS)}.")
    X, Xt, yt = problem.X_train, problem.X_test, problem.y_test
    if method in ("ocsvm", "kde", "if"):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="KDE: the best bandwidth", category=UserWarning)
            y, scores, _ = _fit_and_score_shallow(method, problem, cfg, seed)
        return y, scores, None
    if method == "anogan":
        from .anogan import AnoGAN

        est = AnoGAN(latent_dim=cfg["anogan_latent"], width=cfg["anogan_width"], num_epochs=cfg["anogan_epochs"],
                     lr=cfg["anogan_lr"], batch_size=cfg["batch_size"], lam=cfg["anogan_lam"], n_iter=cfg["anogan_iter"],
                     search_lr=cfg["anogan_search_lr"], n_offset=cfg["anogan_offset"], random_state=seed,
                     device=device, verbose=verbose).fit(X)
        return yt, -est.decision_function(Xt), est
    dcae = dcae if dcae is not None else _DCAE(problem, cfg, seed, device, verbose)
    ae = dcae.get()
    if method == "dcae":
        return yt, -ae.decision_function(Xt), ae
    from .estimators import DeepSVDD

    est = DeepSVDD(pretrain=ae, objective="soft-boundary" if method == "deep-svdd-soft" else "one-class",
                   nu=cfg["soft_nu"], num_epochs=cfg["svdd_epochs"], lr=cfg["lr"],
                   lr_milestones=tuple(cfg["svdd_milestones"]), weight_decay=cfg["weight_decay"],
                   batch_size=cfg["batch_size"], random_state=seed, device=device, verbose=verbose).fit(X)
    return yt, -est.decision_function(Xt), est


def run_table2(problem, seeds=None, methods=TABLE2_METHODS, config=None, device=None, verbose=0, keep=("deep-svdd",)):
    """Run Table 2's methods over seeds; return (rows, kept) with one row per (method, seed).

    Parameters
    ----------
    problem : StopSignProblem
    seeds : int or list of int, optional
        An int n means seeds 0..n-1; default 10 in full mode, 1 in quick mode.
    methods : sequence of str
        Keys of :data:`PAPER_TABLE2`.
    config : dict, optional
        From :func:`table2_config`.
    keep : sequence of str
        Methods whose anomaly scores and fitted models are returned in ``kept[(method, seed)]`` (e.g. for Fig. 4).

    Returns
    -------
    rows : list of dict
        ``method, seed, auroc, auprc, p_at_10, fit_seconds``; OC-SVM's metrics are on its 90 % of the test set.
    kept : dict
        ``(method, seed) -> {"scores": anomaly scores on the whole test set (OC-SVM: its 90 %), "model": ...}``.
    """
    from .metrics import evaluate

    cfg = table2_config() if config is None else config
    if seeds is None:
        seeds = 1 if is_quick() else 10
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    bad = [m for m in methods if m not in TABLE2_METHODS]
    if bad:
        raise ValueError(f"Unknown method(s) {bad}; choose from {', '.join(TABLE2_METHODS)}.")
    rows, kept = [], {}
    for seed in seeds:
        dcae = _DCAE(problem, cfg, seed, device, verbose)
        for method in methods:
            before = dcae.seconds
            t0 = time.perf_counter()
            y, scores, model = fit_and_score(method, problem, cfg, seed, device, verbose, dcae)
            seconds = time.perf_counter() - t0
            if method in _DEEP and dcae.seconds == before:  # autoencoder trained earlier: count its time too
                seconds += dcae.seconds
            m = evaluate(y, scores)
            rows.append({"method": method, "seed": int(seed), "auroc": m["auroc"], "auprc": m["auprc"],
                         "p_at_10": m["p_at_10"], "fit_seconds": round(seconds, 2)})
            if method in keep:
                kept[(method, int(seed))] = {"scores": scores, "model": model}
    return rows, kept


def table2_summary(rows):
    """Our AUROC (mean +- std over seeds, in %) beside the paper's Table 2, as a pandas DataFrame."""
    import pandas as pd

    out = []
    for method in TABLE2_METHODS:
        vals = np.array([r["auroc"] for r in rows if r["method"] == method], dtype=float)
        if len(vals) == 0:
            continue
        paper = PAPER_TABLE2[method]
        out.append({"method": LABELS[method], "ours mean": 100 * vals.mean(),
                    "ours std": 100 * vals.std(ddof=1) if len(vals) > 1 else float("nan"), "seeds": len(vals),
                    "paper": "—" if paper is None else f"{paper[0]:.1f} ± {paper[1]:.1f}",
                    "fit s (mean)": float(np.mean([r["fit_seconds"] for r in rows if r["method"] == method]))})
    return pd.DataFrame(out).set_index("method")
