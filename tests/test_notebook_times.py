"""One truth about time: README's table and every notebook header show the numbers of notebooks/quick_times.json."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("time_notebooks", ROOT / "benchmarks" / "time_notebooks.py")
tn = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tn)

FIX = "run `python benchmarks/time_notebooks.py --rewrite-only` (or re-measure: `python benchmarks/time_notebooks.py`)"


@pytest.fixture(scope="module")
def times():
    if not tn.TIMES.exists():
        pytest.fail(f"{tn.TIMES.relative_to(ROOT)} is missing: measure with `python benchmarks/time_notebooks.py`.")
    return json.loads(tn.TIMES.read_text())


def test_every_notebook_has_a_measured_time_with_machine_and_label(times):
    names = {p.stem for p in tn.notebook_paths()}
    assert names <= set(times["notebooks"]), f"not measured: {sorted(names - set(times['notebooks']))}; {FIX[4:]}"
    assert times["machine"]["cpu_count"] >= 1 and times["machine"]["torch"]
    for name, entry in times["notebooks"].items():
        assert entry["kernel_seconds"] > 0 and entry["wall_seconds"] >= entry["kernel_seconds"], name
        assert entry["label"] in ("quiet machine", tn.UNDER_LOAD) and entry["date"][:2] == "20", name


def test_notebook_headers_show_the_json(times):
    for name, entry in times["notebooks"].items():
        first = "".join(json.loads((tn.NOTEBOOKS / f"{name}.ipynb").read_text())["cells"][0]["source"])
        shown = tn.marked(first)
        assert shown is not None, f"{name}: no {tn.MARK_OPEN} ... {tn.MARK_CLOSE} in the first cell"
        assert shown == tn.header_text(entry, times), f"{name}'s header disagrees with quick_times.json: {FIX}"


def test_readme_table_shows_the_json(times):
    rows = {}
    for line in tn.README.read_text().splitlines():
        m = tn.README_ROW.match(line)
        if m:
            rows[m.group(2)] = line.split("|")[4].strip()
    for name, entry in times["notebooks"].items():
        assert rows.get(name) == tn.readme_cell(entry), f"README's row for {name} disagrees with quick_times.json: {FIX}"


def test_rewrite_replaces_only_the_marked_text():
    text = f"# 01\n\n{tn.MARK_OPEN}old{tn.MARK_CLOSE}\n\n*Full mode: 2 min (estimated).*"
    assert tn.replace_marked(text, "new") == f"# 01\n\n{tn.MARK_OPEN}new{tn.MARK_CLOSE}\n\n*Full mode: 2 min (estimated).*"
    with pytest.raises(ValueError, match="quick-time"):
        tn.replace_marked("# no markers", "new")
    assert tn.format_seconds(7.4) == "7 s" and tn.format_seconds(131) == "2.2 min" and tn.format_seconds(0.2) == "1 s"


def test_instructor_guide_lab_times_show_the_json(times):
    text = tn.GUIDE.read_text()
    a, b = text.find(tn.LAB_OPEN), text.find(tn.LAB_CLOSE)
    assert 0 <= a < b, f"{tn.GUIDE.name}: no {tn.LAB_OPEN} ... {tn.LAB_CLOSE} around its lab-time table"
    assert text[a + len(tn.LAB_OPEN): b] == tn.lab_table(times), f"the guide's lab times disagree with the JSON: {FIX}"
