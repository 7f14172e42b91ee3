"""Measure each notebook's quick-mode time and write it to the ONE place the kit's time statements come from.

Usage (from the repository root)::

    python benchmarks/time_notebooks.py                  # run every notebook, write notebooks/quick_times.json,
                                                         # then rewrite README's table and the notebook headers
    python benchmarks/time_notebooks.py 03 05            # only these notebooks (the others keep their numbers)
    python benchmarks/time_notebooks.py --rewrite-only   # no runs: copy the JSON's numbers into README/headers
    python benchmarks/time_notebooks.py --label "quiet machine"   # override the automatic load label
    python benchmarks/time_notebooks.py --sections       # also print each notebook's seconds per section

The same run records, per notebook, the seconds of each section (the code cells under each markdown heading,
exercises included): the numbers behind the lab plans of ``docs/instructor_guide.md``.

Each notebook runs in a fresh kernel in quick mode (``OCAD_QUICK=1``), with nbclient as nbval does.  The
*kernel time* is the sum of the cells' execution times (nbclient's per-cell timing: from the kernel receiving a cell
to its reply), so kernel start-up is left out; the wall time including start-up is recorded too.  The machine
(CPU, core count, torch threads, Python and torch versions), the date and the load average before and after the
run are stored with each notebook's numbers; when the 1-minute load average before the first notebook starts (other
work on the machine) exceeds half the core count, the numbers are labelled "measured under load", because then they
are not what a learner on a quiet machine sees.

Where the numbers are shown:
- ``notebooks/quick_times.json``: the numbers (written atomically);
- README.md, the notebook table's quick-mode column;
- each notebook's first cell, between ``<!-- quick-time -->`` and ``<!-- /quick-time -->``;
- notebook 00 reads the JSON when it runs.
``tests/test_notebook_times.py`` fails when README or a header disagrees with the JSON, and names this script.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TIMES = NOTEBOOKS / "quick_times.json"
README = ROOT / "README.md"
GUIDE = ROOT / "docs" / "instructor_guide.md"
MARK_OPEN, MARK_CLOSE = "<!-- quick-time -->", "<!-- /quick-time -->"
LAB_OPEN, LAB_CLOSE = "<!-- lab-times -->", "<!-- /lab-times -->"
UNDER_LOAD = "measured under load"
README_ROW = re.compile(r"^\| (\d\d) \| `(\d\d_[A-Za-z0-9_]+)` \|")


# ---- formatting: one function, used by the rewrite and by the test -------------------------------------------
def format_seconds(seconds: float) -> str:
    """'7 s', '40 s', '2.3 min' (rounded: these are times a learner reads, not benchmarks)."""
    if seconds < 100:
        return f"{max(1, round(seconds))} s"
    return f"{seconds / 60:.1f} min"


def readme_cell(entry: dict) -> str:
    """The README table's quick-mode cell for one notebook."""
    text = format_seconds(entry["kernel_seconds"])
    return f"{text} (under load)" if entry["label"] == UNDER_LOAD else text


def header_text(entry: dict, data: dict) -> str:
    """The sentence between the markers in a notebook's first cell."""
    m = data["machine"]
    when = entry["date"][:10]
    under = "; measured under load on a shared machine, expect less on a quiet one" if entry["label"] == UNDER_LOAD else ""
    return (f"Quick mode (`OCAD_QUICK=1`): {format_seconds(entry['kernel_seconds'])} of kernel time, measured on "
            f"{m['cpu_count']} CPU cores ({when}{under}; all notebooks: `notebooks/quick_times.json`).")


def lab_table(data: dict) -> str:
    """The instructor guide's table: per notebook, all cells, the exercises' share and the heaviest section."""
    m = data["machine"]
    rows = ["", "| notebook | all cells, quick mode | of which exercises | heaviest section | measured |",
            "|---|---|---|---|---|"]
    for name, e in data["notebooks"].items():
        sec = e.get("sections", {})
        ex = sum(v for k, v in sec.items() if "exercise" in k.lower())
        heavy = max(sec.items(), key=lambda kv: kv[1]) if sec else ("-", 0.0)
        rows.append(f"| {name} | {format_seconds(e['kernel_seconds'])} | {format_seconds(ex) if ex >= 1 else '< 1 s'} "
                    f"| {heavy[0]} ({format_seconds(heavy[1])}) | {e['date'][:10]}, {e['label']} |")
    rows += ["", f"Machine: {m['cpu_count']} CPU cores ({m['cpu']}), torch {m['torch']}; kernel time, start-up "
                 "excluded (`notebooks/quick_times.json`).", ""]
    return "\n".join(rows)


# ---- measuring ----------------------------------------------------------------------------------------------
def notebook_paths(selection=None):
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if selection:
        paths = [p for p in paths if any(p.name.startswith(s) for s in selection)]
    return paths


def machine() -> dict:
    try:
        import torch

        torch_version, threads = torch.__version__, torch.get_num_threads()
    except ImportError:  # pragma: no cover - torch is a dependency
        torch_version, threads = None, None
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "torch_threads": threads, "python": platform.python_version(),
            "torch": torch_version, "platform": platform.platform()}


def section_names(cells) -> list[str]:
    """The heading each cell falls under (the last markdown heading above it)."""
    current, out = "(before the first heading)", []
    for cell in cells:
        src = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        if cell.cell_type == "markdown":
            head = next((ln for ln in src.split("\n") if ln.startswith("#")), None)
            if head:
                current = head.lstrip("#").strip()
        out.append(current)
    return out


def run_notebook(path: Path, timeout: int) -> dict:
    """Execute one notebook in quick mode; return its kernel and wall seconds, and seconds per section."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.get("OCAD_QUICK")
    os.environ["OCAD_QUICK"] = "1"
    os.environ.setdefault("PYTHONPATH", str(ROOT))
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                                resources={"metadata": {"path": str(path.parent)}})
        t0 = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - t0
    finally:
        if env_before is None:
            os.environ.pop("OCAD_QUICK", None)
        else:
            os.environ["OCAD_QUICK"] = env_before
    kernel, sections = 0.0, {}
    for cell, section in zip(nb.cells, section_names(nb.cells)):
        timing = cell.get("metadata", {}).get("execution", {})
        start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if start and end:
            sec = (_parse(end) - _parse(start)).total_seconds()
            kernel += sec
            sections[section] = sections.get(section, 0.0) + sec
    return {"kernel_seconds": round(kernel, 1), "wall_seconds": round(wall, 1),
            "sections": {k: round(v, 1) for k, v in sections.items()}}


def _parse(stamp: str) -> _dt.datetime:
    return _dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def write_json_atomic(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---- rewriting README and headers ---------------------------------------------------------------------------
def rewrite(data: dict) -> list[str]:
    """Copy the JSON's numbers into README's table and every notebook header; return the files changed."""
    changed = []
    entries = data["notebooks"]
    lines = README.read_text().splitlines(keepends=True)
    out = []
    for line in lines:
        m = README_ROW.match(line)
        if m and m.group(2) in entries:
            cells = line.rstrip("\n").split("|")
            # | NN | `name` | what | quick | full |  ->  cells[4] is the quick-mode column
            cells[4] = f" {readme_cell(entries[m.group(2)])} "
            line = "|".join(cells) + "\n"
        out.append(line)
    if out != lines:
        README.write_text("".join(out))
        changed.append(str(README.relative_to(ROOT)))
    if GUIDE.exists():
        text = GUIDE.read_text()
        a, b = text.find(LAB_OPEN), text.find(LAB_CLOSE)
        if a >= 0 and b > a:
            new = text[: a + len(LAB_OPEN)] + lab_table(data) + text[b:]
            if new != text:
                GUIDE.write_text(new)
                changed.append(str(GUIDE.relative_to(ROOT)))
    for name, entry in entries.items():
        path = NOTEBOOKS / f"{name}.ipynb"
        if not path.exists():
            continue
        nb = json.loads(path.read_text())
        first = nb["cells"][0]
        src = "".join(first["source"])
        new = replace_marked(src, header_text(entry, data))
        if new != src:
            first["source"] = new.splitlines(keepends=True)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
            changed.append(str(path.relative_to(ROOT)))
    return changed


def replace_marked(text: str, inner: str) -> str:
    """Replace what stands between the quick-time markers (the markers must be there)."""
    a, b = text.find(MARK_OPEN), text.find(MARK_CLOSE)
    if a < 0 or b < a:
        raise ValueError(f"no {MARK_OPEN} ... {MARK_CLOSE} in the first cell")
    return text[: a + len(MARK_OPEN)] + inner + text[b:]


def marked(text: str) -> str | None:
    a, b = text.find(MARK_OPEN), text.find(MARK_CLOSE)
    return None if a < 0 or b < a else text[a + len(MARK_OPEN): b]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="notebook number prefixes (default: all)")
    ap.add_argument("--rewrite-only", action="store_true", help="no runs; rewrite README/headers from the JSON")
    ap.add_argument("--label", help='override the automatic label ("quiet machine" / "measured under load")')
    ap.add_argument("--timeout", type=int, default=1800, help="per-cell timeout in seconds")
    ap.add_argument("--sections", action="store_true", help="print the seconds per section of each notebook run")
    args = ap.parse_args(argv)
    data = json.loads(TIMES.read_text()) if TIMES.exists() else {"notebooks": {}}
    if not args.rewrite_only:
        paths = notebook_paths(args.notebooks)
        if not paths:
            ap.error("no notebook matches")
        info = machine()
        # Other work on the machine: the load average before the first notebook starts (the runs' own kernels raise
        # it as they go, so a load read during or after a run would call every run "under load").
        load_start = os.getloadavg()[0]
        busy = load_start > 0.5 * (info["cpu_count"] or 1)
        for path in paths:
            print(f"{path.name} ...", end=" ", flush=True)
            load_before = os.getloadavg()[0]
            entry = run_notebook(path, args.timeout)
            load_after = os.getloadavg()[0]
            entry.update({"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                          "load_average_1min": [round(load_before, 2), round(load_after, 2)],
                          "label": args.label or (UNDER_LOAD if busy else "quiet machine")})
            data["notebooks"][path.stem] = entry
            print(f"{entry['kernel_seconds']} s kernel time ({entry['label']})", flush=True)
            if args.sections:
                print("\n| section | seconds |\n|---|---|")
                for name, sec in entry["sections"].items():
                    print(f"| {name} | {sec:.1f} |")
        data.update({"machine": info,
                     "what": "kernel_seconds: sum of the cells' execution times in quick mode (OCAD_QUICK=1), "
                             "kernel start-up excluded; wall_seconds includes it. label: 'measured under load' "
                             "when the 1-minute load average before the series started exceeded half the core count."})
        data["notebooks"] = dict(sorted(data["notebooks"].items()))
        write_json_atomic(TIMES, data)
        print(f"wrote {TIMES.relative_to(ROOT)}")
    for f in rewrite(data):
        print(f"updated {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
