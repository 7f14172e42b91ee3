"""`ocad-lab reproduce --protocol ocnn` under faults: the same results-folder rules as the Deep SVDD sweep.

Foreign, config-less and other-settings folders are refused with one line (exit 2) and left untouched; a partial
last line is repaired (or dropped and redone) and the same command completes to the rows of an uninterrupted run;
Ctrl-C prints one line and exits 130. Shallow methods on the bundled 8x8 digits keep every run short.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ocad_lab import experiments as ex
from ocad_lab import ocnn_protocol as op
from ocad_lab.cli import main

ARGS = ["reproduce", "--protocol", "ocnn", "--dataset", "digits", "--methods", "iforest,ocsvm-linear", "--seeds", "2",
        "--quick", "--no-progress"]
METRICS = ("auprc", "auroc", "p_at_10", "auprc_sign", "auroc_sign", "p_at_10_sign", "auprc_normal")
ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def _rows(path):
    """results.csv must be the protocol's header then whole, unique rows; return {run key: metrics}."""
    raw = path.read_bytes()
    assert raw.endswith(b"\n"), f"partial last line left behind: {raw[-80:]!r}"
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        assert tuple(next(reader)) == op.ROW_FIELDS
        rows = {}
        for rec in reader:
            assert len(rec) == len(op.ROW_FIELDS), rec
            r = op.ROW_FORMAT.parse(rec)
            assert ex.run_key(r) not in rows, f"duplicate run {ex.run_key(r)}"
            rows[ex.run_key(r)] = {m: r[m] for m in METRICS}
    return rows


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The rows of one uninterrupted run of ARGS."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("ref") / "res"
    assert main([*ARGS, "--out", str(out)]) == 0
    rows = _rows(out / "results.csv")
    assert len(rows) == 4
    return out, rows


def _copy(src, dst):
    dst.mkdir()
    for name in ("results.csv", "config.json", "summary.md"):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


def _one_error_line(capsys, *needles):
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("ocad-lab reproduce: error:"), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def test_a_foreign_header_is_refused_and_left_untouched(tmp_path, capsys):
    out = tmp_path / "res"
    out.mkdir()
    foreign = ",".join(ex.ROW_FIELDS) + "\ndigits,0,if,0,0.9,0.8,1.0,0.1,cpu\n"  # a Deep SVDD sweep's results.csv
    (out / "results.csv").write_text(foreign)
    assert main([*ARGS, "--out", str(out)]) == 2
    _one_error_line(capsys, "not an ocad-lab results file", "--fresh")
    assert (out / "results.csv").read_text() == foreign and not (out / "config.json").exists()
    # the API refuses it too, rather than appending protocol rows under the sweep's header
    with pytest.raises(ex.ResultsFolderError, match="not an ocad-lab results file"):
        op.ocnn_protocol(["digits"], ["iforest"], draws=1, config=op.protocol_config(quick=True),
                         out=out / "results.csv", progress=False)
    assert (out / "results.csv").read_text() == foreign
    # --fresh starts over
    assert main([*ARGS, "--out", str(out), "--fresh"]) == 0
    assert len(_rows(out / "results.csv")) == 4


def test_the_sweep_refuses_a_protocol_folder(reference, tmp_path, capsys):
    out = _copy(reference[0], tmp_path / "res")
    before = (out / "results.csv").read_bytes()
    args = ["reproduce", "--dataset", "digits", "--methods", "if", "--classes", "0", "--seeds", "1", "--quick",
            "--no-progress", "--out", str(out)]
    assert main(args) == 2
    _one_error_line(capsys, "not an ocad-lab results file")
    assert (out / "results.csv").read_bytes() == before


def test_a_config_less_folder_is_refused_unless_forced(reference, tmp_path, capsys):
    out = _copy(reference[0], tmp_path / "res")
    (out / "config.json").unlink()
    before = (out / "results.csv").read_bytes()
    assert main([*ARGS, "--out", str(out)]) == 2
    _one_error_line(capsys, "4 row(s)", "no config.json", "--force", "--fresh")
    assert (out / "results.csv").read_bytes() == before and not (out / "config.json").exists()
    assert main([*ARGS, "--out", str(out), "--force"]) == 0  # the user vouches for the rows: they count as done
    assert (out / "results.csv").read_bytes() == before and (out / "config.json").exists()


def test_other_settings_are_refused(reference, tmp_path, capsys):
    out = _copy(reference[0], tmp_path / "res")
    before = (out / "results.csv").read_bytes()
    assert main([*ARGS, "--out", str(out), "--epochs", "3"]) == 2
    _one_error_line(capsys, "other settings", "config differ", "--force")
    assert (out / "results.csv").read_bytes() == before


@pytest.mark.parametrize("cut", ["newline", "mid-row"])
def test_a_partial_last_line_is_repaired_and_resumes_to_the_same_rows(reference, tmp_path, cut):
    out = _copy(reference[0], tmp_path / "res")
    raw = (out / "results.csv").read_bytes()
    # "newline": a complete last row whose newline was never written (kept); "mid-row": half a row (dropped, redone)
    (out / "results.csv").write_bytes(raw[:-1] if cut == "newline" else raw[: raw.rfind(b",", 0, -40)])
    with pytest.warns(UserWarning, match="added it" if cut == "newline" else "dropped a partial last line"):
        assert main([*ARGS, "--out", str(out)]) == 0
    rows = _rows(out / "results.csv")
    assert rows.keys() == reference[1].keys()
    for key, metrics in reference[1].items():
        assert rows[key] == pytest.approx(metrics, abs=1e-12), key
    if cut == "newline":
        assert (out / "results.csv").read_bytes() == raw  # nothing redone, nothing appended


def test_ctrl_c_prints_one_line_and_the_same_command_resumes(tmp_path):
    out = tmp_path / "res"
    args = ["reproduce", "--protocol", "ocnn", "--dataset", "digits", "--methods", "iforest,ocsvm-linear",
            "--seeds", "8", "--quick", "--no-progress", "--out", str(out)]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, "-m", "ocad_lab.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True)
    assert "16 runs" in proc.stdout.readline()  # the plan line: the handler is running
    t_end = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < t_end:  # wait for the first rows
        if (out / "results.csv").exists() and (out / "results.csv").read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:  # a very fast machine finished before the signal arrived
        pytest.skip("the run finished before SIGINT arrived")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1, err
    done = _rows(out / "results.csv")
    assert 2 <= len(done) < 16
    assert f"interrupted after {len(done)} of 16 runs" in lines[0] and "the same command resumes" in lines[0]
    assert main(args) == 0
    assert len(_rows(out / "results.csv")) == 16
