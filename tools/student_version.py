"""Write the student version of a chapter: the code to implement becomes stubs.

    python tools/student_version.py chapters/01_xcov.ipynb [more.ipynb ...] [--out DIR]

In every ``#| export`` cell the body of each function and method (but not of
private helpers such as ``_check_inputs``, which stay as given) is replaced by
its docstring and ``raise NotImplementedError(<hint>)``; the hint names what to
write and quotes the first line of its docstring.  Hidden solutions (dropdown
admonitions) are removed and all outputs cleared.  Everything else — prose,
equations, checks, training, figures — stays, so a student fills in the stubs
and runs the chapter; the first stub still empty stops it with its hint.
Written to ``_build/students/`` unless ``--out`` says otherwise; ``--only
KSparse.mask,KSparse.call`` stubs just those (an exercise on one piece).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_papers import ROOT, is_export_cell  # noqa: E402

STUB_MARKER = "✏️ Exercise"


def _to_write(node: ast.AST) -> bool:
    """A function the student writes: not a private helper such as ``_check_inputs``."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    name = node.name
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _function_nodes(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Top-level functions and methods of top-level classes (not nested or private helpers)."""
    found = []
    for node in tree.body:
        if _to_write(node):
            found.append(node)
        elif isinstance(node, ast.ClassDef):
            found += [n for n in node.body if _to_write(n)]
    return found


def _hint(qualname: str, node: ast.FunctionDef) -> str:
    doc = (ast.get_docstring(node) or "").strip().splitlines()
    what = f" — {doc[0].rstrip('.')}" if doc else ""
    return (f"{STUB_MARKER}: write `{qualname}`{what}. The text and equation above this cell "
            "say what it computes; the check after it tells you when it is right.")


def _raise_stub(hint: str, indent: str, width: int = 88) -> str:
    """``raise NotImplementedError("...")`` over several lines that fit ``width``."""
    room = max(30, width - len(indent) - 8)
    chunks, line = [], ""
    for word in hint.split(" "):
        if line and len(line) + len(word) + 1 > room:
            chunks.append(line + " ")
            line = word
        else:
            line = f"{line} {word}" if line else word
    chunks.append(line)
    body = "\n".join(f"{indent}    {chunk!r}" for chunk in chunks)
    return f"{indent}raise NotImplementedError(\n{body})"


def stub_source(source: str, only: set[str] | None = None) -> tuple[str, int]:
    """``source`` with function bodies replaced by stubs; returns ``(text, n_stubs)``.

    ``only`` (e.g. ``{"xcov_penalty", "KSparse.mask"}``) limits the stubs to
    those names; by default every function and method is stubbed.
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    owners = {id(n): c.name for c in tree.body if isinstance(c, ast.ClassDef) for n in c.body}
    edits = []
    for node in _function_nodes(tree):
        body = node.body
        code = body[1:] if ast.get_docstring(node, clean=False) is not None else body
        indent = " " * (body[0].col_offset)
        qualname = f"{owners[id(node)]}.{node.name}" if id(node) in owners else node.name
        for deco in node.decorator_list:  # @add_to_class(Cls) names the class
            if isinstance(deco, ast.Call) and getattr(deco.func, "id", "") == "add_to_class" \
                    and deco.args and isinstance(deco.args[0], ast.Name):
                qualname = f"{deco.args[0].id}.{node.name}"
        if only is not None and qualname not in only and node.name not in only:
            continue
        stub = _raise_stub(_hint(qualname, node), indent)
        if code:  # the docstring stays; everything after it becomes the stub
            edits.append((code[0].lineno - 1, node.end_lineno, [stub]))
        else:  # only a docstring: add the stub after it
            edits.append((body[0].end_lineno, body[0].end_lineno, [stub]))
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = new
    return "\n".join(lines), len(edits)


_FENCE = re.compile(r"(?ms)^(?P<fence>`{3,}|:{3,})\{admonition\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$\n?")


def strip_solutions(markdown: str) -> str:
    """``markdown`` without its hidden solutions (dropdown admonitions titled "Solution...")."""

    def drop(match: re.Match) -> str:
        head = match.group(0).split("\n", 1)[0]
        hidden = ":class: dropdown" in match.group("body")
        return "" if hidden and "olution" in head else match.group(0)

    return _FENCE.sub(drop, markdown)


def student_notebook(path: Path, only: set[str] | None = None
                     ) -> tuple[nbformat.NotebookNode, int]:
    """The student version of the notebook at ``path`` and its number of stubs."""
    nb = nbformat.read(path, as_version=4)
    n_stubs = 0
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = strip_solutions(cell.source)
            if not cell.source.strip():
                continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if is_export_cell(cell):
                cell.source, n = stub_source(cell.source, only)
                n_stubs += n
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    nb.metadata["hidden_factors"] = {"student_version_of": path.name, "stubs": n_stubs}
    return nb, n_stubs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "students")
    parser.add_argument("--only", default=None,
                        help="comma-separated names to stub (e.g. KSparse.mask,KSparse.call); "
                             "default: every exported function and method")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    only = {name.strip() for name in args.only.split(",")} if args.only else None
    for path in args.notebooks:
        if not path.is_file():
            print(f"{path}: no such notebook", file=sys.stderr)
            return 2
        nb, n_stubs = student_notebook(path, only)
        target = args.out / path.name
        nbformat.write(nb, target)
        print(f"{target}: {n_stubs} stubs to implement")
        if only is not None and n_stubs == 0:
            print(f"{path}: none of {sorted(only)} is an exported function", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
