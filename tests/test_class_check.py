"""The teacher's tools: the class check's statuses, and the runtime table of the teachers' page."""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat
import pytest
from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent




class_check = load_script(ROOT / "tools" / "class_check.py")
teacher_tables = load_script(ROOT / "tools" / "teacher_tables.py")

CORRECT = '''\
from helpers.checks import check_exercise
from helpers.papers.xcov import xcov_penalty
check_exercise("xcov_penalty", xcov_penalty);'''

WRONG = '''\
from helpers.checks import check_exercise
from helpers.papers.xcov import xcov_penalty
check_exercise("xcov_penalty", lambda y, z: 2 * xcov_penalty(y, z));'''


def _notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    _notebook(folder / "ada.ipynb", CORRECT, "print('the rest of the chapter')")
    _notebook(folder / "ben.ipynb", WRONG)
    _notebook(folder / "cy.ipynb", "1 / 0", CORRECT)  # an error, then the check still runs
    _notebook(folder / "dee.ipynb", "while True:\n    pass", CORRECT)
    (folder / "eve.ipynb").write_text('{"cells": [', encoding="utf-8")
    (folder / "notes.txt").write_text("not a notebook", encoding="utf-8")
    results = class_check.check_class(folder, out=folder / "table", limit_s=20)
    return folder, {r.student: r for r in results}


def test_every_submission_gets_its_status(graded):
    _, rows = graded
    assert sorted(rows) == ["ada", "ben", "cy", "dee", "eve"]
    got = {name: (r.status, r.exercises) for name, r in rows.items()}
    assert got == {
        "ada": ("ran", {"xcov_penalty": "pass"}),
        "ben": ("ran", {"xcov_penalty": "fail"}),
        "cy": ("error", {"xcov_penalty": "pass"}),
        "dee": ("timeout", {"xcov_penalty": "no result"}),
        "eve": ("malformed", {}),
    }
    assert rows["cy"].detail == "code cell 1: ZeroDivisionError: division by zero"
    assert rows["dee"].seconds < 20 + class_check.GRACE_S


def test_the_table_is_written_as_csv_and_html(graded):
    folder, _ = graded
    with open(folder / "table" / "class_check.csv", newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0] == ["student", "status", "seconds", "xcov_penalty", "detail"]
    assert [row[:2] + row[3:4] for row in table[1:]] == [
        ["ada", "ran", "pass"], ["ben", "ran", "fail"], ["cy", "error", "pass"],
        ["dee", "timeout", "no result"], ["eve", "malformed", "—"]]
    html = (folder / "table" / "class_check.html").read_text(encoding="utf-8")
    assert html.count("<tr>") == 6 and "ZeroDivisionError" in html
    assert not (folder / "ada.ipynb.bak").exists()
    assert nbformat.read(folder / "ada.ipynb", as_version=4).cells[0].outputs == []  # untouched


def test_a_folder_without_notebooks_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no .ipynb files"):
        class_check.check_class(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        class_check.check_class(tmp_path / "missing")


def test_expected_exercises_are_read_from_the_check_cells():
    nb = {"cells": [{"cell_type": "code", "source": ["x = 1\n", CORRECT]},
                    {"cell_type": "markdown", "source": 'check_exercise("not_code", f)'},
                    {"cell_type": "code", "source": "check_exercise('ksparse_gate', KSparse)"}]}
    assert class_check.expected_exercises(nb) == ["xcov_penalty", "ksparse_gate"]


def test_every_chapter_with_a_check_names_a_known_exercise():
    from helpers.checks import EXERCISES

    found = {}
    for path in sorted((ROOT / "chapters").glob("0[1-4]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        found[path.stem] = class_check.expected_exercises(nb)
    assert all(len(v) == 1 and v[0] in EXERCISES for v in found.values()), found
    assert sorted(v[0] for v in found.values()) == sorted(EXERCISES)


def test_the_teachers_page_shows_the_recorded_runtimes():
    page = teacher_tables.PAGE.read_text(encoding="utf-8")
    assert teacher_tables.render(page) == page, "run python tools/teacher_tables.py"
    assert "| 3 · JADE |" in page and "not recorded" not in page


def test_the_committed_chapters_pass_their_own_checks():
    """The teacher's version: every check cell's saved output is a full pass."""
    for path in sorted((ROOT / "chapters").glob("0[1-4]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = [c for c in nb.cells if c.cell_type == "code" and "check_exercise(" in c.source]
        assert len(cells) == 1, path.name
        text = "".join(o.get("text", "") for o in cells[0].outputs)
        assert "— ✓ all checks pass" in text and "✗" not in text, (path.name, text)
        assert "exercise-check" in cells[0].metadata.get("tags", []), path.name
