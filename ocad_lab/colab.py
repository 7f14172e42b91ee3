"""The Colab badge and install cell of every notebook, generated from the one repository address in pyproject.toml.

The address lives in ``pyproject.toml`` under ``[project.urls] Repository``. A fork or a course mirror changes that one
line and runs ``ocad-lab colab-cells --write``; ``ocad-lab colab-cells --check`` (and ``tests/test_colab.py``) fail when
a notebook does not match.

The generator touches exactly two things per notebook, so it can be re-run after any merge:

* the badge: the line of the first markdown cell that starts with ``[![Open In Colab]`` (inserted as the cell's first
  line if there is none); the rest of that cell (title, time estimates) is left alone;
* the install cell: the code cell whose first line starts with :data:`INSTALL_PREFIX` (inserted after the first cell
  if there is none); its whole source is generated.

A notebook that needs one of the kit's optional extras (``[project.optional-dependencies]``, e.g. ``attacks`` for
foolbox) names them in its metadata, ``"ocad_lab": {"colab_extras": ["attacks"]}``; its install cell then installs
``ocad-lab[attacks] @ git+URL``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

BADGE_PREFIX = "[![Open In Colab]"
BADGE_SVG = "https://colab.research.google.com/assets/colab-badge.svg"
INSTALL_MARKER = "# On Google Colab, install the kit first; anywhere else this cell does nothing."
INSTALL_PREFIX = "# On Google Colab, install the kit first"   # also finds older variants of the marker line
_EXTRA = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_GITHUB = re.compile(r"^https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


def pyproject_path():
    return Path(__file__).resolve().parent.parent / "pyproject.toml"


def repository_url(pyproject=None):
    """``[project.urls] Repository`` of pyproject.toml (a GitHub address such as https://github.com/OWNER/REPO)."""
    import tomllib

    path = Path(pyproject) if pyproject else pyproject_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} not found: run this in a source checkout of the kit") from None
    url = data.get("project", {}).get("urls", {}).get("Repository")
    if not url:
        raise ValueError(f'{path} has no [project.urls] Repository = "https://github.com/OWNER/REPO" line')
    return github_parts(url)[2]


def github_parts(url):
    """``(owner, repo, normalised url)``; Colab opens notebooks from GitHub only, so other hosts are an error."""
    m = _GITHUB.match(str(url).strip())
    if not m:
        raise ValueError(f"Repository URL {url!r} is not https://github.com/OWNER/REPO: Colab's 'open from GitHub' "
                         "links need a GitHub repository (a mirror elsewhere can still use the JupyterHub route).")
    owner, repo = m.group(1), m.group(2)
    return owner, repo, f"https://github.com/{owner}/{repo}"


def badge_line(url, notebook_name, branch="main", folder="notebooks"):
    owner, repo, _ = github_parts(url)
    return (f"{BADGE_PREFIX}({BADGE_SVG})](https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/"
            f"{folder}/{notebook_name})")


def install_source(url, extras=()):
    """The install cell's source; ``extras``: optional extras of the kit to install too (e.g. ``("attacks",)``)."""
    _, _, url = github_parts(url)
    extras = list(extras or ())
    bad = [e for e in extras if not isinstance(e, str) or not _EXTRA.match(e)]
    if bad:
        raise ValueError(f"extras {bad!r} are not names of optional extras (letters, digits, '.', '_', '-')")
    if extras:
        target = f"ocad-lab[{','.join(extras)}] @ git+{url}"
        note = f"# (with the optional extra{'s' if len(extras) > 1 else ''} {', '.join(repr(e) for e in extras)})\n"
    else:
        target, note = f"git+{url}", ""
    return (f"{INSTALL_MARKER}\n{note}"
            "import sys, subprocess\n"
            'if "google.colab" in sys.modules:\n'
            f'    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "{target}"], check=True)')


def notebook_extras(nb):
    """The optional extras a notebook's install cell installs: its metadata ``ocad_lab.colab_extras``."""
    extras = nb.get("metadata", {}).get("ocad_lab", {}).get("colab_extras", [])
    if isinstance(extras, str) or not isinstance(extras, list):
        raise ValueError(f"notebook metadata ocad_lab.colab_extras should be a list of extra names, got {extras!r}")
    return extras


def _text(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _lines(text):
    lines = text.split("\n")
    return [ln + "\n" for ln in lines[:-1]] + [lines[-1]]


def _new_id(nb, base):
    ids = {c.get("id") for c in nb["cells"]}
    return base if base not in ids else next(f"{base}-{i}" for i in range(2, 1000) if f"{base}-{i}" not in ids)


def update_notebook(nb, url, notebook_name, branch="main"):
    """Put the generated badge and install cell into ``nb`` (in place); return True when something changed."""
    before = json.dumps(nb, sort_keys=True)
    badge = badge_line(url, notebook_name, branch)
    md = next((c for c in nb["cells"] if c["cell_type"] == "markdown"), None)
    if md is None:
        md = {"cell_type": "markdown", "id": _new_id(nb, "colab-badge"), "metadata": {}, "source": []}
        nb["cells"].insert(0, md)
    lines = _text(md).split("\n")
    hits = [i for i, ln in enumerate(lines) if ln.startswith(BADGE_PREFIX)]
    if hits:
        lines[hits[0]] = badge
    else:
        lines = [badge, ""] + lines
    md["source"] = _lines("\n".join(lines))
    install = next((c for c in nb["cells"] if c["cell_type"] == "code" and _text(c).startswith(INSTALL_PREFIX)), None)
    if install is None:
        install = {"cell_type": "code", "execution_count": None, "id": _new_id(nb, "colab-install"), "metadata": {},
                   "outputs": [], "source": []}
        nb["cells"].insert(nb["cells"].index(md) + 1, install)
    install["source"] = _lines(install_source(url, notebook_extras(nb)))
    return json.dumps(nb, sort_keys=True) != before


def colab_cells(notebooks, url=None, write=False, branch="main"):
    """Return the notebooks whose badge or install cell differs from the generated ones; rewrite them if ``write``."""
    import os

    url = url or repository_url()
    stale = []
    for path in notebooks:
        path = Path(path)
        nb = json.loads(path.read_text(encoding="utf-8"))
        if update_notebook(nb, url, path.name, branch):
            stale.append(path)
            if write:
                tmp = path.with_suffix(".ipynb.tmp")
                tmp.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
                os.replace(tmp, path)
    return stale


def nbgitpuller_link(hub, url=None, path="notebooks/00_start_here.ipynb", branch="main", app="lab"):
    """A JupyterHub link that clones (or updates) the repository into each student's home and opens ``path``.

    nbgitpuller must be installed on the hub; the folder it clones into is named after the repository.
    """
    from urllib.parse import quote, urlencode

    url = str(url or repository_url())
    if "github.com" in url:
        url = github_parts(url)[2]
    repo = url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")   # the folder nbgitpuller clones into
    query = urlencode({"repo": url, "urlpath": f"{app}/tree/{repo}/{path}", "branch": branch}, quote_via=quote)
    return f"{str(hub).rstrip('/')}/hub/user-redirect/git-pull?{query}"
