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
    for col in ("reference_s_per_epoch", "ref_loop_kit_net_s", "kit_s_per_epoch"):
        assert (table[col] > 0).all() and table[col].map(math.isfinite).all()
    ratio = table["reference_s_per_epoch"] / table["kit_s_per_epoch"]
    assert ratio.round(9).tolist() == table["speed_up"].round(9).tolist()


def test_training_benchmark_repeats_report_medians():
    """--repeats N times the table N times: each cell is a median, the speed-up range spans the runs."""
    bench = _load("bench_training")
    table = bench.run("tiny", threads=1, repeats=2)
    ratio = table["reference_s_per_epoch"] / table["kit_s_per_epoch"]
    assert ratio.round(9).tolist() == table["speed_up"].round(9).tolist()
    for text in table["speed_up_range"]:
        lo, hi = (float(v) for v in text.split("-"))
        assert 0 < lo <= hi
    with pytest.raises(ValueError, match="repeats"):
        bench.run("tiny", repeats=0)


def test_training_benchmark_rejects_unknown_size():
    """A typo in the size is an error that names the choices, not a KeyError."""
    bench = _load("bench_training")
    with pytest.raises(ValueError, match="tiny"):
        bench.run("smal")


def test_reference_dataset_matches_kit_preprocessing():
    """The reference-style per-sample Dataset normalises each image exactly as the kit's one-shot preprocessing."""
    import numpy as np

    bench = _load("bench_training")
    for shape in [(1, 28, 28), (3, 32, 32)]:
        work = bench._workload_from_images("w", bench._random_images(5, shape), "random")
        ds = bench.PerSampleImages(work.images, work.lo, work.hi)
        items = [ds[i] for i in range(len(ds))]
        assert [(t, i) for _, t, i in items] == [(0, i) for i in range(5)]  # normal target, and the index
        per_sample = np.stack([x.numpy() for x, _, _ in items])
        np.testing.assert_allclose(per_sample, work.preprocessed(), rtol=1e-5, atol=1e-5)


def test_emulated_transform_equals_torchvision():
    """Where torchvision is installed, the emulation computes what torchvision's transforms compute."""
    pytest.importorskip("torchvision")
    import numpy as np
    from PIL import Image

    bench = _load("bench_training")
    if bench.TORCHVISION is None:
        pytest.skip("torchvision is installed but not usable beside this torch build")
    imgs = bench._random_images(3, (3, 32, 32)).transpose(0, 2, 3, 1)
    real, emulated = bench.reference_transform(-2.0, 3.0, 3), bench.EmulatedToTensorNormalize(-2.0, 3.0)
    for a in imgs:
        img = Image.fromarray(np.ascontiguousarray(a))
        np.testing.assert_allclose(real(img).numpy(), emulated(img).numpy(), rtol=1e-6, atol=1e-6)


def test_reference_nets_compute_what_the_kit_nets_compute():
    """The reference order (activation, then pooling) gives the kit encoder's outputs with the same weights; the
    reference MNIST decoder maps the 32-d code back to 1x28x28 images in (0, 1)."""
    import torch

    from ocad_lab import nets

    bench = _load("bench_training")
    for name, shape in [("mnist", (1, 28, 28)), ("cifar10", (3, 32, 32))]:
        torch.manual_seed(0)
        kit = nets.build_encoder(name, shape)
        ref = bench.reference_net("svdd", name, shape)
        ref.load_state_dict(kit.state_dict())
        kinds = [type(m).__name__ for m in ref.features][:4]
        assert kinds == ["Conv2d", "BatchNorm2d", "LeakyReLU", "MaxPool2d"] and not ref.channels_last
        x = torch.rand(8, *shape)
        torch.testing.assert_close(ref(x), kit(x), rtol=1e-4, atol=1e-5)  # layouts differ in the last bits
    ae = bench.reference_net("ae", "mnist", (1, 28, 28))
    y = ae(torch.rand(4, 1, 28, 28)).detach()
    assert y.shape == (4, 1, 28, 28) and float(y.min()) > 0 and float(y.max()) < 1
    assert not any(n.endswith("bias") for n, _ in ae.named_parameters())


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


def test_stack_benchmark_tiny_rows():
    """bench_stacks: one row per K with positive seconds; the speed-up is the ratio of the two columns."""
    bench = _load("bench_stacks")
    rows = bench.stack_rows(ks=(1, 2), batches=1, threads=1)
    assert [r["K"] for r in rows] == [1, 2]
    for r in rows:
        assert r["stack_s_per_epoch"] > 0 and r["k_singles_s_per_epoch"] > 0
        assert math.isclose(r["speed_up"], r["k_singles_s_per_epoch"] / r["stack_s_per_epoch"])
