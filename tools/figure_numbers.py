"""Keep the prose's figure links right: ``[Figure N](#fig-name)`` with N the book's number.

    python -m tools.figure_numbers          # list the links whose number is wrong (exit 1)
    python -m tools.figure_numbers --fix    # rewrite them (atomically), then list nothing

Sphinx numbers captioned figures across the whole book in the table of contents'
order (``numfig`` is on, the toctree is not numbered): a figure added to chapter 0
moves the number of every later figure.  Prose cannot use ``{numref}`` (Jupyter and
Colab would show the role raw), so it writes plain links with the number, and this
tool keeps the numbers right after figures are added, removed or moved.  Only link
text changes; outputs are untouched, so nothing needs re-executing.

A notebook's figure is a code cell with ``mystnb.figure.caption`` metadata (one per
display output it shows); a Markdown page's is a ``{figure}`` directive with a caption.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

from helpers.files import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[Figure\s+(\d+)\]\(#([^)\s]+)\)")
MD_FIGURE = re.compile(r"^(`{3,}|:{3,})\{figure\}[^\n]*\n(.*?)^\1\s*$", re.M | re.S)


def text_of(source) -> str:
    """A cell's source as one string (nbformat stores a string or a list of lines)."""
    return "".join(source) if isinstance(source, list) else source


def shown(output: dict) -> bool:
    """A display output that renders as something (a glued value alone renders as nothing)."""
    if output.get("output_type") not in {"display_data", "execute_result"}:
        return False
    return any(not kind.startswith("application/papermill.record") for kind in output.get("data", {}))


def figure_of(cell: dict) -> dict:
    """The cell's ``mystnb.figure`` metadata ({} when it has none)."""
    return cell["metadata"].get("mystnb", {}).get("figure") or {}


def md_figures(text: str) -> list[str]:
    """Figures written as a figure directive with a caption (a body line that is not an option)."""
    names = []
    for match in MD_FIGURE.finditer(text):
        body = match.group(2).splitlines()
        options = [line for line in body if line.startswith(":")]
        caption = [line for line in body if line.strip() and not line.startswith(":")]
        if caption:
            names.append(next((o.split(":", 2)[2].strip() for o in options
                               if o.startswith(":name:")), ""))
    return names


def page_figures(path: Path) -> list[str]:
    """The names of a page's numbered figures, in page order ('' for one without a name)."""
    if path.suffix != ".ipynb":
        return md_figures(path.read_text(encoding="utf-8"))
    names = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            names += md_figures(text_of(cell["source"]))
        elif cell["cell_type"] == "code" and figure_of(cell).get("caption"):
            names += [figure_of(cell).get("name", "")] * sum(map(shown, cell.get("outputs", [])))
    return names


def toc_pages(root: Path = ROOT) -> list[Path]:
    """The book's pages in reading order, as Sphinx walks them when it numbers figures."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    pages = []
    for name in files:
        found = [p for p in (root / f"{name}.ipynb", root / f"{name}.md") if p.exists()]
        if not found:
            raise FileNotFoundError(f"_toc.yml names {name!r}, which is neither a notebook "
                                    "nor a Markdown page: fix _toc.yml or add the page.")
        pages.append(found[0])
    return pages


def book_figure_numbers(root: Path = ROOT) -> dict[Path, dict[str, int]]:
    """Page -> {figure name: the number Sphinx gives it}, counting the whole book in order."""
    numbers, count = {}, 0
    for page in toc_pages(root):
        numbers[page] = {}
        for name in page_figures(page):
            count += 1
            if name:
                numbers[page][name] = count
    return numbers


def renumber(text: str, own: dict[str, int]) -> str:
    """``text`` with each link to a figure of ``own`` carrying that figure's number."""
    return LINK.sub(lambda m: (f"[Figure {own[m.group(2)]}](#{m.group(2)})"
                               if m.group(2) in own else m.group(0)), text)


def fix_notebook(path: Path, own: dict[str, int]) -> list[str]:
    """Rewrite ``path``'s wrong figure numbers; the links changed, as ``old -> new``."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    changed = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        old = text_of(cell["source"])
        new = renumber(old, own)
        if new != old:
            changed += [f"{a} -> {b}" for a, b in zip(LINK.findall(old), LINK.findall(new),
                                                       strict=True) if a != b]
            cell["source"] = new.splitlines(keepends=True)
    if changed:
        atomic_write_text(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return changed


def wrong_links(path: Path, own: dict[str, int]) -> list[str]:
    """The links of ``path`` whose number is not the book's (a link to no figure included)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            for number, name in LINK.findall(text_of(cell["source"])):
                if name not in own:
                    out.append(f"cell {index}: [Figure {number}](#{name}) names no captioned "
                               "figure of this notebook")
                elif int(number) != own[name]:
                    out.append(f"cell {index}: #{name} is Figure {own[name]}, not {number}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fix", action="store_true", help="rewrite the wrong numbers")
    args = parser.parse_args(argv)
    numbers = book_figure_numbers()
    bad = 0
    for page, own in numbers.items():
        if page.suffix != ".ipynb":
            continue
        rel = page.relative_to(ROOT).as_posix()
        if args.fix:
            for change in fix_notebook(page, own):
                print(f"{rel}: {change}")
        for problem in wrong_links(page, own):
            print(f"{rel} {problem}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
