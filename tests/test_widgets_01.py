"""Notebook 01's explorer and drawing helpers: moving a slider refits, redraws and updates the read-out."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from ocad_lab.data import make_toy
from ocad_lab.viz import draw_ocsvm_boundary, plot_decision_boundary, plot_nu_property
from ocad_lab.widgets import ocsvm_explorer, ocsvm_fraction_text


@pytest.fixture(scope="module")
def toy():
    return make_toy("moons", n_samples=200, contamination=0.05, random_state=0)


def _fractions_from_text(text):
    """Parse 'fraction of training outliers 0.083 ≤ ν = 0.10 ≤ fraction of support vectors 0.113 ...'."""
    parts = text.split("≤")
    return float(parts[0].split()[-1]), float(parts[2].split()[4])


def test_draw_ocsvm_boundary_returns_the_nu_property(toy):
    X, y = toy
    ax = Figure().subplots()
    f = draw_ocsvm_boundary(ax, X, nu=0.2, gamma=1.0, y=y)
    assert f["outliers"] <= 0.2 <= f["support_vectors"]
    assert f["gamma"] == 1.0
    assert len(ax.collections) >= 3  # region, boundary line, points
    assert "ν = 0.20" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "true anomaly" in labels and "support vector" in labels


def test_slider_changes_fractions_and_figure(toy):
    X, y = toy
    explorer = ocsvm_explorer(X, nu=0.1, gamma=1.0, y=y)
    before_text = explorer.fraction_label.value
    before_png = explorer.output.outputs[0]["data"]["image/png"]
    out0, sv0 = _fractions_from_text(before_text)
    assert out0 <= 0.1 <= sv0

    explorer.nu_slider.value = 0.5  # the observer refits and redraws
    out1, sv1 = _fractions_from_text(explorer.fraction_label.value)
    assert out1 <= 0.5 <= sv1
    assert out1 > out0 and sv1 > sv0
    assert explorer.fractions["nu"] == 0.5
    assert "ν = 0.50" in explorer.ax.get_title()
    assert explorer.output.outputs[0]["data"]["image/png"] != before_png


def test_gamma_slider_refits(toy):
    X, _ = toy
    explorer = ocsvm_explorer(X, nu=0.1, gamma=0.1)
    n_sv_wide = len(explorer.fractions["model"].support_)
    explorer.gamma_slider.value = 100.0
    assert explorer.fractions["gamma"] == pytest.approx(100.0)
    # a very narrow kernel needs many more support vectors to cover the data
    assert len(explorer.fractions["model"].support_) > n_sv_wide
    assert "γ = 100" in explorer.fraction_label.value


def test_explorer_rejects_bad_input(toy):
    X, _ = toy
    with pytest.raises(ValueError, match="2-D"):
        ocsvm_explorer(np.c_[X, X])
    with pytest.raises(ValueError, match="nu"):
        ocsvm_explorer(X, nu=1.5)


def test_fraction_text_flags_a_violation():
    text = ocsvm_fraction_text({"nu": 0.1, "outliers": 0.2, "support_vectors": 0.3, "gamma": 1.0})
    assert "VIOLATED" in text
    assert "holds" in ocsvm_fraction_text({"nu": 0.1, "outliers": 0.05, "support_vectors": 0.3, "gamma": 1.0})


def test_plot_helpers_draw(toy):
    X, _ = toy
    ax = Figure().subplots()
    plot_nu_property(ax, [0.1, 0.5], [0.08, 0.49], [0.12, 0.52])
    assert len(ax.lines) == 3
    with pytest.raises(ValueError, match="2-D"):
        plot_decision_boundary(ax, None, np.zeros((5, 3)))
