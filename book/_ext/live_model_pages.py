"""Sphinx extension: load the in-browser model's script and style only where a page has one.

Jupyter Book adds every file of ``_static/`` to every page's head, so
``live_model.js`` and ``live_model.css`` would weigh on pages without an explorer.
A page keeps them only when its body holds a ``<div class="hf-live-model">``
placeholder (written in a chapter's Markdown), so every other page's first paint
stays as it was; the explorer's weights load later, on the reader's first interaction.
"""

from __future__ import annotations

LIVE_FILES = ("live_model.js", "live_model.css")
MARKER = "hf-live-model"


def _only_where_used(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    if MARKER in context.get("body", ""):
        return
    for key in ("script_files", "css_files"):
        files = context.get(key)
        if files:
            files[:] = [f for f in files
                        if not str(getattr(f, "filename", f) or "").endswith(LIVE_FILES)]


def setup(app) -> dict:
    app.connect("html-page-context", _only_where_used, priority=901)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
