"""The teachers' page quotes no measured number by hand.

Its measured numbers live in the chapters (glued from the runs) and in the runtime table that
``tools/teacher_tables.py`` writes between the ``runtimes`` markers; everywhere else the page
points to the chapter's table or figure. A hand-copied number goes stale at the next
re-execution, so this test fails on any percentage, duration, spread, decimal or ratio outside
the generated block, except the few published figures listed below.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "book" / "teachers.md"
START, END = "<!-- runtimes: start -->", "<!-- runtimes: end -->"

# Figures published in the papers, which no run of ours changes.
PUBLISHED = {
    "98.35%",  # Cheung et al. (XCov): MNIST test accuracy of the observed units
}
# Numbers that are not measurements at all.
NOT_MEASURED = {
    "Ubuntu 24.04",  # an operating system's release
}

MEASURED = re.compile(
    r"\d+(?:\.\d+)?\s?%"  # a percentage: 32.5%
    r"|\d+(?:\.\d+)?(?:\s?min\b|\s(?:s|sec|h)\b)"  # a duration: 4.0 min, 25 s
    r"|±"  # a spread
    r"|\d+(?:\.\d+)?-fold"  # a ratio: 1.16-fold
    r"|\b\d+\.\d+\b"  # any other decimal: 1.46, 2.2 GB, [+7.0, +9.6]
)


def hand_written(page: str) -> str:
    """``page`` without the generated runtimes block."""
    start, end = page.index(START), page.index(END)
    assert start < end
    return page[:start] + page[end + len(END):]


def measured_numbers(text: str) -> list[str]:
    """Every measured-looking number in ``text``, with its line, allowlisted figures left out."""
    for literal in PUBLISHED | NOT_MEASURED:
        text = text.replace(literal, "")
    return [f"line {text.count(chr(10), 0, m.start()) + 1}: {m.group(0)!r}"
            for m in MEASURED.finditer(text)]


def test_the_detector_finds_measured_numbers():
    found = measured_numbers("reads 32.5% (± 1.3), `book` 0.8 min, `smoke` 25 s, 1.16-fold, z_effect 1.46")
    assert len(found) == 7, found
    assert measured_numbers("the paper's 98.35%; five groups of 7 minutes; the two 1s; 1,000 images") == []


def test_the_teachers_page_copies_no_measured_number():
    found = measured_numbers(hand_written(PAGE.read_text(encoding="utf-8")))
    assert not found, (f"{len(found)} hand-copied measured numbers on book/teachers.md (line numbers "
                       "without the runtimes block); point to the chapter's table instead: "
                       + ", ".join(found))
