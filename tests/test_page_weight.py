"""Page weight counts everything a page loads; the icon script is left out (issue 36)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

from tools import page_weight as pw

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("no_icon_script",
                                               ROOT / "book/_ext/no_icon_script.py")
no_icon_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(no_icon_script)

# the head pydata-sphinx-theme 0.17 writes (webpack-macros.html)
HEAD = """<head>
  <link href="../_static/styles/theme.css?digest=55c26ed414f5f8a31ebb" rel="stylesheet" />

  <!-- So that users can add custom icons -->
  <script defer src="../_static/scripts/fontawesome.js?digest=55c26ed414f5f8a31ebb"></script>
  <!-- Pre-loaded scripts that we'll load fully later -->
  <link rel="preload" as="script" href="../_static/scripts/bootstrap.js?digest=55c26ed414f5f8a31ebb" />
  <script src="../_static/book.js?v=5a885ef4"></script>
</head>"""


def test_the_icon_script_tag_goes_and_nothing_else():
    out = no_icon_script.strip_icon_script(HEAD)
    assert "fontawesome" not in out and "custom icons" not in out
    for kept in ("theme.css", "bootstrap.js", "book.js", "Pre-loaded scripts"):
        assert kept in out
    assert no_icon_script.strip_icon_script(out) == out


def test_after_the_build_no_page_and_no_file_is_left(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_static" / "scripts").mkdir(parents=True)
    (tmp_path / "chapters" / "a.html").write_text(HEAD)
    (tmp_path / "index.html").write_text("<head></head>")
    for name in ("fontawesome.js", "fontawesome.js.map", "bootstrap.js"):
        (tmp_path / "_static" / "scripts" / name).write_text("x")
    assert no_icon_script.strip_book(tmp_path) == 1
    assert "fontawesome" not in (tmp_path / "chapters" / "a.html").read_text()
    assert sorted(p.name for p in (tmp_path / "_static" / "scripts").iterdir()) == ["bootstrap.js"]
    assert no_icon_script.strip_book(tmp_path) == 0  # a second pass changes nothing


def test_the_book_config_loads_the_extension():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"]["no_icon_script"] == "book/_ext"


def _site(root: Path) -> Path:
    static = root / "_static"
    (static / "fonts").mkdir(parents=True)
    (root / "chapters").mkdir()
    (root / "_images").mkdir()
    (static / "main.css").write_text('@import url("basic.css");\n'
                                     '@font-face{font-family:A;src:url(fonts/a.woff2) '
                                     'format("woff2"),url(fonts/a.ttf) format("truetype")}')
    (static / "basic.css").write_text("@font-face { src: url('fonts/b.woff2') }" + " " * 50)
    (static / "fonts" / "a.woff2").write_bytes(b"a" * 1000)
    (static / "fonts" / "a.ttf").write_bytes(b"a" * 5000)  # not the format a browser takes
    (static / "fonts" / "b.woff2").write_bytes(b"b" * 300)
    (static / "app.js").write_bytes(b"j" * 2000)
    (static / "pre.js").write_bytes(b"p" * 700)
    (root / "_images" / "fig.png").write_bytes(b"i" * 4000)
    page = root / "chapters" / "one.html"
    page.write_text(
        '<link rel="stylesheet" href="../_static/main.css?v=1" />'
        '<link rel="preload" as="script" href="../_static/pre.js?d=2" />'
        '<script defer src="../_static/app.js?d=2"></script>'
        '<script src="../_static/app.js?d=2"></script>'  # the same file twice: once
        '<script src="https://cdn.example.org/mathjax.js"></script>'
        '<img src="../_images/fig.png"><img src="../_images/fig.png"><img src="data:x">')
    return page


def test_a_page_weighs_its_html_images_scripts_css_and_fonts(tmp_path):
    page = _site(tmp_path)
    w = pw.page_weight(page, tmp_path)
    assert w.html == len(page.read_bytes())
    assert w.size("images") == 4000 and len(w.files["images"]) == 1
    assert w.size("scripts") == 2700 and len(w.files["scripts"]) == 2
    assert len(w.files["styles"]) == 2  # main.css and the basic.css it imports
    assert w.size("fonts") == 1300  # a.woff2 (not a.ttf) and b.woff2
    assert w.external == ["https://cdn.example.org/mathjax.js"]
    assert w.total == w.html + 4000 + 2700 + w.size("styles") + 1300
    text = pw.report(pw.page_weights(tmp_path))
    assert "chapters/one.html" in text and "mean of 1 pages" in text
    assert "cdn.example.org" in text


def test_reader_pages_leave_out_indexes_and_templates(tmp_path):
    _site(tmp_path)
    (tmp_path / "search.html").write_text("x")
    (tmp_path / "_static" / "webpack-macros.html").write_text("x")
    (tmp_path / "old.html").write_text('<meta http-equiv="Refresh" content="0; url=x">')
    assert [p.relative_to(tmp_path).as_posix() for p in pw.reader_pages(tmp_path)] == \
        ["chapters/one.html"]
