"""Write each chapter's ``#| export`` cells into its generated module in ``helpers/papers/``.

    python tools/export_papers.py            # (re)write every generated module
    python tools/export_papers.py --check    # exit 1 if any module differs from its notebook

Two markers, nbdev's, put a code cell into the chapter's module
(``chapters/01_xcov.ipynb`` -> ``helpers/papers/xcov.py``, the file name without its
number):

* ``#| export`` — a piece of the model that the chapter **teaches** (a loss, a layer,
  a ``train_step``): listed in the module's ``__all__``, and a student version turns
  it into a stub to implement;
* ``#| exporti`` — the chapter's **harness** (running and measuring an experiment,
  its settings, its ``CHAPTER`` declaration): importable like the rest, never stubbed,
  not in ``__all__``.

The module is the marked cells, in order, each under a comment naming its cell, below a
header naming the notebook (``__notebook__``) and ``__all__``; nothing else is added, so
the module runs exactly what the reader saw.  ``tests/test_export.py`` runs the check.

Every export cell must compile: a cell that does not is refused with the
notebook, the cell (its index and first line) and the compiler's error, and
then *nothing* is written (every module is checked before the first one is
written; each is written atomically, so a module is always either the old text
or the new one).  ``--check`` compiles what it compares, so a broken cell never
reports "in sync".

(nbdev's ``nb_export`` does the same job; it would add nbdev and its
dependencies to every learner's environment for about forty lines of work.)
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
PAPERS = ROOT / "helpers" / "papers"
MARKER = "#| export"  # a piece the chapter teaches
HARNESS_MARKER = "#| exporti"  # the chapter's harness: exported, never stubbed

from helpers.files import atomic_write_text  # noqa: E402  (installed: `pip install -e .`)


class ExportError(Exception):
    """Export cells that do not compile; ``problems`` has one message per cell (nothing written)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def module_name(notebook: Path) -> str:
    """``01_xcov.ipynb`` -> ``xcov``."""
    return re.sub(r"^\d+_", "", notebook.stem)


def _cells(notebook: Path) -> list[dict]:
    return json.loads(notebook.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _marker(cell: dict) -> str | None:
    if cell.get("cell_type") != "code":
        return None
    lines = _source(cell).splitlines()
    first = lines[0].strip() if lines else ""
    return first if first in (MARKER, HARNESS_MARKER) else None


def is_export_cell(cell: dict) -> bool:
    """True for a code cell whose first line is the ``#| export`` marker (a taught piece)."""
    return _marker(cell) == MARKER


def is_harness_cell(cell: dict) -> bool:
    """True for a code cell whose first line is ``#| exporti`` (harness, never stubbed)."""
    return _marker(cell) == HARNESS_MARKER


def is_exported(cell: dict) -> bool:
    """True for a cell of either kind: it goes into the chapter's module."""
    return _marker(cell) is not None


def _rel(path: Path) -> str:
    """``path`` relative to the repository when it is inside it (as messages name files)."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def first_code_line(source: str) -> str:
    """The first line of a cell's code after the ``#| export`` marker (what a message quotes)."""
    lines = [ln.strip() for ln in source.splitlines()]
    marked = lines and lines[0] in (MARKER, HARNESS_MARKER)
    code = [ln for ln in (lines[1:] if marked else lines) if ln]
    first = code[0] if code else "(empty)"
    return first if len(first) <= 70 else first[:67] + "..."


def compile_error(source: str, where: str, unit: str = "cell") -> str | None:
    """``None`` if ``source`` (one cell's code) compiles, else what the compiler said.

    The message names ``where`` (e.g. ``"chapters/01_xcov.ipynb, cell 5 (0-based)"``),
    the cell's first line, and the compiler's error with its line (counted in the
    ``unit``, a cell's marker line being line 1) and the text of that line.
    """
    try:
        compile(source, where, "exec", dont_inherit=True)
    except SyntaxError as err:  # IndentationError and TabError are SyntaxErrors
        line = (err.text or "").rstrip("\n")
        pointer = ""
        if line and err.offset:
            pointer = "\n      " + " " * max(0, min(err.offset, len(line) + 1) - 1) + "^"
        shown = f"\n      {line}{pointer}" if line.strip() else ""
        return (f"{where}, first line {first_code_line(source)!r}, does not compile: "
                f"{type(err).__name__} at line {err.lineno} of the {unit}: {err.msg}{shown}")
    except ValueError as err:  # e.g. a NUL character in the source
        return (f"{where}, first line {first_code_line(source)!r}, does not compile: "
                f"ValueError: {err}")
    return None


def compile_problems(notebook: Path) -> list[str]:
    """One message for every export cell of ``notebook`` that does not compile."""
    problems = []
    for index, cell in enumerate(_cells(notebook)):
        if is_exported(cell):
            where = f"{_rel(notebook)}, cell {index} (0-based)"
            error = compile_error(_source(cell), where)
            if error:
                problems.append(error + "\n    Fix the cell in the notebook, then export again.")
    return problems


def export_sources(notebook: Path, harness: bool = True) -> list[str]:
    """The code of the notebook's exported cells, marker line removed, in order
    (``harness=False``: the taught ``#| export`` cells only)."""
    keep = is_exported if harness else is_export_cell
    return ["\n".join(_source(c).splitlines()[1:]).strip("\n")
            for c in _cells(notebook) if keep(c)]


def _exported_cells(notebook: Path) -> list[tuple[int, str, dict]]:
    """``(index, section heading, cell)`` of every exported cell, in order."""
    out, heading = [], ""
    for index, cell in enumerate(_cells(notebook)):
        if cell.get("cell_type") == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("## "):
                    heading = line[3:].strip()
        elif is_exported(cell):
            out.append((index, heading, cell))
    return out


def taught_names(sources: list[str]) -> list[str]:
    """Public names the taught cells define at top level (the module's ``__all__``).

    Functions attached to a class with ``@add_to_class`` are methods, not names of the
    module, and are left out; so are names starting with ``_`` and imports.
    """
    names: list[str] = []
    for source in sources:
        for node in ast.parse(source).body:
            found: list[str] = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                attached = any("add_to_class" in ast.unparse(d) for d in node.decorator_list)
                found = [] if attached else [node.name]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found = [t.id for t in targets if isinstance(t, ast.Name)]
            names += [n for n in found if not n.startswith("_") and n not in names]
    return names


def _title(notebook: Path) -> str:
    for cell in _cells(notebook):
        if cell.get("cell_type") == "markdown":
            for line in _source(cell).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return notebook.stem


def render_module(notebook: Path) -> str | None:
    """The generated module's text for ``notebook`` (``None`` if it has no export cells).

    Raises :class:`ExportError` if an export cell, or the module made of them, does
    not compile.
    """
    problems = compile_problems(notebook)
    if problems:
        raise ExportError(problems)
    cells = _exported_cells(notebook)
    if not cells:
        return None
    rel = _rel(notebook)
    taught = taught_names(export_sources(notebook, harness=False))
    names = textwrap.fill(", ".join(repr(n) for n in taught), 78, initial_indent=" " * 4,
                          subsequent_indent=" " * 4)
    header = (
        f"# AUTOGENERATED from {rel} by `python tools/export_papers.py`.\n"
        f"# DO NOT EDIT: change the notebook's exported cells and export again.\n"
        f'"""{textwrap.fill(_title(notebook), 84)}\n\n'
        f"The code of the chapter, exported cell by cell from ``{rel}``:\n"
        "``__all__`` lists the pieces it teaches (``#| export`` cells); the rest is\n"
        "its harness (``#| exporti``: running and measuring).\n"
        '"""\n\n'
        f"__notebook__ = {rel!r}\n"
        + (f"__all__ = [\n{names},\n]\n" if taught else "__all__ = []\n")
    )
    blocks = []
    for index, heading, cell in cells:
        kind = "taught" if is_export_cell(cell) else "harness"
        where = f"# ── cell {index}, {kind}" + (f" · {heading}" if heading else "")
        where = where if len(where) <= 84 else where[:83] + "…"
        code = "\n".join(_source(cell).splitlines()[1:]).strip("\n")
        blocks.append(where + "\n" + code)
    text = header + "\n\n" + "\n\n\n".join(blocks) + "\n"
    error = compile_error(text, f"the module made of {rel}'s export cells", unit="module")
    if error:  # each cell compiles, yet together they do not (e.g. a trailing backslash)
        raise ExportError([error])
    return text


def generated_modules() -> dict[Path, str]:
    """``{module path: expected text}`` for every chapter with export cells.

    Raises :class:`ExportError` listing every export cell, in every notebook, that
    does not compile.
    """
    out, problems = {}, []
    for notebook in sorted(CHAPTERS.glob("*.ipynb")):
        try:
            text = render_module(notebook)
        except ExportError as err:
            problems += err.problems
            continue
        if text is not None:
            out[PAPERS / f"{module_name(notebook)}.py"] = text
    if problems:
        raise ExportError(problems)
    return out


def stale_modules() -> list[str]:
    """Problems the check reports: export cells that do not compile, modules that differ,
    are missing, or have no notebook."""
    expected, problems = {}, []
    for notebook in sorted(CHAPTERS.glob("*.ipynb")):
        path = PAPERS / f"{module_name(notebook)}.py"
        try:
            text = render_module(notebook)
        except ExportError as err:
            problems += err.problems
            expected[path] = None  # its module is not "without a notebook"
            continue
        if text is not None:
            expected[path] = text
    for path, text in expected.items():
        if text is None:
            continue
        if not path.is_file():
            problems.append(f"{path.relative_to(ROOT)} is missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path.relative_to(ROOT)} differs from its notebook's export cells")
    for path in sorted(PAPERS.glob("*.py")):
        if path.name != "__init__.py" and path not in expected:
            problems.append(f"{path.relative_to(ROOT)} has no notebook with export cells")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) every generated module; 0 on success, 1 if not."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="only check; exit 1 when a module is out of date or a cell "
                             "does not compile")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale_modules()
        for p in problems:
            print(f"out of sync: {p}", file=sys.stderr)
        if problems:
            print("Fix any cell that does not compile, run `python tools/export_papers.py` "
                  "and commit the result.", file=sys.stderr)
        else:
            print("helpers/papers/ is in sync with the chapters' export cells.")
        return 1 if problems else 0
    try:
        modules = generated_modules()
    except ExportError as err:
        for p in err.problems:
            print(f"refused: {p}", file=sys.stderr)
        print("Nothing was written: fix the cells above and run the command again.",
              file=sys.stderr)
        return 1
    for path, text in modules.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            atomic_write_text(path, text)
            print(f"wrote {_rel(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
