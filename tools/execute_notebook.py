"""Execute chapter notebooks top to bottom in a fresh kernel and save them in place.

Used to produce the committed outputs (``book`` profile by default)::

    python tools/execute_notebook.py chapters/00_warmup.ipynb [more.ipynb ...]

The profile, the hardware and the wall time are stored in the notebook's
metadata (``hidden_factors``); ``tests/test_committed_notebooks.py`` checks them.
Every number a chapter reports is also written to
``results/<chapter>/<profile>.json`` (with the hardware and the time), where
chapters and the README read recorded runs from.  A paper-scale run that
should only record its results, leaving the committed notebook alone::

    HF_PROFILE=full python tools/execute_notebook.py --results-only chapters/01_xcov.ipynb
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path, timeout: int, save: bool = True) -> float:
    nb = nbformat.read(path, as_version=4)
    os.environ["HF_RESULTS_DIR"] = str(ROOT / "results")
    os.environ["HF_NOTEBOOK"] = path.stem
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            # The book shows each explorer's kernel-free twin; saved widget
                            # state would only add dead controls and hundreds of kB.
                            store_widget_state=False)
    client.execute()
    nb.metadata.pop("widgets", None)  # state saved by an older run
    seconds = time.perf_counter() - start
    nb.metadata["hidden_factors"] = {
        "profile": os.environ.get("HF_PROFILE", "book"),
        "wall_time_s": round(seconds, 1),
        "hardware": f"{platform.machine()}, {os.cpu_count()} CPU cores",
    }
    if save:
        nbformat.write(nb, path)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--results-only", action="store_true",
                        help="write results/<chapter>/<profile>.json but not the notebook")
    args = parser.parse_args()
    os.environ.setdefault("HF_PROFILE", "book")
    for path in args.notebooks:
        seconds = execute(path, args.timeout, save=not args.results_only)
        print(f"{path}: executed with HF_PROFILE={os.environ['HF_PROFILE']} in {seconds:.0f} s",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
