"""PCP, RPCA-OC-SVM, the robust autoencoders (RDA, RCAE), DBN2-SVDD and the paper's CAE."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from ocad_lab.dbn import DBNSVDD
from ocad_lab.metrics import auroc
from ocad_lab.paper_cae import PAPER_REP_DIM, PaperCAE, PaperConvAutoencoder
from ocad_lab.robust import RCAE, RDA, RPCAOCSVM, principal_component_pursuit, prox_l1, prox_l21


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def planted(m=60, n=50, rank=3, density=0.05, seed=0):
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(m, rank)) @ rng.normal(size=(rank, n))
    S = np.zeros((m, n))
    mask = rng.random((m, n)) < density
    S[mask] = rng.choice([-10.0, 10.0], size=mask.sum())
    return L, S


# ------------------------------------------------------------------------------------------------------- PCP
def test_pcp_recovers_planted_low_rank_plus_sparse():
    L0, S0 = planted()
    res = principal_component_pursuit(L0 + S0, tol=1e-8)
    assert res.converged and res.rank == 3
    assert np.linalg.norm(res.L - L0) / np.linalg.norm(L0) < 1e-4
    assert np.linalg.norm(res.S - S0) / np.linalg.norm(S0) < 1e-4
    np.testing.assert_array_equal(np.abs(res.S) > 1e-3, S0 != 0)  # the support of S exactly


def test_pcp_edge_cases_and_warnings():
    res = principal_component_pursuit(np.zeros((4, 3)))
    assert res.converged and res.rank == 0 and not res.S.any()
    with pytest.warns(Warning, match="max_iter"):
        principal_component_pursuit(np.random.default_rng(0).normal(size=(10, 8)), max_iter=2)
    with pytest.raises(ValueError, match="NaN"):
        principal_component_pursuit(np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="rho"):
        principal_component_pursuit(np.eye(3), rho=1.0)


def test_proximal_operators():
    A = np.array([[3.0, 4.0], [0.3, 0.4]])  # row norms 5 and 0.5
    np.testing.assert_allclose(prox_l21(A, 1.0), [[2.4, 3.2], [0.0, 0.0]])
    np.testing.assert_allclose(prox_l1(A, 1.0), [[2.0, 3.0], [0.0, 0.0]])


def test_rpca_ocsvm_conventions_and_detection():
    rng = np.random.default_rng(1)
    basis = rng.normal(size=(2, 30))
    normals = rng.normal(size=(190, 2)) @ basis + 0.05 * rng.normal(size=(190, 30))
    t = rng.uniform(0, 2 * np.pi, 10)
    anomalies = 6 * np.c_[np.cos(t), np.sin(t)] @ basis  # scattered far out, inside the subspace
    X = np.r_[normals, anomalies]
    y = np.r_[np.zeros(190), np.ones(10)]
    m = RPCAOCSVM(nu=0.05, gamma=1e-3).fit(X)  # a wide kernel: with few support vectors a narrow one is patchy
    s = m.score_samples(X)
    np.testing.assert_allclose(m.decision_function(X), s - m.offset_)
    assert set(np.unique(m.predict(X))) <= {-1, 1}
    assert auroc(y, -m.decision_function(X)) > 0.95
    assert m.components_.shape == (2, 30)  # the planted 2-d subspace (95 % of L's variance)
    with pytest.raises(NotFittedError):
        RPCAOCSVM().score_samples(X)
    with pytest.raises(ValueError, match="nu"):
        RPCAOCSVM(nu=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        m.score_samples(X[:, :5])


# ------------------------------------------------------------------------------------------ robust autoencoders
def corrupted_low_rank(seed=0, n=200, d=20, n_bad=10):
    rng = np.random.default_rng(seed)
    Z = rng.uniform(-1, 1, size=(n, 2))
    X = Z @ rng.normal(size=(2, d)) * 0.5
    bad = rng.choice(n, n_bad, replace=False)
    X[bad] += rng.choice([-3.0, 3.0], size=(n_bad, d))  # planted gross corruptions of whole samples
    return X.astype(np.float32), np.sort(bad)


def test_rda_isolates_planted_corruptions_in_S():
    X, bad = corrupted_low_rank()
    m = RDA(hidden=(32,), rep_dim=2, nu=0.05, n_outer=6, inner_epochs=30, lr=5e-3, batch_size=32).fit(X)
    assert m.S_.shape == X.shape
    rows = np.linalg.norm(m.S_, axis=1)
    top = np.sort(np.argsort(-rows)[: len(bad)])
    np.testing.assert_array_equal(top, bad)  # the largest rows of S are exactly the corrupted samples
    assert set(bad) <= set(m.outliers_)
    y = np.isin(np.arange(len(X)), bad).astype(int)
    assert auroc(y, -m.decision_function(X)) > 0.99
    np.testing.assert_allclose(m.decision_function(X), m.score_samples(X) - m.offset_)
    assert np.mean(m.predict(X) == -1) == pytest.approx(0.05, abs=0.02)


def test_robust_ae_l1_and_bad_params():
    X, _ = corrupted_low_rank(n=40)
    m = RDA(hidden=(8,), rep_dim=2, penalty="l1", n_outer=2, inner_epochs=2).fit(X)
    assert m.lam_ > 0 and len(m.history_) <= 2
    for bad in (dict(penalty="l3"), dict(net="rnn"), dict(lam=-1.0), dict(n_outer=0), dict(hidden="x"),
                dict(nu=2.0)):
        with pytest.raises(ValueError):
            RDA(**bad).fit(X)
    with pytest.raises(ValueError, match="images"):
        RCAE().fit(X)
    with pytest.raises(NotFittedError):
        RDA().score_samples(X)
    assert clone(m).get_params()["penalty"] == "l1"


def test_rcae_runs_on_images_same_seed_same_scores():
    rng = np.random.default_rng(0)
    X = rng.random((24, 1, 8, 8)).astype(np.float32)
    a = RCAE(rep_dim=4, n_outer=2, inner_epochs=1, batch_size=8).fit(X)
    b = RCAE(rep_dim=4, n_outer=2, inner_epochs=1, batch_size=8).fit(X)
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    assert a.S_.shape == (24, 64)


# ------------------------------------------------------------------------------------------------ DBN2-SVDD
@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_dbn_svdd(kernel):
    rng = np.random.default_rng(0)
    proto = rng.random(16) < 0.5  # normals: a binary prototype with 10 % flipped bits; anomalies: its complement
    normals = (proto ^ (rng.random((150, 16)) < 0.1)).astype(float)
    anomalies = (~proto ^ (rng.random((8, 16)) < 0.1)).astype(float)
    X = np.r_[normals, anomalies]
    y = np.r_[np.zeros(150), np.ones(8)]
    m = DBNSVDD(n_components=(12, 6), kernel=kernel, nu=0.05, n_iter=50, batch_size=10, learning_rate=0.1).fit(X)
    assert m.transform(X).shape == (158, 6)
    np.testing.assert_allclose(m.decision_function(X), m.score_samples(X) - m.offset_)
    assert auroc(y, -m.decision_function(X)) > 0.8
    with pytest.raises(ValueError):
        DBNSVDD(n_components=(3,)).fit(X)
    with pytest.raises(ValueError, match="kernel"):
        DBNSVDD(kernel="poly").fit(X)
    with pytest.raises(NotFittedError):
        DBNSVDD().score_samples(X)


# ------------------------------------------------------------------------------------------------ paper CAE
@pytest.mark.parametrize("shape, rep", [((1, 28, 28), 128), ((1, 16, 16), 128), ((3, 32, 32), 32), ((1, 7, 9), 5)])
def test_paper_cae_shapes(shape, rep):
    ae = PaperConvAutoencoder(shape, rep)
    x = torch.zeros(2, *shape)
    assert ae.encoder(x).shape == (2, rep) and ae(x).shape == (2, *shape)
    convs = [m for m in ae.encoder.features if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (16, (3, 3), (1, 1)), (16, (3, 3), (1, 1)), (32, (3, 3), (1, 1)), (32, (3, 3), (1, 1))]
    assert PAPER_REP_DIM == {"mnist": 128, "usps": 128, "cifar10": 32}


def test_paper_cae_detector_plugs_into_ocnn_and_cae_ocsvm():
    from ocad_lab.baselines import CAEOCSVM
    from ocad_lab.estimators import OCNN

    rng = np.random.default_rng(0)
    X = rng.random((40, 1, 8, 8)).astype(np.float32)
    cae = PaperCAE(rep_dim=6, num_epochs=2, batch_size=16).fit(X)
    loss = [h["loss"] for h in cae.history_]
    assert loss[-1] < loss[0]
    assert cae.transform(X).shape == (40, 6)
    np.testing.assert_allclose(cae.decision_function(X), cae.score_samples(X) - cae.offset_)
    hyb = CAEOCSVM(autoencoder=cae, kernel="linear", nu=0.1).fit(X)
    assert hyb.score_samples(X).shape == (40,)
    oc = OCNN(hidden_dim=4, encoder=cae.ae_.encoder, num_epochs=2, verbose=0).fit(X)
    assert oc.score_samples(X).shape == (40,)
    with pytest.raises(ValueError, match="images"):
        PaperCAE().fit(X.reshape(40, -1))
