
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
        super().__init__([self.nu_slider, self.fraction_label, self.output])
        self.nu_slider.observe(self._on_nu, names="value")
        self.update(nu)

    def update(self, nu):
        """Redraw both panels for ``nu`` and refresh the printed fraction."""
        self.r = draw_quantile_panels(self.ax_objective, self.ax_hist, self.scores, nu, labels=self.labels)
        self.fraction_label.value = quantile_fraction_text(self.scores, self.r, nu)
        _show_png_in(self.output, _figure_png(self.fig))

    def _on_nu(self, change):
        """Slider callback."""
        self.update(change["new"])


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

        from ocad_lab.baselines import _as_2d, _check_nu

        X = _as_2d(X)
        if X.shape[1] != 2:
            raise ValueError(f"ocsvm_explorer draws 2-D data only; got {X.shape[1]} features.")
        nu = _check_nu(nu)
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

        nu = self.nu_slider.value if nu is None else nu
        gamma = self.gamma_slider.value if gamma is None else gamma
        self.fractions = draw_ocsvm_boundary(self.ax, self.X, nu=nu, gamma=gamma, kernel=self.kernel, y=self.y)
        self.fraction_label.value = ocsvm_fraction_text(self.fractions)
        _show_png_in(self.output, _figure_png(self.fig))
        return self.fractions

    def _on_change(self, change):
        """Slider callback."""
        self.update()


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
