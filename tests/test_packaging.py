"""environment.yml (conda, course labs) and pyproject.toml (pip) must install the same runtime packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from the PyPI names
CONDA_TO_PYPI = {"pytorch": "torch"}
# conda-only entries that are not runtime dependencies of the package
CONDA_ONLY = {"python", "pip"}


def split_requirement(spec):
    """Split 'name>=1.2' (PEP 508 or conda match spec) into (normalised name, version constraint)."""
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$", spec)
    name = re.sub(r"[-_.]+", "-", m.group(1)).lower()
    return name, m.group(2).replace(" ", "")


def parse_environment_yml(text):
    """A tiny parser for environment.yml: returns (channels, conda dependencies, pip entries)."""
    channels, conda, pip, section, in_pip = [], [], [], None, False
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        item = line.strip()
        if indent == 0:
            section, in_pip = item.rstrip(":"), False
            continue
        if section == "channels" and item.startswith("- "):
            channels.append(item[2:].strip())
        elif section == "dependencies" and item.startswith("- "):
            entry = item[2:].strip()
            if entry == "pip:":
                in_pip, pip_indent = True, indent
            elif in_pip and indent > pip_indent:
                pip.append(entry)
            else:
                in_pip = False
                conda.append(entry)
    return channels, conda, pip


@pytest.fixture(scope="module")
def pyproject():
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def env_yml():
    return parse_environment_yml((ROOT / "environment.yml").read_text())


def test_tiny_parser_agrees_with_pyyaml_if_installed():
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((ROOT / "environment.yml").read_text())
    channels, conda, pip = parse_environment_yml((ROOT / "environment.yml").read_text())
    assert doc["channels"] == channels
    assert [d for d in doc["dependencies"] if isinstance(d, str)] == conda
    assert [d for d in doc["dependencies"] if isinstance(d, dict)][0]["pip"] == pip


def test_conda_forge_only(env_yml):
    channels, _, _ = env_yml
    assert channels == ["conda-forge"]


def test_same_runtime_packages_and_lower_bounds(pyproject, env_yml):
    _, conda, _ = env_yml
    from_conda = {}
    for entry in conda:
        name, version = split_requirement(entry)
        if name not in CONDA_ONLY:
            from_conda[CONDA_TO_PYPI.get(name, name)] = version
    from_pip = dict(split_requirement(d) for d in pyproject["project"]["dependencies"])
    assert from_conda == from_pip


def test_pytorch_from_conda_forge_not_pip(env_yml):
    _, conda, pip = env_yml
    names = {split_requirement(e)[0] for e in conda}
    assert "pytorch" in names and "torch" not in names
    assert not any(split_requirement(p)[0] == "torch" for p in pip if not p.startswith("-"))


def test_python_version_matches(pyproject, env_yml):
    _, conda, _ = env_yml
    python = dict(split_requirement(e) for e in conda)["python"]
    assert python == pyproject["project"]["requires-python"]


def test_package_itself_installed_by_pip(env_yml):
    _, _, pip = env_yml
    assert any(re.fullmatch(r"-e\s+\.(\[[\w,]+\])?", p) for p in pip)


def test_console_script_points_at_cli_main(pyproject):
    target = pyproject["project"]["scripts"]["ocad-lab"]
    module, func = target.split(":")
    import importlib

    assert callable(getattr(importlib.import_module(module), func))


def test_parser_reads_nested_pip_block():
    text = (
        "name: x\nchannels:\n  - conda-forge\n"
        "dependencies:\n  - numpy>=1  # comment\n  - pip\n  - pip:\n      - -e .\n"
    )
    assert parse_environment_yml(text) == (["conda-forge"], ["numpy>=1", "pip"], ["-e ."])
