"""Write the measured-runtime table of the teachers' page from the recorded runs.

    python tools/teacher_tables.py          # rewrites the table in book/teachers.md
    python tools/teacher_tables.py --check  # exit 1 if the page is out of date

The numbers come from files that other tools wrote: ``results/<chapter>/book.json``
and ``smoke.json`` (``tools/execute_notebook.py``: wall time of a whole chapter
run) and ``results/memory/book.json`` (``tools/peak_memory.py``: peak memory).
Record the smoke times with
``HF_PROFILE=smoke python tools/execute_notebook.py --results-only chapters/*.ipynb``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "book" / "teachers.md"
START, END = "<!-- runtimes: start -->", "<!-- runtimes: end -->"
TITLES = {"00_warmup": "0 · Warm-up", "01_xcov": "1 · XCov", "02_ksparse_cvae": "2 · K-sparse CVAE",
          "03_jade": "3 · JADE", "04_two_step": "4 · Two-step", "05_comparison": "5 · Side by side"}

def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}


def runtime_table() -> str:
    """The Markdown table: one row per chapter, from the recorded runs."""
    memory = _load(ROOT / "results" / "memory" / "book.json").get("chapters", {})
    rows = ["| chapter | book run | smoke run | peak memory |", "|---|---|---|---|"]
    hardware = set()
    for folder in sorted(p for p in (ROOT / "results").iterdir()
                         if p.is_dir() and p.name[:2].isdigit()):
        book, smoke = _load(folder / "book.json"), _load(folder / "smoke.json")
        hardware |= {r["hardware"] for r in (book, smoke) if "hardware" in r}
        book_s = f"{book['seconds'] / 60:.1f} min" if "seconds" in book else "not recorded"
        smoke_s = f"{smoke['seconds']:.0f} s" if "seconds" in smoke else "not recorded"
        peak = memory.get(folder.name, {}).get("peak_mb")
        peak_s = f"{peak:,} MB" if peak else "not recorded"
        rows.append(f"| {TITLES.get(folder.name, folder.name)} | {book_s} | {smoke_s} | {peak_s} |")
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
    PAGE.write_text(new, encoding="utf-8")
    print(f"wrote the runtime table of {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
