"""`ocad-lab reproduce`: a tiny sweep end to end, resuming, refusing mismatched folders, bad arguments, --jobs."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from ocad_lab.cli import main

# Tiny but real: the bundled 8x8 digits, two classes, one seed, cheap baselines plus a 1-epoch Deep SVDD.
TINY = ["reproduce", "--dataset", "digits", "--methods", "if,ocsvm,deep-svdd", "--classes", "0-1", "--seeds", "1",
        "--epochs", "1", "--quick", "--no-progress"]
N_RUNS = 2 * 3 * 1


def _rows(folder):
    with open(folder / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _key(r):
    return (r["dataset"], int(r["normal_class"]), r["method"], int(r["seed"]))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """One finished tiny sweep (jobs=1); tests copy the folder before changing it."""
    out = tmp_path_factory.mktemp("sweep") / "res"
    assert main([*TINY, "--out", str(out)]) == 0
    return out


def _copy(sweep, tmp_path):
    dst = tmp_path / "res"
    shutil.copytree(sweep, dst)
    return dst


def test_sweep_writes_one_row_per_run_and_a_summary(sweep):
    rows = _rows(sweep)
    assert len(rows) == N_RUNS
    assert len({_key(r) for r in rows}) == N_RUNS
    assert list(rows[0]) == ["dataset", "normal_class", "method", "seed", "auroc", "auprc", "p_at_10",
                             "fit_seconds", "device"]
    for r in rows:
        assert 0.0 <= float(r["auroc"]) <= 1.0 and 0.0 <= float(r["auprc"]) <= 1.0
        assert float(r["fit_seconds"]) >= 0.0
    cfg = json.loads((sweep / "config.json").read_text())
    assert cfg["dataset"] == "digits" and cfg["config"]["svdd_epochs"] == 1 and cfg["seeds"] == [0]
    assert cfg["config"]["anogan_epochs"] == 1  # --epochs reaches every training, AnoGAN's GAN included
    summary = (sweep / "summary.md").read_text()
    assert "One-class Deep SVDD" in summary and "Isolation Forest" in summary


def test_second_invocation_runs_nothing_new(sweep, tmp_path, capsys):
    out = _copy(sweep, tmp_path)
    before = (out / "results.csv").read_text()
    assert main([*TINY, "--out", str(out)]) == 0
    assert (out / "results.csv").read_text() == before
    assert f"{N_RUNS} already in" in capsys.readouterr().out


def test_a_deleted_row_is_redone(sweep, tmp_path, capsys):
    out = _copy(sweep, tmp_path)
    rows = _rows(out)
    lost = rows.pop(2)
    with open(out / "results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(lost))
        w.writeheader()
        w.writerows(rows)
    assert main([*TINY, "--out", str(out)]) == 0
    assert "1 to run" in capsys.readouterr().out
    again = _rows(out)
    assert len(again) == N_RUNS
    redone = next(r for r in again if _key(r) == _key(lost))
    assert float(redone["auroc"]) == pytest.approx(float(lost["auroc"]), abs=1e-9)  # same seed, same result


def test_other_settings_are_refused_unless_forced(sweep, tmp_path, capsys):
    out = _copy(sweep, tmp_path)
    other = [a if a != "1" or i != TINY.index("--epochs") + 1 else "2" for i, a in enumerate(TINY)]
    assert main([*other, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "config differ" in err and "--fresh" in err and "Traceback" not in err
    assert len(_rows(out)) == N_RUNS  # nothing touched
    # --fresh starts over: the old rows are gone and the new sweep is complete
    assert main([*other, "--methods", "if", "--out", str(out), "--fresh"]) == 0
    rows = _rows(out)
    assert {r["method"] for r in rows} == {"if"} and len(rows) == 2
    assert json.loads((out / "config.json").read_text())["config"]["svdd_epochs"] == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--dataset", "nope"], "unknown dataset"),
        (["--dataset", "digits", "--methods", "svm"], "Unknown method"),
        (["--dataset", "digits", "--classes", "3-1"], "start is after the end"),
        (["--dataset", "digits", "--classes", "12"], "classes are 0 to 9"),
        (["--dataset", "digits", "--seeds", "0"], "--seeds must be >= 1"),
        (["--dataset", "digits", "--jobs", "0"], "--jobs must be >= 1"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["reproduce", *args, "--out", str(tmp_path / "x")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if "error:" in line]) == 1
    assert not (tmp_path / "x" / "results.csv").exists()


def test_jobs_2_gives_the_same_rows_as_jobs_1(sweep, tmp_path):
    out = tmp_path / "par"
    assert main([*TINY, "--out", str(out), "--jobs", "2"]) == 0
    serial = {_key(r): r for r in _rows(sweep)}
    parallel = {_key(r): r for r in _rows(out)}
    assert serial.keys() == parallel.keys()
    for k, r in serial.items():
        for m in ("auroc", "auprc", "p_at_10"):
            assert float(parallel[k][m]) == pytest.approx(float(r[m]), abs=1e-6), (k, m)


def test_missing_data_set_is_a_clear_error_before_any_file(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "no-cifar"
    empty.mkdir()
    monkeypatch.setenv("OCAD_CIFAR10_DIR", str(empty))  # a folder without the files: never a download
    out = tmp_path / "res"
    code = main(["reproduce", "--dataset", "cifar10", "--methods", "if", "--classes", "0", "--seeds", "1",
                 "--out", str(out), "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert "OCAD_CIFAR10_DIR" in err and "Traceback" not in err
    assert not out.exists()


def _runs_then(monkeypatch, exc, after=2):
    """Make run_runs yield ``after`` real rows, then raise ``exc`` (as Ctrl-C or a failing run would)."""
    from ocad_lab import experiments as ex

    real = ex.run_runs

    def fake(*args, **kwargs):
        for i, row in enumerate(real(*args, **kwargs)):
            if i == after:
                raise exc
            yield row

    monkeypatch.setattr(ex, "run_runs", fake)


SHALLOW = ["reproduce", "--dataset", "digits", "--methods", "if", "--classes", "0-2", "--seeds", "2", "--quick",
           "--no-progress"]


def test_ctrl_c_is_one_line_exit_130_and_the_same_command_resumes(tmp_path, monkeypatch, capsys):
    out = tmp_path / "res"
    _runs_then(monkeypatch, KeyboardInterrupt(), after=2)
    assert main([*SHALLOW, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "interrupted after 2 of 6 runs" in err and "the same command resumes" in err and "Traceback" not in err
    assert len(_rows(out)) == 2 and (out / "summary.md").exists() and (out / "config.json").exists()
    monkeypatch.undo()
    assert main([*SHALLOW, "--out", str(out)]) == 0
    assert "2 already in" in capsys.readouterr().out and len(_rows(out)) == 6


def test_a_failing_run_is_one_line_and_keeps_the_rows_done(tmp_path, monkeypatch, capsys):
    out = tmp_path / "res"
    _runs_then(monkeypatch, FloatingPointError("the loss became NaN in epoch 3; lower lr"), after=3)
    assert main([*SHALLOW, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "a run failed after 3 of 6 runs" in err and "lower lr" in err and "resumes" in err
    assert "Traceback" not in err and len(_rows(out)) == 3
