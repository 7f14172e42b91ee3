"""Tests of the GTSRB loader in ocad_lab.data: PPM + ';'-CSV parsing, the official layouts, the paper's geometry
(10 % border removed, resized to 32x32), offline errors, the pooch download spec, and the development subset."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ocad_lab import data
from ocad_lab.data import DatasetUnavailable

SHARED_GTSRB = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gtsrb-dev"
HEADER = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"


def framed_image(h, w, inner, frame=(255, 0, 0)):
    """An (h, w, 3) image whose outer 10 % on every side is ``frame`` and whose inside is ``inner``."""
    img = np.empty((h, w, 3), dtype=np.uint8)
    img[:] = frame
    dy, dx = round(0.1 * h), round(0.1 * w)
    img[dy:h - dy, dx:w - dx] = inner
    return img


def write_gtsrb(folder, sizes=((50, 40), (15, 15), (250, 230)), classes=(0, 14), n_test=3, layout="official"):
    """Write a tiny GTSRB in the official layout (or torchvision's ``Training`` + root-level CSV); return contents."""
    train_root = folder / ("Final_Training/Images" if layout == "official" else "Training")
    written = {"train": [], "test": []}
    for cid in classes:
        d = train_root / f"{cid:05d}"
        d.mkdir(parents=True)
        lines = [HEADER]
        for i, (h, w) in enumerate(sizes):
            inner = (cid * 5 % 256, 100 + i, 7 * i)
            name = f"00000_{i:05d}.ppm"
            Image.fromarray(framed_image(h, w, inner)).save(d / name)
            lines.append(f"{name};{w};{h};1;1;{w - 1};{h - 1};{cid}\n")
            written["train"].append((inner, cid))
        (d / f"GT-{cid:05d}.csv").write_text("".join(lines))
    test_dir = folder / "Final_Test" / "Images"
    test_dir.mkdir(parents=True)
    lines = [HEADER]
    for i in range(n_test):
        cid = classes[i % len(classes)]
        h, w = sizes[i % len(sizes)]
        inner = (10 * i, 20, 30)
        Image.fromarray(framed_image(h, w, inner)).save(test_dir / f"{i:05d}.ppm")
        lines.append(f"{i:05d}.ppm;{w};{h};1;1;{w - 1};{h - 1};{cid}\n")
        written["test"].append((inner, cid))
    # The test-image archive ships an unlabelled GT-final_test.test.csv; the labels come in a separate archive.
    (test_dir / "GT-final_test.test.csv").write_text("Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\n")
    csv_path = folder / "Final_Test" / "GT-final_test.csv" if layout == "official" else folder / "GT-final_test.csv"
    csv_path.write_text("".join(lines))
    return written


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """An empty cache, no OCAD_GTSRB_DIR, offline, and no downloads."""
    monkeypatch.setenv("OCAD_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("OCAD_GTSRB_DIR", raising=False)
    monkeypatch.setenv("OCAD_OFFLINE", "1")

    def no_download():
        raise AssertionError("tried to download gtsrb")

    monkeypatch.setattr(data, "_gtsrb_download", no_download)
    data._gtsrb_read.cache_clear()
    return tmp_path


# ---------------------------------------------------------------------------------------------------- parsers


def test_read_ppm_any_size(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, size=(17, 23, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "a.ppm")
    assert (tmp_path / "a.ppm").read_bytes()[:2] == b"P6"
    np.testing.assert_array_equal(data.read_ppm(tmp_path / "a.ppm"), img)
    (tmp_path / "bad.ppm").write_bytes(b"P6\n32 32\n255\n" + b"\x00" * 10)  # truncated pixel data
    with pytest.raises(ValueError, match="bad.ppm"):
        data.read_ppm(tmp_path / "bad.ppm")


def test_read_gtsrb_csv_semicolons_and_errors(tmp_path):
    p = tmp_path / "GT-00014.csv"
    p.write_text(HEADER + "00000_00000.ppm;48;45;6;5;43;40;14\n00000_00001.ppm; 30;31;1;1;29;30; 14\n")
    assert data.read_gtsrb_csv(p) == [("00000_00000.ppm", 14), ("00000_00001.ppm", 14)]
    p.write_text("Filename;Width;Height\nx.ppm;1;1\n")  # like GT-final_test.test.csv: no labels
    with pytest.raises(ValueError, match="ClassId"):
        data.read_gtsrb_csv(p)
    p.write_text(HEADER + "x.ppm;1;1;0;0;1;1;43\n")
    with pytest.raises(ValueError, match="outside 0..42"):
        data.read_gtsrb_csv(p)
    p.write_text(HEADER + "x.ppm;1;1;0;0;1;1;stop\n")
    with pytest.raises(ValueError, match="line 2"):
        data.read_gtsrb_csv(p)


@pytest.mark.parametrize("h,w", [(15, 15), (50, 40), (32, 32), (250, 230), (101, 37)])
def test_crop_resize_removes_the_10_percent_border(h, w):
    out = data.gtsrb_crop_resize(framed_image(h, w, inner=(0, 0, 255)))
    assert out.shape == (3, 32, 32) and out.dtype == np.uint8
    # Nothing of the red frame survives: every pixel is the inner blue (bilinear resizing of a constant is exact).
    np.testing.assert_array_equal(out[0], 0)
    np.testing.assert_array_equal(out[2], 255)


def test_crop_resize_keeps_the_frame_without_border():
    out = data.gtsrb_crop_resize(framed_image(50, 50, inner=(0, 0, 255)), border=0.0)
    assert out[0, 0, 0] == 255  # the red corner is still there
    with pytest.raises(ValueError, match="border"):
        data.gtsrb_crop_resize(framed_image(10, 10, (0, 0, 0)), border=0.5)


# ---------------------------------------------------------------------------------------------------- loading


@pytest.mark.parametrize("layout", ["official", "torchvision"])
def test_load_written_files_of_several_sizes(clean_env, layout):
    written = write_gtsrb(clean_env / "g" / "GTSRB", layout=layout)  # also tests the GTSRB/ subfolder lookup
    X, y = data.load_dataset("gtsrb", "train", root=clean_env / "g")
    assert X.shape == (6, 3, 32, 32) and X.dtype == np.float32
    assert y.tolist() == [c for _, c in written["train"]]
    for img, (inner, _) in zip(X, written["train"]):  # the frame is cropped away, the inner colour fills the image
        np.testing.assert_allclose(img.reshape(3, -1).mean(1), np.array(inner) / 255.0, atol=1e-6)
    Xt, yt = data.load_gtsrb("test", root=clean_env / "g")
    assert Xt.shape == (3, 3, 32, 32) and yt.tolist() == [c for _, c in written["test"]]
    Xs, ys = data.load_gtsrb("train", classes=14, root=clean_env / "g")
    assert ys.tolist() == [14, 14, 14]
    np.testing.assert_array_equal(Xs, X[y == 14])


def test_env_var_cache_and_priorities(clean_env, monkeypatch):
    write_gtsrb(clean_env / "cache" / "gtsrb", classes=(3,))
    assert data.load_gtsrb("train")[1].tolist() == [3, 3, 3]  # found in the cache
    row = {r["name"]: r for r in data.dataset_status()}["gtsrb"]
    assert row["available"] and "cached at" in row["source"]
    write_gtsrb(clean_env / "env", classes=(14,))
    monkeypatch.setenv("OCAD_GTSRB_DIR", str(clean_env / "env"))
    assert data.load_gtsrb("train")[1].tolist() == [14, 14, 14]  # the env var beats the cache
    write_gtsrb(clean_env / "root", classes=(5,))
    assert data.load_gtsrb("train", root=clean_env / "root")[1].tolist() == [5, 5, 5]  # root beats the env var


def test_env_var_to_wrong_folder_says_so(clean_env, monkeypatch):
    (clean_env / "empty").mkdir()
    monkeypatch.setenv("OCAD_GTSRB_DIR", str(clean_env / "empty"))
    with pytest.raises(DatasetUnavailable, match="OCAD_GTSRB_DIR.*Final_Training/Images"):
        data.load_gtsrb()
    row = {r["name"]: r for r in data.dataset_status()}["gtsrb"]
    assert not row["available"] and "lacks the files" in row["reason"]


def test_offline_missing_data_says_what_to_do(clean_env):
    with pytest.raises(DatasetUnavailable) as info:
        data.load_dataset("gtsrb")
    msg = str(info.value)
    assert "OCAD_OFFLINE" in msg and "OCAD_GTSRB_DIR" in msg and "Final_Test/Images" in msg
    row = {r["name"]: r for r in data.dataset_status()}["gtsrb"]
    assert row["status"] == "unavailable" and row["reason"].startswith("offline")


def test_corrupt_image_is_dataset_unavailable(clean_env):
    write_gtsrb(clean_env / "g")
    (clean_env / "g" / "Final_Test" / "Images" / "00001.ppm").write_bytes(b"P6\n9 9\n255\n\x00")
    with pytest.raises(DatasetUnavailable, match="00001.ppm"):
        data.load_gtsrb("test", root=clean_env / "g")


def test_bad_arguments(clean_env):
    with pytest.raises(ValueError, match="0..42"):
        data.load_gtsrb(classes=43)
    with pytest.raises(ValueError, match="split"):
        data.load_gtsrb("val")
    with pytest.raises(ValueError, match="load_gtsrb"):
        data.one_class_split("gtsrb", 14)


def test_download_spec_is_torchvisions_archives(clean_env, monkeypatch):
    """The download asks pooch for the three official archives with torchvision's md5 hashes, and unzips them."""
    import pooch

    calls = []

    def fake_retrieve(url, known_hash, fname, path, downloader, processor):
        calls.append((url, known_hash, fname, type(processor).__name__))
        if fname.startswith("GTSRB-Training"):  # simulate what the three archives unpack to
            write_gtsrb(Path(path) / "GTSRB", layout="torchvision")

    monkeypatch.undo()
    monkeypatch.setenv("OCAD_DATA_DIR", str(clean_env / "cache"))
    monkeypatch.delenv("OCAD_GTSRB_DIR", raising=False)
    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    X, y = data.load_gtsrb("test", download=True)
    assert len(y) == 3
    base = "https://sid.erda.dk/public/archives/daaeac0d7ce1152aea9b61d9f1e19370/"
    assert calls == [
        (base + "GTSRB-Training_fixed.zip", "md5:513f3c79a4c5141765e10e952eaa2478", "GTSRB-Training_fixed.zip", "Unzip"),
        (base + "GTSRB_Final_Test_Images.zip", "md5:c7e4e6327067d32654124b0fe9e82185", "GTSRB_Final_Test_Images.zip",
         "Unzip"),
        (base + "GTSRB_Final_Test_GT.zip", "md5:fe31e9c9270bbcd7b84b7f21a9d9d9e5", "GTSRB_Final_Test_GT.zip", "Unzip"),
    ]


def test_network_error_becomes_short_dataset_unavailable(clean_env, monkeypatch):
    monkeypatch.undo()
    monkeypatch.setenv("OCAD_DATA_DIR", str(clean_env / "cache2"))
    monkeypatch.delenv("OCAD_GTSRB_DIR", raising=False)
    monkeypatch.setitem(data._GTSRB_REMOTE, "base_url", "http://127.0.0.1:9/")  # refused at once, no internet needed
    with pytest.raises(DatasetUnavailable) as info:
        data.load_gtsrb(download=True)
    assert "Could not download 'gtsrb'" in str(info.value) and "OCAD_GTSRB_DIR" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


# ---------------------------------------------------------------------------------------------------- dev subset


def _dev_dir():
    env = os.environ.get("OCAD_GTSRB_DIR")
    folder = Path(env) if env else SHARED_GTSRB
    return folder if data._gtsrb_parts(folder) is not None else None


@pytest.fixture(scope="module")
def dev_dir():
    folder = _dev_dir()
    if folder is None:
        pytest.skip("GTSRB not found (set OCAD_GTSRB_DIR or provide ../shared/data/gtsrb-dev)")
    return folder


def test_dev_subset_stop_signs_and_preprocessing(dev_dir):
    X, y = data.load_gtsrb("train", classes=data.GTSRB_STOP_SIGN, root=dev_dir)
    Xt, yt = data.load_gtsrb("test", root=dev_dir)
    assert X.shape[1:] == (3, 32, 32) and set(y.tolist()) == {14} and len(y) >= 300
    assert set(yt.tolist()) == set(range(43)) and (yt == 14).sum() >= 100
    assert 0.0 <= X.min() and X.max() <= 1.0
    # The paper's preprocessing: GCN-L1, then min-max with the training stop signs' constants only.
    lo, hi = data.minmax_constants(X)
    P = data.preprocess(X, lo, hi)
    assert P.min() == pytest.approx(0.0, abs=1e-6) and P.max() == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_allclose(np.abs(data.gcn_l1(X).reshape(len(X), -1)).mean(1), 1.0, rtol=1e-4)


def test_annotations_follow_the_image_order(clean_env):
    write_gtsrb(clean_env / "g", classes=(2, 14))
    ann = data.gtsrb_annotations("train", classes=14, root=clean_env / "g")
    X, y = data.load_gtsrb("train", classes=14, root=clean_env / "g")
    assert len(ann) == len(y) and (ann["ClassId"] == y).all()
    assert ann["Width"].tolist() == [40, 15, 230] and ann["Height"].tolist() == [50, 15, 250]
    test = data.gtsrb_annotations("test", root=clean_env / "g")
    assert test["ClassId"].tolist() == data.load_gtsrb("test", root=clean_env / "g")[1].tolist()


def test_training_folder_without_csv_uses_the_folder_name(clean_env):
    write_gtsrb(clean_env / "g", classes=(7,))
    (clean_env / "g" / "Final_Training" / "Images" / "00007" / "GT-00007.csv").unlink()
    X, y = data.load_gtsrb("train", root=clean_env / "g")
    assert y.tolist() == [7, 7, 7] and X.shape == (3, 3, 32, 32)
