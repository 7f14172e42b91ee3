"""The ``ocad-lab`` command.

Subcommands:

* ``ocad-lab info`` -- version, device, quick mode, data folder and which data sets can be loaded (never downloads).
* ``ocad-lab reproduce`` -- the Deep SVDD paper's Table 1 benchmark, headless and resumable (see
  :mod:`ocad_lab.experiments`).
* ``ocad-lab student OUT`` -- student copies of the notebooks, ``--check`` to prove they work (:mod:`ocad_lab.student`).
* ``ocad-lab colab-cells`` -- Colab badges and install cells from pyproject's repository URL (:mod:`ocad_lab.colab`).

Adding a subcommand: write ``_add_<name>(subparsers)`` that creates its parser and sets ``func=<handler>``, where
the handler takes the parsed ``args`` and returns an exit code; then call it in :func:`build_parser`.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import textwrap

from . import __version__


def _device_line():
    """Describe the torch device that ocad_lab would use (or why the requested one is not available)."""
    from .config import get_device

    import torch

    why = "from OCAD_DEVICE" if os.environ.get("OCAD_DEVICE", "").strip() not in ("", "auto") else "auto-detected"
    try:
        device = get_device()
    except (RuntimeError, ValueError) as err:
        return f"error: {err}"
    return f"{device} ({why}; torch {torch.__version__})"


def _status_table(rows, width=100):
    """Format dataset_status() rows as a fixed-width text table, wrapping the long 'source / notes' column."""
    name_w = max(len("data set"), *(len(r["name"]) for r in rows))
    status_w = max(len("status"), *(len(r["status"]) for r in rows))
    notes_w = max(30, width - name_w - status_w - 4)
    lines = [f"{'data set':<{name_w}}  {'status':<{status_w}}  source / notes", "-" * (name_w + status_w + 4 + notes_w)]
    for r in rows:
        text = r["source"] + (f" -- {r['reason']}" if r["reason"] else "")
        wrapped = textwrap.wrap(text, notes_w, break_on_hyphens=False) or [""]
        lines.append(f"{r['name']:<{name_w}}  {r['status']:<{status_w}}  {wrapped[0]}")
        lines.extend(" " * (name_w + status_w + 4) + more for more in wrapped[1:])
    return "\n".join(lines)


def info_text():
    """Return the report printed by ``ocad-lab info``."""
    from .config import data_dir, is_quick
    from .data import _is_offline, dataset_status

    quick = "on (OCAD_QUICK=1: small data, few epochs)" if is_quick() else "off (set OCAD_QUICK=1 for quick runs)"
    offline = "yes (OCAD_OFFLINE=1: no downloads)" if _is_offline(None) else "no (downloads allowed)"
    data_src = "OCAD_DATA_DIR" if os.environ.get("OCAD_DATA_DIR") else "default; set OCAD_DATA_DIR to move it"
    head = [
        f"ocad_lab {__version__}  (Python {platform.python_version()})",
        f"  device     {_device_line()}",
        f"  quick mode {quick}",
        f"  offline    {offline}",
        f"  data dir   {data_dir()} ({data_src})",
        "",
        "Data sets (status: available = loads now; download = fetched on first use; unavailable = see notes)",
    ]
    return "\n".join(head) + "\n" + _status_table(dataset_status()) + "\n"


def _cmd_info(args):
    """Handler of ``ocad-lab info``."""
    sys.stdout.write(info_text())
    return 0


def _add_info(subparsers):
    """Register ``ocad-lab info``."""
    p = subparsers.add_parser(
        "info",
        help="show version, device, quick mode, data folder and data set availability",
        description="Show the settings ocad_lab runs with and which data sets can be loaded. Never downloads.",
    )
    p.set_defaults(func=_cmd_info)


_REPRODUCE_EXAMPLE = (
    "example: ocad-lab reproduce --dataset mnist --methods deep-svdd,ocsvm --classes 0-9 --seeds 3 --out results/"
)
# Settings that change what a row means: a results folder made with other values must not be resumed silently.
_RESUME_KEYS = ("dataset", "quick", "config")


def _positive_int(what):
    """An argparse type: an integer >= 1, with a one-line error naming ``what``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number >= 1, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{what} must be >= 1, got {value}")
        return value

    return parse


def _reproduce_settings(args, parser):
    """Validate the reproduce arguments (parser.error on a bad one); return the settings stored in config.json."""
    from . import experiments as ex
    from .config import is_quick
    from .data import DATASETS

    folder = args.dataset not in DATASETS and os.path.isdir(args.dataset)  # your own images, one sub-folder a class
    if args.dataset not in DATASETS and not folder:
        parser.error(f"unknown dataset {args.dataset!r}; choose from {', '.join(DATASETS)}, or give a folder with "
                     "one sub-folder of images per class")
    try:
        methods = ex.check_methods(args.methods)
        classes = ex.parse_classes(args.classes)
    except ValueError as err:
        parser.error(str(err).rstrip("."))
    if folder:
        train = os.path.join(args.dataset, "train")
        base = train if os.path.isdir(train) else args.dataset
        subs = sorted(d for d in os.listdir(base) if os.path.isdir(os.path.join(base, d)) and not d.startswith("."))
        if not subs:
            parser.error(f"{base} holds no sub-folders; put the images of each class in its own sub-folder "
                         f"({base}/<class>/*.png)")
        if max(classes) >= len(subs):
            parser.error(f"{args.dataset} has {len(subs)} class sub-folders ({', '.join(subs[:10])}): --classes are "
                         f"their positions 0..{max(len(subs) - 1, 0)} in sorted order, got {args.classes}")
    overrides = {}
    if args.epochs is not None:
        overrides = {"ae_epochs": args.epochs, "svdd_epochs": args.epochs, "ocnn_epochs": args.epochs,
                     "anogan_epochs": args.epochs}
    env_quick = is_quick()  # read even with --quick: OCAD_QUICK=banana is an error, not "off"
    quick = bool(args.quick) or env_quick
    return {"dataset": args.dataset, "methods": methods, "classes": classes, "seeds": list(range(args.seeds)),
            "quick": quick, "config": ex.get_config(quick=quick, **overrides)}


def _error(message, code=2):
    """Print one ``ocad-lab reproduce: error: ...`` line to stderr and return the exit code."""
    sys.stderr.write(f"ocad-lab reproduce: error: {message}\n")
    return code


def _write_reproduce_outputs(out, settings, rows):
    """Write config.json (this invocation's settings; after --force, results.csv may also hold older runs) and
    summary.md, both atomically."""
    from . import experiments as ex

    ex.write_config(out, settings)
    ex.write_summary(out, rows, title=f"ocad-lab reproduce: {settings['dataset']}", config=settings["config"])


def _check_cluster_args(args, parser):
    """Validate --scheduler / --cluster (parser.error on a bad one); return N of local:N, 0 for --scheduler, or
    None when the sweep runs locally."""
    if args.scheduler is None and args.cluster is None:
        return None
    if args.jobs > 1:
        parser.error("--jobs is for local processes; with --scheduler or --cluster the cluster's workers run the runs")
    from .cluster import parse_cluster, require_dask

    try:
        require_dask()
        return parse_cluster(args.cluster) if args.cluster is not None else 0
    except (ImportError, ValueError) as err:
        parser.error(str(err))


def _use_stack(args):
    """--stack / --no-stack, or by default: stacks on CUDA only (on the CPU they were measured slower)."""
    if args.stack is not None:
        return bool(args.stack)
    from .config import get_device

    try:
        return get_device(args.device).type == "cuda"
    except RuntimeError:
        return False


def _cmd_reproduce(args):
    """Handler of ``ocad-lab reproduce``: run the missing runs of a sweep, appending rows to results.csv."""
    from pathlib import Path

    from . import experiments as ex
    from .config import SettingError, get_device
    from .data import DatasetUnavailable

    parser = args._parser
    if args.protocol == "ocnn":  # the OC-NN paper's transductive protocol (ocad_lab.ocnn_protocol)
        from .ocnn_protocol import cli_reproduce

        return cli_reproduce(args)
    if args.dataset is None:
        parser.error("the following arguments are required: --dataset")
    args.seeds = 3 if args.seeds is None else args.seeds
    settings = _reproduce_settings(args, parser)
    cfg = settings["config"]
    out = Path(args.out)
    try:  # before any file is written: the device (even when only shallow methods run), then the data
        wants_device = args.device is not None or os.environ.get("OCAD_DEVICE", "").strip() not in ("", "auto")
        if wants_device or any(ex.METHODS[m].deep for m in settings["methods"]):
            get_device(args.device)  # automatic choice cannot fail; a named device is checked even for shallow runs
        if out.exists() and not out.is_dir():
            raise ex.ResultsFolderError(f"--out {out} is a file, not a folder; choose a folder path (it is created).")
    except (SettingError, ex.ResultsFolderError) as err:
        return _error(str(err))
    distributed = _check_cluster_args(args, parser)
    try:  # fail early, before any file is written, when the data set is not here (or your folder is unreadable)
        ex.one_split(settings["dataset"], settings["classes"][0], cfg)
    except DatasetUnavailable as err:
        return _error(str(err), 1)
    except (ValueError, TypeError) as err:
        return _error(str(err))
    try:  # the results folder: refuse foreign, config-less or other-settings folders; repair a partial last line
        previous = ex.check_results_folder(out, settings, keys=_RESUME_KEYS, force=args.force, fresh=args.fresh)
    except ex.ResultsFolderError as err:
        return _error(str(err))
    done = {ex.run_key(r) for r in previous}
    tasks = ex.plan_runs(settings["dataset"], settings["classes"], settings["methods"], settings["seeds"], done)
    n_todo = sum(len(m) for _, _, m in tasks)
    n_wanted = len(settings["classes"]) * len(settings["methods"]) * len(settings["seeds"])
    print(f"ocad-lab reproduce: {settings['dataset']}, {len(settings['methods'])} method(s) x "
          f"{len(settings['classes'])} class(es) x {len(settings['seeds'])} seed(s) = {n_wanted} runs; "
          f"{n_wanted - n_todo} already in {out / ex.RESULTS_CSV} (skipped), {n_todo} to run "
          f"({'quick' if settings['quick'] else 'full'} mode, jobs={args.jobs}).", flush=True)
    _write_reproduce_outputs(out, settings, previous)
    rows = list(previous)
    n_new = 0
    stack = _use_stack(args)
    from .config import limit_threads

    cap = limit_threads(args.threads) if args.threads is not None else None
    failed = []
    try:
        if distributed is not None:  # --scheduler / --cluster: the cluster's workers run the tasks
            from .cluster import record_failure, sweep_rows

            def on_failure(runs, error):
                failed.extend(runs)
                record_failure(out / "failures.csv", settings["dataset"], runs, error)
                sys.stderr.write(f"ocad-lab reproduce: {len(runs)} run(s) failed ({error}); see failures.csv\n")

            source = sweep_rows(settings["dataset"], tasks, cfg, scheduler=args.scheduler, n_local=distributed,
                                device=args.device, stack=args.stack, stack_size=args.stack_size,
                                threads=args.threads, on_failure=on_failure, progress=not args.no_progress)
        else:
            source = ex.run_runs(settings["dataset"], tasks, config=settings["config"], jobs=args.jobs,
                                 device=args.device, progress=not args.no_progress, stack=stack,
                                 stack_size=args.stack_size)
        for row in source:
            ex.append_row(out / ex.RESULTS_CSV, row)  # only this (client/parent) process writes the file
            rows.append(row)
            n_new += 1
    except KeyboardInterrupt:
        sys.stderr.write(f"\nocad-lab reproduce: interrupted after {n_wanted - n_todo + n_new} of {n_wanted} runs "
                         f"({n_new} new in {out / ex.RESULTS_CSV}); the same command resumes.\n")
        return 130
    except DatasetUnavailable as err:
        return _error(str(err), 1)
    except (ValueError, TypeError, RuntimeError, FloatingPointError) as err:  # a run that cannot complete
        first = (str(err).strip().splitlines() or [""])[0][:400]
        return _error(f"a run failed after {n_wanted - n_todo + n_new} of {n_wanted} runs ({type(err).__name__}: "
                      f"{first}); the rows done are kept in {out / ex.RESULTS_CSV} and the same command resumes "
                      "once the cause is fixed.", 1)
    finally:
        if cap is not None:
            cap.undo()
        try:
            _write_reproduce_outputs(out, settings, rows)
        except KeyboardInterrupt:  # a second Ctrl-C while writing the summary: the atomic write kept the old one
            pass
    print(f"Done: {len(rows)} rows in {out / ex.RESULTS_CSV}; summary in {out / ex.SUMMARY_MD}.")
    if failed:
        print(f"{len(failed)} run(s) failed (listed with their errors in {out / 'failures.csv'}); run the same "
              "command again to retry them.")
        return 1
    return 0


def _add_reproduce(subparsers):
    """Register ``ocad-lab reproduce``."""
    from .data import DATASETS
    from .experiments import METHODS

    p = subparsers.add_parser(
        "reproduce",
        help="run the Deep SVDD paper's one-class benchmark (Table 1) headless; resumable",
        description="Run the one-class benchmark of Ruff et al. (2018), Table 1: for each normal class, method and "
        "seed, train on the normal class and score the test split. Writes results.csv (one row per run), "
        "summary.md (mean ± std beside the paper's numbers) and config.json. Re-running with the same --out "
        "skips the runs already in results.csv.",
        epilog=_REPRODUCE_EXAMPLE,
    )
    p.add_argument("--protocol", choices=("deep-svdd", "ocnn"), default="deep-svdd",
                   help="deep-svdd (default): Ruff et al.'s Table 1; ocnn: Chalapathy et al.'s transductive mixtures, "
                   "Tables 3-4 (--dataset: a comma list of mnist,usps,cifar10,mnist5k,digits; --seeds: draws)")
    p.add_argument("--dataset", default=None,
                   help=f"one of: {', '.join(DATASETS)}; or a folder with one sub-folder of images per class "
                   "(required for --protocol deep-svdd)")
    p.add_argument("--methods", default="deep-svdd,ocsvm", help=f"comma-separated, from: {', '.join(METHODS)}")
    p.add_argument("--classes", default="0-9", help="normal classes, e.g. 0-9, 3 or 1,3,5-7 (default 0-9)")
    p.add_argument("--seeds", type=_positive_int("--seeds"), default=None,
                   help="number of seeds 0..N-1 (default 3; --protocol ocnn: draws, default 20, quick 2)")
    p.add_argument("--out", default="results", help="output folder (default results/)")
    p.add_argument("--jobs", type=_positive_int("--jobs"), default=1,
                   help="processes; runs are independent per (class, seed) (default 1)")
    p.add_argument("--quick", action="store_true", help="quick mode (few epochs), as OCAD_QUICK=1")
    p.add_argument("--epochs", type=_positive_int("--epochs"), default=None,
                   help="override every training's epochs (autoencoder, Deep SVDD, OC-NN, AnoGAN's GAN): smoke tests")
    p.add_argument("--device", default=None, help="torch device for the deep methods (default: automatic)")
    p.add_argument("--stack", action=argparse.BooleanOptionalAction, default=None,
                   help="train the deep networks of each class's seeds as one stack (default: on for CUDA, off "
                   "elsewhere: on the CPU a stack is slower); rows match one-at-a-time runs up to float32 rounding")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run on a running Dask cluster, e.g. tcp://HOST:8786 (needs the [cluster] extra)")
    where.add_argument("--cluster", default=None, metavar="local:N",
                       help="start a Dask LocalCluster of N worker processes on this machine and run there")
    p.add_argument("--threads", type=_positive_int("--threads"), default=None,
                   help="cap every thread pool (torch, BLAS, the shallow searches' n_jobs) at N threads in all; "
                   "with --jobs J each process gets N // J (default: all cores)")
    p.add_argument("--stack-size", type=_positive_int("--stack-size"), default=None,
                   help="at most this many seeds per stack (default: all seeds of a class)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--force", action="store_true", help="add to a folder whose config.json has other settings")
    group.add_argument("--fresh", action="store_true", help="delete this folder's results and start over")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_reproduce, _parser=p)


def _cmd_student(args):
    """Handler of ``ocad-lab student``: write the student copies (and, with --check, prove that they work)."""
    from pathlib import Path

    from . import student as st

    out = Path(args.out)
    only = [o.strip() for o in args.only.split(",") if o.strip()] if args.only else None
    try:
        if not args.check or not (out / "release").exists():
            written = st.write_student_copies(out, notebooks_dir=args.notebooks, only=only)
            print(f"wrote {len(written)} student copies to {out / 'release'} (complete versions in {out / 'source'})")
        if args.check:
            st.check_student_copies(out, only=only, timeout=args.timeout, quick=not args.full)
            print("all student copies: run to their first exercise; each stub fails its check with the helpful "
                  "message; each reference solution passes")
    except (FileNotFoundError, ValueError, st.StudentCheckError) as err:
        sys.stderr.write(f"ocad-lab student: error: {err}\n")
        return 1
    return 0


def _add_student(subparsers):
    """Register ``ocad-lab student``."""
    p = subparsers.add_parser(
        "student",
        help="write student copies of the notebooks (solutions stubbed), in nbgrader's source/release layout",
        description="Write OUT/source/<nb>/<nb>.ipynb (complete) and OUT/release/<nb>/<nb>.ipynb (solutions replaced "
        "by a stub, written solutions removed, outputs cleared, checks kept). --check runs each student copy "
        "(writing it first if OUT/release is missing): up to the first exercise, then each stub must fail its "
        "check with the helpful message and the reference solution must pass. Heavy: it runs the notebooks.",
        epilog="example: ocad-lab student course/ && ocad-lab student --check course/ --only 00,02",
    )
    p.add_argument("out", help="output folder (a course root: source/, release/, nbgrader_config.py)")
    p.add_argument("--check", action="store_true", help="run the student copies and check them (quick mode)")
    p.add_argument("--full", action="store_true", help="with --check: run in full mode (unless OCAD_QUICK is set)")
    p.add_argument("--only", default=None, help="comma-separated notebook prefixes, e.g. 00,02")
    p.add_argument("--notebooks", default=None, help="folder of the numbered notebooks (default: the repository's)")
    p.add_argument("--timeout", type=_positive_int("--timeout"), default=600, help="seconds per cell (default 600)")
    p.set_defaults(func=_cmd_student)


def _cmd_colab_cells(args):
    """Handler of ``ocad-lab colab-cells``."""
    from . import colab, student

    try:
        url = args.url or colab.repository_url()
        paths = student.notebook_paths(args.notebooks)
        stale = colab.colab_cells(paths, url=url, write=args.write, branch=args.branch)
    except (FileNotFoundError, ValueError) as err:
        sys.stderr.write(f"ocad-lab colab-cells: error: {err}\n")
        return 1
    names = ", ".join(p.name for p in stale) or "none"
    if args.hub:
        for p in paths:
            print(colab.nbgitpuller_link(args.hub, url, path=f"notebooks/{p.name}", branch=args.branch))
        return 0
    if args.write:
        print(f"badges and install cells for {url}: rewrote {names}")
        return 0
    print(f"notebooks whose badge or install cell differs from {url}: {names}")
    return 1 if stale else 0


def _add_colab_cells(subparsers):
    """Register ``ocad-lab colab-cells``."""
    p = subparsers.add_parser(
        "colab-cells",
        help="generate the notebooks' Colab badges and install cells from pyproject's [project.urls] Repository",
        description="Compare (default, exit 1 when any differs) or rewrite (--write) each notebook's Colab badge line "
        "and install cell with those generated from the repository address in pyproject.toml.",
    )
    p.add_argument("--write", action="store_true", help="rewrite the notebooks that differ")
    p.add_argument("--check", action="store_true", help="only compare (the default)")
    p.add_argument("--url", default=None, help="use this GitHub address instead of pyproject's")
    p.add_argument("--branch", default="main", help="branch the badges open (default main)")
    p.add_argument("--hub", default=None, help="print an nbgitpuller link per notebook for this JupyterHub address")
    p.add_argument("--notebooks", default=None, help="folder of the numbered notebooks (default: the repository's)")
    p.set_defaults(func=_cmd_colab_cells)


def build_parser():
    """Build the ``ocad-lab`` argument parser with one subparser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="ocad-lab",
        description="ocad_lab: a teaching kit for one-class anomaly detection (OC-SVM, SVDD, OC-NN, Deep SVDD).",
    )
    parser.add_argument("--version", action="version", version=f"ocad_lab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_info(subparsers)
    _add_reproduce(subparsers)
    _add_student(subparsers)
    _add_colab_cells(subparsers)
    # More subcommands go here, one _add_<name>(subparsers) call each (e.g. _add_reproduce(subparsers)).
    return parser


def main(argv=None):
    """Run the ``ocad-lab`` command line; return the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success; argparse exits with 2 on a usage error.
    """
    from .config import SettingError, check_environment

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 1
    try:
        if args.command != "info":  # info reports a bad OCAD_DEVICE in its table; the switches are checked anyway
            check_environment()
        return int(args.func(args) or 0)
    except SettingError as err:  # e.g. OCAD_QUICK=banana, OCAD_DEVICE=nonsense: one line, no traceback
        sys.stderr.write(f"ocad-lab {args.command}: error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"\nocad-lab {args.command}: interrupted.\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
