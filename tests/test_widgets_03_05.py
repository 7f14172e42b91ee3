"""Notebooks 03 and 05: collapse explorer, soft-boundary explorer and the Deep SVDD drawing helpers."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from ocad_lab.data import one_class_split
from ocad_lab.viz import embed_2d, history_column, image_mosaic, plot_embedding, plot_history, plot_image_grid
from ocad_lab.widgets import (
    collapse_explorer,
    collapse_label,
    collapse_summary_text,
    draw_collapse_curves,
    fit_collapse_variant,
    soft_boundary_explorer,
    soft_boundary_stats,
)


@pytest.fixture(scope="module")
def digits():
    sp = one_class_split("digits", 8)
    return sp.X_train, sp.X_test, sp.y_test


def _png(explorer):
    return explorer.output.outputs[0]["data"]["image/png"]


# ---- collapse explorer (notebook 03) -------------------------------------------------------------------------
def test_fit_collapse_variant_reports_history_and_auroc(digits):
    X_train, X_test, y_test = digits
    r = fit_collapse_variant(X_train, X_test, y_test, num_epochs=3, center="zero-weights")
    assert len(r["history"]) == 3
    assert 0.0 <= r["auroc"] <= 1.0 and r["seconds"] > 0
    assert np.allclose(r["model"].center_, 0.0)  # c_0 of a bias-free net
    assert r["label"] == collapse_label(False, "leaky_relu", "zero-weights")


def test_fit_collapse_variant_switches_reach_the_model(digits):
    X_train, _, _ = digits
    r = fit_collapse_variant(X_train, num_epochs=1, bias=True, activation="sigmoid", center="trainable")
    m = r["model"]
    assert m.bias and m.activation == "sigmoid" and m.center_trainable
    assert r["auroc"] is None
    with pytest.raises(ValueError, match="center"):
        fit_collapse_variant(X_train, num_epochs=1, center="origin")


def test_plain_mlp_variant_is_a_module_without_batchnorm(digits):
    import torch

    X_train, X_test, y_test = digits
    r = fit_collapse_variant(X_train, X_test, y_test, net="plain-mlp", bias=True, num_epochs=2, lr=1e-3)
    phi = r["model"].net_.phi
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in phi.modules())
    assert all(m.bias is not None for m in phi.modules() if isinstance(m, torch.nn.Linear))
    assert 1 <= r["n_distinct"] <= len(X_test)
    same = fit_collapse_variant(X_train, X_test, y_test, net="plain-mlp", bias=True, num_epochs=2, lr=1e-3)
    assert r["auroc"] == same["auroc"]  # the seeded initial weights make the fit repeatable


def test_collapse_curves_mark_where_a_log_axis_hits_zero():
    hist = lambda vals: [{"epoch": i + 1, "mean_score": v, "spread": v} for i, v in enumerate(vals)]
    results = {"proper": {"history": hist([1.0, 0.5, 0.4])}, "c = c0": {"history": hist([1.0, 1e-3, 0.0])}}
    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    draw_collapse_curves(ax1, ax2, results, reference="proper")
    for ax in (ax1, ax2):
        marks = [ln for ln in ax.get_lines() if ln.get_gid() == "zero:c = c0"]
        assert len(marks) == 1 and marks[0].get_xdata()[0] == 3  # the first epoch at exactly 0
        assert not [ln for ln in ax.get_lines() if ln.get_gid() == "zero:proper"]
        assert any("exactly 0" in t.get_text() for t in ax.texts)


def test_collapse_summary_text_names_a_single_distance():
    r = {"seconds": 1.0, "auroc": 0.5, "n_distinct": 1, "spread_ratio": 0.0, "collapse_warning": True}
    text = collapse_summary_text(r)
    assert "1 distinct test distance" in text and "COLLAPSED" in text
    assert "450 distinct" in collapse_summary_text({**r, "n_distinct": 450})


def test_collapse_toggles_fit_once_then_redraw_from_cache(digits):
    X_train, X_test, y_test = digits
    nets = {"mlp": dict(net="plain-mlp", num_epochs=2, lr=1e-3), "lenet": dict(net="auto", num_epochs=2, lr=1e-2)}
    ex = collapse_explorer(X_train, X_test, y_test, nets=nets, weight_decays=(1e-3, 3e-2))
    assert ex.result is ex.reference and ex.fit_count == 1  # the proper setting of the first net, λ = 3e-2
    png0, text0 = _png(ex), ex.status_label.value
    assert "mlp · proper · λ = 0.03" in text0 and "fit took" in text0 and "test AUROC" in text0

    ex.variant_toggle.value = "bias on"  # the observer fits this setting once and redraws
    assert ex.fit_count == 2 and ex.result is not ex.reference
    assert all(m.bias is not None for m in ex.result["model"].net_.phi.modules() if hasattr(m, "bias")
               and hasattr(m, "weight") and m.weight is not None and m.weight.ndim == 2)
    assert "bias on" in ex.status_label.value and _png(ex) != png0
    labels = [line.get_label() for line in ex.ax_dist.get_lines() if not line.get_label().startswith("_")]
    assert labels == ["proper (reference)", "bias on"]

    ex.decay_toggle.value = 1e-3  # a new λ: the bias run and its reference are fitted for it
    assert ex.fit_count == 4 and ex.result["model"].weight_decay == 1e-3
    ex.decay_toggle.value = 3e-2  # back: both from the cache, nothing refitted
    ex.variant_toggle.value = "proper"
    assert ex.fit_count == 4
    assert [ln.get_label() for ln in ex.ax_dist.get_lines() if not ln.get_label().startswith("_")] == [
        "proper (reference)"]

    ex.net_toggle.value = "lenet"
    ex.variant_toggle.value = "c trainable"
    assert ex.result["model"].center_trainable and ex.fit_count == 6
    assert "lenet · c trainable" in ex.status_label.value


def test_collapse_explorer_reuses_a_given_cache(digits):
    X_train, X_test, y_test = digits
    nets = {"mlp": dict(net="plain-mlp", num_epochs=2, lr=1e-3)}
    done = fit_collapse_variant(X_train, X_test, y_test, net="plain-mlp", num_epochs=2, lr=1e-3, weight_decay=1e-2)
    ex = collapse_explorer(X_train, X_test, y_test, nets=nets, weight_decays=(1e-2,),
                           cache={("mlp", "proper", 1e-2): done})
    assert ex.fit_count == 0 and ex.reference is done
    with pytest.raises(ValueError, match="proper"):
        collapse_explorer(X_train, X_test, y_test, nets=nets, variants={"bias on": dict(bias=True)})


# ---- soft-boundary explorer (notebook 05) --------------------------------------------------------------------
@pytest.mark.parametrize("n", [7, 131, 1000])
@pytest.mark.parametrize("nu", [0.01, 0.05, 0.1, 0.33, 0.5, 1.0])
def test_soft_boundary_stats_nu_property(n, nu):
    d = np.random.default_rng(n).gamma(2.0, size=n).astype(np.float32).astype(float)
    s = soft_boundary_stats(d, nu)
    assert s["outside"] * n <= nu * n + 1e-9  # Prop. 4, exactly (counts)
    assert s["on_or_outside"] * n >= nu * n - 1e-9
    assert s["R2"] == 0.0 or s["R2"] in d  # R^2 is one of the distances


def test_soft_boundary_stats_test_fractions_and_bad_nu():
    d_train = np.arange(1.0, 101.0)
    d_test, y_test = np.array([1.0, 50.0, 200.0, 300.0]), np.array([0, 0, 1, 1])
    s = soft_boundary_stats(d_train, 0.1, d_test, y_test)
    assert s["R2"] == 90.0  # the 11th largest of 1..100: the 10 points 91..100 lie strictly outside
    assert s["anomalies_outside"] == 1.0 and s["normals_outside"] == 0.0
    with pytest.raises(ValueError):
        soft_boundary_stats(d_train, 0.0)


def test_soft_boundary_slider_moves_threshold_and_text():
    rng = np.random.default_rng(0)
    d_train = rng.gamma(2.0, size=300)
    d_test = np.r_[rng.gamma(2.0, size=100), rng.gamma(2.0, size=100) + 3]
    y_test = np.r_[np.zeros(100), np.ones(100)]
    ex = soft_boundary_explorer(d_train, d_test, y_test, nu=0.1)
    r2_before, png0 = ex.stats["R2"], _png(ex)
    assert "ν = 0.10" in ex.fraction_label.value and "anomalies outside" in ex.fraction_label.value
    ex.nu_slider.value = 0.3
    assert ex.stats["nu"] == 0.3 and ex.stats["R2"] < r2_before  # larger ν, smaller sphere
    assert ex.stats["outside"] <= 0.3 <= ex.stats["on_or_outside"]
    assert "ν = 0.30" in ex.fraction_label.value
    assert _png(ex) != png0
    lines = [ln for ln in ex.ax_train.get_lines() if ln.get_gid() == "threshold"]
    assert lines and lines[0].get_xdata()[0] == pytest.approx(ex.stats["R2"])


def test_soft_boundary_explorer_without_test_data():
    ex = soft_boundary_explorer(np.linspace(0, 1, 50), nu=0.2)
    assert ex.ax_test is None and "test" not in ex.fraction_label.value.split("training")[0]


# ---- drawing helpers ---------------------------------------------------------------------------------------
def test_plot_history_draws_one_line_per_model():
    hists = {"a": [{"epoch": 1, "mean_score": 1.0}, {"epoch": 2, "mean_score": 0.1}],
             "b": [{"epoch": 1, "mean_score": 2.0}, {"epoch": 2, "mean_score": None}]}
    ax = Figure().subplots()
    plot_history(ax, hists, key="mean_score")
    assert [ln.get_label() for ln in ax.get_lines()] == ["a", "b"] and ax.get_yscale() == "log"
    assert np.isnan(history_column(hists["b"], "mean_score")[1])
    with pytest.raises(ValueError, match="no column"):
        history_column(hists["a"], "spread")


def test_image_mosaic_layout_and_normalisation():
    imgs = np.stack([np.full((1, 4, 4), v) for v in range(5)]) + np.arange(16).reshape(1, 1, 4, 4)
    m = image_mosaic(imgs, ncols=3, pad=1)
    assert m.shape == (2 * 5 - 1, 3 * 5 - 1)
    assert np.nanmin(m) == 0 and np.nanmax(m) == 1  # every image scaled to [0, 1]
    assert np.isnan(m[5:, 10:]).all()  # the empty sixth cell
    ax = Figure().subplots()
    plot_image_grid(ax, imgs, ncols=3, title="t", captions=list("abcde"))
    assert ax.get_title() == "t" and len(ax.texts) == 5
    with pytest.raises(ValueError):
        image_mosaic(np.zeros((0, 4, 4)))


def test_embed_2d_and_plot_embedding():
    rng = np.random.default_rng(0)
    Z = np.r_[rng.normal(size=(40, 5)), rng.normal(size=(10, 5)) + 5]
    y = np.r_[np.zeros(40), np.ones(10)]
    E = embed_2d(Z, method="pca")
    assert E.shape == (50, 2)
    ax = Figure().subplots()
    plot_embedding(ax, E, y)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["normal (40)", "anomaly (10)"]
    with pytest.raises(ValueError):
        embed_2d(Z, method="isomap")
    with pytest.raises(ValueError):
        plot_embedding(ax, E[:3], y)


def test_plot_benchmark_bars_draws_the_auprc_chance_level_per_class():
    import pandas as pd

    from ocad_lab.viz import plot_benchmark_bars

    table = pd.DataFrame({"normal_class": [0, 0, 1, 1], "method": ["a", "b", "a", "b"],
                          "auprc_mean": [97.0, 95.0, 99.0, 98.0], "auprc_std": [1.0, 1.0, 0.5, 0.5]})
    ax = Figure().subplots()
    plot_benchmark_bars(ax, table, "auprc", chance={0: 90.2, 1: 88.7})
    chance = [ln for ln in ax.get_lines() if ln.get_gid() == "chance"]
    assert [tuple(ln.get_ydata()) for ln in chance] == [(90.2, 90.2), (88.7, 88.7)]
    assert ax.get_ylim()[0] < 88.7  # the chance level is inside the axis, below every bar
    assert "chance" in [t.get_text() for t in ax.get_legend().get_texts()]
    ax2 = Figure().subplots()
    plot_benchmark_bars(ax2, table.rename(columns={"auprc_mean": "auroc_mean", "auprc_std": "auroc_std"}), "auroc",
                        paper=False)
    assert [tuple(ln.get_ydata()) for ln in ax2.get_lines() if ln.get_gid() == "chance"][0] == (50.0, 50.0)
