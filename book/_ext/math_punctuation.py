"""Sphinx extension: punctuation stays on the line of the inline maths before it.

In ``… the code $z$.`` the browser may break the line between the typeset $z$ and the
full stop, which then starts a line of its own. Each inline maths node followed by
punctuation is wrapped, with that punctuation, in ``<span class="hf-nowrap">``
(``white-space: nowrap`` in ``_static/book.css``).
"""

from __future__ import annotations

import re

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

PUNCTUATION = re.compile(r"^[.,;:!?)\]’”]+")


class KeepPunctuationWithMaths(SphinxPostTransform):
    """Wrap ``math`` + the punctuation after it in an unbreakable inline."""

    default_priority = 900
    formats = ("html",)

    def run(self, **kwargs) -> None:
        for math in list(self.document.findall(nodes.math)):
            wrap_following_punctuation(math)


def wrap_following_punctuation(math: nodes.math) -> bool:
    """Wrap ``math`` and the punctuation that follows it; return whether it did."""
    parent = math.parent
    if parent is None:
        return False
    index = parent.index(math)
    if index + 1 >= len(parent) or not isinstance(parent[index + 1], nodes.Text):
        return False
    text = parent[index + 1]
    found = PUNCTUATION.match(str(text))
    if not found:
        return False
    rest = str(text)[found.end():]
    group = nodes.inline(classes=["hf-nowrap"])
    parent.remove(math)
    group += math
    group += nodes.Text(found.group())
    parent.insert(index, group)
    parent.remove(text)
    if rest:
        parent.insert(index + 1, nodes.Text(rest))
    return True


def setup(app) -> dict:
    app.add_post_transform(KeepPunctuationWithMaths)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
