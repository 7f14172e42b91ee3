"""scikit-learn's own estimator checks over every detector of the kit (tiny settings: the file runs in well under
a minute on 2 cores).

``parametrize_with_checks`` runs scikit-learn's API, input-validation, pickling, outlier-detector and transformer
checks; ``check_param_validation`` (run by scikit-learn on its own estimators) checks that every setting is
declared in ``_parameter_constraints`` and refused with scikit-learn's message when invalid.

Expected failures: AnoGAN's two batch-invariance checks (reason in ``EXPECTED_FAILED``). A check that has to fail
goes into ``EXPECTED_FAILED`` with its reason (it is then an xfail), so the list stays short and reasoned.
"""

import warnings

import pytest
import torch
from sklearn.utils.estimator_checks import check_param_validation, parametrize_with_checks

from ocad_lab.baselines import CAEOCSVM, KDE, OCSVM, IsolationForest, KernelSVDD
from ocad_lab.adversarial import SignClassifier
from ocad_lab.anogan import AnoGAN
from ocad_lab.dbn import DBNSVDD
from ocad_lab.estimators import OCNN, AutoencoderDetector, DeepSVDD
from ocad_lab.paper_cae import PaperCAE
from ocad_lab.robust import RCAE, RDA, RPCAOCSVM

TINY = dict(num_epochs=2, batch_size=16, verbose=0)


def _estimators():
    return [
        OCSVM(),
        KernelSVDD(),
        KDE(bandwidth=1.0),
        KDE(),  # the bandwidth search (5-fold cross-validation)
        IsolationForest(n_estimators=10),
        CAEOCSVM(autoencoder=AutoencoderDetector(rep_dim=4, **TINY)),
        OCNN(hidden_dim=4, **TINY),
        OCNN(hidden_dim=4, activation="sigmoid", **TINY),
        DeepSVDD(rep_dim=4, **TINY),
        DeepSVDD(objective="soft-boundary", rep_dim=4, **TINY),
        AutoencoderDetector(rep_dim=4, **TINY),
        RPCAOCSVM(max_iter=50),
        DBNSVDD(n_components=(4, 3), n_iter=2),
        RDA(hidden=(4,), rep_dim=2, n_outer=2, inner_epochs=1, batch_size=16),
        AnoGAN(latent_dim=2, width=4, num_epochs=1, batch_size=16, n_iter=2, n_offset=32, verbose=0),
    ]


def _image_only():
    """Estimators that take only images (N, C, H, W): scikit-learn's checks feed (N, d) vectors, so these get the
    parameter-validation check here (it refuses bad settings before X is looked at) and their behaviour tests in
    tests/test_robust.py and tests/test_adversarial.py."""
    return [
        PaperCAE(rep_dim=4, num_epochs=1, batch_size=8),
        RCAE(rep_dim=4, n_outer=1, inner_epochs=1, batch_size=8),
        SignClassifier(width=2, num_epochs=1, batch_size=8, verbose=0),  # a 43-class image classifier
    ]


#: check name -> reason, per estimator class name. Keep it short: each entry is a known, explained limitation.
_ANOGAN_START = ("AnoGAN's latent search starts each point from its own draw of the prior N(0, I) (Schlegl et al.), "
                 "drawn by the point's position in the batch: reordering or subsetting X gives a point another "
                 "starting z, and after a short search (n_iter=2 here) a point near the threshold can change side")
EXPECTED_FAILED: dict[str, dict[str, str]] = {
    "AnoGAN": {"check_methods_sample_order_invariance": _ANOGAN_START,
               "check_methods_subset_invariance": _ANOGAN_START},
}
# (CAE-OC-SVM's check_methods_subset_invariance used to fail: float32 codes of a subset differed from the full
# batch's by ~1e-7. Scoring batches are now padded to one shape, so codes and scores are batch-size invariant.)


def _expected_failed(est):
    return EXPECTED_FAILED.get(type(est).__name__, {})


@pytest.fixture(autouse=True)
def _one_thread_quiet():
    """Tiny nets: one intra-op thread (faster and deterministic); the KDE grid-edge warning is expected here."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="KDE: the cross-validated log-likelihood")
        yield
    torch.set_num_threads(old)


@parametrize_with_checks(_estimators(), expected_failed_checks=_expected_failed)
def test_sklearn_estimator_checks(estimator, check):
    """Every kit estimator passes scikit-learn's estimator checks."""
    check(estimator)


@pytest.mark.parametrize("estimator", _estimators() + _image_only(), ids=lambda e: type(e).__name__)
def test_sklearn_param_validation(estimator):
    """Every setting is declared in _parameter_constraints and an invalid one is refused with sklearn's message."""
    check_param_validation(type(estimator).__name__, estimator)
