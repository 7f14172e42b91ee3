"""Notebook 04 (OC-NN): the nu-threshold explorer, the hidden-layer embedding explorer and plot_score_scatter."""

import re

import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import precision_score, recall_score

from ocad_lab import viz, widgets
from ocad_lab.objectives import ocnn_quantile_r

TEXT_RE = re.compile(r"^nu = (\d\.\d\d): precision (\d\.\d\d|n/a), recall (\d\.\d\d|n/a), fraction flagged (\d\.\d{3})$")


@pytest.fixture
def scored():
    """200 scores (higher = more normal) with 20 anomalies that mostly score low."""
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(180, int), np.ones(20, int)]
    scores = np.r_[rng.normal(2.0, 1.0, 180), rng.normal(0.0, 1.0, 20)]
    return scores, y


def _png(explorer):
    """The PNG (base64 text) currently shown in an explorer's Output widget."""
    outs = explorer.output.outputs
    assert len(outs) == 1
    return outs[0]["data"]["image/png"]


# ------------------------------------------------------------------------------------------ nu_threshold_summary
def test_summary_threshold_is_the_nu_quantile_and_counts_match_sklearn(scored):
    scores, y = scored
    for nu in (0.03, 0.1, 0.25):
        s = widgets.nu_threshold_summary(scores, nu, y=y)
        assert s["r"] == ocnn_quantile_r(scores, nu)
        flagged = scores < s["r"]
        assert s["n_flagged"] == flagged.sum()
        assert s["fraction_flagged"] == pytest.approx(flagged.mean())
        assert s["precision"] == pytest.approx(precision_score(y, flagged))
        assert s["recall"] == pytest.approx(recall_score(y, flagged))
        # Theorem 3.1 / nu-property on the scores the threshold was fitted on
        assert nu - 1 / len(scores) <= s["fraction_flagged"] < nu


def test_summary_separates_training_and_evaluation_scores(scored):
    scores, y = scored
    eval_scores = scores[:50] - 10.0  # every evaluation point far below the training threshold
    s = widgets.nu_threshold_summary(scores, 0.1, eval_scores=eval_scores, y=y[:50])
    assert s["r"] == ocnn_quantile_r(scores, 0.1)
    assert s["fraction_flagged"] == 1.0


def test_summary_matches_a_fitted_ocnn():
    from ocad_lab.estimators import OCNN

    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 6)).astype(np.float32) + 2.0
    m = OCNN(hidden_dim=4, nu=0.1, num_epochs=3, verbose=0).fit(X)
    s = widgets.nu_threshold_summary(m.score_samples(X), 0.1)
    assert s["r"] == pytest.approx(m.offset_)
    assert s["fraction_flagged"] == pytest.approx(np.mean(m.predict(X) == -1))


def test_summary_nothing_flagged_gives_na_precision():
    s = widgets.nu_threshold_summary(np.arange(10.0), 0.05, y=np.r_[np.zeros(9, int), 1])
    assert s["n_flagged"] == 0  # r is the smallest score: nothing strictly below it
    assert np.isnan(s["precision"]) and s["recall"] == 0.0
    assert "precision n/a" in widgets.nu_threshold_text(s)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(train_scores=[1.0, np.nan, 2.0], nu=0.1), "finite"),
        (dict(train_scores=[1.0, 2.0, 3.0], nu=0.0), "nu"),
        (dict(train_scores=[1.0, 2.0, 3.0], nu=1.5), "nu"),
        (dict(train_scores=[1.0, 2.0, 3.0], nu=0.5, y=[0, 1]), "one label per"),
    ],
)
def test_summary_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        widgets.nu_threshold_summary(**kwargs)


def test_text_has_the_stable_wording(scored):
    scores, y = scored
    text = widgets.nu_threshold_text(widgets.nu_threshold_summary(scores, 0.1, y=y))
    m = TEXT_RE.match(text)
    assert m, text
    assert m.group(1) == "0.10"


# ------------------------------------------------------------------------------------------ NuThresholdExplorer
def test_nu_slider_moves_threshold_text_and_image(scored):
    scores, y = scored
    ex = widgets.nu_threshold_explorer(scores, y=y, nu=0.05)
    text0, png0, r0 = ex.text_label.value, _png(ex), ex.summary["r"]
    assert TEXT_RE.match(text0).group(1) == "0.05"

    ex.nu_slider.value = 0.2  # what a user does: the observer must redraw
    assert ex.summary["nu"] == pytest.approx(0.2)
    assert ex.summary["r"] == ocnn_quantile_r(scores, 0.2) > r0
    m = TEXT_RE.match(ex.text_label.value)
    assert m and m.group(1) == "0.20"
    assert m.group(4) == f"{np.mean(scores < ex.summary['r']):.3f}"
    assert ex.text_label.value != text0
    assert _png(ex) != png0
    # the threshold line in the figure sits at the new r
    line = [a for a in ex.ax.get_lines() if a.get_gid() == "threshold"]
    assert len(line) == 1 and line[0].get_xdata()[0] == pytest.approx(ex.summary["r"])

    ex.nu_slider.value = 0.05  # back again: same read-out as at the start
    assert ex.text_label.value == text0


def test_explorer_recall_grows_with_nu(scored):
    scores, y = scored
    ex = widgets.nu_threshold_explorer(scores, y=y, nu=0.02)
    recalls = []
    for nu in (0.02, 0.1, 0.3, 0.5):
        ex.nu_slider.value = nu
        recalls.append(ex.summary["recall"])
    assert recalls == sorted(recalls) and recalls[-1] > recalls[0]


def test_explorer_rejects_bad_scores():
    with pytest.raises(ValueError):
        widgets.nu_threshold_explorer([0.0, np.inf, 1.0])


# ------------------------------------------------------------------------------------------ embedding explorer
@pytest.fixture
def counting_embed(monkeypatch):
    """Replace viz.embed_2d by a cheap deterministic stand-in that counts its calls per method."""
    calls = []

    def fake(Z, method="umap", random_state=0):
        calls.append(method)
        k = 1.0 if method == "tsne" else -1.0
        return np.c_[k * np.asarray(Z)[:, 0], np.asarray(Z)[:, 1] ** 2]

    monkeypatch.setattr(viz, "embed_2d", fake)
    return calls


def test_embedding_explorer_computes_each_method_once(counting_embed):
    rng = np.random.default_rng(0)
    Z, y = rng.normal(size=(40, 5)), np.r_[np.zeros(35, int), np.ones(5, int)]
    ex = widgets.hidden_embedding_explorer(Z, y, method="tsne")
    png_tsne = _png(ex)
    assert counting_embed == ["tsne"] and ex.n_computed == 1
    assert "t-SNE" in ex.ax.get_title()

    ex.method_dropdown.value = "umap"
    assert counting_embed == ["tsne", "umap"]
    assert "UMAP" in ex.ax.get_title() and _png(ex) != png_tsne
    assert "computed now" in ex.status_label.value

    ex.method_dropdown.value = "tsne"  # back: from the cache, no recomputation
    ex.method_dropdown.value = "umap"
    assert counting_embed == ["tsne", "umap"] and ex.n_computed == 2
    assert "from the cache" in ex.status_label.value


def test_embedding_explorer_uses_seeded_cache_and_real_tsne():
    rng = np.random.default_rng(0)
    Z, y = rng.normal(size=(40, 5)), np.r_[np.zeros(35, int), np.ones(5, int)]
    given = rng.normal(size=(40, 2))
    ex = widgets.hidden_embedding_explorer(Z, y, method="tsne", embeddings={"umap": given})
    assert ex.embeddings["tsne"].shape == (40, 2) and ex.n_computed == 1
    ex.method_dropdown.value = "umap"
    assert ex.n_computed == 1 and ex.embeddings["umap"] is given


def test_embedding_explorer_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        widgets.hidden_embedding_explorer(np.zeros((5, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="method"):
        widgets.hidden_embedding_explorer(np.zeros((5, 3)), np.zeros(5), method="pca-3d")


# ------------------------------------------------------------------------------------------ plot_score_scatter
def test_plot_score_scatter_draws_groups_and_threshold():
    ax = Figure().subplots()
    x = np.r_[np.ones(5), 5 * np.ones(3)]
    s = np.r_[np.arange(5.0), -np.arange(3.0)]
    viz.plot_score_scatter(ax, x, s, ["normal"] * 5 + ["anomaly"] * 3, threshold=0.5)
    gids = {c.get_gid() for c in ax.collections}
    assert gids == {"normal", "anomaly"}
    thr = [ln for ln in ax.get_lines() if ln.get_gid() == "threshold"]
    assert len(thr) == 1 and thr[0].get_ydata()[0] == 0.5
    labels = ax.get_legend_handles_labels()[1]
    assert "normal (5)" in labels and "anomaly (3)" in labels


def test_plot_score_scatter_rejects_mismatched_lengths():
    ax = Figure().subplots()
    with pytest.raises(ValueError, match="same length"):
        viz.plot_score_scatter(ax, [1.0, 2.0], [1.0], ["a", "b"])
    with pytest.raises(ValueError, match="finite"):
        viz.plot_score_scatter(ax, [1.0, np.nan], [1.0, 2.0], ["a", "b"])
