"""The README's commands without ``make``: for Windows, or any machine without it.

    python tools/course.py setup   # create .venv and install requirements.txt (once)
    python tools/course.py test    # setup, ruff, the unit tests and every chapter (smoke)
    python tools/course.py book    # setup, build the book into _build/html (warnings = errors)

(On Windows: ``py tools\\course.py test``.) ``make setup``, ``make test`` and
``make book`` call exactly these, so both paths run the same steps. Only the
standard library is used, so any Python the course supports can run it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
STAMP = VENV / ".installed"
INPUTS = (ROOT / "requirements.txt", ROOT / "pyproject.toml")
SUPPORTED = ((3, 10), (3, 13))  # the oldest and newest Python the README promises


def venv_python(venv: Path = VENV) -> Path:
    """A virtual environment's interpreter (``Scripts\\python.exe`` on Windows)."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _run(*args: str | Path, env: dict | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    done = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if done.returncode:
        sys.exit(done.returncode)


def setup() -> Path:
    """Create ``.venv`` and install ``requirements.txt`` unless it is up to date."""
    if not SUPPORTED[0] <= sys.version_info[:2] <= SUPPORTED[1]:
        sys.exit(f"Python {sys.version.split()[0]} is not supported: the course needs "
                 f"{'.'.join(map(str, SUPPORTED[0]))} to {'.'.join(map(str, SUPPORTED[1]))}. "
                 "Run this script with a supported python (see the README).")
    python = venv_python()
    if STAMP.exists() and python.exists() and all(
            STAMP.stat().st_mtime >= f.stat().st_mtime for f in INPUTS):
        return python
    start = time.perf_counter()
    if not python.exists():
        _run(sys.executable, "-m", "venv", VENV)
    _run(python, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    _run(python, "-m", "pip", "install", "--quiet", "-r", ROOT / "requirements.txt")
    STAMP.touch()
    print(f"Set up {VENV.name} in {time.perf_counter() - start:.0f} s.", flush=True)
    return python


def test(pytest_args: list[str]) -> None:
    """ruff, then pytest with the smoke profile (every chapter runs under nbval)."""
    python = setup()
    _run(python, "-m", "ruff", "check", "helpers", "tests", "tools", "chapters", "lab_notes",
         "benchmarks",
         "experiments")
    _run(python, "-m", "pytest", "--nbval-lax", "-q", *_workers(pytest_args), *pytest_args,
         env={**os.environ, "HF_PROFILE": "smoke"})


def _workers(pytest_args: list[str]) -> list[str]:
    """pytest-xdist options: one worker per core (at most 4: each chapter's kernel is a
    TensorFlow process of about 1.5 GB); every notebook's cells stay together on one
    worker (``--dist loadscope``), in order. None when the caller chose ``-n`` or the
    machine has a single core."""
    if any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in pytest_args):
        return []
    cores = min(os.cpu_count() or 1, 4)
    return ["-n", str(cores), "--dist", "loadscope"] if cores > 1 else []


def book() -> None:
    """A full build of the book (Sphinx 7.4 keeps stale static files otherwise)."""
    python = setup()
    for stale in (ROOT / "_build" / "html", ROOT / "_build" / ".doctrees"):
        shutil.rmtree(stale, ignore_errors=True)
    # jupyter-book's own command, through the venv's python (the script's name and
    # folder differ between Windows and the rest)
    _run(python, "-c", "from jupyter_book.cli.main import main; main()",
         "build", ".", "-W", "-n", "--keep-going")
    index = ROOT / "_build" / "html" / "index.html"
    if not index.is_file():
        sys.exit("The book build ended without _build/html/index.html.")
    print(f"Book: {index}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("setup", "test", "book"))
    parser.add_argument("pytest_args", nargs="*",
                        help="for test: extra pytest arguments (e.g. tests/test_data.py)")
    args = parser.parse_args()
    if args.command == "setup":
        setup()
    elif args.command == "test":
        test(args.pytest_args)
    else:
        book()


if __name__ == "__main__":
    main()
