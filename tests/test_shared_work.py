"""No wasted shallow work: one PCA per split, KDE once per class, parallel searches, one thread cap."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from ocad_lab import baselines
from ocad_lab import experiments as ex
from ocad_lab.config import limit_threads, thread_budget


@pytest.fixture(scope="module")
def mnist_class():
    s = ex.one_split("mnist5k", 3, ex.get_config(quick=True))
    return s.X_train.reshape(len(s.X_train), -1).astype(np.float64), s.X_test[:300].reshape(300, -1)


@pytest.mark.parametrize("which", ["mnist5k", "digits"])
def test_the_faster_pca_solver_finds_the_same_95_percent_components(which, mnist_class):
    if which == "mnist5k":
        X, _ = mnist_class
    else:
        s = ex.one_split("digits", 0, ex.get_config(quick=True))
        X = s.X_train.reshape(len(s.X_train), -1).astype(np.float64)
    full = PCA(n_components=0.95, svd_solver="full").fit(X)
    fast = baselines._pca().fit(X)
    assert fast.n_components_ == full.n_components_
    Za, Zb = full.transform(X), fast.transform(X)
    sign = np.sign((Za * Zb).sum(0))  # eigenvectors are defined up to sign
    assert np.allclose(Za, Zb * sign, atol=1e-8 * np.abs(Za).max())


def test_a_fitted_pca_is_shared_not_refitted(mnist_class):
    X, Xt = mnist_class
    pca = baselines._pca().fit(X)
    comps = pca.components_.copy()
    for make in (lambda p: baselines.OCSVM(gamma=0.01, pca=p), lambda p: baselines.KDE(bandwidth=2.0, pca=p),
                 lambda p: baselines.IsolationForest(pca=p, random_state=0)):
        own, shared = make(True).fit(X), make(pca).fit(X + 0.0)
        assert np.allclose(own.score_samples(Xt), shared.score_samples(Xt), rtol=1e-9, atol=1e-9)
        assert shared.pca_ is pca
    assert np.array_equal(pca.components_, comps)
    with pytest.raises(Exception, match="not fitted"):
        baselines.OCSVM(pca=PCA(2)).fit(X)


def test_one_pca_fit_serves_every_shallow_baseline_of_a_split(monkeypatch):
    made = []
    real = baselines._pca
    monkeypatch.setattr(baselines, "_pca", lambda: made.append(1) or real())
    ex._PCA_CACHE.clear()
    cfg = ex.get_config(quick=True)
    rows = ex.run_task("digits", 0, 0, ["ocsvm", "kde", "if"], config=cfg)  # OC-SVM alone has 2 x 10 candidates
    assert len(rows) == 3 and len(made) == 1


def test_kde_is_fitted_once_per_class_and_reported_for_every_seed(monkeypatch):
    fits = []
    real = baselines.KDE.fit
    monkeypatch.setattr(baselines.KDE, "fit", lambda self, X, y=None: fits.append(1) or real(self, X, y))
    cfg = ex.get_config(quick=True)
    rows = ex.run_sweep("digits", [0, 1], ["kde", "if"], seeds=3, config=cfg, progress=False)
    assert len(fits) == 2  # two classes, not six (class, seed) pairs
    kde = [r for r in rows if r["method"] == "kde"]
    assert sorted((r["normal_class"], r["seed"]) for r in kde) == [(c, s) for c in (0, 1) for s in range(3)]
    for c in (0, 1):
        same = {(r["auroc"], r["auprc"], r["p_at_10"]) for r in kde if r["normal_class"] == c}
        assert len(same) == 1
    # and it is the row a single (class, seed) run gives (KDE is deterministic)
    one = ex.run_one("digits", 1, "kde", seed=2, config=cfg)
    assert one["auroc"] == next(r for r in kde if r["normal_class"] == 1)["auroc"]
    # resuming: only the missing seeds of a class are reported
    tasks = ex.plan_runs("digits", [0], ["kde"], 3, done={("digits", 0, "kde", 1)})
    units = ex.plan_units("digits", tasks, cfg)
    assert units == [("kde", ("digits", 0, [0, 2], cfg, None))]


def test_the_holdout_search_in_parallel_gives_the_same_choice(mnist_class):
    X, _ = mnist_class
    s = ex.one_split("mnist5k", 3, ex.get_config(quick=True))
    hold = np.r_[np.flatnonzero(s.y_test == 0)[:30], np.flatnonzero(s.y_test == 1)[:30]]
    y = s.y_test[hold]
    assert set(y) == {0, 1}
    args = (X[:200], s.X_test[hold], y)
    a = baselines.tune_ocsvm_gamma_on_labelled_holdout(*args, gammas=[2.0**-8, 2.0**-4], pca=True, n_jobs=1)
    b = baselines.tune_ocsvm_gamma_on_labelled_holdout(*args, gammas=[2.0**-8, 2.0**-4], pca=True, n_jobs=2)
    assert a["aurocs"] == b["aurocs"] and a["best_gamma"] == b["best_gamma"]


def test_limit_threads_caps_torch_blas_and_the_search_budget_and_restores_them():
    import torch
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads(), thread_budget()
    with limit_threads(1):
        assert torch.get_num_threads() == 1 and thread_budget() == 1
        assert all(p["num_threads"] == 1 for p in threadpool_info())
        with limit_threads(1):
            pass
        assert thread_budget() == 1
    assert (torch.get_num_threads(), thread_budget()) == before
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads"):
            limit_threads(bad)


def test_reproduce_threads_flag(tmp_path):
    from ocad_lab.cli import main

    out = tmp_path / "r"
    assert main(["reproduce", "--dataset", "digits", "--methods", "if,kde", "--classes", "0", "--seeds", "2",
                 "--quick", "--no-progress", "--threads", "1", "--out", str(out)]) == 0
    assert len(ex.read_results(out / "results.csv")) == 4
    assert "fitted once per class" in (out / "summary.md").read_text()  # said where the numbers are read
    with pytest.raises(SystemExit):
        main(["reproduce", "--dataset", "digits", "--threads", "0", "--out", str(out)])
