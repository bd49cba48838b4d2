"""The bibliography leads somewhere: each entry links to its work, and the list reads like the text.

Every entry of ``book/references.bib`` carries a DOI or an https URL (the rendered list ends each
entry with the link); keys are unique; every key is cited on some page and every cited key exists;
and the list labels, which ``book/_ext/author_year_labels.py`` builds with the template of the
author-year citations, are distinct, so "[Cheung et al., 2014]" in the text names one entry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIB = ROOT / "book" / "references.bib"
CONFIG = ROOT / "_config.yml"

# {cite}`a,b`, {cite:p}`a`, {cite:t}`a` ... (MyST role syntax)
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
KEYPREFIX = re.compile(r"^:keyprefix:\s*(\S+)\s*$", re.M)
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
ENTRY_START = re.compile(r"^@(\w+)\s*\{\s*([^,\s]+)\s*,", re.M)


def _raw_keys() -> list[str]:
    """Entry keys in file order, duplicates kept (a parser would refuse or merge them)."""
    return [key for kind, key in ENTRY_START.findall(BIB.read_text(encoding="utf-8"))
            if kind.lower() not in {"string", "preamble", "comment"}]


@pytest.fixture(scope="module")
def entries():
    pybtex_database = pytest.importorskip("pybtex.database")
    return pybtex_database.parse_file(str(BIB), bib_format="bibtex").entries


def _pages() -> dict[str, str]:
    """The text of every page that can cite: the chapters' markdown cells and book/*.md."""
    pages = {}
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        pages[str(path.relative_to(ROOT))] = "\n".join(
            "".join(cell["source"]) for cell in nb["cells"] if cell["cell_type"] == "markdown")
    for path in sorted((ROOT / "book").glob("*.md")):
        pages[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
    return pages


def _cited_keys() -> dict[str, set[str]]:
    """Bibliography key -> the pages citing it, with each page's ``:keyprefix:`` taken off."""
    cited: dict[str, set[str]] = {}
    for name, text in _pages().items():
        prefixes = KEYPREFIX.findall(text)
        for group in CITE.findall(text):
            for key in (k.strip() for k in group.split(",")):
                for prefix in prefixes:
                    if key.startswith(prefix):
                        key = key[len(prefix):]
                        break
                cited.setdefault(key, set()).add(name)
    return cited


def test_there_are_references():
    assert len(_raw_keys()) >= 20


def test_no_duplicate_keys():
    keys = _raw_keys()
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"duplicate BibTeX keys: {duplicates}"
    lowered = [k.lower() for k in keys]  # BibTeX keys are case-insensitive
    assert len(set(lowered)) == len(lowered), "keys that differ only in case"


def test_every_entry_has_a_doi_or_a_url(entries):
    missing = [key for key, entry in entries.items()
               if not ({"doi", "url"} & {f.lower() for f in entry.fields.keys()})]
    assert not missing, f"entries with neither a doi nor a url: {missing}"


def test_dois_are_bare_dois(entries):
    """``doi = {10.1109/5.726791}``: the list links it as https://doi.org/<doi>."""
    for key, entry in entries.items():
        doi = entry.fields.get("doi")
        if doi is not None:
            assert DOI.match(doi), f"{key}: doi {doi!r} is not of the form 10.NNNN/..."


def test_urls_are_https(entries):
    for key, entry in entries.items():
        url = entry.fields.get("url")
        if url is not None:
            assert re.match(r"^https://[^\s/]+\.[^\s/]+/\S*$", url), f"{key}: url {url!r} is not https"


def test_every_entry_is_cited_somewhere(entries):
    """Each work is cited on a page; book/references.md cites the background works in prose."""
    cited = _cited_keys()
    uncited = sorted(set(entries) - set(cited))
    assert not uncited, f"entries no page cites: {uncited}"


def test_every_citation_has_an_entry(entries):
    cited = _cited_keys()
    unknown = {key: sorted(pages) for key, pages in cited.items() if key not in entries}
    assert not unknown, f"cited keys missing from references.bib: {unknown}"


def test_the_list_is_labelled_author_year_like_the_text():
    config = CONFIG.read_text(encoding="utf-8")
    assert re.search(r"(?m)^\s+bibtex_reference_style:\s*author_year\s*$", config)
    assert re.search(r"(?m)^\s+bibtex_default_style:\s*author_year\s*$", config)
    assert re.search(r"(?m)^\s+author_year_labels:\s*book/_ext\s*$", config)


def test_list_labels_are_distinct_author_year_labels(entries):
    pytest.importorskip("sphinxcontrib.bibtex")
    import importlib.util

    spec = importlib.util.spec_from_file_location("author_year_labels",
                                                  ROOT / "book" / "_ext" / "author_year_labels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    author_year_label = module.author_year_label
    labels = {key: author_year_label(entry) for key, entry in entries.items()}
    assert labels["cheung2014discovering"] == "Cheung et al., 2014"
    assert labels["kingma2013autoencoding"] == "Kingma and Welling, 2013"
    assert labels["zeiler2012adadelta"] == "Zeiler, 2012"
    for key, label in labels.items():
        assert re.fullmatch(r".+, \d{4}", label), f"{key}: label {label!r} is not author-year"
    clashes = {label for label in labels.values() if list(labels.values()).count(label) > 1}
    assert not clashes, f"two entries would share a label: {sorted(clashes)}"
