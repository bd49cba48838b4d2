"""The landing page's picture is a chapter's own output, copied by tools.landing_figure."""

from __future__ import annotations

import json
from pathlib import Path

from tools import landing_figure

ROOT = Path(__file__).resolve().parent.parent


def test_the_landing_figure_is_the_tagged_chapter_output():
    name, png = landing_figure.tagged_png()
    assert png.startswith(b"\x89PNG"), f"{name}: the tagged output is not a PNG"
    assert landing_figure.TARGET.read_bytes() == png, "run python -m tools.landing_figure"
    assert "figures/landing.png" in (ROOT / "book" / "intro.md").read_text()


def test_exactly_one_cell_is_tagged():
    tagged = [(p.name, i) for p in sorted((ROOT / "chapters").glob("*.ipynb"))
              for i, c in enumerate(json.loads(p.read_text())["cells"])
              if landing_figure.TAG in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, tagged


def test_check_fails_on_a_picture_that_is_not_the_chapters(tmp_path, monkeypatch):
    fake = tmp_path / "landing.png"
    fake.write_bytes(b"\x89PNG made by hand")
    monkeypatch.setattr(landing_figure, "TARGET", fake)
    monkeypatch.setattr(landing_figure, "ROOT", tmp_path)
    assert landing_figure.main(["--check"]) == 1
