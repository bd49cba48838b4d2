"""Printed text that fits the book's code column: :data:`LINE_WIDTH` and :func:`wrap`.

The one home of the width: training's progress lines, the exercise checks' messages and
every chapter's printed summaries keep to it (``tests/test_committed_notebooks.py``
checks the committed outputs).
"""

from __future__ import annotations

import textwrap

#: the longest output line the book's code column shows without cutting it off
LINE_WIDTH = 80


def wrap(text: str, width: int = LINE_WIDTH) -> str:
    """``text`` on lines of at most ``width`` characters (continuations indented).

    Printed lines longer than the book's code column would be cut off there.
    """
    return "\n".join(textwrap.fill(line, width, subsequent_indent="  ")
                     for line in str(text).splitlines())
