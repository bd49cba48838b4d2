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


class _Done:
    def __init__(self, returncode: int) -> None:
        self.returncode = returncode


def _install(monkeypatch, capsys, wheel_ok: bool) -> tuple[list, str]:
    """Run the cell with no helpers installed; pip's wheel install fails unless wheel_ok."""
    calls = []

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    def pip(args, **kw):
        calls.append(args)
        if kw.get("check") is None and not wheel_ok:  # the wheel attempt (no check=True)
            return _Done(1)
        return _Done(0)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    monkeypatch.setattr(subprocess, "run", pip)
    exec(first_cell(), {})
    return calls, capsys.readouterr().out


def test_missing_helpers_are_installed_from_the_release_wheel_without_upgrading(monkeypatch,
                                                                                capsys):
    calls, out = _install(monkeypatch, capsys, wheel_ok=True)
    (args,) = calls  # the wheel was there: no git
    version = helpers.__version__
    assert args[:4] == [sys.executable, "-m", "pip", "install"]
    assert args[-1] == (f"hidden-factors @ {repository_url()}/releases/download/v{version}/"
                        f"hidden_factors-{version}-py3-none-any.whl")
    assert not {"-U", "--upgrade", "--force-reinstall"} & set(args)
    assert f"Installing the course helpers {version}" in out


def test_a_release_without_a_wheel_falls_back_to_its_git_tag(monkeypatch, capsys):
    calls, out = _install(monkeypatch, capsys, wheel_ok=False)
    assert len(calls) == 2 and "releases/download" in calls[0][-1]
    assert calls[1][-1] == f"hidden-factors @ git+{repository_url()}@v{helpers.__version__}"
    assert "No wheel on that release" in out
    assert not {"-U", "--upgrade", "--force-reinstall"} & set(calls[1])


def test_the_version_has_one_home():
    assert importlib.metadata.version("hidden-factors") == helpers.__version__
    assert "dynamic" in (ROOT / "pyproject.toml").read_text()


@pytest.mark.parametrize("name", ["jupyter-book", "pytest", "nbval", "ruff", "selenium"])
def test_binder_installs_no_author_tools(name):
    binder = (ROOT / "binder" / "requirements.txt").read_text()
    assert name not in binder
    assert "pip install" in (ROOT / "binder" / "postBuild").read_text()
