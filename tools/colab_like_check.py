"""A chapter as Colab runs it: Colab's versions, the helpers from a wheel, outside the repo.

    python -m tools.colab_like_check [chapters/00_warmup.ipynb ...]   # default: all

1. makes a virtual environment (``.cache/colab-venv``) holding what Colab
   preinstalls (``tools/colab_versions.txt``: TensorFlow 2.20, Keras 3.13.2,
   NumPy 2.1.3, ipywidgets 7.7.1, ...);
2. builds the helpers' wheel from this checkout and installs it there with
   plain pip, as the chapters' first cell does on Colab;
3. fails if that install upgraded or downgraded anything preinstalled;
4. copies each chapter and lab notes page into an empty folder of its own outside the
   repository and executes it there in ``smoke`` (offline), with that environment's
   kernel and ``HF_REQUIRE_RECORDS=1``: a recorded table or figure that the installed
   helpers cannot find fails the check (it would print "nothing recorded" on Colab).

Colab runs Python 3.13; this check uses the Python that runs it (3.11 in CI),
because 3.13 cannot be installed here. Exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers.core.profile import ENV_VAR as PROFILE_VAR
from helpers.runs import REQUIRE_ENV_VAR
from tools.course import venv_python

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".cache" / "colab-venv"
PINS = ROOT / "tools" / "colab_versions.txt"


def _python() -> Path:
    return venv_python(VENV)


def _run(*args, **kwargs) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    if done.returncode:
        sys.exit(f"failed: {' '.join(map(str, args))}\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done.stdout


def _name(name: str) -> str:
    """A distribution's normalised name (``tensorflow_cpu`` and ``tensorflow-cpu`` are one)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _freeze() -> dict[str, str]:
    out = _run(_python(), "-m", "pip", "list", "--format=freeze", "--disable-pip-version-check")
    return {_name(n): v for n, v in (ln.split("==") for ln in out.splitlines() if "==" in ln)}


def make_colab_env() -> None:
    """The venv with Colab's versions (kept between runs; rebuilt when the pins change)."""
    stamp = VENV / ".pins"
    if stamp.exists() and stamp.read_text() == PINS.read_text():
        return
    _run(sys.executable, "-m", "venv", "--clear", VENV)
    _run(_python(), "-m", "pip", "install", "-q", "-r", PINS)
    stamp.write_text(PINS.read_text())


def _default_notebooks() -> list[Path]:
    """Every chapter and every lab notes page, in reading order."""
    return sorted([*(ROOT / "chapters").glob("*.ipynb"), *(ROOT / "lab_notes").glob("*.ipynb")],
                  key=lambda p: (p.stem, p.parent.name))


def _execute(nb_file: Path, work: Path, tmp: Path) -> str:
    """Run one notebook in ``work`` (a folder of its own, outside the repository) in smoke,
    offline, with records required: a missing recorded table fails it."""
    nb_path = work / nb_file.name
    nb_path.write_bytes(nb_file.read_bytes())
    code = (
        "import sys, nbformat; from nbclient import NotebookClient\n"
        f"nb = nbformat.read({str(nb_path)!r}, as_version=4)\n"
        f"NotebookClient(nb, timeout=900, kernel_name='python3', resources={{'metadata': "
        f"{{'path': {str(work)!r}}}}}).execute()\n"
        "import helpers, ipywidgets, keras, numpy\n"
        "print('executed with helpers', helpers.__version__, 'from', helpers.__file__,\n"
        "      '| keras', keras.__version__, 'numpy', numpy.__version__,\n"
        "      'ipywidgets', ipywidgets.__version__)\n"
    )
    env = {**os.environ, PROFILE_VAR: "smoke", "HF_OFFLINE": "1", REQUIRE_ENV_VAR: "1"}
    for name in ("HF_DATA_DIR", "PYTHONPATH", "HF_RESULTS_DIR"):
        env.pop(name, None)
    out = _run(_python(), "-c", code, cwd=work, env=env)
    if str(ROOT / "helpers") in out:
        sys.exit(f"{nb_file.name} imported the helpers from the repository, not from the wheel")
    return out.strip().replace(str(tmp), "<tmp>")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="default: every chapter and lab notes page")
    args = parser.parse_args()
    notebooks = args.notebooks or _default_notebooks()
    start = time.perf_counter()
    make_colab_env()
    pins = {_name(ln.split("==")[0]): ln.split("==")[1] for ln in PINS.read_text().splitlines()
            if ln and not ln.startswith("#")}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # a clean slate: the helpers from an earlier run go, Colab's stack stays
        subprocess.run([_python(), "-m", "pip", "uninstall", "-y", "-q", "hidden-factors"],
                       capture_output=True)
        before = _freeze()
        off = {n: (v, before.get(n)) for n, v in pins.items() if before.get(n) != v}
        if off:
            sys.exit(f"the Colab-like environment is not as pinned (wanted, found): {off}")
        _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp / "dist", ROOT)
        wheel = next((tmp / "dist").glob("hidden_factors-*.whl"))
        _run(_python(), "-m", "pip", "install", "-q", wheel)
        after = _freeze()
        changed = {n: (v, after.get(n)) for n, v in before.items() if after.get(n) != v}
        if changed:
            sys.exit(f"installing the helpers changed what Colab preinstalls: {changed}")
        added = sorted(set(after) - set(before))
        print(f"helpers wheel {wheel.name} installed; added {added}; "
              f"nothing preinstalled changed", flush=True)
        for nb_file in notebooks:
            began = time.perf_counter()
            work = tmp / f"learner-{nb_file.parent.name}-{nb_file.stem}"
            work.mkdir()
            lines = _execute(nb_file, work, tmp).splitlines()
            print(f"{nb_file.parent.name}/{nb_file.name}: executed in smoke with records "
                  f"required, {time.perf_counter() - began:.0f} s; {lines[-1] if lines else ''}",
                  flush=True)
    print(f"Colab-like check passed: {len(notebooks)} notebooks in smoke, "
          f"{time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
