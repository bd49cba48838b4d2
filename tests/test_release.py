"""A release is one command: run it in a scratch clone and look at what it made."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}


def _release(clone: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.release", *args], cwd=clone,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, **GIT_ENV})


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("release") / "course"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(path)], check=True)
    return path


def _version(clone: Path) -> str:
    text = (clone / "helpers" / "__init__.py").read_text()
    return text.split('__version__ = "', 1)[1].split('"', 1)[0]


def test_a_release_bumps_the_version_cells_changelog_and_tags(clone):
    old = _version(clone)
    major, minor, patch = map(int, old.split("."))
    new = f"{major}.{minor}.{patch + 1}"
    assert _release(clone, old, "--notes", "x").returncode == 1  # not above the current
    (clone / "scratch.txt").write_text("uncommitted")
    dirty = _release(clone, new, "--notes", "x")
    assert dirty.returncode == 1 and "uncommitted changes" in dirty.stderr
    (clone / "scratch.txt").unlink()
    done = _release(clone, new, "--notes", "A test release.", "--date", "2026-12-07")
    assert done.returncode == 0, done.stderr
    git = lambda *a: subprocess.run(["git", *a], cwd=clone, capture_output=True,  # noqa: E731
                                    text=True).stdout
    assert git("tag", "--list", f"v{new}").strip() == f"v{new}"
    assert git("status", "--porcelain") == ""  # everything it wrote is in the release commit
    assert _version(clone) == new
    for notebook in [*(clone / "chapters").glob("*.ipynb"), *(clone / "lab_notes").glob("*.ipynb")]:
        assert f'HELPERS = \\"{new}\\"' in notebook.read_text(), notebook.name
    changelog = (clone / "CHANGELOG.md").read_text()
    assert f"## v{new} — 2026-12-07" in changelog and "A test release." in changelog
    assert f'version: "{new}"' in (clone / "CITATION.cff").read_text()
    again = _release(clone, new, "--notes", "x")
    assert again.returncode == 1  # the tag exists / not above


def test_a_wheel_without_the_records_is_refused(clone, tmp_path):
    wheel = tmp_path / "hidden_factors-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("helpers/__init__.py", "")
    done = _release(clone, "--check-wheel", str(wheel))
    assert done.returncode == 1 and "lacks" in done.stderr and "_records" in done.stderr


def test_the_citation_file_agrees_with_the_version_and_repository():
    import yaml

    import helpers

    citation = (ROOT / "CITATION.cff").read_text()
    assert f'version: "{helpers.__version__}"' in citation
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert f'repository-code: "{url}"' in citation
