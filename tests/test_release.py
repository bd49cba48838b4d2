"""A release is one command: run it in a scratch clone and look at what it made."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
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


def _weights(clone: Path) -> tuple[Path, Path]:
    """Two committed weights manifests: one whose asset a recorded run left here, one not."""
    from helpers import pretrained

    (clone / "out").mkdir()
    np.savez(clone / "out" / "m-1.npz", meta=np.array("{}"))
    pretrained.pack(clone / "out", "98_here", "book", clone / "results",
                    clone / pretrained.BUILD_DIR, "https://example.org/v0.0.1/")
    gone = clone / "results" / "99_gone" / "weights-book.json"
    gone.parent.mkdir()
    gone.write_text(json.dumps({"asset": "99_gone-book-weights.zip", "sha256": "0" * 64,
                                "url": "https://example.org/v0.0.1/99.zip"}))
    shutil.rmtree(clone / "out")
    here = clone / "results" / "98_here" / "weights-book.json"
    subprocess.run(["git", "add", str(here), str(gone)], cwd=clone, check=True)
    subprocess.run(["git", "commit", "-qm", "weights"], cwd=clone, check=True,
                   env={**os.environ, **GIT_ENV})
    return here, gone


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
    here, gone = _weights(clone)  # one asset on this machine, one published before
    done = _release(clone, new, "--notes", "A test release.", "--date", "2026-12-07")
    assert done.returncode == 0, done.stderr
    assert json.loads(here.read_text())["url"].endswith(f"/releases/download/v{new}/"
                                                        "98_here-book-weights.zip")
    assert json.loads(gone.read_text())["url"] == "https://example.org/v0.0.1/99.zip"
    assert f"gh release upload v{new} _build/weights/98_here-book-weights.zip" in done.stdout
    assert "99_gone-book-weights.zip is not on this machine" in done.stdout
    git = lambda *a: subprocess.run(["git", *a], cwd=clone, capture_output=True,  # noqa: E731
                                    text=True).stdout
    assert git("tag", "--list", f"v{new}").strip() == f"v{new}"
    assert git("status", "--porcelain") == ""  # everything it wrote is in the release commit
    assert _version(clone) == new
    for notebook in [*(clone / "chapters").glob("*.ipynb"), *(clone / "lab_notes").glob("*.ipynb")]:
        assert f'HELPERS = \\"{new}\\"' in notebook.read_text(), notebook.name
    changelog = (clone / "CHANGELOG.md").read_text()
    assert f"## v{new} — 2026-12-07" in changelog and "A test release." in changelog
    if git("tag", "--list").split() == [f"v{new}"]:  # the first release: a count, no list
        assert "The first release:" in changelog and "\n- " not in changelog
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
