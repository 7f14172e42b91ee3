"""Bad inputs and faults through `ocad-lab` and the data API: each gets a clear error that names the problem and what
to do, never a traceback from inside argparse, NumPy or torch (issue 10).

Each row: what is done, then the exit code (CLI) or exception / warning type (API), then words the message must hold
(the problem, and the way out).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import pickle

import numpy as np
import pytest
from test_data import write_cifar_folder, write_idx, write_mnist_folder

from ocad_lab import config, data
from ocad_lab import experiments as ex
from ocad_lab.cli import main
from ocad_lab.data import DatasetUnavailable

SHALLOW = ["reproduce", "--dataset", "digits", "--methods", "if", "--classes", "0", "--seeds", "1", "--quick",
           "--no-progress"]


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """Nothing on disk, offline, no per-data-set folders."""
    monkeypatch.setenv("OCAD_DATA_DIR", str(tmp_path / "cache"))
    for var in ("OCAD_MNIST_DIR", "OCAD_FASHION_MNIST_DIR", "OCAD_CIFAR10_DIR", "OCAD_DEVICE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("OCAD_OFFLINE", "1")
    monkeypatch.setenv("OCAD_QUICK", "1")
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian")
    data._read_split.cache_clear()
    data._verify_files.cache_clear()
    return tmp_path


# ------------------------------------------------------------------------------------------------ CLI cases
def _done_folder(tmp):
    out = tmp / "done"
    assert main([*SHALLOW, "--out", str(out)]) == 0
    return out


def _cli_out_is_file(tmp, mp):
    (tmp / "f").write_text("x")
    return [*SHALLOW, "--out", str(tmp / "f")]


def _cli_csv_is_folder(tmp, mp):
    (tmp / "o" / "results.csv").mkdir(parents=True)
    return [*SHALLOW, "--out", str(tmp / "o")]


def _cli_foreign_header(tmp, mp):
    (tmp / "o").mkdir()
    (tmp / "o" / "results.csv").write_text("id,value\n1,2\n")
    return [*SHALLOW, "--out", str(tmp / "o")]


def _cli_config_less(tmp, mp):
    out = _done_folder(tmp)
    (out / "config.json").unlink()
    return [*SHALLOW, "--out", str(out)]


def _cli_config_not_json(tmp, mp):
    out = _done_folder(tmp)
    (out / "config.json").write_text("{not json")
    return [*SHALLOW, "--out", str(out)]


def _cli_other_config(tmp, mp):
    out = _done_folder(tmp)
    cfg = json.loads((out / "config.json").read_text())
    cfg["quick"] = not cfg["quick"]
    (out / "config.json").write_text(json.dumps(cfg))
    return [*SHALLOW, "--out", str(out)]


def _cli_env(var, value, args=None):
    def case(tmp, mp):
        mp.setenv(var, value)
        return [*(args or SHALLOW), "--out", str(tmp / "o")]

    return case


def _cli_args(*extra, base=None):
    def case(tmp, mp):
        return [*(base or SHALLOW), *extra, "--out", str(tmp / "o")]

    return case


def _cli_folder_without_classes(tmp, mp):
    (tmp / "imgs").mkdir()
    (tmp / "imgs" / "a.png").write_bytes(b"")
    return ["reproduce", "--dataset", str(tmp / "imgs"), "--methods", "if", "--classes", "0", "--out", str(tmp / "o")]


def _cli_folder_too_few_classes(tmp, mp):
    _png_folder(tmp / "imgs", {"cat": [(6, 6)] * 4, "dog": [(6, 6)] * 4})
    return ["reproduce", "--dataset", str(tmp / "imgs"), "--methods", "if", "--classes", "0-4", "--out",
            str(tmp / "o")]


def _cli_missing_cifar(tmp, mp):
    (tmp / "empty").mkdir()
    mp.setenv("OCAD_CIFAR10_DIR", str(tmp / "empty"))
    return ["reproduce", "--dataset", "cifar10", "--methods", "if", "--classes", "0", "--out", str(tmp / "o")]


NO_CUDA = pytest.mark.skipif("__import__('torch').cuda.is_available()", reason="this machine has CUDA")

CLI_CASES = [
    pytest.param(_cli_args(base=["reproduce", "--dataset", "nope"]), 2, ["unknown dataset", "choose from"],
                 id="unknown-dataset"),
    pytest.param(_cli_args("--methods", "svm"), 2, ["Unknown method", "if"], id="unknown-method"),
    pytest.param(_cli_args("--classes", "3-1"), 2, ["start is after the end", "did you mean 1-3"],
                 id="classes-reversed"),
    pytest.param(_cli_args("--classes", "12"), 2, ["12", "classes are 0 to 9"], id="classes-out-of-range"),
    pytest.param(_cli_args("--classes", "one"), 2, ["one", "0-9"], id="classes-not-a-number"),
    pytest.param(_cli_args("--seeds", "0"), 2, ["--seeds must be >= 1"], id="seeds-zero"),
    pytest.param(_cli_args("--seeds", "many"), 2, ["--seeds must be a whole number", "'many'"], id="seeds-text"),
    pytest.param(_cli_args("--jobs", "-1"), 2, ["--jobs must be >= 1"], id="jobs-negative"),
    pytest.param(_cli_args("--epochs", "0"), 2, ["--epochs must be >= 1"], id="epochs-zero"),
    pytest.param(_cli_args("--force", "--fresh"), 2, ["--fresh", "not allowed with", "--force"],
                 id="force-and-fresh"),
    pytest.param(_cli_out_is_file, 2, ["is a file, not a folder", "choose a folder"], id="out-is-a-file"),
    pytest.param(_cli_csv_is_folder, 2, ["results.csv is a folder", "move it away"], id="results-csv-is-a-folder"),
    pytest.param(_cli_foreign_header, 2, ["not an ocad-lab results file", "--fresh", "another --out"],
                 id="foreign-header"),
    pytest.param(_cli_config_less, 2, ["no config.json", "--force", "--fresh"], id="rows-without-config"),
    pytest.param(_cli_config_not_json, 2, ["not a readable", "--fresh"], id="config-not-json"),
    pytest.param(_cli_other_config, 2, ["other settings", "quick", "--force", "--fresh"], id="config-differs"),
    pytest.param(_cli_args("--device", "nonsense"), 2, ["Unknown device 'nonsense'", "use 'cpu'"],
                 id="device-nonsense-shallow-only"),
    pytest.param(_cli_args("--device", "meta"), 2, ["'meta'", "cannot train", "use 'cpu'"], id="device-meta"),
    pytest.param(_cli_args("--device", "cuda"), 2, ["CUDA is not available", "'cpu'"], id="device-cuda-no-gpu",
                 marks=NO_CUDA),
    pytest.param(_cli_env("OCAD_DEVICE", "nonsense"), 2, ["OCAD_DEVICE", "'nonsense'", "unset OCAD_DEVICE"],
                 id="OCAD_DEVICE-nonsense"),
    pytest.param(_cli_env("OCAD_DEVICE", "cuda:0", [*SHALLOW[:4], "deep-svdd", *SHALLOW[5:]]), 2,
                 ["CUDA is not available", "unset OCAD_DEVICE"], id="OCAD_DEVICE-cuda-deep", marks=NO_CUDA),
    pytest.param(_cli_env("OCAD_QUICK", "banana"), 2, ["OCAD_QUICK='banana'", "OCAD_QUICK=1", "OCAD_QUICK=0"],
                 id="OCAD_QUICK-banana"),
    pytest.param(_cli_env("OCAD_OFFLINE", "maybe"), 2, ["OCAD_OFFLINE='maybe'", "OCAD_OFFLINE=1"],
                 id="OCAD_OFFLINE-maybe"),
    pytest.param(_cli_missing_cifar, 1, ["OCAD_CIFAR10_DIR", "does not hold", "Fix the path"], id="cifar-missing"),
    pytest.param(_cli_folder_without_classes, 2, ["no sub-folders", "its own sub-folder"], id="image-folder-flat"),
    pytest.param(_cli_folder_too_few_classes, 2, ["2 class sub-folders", "positions 0..1"],
                 id="image-folder-classes"),
]


@pytest.mark.parametrize("case, code, words", CLI_CASES)
def test_cli_bad_input_is_one_clear_line(case, code, words, clean_env, monkeypatch, capsys):
    args = case(clean_env, monkeypatch)
    out = clean_env / "o"
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} if out.is_dir() else None
    capsys.readouterr()
    try:
        got = main(args)
    except SystemExit as stop:  # argparse's usage errors
        got = stop.code
    err = capsys.readouterr().err
    assert got == code, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err
    for w in words:
        assert w in errors[0], (w, errors[0])
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} if out.is_dir() else None
    assert after == before  # nothing was run or written


def test_info_reports_a_bad_switch_in_one_line(clean_env, monkeypatch, capsys):
    monkeypatch.setenv("OCAD_QUICK", "banana")
    assert main(["info"]) == 2
    err = capsys.readouterr().err
    assert "OCAD_QUICK='banana'" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------------ data API cases
def _png_folder(folder, classes, mode="L"):
    """Write small PNG files: {class: [(h, w), ...]} (one image per size entry)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for k, (c, sizes) in enumerate(classes.items()):
        (folder / c).mkdir(parents=True, exist_ok=True)
        for i, (h, w) in enumerate(sizes):
            shape = (h, w) if mode == "L" else (h, w, 3)
            Image.fromarray(rng.integers(0, 120, size=shape).astype(np.uint8) + 60 * k, mode=mode).save(
                folder / c / f"{i}.png")
    return folder


def _mnist_dark_background(folder, n_train=30, n_test=20, invert=False):
    """An MNIST-like folder whose digits sit on a black background (as MNIST), optionally inverted."""
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        img = np.zeros((n, 28, 28), np.uint8)
        img[:, 6:22, 6:22] = rng.integers(0, 256, size=(n, 16, 16))
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", 255 - img if invert else img)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    return folder


def _api_load_array(tmp, mp):
    data.load_dataset(np.zeros((3, 28, 28)))


def _api_unknown_name(tmp, mp):
    data.load_dataset("mnits")


def _api_bad_split(tmp, mp):
    data.load_dataset("digits", split="val")


def _api_malformed_idx(tmp, mp):
    write_mnist_folder(tmp / "m")
    (tmp / "m" / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x08\x03\x00\x00garbage"))
    data.load_dataset("mnist", "test", root=tmp / "m")


def _api_truncated_idx(tmp, mp):
    write_mnist_folder(tmp / "m")
    raw = gzip.decompress((tmp / "m" / "train-images-idx3-ubyte.gz").read_bytes())
    (tmp / "m" / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(raw[:-100]))
    data.load_dataset("mnist", root=tmp / "m")


def _api_mnist_labels_77(tmp, mp):
    write_mnist_folder(tmp / "m")
    write_idx(tmp / "m" / "train-labels-idx1-ubyte.gz", np.full(30, 77, np.uint8))
    data.load_dataset("mnist", root=tmp / "m")


def _api_cifar_labels_99(tmp, mp):
    write_cifar_folder(tmp / "c")
    path = tmp / "c" / "cifar-10-batches-py" / "data_batch_3"
    batch = pickle.loads(path.read_bytes())
    batch[b"labels"] = [99] * len(batch[b"labels"])
    path.write_bytes(pickle.dumps(batch, protocol=2))
    data.load_dataset("cifar10", root=tmp / "c")


def _api_cifar_code_in_pickle(tmp, mp):
    write_cifar_folder(tmp / "c")
    (tmp / "c" / "cifar-10-batches-py" / "test_batch").write_bytes(
        b"cos\nsystem\n(S'echo owned'\ntR.")  # a pickle that would run a shell command
    data.load_dataset("cifar10", "test", root=tmp / "c")


def _api_inverted_mnist(tmp, mp):
    _mnist_dark_background(tmp / "m", invert=True)
    data.load_dataset("mnist", root=tmp / "m")


def _api_foreign_mnist_copy(tmp, mp):
    _mnist_dark_background(tmp / "m")
    data.load_dataset("mnist", root=tmp / "m")


def _pretend_official(mp, folder, name="mnist"):
    """Make the files in ``folder`` the 'official' ones (their md5s) so that swapping them can be detected."""
    known = {}
    for p in folder.iterdir():
        stem = p.name[:-3] if p.name.endswith(".gz") else p.name
        known[stem] = hashlib.md5(gzip.decompress(p.read_bytes()) if p.name.endswith(".gz") else p.read_bytes()
                                  ).hexdigest()
    mp.setitem(data._CONTENT_MD5, name, known)


def _api_swapped_by_hash(tmp, mp):
    write_mnist_folder(tmp / "m")
    _pretend_official(mp, tmp / "m")
    for kind in ("images-idx3", "labels-idx1"):
        a, b = tmp / "m" / f"train-{kind}-ubyte.gz", tmp / "m" / f"t10k-{kind}-ubyte.gz"
        a.rename(tmp / "tmp.gz")
        b.rename(a)
        (tmp / "tmp.gz").rename(b)
    data.load_dataset("mnist", root=tmp / "m")


def _api_swapped_by_size(tmp, mp):
    mp.setitem(data._OFFICIAL_N, "mnist", {"train": 30, "test": 20})  # the official counts, scaled down
    write_mnist_folder(tmp / "m", n_train=20, n_test=30)
    data.load_dataset("mnist", root=tmp / "m")


def _api_empty_normal_class(tmp, mp):
    folder = tmp / "m"
    write_mnist_folder(folder)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.where(np.arange(30) % 10 == 3, 4, np.arange(30) % 10))
    data.one_class_split("mnist", 3, root=folder)


def _api_empty_test_split(tmp, mp):
    write_mnist_folder(tmp / "m", n_test=0)
    data.one_class_split("mnist", 1, root=tmp / "m")


def _api_empty_train_split(tmp, mp):
    write_mnist_folder(tmp / "m", n_train=0)
    data.one_class_split("mnist", 1, root=tmp / "m")


def _api_minmax_empty(tmp, mp):
    data.minmax_constants(np.zeros((0, 1, 28, 28), np.float32))


def _api_split_1d(tmp, mp):
    data.one_class_split((np.arange(10.0), np.arange(10) % 2), 0)


def _api_split_short_labels(tmp, mp):
    data.one_class_split((np.zeros((10, 4)), np.zeros(9)), 0)


def _api_split_complex(tmp, mp):
    data.one_class_split((np.zeros((10, 4), complex), np.arange(10) % 2), 0)


def _api_split_nan(tmp, mp):
    X = np.zeros((10, 4))
    X[3, 1] = np.nan
    data.one_class_split((X, np.arange(10) % 2), 0)


def _api_split_absent_class(tmp, mp):
    data.one_class_split((np.random.default_rng(0).random((20, 4)), np.arange(20) % 2), 5)


def _api_split_one_class(tmp, mp):
    data.one_class_split((np.random.default_rng(0).random((20, 4)), np.zeros(20)), 0)


def _api_split_array_without_labels(tmp, mp):
    data.one_class_split(np.zeros((10, 4)), 0)


def _api_split_no_folder(tmp, mp):
    data.one_class_split(str(tmp / "nowhere"), 0)


def _api_folder_mixed_sizes(tmp, mp):
    _png_folder(tmp / "imgs", {"a": [(8, 8), (8, 8)], "b": [(8, 8), (9, 7)]})
    data.one_class_split(tmp / "imgs", "a")


def _api_folder_broken_image(tmp, mp):
    _png_folder(tmp / "imgs", {"a": [(8, 8)] * 3, "b": [(8, 8)] * 3})
    (tmp / "imgs" / "b" / "bad.png").write_bytes(b"not a png")
    data.one_class_split(tmp / "imgs", "a")


def _api_folder_empty_class(tmp, mp):
    _png_folder(tmp / "imgs", {"a": [(8, 8)] * 3})
    (tmp / "imgs" / "b").mkdir()
    data.one_class_split(tmp / "imgs", "a")


def _api_bad_protocol(tmp, mp):
    data.one_class_split("digits", 0, protocol="semi-supervised")


def _api_bad_fraction(tmp, mp):
    data.one_class_split("digits", 0, anomaly_fraction=5)


def _api_quick_banana(tmp, mp):
    mp.setenv("OCAD_QUICK", "banana")
    config.is_quick()


def _api_offline_typo(tmp, mp):
    mp.setenv("OCAD_OFFLINE", "ture")
    data.load_dataset("mnist")


def _api_device(name):
    def case(tmp, mp):
        config.get_device(name)

    return case


def _api_read_results_foreign(tmp, mp):
    (tmp / "r.csv").write_text("a,b\n1,2\n")
    ex.read_results(tmp / "r.csv")


API_CASES = [
    pytest.param(_api_load_array, TypeError, ["got ndarray", "one_class_split((X, y)"], id="load_dataset-array"),
    pytest.param(_api_unknown_name, ValueError, ["Unknown data set 'mnits'", "Choose one of"], id="unknown-name"),
    pytest.param(_api_bad_split, ValueError, ["'train' or 'test'", "'val'"], id="bad-split"),
    pytest.param(_api_malformed_idx, DatasetUnavailable, ["not an IDX file", "Replace them with the original"],
                 id="malformed-idx"),
    pytest.param(_api_truncated_idx, DatasetUnavailable, ["truncated or corrupt", "Replace them"],
                 id="truncated-idx"),
    pytest.param(_api_mnist_labels_77, DatasetUnavailable, ["labels must be the classes 0..9", "from 77 to 77",
                                                            "replace it with the original"], id="mnist-labels-77"),
    pytest.param(_api_cifar_labels_99, DatasetUnavailable, ["labels must be the classes 0..9", "99",
                                                            "replace it"], id="cifar-labels-99"),
    pytest.param(_api_cifar_code_in_pickle, DatasetUnavailable, ["refusing to load", "Replace them"],
                 id="cifar-pickle-with-code"),
    pytest.param(_api_inverted_mnist, UserWarning, ["look inverted", "original files"], id="mnist-inverted-pixels"),
    pytest.param(_api_foreign_mnist_copy, UserWarning, ["do not match the official 'mnist' files",
                                                        "your own copy", "replace them"], id="mnist-hash-mismatch"),
    pytest.param(_api_swapped_by_hash, DatasetUnavailable, ["swapped", "Rename them back"], id="swapped-by-hash"),
    pytest.param(_api_swapped_by_size, DatasetUnavailable, ["swapped", "Rename them back"], id="swapped-by-size"),
    pytest.param(_api_empty_normal_class, ValueError, ["normal class 3 has no images", "Choose a class"],
                 id="empty-normal-class"),
    pytest.param(_api_empty_test_split, ValueError, ["test split of 'mnist' has no images", "check the labels"],
                 id="empty-test-split"),
    pytest.param(_api_empty_train_split, ValueError, ["none, the split is empty", "check the files"],
                 id="empty-train-split"),
    pytest.param(_api_minmax_empty, ValueError, ["at least one training image", "(0, 1, 28, 28)"],
                 id="minmax-empty"),
    pytest.param(_api_split_1d, ValueError, ["shape (10,)", "Reshape your data"], id="own-X-1d"),
    pytest.param(_api_split_short_labels, ValueError, ["one label per row", "(9,)"], id="own-y-short"),
    pytest.param(_api_split_complex, TypeError, ["real numbers", "complex"], id="own-X-complex"),
    pytest.param(_api_split_nan, ValueError, ["NaN", "impute"], id="own-X-nan"),
    pytest.param(_api_split_absent_class, ValueError, ["normal_class 5 is not one of the classes", "[0, 1]"],
                 id="own-absent-class"),
    pytest.param(_api_split_one_class, ValueError, ["single class", "at least one other class"],
                 id="own-single-class"),
    pytest.param(_api_split_array_without_labels, TypeError, ["no labels", "(X, y)"], id="own-X-without-y"),
    pytest.param(_api_split_no_folder, ValueError, ["no folder exists", "one sub-folder of images per class"],
                 id="own-missing-folder"),
    pytest.param(_api_folder_mixed_sizes, ValueError, ["same size", "Resize them"], id="folder-mixed-sizes"),
    pytest.param(_api_folder_broken_image, ValueError, ["bad.png is not a readable image", "fix or remove"],
                 id="folder-broken-image"),
    pytest.param(_api_folder_empty_class, ValueError, ["holds no images", "remove the sub-folder"],
                 id="folder-empty-class"),
    pytest.param(_api_bad_protocol, ValueError, ["Unknown protocol", "inductive"], id="bad-protocol"),
    pytest.param(_api_bad_fraction, ValueError, ["strictly between 0 and 1", "0.05"], id="fraction-5"),
    pytest.param(_api_quick_banana, config.SettingError, ["OCAD_QUICK='banana'", "OCAD_QUICK=1", "unset it"],
                 id="OCAD_QUICK-banana"),
    pytest.param(_api_offline_typo, config.SettingError, ["OCAD_OFFLINE='ture'", "OCAD_OFFLINE=0"],
                 id="OCAD_OFFLINE-typo"),
    pytest.param(_api_device("nonsense"), config.SettingError, ["Unknown device 'nonsense'", "'cpu'"],
                 id="device-nonsense"),
    pytest.param(_api_device("meta"), config.SettingError, ["cannot train or score", "'cpu'"], id="device-meta"),
    pytest.param(_api_device("cuda:0"), RuntimeError, ["CUDA is not available", "device='cpu'"],
                 id="device-cuda-no-gpu", marks=NO_CUDA),
    pytest.param(_api_read_results_foreign, ex.ResultsFolderError, ["not an ocad-lab results file", "--fresh"],
                 id="read-results-foreign"),
]


@pytest.mark.parametrize("case, kind, words", API_CASES)
def test_data_api_bad_input_names_problem_and_fix(case, kind, words, clean_env, monkeypatch):
    if issubclass(kind, Warning):
        with pytest.warns(kind) as record:
            case(clean_env, monkeypatch)
        message = " | ".join(str(w.message) for w in record if issubclass(w.category, kind))
    else:
        with pytest.raises(kind) as info:
            case(clean_env, monkeypatch)
        message = str(info.value)
        # raised by the kit itself with its own message, not passed through from inside NumPy, PIL or torch
        assert "ocad_lab" in str(info.traceback[-1].path), info.traceback[-1]
        assert info.value.__cause__ is None
    for w in words:
        assert w in message, (w, message)


def test_a_verified_official_copy_loads_without_a_warning(clean_env, monkeypatch, recwarn):
    write_mnist_folder(clean_env / "m")
    _pretend_official(monkeypatch, clean_env / "m")
    X, y = data.load_dataset("mnist", root=clean_env / "m")
    assert len(y) == 30
    assert not [w for w in recwarn if "official" in str(w.message)]


def test_own_arrays_and_a_png_folder_give_the_protocols_and_preprocessing(clean_env):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(200, 8, 8)).astype(np.uint8)  # raw 0..255 images: GCN removes the scale
    y = np.repeat(np.array(["ok", "bad"]), 100)
    s = data.one_class_split((X, y), "ok")
    assert s.class_names == ("bad", "ok") and s.normal_class == "ok" and s.anomaly_classes == ("bad",)
    assert set(s.classes_train) == {"ok"} and s.y_train.sum() == 0 and 0 < s.y_test.mean() < 1
    assert len(s.y_train) + len(s.y_test[s.y_test == 0]) == 100  # the fixed 75/25 split holds every normal once
    raw = data.one_class_split((X, y), "ok", preprocess=False)  # the same fixed split, unprocessed
    assert (s.lo, s.hi) == pytest.approx(data.minmax_constants(raw.X_train))  # constants of the training normals
    np.testing.assert_allclose(s.X_test, data.preprocess(raw.X_test, s.lo, s.hi), atol=1e-6)
    assert s.X_train.min() == pytest.approx(0.0) and s.X_train.max() == pytest.approx(1.0)
    t = data.one_class_split((X, y), "ok", protocol="transductive", anomaly_fraction=0.1)
    assert t.X_test is t.X_train and t.y_train.mean() == pytest.approx(0.1, abs=0.02)
    assert (t.y_train == 0).sum() == 100  # transductive: the whole of (X, y) is the pool, every normal is in it
    # your own train/test split
    u = data.one_class_split((X[:150], y[:150], X[150:], y[150:]), "ok")
    assert len(u.y_test) == 50 and u.y_test.all()  # the last 50 are all 'bad'
    # a folder of PNG files, one sub-folder per class
    folder = _png_folder(clean_env / "imgs", {"cat": [(6, 5)] * 12, "dog": [(6, 5)] * 12}, mode="RGB")
    f = data.one_class_split(folder, "dog")
    assert f.X_train.shape[1:] == (3, 6, 5) and f.class_names == ("cat", "dog") and f.y_train.sum() == 0
    assert set(f.classes_test) == {"cat", "dog"} and data.one_class_split(folder, 1).normal_class == "dog"
    images, codes, names = data.load_image_folder(folder)
    assert images.shape == (24, 3, 6, 5) and names == ["cat", "dog"] and 0 <= images.min() and images.max() <= 1
    fr = data.one_class_split(folder, "dog", preprocess=False)
    assert all(any(np.array_equal(a, b) for b in images[codes == 1]) for a in fr.X_train)  # the dog images
    # train/ and test/ sub-folders give the split
    _png_folder(clean_env / "tt" / "train", {"cat": [(4, 4)] * 5, "dog": [(4, 4)] * 5})
    _png_folder(clean_env / "tt" / "test", {"cat": [(4, 4)] * 3, "dog": [(4, 4)] * 2})
    g = data.one_class_split(clean_env / "tt", "cat")
    assert len(g.y_train) == 5 and len(g.y_test) == 5 and g.X_train.shape[1:] == (1, 4, 4)
