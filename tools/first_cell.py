"""The first code cell of every chapter: install the matching course helpers.

Every chapter starts with the same cell, made here from the repository URL
(``_config.yml``) and the helpers' version (``helpers.__version__``). After
changing either, run

    python tools/first_cell.py      # rewrite the first cell of chapters/ and lab_notes/

and re-execute the chapters. ``tests/test_committed_notebooks.py`` checks that
every chapter's first cell is exactly this text.

What the cell does, on Colab or wherever the helpers are missing: it installs the
helpers release the notebook was written with, the wheel attached to the GitHub release
``v<version>`` (the ``publish`` workflow puts it there; no git needed), or, when that
release has no wheel, the tag ``v<version>`` from git, with plain pip,
which installs only what is missing, so nothing Colab preinstalls is upgraded and
no restart is needed. It refuses, with a clear message, a ``helpers`` that is not
the course's (a stray ``helpers.py`` in the working folder would shadow it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

import helpers
from helpers.files import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
#: the book folds the cell away behind a "show code" toggle: readers need not read it
TAG = "hide-input"

TEMPLATE = '''\
# The course helpers, the release this notebook was written with (Colab, or wherever
# they are missing). pip adds only what is missing: nothing preinstalled is upgraded.
import importlib, importlib.metadata as md, subprocess, sys

HELPERS = "{version}"
try:
    found = md.version("hidden-factors")
except md.PackageNotFoundError:
    found = None
if found != HELPERS:
    print(f"Installing the course helpers {{HELPERS}} (found: {{found}}) ...")
    repo = "{url}"
    wheel = (f"{{repo}}/releases/download/v{{HELPERS}}/"
             f"hidden_factors-{{HELPERS}}-py3-none-any.whl")
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    if subprocess.run([*pip, f"hidden-factors @ {{wheel}}"]).returncode:
        print("No wheel on that release: installing from its tag with git instead.")
        subprocess.run([*pip, f"hidden-factors @ git+{{repo}}@v{{HELPERS}}"], check=True)
    importlib.invalidate_caches()
import helpers

if getattr(helpers, "__version__", None) != HELPERS:
    raise ImportError(f"`import helpers` found {{helpers.__file__}}, not the course "
                      f"helpers {{HELPERS}}: rename that file or folder, then restart.")'''


def repository_url() -> str:
    """The repository URL, from its one home (``_config.yml``)."""
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def first_cell(version: str | None = None) -> str:
    """The text of every chapter's first code cell (for ``version``, default the helpers')."""
    return TEMPLATE.format(url=repository_url(), version=version or helpers.__version__)


def rewrite_all(version: str | None = None) -> list[Path]:
    """Give every chapter and lab notes page the first cell of ``version``; return the
    notebooks that changed."""
    text = first_cell(version)
    changed = []
    for path in sorted([*(ROOT / "chapters").glob("*.ipynb"),
                        *(ROOT / "lab_notes").glob("*.ipynb")]):
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if c.cell_type == "code")
        tags = cell.metadata.setdefault("tags", [])
        if cell.source != text or TAG not in tags:
            cell.source = text
            if TAG not in tags:
                tags.append(TAG)
            atomic_write_text(path, nbformat.writes(nb) + "\n")
            changed.append(path)
    return changed


def main() -> int:
    for path in rewrite_all():
        print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
