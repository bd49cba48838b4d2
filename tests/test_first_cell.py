"""The first cell of every chapter (tools/first_cell.py) as a learner meets it."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import helpers
from tools.first_cell import first_cell, repository_url

ROOT = Path(__file__).resolve().parents[1]


def _run_cell(folder: Path) -> subprocess.CompletedProcess:
    """The cell in a fresh Python started in folder (as a kernel started there)."""
    return subprocess.run([sys.executable, "-c", first_cell()], cwd=folder,
                          capture_output=True, text=True, timeout=120)


def test_installed_helpers_are_used_as_they_are(tmp_path):
    done = _run_cell(tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Installing" not in done.stdout  # the right version is there: no pip at all


def test_a_stray_helpers_module_is_refused_with_a_clear_message(tmp_path):
    (tmp_path / "helpers.py").write_text("print('my own helpers')\n")
    done = _run_cell(tmp_path)
    assert done.returncode != 0
    assert "not the course helpers" in done.stderr and "helpers.py" in done.stderr
    assert "rename that file or folder" in done.stderr


def test_missing_helpers_are_installed_pinned_without_upgrading(monkeypatch, capsys):
    calls = []

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: calls.append(args))
    exec(first_cell(), {})
    (args,) = calls
    assert args[:4] == [sys.executable, "-m", "pip", "install"]
    assert args[-1] == f"hidden-factors @ git+{repository_url()}@v{helpers.__version__}"
    assert not {"-U", "--upgrade", "--force-reinstall"} & set(args)
    assert f"Installing the course helpers {helpers.__version__}" in capsys.readouterr().out


def test_the_version_has_one_home():
    assert importlib.metadata.version("hidden-factors") == helpers.__version__
    assert "dynamic" in (ROOT / "pyproject.toml").read_text()


@pytest.mark.parametrize("name", ["jupyter-book", "pytest", "nbval", "ruff", "selenium"])
def test_binder_installs_no_author_tools(name):
    binder = (ROOT / "binder" / "requirements.txt").read_text()
    assert name not in binder
    assert "pip install" in (ROOT / "binder" / "postBuild").read_text()
