"""Sphinx extension: pages do not load the theme's 1.5 MB Font Awesome script.

pydata-sphinx-theme puts ``<script defer src="_static/scripts/fontawesome.js">`` on
every page: Font Awesome's JavaScript, which swaps each ``<i class="fa-...">`` for an
inline SVG. The theme's stylesheet already draws the same icons from Font Awesome's
web fonts (``fa-solid-900.woff2``, ``fa-brands-400.woff2``; the browser fetches them
anyway for the admonition and download icons), so every icon the book shows (the
launch, repository, download, full-screen, search, theme and contents buttons) looks
the same without the script. After the build, the tag is taken out of every page and
the script (and its source map) out of ``_static``, so nothing can load it.
"""

from __future__ import annotations

import re
from pathlib import Path

SCRIPT = "_static/scripts/fontawesome.js"
#: the theme's tag, with the comment above it ("So that users can add custom icons")
TAG = re.compile(r'[ \t]*(?:<!--[^>]*custom icons[^>]*-->\s*)?'
                 r'<script\b[^>]*\bsrc="[^"]*scripts/fontawesome\.js(?:\?[^"]*)?"[^>]*>'
                 r'\s*</script>[ \t]*\n?')


def strip_icon_script(html: str) -> str:
    """``html`` without the Font Awesome script tag (unchanged if it has none)."""
    return TAG.sub("", html)


def strip_book(outdir: Path) -> int:
    """Take the script out of every page under ``outdir``; return how many pages had it."""
    changed = 0
    for page in outdir.glob("**/*.html"):
        html = page.read_text(encoding="utf-8")
        stripped = strip_icon_script(html)
        if stripped != html:
            page.write_text(stripped, encoding="utf-8")
            changed += 1
    for name in (SCRIPT, SCRIPT + ".map"):
        (outdir / name).unlink(missing_ok=True)
    return changed


def _after_build(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        strip_book(Path(app.outdir))


def setup(app) -> dict:
    app.connect("build-finished", _after_build)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
