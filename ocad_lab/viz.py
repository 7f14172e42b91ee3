
# ---------------------------------------------------------------------------------------------
# Notebook 02 (Theorem 3.1): the OC-NN r-objective, score histograms, trajectories, soft boundary
# ---------------------------------------------------------------------------------------------
import numpy as _np


def _minimiser_interval(objective, breakpoints, rtol=1e-9):
    """Return (lo, hi): the smallest and largest breakpoint where a piecewise-linear convex objective is minimal."""
    values = objective(breakpoints)
    best = values.min()
    tol = rtol * max(1.0, abs(best), _np.abs(values).max())
    at_min = breakpoints[values <= best + tol]
    return float(at_min.min()), float(at_min.max())


def _objective_grid(points, n_grid, pad=0.15):
    """A grid over the range of ``points`` (padded) that also contains every point, so kinks are drawn sharply."""
    lo, hi = float(points.min()), float(points.max())
    span = hi - lo if hi > lo else 1.0
    grid = _np.linspace(lo - pad * span, hi + pad * span, int(n_grid))
    return _np.unique(_np.concatenate([grid, points]))


def _rug(ax, points, color="0.35"):
    """Mark ``points`` as short ticks along the bottom of ``ax`` (x in data units, height in axes units)."""
    points = _np.asarray(points, dtype=float).ravel()
    trans = ax.get_xaxis_transform()
    ax.vlines(points, 0.0, 0.04, transform=trans, color=color, lw=1, alpha=0.7, gid="rug")


def plot_r_objective(ax, scores, nu, n_grid=400, show_flat=True, rug=True, title=None):
    """Plot OC-NN's Eq. (5), f(r), for fixed scores and mark its minimiser, the nu-quantile (Theorem 3.1).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    scores : array_like of shape (N,)
        The scores y_n = <w, g(V x_n)> (higher = more normal).
    nu : float in (0, 1]
        The OC-NN nu.
    n_grid : int, default 400
        Number of grid points for the curve (the scores themselves are always added).
    show_flat : bool, default True
        Shade the interval of minimisers when it has positive length (N nu an integer).
    rug : bool, default True
        Mark the scores as ticks along the bottom.
    title : str, optional
        Axes title; a default one states nu.

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``; the minimiser marker has gid ``"minimiser"``, the quantile line gid ``"quantile_line"``
        and the shaded flat interval (if any) gid ``"flat_interval"``.
    """
    from ocad_lab.objectives import check_nu, ocnn_quantile_r, ocnn_r_objective

    nu = check_nu(nu)
    y = _np.asarray(scores, dtype=float).ravel()
    if y.size == 0 or not _np.all(_np.isfinite(y)):
        raise ValueError("scores must be a non-empty array of finite numbers (no NaN or inf).")
    grid = _objective_grid(y, n_grid)
    ax.plot(grid, ocnn_r_objective(grid, y, nu), color="C0", lw=2, label=r"$f(r)$, Eq. (5)", gid="objective")
    r_star = ocnn_quantile_r(y, nu)
    f_star = ocnn_r_objective(r_star, y, nu)
    lo, hi = _minimiser_interval(lambda r: ocnn_r_objective(r, y, nu), _np.unique(y))
    if show_flat and hi > lo:
        ax.axvspan(lo, hi, color="C2", alpha=0.18, gid="flat_interval",
                   label=f"flat: every r in [{lo:.3g}, {hi:.3g}] is a minimiser")
    ax.axvline(r_star, color="C3", ls="--", lw=1, gid="quantile_line")
    ax.plot([r_star], [f_star], "o", color="C3", ms=8, zorder=5, gid="minimiser",
            label=f"kit's r = ocnn_quantile_r = {r_star:.3g}")
    if rug:
        _rug(ax, y)
    ax.set_xlabel("threshold r")
    ax.set_ylabel("f(r)")
    ax.set_title(title if title is not None else f"Eq. (5) with ν = {nu:.3g}: minimum at the ν-quantile")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def plot_score_histogram(ax, scores, threshold=None, labels=None, bins=30, side="below",
                         score_label="score", threshold_label="r", show_fraction=True, title=None):
    """Histogram of scores with an optional threshold line and the fraction of scores on one side of it.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    scores : array_like of shape (N,)
        Any scores (OC-NN y_hat, Deep SVDD distances, anomaly scores ...).
    threshold : float, optional
        Draws a vertical line (gid ``"threshold"``) and, with ``show_fraction``, the fraction annotation.
    labels : array_like of shape (N,), optional
        0 = normal, 1 = anomaly: the two groups are stacked in different colours.
    bins : int or sequence, default 30
        Passed to ``ax.hist``.
    side : {"below", "above"}, default "below"
        Which fraction to print: strictly below the threshold (OC-NN: y_hat < r) or strictly above it
        (Deep SVDD: distance > R^2).
    score_label, threshold_label : str
        Names used on the x axis and in the annotation, e.g. ``"distance"`` and ``"R²"``.
    show_fraction : bool, default True
        Write "fraction below r: 0.333" (gid ``"fraction"``) in the top corner.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``.
    """
    s = _np.asarray(scores, dtype=float).ravel()
    if s.size == 0 or not _np.all(_np.isfinite(s)):
        raise ValueError("scores must be a non-empty array of finite numbers (no NaN or inf).")
    if side not in ("below", "above"):
        raise ValueError(f"side must be 'below' or 'above', got {side!r}.")
    edges = _np.histogram_bin_edges(s, bins=bins)
    if labels is None:
        ax.hist(s, bins=edges, color="C0", alpha=0.8, label="all points")
    else:
        lab = _np.asarray(labels).ravel()
        if lab.shape != s.shape:
            raise ValueError(f"labels must have the same length as scores ({s.size}), got {lab.size}.")
        ax.hist([s[lab == 0], s[lab != 0]], bins=edges, stacked=True, color=["C0", "C3"], alpha=0.8,
                label=["normal", "anomaly"])
    if threshold is not None:
        t = float(threshold)
        ax.axvline(t, color="k", ls="--", lw=1.5, gid="threshold", label=f"{threshold_label} = {t:.3g}")
        if show_fraction:
            frac = float(_np.mean(s < t) if side == "below" else _np.mean(s > t))
            ax.text(0.98 if side == "below" else 0.02, 0.95, f"fraction {side} {threshold_label}: {frac:.3f}",
                    transform=ax.transAxes, ha="right" if side == "below" else "left", va="top",
                    gid="fraction", bbox=dict(boxstyle="round", fc="white", alpha=0.85))
    ax.set_xlabel(score_label)
    ax.set_ylabel("count")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.2)  # head-room for the legend and the fraction read-out
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="upper left" if side == "below" else "upper right", fontsize="small")
    return ax


def plot_trajectory(ax, values, target=None, ylabel="r", target_label="target", title=None):
    """Plot a parameter over iterations (e.g. r under subgradient descent) with an optional target line.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    values : array_like of shape (T,)
        The parameter after each iteration.
    target : float, optional
        Horizontal reference line (gid ``"target"``), e.g. the nu-quantile.
    ylabel, target_label, title : str

    Returns
    -------
    matplotlib.axes.Axes
    """
    v = _np.asarray(values, dtype=float).ravel()
    ax.plot(_np.arange(v.size), v, color="C0", lw=1.5, label=ylabel)
    if target is not None:
        ax.axhline(float(target), color="C3", ls="--", lw=1.2, gid="target", label=f"{target_label} = {target:.3g}")
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_soft_boundary_objective(ax, dist, nu, n_grid=400, rug=True, title=None):
    """Plot soft-boundary Deep SVDD's Eq. (3) in s = R^2 (network fixed) and mark R^2 from ``soft_boundary_radius``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    dist : array_like of shape (N,)
        Squared distances ||phi(x_i) - c||^2.
    nu : float in (0, 1]
    n_grid : int, default 400
    rug : bool, default True
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes
        ``ax``; the minimiser marker has gid ``"minimiser"``.
    """
    from ocad_lab.objectives import check_nu, soft_boundary_radius

    nu = check_nu(nu)
    d = _np.asarray(dist, dtype=float).ravel()
    if d.size == 0 or not _np.all(_np.isfinite(d)) or _np.any(d < 0):
        raise ValueError("dist must be a non-empty array of finite, non-negative squared distances.")

    def objective(s):  # Eq. (3) of Ruff et al. without weight decay, as a function of s = R^2
        s = _np.asarray(s, dtype=float)
        return s + _np.maximum(0.0, d - s[..., None]).mean(axis=-1) / nu

    grid = _objective_grid(d, n_grid)
    grid = grid[grid >= 0]
    ax.plot(grid, objective(grid), color="C0", lw=2, label=r"$J(R^2)$, Eq. (3), network fixed", gid="objective")
    s_star = soft_boundary_radius(d, nu) ** 2
    ax.axvline(s_star, color="C3", ls="--", lw=1, gid="quantile_line")
    ax.plot([s_star], [objective(s_star)], "o", color="C3", ms=8, zorder=5, gid="minimiser",
            label=f"R² from soft_boundary_radius = {s_star:.3g}")
    if rug:
        _rug(ax, d)
    ax.set_xlabel("R² (squared radius)")
    ax.set_ylabel("J")
    ax.set_title(title if title is not None else f"soft boundary, ν = {nu:.3g}: min at the (1−ν)-quantile")
    ax.legend(loc="upper left", fontsize="small")
    return ax


# ---------------------------------------------------------------------------------------------
# Notebook 01 (OC-SVM and SVDD): decision boundaries in 2-D and the nu-property
# ---------------------------------------------------------------------------------------------
def _grid_2d(X, grid_size=200, pad=0.25):
    """A (grid_size x grid_size) mesh over the bounding box of 2-D ``X``, widened by ``pad`` of its size."""
    X = _np.asarray(X, dtype=float)
    lo, hi = X.min(axis=0), X.max(axis=0)
    span = _np.where(hi > lo, hi - lo, 1.0)
    xs = _np.linspace(lo[0] - pad * span[0], hi[0] + pad * span[0], int(grid_size))
    ys = _np.linspace(lo[1] - pad * span[1], hi[1] + pad * span[1], int(grid_size))
    xx, yy = _np.meshgrid(xs, ys)
    return xx, yy, _np.c_[xx.ravel(), yy.ravel()]


def plot_decision_boundary(ax, model, X, y=None, grid_size=200, pad=0.25, title=None, show_support=True,
                           legend=True):
    """Draw a fitted 2-D detector: its normal region (decision >= 0), the boundary and the training points.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    model : fitted detector with ``decision_function`` (sklearn sign convention: negative = anomalous)
    X : array of shape (N, 2), the training points
    y : array of shape (N,), optional; 1 marks a true anomaly (drawn as a red cross)
    grid_size, pad : resolution and margin of the background grid
    title : str, optional
    show_support : bool, default True; circle the support vectors when the model has ``support_``
    legend : bool, default True

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    X = _np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary draws 2-D data only; got X of shape {X.shape}.")
    xx, yy, grid = _grid_2d(X, grid_size, pad)
    d = model.decision_function(grid).reshape(xx.shape)
    ax.contourf(xx, yy, d, levels=[0, max(d.max(), 1e-12)], colors=["#cfe3f5"], gid="normal-region")
    if d.min() < 0 < d.max():
        ax.contour(xx, yy, d, levels=[0], colors=["#08306b"], linewidths=2, gid="boundary")
    handles = [Patch(color="#cfe3f5", label="normal region (decision ≥ 0)"),
               Line2D([], [], color="#08306b", lw=2, label="boundary (decision = 0)")]
    anomalous = _np.zeros(len(X), bool) if y is None else _np.asarray(y).ravel() == 1
    handles.append(ax.scatter(*X[~anomalous].T, s=10, c="0.3",
                              label="training point" if y is None else "normal point"))
    if anomalous.any():
        handles.append(ax.scatter(*X[anomalous].T, s=30, c="#d62728", marker="x", label="true anomaly"))
    support = getattr(model, "support_", None)
    if show_support and support is not None and len(support):
        handles.append(ax.scatter(*X[support].T, s=60, facecolors="none", edgecolors="#ff7f0e", linewidths=1.2,
                                  label="support vector"))
    if legend:
        ax.legend(handles=handles, loc="best", fontsize="x-small", framealpha=0.9)
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title is not None:
        ax.set_title(title)
    return ax


def draw_ocsvm_boundary(ax, X, nu=0.1, gamma="scale", kernel="rbf", y=None, title=None, legend=True):
    """Fit an OC-SVM on 2-D ``X``, draw its boundary on ``ax`` and return the nu-property fractions.

    Parameters
    ----------
    ax : matplotlib.axes.Axes (cleared first)
    X : array of shape (N, 2)
    nu : float in (0, 1]
    gamma : "scale" or float
    kernel : str, default "rbf"
    y : optional labels (1 = anomaly), only for colouring
    title : str, optional (default: the parameters and both fractions)
    legend : bool

    Returns
    -------
    dict with ``nu``, ``outliers`` (fraction of training points outside), ``support_vectors`` (fraction of
    support vectors), ``gamma`` (the numeric value used) and ``model`` (the fitted ``ocad_lab.baselines.OCSVM``).
    """
    from ocad_lab.baselines import OCSVM, nu_property_fractions

    model = OCSVM(kernel=kernel, nu=nu, gamma=gamma).fit(X)
    fractions = nu_property_fractions(model, X)
    fractions["gamma"] = float(model.svm_._gamma)
    fractions["model"] = model
    ax.clear()
    if title is None:
        title = (f"OC-SVM  ν = {nu:.2f}, γ = {fractions['gamma']:.3g}\n"
                 f"outliers {fractions['outliers']:.3f} ≤ ν ≤ SVs {fractions['support_vectors']:.3f}")
    plot_decision_boundary(ax, model, X, y=y, title=title, legend=legend)
    return fractions


def plot_nu_property(ax, nus, outliers, support_vectors, title=None):
    """Plot the fractions of outliers and of support vectors against nu, with the diagonal y = nu.

    The nu-property says the outlier curve stays on or below the diagonal and the support-vector curve on or
    above it.

    Returns
    -------
    matplotlib.axes.Axes
    """
    nus = _np.asarray(nus, dtype=float)
    ax.plot([0, 1], [0, 1], color="0.5", ls="--", lw=1, label="y = ν")
    ax.plot(nus, support_vectors, "o-", color="#ff7f0e", ms=4, label="fraction of support vectors (≥ ν)")
    ax.plot(nus, outliers, "s-", color="#1f77b4", ms=4, label="fraction of training outliers (≤ ν)")
    ax.fill_between(nus, outliers, support_vectors, color="0.85", alpha=0.6)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("ν")
    ax.set_ylabel("fraction of training points")
    ax.set_title(title if title is not None else "the ν-property: outliers ≤ ν ≤ support vectors")
    ax.legend(loc="upper left", fontsize="small")
    return ax
