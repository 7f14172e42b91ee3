"""ocad-lab student: student copies without solutions that still run, whose checks fail on the stub with the
helpful message and pass with the reference solution put back; cell metadata as nbgrader 0.9 expects it."""

import json
import re
from pathlib import Path

import pytest

from ocad_lab import student as st
from ocad_lab.cli import main

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = st.notebook_paths(ROOT / "notebooks")
# Executed in the test: the cheap notebooks, fully (every exercise). The others are executed by
# `ocad-lab student --check OUT/` (minutes: it runs each notebook).
EXECUTED = ["00", "02"]


def _nbgrader_v3_problems(nb):
    """nbgrader's schema-v3 rules for cell metadata (nbgrader/nbgraderformat/v3.json and v3.py), re-stated."""
    problems, ids = [], set()
    allowed = {"schema_version", "grade", "locked", "solution", "task", "grade_id", "points", "checksum", "cell_type"}
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        if set(meta) - allowed or not {"schema_version", "grade", "locked", "solution"} <= set(meta):
            problems.append(f"{cell['id']}: keys {sorted(meta)}")
        if meta.get("schema_version") != 3:
            problems.append(f"{cell['id']}: schema_version")
        if meta["grade"] or meta["solution"] or meta["locked"]:
            gid = meta.get("grade_id", "")
            if not re.fullmatch(r"[a-zA-Z0-9_\-]+", gid) or gid in ids:
                problems.append(f"{cell['id']}: grade_id {gid!r}")
            ids.add(gid)
        if meta["grade"] and not (isinstance(meta.get("points"), (int, float)) and meta["points"] >= 0):
            problems.append(f"{cell['id']}: points")
        if cell["cell_type"] == "markdown" and meta["grade"] != meta["solution"]:
            problems.append(f"{cell['id']}: a markdown cell must be both grade and solution")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_student_copy_has_no_solutions_and_keeps_the_checks(path):
    nb = json.loads(path.read_text())
    exs = st.exercises(nb)
    assert len(exs) >= 3, f"{path.name}: convert its exercises to gradable cells (conventions: ocad_lab/checks.py)"
    assert _nbgrader_v3_problems(nb) == []
    stu = st.student_notebook(nb)
    assert _nbgrader_v3_problems(stu) == []
    text = json.dumps(stu)
    assert st.BEGIN not in text and "**Solution.**" not in text and "<details>" not in text
    for ex_id, parts in exs:
        assert {"prompt", "solution", "check"} <= set(parts), ex_id
        ref = "".join(nb["cells"][parts["solution"]]["source"])
        stub = "".join(stu["cells"][parts["solution"]]["source"])
        # the answer variable: first line `name = None` (kept in the stub), checked by the check cell
        name = re.match(r"(\w+) = None\n### BEGIN SOLUTION\n", ref).group(1)
        assert stub == f"{name} = None\n# YOUR CODE HERE\nraise NotImplementedError()", ex_id
        chk = "".join(stu["cells"][parts["check"]]["source"])
        assert f'check("{ex_id}", {name}' in chk and chk == "".join(nb["cells"][parts["check"]]["source"])
        # the check passes only objects made before the exercise, never the student's own names
        assert not re.search(rf"=\s*{name}\b", chk)
        if "explained" in parts:
            assert "".join(stu["cells"][parts["explained"]]["source"]) == st.WRITTEN_STUB
    assert all(c.get("outputs", []) == [] and c.get("execution_count") is None for c in stu["cells"])


def test_stub_keeps_indentation_and_rejects_broken_markers():
    assert st.stub_solution("x = None\nif True:\n    ### BEGIN SOLUTION\n    x = 1\n    ### END SOLUTION\n") == \
        "x = None\nif True:\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    for bad in ("x = 1", "### BEGIN SOLUTION\nx = 1", "x = 1\n### END SOLUTION"):
        with pytest.raises(ValueError):
            st.stub_solution(bad)


@pytest.mark.slow
def test_student_copies_run_fail_on_the_stub_and_pass_with_the_solution(tmp_path):
    assert main(["student", str(tmp_path), "--only", ",".join(EXECUTED)]) == 0
    for p in NOTEBOOKS:
        if p.name[:2] in EXECUTED:
            assert (tmp_path / "source" / p.stem / p.name).exists()
            assert (tmp_path / "release" / p.stem / p.name).exists()
    assert (tmp_path / "nbgrader_config.py").exists()
    results = st.check_student_copies(tmp_path, timeout=300)
    for p in NOTEBOOKS:
        if p.name[:2] in EXECUTED:
            assert results[p.name]["exercises"] == [k for k, _ in st.exercises(json.loads(p.read_text()))]


def test_check_reports_a_stub_that_passes(tmp_path):
    # a student copy whose check accepts the stub (here: the check cell replaced) must be reported
    main(["student", str(tmp_path), "--only", "00"])
    rel = next((tmp_path / "release").glob("*/00_*.ipynb"))
    nb = json.loads(rel.read_text())
    nb["cells"] = nb["cells"][:st.exercises(nb)[0][1]["check"]]           # stop at the first check cell ...
    nb["cells"].append({"cell_type": "code", "execution_count": None, "id": "ex-00-1-check", "metadata": {},
                        "outputs": [], "source": ["print('fine')"]})        # ... which accepts anything
    rel.write_text(json.dumps(nb))
    with pytest.raises(st.StudentCheckError, match="no answer yet"):
        st.check_student_copies(tmp_path, only=["00"], timeout=120)


def test_splice_exercises_keeps_the_other_version_and_grafts_ours():
    ours = json.loads((ROOT / "notebooks" / NOTEBOOKS[0].name).read_text())
    start = next(i for i, c in enumerate(ours["cells"]) if c["id"].endswith("-intro"))
    theirs = json.loads(json.dumps(ours))
    theirs["cells"] = theirs["cells"][:start]
    theirs["cells"][0]["source"] = ["edited header"]
    theirs["cells"].append({"cell_type": "markdown", "id": "old", "metadata": {},
                            "source": ["Prose kept.\n", "\n", "## Exercises\n", "\n", "old exercise text"]})
    spliced = st.splice_exercises(theirs, ours)
    assert spliced["cells"][0]["source"] == ["edited header"]
    assert "".join(spliced["cells"][start]["source"]) == "Prose kept."
    assert spliced["cells"][start + 1:] == ours["cells"][start:]


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["student", str(tmp_path / "out"), "--notebooks", str(tmp_path / "missing")]) == 1
    assert "no numbered notebooks" in capsys.readouterr().err
    assert main(["student", "--check", str(tmp_path / "out2"), "--only", "99"]) == 1
