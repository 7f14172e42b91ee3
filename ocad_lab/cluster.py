"""Sweeps on a Dask cluster: ``ocad-lab reproduce --scheduler tcp://HOST:PORT`` or ``--cluster local:N``.

The client (the machine running ``reproduce``) plans the runs (:func:`ocad_lab.experiments.plan_units`: one unit
per (class, seed), or per class-stack of seeds, plus one KDE fit per class), submits one Dask task per unit, and is
the ONLY writer of ``results.csv``: it appends each row through :func:`ocad_lab.experiments.append_row` as its
future completes, so an interrupted sweep resumes as a local one does.

Faults:

* a worker that dies mid-task: the scheduler runs the task again on another worker (Dask's own retry of tasks
  lost with their worker); its rows come back once, with the one future;
* a run that raises: the task catches the error, returns the rows finished before it and the error; the client
  records the failed runs in ``failures.csv`` (not in results.csv, so a later resume tries them again) and the
  sweep goes on.

Deep units ask for the worker resource ``GPU=1`` when the cluster has GPU workers (start them with
``dask worker tcp://HOST:8786 --nworkers 1 --resources GPU=1``), so each GPU trains one unit (one stack) at a time.
Dask is optional: ``pip install "ocad-lab[cluster]"`` (``dask[distributed]``).
"""

from __future__ import annotations

import csv
import os
import socket
import traceback

__all__ = ["require_dask", "parse_cluster", "open_client", "cluster_has_gpus", "run_units", "record_failure",
           "FAILURE_FIELDS"]

#: Columns of ``failures.csv``: one row per run that raised.
FAILURE_FIELDS = ("dataset", "normal_class", "method", "seed", "error")

_INSTALL = 'Dask is not installed; install the cluster extra: pip install "ocad-lab[cluster]" (or "dask[distributed]")'


def require_dask():
    """Import dask.distributed, or raise ImportError saying what to install."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ImportError(_INSTALL) from None
    return distributed


def parse_cluster(spec: str) -> int:
    """``"local:N"`` -> N (worker processes of a LocalCluster); ValueError otherwise."""
    kind, _, n = str(spec).partition(":")
    if kind != "local" or not n.isdigit() or int(n) < 1:
        raise ValueError(f"--cluster takes local:N with N >= 1 worker processes (e.g. local:4), got {spec!r}")
    return int(n)


def open_client(scheduler=None, n_local=None):
    """A Dask client: connected to ``scheduler`` (an address), or to a new LocalCluster of ``n_local`` processes.

    The LocalCluster listens on loopback only, one thread per worker (each task caps its own threads), and gives
    every worker ``GPU=1`` when this machine has CUDA. Returns ``(client, cluster_or_None)``; close both.
    """
    distributed = require_dask()
    if scheduler is not None:
        return distributed.Client(scheduler, timeout="30s"), None
    resources = None
    try:
        import torch

        if torch.cuda.is_available():
            resources = {"GPU": 1}
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    cluster = distributed.LocalCluster(n_workers=int(n_local), threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address="127.0.0.1:0", resources=resources)
    return distributed.Client(cluster), cluster


def cluster_has_gpus(client) -> bool:
    """True when some worker advertises the resource ``GPU``."""
    workers = client.scheduler_info().get("workers", {})
    return any(w.get("resources", {}).get("GPU", 0) > 0 for w in workers.values())


def _threads_per_worker(client, threads=None):
    """{host: threads per worker}: the host's cores (or ``threads``) shared by the workers on that host."""
    cores = client.run(os.cpu_count)  # {worker address: cores of its machine}
    per_host = {}
    for addr in cores:
        host = _host(addr)
        per_host[host] = per_host.get(host, 0) + 1
    out = {}
    for addr, n in cores.items():
        host = _host(addr)
        total = threads if threads is not None else (n or 1)
        out[host] = max(1, int(total) // per_host[host])
    return out


def _host(address):
    """Host part of a Dask address such as tcp://10.0.0.2:40123."""
    return str(address).split("://", 1)[-1].rsplit(":", 1)[0]


def _planned_runs(unit):
    """The (class, method, seed) runs a unit will produce."""
    kind, args = unit
    if kind == "task":
        _, c, s, methods = args[:4]
        return [(int(c), m, int(s)) for m in methods]
    if kind == "stack":
        _, c, seeds, methods = args[:4]
        return [(int(c), m, int(s)) for s in seeds for m in methods]
    _, c, seeds = args[:3]  # kde
    return [(int(c), "kde", int(s)) for s in seeds]


def _run_unit_on_worker(unit, threads_by_host):
    """A Dask task: the rows of one unit, at the worker's thread share; an error is returned, not raised."""
    from . import experiments as ex
    from .config import limit_threads

    try:
        from distributed import get_worker

        host = _host(get_worker().address)
    except (ImportError, ValueError):  # pragma: no cover - not on a worker
        host = None
    rows = []
    with limit_threads(threads_by_host.get(host, 1)):
        try:
            for row in ex._UNITS[unit[0]](*unit[1]):
                rows.append(row)
        except Exception as err:  # a run that raises: report it; the sweep goes on
            return {"rows": rows, "error": f"{type(err).__name__}: {err}", "traceback": traceback.format_exc(),
                    "worker": socket.gethostname()}
    return {"rows": rows, "error": None}


def record_failure(path, dataset, runs, error):
    """Append failed runs with their error to ``failures.csv`` (header first if new) and flush it."""
    new = not os.path.exists(path) or os.path.getsize(path) == 0
    with open(path, "a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(FAILURE_FIELDS)
        for c, m, s in runs:
            w.writerow([dataset, c, m, s, error])
        fh.flush()
        os.fsync(fh.fileno())


def run_units(client, dataset, units, threads=None, gpu=None, on_failure=None, progress=True):
    """Submit ``units`` to the cluster and yield result rows as their futures complete.

    Parameters
    ----------
    client : distributed.Client
    dataset : str
    units : list of (kind, args)
        From :func:`ocad_lab.experiments.plan_units`.
    threads : int or None
        Threads per machine for all its workers together (default: its cores), shared by its workers.
    gpu : bool or None
        Ask for ``GPU=1`` for units that train networks (default: when some worker has a GPU resource).
    on_failure : callable (runs, error) or None
        Called with the (class, method, seed) runs that failed and the error text.
    progress : bool
        A tqdm bar over runs.
    """
    from tqdm.auto import tqdm

    from .experiments import METHODS

    gpu = cluster_has_gpus(client) if gpu is None else bool(gpu)
    shares = _threads_per_worker(client, threads)
    futures = {}
    for unit in units:
        runs = _planned_runs(unit)
        deep = any(METHODS[m].deep for _, m, _ in runs)
        fut = client.submit(_run_unit_on_worker, unit, shares, pure=False,
                            resources={"GPU": 1} if (gpu and deep) else None)
        futures[fut] = runs
    from distributed import as_completed

    bar = tqdm(total=sum(len(r) for r in futures.values()), desc=f"{dataset} runs (dask)", unit="run",
               disable=not progress)
    try:
        for fut in as_completed(list(futures)):
            runs = futures.pop(fut)
            try:
                out = fut.result()
            except Exception as err:  # e.g. KilledWorker: the task took down workers more often than allowed
                out = {"rows": [], "error": f"{type(err).__name__}: {err}"}
            for row in out["rows"]:
                bar.update(1)
                yield row
            if out["error"] is not None:
                done = {(r["normal_class"], r["method"], r["seed"]) for r in out["rows"]}
                failed = [r for r in runs if r not in done]
                bar.update(len(failed))
                if on_failure is not None:
                    on_failure(failed, out["error"])
    finally:
        bar.close()
        for fut in futures:  # interrupted: do not leave work running on the cluster
            fut.cancel()


def sweep_rows(dataset, tasks, config, scheduler=None, n_local=None, device=None, stack=None, stack_size=None,
               threads=None, on_failure=None, progress=True):
    """Open a client (``scheduler`` address or a LocalCluster of ``n_local``), run the planned ``tasks`` there and
    yield their rows as they complete; the client and any LocalCluster are closed at the end.

    ``stack=None`` stacks the seeds of each class when the cluster has GPU workers (as ``reproduce`` does on CUDA).
    """
    from .experiments import plan_units

    client, cluster = open_client(scheduler, n_local)
    try:
        gpu = cluster_has_gpus(client)
        units = plan_units(dataset, tasks, config, device, None, gpu if stack is None else bool(stack), stack_size)
        yield from run_units(client, dataset, units, threads=threads, gpu=gpu, on_failure=on_failure,
                             progress=progress)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
