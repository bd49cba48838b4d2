"""Paper-scale and sweep runs of the chapters' experiments, one result file per run.

    python experiments/paper_scale.py --list
    python experiments/paper_scale.py two_step sweep-base sweep-wide --seeds 0
    python experiments/paper_scale.py ksparse_cvae paper --seeds 0 1 2
    python experiments/paper_scale.py --recorded

The chapters declare what can run here, in their own notebooks: each paper chapter's
``CHAPTER`` (``helpers.chapters.ChapterSpec``) names its settings and the ``run_setting(params,
seed)`` that trains and measures one of them exactly as its page does; this script
lists no chapter itself. Each run writes
``results/<chapter>/paper_scale/<setting>/seed<k>.json``: every number, the setting's
parameters, the seed, the data source, the hardware, the wall time, the date and the
commit. A run whose file exists is skipped, so an interrupted queue resumes where it
stopped; files are written atomically. With ``--lock FILE`` every run holds that
file's lock (``flock``) while it trains, so that nothing else trains at the same
time on a small machine. Chapters read the files with
``helpers.notebook.paper_scale_runs``. Never edit the files by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from helpers import runs  # noqa: E402
from helpers.files import atomic_write  # noqa: E402
from helpers.notebook import hardware_summary  # noqa: E402
from helpers.runs import figure_path, write_record  # noqa: E402
from helpers.viz.plots import SHARP_DPI  # noqa: E402


def _discover() -> tuple[dict[str, str], dict[str, Callable[[dict, int], dict]],
                         dict[str, dict[str, dict]]]:
    """Each chapter's notebook, ``run_setting`` and settings, from its own declaration
    (``helpers.papers.chapters``): ``{module: ...}`` for the chapters with recorded settings."""
    from helpers.papers import chapters

    found = [c for c in chapters() if c.spec.settings]
    return ({c.module: c.notebook for c in found},
            {c.module: c.spec.run_setting for c in found},
            {c.module: dict(c.spec.settings) for c in found})


CHAPTER_DIRS, RUNNERS, SETTINGS = _discover()

# --------------------------------------------------------------------------------------
# Running, recording, resuming
# --------------------------------------------------------------------------------------


def _commit() -> str:
    try:
        # "-dirty" when the run's code differs from the commit (uncommitted changes)
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=7"],
                             cwd=ROOT, capture_output=True, text=True, timeout=10,
                             check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def result_path(chapter: str, setting: str, seed: int, root: Path | None = None) -> Path:
    """Where the run of ``chapter``/``setting``/``seed`` is recorded."""
    base = root if root is not None else ROOT / "results"
    return runs.setting_record_path(CHAPTER_DIRS[chapter], setting, seed, base)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    return value


@contextlib.contextmanager
def _locked(lock: Path | None):
    if lock is None:
        yield
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_one(chapter: str, setting: str, seed: int, root: Path | None = None,
            lock: Path | None = None, commit: str | None = None) -> Path | None:
    """Run one setting with one seed unless its file exists; return the file's path.

    ``commit``: the code's commit when this process started (its modules were imported
    then); by default, the commit now, before the run (a commit made while it runs
    does not describe its code)."""
    path = result_path(chapter, setting, seed, root)
    if path.exists():
        print(f"{chapter}/{setting}/seed{seed}: recorded already, skipped", flush=True)
        return None
    commit = commit if commit is not None else _commit()
    params = SETTINGS[chapter][setting]
    with _locked(lock):
        print(f"{chapter}/{setting}/seed{seed}: {params['about']}", flush=True)
        start = time.perf_counter()
        values = RUNNERS[chapter]({k: v for k, v in params.items() if k != "about"}, seed)
        seconds = time.perf_counter() - start
    # a runner may return figures: saved next to the record, before it (atomically)
    figures = values.pop("_figures", {})
    if figures:
        import matplotlib.pyplot as plt

        path.parent.mkdir(parents=True, exist_ok=True)
    for name, fig in figures.items():
        with atomic_write(figure_path(path, name), "wb") as handle:
            fig.savefig(handle, format="png", dpi=SHARP_DPI, bbox_inches="tight")
        plt.close(fig)
    record = {"chapter": CHAPTER_DIRS[chapter], "setting": setting, "seed": seed,
              "params": params, "values": values, "seconds": round(seconds, 1),
              "hardware": hardware_summary(), "date": date.today().isoformat(),
              "commit": commit, "data": runs.data_used(),
              "mnist": "offline fallback subset" if values.get("mnist_fallback")
              else "real MNIST"}
    # atomic; on a full disk the values are printed and kept (write_record says where)
    write_record(path, _jsonable(record))
    print(f"{chapter}/{setting}/seed{seed}: {seconds / 60:.1f} min -> "
          f"{path.relative_to(ROOT) if root is None else path}", flush=True)
    return path


def recorded_table(root: Path | None = None) -> str:
    """Every recorded run as a Markdown table: what ran, the command that runs it
    again, its wall time, date and commit (the closing notes' list of long runs)."""
    base = root if root is not None else ROOT / "results"
    chapters = {v: k for k, v in CHAPTER_DIRS.items()}
    records = list(runs.all_setting_runs(base))
    if not records:
        return "*(no recorded runs)*"
    lines = ["| chapter | setting | seed | minutes | date | commit | command |",
             "|---|---|---|---|---|---|---|"]
    for r in sorted(records, key=lambda r: (r["chapter"], r["setting"], r["seed"])):
        name = chapters.get(r["chapter"], r["chapter"])
        lines.append(f"| {name} | {r['setting']} | {r['seed']} | {r['seconds'] / 60:.1f} "
                     f"| {r['date']} | {r['commit']} | `experiments/paper_scale.py {name} "
                     f"{r['setting']} --seeds {r['seed']}` |")
    hours = sum(r["seconds"] for r in records) / 3600
    return "\n".join(lines) + f"\n\n{len(records)} runs, {hours:.1f} hours in all."


def _check_names(chapter: str, settings: list[str]) -> None:
    if chapter not in SETTINGS:
        raise SystemExit(f"unknown chapter {chapter!r}; choose from {sorted(SETTINGS)}")
    unknown = [s for s in settings if s not in SETTINGS[chapter]]
    if unknown:
        raise SystemExit(f"unknown setting(s) {unknown} for {chapter}; choose from "
                         f"{sorted(SETTINGS[chapter])} (see --list)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter", nargs="?", help=f"one of {sorted(SETTINGS)}")
    parser.add_argument("settings", nargs="*", help="setting names (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--list", action="store_true", help="list the settings")
    parser.add_argument("--lock", type=Path, help="hold this file's lock while training")
    parser.add_argument("--recorded", action="store_true",
                        help="print every recorded run (a Markdown table) and stop")
    args = parser.parse_args(argv)
    if args.recorded:
        print(recorded_table())
        return 0
    if args.list or not args.chapter:
        for chapter, settings in SETTINGS.items():
            for name, params in settings.items():
                print(f"{chapter:13s} {name:22s} {params['about']}")
        return 0
    settings = args.settings or list(SETTINGS.get(args.chapter, {}))
    _check_names(args.chapter, settings)
    started_at = _commit()  # the code every run of this process uses
    for seed in args.seeds:
        for setting in settings:
            try:
                run_one(args.chapter, setting, seed, lock=args.lock, commit=started_at)
            except OSError as err:  # the record was printed and kept: stop the queue
                print(f"Stopped: {err}", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
