"""The estimators added after issue 10 (robust baselines, DBN2-SVDD, the paper's CAE, AnoGAN, the sign classifier)
follow its conventions: ``fit`` leaves the caller's global RNGs alone (``random_state`` alone decides the result),
``n_features_in_`` is set and checked, and the neural ones save and load like the kit's other detectors."""

import random

import numpy as np
import pytest
import torch

from ocad_lab import estimators
from ocad_lab.adversarial import SignClassifier
from ocad_lab.anogan import AnoGAN
from ocad_lab.paper_cae import PaperCAE
from ocad_lab.robust import RCAE, RDA


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def _vectors(n=40, d=6):
    return np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)


def _images(n=24, c=1):
    return np.random.default_rng(0).random((n, c, 8, 8)).astype(np.float32)


CASES = {
    "RDA": (lambda: RDA(hidden=(4,), rep_dim=2, n_outer=2, inner_epochs=1, batch_size=16), _vectors, None),
    "RCAE": (lambda: RCAE(rep_dim=4, n_outer=1, inner_epochs=1, batch_size=8), _images, None),
    "PaperCAE": (lambda: PaperCAE(rep_dim=4, num_epochs=1, batch_size=8), _images, None),
    "AnoGAN": (lambda: AnoGAN(latent_dim=2, width=4, num_epochs=1, batch_size=16, n_iter=3, n_offset=16, verbose=0),
               _vectors, None),
    "SignClassifier": (lambda: SignClassifier(width=2, num_epochs=1, batch_size=8, verbose=0),
                       lambda: _images(c=3), lambda n: np.arange(n) % 43),
}


def _fit(make, data, labels):
    X = data()
    est = make()
    est.fit(X) if labels is None else est.fit(X, labels(len(X)))
    out = est.predict_proba(X) if labels is not None else est.score_samples(X)
    return est, X, out


@pytest.mark.parametrize("name", list(CASES))
def test_fit_leaves_the_callers_global_rngs_alone(name):
    make, data, labels = CASES[name]
    np.random.seed(123)
    random.seed(123)
    torch.manual_seed(123)
    np_state, py_state, torch_state = np.random.get_state(), random.getstate(), torch.get_rng_state()
    est, X, a = _fit(make, data, labels)
    assert np.array_equal(np.random.get_state()[1], np_state[1])
    assert random.getstate() == py_state
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert est.n_features_in_ == int(np.prod(X.shape[1:]))
    torch.manual_seed(999)  # another global state does not change the result: random_state alone decides
    np.testing.assert_array_equal(_fit(make, data, labels)[2], a)


def test_paper_cae_saves_and_loads(tmp_path):
    X = _images()
    cae = PaperCAE(rep_dim=4, num_epochs=1, batch_size=8).fit(X)
    cae.save(tmp_path / "cae.pt")
    again = estimators.load(tmp_path / "cae.pt")
    assert isinstance(again, PaperCAE) and again.get_params() == cae.get_params()
    np.testing.assert_array_equal(again.score_samples(X), cae.score_samples(X))
    np.testing.assert_array_equal(again.transform(X), cae.transform(X))
    with pytest.raises(ValueError, match="but PaperCAE is expecting 64"):
        again.score_samples(np.zeros((2, 1, 4, 4), np.float32))


def test_sign_classifier_checks_the_feature_count_after_load(tmp_path):
    X, y = _images(c=3), np.arange(24) % 43
    clf = SignClassifier(width=2, num_epochs=1, batch_size=8, verbose=0).fit(X, y)
    clf.save(tmp_path / "signs.pt")
    again = SignClassifier.load(tmp_path / "signs.pt")
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    with pytest.raises(ValueError, match="is expecting 192"):
        again.predict(np.zeros((2, 3, 4, 4), np.float32))


@pytest.mark.parametrize("make, data", [
    (lambda: RDA(hidden=(4,), rep_dim=2, n_outer=2, inner_epochs=1, batch_size=16), _vectors),
    (lambda: RCAE(rep_dim=4, n_outer=1, inner_epochs=1, batch_size=8), _images),
], ids=["RDA", "RCAE"])
def test_robust_autoencoders_save_and_load(make, data, tmp_path):
    X = data()
    m = make().fit(X)
    m.save(tmp_path / "m.pt")
    again = estimators.load(tmp_path / "m.pt")
    assert type(again) is type(m) and again.get_params() == m.get_params()
    np.testing.assert_array_equal(again.score_samples(X), m.score_samples(X))
    np.testing.assert_array_equal(again.S_, m.S_)
    np.testing.assert_array_equal(again.outliers_, m.outliers_)
    assert again.transform(X).shape == (len(X), m.rep_dim)
