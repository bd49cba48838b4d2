"""The model diagrams in book/figures/ (tools/diagrams.py): in sync with their source,
accessible, legible on a phone, with a dark mode, and laid out without collisions."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "book" / "figures"
SVG = "{http://www.w3.org/2000/svg}"

diagrams = load_script(ROOT / "tools" / "diagrams.py")
NAMES = sorted(f"{name}.svg" for name in diagrams.MODELS)


def _root(name: str) -> ET.Element:
    return ET.parse(FIGURES / name).getroot()


def test_one_committed_svg_per_model():
    from helpers.chapters import module_name
    from helpers.papers import paper_chapters

    papers = {module_name(c.notebook) for c in paper_chapters()}
    assert set(diagrams.MODELS) == papers | {"warmup"}  # every paper's model, and the warm-up's
    assert sorted(p.name for p in FIGURES.glob("*.svg")) == NAMES


def test_check_passes_on_the_committed_svgs():
    """`python tools/diagrams.py --check`: the committed SVGs are what the script writes."""
    done = subprocess.run([sys.executable, "tools/diagrams.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr + \
        "\nRun `python tools/diagrams.py` and commit book/figures/."


def test_check_fails_on_a_modified_svg(tmp_path, capsys):
    """Breaks on purpose: one edited byte, or one missing file, makes --check fail."""
    folder = tmp_path / "figures"
    shutil.copytree(FIGURES, folder)
    assert diagrams.main(["--check", "--out", str(folder)]) == 0
    path = folder / "xcov.svg"
    path.write_text(path.read_text(encoding="utf-8").replace("encoder", "encodr", 1),
                    encoding="utf-8")
    assert diagrams.main(["--check", "--out", str(folder)]) == 1
    assert "xcov.svg" in capsys.readouterr().out
    assert diagrams.stale(folder) == ["xcov.svg"]
    (folder / "jade.svg").unlink()
    assert diagrams.stale(folder) == ["xcov.svg", "jade.svg"]


def test_output_is_deterministic():
    assert diagrams.render_all() == diagrams.render_all()


@pytest.mark.parametrize("name", NAMES)
def test_svg_is_accessible_and_responsive(name):
    root = _root(name)
    assert root.tag == f"{SVG}svg"
    assert "width" not in root.attrib and "height" not in root.attrib, \
        "no fixed size: the viewBox lets the figure scale to its column"
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox", ""))
    assert "max-width:100%" in root.get("style", "")
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and title.text.strip()
    assert desc is not None and desc.text.strip().endswith(".")
    assert desc.text.count(". ") == 0, "desc is one sentence (the alt text)"
    assert root.get("role") == "img"


@pytest.mark.parametrize("name", NAMES)
def test_svg_has_a_dark_mode(name):
    """Colours are CSS variables, redefined under prefers-color-scheme: dark (the book
    shows the SVG through <img>, which the theme's own dark switch does not reach)."""
    style = _root(name).find(f"{SVG}style").text
    light, dark = style.split("@media (prefers-color-scheme: dark)")
    names = set(re.findall(r"(--[\w-]+):", light))
    assert names and names == set(re.findall(r"(--[\w-]+):", dark))
    assert "var(--ink)" in style and "var(--bg)" in style


@pytest.mark.parametrize("name", NAMES)
def test_text_is_text_and_legible_at_390px(name):
    """Every label is a <text> (never a path), no letter under 13 px on a 390 px phone."""
    root = _root(name)
    width = float(root.get("viewBox").split()[2])
    assert root.find(f".//{SVG}path") is None
    texts = root.findall(f".//{SVG}text")
    assert len(texts) >= 8
    sizes = []
    for el in root.iter():
        if el.tag in (f"{SVG}text", f"{SVG}tspan"):
            assert el.get("font-size"), f"{name}: a text without its font-size"
        if el.get("font-size"):
            sizes.append(float(el.get("font-size")))
    assert min(sizes) * 390 / width >= 13, f"{name}: smallest text {min(sizes)} units"


@pytest.mark.parametrize("model", sorted(diagrams.MODELS))
def test_layout_has_no_collisions(model):
    """No box or line of text leaves the figure or overlaps another (estimated widths)."""
    assert diagrams.MODELS[model]().problems() == []


def test_one_style_for_every_figure():
    """The same stylesheet (palette, fonts, line styles) in every SVG."""
    styles = {_root(name).find(f"{SVG}style").text for name in NAMES}
    assert len(styles) == 1


def test_a_diagram_embedded_in_a_chapter_is_refreshed_from_its_source(tmp_path):
    """Chapters carry each diagram as a data URI (Colab opens one notebook, not the
    repository); `python -m tools.diagrams` rewrites a stale copy, --check names it."""
    import json

    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": [
        "Before.\n\n<!--diagram:xcov-->\n<img class=\"hf-diagram\" alt=\"The XCov model\" "
        "src=\"data:image/svg+xml;base64,AAAA\" style=\"width: 640px; max-width: 100%;\">\n"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "01_xcov.ipynb"
    path.write_text(json.dumps(nb))
    assert diagrams.embed_all([path], check=True) == ["01_xcov.ipynb"]
    assert "AAAA" in path.read_text()  # --check writes nothing
    assert diagrams.embed_all([path]) == ["01_xcov.ipynb"]
    text = "".join(json.loads(path.read_text())["cells"][0]["source"])
    assert diagrams.embedded("xcov", "The XCov model") in text and text.startswith("Before.")
    assert diagrams.embed_all([path], check=True) == []
