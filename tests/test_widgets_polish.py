"""Explorer callbacks as a browser drives them: float noise from the JavaScript slider must not redraw or shift ν.

JupyterLab's slider reports FloatSlider(value=0.1, step=0.01) back as 0.09999999999999999 when it is first drawn;
the explorers snap ν to the slider's step and ignore a value that snaps to the ν already shown.
"""

import re

import numpy as np
import pytest
from matplotlib.figure import Figure

from ocad_lab import viz, widgets

BROWSER_ECHO = 0.09999999999999999  # what the browser sends for 0.1


@pytest.fixture
def scored():
    """300 scores (higher = more normal); the last 30 are anomalies that mostly score low."""
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(270, int), np.ones(30, int)]
    return np.r_[rng.normal(2.0, 1.0, 270), rng.normal(0.0, 1.0, 30)], y


def _png(explorer):
    """The PNG currently shown in an explorer's Output widget."""
    return explorer.output.outputs[0]["data"]["image/png"]


def _count_updates(explorer):
    """Wrap ``explorer.update`` so that every redraw is counted; returns the list of calls."""
    calls, update = [], explorer.update

    def counting(*args, **kwargs):
        calls.append(args)
        return update(*args, **kwargs)

    explorer.update = counting
    return calls


def _nu_threshold(scored):
    scores, y = scored
    return widgets.nu_threshold_explorer(scores, y=y, nu=0.1), lambda ex: ex.summary["nu"]


def _quantile(scored):
    scores, y = scored
    return widgets.quantile_explorer(scores, nu=0.1, labels=y), lambda ex: ex.nu


def _soft_boundary(scored):
    scores, y = scored
    dist = np.exp(-scores)  # any positive "distances" will do
    return widgets.soft_boundary_explorer(dist, dist, y, nu=0.1), lambda ex: ex.stats["nu"]


def _ocsvm(scored):
    rng = np.random.default_rng(0)
    return widgets.ocsvm_explorer(rng.normal(size=(80, 2)), nu=0.1, gamma=1.0), lambda ex: ex.fractions["nu"]


EXPLORERS = [_nu_threshold, _quantile, _soft_boundary, _ocsvm]


@pytest.mark.parametrize("build", EXPLORERS, ids=lambda f: f.__name__.strip("_"))
def test_browser_float_echo_does_not_redraw(build, scored):
    explorer, current_nu = build(scored)
    calls, png, text = _count_updates(explorer), _png(explorer), explorer.children[-2].value
    explorer.nu_slider.value = BROWSER_ECHO
    assert calls == []
    assert current_nu(explorer) == 0.1
    assert _png(explorer) == png and explorer.children[-2].value == text


@pytest.mark.parametrize("build", EXPLORERS, ids=lambda f: f.__name__.strip("_"))
def test_moved_slider_redraws_once_with_nu_on_the_step_grid(build, scored):
    explorer, current_nu = build(scored)
    calls, png = _count_updates(explorer), _png(explorer)
    explorer.nu_slider.value = 0.1 + 0.2  # 0.30000000000000004 in floating point
    assert len(calls) == 1
    assert current_nu(explorer) == 0.3
    assert _png(explorer) != png


def test_ocsvm_gamma_echo_does_not_refit():
    rng = np.random.default_rng(0)
    explorer = widgets.ocsvm_explorer(rng.normal(size=(80, 2)), nu=0.1, gamma=1.0)
    calls = _count_updates(explorer)
    explorer.gamma_slider.value = 1.0000000000000002
    assert calls == []
    explorer.gamma_slider.value = 10.0
    assert len(calls) == 1 and explorer.fractions["gamma"] == pytest.approx(10.0)


def test_nu_threshold_label_and_plot_show_the_same_fraction(scored):
    scores, y = scored
    explorer = widgets.nu_threshold_explorer(scores, y=y, nu=0.1)
    for nu in (0.1, 0.23, 0.37):
        explorer.nu_slider.value = nu
        label = re.search(r"fraction flagged (\d\.\d+)", explorer.text_label.value).group(1)
        box = [t.get_text() for t in explorer.ax.texts if t.get_gid() == "fraction"]
        assert len(box) == 1
        assert re.search(r": (\d\.\d+)$", box[0]).group(1) == label == f"{np.mean(scores < explorer.summary['r']):.3f}"


@pytest.mark.parametrize("threshold_label, expected", [("S = 0", "S = 0"), ("r", "r = 1.5")])
def test_histogram_threshold_legend_states_the_value_once(threshold_label, expected):
    ax = Figure().subplots()
    viz.plot_score_histogram(ax, [0.0, 1.0, 2.0, 3.0], threshold=1.5, threshold_label=threshold_label)
    assert expected in [t.get_text() for t in ax.get_legend().get_texts()]
