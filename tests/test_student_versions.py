"""Student versions: every exported body becomes a stub, and a run stops first at a stub."""

from __future__ import annotations

import ast
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from conftest import load_script
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from helpers.checks import EXERCISES
from tools.export_papers import is_export_cell

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
TOOL = ROOT / "tools" / "student_version.py"
MARKER = "#| export"


student = load_script(TOOL)


def test_stub_keeps_signature_and_docstring():
    src = (
        "#| export\n"
        "import numpy as np\n\n"
        "def f(a, b=2):\n"
        '    """Add two numbers."""\n'
        "    c = a + b\n"
        "    return c\n\n"
        "class K:\n"
        "    scale = 3\n\n"
        "    def g(self, x):\n"
        "        return x * self.scale\n\n"
        "@add_to_class(K)\n"
        "def h(self):\n"
        '    """Say hello."""\n\n'
        "def _check(a):\n"
        "    return a\n"
    )
    out, n = student.stub_source(src)
    assert n == 3
    tree = ast.parse(out)  # still valid Python
    assert "c = a + b" not in out and "x * self.scale" not in out
    assert '"""Add two numbers."""' in out and "scale = 3" in out
    assert "def _check(a):\n    return a" in out  # private helpers stay as given
    assert "write `f` — Add two numbers" in out
    assert "write `K.g`" in out and "write `K.h` — Say hello" in out
    assert sum(isinstance(n, ast.Raise) for n in ast.walk(tree)) == 3


def test_a_private_class_keeps_its_methods():
    """Plumbing such as chapter 3's ``_ScarceSampler`` is given, not taught."""
    src = ("class _Sampler:\n    def batch(self, n):\n        return n * 2\n\n"
           "@add_to_class(_Sampler)\ndef more(self):\n    return 3\n\n"
           "class Model(_Sampler):\n    def call(self, x):\n        return x + 1\n")
    out, n = student.stub_source(src)
    assert n == 1 and "return n * 2" in out and "return 3" in out
    assert "return x + 1" not in out and "write `Model.call`" in out


def test_solutions_go_but_the_rest_of_their_cell_stays():
    md = ("## Exercises\n\n1. **Implement it.** Write f.\n\n"
          "````{admonition} Solution to exercise 1\n:class: dropdown\n\n```python\nx = 1\n```\n"
          "````\n\n```{admonition} Note\n:class: dropdown\nkept\n```\n\n## References\n")
    out = student.strip_solutions(md)
    assert "Solution" not in out and "x = 1" not in out
    assert "## Exercises" in out and "## References" in out and "kept" in out


def test_only_stubs_the_named_pieces():
    src = "def f(a):\n    return a\n\nclass K:\n    def g(self):\n        return 1\n"
    out, n = student.stub_source(src, only={"K.g"})
    assert n == 1 and "def f(a):\n    return a" in out and "write `K.g`" in out


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_version_fails_first_at_a_stub(path, tmp_path):
    nb, n_stubs = student.student_notebook(path)
    text = "".join(c.source for c in nb.cells)
    assert "{admonition} Solution" not in text  # hidden solutions are removed
    original = nbformat.read(path, as_version=4)
    headings = [ln for c in original.cells if c.cell_type == "markdown"
                for ln in c.source.splitlines() if ln.startswith("## ")]
    assert [ln for c in nb.cells if c.cell_type == "markdown" for ln in c.source.splitlines()
            if ln.startswith("## ")] == headings  # every section stays
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    if n_stubs == 0:  # e.g. the comparison chapter, which only imports
        pytest.skip(f"{path.name} has no export cells")
    target = tmp_path / path.name
    nbformat.write(nb, target)
    env = {"HF_PROFILE": "smoke"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        client = NotebookClient(nb, timeout=600, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}})
        with pytest.raises(CellExecutionError) as err:
            client.execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if err.value.ename == "ExerciseNotPassed":  # the check cell right after the stub
        assert "is not written yet" in err.value.evalue, err.value.evalue
    else:
        assert err.value.ename == "NotImplementedError", err.value.evalue
        assert student.STUB_MARKER in err.value.evalue


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_each_check_comes_right_after_the_code_it_checks(path):
    """No demo or use of a piece runs before its check: between the last export cell
    and the check cell there is only prose (the learner's flow: stub, check, demo)."""
    cells = nbformat.read(path, as_version=4).cells
    checks_at = [i for i, c in enumerate(cells)
                 if c.cell_type == "code" and "check_exercise(" in c.source]
    for i in checks_at:
        before = [j for j in range(i) if cells[j].cell_type == "code"]
        assert before, path.name
        previous = cells[before[-1]]
        assert is_export_cell(previous), (path.name, i, previous.source[:200])


# ------------------------------------------------ every way of writing a def is stubbed
def _public_defs(tree: ast.Module) -> list[tuple[str, ast.AST]]:
    """``(name, node)`` of the top-level functions and methods the tool must stub (the
    test's own reading, independent of the tool's)."""
    out = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("_"):
            continue  # a private class's methods stay as given
        defs = node.body if isinstance(node, ast.ClassDef) else [node]
        for d in defs:
            owners = [a.id for dec in getattr(d, "decorator_list", [])
                      if isinstance(dec, ast.Call) for a in dec.args if isinstance(a, ast.Name)]
            if isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                    not d.name.startswith("_") or d.name.endswith("__")) and not any(
                    o.startswith("_") for o in owners):
                out.append((d.name, d))
    return out


def _code_of(node: ast.AST) -> list[ast.stmt]:
    """The body of a function without its docstring."""
    first = node.body[0]
    is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
        and isinstance(first.value.value, str)
    return node.body[1:] if is_doc else node.body


# name: (source, number of stubs, texts of the bodies that must be gone)
STUB_CASES = {
    "one-line def": ("def f(x): return x * 2\n", 1, ["x * 2"]),
    "one-line def with a semicolon and a comment": (
        "def f(x): y = x + 1; return y  # add one\n\nz = 3\n", 1, ["x + 1", "add one"]),
    "decorator": ("import functools\n\n\n@functools.lru_cache(maxsize=None)\n"
                  "def f(x):\n    return x ** 2\n", 1, ["x ** 2"]),
    "multi-line decorators and add_to_class": (
        "class K:\n    pass\n\n\n@add_to_class(\n    K,\n)\n@staticmethod\n"
        "def g(x):\n    '''Square x.'''\n    return x ** 2\n\n\n"
        "@helpers.notebook.add_to_class(K)\ndef h(self): return self.k + 1\n",
        2, ["x ** 2", "self.k + 1"]),
    "docstring on the def line": (
        'def f(x): """Double x."""; return x * 2\n\n\ndef g(x): """Only a docstring."""\n',
        2, ["x * 2"]),
    "multi-line signature": (
        "def f(\n    a: int,\n    b: dict[str, int] = {'k': 1},\n) -> int:  # noqa: E501\n"
        "    # sum them\n    return a + len(b)\n    # trailing note on the answer\n\n\nx = 1\n",
        1, ["a + len(b)", "sum them", "trailing note"]),
    "async def": ("async def f(x):\n    await g(x)\n    return x * 2\n", 1,
                  ["await g(x)", "x * 2"]),
    "methods in a class": (
        "class K:\n    scale = 3\n\n    def g(self, x): return x * self.scale\n\n"
        "    @property\n    def p(self):\n        '''The p.'''\n        return self._p + 1\n\n"
        "    async def a(self): return await self.b()\n\n    def _keep(self):\n"
        "        return 'kept'\n", 3, ["x * self.scale", "self._p + 1", "await self.b()"]),
    "tab indentation": (
        "class K:\n\tdef g(self, x):\n\t\t'''Doc.'''\n\t\treturn x * 2\n\tdef h(self): return 7\n\n"
        "def top(x):\n\ty = x - 1\n\treturn y\n", 3, ["x * 2", "return 7", "x - 1"]),
    "non-ASCII before the body": ('def f(x="½ρ"): return x + "Σ"\n', 1, ['x + "Σ"']),
}


@pytest.mark.parametrize("case", STUB_CASES, ids=lambda c: c.replace(" ", "-"))
def test_every_way_of_writing_a_def_is_stubbed_and_compiles(case):
    src, n_expected, gone = STUB_CASES[case]
    compile(src, case, "exec")  # the case itself is valid Python
    out, n = student.stub_source(src)
    compile(out, f"stubbed {case}", "exec")  # and so is its stub
    assert n == n_expected
    for text in gone:
        assert text not in out, f"{text!r} survived the stub:\n{out}"
    stubbed = _public_defs(ast.parse(out))
    assert len(stubbed) == n_expected
    for name, node in stubbed:
        code = _code_of(node)
        assert len(code) == 1 and isinstance(code[0], ast.Raise), (name, ast.unparse(node))
        assert student.STUB_MARKER in ast.unparse(code[0])
    for kept in ("scale = 3", "return 'kept'", "z = 3", "x = 1"):  # the rest stays as it was
        assert (kept in out) == (kept in src), kept


def test_docstrings_names_and_indentation_survive_the_stub():
    out, _ = student.stub_source(STUB_CASES["docstring on the def line"][0])
    assert '"""Double x."""' in out and '"""Only a docstring."""' in out
    assert "write `f` — Double x" in out
    out, _ = student.stub_source(STUB_CASES["multi-line decorators and add_to_class"][0])
    assert "write `K.g` — Square x" in out and "write `K.h`" in out
    assert "@add_to_class(\n    K,\n)\n@staticmethod\ndef g(x):" in out
    out, _ = student.stub_source(STUB_CASES["tab indentation"][0])
    assert "\n\t\t'''Doc.'''\n\t\traise NotImplementedError(" in out  # tabs stay tabs
    out, _ = student.stub_source(STUB_CASES["multi-line signature"][0])
    assert ") -> int:  # noqa: E501\n    raise" in out


# ------------------------------------------------ refused before anything is written
def _run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tools.student_version", *args],
                          capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_only_with_a_typo_writes_nothing_and_names_the_close_match(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "01_xcov.ipynb").write_text("the old file")
    run = _run_tool("chapters/01_xcov.ipynb", "--only", "xcov_penalt", "--out", str(out))
    assert run.returncode != 0
    assert "'xcov_penalt'" in run.stderr and "'xcov_penalty'" in run.stderr  # the close match
    assert "01_xcov.ipynb" in run.stderr and "Nothing was written" in run.stderr
    assert (out / "01_xcov.ipynb").read_text() == "the old file"
    assert sorted(p.name for p in out.iterdir()) == ["01_xcov.ipynb"]


def test_a_missing_notebook_writes_nothing(tmp_path):
    out = tmp_path / "out"
    run = _run_tool("chapters/01_xcov.ipynb", "chapters/99_nothere.ipynb", "--out", str(out))
    assert run.returncode != 0 and "99_nothere.ipynb" in run.stderr
    assert not out.exists() or not any(out.iterdir())


def test_an_export_cell_that_does_not_compile_is_refused_naming_notebook_and_cell(tmp_path):
    nb = nbformat.read(ROOT / "chapters" / "01_xcov.ipynb", as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if "def heads(" in c.source)
    nb.cells[index].source = nb.cells[index].source.replace(
        "def heads(self, x, training=False):", "def heads(self, x, training=False:")
    broken = tmp_path / "01_broken.ipynb"
    nbformat.write(nb, broken)
    out = tmp_path / "out"
    run = _run_tool(str(broken), "chapters/00_warmup.ipynb", "--out", str(out))
    assert run.returncode != 0
    assert "Traceback" not in run.stderr, run.stderr
    assert "01_broken.ipynb" in run.stderr and f"cell {index}" in run.stderr
    assert "from helpers.core.classes import add_to_class" in run.stderr  # the cell's first line
    assert "def heads(self, x, training=False:" in run.stderr  # the compiler's line
    assert not out.exists() or not any(out.iterdir())  # not even the good chapter
    with pytest.raises(student.StudentVersionError, match=f"cell {index}"):
        student.student_notebook(broken)


def test_a_solution_in_comments_outputs_or_metadata_does_not_leak(tmp_path):
    src = ("#| export\ndef f(x):\n    '''Double x.'''\n    return x * 2  # SECRET-A\n"
           "    # SECRET-B: or x + x\n\n\ndef _g():\n    return 1\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T\n\n## Exercises\n"),
                nbformat.v4.new_code_cell(src, metadata={"note": "SECRET-C return x * 2"}),
                nbformat.v4.new_code_cell("f(2)")]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="SECRET-D return x * 2")]
    nb.cells[2].outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "SECRET-E"},
                                                  execution_count=1)]
    path = tmp_path / "t.ipynb"
    nbformat.write(nb, path)
    out, n = student.student_notebook(path)
    text = json.dumps(out, ensure_ascii=False)
    assert n == 1
    for secret in ("SECRET-A", "SECRET-B", "SECRET-C", "SECRET-D", "SECRET-E", "x * 2"):
        assert secret not in text, secret


# ------------------------------------------------ every chapter's student version
def _strings(value) -> list[str]:
    """Every string in a notebook's JSON (sources, outputs, metadata), attachments decoded."""
    if isinstance(value, str):
        found = [value]
        try:
            found.append(base64.b64decode(value, validate=True).decode("utf-8"))
        except ValueError:
            pass
        return found
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _is_export(cell) -> bool:
    return cell.cell_type == "code" and cell.source.split("\n", 1)[0].strip() == MARKER


def _bodies(nb: nbformat.NotebookNode) -> tuple[list[tuple[str, str]], int]:
    """The bodies (docstring excluded) of every function the student version must stub,
    read by the test itself; and how many functions that is."""
    bodies, count = [], 0
    for cell in nb.cells:
        if _is_export(cell):
            lines = cell.source.splitlines()
            for name, node in _public_defs(ast.parse(cell.source)):
                count += 1
                code = _code_of(node)
                if code:
                    bodies.append((name, "\n".join(lines[code[0].lineno - 1:node.end_lineno])))
    return bodies, count


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_student_version_contains_no_hidden_solution_and_compiles(path):
    original = nbformat.read(path, as_version=4)
    nb, n_stubs = student.student_notebook(path)
    bodies, count = _bodies(original)
    assert n_stubs == count
    # a line of a stubbed body is secret unless the chapter also has it elsewhere (outside
    # every stubbed body and every hidden solution)
    body_lines = {ln.strip() for _, b in bodies for ln in b.splitlines()}
    elsewhere = set()
    for cell in original.cells:
        if cell.cell_type == "markdown":
            text = student.strip_solutions(cell.source)
        else:
            text = cell.source
            for _, body in bodies:
                text = text.replace(body, "")
        elsewhere |= {ln.strip() for ln in text.splitlines()}
    secrets = {ln for ln in body_lines - elsewhere if len(ln) >= 8 and re.search(r"\w", ln)}
    assert secrets or not bodies
    strings = _strings(json.loads(nbformat.writes(nb)))
    for name, body in bodies:
        whole = textwrap.dedent(body).strip()
        assert not any(whole in s for s in strings), f"the body of {name} is in the student version"
    lines = {ln.strip() for s in strings for ln in s.splitlines()}
    leaks = sorted(secrets & lines - {"raise NotImplementedError("})  # (that line is the stub)
    assert not leaks, f"lines of stubbed bodies in the student version: {leaks[:5]}"
    assert not any("{admonition} Solution" in s for s in strings)
    # outputs, execution counts and execution records are gone
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
            assert "execution" not in cell.metadata
    assert "widgets" not in nb.metadata
    # every code cell compiles (after IPython's transforms, as a kernel runs it), and every
    # stubbed function is its docstring and the raise
    from IPython.core.inputtransformer2 import TransformerManager

    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            compile(TransformerManager().transform_cell(cell.source), f"cell {index}", "exec")
            if _is_export(cell):
                for name, node in _public_defs(ast.parse(cell.source)):
                    code = _code_of(node)
                    assert len(code) == 1 and isinstance(code[0], ast.Raise), name


def _checked_pieces(nb: nbformat.NotebookNode) -> dict[str, str]:
    """``{piece: exercise}`` for the pieces a check_exercise cell of the chapter tests (the
    pieces named in the exercise's title in helpers/checks.py)."""
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            for key in re.findall(r"""check_exercise\(\s*["'](\w+)["']""", cell.source):
                exercise = EXERCISES[key]
                title = exercise.title if hasattr(exercise, "title") else exercise[0]
                for name in re.split(r",| and ", title.split("·", 1)[-1]):
                    found[name.strip()] = key
    return found


def _stub_messages(nb: nbformat.NotebookNode) -> list[tuple[str, str]]:
    """``(qualified name, the message its stub raises)`` of every stub in a student version
    (a property's getter and setter share a name)."""
    messages = []
    for cell in nb.cells:
        if not _is_export(cell):
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) \
                    and getattr(node.exc.func, "id", "") == "NotImplementedError" \
                    and node.exc.args and isinstance(node.exc.args[0], ast.Constant):
                message = node.exc.args[0].value
                match = re.search(r"write `([\w.]+)`", message)
                if match and student.STUB_MARKER in message:
                    messages.append((match.group(1), message))
    return messages


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_hints_tell_the_truth_about_checks_and_come_in_two_stages(path):
    original = nbformat.read(path, as_version=4)
    nb, n_stubs = student.student_notebook(path)
    messages = _stub_messages(nb)
    assert len(messages) == n_stubs
    checked = _checked_pieces(original)
    assert set(checked) <= {name for name, _ in messages}, "a check tests a piece not stubbed"
    for name, message in messages:
        if name in checked:
            assert f'check_exercise("{checked[name]}"' in message, (name, message)
            assert "No automatic check" not in message
        else:
            assert "check after it tells you" not in message and "check_exercise" not in message
            assert "No automatic check tests this piece" in message, (name, message)
        assert "Hint 2" in message  # the nudge points to the folded recipe
    # stage 2: a folded hint right under every stubbed export cell, naming its pieces
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and student.STUB_MARKER in cell.source:
            hint = nb.cells[i + 1]
            assert hint.cell_type == "markdown" and hint.source.startswith("<details>")
            assert "</summary>" in hint.source and hint.source.rstrip().endswith("</details>")
            for name in re.findall(r"write `([\w.]+)`", cell.source):
                assert f"`{name}`" in hint.source
    # a checked piece's recipe (its checks' hints) is in the folded hint, not in the nudge
    if "xcov_penalty" in checked:
        assert "centre y and z over the batch" not in dict(messages)["xcov_penalty"]
        assert any("centre y and z over the batch" in c.source for c in nb.cells
                   if c.cell_type == "markdown")


def test_make_student_uses_the_existing_venv():
    makefile = next(p for p in (ROOT / "Makefile", ROOT / ".Makefile.hidden") if p.exists())
    rule = re.search(r"(?m)^student:(?P<deps>.*)\n(?P<recipe>(?:\t.*\n)+)", makefile.read_text())
    assert rule and "setup" not in rule.group("deps"), "make student must not reinstall .venv"
    assert "course.py setup\n" not in rule.group("recipe")  # only in its message
    if shutil.which("make") and makefile.name == "Makefile":
        run = subprocess.run(["make", "--no-print-directory", "student", "VENV=/nonexistent-venv"],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert run.returncode != 0 and "make setup" in run.stderr, run.stderr
