"""Write the student version of a chapter: the code to implement becomes stubs.

    python -m tools.student_version chapters/01_xcov.ipynb [more.ipynb ...] [--out DIR]
    python -m tools.student_version chapters/02_ksparse_cvae.ipynb --only KSparse.mask,KSparse.call

In every ``#| export`` cell the body of each function and method (top-level
functions and the methods of top-level classes, but not private helpers such as
``_check_inputs`` or the methods of a private class such as ``_ScarceSampler``, which
stay as given) is replaced by its docstring and
``raise NotImplementedError(<hint>)``.  Any way of writing a ``def`` is handled:
decorators (``@add_to_class(Cls)`` names the piece ``Cls.method``), one-line
defs, a docstring on the ``def`` line, signatures over several lines, ``async
def`` and tab indentation; every stubbed cell is compiled before anything is
written.

Hints come in two stages.  The error a stub raises is the nudge: what to write
(the first line of its docstring), where to read about it, and whether a
known-answer check tests it (``check_exercise`` cells, ``helpers/checks.py``).
Under each stubbed cell a folded *Hint 2* (an HTML ``<details>`` block, closed
until clicked) holds the recipe: the functions the chapter's code calls and,
for a checked piece, what each check tests and its hint.

Hidden solutions (dropdown admonitions titled "Solution...") are removed, and
every output, execution count and execution record is cleared (outputs would
show what the solution computed).  Everything else — prose, equations, checks,
training, figures — stays, so a student fills in the stubs and runs the
chapter; the first stub still empty stops it with its hint.

Nothing is written unless every notebook can be turned into a correct student
version: a missing notebook, an export cell that does not compile, or a name in
``--only`` that matches nothing (the message gives the close matches) stops the
command first, naming the notebook and the cell.  Each file is written
atomically (``helpers.files.atomic_write_text``).  Written to
``_build/students/`` unless ``--out`` says otherwise.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import inspect
import io
import re
import sys
import textwrap
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from helpers.files import atomic_write_text
from tools.export_papers import ROOT, compile_error, first_code_line, is_export_cell

STUB_MARKER = "✏️ Exercise"
HINT_TAG = "student-hint"
_CHECK_CALL = re.compile(r"""check_exercise\(\s*["'](?P<key>\w+)["']""")


class StudentVersionError(Exception):
    """A notebook cannot be turned into a correct student version (nothing was written)."""


@dataclass(frozen=True)
class CheckInfo:
    """A known-answer check that a chapter runs on some of its pieces."""

    exercise: str  # the key of helpers.checks.EXERCISES, e.g. "xcov_penalty"
    cell: int  # index of the check_exercise cell in the notebook
    tests: tuple[tuple[str, str], ...] = ()  # (what it tests, its hint), when readable


#: a piece stubbed outside a notebook (:func:`stub_source`): whether a check tests it is unknown
UNKNOWN_CHECK = CheckInfo("", -1)


@dataclass
class Piece:
    """One function or method that the student version turns into a stub."""

    qualname: str  # "xcov_penalty", "KSparse.mask"
    name: str  # "mask"
    cell: int  # index of its export cell in the original notebook
    summary: str  # first line of its docstring ("" if none)
    body: str  # the original code that the stub replaces (docstring excluded)
    calls: list[str] = field(default_factory=list)  # what that code calls, in order
    check: CheckInfo | None = None


@dataclass
class StudentVersion:
    """The student version of one notebook and what was stubbed in it."""

    source: Path
    notebook: nbformat.NotebookNode
    pieces: list[Piece]
    candidates: set[str]  # every name --only may use in this notebook (qualified or bare)
    private: set[str] = field(default_factory=set)  # private helpers (never stubbed)

    @property
    def n_stubs(self) -> int:
        """How many pieces are stubs to implement."""
        return len(self.pieces)


# ------------------------------------------------------------------ finding the pieces
def _is_public(name: str) -> bool:
    """A function the student writes: not a private helper such as ``_check_inputs``."""
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def _to_write(node: ast.AST) -> bool:
    """True for a (possibly async) function definition that is not a private helper."""
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_public(node.name)


def _dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a name or a chain of attributes, else ``None``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else None
    return None


def _owner_from_decorators(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """``Cls`` for a function decorated with ``@add_to_class(Cls)`` (any import path)."""
    for deco in node.decorator_list:
        if isinstance(deco, ast.Call) and (_dotted(deco.func) or "").split(".")[-1] \
                == "add_to_class" and deco.args:
            owner = _dotted(deco.args[0])
            if owner:
                return owner.split(".")[-1]
    return None


def _function_nodes(tree: ast.Module) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """``(qualname, node)`` of top-level functions and of methods of top-level classes.

    Private helpers are left out (they stay as given); nested functions are part of
    the body around them.
    """
    found = []
    for node in tree.body:
        if _to_write(node):
            owner = _owner_from_decorators(node)
            if owner is None or _is_public(owner):  # a private class's methods stay as given
                found.append((f"{owner}.{node.name}" if owner else node.name, node))
        elif isinstance(node, ast.ClassDef) and _is_public(node.name):
            found += [(f"{node.name}.{n.name}", n) for n in node.body if _to_write(n)]
    return found


def _private_names(tree: ast.Module) -> set[str]:
    """Names of private helpers (functions and methods) that stay as given."""
    names = set()
    for node in tree.body:
        defs = node.body if isinstance(node, ast.ClassDef) else [node]
        for d in defs:
            if not isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            owner = node.name if isinstance(node, ast.ClassDef) else _owner_from_decorators(d)
            if not _is_public(d.name) or (owner and not _is_public(owner)):
                names |= {d.name, f"{owner}.{d.name}" if owner else d.name}
    return names


def _calls(statements: list[ast.stmt]) -> list[str]:
    """The functions ``statements`` call (``ops.mean``, ``self.body``), first use first."""
    seen: dict[str, None] = {}
    for stmt in statements:
        nodes = sorted((n for n in ast.walk(stmt) if isinstance(n, ast.Call)),
                       key=lambda n: (n.lineno, n.col_offset))
        for call in nodes:
            name = _dotted(call.func)
            if name is None and isinstance(call.func, ast.Attribute) \
                    and isinstance(call.func.value, ast.Call):
                inner = _dotted(call.func.value.func)
                name = f"{inner}(...).{call.func.attr}" if inner else None
            if name:
                seen.setdefault(name, None)
    return list(seen)


# ------------------------------------------------------------------ stubbing one cell
class _Text:
    """Converts ``ast`` positions (line from 1, UTF-8 byte column) to string offsets."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def line(self, lineno: int) -> str:
        """Line ``lineno`` (from 1) without its line break."""
        return self.lines[lineno - 1].rstrip("\r\n") if lineno <= len(self.lines) else ""

    def offset(self, lineno: int, byte_col: int) -> int:
        """The string offset of an ``ast`` position."""
        chars = len(self.line(lineno).encode("utf-8")[:byte_col].decode("utf-8", "replace"))
        return self.starts[lineno - 1] + chars

    def char_offset(self, lineno: int, col: int) -> int:
        """The string offset of a ``tokenize`` position (character column)."""
        return self.starts[lineno - 1] + col

    def indent_of(self, lineno: int) -> str:
        """The leading whitespace of line ``lineno``, exactly as written (tabs kept)."""
        line = self.line(lineno)
        return line[: len(line) - len(line.lstrip(" \t"))]


def _header_colon(tokens: list[tokenize.TokenInfo], text: _Text,
                  node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int]:
    """``(line of the def's colon, string offset after it and after a comment on its line)``.

    The colon that ends a ``def`` header is the last ``:`` before the first
    statement of its body (annotations may hold other colons, the body may not).
    """
    def_start = (node.lineno, 0)
    body = node.body[0]
    body_start = text.offset(body.lineno, body.col_offset)
    colon = None
    for tok in tokens:
        pos = text.char_offset(*tok.start)
        if pos >= body_start:
            break
        if tok.type == tokenize.OP and tok.string == ":" and tok.start >= def_start:
            colon = tok
    if colon is None:  # cannot happen for code that parsed
        raise StudentVersionError(f"no ':' found after `def {node.name}`")
    keep = after = text.char_offset(*colon.end)
    for tok in tokens:
        if tok.start[0] == colon.end[0] and text.char_offset(*tok.start) >= after:
            if tok.type == tokenize.COMMENT:  # a comment on the def line (a noqa) stays
                keep = text.char_offset(*tok.end)
            break
    return colon.end[0], keep


_REST_OF_LINE = re.compile(r"[ \t]*;?[ \t]*(#[^\n]*)?")


def _body_end(text: _Text, node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """The string offset where the function's code ends, trailing comments included.

    A comment after the last statement on its line, and comment lines indented
    under the ``def`` right after it, belong to the body (they may explain it).
    """
    end = text.offset(node.end_lineno, node.end_col_offset)
    match = _REST_OF_LINE.match(text.source, end)
    if match and text.source[match.end():match.end() + 1] in ("", "\n", "\r"):
        end = match.end()
    def_indent = text.indent_of(node.lineno)
    lineno = node.end_lineno + 1
    while lineno <= len(text.lines):
        line = text.line(lineno)
        stripped = line.strip()
        indent = text.indent_of(lineno)
        if stripped.startswith("#") and indent.startswith(def_indent) and len(indent) > len(def_indent):
            end = text.starts[lineno - 1] + len(line)
        elif stripped:
            break
        lineno += 1
    return end


def _indent_unit(source: str, def_indent: str) -> str:
    """One level of indentation in the style of the cell (a tab or four spaces)."""
    if "\t" in def_indent or any(line.startswith("\t") for line in source.splitlines()):
        return "\t"
    return "    "


def _docstring(node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.Expr | None:
    """The docstring statement of ``node``, if it has one."""
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        return first
    return None


def _raise_stub(hint: str, indent: str, width: int = 88) -> str:
    """``raise NotImplementedError("...")`` over several lines that fit ``width``."""
    room = max(30, width - len(indent.expandtabs(4)) - 8)
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


def _check_phrase(piece: Piece) -> str:
    """What the nudge says about checks: the truth, for this piece."""
    if piece.check is UNKNOWN_CHECK:
        return "Run the cells that use it to try it."
    if piece.check is None:
        return ("No automatic check tests this piece: run the cells that use it and "
                "compare what they show with the text.")
    where = "after" if piece.check.cell > piece.cell else "before"
    return (f'The check cell check_exercise("{piece.check.exercise}", ...) {where} that '
            "cell tells you when it is right.")


def nudge(piece: Piece) -> str:
    """The first-stage hint a stub raises: what to write, where to read, whether it is checked."""
    what = f" — {piece.summary.rstrip('.')}" if piece.summary else ""
    stuck = "" if piece.check is UNKNOWN_CHECK else " Stuck? Open 'Hint 2' under that cell."
    return (f"{STUB_MARKER}: write `{piece.qualname}`{what}. The text above the cell that "
            f"defines it says what it computes. {_check_phrase(piece)}{stuck}")


def recipe(piece: Piece) -> str:
    """The second-stage hint (Markdown): what the chapter's code calls, and its checks."""
    n_lines = len([ln for ln in piece.body.splitlines() if ln.strip()])
    calls = ", ".join(f"`{c}`" for c in piece.calls) if piece.calls else "no function"
    text = (f"- **`{piece.qualname}`**: the chapter's version is {n_lines} line"
            f"{'s' if n_lines != 1 else ''} long and calls {calls}.")
    if piece.check is None:
        return text + " No automatic check tests it."
    text += (f' The check `check_exercise("{piece.check.exercise}", ...)` tests that it')
    if not piece.check.tests:
        return text + " gives the answers worked out by hand."
    items = "".join(f"\n  - {what} (if not: {hint})" for what, hint in piece.check.tests)
    return text + ":" + items


def _hint_cell(pieces: list[Piece], cell_id: str | None) -> nbformat.NotebookNode:
    """The folded Markdown cell of second-stage hints under one stubbed export cell.

    ``cell_id``: a fixed id (so the student version is the same at every run), or
    ``None`` for a notebook older than nbformat 4.5, whose cells have no id.
    """
    body = "\n".join(recipe(p) for p in pieces)
    source = ("<details>\n<summary>✏️ Hint 2 for the cell above: the recipe "
              "(open it only when you are stuck)</summary>\n\n" + body + "\n\n</details>")
    cell = nbformat.v4.new_markdown_cell(source, metadata={"tags": [HINT_TAG]})
    if cell_id is None:
        cell.pop("id", None)
    else:
        cell.id = cell_id
    return cell


def _parse(source: str, where: str) -> ast.Module:
    """``ast.parse(source)``, or a :class:`StudentVersionError` naming ``where``."""
    error = compile_error(source, where)
    if error:
        raise StudentVersionError(error + "\n    Fix the cell in the chapter (it must compile "
                                  "to be exported), then make the student version again.")
    return ast.parse(source)


def _pieces_of_cell(source: str, where: str, cell: int = 0
                    ) -> tuple[ast.Module, list[tuple[Piece, ast.FunctionDef | ast.AsyncFunctionDef]]]:
    """Parse one export cell; every piece it could stub, with its node."""
    tree = _parse(source, where)
    text = _Text(source)
    found = []
    for qualname, node in _function_nodes(tree):
        doc = _docstring(node)
        code = node.body[1:] if doc is not None else node.body
        body = ""
        if code:
            start = text.offset(code[0].lineno, code[0].col_offset)
            body = text.source[start:_body_end(text, node)]
        summary = (ast.get_docstring(node) or "").strip().splitlines()
        found.append((Piece(qualname, node.name, cell, summary[0] if summary else "",
                            body, _calls(code)), node))
    return tree, found


def _stub_cell(source: str, pieces: list[tuple[Piece, ast.FunctionDef | ast.AsyncFunctionDef]],
               where: str) -> str:
    """``source`` with the body of every piece in ``pieces`` replaced by its stub."""
    text = _Text(source)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits = []
    for piece, node in pieces:
        doc = _docstring(node)
        colon_line, keep = _header_colon(tokens, text, node)
        first = node.body[0]
        if first.lineno == colon_line:  # a one-line def, or a docstring on the def line
            indent = text.indent_of(node.lineno) + _indent_unit(source, text.indent_of(node.lineno))
        else:
            indent = text.indent_of(first.lineno)
        new = "\n"
        if doc is not None:
            segment = text.source[text.offset(doc.lineno, doc.col_offset):
                                  text.offset(doc.end_lineno, doc.end_col_offset)]
            new += f"{indent}{segment}\n"
        new += _raise_stub(nudge(piece), indent)
        edits.append((keep, _body_end(text, node), new))
    out = source
    for start, end, new in sorted(edits, reverse=True):
        out = out[:start] + new + out[end:]
    _verify_stubbed(out, [p for p, _ in pieces], where)
    return out


def _verify_stubbed(out: str, pieces: list[Piece], where: str) -> None:
    """Refuse (a bug of this tool, never the chapter's) unless ``out`` compiles and each
    stubbed body is only a docstring and the ``raise``."""
    error = compile_error(out, f"the student version of {where}")
    if error:
        raise StudentVersionError(f"{error}\n    This is a bug of tools/student_version.py: "
                                  "please report it with the cell.")
    wanted = {p.qualname for p in pieces}
    for qualname, node in _function_nodes(ast.parse(out)):
        if qualname in wanted:
            code = node.body[1:] if _docstring(node) is not None else node.body
            if len(code) != 1 or not isinstance(code[0], ast.Raise):
                raise StudentVersionError(
                    f"{where}: the stub of `{qualname}` kept code besides the raise. This is a "
                    "bug of tools/student_version.py: please report it with the cell.")


def stub_source(source: str, only: set[str] | None = None) -> tuple[str, int]:
    """``source`` with function bodies replaced by stubs; returns ``(text, n_stubs)``.

    ``only`` (e.g. ``{"xcov_penalty", "KSparse.mask"}``) limits the stubs to
    those names; by default every function and method is stubbed.  Outside a
    notebook the hints say nothing about checks (:func:`build` makes a whole
    notebook's student version, whose hints say which pieces a check tests).
    """
    _, found = _pieces_of_cell(source, "the cell")
    for piece, _ in found:
        piece.check = UNKNOWN_CHECK
    chosen = [(p, n) for p, n in found if only is None or p.qualname in only or p.name in only]
    if not chosen:
        return source, 0
    return _stub_cell(source, chosen, "the cell"), len(chosen)


# ------------------------------------------------------------------ checks
def _exercises() -> dict[str, object]:
    """``helpers.checks.EXERCISES``: ``{key: exercise}`` (see :func:`exercise_info`)."""
    from helpers.checks import EXERCISES

    return EXERCISES


def exercise_info(entry: object) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``(title, ((what, hint), ...))`` of one entry of ``helpers.checks.EXERCISES``.

    An entry is an object with ``title`` and ``checks`` (each check with ``what``
    and ``hint``), or a ``(title, make_checks)`` pair whose checks are read from
    the source of ``make_checks`` without running it.
    """
    title = getattr(entry, "title", None)
    if isinstance(title, str):
        checks = getattr(entry, "checks", ())
        checks = () if callable(checks) else checks
        # the folded second-stage hint carries each check's recipe (its steps), or its
        # nudge where it has no recipe
        tests = tuple((c.what, getattr(c, "recipe", "") or c.hint) for c in checks
                      if isinstance(getattr(c, "what", None), str)
                      and isinstance(getattr(c, "hint", None), str))
        return title, tests
    title, make_checks = entry[0], entry[1]
    return str(title), _check_tests(make_checks)


def checked_names(title: str) -> set[str]:
    """The pieces an exercise title names: ``"Exercise 1 · KSparse.mask and KSparse.call"``
    -> ``{"KSparse.mask", "KSparse.call"}``."""
    named = title.split("·", 1)[-1]
    return {n.strip().strip("`") for n in re.split(r",| and ", named) if n.strip()}


def _check_tests(make_checks: object) -> tuple[tuple[str, str], ...]:
    """``(what, hint)`` of every ``Check(...)`` that ``make_checks`` builds, read from its
    source without running it (empty when it cannot be read)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(make_checks)))
    except (OSError, TypeError, SyntaxError):
        return ()
    tests = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _dotted(node.func) == "Check":
            args = {i: a for i, a in enumerate(node.args)}
            # Check(what, probe, judge, hint, recipe=""): the recipe when given, else the hint
            args.update({{"what": 0, "hint": 3, "recipe": 4}.get(k.arg, -1): k.value
                         for k in node.keywords})
            what, hint, steps = args.get(0), args.get(3), args.get(4)
            if isinstance(steps, ast.Constant) and isinstance(steps.value, str) and steps.value:
                hint = steps
            if all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in (what, hint)):
                tests.append((what.value, hint.value))
    return tuple(tests)


def _chapter_checks(path: str, cells: list, pieces: list[Piece]) -> None:
    """Attach to each piece the check cell that tests it (``check_exercise`` in the chapter).

    Raises :class:`StudentVersionError` when a check cell names an unknown exercise
    or one whose title names no piece of the chapter: the hints could not tell the
    truth about it.
    """
    exercises = None
    by_name: dict[str, list[Piece]] = {}
    for piece in pieces:
        by_name.setdefault(piece.qualname, []).append(piece)
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        for match in _CHECK_CALL.finditer(cell.source):
            key = match.group("key")
            exercises = exercises if exercises is not None else _exercises()
            if key not in exercises:
                raise StudentVersionError(
                    f"{path}, cell {index} (0-based; first line: {first_code_line(cell.source)!r}) "
                    f"runs check_exercise({key!r}), which helpers/checks.py does not know (it "
                    f"knows {', '.join(sorted(exercises))}). Fix the cell's exercise name.")
            title, tests = exercise_info(exercises[key])
            names = checked_names(title)
            targets = [p for n in names for p in by_name.get(n, [])]
            if not targets:
                raise StudentVersionError(
                    f"{path}, cell {index}: the check {key!r} is titled {title!r} in "
                    f"helpers/checks.py, which names {sorted(names)}, but the chapter's export "
                    "cells define none of them, so the hints cannot say which piece it tests. "
                    "Make the title name the checked pieces ('Exercise N · Cls.method and f').")
            info = CheckInfo(key, index, tests)
            for piece in targets:
                piece.check = info


# ------------------------------------------------------------------ one notebook
_FENCE = re.compile(r"(?ms)^(?P<fence>`{3,}|:{3,})\{admonition\}[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$\n?")


def strip_solutions(markdown: str) -> str:
    """``markdown`` without its hidden solutions (dropdown admonitions titled "Solution...")."""

    def drop(match: re.Match) -> str:
        head = match.group(0).split("\n", 1)[0]
        hidden = ":class: dropdown" in match.group("body")
        return "" if hidden and "olution" in head else match.group(0)

    return _FENCE.sub(drop, markdown)


def build(path: Path, only: set[str] | None = None) -> StudentVersion:
    """The student version of the notebook at ``path``, with every stubbed piece.

    ``only`` limits the stubs to those names (qualified, ``KSparse.mask``, or
    bare, ``mask``); names that match nothing are not an error here (see
    :func:`unknown_names`).  Raises :class:`StudentVersionError` naming the
    notebook and the cell when an export cell does not compile.
    """
    nb = nbformat.read(path, as_version=4)
    rel = _display(path)
    stubbable: dict[int, list[tuple[Piece, ast.AST]]] = {}
    candidates: set[str] = set()
    private: set[str] = set()
    every: list[Piece] = []  # all pieces, stubbed or not (--only): checks are mapped on them
    for index, cell in enumerate(nb.cells):
        if is_export_cell(cell):
            where = f"{rel}, cell {index} (0-based)"
            tree, found = _pieces_of_cell(cell.source, where, index)
            candidates |= {p.qualname for p, _ in found} | {p.name for p, _ in found}
            private |= _private_names(tree)
            every += [p for p, _ in found]
            chosen = [(p, n) for p, n in found
                      if only is None or p.qualname in only or p.name in only]
            if chosen:
                stubbable[index] = chosen
    pieces = [p for found in stubbable.values() for p, _ in found]
    _chapter_checks(rel, nb.cells, every)
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            cell.source = strip_solutions(cell.source)
            if not cell.source.strip():
                continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
            if index in stubbable:
                where = f"{rel}, cell {index} (0-based)"
                cell.source = _stub_cell(cell.source, stubbable[index], where)
                # of its metadata only the tags stay (anything else may describe the answer)
                tags = cell.metadata.get("tags")
                cell.metadata = nbformat.NotebookNode({"tags": tags} if tags else {})
                cells.append(cell)
                with_ids = (nb.nbformat, nb.nbformat_minor) >= (4, 5)
                cells.append(_hint_cell([p for p, _ in stubbable[index]],
                                        f"{HINT_TAG}-{index}" if with_ids else None))
                continue
        cells.append(cell)
    nb.cells = cells
    nb.metadata.pop("widgets", None)
    nb.metadata["hidden_factors"] = {"student_version_of": path.name, "stubs": len(pieces)}
    return StudentVersion(path, nb, pieces, candidates, private)


def _display(path: Path) -> str:
    """``path`` as messages show it: relative to the repository when inside it."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def unknown_names(only: set[str], versions: list[StudentVersion]) -> list[str]:
    """A message for each name of ``only`` that no piece of ``versions`` has."""
    public = set().union(*(v.candidates for v in versions))
    private = set().union(*(v.private for v in versions))
    methods = {c.rsplit(".", 1)[1] for c in public if "." in c}
    where = ", ".join(_display(v.source) for v in versions)
    messages = []
    for name in sorted(only - public):
        if name in private:
            messages.append(f"--only {name!r}: that is a private helper of {where}; private "
                            "helpers always stay as given. Name the public functions to stub.")
            continue
        close = difflib.get_close_matches(name, sorted(public), n=3, cutoff=0.6)
        listed = sorted(c for c in public if "." in c or c not in methods)
        advice = (f"Did you mean {' or '.join(repr(c) for c in close)}?" if close else
                  f"The names there: {', '.join(listed) or 'none (no export cells)'}.")
        messages.append(f"--only {name!r}: no exported function or method of {where} has that "
                        f"name (expected 'function' or 'Class.method'). {advice}")
    return messages


def student_notebook(path: Path, only: set[str] | None = None
                     ) -> tuple[nbformat.NotebookNode, int]:
    """The student version of the notebook at ``path`` and its number of stubs.

    Raises :class:`StudentVersionError` when an export cell does not compile or a
    name of ``only`` matches no exported function or method of the notebook.
    """
    version = build(path, only)
    if only is not None:
        problems = unknown_names(only, [version])
        if problems:
            raise StudentVersionError("\n".join(problems))
    return version.notebook, version.n_stubs


def _notebook_text(nb: nbformat.NotebookNode) -> str:
    """The notebook as ``nbformat.write`` would save it (validated JSON, a final newline)."""
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def main(argv: list[str] | None = None) -> int:
    """Make and write every student version, or refuse (exit 2) having written nothing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "students")
    parser.add_argument("--only", default=None,
                        help="comma-separated names to stub (e.g. KSparse.mask,KSparse.call); "
                             "default: every exported function and method")
    args = parser.parse_args(argv)
    only = None
    if args.only is not None:
        only = {name.strip() for name in args.only.split(",") if name.strip()}
        if not only:
            parser.error(f"--only {args.only!r} names nothing: expected names such as "
                         "xcov_penalty or KSparse.mask,KSparse.call")
    problems: list[str] = []
    versions: list[StudentVersion] = []
    for path in args.notebooks:
        if not path.is_file():
            problems.append(f"{path}: no such notebook (expected a chapter such as "
                            "chapters/01_xcov.ipynb)")
            continue
        try:
            versions.append(build(path, only))
        except StudentVersionError as err:
            problems.append(str(err))
        except (nbformat.reader.NotJSONError, ValueError) as err:
            problems.append(f"{path}: not a readable notebook ({type(err).__name__}: {err})")
    if only is not None and not problems:
        problems += unknown_names(only, versions)
    if problems:
        for p in problems:
            print(f"student_version: {p}", file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return 2
    texts = [(v, _notebook_text(v.notebook)) for v in versions
             if only is None or v.n_stubs]  # with --only, a chapter without them is skipped
    args.out.mkdir(parents=True, exist_ok=True)
    for version, text in texts:
        target = args.out / version.source.name
        atomic_write_text(target, text)
        checked = sum(p.check is not None for p in version.pieces)
        print(f"{target}: {version.n_stubs} stubs to implement, {checked} with a check")
    for version in versions:
        if only is not None and not version.n_stubs:
            print(f"{version.source}: skipped (none of --only is defined there)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
