"""Tests of ocad_lab.adversarial: the sign classifier, foolbox's Boundary Attack on stop signs, and its disk cache."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

pytest.importorskip("foolbox")

from ocad_lab.adversarial import SignClassifier, attack_stop_signs  # noqa: E402
from ocad_lab.data import GTSRB_STOP_SIGN  # noqa: E402

ATTACK = dict(n=3, steps=40, init_steps=50, verbose=0)


def colour_signs(n_per_class, seed):
    """43 classes of 3x16x16 images: one flat colour per class plus a little noise (easy to classify)."""
    rng = np.random.default_rng(seed)
    palette = np.random.default_rng(123).uniform(0.1, 0.9, size=(43, 3))
    y = np.repeat(np.arange(43), n_per_class)
    X = palette[y][:, :, None, None] + rng.normal(0, 0.03, size=(len(y), 3, 16, 16))
    return np.clip(X, 0, 1).astype(np.float32), y


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    X, y = colour_signs(8, 0)
    Xt, yt = colour_signs(4, 1)
    clf = SignClassifier(width=4, num_epochs=25, lr=1e-2, batch_size=64, verbose=0).fit(X, y)
    return clf, Xt, yt


def test_classifier_learns_and_round_trips(trained, tmp_path):
    clf, Xt, yt = trained
    assert clf.score(Xt, yt) > 0.6  # chance: 1/43
    clf.save(tmp_path / "clf.pt")
    again = SignClassifier.load(tmp_path / "clf.pt")
    np.testing.assert_array_equal(again.predict(Xt), clf.predict(Xt))
    assert again.fingerprint() == clf.fingerprint()
    with pytest.raises(ValueError, match="class id"):
        SignClassifier(num_epochs=1).fit(Xt, yt + 43)


def test_cached_adversarials_are_misclassified_and_within_recorded_distance(trained, tmp_path):
    clf, Xt, yt = trained
    stops = Xt[yt == GTSRB_STOP_SIGN]
    adv = attack_stop_signs(clf, stops, cache=tmp_path / "adv.npz", seed=0, **ATTACK)
    assert not adv.from_cache and adv.n_attacked == 3 and len(adv) >= 1 and 0 < adv.success_rate <= 1
    cached = attack_stop_signs(clf, stops, cache=tmp_path / "adv.npz", seed=0, **ATTACK)
    assert cached.from_cache
    np.testing.assert_array_equal(cached.X_adv, adv.X_adv)
    assert cached.settings["steps"] == ATTACK["steps"] and cached.settings["attack"].endswith("BoundaryAttack")
    # every cached adversarial fools the kit's classifier and lies within its recorded distance of its original
    assert (clf.predict(cached.X_adv) != GTSRB_STOP_SIGN).all()
    np.testing.assert_array_equal(cached.X_orig, stops[cached.source_index])
    d2 = np.linalg.norm((cached.X_adv - cached.X_orig).reshape(len(cached), -1).astype(np.float64), axis=1)
    dinf = np.abs(cached.X_adv - cached.X_orig).reshape(len(cached), -1).max(1)
    assert (d2 <= cached.l2 + 1e-6).all() and (dinf <= cached.linf + 1e-6).all() and (cached.l2 > 0).all()
    assert cached.X_adv.min() >= 0 and cached.X_adv.max() <= 1
    assert not list(tmp_path.glob("*.tmp"))  # atomic write: no temporary file left behind


def test_cache_is_invalidated_when_settings_or_classifier_change(trained, tmp_path):
    clf, Xt, yt = trained
    stops = Xt[yt == GTSRB_STOP_SIGN]
    path = tmp_path / "adv.npz"
    attack_stop_signs(clf, stops, cache=path, seed=0, **ATTACK)
    changed = attack_stop_signs(clf, stops, cache=path, seed=0, **{**ATTACK, "steps": 41})
    assert not changed.from_cache and changed.settings["steps"] == 41
    assert attack_stop_signs(clf, stops, cache=path, seed=0, **{**ATTACK, "steps": 41}).from_cache
    other = copy.deepcopy(clf)
    with torch.no_grad():  # a retrained classifier in miniature: same predictions, different weights
        other.net_.head[-1].bias.add_(1e-4)
    assert other.fingerprint() != clf.fingerprint()
    assert not attack_stop_signs(other, stops, cache=path, seed=0, **{**ATTACK, "steps": 41}).from_cache
    path.write_bytes(b"not an npz")  # a corrupt cache is recomputed, not an error
    assert not attack_stop_signs(clf, stops, cache=path, seed=0, **ATTACK).from_cache


def test_same_seed_same_adversarials(trained):
    clf, Xt, yt = trained
    stops = Xt[yt == GTSRB_STOP_SIGN]
    state = torch.random.get_rng_state()
    a = attack_stop_signs(clf, stops, cache=None, seed=3, **ATTACK)
    b = attack_stop_signs(clf, stops, cache=None, seed=3, **ATTACK)
    np.testing.assert_array_equal(a.X_adv, b.X_adv)
    np.testing.assert_array_equal(a.source_index, b.source_index)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's global RNG is left alone
    with pytest.raises(ValueError, match="classified correctly"):
        attack_stop_signs(clf, stops, cache=None, n=5, steps=5, verbose=0)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", None])
def test_sign_classifier_load_refuses_a_bad_file_clearly(tmp_path, content):
    from ocad_lab.estimators import CheckpointError

    path = tmp_path / "clf.pt"
    if content is None:
        torch.save([1, 2, 3], path)  # a readable torch file that is no classifier
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match="not (an|a trusted) ocad_lab checkpoint"):
        SignClassifier.load(path)
    with pytest.raises(FileNotFoundError, match="No checkpoint"):
        SignClassifier.load(tmp_path / "missing.pt")
