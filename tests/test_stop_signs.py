"""Tests of ocad_lab.stop_signs (Table 2 of the Deep SVDD paper) and the paper's GTSRB network in ocad_lab.nets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ocad_lab import nets
from ocad_lab.adversarial import AdversarialSet
from ocad_lab.stop_signs import (PAPER_TABLE2, TABLE2_METHODS, run_table2, stop_sign_problem, table2_config,
                                 table2_summary)


def test_gtsrb_net_is_the_papers_lenet():
    enc = nets.build_encoder("gtsrb", (3, 32, 32))
    convs = [m for m in enc.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 32, 64] and all(c.kernel_size == (5, 5) for c in convs)
    assert enc.rep_dim == 32 and enc(torch.zeros(2, 3, 32, 32)).shape == (2, 32)
    assert all(m.bias is None for m in enc.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))  # Prop. 2
    ae = nets.build_autoencoder("gtsrb", (3, 32, 32))
    assert ae(torch.zeros(2, 3, 32, 32)).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="images"):
        nets.resolve_net_name("gtsrb", (12,))


def test_config_has_the_papers_gtsrb_settings():
    full = table2_config(quick=False)
    assert full["batch_size"] == 64 and full["weight_decay"] == 1e-6 and full["anogan_latent"] == 256
    assert full["anogan_lam"] == 0.1 and full["anogan_iter"] == 500
    quick = table2_config(quick=True)
    assert quick["ae_epochs"] < full["ae_epochs"] and quick["batch_size"] == 64
    with pytest.raises(ValueError, match="Unknown config"):
        table2_config(epochs=3)
    assert set(TABLE2_METHODS) == set(PAPER_TABLE2) and PAPER_TABLE2["anogan"] is None


def _fake_problem(n_train=80, n_test=30, n_adv=6, seed=0):
    """Smooth 'signs' and adversarials that add visible high-frequency noise to some of the test ones."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:32, 0:32] / 31.0

    def signs(n):
        a = rng.uniform(0.3, 0.7, size=(n, 3, 1, 1))
        return (a * (0.5 + 0.5 * np.sin(3 * xx + rng.uniform(0, 1, (n, 1, 1, 1))) * np.cos(2 * yy))).astype(
            np.float32)

    X_train, X_test = signs(n_train), signs(n_test)
    idx = np.arange(n_adv)
    X_adv = np.clip(X_test[idx] + rng.normal(0, 0.15, size=X_test[idx].shape), 0, 1).astype(np.float32)
    d = (X_adv - X_test[idx]).reshape(n_adv, -1)
    adv = AdversarialSet(X_test[idx], X_adv, idx, np.full(n_adv, 14), np.full(n_adv, 1), np.linalg.norm(d, axis=1),
                         np.abs(d).max(1), n_adv, {}, 0.0)
    return X_train, X_test, adv


def test_problem_uses_training_constants_and_labels_adversarials():
    X_train, X_test, adv = _fake_problem()
    p = stop_sign_problem(X_train, X_test, adv)
    assert p.X_train.min() == pytest.approx(0.0, abs=1e-6) and p.X_train.max() == pytest.approx(1.0, abs=1e-6)
    assert p.y_test.tolist() == [0] * 30 + [1] * 6 and p.X_test.shape == (36, 3, 32, 32)
    assert p.source_index[30:].tolist() == list(range(6))
    np.testing.assert_array_equal(p.X_test_raw[30:], adv.X_adv)
    empty = AdversarialSet(*(a[:0] for a in (adv.X_orig, adv.X_adv, adv.source_index, adv.true_label,
                                              adv.adv_label, adv.l2, adv.linf)), 6, {}, 0.0)
    with pytest.raises(ValueError, match="No adversarial"):
        stop_sign_problem(X_train, X_test, empty)


def test_run_table2_all_methods_on_a_tiny_problem():
    torch.set_num_threads(1)
    p = stop_sign_problem(*_fake_problem())
    cfg = table2_config(quick=True, ae_epochs=3, svdd_epochs=3, anogan_width=4, anogan_latent=8, anogan_epochs=2,
                        anogan_iter=5, anogan_offset=16)
    rows, kept = run_table2(p, seeds=2, config=cfg)
    assert [(r["method"], r["seed"]) for r in rows] == [(m, s) for s in (0, 1) for m in TABLE2_METHODS]
    assert all(0.0 <= r["auroc"] <= 1.0 for r in rows)
    scores = kept[("deep-svdd", 0)]["scores"]
    assert scores.shape == (36,) and np.isfinite(scores).all()
    # visible noise on smooth images: the deep one-class model must rank the adversarials high even in 3 epochs
    assert np.mean([r["auroc"] for r in rows if r["method"] == "deep-svdd"]) > 0.8
    table = table2_summary(rows)
    assert table.loc["One-class Deep SVDD", "paper"] == "80.3 ± 2.8" and table.loc["AnoGAN", "paper"] == "—"
    assert (table["seeds"] == 2).all()
