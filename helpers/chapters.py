"""The chapters, discovered: each declares itself once, in its own notebook.

A chapter with exported code ends its harness (``#| exporti`` cells) with one
declaration, written next to the code it names::

    #| exporti
    CHAPTER = ChapterSpec(
        title="XCov",
        paper="Cheung et al. 2014",
        settings=PAPER_SCALE_SETTINGS,   # name -> parameters of run_setting
        run_setting=run_setting,         # (params, seed) -> measured values
        exercises=("xcov_penalty",),     # its known-answer checks (helpers.checks)
        benchmark_model=benchmark_model, # a fresh model at book size (benchmarks/run.py)
        targets=(Target(...), ...),      # the paper's numbers it is held to
        live_model=LiveModel(...),       # the model the book page runs (tools.browser_models)
    )

:func:`helpers.papers.chapters` finds every such module in :mod:`helpers.papers` (the
generated modules name their notebook in ``__notebook__``), so the experiment runner,
the benchmarks, the teachers' tables and the tests list no chapter themselves. This
module is what the chapters import (it imports no chapter).
:func:`notebook_titles` reads the title of every chapter notebook of a clone, with
or without exported code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Chapter", "ChapterSpec", "LiveModel", "OtherDomain", "Target", "module_name",
           "notebook_titles", "short_title"]


@dataclass(frozen=True)
class Target:
    """A number from the paper that a chapter is held to (the Runtimes page's table).

    ``book_keys``: the value(s) of the chapter's ``book`` record (with several, the best
    counts); ``setting`` and ``keys``: the paper-scale setting and its values.
    """

    what: str
    threshold: float
    at_least: bool
    book_keys: tuple[str, ...]
    setting: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class ChapterSpec:
    """What a chapter declares about itself (see the module's docstring)."""

    title: str
    paper: str = ""  # the paper the chapter implements ("" for the warm-up)
    settings: Mapping[str, dict] = field(default_factory=dict)
    run_setting: Callable[[dict, int], dict] | None = None
    exercises: tuple[str, ...] = ()
    benchmark_model: Callable[[], Any] | None = None
    targets: tuple[Target, ...] = ()
    live_model: LiveModel | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not self.title.strip():
            raise ValueError(f"ChapterSpec: expected a title (text); got {self.title!r}.")
        for name, params in self.settings.items():
            if not isinstance(params, Mapping) or not str(params.get("about", "")).strip():
                raise ValueError(
                    f"ChapterSpec {self.title!r}: expected every setting to be a dict with an "
                    f"'about' line saying what it is for; setting {name!r} got {params!r}.")
        if self.settings and self.run_setting is None:
            raise ValueError(f"ChapterSpec {self.title!r}: settings need a run_setting(params, "
                             "seed) that trains and measures one of them; got none.")


@dataclass(frozen=True)
class LiveModel:
    """The model a chapter's book page runs in the reader's browser (issue 32).

    ``key``: the ``train()`` call of the book run whose weights it shows (its label's
    slug and occurrence, :func:`helpers.pretrained.next_key`); ``build``: a fresh,
    untrained model of the same architecture; ``title``: what the page calls it.
    ``probs`` and ``style``: the model's sub-networks (attribute paths such as
    ``"content.s_encoder"`` or ``"encoders.abundant"``, applied in turn to an image; a
    step ``"[a:b]"`` keeps units ``a`` to ``b - 1``) that give the class probabilities
    and the style code; ``decoder``: the one that draws ``[content, style]``.
    ``view``: for a model of several domains, the view (a ``DisentanglingModel``) whose
    images the explorer reads and draws; ``other``: a second domain whose images it
    redraws in that style. ``build`` returns the model with every weight created (for
    most models a constructor is enough). ``python -m tools.browser_models`` exports
    it after the book run.
    """

    key: str
    build: Callable[[], Any]
    title: str
    probs: tuple[str, ...] = ("body", "to_y")
    style: tuple[str, ...] = ("body", "to_z")
    decoder: str = "decoder"
    view: Callable[[Any], Any] | None = None
    other: OtherDomain | None = None


@dataclass(frozen=True)
class OtherDomain:
    """A second image domain of a :class:`LiveModel` (JADE's scarce domain): the page
    reads one of its test images' content (``content``, a chain of sub-networks as in
    ``LiveModel.probs``) and draws it with the live model's decoder and style.

    ``title``: what the page calls the domain; ``images``: its test images in ``[0, 1]``
    and their labels (a function, called by the exporter only); ``view``: the model's
    view of this domain, whose ``encode`` Keras runs for the fidelity check.
    """

    title: str
    content: tuple[str, ...]
    images: Callable[[], tuple[Any, Any]]
    view: Callable[[Any], Any]


@dataclass(frozen=True)
class Chapter:
    """One discovered chapter: its notebook, its generated module and its declaration."""

    notebook: str  # "01_xcov"
    module: str  # "xcov" (helpers.papers.xcov)
    spec: ChapterSpec

    @property
    def number(self) -> int:
        return int(self.notebook.split("_", 1)[0])

    @property
    def title(self) -> str:
        return self.spec.title


def module_name(notebook: str) -> str:
    """``"01_xcov"`` (or ``"chapters/01_xcov.ipynb"``) -> ``"xcov"``: the one rule."""
    return re.sub(r"^\d+_", "", Path(notebook).stem)


def short_title(heading: str) -> str:
    """A notebook heading's short form: the words before its colon."""
    return heading.split(":", 1)[0].strip()


def notebook_titles(folder: Path) -> dict[str, str]:
    """``{notebook stem: short title}`` of every chapter notebook in ``folder``, from its
    first ``# `` heading (chapters without exported code too)."""
    titles = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        for cell in cells:
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else source
            heading = next((ln[2:] for ln in text.splitlines() if ln.startswith("# ")), None)
            if cell.get("cell_type") == "markdown" and heading:
                titles[path.stem] = short_title(heading)
                break
    return titles
