"""Chapters share one skeleton: an objectives box, the same headings, a runtime note."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKELETON = [
    "The problem and the paper's claim",
    "The model, piece by piece",
    "Data and training",
    "The paper's figures",
    "Ablation",
    "Results against the paper",
    "Play with it",
    "What to notice",
    "Exercises",
    "References",
]
PAPER_CHAPTERS = ["01_xcov", "02_ksparse_cvae", "03_jade", "04_two_step"]
ALL_CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))


def _cells(stem: str) -> list[dict]:
    return json.loads((ROOT / "chapters" / f"{stem}.ipynb").read_text())["cells"]


def _markdown(stem: str) -> str:
    return "\n".join("".join(c["source"]) for c in _cells(stem) if c["cell_type"] == "markdown")


def _headings(stem: str, level: int = 2) -> list[str]:
    text = re.sub(r"(?ms)^(`{3,}).*?^\1", "", _markdown(stem))  # skip fenced blocks
    return re.findall(rf"(?m)^{'#' * level} (.+?)\s*$", text)


@pytest.mark.parametrize("stem", PAPER_CHAPTERS)
def test_paper_chapters_share_the_headings(stem):
    assert _headings(stem) == SKELETON


@pytest.mark.parametrize("stem", ALL_CHAPTERS)
def test_objectives_box_and_runtime_note(stem):
    md = _markdown(stem)
    first_h2 = md.find("\n## ")
    box = md[:first_h2]
    assert "{admonition} In this chapter" in box, "objectives box before the first section"
    assert "You will learn" in box and "You should know" in box
    code = [("".join(c["source"])) for c in _cells(stem) if c["cell_type"] == "code"]
    assert "runtime_note()" in code[-1], "the last code cell prints the runtime note"


@pytest.mark.parametrize("stem", PAPER_CHAPTERS)
def test_an_implement_it_exercise_with_hidden_solutions(stem):
    md = _markdown(stem)
    exercises = md[md.index("## Exercises"):md.index("## References")]
    assert "**Implement it" in exercises
    assert exercises.count(":class: dropdown") >= 1
