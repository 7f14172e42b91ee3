"""USPS: the LIBSVM parser, every lookup path (root, OCAD_USPS_DIR, cache, mocked download) and the offline error."""

import bz2

import numpy as np
import pytest

from ocad_lab import data
from ocad_lab.data import DatasetUnavailable


def usps_text(X, y):
    """LIBSVM lines for images X (N, 256) in [-1, 1] and digits y (label = digit + 1); zeros left out (sparse)."""
    lines = []
    for row, digit in zip(X, y):
        feats = " ".join(f"{j + 1}:{v:.6f}" for j, v in enumerate(row) if v != 0.0)
        lines.append(f"{digit + 1} {feats}\n")
    return "".join(lines)


def fake_usps(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 256)).round(6)
    X[:, :5] = 0.0  # sparse zeros: absent from the file, must come back as mid-grey 0.5
    X[0, 5] = -1.0
    X[0, 6] = 1.0
    y = rng.integers(0, 10, size=n)
    return X, y


def write_usps_folder(folder, compress=True, n_train=12, n_test=5):
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for stem, n, seed in (("usps", n_train, 0), ("usps.t", n_test, 1)):
        X, y = fake_usps(n, seed)
        text = usps_text(X, y).encode("ascii")
        if compress:
            (folder / f"{stem}.bz2").write_bytes(bz2.compress(text))
        else:
            (folder / stem).write_bytes(text)
        out[stem] = (X, y)
    return out


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    monkeypatch.setenv("OCAD_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OCAD_USPS_DIR", raising=False)
    monkeypatch.setenv("OCAD_OFFLINE", "1")
    data._read_usps_split.cache_clear()
    yield tmp_path
    data._read_usps_split.cache_clear()


@pytest.mark.parametrize("compress", [True, False])
def test_parser_values_labels_and_layout(tmp_path, compress):
    written = write_usps_folder(tmp_path, compress=compress)
    X_true, y_true = written["usps"]
    path = tmp_path / ("usps.bz2" if compress else "usps")
    X, y = data.read_usps_libsvm(path)
    assert X.shape == (12, 1, 16, 16) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(y, y_true)
    np.testing.assert_allclose(X.reshape(12, 256), (X_true + 1) / 2, atol=1e-6)  # row-major, (v + 1) / 2
    assert X[0, 0, 0, 0] == 0.5  # absent index = 0 -> mid-grey
    assert X[0, 0, 0, 5] == 0.0 and X[0, 0, 0, 6] == 1.0


@pytest.mark.parametrize("line, match", [
    ("11 1:0.5\n", "label 11"),
    ("3 257:0.5\n", "index outside"),
    ("3 1:1.5\n", r"\[-1, 1\]"),
    ("3 1-0.5\n", "line 1"),
])
def test_parser_rejects_malformed_lines(tmp_path, line, match):
    p = tmp_path / "usps"
    p.write_text(line)
    with pytest.raises(ValueError, match=match):
        data.read_usps_libsvm(p)


def test_parser_empty_and_truncated_bz2(tmp_path):
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ValueError, match="no samples"):
        data.read_usps_libsvm(tmp_path / "empty")
    blob = bz2.compress(usps_text(*fake_usps(30, 0)).encode())
    (tmp_path / "cut.bz2").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match="cannot read"):
        data.read_usps_libsvm(tmp_path / "cut.bz2")


def test_load_from_root_env_and_cache(clean_env, monkeypatch):
    write_usps_folder(clean_env / "root", n_train=7)
    write_usps_folder(clean_env / "env", n_train=8, compress=False)
    write_usps_folder(clean_env / "cache" / "usps", n_train=9)
    assert len(data.load_dataset("usps", root=clean_env / "root")[1]) == 7
    X, y = data.load_dataset("usps")  # cache
    assert X.shape == (9, 1, 16, 16) and 0.0 <= X.min() and X.max() <= 1.0
    monkeypatch.setenv("OCAD_USPS_DIR", str(clean_env / "env"))
    assert len(data.load_dataset("usps")[1]) == 8  # env beats cache
    assert len(data.load_dataset("usps", "test")[1]) == 5
    X[:] = 0  # a copy: the cache is not changed
    assert data.load_dataset("usps", root=clean_env / "root")[0].max() > 0


def test_env_var_to_empty_folder_and_corrupt_file(clean_env, monkeypatch):
    (clean_env / "empty").mkdir()
    monkeypatch.setenv("OCAD_USPS_DIR", str(clean_env / "empty"))
    with pytest.raises(DatasetUnavailable, match="OCAD_USPS_DIR.*usps.bz2"):
        data.load_dataset("usps")
    bad = clean_env / "bad"
    write_usps_folder(bad)
    (bad / "usps.bz2").write_bytes(b"BZh91AY&SY garbage")
    with pytest.raises(DatasetUnavailable, match="unreadable"):
        data.load_dataset("usps", root=bad)


def test_offline_error_says_what_to_do(clean_env):
    with pytest.raises(DatasetUnavailable) as info:
        data.load_dataset("usps")
    msg = str(info.value)
    assert "OCAD_USPS_DIR" in msg and "OCAD_OFFLINE" in msg and "mnist5k" in msg
    row = {r["name"]: r for r in data.dataset_status()}["usps"]
    assert row["status"] == "unavailable" and "OCAD_USPS_DIR" in row["reason"]


def test_download_is_pooch_with_fixed_md5(clean_env, monkeypatch):
    import pooch

    monkeypatch.setenv("OCAD_OFFLINE", "0")
    calls = []
    source = clean_env / "server"
    write_usps_folder(source, n_train=6)

    def fake_retrieve(url, known_hash, fname, path, downloader=None, processor=None):
        calls.append((url, known_hash, fname))
        (path / fname).parent.mkdir(parents=True, exist_ok=True)
        (path / fname).write_bytes((source / fname).read_bytes())
        return str(path / fname)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    X, y = data.load_dataset("usps")
    assert X.shape == (6, 1, 16, 16)
    base = "https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/"
    assert calls == [(base + "usps.bz2", "md5:ec16c51db3855ca6c91edd34d0e9b197", "usps.bz2"),
                     (base + "usps.t.bz2", "md5:8ea070ee2aca1ac39742fdd1ef5ed118", "usps.t.bz2")]
    assert (clean_env / "cache" / "usps" / "usps.bz2").is_file()
    calls.clear()
    data.load_dataset("usps", "test")
    assert calls == []  # cached: no second download
