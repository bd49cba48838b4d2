"""tools/execute_notebook.py: a failed save loses nothing; fallback data never replaces a
real record (the issue's 'make record' with HF_OFFLINE=1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL = ["-m", "tools.execute_notebook"]  # a module of the tools package, run from the root


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def _env(tmp_path: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_PROFILE="smoke", HF_RESULTS_DIR=str(tmp_path / "results"),
               HF_WEIGHTS_DIR=str(tmp_path / "weights"), **extra)
    return env


def test_a_full_disk_while_saving_leaves_the_notebook_as_it_was(tmp_path):
    """The executed notebook (200 kB of output) cannot be written under a 64 kB file-size
    limit: the tool fails, and the notebook on disk is the old one, valid, and alone."""
    resource = pytest.importorskip("resource")
    path = _notebook(tmp_path / "big.ipynb", "print('x' * 200_000)")
    before = path.read_bytes()

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, 64_000))

    out = subprocess.run([sys.executable, *TOOL, str(path)], env=_env(tmp_path), cwd=ROOT,
                         capture_output=True, text=True, timeout=300, preexec_fn=limit)
    assert out.returncode != 0 and "No module named" not in out.stderr, out.stderr
    assert path.read_bytes() == before
    nbformat.validate(nbformat.read(path, as_version=4))
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["big.ipynb"]


CHAPTER = ("from helpers.notebook import setup, report, runtime_note\n"
           "from helpers.data import load_mnist\n"
           "P = setup(quiet=True)\n"
           "data = load_mnist(train_size=100, test_size=50, seed=0)\n"
           "report('chance', 0.1, show=False)")


def test_a_run_on_fallback_data_does_not_replace_a_real_record(tmp_path):
    path = _notebook(tmp_path / "00_tiny.ipynb", CHAPTER, "runtime_note()")
    record = tmp_path / "results" / "00_tiny" / "smoke.json"
    record.parent.mkdir(parents=True)
    real = {"profile": "smoke", "values": {"chance": 0.113},
            "data": {"MNIST": {"source": "data-dir", "file": "mnist.npz"}}}
    record.write_text(json.dumps(real))
    args = [sys.executable, *TOOL, "--results-only", str(path)]
    out = subprocess.run(args, env=_env(tmp_path, HF_OFFLINE="1"), cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 1, out.stderr
    assert "record refused" in out.stderr and "--replace-real" in out.stderr
    assert json.loads(record.read_text()) == real  # untouched
    out = subprocess.run(args + ["--replace-real"], env=_env(tmp_path, HF_OFFLINE="1"), cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    replaced = json.loads(record.read_text())
    assert replaced["data"]["MNIST"]["source"] == "offline-subset"
    assert replaced["values"] == {"chance": 0.1}


def test_a_failed_browser_export_is_said_and_keeps_the_run(monkeypatch, capsys, tmp_path):
    """The book run is recorded even when its in-browser model cannot be exported."""
    from tools import browser_models, execute_notebook

    def broken(chapter, weights_dir):
        raise browser_models.ExportError("the weights do not fit")

    monkeypatch.setattr(browser_models, "export", broken)
    execute_notebook._export_live_model("01_xcov", tmp_path)  # does not raise
    err = capsys.readouterr().err
    assert "01_xcov: the book run is recorded" in err
    assert "the weights do not fit" in err and "python -m tools.browser_models 01_xcov" in err
    execute_notebook._export_live_model("99_no_such_chapter", tmp_path)  # nothing declared
    assert capsys.readouterr().err == ""
