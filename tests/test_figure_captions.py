"""Every output figure has a caption, a name and real alt text; the prose cites figures by number.

Captions live where Jupyter and Colab show nothing raw: myst-nb's cell metadata,
``"mystnb": {"figure": {"caption": ..., "name": "fig-..."}, "image": {"alt": ...}}``.

myst-nb wraps *every* display output of a cell with figure metadata in its own
figure, all with the cell's name: a cell that shows two images, or prints a line
or a table next to its image, would give duplicate targets and captioned tables.
Such a cell gets alt text only, and is listed in ``ONE_FIGURE_PER_CELL_PENDING``
until its code is split (that needs re-executing the chapter); the test fails
when a listed cell no longer needs the exception.

Sphinx numbers captioned figures across the whole book, in the table of
contents' order (``numfig`` is on, the toctree is not numbered): the landing
page's figure is Fig. 1, and a chapter's first figure carries on from the pages
before it. A link ``[Figure N](#fig-name)`` in a notebook's prose must name a
figure of the same notebook, and N must be the number Sphinx gives it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tools.figure_numbers import (
    LINK,
    book_figure_numbers,
    figure_of,
    md_figures,
    page_figures,
    shown,
    text_of,
    toc_pages,
)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted([*(ROOT / "chapters").glob("*.ipynb"), *(ROOT / "lab_notes").glob("*.ipynb")])

# (notebook, cell id): cells that show more than one display output, so that
# figure metadata would make several figures with one name. Alt text only, for now.
ONE_FIGURE_PER_CELL_PENDING: set[tuple[str, str]] = set()  # none left: every cell shows one

PATH_LIKE = re.compile(r"(^|[\s/])[\w.-]+\.(png|jpe?g|svg|gif)\b|^\.{0,2}/|_images/", re.I)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


_text, _shown, _figure, _md_figures = text_of, shown, figure_of, md_figures
_page_figures, _toc_pages = page_figures, toc_pages


def _image_cells(nb: dict):
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code" and any(
                "image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
            yield index, cell


def _alt(cell: dict) -> str:
    return str(cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", ""))


def problems(path: Path, numbers: dict[Path, dict[str, int]] | None = None,
             nb: dict | None = None) -> list[str]:
    """What is wrong with one notebook's figures and figure links ([] when nothing)."""
    nb = _load(path) if nb is None else nb
    rel = _rel(path)
    found = []
    for index, cell in _image_cells(nb):
        where = f"{rel} cell {index} ({cell.get('id')})"
        figure, alt = _figure(cell), _alt(cell)
        pending = (rel, cell.get("id")) in ONE_FIGURE_PER_CELL_PENDING
        shown = sum(map(_shown, cell.get("outputs", [])))
        if pending:
            if shown == 1:
                found.append(f"{where} shows one output now: give it a caption and a name and "
                             "take it off ONE_FIGURE_PER_CELL_PENDING")
            if figure:
                found.append(f"{where} shows {shown} outputs: figure metadata would make "
                             f"{shown} figures with one name")
        else:
            if shown != 1:
                found.append(f"{where} shows {shown} display outputs; myst-nb makes each a "
                             "figure with the same caption and name")
            caption, name = str(figure.get("caption", "")).strip(), str(figure.get("name", ""))
            if len(caption.split()) < 5:
                found.append(f"{where}: no caption (mystnb.figure.caption, a sentence or two)")
            if not re.fullmatch(r"fig-[a-z0-9]+(-[a-z0-9]+)*", name):
                found.append(f"{where}: name {name!r} is not fig-<chapter>-<slug>")
            if re.search(r"Fig(ure|\.)\s*\d", caption):
                found.append(f"{where}: the caption cites a figure number, which no test keeps right")
        if len(alt.split()) < 5 or PATH_LIKE.search(alt):
            found.append(f"{where}: alt text {alt!r} is not a description of at least 5 words")
    if numbers is not None:
        own = numbers.get(path, {})
        for index, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "markdown":
                continue
            for number, name in LINK.findall(_text(cell["source"])):
                if name not in own:
                    found.append(f"{rel} cell {index}: [Figure {number}](#{name}) names no "
                                 "captioned figure of this notebook")
                elif int(number) != own[name]:
                    found.append(f"{rel} cell {index}: #{name} is Figure {own[name]} in the "
                                 f"book, not Figure {number}")
    return found


@pytest.fixture(scope="module")
def numbers():
    return book_figure_numbers()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_figures_have_caption_name_and_alt_and_links_their_number(path, numbers):
    assert problems(path, numbers) == []


def test_figure_names_are_unique_in_the_book():
    seen: dict[str, str] = {}
    clashes = []
    for page in _toc_pages():
        for name in filter(None, _page_figures(page)):
            if name in seen:
                clashes.append(f"{name}: {seen[name]} and {_rel(page)}")
            seen.setdefault(name, _rel(page))
    assert clashes == []


def test_pending_cells_exist():
    """An exception names a real image cell (a renamed cell id would hide a figure)."""
    ids = {(_rel(p), c.get("id")) for p in NOTEBOOKS for _, c in _image_cells(_load(p))}
    assert ONE_FIGURE_PER_CELL_PENDING - ids == set()


def test_the_checks_catch_a_broken_caption_alt_name_and_number(numbers):
    path = ROOT / "chapters" / "01_xcov.ipynb"
    nb = _load(path)
    assert problems(path, numbers, nb) == []
    cells = [c for _, c in _image_cells(nb) if _figure(c)]
    linked = next(c for c in nb["cells"] if c["cell_type"] == "markdown"
                  and LINK.search(_text(c["source"])))

    def broken(change) -> list[str]:
        copy = json.loads(json.dumps(nb))
        change(copy, [c for _, c in _image_cells(copy) if _figure(c)],
               next(c for c in copy["cells"] if c.get("id") == linked.get("id")))
        return problems(path, numbers, copy)

    def no_caption(nb, figs, md):
        figs[0]["metadata"]["mystnb"]["figure"]["caption"] = ""

    def path_alt(nb, figs, md):
        figs[0]["metadata"]["mystnb"]["image"]["alt"] = "../_images/44556f5a.png"

    def bad_name(nb, figs, md):
        figs[1]["metadata"]["mystnb"]["figure"]["name"] = "scatter"

    def wrong_number(nb, figs, md):
        text = _text(md["source"])
        number = LINK.search(text).group(1)
        md["source"] = text.replace(f"[Figure {number}]", f"[Figure {int(number) + 1}]", 1)

    def foreign_name(nb, figs, md):
        md["source"] = _text(md["source"]) + " See [Figure 2](#fig-warmup-mnist-samples)."

    for change, words in [(no_caption, "no caption"), (path_alt, "alt text"),
                          (bad_name, "is not fig-"), (wrong_number, "in the book, not Figure"),
                          (foreign_name, "names no captioned figure")]:
        found = broken(change)
        assert len(found) == 1 and words in found[0], (change.__name__, found)
    assert len(cells) >= 2


def test_the_tool_rewrites_a_wrong_number_and_nothing_else(numbers, tmp_path):
    """``python -m tools.figure_numbers --fix`` puts back the number a figure added before moved."""
    from tools.figure_numbers import fix_notebook, wrong_links

    path = ROOT / "chapters" / "01_xcov.ipynb"
    own = numbers[path]
    text = path.read_text(encoding="utf-8")
    number, name = LINK.search(text).groups()
    copy = tmp_path / path.name
    copy.write_text(text.replace(f"[Figure {number}](#{name})",
                                 f"[Figure {int(number) + 3}](#{name})", 1), encoding="utf-8")
    assert wrong_links(copy, own)
    assert fix_notebook(copy, own) == [f"('{int(number) + 3}', '{name}') -> ('{number}', '{name}')"]
    assert wrong_links(copy, own) == [] and json.loads(copy.read_text()) == json.loads(text)
