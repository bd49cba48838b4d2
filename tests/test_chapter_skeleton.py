"""Chapters share one skeleton: an objectives box, the same headings, a runtime note."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers.papers import paper_chapters

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
PAPER_CHAPTERS = [c.notebook for c in paper_chapters()]  # each declares itself
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


@pytest.mark.parametrize("stem", ALL_CHAPTERS)
def test_each_solution_follows_its_exercise(stem):
    """Exercise N, then a hidden box "Solution to exercise N", then exercise N + 1."""
    cells = [("".join(c["source"])) for c in _cells(stem) if c["cell_type"] == "markdown"]
    start = next(i for i, c in enumerate(cells) if "## Exercises" in c)
    end = next(i for i, c in enumerate(cells) if "## References" in c)
    order = []
    for cell in cells[start:end]:
        order += [("exercise", int(n)) for n in re.findall(r"(?m)^(\d+)\. \*\*", cell)]
        order += [("solution", int(n)) for n in
                  re.findall(r"\{admonition\} Solution to exercise (\d+)", cell)]
    numbers = [n for kind, n in order if kind == "exercise"]
    assert numbers == list(range(1, len(numbers) + 1)), f"exercises numbered {numbers}"
    expected = [(kind, n) for n in numbers for kind in ("exercise", "solution")]
    assert order == expected, f"{stem}: exercises and solutions in the order {order}"
