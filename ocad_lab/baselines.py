"""Shallow baselines of the two papers, all with scikit-learn's OneClassSVM conventions.

Every detector here has ``fit(X)``, ``score_samples(X)`` (higher = more normal),
``decision_function(X) = score_samples(X) - offset_`` (negative = anomalous) and ``predict(X)``
(+1 normal, -1 anomaly). Images of shape (N, C, H, W) or (N, H, W) are flattened to (N, D).

- :class:`OCSVM` -- Schölkopf et al.'s one-class SVM (wraps :class:`sklearn.svm.OneClassSVM`).
- :class:`KernelSVDD` -- Tax & Duin's support vector data description, solved as a small dual QP.
- :class:`KDE` -- Gaussian kernel density with the bandwidth chosen by cross-validated log-likelihood.
- :class:`IsolationForest` -- 100 trees, sub-samples of 256 (as Liu et al. and the Deep SVDD paper).
- :class:`CAEOCSVM` -- the hybrid of the OC-NN paper: convolutional-autoencoder features, then OC-SVM.

``pca=True`` puts ``PCA(n_components=0.95)`` in front of the detector: the Deep SVDD paper keeps the fewest
principal components that retain at least 95 % of the variance. The papers do not standardise features (their
images are already GCN + min-max scaled), so there is no scaler here.

Hyper-parameters are never chosen with test labels, except by
:func:`tune_ocsvm_gamma_on_labelled_holdout`, which says so in its name (the Deep SVDD paper grants the
OC-SVM this small supervised advantage).
"""

from __future__ import annotations

import warnings

import numpy as np
import copy
from numbers import Integral, Real

from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest as _SkIsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.metrics.pairwise import pairwise_kernels
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KernelDensity
from sklearn.pipeline import Pipeline
from sklearn.svm import OneClassSVM as _SkOneClassSVM
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .objectives import check_nu
from .validation import ParamValidationMixin, check_X

__all__ = [
    "OCSVM",
    "KernelSVDD",
    "KDE",
    "IsolationForest",
    "CAEOCSVM",
    "PAPER_GAMMAS",
    "PAPER_KDE_BANDWIDTHS",
    "nu_property_fractions",
    "tune_ocsvm_gamma_on_labelled_holdout",
]

#: Deep SVDD paper, Sec. 4.1: gamma in {2^-10, ..., 2^-1} for the Gaussian-kernel OC-SVM/SVDD.
PAPER_GAMMAS = tuple(2.0 ** np.arange(-10, 0))
#: Deep SVDD paper, Sec. 4.1: KDE bandwidth h in {2^0.5, 2^1, ..., 2^5}, chosen by 5-fold CV log-likelihood.
PAPER_KDE_BANDWIDTHS = tuple(2.0 ** np.arange(0.5, 5.01, 0.5))


# ----------------------------------------------------------------------------------------------- validation
def _as_2d(X, name="X"):
    """``X`` as a finite float64 (N, D) array, images flattened (a thin alias of the kit's one input check)."""
    return check_X(None, X, reset=True, flatten=True, dtype=np.float64, name=name)


def _check_features(est, X):
    """Validate ``X`` for scoring: fitted estimator, same number of features as in ``fit``."""
    check_is_fitted(est, "offset_")
    return check_X(est, X, reset=False, flatten=True, dtype=np.float64)


_NU = Interval(Real, 0, 1, closed="right")
_POS = Interval(Real, 0, None, closed="neither")  # > 0 and finite
_GAMMA = [StrOptions({"scale", "auto"}), _POS]


#: ``pca=``: True/False, or a PCA (any transformer) already fitted on the same training data and shared.
_PCA_OPTION = ["boolean", HasMethods(["transform"])]


def _pca():
    """The papers' PCA front end: the fewest components keeping at least 95 % of the variance.

    ``covariance_eigh`` solves the same eigenproblem as the full SVD (same components and codes to 1e-11 up to
    sign, checked in tests/test_shared_work.py) 2.4-5.7 times faster on these tall data sets (measured: 0.2 s vs
    1.1 s on an MNIST class, 25 s vs 60 s at 5,000 x 3,072, 1 thread under load). A randomized solver is NOT
    used: on MNIST its 120 components differ visibly from the exact ones (a slowly decaying spectrum).
    """
    return PCA(n_components=0.95, svd_solver="covariance_eigh")


def _front(pca):
    """The PCA step of a pipeline: a new PCA-95 % for ``pca=True``, or a given FITTED transformer used as is."""
    if isinstance(pca, (bool, np.bool_)):
        return _pca()
    from sklearn.frozen import FrozenEstimator

    check_is_fitted(pca)
    return FrozenEstimator(pca)  # fit() is a no-op: one PCA fitted per split serves every baseline


def _uses_pca(pca):
    """True for ``pca=True`` or a fitted transformer; False for False/None."""
    return bool(pca) if isinstance(pca, (bool, np.bool_)) or pca is None else True


def _unfrozen(step):
    """The transformer inside a FrozenEstimator (or the step itself)."""
    return getattr(step, "estimator", step)


class _Detector(ParamValidationMixin, OutlierMixin, BaseEstimator):
    """Shared decision_function / predict for detectors that define score_samples and offset_.

    Settings are declared in ``_parameter_constraints`` and checked before any work (``_fit_context``); ``X`` is
    checked by :func:`ocad_lab.validation.check_X` (flattened to (N, D), float64).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags

    def decision_function(self, X):
        """Return ``score_samples(X) - offset_``: negative means anomalous."""
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Return +1 for normal and -1 for anomalous samples (the sign of ``decision_function``)."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def fit_predict(self, X, y=None):
        """Fit on ``X`` and return its +1/-1 labels."""
        return self.fit(X).predict(X)


# ------------------------------------------------------------------------------------------------- OC-SVM
class OCSVM(_Detector):
    """One-class SVM (Schölkopf et al., 2001), a thin wrapper of :class:`sklearn.svm.OneClassSVM`.

    Parameters
    ----------
    kernel : {"rbf", "linear", "poly", "sigmoid"}, default "rbf"
    nu : float in (0, 1], default 0.1
        Upper bound on the fraction of training outliers and lower bound on the fraction of support vectors.
    gamma : "scale", "auto" or float, default "scale"
        Inverse length scale of the RBF kernel ("scale" = 1 / (D * X.var())).
    pca : bool or fitted transformer, default False
        Put PCA keeping 95 % of the variance in front (as the Deep SVDD paper does for images); a fitted PCA
        (e.g. one shared by several baselines on one split) is used as is, not refitted.
    tol : float, default 1e-3
        Stopping tolerance of libsvm (its KKT conditions hold to within ``tol``).

    Attributes
    ----------
    model_ : sklearn Pipeline or OneClassSVM
    svm_ : sklearn.svm.OneClassSVM
    pca_ : sklearn.decomposition.PCA or None
    support_ : ndarray, indices of the support vectors in the training set
    offset_ : float, rho of the paper (``decision_function = score_samples - offset_``)
    n_features_in_ : int
    """

    _parameter_constraints = {
        "kernel": [StrOptions({"rbf", "linear", "poly", "sigmoid"}), callable],  # as sklearn: a callable kernel too
        "nu": [_NU],
        "gamma": _GAMMA,
        "pca": _PCA_OPTION,
        "tol": [_POS],
    }

    def __init__(self, kernel="rbf", nu=0.1, gamma="scale", pca=False, tol=1e-3):
        self.kernel = kernel
        self.nu = nu
        self.gamma = gamma
        self.pca = pca
        self.tol = tol

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit on normal (or mostly normal) data ``X``; ``y`` is ignored."""
        nu = check_nu(self.nu)
        X = check_X(self, X, reset=True, flatten=True, dtype=np.float64)
        # libsvm returns a non-finite rho at exactly nu = 1 (every alpha at its bound); a hair below is the same
        # solution with a defined offset.
        svm = _SkOneClassSVM(kernel=self.kernel, nu=min(nu, 1.0 - 1e-9), gamma=self.gamma, tol=self.tol)
        self.model_ = Pipeline([("pca", _front(self.pca)), ("ocsvm", svm)]) if _uses_pca(self.pca) else svm
        self.model_.fit(X)
        self.svm_ = svm
        self.pca_ = _unfrozen(self.model_.named_steps["pca"]) if _uses_pca(self.pca) else None
        self.support_ = svm.support_
        self.offset_ = float(svm.offset_[0])
        return self

    def score_samples(self, X):
        """Return sum_i alpha_i k(x_i, x): higher means more normal."""
        X = _check_features(self, X)
        return self.model_.score_samples(X)


def nu_property_fractions(model, X):
    """Return the fractions of training outliers and of support vectors of a fitted OCSVM or KernelSVDD.

    An outlier is a point whose ``decision_function`` is below ``-model.tol``: the solver stops once its
    optimality conditions hold to within ``tol``, so a point on the boundary may read -0.0004 instead of 0.

    Returns
    -------
    dict with keys ``outliers`` and ``support_vectors`` (both in [0, 1]) and ``nu``.
    """
    X = _as_2d(X)
    d = model.decision_function(X)
    return {
        "nu": float(model.nu),
        "outliers": float(np.mean(d < -model.tol)),
        "support_vectors": len(model.support_) / len(X),
    }


# --------------------------------------------------------------------------------------------- kernel SVDD
def _svdd_smo(K, C, tol=1e-6, max_iter=100_000):
    """Solve the SVDD dual by SMO with maximal-violating pairs.

    Minimises ``a^T K a - a^T diag(K)`` subject to ``0 <= a_i <= C`` and ``sum a_i = 1`` (the dual of the
    paper's Eq. (2), with C = 1/(nu n)); returns ``(alpha, n_iter)``.
    """
    n = len(K)
    diag = np.diag(K).copy()
    alpha = np.full(n, 1.0 / n)  # feasible: C = 1/(nu n) >= 1/n
    grad = 2.0 * K @ alpha - diag
    for it in range(max_iter):
        up = alpha < C - 1e-12  # may increase
        low = alpha > 1e-12  # may decrease
        if not up.any() or not low.any():  # nu = 1: every alpha sits at C = 1/n, nothing can move
            return alpha, it
        i = np.flatnonzero(up)[np.argmin(grad[up])]
        j = np.flatnonzero(low)[np.argmax(grad[low])]
        gap = grad[j] - grad[i]
        if gap < tol:
            return alpha, it
        curvature = max(2.0 * (K[i, i] + K[j, j] - 2.0 * K[i, j]), 1e-12)
        step = min(gap / curvature, C - alpha[i], alpha[j])  # move mass from j to i
        alpha[i] += step
        alpha[j] -= step
        grad += 2.0 * step * (K[:, i] - K[:, j])
    warnings.warn(f"KernelSVDD: SMO stopped after max_iter={max_iter} iterations (gap {gap:.2e}).", stacklevel=3)
    return alpha, max_iter


class KernelSVDD(_Detector):
    """Support vector data description (Tax & Duin, 2004): the smallest sphere in feature space holding most data.

    Solves the dual of the Deep SVDD paper's Eq. (2),

        max_a  sum_i a_i k(x_i, x_i) - sum_ij a_i a_j k(x_i, x_j)   s.t.  0 <= a_i <= C,  sum_i a_i = 1,

    with C = 1/(nu n), by sequential minimal optimisation (fine for n up to a few thousand).
    The centre is c = sum_i a_i phi(x_i); the squared distance to it is
    ``k(x, x) - 2 sum_i a_i k(x_i, x) + sum_ij a_i a_j k(x_i, x_j)``.

    Signs follow scikit-learn: ``score_samples = -dist^2``, ``offset_ = -R^2``, so
    ``decision_function = R^2 - dist^2`` (negative = outside the sphere = anomalous).
    With the RBF kernel k(x, x) = 1 for every x, so the linear term of the dual is constant and the problem is the
    OC-SVM dual: both give the same decisions. With the linear kernel they differ (a ball versus a half-space).

    Parameters
    ----------
    kernel : {"rbf", "linear", "poly"} or callable, default "rbf"
    nu : float in (0, 1], default 0.1
    gamma : "scale" or float, default "scale" (as OCSVM: 1 / (D * X.var()))
    C : float or None, default None
        Upper bound on each a_i; None means 1/(nu n). If given, it must be >= 1/n, and ``nu`` is ignored.
    tol : float, default 1e-6
        Stopping tolerance on the KKT violation of the SMO solver.

    Attributes
    ----------
    alpha_ : ndarray (n,), the dual variables (sum to 1)
    support_ : ndarray, indices with alpha > 0 (on or outside the sphere)
    support_vectors_ : ndarray, those training points
    dual_coef_ : ndarray, their alphas
    boundary_support_ : ndarray, indices with 0 < alpha < C (exactly on the sphere)
    radius_ : float, R
    offset_ : float, -R^2
    center_norm2_ : float, ||c||^2 = sum_ij a_i a_j k(x_i, x_j)
    center_ : ndarray or None, c itself for the linear kernel (None for other kernels: c lives in feature space)
    C_ : float
    n_iter_ : int
    """

    _parameter_constraints = {
        "kernel": [StrOptions({"rbf", "linear", "poly"}), callable],
        "nu": [_NU],
        "gamma": _GAMMA,
        "C": [_POS, None],
        "tol": [_POS],
    }

    def __init__(self, kernel="rbf", nu=0.1, gamma="scale", C=None, tol=1e-6):
        self.kernel = kernel
        self.nu = nu
        self.gamma = gamma
        self.C = C
        self.tol = tol

    def _gamma_value(self, X):
        """Resolve gamma like scikit-learn's SVMs ("scale" = 1 / (D * var))."""
        if self.gamma == "scale":
            var = X.var()
            return 1.0 / (X.shape[1] * var) if var > 0 else 1.0
        if self.gamma == "auto":
            return 1.0 / X.shape[1]
        return float(self.gamma)

    def _kernel(self, A, B):
        """Kernel matrix between rows of A and of B."""
        if callable(self.kernel):
            return self.kernel(A, B)
        if self.kernel == "linear":
            return pairwise_kernels(A, B, metric="linear")
        return pairwise_kernels(A, B, metric=self.kernel, gamma=self._gamma_)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Solve the dual QP on ``X``; ``y`` is ignored."""
        nu = check_nu(self.nu)
        X = check_X(self, X, reset=True, flatten=True, dtype=np.float64)
        n = len(X)
        C = 1.0 / (nu * n) if self.C is None else float(self.C)
        if C < 1.0 / n:
            raise ValueError(f"C={C} is infeasible: the alphas sum to 1, so C must be at least 1/n = {1.0 / n:.4g}.")
        self._gamma_ = self._gamma_value(X)
        K = self._kernel(X, X)
        alpha, self.n_iter_ = _svdd_smo(K, C, tol=self.tol)
        alpha[alpha < 1e-10 * C] = 0.0
        self.alpha_, self.C_ = alpha, C
        self.support_ = np.flatnonzero(alpha > 0)
        self.support_vectors_ = X[self.support_]
        self.dual_coef_ = alpha[self.support_]
        self.center_norm2_ = float(alpha @ K @ alpha)
        dist2 = np.diag(K) - 2.0 * K @ alpha + self.center_norm2_
        free = (alpha > 1e-8 * C) & (alpha < C * (1 - 1e-8))
        self.boundary_support_ = np.flatnonzero(free)
        if free.any():
            R2 = float(np.mean(dist2[free]))
        else:  # no point exactly on the sphere: R^2 lies between the inside points and the bound ones
            inside, bound = dist2[alpha == 0], dist2[alpha >= C * (1 - 1e-8)]
            lo = inside.max() if inside.size else bound.min()
            hi = bound.min() if bound.size else inside.max()
            R2 = float((lo + hi) / 2)
        self.radius_ = float(np.sqrt(max(R2, 0.0)))
        self.offset_ = -R2
        self.center_ = alpha @ X if self.kernel == "linear" else None
        return self

    def dist2(self, X):
        """Return the squared feature-space distance ||phi(x) - c||^2 of each row of ``X``."""
        X = _check_features(self, X)
        Ks = self._kernel(X, self.support_vectors_)
        if self.kernel == "rbf":
            kxx = 1.0  # k(x, x) = exp(0) for every x
        elif self.kernel == "linear":
            kxx = np.einsum("ij,ij->i", X, X)
        else:
            kxx = np.array([self._kernel(x[None], x[None])[0, 0] for x in X])
        return kxx - 2.0 * Ks @ self.dual_coef_ + self.center_norm2_

    def score_samples(self, X):
        """Return ``-dist^2``: higher means more normal."""
        return -self.dist2(X)


# ------------------------------------------------------------------------------------------------------ KDE
class KDE(_Detector):
    """Gaussian kernel density estimate; the bandwidth is chosen by cross-validated log-likelihood.

    Parameters
    ----------
    bandwidth : float or None, default None
        None = choose from ``bandwidths`` by ``cv``-fold cross-validation of the held-out log-likelihood
        (:class:`sklearn.model_selection.GridSearchCV`), as the Deep SVDD paper.
    bandwidths : sequence of float or None, default None
        The log grid to search; None = the paper's {2^0.5, 2^1, ..., 2^5} (for GCN + min-max scaled images;
        pass a smaller grid, e.g. ``np.logspace(-1.5, 0.5, 9)``, for 2-D toys with unit scale).
    cv : int, default 5
    pca : bool or fitted transformer, default False
        PCA keeping 95 % of the variance first (the paper does); fitted once on the training data, before the
        bandwidth search (a given fitted PCA is used as is).
    nu : float in (0, 1], default 0.1
        Fraction of training points below ``offset_`` (the threshold used by ``predict``).
    n_jobs : int or None, default None
        Processes for the bandwidth search (GridSearchCV's ``n_jobs``; joblib caps each worker's BLAS threads).

    Attributes
    ----------
    bandwidth_ : float, the chosen bandwidth
    cv_results_ : dict or None, GridSearchCV's table when the bandwidth was searched
    model_ : the fitted KernelDensity (or Pipeline with PCA)
    pca_ : PCA or None
    offset_ : float, the nu-quantile of the training log-densities
    """

    _parameter_constraints = {
        "bandwidth": [_POS, None],
        "bandwidths": ["array-like", None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "pca": _PCA_OPTION,
        "nu": [_NU],
        "n_jobs": [Integral, None],
    }

    def __init__(self, bandwidth=None, bandwidths=None, cv=5, pca=False, nu=0.1, n_jobs=None):
        self.bandwidth = bandwidth
        self.bandwidths = bandwidths
        self.cv = cv
        self.pca = pca
        self.nu = nu
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Choose the bandwidth (if None), fit the density on ``X`` and set the threshold."""
        nu = check_nu(self.nu)
        if self.bandwidth is None and self.bandwidths is not None:
            try:
                grid = np.asarray(self.bandwidths, dtype=float).ravel()
            except (TypeError, ValueError):
                raise TypeError(f"bandwidths must be a sequence of positive numbers; got {self.bandwidths!r}."
                                ) from None
            if grid.size == 0 or not np.isfinite(grid).all() or (grid <= 0).any():
                raise ValueError(f"bandwidths must be positive finite numbers; got {self.bandwidths!r}.")
        X = check_X(self, X, reset=True, flatten=True, dtype=np.float64, min_samples=2)
        # PCA (unsupervised) is fitted once on the training data; the bandwidth search runs on its codes.
        if not _uses_pca(self.pca):
            self.pca_ = None
        else:
            self.pca_ = _pca().fit(X) if isinstance(self.pca, (bool, np.bool_)) else _unfrozen(_front(self.pca))
        Z = self.pca_.transform(X) if self.pca_ is not None else X
        self.cv_results_ = None
        if self.bandwidth is None:
            grid = np.asarray(PAPER_KDE_BANDWIDTHS if self.bandwidths is None else self.bandwidths, dtype=float).ravel()
            # KernelDensity.score is the total held-out log-likelihood: GridSearchCV maximises it.
            search = GridSearchCV(KernelDensity(kernel="gaussian"), {"bandwidth": grid}, cv=min(self.cv, len(X)),
                                  n_jobs=self.n_jobs)
            search.fit(Z)
            self.bandwidth_ = float(search.best_params_["bandwidth"])
            self.cv_results_ = search.cv_results_
            if len(grid) > 1 and self.bandwidth_ in (grid.min(), grid.max()):
                edge = "smallest" if self.bandwidth_ == grid.min() else "largest"
                warnings.warn(
                    f"KDE: the cross-validated log-likelihood is highest at the {edge} bandwidth of the grid, "
                    f"h = {self.bandwidth_:.3g} (grid [{grid.min():.3g}, {grid.max():.3g}]): the likelihood-optimal "
                    f"bandwidth lies at or beyond that edge. That is not a reason to widen the grid: the bandwidth "
                    "that best predicts held-out normal data is not the one that best separates anomalies (a small "
                    "h scores every point by its nearest training points, a large h smooths the density toward one "
                    "blob), and on image data a wider grid has made detection much worse. Keep the grid, or compare "
                    "detection quality (e.g. AUROC on labelled validation data, reported as such) before changing it.",
                    stacklevel=3,
                )
        else:
            self.bandwidth_ = float(self.bandwidth)
        kde = KernelDensity(kernel="gaussian", bandwidth=self.bandwidth_).fit(Z)
        self.model_ = Pipeline([("pca", self.pca_), ("kde", kde)]) if self.pca_ is not None else kde
        self.offset_ = float(np.quantile(self.model_.score_samples(X), nu))
        return self

    def score_samples(self, X):
        """Return the log-density log p(x): higher means more normal."""
        X = _check_features(self, X)
        return self.model_.score_samples(X)


# -------------------------------------------------------------------------------------------- Isolation Forest
class IsolationForest(_Detector):
    """Isolation Forest (Liu et al., 2008) with the papers' settings: 100 trees, sub-samples of 256.

    Parameters
    ----------
    n_estimators : int, default 100
    max_samples : int, default 256 (capped at the number of training samples)
    pca : bool, default False
    nu : float in (0, 1], default 0.1
        Fraction of training points below ``offset_`` (used by ``predict``; scores do not depend on it).
    random_state : int or None, default 0

    Attributes
    ----------
    forest_ : sklearn.ensemble.IsolationForest
    offset_ : float, the nu-quantile of the training scores
    """

    _parameter_constraints = {
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "max_samples": [Interval(Integral, 1, None, closed="left")],
        "pca": _PCA_OPTION,
        "nu": [_NU],
        "random_state": ["random_state"],
    }

    def __init__(self, n_estimators=100, max_samples=256, pca=False, nu=0.1, random_state=0):
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.pca = pca
        self.nu = nu
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Grow the forest on ``X`` and set the threshold."""
        nu = check_nu(self.nu)
        X = check_X(self, X, reset=True, flatten=True, dtype=np.float64)
        self.forest_ = _SkIsolationForest(
            n_estimators=self.n_estimators,
            max_samples=min(int(self.max_samples), len(X)),  # sklearn warns when asked for more than it has
            random_state=self.random_state,
        )
        self.model_ = Pipeline([("pca", _front(self.pca)), ("iforest", self.forest_)]) if _uses_pca(self.pca) \
            else self.forest_
        self.model_.fit(X)
        self.pca_ = _unfrozen(self.model_.named_steps["pca"]) if _uses_pca(self.pca) else None
        self.offset_ = float(np.quantile(self.model_.score_samples(X), nu))
        return self

    def score_samples(self, X):
        """Return minus the isolation anomaly score (short average paths = low): higher means more normal."""
        X = _check_features(self, X)
        return self.model_.score_samples(X)


# ------------------------------------------------------------------------------------------------ CAE-OC-SVM
class CAEOCSVM(_Detector):
    """Hybrid CAE-OC-SVM (OC-NN paper's baseline): a conv autoencoder's code, then a one-class SVM.

    Parameters
    ----------
    autoencoder : ocad_lab.estimators.AutoencoderDetector or None, default None
        Never changed by ``fit``: a fitted detector is deep-copied and used as it is (only its encoder,
        ``transform``); an unfitted one is cloned (:func:`sklearn.base.clone`) and the clone is fitted on ``X``;
        None builds ``AutoencoderDetector(net="auto", random_state=random_state, verbose=0)``
        (the paper-sized number of epochs: pass your own for quick runs).
    kernel, nu, gamma, tol : as :class:`OCSVM`.
    random_state : int, default 0 (for the default autoencoder)

    Attributes
    ----------
    autoencoder_ : the fitted AutoencoderDetector
    ocsvm_ : OCSVM fitted on the encoder features
    offset_ : float
    """

    _parameter_constraints = {
        "autoencoder": [None, HasMethods(["fit", "transform"])],
        "kernel": [StrOptions({"rbf", "linear", "poly", "sigmoid"})],
        "nu": [_NU],
        "gamma": _GAMMA,
        "tol": [_POS],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(self, autoencoder=None, kernel="rbf", nu=0.1, gamma="scale", tol=1e-3, random_state=0):
        self.autoencoder = autoencoder
        self.kernel = kernel
        self.nu = nu
        self.gamma = gamma
        self.tol = tol
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit a copy of the autoencoder (or copy a fitted one), encode ``X`` and fit the OC-SVM on the codes.

        The autoencoder passed in is never trained or changed: an unfitted one is cloned
        (:func:`sklearn.base.clone`) and the clone is fitted; a fitted one is deep-copied.
        """
        check_nu(self.nu)
        check_X(self, X, reset=True, flatten=True, min_samples=2)  # the autoencoder gets the images as they are
        ae = self.autoencoder
        if ae is None:
            from ocad_lab.estimators import AutoencoderDetector

            ae = AutoencoderDetector(random_state=self.random_state, verbose=0).fit(X)
        else:
            try:
                check_is_fitted(ae)
                ae = copy.deepcopy(ae)
            except NotFittedError:  # not fitted yet: train a clone of it on X (reconstruction loss)
                ae = clone(ae).fit(X)
        self.autoencoder_ = ae
        self.ocsvm_ = OCSVM(kernel=self.kernel, nu=self.nu, gamma=self.gamma, tol=self.tol).fit(self._encode(X))
        self.offset_ = self.ocsvm_.offset_
        return self

    def _encode(self, X):
        """Encoder features of ``X`` as an (N, rep_dim) float64 array."""
        Z = self.autoencoder_.transform(X)
        Z = Z.detach().cpu().numpy() if hasattr(Z, "detach") else np.asarray(Z)
        return Z.reshape(len(Z), -1).astype(np.float64)

    def score_samples(self, X):
        """Return the OC-SVM score of the encoder features: higher means more normal."""
        _check_features(self, X)
        return self.ocsvm_.score_samples(self._encode(X))


# ------------------------------------------------------------------------------ tuning with labels (say so)
def _holdout_auroc(X_train, X_holdout, y_holdout, gamma, nu, pca):
    """Holdout AUROC of one OC-SVM candidate (a joblib task)."""
    model = OCSVM(kernel="rbf", nu=nu, gamma=gamma, pca=pca).fit(X_train)
    return float(roc_auc_score(y_holdout, -model.decision_function(X_holdout)))


def tune_ocsvm_gamma_on_labelled_holdout(X_train, X_holdout, y_holdout, gammas=None, nu=0.1, pca=False, n_jobs=None):
    """Pick the RBF OC-SVM's gamma by AUROC on a small LABELLED holdout -- this uses anomaly labels.

    The Deep SVDD paper does this for its OC-SVM/SVDD baseline (10 % of the test set as holdout, gamma in
    {2^-10, ..., 2^-1}), granting it a small supervised advantage. Use it only to reproduce that protocol, and
    report results on data disjoint from the holdout.

    Parameters
    ----------
    X_train : array, the (normal) training data each candidate is fitted on
    X_holdout, y_holdout : labelled holdout, y = 1 for anomalies and 0 for normals (both must occur)
    gammas : sequence of float or None, default None = ``PAPER_GAMMAS``
    nu : float in (0, 1], default 0.1
    pca : bool or fitted transformer, default False
        True: one PCA-95 % is fitted on ``X_train`` and shared by every candidate (it does not depend on gamma).
    n_jobs : int or None, default None
        Candidates fitted in parallel (joblib processes; each worker's BLAS threads are capped by joblib).

    Returns
    -------
    dict with ``best_gamma``, ``best_auroc``, ``aurocs`` (gamma -> holdout AUROC) and ``model`` (refitted with
    the best gamma).
    """
    check_nu(nu)
    X_holdout = _as_2d(X_holdout, "X_holdout")
    y_holdout = np.asarray(y_holdout).ravel()
    if len(y_holdout) != len(X_holdout):
        raise ValueError(f"y_holdout has {len(y_holdout)} labels for {len(X_holdout)} holdout samples.")
    if set(np.unique(y_holdout)) != {0, 1}:
        raise ValueError("y_holdout must contain both 0 (normal) and 1 (anomaly) labels to compute an AUROC.")
    gammas = PAPER_GAMMAS if gammas is None else tuple(gammas)
    if isinstance(pca, (bool, np.bool_)) and pca:
        pca = _pca().fit(_as_2d(X_train, "X_train"))
    from joblib import Parallel, delayed

    scores = Parallel(n_jobs=n_jobs)(delayed(_holdout_auroc)(X_train, X_holdout, y_holdout, g, nu, pca) for g in gammas)
    aurocs = {float(g): a for g, a in zip(gammas, scores)}
    best = max(aurocs, key=aurocs.get)
    return {
        "best_gamma": best,
        "best_auroc": aurocs[best],
        "aurocs": aurocs,
        "model": OCSVM(kernel="rbf", nu=nu, gamma=best, pca=pca).fit(X_train),
    }
