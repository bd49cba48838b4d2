"""Colab, Binder and Download links under each title, from the URL's one home."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("launch_links", ROOT / "book/_ext/launch_links.py")
launch_links = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(launch_links)
REPO = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]


def _page(pagename: str, suffix: str = ".ipynb") -> str:
    app = SimpleNamespace(config=SimpleNamespace(
        root_doc="book/intro",
        html_theme_options={"repository_url": REPO["url"], "repository_branch": REPO["branch"]}))
    context = {"body": "<section><h1>Title</h1><p>Text</p></section>",
               "page_source_suffix": suffix}
    launch_links._add_links(app, pagename, "page.html", context, doctree=object())
    return context["body"]


def test_a_chapter_gets_its_own_notebooks_links_under_its_title():
    body = _page("chapters/01_xcov")
    owner_repo = REPO["url"].removeprefix("https://github.com/")
    assert body.index("</h1>") < body.index("hf-launch-bar") < body.index("<p>Text")
    assert (f"https://colab.research.google.com/github/{owner_repo}/blob/{REPO['branch']}/"
            "chapters/01_xcov.ipynb") in body
    assert f"mybinder.org/v2/gh/{owner_repo}/{REPO['branch']}?labpath=chapters/01_xcov.ipynb" in body
    assert "Download notebook" in body
    assert "lab_notes/03_jade.ipynb" in _page("lab_notes/03_jade")


def test_the_landing_page_offers_the_course_and_other_pages_nothing():
    body = _page("book/intro", ".md")
    assert "chapters/00_warmup.ipynb" in body and "archive/refs/heads/" in body
    assert "hf-launch" not in _page("book/notation", ".md")


def test_a_repository_url_that_is_not_github_is_refused_clearly():
    with pytest.raises(ValueError, match="https://github.com/OWNER/REPO"):
        launch_links.links("https://example.org/x", "main", None)
