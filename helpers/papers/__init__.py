"""The chapters' own code, exported from their notebooks — do not edit those files.

Each module here is written by ``python tools/export_papers.py`` from the
``#| export`` and ``#| exporti`` cells of one chapter notebook
(``chapters/01_xcov.ipynb`` -> ``xcov.py``).  The notebook is the one source of
truth: change a cell there and run the command again; ``tests/test_export.py`` fails
when the two differ.

This file itself is written by hand: :func:`chapters` discovers the modules and the
``CHAPTER`` each one declares (:class:`helpers.chapters.ChapterSpec`).
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from ..chapters import Chapter, ChapterSpec

__all__ = ["chapter", "chapters", "paper_chapters"]


def chapters() -> list[Chapter]:
    """Every chapter with a declaration, in the book's order (by notebook number)."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        spec = getattr(module, "CHAPTER", None)
        notebook = getattr(module, "__notebook__", None)
        if isinstance(spec, ChapterSpec) and notebook:
            found.append(Chapter(Path(notebook).stem, info.name, spec))
    return sorted(found, key=lambda c: c.notebook)


def paper_chapters() -> list[Chapter]:
    """The chapters that implement a paper (their spec names one), in order."""
    return [c for c in chapters() if c.spec.paper]


def chapter(name: str) -> Chapter:
    """The chapter named by its module (``"xcov"``) or notebook (``"01_xcov"``)."""
    every = chapters()
    for c in every:
        if name in (c.module, c.notebook):
            return c
    raise KeyError(f"Chapter: expected one of {[c.module for c in every]} (or their "
                   f"notebooks {[c.notebook for c in every]}); got {name!r}.")
