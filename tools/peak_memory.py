"""Peak memory of each chapter, as a learner's kernel would use it.

Runs each notebook top to bottom in a fresh kernel (``HF_PROFILE`` as set,
``book`` by default) without saving it, samples the resident memory of the
kernel's whole process tree every 0.2 s, and writes one record per profile to
``results/memory/<profile>.json``. Binder gives 2 GB; the course's target is
at most 1.5 GB in ``book``.

    HF_PROFILE=book python tools/peak_memory.py chapters/*.ipynb
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

from helpers.core.profile import DEFAULT_PROFILE, ENV_VAR
from helpers.files import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]

TARGET_MB = 1536


def _tree_rss(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def measure(path: Path, timeout: int = 1800, trace: bool = False) -> dict:
    """Execute ``path`` in a fresh kernel; return its peak memory and wall time."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    peak, done = [0], threading.Event()
    cell_peak, cells = [0], []  # the peak while each code cell ran

    def cell_started(cell, cell_index):
        cell_peak[0] = 0

    def cell_done(cell, cell_index, execute_reply):
        first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
        cells.append((round(cell_peak[0] / 2**20), cell_index, first[:60]))
        if trace:
            print(f"  cell {cell_index:3d}: peak {cell_peak[0] / 2**20:6.0f} MB  {first[:50]}",
                  flush=True)

    client.on_cell_execute, client.on_cell_executed = cell_started, cell_done

    def sample():
        while not done.is_set():
            km = client.km
            pid = getattr(getattr(km, "provisioner", None), "pid", None) if km else None
            if pid:
                rss = _tree_rss(pid)
                peak[0], cell_peak[0] = max(peak[0], rss), max(cell_peak[0], rss)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        done.set()
        sampler.join()
    top = sorted(cells, reverse=True)[:3]
    return {"peak_mb": round(peak[0] / 2**20), "seconds": round(time.perf_counter() - start, 1),
            "top_cells": [{"peak_mb": mb, "cell": i, "starts": src} for mb, i, src in top]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--trace", action="store_true", help="print each code cell's peak")
    args = parser.parse_args()
    profile = os.environ.setdefault(ENV_VAR, DEFAULT_PROFILE)
    out = ROOT / "results" / "memory" / f"{profile}.json"
    record = json.loads(out.read_text()) if out.exists() else {"chapters": {}}
    for path in args.notebooks:
        result = measure(path.resolve(), trace=args.trace)
        record["chapters"][path.stem] = result
        record.update(profile=profile, target_mb=TARGET_MB,
                      hardware=f"{platform.machine()}, {os.cpu_count()} CPU cores, "
                               f"{psutil.virtual_memory().total / 2**30:.0f} GiB",
                      python=platform.python_version(),
                      date=datetime.date.today().isoformat())
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, json.dumps(record, indent=1, sort_keys=True) + "\n")  # resumable
        flag = "" if result["peak_mb"] <= TARGET_MB else f"  (over {TARGET_MB} MB)"
        print(f"{path.stem}: peak {result['peak_mb']} MB in {result['seconds']:.0f} s{flag}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
