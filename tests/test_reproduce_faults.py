"""Faults during `ocad-lab reproduce`: SIGINT and SIGKILL at random points, partial lines, foreign folders.

Every interrupted sweep must leave a results.csv that is valid CSV (the kit's header, whole lines only) and that the
same command completes to exactly the rows of an uninterrupted sweep. Shallow quick methods on the bundled 8x8 digits
keep each run short (a fraction of a second), so the kills land between and during runs.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ocad_lab.cli import main
from ocad_lab.experiments import ROW_FIELDS

ARGS = ["reproduce", "--dataset", "digits", "--methods", "if", "--classes", "0-4", "--seeds", "2", "--quick",
        "--no-progress"]
N_RUNS = 5 * 2
METRICS = ("auroc", "auprc", "p_at_10")
ROOT = Path(__file__).resolve().parents[1]


def _env():
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _start(out, extra=()):
    return subprocess.Popen([sys.executable, "-m", "ocad_lab.cli", *ARGS, *extra, "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=ROOT, text=True)


def _n_lines(path):
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _wait_for(proc, csv_path, rows, deadline_s=60):
    """Wait until results.csv holds ``rows`` rows (header + rows lines) or the process ends."""
    t_end = time.monotonic() + deadline_s
    while proc.poll() is None and time.monotonic() < t_end:
        if _n_lines(csv_path) >= rows + 1:
            return
        time.sleep(0.01)


def _check_valid_csv(path):
    """results.csv is absent or: the kit's header, then whole rows (every line ends with a newline); return rows."""
    if not path.exists():
        return {}
    raw = path.read_bytes()
    if not raw:
        return {}
    assert raw.endswith(b"\n"), f"partial last line left behind: {raw[-80:]!r}"
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        assert tuple(next(reader)) == ROW_FIELDS
        rows = {}
        for rec in reader:
            assert len(rec) == len(ROW_FIELDS), rec
            r = dict(zip(ROW_FIELDS, rec))
            key = (r["dataset"], int(r["normal_class"]), r["method"], int(r["seed"]))
            assert key not in rows, f"duplicate run {key}"
            rows[key] = {m: float(r[m]) for m in METRICS}
    return rows


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The rows of one uninterrupted sweep (in-process; the same code the subprocesses run)."""
    out = tmp_path_factory.mktemp("ref") / "res"
    assert main([*ARGS, "--out", str(out)]) == 0
    rows = _check_valid_csv(out / "results.csv")
    assert len(rows) == N_RUNS
    return rows


def _resume_and_compare(out, reference):
    assert main([*ARGS, "--out", str(out)]) == 0
    rows = _check_valid_csv(out / "results.csv")
    assert rows.keys() == reference.keys()
    for key, metrics in reference.items():
        for m in METRICS:
            assert rows[key][m] == pytest.approx(metrics[m], abs=1e-12), (key, m)
    json.loads((out / "config.json").read_text())  # still valid JSON
    assert "Isolation Forest" in (out / "summary.md").read_text()


@pytest.mark.parametrize("trial", range(2))
def test_sigint_leaves_valid_csv_one_line_and_resumes(trial, reference, tmp_path):
    rng = random.Random(1000 + trial)
    out = tmp_path / "res"
    proc = _start(out)
    proc.stdout.readline()  # the plan line: the handler is running (Ctrl-C before it is Python's own business)
    _wait_for(proc, out / "results.csv", rng.randrange(0, N_RUNS - 2))
    time.sleep(rng.uniform(0, 0.2))  # land between or inside runs
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:  # finished before the signal arrived (a very slow machine): nothing was interrupted
        assert _check_valid_csv(out / "results.csv").keys() == reference.keys()
        pytest.skip("the sweep finished before SIGINT arrived")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    line = [x for x in err.splitlines() if "interrupted" in x]
    assert len(line) == 1 and f"of {N_RUNS} runs" in line[0] and "the same command resumes" in line[0]
    done = _check_valid_csv(out / "results.csv")
    assert f"interrupted after {len(done)} of" in line[0]
    _resume_and_compare(out, reference)


@pytest.mark.parametrize("trial", range(2))
def test_sigkill_at_random_points_leaves_valid_csv_and_resumes(trial, reference, tmp_path):
    rng = random.Random(2000 + trial)
    out = tmp_path / "res"
    for _ in range(2):  # killed twice, each time at another point, before the resume that completes it
        before = len(_check_valid_csv(out / "results.csv"))
        proc = _start(out)
        if rng.random() < 0.3:
            time.sleep(rng.uniform(0, 2.0))  # anywhere, even during start-up
        else:
            _wait_for(proc, out / "results.csv", min(N_RUNS - 1, before + rng.randrange(1, 5)))
            time.sleep(rng.uniform(0, 0.05))
        proc.kill()
        proc.communicate(timeout=60)
        _check_valid_csv(out / "results.csv")
    _resume_and_compare(out, reference)


def test_sigint_with_two_processes_stops_the_pool_without_traces(reference, tmp_path):
    out = tmp_path / "res"
    proc = _start(out, ["--jobs", "2"])
    proc.stdout.readline()
    _wait_for(proc, out / "results.csv", 2, deadline_s=120)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)  # must not wait for the workers' running tasks
    if proc.returncode != 0:
        assert proc.returncode == 130, err
        assert "Traceback" not in err and "the same command resumes" in err
    _resume_and_compare(out, reference)


def test_a_partial_last_line_is_dropped_and_redone(reference, tmp_path):
    out = tmp_path / "res"
    assert main([*ARGS, "--classes", "0", "--out", str(out)]) == 0
    path = out / "results.csv"
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 12])  # a row cut inside its last fields, as a kill during a write would
    with pytest.warns(UserWarning, match="partial last line"):
        assert main([*ARGS, "--out", str(out)]) == 0
    _resume_and_compare(out, reference)


def test_a_complete_last_row_without_newline_is_kept(reference, tmp_path):
    out = tmp_path / "res"
    assert main([*ARGS, "--classes", "0", "--out", str(out)]) == 0
    path = out / "results.csv"
    path.write_bytes(path.read_bytes().rstrip(b"\n"))
    with pytest.warns(UserWarning, match="added it"):
        assert main([*ARGS, "--out", str(out)]) == 0
    rows = _check_valid_csv(path)
    assert len(rows) == N_RUNS


@pytest.mark.parametrize("case", ["no-config", "foreign-header", "other-config"])
def test_foreign_or_config_less_out_is_refused_with_the_hint(case, reference, tmp_path, capsys):
    out = tmp_path / "res"
    assert main([*ARGS, "--classes", "0", "--out", str(out)]) == 0
    if case == "no-config":
        (out / "config.json").unlink()
    elif case == "foreign-header":
        (out / "results.csv").write_text("name,score\nfoo,1\n")
    else:
        cfg = json.loads((out / "config.json").read_text())
        cfg["config"]["n_train"] = 7
        (out / "config.json").write_text(json.dumps(cfg))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main([*ARGS, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "--fresh" in err
    assert {"no-config": "no config.json", "foreign-header": "not an ocad-lab results file",
            "other-config": "other settings"}[case] in err
    if case != "foreign-header":
        assert "--force" in err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing touched
    # the way out the message names works: --fresh starts over and completes the sweep
    assert main([*ARGS, "--fresh", "--out", str(out)]) == 0
    _resume_and_compare(out, reference)
