"""Numbers in the prose are the run's, and read the same in Jupyter, Colab and the book."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
from conftest import load_script
from nbconvert import MarkdownExporter

from helpers import cited_numbers

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
student = load_script(ROOT / "tools" / "student_version.py")


def _notebook(prose: str, **glued: float) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("report(...)")
    code.outputs = [nbformat.v4.new_output(
        "display_data", data={"application/papermill.record/text/plain": repr(value)},
        metadata={"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}})
        for name, value in glued.items()]
    nb.cells = [code, nbformat.v4.new_markdown_cell(prose)]
    return nb


def test_a_glue_role_becomes_a_citation_with_the_runs_value():
    nb = _notebook("accuracy {glue:text}`acc:.1%` and gap {glue:text}`gap:.2f`.",
                   acc=0.98265, gap=-0.5)
    assert cited_numbers.fill(nb) == 2
    assert nb.cells[1].source == ("accuracy <!--#acc:.1%-->98.3%<!--/--> and gap "
                                  "<!--#gap:.2f-->−0.50<!--/-->.")
    assert cited_numbers.problems(nb) == []


def test_a_new_run_rewrites_the_number_and_a_hand_edit_is_caught():
    nb = _notebook("accuracy <!--#acc:.1%-->98.3%<!--/-->.", acc=0.5)
    assert len(cited_numbers.problems(nb)) == 1  # the run changed it
    assert cited_numbers.fill(nb) == 1
    assert "<!--#acc:.1%-->50.0%<!--/-->" in nb.cells[1].source
    nb.cells[1].source = nb.cells[1].source.replace("50.0%", "55.0%")  # typed by hand
    found = cited_numbers.problems(nb)
    assert len(found) == 1 and "'55.0%'" in found[0] and "'50.0%'" in found[0]


def test_a_citation_of_a_value_nobody_glued_is_refused_and_nothing_changes():
    nb = _notebook("a {glue:text}`acc:.1%` and <!--#missing:.1%-->1%<!--/-->", acc=0.5)
    before = copy.deepcopy(nb)
    with pytest.raises(cited_numbers.UncitedValue, match="'missing'"):
        cited_numbers.fill(nb)
    assert nb == before
    assert any("'missing'" in p for p in cited_numbers.problems(nb))


def test_a_glue_role_left_in_the_prose_is_a_problem():
    nb = _notebook("accuracy {glue:text}`acc:.1%`", acc=0.5)
    assert "raw markup" in cited_numbers.problems(nb)[0]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_a_number_edited_by_hand_in_a_chapter_fails_its_check(path):
    nb = nbformat.read(path, as_version=4)
    if not cited_numbers.citations(nb):
        pytest.skip("this chapter cites no measured number")
    for cell in nb.cells:
        match = cited_numbers.CITATION.search(cell.source) if cell.cell_type == "markdown" else None
        if match:
            text = match["text"]
            edited = text[:-1] + ("1" if text[-1] != "1" else "2") if text[-1].isdigit() \
                else text[:-2] + ("1" if text[-2] != "1" else "2") + text[-1]
            cell.source = cell.source.replace(match[0], match[0].replace(
                f"-->{text}<!--", f"-->{edited}<!--"), 1)
            break
    assert cited_numbers.problems(nb), "a hand-edited number went unnoticed"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_jupyter_shows_no_raw_markup_in_a_chapter_or_its_student_version(path):
    """nbconvert's markdown is what Jupyter and Colab show: no glue role may be left."""
    exporter = MarkdownExporter()
    for nb in (nbformat.read(path, as_version=4), student.student_notebook(path)[0]):
        markdown, _ = exporter.from_notebook_node(nb)
        assert "{glue" not in markdown, f"{path.name}: a glue role shows as raw markup"
