"""`ocad-lab reproduce` on a real Dask LocalCluster (worker processes, loopback only): same rows as --jobs 1, a
worker killed mid-task, a run that raises, and a clear message without Dask."""

from __future__ import annotations

import csv
import os
import signal
import sys
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

from ocad_lab import experiments as ex  # noqa: E402
from ocad_lab.cli import main  # noqa: E402

SHALLOW = ["reproduce", "--dataset", "digits", "--methods", "if,ocsvm,kde", "--classes", "0-2", "--seeds", "2",
           "--quick", "--no-progress"]


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes on 127.0.0.1 (nannies restart a killed worker)."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the helpers below run on the workers
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as lc, distributed.Client(lc) as client:
        yield lc, client


def _rows(folder):
    with open(folder / "results.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _key(r):
    return (int(r["normal_class"]), r["method"], int(r["seed"]))


def test_scheduler_sweep_gives_the_same_rows_as_jobs_1(cluster, tmp_path):
    lc, _ = cluster
    assert main([*SHALLOW, "--out", str(tmp_path / "local"), "--jobs", "1"]) == 0
    assert main([*SHALLOW, "--out", str(tmp_path / "dask"), "--scheduler", lc.scheduler_address]) == 0
    local = {_key(r): r for r in _rows(tmp_path / "local")}
    dask = [_key(r) for r in _rows(tmp_path / "dask")]
    assert len(dask) == len(set(dask)) == 3 * 3 * 2
    assert set(dask) == set(local)
    for r in _rows(tmp_path / "dask"):
        for m in ("auroc", "auprc", "p_at_10"):
            assert float(r[m]) == pytest.approx(float(local[_key(r)][m]), abs=1e-9), (_key(r), m)
    # resuming on the cluster: nothing left to run, nothing appended
    before = (tmp_path / "dask" / "results.csv").read_text()
    assert main([*SHALLOW, "--out", str(tmp_path / "dask"), "--scheduler", lc.scheduler_address]) == 0
    assert (tmp_path / "dask" / "results.csv").read_text() == before


def test_a_worker_killed_mid_task_is_retried_and_every_run_appears_once(cluster, tmp_path):
    lc, client = cluster
    args = ["reproduce", "--dataset", "digits", "--methods", "deep-svdd,if", "--classes", "0-3", "--seeds", "1",
            "--epochs", "100", "--quick", "--no-progress", "--scheduler", lc.scheduler_address,
            "--out", str(tmp_path / "r")]
    killed = []

    def kill_one_busy_worker():
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                time.sleep(0.3)  # inside the task (a 100-epoch DCAE, then a 100-epoch Deep SVDD)
                if client.processing().get(busy[0]):
                    pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            time.sleep(0.1)

    t = threading.Thread(target=kill_one_busy_worker)
    t.start()
    code = main(args)
    t.join()
    assert killed, "no worker was busy long enough to be killed"
    assert code == 0
    keys = [_key(r) for r in _rows(tmp_path / "r")]
    assert sorted(keys) == sorted((c, m, 0) for c in range(4) for m in ("deep-svdd", "if"))  # each exactly once
    assert not (tmp_path / "r" / "failures.csv").exists()


def _make_class_1_seed_0_fail():
    """On a worker: the (class 1, seed 0) task raises after its first run."""
    from ocad_lab import experiments

    real = experiments._iter_task

    def flaky(dataset, c, s, methods, *a, **k):
        for row in real(dataset, c, s, methods, *a, **k):
            yield row
            if c == 1 and s == 0:
                raise RuntimeError("boom in class 1")

    experiments._UNITS["task"] = flaky


def _restore():
    from ocad_lab import experiments

    experiments._UNITS["task"] = experiments._iter_task


def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(cluster, tmp_path, capsys):
    lc, client = cluster
    args = ["reproduce", "--dataset", "digits", "--methods", "if,ocsvm", "--classes", "0-2", "--seeds", "1",
            "--quick", "--no-progress", "--scheduler", lc.scheduler_address, "--out", str(tmp_path / "r")]
    client.run(_make_class_1_seed_0_fail)
    try:
        assert main(args) == 1
    finally:
        client.run(_restore)
    keys = {_key(r) for r in _rows(tmp_path / "r")}
    assert keys == {(c, m, 0) for c in range(3) for m in ("if", "ocsvm")} - {(1, "ocsvm", 0)}
    with open(tmp_path / "r" / "failures.csv", newline="") as fh:
        fails = list(csv.DictReader(fh))
    assert [(f["normal_class"], f["method"], f["seed"]) for f in fails] == [("1", "ocsvm", "0")]
    assert "RuntimeError: boom in class 1" in fails[0]["error"]
    assert "failed" in capsys.readouterr().err
    # resume: only the failed run is redone
    assert main(args) == 0
    assert len(_rows(tmp_path / "r")) == 6


def test_cluster_local_n_and_bad_arguments(tmp_path, capsys):
    out = tmp_path / "loc"
    assert main(["reproduce", "--dataset", "digits", "--methods", "if", "--classes", "0", "--seeds", "2", "--quick",
                 "--no-progress", "--cluster", "local:1", "--out", str(out)]) == 0
    assert len(ex.read_results(out / "results.csv")) == 2
    for bad, msg in ((["--cluster", "remote:3"], "local:N"), (["--cluster", "local:2", "--jobs", "2"], "--jobs"),
                     (["--cluster", "local:1", "--scheduler", "tcp://x:1"], "not allowed with")):
        with pytest.raises(SystemExit):
            main(["reproduce", "--dataset", "digits", *bad, "--out", str(tmp_path / "x")])
        assert msg in capsys.readouterr().err


def test_without_dask_the_scheduler_flag_says_what_to_install(tmp_path, capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_dask(name, *a, **k):
        if name == "distributed" or name.startswith("distributed."):
            raise ImportError("No module named 'distributed'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(SystemExit) as info:
        main(["reproduce", "--dataset", "digits", "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "x")])
    assert info.value.code == 2
    assert 'pip install "ocad-lab[cluster]"' in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_stacks_run_as_one_task_per_class_on_the_cluster(cluster, tmp_path):
    """--stack through --scheduler (forced on the CPU): a stack of seeds per task, rows as one-at-a-time ones."""
    lc, _ = cluster
    base = ["reproduce", "--dataset", "digits", "--methods", "dcae,deep-svdd,if", "--classes", "0-1", "--seeds", "2",
            "--epochs", "3", "--quick", "--no-progress"]
    assert main([*base, "--no-stack", "--out", str(tmp_path / "one")]) == 0
    assert main([*base, "--stack", "--scheduler", lc.scheduler_address, "--out", str(tmp_path / "stk")]) == 0
    one = {_key(r): r for r in _rows(tmp_path / "one")}
    stk = [_key(r) for r in _rows(tmp_path / "stk")]
    assert sorted(stk) == sorted(one) and len(stk) == 2 * 3 * 2
    for r in _rows(tmp_path / "stk"):
        assert float(r["auroc"]) == pytest.approx(float(one[_key(r)]["auroc"]), abs=1e-3)
    units = ex.plan_units("digits", ex.plan_runs("digits", [0, 1], ["dcae", "deep-svdd", "if"], 2), {}, stack=True)
    assert [u[0] for u in units] == ["stack", "stack"]  # one task per class
