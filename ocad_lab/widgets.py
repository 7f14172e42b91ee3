"""The interactive explorers of the notebooks (ipywidgets), one section per notebook.

Each explorer is a widget box whose controls are attributes (``explorer.nu_slider``...) and whose update logic is
a plain function drawing on matplotlib ``Axes``; unit tests drive it by setting a control's ``.value``. Figures are
rendered to PNG inside an ``ipywidgets.Output``, so they redraw in JupyterLab, Colab and VS Code alike.
"""

# ---------------------------------------------------------------------------------------------
# Notebook 02 (Theorem 3.1): the nu-quantile explorer
# ---------------------------------------------------------------------------------------------
import base64 as _base64
import io as _io

import ipywidgets as _widgets
import numpy as _np


def _figure_png(fig, dpi=90):
    """Render a matplotlib Figure to PNG bytes (works with any backend, no pyplot needed)."""
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def _show_png_in(output, png):
    """Replace the contents of an ipywidgets Output with one PNG image (updates live in JupyterLab)."""
    output.outputs = (
        {
            "output_type": "display_data",
            "data": {"image/png": _base64.b64encode(png).decode("ascii"), "text/plain": "<Figure>"},
            "metadata": {},
        },
    )


def _snap_to_step(slider, value):
    """Round a slider value to the slider's grid ``min + k * step`` (to 10 decimals) when it is float noise away.

    In the browser a FloatSlider(value=0.1, min=0.01, step=0.01) reports 0.09999999999999999 when first drawn
    (float rounding in the JavaScript slider): snapping makes that the same ν again, so no redraw is triggered.
    A value set on purpose between grid points (``explorer.nu_slider.value = 1 / 3``) is kept as it is.
    """
    value, step = float(value), float(slider.step or 0.0)
    if step <= 0:
        return value
    snapped = round(float(slider.min) + round((value - float(slider.min)) / step) * step, 10)
    return snapped if abs(snapped - value) <= 1e-9 * max(1.0, abs(value)) else value


def quantile_fraction_text(scores, r, nu):
    """The explorer's read-out: 'fraction below r: 0.222 (...)' for scores, threshold r and nu."""
    s = _np.asarray(scores, dtype=float).ravel()
    below, at_or_below = float(_np.mean(s < r)), float(_np.mean(s <= r))
    return (f"fraction below r: {below:.3f}   |   ν = {nu:.2f}, r = {r:.4g}, "
            f"fraction at or below r: {at_or_below:.3f}")


def draw_quantile_panels(ax_objective, ax_hist, scores, nu, labels=None):
    """Draw f(r) of Eq. (5) with its minimiser and the score histogram with the threshold r; return r.

    Parameters
    ----------
    ax_objective, ax_hist : matplotlib.axes.Axes
        Cleared, then drawn on.
    scores : array_like of shape (N,)
        OC-NN scores y_hat (higher = more normal).
    nu : float in (0, 1]
    labels : array_like of shape (N,), optional
        0 = normal, 1 = anomaly, to colour the histogram.

    Returns
    -------
    float
        r = ``ocnn_quantile_r(scores, nu)``, the threshold drawn in both panels.
    """
    from ocad_lab.objectives import ocnn_quantile_r
    from ocad_lab.viz import plot_r_objective, plot_score_histogram

    ax_objective.clear()
    ax_hist.clear()
    plot_r_objective(ax_objective, scores, nu)
    r = ocnn_quantile_r(_np.asarray(scores, dtype=float).ravel(), nu)
    plot_score_histogram(ax_hist, scores, threshold=r, labels=labels, side="below", score_label="score ŷ",
                         threshold_label="r", title=f"scores and the threshold r (ν = {nu:.2f})")
    return r


class QuantileExplorer(_widgets.VBox):
    """A nu slider driving f(r) of Eq. (5), its minimiser and a score histogram with the threshold r.

    Attributes
    ----------
    nu_slider : ipywidgets.FloatSlider
    fraction_label : ipywidgets.Label
        Reads "fraction below r: 0.333   |   ...".
    output : ipywidgets.Output
        Holds the rendered figure as a PNG.
    fig : matplotlib.figure.Figure
    ax_objective, ax_hist : matplotlib.axes.Axes
    r : float
        The current threshold (the nu-quantile of the scores).
    """

    def __init__(self, scores, nu=0.1, labels=None, nu_min=0.01, nu_max=0.99, step=0.01):
        from matplotlib.figure import Figure

        from ocad_lab.objectives import check_nu

        s = _np.asarray(scores, dtype=float).ravel()
        if s.size == 0 or not _np.all(_np.isfinite(s)):
            raise ValueError("scores must be a non-empty array of finite numbers (no NaN or inf).")
        nu = check_nu(nu)
        self.scores = s
        self.labels = None if labels is None else _np.asarray(labels).ravel()
        self.nu_slider = _widgets.FloatSlider(value=nu, min=nu_min, max=nu_max, step=step, description="ν",
                                              readout_format=".2f", continuous_update=False)
        self.fraction_label = _widgets.Label()
        self.output = _widgets.Output()
        # A pyplot-free Figure: nothing is shown twice by the inline backend; we render it ourselves.
        self.fig = Figure(figsize=(11, 3.8), layout="constrained")
        self.ax_objective, self.ax_hist = self.fig.subplots(1, 2)
        self.r = None
        self.nu = None
        super().__init__([self.nu_slider, self.fraction_label, self.output])
        self.nu_slider.observe(self._on_nu, names="value")
        self.update(nu)

    def update(self, nu):
        """Redraw both panels for ``nu`` and refresh the printed fraction."""
        self.nu = nu
        self.r = draw_quantile_panels(self.ax_objective, self.ax_hist, self.scores, nu, labels=self.labels)
        self.fraction_label.value = quantile_fraction_text(self.scores, self.r, nu)
        _show_png_in(self.output, _figure_png(self.fig))

    def _on_nu(self, change):
        """Slider callback: ν is snapped to the slider's step; an unchanged ν is not redrawn."""
        nu = _snap_to_step(self.nu_slider, change["new"])
        if nu != self.nu:
            self.update(nu)


def quantile_explorer(scores, nu=0.1, labels=None, nu_min=0.01, nu_max=0.99, step=0.01):
    """Build the Theorem 3.1 explorer: move ν, watch f(r), its minimiser r and the fraction of scores below r.

    Parameters
    ----------
    scores : array_like of shape (N,)
        OC-NN scores y_hat (higher = more normal).
    nu : float in (0, 1], default 0.1
        Initial slider value.
    labels : array_like of shape (N,), optional
        0 = normal, 1 = anomaly (colours the histogram).
    nu_min, nu_max, step : float
        Slider range.

    Returns
    -------
    QuantileExplorer
        An ipywidgets VBox; display it as the last line of a cell.
    """
    return QuantileExplorer(scores, nu=nu, labels=labels, nu_min=nu_min, nu_max=nu_max, step=step)


# ---------------------------------------------------------------------------------------------
# Notebook 01 (OC-SVM and SVDD): the nu / gamma boundary explorer
# ---------------------------------------------------------------------------------------------
def ocsvm_fraction_text(fractions):
    """The explorer's read-out, e.g. 'outliers 0.087 ≤ ν = 0.10 ≤ support vectors 0.113 (γ = 1.2)'."""
    ok = fractions["outliers"] <= fractions["nu"] <= fractions["support_vectors"]
    return (f"fraction of training outliers {fractions['outliers']:.3f}  ≤  ν = {fractions['nu']:.2f}  ≤  "
            f"fraction of support vectors {fractions['support_vectors']:.3f}   (γ = {fractions['gamma']:.3g}; "
            f"ν-property {'holds' if ok else 'VIOLATED'})")


class OCSVMExplorer(_widgets.VBox):
    """ν and γ sliders that refit an RBF OC-SVM on 2-D data, redraw its boundary and print both fractions.

    Attributes
    ----------
    nu_slider : ipywidgets.FloatSlider
    gamma_slider : ipywidgets.FloatLogSlider
    fraction_label : ipywidgets.Label
    output : ipywidgets.Output (the figure as a PNG)
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes
    fractions : dict, the last result of ``ocad_lab.viz.draw_ocsvm_boundary``
    """

    def __init__(self, X, nu=0.1, gamma="scale", y=None, kernel="rbf"):
        from matplotlib.figure import Figure

        from ocad_lab.baselines import _as_2d
        from ocad_lab.objectives import check_nu

        X = _as_2d(X)
        if X.shape[1] != 2:
            raise ValueError(f"ocsvm_explorer draws 2-D data only; got {X.shape[1]} features.")
        nu = check_nu(nu)
        if gamma == "scale":
            gamma = 1.0 / (X.shape[1] * X.var())
        self.X, self.y, self.kernel = X, y, kernel
        self.nu_slider = _widgets.FloatSlider(value=nu, min=0.01, max=1.0, step=0.01, description="ν",
                                              readout_format=".2f", continuous_update=False)
        self.gamma_slider = _widgets.FloatLogSlider(value=float(gamma), base=10, min=-2, max=2.5, step=0.05,
                                                    description="γ", readout_format=".3g",
                                                    continuous_update=False)
        self.fraction_label = _widgets.Label()
        self.output = _widgets.Output()
        self.fig = Figure(figsize=(6.5, 5), layout="constrained")
        self.ax = self.fig.subplots()
        self.fractions = None
        super().__init__([_widgets.HBox([self.nu_slider, self.gamma_slider]), self.fraction_label, self.output])
        self.nu_slider.observe(self._on_change, names="value")
        self.gamma_slider.observe(self._on_change, names="value")
        self.update()

    def update(self, nu=None, gamma=None):
        """Refit for ``nu`` and ``gamma`` (default: the sliders' values), redraw and refresh the read-out."""
        from ocad_lab.viz import draw_ocsvm_boundary

        nu = _snap_to_step(self.nu_slider, self.nu_slider.value) if nu is None else nu
        gamma = self.gamma_slider.value if gamma is None else gamma
        self.fractions = draw_ocsvm_boundary(self.ax, self.X, nu=nu, gamma=gamma, kernel=self.kernel, y=self.y)
        self.fraction_label.value = ocsvm_fraction_text(self.fractions)
        _show_png_in(self.output, _figure_png(self.fig))
        return self.fractions

    def _on_change(self, change):
        """Slider callback: ν is snapped to the slider's step; nothing is refitted when ν and γ are unchanged."""
        nu = _snap_to_step(self.nu_slider, self.nu_slider.value)
        gamma = float(self.gamma_slider.value)
        if (self.fractions is not None and nu == self.fractions["nu"]
                and _np.isclose(gamma, self.fractions["gamma"], rtol=1e-9, atol=0)):
            return  # e.g. the browser echoing 0.09999999999999999 for 0.1
        self.update(nu, gamma)


def ocsvm_explorer(X, nu=0.1, gamma="scale", y=None, kernel="rbf"):
    """Build the OC-SVM explorer: move ν and γ, watch the boundary and the two fractions of the ν-property.

    Parameters
    ----------
    X : array of shape (N, 2), training data
    nu : float in (0, 1], initial ν
    gamma : "scale" or float, initial γ
    y : optional labels (1 = anomaly), for colouring only
    kernel : str, default "rbf"

    Returns
    -------
    OCSVMExplorer
        An ipywidgets VBox; display it as the last line of a cell. ``explorer.update(nu, gamma)`` redraws.
    """
    return OCSVMExplorer(X, nu=nu, gamma=gamma, y=y, kernel=kernel)


# ---------------------------------------------------------------------------------------------
# Notebook 04 (OC-NN): the nu-threshold explorer and the hidden-layer embedding explorer
# ---------------------------------------------------------------------------------------------
def nu_threshold_summary(train_scores, nu, eval_scores=None, y=None):
    """Threshold r at the nu-quantile of the training scores, and what it flags among the evaluation scores.

    With the weights (w, V) held fixed, refitting r for a new nu minimises Eq. (5) again, and by Theorem 3.1
    that minimiser is the nu-quantile of the training scores: moving the threshold IS refitting r.

    Parameters
    ----------
    train_scores : array_like of shape (N,)
        ``score_samples`` on the data the model was fitted on (higher = more normal).
    nu : float in (0, 1]
    eval_scores : array_like of shape (M,), optional
        Scores of the points to flag (default: ``train_scores``, the transductive case).
    y : array_like of shape (M,), optional
        Labels of the evaluation points (1 = anomaly) for precision and recall.

    Returns
    -------
    dict
        ``nu``, ``r``, ``n_flagged``, ``fraction_flagged`` (share of evaluation scores strictly below r, i.e.
        ``decision_function < 0``), ``precision`` and ``recall`` of the flagged set (NaN without ``y``;
        precision NaN when nothing is flagged).
    """
    from ocad_lab.objectives import check_nu, ocnn_quantile_r

    nu = check_nu(nu)
    s_train = _np.asarray(train_scores, dtype=float).ravel()
    s_eval = s_train if eval_scores is None else _np.asarray(eval_scores, dtype=float).ravel()
    if s_train.size == 0 or s_eval.size == 0 or not (_np.all(_np.isfinite(s_train)) and _np.all(_np.isfinite(s_eval))):
        raise ValueError("scores must be non-empty arrays of finite numbers (no NaN or inf).")
    r = float(ocnn_quantile_r(s_train, nu))  # Theorem 3.1: the minimiser of Eq. (5) for fixed w, V
    flagged = s_eval < r  # S = y_hat - r < 0: anomalous (Algorithm 1)
    out = {"nu": nu, "r": r, "n_flagged": int(flagged.sum()), "fraction_flagged": float(flagged.mean()),
           "precision": float("nan"), "recall": float("nan")}
    if y is not None:
        lab = _np.asarray(y).ravel()
        if lab.shape != s_eval.shape:
            raise ValueError(f"y must have one label per evaluation score ({s_eval.size}), got {lab.size}.")
        tp = int(_np.sum(flagged & (lab == 1)))
        if flagged.any():
            out["precision"] = tp / int(flagged.sum())
        if (lab == 1).any():
            out["recall"] = tp / int(_np.sum(lab == 1))
    return out


def nu_threshold_text(summary):
    """The explorer's read-out, e.g. 'nu = 0.10: precision 0.83, recall 0.91, fraction flagged 0.098'."""

    def fmt(v):
        return "n/a" if v != v else f"{v:.2f}"  # NaN != NaN

    return (f"nu = {summary['nu']:.2f}: precision {fmt(summary['precision'])}, recall {fmt(summary['recall'])}, "
            f"fraction flagged {summary['fraction_flagged']:.3f}")  # 3 decimals, like the plot's read-out


class NuThresholdExplorer(_widgets.VBox):
    """A ν slider moving OC-NN's threshold r over the histogram of fitted scores (no refitting).

    Attributes
    ----------
    nu_slider : ipywidgets.FloatSlider
    text_label : ipywidgets.Label
        Reads "nu = 0.10: precision 0.83, recall 0.91, fraction flagged 0.098".
    output : ipywidgets.Output
        Holds the rendered figure as a PNG (replaced on every move of the slider).
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes
    summary : dict
        The last result of :func:`nu_threshold_summary`.
    """

    def __init__(self, train_scores, y=None, eval_scores=None, nu=0.05, nu_min=0.01, nu_max=0.5, step=0.01,
                 title=None):
        from matplotlib.figure import Figure

        from ocad_lab.objectives import check_nu

        nu = check_nu(nu)
        self.train_scores = _np.asarray(train_scores, dtype=float).ravel()
        self.eval_scores = self.train_scores if eval_scores is None else _np.asarray(eval_scores, float).ravel()
        self.y = None if y is None else _np.asarray(y).ravel()
        self.title = title
        nu_summary = nu_threshold_summary(self.train_scores, nu, self.eval_scores, self.y)  # validates inputs
        self.nu_slider = _widgets.FloatSlider(value=nu, min=nu_min, max=nu_max, step=step, description="ν",
                                              readout_format=".2f", continuous_update=False)
        self.text_label = _widgets.Label()
        self.output = _widgets.Output()
        self.fig = Figure(figsize=(8, 3.6), layout="constrained")
        self.ax = self.fig.subplots()
        self.summary = nu_summary
        super().__init__([self.nu_slider, self.text_label, self.output])
        self.nu_slider.observe(self._on_nu, names="value")
        self.update(nu)

    def update(self, nu):
        """Move r to the ν-quantile of the training scores, redraw the histogram and refresh the read-out."""
        from ocad_lab.viz import plot_score_histogram

        self.summary = nu_threshold_summary(self.train_scores, nu, self.eval_scores, self.y)
        self.ax.clear()
        title = self.title or "OC-NN scores ŷ; threshold r = ν-quantile of the training scores"
        plot_score_histogram(self.ax, self.eval_scores, threshold=self.summary["r"], labels=self.y, bins=40,
                             side="below", score_label="score ŷ = ⟨w, g(Vx)⟩ (higher = more normal)",
                             threshold_label="r", title=f"{title} (ν = {self.summary['nu']:.2f})")
        self.text_label.value = nu_threshold_text(self.summary)
        _show_png_in(self.output, _figure_png(self.fig))
        return self.summary

    def _on_nu(self, change):
        """Slider callback: ν is snapped to the slider's step; an unchanged ν is not redrawn."""
        nu = _snap_to_step(self.nu_slider, change["new"])
        if self.summary is None or nu != self.summary["nu"]:
            self.update(nu)


def nu_threshold_explorer(train_scores, y=None, eval_scores=None, nu=0.05, nu_min=0.01, nu_max=0.5, step=0.01,
                          title=None):
    """Build the ν-threshold explorer: move ν, watch r, precision, recall and the fraction flagged.

    Parameters
    ----------
    train_scores : array_like of shape (N,)
        A fitted OC-NN's ``score_samples`` on its training data.
    y : array_like, optional
        Labels (1 = anomaly) of the evaluation points.
    eval_scores : array_like, optional
        Scores of the points to flag (default: the training scores, the transductive protocol).
    nu : float in (0, 1], default 0.05
    nu_min, nu_max, step : float
        Slider range.
    title : str, optional

    Returns
    -------
    NuThresholdExplorer
        An ipywidgets VBox; display it as the last line of a cell. ``explorer.update(nu)`` redraws.
    """
    return NuThresholdExplorer(train_scores, y=y, eval_scores=eval_scores, nu=nu, nu_min=nu_min, nu_max=nu_max,
                               step=step, title=title)


class HiddenEmbeddingExplorer(_widgets.VBox):
    """A dropdown switching between 2-D embeddings (t-SNE, UMAP) of hidden representations, coloured by label.

    Each embedding is computed on first use and cached in ``embeddings``; switching back never recomputes.

    Attributes
    ----------
    method_dropdown : ipywidgets.Dropdown
    status_label : ipywidgets.Label
    output : ipywidgets.Output (the figure as a PNG)
    fig : matplotlib.figure.Figure
    ax : matplotlib.axes.Axes
    embeddings : dict {method: (N, 2) array}
    n_computed : int
        How many embeddings have been computed so far (for the cache test).
    """

    METHODS = (("t-SNE", "tsne"), ("UMAP", "umap"))

    def __init__(self, Z, y, method="tsne", names=("normal", "anomaly"), random_state=0, embeddings=None,
                 title=None):
        from matplotlib.figure import Figure

        Z = _np.asarray(Z, dtype=float)
        Z = Z.reshape(len(Z), -1)
        y = _np.asarray(y).ravel()
        if len(Z) != len(y):
            raise ValueError(f"Z and y must have the same length; got {len(Z)} and {len(y)}.")
        if not _np.all(_np.isfinite(Z)):
            raise ValueError("Z contains NaN or infinite values.")
        keys = [k for _, k in self.METHODS]
        if method not in keys:
            raise ValueError(f"method must be one of {keys}, got {method!r}.")
        self.Z, self.y, self.names, self.random_state = Z, y, tuple(names), random_state
        self.title = title
        self.embeddings = dict(embeddings or {})
        self.n_computed = 0
        self.method_dropdown = _widgets.Dropdown(options=list(self.METHODS), value=method, description="method")
        self.status_label = _widgets.Label()
        self.output = _widgets.Output()
        self.fig = Figure(figsize=(6, 4.6), layout="constrained")
        self.ax = self.fig.subplots()
        super().__init__([self.method_dropdown, self.status_label, self.output])
        self.method_dropdown.observe(self._on_method, names="value")
        self.update(method)

    def embedding(self, method):
        """The cached 2-D embedding for ``method``, computed (once) with :func:`ocad_lab.viz.embed_2d`."""
        from ocad_lab.viz import embed_2d

        if method not in self.embeddings:
            self.embeddings[method] = embed_2d(self.Z, method=method, random_state=self.random_state)
            self.n_computed += 1
        return self.embeddings[method]

    def update(self, method):
        """Show the embedding for ``method`` (computing it on first use)."""
        from ocad_lab.viz import plot_embedding

        label = dict((k, n) for n, k in self.METHODS)[method]
        fresh = method not in self.embeddings
        E = self.embedding(method)
        self.ax.clear()
        head = self.title or "hidden layer g(Vx)"
        plot_embedding(self.ax, E, self.y, names=self.names,
                       title=f"{label} of {head} ({self.Z.shape[1]}-d, {len(self.Z)} points)")
        self.status_label.value = f"{label}: {'computed now and cached' if fresh else 'from the cache'}"
        _show_png_in(self.output, _figure_png(self.fig))
        return E

    def _on_method(self, change):
        """Dropdown callback."""
        self.update(change["new"])


def hidden_embedding_explorer(Z, y, method="tsne", names=("normal", "anomaly"), random_state=0, embeddings=None,
                              title=None):
    """Build the hidden-layer embedding explorer (the OC-NN paper's Fig. 1): t-SNE / UMAP of ``Z`` by label.

    Parameters
    ----------
    Z : array of shape (N, k)
        Hidden representations, e.g. ``OCNN.transform(X)`` = g(Vx).
    y : array of shape (N,)
        1 = anomaly, 0 = normal.
    method : {"tsne", "umap"}, default "tsne"
        Shown first; the other one is computed when first selected (UMAP's first call compiles code: slow once).
    names : pair of str
        Legend names of the two labels.
    random_state : int
    embeddings : dict, optional
        Precomputed {method: (N, 2) array} to seed the cache.
    title : str, optional

    Returns
    -------
    HiddenEmbeddingExplorer
    """
    return HiddenEmbeddingExplorer(Z, y, method=method, names=names, random_state=random_state,
                                   embeddings=embeddings, title=title)


# ---------------------------------------------------------------------------------------------
# Notebook 03 (hypersphere collapse): retrain a small Deep SVDD with broken switches, redraw the curves
# ---------------------------------------------------------------------------------------------
COLLAPSE_CENTERS = ("mean", "zero-weights", "trainable")


def collapse_label(bias=False, activation="leaky_relu", center="mean"):
    """A short name for one collapse-demo setting, e.g. 'bias on · sigmoid · c = mean of initial outputs'."""
    centre = {"mean": "c = mean of initial outputs", "zero-weights": "c = c₀ (all-zero-weights output)",
              "trainable": "c trainable"}[center]
    return f"bias {'on' if bias else 'off'} · {activation} · {centre}"


def fit_collapse_variant(X_train, X_test=None, y_test=None, bias=False, activation="leaky_relu", center="mean",
                         num_epochs=40, lr=1e-2, batch_size=32, random_state=0, net="auto", **kwargs):
    """Fit one Deep SVDD variant of the collapse demo and summarise it.

    Parameters
    ----------
    X_train : array
        Training normals.
    X_test, y_test : array, optional
        Test data and labels (1 = anomaly) for the test AUROC.
    bias : bool
        Bias terms in every layer (Prop. 2).
    activation : str
        "leaky_relu" (proper) or a bounded one such as "sigmoid" (Prop. 3).
    center : {"mean", "zero-weights", "trainable"}
        c fixed at the mean of the initial outputs (proper), fixed at the all-zero-weights output c₀ (Prop. 1),
        or optimised together with the weights (Prop. 1).
    net : str
        "plain-mlp": :func:`ocad_lab.nets.plain_mlp` (no BatchNorm; built here with ``bias`` and ``activation``,
        initial weights seeded by ``random_state``) handed to DeepSVDD as ``net=<module>``; otherwise a built-in
        net name for DeepSVDD ("auto": the small LeNet-type net with non-affine BatchNorm for 8×8 images).
    num_epochs, lr, batch_size, random_state, **kwargs
        Passed to :class:`ocad_lab.estimators.DeepSVDD` (``lr_milestones`` defaults to none here).

    Returns
    -------
    dict
        ``label``, ``model``, ``history`` (the model's ``history_``), ``auroc`` (None without test data),
        ``seconds`` (wall time of the fit), ``spread_ratio`` (final / first-epoch output spread),
        ``collapse_warning`` (True when the kit warned about a collapse), ``test_score_std`` and
        ``n_distinct`` (number of distinct test distances; 1 = every test point gets the same score).
    """
    import time
    import warnings

    from ocad_lab.estimators import DeepSVDD
    from ocad_lab.metrics import auroc

    if center not in COLLAPSE_CENTERS:
        raise ValueError(f"center must be one of {COLLAPSE_CENTERS}, got {center!r}.")
    kwargs.setdefault("lr_milestones", ())
    kwargs.setdefault("verbose", 0)
    if net == "plain-mlp":
        from ocad_lab.nets import plain_mlp

        module = plain_mlp(int(_np.prod(_np.shape(X_train)[1:])), bias=bias, activation=activation, seed=random_state)
        switches = dict(net=module)
    else:
        switches = dict(net=net, bias=bias, activation=activation)
    model = DeepSVDD(num_epochs=num_epochs, lr=lr, batch_size=batch_size, random_state=random_state,
                     center="zero-weights" if center == "zero-weights" else None,
                     center_trainable=center == "trainable", **switches, **kwargs)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        model.fit(X_train)
    seconds = time.perf_counter() - t0
    hist = model.history_
    result = {"label": collapse_label(bias, activation, center), "model": model, "history": hist,
              "auroc": None, "test_score_std": None, "n_distinct": None, "seconds": seconds,
              "spread_ratio": hist[-1]["spread"] / hist[0]["spread"] if hist and hist[0]["spread"] else None,
              "collapse_warning": any("collapsed" in str(w.message) for w in caught)}
    if X_test is not None and y_test is not None:
        scores = -model.decision_function(X_test)
        result["auroc"] = auroc(y_test, scores)
        result["test_score_std"] = float(_np.std(scores))
        result["n_distinct"] = int(len(_np.unique(scores)))
    return result


def collapse_summary_text(result):
    """The explorer's read-out: fit time, test AUROC, distinct test distances and how far the spread fell."""
    parts = [f"fit took {result['seconds']:.1f} s"]
    if result["auroc"] is not None:
        parts.append(f"test AUROC {result['auroc']:.3f}")
    if result.get("n_distinct") is not None:
        n = result["n_distinct"]
        parts.append("1 distinct test distance (collapsed: every input scores the same)" if n == 1
                     else f"{n} distinct test distances")
    if result["spread_ratio"] is not None:
        parts.append(f"output spread fell to {100 * result['spread_ratio']:.2g}% of epoch 1")
    if result["collapse_warning"]:
        parts.append("the kit warned: COLLAPSED")
    return " · ".join(parts)


def draw_collapse_curves(ax_dist, ax_spread, results, reference=None):
    """Draw mean squared distance and output spread per epoch for several collapse-demo fits.

    Parameters
    ----------
    ax_dist, ax_spread : matplotlib.axes.Axes
        Cleared, then drawn on (log y axes).
    results : dict of {name: result}
        Results of :func:`fit_collapse_variant`.
    reference : str, optional
        Name in ``results`` drawn as a thick black line (the proper setup).

    Returns
    -------
    tuple of Axes
    """
    from ocad_lab.viz import plot_history

    hists = {name: r["history"] for name, r in results.items()}
    styles = {reference: {"color": "k", "lw": 3, "alpha": 0.6}} if reference in results else {}
    ax_dist.clear()
    ax_spread.clear()
    plot_history(ax_dist, hists, key="mean_score", ylabel="mean ‖φ(x) − c‖² (training)", styles=styles,
                 title="mean squared distance to c")
    plot_history(ax_spread, hists, key="spread", ylabel="output spread (std across samples)", styles=styles,
                 title="spread of the outputs φ(x)")
    _mark_exact_zeros(ax_dist, hists, "mean_score")
    _mark_exact_zeros(ax_spread, hists, "spread")
    return ax_dist, ax_spread


def _mark_exact_zeros(ax, hists, key):
    """A log axis cannot show 0: mark the first epoch where a curve is exactly 0 with a ▼ on the bottom edge."""
    from matplotlib.transforms import blended_transform_factory

    from ocad_lab.viz import history_column

    colors = {line.get_gid(): line.get_color() for line in ax.get_lines()}
    trans = blended_transform_factory(ax.transData, ax.transAxes)
    marked = False
    for name, hist in hists.items():
        values = history_column(hist, key)
        zero = _np.flatnonzero(values == 0)
        if zero.size:
            epoch = history_column(hist, "epoch")[zero[0]]
            ax.plot([epoch], [0.0], marker="v", ms=9, color=colors.get(str(name), "k"), transform=trans,
                    clip_on=False, gid=f"zero:{name}", label="_nolegend_")
            marked = True
    if marked:
        ax.text(0.99, 0.02, "▼ exactly 0 from here on", transform=ax.transAxes, ha="right", va="bottom",
                fontsize="small")


# The design choices the explorer offers: name -> switches of fit_collapse_variant.
COLLAPSE_VARIANTS = {
    "proper": {},
    "bias on": dict(bias=True),
    "c trainable": dict(center="trainable"),
    "c = c₀": dict(center="zero-weights"),
    "sigmoid": dict(activation="sigmoid"),
}
# Default nets of the explorer: name -> fit settings (the plain MLP needs many epochs to get to its collapse).
COLLAPSE_NETS = {
    "MLP, no BatchNorm": dict(net="plain-mlp", num_epochs=300, lr=1e-3),
    "LeNet, BatchNorm": dict(net="auto", num_epochs=15, lr=1e-2),
}


class CollapseExplorer(_widgets.VBox):
    """Pick a net, a design choice and the weight decay λ; each setting is fitted once and cached.

    The first time a combination is chosen it is fitted (seconds); afterwards the toggles only redraw. The
    proper setting of the same net and λ is drawn as a thick black reference line.

    Attributes
    ----------
    net_toggle, variant_toggle, decay_toggle : ipywidgets.ToggleButtons
    status_label : ipywidgets.Label
        Reads "bias on, λ = 0.03: fit took 1.0 s · test AUROC 0.500 · 1 distinct test distance ...".
    output : ipywidgets.Output (the figure as a PNG)
    fig, ax_dist, ax_spread : the matplotlib Figure and its two Axes
    cache : dict {(net, variant, weight_decay): result of fit_collapse_variant}
    fit_count : int, number of fits the explorer ran itself
    result, reference : the current and the proper setting's results
    """

    def __init__(self, X_train, X_test=None, y_test=None, nets=None, variants=None, weight_decays=(1e-3, 1e-2, 3e-2),
                 weight_decay=None, batch_size=32, random_state=0, cache=None):
        from matplotlib.figure import Figure

        self._data = (X_train, X_test, y_test)
        self.nets = dict(COLLAPSE_NETS if nets is None else nets)
        self.variants = dict(COLLAPSE_VARIANTS if variants is None else variants)
        if "proper" not in self.variants:
            raise ValueError("variants must contain a 'proper' entry (the reference line).")
        self._common = dict(batch_size=batch_size, random_state=random_state)
        self.cache = {} if cache is None else cache
        self.fit_count = 0
        decays = [float(w) for w in weight_decays]
        self.net_toggle = _widgets.ToggleButtons(options=list(self.nets), description="net")
        self.variant_toggle = _widgets.ToggleButtons(options=list(self.variants), value="proper",
                                                     description="design")
        self.decay_toggle = _widgets.ToggleButtons(options=[(f"{w:g}", w) for w in decays],
                                                   value=decays[-1] if weight_decay is None else float(weight_decay),
                                                   description="λ (weight decay)")
        self.status_label = _widgets.Label()
        self.output = _widgets.Output()
        self.fig = Figure(figsize=(11, 3.8), layout="constrained")
        self.ax_dist, self.ax_spread = self.fig.subplots(1, 2)
        self.result = self.reference = None
        super().__init__([self.net_toggle, self.variant_toggle, self.decay_toggle, self.status_label, self.output])
        for t in (self.net_toggle, self.variant_toggle, self.decay_toggle):
            t.observe(self._on_change, names="value")
        self.update()

    def get(self, net, variant, weight_decay):
        """The cached result for one combination, fitting it first if needed."""
        key = (net, variant, float(weight_decay))
        if key not in self.cache:
            kw = {**self._common, **self.nets[net], **self.variants[variant], "weight_decay": float(weight_decay)}
            self.cache[key] = fit_collapse_variant(*self._data, **kw)
            self.fit_count += 1
        return self.cache[key]

    def update(self):
        """Show the toggles' current combination (fitting it only the first time), redraw, refresh the text."""
        net, variant, wd = self.net_toggle.value, self.variant_toggle.value, self.decay_toggle.value
        self.reference = self.get(net, "proper", wd)
        self.result = self.get(net, variant, wd)
        results = {"proper (reference)": self.reference}
        if self.result is not self.reference:
            results[variant] = self.result
        draw_collapse_curves(self.ax_dist, self.ax_spread, results, reference="proper (reference)")
        self.status_label.value = f"{net} · {variant} · λ = {wd:g}: {collapse_summary_text(self.result)}"
        _show_png_in(self.output, _figure_png(self.fig))
        return self.result

    def _on_change(self, change):
        """Toggle callback."""
        self.update()


def collapse_explorer(X_train, X_test=None, y_test=None, nets=None, variants=None, weight_decays=(1e-3, 1e-2, 3e-2),
                      weight_decay=None, batch_size=32, random_state=0, cache=None):
    """Build the hypersphere-collapse explorer (Deep SVDD Props. 1-3).

    Parameters
    ----------
    X_train : array, training normals
    X_test, y_test : array, optional, test data and labels (1 = anomaly) for the AUROC read-out
    nets : dict, optional
        Net name -> settings for :func:`fit_collapse_variant` (``net``, ``num_epochs``, ``lr``, ...);
        default :data:`COLLAPSE_NETS`.
    variants : dict, optional
        Design choice -> switches; must contain "proper". Default :data:`COLLAPSE_VARIANTS`.
    weight_decays : sequence of float
        The λ values offered; ``weight_decay`` the one shown first (default the last).
    batch_size, random_state : passed to every fit
    cache : dict, optional
        {(net, variant, weight_decay): result} of fits done before (e.g. the notebook's table), reused as is.

    Returns
    -------
    CollapseExplorer
        An ipywidgets VBox; display it as the last line of a cell.
    """
    return CollapseExplorer(X_train, X_test, y_test, nets=nets, variants=variants, weight_decays=weight_decays,
                            weight_decay=weight_decay, batch_size=batch_size, random_state=random_state, cache=cache)


# ---------------------------------------------------------------------------------------------
# Notebook 05 (Deep SVDD): soft-boundary radius for a given nu (Prop. 4) on training and test distances
# ---------------------------------------------------------------------------------------------
def soft_boundary_stats(dist_train, nu, dist_test=None, y_test=None):
    """R² for ``nu`` (the (1 − nu)-quantile of the training distances) and the fractions Prop. 4 talks about.

    Parameters
    ----------
    dist_train : array of shape (N,)
        Squared training distances ‖φ(x) − c‖² of a fitted network.
    nu : float in (0, 1]
    dist_test, y_test : arrays, optional
        Test distances and labels (1 = anomaly): adds the fraction of test anomalies and of test normals outside.

    Returns
    -------
    dict
        ``nu``, ``R2``, ``outside`` (fraction of training points with d > R²), ``on_or_outside`` (d ≥ R²) and,
        with test data, ``anomalies_outside`` and ``normals_outside``.
    """
    from ocad_lab.objectives import check_nu, soft_boundary_radius_sq

    nu = check_nu(nu)
    d = _np.asarray(dist_train, dtype=float).ravel()
    if d.size == 0 or not _np.all(_np.isfinite(d)):
        raise ValueError("dist_train must be a non-empty array of finite squared distances.")
    r2 = float(soft_boundary_radius_sq(d, nu))  # exactly one of the distances: the boundary point compares equal
    out = {"nu": nu, "R2": r2, "outside": float(_np.mean(d > r2)), "on_or_outside": float(_np.mean(d >= r2))}
    if dist_test is not None and y_test is not None:
        dt, yt = _np.asarray(dist_test, dtype=float).ravel(), _np.asarray(y_test).ravel()
        out["anomalies_outside"] = float(_np.mean(dt[yt == 1] > r2)) if (yt == 1).any() else float("nan")
        out["normals_outside"] = float(_np.mean(dt[yt == 0] > r2)) if (yt == 0).any() else float("nan")
    return out


def soft_boundary_text(stats):
    """Read-out such as 'ν = 0.10 · R² = 0.012 · training: outside 0.098 ≤ ν ≤ on/outside 0.100 · test: ...'."""
    text = (f"ν = {stats['nu']:.2f} · R² = {stats['R2']:.4g} · training: outside {stats['outside']:.3f} ≤ ν ≤ "
            f"on or outside {stats['on_or_outside']:.3f}")
    if "anomalies_outside" in stats:
        text += (f" · test: anomalies outside {stats['anomalies_outside']:.3f}, "
                 f"normals outside {stats['normals_outside']:.3f}")
    return text


def draw_soft_boundary_panels(ax_train, ax_test, dist_train, nu, dist_test=None, y_test=None):
    """Histogram of training distances and (optionally) test distances by label, both with the line R²(ν).

    Returns
    -------
    dict
        :func:`soft_boundary_stats` for ``nu``.
    """
    from ocad_lab.viz import plot_score_histogram

    stats = soft_boundary_stats(dist_train, nu, dist_test, y_test)
    ax_train.clear()
    plot_score_histogram(ax_train, dist_train, threshold=stats["R2"], side="above", bins=40,
                         score_label="‖φ(x) − c‖² (training normals)", threshold_label="R²",
                         title=f"training: the (1 − ν)-quantile, ν = {stats['nu']:.2f}")
    if ax_test is not None and dist_test is not None:
        ax_test.clear()
        plot_score_histogram(ax_test, dist_test, threshold=stats["R2"], labels=y_test, side="above", bins=40,
                             score_label="‖φ(x) − c‖² (test)", threshold_label="R²",
                             title="test: the same R² as a detector")
    return stats


class SoftBoundaryExplorer(_widgets.VBox):
    """A ν slider moving R² = the (1 − ν)-quantile of a trained network's training distances (Prop. 4).

    The network is fixed: the slider re-solves Eq. (3) in R only (the block-coordinate step of §3.2), it does
    not retrain.

    Attributes
    ----------
    nu_slider : ipywidgets.FloatSlider
    fraction_label : ipywidgets.Label
    output : ipywidgets.Output (the figure as a PNG)
    fig, ax_train, ax_test : Figure and Axes (``ax_test`` is None without test data)
    stats : dict, the last :func:`soft_boundary_stats`
    """

    def __init__(self, dist_train, dist_test=None, y_test=None, nu=0.1, nu_min=0.01, nu_max=0.5, step=0.01):
        from matplotlib.figure import Figure

        from ocad_lab.objectives import check_nu

        nu = check_nu(nu)
        self.dist_train = _np.asarray(dist_train, dtype=float).ravel()
        self.dist_test = None if dist_test is None else _np.asarray(dist_test, dtype=float).ravel()
        self.y_test = None if y_test is None else _np.asarray(y_test).ravel()
        self.nu_slider = _widgets.FloatSlider(value=nu, min=nu_min, max=nu_max, step=step, description="ν",
                                              readout_format=".2f", continuous_update=False)
        self.fraction_label = _widgets.Label()
        self.output = _widgets.Output()
        both = self.dist_test is not None and self.y_test is not None
        self.fig = Figure(figsize=(11, 3.6) if both else (6, 3.6), layout="constrained")
        axes = self.fig.subplots(1, 2 if both else 1)
        self.ax_train, self.ax_test = (axes[0], axes[1]) if both else (axes, None)
        self.stats = None
        super().__init__([self.nu_slider, self.fraction_label, self.output])
        self.nu_slider.observe(self._on_nu, names="value")
        self.update(nu)

    def update(self, nu):
        """Redraw for ``nu`` and refresh the read-out."""
        self.stats = draw_soft_boundary_panels(self.ax_train, self.ax_test, self.dist_train, nu, self.dist_test,
                                               self.y_test)
        self.fraction_label.value = soft_boundary_text(self.stats)
        _show_png_in(self.output, _figure_png(self.fig))
        return self.stats

    def _on_nu(self, change):
        """Slider callback: ν is snapped to the slider's step; an unchanged ν is not redrawn."""
        nu = _snap_to_step(self.nu_slider, change["new"])
        if self.stats is None or nu != self.stats["nu"]:
            self.update(nu)


def soft_boundary_explorer(dist_train, dist_test=None, y_test=None, nu=0.1, nu_min=0.01, nu_max=0.5, step=0.01):
    """Build the soft-boundary ν explorer: move ν, watch where R² lands and which fractions fall outside.

    Parameters
    ----------
    dist_train : array, squared training distances of a fitted Deep SVDD (``-model.score_samples(X_train)``)
    dist_test, y_test : arrays, optional, test distances and labels (1 = anomaly)
    nu, nu_min, nu_max, step : slider start and range

    Returns
    -------
    SoftBoundaryExplorer
    """
    return SoftBoundaryExplorer(dist_train, dist_test, y_test, nu=nu, nu_min=nu_min, nu_max=nu_max, step=step)
