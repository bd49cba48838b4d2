"""The teacher's tools: the class check's statuses and table, and the teachers' page's runtimes.

The class check runs every submission through the real sandbox (bubblewrap); the attacks
on it are in ``test_class_check_adversarial.py``.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from class_check_support import (
    CHECK,
    LIMIT_ARGS,
    needs_sandbox,
    notebook,
    sandbox_leftovers,
    xcov_solution,
    xcov_stub,
    xcov_wrong,
)
from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent

class_check = load_script(ROOT / "tools" / "class_check.py")
teacher_tables = load_script(ROOT / "tools" / "teacher_tables.py")

linux = needs_sandbox

LIMITS = class_check.Limits(**LIMIT_ARGS)


def _all_export_cells() -> list[str]:
    """The ``#| export`` cells of chapters 1-4, in order: every exercise, solved."""
    cells = []
    for path in sorted((ROOT / "chapters").glob("0[1-4]_*.ipynb")):
        cells += [c.source for c in nbformat.read(path, as_version=4).cells
                  if c.cell_type == "code" and c.source.startswith("#| export")]
    return cells


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    notebook(folder / "ada.ipynb", xcov_solution(), CHECK, "print('the rest of the chapter')")
    notebook(folder / "ben.ipynb", xcov_wrong(), CHECK)
    notebook(folder / "cy.ipynb", "1 / 0", xcov_solution(), CHECK)  # an error; the checks still run
    (folder / "eve.ipynb").write_text('{"cells": [', encoding="utf-8")
    notebook(folder / "fay.ipynb", xcov_stub(), CHECK)
    notebook(folder / "gus.ipynb", *_all_export_cells())  # four chapters' exercises, no check cell
    (folder / "notes.txt").write_text("not a notebook", encoding="utf-8")
    results = class_check.check_class(folder, out=folder / "table", limits=LIMITS, jobs=2)
    return folder, {r.student: r for r in results}


@linux
def test_every_submission_gets_its_status(graded):
    _, rows = graded
    assert sorted(rows) == ["ada", "ben", "cy", "eve", "fay", "gus"]
    assert (rows["gus"].status, rows["gus"].exercises) == ("ran", {
        "xcov_penalty": "pass", "ksparse_gate": "pass", "class_matching_divergence": "pass",
        "adversary_step": "pass"}), rows["gus"]
    del rows["gus"]
    got = {name: (r.status, r.exercises) for name, r in rows.items()}
    assert got == {
        "ada": ("ran", {"xcov_penalty": "pass"}),
        "ben": ("ran", {"xcov_penalty": "fail"}),
        "cy": ("error", {"xcov_penalty": "pass"}),
        "eve": ("malformed", {}),
        "fay": ("ran", {"xcov_penalty": "not written"}),
    }
    assert rows["cy"].detail == "code cell 1: ZeroDivisionError: division by zero"
    assert rows["eve"].detail.startswith("not valid JSON (line 1")
    assert rows["ada"].counts == {"xcov_penalty": "4 of 4"}


@linux
def test_the_failing_checks_are_named(graded):
    _, rows = graded
    assert rows["ben"].counts == {"xcov_penalty": "1 of 4"}
    assert rows["ben"].failed["xcov_penalty"] == [
        "matches ½ Σ C² with C = Yc^T Zc / N (NumPy)",
        "is ½ρ² for two unit-variance units with correlation ρ",
        "returns one number that gradients flow through"]
    assert rows["ada"].failed == {"xcov_penalty": []}


@linux
def test_the_table_is_written_as_csv_and_html(graded):
    folder, _ = graded
    with open(folder / "table" / "class_check.csv", newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    assert table[0] == ["student", "status", "seconds", "xcov_penalty",
                        "xcov_penalty: failing checks", "ksparse_gate", "ksparse_gate: failing checks",
                        "class_matching_divergence", "class_matching_divergence: failing checks",
                        "adversary_step", "adversary_step: failing checks", "detail"]
    assert [row[:2] + row[3:4] + row[5:6] for row in table[1:]] == [
        ["ada", "ran", "pass", "—"], ["ben", "ran", "fail", "—"], ["cy", "error", "pass", "—"],
        ["eve", "malformed", "—", "—"],
        ["fay", "ran", "not written", "—"], ["gus", "ran", "pass", "pass"]]
    assert "is ½ρ² for two unit-variance units" in table[2][4]
    html = (folder / "table" / "class_check.html").read_text(encoding="utf-8")
    assert html.count("<tr>") == 7 and "ZeroDivisionError" in html
    assert "xcov_penalty: 3 of 5 pass" in html and "adversary_step: 1 of 1 pass" in html
    assert not (folder / "ada.ipynb.bak").exists()
    assert nbformat.read(folder / "ada.ipynb", as_version=4).cells[0].outputs == []  # untouched
    assert sorted(p.name for p in (folder / "table").iterdir()) == ["class_check.csv",
                                                                    "class_check.html"]


@linux
def test_a_notebook_over_its_time_limit_is_stopped_and_its_function_still_graded(tmp_path):
    notebook(tmp_path / "dee.ipynb", xcov_stub(), "import time\nwhile True:\n    time.sleep(0.1)",
             CHECK)
    limits = class_check.Limits(timeout_s=8, check_timeout_s=120, memory_mb=3072, procs=128)
    (row,) = class_check.check_class(tmp_path, limits=limits)
    assert (row.status, row.exercises) == ("timeout", {"xcov_penalty": "not written"}), row
    assert row.detail == "over 8 s (in code cell 2)"
    assert row.seconds < 8 + class_check.GRACE_S + 120
    assert sandbox_leftovers(class_check.last_uids) == []


def test_a_folder_without_notebooks_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no .ipynb files"):
        class_check.check_class(tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        class_check.check_class(tmp_path / "missing")


def test_csv_cells_cannot_start_a_formula():
    for value in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"]:
        assert class_check._csv_cell(value) == "'" + value
    assert class_check._csv_cell("ada") == "ada" and class_check._csv_cell("") == ""
    row = class_check.Result('=HYPERLINK("http://x","y")', "ran", 1.0, "-2+3")
    table = list(csv.reader(io.StringIO(class_check.render_csv([row]))))
    assert table[1][0] == "'=HYPERLINK(\"http://x\",\"y\")" and table[1][-1] == "'-2+3"


@linux
def test_without_bubblewrap_it_refuses_unless_told(tmp_path, monkeypatch, capsys):
    notebook(tmp_path / "ada.ipynb", "print('hello')")
    monkeypatch.setattr(class_check.shutil, "which", lambda name: None)
    with pytest.raises(class_check.SandboxUnavailable, match="--no-sandbox"):
        class_check.check_class(tmp_path, limits=LIMITS)
    rows = class_check.check_class(tmp_path, limits=LIMITS, sandbox=False)
    assert [(r.student, r.status) for r in rows] == [("ada", "ran")]
    assert "WARNING: --no-sandbox" in capsys.readouterr().err


@linux
def test_an_unwritable_out_still_prints_the_table(tmp_path, capsys):
    notebook(tmp_path / "ada.ipynb", "print('hello')")
    (tmp_path / "notes.txt").write_text("a file, not a folder", encoding="utf-8")
    rows = class_check.check_class(tmp_path, out=tmp_path / "notes.txt" / "table", limits=LIMITS)
    assert [(r.student, r.status) for r in rows] == [("ada", "ran")]
    captured = capsys.readouterr()
    assert "ada" in captured.out and "ran" in captured.out
    assert "could not write the table" in captured.err and "Traceback" not in captured.err


@linux
def test_ctrl_c_stops_every_sandbox_and_keeps_the_rows_done(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    notebook(folder / "a_quick.ipynb", "print('done')")
    for name in ("b_slow", "c_slow"):
        notebook(folder / f"{name}.ipynb", "import time\nwhile True:\n    time.sleep(0.1)")
    uid_base = 1_600_000_000 + os.getpid()  # its sandboxes' user, told apart from other runs
    proc = subprocess.Popen([sys.executable, "-m", "tools.class_check", str(folder),
                             "--jobs", "1", "--timeout", "300", "--uid-base", str(uid_base)],
                            cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (folder / "class_check.csv").exists():
        time.sleep(0.5)
    time.sleep(3)  # b_slow's sandbox is running now
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "a_quick  ran" in out and "interrupted" in out, out
    with open(folder / "class_check.csv", newline="", encoding="utf-8") as f:
        rows = {row[0]: row[1] for row in list(csv.reader(f))[1:]}
    assert rows == {"a_quick": "ran", "b_slow": "interrupted", "c_slow": "interrupted"}
    time.sleep(1)
    assert sandbox_leftovers({uid_base}) == []


def test_expected_exercises_are_read_from_the_check_cells():
    nb = {"cells": [{"cell_type": "code", "source": ["x = 1\n", CHECK]},
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


def test_each_chapters_export_cells_pass_its_checks_alone():
    """The checks run a chapter's ``#| export`` cells alone (not its ``#| exporti`` harness):
    they must define the exercise's target, and the chapter's own code must pass."""
    from helpers import checks

    for path in sorted((ROOT / "chapters").glob("0[1-4]_*.ipynb")):
        as_json = class_check.parse_notebook(path.read_bytes())[0]
        source = class_check.export_source(as_json)
        assert "#| exporti" not in source and "ChapterSpec(" not in source, path.name
        assert class_check.exercises_of(as_json, source, None) == class_check.expected_exercises(
            as_json), path.name
        (exercise,) = class_check.expected_exercises(as_json)
        namespace: dict = {"__name__": "student_exports"}
        exec(compile(source, path.name, "exec"), namespace)  # the teacher's own chapter
        target = checks.EXERCISES[exercise].build_target(namespace)
        inputs = checks.make_inputs(exercise, 12345)
        report = checks.judge(exercise, inputs, checks.run_probes(exercise, target, inputs))
        assert report.status == "pass", (path.name, str(report))


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
