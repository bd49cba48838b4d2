"""Execute chapter notebooks top to bottom in a fresh kernel and save them in place.

Used to produce the committed outputs (``book`` profile by default)::

    python tools/execute_notebook.py chapters/00_warmup.ipynb [more.ipynb ...]

The profile, the hardware and the wall time are stored in the notebook's
metadata (``hidden_factors``); ``tests/test_committed_notebooks.py`` checks them.
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


def execute(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            store_widget_state=True)
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata["hidden_factors"] = {
        "profile": os.environ.get("HF_PROFILE", "book"),
        "wall_time_s": round(seconds, 1),
        "hardware": f"{platform.machine()}, {os.cpu_count()} CPU cores",
    }
    nbformat.write(nb, path)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    os.environ.setdefault("HF_PROFILE", "book")
    for path in args.notebooks:
        seconds = execute(path, args.timeout)
        print(f"{path}: executed with HF_PROFILE={os.environ['HF_PROFILE']} in {seconds:.0f} s",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
