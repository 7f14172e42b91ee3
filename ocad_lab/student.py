"""Student copies of the notebooks, in nbgrader's course layout, and a check that they work.

``ocad-lab student OUT/`` writes, for each notebook ``NN_name.ipynb`` (one assignment per notebook)::

    OUT/nbgrader_config.py                 marks OUT as an nbgrader course root
    OUT/source/NN_name/NN_name.ipynb       the complete notebook (outputs cleared): nbgrader's instructor version
    OUT/release/NN_name/NN_name.ipynb      the student copy

The student copy is what ``nbgrader generate_assignment`` would make of the source, written without nbgrader
(which is not a dependency of the kit): every solution cell (``### BEGIN SOLUTION`` … ``### END SOLUTION``) has its
region replaced by ``# YOUR CODE HERE`` / ``raise NotImplementedError()``, every written solution (a markdown cell
starting with ``**Solution.**``, nbgrader ``solution: true``) becomes ``YOUR ANSWER HERE``, outputs are cleared, and the
check cells stay. With nbgrader installed, ``cd OUT && nbgrader generate_assignment NN_name`` makes its own
``release/`` (with checksums and a gradebook) from ``source/`` instead. The cell conventions are described in
:mod:`ocad_lab.checks`.

:func:`check_student_copies` (``ocad-lab student --check OUT/``) runs each student copy in a kernel up to its first
exercise, then for every exercise runs the stub (it must raise ``NotImplementedError``) and the check (it must fail
with the "no answer yet" message), puts the reference solution back from ``source/`` and runs both again (the check
must pass). The cells after an exercise see the state of the reference solutions, as they would for a student who
solved them.
"""

from __future__ import annotations

import copy
import json
import os
import re
import time
from pathlib import Path

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
WRITTEN_STUB = "YOUR ANSWER HERE"
_EX_ID = re.compile(r"^ex-(\d\d)-(\d+)-(prompt|solution|check|explained)$")


def default_notebooks_dir():
    """The repository's ``notebooks/`` folder (next to the package in a source checkout)."""
    return Path(__file__).resolve().parent.parent / "notebooks"


def _source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _set_source(cell, text):
    lines = text.split("\n")
    cell["source"] = [ln + "\n" for ln in lines[:-1]] + [lines[-1]] if text else []


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def is_solution_code(cell):
    return cell["cell_type"] == "code" and bool(_meta(cell).get("solution"))


def is_written_solution(cell):
    """A markdown cell explaining the solution: nbgrader ``solution: true``, tag ``solution`` or ``**Solution.**``."""
    if cell["cell_type"] != "markdown":
        return False
    tags = cell.get("metadata", {}).get("tags", [])
    return bool(_meta(cell).get("solution")) or "solution" in tags or _source(cell).lstrip().startswith("**Solution.**")


def stub_solution(text):
    """Replace each ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region by the stub, keeping its indentation."""
    out, inside, found = [], False, False
    for line in text.split("\n"):
        if line.strip() == BEGIN:
            if inside:
                raise ValueError("nested ### BEGIN SOLUTION")
            inside, found = True, True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + s for s in STUB)
        elif line.strip() == END:
            if not inside:
                raise ValueError("### END SOLUTION without ### BEGIN SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("### BEGIN SOLUTION without ### END SOLUTION")
    if not found:
        raise ValueError("a solution cell without ### BEGIN SOLUTION / ### END SOLUTION markers")
    return "\n".join(out)


def clear_outputs(nb):
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def student_notebook(nb):
    """Return the student copy of a notebook (a new dict; ``nb`` is left as it is)."""
    nb = clear_outputs(copy.deepcopy(nb))
    for cell in nb["cells"]:
        if is_solution_code(cell):
            try:
                _set_source(cell, stub_solution(_source(cell)))
            except ValueError as err:
                raise ValueError(f"cell {cell.get('id')}: {err}") from None
        elif is_written_solution(cell):
            _set_source(cell, WRITTEN_STUB)
        if "nbgrader" in cell.get("metadata", {}):
            cell["metadata"]["nbgrader"]["cell_type"] = cell["cell_type"]  # as nbgrader records it in a release
    return nb


def exercises(nb):
    """``[(ex_id, {"prompt": i, "solution": i, "check": i, "explained": i}), ...]`` in notebook order."""
    found = {}
    for i, cell in enumerate(nb["cells"]):
        m = _EX_ID.match(str(cell.get("id", "")))
        if m:
            found.setdefault(f"{m.group(1)}.{m.group(2)}", {})[m.group(3)] = i
    return sorted(found.items(), key=lambda kv: kv[1].get("prompt", 0))


def _read(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _write(path, nb):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def notebook_paths(notebooks_dir=None, only=None):
    """The numbered notebooks ``NN_*.ipynb`` in ``notebooks_dir``; ``only`` = prefixes such as ``["00", "02"]``."""
    folder = Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()
    paths = sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
    if only:
        paths = [p for p in paths if any(p.name.startswith(o) for o in only)]
    if not paths:
        raise FileNotFoundError(f"no numbered notebooks (NN_*.ipynb) in {folder}"
                                + (f" matching {', '.join(only)}" if only else ""))
    return paths


def write_student_copies(out, notebooks_dir=None, only=None):
    """Write ``OUT/source/<nb>/<nb>.ipynb`` and ``OUT/release/<nb>/<nb>.ipynb``; return the release paths."""
    out = Path(out)
    written = []
    for path in notebook_paths(notebooks_dir, only):
        nb = _read(path)
        if not exercises(nb):
            continue
        name = path.stem
        _write(out / "source" / name / path.name, clear_outputs(copy.deepcopy(nb)))
        _write(out / "release" / name / path.name, student_notebook(nb))
        written.append(out / "release" / name / path.name)
    cfg = out / "nbgrader_config.py"
    if not cfg.exists():
        cfg.write_text("# nbgrader course root made by `ocad-lab student`: one assignment per notebook, in source/.\n"
                       "c = get_config()  # noqa: F821 (nbgrader provides it)\nc.CourseDirectory.root = '.'\n")
    return written


class StudentCheckError(AssertionError):
    """A student copy does not behave as it should (see :func:`check_student_copies`)."""


def _run_cell(client, nb, index):
    """Execute one cell; return (ename, evalue, stdout text) with ename None on success."""
    from nbclient.exceptions import CellExecutionError

    cell = nb["cells"][index]
    try:
        client.execute_cell(cell, index)
    except CellExecutionError as err:
        return err.ename, err.evalue, _stdout(cell)
    return None, None, _stdout(cell)


def _stdout(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def check_student_copy(release_path, source_path, timeout=600, exercises_to_run=None, log=print):
    """Check one student copy (see the module docstring); raise :class:`StudentCheckError` on a failure.

    ``exercises_to_run``: ``"all"`` (default), or ``"first"`` to stop after the first exercise (a cheap smoke test).
    Returns a dict with the exercise ids checked and the seconds taken.
    """
    import nbformat
    from nbclient import NotebookClient

    t0 = time.perf_counter()
    student = nbformat.reads(json.dumps(_read(release_path)), as_version=4)
    reference = _read(source_path)
    ref_cells = {c.get("id"): c for c in reference["cells"]}
    exs = exercises(student)
    if not exs:
        raise StudentCheckError(f"{release_path}: no exercise cells (ids ex-NN-K-...)")
    first = min(parts["prompt"] for _, parts in exs)
    client = NotebookClient(student, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(Path(release_path).parent)}})
    done = []
    with client.setup_kernel():
        for i in range(first):
            if student["cells"][i]["cell_type"] != "code":
                continue
            ename, evalue, _ = _run_cell(client, student, i)
            if ename:
                raise StudentCheckError(f"{release_path.name}: cell {i} ({student['cells'][i].get('id')}) before "
                                        f"the first exercise failed: {ename}: {evalue}")
        position = first
        for ex_id, parts in exs:
            # the cells between the previous exercise and this one (prose, plots the next exercise may use)
            for i in range(position, parts["prompt"]):
                if student["cells"][i]["cell_type"] == "code" and not _EX_ID.match(str(student["cells"][i].get("id"))):
                    ename, evalue, _ = _run_cell(client, student, i)
                    if ename:
                        raise StudentCheckError(f"{release_path.name}: cell {i} failed: {ename}: {evalue}")
            sol, chk = parts.get("solution"), parts.get("check")
            if sol is None or chk is None:
                raise StudentCheckError(f"{release_path.name}: exercise {ex_id} lacks a solution or a check cell")
            ename, evalue, _ = _run_cell(client, student, sol)
            if ename != "NotImplementedError":
                raise StudentCheckError(f"{release_path.name}: exercise {ex_id}: the stub should raise "
                                        f"NotImplementedError, got {ename or 'no error'}")
            ename, evalue, _ = _run_cell(client, student, chk)
            if ename != "ExerciseError" or "no answer yet" not in str(evalue):
                raise StudentCheckError(f"{release_path.name}: exercise {ex_id}: on the stub the check should fail "
                                        f"with 'no answer yet', got {ename or 'no error'}: {evalue}")
            ref = ref_cells.get(student["cells"][sol].get("id"))
            if ref is None:
                raise StudentCheckError(f"{release_path.name}: no reference solution for exercise {ex_id}")
            student["cells"][sol]["source"] = _source(ref)  # put the reference solution back
            ename, evalue, _ = _run_cell(client, student, sol)
            if ename:
                raise StudentCheckError(f"{release_path.name}: exercise {ex_id}: the reference solution failed: "
                                        f"{ename}: {evalue}")
            ename, evalue, out = _run_cell(client, student, chk)
            if ename or "correct" not in out:
                raise StudentCheckError(f"{release_path.name}: exercise {ex_id}: the check rejects the reference "
                                        f"solution: {ename}: {evalue}")
            done.append(ex_id)
            log(f"  {ex_id}: stub fails its check with the helpful message; the reference solution passes")
            position = max(parts.values()) + 1
            if exercises_to_run == "first":
                break
    return {"exercises": done, "seconds": time.perf_counter() - t0}


def check_student_copies(out, only=None, timeout=600, exercises_to_run=None, quick=True, log=print):
    """Check every student copy under ``OUT/release/``; return ``{notebook name: result dict}``.

    ``quick=True`` runs the kernels in quick mode (``OCAD_QUICK=1``, as CI does) unless ``OCAD_QUICK`` is already set.
    """
    out = Path(out)
    saved = {k: os.environ.get(k) for k in ("OCAD_QUICK", "MPLBACKEND")}
    if quick:
        os.environ.setdefault("OCAD_QUICK", "1")
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        return _check_all(out, only, timeout, exercises_to_run, log)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _check_all(out, only, timeout, exercises_to_run, log):
    releases = sorted((out / "release").glob("*/*.ipynb"))
    if only:
        releases = [p for p in releases if any(p.name.startswith(o) for o in only)]
    if not releases:
        raise FileNotFoundError(f"no student copies under {out / 'release'}; write them with `ocad-lab student {out}`")
    results = {}
    for rel in releases:
        src = out / "source" / rel.parent.name / rel.name
        log(f"{rel.name}:")
        results[rel.name] = check_student_copy(rel, src, timeout=timeout, exercises_to_run=exercises_to_run, log=log)
        log(f"  ok ({results[rel.name]['seconds']:.0f} s)")
    return results


def splice_exercises(base, exercises_from):
    """Graft the exercise cells of ``exercises_from`` onto ``base`` (both notebook dicts); return a new notebook.

    For maintainers merging two versions of a notebook: ``base`` keeps everything before its exercises (a cell whose
    source contains ``## Exercises`` is cut just before that heading, so text sharing the cell survives); then come
    the cells of ``exercises_from`` from its ``ex-NN-intro`` cell (or its first exercise cell) to the end.
    """
    def first_ex(nb):
        for i, cell in enumerate(nb["cells"]):
            cid = str(cell.get("id", ""))
            if cid.startswith("ex-") and (cid.endswith("-intro") or _EX_ID.match(cid)):
                return i
        raise ValueError("no exercise cells (ids ex-NN-...) to graft")

    out = copy.deepcopy(base)
    start = first_ex(exercises_from)
    cut = next((i for i, c in enumerate(out["cells"]) if "## Exercises" in _source(c)
                or _EX_ID.match(str(c.get("id", "")))), len(out["cells"]))
    cells = out["cells"][:cut]
    if cut < len(out["cells"]) and "## Exercises" in _source(out["cells"][cut]):
        head = _source(out["cells"][cut]).split("## Exercises")[0].rstrip("\n")
        if head.strip():
            kept = copy.deepcopy(out["cells"][cut])
            _set_source(kept, head)
            cells.append(kept)
    ids = {c.get("id") for c in cells}
    grafted = copy.deepcopy(exercises_from["cells"][start:])
    clash = [c.get("id") for c in grafted if c.get("id") in ids]
    if clash:
        raise ValueError(f"cell ids on both sides: {clash}")
    out["cells"] = cells + grafted
    return out
