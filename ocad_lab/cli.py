"""The ``ocad-lab`` command.

Subcommands:

* ``ocad-lab info`` -- version, device, quick mode, data folder and which data sets can be loaded (never downloads).

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
    except RuntimeError as err:
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


def build_parser():
    """Build the ``ocad-lab`` argument parser with one subparser per subcommand."""
    parser = argparse.ArgumentParser(
        prog="ocad-lab",
        description="ocad_lab: a teaching kit for one-class anomaly detection (OC-SVM, SVDD, OC-NN, Deep SVDD).",
    )
    parser.add_argument("--version", action="version", version=f"ocad_lab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_info(subparsers)
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 1
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
