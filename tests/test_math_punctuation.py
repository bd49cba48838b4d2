"""A full stop after inline maths stays on the maths' line (book/_ext/math_punctuation.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from docutils import nodes

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("math_punctuation",
                                               ROOT / "book/_ext/math_punctuation.py")
math_punctuation = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(math_punctuation)


def _paragraph(after: str) -> tuple[nodes.paragraph, nodes.math]:
    math = nodes.math(text="z")
    para = nodes.paragraph("", "", nodes.Text("the code "), math, nodes.Text(after))
    return para, math


def test_the_punctuation_after_maths_is_kept_with_it():
    para, math = _paragraph("., then more")
    assert math_punctuation.wrap_following_punctuation(math)
    group = para[1]
    assert isinstance(group, nodes.inline) and group["classes"] == ["hf-nowrap"]
    assert group[0] is math and str(group[1]) == ".,"
    assert str(para[2]) == " then more" and para.astext() == "the code z., then more"


def test_maths_followed_by_a_word_or_nothing_is_left_alone():
    for after in (" and more", ""):
        para, math = _paragraph(after)
        if not after:
            para.remove(para[2])
        before = para.astext()
        assert not math_punctuation.wrap_following_punctuation(math)
        assert para.astext() == before and para[1] is math
