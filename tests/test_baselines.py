"""Tests for ocad_lab.baselines: sign conventions, the nu-property, SVDD = OC-SVM with RBF, KDE CV, PCA, errors."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.datasets import make_moons
from sklearn.exceptions import NotFittedError
from sklearn.svm import OneClassSVM

from ocad_lab.baselines import (
    KDE,
    OCSVM,
    PAPER_KDE_BANDWIDTHS,
    IsolationForest,
    KernelSVDD,
    nu_property_fractions,
    tune_ocsvm_gamma_on_labelled_holdout,
)

DETECTORS = [
    lambda: OCSVM(nu=0.1),
    lambda: KernelSVDD(nu=0.1),
    lambda: KDE(bandwidth=0.3),
    lambda: IsolationForest(n_estimators=20),
]


@pytest.fixture(scope="module")
def moons():
    X, _ = make_moons(200, noise=0.08, random_state=0)
    return X


@pytest.fixture(scope="module")
def grid():
    return np.random.default_rng(1).uniform([-1.5, -1.0], [2.5, 1.5], size=(1500, 2))


def test_ocsvm_matches_sklearn_signs(moons, grid):
    ours = OCSVM(kernel="rbf", nu=0.2, gamma=2.0).fit(moons)
    ref = OneClassSVM(kernel="rbf", nu=0.2, gamma=2.0).fit(moons)
    np.testing.assert_allclose(ours.score_samples(grid), ref.score_samples(grid), rtol=1e-10)
    np.testing.assert_allclose(ours.decision_function(grid), ref.decision_function(grid), rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(ours.predict(grid), ref.predict(grid))
    assert ours.offset_ == pytest.approx(ref.offset_[0])


@pytest.mark.parametrize("make", DETECTORS)
def test_sign_convention(make, moons):
    est = make().fit(moons)
    far = np.array([[10.0, 10.0]])
    centre = moons[:1]
    # higher score = more normal; decision = score - offset; predict = sign of decision
    assert est.score_samples(far)[0] < est.score_samples(centre)[0]
    np.testing.assert_allclose(est.decision_function(moons), est.score_samples(moons) - est.offset_)
    assert est.predict(far)[0] == -1
    assert set(np.unique(est.predict(moons))) <= {-1, 1}
    assert np.array_equal(est.predict(moons) == -1, est.decision_function(moons) < 0)


@pytest.mark.parametrize("nu", [0.05, 0.1, 0.3, 0.5, 0.8, 1.0])
@pytest.mark.parametrize("cls", [OCSVM, KernelSVDD])
def test_nu_property(cls, nu, moons):
    est = cls(nu=nu).fit(moons)
    f = nu_property_fractions(est, moons)
    assert f["outliers"] <= nu + 1e-12
    assert nu <= f["support_vectors"] + 1e-12


def test_svdd_equals_ocsvm_with_rbf(moons, grid):
    svdd = KernelSVDD(kernel="rbf", nu=0.1, gamma=2.0).fit(moons)
    ocsvm = OCSVM(kernel="rbf", nu=0.1, gamma=2.0).fit(moons)
    assert np.mean(svdd.predict(grid) == ocsvm.predict(grid)) >= 0.99
    # the duals are the same problem (libsvm's alphas are scaled to sum to nu * n), so
    # R^2 - dist^2 = 2 / (nu n) * (OC-SVM decision value) everywhere
    scaled = 2 / (0.1 * len(moons)) * ocsvm.decision_function(grid)
    np.testing.assert_allclose(svdd.decision_function(grid), scaled, atol=1e-3)


def test_svdd_differs_from_ocsvm_with_linear_kernel(moons, grid):
    svdd = KernelSVDD(kernel="linear", nu=0.1).fit(moons)
    ocsvm = OCSVM(kernel="linear", nu=0.1).fit(moons)
    assert np.mean(svdd.predict(grid) == ocsvm.predict(grid)) < 0.9
    # linear SVDD is a ball in input space: its centre is the alpha-weighted mean, points far away are outside
    assert svdd.center_.shape == (2,)
    assert svdd.predict(svdd.center_[None])[0] == 1


def test_svdd_radius_and_support(moons):
    svdd = KernelSVDD(nu=0.2).fit(moons)
    assert svdd.offset_ == pytest.approx(-svdd.radius_**2)
    assert svdd.alpha_.sum() == pytest.approx(1.0)
    assert np.all(svdd.alpha_ <= svdd.C_ + 1e-12)
    assert svdd.C_ == pytest.approx(1 / (0.2 * len(moons)))
    d = svdd.decision_function(moons)
    # points strictly inside have alpha = 0; boundary points sit on the sphere
    assert np.all(svdd.alpha_[d > 1e-4] == 0)
    np.testing.assert_allclose(d[svdd.boundary_support_], 0.0, atol=1e-4)
    np.testing.assert_array_equal(svdd.support_vectors_, moons[svdd.support_])


def test_kde_bandwidth_chosen_by_cv(moons):
    grid = np.logspace(-1.5, 0.5, 9)
    kde = KDE(bandwidths=grid).fit(moons)
    assert kde.bandwidth_ in grid
    scores = kde.cv_results_["mean_test_score"]
    assert kde.bandwidth_ == pytest.approx(grid[np.argmax(scores)])
    assert kde.bandwidth_ != 1.0  # not KernelDensity's default


def test_kde_default_grid_is_papers():
    assert PAPER_KDE_BANDWIDTHS[0] == pytest.approx(2**0.5) and PAPER_KDE_BANDWIDTHS[-1] == pytest.approx(32.0)
    X = np.random.default_rng(0).normal(scale=8.0, size=(120, 3))
    kde = KDE().fit(X)
    assert kde.bandwidth_ in PAPER_KDE_BANDWIDTHS


@pytest.mark.parametrize("cls", [OCSVM, KDE, IsolationForest])
def test_pca_keeps_95_percent(cls):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 6)) @ rng.normal(size=(6, 40)) + 0.05 * rng.normal(size=(150, 40))
    kwargs = {"bandwidth": 1.0} if cls is KDE else {}
    est = cls(pca=True, **kwargs).fit(X)
    ratios = est.pca_.explained_variance_ratio_
    assert ratios.sum() >= 0.95
    assert ratios[:-1].sum() < 0.95  # the fewest components that reach 95 %
    assert est.pca_.n_components_ < 40


def test_images_are_flattened():
    X = np.random.default_rng(0).random((60, 1, 8, 8))
    est = OCSVM().fit(X)
    assert est.n_features_in_ == 64
    np.testing.assert_allclose(est.score_samples(X), est.score_samples(X.reshape(60, -1)))
    assert OCSVM().fit(X[:, 0]).n_features_in_ == 64


@pytest.mark.parametrize("make", DETECTORS)
def test_bad_input(make, moons):
    est = make()
    with pytest.raises(NotFittedError):
        est.score_samples(moons)
    bad = moons.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        make().fit(bad)
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        make().fit(bad)
    with pytest.raises(ValueError, match="Reshape your data"):
        make().fit(moons[:, 0])
    est.fit(moons)
    with pytest.raises(ValueError, match="features"):
        est.predict(np.zeros((3, 5)))


@pytest.mark.parametrize("nu", [0, -0.1, 1.5, "0.1", None])
@pytest.mark.parametrize("cls", [OCSVM, KernelSVDD, KDE, IsolationForest])
def test_nu_outside_range(cls, nu, moons):
    with pytest.raises(ValueError, match=r"'nu' parameter of \w+ must be a float in the range \(0.0, 1.0\]"):
        cls(nu=nu).fit(moons)


def test_get_set_params():
    est = OCSVM(nu=0.3, gamma=0.5)
    assert est.get_params()["nu"] == 0.3
    est.set_params(kernel="linear")
    assert est.kernel == "linear"
    assert KernelSVDD(C=0.5).get_params()["C"] == 0.5


def test_holdout_tuning_picks_the_right_gamma():
    rng = np.random.default_rng(0)
    X_train = rng.normal(size=(150, 2))
    # anomalies on a ring just outside the normals: a very wide kernel (tiny gamma) cannot see them,
    # a very narrow one (huge gamma) overfits every training point; gamma ~ 0.5 is the right scale
    angles = rng.uniform(0, 2 * np.pi, 40)
    ring = 3.5 * np.c_[np.cos(angles), np.sin(angles)]
    X_hold = np.vstack([rng.normal(size=(60, 2)), ring])
    y_hold = np.r_[np.zeros(60), np.ones(40)].astype(int)
    gammas = [1e-4, 0.5, 500.0]
    res = tune_ocsvm_gamma_on_labelled_holdout(X_train, X_hold, y_hold, gammas=gammas, nu=0.1)
    assert res["best_gamma"] == 0.5
    assert res["best_auroc"] == max(res["aurocs"].values())
    assert res["model"].gamma == 0.5
    with pytest.raises(ValueError, match="both 0"):
        tune_ocsvm_gamma_on_labelled_holdout(X_train, X_hold, np.zeros(100), gammas=gammas)


class _StubEncoder(BaseEstimator):
    """A fitted stand-in for AutoencoderDetector: the 'code' is the mean of each image row."""

    def __init__(self):
        self.ae_ = "fitted"

    def fit(self, X, y=None):
        raise AssertionError("a fitted autoencoder must not be refitted")

    def transform(self, X):
        return np.asarray(X).reshape(len(X), -1, 8).mean(axis=2)


def test_cae_ocsvm_is_ocsvm_on_the_codes():
    from ocad_lab.baselines import CAEOCSVM

    X = np.random.default_rng(0).random((80, 1, 8, 8)).astype(np.float32)
    stub = _StubEncoder()
    hybrid = CAEOCSVM(autoencoder=stub, nu=0.2, gamma=0.5).fit(X)
    assert isinstance(hybrid.autoencoder_, _StubEncoder)  # a fitted autoencoder is copied, not retrained
    assert hybrid.autoencoder_ is not stub
    direct = OCSVM(nu=0.2, gamma=0.5).fit(stub.transform(X))
    np.testing.assert_allclose(hybrid.decision_function(X), direct.decision_function(stub.transform(X)), rtol=1e-6)
    assert hybrid.offset_ == pytest.approx(direct.offset_)
    with pytest.raises(ValueError, match="features"):
        hybrid.predict(np.zeros((2, 1, 4, 4)))


def test_cae_ocsvm_fits_an_unfitted_autoencoder():
    from ocad_lab.baselines import CAEOCSVM
    from ocad_lab.estimators import AutoencoderDetector

    X = np.random.default_rng(0).random((40, 1, 8, 8)).astype(np.float32)
    hybrid = CAEOCSVM(autoencoder=AutoencoderDetector(num_epochs=1, rep_dim=4, verbose=0), nu=0.1).fit(X)
    assert hybrid.autoencoder_.ae_ is not None
    assert hybrid.ocsvm_.n_features_in_ == 4
    assert hybrid.predict(X).shape == (40,)
    with pytest.raises(NotFittedError):
        CAEOCSVM().score_samples(X)


def test_cae_ocsvm_never_trains_the_autoencoder_passed_in():
    """An unfitted autoencoder is cloned and the clone is fitted; the caller's object stays unfitted."""
    from ocad_lab.baselines import CAEOCSVM
    from ocad_lab.estimators import AutoencoderDetector

    X = np.random.default_rng(0).random((30, 1, 8, 8)).astype(np.float32)
    ae = AutoencoderDetector(num_epochs=1, rep_dim=4, verbose=0)
    hybrid = CAEOCSVM(autoencoder=ae).fit(X)
    assert not hasattr(ae, "ae_") and hybrid.autoencoder_ is not ae and hybrid.autoencoder_.ae_ is not None


def test_kde_grid_edge_warning_explains_the_trade_off_and_gives_no_harmful_advice():
    X = np.random.default_rng(0).normal(size=(60, 2))
    with pytest.warns(UserWarning, match="likelihood-optimal") as rec:
        KDE(bandwidths=[10.0, 20.0, 40.0]).fit(X)  # the likelihood wants a far smaller h than this grid has
    msg = str(rec[0].message)
    assert "smallest bandwidth" in msg and "not the one that best separates anomalies" in msg
    assert "pass a wider" not in msg and "not a reason to widen the grid" in msg


def test_ocsvm_takes_a_callable_kernel_as_sklearn_does():
    # Notebook 01's exercise compares KernelSVDD and OCSVM on the same user-given kernel function.
    from sklearn.metrics.pairwise import laplacian_kernel
    from sklearn.svm import OneClassSVM

    from ocad_lab.baselines import OCSVM

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    kernel = lambda A, B: laplacian_kernel(A, B, gamma=1.0)  # noqa: E731
    ours = OCSVM(kernel=kernel, nu=0.2).fit(X)
    ref = OneClassSVM(kernel=kernel, nu=0.2).fit(X)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-10)
