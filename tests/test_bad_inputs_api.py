"""A table of bad inputs, bad settings and faults through the public estimator API.

Each row asserts the exception type, that the message names the problem AND says what to do, and that the error
is raised from the kit (or scikit-learn's validation), never from inside torch or NumPy: no deep traceback, no
silent NaN, no lost file. The CLI / data rows of the same issue live with the CLI tests.
"""

import os
import pickle
import re
import traceback
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.exceptions import NotFittedError

from ocad_lab.adversarial import SignClassifier
from ocad_lab.anogan import AnoGAN
from ocad_lab.baselines import KDE, OCSVM, IsolationForest, KernelSVDD
from ocad_lab.dbn import DBNSVDD
from ocad_lab.estimators import OCNN, AutoencoderDetector, CheckpointError, DeepSVDD, load
from ocad_lab.paper_cae import PaperCAE
from ocad_lab.robust import RCAE, RDA, RPCAOCSVM
from ocad_lab.training import TrainingDiverged

T = dict(num_epochs=3, batch_size=32, verbose=0)


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _X(n=60, d=6, seed=0):
    return (np.random.default_rng(seed).normal(size=(n, d)) + 2).astype(np.float32)


_FITTED = {}


def _fitted(kind):
    """Small fitted models, built once per session."""
    if kind not in _FITTED:
        if kind == "svdd":
            _FITTED[kind] = DeepSVDD(**T).fit(_X())
        elif kind == "svdd_img":
            _FITTED[kind] = DeepSVDD(**T).fit(np.random.default_rng(0).random((20, 28, 28)).astype(np.float32))
        elif kind == "ocsvm_img":
            _FITTED[kind] = OCSVM().fit(np.random.default_rng(0).random((20, 28, 28)))
    return _FITTED[kind]


def _nan_X(X):
    X = np.array(X, dtype=np.float32)
    X.reshape(len(X), -1)[0, 0] = np.nan
    return X


def _img(n=16, c=1, hw=8, seed=0):
    return np.random.default_rng(seed).random((n, c, hw, hw)).astype(np.float32)


#: tiny settings of the estimators brought onto the issue-10 base later (robust, DBN, paper CAE, AnoGAN, signs)
RDA_T = dict(hidden=(4,), rep_dim=2, n_outer=1, inner_epochs=1, batch_size=16)
CAE_T = dict(rep_dim=4, num_epochs=1, batch_size=8)
GAN_T = dict(latent_dim=2, width=4, num_epochs=1, batch_size=16, n_iter=2, n_offset=16, verbose=0)
SIGN_T = dict(width=2, num_epochs=1, batch_size=8, verbose=0)


def _malicious_file(path, marker):
    """A pickle whose loading would create ``marker`` (torch.load(weights_only=True) must refuse it)."""

    class Evil:
        def __reduce__(self):
            return (Path.touch, (Path(marker),))

    with open(path, "wb") as fh:
        pickle.dump({"class": "DeepSVDD", "payload": Evil()}, fh)


def _checkpoint_row(make_file):
    def run(tmp_path):
        path = tmp_path / "model.pt"
        make_file(path, tmp_path)
        return load(path)

    return run


def _save_fails_keeps_previous(tmp_path):
    est = _fitted("svdd")
    path = tmp_path / "model.pt"
    est.save(path)
    before = path.read_bytes()
    try:
        est.save(path, metadata={"fn": lambda x: x})  # not storable
    finally:
        assert path.read_bytes() == before  # the previous checkpoint is untouched
        assert np.allclose(load(path).score_samples(_X()), est.score_samples(_X()))
        assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left behind


# id -> (callable taking tmp_path, exception type, regex naming the problem, regex saying what to do)
ROWS = {
    # ---------------------------------------------------------------- settings (checked before any work)
    "weight_decay=nan": (lambda p: DeepSVDD(weight_decay=np.nan, **T).fit(_X()), ValueError,
                         r"'weight_decay' parameter of DeepSVDD must be a float in the range \[0.0, inf\). Got nan",
                         r"set_params\(weight_decay="),
    "weight_decay=inf": (lambda p: DeepSVDD(weight_decay=np.inf, **T).fit(_X()), ValueError,
                         r"'weight_decay' parameter.*Got inf", r"set_params"),
    "weight_decay<0": (lambda p: AutoencoderDetector(weight_decay=-1e-3, **T).fit(_X()), ValueError,
                       r"'weight_decay' parameter.*\[0.0, inf\)", r"set_params"),
    "weight_decay='1e-6'": (lambda p: DeepSVDD(weight_decay="1e-6", **T).fit(_X()), TypeError,
                            r"'weight_decay' parameter.*Got '1e-6'", r"Pass the number 1e-06, not the string"),
    "leaky_slope=nan": (lambda p: DeepSVDD(leaky_slope=np.nan, **T).fit(_X()), ValueError,
                        r"'leaky_slope' parameter.*Got nan", r"set_params"),
    "eps<0": (lambda p: DeepSVDD(eps=-0.1, **T).fit(_X()), ValueError, r"'eps' parameter.*\(0.0, inf\)",
              r"set_params"),
    "eps=nan": (lambda p: DeepSVDD(eps=np.nan, **T).fit(_X()), ValueError, r"'eps' parameter.*Got nan", r"set_params"),
    "lr=0": (lambda p: DeepSVDD(lr=0, **T).fit(_X()), ValueError, r"'lr' parameter.*\(0.0, inf\)", r"set_params"),
    "ocnn lr=inf": (lambda p: OCNN(lr=np.inf, **T).fit(_X()), ValueError, r"'lr' parameter of OCNN", r"set_params"),
    "ae_lr=-1": (lambda p: DeepSVDD(ae_lr=-1.0, pretrain=True, **T).fit(_X()), ValueError,
                 r"'ae_lr' parameter", r"set_params"),
    "nu=1.5": (lambda p: DeepSVDD(nu=1.5, **T).fit(_X()), ValueError, r"'nu' parameter.*\(0.0, 1.0\]", r"set_params"),
    "nu=0 (OCSVM)": (lambda p: OCSVM(nu=0).fit(_X()), ValueError, r"'nu' parameter of OCSVM", r"set_params"),
    "centre with NaN": (lambda p: DeepSVDD(center=np.full(32, np.nan), **T).fit(_X()), ValueError,
                        r"center of DeepSVDD must be finite.*32 of them NaN", r"Pass finite values"),
    "batch_size=1": (lambda p: AutoencoderDetector(num_epochs=1, batch_size=1, verbose=0).fit(_X()), ValueError,
                     r"'batch_size' parameter.*\[2, inf\)", r"set_params"),
    "hidden_dim=0": (lambda p: OCNN(hidden_dim=0, **T).fit(_X()), ValueError, r"'hidden_dim' parameter", r"set_params"),
    "num_epochs=2.5": (lambda p: DeepSVDD(num_epochs=2.5, verbose=0).fit(_X()), TypeError,
                       r"'num_epochs' parameter.*int", r"set_params"),
    "lr_milestones=(-5,)": (lambda p: DeepSVDD(lr_milestones=(-5,), **T).fit(_X()), ValueError,
                            r"lr_milestones must be positive", r"e\.g\. \(50,\)"),
    "objective='hard'": (lambda p: DeepSVDD(objective="hard", **T).fit(_X()), ValueError,
                         r"'objective' parameter.*'one-class'", r"set_params"),
    "KDE bandwidths with NaN": (lambda p: KDE(bandwidths=[0.5, np.nan]).fit(_X()), ValueError,
                                r"bandwidths must be positive finite numbers", r"positive finite"),
    "OCSVM gamma<0": (lambda p: OCSVM(gamma=-1.0).fit(_X()), ValueError, r"'gamma' parameter of OCSVM", r"set_params"),
    "KernelSVDD C=nan": (lambda p: KernelSVDD(C=np.nan).fit(_X()), ValueError, r"'C' parameter", r"set_params"),
    "IsolationForest n_estimators=0": (lambda p: IsolationForest(n_estimators=0).fit(_X()), ValueError,
                                       r"'n_estimators' parameter", r"set_params"),
    "device='meta'": (lambda p: DeepSVDD(device="meta", **T).fit(_X()), ValueError, r"Device 'meta'.*cannot train or score",
                      r"use 'cpu', 'cuda'"),
    "device='nonsense'": (lambda p: OCNN(device="nonsense", **T).fit(_X()), ValueError,
                          r"Unknown device 'nonsense' \(the device argument\)", r"use 'cpu'"),
    "device=42": (lambda p: OCNN(device=42, **T).fit(_X()), TypeError, r"'device' parameter of OCNN",
                  r"set_params\(device="),
    # settings of the robust / DBN / paper-CAE / AnoGAN / sign estimators
    "RPCAOCSVM lam_scale='1'": (lambda p: RPCAOCSVM(lam_scale="1").fit(_X()), TypeError,
                                r"'lam_scale' parameter of RPCAOCSVM.*Got '1'", r"Pass the number 1\.0, not the string"),
    "RPCAOCSVM max_components=0": (lambda p: RPCAOCSVM(max_components=0).fit(_X()), ValueError,
                                   r"'max_components' parameter of RPCAOCSVM.*\[1, inf\)", r"set_params"),
    "RPCAOCSVM device='nonsense'": (lambda p: RPCAOCSVM(device="nonsense").fit(_X()), ValueError,
                                    r"Unknown device 'nonsense'", r"use 'cpu'"),
    "DBNSVDD n_components=(3,)": (lambda p: DBNSVDD(n_components=(3,)).fit(_X()), ValueError,
                                  r"n_components must be two positive ints", r"e\.g\. \(256, 64\)"),
    "DBNSVDD learning_rate=nan": (lambda p: DBNSVDD(learning_rate=np.nan).fit(_X()), ValueError,
                                  r"'learning_rate' parameter of DBNSVDD.*Got nan", r"set_params"),
    "DBNSVDD n_iter='5'": (lambda p: DBNSVDD(n_iter="5").fit(_X()), TypeError, r"'n_iter' parameter.*Got '5'",
                           r"Pass the number 5\.0, not the string"),
    "RDA lr='1e-3'": (lambda p: RDA(**{**RDA_T, "lr": "1e-3"}).fit(_X()), TypeError,
                      r"'lr' parameter of RDA.*Got '1e-3'", r"Pass the number 0\.001, not the string"),
    "RDA hidden=(0,)": (lambda p: RDA(**{**RDA_T, "hidden": (0,)}).fit(_X()), ValueError,
                        r"hidden must be a sequence of positive layer sizes", r"e\.g\. \(200,\)"),
    "RDA penalty='l3'": (lambda p: RDA(**{**RDA_T, "penalty": "l3"}).fit(_X()), ValueError,
                         r"'penalty' parameter of RDA.*'l21'", r"set_params"),
    "RCAE on vectors": (lambda p: RCAE(rep_dim=4, n_outer=1, inner_epochs=1).fit(_X()), ValueError,
                        r"needs images", r"Use net='mlp' \(RDA\) for vectors"),
    "PaperCAE num_epochs='3'": (lambda p: PaperCAE(**{**CAE_T, "num_epochs": "3"}).fit(_img()), TypeError,
                                r"'num_epochs' parameter of PaperCAE.*Got '3'", r"Pass the number 3\.0"),
    "PaperCAE nu=0": (lambda p: PaperCAE(**{**CAE_T, "nu": 0}).fit(_img()), ValueError,
                      r"'nu' parameter of PaperCAE.*\(0\.0, 1\.0\]", r"set_params"),
    "PaperCAE on vectors": (lambda p: PaperCAE(**CAE_T).fit(_X()), ValueError, r"needs images",
                            r"reshape them"),
    "AnoGAN lam=2": (lambda p: AnoGAN(**{**GAN_T, "lam": 2.0}).fit(_X()), ValueError,
                     r"'lam' parameter of AnoGAN.*\[0\.0, 1\.0\]", r"set_params"),
    "AnoGAN n_iter='10'": (lambda p: AnoGAN(**{**GAN_T, "n_iter": "10"}).fit(_X()), TypeError,
                           r"'n_iter' parameter of AnoGAN.*Got '10'", r"Pass the number 10\.0"),
    "SignClassifier lr='0.001'": (lambda p: SignClassifier(**{**SIGN_T, "lr": "0.001"}).fit(_img(c=3), np.zeros(16, int)),
                                  TypeError, r"'lr' parameter of SignClassifier.*Got '0\.001'",
                                  r"Pass the number 0\.001, not the string"),
    "SignClassifier bad y": (lambda p: SignClassifier(**SIGN_T).fit(_img(c=3), np.full(16, 50)), ValueError,
                             r"y must hold one integer class id", r"in 0\.\.42 per image"),
    # ---------------------------------------------------------------- diverging fits
    "DeepSVDD lr=1": (lambda p: DeepSVDD(lr=1.0, **T).fit(_X(200)), TrainingDiverged,
                      r"Deep SVDD diverged at epoch \d+", r"Lower the learning rate lr \(now 1\)"),
    "DeepSVDD lr=1e3": (lambda p: DeepSVDD(lr=1e3, **T).fit(_X(200)), TrainingDiverged,
                        r"diverged at epoch 1.*times the loss of the untrained model", r"Lower the learning rate lr"),
    "OCNN lr=1e30": (lambda p: OCNN(lr=1e30, **T).fit(_X(200)), TrainingDiverged,
                     r"OC-NN diverged at epoch 1: the training loss became NaN or infinite",
                     r"Lower the learning rate"),
    "Autoencoder lr=1e3": (lambda p: AutoencoderDetector(lr=1e3, **T).fit(_X(200)), TrainingDiverged,
                           r"DCAE diverged at epoch 1", r"Lower the learning rate lr"),
    "DeepSVDD pretraining ae_lr=1e3": (lambda p: DeepSVDD(pretrain=True, ae_lr=1e3, ae_epochs=2, **T).fit(_X(200)),
                                       TrainingDiverged, r"DCAE pretraining diverged", r"learning rate ae_lr"),
    "OCNN lr=1": (lambda p: OCNN(lr=1.0, num_epochs=20, batch_size=32, verbose=0).fit(_X(200)), TrainingDiverged,
                  r"OC-NN diverged at epoch \d+: the mean training loss .* times the loss of the untrained model",
                  r"Lower the learning rate lr \(now 1\), e\.g\. to 0\.1"),
    "DeepSVDD lr=1 names weight_decay": (lambda p: DeepSVDD(lr=1.0, weight_decay=1e-3, **T).fit(_X(200)),
                                         TrainingDiverged, r"diverged", r"check weight_decay \(now 0\.001\)"),
    "RDA lr=1e3": (lambda p: RDA(**{**RDA_T, "inner_epochs": 3, "lr": 1e3}).fit(_X(200)), TrainingDiverged,
                   r"robust AE 1/1 diverged at epoch 1", r"Lower the learning rate lr \(now 1000\)"),
    "PaperCAE lr=1e3": (lambda p: PaperCAE(**{**CAE_T, "num_epochs": 3, "lr": 1e3}).fit(_img(40)), TrainingDiverged,
                        r"paper CAE diverged at epoch 1", r"Lower the learning rate lr \(now 1000\)"),
    "AnoGAN lr=1e30": (lambda p: AnoGAN(**{**GAN_T, "num_epochs": 3, "lr": 1e30}).fit(_X(200)), TrainingDiverged,
                       r"AnoGAN diverged at epoch 1: the GAN's training loss became NaN or infinite",
                       r"Lower the learning rate lr \(now 1e\+30\)"),
    # ---------------------------------------------------------------- bad X
    "zero features": (lambda p: DeepSVDD(**T).fit(np.zeros((20, 0), np.float32)), ValueError, r"0 feature",
                      r"minimum of 1 is required"),
    "complex X": (lambda p: OCSVM().fit(_X() + 1j), ValueError, r"Complex data not supported", r"np\.real"),
    "object X": (lambda p: DeepSVDD(**T).fit(np.array([[1.0, {"a": 1}]] * 4, dtype=object)), TypeError,
                 r"argument must be .* number", r"must be numeric"),
    "sparse X": (lambda p: DeepSVDD(**T).fit(sp.csr_matrix(_X())), TypeError, r"sparse input is unsupported",
                 r"toarray\(\)"),
    "1-D X": (lambda p: KDE().fit(_X()[0]), ValueError, r"Expected 2D array, got 1D", r"Reshape your data"),
    "NaN in X": (lambda p: OCNN(**T).fit(np.where(_X() > 3.5, np.nan, _X())), ValueError, r"NaN or infinite values",
                 r"impute"),
    "NaN in X (RPCAOCSVM)": (lambda p: RPCAOCSVM().fit(_nan_X(_X())), ValueError, r"1 NaN", r"impute"),
    "NaN in X (DBNSVDD)": (lambda p: DBNSVDD().fit(_nan_X(_X())), ValueError, r"1 NaN", r"impute"),
    "NaN in X (RDA)": (lambda p: RDA(**RDA_T).fit(_nan_X(_X())), ValueError, r"1 NaN", r"impute"),
    "NaN in X (PaperCAE)": (lambda p: PaperCAE(**CAE_T).fit(_nan_X(_img())), ValueError, r"1 NaN", r"impute"),
    "NaN in X (AnoGAN)": (lambda p: AnoGAN(**GAN_T).fit(_nan_X(_X())), ValueError, r"1 NaN", r"impute"),
    "NaN in X (SignClassifier)": (lambda p: SignClassifier(**SIGN_T).fit(_nan_X(_img(c=3)), np.zeros(16, int)),
                                  ValueError, r"1 NaN", r"impute"),
    "wrong feature count (RPCAOCSVM)": (lambda p: RPCAOCSVM().fit(_X()).score_samples(_X()[:, :4]), ValueError,
                                        r"X has 4 features, but RPCAOCSVM is expecting 6", r"same shape"),
    "wrong image size (PaperCAE)": (lambda p: PaperCAE(**CAE_T).fit(_img()).score_samples(_img(hw=12)), ValueError,
                                    r"but PaperCAE is expecting 64", r"same shape and preprocessing"),
    "inf in X at predict": (lambda p: _fitted("svdd").predict(np.full((2, 6), np.inf, np.float32)), ValueError,
                            r"2 inf", r"remove or impute"),
    "wrong feature count": (lambda p: _fitted("svdd").score_samples(_X()[:, :4]), ValueError,
                            r"X has 4 features, but DeepSVDD is expecting 6", r"same shape and preprocessing"),
    "single 28x28 image (deep)": (lambda p: _fitted("svdd_img").predict(np.zeros((28, 28), np.float32)), ValueError,
                                  r"X has 28 features, but DeepSVDD is expecting 784", r"X\[None\]"),
    "single 28x28 image (OCSVM)": (lambda p: _fitted("ocsvm_img").predict(np.zeros((28, 28))), ValueError,
                                   r"expecting 784 features", r"X\[None\]"),
    "ambiguous image layout": (lambda p: AutoencoderDetector(**T).fit(np.zeros((8, 3, 8, 3), np.float32)), ValueError,
                               r"layout cannot be told", r"torch\.from_numpy"),
    "one sample": (lambda p: DeepSVDD(**T).fit(_X()[:1]), ValueError, r"1 sample", r"minimum of 2 is required"),
    "predict before fit": (lambda p: DeepSVDD(**T).predict(_X()), NotFittedError, r"not fitted yet",
                           r"Call 'fit'"),
    # ---------------------------------------------------------------- checkpoints
    "save fails (unpicklable metadata)": (_save_fails_keeps_previous, CheckpointError,
                                          r"metadata can hold only numbers.*got a function",
                                          r"previous file at this path is unchanged"),
    "save into a missing folder": (lambda p: _fitted("svdd").save(p / "no" / "such" / "m.pt"), FileNotFoundError,
                                   r"folder .* does not exist", r"mkdir\(parents=True\)"),
    "save onto a folder": (lambda p: _fitted("svdd").save(p), CheckpointError, r"is a folder", r"pass a file name"),
    "load missing file": (lambda p: load(p / "nope.pt"), FileNotFoundError, r"No checkpoint at", r"check the path"),
    "load empty file": (_checkpoint_row(lambda f, d: f.write_bytes(b"")), CheckpointError, r"is empty",
                        r"Load only checkpoints written by est\.save"),
    "load truncated file": (_checkpoint_row(lambda f, d: (_fitted("svdd").save(f),
                                                          f.write_bytes(f.read_bytes()[:300]))),
                            CheckpointError, r"not an ocad_lab checkpoint.*truncated", r"re-create this one"),
    "load a plain list": (_checkpoint_row(lambda f, d: torch.save([1, 2, 3], f)), CheckpointError,
                          r"not an ocad_lab checkpoint: it holds a list", r"Load only checkpoints"),
    "load a foreign dict": (_checkpoint_row(lambda f, d: torch.save({"state_dict": {}}, f)), CheckpointError,
                            r"dict without the kit's keys", r"Load only checkpoints"),
    "load a text file": (_checkpoint_row(lambda f, d: f.write_text("hello, not a model\n" * 50)), CheckpointError,
                         r"not an ocad_lab checkpoint", r"Load only checkpoints"),
    "load a malicious pickle": (_checkpoint_row(lambda f, d: _malicious_file(f, d / "pwned")), CheckpointError,
                                r"not a trusted ocad_lab checkpoint.*may be malicious", r"Nothing in it was executed"),
    "load a folder": (lambda p: load(p), CheckpointError, r"is a folder", r"pass the file that est\.save wrote"),
    "load an OCNN file as DeepSVDD": (lambda p: (OCNN(**T).fit(_X()).save(p / "m.pt"), DeepSVDD.load(p / "m.pt")),
                                      CheckpointError, r"holds a 'OCNN' model, not a DeepSVDD",
                                      r"ocad_lab\.estimators\.load\(path\)"),
}


def _origin(excinfo) -> str:
    return traceback.extract_tb(excinfo.tb)[-1].filename.replace("\\", "/")


@pytest.mark.parametrize("row", list(ROWS), ids=list(ROWS))
def test_bad_input_gets_a_clear_error(row, tmp_path):
    run, exc, problem, todo = ROWS[row]
    with pytest.raises(exc) as ei:
        run(tmp_path)
    msg = str(ei.value)
    assert re.search(problem, msg, flags=re.DOTALL), f"problem not named: {msg!r}"
    assert re.search(todo, msg, flags=re.DOTALL), f"no advice on what to do: {msg!r}"
    assert "weights_only" not in msg  # never torch's advice to load untrusted files unsafely
    origin = _origin(ei)
    assert "/torch/" not in origin and "/numpy/" not in origin, f"raised from inside {origin}"
    if exc is not NotFittedError:  # sklearn's own check_is_fitted raises that one
        assert "/ocad_lab/" in origin, f"raised from {origin}, not from the kit"
    assert not (tmp_path / "pwned").exists()  # a malicious checkpoint never runs


def test_the_table_is_large():
    assert len(ROWS) >= 40


def test_channels_last_images_train_as_channels_first_nets():
    """(N, 32, 32, 3) is read as 3 channels of 32x32, not 32 channels of 32x3: net='auto' picks LeNet-CIFAR."""
    X = np.random.default_rng(0).random((6, 32, 32, 3)).astype(np.float32)
    with pytest.warns(UserWarning, match="channels-last"):
        est = AutoencoderDetector(rep_dim=4, num_epochs=1, batch_size=3, verbose=0).fit(X)
    assert est.input_shape_ == (3, 32, 32) and est.arch_["name"] == "cifar10"
    with pytest.warns(UserWarning, match="channels-last"):
        s_last = est.score_samples(X)
    np.testing.assert_allclose(s_last, est.score_samples(X.transpose(0, 3, 1, 2)))


def test_uint8_images_warn_about_the_scale():
    X = (np.random.default_rng(0).random((6, 8, 8)) * 255).astype(np.uint8)
    with pytest.warns(UserWarning, match=r"raw pixel values.*\[0, 1\].*ocad_lab\.data\.preprocess"):
        OCSVM().fit(X)


def test_a_failing_save_leaves_no_temporary_file_and_an_interrupted_one_neither(tmp_path, monkeypatch):
    """An exception inside torch.save (e.g. KeyboardInterrupt) leaves the previous file and no stray tmp file."""
    est = _fitted("svdd")
    path = tmp_path / "m.pt"
    est.save(path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        est.save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.pt"]


def test_ocad_device_nonsense_is_refused_before_training(monkeypatch):
    monkeypatch.setenv("OCAD_DEVICE", "nonsense")
    with pytest.raises(ValueError, match=r"Unknown device 'nonsense' \(OCAD_DEVICE\).*use 'cpu'"):
        DeepSVDD(**T).fit(_X())


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda_says_what_to_do():
    with pytest.raises(RuntimeError, match=r"CUDA is not available here.*'cpu'"):
        DeepSVDD(device="cuda", **T).fit(_X())


def test_former_check_input_still_works():
    from ocad_lab.estimators import check_input

    assert check_input(np.zeros((3, 8, 8))).shape == (3, 1, 8, 8)
    with pytest.raises(ValueError, match="shape"):
        check_input(np.zeros((3, 4)), fitted_shape=(5,))
