"""Tests of the ``ocad-lab`` command line."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import ocad_lab
from ocad_lab import cli, data


@pytest.fixture
def offline_empty(monkeypatch, tmp_path):
    """Offline, an empty cache, no local MNIST/CIFAR folders; any download attempt fails the test."""
    monkeypatch.setenv("OCAD_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("OCAD_OFFLINE", "1")
    for var in ("OCAD_MNIST_DIR", "OCAD_CIFAR10_DIR", "OCAD_FASHION_MNIST_DIR"):
        monkeypatch.delenv(var, raising=False)

    def no_download(name):
        raise AssertionError(f"ocad-lab info tried to download {name}")

    monkeypatch.setattr(data, "_download", no_download)
    return tmp_path


def test_info_reports_settings_and_every_dataset(offline_empty, monkeypatch, capsys):
    monkeypatch.setenv("OCAD_QUICK", "1")
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"ocad_lab {ocad_lab.__version__}" in out
    assert "device     cpu" in out or "device     cuda" in out or "device     mps" in out
    assert "quick mode on" in out and "offline    yes" in out
    assert str(offline_empty / "cache") in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in data.DATASETS}
    assert set(lines) == set(data.DATASETS)
    assert "available" in lines["mnist5k"] and "unavailable" in lines["cifar10"]


def test_info_follows_local_folder(offline_empty, monkeypatch, capsys):
    folder = offline_empty / "m"
    folder.mkdir()
    for split in ("train", "t10k"):
        for kind in ("images-idx3", "labels-idx1"):
            (folder / f"{split}-{kind}-ubyte.gz").write_bytes(b"")  # info only checks that files exist
    monkeypatch.setenv("OCAD_MNIST_DIR", str(offline_empty / "m"))
    cli.main(["info"])
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("mnist "))
    assert "available" in line and "unavailable" not in line and "OCAD_MNIST_DIR" in line


def test_info_with_unusable_device_still_reports(offline_empty, monkeypatch, capsys):
    monkeypatch.setenv("OCAD_DEVICE", "cuda" if not _has_cuda() else "mps")
    assert cli.main(["info"]) == 0
    assert "error:" in capsys.readouterr().out


def _has_cuda():
    import torch

    return torch.cuda.is_available()


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 1
    assert "info" in capsys.readouterr().out


def test_version_and_unknown_command(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and ocad_lab.__version__ in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main(["frobnicate"])
    assert exc.value.code == 2


def test_console_script_runs(offline_empty):
    exe = shutil.which("ocad-lab")
    cmd = [exe, "info"] if exe else [sys.executable, "-m", "ocad_lab.cli", "info"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "mnist5k" in done.stdout and "Traceback" not in done.stderr


@pytest.mark.parametrize("value, expected", [("1", True), ("TRUE", True), (" on ", True), ("yes", True), ("0", False),
                                             ("false", False), ("off", False), ("", False)])
def test_env_switches_accept_the_documented_values(value, expected, monkeypatch):
    from ocad_lab.config import env_flag, is_quick

    monkeypatch.setenv("OCAD_QUICK", value)
    assert is_quick() is expected and env_flag("OCAD_QUICK") is expected


def test_get_device_accepts_cpu_and_torch_devices():
    import torch

    from ocad_lab.config import get_device

    assert get_device("cpu") == torch.device("cpu") and get_device(torch.device("cpu")).type == "cpu"
    assert get_device("auto").type in ("cpu", "cuda", "mps")
