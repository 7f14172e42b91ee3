"""Robust decompositions X = L + S and the OC-NN paper's robust baselines built on them.

* :func:`principal_component_pursuit` -- robust PCA (Candès, Li, Ma & Wright, 2011): min ||L||_* + lam ||S||_1
  subject to L + S = M, solved by the inexact augmented Lagrange multiplier method (Lin, Chen & Ma, 2010).
  No well-kept Python library offers it (scikit-learn has none), so it is written here and tested on a planted
  low-rank + sparse matrix.
* :class:`RPCAOCSVM` -- the paper's "Robust-PCA OC-SVM": principal component pursuit on the data, then an RBF
  OC-SVM on the coordinates in the robust subspace (the row space of L).
* :class:`RDA` -- robust deep autoencoder (Zhou & Paffenroth, KDD 2017), and :class:`RCAE` -- robust convolutional
  autoencoder (Chalapathy, Menon & Chawla, 2017): the OC-NN paper's Eq. (1),
  min ||L_D - D(E(L_D))||_2 + lam ||S^T||_{2,1}  s.t.  X - L_D - S = 0, solved by alternating (ADMM-style) steps:
  fit the autoencoder on L = X - S, then S <- the proximal step of the penalty on X - D(E(L)).

Signs (DESIGN.md): ``score_samples`` higher = more normal, ``decision_function = score_samples - offset_``
(negative = anomalous), ``predict`` +1 / -1, ``offset_`` = the nu-quantile of the training scores.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted
from torch import nn

from numbers import Integral

from sklearn.base import TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from .baselines import _GAMMA, OCSVM, _check_features, _Detector
from . import estimators as _est
from .estimators import _DEVICE, _NU, _POS, _SEED, _NeuralDetector, _ReconstructionScores
from .objectives import check_nu
from .paper_cae import PaperConvAutoencoder
from .training import TrainingDiverged, predict_batched, train_epochs
from .validation import check_device, check_X
from .validation import check_int as _check_int
from .validation import check_positive as _check_pos

__all__ = ["PCPResult", "principal_component_pursuit", "RPCAOCSVM", "RobustAutoencoder", "RDA", "RCAE",
           "prox_l1", "prox_l21"]


# ------------------------------------------------------------------------------------------ PCP (robust PCA)
@dataclass
class PCPResult:
    """Output of :func:`principal_component_pursuit`: M = L + S (up to ``tol``)."""

    L: np.ndarray
    S: np.ndarray
    rank: int
    n_iter: int
    converged: bool
    residual: float  # ||M - L - S||_F / ||M||_F at the end


def _shrink(A, tau):
    """Elementwise soft threshold: sign(A) max(|A| - tau, 0) (the prox of tau ||.||_1); NumPy or torch."""
    if isinstance(A, torch.Tensor):
        return torch.sign(A) * torch.clamp(A.abs() - tau, min=0.0)
    return np.sign(A) * np.maximum(np.abs(A) - tau, 0.0)


def _svt(A, tau):
    """Singular value threshold U shrink(Sigma, tau) V^T (the prox of tau ||.||_*) of a torch matrix; and its rank."""
    U, s, Vh = torch.linalg.svd(A, full_matrices=False)
    s = torch.clamp(s - tau, min=0.0)
    r = int((s > 0).sum())
    return (U[:, :r] * s[:r]) @ Vh[:r], r


def principal_component_pursuit(M, lam=None, tol=1e-7, max_iter=1000, mu=None, rho=1.5, device="cpu"):
    """Split ``M`` into low-rank ``L`` and sparse ``S`` by principal component pursuit (inexact ALM).

    Minimises ``||L||_* + lam ||S||_1`` subject to ``L + S = M``. Each iteration (Lin, Chen & Ma, 2010, Alg. 5):
    ``L <- SVT_{1/mu}(M - S + Y/mu)``, ``S <- shrink_{lam/mu}(M - L + Y/mu)``, ``Y <- Y + mu (M - L - S)``,
    ``mu <- rho mu``; it stops when ``||M - L - S||_F <= tol ||M||_F``. The SVDs run in float64 with torch on
    ``device`` (a GPU makes the OC-NN protocol's 5,050 x 3,072 CIFAR-10 matrix practical).

    Parameters
    ----------
    M : array (m, n), finite
    lam : float or None, default None
        Weight of the sparse part; None = ``1 / sqrt(max(m, n))`` (Candès et al.'s universal choice).
    tol : float, default 1e-7
    max_iter : int, default 1000
    mu : float or None, default None
        Initial penalty; None = ``1.25 / ||M||_2``.
    rho : float > 1, default 1.5
        Growth factor of mu.
    device : str or torch.device, default "cpu"
        Where the SVDs run (Apple MPS lacks float64: use "cpu" there).

    Returns
    -------
    PCPResult
        ``L``, ``S`` (NumPy float64), ``rank`` (of L), ``n_iter``, ``converged`` and the relative ``residual``.
        A run that stops at ``max_iter`` issues a ConvergenceWarning.
    """
    M = check_X(None, M, reset=True, flatten=True, dtype=np.float64, allow_nd=False, name="M")
    m, n = M.shape
    lam = 1.0 / math.sqrt(max(m, n)) if lam is None else _check_pos("lam", lam)
    _check_pos("tol", tol)
    _check_int("max_iter", max_iter, 1)
    if not (isinstance(rho, (int, float)) and rho > 1):
        raise ValueError(f"rho must be a number > 1, got {rho!r}.")
    norm_fro = float(np.linalg.norm(M))
    if norm_fro == 0:
        return PCPResult(np.zeros_like(M), np.zeros_like(M), 0, 0, True, 0.0)
    Mt = torch.from_numpy(M if M.flags.writeable else M.copy()).to(check_device(device))
    norm_two = float(torch.linalg.matrix_norm(Mt, ord=2))
    mu = 1.25 / norm_two if mu is None else _check_pos("mu", mu)
    mu_max = mu * 1e7
    Y = Mt / max(norm_two, float(Mt.abs().max()) / lam)  # dual start of Lin et al.
    S = torch.zeros_like(Mt)
    L, rank, residual = torch.zeros_like(Mt), 0, 1.0
    for it in range(1, max_iter + 1):
        L, rank = _svt(Mt - S + Y / mu, 1.0 / mu)
        S = _shrink(Mt - L + Y / mu, lam / mu)
        Z = Mt - L - S
        Y += mu * Z
        mu = min(mu * rho, mu_max)
        residual = float(torch.linalg.norm(Z)) / norm_fro
        if residual <= tol:
            return PCPResult(L.cpu().numpy(), S.cpu().numpy(), rank, it, True, residual)
    warnings.warn(f"principal_component_pursuit: stopped after max_iter={max_iter} iterations with relative "
                  f"residual {residual:.2e} > tol={tol}; raise max_iter or tol.", ConvergenceWarning, stacklevel=2)
    return PCPResult(L.cpu().numpy(), S.cpu().numpy(), rank, max_iter, False, residual)


class RPCAOCSVM(TransformerMixin, _Detector):
    """Robust-PCA OC-SVM (the OC-NN paper's baseline): principal component pursuit, then an RBF OC-SVM.

    ``fit`` splits the training data X = L + S by :func:`principal_component_pursuit`, takes the robust subspace
    (the fewest top right-singular vectors of the centred L keeping 95 % of its variance, at most
    ``max_components``) and fits an OC-SVM on the
    coordinates ``(x - mean(L)) V``. The paper uses "the robust features extracted with scaling factor of 1" without
    saying more; we read that as lam at Candès et al.'s universal value (``lam_scale=1``) and the coordinates in the
    robust subspace, which apply to new samples too.

    Parameters
    ----------
    nu : float in (0, 1], default 0.1
    gamma : "scale" or float, default "scale"
    kernel : {"rbf", "linear"}, default "rbf"
    lam_scale : float, default 1.0
        lam = lam_scale / sqrt(max(n, d)).
    max_components : int, default 256
    tol : float, default 1e-6 (of the PCP)
    max_iter : int, default 500 (of the PCP)
    device : str, default "cpu" (where the PCP's SVDs run; "cuda" on a GPU)

    Attributes
    ----------
    pcp_ : PCPResult
    n_iter_ : int, iterations of the PCP
    components_ : ndarray (k, d), the robust subspace
    mean_ : ndarray (d,)
    ocsvm_ : OCSVM
    offset_ : float
    n_features_in_ : int
    """

    _parameter_constraints = {
        "nu": [_NU],
        "gamma": _GAMMA,
        "kernel": [StrOptions({"rbf", "linear"})],
        "lam_scale": [_POS],
        "max_components": [Interval(Integral, 1, None, closed="left")],
        "tol": [_POS],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "device": _DEVICE,
    }

    def __init__(self, nu=0.1, gamma="scale", kernel="rbf", lam_scale=1.0, max_components=256, tol=1e-6,
                 max_iter=500, device="cpu"):
        self.nu = nu
        self.gamma = gamma
        self.kernel = kernel
        self.lam_scale = lam_scale
        self.max_components = max_components
        self.tol = tol
        self.max_iter = max_iter
        self.device = device

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Robust PCA of ``X``, then the OC-SVM on its robust coordinates; ``y`` is ignored.

        Raises
        ------
        sklearn.utils._param_validation.InvalidParameterError (a ValueError and TypeError)
            A setting outside its range or of the wrong type (checked before any work).
        ValueError, TypeError
            Bad ``X`` (see :func:`ocad_lab.validation.check_X`).
        ocad_lab.training.TrainingDiverged
            The decomposition came out NaN or infinite.
        """
        check_nu(self.nu)
        device = check_device(self.device)
        X = check_X(self, X, reset=True, flatten=True, dtype=np.float64)
        lam = self.lam_scale / math.sqrt(max(X.shape))
        self.pcp_ = principal_component_pursuit(X, lam=lam, tol=self.tol, max_iter=self.max_iter, device=device)
        self.n_iter_ = self.pcp_.n_iter
        if not (np.isfinite(self.pcp_.L).all() and np.isfinite(self.pcp_.S).all()):
            raise TrainingDiverged(
                "RPCAOCSVM: principal component pursuit gave NaN or infinite L or S. Scale the data (e.g. to [0, 1] "
                "with ocad_lab.data.preprocess) or run the SVDs on device='cpu' in float64.")
        self.mean_ = self.pcp_.L.mean(axis=0)
        _, s, Vt = np.linalg.svd(self.pcp_.L - self.mean_, full_matrices=False)
        # The fewest directions of L keeping 95 % of its variance (the kit's PCA convention): with noisy data
        # PCP's L is not exactly low-rank, and its small directions are noise.
        var = np.cumsum(s**2) / max(float((s**2).sum()), 1e-300)
        k = int(np.clip(np.searchsorted(var, 0.95) + 1, 1, min(self.max_components, len(s))))
        self.components_ = Vt[:k]
        self.ocsvm_ = OCSVM(kernel=self.kernel, nu=self.nu, gamma=self.gamma).fit(self._coords(X))
        self.offset_ = self.ocsvm_.offset_
        return self

    def _coords(self, X):
        return (X - self.mean_) @ self.components_.T

    def transform(self, X):
        """Coordinates of ``X`` in the robust subspace, (N, k)."""
        return self._coords(_check_features(self, X))

    def score_samples(self, X):
        """OC-SVM score of the robust coordinates: higher means more normal."""
        check_is_fitted(self, "offset_")
        return self.ocsvm_.score_samples(self.transform(X))


# ------------------------------------------------------------------------------------ robust autoencoders
PENALTIES = ("l21", "l1")


def prox_l1(A, lam):
    """Prox of lam ||S||_1: elementwise soft threshold (isolates single corrupted entries)."""
    return _shrink(A, lam)


def prox_l21(A, lam):
    """Prox of lam ||S^T||_{2,1}: shrink each row's (sample's) l2 norm by lam (isolates whole corrupted samples)."""
    norms = np.linalg.norm(A, axis=1, keepdims=True)
    scale = np.maximum(1.0 - lam / np.maximum(norms, 1e-300), 0.0)
    return A * scale


class _MLPAE(nn.Module):
    """Dense autoencoder on flattened inputs (RDA)."""

    def __init__(self, in_shape, hidden, rep_dim):
        super().__init__()
        d = int(np.prod(in_shape))
        self.in_shape = tuple(in_shape)
        sizes = [d, *hidden, rep_dim]
        enc = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            enc += [nn.Linear(a, b), nn.Sigmoid()]
        back = sizes[::-1]
        dec = []
        for i, (a, b) in enumerate(zip(back[:-1], back[1:])):
            dec.append(nn.Linear(a, b))
            if i < len(back) - 2:
                dec.append(nn.Sigmoid())  # the output layer is linear
        self.encoder, self.decoder = nn.Sequential(nn.Flatten(), *enc), nn.Sequential(*dec)

    def forward(self, x):
        """Reconstruct ``x`` (same shape)."""
        return self.decoder(self.encoder(x)).view(len(x), *self.in_shape)


class RobustAutoencoder(_ReconstructionScores, _NeuralDetector):
    """Robust autoencoder: X = L_D + S with L_D reconstructed by an autoencoder and S sparse (OC-NN paper Eq. 1).

    Alternation (Zhou & Paffenroth's Algorithm, the ADMM-style split of Eq. 1), ``n_outer`` times:

    1. L = X - S; train the autoencoder on L for ``inner_epochs`` epochs (MSE, Adam);
    2. L_D = D(E(L));  S = prox_{lam * penalty}(X - L_D)  (``"l21"``: per-sample group shrinkage, Eq. 1's
       ||S^T||_{2,1}; ``"l1"``: elementwise);
    3. stop when ||X - L_D - S||_F / ||X||_F and the change of L_D + S both fall below ``tol``.

    ``lam=None`` sets lam once, after the first autoencoder fit, to the (1 - nu)-quantile of the per-sample residual
    norms (``"l21"``) or of the absolute residual entries (``"l1"``): S then starts with about a share nu of
    nonzero rows (entries), nu being the outlier share as for the other baselines. The papers tune lam on a grid
    with labels ("best performing parameter settings"); we do not use labels.

    Scores: ``score_samples(X) = -mean((x - D(E(x)))^2)`` -- the reconstruction error under the autoencoder that
    was trained on the cleaned L (it applies to new samples; ``S_`` holds the training split's sparse part, whose
    nonzero rows are the samples the decomposition isolated: ``outliers_``).

    Parameters
    ----------
    net : {"mlp", "cae"}, default "mlp"
        "mlp": dense sigmoid autoencoder ``d -> hidden -> rep_dim`` (RDA); "cae": the OC-NN paper's convolutional
        autoencoder (:class:`ocad_lab.paper_cae.PaperConvAutoencoder`, RCAE).
    hidden : tuple of int, default (200,)
    rep_dim : int, default 10
    lam : float or None, default None
    penalty : {"l21", "l1"}, default "l21"
    n_outer : int, default 10
    inner_epochs : int, default 5
    lr : float, default 1e-3
    batch_size : int, default 128
    nu : float in (0, 1], default 0.1
    tol : float, default 1e-4
    random_state : int, default 0
    device : str or None
    verbose : int, default 0

    ``fit`` is the kit's neural ``fit`` (settings, device and X checked first, private RNG fork); ``transform`` gives
    the codes E(x); ``save`` / ``ocad_lab.estimators.load`` as the kit's other neural detectors.

    Attributes
    ----------
    ae_ : torch.nn.Module (``.encoder``, ``.decoder``)
    S_ : ndarray, same shape as the training X (flattened to (N, D))
    lam_ : float
    outliers_ : ndarray of int, training rows with a nonzero row in S
    n_iter_ : int, outer iterations run
    history_ : list of dict (``outer``, ``loss``, ``residual``, ``change``, ``n_outlier_rows``)
    offset_ : float
    input_shape_ : tuple
    n_features_in_ : int
    """

    _default_net = "mlp"

    def __init__(self, net="mlp", hidden=(200,), rep_dim=10, lam=None, penalty="l21", n_outer=10, inner_epochs=5,
                 lr=1e-3, batch_size=128, nu=0.1, tol=1e-4, random_state=0, device=None, verbose=0):
        self.net = net
        self.hidden = hidden
        self.rep_dim = rep_dim
        self.lam = lam
        self.penalty = penalty
        self.n_outer = n_outer
        self.inner_epochs = inner_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.nu = nu
        self.tol = tol
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    _parameter_constraints = {
        "net": [StrOptions({"mlp", "cae"})],
        "hidden": ["array-like"],  # positive layer sizes, checked in fit
        "rep_dim": [Interval(Integral, 1, None, closed="left")],
        "lam": [_POS, None],
        "penalty": [StrOptions(set(PENALTIES))],
        "n_outer": [Interval(Integral, 1, None, closed="left")],
        "inner_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [_POS],
        "batch_size": [Interval(Integral, 2, None, closed="left")],  # the CAE's BatchNorm needs 2 per batch
        "nu": [_NU],
        "tol": [_POS],
        "random_state": _SEED,
        "device": _DEVICE,
        "verbose": ["verbose"],
    }

    def _check_hidden(self):
        """``hidden`` as a tuple of positive ints (what the declared constraint cannot say)."""
        try:
            return tuple(_check_int("hidden", h, 1) for h in self.hidden)
        except (TypeError, ValueError):
            raise ValueError(f"hidden must be a sequence of positive layer sizes, e.g. (200,); got "
                             f"{self.hidden!r}.") from None

    def _build(self, in_shape, hidden):
        if self.net == "cae":
            if len(in_shape) != 3:
                raise ValueError("net='cae' (RCAE) needs images (N, C, H, W) or (N, H, W); got vectors. "
                                 "Use net='mlp' (RDA) for vectors.")
            return PaperConvAutoencoder(in_shape, self.rep_dim)
        return _MLPAE(in_shape, hidden, self.rep_dim)

    def _prox(self, A, lam):
        return prox_l21(A, lam) if self.penalty == "l21" else prox_l1(A, lam)

    def _reconstruct(self, Xt):
        self.ae_.eval()
        return predict_batched(self.ae_, Xt)

    def _extra_checks(self):
        self._check_hidden()
        return check_nu(self.nu)

    def _fit(self, Xt, generator, nu):
        """Alternate autoencoder fits on L = X - S and proximal steps on S (``Xt``: the checked device tensor).

        The base ``fit`` checks the settings and X, picks the device and runs this inside a private RNG fork seeded
        by ``random_state`` (the caller's global RNGs are left as they were). TrainingDiverged when the loss, the
        reconstructions or the training scores become NaN or infinite.
        """
        if self.net == "cae" and Xt.ndim != 4:
            raise ValueError("net='cae' (RCAE) needs images (N, C, H, W) or (N, H, W); got vectors. "
                             "Use net='mlp' (RDA) for vectors.")
        shape = tuple(Xt.shape)
        n, d = len(Xt), int(np.prod(self.input_shape_))
        self.ae_ = self._build(self.input_shape_, self._check_hidden()).to(self.device_)
        opt = torch.optim.Adam(self.ae_.parameters(), lr=self.lr)
        Xf = Xt.cpu().numpy().reshape(n, d).astype(np.float64)
        norm_x = max(float(np.linalg.norm(Xf)), 1e-12)
        S = np.zeros_like(Xf)
        lam = None if self.lam is None else float(self.lam)
        prev = None
        self.history_ = []
        for outer in range(1, self.n_outer + 1):
            L = torch.from_numpy((Xf - S).astype(np.float32).reshape(shape)).to(self.device_)

            def step(xb, idx):
                err = ((self.ae_(xb) - xb) ** 2).flatten(1).mean(1)
                return err.mean(), err, None

            h = train_epochs(L, step, opt, self.inner_epochs, self.batch_size, generator, modules=(self.ae_,),
                             verbose=self.verbose, desc=f"robust AE {outer}/{self.n_outer}")
            LD = self._reconstruct(L).cpu().numpy().reshape(n, d).astype(np.float64)
            if not (all(math.isfinite(r["loss"]) for r in h) and np.isfinite(LD).all()):
                raise TrainingDiverged(
                    f"{type(self).__name__} diverged in outer iteration {outer}: the autoencoder's loss or "
                    f"reconstructions became NaN or infinite. Lower the learning rate lr (now {self.lr:g}) and "
                    "scale the inputs to [0, 1] (ocad_lab.data.preprocess).", epoch=outer)
            R = Xf - LD
            if lam is None:  # once: about a share nu of rows (entries) start nonzero in S
                mags = np.linalg.norm(R, axis=1) if self.penalty == "l21" else np.abs(R).ravel()
                lam = max(float(np.quantile(mags, 1.0 - nu)), 1e-12)
            S = self._prox(R, lam)
            residual = float(np.linalg.norm(Xf - LD - S) / norm_x)
            cur = LD + S
            change = math.inf if prev is None else float(np.linalg.norm(cur - prev) / norm_x)
            prev = cur
            rows = int((np.abs(S).sum(axis=1) > 0).sum())
            self.history_.append({"outer": outer, "loss": h[-1]["loss"] if h else math.nan, "residual": residual,
                                  "change": change, "n_outlier_rows": rows})
            if residual < self.tol and change < self.tol:
                break
        self.n_iter_ = outer
        self.lam_ = lam
        self.S_ = S
        self.outliers_ = np.flatnonzero(np.abs(S).sum(axis=1) > 0)
        train_scores = self._score(Xt)
        self._check_finite_result(train_scores)
        self.offset_ = float(np.quantile(train_scores, nu))

    # -- persistence -----------------------------------------------------------------------------------------
    def _state(self):
        hidden = [int(h) for h in self._check_hidden()]
        return {"arch": {"net": self.net, "in_shape": list(self.input_shape_), "hidden": hidden,
                         "rep_dim": int(self.rep_dim)},
                "ae": self.ae_.state_dict(), "S": torch.from_numpy(np.array(self.S_)), "lam": float(self.lam_),
                "n_iter": int(self.n_iter_)}

    def _restore(self, state):
        arch = state["arch"]
        if arch["net"] == "cae":
            ae = PaperConvAutoencoder(tuple(arch["in_shape"]), arch["rep_dim"])
        else:
            ae = _MLPAE(tuple(arch["in_shape"]), tuple(arch["hidden"]), arch["rep_dim"])
        ae.load_state_dict(state["ae"])
        self.ae_ = ae.to(self.device_).eval()
        self.S_ = state["S"].numpy()
        self.lam_, self.n_iter_ = float(state["lam"]), int(state["n_iter"])
        self.outliers_ = np.flatnonzero(np.abs(self.S_).sum(axis=1) > 0)


class RDA(RobustAutoencoder):
    """Robust deep autoencoder (Zhou & Paffenroth, KDD 2017): :class:`RobustAutoencoder` with a dense net.

    Defaults: a ``d -> 200 -> 10`` sigmoid autoencoder and the l2,1 penalty (Eq. 1 of the OC-NN paper). The OC-NN
    paper does not give RDA's sizes or lam ("best performing parameter settings"); ours are stated, not tuned.
    """

    def __init__(self, net="mlp", hidden=(200,), rep_dim=10, lam=None, penalty="l21", n_outer=10, inner_epochs=5,
                 lr=1e-3, batch_size=128, nu=0.1, tol=1e-4, random_state=0, device=None, verbose=0):
        super().__init__(net=net, hidden=hidden, rep_dim=rep_dim, lam=lam, penalty=penalty, n_outer=n_outer,
                         inner_epochs=inner_epochs, lr=lr, batch_size=batch_size, nu=nu, tol=tol,
                         random_state=random_state, device=device, verbose=verbose)


class RCAE(RobustAutoencoder):
    """Robust convolutional autoencoder (Chalapathy, Menon & Chawla, 2017): :class:`RobustAutoencoder` with the OC-NN
    paper's convolutional autoencoder (section 4.5.1) in place of the dense net; l2,1 penalty (Eq. 1).

    ``rep_dim`` defaults to 128 (Table 2's MNIST/USPS code; use 32 for CIFAR-10). ``hidden`` is unused.
    """

    def __init__(self, net="cae", hidden=(), rep_dim=128, lam=None, penalty="l21", n_outer=10, inner_epochs=3,
                 lr=1e-3, batch_size=128, nu=0.1, tol=1e-4, random_state=0, device=None, verbose=0):
        super().__init__(net=net, hidden=hidden, rep_dim=rep_dim, lam=lam, penalty=penalty, n_outer=n_outer,
                         inner_epochs=inner_epochs, lr=lr, batch_size=batch_size, nu=nu, tol=tol,
                         random_state=random_state, device=device, verbose=verbose)


# ``ocad_lab.estimators.load`` finds the classes by their saved names.
for _klass in (RobustAutoencoder, RDA, RCAE):
    _est._CLASSES.setdefault(_klass.__name__, _klass)
