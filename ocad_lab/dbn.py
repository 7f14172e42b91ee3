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

import numpy as np
from sklearn.neural_network import BernoulliRBM
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.validation import check_is_fitted

from .baselines import KernelSVDD, _as_2d, _check_features, _Detector
from .estimators import _check_int, _check_pos
from .objectives import check_nu

__all__ = ["DBNSVDD"]


class DBNSVDD(_Detector):
    """Two stacked Bernoulli RBMs (a DBN with two layers), then kernel SVDD on the top layer's features.

    Parameters
    ----------
    n_components : tuple of two ints, default (256, 64)
        Hidden units of the first and second RBM.
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

    def fit(self, X, y=None):
        """Train the two RBMs greedily on ``X``, then SVDD on their features; ``y`` is ignored."""
        check_nu(self.nu)
        if self.kernel not in ("linear", "rbf"):
            raise ValueError(f"kernel must be 'linear' or 'rbf', got {self.kernel!r}.")
        try:
            h1, h2 = (_check_int("n_components", h, 1) for h in self.n_components)
        except (TypeError, ValueError):
            raise ValueError(f"n_components must be two positive ints (first, second RBM), got "
                             f"{self.n_components!r}.") from None
        _check_pos("learning_rate", self.learning_rate)
        _check_int("n_iter", self.n_iter, 1)
        _check_int("batch_size", self.batch_size, 1)
        X = _as_2d(X)
        rbm = dict(learning_rate=self.learning_rate, n_iter=self.n_iter, batch_size=self.batch_size)
        self.dbn_ = Pipeline([
            ("scale", MinMaxScaler(clip=True)),
            ("rbm1", BernoulliRBM(n_components=h1, random_state=self.random_state, **rbm)),
            ("rbm2", BernoulliRBM(n_components=h2, random_state=None if self.random_state is None
                                  else self.random_state + 1, **rbm)),
        ]).fit(X)  # Pipeline.fit trains rbm1 on the data, then rbm2 on rbm1's hidden probabilities (greedy)
        self.n_features_in_ = X.shape[1]
        self.svdd_ = KernelSVDD(kernel=self.kernel, nu=self.nu, gamma=self.gamma).fit(self.dbn_.transform(X))
        self.offset_ = self.svdd_.offset_
        return self

    def transform(self, X):
        """The second RBM's hidden probabilities, (N, n_components[1])."""
        return self.dbn_.transform(_check_features(self, X))

    def score_samples(self, X):
        """Minus the squared distance to the SVDD centre in DBN feature space: higher means more normal."""
        check_is_fitted(self, "offset_")
        return self.svdd_.score_samples(self.transform(X))
