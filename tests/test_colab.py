"""ocad-lab colab-cells: the notebooks' Colab badges and install cells come from pyproject's one repository URL."""

import json
import shutil
from pathlib import Path

import pytest

from ocad_lab import colab
from ocad_lab.cli import main
from ocad_lab.student import notebook_paths

ROOT = Path(__file__).resolve().parent.parent


def test_committed_notebooks_match_the_generated_cells():
    url = colab.repository_url(ROOT / "pyproject.toml")
    assert url.startswith("https://github.com/")
    assert colab.colab_cells(notebook_paths(ROOT / "notebooks"), url=url) == []
    assert main(["colab-cells"]) == 0


def test_changing_the_url_changes_every_badge_and_install_cell_and_nothing_else(tmp_path):
    for p in notebook_paths(ROOT / "notebooks"):
        shutil.copy(p, tmp_path / p.name)
    paths = notebook_paths(tmp_path)
    before = {p.name: json.loads(p.read_text()) for p in paths}
    new = "https://github.com/some-course/ocad_lab-mirror"
    assert main(["colab-cells", "--url", new, "--notebooks", str(tmp_path)]) == 1      # differs: --check fails
    assert main(["colab-cells", "--write", "--url", new, "--notebooks", str(tmp_path)]) == 0
    for p in paths:
        nb, old = json.loads(p.read_text()), before[p.name]
        assert len(nb["cells"]) == len(old["cells"])
        changed = [i for i, (a, b) in enumerate(zip(old["cells"], nb["cells"])) if a != b]
        assert changed == [0, 1], (p.name, changed)                 # the badge's cell and the install cell only
        badge, install = "".join(nb["cells"][0]["source"]), "".join(nb["cells"][1]["source"])
        assert f"colab.research.google.com/github/some-course/ocad_lab-mirror/blob/main/notebooks/{p.name})" in badge
        assert "ocad-lab/ocad_lab" not in badge and f"git+{new}\"" in install
        # the header text (titles, times) around the badge is untouched
        assert badge.split("\n")[1:] == "".join(old["cells"][0]["source"]).split("\n")[1:]
    # idempotent: a second run changes nothing
    assert colab.colab_cells(paths, url=new, write=True) == []


def test_missing_cells_are_inserted_and_bad_urls_rejected():
    nb = {"cells": [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# Title"]}]}
    assert colab.update_notebook(nb, "https://github.com/x/y", "07_new.ipynb")
    assert "".join(nb["cells"][0]["source"]).startswith("[![Open In Colab]")
    assert "".join(nb["cells"][1]["source"]).startswith(colab.INSTALL_MARKER)
    assert not colab.update_notebook(nb, "https://github.com/x/y", "07_new.ipynb")
    with pytest.raises(ValueError, match="GitHub"):
        colab.github_parts("https://gitlab.com/x/y")


def test_nbgitpuller_link_is_built_from_the_repository_url():
    link = colab.nbgitpuller_link("https://hub.example.edu/", "https://github.com/x/my_kit",
                                  path="notebooks/03_hypersphere_collapse.ipynb")
    assert link == ("https://hub.example.edu/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com%2Fx%2Fmy_kit"
                    "&urlpath=lab%2Ftree%2Fmy_kit%2Fnotebooks%2F03_hypersphere_collapse.ipynb&branch=main")
    assert "course-release" in colab.nbgitpuller_link("https://h", "https://gitlab.com/a/course-release.git")


def test_a_notebook_with_extras_installs_them_and_an_old_marker_variant_is_replaced():
    old = {"cells": [{"cell_type": "markdown", "id": "a", "metadata": {}, "source": ["# 08"]},
                     {"cell_type": "code", "id": "b", "metadata": {}, "outputs": [], "execution_count": None,
                      "source": ["# On Google Colab, install the kit first (with foolbox); elsewhere nothing.\n",
                                 "pass"]}],
           "metadata": {"ocad_lab": {"colab_extras": ["attacks"]}}}
    assert colab.update_notebook(old, "https://github.com/x/y", "08_x.ipynb")
    assert len(old["cells"]) == 3 - 1                                  # replaced in place, not a second cell
    install = "".join(old["cells"][1]["source"])
    assert install.startswith(colab.INSTALL_MARKER)
    assert '"ocad-lab[attacks] @ git+https://github.com/x/y"' in install
    # the committed notebook 08 needs foolbox on Colab: its cell installs the extra
    nb = json.loads((ROOT / "notebooks" / "08_adversarial_stop_signs.ipynb").read_text())
    assert colab.notebook_extras(nb) == ["attacks"]
    assert "ocad-lab[attacks] @ git+" in "".join(nb["cells"][1]["source"])
    # the extra must exist in pyproject, or pip would silently install without it
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for p in notebook_paths(ROOT / "notebooks"):
        assert set(colab.notebook_extras(json.loads(p.read_text()))) <= set(extras), p.name
    with pytest.raises(ValueError, match="extra"):
        colab.install_source("https://github.com/x/y", extras=["attacks]; rm"])
    with pytest.raises(ValueError, match="colab_extras"):
        colab.notebook_extras({"metadata": {"ocad_lab": {"colab_extras": "attacks"}}})
