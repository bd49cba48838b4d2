"""Code keeps its indentation when it wraps on a phone; icons need no icon script (issue 36).

Run with ``make browser-test`` after the book is built. On a 390 px phone long code
lines wrap (``_static/book.css``); ``_static/book.js`` marks each line with its
indentation so that a wrapped line's continuation rows hang right of it instead of
starting at the left edge, where they read as a dedent. The theme's Font Awesome
script is left out of every page (``book/_ext/no_icon_script.py``): its stylesheet
draws the header's icons from web fonts.
"""

from __future__ import annotations

import json

import pytest
from test_book_pages import PAGES, WIDTHS, book, browser  # noqa: F401

pytestmark = pytest.mark.browser

CODE_PAGES = [p for p in PAGES if p.startswith(("chapters/", "lab_notes/"))]


def _load(driver, url: str, width: int) -> None:
    driver.set_window_size(width, 900)
    driver.get(url)
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const ready = () => document.fonts.ready.then(() => setTimeout(() => done(true), 100));
        if (document.readyState === 'complete') ready();
        else window.addEventListener('load', ready);
    """)


# Every visible code block and printed output, line by line (lines are the text between
# newlines, whatever the markup): for each line with leading spaces that wraps onto
# several rows, the left edge of each row, and the left edge of the last line above it
# without leading spaces (its "unindented neighbour").
_WRAPPED_INDENTED_LINES = """
const out = [];
document.querySelectorAll('article div.highlight pre, article div.cell_output pre')
  .forEach(pre => {
    if (!pre.getClientRects().length) return;  // folded away
    const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
    const chars = [];
    let text = '';
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      for (let i = 0; i < n.data.length; i++) chars.push([n, i]);
      text += n.data;
    }
    let start = 0, neighbour = null;
    text.split('\\n').forEach(line => {
      const end = start + line.length;
      const indent = line.length - line.trimStart().length;
      if (line.trim()) {
        const range = document.createRange();
        range.setStart(chars[start + indent][0], chars[start + indent][1]);
        range.setEnd(chars[end - 1][0], chars[end - 1][1] + 1);
        const rows = {};
        for (const r of range.getClientRects()) {
          if (r.width === 0) continue;
          const top = Math.round(r.top);
          rows[top] = Math.min(rows[top] ?? Infinity, r.left);
        }
        const lefts = Object.keys(rows).sort((a, b) => a - b).map(k => rows[k]);
        if (indent === 0) neighbour = lefts[0];
        else if (neighbour !== null && lefts.length > 1)
          out.push({line: line.trim().slice(0, 50), neighbour: neighbour, rows: lefts});
      }
      start = end + 1;
    });
  });
return JSON.stringify(out);
"""


@pytest.mark.parametrize("page", CODE_PAGES)
def test_wrapped_code_keeps_its_indentation_on_a_phone(book, browser, page):  # noqa: F811
    _load(browser, book + page, WIDTHS["phone"])
    lines = json.loads(browser.execute_script(_WRAPPED_INDENTED_LINES))
    flush = [(x["line"], round(x["neighbour"]), [round(v) for v in x["rows"]])
             for x in lines if min(x["rows"]) <= x["neighbour"] + 1]
    assert not flush, (f"{page} at 390 px: indented code lines that wrap back to (or left "
                       f"of) the unindented line above them (line, its left, rows' lefts): "
                       f"{flush[:5]}")
    if page.startswith("chapters/"):  # the check saw something: chapters have long lines
        assert lines, f"{page}: no indented code line wraps at 390 px (nothing was checked)"


def test_code_text_is_unchanged_by_the_line_marks(book, browser):  # noqa: F811
    """What a reader copies is what the page holds: the marks add no characters."""
    page = next(p for p in CODE_PAGES if p.startswith("chapters/"))
    _load(browser, book + page, WIDTHS["phone"])
    same = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(location.href).then(r => r.text()).then(t => {
          const sel = 'div.highlight pre, div.cell_output pre';
          const doc = new DOMParser().parseFromString(t, 'text/html');
          const raw = Array.from(doc.querySelectorAll(sel)).map(p => p.textContent);
          const live = Array.from(document.querySelectorAll(sel));
          done([raw.length, live.filter(p => p.dataset.hfLines).length,
                live.every((p, i) => p.textContent === raw[i])]);
        });""")
    count, marked, equal = same
    assert count and marked == count and equal, same


@pytest.mark.parametrize("width", WIDTHS.values(), ids=list(WIDTHS))
def test_header_icons_are_drawn_without_the_icon_script(book, browser, width):  # noqa: F811
    page = next(p for p in CODE_PAGES if p.startswith("chapters/"))
    _load(browser, book + page, width)
    found = json.loads(browser.execute_script("""
        const scripts = Array.from(document.scripts).map(s => s.src)
          .filter(s => /fontawesome/.test(s));
        const icons = Array.from(document.querySelectorAll(
            '.bd-header-article [class*="fa-"], .bd-header [class*="fa-"]'))
          .filter(el => el.getClientRects().length && el.getBoundingClientRect().width > 0)
          .map(el => {
            const before = getComputedStyle(el, '::before');
            return [el.className, before.content, before.fontFamily,
                    Math.round(el.getBoundingClientRect().width)];
          });
        return JSON.stringify({scripts: scripts, icons: icons,
          solid: document.fonts.check('900 16px "Font Awesome 6 Free"'),
          brands: document.fonts.check('400 16px "Font Awesome 6 Brands"')});
    """))
    assert not found["scripts"], f"the icon script is still loaded: {found['scripts']}"
    assert found["solid"] and found["brands"], found
    visible = found["icons"]
    assert len(visible) >= 4, f"{page} at {width} px: too few header icons seen: {visible}"
    bad = [i for i in visible if i[1] in ("none", "normal", '""') or "Font Awesome" not in i[2]]
    assert not bad, f"{page} at {width} px: icons not drawn from the icon font: {bad}"
