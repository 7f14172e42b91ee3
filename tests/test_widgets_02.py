"""Notebook 02 (Theorem 3.1): the quantile explorer widget and the plotting functions behind it."""

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from ocad_lab import viz, widgets
from ocad_lab.objectives import ocnn_quantile_r, ocnn_r_objective, soft_boundary_radius


@pytest.fixture
def scores():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(2.0, 0.5, 195), rng.normal(0.0, 0.7, 10)])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _by_gid(ax, gid):
    """All artists on ``ax`` with the given gid."""
    return [a for a in ax.get_children() if a.get_gid() == gid]


def _marker_xy(ax):
    (marker,) = _by_gid(ax, "minimiser")
    return float(marker.get_xdata()[0]), float(marker.get_ydata()[0])


def _threshold_x(ax):
    (line,) = _by_gid(ax, "threshold")
    return float(line.get_xdata()[0])


def _fraction_in(text):
    """Parse the number after 'fraction below r:' in the explorer's read-out."""
    return float(text.split("fraction below r:")[1].split()[0])


def _png(explorer):
    (out,) = explorer.output.outputs
    return base64.b64decode(out["data"]["image/png"])


def test_explorer_follows_the_nu_slider(scores):
    explorer = widgets.quantile_explorer(scores, nu=0.1)
    marker_before = _marker_xy(explorer.ax_objective)
    threshold_before = _threshold_x(explorer.ax_hist)
    png_before = _png(explorer)
    assert marker_before[0] == pytest.approx(ocnn_quantile_r(scores, 0.1))
    assert _fraction_in(explorer.fraction_label.value) == pytest.approx(np.mean(scores < threshold_before), abs=5e-4)

    explorer.nu_slider.value = 0.4

    marker_after = _marker_xy(explorer.ax_objective)
    threshold_after = _threshold_x(explorer.ax_hist)
    # The minimiser marker moved to the new quantile and sits on the new curve.
    assert marker_after[0] == pytest.approx(ocnn_quantile_r(scores, 0.4))
    assert marker_after[0] > marker_before[0]
    assert marker_after[1] == pytest.approx(ocnn_r_objective(marker_after[0], scores, 0.4))
    # The histogram's threshold line is the same r, and explorer.r follows.
    assert threshold_after == pytest.approx(marker_after[0]) and explorer.r == pytest.approx(threshold_after)
    # The printed fraction followed, and it is the fraction of scores strictly below r (within 1/N of nu).
    fraction = _fraction_in(explorer.fraction_label.value)
    assert fraction == pytest.approx(np.mean(scores < threshold_after), abs=5e-4)
    assert abs(fraction - 0.4) <= 1 / len(scores) + 5e-4
    assert "ν = 0.40" in explorer.fraction_label.value
    # The figure shown in the Output widget was re-rendered.
    assert _png(explorer) != png_before and _png(explorer).startswith(b"\x89PNG")


def test_explorer_exposes_slider_output_and_label(scores):
    explorer = widgets.quantile_explorer(scores, nu=0.2, labels=np.r_[np.zeros(195), np.ones(10)])
    assert explorer.nu_slider.value == pytest.approx(0.2)
    assert explorer.children == (explorer.nu_slider, explorer.fraction_label, explorer.output)
    assert explorer.fraction_label.value.startswith("fraction below r: ")


def test_explorer_shows_flat_interval_only_when_n_nu_is_integer():
    y = np.arange(1.0, 10.0)
    explorer = widgets.quantile_explorer(y, nu=0.33)
    assert _by_gid(explorer.ax_objective, "flat_interval") == []
    explorer.nu_slider.value = 1 / 3  # N nu = 3: every r in [3, 4] minimises Eq. (5)
    (span,) = _by_gid(explorer.ax_objective, "flat_interval")
    if hasattr(span, "get_width"):  # matplotlib >= 3.9 draws a Rectangle
        lo, hi = span.get_x(), span.get_x() + span.get_width()
    else:  # older versions draw a Polygon
        lo, hi = np.min(span.get_xy()[:, 0]), np.max(span.get_xy()[:, 0])
    assert lo == pytest.approx(3.0) and hi == pytest.approx(4.0)
    assert _marker_xy(explorer.ax_objective)[0] == pytest.approx(3.0)  # the kit picks the left end


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan")])
def test_explorer_rejects_nu_outside_unit_interval(scores, bad):
    with pytest.raises(ValueError, match="nu"):
        widgets.quantile_explorer(scores, nu=bad)


def test_explorer_rejects_nan_scores(scores):
    scores = scores.copy()
    scores[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        widgets.quantile_explorer(scores, nu=0.1)


def test_paper_example_minimiser_is_marked_at_three():
    fig, ax = plt.subplots()
    viz.plot_r_objective(ax, np.arange(1, 10), 0.33)
    x, fx = _marker_xy(ax)
    assert x == pytest.approx(3.0) and fx == pytest.approx(3 / 2.97 - 3)


@pytest.mark.parametrize("side, expected", [("below", lambda s, t: np.mean(s < t)), ("above", lambda s, t: np.mean(s > t))])
def test_score_histogram_threshold_and_fraction(scores, side, expected):
    fig, ax = plt.subplots()
    t = float(np.median(scores)) + 0.3
    viz.plot_score_histogram(ax, scores, threshold=t, side=side, threshold_label="r")
    assert _threshold_x(ax) == pytest.approx(t)
    (text,) = _by_gid(ax, "fraction")
    assert text.get_text().startswith(f"fraction {side} r: ")
    assert float(text.get_text().split(":")[1]) == pytest.approx(expected(scores, t), abs=5e-4)


def test_score_histogram_colours_normal_and_anomaly(scores):
    fig, ax = plt.subplots()
    labels = np.r_[np.zeros(195), np.ones(10)]
    viz.plot_score_histogram(ax, scores, labels=labels)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["normal", "anomaly"]
    assert _by_gid(ax, "threshold") == []
    with pytest.raises(ValueError, match="same length"):
        viz.plot_score_histogram(ax, scores, labels=labels[:-1])


def test_soft_boundary_plot_marks_the_minimiser_of_eq3():
    rng = np.random.default_rng(1)
    d = rng.chisquare(4, size=101)
    fig, ax = plt.subplots()
    viz.plot_soft_boundary_objective(ax, d, 0.1)
    x, _ = _marker_xy(ax)
    assert x == pytest.approx(soft_boundary_radius(d, 0.1) ** 2)
    candidates = np.r_[0.0, d]
    J = candidates + np.maximum(0.0, d - candidates[:, None]).mean(axis=1) / 0.1
    assert x == pytest.approx(candidates[np.argmin(J)])


def test_score_histogram_log_axis_keeps_single_outliers_visible():
    from matplotlib.figure import Figure

    from ocad_lab.viz import plot_score_histogram

    d = np.r_[np.random.default_rng(0).gamma(2.0, size=300), 60.0]  # one far point: a bar of height 1
    ax = Figure().subplots()
    plot_score_histogram(ax, d, threshold=5.0, labels=np.r_[np.zeros(300), 1], side="above", logy=True)
    bottom, top = ax.get_ylim()
    assert ax.get_yscale() == "log" and bottom < 1 < top
    heights = [p.get_height() for p in ax.patches if p.get_height() > 0]
    assert min(heights) == 1 and max(heights) < top  # the lone bar and the tallest bar both inside the axis
