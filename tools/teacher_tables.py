"""Write the measured-runtime table of the teachers' page from the recorded runs.

    python tools/teacher_tables.py          # rewrites the table in book/teachers.md
    python tools/teacher_tables.py --check  # exit 1 if the page is out of date

The numbers come from files that other tools wrote: ``results/<chapter>/book.json``
and ``smoke.json`` (``tools/execute_notebook.py``: wall time of a whole chapter
run) and ``results/memory/book.json`` (``tools/peak_memory.py``: peak memory).
Record the smoke times with
``HF_PROFILE=smoke python -m tools.execute_notebook --results-only chapters/*.ipynb``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from helpers.chapters import notebook_titles  # noqa: E402
from helpers.files import atomic_write_text  # noqa: E402
from helpers.runs import chapter_runtimes  # noqa: E402

PAGE = ROOT / "book" / "teachers.md"
START, END = "<!-- runtimes: start -->", "<!-- runtimes: end -->"


def titles() -> dict[str, str]:
    """``{"01_xcov": "1 · XCov", ...}``: each chapter notebook's number and short title."""
    return {stem: f"{int(stem.split('_', 1)[0])} · {title}"
            for stem, title in notebook_titles(ROOT / "chapters").items()}


def recorded_runs() -> dict[str, dict]:
    """Per chapter: the recorded book and smoke times, peak memory and hardware."""
    return chapter_runtimes(ROOT / "results")


def runtime_table() -> str:
    """The Markdown table: one row per chapter, from the recorded runs."""
    rows = ["| chapter | book run | smoke run | peak memory |", "|---|---|---|---|"]
    hardware, names = set(), titles()
    for name, r in recorded_runs().items():
        hardware.update(r["hardware"])
        book_s = f"{r['book_s'] / 60:.1f} min" if r["book_s"] is not None else "not recorded"
        smoke_s = f"{r['smoke_s']:.0f} s" if r["smoke_s"] is not None else "not recorded"
        peak_s = f"{r['peak_mb']:,} MB" if r["peak_mb"] else "not recorded"
        rows.append(f"| {names.get(name, name)} | {book_s} | {smoke_s} | {peak_s} |")
    where = ", ".join(sorted(hardware)) or "unknown hardware"
    return "\n".join(rows) + f"\n\nMeasured on one machine: {where}, one run each.\n"


def render(page: str) -> str:
    """``page`` with the text between the two markers replaced by the current table."""
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(page):
        raise ValueError(f"{PAGE} lacks the markers {START} ... {END}.")
    return pattern.sub(lambda _: f"{START}\n{runtime_table()}{END}", page)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the page is current")
    args = parser.parse_args()
    page = PAGE.read_text(encoding="utf-8")
    new = render(page)
    if args.check:
        if new != page:
            print(f"{PAGE} is out of date: run python tools/teacher_tables.py", file=sys.stderr)
            return 1
        return 0
    atomic_write_text(PAGE, new)
    print(f"wrote the runtime table of {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
