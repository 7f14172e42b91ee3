"""Time the Deep SVDD paper's MNIST schedule on a GPU (or any device).

Usage (MNIST IDX files in a folder, e.g. ``OCAD_MNIST_DIR=data/mnist``)::

    python benchmarks/gpu_deepsvdd_mnist.py epochs          # seconds per epoch, AE and Deep SVDD, one class
    python benchmarks/gpu_deepsvdd_mnist.py full            # one class x one seed, the paper's schedule
    python benchmarks/gpu_deepsvdd_mnist.py parallel E N...  # N processes at once, each E+E epochs (throughput)

Prints one JSON line per measurement. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
import time

import numpy as np


def _split(normal_class=0):
    """The full-MNIST inductive split of one normal class (6,000-odd training images)."""
    from ocad_lab.data import one_class_split

    return one_class_split("mnist", normal_class)


def _sync():
    """Wait for the GPU (timings)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def per_epoch(num_epochs=6):
    """Seconds per epoch of the LeNet-MNIST autoencoder and of Deep SVDD (one class, batch 200)."""
    from ocad_lab.estimators import AutoencoderDetector, DeepSVDD

    s = _split(0)
    out = {"n_train": int(len(s.X_train))}
    ae = AutoencoderDetector(num_epochs=num_epochs, verbose=0).fit(s.X_train)
    out["ae_s_per_epoch"] = float(np.median([h["seconds"] for h in ae.history_[1:]]))
    svdd = DeepSVDD(num_epochs=num_epochs, lr_milestones=(), verbose=0).fit(s.X_train)
    out["svdd_s_per_epoch"] = float(np.median([h["seconds"] for h in svdd.history_[1:]]))
    out["device"] = str(svdd.device_)
    print(json.dumps({"measure": "per_epoch", **out}), flush=True)


def _one_run(args):
    """Pretrain + Deep SVDD on one class with the given epochs; return (seconds, auroc)."""
    normal_class, seed, ae_epochs, svdd_epochs = args
    from ocad_lab.estimators import DeepSVDD
    from ocad_lab.metrics import auroc

    s = _split(normal_class)
    _sync()
    t0 = time.perf_counter()
    est = DeepSVDD(pretrain=True, ae_epochs=ae_epochs, ae_lr_milestones=(max(1, ae_epochs * 5 // 7),),
                   num_epochs=svdd_epochs, lr_milestones=(max(1, svdd_epochs * 3 // 5),), random_state=seed,
                   verbose=0).fit(s.X_train)
    _sync()
    fit_s = time.perf_counter() - t0
    return fit_s, auroc(s.y_test, -est.decision_function(s.X_test))


def full(normal_class=0):
    """One class x one seed with the paper's schedule: AE 250+100 epochs, Deep SVDD 150+100 epochs."""
    fit_s, a = _one_run((normal_class, 0, 350, 250))
    print(json.dumps({"measure": "full_run", "class": normal_class, "fit_seconds": fit_s, "auroc": a}), flush=True)


def _one_thread():
    """Worker initialiser: one CPU thread each (the GPU does the work)."""
    import torch

    torch.set_num_threads(1)


def parallel(n_proc, epochs):
    """``n_proc`` spawned processes share the GPU, each running ``epochs`` AE + ``epochs`` Deep SVDD epochs."""
    t0 = time.perf_counter()
    _one_run((0, 0, epochs, epochs))  # one alone, for the baseline
    alone = time.perf_counter() - t0
    ctx = mp.get_context("spawn")
    with ctx.Pool(n_proc, initializer=_one_thread) as pool:
        pool.map(_one_run, [(0, 0, 1, 1)] * n_proc)  # warm the workers (imports, CUDA context, data)
        t0 = time.perf_counter()
        res = pool.map(_one_run, [(c % 10, c // 10, epochs, epochs) for c in range(n_proc)])
        wall = time.perf_counter() - t0
    print(json.dumps({"measure": "parallel", "n_proc": n_proc, "epochs_each": epochs, "alone_s": alone,
                      "wall_s": wall, "speedup_vs_serial": n_proc * alone / wall,
                      "aurocs": [round(r[1], 4) for r in res]}), flush=True)


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "epochs"
    if what == "epochs":
        per_epoch()
    elif what == "full":
        full()
    elif what == "parallel":
        for n in sys.argv[3:]:
            parallel(int(n), int(sys.argv[2]))
    else:
        raise SystemExit(f"unknown measurement {what!r}; use epochs, full or parallel")
