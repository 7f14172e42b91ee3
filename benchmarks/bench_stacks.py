"""Stacks of K one-class models against K single runs, and a Dask sweep against --jobs (not a test).

Usage::

    python benchmarks/bench_stacks.py stacks [--ks 1,10,100] [--batches 3] [--device cpu] [--threads 1]
    python benchmarks/bench_stacks.py dask [--workers 2] [--classes 0-4] [--seeds 3]
    python benchmarks/bench_stacks.py --tiny         # smoke-test size of both

``stacks``: seconds per epoch of LeNet-MNIST Deep SVDD (one-class, batch 200, Adam) for one stack of K models
(``ocad_lab.stacks.fit_stack``) against K single fits (``DeepSVDD.fit``, K times one fit's epoch). Each epoch is
timed on ``--batches`` batches of random 1x28x28 images (an epoch's cost depends only on the shapes) and scaled to
a full MNIST class (5,923 images = 30 batches); the first epoch is a warm-up and not counted.

``dask``: the same shallow sweep (Isolation Forest, OC-SVM, KDE on the 8x8 digits, quick config) with ``--jobs W``
and on a Dask ``LocalCluster`` of W worker processes (``reproduce --scheduler``), wall time and the overhead in %.
The cluster's start-up is reported apart (a long sweep pays it once).

Prints one line per row. Timings depend on the machine and on its load: the first line gives the load average.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

N_CLASS = 5923  # MNIST class 0 training images
BATCH = 200


def _header():
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    busy = " MACHINE BUSY (numbers measured under load)" if load > (os.cpu_count() or 1) else ""
    print(f"# load average {load:.2f} on {os.cpu_count()} CPUs{busy}", flush=True)


def stack_rows(ks=(1, 10, 100), batches=3, device="cpu", threads=1, epochs=2):
    """One dict per K: seconds per full-class epoch of a stack of K and of K single fits (scaled from ``batches``)."""
    import torch

    from ocad_lab.config import limit_threads
    from ocad_lab.estimators import DeepSVDD
    from ocad_lab.stacks import fit_stack

    rng = np.random.default_rng(0)
    n = batches * BATCH
    X = rng.random((n, 1, 28, 28), dtype=np.float32)
    scale = int(np.ceil(N_CLASS / BATCH)) / batches  # batches of a full class / timed batches
    kw = dict(net="mnist", num_epochs=epochs, lr_milestones=(), batch_size=BATCH, device=device, verbose=0)

    def sync():
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()

    rows = []
    with limit_threads(threads):
        single = DeepSVDD(random_state=0, **kw).fit(X)
        sync()
        single_epoch = float(np.median([h["seconds"] for h in single.history_[1:]])) * scale
        for k in ks:
            ests = fit_stack([DeepSVDD(random_state=s, **kw) for s in range(k)], X)
            sync()
            stack_epoch = float(np.median([h["seconds"] for h in ests[0].history_[1:]])) * scale
            rows.append({"K": k, "stack_s_per_epoch": stack_epoch, "k_singles_s_per_epoch": k * single_epoch,
                         "speed_up": k * single_epoch / stack_epoch, "device": str(single.device_),
                         "threads": threads, "timed_batches": batches})
            print(f"K={k:4d}  stack {stack_epoch:9.3f} s/epoch   {k} singles {k * single_epoch:9.3f} s/epoch   "
                  f"speed-up x{k * single_epoch / stack_epoch:.2f}   ({single.device_}, {threads} thread(s), "
                  f"{batches} batches timed, scaled to {N_CLASS} images)", flush=True)
    return rows


def dask_rows(workers=2, classes="0-4", seeds=3, methods="if,ocsvm,kde", dataset="digits"):
    """Wall time of one sweep with --jobs W and through a LocalCluster of W processes; overhead in %."""
    import distributed

    from ocad_lab.cli import main

    base = ["reproduce", "--dataset", dataset, "--methods", methods, "--classes", classes, "--seeds", str(seeds),
            "--quick", "--no-progress"]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        assert main([*base, "--jobs", str(workers), "--out", f"{tmp}/jobs"]) == 0
        jobs_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                      dashboard_address="127.0.0.1:0") as lc:
            start_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            assert main([*base, "--scheduler", lc.scheduler_address, "--out", f"{tmp}/dask"]) == 0
            dask_s = time.perf_counter() - t0
    row = {"workers": workers, "jobs_s": jobs_s, "dask_s": dask_s, "cluster_start_s": start_s,
           "overhead_pct": 100 * (dask_s - jobs_s) / jobs_s}
    print(f"--jobs {workers}: {jobs_s:.1f} s   dask LocalCluster({workers}): {dask_s:.1f} s (+ {start_s:.1f} s "
          f"start-up)   overhead {row['overhead_pct']:+.1f} %", flush=True)
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", nargs="?", choices=("stacks", "dask", "all"), default="all")
    p.add_argument("--ks", default="1,10,100")
    p.add_argument("--batches", type=int, default=3)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--classes", default="0-4")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--tiny", action="store_true", help="smoke-test size")
    a = p.parse_args(argv)
    _header()
    out = {}
    if a.what in ("stacks", "all"):
        ks = (1, 2) if a.tiny else tuple(int(k) for k in a.ks.split(","))
        out["stacks"] = stack_rows(ks, batches=1 if a.tiny else a.batches, device=a.device, threads=a.threads)
    if a.what in ("dask", "all"):
        out["dask"] = dask_rows(a.workers, classes="0" if a.tiny else a.classes, seeds=1 if a.tiny else a.seeds,
                                methods="if" if a.tiny else "if,ocsvm,kde")
    return out


if __name__ == "__main__":
    main()
