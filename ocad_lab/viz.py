"""Plots shared by the notebooks, one section per notebook.

Each function draws on a matplotlib ``Axes`` it is given (and returns it), so a notebook cell stays short and a
widget can redraw the same picture. Key artists carry a ``gid`` so tests can find them.
"""

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
                         score_label="score", threshold_label="r", show_fraction=True, title=None, logy=False):
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
        Names used on the x axis and in the annotation, e.g. ``"distance"`` and ``"R²"``. The legend entry of the
        threshold line reads ``"R² = 0.123"``; a ``threshold_label`` that already contains ``"="`` (``"S = 0"``) is
        used unchanged.
    show_fraction : bool, default True
        Write "fraction below r: 0.333" (gid ``"fraction"``) in the top corner.
    title : str, optional
    logy : bool, default False
        Logarithmic count axis, so that bins holding one or two points (a few far outliers) stay visible.

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
        # a label that already states its value ("S = 0") is used as it is; otherwise the value is appended
        line_label = threshold_label if "=" in threshold_label else f"{threshold_label} = {t:.3g}"
        ax.axvline(t, color="k", ls="--", lw=1.5, gid="threshold", label=line_label)
        if show_fraction:
            frac = float(_np.mean(s < t) if side == "below" else _np.mean(s > t))
            ax.text(0.98 if side == "below" else 0.02, 0.95, f"fraction {side} {threshold_label}: {frac:.3f}",
                    transform=ax.transAxes, ha="right" if side == "below" else "left", va="top",
                    gid="fraction", bbox=dict(boxstyle="round", fc="white", alpha=0.85))
    ax.set_xlabel(score_label)
    ax.set_ylabel("count")
    if logy:  # a bin with one point is a bar of height 1: start the axis below it, head-room above
        ax.set_yscale("log")
        ax.set_ylim(0.5, max(ax.get_ylim()[1], 2.0) * 6)
    else:
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
    """Plot soft-boundary Deep SVDD's Eq. (3) in s = R^2 (network fixed) and mark R^2 from ``soft_boundary_radius_sq``.

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
    from ocad_lab.objectives import check_nu, soft_boundary_radius_sq

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
    s_star = float(soft_boundary_radius_sq(d, nu))
    ax.axvline(s_star, color="C3", ls="--", lw=1, gid="quantile_line")
    ax.plot([s_star], [objective(s_star)], "o", color="C3", ms=8, zorder=5, gid="minimiser",
            label=f"R² from soft_boundary_radius_sq = {s_star:.3g}")
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
    legend : bool or "figure", default True
        True: a legend inside ``ax``; "figure": one legend below the figure (for a row of panels drawn with
        ``layout="constrained"``; pass it for one panel only).

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
    if legend == "figure":  # one legend under the whole figure (for rows of panels; needs layout="constrained")
        ax.figure.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize="small")
    elif legend:
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
    legend : bool or "figure" (see :func:`plot_decision_boundary`)

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


# ---------------------------------------------------------------------------------------------
# Notebooks 03 and 05 (Deep SVDD): training curves, image grids, 2-D embeddings
# ---------------------------------------------------------------------------------------------
def history_column(history, key):
    """One column of a per-epoch ``history_`` (list of dicts or DataFrame) as a float array (None -> NaN)."""
    rows = history.to_dict("records") if hasattr(history, "to_dict") else list(history)
    if rows and key not in rows[0]:
        raise ValueError(f"history has no column {key!r}; it has {sorted(rows[0])}.")
    return _np.array([_np.nan if r[key] is None else float(r[key]) for r in rows], dtype=float)


def plot_history(ax, histories, key="mean_score", logy=True, ylabel=None, title=None, styles=None):
    """Plot one per-epoch quantity (e.g. mean distance or output spread) for several fitted models.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    histories : dict of {name: history}
        ``history`` is an estimator's ``history_`` (list of dicts with keys ``epoch`` and ``key``) or a
        DataFrame of it.  Each becomes one line labelled ``name`` (and with gid ``name``).
    key : str, default "mean_score"
        The column to draw (``mean_score`` is the mean squared distance for Deep SVDD; ``spread`` the std of
        the outputs across samples; ``loss``; ``r``).
    logy : bool, default True
        Logarithmic y axis (collapse shows as a straight fall over orders of magnitude).
    ylabel, title : str, optional
    styles : dict of {name: dict}, optional
        Extra keyword arguments for ``ax.plot`` per line (e.g. ``{"proper": {"lw": 3, "color": "k"}}``).

    Returns
    -------
    matplotlib.axes.Axes
    """
    if not histories:
        raise ValueError("histories is empty: pass a dict {name: estimator.history_}.")
    styles = styles or {}
    for name, hist in histories.items():
        epochs = history_column(hist, "epoch")
        values = history_column(hist, key)
        ax.plot(epochs, values, label=str(name), gid=str(name), **styles.get(name, {}))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel if ylabel is not None else key)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return ax


def image_mosaic(images, ncols=10, pad=1, normalize=True):
    """Tile images (N, H, W) or (N, C, H, W) into one 2-D (grey) or 3-D (RGB) array separated by ``pad`` pixels.

    With ``normalize`` each image is min-max scaled to [0, 1] on its own, so preprocessed (GCN) images with any
    value range display alike.  Empty cells and the padding are left at NaN (drawn as background).
    """
    imgs = _np.asarray(images, dtype=float)
    if imgs.ndim == 4:
        imgs = imgs[:, 0] if imgs.shape[1] == 1 else _np.moveaxis(imgs, 1, -1)
    if imgs.ndim not in (3, 4) or len(imgs) == 0:
        raise ValueError(f"images must be a non-empty batch (N, H, W) or (N, C, H, W); got shape {_np.shape(images)}.")
    if normalize:
        flat = imgs.reshape(len(imgs), -1)
        lo, hi = flat.min(axis=1), flat.max(axis=1)
        scale = _np.where(hi > lo, hi - lo, 1.0)
        imgs = (imgs - lo.reshape((-1,) + (1,) * (imgs.ndim - 1))) / scale.reshape((-1,) + (1,) * (imgs.ndim - 1))
    n, h, w = imgs.shape[:3]
    ncols = max(1, min(int(ncols), n))
    nrows = -(-n // ncols)
    shape = (nrows * (h + pad) - pad, ncols * (w + pad) - pad) + imgs.shape[3:]
    mosaic = _np.full(shape, _np.nan)
    for i, img in enumerate(imgs):
        r, c = divmod(i, ncols)
        mosaic[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = img
    return mosaic


def plot_image_grid(ax, images, ncols=10, title=None, cmap="gray", normalize=True, captions=None):
    """Show a batch of images as one grid on ``ax`` (e.g. the most normal / most anomalous test images).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    images : array of shape (N, H, W) or (N, C, H, W)
    ncols : int, default 10
    title : str, optional
    cmap : str, default "gray" (ignored for RGB images)
    normalize : bool, default True
        Min-max scale each image on its own (see :func:`image_mosaic`).
    captions : sequence of str, optional
        One short text per image (e.g. its score), written under the image.

    Returns
    -------
    matplotlib.axes.Axes
    """
    imgs = _np.asarray(images)
    mosaic = image_mosaic(imgs, ncols=ncols, normalize=normalize)
    ax.imshow(_np.ma.masked_invalid(mosaic), cmap=cmap, vmin=0 if normalize else None,
              vmax=1 if normalize else None, interpolation="nearest", gid="image_grid")
    ax.set_facecolor("white")
    ax.set_xticks([])
    ax.set_yticks([])
    if captions is not None:
        h, w = imgs.shape[-2:]
        ncols = max(1, min(int(ncols), len(imgs)))
        for i, text in enumerate(captions):
            r, c = divmod(i, ncols)
            ax.text(c * (w + 1) + w / 2, r * (h + 1) + h - 0.5, str(text), ha="center", va="bottom",
                    fontsize="x-small", color="yellow")
    if title is not None:
        ax.set_title(title)
    return ax


def embed_2d(Z, method="umap", random_state=0):
    """Reduce representations ``Z`` (N, k) to 2-D for plotting: UMAP (umap-learn) or t-SNE (scikit-learn).

    Parameters
    ----------
    Z : array of shape (N, k)
    method : {"umap", "tsne", "pca"}, default "umap"
        "umap" falls back to t-SNE (with a printed note) when umap-learn is not installed.
    random_state : int, default 0

    Returns
    -------
    numpy.ndarray of shape (N, 2)
    """
    Z = _np.asarray(Z, dtype=float).reshape(len(Z), -1)
    if not _np.all(_np.isfinite(Z)):
        raise ValueError("Z contains NaN or infinite values.")
    if method not in ("umap", "tsne", "pca"):
        raise ValueError(f"method must be 'umap', 'tsne' or 'pca', got {method!r}.")
    if Z.shape[1] <= 2:
        return _np.pad(Z, ((0, 0), (0, 2 - Z.shape[1])))
    if method == "umap":
        try:
            import umap
        except ImportError:
            print("umap-learn is not installed; using t-SNE instead (pip install umap-learn).")
            method = "tsne"
        else:
            return umap.UMAP(n_components=2, random_state=random_state, n_jobs=1).fit_transform(Z)
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, init="pca", perplexity=min(30.0, (len(Z) - 1) / 3),
                    random_state=random_state).fit_transform(Z)
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=random_state).fit_transform(Z)


def plot_embedding(ax, Z2, y, title=None, names=("normal", "anomaly"), s=8):
    """Scatter a 2-D embedding coloured by label (0 = normal in blue, 1 = anomaly in red, drawn on top).

    Returns
    -------
    matplotlib.axes.Axes
    """
    Z2 = _np.asarray(Z2, dtype=float)
    y = _np.asarray(y).ravel()
    if Z2.ndim != 2 or Z2.shape[1] != 2 or len(Z2) != len(y):
        raise ValueError(f"Z2 must have shape (N, 2) matching y (N={len(y)}); got {Z2.shape}.")
    ax.scatter(*Z2[y == 0].T, s=s, c="C0", alpha=0.6, label=f"{names[0]} ({int((y == 0).sum())})", gid="normal")
    ax.scatter(*Z2[y != 0].T, s=s, c="C3", alpha=0.6, marker="x", label=f"{names[1]} ({int((y != 0).sum())})",
               gid="anomaly")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small", markerscale=2)
    return ax


# ---------------------------------------------------------------------------------------------
# Notebook 04 (OC-NN): scores against a covariate (e.g. the norm ||x||) with the threshold
# ---------------------------------------------------------------------------------------------
def plot_score_scatter(ax, x, scores, groups, threshold=None, xlabel="‖x‖", ylabel="score ŷ",
                       threshold_label="r", title=None, s=14):
    """Scatter scores against one covariate per group (e.g. OC-NN's ŷ against ‖x‖), with a threshold line.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    x : array_like of shape (N,)
        The covariate on the horizontal axis (e.g. the Euclidean norm of each point).
    scores : array_like of shape (N,)
        The score on the vertical axis (e.g. ``score_samples``: higher = more normal).
    groups : array_like of shape (N,)
        A group name per point (e.g. "training normal", "fresh normal", "anomaly"); one colour and one
        legend entry per group, in order of first appearance.  A group whose name contains "anomal" is
        drawn with red crosses.
    threshold : float, optional
        Horizontal line (gid ``"threshold"``) at this score, e.g. r: points below it are flagged.
    xlabel, ylabel, threshold_label, title : str
    s : float, default 14
        Marker size.

    Returns
    -------
    matplotlib.axes.Axes
    """
    x = _np.asarray(x, dtype=float).ravel()
    sc = _np.asarray(scores, dtype=float).ravel()
    g = _np.asarray(groups).ravel()
    if not (x.shape == sc.shape == g.shape):
        raise ValueError(f"x, scores and groups must have the same length; got {x.size}, {sc.size}, {g.size}.")
    if x.size == 0 or not (_np.all(_np.isfinite(x)) and _np.all(_np.isfinite(sc))):
        raise ValueError("x and scores must be non-empty arrays of finite numbers (no NaN or inf).")
    names = list(dict.fromkeys(g.tolist()))
    colours = iter(["C0", "C2", "C1", "C4", "C5", "C6"] * 4)
    for name in names:
        m = g == name
        if "anomal" in str(name):
            ax.scatter(x[m], sc[m], s=2.5 * s, c="C3", marker="x", label=f"{name} ({int(m.sum())})", gid=str(name))
        else:
            ax.scatter(x[m], sc[m], s=s, color=next(colours), alpha=0.6, label=f"{name} ({int(m.sum())})",
                       gid=str(name))
    if threshold is not None:
        ax.axhline(float(threshold), color="k", ls="--", lw=1.2, gid="threshold",
                   label=f"{threshold_label} = {float(threshold):.3g} (below: flagged)")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return ax


# ---------------------------------------------------------------------------------------------
# Notebook 06 (benchmark): grouped bars of a metric per normal class and method, paper as markers
# ---------------------------------------------------------------------------------------------
def plot_benchmark_bars(ax, table, metric="auroc", paper=True, labels=None, title=None, chance=None):
    """Grouped bar chart: one group per normal class, one bar per method, error bars = std over seeds.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    table : pandas.DataFrame
        From :func:`ocad_lab.experiments.compare_with_paper` (one data set): columns ``normal_class``,
        ``method``, ``<metric>_mean``, ``<metric>_std`` (in %) and, for the AUROC, ``paper_auroc_mean``.
    metric : str, default "auroc"
    paper : bool, default True
        Draw the paper's AUROC as a black dot on each bar where it has one.
    labels : dict, optional
        Display names of the methods (default: the method keys).
    title : str, optional
    chance : float or dict, optional
        The metric's chance level in % (for the AUPRC: the anomaly share of the test set), one number or
        ``{normal_class: value}``; drawn as a dashed black segment across each class's bars (gid ``"chance"``) and
        kept inside the y range. Default: 50 for the AUROC, nothing for other metrics.

    Returns
    -------
    matplotlib.axes.Axes
    """
    need = {"normal_class", "method", f"{metric}_mean", f"{metric}_std"}
    missing = need - set(table.columns)
    if missing:
        raise ValueError(f"table lacks columns {sorted(missing)}; pass the output of compare_with_paper(rows).")
    if len(table) == 0:
        raise ValueError("table is empty: run some experiments first.")
    classes = sorted(table["normal_class"].unique())
    methods = list(dict.fromkeys(table["method"]))
    width = 0.8 / len(methods)
    x0 = _np.arange(len(classes))
    show_paper = paper and metric == "auroc" and "paper_auroc_mean" in table.columns
    for j, m in enumerate(methods):
        part = table[table["method"] == m].set_index("normal_class").reindex(classes)
        xs = x0 - 0.4 + (j + 0.5) * width
        ax.bar(xs, part[f"{metric}_mean"], width, yerr=part[f"{metric}_std"], capsize=2,
               label=(labels or {}).get(m, m), color=f"C{j}", gid=f"bars-{m}")
        if show_paper:
            ax.plot(xs, part["paper_auroc_mean"], "k.", ms=5, gid=f"paper-{m}")
    if show_paper and table["paper_auroc_mean"].notna().any():
        ax.plot([], [], "k.", label="paper (Table 1)")
    if chance is None and metric == "auroc":
        chance = 50.0
    levels = []
    if chance is not None:
        levels = [float(chance[c] if isinstance(chance, dict) else chance) for c in classes]
        for k, (x, level) in enumerate(zip(x0, levels)):
            ax.plot([x - 0.45, x + 0.45], [level, level], color="k", ls="--", lw=1.2, gid="chance",
                    label="chance" if k == 0 else "_nolegend_")
    ax.set_xticks(x0)
    ax.set_xticklabels([str(c) for c in classes])
    ax.set_xlabel("normal class")
    ax.set_ylabel(f"{metric.upper()} (%)")
    lo = float(_np.nanmin(table[f"{metric}_mean"] - table[f"{metric}_std"]))
    if levels:
        lo = min(lo, min(levels))
    ax.set_ylim(max(0.0, min(lo - 5, 50.0)), 101)
    if title is not None:
        ax.set_title(title)
    ax.legend(fontsize="small", ncol=2, loc="lower right")
    return ax
