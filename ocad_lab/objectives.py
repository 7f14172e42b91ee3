"""Objective functions of OC-NN (Chalapathy et al. 2018) and Deep SVDD (Ruff et al. 2018).

Plain functions: the torch ones take and return tensors (so autograd works through them); the
ones that pick a threshold (``ocnn_quantile_r``, ``soft_boundary_radius``) and ``ocnn_r_objective``
take NumPy arrays or tensors and return the same kind.

Two threshold conventions, both exact order statistics (no interpolation):

* OC-NN, Theorem 3.1: ``r`` minimises Eq. (5), f(r) = (1/nu)(1/N) sum_n max(0, r - y_n) - r.
  f is convex and piecewise linear; with k points strictly below r its slope is k/(N nu) - 1.
  The slope turns non-negative once k >= N nu, so the minimiser is the k-th smallest score with
  k = ceil(N nu).  When N nu is an integer the slope is exactly 0 between the (N nu)-th and the
  (N nu + 1)-th smallest scores and every r in that interval is a minimiser: we return the LEFT
  end, the (N nu)-th smallest score (the smallest minimiser; numpy's ``method="inverted_cdf"``).
  Then the fraction of scores strictly below r lies in [nu - 1/N, nu) (without ties).
* Deep SVDD, Proposition 4: R^2 is the (n_out + 1)-th largest squared distance with
  n_out = floor(nu N), i.e. the (1 - nu)-quantile of the distances; at most nu N points are
  strictly outside and at least nu N are on or outside the sphere.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

__all__ = [
    "ACTIVATIONS",
    "activation_fn",
    "check_nu",
    "ocnn_scores",
    "ocnn_loss",
    "ocnn_wv_loss",
    "ocnn_head_loss",
    "ocnn_r_objective",
    "ocnn_quantile_r",
    "svdd_distances",
    "svdd_one_class_loss",
    "svdd_soft_boundary_loss",
    "soft_boundary_radius",
    "soft_boundary_radius_sq",
    "svdd_threshold_sq",
    "score_threshold",
]

# Float slack so that e.g. N=10, nu=0.3 (N*nu = 3.0000000000000004) counts as the integer 3.
_SLACK = 1e-9

ACTIVATIONS = ("linear", "sigmoid", "relu")


def check_nu(nu) -> float:
    """Return ``nu`` as a float, raising ValueError unless 0 < nu <= 1 (the one nu check of the kit)."""
    msg = f"nu must be a number in (0, 1] (it bounds the fraction of training outliers), got {nu!r}."
    # Real numbers only (NumPy scalars included): not bools, strings or None, which float() would half-accept.
    if isinstance(nu, bool) or not isinstance(nu, numbers.Real):
        raise ValueError(msg)
    value = float(nu)
    if not (0.0 < value <= 1.0) or math.isnan(value):
        raise ValueError(msg)
    return value


def identity(z):
    """g(z) = z, the OC-NN's linear activation (a module-level function, so models using it can be pickled)."""
    return z


def activation_fn(name: str):
    """Return the OC-NN hidden activation g for ``"linear"``, ``"sigmoid"`` or ``"relu"`` (all picklable)."""
    if name == "linear":
        return identity
    if name == "sigmoid":
        return torch.sigmoid
    if name == "relu":
        return torch.relu
    raise ValueError(f"Unknown OC-NN activation {name!r}; choose one of {ACTIVATIONS}.")


def ocnn_scores(w, V, X, activation: str = "linear"):
    """Scores y_hat_n = <w, g(V x_n)> for rows x_n of ``X`` (torch); ``V`` is (hidden, d), ``w`` is (hidden,)."""
    return activation_fn(activation)(X @ V.T) @ w


def ocnn_wv_loss(w, V, X, r, nu, activation: str = "linear"):
    """Eq. (4): 1/2||w||^2 + 1/2||V||_F^2 + (1/nu) mean_n max(0, r - y_hat_n), with r held fixed."""
    y_hat = ocnn_scores(w, V, X, activation)
    reg = 0.5 * (w * w).sum() + 0.5 * (V * V).sum()
    return reg + torch.relu(r - y_hat).mean() / nu


def ocnn_loss(w, V, X, r, nu, activation: str = "linear"):
    """Eq. (3), the full OC-NN objective: Eq. (4) minus r (differentiable in w, V and r)."""
    return ocnn_wv_loss(w, V, X, r, nu, activation) - r


def ocnn_head_loss(y_hat, r, nu, reg):
    """Eq. (4) from precomputed scores and the regulariser 1/2||w||^2 + 1/2||V||_F^2 (used in training)."""
    return reg + torch.relu(r - y_hat).mean() / nu


def ocnn_r_objective(r, scores, nu):
    """Value of Eq. (5), f(r) = (1/nu)(1/N) sum_n max(0, r - y_n) - r.

    Parameters
    ----------
    r : float or array_like
        One or many candidate thresholds.
    scores : array_like of shape (N,)
        The scores y_n = <w, g(V x_n)>.
    nu : float in (0, 1]

    Returns
    -------
    float or numpy.ndarray
        f(r), with the shape of ``r`` (a float for a scalar ``r``).
    """
    nu = check_nu(nu)
    y = np.asarray(scores, dtype=float).ravel()
    r_arr = np.asarray(r, dtype=float)
    hinge = np.maximum(0.0, r_arr[..., None] - y).mean(axis=-1)
    value = hinge / nu - r_arr
    return float(value) if value.ndim == 0 else value


def _kth_smallest(values, k: int):
    """The k-th smallest element (1-based) of a 1-D numpy array or tensor."""
    if isinstance(values, torch.Tensor):
        if values.device.type == "mps":  # kthvalue is missing on MPS in older torch releases
            return torch.kthvalue(values.reshape(-1).cpu(), k).values.to(values.device)
        return torch.kthvalue(values.reshape(-1), k).values
    return np.partition(np.asarray(values).ravel(), k - 1)[k - 1]


def ocnn_quantile_r(scores, nu):
    """The minimiser of Eq. (5) (Theorem 3.1): the nu-quantile of the scores.

    Returns the k-th smallest score with k = ceil(N nu).  When N nu is an integer the minimisers
    form the flat interval [y_(N nu), y_(N nu + 1)]; the left end y_(N nu) is returned.

    Parameters
    ----------
    scores : numpy.ndarray or torch.Tensor of shape (N,)
    nu : float in (0, 1]

    Returns
    -------
    float (NumPy input) or 0-d tensor (torch input)
    """
    nu = check_nu(nu)
    n = int(scores.numel() if isinstance(scores, torch.Tensor) else np.size(scores))
    if n == 0:
        raise ValueError("ocnn_quantile_r needs at least one score.")
    k = min(n, max(1, math.ceil(n * nu - _SLACK)))
    out = _kth_smallest(scores, k)
    return out if isinstance(out, torch.Tensor) else float(out)


def svdd_distances(Z, c):
    """Squared distances ||phi(x_i) - c||^2 of representations ``Z`` (N, k) to the centre ``c`` (k,)."""
    return ((Z - c) ** 2).sum(dim=1)


def svdd_one_class_loss(dist):
    """Eq. (4) without the weight decay term: the mean squared distance to c (weight decay lives in the optimiser)."""
    return dist.mean()


def svdd_soft_boundary_loss(dist, R, nu):
    """Eq. (3) without weight decay: R^2 + (1/(nu n)) sum_i max(0, ||phi(x_i) - c||^2 - R^2)."""
    return R**2 + torch.relu(dist - R**2).mean() / nu


def soft_boundary_radius_sq(dist, nu):
    """R^2 of the soft-boundary Deep SVDD sphere for fixed network weights (Prop. 4), exactly one of the distances.

    Parameters
    ----------
    dist : numpy.ndarray or torch.Tensor of shape (N,)
        SQUARED distances ||phi(x_i) - c||^2 (the anomaly scores).
    nu : float in (0, 1]

    Returns
    -------
    float (NumPy input) or 0-d tensor (torch input)
        R^2 = the (floor(nu N) + 1)-th largest distance, i.e. the exact (1 - nu)-quantile (Theorem 3.1 of the
        OC-NN paper with the sign flipped); 0 when nu N >= N (nu = 1 puts every point on or outside).
        Returned as the distance itself (not sqrt then squared), so the point on the sphere compares equal to R^2.
    """
    nu = check_nu(nu)
    n = int(dist.numel() if isinstance(dist, torch.Tensor) else np.size(dist))
    if n == 0:
        raise ValueError("soft_boundary_radius needs at least one distance.")
    n_out = math.floor(n * nu + _SLACK)
    if n_out >= n:
        return torch.zeros((), dtype=dist.dtype, device=dist.device) if isinstance(dist, torch.Tensor) else 0.0
    r2 = _kth_smallest(dist, n - n_out)
    if isinstance(r2, torch.Tensor):
        return torch.clamp(r2, min=0)
    return max(float(r2), 0.0)


def soft_boundary_radius(dist, nu):
    """Radius R (not squared) of the soft-boundary sphere: the square root of :func:`soft_boundary_radius_sq`.

    ``dist`` are SQUARED distances. To compare distances with the sphere, use ``soft_boundary_radius_sq``:
    squaring R again can differ from the boundary point's distance in the last bit.
    """
    r2 = soft_boundary_radius_sq(dist, nu)
    if isinstance(r2, torch.Tensor):
        return torch.sqrt(r2)
    return float(np.sqrt(r2))



def _sorted_values(values, empty_message):
    """``values`` (tensor or array-like) as a sorted float64 vector; ValueError(empty_message) when empty."""
    v = values.detach().cpu().double().numpy() if isinstance(values, torch.Tensor) else np.asarray(values, float)
    v = np.sort(v.ravel())
    if v.size == 0:
        raise ValueError(empty_message)
    return v


def svdd_threshold_sq(dist, nu) -> float:
    """A ``predict`` threshold on squared distances with the nu-property that is no training distance itself.

    With the distances sorted, d_(1) <= ... <= d_(N), and n_out = floor(nu N) as in
    :func:`soft_boundary_radius_sq` (whose R^2 is d_(N - n_out)), returns the midpoint between d_(N - n_out) and
    the next larger distance d_(N - n_out + 1): the same training points fall inside as with R^2 itself (at most
    nu N outside), but a training point no longer sits exactly on the threshold, where rounding noise of
    another batch size (about 1e-6 relative in float32) would flip its label. Edge cases: nu N < 1 (no point
    outside) gives d_(N) plus half the gap to d_(N-1); nu N >= N (all outside) gives d_(1) / 2.
    Ties (d_(N - n_out) = d_(N - n_out + 1)) leave the threshold on the tied value.

    Parameters
    ----------
    dist : numpy.ndarray or torch.Tensor of shape (N,), squared distances
    nu : float in (0, 1]

    Returns
    -------
    float
    """
    nu = check_nu(nu)
    d = _sorted_values(dist, "svdd_threshold_sq needs at least one distance.")
    n = d.size
    n_in = n - min(n, math.floor(n * nu + _SLACK))  # points on or inside the sphere
    if n_in == 0:
        return float(max(d[0], 0.0) / 2)
    lo = d[n_in - 1]
    if n_in < n:
        return float(max((lo + d[n_in]) / 2, 0.0))
    gap = lo - d[n - 2] if n >= 2 else 0.0
    if gap <= 0:
        gap = max(abs(lo), 1e-12) * 1e-3
    return float(lo + gap / 2)


def score_threshold(scores, nu) -> float:
    """A ``predict`` threshold on scores (higher = more normal) that flags the same training points as
    :func:`ocnn_quantile_r` but is no training score itself.

    With k = ceil(N nu), ``ocnn_quantile_r`` returns y_(k), and the k - 1 scores strictly below it are flagged.
    This returns the midpoint between y_(k-1) and y_(k) (y_(1) minus half the gap to y_(2) when k = 1), so the
    same points are flagged but no training point sits exactly on the threshold, where rounding noise of another
    batch size would flip its label.
    """
    nu = check_nu(nu)
    y = _sorted_values(scores, "score_threshold needs at least one score.")
    n = y.size
    k = min(n, max(1, math.ceil(n * nu - _SLACK)))
    if k >= 2:
        return float((y[k - 2] + y[k - 1]) / 2)
    gap = y[1] - y[0] if n >= 2 else 0.0
    if gap <= 0:
        gap = max(abs(y[0]), 1e-12) * 1e-3
    return float(y[0] - gap / 2)
