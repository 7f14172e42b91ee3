"""Smoke tests for the benchmark scripts at a tiny size: they still run and produce complete tables.

No timing is asserted (only that timings are measured and positive); the numbers themselves are for
``python benchmarks/bench_*.py`` on a quiet machine.
"""

import importlib.util
import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    """Import benchmarks/<name>.py as a module (the folder is not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_training_benchmark_tiny_table():
    """Three rows (MNIST Deep SVDD, its autoencoder, CIFAR-10 Deep SVDD), positive seconds, consistent speed-up."""
    bench = _load("bench_training")
    table = bench.run("tiny", threads=1)
    assert list(table["net"]) == ["LeNet-MNIST Deep SVDD", "LeNet-MNIST autoencoder", "LeNet-CIFAR-10 Deep SVDD"]
    assert "random" in table["data"].iloc[2]  # the CIFAR row says it uses random images
    assert list(table["n_images"]) == [32, 32, 32]
    for col in ("reference_s_per_epoch", "kit_s_per_epoch"):
        assert (table[col] > 0).all() and table[col].map(math.isfinite).all()
    ratio = table["reference_s_per_epoch"] / table["kit_s_per_epoch"]
    assert ratio.round(9).tolist() == table["speed_up"].round(9).tolist()


def test_training_benchmark_rejects_unknown_size():
    """A typo in the size is an error that names the choices, not a KeyError."""
    bench = _load("bench_training")
    with pytest.raises(ValueError, match="tiny"):
        bench.run("smal")


def test_reference_dataset_matches_kit_preprocessing():
    """The reference-style per-sample Dataset normalises each image exactly as the kit's one-shot preprocessing."""
    import numpy as np

    bench = _load("bench_training")
    work = bench._workload_from_images("mnist", bench._random_images(5, (1, 28, 28)), "random")
    ds = bench.PerSampleImages(work.images, work.lo, work.hi)
    per_sample = np.stack([ds[i][0].numpy() for i in range(len(ds))])
    np.testing.assert_allclose(per_sample, work.preprocessed(), rtol=1e-5, atol=1e-5)


def test_detector_benchmark_tiny_table():
    """Four detectors on the bundled MNIST subset, each with an AUROC in [0, 1] and a positive wall time."""
    pytest.importorskip("pyod")
    bench = _load("bench_detectors")
    table = bench.run("tiny", threads=1)
    assert sorted(table["detector"]) == sorted(
        ["ocad_lab DeepSVDD (LeNet)", "PyOD DeepSVDD (MLP)", "OC-SVM + PCA95", "IsolationForest + PCA95"]
    )
    assert (table["data"] == "mnist5k class 0").all()
    assert table["auroc"].between(0, 1).all()
    assert (table["seconds"] > 0).all()
