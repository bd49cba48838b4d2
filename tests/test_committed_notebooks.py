"""The committed chapters are what the book renders: check they are real, complete runs."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import nbformat
import pytest
import yaml

import helpers
from helpers import cited_numbers
from tools.first_cell import first_cell

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
LAB_NOTES = sorted((ROOT / "lab_notes").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = (ROOT / "_toc.yml").read_text()
FIRST_CELL = first_cell()


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks in chapters/"


@pytest.fixture(params=NOTEBOOKS + LAB_NOTES, ids=lambda p: f"{p.parent.name}/{p.name}")
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_executed_in_order_top_to_bottom(notebook):
    path, nb = notebook
    counts = [c.execution_count for c in _code_cells(nb)]
    assert None not in counts, f"{path.name}: some code cells were never executed"
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: cells were not executed once, in order, in a fresh kernel: {counts}"
    )


def test_no_error_outputs(notebook):
    path, nb = notebook
    for i, cell in enumerate(_code_cells(nb)):
        for out in cell.get("outputs", []):
            assert out.output_type != "error", f"{path.name}: code cell {i} has an error output"
            if out.output_type == "stream" and out.name == "stderr":
                assert "Traceback" not in out.text, f"{path.name}: code cell {i} printed a traceback"


def test_no_control_characters_in_the_text(notebook):
    """A TeX command written with one backslash in a notebook's JSON (``"\\beta"``)
    loads as a control character (backspace + ``eta``): MathJax shows an error."""
    path, nb = notebook
    for i, cell in enumerate(nb.cells):
        bad = sorted({hex(ord(ch)) for ch in cell.source if ord(ch) < 32 and ch not in "\n\t"})
        assert not bad, (f"{path.name}: cell {i} has control characters {bad}; "
                         "write TeX backslashes as \\\\ in the JSON")


def test_outputs_come_from_book_or_full_run(notebook):
    path, nb = notebook
    meta = nb.metadata.get("hidden_factors", {})
    assert meta.get("profile") in {"book", "full"}, (
        f"{path.name}: metadata says profile={meta.get('profile')!r}; re-run it with "
        "`python -m tools.execute_notebook` under HF_PROFILE=book"
    )
    banner = "".join(
        out.get("text", "") for c in _code_cells(nb) for out in c.get("outputs", [])
        if out.output_type == "stream"
    )
    profiles = re.findall(r"profile=(\w+)", banner)
    assert profiles and set(profiles) <= {"book", "full"}, f"{path.name}: banner shows {profiles}"


def test_first_cell_installs_the_matching_helpers(notebook):
    """Every chapter starts with tools/first_cell.py's cell: this repository, this version."""
    path, nb = notebook
    first = _code_cells(nb)[0].source
    assert first == FIRST_CELL, (
        f"{path.name}: its first cell differs from tools/first_cell.py's; run "
        "`python tools/first_cell.py` and re-execute the chapter")
    assert f'repo = "{CONFIG["repository"]["url"]}"' in first  # wheel, else git tag
    assert f'HELPERS = "{helpers.__version__}"' in first
    assert "hide-input" in _code_cells(nb)[0].metadata.get("tags", [])  # folded in the book
    assert "from helpers.notebook import setup" in _code_cells(nb)[1].source


def test_notebook_is_in_the_table_of_contents(notebook):
    path, _ = notebook
    assert f"{path.parent.name}/{path.stem}" in TOC, f"{path.name} is missing from _toc.yml"


def test_markdown_tables_printed_by_cells_render_in_the_book():
    """Results tables are printed as Markdown; myst-nb's default (CommonMark) has no tables."""
    printed_tables = [
        p.name for p in NOTEBOOKS for c in _code_cells(nbformat.read(p, as_version=4))
        for out in c.get("outputs", []) if "|---" in out.get("data", {}).get("text/markdown", "")
    ]
    if printed_tables:
        fmt = CONFIG["sphinx"]["config"].get("nb_render_markdown_format", "commonmark")
        assert fmt in {"myst", "gfm"}, (
            f"{sorted(set(printed_tables))} print Markdown tables, but _config.yml renders cell "
            f"Markdown as {fmt!r}; set sphinx.config.nb_render_markdown_format: myst")


def _glued_names(nb) -> set[str]:
    names = set()
    for cell in _code_cells(nb):
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                names.add(name)
    return names


def test_every_number_in_the_prose_is_the_one_its_run_measured(notebook):
    """Each cited number reads exactly what the run glued; no glue role is left raw."""
    path, nb = notebook
    found = cited_numbers.problems(nb)
    assert not found, f"{path.name}: " + "; ".join(found[:5])


# Every chapter page carries one or more kernel-free explorers; their embedded
# PNGs stay within this budget (base64 bytes in the page).
EXPLORER_BUDGET_BYTES = 1_000_000


def test_every_chapter_has_a_kernel_free_explorer_within_budget(notebook):
    path, nb = notebook
    if path.parent.name == "lab_notes":
        pytest.skip("lab notes show recorded evidence; the chapter has the explorers")
    html = [out["data"]["text/html"] for cell in _code_cells(nb) for out in cell.outputs
            if "hf-explorer" in out.get("data", {}).get("text/html", "")]
    assert html, f"{path.name}: no explorer output (an Explorer's kernel-free twin)"
    for page in html:
        assert "application/vnd.jupyter.widget-view+json" in _bundle_of(nb, page), \
            f"{path.name}: the explorer has no live widget for Jupyter, Colab and Binder"
    size = sum(len(page) for page in html)
    assert size <= EXPLORER_BUDGET_BYTES, (
        f"{path.name}: explorers embed {size / 1e6:.2f} MB; the budget is "
        f"{EXPLORER_BUDGET_BYTES / 1e6:.1f} MB a chapter (use fewer images or steps)")
    assert "widgets" not in nb.metadata, \
        f"{path.name}: saved widget state (dead controls in the book); re-execute it"


def _bundle_of(nb, html: str) -> dict:
    for cell in _code_cells(nb):
        for out in cell.outputs:
            if out.get("data", {}).get("text/html") == html:
                return out["data"]
    return {}


def test_printed_lines_fit_the_code_column(notebook):
    """The book shows about 85 characters of output; printed lines keep to 80."""
    path, nb = notebook
    long = []
    for i, cell in enumerate(_code_cells(nb)):
        for out in cell.outputs:
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                text = out.get("text", "")
            elif "text/plain" in out.get("data", {}) and len(out["data"]) == 1:
                text = out["data"]["text/plain"]
            else:
                continue
            long += [f"cell {i}: {line[:60]}…" for line in text.splitlines() if len(line) > 80]
    assert not long, f"{path.name}: printed lines longer than 80 characters: {long}"


def test_code_in_prose_fits_the_column(notebook):
    """Code blocks in Markdown (solutions sit in narrower boxes) keep to 84 characters."""
    path, nb = notebook
    long = [f"cell {i}: {line[:60]}…" for i, cell in enumerate(nb.cells)
            if cell.cell_type == "markdown"
            for block in re.findall(r"```[a-z]*\n(.*?)```", cell.source, re.S)
            for line in textwrap.dedent(block).splitlines() if len(line) > 84]
    assert not long, f"{path.name}: code lines in Markdown longer than 84 characters: {long}"


def test_every_notebook_names_its_kernel(notebook):
    """Jupyter, Colab and VS Code open a notebook with a kernel only if it names one."""
    path, nb = notebook
    spec = nb.metadata.get("kernelspec", {})
    assert spec.get("name") == "python3" and spec.get("language") == "python", \
        f"{path.name}: metadata.kernelspec should name the python3 kernel; got {spec}"
