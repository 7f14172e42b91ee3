"""GPU check for stacks: the stack benchmark on CUDA, then one full MNIST column end to end (not a test).

Usage (full MNIST IDX files in ``OCAD_MNIST_DIR``; one CUDA GPU)::

    python benchmarks/gpu_stacks.py stacks                 # s/epoch, stack of K = 1, 10, 100 vs K singles (~1 min)
    python benchmarks/gpu_stacks.py column [--jobs J] [--epochs E]
        # `ocad-lab reproduce --dataset mnist --methods dcae,deep-svdd,deep-svdd-soft --classes 0-9 --seeds 10
        #  --stack`: the paper's schedule (AE 350, Deep SVDD 250 + 250 epochs), or E epochs each for a short try
    python benchmarks/gpu_stacks.py all [--jobs J]         # both, one JSON line per measurement

The column is the issue's target (10 classes x 10 seeds x 3 deep methods in <= 10 min on one H100/H200): each
class's 10 seeds train as one DCAE stack and one stack per Deep SVDD objective; ``--jobs J`` runs J classes at
once in processes that share the GPU. ``--epochs E`` times a shortened schedule and extrapolates the full one
linearly in epochs (it says so: ``"estimated": true``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

FULL_EPOCHS = {"ae": 350, "svdd": 250}


def stacks(ks=(1, 10, 100)):
    """bench_stacks.stack_rows on CUDA over a whole class's batches (30)."""
    import bench_stacks

    rows = bench_stacks.stack_rows(ks, batches=30, device="cuda", threads=1, epochs=3)
    for r in rows:
        print(json.dumps({"measure": "stack", **r}), flush=True)
    return rows


def column(jobs=1, epochs=None):
    """Wall time of the MNIST column (3 deep methods, 10 classes x 10 seeds) with stacks; mean AUROC per method."""
    import pandas as pd

    from ocad_lab.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        args = ["reproduce", "--dataset", "mnist", "--methods", "dcae,deep-svdd,deep-svdd-soft", "--classes", "0-9",
                "--seeds", "10", "--stack", "--jobs", str(jobs), "--no-progress", "--out", tmp]
        if epochs is not None:
            args += ["--epochs", str(epochs)]
        t0 = time.perf_counter()
        code = main(args)
        wall = time.perf_counter() - t0
        df = pd.read_csv(os.path.join(tmp, "results.csv"))
    out = {"measure": "mnist_column", "exit_code": code, "jobs": jobs, "rows": len(df), "wall_s": wall,
           "epochs": "paper schedule" if epochs is None else epochs,
           "auroc_mean": df.groupby("method")["auroc"].mean().round(4).to_dict()}
    if epochs is not None:  # every training runs E epochs here; the paper's schedule is 350 (AE) + 2 x 250
        out["estimated"] = True
        out["full_column_s_estimate"] = wall * (FULL_EPOCHS["ae"] + 2 * FULL_EPOCHS["svdd"]) / (3 * epochs)
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("what", choices=("stacks", "column", "all"))
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--epochs", type=int, default=None)
    a = p.parse_args()
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("gpu_stacks.py needs a CUDA GPU (use bench_stacks.py on the CPU).")
    print(json.dumps({"measure": "device", "gpu": torch.cuda.get_device_name(0), "torch": torch.__version__}),
          flush=True)
    if a.what in ("stacks", "all"):
        stacks()
    if a.what in ("column", "all"):
        column(a.jobs, a.epochs)
