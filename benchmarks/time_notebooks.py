"""Time the notebooks cell by cell (quick mode by default), summed per section: the numbers of the lab plans.

    python benchmarks/time_notebooks.py                   # every notebook, quick mode
    python benchmarks/time_notebooks.py --only 00,03      # some of them
    python benchmarks/time_notebooks.py --full            # full mode (long; meant for a GPU machine)

Prints, per notebook, one Markdown table: each section (a markdown cell starting with '#') with the seconds of the
code cells under it, the exercises section included, and the total (kernel start-up excluded). Writes nothing. The
first line reports the load average; 'MACHINE BUSY' means the numbers are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _sections(nb):
    current, out = "(before the first heading)", []
    for cell in nb.cells:
        src = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if cell.cell_type == "markdown":
            head = next((ln for ln in src.split("\n") if ln.startswith("#")), None)
            if head:
                current = head.lstrip("#").strip()
        out.append(current)
    return out


def time_notebook(path, timeout=1800, print_checks=False):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    names = _sections(nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    per_section = {}
    t_all = time.perf_counter()
    with client.setup_kernel():
        t_all = time.perf_counter()
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            t0 = time.perf_counter()
            client.execute_cell(cell, i)
            per_section[names[i]] = per_section.get(names[i], 0.0) + time.perf_counter() - t0
            if print_checks and str(cell.get("id", "")).endswith("-check"):
                text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
                print(f"  [{cell.id}] {text.strip()}")
    return per_section, time.perf_counter() - t_all


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", default=None, help="comma-separated notebook prefixes, e.g. 00,03")
    p.add_argument("--full", action="store_true", help="full mode (OCAD_QUICK=0) instead of quick mode")
    p.add_argument("--print-checks", action="store_true", help="print what each exercise check cell says")
    args = p.parse_args(argv)
    os.environ["OCAD_QUICK"] = "0" if args.full else "1"
    os.environ.setdefault("MPLBACKEND", "Agg")
    load, ncpu = os.getloadavg()[0], os.cpu_count() or 1
    print(f"load average {load:.1f} on {ncpu} CPUs{'  MACHINE BUSY' if load > ncpu else ''}; "
          f"{'full' if args.full else 'quick'} mode; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    only = [o.strip() for o in args.only.split(",")] if args.only else None
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [q for q in paths if any(q.name.startswith(o) for o in only)]
    summary = {}
    for path in paths:
        per_section, total = time_notebook(path, print_checks=args.print_checks)
        summary[path.name] = round(total, 1)
        print(f"\n### {path.name}: {total:.0f} s\n\n| section | seconds |\n|---|---|")
        for name, sec in per_section.items():
            print(f"| {name} | {sec:.1f} |")
        sys.stdout.flush()
    print("\n" + json.dumps(summary))


if __name__ == "__main__":
    main()
