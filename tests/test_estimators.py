"""sklearn-style OCNN, DeepSVDD and AutoencoderDetector: API, signs, paper properties, persistence."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from torch import nn

from ocad_lab.estimators import OCNN, AutoencoderDetector, DeepSVDD, load
from ocad_lab.training import warn_if_collapsed


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny nets: one intra-op thread is faster than two (and immune to a busy machine)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _vectors(n=120, d=6, shift=2.0, seed=0):
    """A Gaussian cluster centred at ``shift`` in every coordinate."""
    return (np.random.default_rng(seed).normal(size=(n, d)) + shift).astype(np.float32)


FAST = dict(verbose=0, num_epochs=3, batch_size=32)


def _all_estimators():
    return [OCNN(**FAST), DeepSVDD(**FAST), DeepSVDD(objective="soft-boundary", **FAST),
            AutoencoderDetector(**FAST)]


# ------------------------------------------------------------------------------------------------ sklearn API
@pytest.mark.parametrize("est", _all_estimators(), ids=lambda e: type(e).__name__)
def test_not_fitted_error_before_fit(est):
    """Scoring before fit raises sklearn's NotFittedError."""
    X = _vectors(5)
    for method in ("score_samples", "decision_function", "predict", "transform"):
        with pytest.raises(NotFittedError):
            getattr(est, method)(X)


@pytest.mark.parametrize("est", _all_estimators(), ids=lambda e: type(e).__name__)
def test_sign_conventions_and_params(est):
    """decision_function = score_samples - offset_; predict = +1 where decision >= 0; get/set_params; clone."""
    X = _vectors()
    est.fit(X)
    s, d, p = est.score_samples(X), est.decision_function(X), est.predict(X)
    assert s.shape == d.shape == p.shape == (len(X),)
    assert np.allclose(d, s - est.offset_)
    assert set(np.unique(p)) <= {-1, 1}
    assert np.array_equal(p == 1, d >= 0)
    assert est.get_params()["num_epochs"] == 3
    est2 = clone(est).set_params(num_epochs=4)
    assert est2.num_epochs == 4 and not hasattr(est2, "offset_")
    assert est.transform(X).shape[0] == len(X)


def test_history_table_keys():
    """history_ is one dict per epoch with the agreed keys; it makes a DataFrame."""
    est = DeepSVDD(objective="soft-boundary", **FAST).fit(_vectors())
    df = pd.DataFrame(est.history_)
    assert list(df["epoch"]) == [1, 2, 3]
    assert {"epoch", "loss", "mean_score", "spread", "r", "seconds"} <= set(df.columns)
    oc = OCNN(**FAST).fit(_vectors())
    assert all(h["r"] is not None and h["spread"] > 0 for h in oc.history_)
    assert DeepSVDD(**FAST).fit(_vectors()).history_[0]["r"] is None


def test_verbose_zero_is_silent(capsys):
    """verbose=0 prints nothing (no progress bar)."""
    DeepSVDD(**FAST).fit(_vectors())
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("cls", [OCNN, DeepSVDD, AutoencoderDetector])
def test_bad_input_raises_value_error(cls):
    """NaN/inf, wrong ndim, < 2 samples, nu outside (0, 1], shape changes: clear ValueErrors."""
    X = _vectors(20)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cls(**FAST).fit(bad)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        cls(**FAST).fit(bad)
    with pytest.raises(ValueError, match="Reshape your data"):
        cls(**FAST).fit(X[0])
    with pytest.raises(ValueError, match="dimensions"):
        cls(**FAST).fit(np.zeros((3, 1, 2, 2, 2)))
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        cls(**FAST).fit(X[:1])
    for nu in (0, 1.2, -1):
        with pytest.raises(ValueError, match="nu"):
            cls(nu=nu, **FAST).fit(X)
    est = cls(**FAST).fit(X)
    with pytest.raises(ValueError, match="shape"):
        est.score_samples(X[:, :4])
    with pytest.raises(ValueError, match="NaN"):
        est.predict(bad[:3] * np.nan)


def test_unknown_names_raise():
    """Unknown activation, objective, net or centre names raise ValueError."""
    X = _vectors(20)
    with pytest.raises(ValueError, match="activation"):
        OCNN(activation="tanhh", **FAST).fit(X)
    with pytest.raises(ValueError, match="objective"):
        DeepSVDD(objective="hard", **FAST).fit(X)
    with pytest.raises(ValueError, match="net"):
        DeepSVDD(net="vgg", **FAST).fit(X)
    with pytest.raises(ValueError, match="activation"):
        DeepSVDD(activation="swish", **FAST).fit(X)
    with pytest.raises(ValueError, match="center"):
        DeepSVDD(center="origin", **FAST).fit(X)
    with pytest.raises(ValueError, match="mnist"):
        DeepSVDD(net="mnist", **FAST).fit(X)


def test_images_accepted_and_shape_checked():
    """(N, H, W) images get a channel axis; net='auto' picks a small conv net for 8x8."""
    X = np.random.default_rng(0).random((40, 8, 8)).astype(np.float32)
    est = DeepSVDD(**FAST).fit(X)
    assert est.arch_["name"] == "conv" and est.input_shape_ == (1, 8, 8)
    assert est.score_samples(X[:, None]).shape == (40,)
    with pytest.raises(ValueError, match="shape"):
        est.score_samples(np.zeros((2, 1, 9, 9), np.float32))


@pytest.mark.parametrize("shape,name", [((1, 28, 28), "mnist"), ((3, 32, 32), "cifar10"), ((7,), "mlp")])
def test_auto_net_selection(shape, name):
    """net='auto' picks LeNet-MNIST, LeNet-CIFAR or the MLP from the sample shape."""
    X = np.random.default_rng(0).random((6, *shape)).astype(np.float32)
    est = DeepSVDD(verbose=0, num_epochs=1, batch_size=6).fit(X)
    assert est.arch_["name"] == name


# ------------------------------------------------------------------------------------------------ Deep SVDD
def _has_bias(module):
    return any(n.endswith("bias") for n, _ in module.named_parameters()) or any(
        isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine for m in module.modules())


def test_deep_svdd_net_is_bias_free_and_center_is_a_buffer():
    """No bias parameter in the fitted net; c is a buffer (no gradient) and does not move during training."""
    X = _vectors()
    c = np.linspace(-1, 1, 32).astype(np.float32)
    est = DeepSVDD(center=c, **FAST).fit(X)
    assert not _has_bias(est.net_)
    assert "c" not in dict(est.net_.named_parameters()) and "c" in dict(est.net_.named_buffers())
    assert not est.net_.c.requires_grad
    assert np.array_equal(est.center_, c)
    # a backward pass leaves c without gradient
    est.net_.train()
    est.net_.distances(torch.from_numpy(X[:8])).sum().backward()
    assert est.net_.c.grad is None


def test_center_init_eps():
    """Default c = mean of the initial pass, every component at least eps away from 0."""
    est = DeepSVDD(num_epochs=0, verbose=0, eps=0.1).fit(_vectors())
    assert np.all(np.abs(est.center_) >= 0.1 - 1e-7)


def test_center_trainable_switch_trains_c():
    """center_trainable=True makes c an nn.Parameter that the optimiser moves."""
    X = _vectors()
    c = np.ones(32, np.float32)
    est = DeepSVDD(center=c, center_trainable=True, lr=1e-2, **FAST).fit(X)
    assert isinstance(est.net_.c, nn.Parameter)
    assert not np.allclose(est.center_, c)


def test_soft_boundary_nu_property():
    """Prop. 4 on the training data: outside <= nu, on or outside >= nu (within 1/N); predict agrees with R."""
    from ocad_lab.objectives import soft_boundary_radius_sq

    X = _vectors(150)
    nu = 0.2
    est = DeepSVDD(objective="soft-boundary", nu=nu, verbose=0, num_epochs=12, batch_size=30, lr=1e-3).fit(X)
    dist = -est.score_samples(X)
    R2 = float(soft_boundary_radius_sq(dist, nu))  # exactly one of the training distances
    assert est.radius_**2 == pytest.approx(R2) and -est.offset_ == R2  # R^2 is stored as the distance itself
    # Prop. 4 exactly, with strict and non-strict comparisons.
    assert np.mean(dist > R2) <= nu
    assert np.mean(dist >= R2) >= nu
    assert np.array_equal(est.predict(X) == 1, dist <= R2)
    assert np.mean(est.predict(X) == -1) <= nu + 1 / len(X)
    assert any(h["r"] > 0 for h in est.history_)  # R was updated during training (block coordinate descent)


def test_one_class_threshold_flags_about_nu():
    """One-class Deep SVDD: score_samples = -||phi(x) - c||^2; predict flags about nu of the training points."""
    X = _vectors()
    est = DeepSVDD(**FAST).fit(X)
    flagged = np.mean(est.predict(X) == -1)
    assert flagged <= est.nu and flagged >= est.nu - 1 / len(X) - 1e-9
    assert est.offset_ == pytest.approx(-est.radius_**2) and est.radius_ > 0
    Z = est.transform(X)
    assert np.allclose(est.score_samples(X), -((Z - est.center_) ** 2).sum(1), rtol=1e-5, atol=1e-6)


def test_pretraining_transfers_encoder_weights():
    """pretrain=True: the Deep SVDD net starts from the autoencoder's encoder weights."""
    X = _vectors()
    est = DeepSVDD(pretrain=True, ae_epochs=2, num_epochs=0, verbose=0, batch_size=32).fit(X)
    enc = est.ae_.encoder.state_dict()
    phi = est.net_.phi.state_dict()
    assert enc.keys() == phi.keys()
    for k in enc:
        assert torch.equal(enc[k], phi[k])
    fresh = DeepSVDD(num_epochs=0, verbose=0, batch_size=32).fit(X).net_.phi.state_dict()
    assert any(not torch.equal(fresh[k], phi[k]) for k in phi if k.endswith("weight"))
    assert len(est.ae_history_) == 2


def test_collapse_switches():
    """Hypersphere collapse (Props. 1-3) with the switches of the collapse notebook.

    Same data, optimiser, weight decay and schedule for all.  The one-class objective shrinks every
    net's distances, but the proper bias-free net (fixed c, leaky ReLU) keeps a floor, while nets with
    bias terms, a trainable centre, a bounded (sigmoid) activation or c = c_0 (the all-zero-weights
    output) shrink their mean distance to ~0 -- at least 5x further, relative to the first epoch.
    """
    X = _vectors(100, d=10, shift=1.0)
    kw = dict(verbose=0, num_epochs=60, lr=1e-2, weight_decay=1e-2, batch_size=20, lr_milestones=())

    def shrink(**switch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = DeepSVDD(**kw, **switch).fit(X)
        return est.history_[-1]["mean_score"] / est.history_[0]["mean_score"]

    proper = shrink()
    for switch in (dict(bias=True), dict(center_trainable=True), dict(activation="sigmoid"),
                   dict(center="zero-weights")):
        assert shrink(**switch) < 0.2 * proper, switch


def test_collapse_warning():
    """warn_if_collapsed issues a UserWarning when the spread falls far below its initial value."""
    with pytest.warns(UserWarning, match="collapsed"):
        assert warn_if_collapsed(1e-7, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not warn_if_collapsed(0.5, 1.0)


def test_collapse_warning_from_fit():
    """A collapsed OC-NN (linear g on data centred at the origin: weights shrink to 0) warns during fit."""
    X = np.random.default_rng(0).normal(size=(80, 5)).astype(np.float32)
    with pytest.warns(UserWarning, match="collapsed"):
        OCNN(verbose=0, num_epochs=150, lr=5e-2, batch_size=80, nu=0.1).fit(X)


# ------------------------------------------------------------------------------------------------ OC-NN
def test_ocnn_nu_property():
    """After fitting, the fraction of training points with S = y_hat - r < 0 is nu within 1/N."""
    X = _vectors(150)
    for nu in (0.1, 0.25):
        est = OCNN(nu=nu, verbose=0, num_epochs=20, batch_size=32).fit(X)
        frac = np.mean(est.decision_function(X) < 0)
        assert nu - 1 / len(X) - 1e-9 <= frac <= nu + 1e-9
        assert est.offset_ == est.history_[-1]["r"] or len(est.history_) == 20


def test_ocnn_separates_cluster_from_origin():
    """OC-NN reaches AUROC >= 0.95 when a hyperplane can separate the normal data from the origin.

    Normal data: a Gaussian cluster N(3 * 1, I) in 8-d, far from the origin.  Anomalies: points
    scattered around the origin, N(0, 2^2 I).  The direction 1 / sqrt(8) separates them (normal
    projections ~ 8.5 +- 1, anomalies ~ 0 +- 2), which is what the OC-SVM-like objective looks for.
    Training is on normal data only; the test set holds fresh normals and anomalies.
    """
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(200, 8)) + 3).astype(np.float32)
    X_test = np.vstack([rng.normal(size=(100, 8)) + 3, 2 * rng.normal(size=(40, 8))]).astype(np.float32)
    y_test = np.r_[np.zeros(100), np.ones(40)]
    for activation in ("linear", "relu", "sigmoid"):
        est = OCNN(activation=activation, nu=0.05, verbose=0, num_epochs=40, batch_size=32).fit(X)
        assert roc_auc_score(y_test, -est.decision_function(X_test)) >= 0.95, activation


def test_ocnn_with_frozen_encoder():
    """encoder=nn.Module is copied and frozen; an AutoencoderDetector's encoder is used the same way."""
    X = np.random.default_rng(0).random((60, 1, 8, 8)).astype(np.float32)
    enc = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    before = [p.detach().clone() for p in enc.parameters()]
    est = OCNN(encoder=enc, **FAST).fit(X)
    assert all(not p.requires_grad for p in est.encoder_.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, est.encoder_.parameters()))
    assert est.transform(X).shape == (60, 32)
    ae = AutoencoderDetector(**FAST).fit(X)
    est2 = OCNN(encoder=ae, **FAST).fit(X)
    for k, v in ae.ae_.encoder.state_dict().items():
        assert torch.equal(v, est2.encoder_.state_dict()[k])
    with pytest.raises(ValueError, match="fitted"):
        OCNN(encoder=AutoencoderDetector(**FAST), **FAST).fit(X)


# ------------------------------------------------------------------------------------------------ persistence
@pytest.mark.parametrize(
    "make",
    [lambda: DeepSVDD(objective="soft-boundary", **FAST), lambda: OCNN(activation="sigmoid", **FAST),
     lambda: OCNN(pretrain=True, ae_epochs=1, **FAST), lambda: AutoencoderDetector(**FAST)],
    ids=["svdd", "ocnn", "ocnn-pretrained", "ae"],
)
def test_save_load_roundtrip(tmp_path, make):
    """save/load keeps weights, c, R or r, params and metadata: identical scores after loading."""
    X = np.random.default_rng(1).random((50, 1, 8, 8)).astype(np.float32)
    est = make().fit(X)
    path = tmp_path / "model.pt"
    est.save(path, metadata={"lo": np.float32(0.1), "hi": np.array([1.0, 2.0])})
    again = type(est).load(path)
    assert np.array_equal(est.score_samples(X), again.score_samples(X))
    assert again.offset_ == est.offset_
    assert again.get_params()["num_epochs"] == est.num_epochs
    assert np.array_equal(again.metadata_["hi"], [1.0, 2.0])
    assert np.array_equal(load(path).predict(X), est.predict(X))


def test_same_seed_same_scores():
    """Same random_state on CPU -> identical scores; another seed -> different scores."""
    X = _vectors()
    a = DeepSVDD(random_state=3, **FAST).fit(X).score_samples(X)
    b = DeepSVDD(random_state=3, **FAST).fit(X).score_samples(X)
    c = DeepSVDD(random_state=4, **FAST).fit(X).score_samples(X)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    o1 = OCNN(random_state=3, **FAST).fit(X).score_samples(X)
    o2 = OCNN(random_state=3, **FAST).fit(X).score_samples(X)
    assert np.array_equal(o1, o2)


def test_pretrain_with_a_fitted_autoencoder_transfers_its_encoder_and_saves(tmp_path):
    """pretrain=<fitted AutoencoderDetector>: phi starts from that encoder; the model saves and loads."""
    X = _vectors()
    ae = AutoencoderDetector(num_epochs=2, verbose=0, batch_size=32).fit(X)
    est = DeepSVDD(pretrain=ae, num_epochs=0, verbose=0, batch_size=32).fit(X)
    enc, phi = ae.ae_.encoder.state_dict(), est.net_.phi.state_dict()
    assert enc.keys() == phi.keys()
    assert all(torch.equal(enc[k], phi[k]) for k in enc)
    trained = DeepSVDD(pretrain=ae, num_epochs=2, verbose=0, batch_size=32).fit(X)
    assert not torch.equal(trained.net_.phi.state_dict()[next(iter(enc))], enc[next(iter(enc))])  # ae untouched,
    assert all(torch.equal(ae.ae_.encoder.state_dict()[k], enc[k]) for k in enc)                   # phi trained
    path = tmp_path / "svdd.pt"
    trained.save(path)
    assert np.array_equal(DeepSVDD.load(path).score_samples(X), trained.score_samples(X))
    with pytest.raises(ValueError, match="shape"):
        DeepSVDD(pretrain=ae, num_epochs=0, verbose=0).fit(np.c_[X, X])


@pytest.mark.parametrize("klass", [DeepSVDD, AutoencoderDetector])
def test_batch_size_one_is_refused_clearly(klass):
    """BatchNorm needs two samples per batch: batch_size=1 is a ValueError that names batch_size."""
    with pytest.raises(ValueError, match="batch_size"):
        klass(batch_size=1, num_epochs=1, verbose=0).fit(_vectors())


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_model_saved_on_a_gpu_loads_on_a_cpu_machine(tmp_path):
    """A model saved with device='cuda' loads here on the automatic device, with a warning, and scores the same."""
    X = _vectors()
    est = DeepSVDD(**FAST).fit(X)
    est.device = "cuda"  # as if it had been fitted on a GPU machine
    est.save(tmp_path / "m.pt")
    with pytest.warns(UserWarning, match="not available here"):
        again = DeepSVDD.load(tmp_path / "m.pt")
    assert again.device_.type == "cpu"
    assert np.array_equal(again.score_samples(X), est.score_samples(X))


# ------------------------------------------------------------------------------------------------ issue 10
@pytest.mark.parametrize("make", [
    lambda: DeepSVDD(**FAST),
    lambda: DeepSVDD(pretrain=True, ae_epochs=1, **FAST),
    lambda: OCNN(pretrain=True, ae_epochs=1, **FAST),
    lambda: AutoencoderDetector(**FAST),
], ids=["DeepSVDD", "DeepSVDD-pretrain", "OCNN-pretrain", "Autoencoder"])
def test_fit_leaves_the_callers_global_rngs_alone(make):
    """fit seeds private generators only: NumPy's, Python's and torch's global states are unchanged."""
    import random

    np.random.seed(123)
    random.seed(123)
    torch.manual_seed(123)
    np_state, py_state, torch_state = np.random.get_state(), random.getstate(), torch.get_rng_state()
    a = make().fit(_vectors()).score_samples(_vectors())
    assert np.array_equal(np.random.get_state()[1], np_state[1]) and np.random.get_state()[2] == np_state[2]
    assert random.getstate() == py_state
    assert torch.equal(torch.get_rng_state(), torch_state)
    torch.manual_seed(999)  # a different global state does not change the result: random_state alone decides
    np.testing.assert_array_equal(make().fit(_vectors()).score_samples(_vectors()), a)


@pytest.mark.parametrize("est", _all_estimators(), ids=lambda e: type(e).__name__)
def test_predict_and_scores_do_not_depend_on_the_batch(est):
    """Scoring rows alone, in odd batches or all together gives identical scores and labels."""
    X = _vectors(41)
    est.fit(X)
    full_s, full_p = est.score_samples(X), est.predict(X)
    parts = [slice(i, i + 3) for i in range(0, len(X), 3)]
    np.testing.assert_array_equal(np.concatenate([est.score_samples(X[p]) for p in parts]), full_s)
    np.testing.assert_array_equal(np.concatenate([est.predict(X[p]) for p in parts]), full_p)
    np.testing.assert_array_equal(np.concatenate([est.predict(X[i:i + 1]) for i in range(len(X))]), full_p)


def test_one_class_threshold_is_no_training_distance():
    """One-class Deep SVDD: the threshold lies strictly between two training distances (halfway)."""
    X = _vectors(60)
    est = DeepSVDD(**FAST).fit(X)
    d = np.sort(-est.score_samples(X))
    T = -est.offset_
    assert not np.any(d == T)
    k = np.searchsorted(d, T)
    assert T == pytest.approx((d[k - 1] + d[k]) / 2, rel=1e-6)
    assert np.mean(d > T) <= est.nu


@pytest.mark.parametrize("activation", ["linear", "sigmoid", "relu"])
def test_ocnn_pickles(activation):
    """No lambda in the OC-NN head: every activation pickles, and the copy scores the same."""
    import pickle

    X = _vectors(40)
    est = OCNN(activation=activation, **FAST).fit(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).score_samples(X), est.score_samples(X))


def test_training_diverged_names_epoch_and_setting():
    from ocad_lab.training import TrainingDiverged

    with pytest.raises(TrainingDiverged, match=r"epoch 1.*Lower the learning rate lr \(now 1000\)") as ei:
        DeepSVDD(lr=1e3, **FAST).fit(_vectors(150))
    assert ei.value.epoch == 1 and ei.value.loss > 1e6


def test_sane_learning_rates_do_not_trip_the_divergence_check():
    for lr in (1e-4, 1e-3, 1e-2, 1e-1):
        DeepSVDD(lr=lr, verbose=0, num_epochs=10, batch_size=32).fit(_vectors(200))
        AutoencoderDetector(lr=lr, verbose=0, num_epochs=10, batch_size=32).fit(_vectors(200))
    OCNN(lr=1e-2, verbose=0, num_epochs=30, batch_size=32).fit(_vectors(200))


def test_user_facing_docs_do_not_point_at_files_users_lack():
    """Docstrings say the conventions inline (or point at the README), not at the developers' DESIGN.md."""
    import ocad_lab.baselines
    import ocad_lab.estimators
    import ocad_lab.validation

    for mod in (ocad_lab.estimators, ocad_lab.baselines, ocad_lab.validation):
        assert "DESIGN.md" not in (mod.__doc__ or "")
    assert "decision_function(X) = score_samples(X) - offset_" in ocad_lab.estimators.__doc__
