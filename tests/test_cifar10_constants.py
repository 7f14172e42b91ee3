"""The Deep SVDD reference code's hard-coded CIFAR-10 min-max constants, recomputed with ``minmax_constants``.

Runs whenever CIFAR-10 is found (``OCAD_CIFAR10_DIR`` or the cache), skips otherwise (never downloads).
"""

from __future__ import annotations

import pytest

from ocad_lab import data

# GCN-L1, then (min, max) over the training images of each normal class 0..9, as the reference code lists them.
REFERENCE = [
    (-28.94083, 13.80296), (-6.68177, 9.15807), (-34.92446, 14.41930), (-10.59917, 11.09319),
    (-11.94502, 10.62805), (-9.69197, 8.94833), (-9.17494, 13.84701), (-6.87668, 12.28237),
    (-15.60351, 15.24649), (-6.13288, 8.04610),
]


@pytest.fixture(scope="module")
def cifar_train():
    try:
        return data.load_dataset("cifar10", "train", download=False)
    except data.DatasetUnavailable:
        pytest.skip("CIFAR-10 not found (set OCAD_CIFAR10_DIR to a folder with cifar-10-batches-py)")


@pytest.mark.parametrize("normal_class", range(10))
def test_cifar10_reference_minmax_constants(cifar_train, normal_class):
    X, y = cifar_train
    lo, hi = data.minmax_constants(X[y == normal_class])
    ref_lo, ref_hi = REFERENCE[normal_class]
    assert lo == pytest.approx(ref_lo, abs=1e-3)
    assert hi == pytest.approx(ref_hi, abs=1e-3)
