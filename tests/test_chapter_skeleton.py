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


# --- one lesson per chapter; the evidence behind it lives in its lab notes ---------------

MAX_PROSE_WORDS = 3500
LAB_NOTES = ROOT / "lab_notes"


def prose_words(markdown: str) -> int:
    """Words of prose: code blocks, maths, inline code, comments, HTML tags and directive
    options left out (what a reader reads as sentences)."""
    text = re.sub(r"(?ms)^(`{3,})(?:python|py|text|bash|console|math|\{math\}|"
                  r"\{code-cell\}[^\n]*)\s*\n.*?^\1", "", markdown)
    text = re.sub(r"(?s)\$\$.*?\$\$", "", text)
    text = re.sub(r"\$[^$\n]+\$", "", text)
    text = re.sub(r"(?s)<!--.*?-->", "", text)
    text = re.sub(r"(?s)<[^>]+>", "", text)  # HTML tags (a diagram's <img>, its alt and data)
    text = re.sub(r"`[^`\n]+`", "", text)
    text = re.sub(r"(?m)^:\w[\w-]*:.*$", "", text)
    return len(re.findall(r"[A-Za-z0-9][\w'’.,%-]*", text))


def test_prose_words_leaves_out_maths_code_and_markers():
    md = ("Two words $x + y$ and `code here`\n```python\nprint(1)\n```\n"
          "<!--#acc:.1%-->98.3%<!--/-->\n$$a = b$$\n```{admonition} Verdict\n:class: tip\n```")
    assert prose_words(md) == 6  # Two, words, and, 98.3%, admonition, Verdict


def _sections(stem: str, folder: Path = ROOT / "chapters") -> dict[str, list[dict]]:
    """The cells under each ``## `` heading (the heading's own cell included)."""
    cells = json.loads((folder / f"{stem}.ipynb").read_text())["cells"]
    out: dict[str, list[dict]] = {"": []}
    current = ""
    for cell in cells:
        if cell["cell_type"] == "markdown":
            found = re.findall(r"(?m)^## (.+?)\s*$", "".join(cell["source"]))
            if found:
                current = found[-1]
                out.setdefault(current, [])
        out[current].append(cell)
    return out


def _table_outputs(cells: list[dict]) -> list[str]:
    """The Markdown tables code cells printed (results tables are Markdown outputs)."""
    tables = []
    for cell in cells:
        for out in cell.get("outputs", []):
            text = "".join(out.get("data", {}).get("text/markdown", ""))
            if re.search(r"(?m)^\|[-| ]+\|\s*$", text):
                tables.append(text)
    return tables


@pytest.mark.parametrize("stem", PAPER_CHAPTERS)
def test_paper_chapter_prose_fits_one_lesson(stem):
    words = prose_words(_markdown(stem))
    assert words <= MAX_PROSE_WORDS, (
        f"{stem}: {words} words of prose (at most {MAX_PROSE_WORDS}); move the evidence "
        f"behind the lesson to lab_notes/{stem}.ipynb")


@pytest.mark.parametrize("stem", PAPER_CHAPTERS)
def test_one_results_table_under_a_verdict_box_that_links_the_lab_notes(stem):
    cells = _sections(stem)["Results against the paper"]
    md = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    box = re.search(r"(?ms)^(`{3,})\{admonition\} Verdict.*?^\1", md)
    assert box, f"{stem}: no ```{{admonition}} Verdict box in 'Results against the paper'"
    bullets = re.findall(r"(?m)^[-*] ", box[0])
    assert 1 <= len(bullets) <= 3, f"{stem}: the verdict has {len(bullets)} bullets (1 to 3)"
    assert f"lab_notes/{stem}.ipynb" in box[0], f"{stem}: the verdict box links no lab notes"
    tables = _table_outputs(cells)
    assert len(tables) == 1, f"{stem}: {len(tables)} results tables in the section (one)"


@pytest.mark.parametrize("stem", ALL_CHAPTERS)
def test_chapter_tables_speak_plain_words(stem):
    """Column headers are the notation page's names, not code names (no ``z_mlp``)."""
    for table in _table_outputs(_cells(stem)):
        header = next(line for line in table.splitlines() if line.startswith("|"))
        assert "_" not in header, f"{stem}: a table header reads like code: {header}"
        assert not re.search(r"\d\.\d{4,}", table), f"{stem}: a table cell has 4+ decimals"
        assert "± 0.0%" not in table and not re.search(r"\de[-+]\d", table), stem


@pytest.mark.parametrize("stem", PAPER_CHAPTERS)
def test_lab_notes_follow_their_chapter(stem):
    path = LAB_NOTES / f"{stem}.ipynb"
    assert path.exists(), f"{stem}: no lab notes page lab_notes/{stem}.ipynb"
    toc = (ROOT / "_toc.yml").read_text()
    entry = re.search(rf"(?m)^(\s*)- file: chapters/{stem}\s*\n\1  sections:\s*\n"
                      rf"\s*- file: lab_notes/{stem}\s*$", toc)
    assert entry, f"_toc.yml: lab_notes/{stem} is not the section right under chapters/{stem}"
    title = json.loads(path.read_text())["cells"]
    heading = next("".join(c["source"]) for c in title if c["cell_type"] == "markdown")
    assert heading.startswith("# Lab notes"), f"{stem}: lab notes start '# Lab notes: ...'"
