"""Sphinx extension: "Open in Colab", "Launch Binder" and "Download" under each title.

The landing page gets the course's links (Colab and Binder open the warm-up; Download
is the repository as a zip); every chapter and lab notes page gets its own notebook's.
All are built from the repository URL and branch of ``_config.yml`` (the URL's one
home), as plain links styled by ``_static/book.css``: no image from another site.
"""

from __future__ import annotations

import html
import re

#: the notebook the landing page's Colab and Binder links open
FIRST_NOTEBOOK = "chapters/00_warmup.ipynb"
NOTEBOOK_FOLDERS = ("chapters/", "lab_notes/")


def links(repository_url: str, branch: str, notebook: str | None) -> list[tuple[str, str]]:
    """(label, URL) of the buttons for ``notebook`` (``None``: the landing page)."""
    match = re.match(r"https://github\.com/([^/]+)/([^/]+?)/?$", repository_url)
    if not match:
        raise ValueError(f"repository.url in _config.yml must be https://github.com/OWNER/REPO; "
                         f"got {repository_url!r}.")
    owner, repo = match.groups()
    target = notebook or FIRST_NOTEBOOK
    colab = f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/{target}"
    binder = f"https://mybinder.org/v2/gh/{owner}/{repo}/{branch}?labpath={target}"
    if notebook is None:
        download = ("Download the course", f"{repository_url}/archive/refs/heads/{branch}.zip")
    else:
        download = ("Download notebook",
                    f"https://raw.githubusercontent.com/{owner}/{repo}/{branch}/{notebook}")
    return [("Open in Colab", colab), ("Launch Binder", binder), download]


def bar(pairs: list[tuple[str, str]]) -> str:
    """The buttons as one line of links."""
    items = "".join(f'<a class="hf-launch" href="{html.escape(url)}">{html.escape(label)}</a>'
                    for label, url in pairs)
    return f'<p class="hf-launch-bar">{items}</p>'


def _add_links(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    body = context.get("body")
    if not body or doctree is None:
        return
    options = app.config.html_theme_options or {}
    url = options.get("repository_url")
    if not url:
        return
    if pagename == app.config.root_doc:
        notebook = None
    elif pagename.startswith(NOTEBOOK_FOLDERS) and context.get("page_source_suffix") == ".ipynb":
        notebook = pagename + ".ipynb"
    else:
        return
    pairs = links(url, options.get("repository_branch", "main"), notebook)
    context["body"] = re.sub(r"(</h1>)", lambda m: m[1] + bar(pairs), body, count=1)


def setup(app) -> dict:
    app.connect("html-page-context", _add_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
