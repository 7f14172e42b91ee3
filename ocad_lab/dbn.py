"""DBN2-SVDD (Erfani et al., 2016, as the OC-NN paper's baseline): two stacked RBMs, then kernel SVDD.

The deep belief network is two scikit-learn :class:`~sklearn.neural_network.BernoulliRBM` layers trained greedily
(each by persistent contrastive divergence on the previous layer's hidden probabilities); the second layer's
hidden probabilities are the features of a :class:`ocad_lab.baselines.KernelSVDD` with a linear or RBF kernel.
Inputs are min-max scaled to [0, 1] with the training minima and maxima first (the RBM's visible units are
Bernoulli probabilities), and clipped to [0, 1] when scoring new data.

The OC-NN paper gives no layer sizes, learning rates or epochs for DBN2; the defaults here (256 and 64 hidden
units, 20 epochs, learning rate 0.05) are stated choices, not tuned.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import TransformerMixin, _fit_context
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .baselines import _GAMMA, _NU, _POS, KernelSVDD, _check_features, _Detector
from .objectives import check_nu
from .training import TrainingDiverged
from .validation import check_int, check_X

__all__ = ["DBNSVDD"]


class DBNSVDD(TransformerMixin, _Detector):
    """Two stacked Bernoulli RBMs (a DBN with two layers), then kernel SVDD on the top layer's features.

    Parameters
    ----------
    n_components : tuple of two ints, or int, default (256, 64)
        Hidden units of the first and second RBM (one int: the same for both).
    kernel : {"linear", "rbf"}, default "rbf"
    nu : float in (0, 1], default 0.1
    gamma : "scale" or float, default "scale"
    learning_rate : float, default 0.05
    n_iter : int, default 20 (epochs per RBM)
    batch_size : int, default 64
    random_state : int, default 0

    Attributes
    ----------
    dbn_ : sklearn.pipeline.Pipeline (MinMaxScaler, rbm1, rbm2)
    svdd_ : KernelSVDD
    offset_ : float (= svdd_.offset_ = -R^2)
    n_features_in_ : int
    """

    _parameter_constraints = {
        "n_components": ["array-like", Interval(Integral, 1, None, closed="left")],  # (h1, h2) checked in fit
        "kernel": [StrOptions({"linear", "rbf"})],
        "nu": [_NU],
        "gamma": _GAMMA,
        "learning_rate": [_POS],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        # the second RBM gets random_state + 1, and scikit-learn takes seeds up to 2**32 - 1
        "random_state": [Interval(Integral, 0, 2**32 - 2, closed="both"), None],
    }

    def __init__(self, n_components=(256, 64), kernel="rbf", nu=0.1, gamma="scale", learning_rate=0.05, n_iter=20,
                 batch_size=64, random_state=0):
        self.n_components = n_components
        self.kernel = kernel
        self.nu = nu
        self.gamma = gamma
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the two RBMs greedily on ``X``, then SVDD on their features; ``y`` is ignored.

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError (a ValueError and TypeError)
            A setting outside its range or of the wrong type (checked before any work).
        ValueError, TypeError
            ``n_components`` not two positive ints; bad ``X`` (see :func:`ocad_lab.validation.check_X`).
        ocad_lab.training.TrainingDiverged
            The RBM features came out NaN or infinite.
        """
        check_nu(self.nu)
        sizes = (self.n_components,) * 2 if isinstance(self.n_components, Integral) else self.n_components
        try:
            h1, h2 = (check_int("n_components", h, 1) for h in sizes)
        except (TypeError, ValueError):
            raise ValueError(f"n_components must be two positive ints (first, second RBM), e.g. (256, 64); got "
                             f"{self.n_components!r}.") from None
        X = check_X(self, X, reset=True, flatten=True, dtype=np.float64)
        rbm = dict(learning_rate=self.learning_rate, n_iter=self.n_iter, batch_size=self.batch_size)
        self.dbn_ = Pipeline([
            ("scale", MinMaxScaler(clip=True)),
            ("rbm1", BernoulliRBM(n_components=h1, random_state=self.random_state, **rbm)),
            ("rbm2", BernoulliRBM(n_components=h2, random_state=None if self.random_state is None
                                  else self.random_state + 1, **rbm)),
        ]).fit(X)  # Pipeline.fit trains rbm1 on the data, then rbm2 on rbm1's hidden probabilities (greedy)
        H = self.dbn_.transform(X)
        if not np.isfinite(H).all():
            raise TrainingDiverged(f"DBNSVDD: the RBMs' features are NaN or infinite after training. Lower "
                                   f"learning_rate (now {self.learning_rate:g}).")
        self.svdd_ = KernelSVDD(kernel=self.kernel, nu=self.nu, gamma=self.gamma).fit(H)
        self.offset_ = self.svdd_.offset_
        return self

    def transform(self, X):
        """The second RBM's hidden probabilities, (N, n_components[1])."""
        return self.dbn_.transform(_check_features(self, X))

    def score_samples(self, X):
        """Minus the squared distance to the SVDD centre in DBN feature space: higher means more normal."""
        check_is_fitted(self, "offset_")
        return self.svdd_.score_samples(self.transform(X))
