"""Measured numbers in a chapter's prose, written from its own run.

A chapter's code cells *glue* what they measure (:func:`helpers.notebook.report`,
:func:`helpers.notebook.glue_record`): the executed notebook keeps each value in an
output named after it.  The prose cites such a value as plain text between two
invisible HTML comments that name it and its format::

    The test accuracy is <!--#xcov_accuracy:.1%-->98.3%<!--/--> after 10 epochs.

Jupyter, Colab, nbconvert and the book all hide the comments and show ``98.3%``,
so the sentence reads the same everywhere (the book needs no glue role).
:func:`fill` writes every cited value from the notebook's own outputs (the
executing tool calls it after each run); :func:`problems` lists every citation
whose text is not what its value formats to, so a test fails when a number in the
text is edited by hand or its run changed it.

Command line (``--check`` lists problems; without it the notebooks are filled)::

    python -m helpers.cited_numbers [--check] chapters/*.ipynb
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

#: ``<!--#key:format-->text<!--/-->``: ``key`` a glued name, ``format`` a Python format spec
CITATION = re.compile(r"<!--#(?P<key>[A-Za-z_][\w.]*)(?::(?P<fmt>[^>]*?))?-->"
                      r"(?P<text>.*?)<!--/-->")
#: the role the book alone understands; none may be left in a chapter's prose
GLUE_ROLE = re.compile(r"\{glue:text\}`(?P<key>[A-Za-z_][\w.]*)(?::(?P<fmt>[^`]*))?`")
_MIME = "application/papermill.record/text/plain"


class UncitedValue(KeyError):
    """A citation names a value the notebook's outputs do not hold."""


def glued_values(nb: dict) -> dict[str, float]:
    """Every value the executed notebook ``nb`` glued, by name (the last one wins)."""
    values: dict[str, float] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            text = output.get("data", {}).get(_MIME)
            if name and text is not None:
                try:
                    values[name] = float("".join(text) if isinstance(text, list) else text)
                except ValueError:
                    continue  # glued text, not a number: nothing prose can cite
    return values


def formatted(value: float, fmt: str | None) -> str:
    """``value`` as the prose shows it (``fmt`` a Python format spec, e.g. ``.1%``)."""
    text = format(value, fmt or ".3g")
    return text.replace("-", "−") if text.startswith("-") else text  # a real minus sign


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _markdown_cells(nb: dict):
    return [c for c in nb.get("cells", []) if c.get("cell_type") == "markdown"]


def _rewrite(source: str, values: dict[str, float], where: str) -> tuple[str, int]:
    """``source`` with every citation and glue role written from ``values``."""
    changed = 0

    def write(match: re.Match) -> str:
        nonlocal changed
        key, fmt = match["key"], match["fmt"]
        if key not in values:
            raise UncitedValue(
                f"{where} cites {key!r}, which no output of the notebook glued: "
                f"report() or glue_record() it in a code cell above, or remove the citation.")
        text = formatted(values[key], fmt)
        if match.groupdict().get("text") != text:
            changed += 1
        spec = f":{fmt}" if fmt else ""
        return f"<!--#{key}{spec}-->{text}<!--/-->"

    return GLUE_ROLE.sub(write, CITATION.sub(write, source)), changed


def fill(nb: dict, values: dict[str, float] | None = None) -> int:
    """Write every citation (and convert any glue role) in ``nb`` from ``values``.

    ``values`` defaults to what ``nb`` itself glued.  Returns how many texts
    changed. A citation of a value nobody glued raises :class:`UncitedValue`
    naming the key and the cell, and ``nb`` is left as it was.
    """
    values = glued_values(nb) if values is None else values
    new_sources: list[tuple[dict, str]] = []
    changed = 0
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "markdown":
            new, count = _rewrite(_source(cell), values, f"cell {index}")
            changed += count
            new_sources.append((cell, new))
    for cell, new in new_sources:
        if new != _source(cell):
            cell["source"] = new
    return changed


def problems(nb: dict) -> list[str]:
    """Every citation in ``nb`` whose text differs from its glued value, and every glue
    role left in its prose; an empty list when the prose cites its run faithfully."""
    values = glued_values(nb)
    found: list[str] = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "markdown":
            continue
        source = _source(cell)
        for match in GLUE_ROLE.finditer(source):
            found.append(f"cell {index}: glue role {match[0]} shows as raw markup outside "
                         f"the book; cite the value instead (python -m helpers.cited_numbers)")
        for match in CITATION.finditer(source):
            key, fmt, text = match["key"], match["fmt"], match["text"]
            if key not in values:
                found.append(f"cell {index}: cites {key!r}, which no output glued")
            elif text != formatted(values[key], fmt):
                found.append(f"cell {index}: {key} reads {text!r} but the run measured "
                             f"{formatted(values[key], fmt)!r}")
    return found


def citations(nb: dict) -> list[str]:
    """The keys the prose of ``nb`` cites, in order (repeats kept)."""
    return [m["key"] for c in _markdown_cells(nb) for m in CITATION.finditer(_source(c))]


def main(argv: list[str] | None = None) -> int:
    import nbformat

    from .files import atomic_write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="list citations that differ from the run; change nothing")
    args = parser.parse_args(argv)
    status = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if args.check:
            for line in problems(nb):
                print(f"{path}: {line}", file=sys.stderr)
                status = 1
            continue
        try:
            changed = fill(nb)
        except UncitedValue as err:
            print(f"{path}: {err.args[0]}", file=sys.stderr)
            status = 1
            continue
        if changed:
            atomic_write_text(path, nbformat.writes(nb) + "\n")
        print(f"{path}: {changed} cited number(s) written")
    return status


if __name__ == "__main__":
    sys.exit(main())
