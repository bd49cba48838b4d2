"""Chapters declare themselves once; nothing outside a chapter lists them.

The last test follows CONTRIBUTING.md's "Add a chapter" with a throwaway chapter in a
copy of the repository: with no edit outside its notebook, ``_toc.yml`` (and its checks,
which it has none of), the experiment runner, the teachers' table, the benchmarks and
the tests find it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.chapters import ChapterSpec, module_name
from helpers.papers import chapter, chapters, paper_chapters

ROOT = Path(__file__).resolve().parent.parent
STEMS = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))
# where naming several chapters is the point: the chapters themselves, their generated
# modules, the table of contents, documentation, and the records of their runs
ALLOWED = ("chapters/", "helpers/papers/", "_toc.yml", "book/", "results/", "README.md",
           "CONTRIBUTING.md", "tests/test_chapters.py")


def _has_export_cells(path: Path) -> bool:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return any(c["cell_type"] == "code" and "".join(c["source"]).startswith("#| export")
               for c in cells)


def test_every_chapter_with_exported_code_declares_itself():
    found = {c.notebook: c for c in chapters()}
    expected = [p.stem for p in sorted((ROOT / "chapters").glob("*.ipynb"))
                if _has_export_cells(p)]
    assert sorted(found) == expected
    for stem, c in found.items():
        assert c.module == module_name(stem) and isinstance(c.spec, ChapterSpec)
        assert chapter(c.module) is c or chapter(c.module) == c
    # a paper chapter is one that names its paper (the warm-up and the comparison do not)
    assert [c.notebook for c in paper_chapters()] == [s for s in expected if found[s].spec.paper]
    assert {"01_xcov", "04_two_step"} <= {c.notebook for c in paper_chapters()}


def test_every_exercise_check_belongs_to_a_chapter():
    from helpers.checks import EXERCISES

    declared = [e for c in chapters() for e in c.spec.exercises]
    assert sorted(declared) == sorted(EXERCISES)


def test_a_chapter_is_named_by_its_module_or_notebook_or_refused():
    assert chapter("xcov").notebook == "01_xcov" and chapter("01_xcov").module == "xcov"
    with pytest.raises(KeyError, match=r"expected one of .*'xcov'.*got 'nope'"):
        chapter("nope")


def test_a_declaration_is_checked():
    with pytest.raises(ValueError, match="expected a title"):
        ChapterSpec(title=" ")
    with pytest.raises(ValueError, match="'about' line.*'s'"):
        ChapterSpec(title="T", settings={"s": {"n": 1}}, run_setting=lambda p, s: {})
    with pytest.raises(ValueError, match="need a run_setting"):
        ChapterSpec(title="T", settings={"s": {"about": "x"}})


def _tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return out.stdout.splitlines()


def _chapters_named(line: str) -> set[str]:
    """The chapters a line names: notebook names, or module names in quotes."""
    modules = sorted({module_name(s) for s in STEMS})
    quoted = re.findall("[\"']({})[\"']".format("|".join(modules)), line)
    return {module_name(n) for n in set(re.findall("|".join(STEMS), line)) | set(quoted)}


def test_no_list_outside_a_chapter_names_the_chapters():
    """A line that names two or more chapters (notebook or module names) is a hand-kept
    list; outside the chapters, their modules, the table of contents and the docs there
    must be none."""
    offenders = []
    for rel in _tracked_files():
        if rel.startswith(ALLOWED) or not rel.endswith((".py", ".toml", ".cfg", ".yml",
                                                        "Makefile", "run")):
            continue
        path = ROOT / rel
        if rel == "Makefile" and not path.is_file():  # .ci/run moves it aside meanwhile
            path = ROOT / ".Makefile.hidden"
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if len(_chapters_named(line)) >= 2:
                offenders.append(f"{rel}:{number}: {line.strip()}")
    assert offenders == [], "lists of chapters outside the chapters:\n" + "\n".join(offenders)


def test_the_list_check_catches_a_list():
    """The check above fails on the kind of line it is for (yesterday's runner's list)."""
    assert _chapters_named('CHAPTER_DIRS = {"xcov": "01_xcov", "jade": "03_jade"}') == {
        "xcov", "jade"}
    assert _chapters_named('PAPER_CHAPTERS = ["01_xcov", "02_ksparse_cvae"]') == {
        "xcov", "ksparse_cvae"}
    assert _chapters_named("from helpers.papers.xcov import train_xcov") == set()


# --------------------------------------------------------------------------------------
# Add a chapter (CONTRIBUTING.md), in a copy of the repository
# --------------------------------------------------------------------------------------

def _cell(kind: str, source: str) -> dict:
    cell = {"cell_type": kind, "metadata": {}, "source": source}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


TOY = [
    _cell("markdown", "# Toy: a throwaway chapter\n\nIt only proves the steps work."),
    _cell("markdown", "## The model, piece by piece"),
    _cell("code", "#| export\nimport numpy as np\n\n\nclass Doubler:\n"
                  "    \"\"\"Doubles its input.\"\"\"\n\n    def __call__(self, x):\n"
                  "        \"\"\"Twice ``x``.\"\"\"\n        return 2 * np.asarray(x)\n"),
    _cell("code", "#| exporti\nSIZES = {\"smoke\": dict(n=1), \"book\": dict(n=2), "
                  "\"full\": dict(n=3)}\n\n\ndef run_setting(params: dict, seed: int) -> dict:\n"
                  "    \"\"\"The doubled size plus the seed.\"\"\"\n"
                  "    return {\"answer\": float(Doubler()(params[\"n\"]) + seed)}\n"),
    _cell("code", "#| exporti\nfrom helpers.chapters import ChapterSpec, Target\n\n"
                  "CHAPTER = ChapterSpec(\n    title=\"Toy\", paper=\"Doe 2026\",\n"
                  "    settings={\"paper\": dict(about=\"the toy at full size\", "
                  "**SIZES[\"full\"])},\n    run_setting=run_setting,\n"
                  "    benchmark_model=lambda: Doubler(),\n"
                  "    targets=(Target(\"answer\", 6.0, True, (\"answer\",), \"paper\", "
                  "(\"answer\",)),),\n)\n"),
]


def _run(args: list[str], cwd: Path, env: dict) -> str:
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{args} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout


def test_adding_a_chapter_needs_no_edit_elsewhere(tmp_path):
    copy = tmp_path / "course"
    for rel in _tracked_files():
        target = copy / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / rel).is_file():
            shutil.copy2(ROOT / rel, target)
    notebook = {"cells": TOY, "metadata": {"kernelspec": {"name": "python3",
                                                          "display_name": "Python 3",
                                                          "language": "python"}},
                "nbformat": 4, "nbformat_minor": 4}
    (copy / "chapters" / "06_toy.ipynb").write_text(json.dumps(notebook, indent=1))
    toc = (copy / "_toc.yml").read_text()
    (copy / "_toc.yml").write_text(toc.replace("      - file: chapters/05_comparison\n",
                                               "      - file: chapters/05_comparison\n"
                                               "      - file: chapters/06_toy\n"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(PYTHONPATH=str(copy), HF_PROFILE="smoke", HF_OFFLINE="1")
    py = sys.executable

    _run([py, "tools/export_papers.py"], copy, env)  # step 4: make export
    assert (copy / "helpers" / "papers" / "toy.py").is_file()
    # the runner lists the chapter's setting and records a run of it
    assert re.search(r"(?m)^toy\s+paper\s+the toy at full size$",
                     _run([py, "experiments/paper_scale.py", "--list"], copy, env))
    _run([py, "experiments/paper_scale.py", "toy", "paper", "--seeds", "2"], copy, env)
    record = json.loads((copy / "results" / "06_toy" / "paper_scale" / "paper" /
                         "seed2.json").read_text())
    assert record["values"] == {"answer": 8.0} and record["chapter"] == "06_toy"
    # the teachers' table, the benchmarks and the tests see it
    code = ("from tools import teacher_tables; from benchmarks import run; "
            "print(teacher_tables.titles()['06_toy']); print('Toy' in run.MODELS); "
            "print([t[0] for t in run.TARGETS if t[1] == 'answer'])")
    assert _run([py, "-c", code], copy, env).split("\n")[:3] == ["6 · Toy", "True",
                                                                  "['06_toy']"]
    ids = _run([py, "-m", "pytest", "--collect-only", "-q", "-p", "no:nbval",
                "tests/test_export.py", "tests/test_chapter_skeleton.py"], copy, env)
    assert "test_paper_chapters_define_their_code[06_toy]" in ids
    assert "[06_toy]" in ids.split("test_chapter_skeleton.py", 1)[1]
    # a student version stubs its taught piece and leaves its harness alone
    _run([py, "-m", "tools.student_version", "chapters/06_toy.ipynb", "--out",
          str(tmp_path / "students")], copy, env)
    student = (tmp_path / "students" / "06_toy.ipynb").read_text()
    assert "return 2 * np.asarray(x)" not in student and "NotImplementedError" in student
    assert "def run_setting" in student and "\\\"answer\\\": float(" in student
