"""Tests of ocad_lab.data: file parsers, where files are looked for, offline behaviour, splits, preprocessing."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from ocad_lab import data
from ocad_lab.data import DatasetUnavailable

SHARED_MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
IDX_STEMS = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


# ---------------------------------------------------------------------------------------------------- helpers


def idx_bytes(array, code=0x08):
    """Encode an array as IDX: two zero bytes, type code, ndim, big-endian dims, then the values."""
    array = np.asarray(array)
    head = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + array.astype(">u1" if code == 0x08 else array.dtype.newbyteorder(">")).tobytes()


def write_idx(path, array, gz=True):
    """Write an IDX file, gzipped when ``gz``."""
    raw = idx_bytes(array)
    Path(path).write_bytes(gzip.compress(raw) if gz else raw)


def write_mnist_folder(folder, n_train=30, n_test=20, seed=0, gz=True):
    """Write a tiny MNIST-like folder (4 IDX files); return the uint8 arrays written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        suffix = ".gz" if gz else ""
        write_idx(folder / f"{split}-images-idx3-ubyte{suffix}", images, gz)
        write_idx(folder / f"{split}-labels-idx1-ubyte{suffix}", labels, gz)
        arrays[split] = (images, labels)
    return arrays


def write_cifar_folder(folder, n_per_batch=4, seed=0):
    """Write a tiny cifar-10-batches-py folder (bytes keys, as the official python-2 pickles); return the arrays."""
    rng = np.random.default_rng(seed)
    base = folder / "cifar-10-batches-py"
    base.mkdir(parents=True, exist_ok=True)
    written = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        flat = rng.integers(0, 256, size=(n_per_batch, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n_per_batch)]
        with open(base / name, "wb") as fh:
            pickle.dump({b"batch_label": b"x", b"data": flat, b"labels": labels}, fh, protocol=2)
        written[name] = (flat, labels)
    return written


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """An empty cache, no per-data-set folders, offline, and no Debian Fashion-MNIST: nothing is on disk."""
    monkeypatch.setenv("OCAD_DATA_DIR", str(tmp_path / "cache"))
    for var in ("OCAD_MNIST_DIR", "OCAD_FASHION_MNIST_DIR", "OCAD_CIFAR10_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OCAD_OFFLINE", "1")
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")

    def no_download(name):
        raise AssertionError(f"tried to download {name}")

    monkeypatch.setattr(data, "_download", no_download)
    return tmp_path


# ---------------------------------------------------------------------------------------------------- IDX parser


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trip(tmp_path, gz):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, images, gz=gz)
    out = data.read_idx(path)
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, images)


def test_read_idx_multibyte_big_endian(tmp_path):
    values = np.array([1, 256, -2], dtype=np.int32)
    path = tmp_path / "ints"
    path.write_bytes(idx_bytes(values, code=0x0C))
    np.testing.assert_array_equal(data.read_idx(path), values)


def test_read_idx_bad_magic(tmp_path):
    path = tmp_path / "bad"
    path.write_bytes(b"\x01\x02\x08\x01" + struct.pack(">I", 3) + b"abc")
    with pytest.raises(ValueError, match="magic"):
        data.read_idx(path)


def test_read_idx_truncated(tmp_path):
    path = tmp_path / "short.gz"
    raw = idx_bytes(np.zeros((5, 28, 28), dtype=np.uint8))
    path.write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(ValueError, match="truncated"):
        data.read_idx(path)


def test_read_idx_truncated_gzip_stream(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((5, 28, 28), dtype=np.uint8)))[:-20])
    with pytest.raises(ValueError, match="gzip"):
        data.read_idx(path)


# ---------------------------------------------------------------------------------------------------- CIFAR parser


def test_read_cifar_batch_layout(tmp_path):
    flat = np.zeros((2, 3072), dtype=np.uint8)
    flat[0, :1024] = 10  # red plane of image 0
    flat[0, 1024:2048] = 20  # green
    flat[0, 2048:] = 30  # blue
    flat[1, 5] = 7  # image 1, red, row 0, column 5
    path = tmp_path / "data_batch_1"
    with open(path, "wb") as fh:
        pickle.dump({b"data": flat, b"labels": [3, 5]}, fh, protocol=2)
    X, y = data.read_cifar_batch(path)
    assert X.shape == (2, 3, 32, 32) and X.dtype == np.uint8
    assert (X[0, 0] == 10).all() and (X[0, 1] == 20).all() and (X[0, 2] == 30).all()
    assert X[1, 0, 0, 5] == 7 and X[1].sum() == 7
    np.testing.assert_array_equal(y, [3, 5])


def test_read_cifar_batch_str_keys_and_protocol_5(tmp_path):
    path = tmp_path / "b"
    with open(path, "wb") as fh:
        pickle.dump({"data": np.ones((1, 3072), np.uint8), "labels": [9]}, fh, protocol=5)
    X, y = data.read_cifar_batch(path)
    assert X.shape == (1, 3, 32, 32) and y.tolist() == [9]


def test_read_cifar_batch_refuses_code(tmp_path):
    path = tmp_path / "evil"
    with open(path, "wb") as fh:
        pickle.dump({b"data": os.getcwd, b"labels": []}, fh)  # a pickle that names a function
    with pytest.raises(ValueError, match="refusing"):
        data.read_cifar_batch(path)


def test_read_cifar_batch_wrong_size_and_truncated(tmp_path):
    path = tmp_path / "wrong"
    with open(path, "wb") as fh:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, fh)
    with pytest.raises(ValueError, match="3072"):
        data.read_cifar_batch(path)
    good = pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]})
    (tmp_path / "cut").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="truncated"):
        data.read_cifar_batch(tmp_path / "cut")


# ---------------------------------------------------------------------------------------------------- lookup order


def test_load_mnist_from_root(clean_env):
    arrays = write_mnist_folder(clean_env / "m")
    X, y = data.load_dataset("mnist", "train", root=clean_env / "m")
    assert X.shape == (30, 1, 28, 28) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X[:, 0] * 255, arrays["train"][0], atol=1e-3)
    np.testing.assert_array_equal(y, arrays["train"][1])
    Xt, yt = data.load_dataset("mnist", "test", root=clean_env / "m")
    assert Xt.shape == (20, 1, 28, 28) and 0 <= Xt.min() and Xt.max() <= 1


def test_load_uncompressed_idx_files(clean_env):
    write_mnist_folder(clean_env / "raw", gz=False)
    X, _ = data.load_dataset("mnist", root=clean_env / "raw")
    assert X.shape == (30, 1, 28, 28)


def test_root_beats_env_var_beats_cache(clean_env, monkeypatch):
    write_mnist_folder(clean_env / "cache" / "mnist", n_train=11)
    assert len(data.load_dataset("mnist")[1]) == 11  # cache folder data_dir()/mnist
    write_mnist_folder(clean_env / "env", n_train=12)
    monkeypatch.setenv("OCAD_MNIST_DIR", str(clean_env / "env"))
    assert len(data.load_dataset("mnist")[1]) == 12  # env var before cache
    write_mnist_folder(clean_env / "root", n_train=13)
    assert len(data.load_dataset("mnist", root=clean_env / "root")[1]) == 13  # root first


def test_env_var_to_wrong_folder_says_so(clean_env, monkeypatch):
    (clean_env / "empty").mkdir()
    monkeypatch.setenv("OCAD_MNIST_DIR", str(clean_env / "empty"))
    with pytest.raises(DatasetUnavailable, match="OCAD_MNIST_DIR"):
        data.load_dataset("mnist")


def test_fashion_mnist_from_debian_folder(clean_env, monkeypatch):
    write_mnist_folder(clean_env / "debian", n_train=14)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", clean_env / "debian")
    assert data.load_dataset("fashion-mnist")[0].shape == (14, 1, 28, 28)
    monkeypatch.setenv("OCAD_FASHION_MNIST_DIR", str(clean_env / "fm"))
    write_mnist_folder(clean_env / "fm", n_train=15)
    assert len(data.load_dataset("fashion-mnist")[1]) == 15


def test_load_cifar10_from_root(clean_env):
    written = write_cifar_folder(clean_env / "c")
    for root in (clean_env / "c", clean_env / "c" / "cifar-10-batches-py"):
        X, y = data.load_dataset("cifar10", "train", root=root)
        assert X.shape == (20, 3, 32, 32) and X.dtype == np.float32
        assert y.tolist() == sum((written[f"data_batch_{i}"][1] for i in range(1, 6)), [])
    Xt, yt = data.load_dataset("cifar10", "test", root=clean_env / "c")
    np.testing.assert_allclose(Xt.reshape(4, -1) * 255, written["test_batch"][0], atol=1e-3)


def test_corrupt_local_file_is_dataset_unavailable(clean_env):
    folder = clean_env / "bad"
    write_mnist_folder(folder)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 20))
    with pytest.raises(DatasetUnavailable, match="unreadable"):
        data.load_dataset("mnist", root=folder)


# ---------------------------------------------------------------------------------------------------- offline


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10"])
def test_offline_missing_data_says_what_to_do(clean_env, name):
    with pytest.raises(DatasetUnavailable) as info:
        data.load_dataset(name)
    msg = str(info.value)
    assert "OCAD_OFFLINE" in msg and "mnist5k" in msg and "OCAD_DATA_DIR" in msg
    assert data._ENV_VARS[name] in msg


def test_download_false_beats_online_env(clean_env, monkeypatch):
    monkeypatch.setenv("OCAD_OFFLINE", "0")
    with pytest.raises(DatasetUnavailable, match="download=False"):
        data.load_dataset("mnist", download=False)


def test_network_error_becomes_short_dataset_unavailable(clean_env, monkeypatch):
    monkeypatch.undo()  # restore the real _download, then rebuild an empty offline-free setting
    monkeypatch.setenv("OCAD_DATA_DIR", str(clean_env / "cache2"))
    monkeypatch.delenv("OCAD_MNIST_DIR", raising=False)
    # port 9 on localhost refuses the connection at once: a real pooch/requests failure, no internet needed
    remote = {"base_url": "http://127.0.0.1:9/", "files": data._REMOTE["mnist"]["files"]}
    monkeypatch.setitem(data._REMOTE, "mnist", remote)
    with pytest.raises(DatasetUnavailable) as info:
        data.load_dataset("mnist", download=True)
    assert "Could not download" in str(info.value) and "mnist5k" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


# ---------------------------------------------------------------------------------------------------- status


def test_dataset_status_offline_and_cached(clean_env):
    write_mnist_folder(clean_env / "cache" / "mnist")
    rows = {r["name"]: r for r in data.dataset_status()}
    assert list(rows) == list(data.DATASETS)
    assert rows["digits"]["available"] and rows["mnist5k"]["available"]
    assert rows["mnist"]["available"] and "cached at" in rows["mnist"]["source"]
    assert not rows["cifar10"]["available"] and rows["cifar10"]["reason"].startswith("offline")
    assert not rows["fashion-mnist"]["available"]


def test_dataset_status_online_promises_download(clean_env, monkeypatch):
    monkeypatch.setenv("OCAD_OFFLINE", "0")
    row = {r["name"]: r for r in data.dataset_status()}["cifar10"]
    assert row["status"] == "download" and not row["available"]
    assert "will download from https://www.cs.toronto.edu/" in row["reason"] and "needs internet" in row["reason"]


# ---------------------------------------------------------------------------------------------------- bundled data


def test_digits_shapes_and_split():
    X, y = data.load_dataset("digits", "train")
    Xt, yt = data.load_dataset("digits", "test")
    assert X.shape[1:] == (1, 8, 8) and X.dtype == np.float32 and 0 <= X.min() and X.max() == 1.0
    assert len(y) + len(yt) == 1797 and set(np.unique(yt)) == set(range(10))


def test_mnist5k_fixed_stratified_split():
    X, y = data.load_dataset("mnist5k", "train")
    Xt, yt = data.load_dataset("mnist5k", "test")
    assert X.shape == (4000, 1, 28, 28) and Xt.shape == (1000, 1, 28, 28)
    assert np.bincount(y).tolist() == [400] * 10 and np.bincount(yt).tolist() == [100] * 10
    X2, _ = data.load_dataset("mnist5k", "train")
    np.testing.assert_array_equal(X, X2)  # fixed split, same every call
    train_rows = {row.tobytes() for row in X.reshape(4000, -1)}
    assert not any(row.tobytes() in train_rows for row in Xt.reshape(1000, -1))  # no image in both splits


# ---------------------------------------------------------------------------------------------------- generated data


def test_ocnn_synthetic():
    X, y = data.make_ocnn_synthetic()
    assert X.shape == (200, 512) and y.sum() == 10 and (y[:190] == 0).all()
    assert abs(X[y == 0].std() - 2) < 0.1 and abs(X[y == 1].std() - 10) < 0.5
    np.testing.assert_array_equal(X, data.make_ocnn_synthetic()[0])
    assert not np.array_equal(X, data.make_ocnn_synthetic(random_state=1)[0])


@pytest.mark.parametrize("name", data.TOYS)
def test_toys(name):
    X, y = data.make_toy(name, n_samples=200, contamination=0.1, random_state=3)
    assert X.shape == (200, 2) and y.sum() == 20
    normals = X[y == 0]
    lo, hi = normals.min(0), normals.max(0)
    pad = 0.25 * (hi - lo) + 1e-12
    assert ((X[y == 1] >= lo - pad) & (X[y == 1] <= hi + pad)).all()
    np.testing.assert_array_equal(X, data.make_toy(name, n_samples=200, contamination=0.1, random_state=3)[0])


def test_toy_bad_input():
    with pytest.raises(ValueError, match="blobs, moons, rings"):
        data.make_toy("spiral")
    with pytest.raises(ValueError, match="contamination"):
        data.make_toy("moons", contamination=1.0)


# ---------------------------------------------------------------------------------------------------- preprocessing


def test_gcn_l1_hand_example():
    # x = [0, 0, 0, 4]: mean 1, centred [-1, -1, -1, 3], mean |.| = 6/4 = 1.5 -> [-2/3, -2/3, -2/3, 2]
    out = data.gcn_l1(np.array([[0.0, 0.0, 0.0, 4.0]]))
    np.testing.assert_allclose(out, [[-2 / 3, -2 / 3, -2 / 3, 2.0]], rtol=1e-6)


def test_gcn_l1_per_image_and_scale_free():
    X = np.random.default_rng(0).random((5, 1, 6, 6))
    G = data.gcn_l1(X)
    flat = G.reshape(5, -1)
    np.testing.assert_allclose(flat.mean(1), 0, atol=1e-6)
    np.testing.assert_allclose(np.abs(flat).mean(1), 1, rtol=1e-5)
    np.testing.assert_allclose(data.gcn_l1(255 * X), G, rtol=1e-4, atol=1e-5)
    assert np.isfinite(data.gcn_l1(np.ones((1, 4)))).all()  # constant image: no division by zero


def test_minmax_and_preprocess():
    # two images [0,0,0,4] -> [-2/3,...,2] and [1,3,1,3] -> [-1,1,-1,1]: lo = -1, hi = 2
    X = np.array([[0.0, 0.0, 0.0, 4.0], [1.0, 3.0, 1.0, 3.0]])
    lo, hi = data.minmax_constants(X)
    assert lo == pytest.approx(-1.0) and hi == pytest.approx(2.0)
    P = data.preprocess(X, lo, hi)
    np.testing.assert_allclose(P, [[1 / 9, 1 / 9, 1 / 9, 1.0], [0.0, 2 / 3, 0.0, 2 / 3]], atol=1e-6)
    with pytest.raises(ValueError, match="hi > lo"):
        data.preprocess(X, 1.0, 1.0)


# ---------------------------------------------------------------------------------------------------- one-class splits


def test_inductive_split_mnist5k():
    s = data.one_class_split("mnist5k", 3)
    assert (s.y_train == 0).all() and (s.classes_train == 3).all() and len(s.y_train) == 400
    assert len(s.y_test) == 1000 and s.y_test.sum() == 900
    np.testing.assert_array_equal(s.y_test, (s.classes_test != 3).astype(int))
    X_raw, y_raw = data.load_dataset("mnist5k", "train")
    assert (s.lo, s.hi) == pytest.approx(data.minmax_constants(X_raw[y_raw == 3]))  # training normals only
    assert s.X_train.min() == pytest.approx(0, abs=1e-6) and s.X_train.max() == pytest.approx(1, abs=1e-6)
    assert s.protocol == "inductive" and s.name == "mnist5k"


def test_inductive_subsample_and_anomaly_classes():
    s = data.one_class_split("mnist5k", 1, anomaly_classes=[7], n_train=50, n_test=40, preprocess=False)
    assert len(s.X_train) == 50 and len(s.X_test) == 40 and s.lo is None
    assert set(np.unique(s.classes_test)) == {1, 7} and s.y_test.sum() == 20  # stratified: 100 ones, 100 sevens
    again = data.one_class_split("mnist5k", 1, anomaly_classes=[7], n_train=50, n_test=40, preprocess=False)
    np.testing.assert_array_equal(s.X_test, again.X_test)


def test_inductive_anomaly_fraction_thins_test():
    s = data.one_class_split("mnist5k", 0, anomaly_fraction=0.1)
    assert s.y_test.sum() == round(0.1 * 100 / 0.9) and (s.y_test == 0).sum() == 100


def test_transductive_ocnn_mnist_4_vs_079():
    s = data.one_class_split("mnist5k", 4, protocol="transductive", anomaly_classes=(0, 7, 9), anomaly_fraction=0.05)
    assert s.X_test is s.X_train and s.y_test is s.y_train
    assert set(np.unique(s.classes_train[s.y_train == 1])) == {0, 7, 9}
    assert (s.classes_train[s.y_train == 0] == 4).all() and (s.y_train == 0).sum() == 400
    assert s.y_train.mean() == pytest.approx(0.05, abs=0.005)


def test_transductive_n_train():
    s = data.one_class_split("mnist5k", 2, protocol="transductive", anomaly_fraction=0.1, n_train=100)
    assert len(s.y_train) == 100 and s.y_train.sum() == 10


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "mnist6"}, "digits, mnist5k, fashion-mnist, mnist, cifar10"),
        ({"normal_class": 10}, "normal_class"),
        ({"normal_class": -1}, "normal_class"),
        ({"anomaly_fraction": 0.0}, "strictly between 0 and 1"),
        ({"anomaly_fraction": 1.5}, "strictly between 0 and 1"),
        ({"protocol": "semi"}, "inductive, transductive"),
        ({"anomaly_classes": [0, 5]}, "normal class"),
        ({"n_train": 0}, "n_train"),
    ],
)
def test_one_class_split_bad_input(kwargs, match):
    args = {"name": "mnist5k", "normal_class": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        data.one_class_split(**args)


def test_load_dataset_bad_input():
    with pytest.raises(ValueError, match="mnist5k"):
        data.load_dataset("imagenet")
    with pytest.raises(ValueError, match="split"):
        data.load_dataset("digits", split="validation")


def test_split_of_missing_dataset_offline(clean_env):
    with pytest.raises(DatasetUnavailable, match="mnist5k"):
        data.one_class_split("cifar10", 5)


def test_split_on_local_cifar10(clean_env):
    write_cifar_folder(clean_env / "c", n_per_batch=40)
    s = data.one_class_split("cifar10", 5, protocol="transductive", anomaly_classes=[3], anomaly_fraction=0.2,
                             n_train=10, root=clean_env / "c")
    assert s.X_train.shape == (10, 3, 32, 32) and s.y_train.sum() == 2


# ---------------------------------------------------------------------------------------------------- real data


def _real_mnist_dir():
    env = os.environ.get("OCAD_MNIST_DIR")
    folder = Path(env) if env else SHARED_MNIST
    return folder if (folder / "train-images-idx3-ubyte.gz").is_file() else None


@pytest.fixture(scope="module")
def real_mnist():
    folder = _real_mnist_dir()
    if folder is None:
        pytest.skip("full MNIST not found (set OCAD_MNIST_DIR or provide ../shared/data/mnist)")
    return data.load_dataset("mnist", "train", root=folder), data.load_dataset("mnist", "test", root=folder)


def test_real_mnist_shapes_and_label_counts(real_mnist):
    (X, y), (Xt, yt) = real_mnist
    assert X.shape == (60000, 1, 28, 28) and Xt.shape == (10000, 1, 28, 28)
    # label counts published with MNIST
    assert np.bincount(y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(yt).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert X.min() == 0.0 and X.max() == 1.0


def test_real_mnist_reproduces_deep_svdd_constants(real_mnist):
    # The Deep SVDD reference code hard-codes, for MNIST normal class 0, min -0.8826567065619495 and
    # max 9.001545489292527 (and max 20.1080622 for class 1): GCN-L1 of the class's training images.
    (X, y), _ = real_mnist
    lo, hi = data.minmax_constants(X[y == 0])
    assert lo == pytest.approx(-0.8826567065619495, abs=1e-4)
    assert hi == pytest.approx(9.001545489292527, abs=1e-4)
    assert data.minmax_constants(X[y == 1])[1] == pytest.approx(20.1080622, abs=1e-4)


def test_debian_fashion_mnist_if_installed():
    if data._files_in("fashion-mnist", data.DEBIAN_FASHION_MNIST) is None:
        pytest.skip("Debian package dataset-fashion-mnist not installed")
    X, y = data.load_dataset("fashion-mnist", "test", root=data.DEBIAN_FASHION_MNIST)
    assert X.shape == (10000, 1, 28, 28) and np.bincount(y).tolist() == [1000] * 10


# ---------------------------------------------------------------------------------------------------- downloads


@pytest.fixture
def local_server(tmp_path):
    """Serve a folder over HTTP on localhost, so the real pooch download path runs without internet."""
    import functools
    import http.server
    import threading

    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _md5(path):
    import hashlib

    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def test_download_is_hash_checked_and_cached(clean_env, monkeypatch, local_server):
    served, url = local_server
    monkeypatch.undo()
    monkeypatch.setenv("OCAD_DATA_DIR", str(clean_env / "dl-cache"))
    monkeypatch.delenv("OCAD_MNIST_DIR", raising=False)
    write_mnist_folder(served, n_train=16)
    files = {f"{stem}.gz": _md5(served / f"{stem}.gz") for stem in IDX_STEMS}
    monkeypatch.setitem(data._REMOTE, "mnist", {"base_url": url, "files": files})
    X, y = data.load_dataset("mnist", download=True)
    assert X.shape == (16, 1, 28, 28)
    assert (clean_env / "dl-cache" / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    monkeypatch.setenv("OCAD_OFFLINE", "1")  # now cached: loads offline too, and the status says so
    assert len(data.load_dataset("mnist")[1]) == 16
    assert {r["name"]: r for r in data.dataset_status()}["mnist"]["source"].startswith("cached at")


def test_download_with_wrong_hash_is_refused(clean_env, monkeypatch, local_server):
    served, url = local_server
    monkeypatch.undo()
    monkeypatch.setenv("OCAD_DATA_DIR", str(clean_env / "dl-cache"))
    monkeypatch.delenv("OCAD_MNIST_DIR", raising=False)
    write_mnist_folder(served)
    files = {f"{stem}.gz": "0" * 32 for stem in IDX_STEMS}
    monkeypatch.setitem(data._REMOTE, "mnist", {"base_url": url, "files": files})
    with pytest.raises(DatasetUnavailable, match="hash"):
        data.load_dataset("mnist", download=True)
    assert not (clean_env / "dl-cache" / "mnist" / "train-images-idx3-ubyte.gz").exists()


def test_cifar10_download_is_unpacked(clean_env, monkeypatch, local_server):
    import tarfile

    served, url = local_server
    monkeypatch.undo()
    monkeypatch.setenv("OCAD_DATA_DIR", str(clean_env / "dl-cache"))
    monkeypatch.delenv("OCAD_CIFAR10_DIR", raising=False)
    write_cifar_folder(clean_env / "src")
    with tarfile.open(served / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(clean_env / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    files = {"cifar-10-python.tar.gz": _md5(served / "cifar-10-python.tar.gz")}
    monkeypatch.setitem(data._REMOTE, "cifar10", {"base_url": url, "files": files})
    X, _ = data.load_dataset("cifar10", "test", download=True)
    assert X.shape == (4, 3, 32, 32)
    assert (clean_env / "dl-cache" / "cifar10" / "cifar-10-batches-py" / "test_batch").is_file()


# ---------------------------------------------------------------------------------------------------- known hashes
def _load_without_official_warning(name, folder):
    import warnings

    data._verify_files.cache_clear()
    data._read_split.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X, y = data.load_dataset(name, "test", root=folder)
    return X, [str(w.message) for w in caught if "official" in str(w.message) or "inverted" in str(w.message)]


def test_real_mnist_files_match_the_known_hashes():
    folder = _real_mnist_dir()
    if folder is None:
        pytest.skip("full MNIST not found (set OCAD_MNIST_DIR or provide ../shared/data/mnist)")
    X, warned = _load_without_official_warning("mnist", folder)
    assert len(X) == 10000 and warned == []


def test_debian_fashion_mnist_matches_the_known_hashes():
    if data._files_in("fashion-mnist", data.DEBIAN_FASHION_MNIST) is None:
        pytest.skip("Debian package dataset-fashion-mnist not installed")
    X, warned = _load_without_official_warning("fashion-mnist", data.DEBIAN_FASHION_MNIST)
    assert len(X) == 10000 and warned == []
