"""Tests of ocad_lab.anogan.AnoGAN: it separates obvious anomalies, keeps the kit's signs, saves and loads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from ocad_lab import estimators
from ocad_lab.anogan import AnoGAN, build_gan

TINY = dict(latent_dim=8, width=8, num_epochs=30, n_iter=50, batch_size=32, lr=1e-3, n_offset=64, verbose=0)


def blobs(n, rng):
    """1x8x8 images of one smooth Gaussian blob near the centre: the normal class."""
    yy, xx = np.mgrid[0:8, 0:8]
    c = rng.uniform(2.5, 4.5, size=(n, 2))
    img = np.exp(-((yy[None] - c[:, 0, None, None]) ** 2 + (xx[None] - c[:, 1, None, None]) ** 2) / 4.0)
    return img[:, None].astype(np.float32)


@pytest.fixture(scope="module")
def fitted():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X_train, X_normal = blobs(200, rng), blobs(30, rng)
    X_anom = rng.uniform(0, 1, size=(30, 1, 8, 8)).astype(np.float32)  # white noise: nothing like a blob
    model = AnoGAN(**TINY).fit(X_train)
    return model, X_train, X_normal, X_anom


def test_separates_blobs_from_noise_with_the_kits_signs(fitted):
    model, _, X_normal, X_anom = fitted
    s_norm, s_anom = model.score_samples(X_normal), model.score_samples(X_anom)
    y = np.r_[np.zeros(len(s_norm)), np.ones(len(s_anom))]
    assert roc_auc_score(y, -np.r_[s_norm, s_anom]) > 0.95  # higher score_samples = more normal
    np.testing.assert_allclose(model.decision_function(X_anom), s_anom - model.offset_)
    assert (model.predict(X_anom) == -1).mean() > 0.9 and (model.predict(X_normal) == 1).mean() > 0.7
    assert all(k in model.history_[-1] for k in ("d_loss", "g_loss", "d_real", "d_fake"))


def test_search_is_per_point_and_reproducible(fitted):
    model, _, X_normal, X_anom = fitted
    both = np.r_[X_normal[:5], X_anom[:5]]
    first = model.score_samples(both)
    np.testing.assert_array_equal(first, model.score_samples(both))  # the search starts from a seeded draw
    assert model.transform(both).shape == (10, 8) and model.reconstruct(both).shape == both.shape
    assert model.sample(4).shape == (4, 1, 8, 8)


def test_save_load_round_trip(fitted, tmp_path):
    model, _, X_normal, _ = fitted
    model.save(tmp_path / "anogan.pt", metadata={"lo": -1.0, "hi": 2.0})
    again = AnoGAN.load(tmp_path / "anogan.pt")
    np.testing.assert_array_equal(again.score_samples(X_normal), model.score_samples(X_normal))
    assert again.offset_ == model.offset_ and again.metadata_ == {"lo": -1.0, "hi": 2.0}
    assert again.get_params() == model.get_params()
    assert isinstance(estimators.load(tmp_path / "anogan.pt"), AnoGAN)
    with pytest.raises(ValueError, match="not a DeepSVDD"):
        estimators.DeepSVDD.load(tmp_path / "anogan.pt")


def test_vectors_use_an_mlp_gan():
    rng = np.random.default_rng(1)
    X = rng.normal(0, 0.3, size=(120, 4)).astype(np.float32)
    model = AnoGAN(**{**TINY, "num_epochs": 5, "n_iter": 10}).fit(X)
    s = model.score_samples(np.r_[X[:10], X[:10] + 5.0])
    assert s[:10].mean() > s[10:].mean()


def test_bad_input_and_unfitted():
    X = np.zeros((10, 1, 8, 8), dtype=np.float32)
    with pytest.raises(NotFittedError):
        AnoGAN().score_samples(X)
    with pytest.raises(ValueError, match="lam"):
        AnoGAN(lam=2.0).fit(X)
    with pytest.raises(ValueError, match="nu"):
        AnoGAN(nu=0.0).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        AnoGAN().fit(np.full((10, 4), np.nan))
    with pytest.raises(ValueError, match="8x8"):
        build_gan((1, 4, 4))
