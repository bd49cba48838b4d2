"""Sphinx extension: drop repeated ``<script>`` entries from every page.

Jupyter Book 1.0 runs sphinx-thebe's and sphinx-togglebutton's set-up twice, so
each page declared ``const THEBE_JS_URL`` twice, a JavaScript SyntaxError in
every browser console. Keeping the first of identical scripts fixes it.
"""

from __future__ import annotations

from typing import Any


def _dedupe(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for script in scripts:
        # Same file and attributes (an inline script's body is one), whatever the
        # priority; an inline script's file is None or "" depending on who added it.
        key = (str(getattr(script, "filename", script) or ""),
               tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    scripts[:] = kept


def setup(app) -> dict:
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
