"""Student versions: every exported body becomes a stub, and a run stops first at a stub."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import nbformat
import pytest
from conftest import load_script
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))




student = load_script(ROOT / "tools" / "student_version.py")


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
    assert err.value.ename == "NotImplementedError", err.value.evalue
    assert student.STUB_MARKER in err.value.evalue
