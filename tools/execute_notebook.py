"""Execute chapter notebooks top to bottom in a fresh kernel and save them in place.

Used to produce the committed outputs (``book`` profile by default)::

    python -m tools.execute_notebook chapters/00_warmup.ipynb [more.ipynb ...]

The profile, the hardware and the wall time are stored in the notebook's
metadata (``hidden_factors``); ``tests/test_committed_notebooks.py`` checks them.
Every number a chapter reports is also written to
``results/<chapter>/<profile>.json`` (``HF_RESULTS_DIR`` when set; with the hardware,
the time and where its data came from), where
chapters and the README read recorded runs from.  A paper-scale run that
should only record its results, leaving the committed notebook alone::

    HF_PROFILE=full python -m tools.execute_notebook --results-only chapters/01_xcov.ipynb

Every number its prose cites (``<!--#name:.1%-->98.3%<!--/-->``) is rewritten from
this run's outputs before saving (:mod:`helpers.cited_numbers`).

Every model the run trains leaves its weights (``helpers.pretrained``): they are packed
into ``_build/weights/<chapter>-<profile>-weights.zip`` (``HF_WEIGHTS_DIR`` when set; never
committed; a release
attaches it) and described, with their SHA-256, in ``results/<chapter>/weights-<profile>.json``
— what a chapter's ``PRETRAINED`` switch loads instead of training. A chapter whose
declaration names a ``live_model`` also gets its in-browser model re-exported
(``python -m tools.browser_models``).

The notebook is saved atomically (a full disk or a kill leaves the committed one as it
was). A run on fallback data (the offline MNIST subset) does not replace a record
measured on real data unless ``--replace-real`` is given: the run fails with a message
and nothing is saved.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import helpers
from helpers import cited_numbers, pretrained
from helpers.core.profile import DEFAULT_PROFILE, ENV_VAR
from helpers.files import atomic_write_text
from tools.first_cell import repository_url

ROOT = Path(__file__).resolve().parent.parent


def _export_live_model(chapter: str, assets: Path) -> None:
    """Re-export the chapter's in-browser model from the run's weights; a failure is
    said, and never costs the recorded run."""
    from tools import browser_models

    if chapter not in browser_models.live_models():
        return
    try:
        browser_models.export(chapter, weights_dir=assets)
    except Exception as err:  # noqa: BLE001 - the run is worth more than its export
        print(f"⚠ {chapter}: the book run is recorded, but its in-browser model was not "
              f"exported ({type(err).__name__}: {err}). Fix that, then run: python -m "
              f"tools.browser_models {chapter}", file=sys.stderr)


def execute(path: Path, timeout: int, save: bool = True, replace_real: bool = False) -> float:
    """Run ``path`` top to bottom in a fresh kernel; save it in place when ``save``."""
    nb = nbformat.read(path, as_version=4)
    os.environ.setdefault("HF_RESULTS_DIR", str(ROOT / "results"))
    os.environ["HF_NOTEBOOK"] = path.stem
    os.environ["HF_REPLACE_REAL"] = "1" if replace_real else "0"
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            # The book shows each explorer's kernel-free twin; saved widget
                            # state would only add dead controls and hundreds of kB.
                            store_widget_state=False)
    weights = Path(tempfile.mkdtemp(prefix="hf-weights-"))
    os.environ[pretrained.WEIGHTS_OUT_ENV_VAR] = str(weights)  # every train() call saves
    os.environ.pop(pretrained.PRETRAINED_ENV_VAR, None)  # a recorded run trains
    profile = os.environ.get(ENV_VAR, DEFAULT_PROFILE)
    try:
        client.execute()
        seconds = time.perf_counter() - start  # the notebook's run, not what follows
        assets = Path(os.environ.get(pretrained.WEIGHTS_DIR_ENV_VAR) or ROOT / pretrained.BUILD_DIR)
        packed = pretrained.pack(weights, path.stem, profile,
                                 Path(os.environ["HF_RESULTS_DIR"]), assets,
                                 release_download_url())
        if packed and profile == "book" and save:  # the page's in-browser model, if any
            _export_live_model(path.stem, assets)
    finally:
        os.environ.pop(pretrained.WEIGHTS_OUT_ENV_VAR, None)
        shutil.rmtree(weights, ignore_errors=True)
    nb.metadata.pop("widgets", None)  # state saved by an older run
    nb.metadata["hidden_factors"] = {
        "profile": profile,
        "wall_time_s": round(seconds, 1),
        "hardware": f"{platform.machine()}, {os.cpu_count()} CPU cores",
    }
    if save:
        cited_numbers.fill(nb)  # the prose's numbers, from this run's outputs
        atomic_write_text(path, nbformat.writes(nb) + "\n")
    return seconds


def release_download_url(version: str | None = None) -> str:
    """Where the release of ``version`` (default: this one) serves its assets, ending in ``/``."""
    return f"{repository_url()}/releases/download/v{version or helpers.__version__}/"


def _refusal(err: Exception) -> str:
    """The refusal's own message from a failed cell's traceback."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # the traceback's colours
    lines = [line for line in plain.splitlines() if "RecordRefused:" in line]
    return lines[-1].split("RecordRefused:", 1)[1].strip() if lines else str(err)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--results-only", action="store_true",
                        help="write results/<chapter>/<profile>.json but not the notebook")
    parser.add_argument("--replace-real", action="store_true",
                        help="let a run on fallback data replace a record measured on real data")
    args = parser.parse_args()
    os.environ.setdefault(ENV_VAR, DEFAULT_PROFILE)
    for path in args.notebooks:
        try:
            seconds = execute(path, args.timeout, save=not args.results_only,
                              replace_real=args.replace_real)
        except cited_numbers.UncitedValue as err:
            print(f"{path}: the prose cites a number this run did not measure; the notebook "
                  f"on disk is unchanged.\n{err.args[0]}", file=sys.stderr, flush=True)
            return 1
        except CellExecutionError as err:
            refused = "RecordRefused" in str(err)
            print(f"{path}: {'record refused' if refused else 'a cell failed'}; the notebook "
                  f"on disk is unchanged.\n{err if not refused else _refusal(err)}",
                  file=sys.stderr, flush=True)
            return 1
        print(f"{path}: executed with {ENV_VAR}={os.environ[ENV_VAR]} in {seconds:.0f} s",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
