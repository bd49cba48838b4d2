"""Output figures in the built book are numbered, captioned and described (issue 36).

Run with ``make browser-test`` after the book is built. myst-nb turns a code cell's
``mystnb.figure`` metadata into Sphinx's figure markup::

    <div class="cell_output ..."><figure id="fig-xcov-scatter">
      <a class="reference internal image-reference" ...><img alt="..." src="../_images/....png"></a>
      <figcaption><p><span class="caption-number">Fig. 8 </span>
        <span class="caption-text">...</span>...</p></figcaption></figure>

and ``mystnb.image.alt`` into the ``alt`` of every image the cell shows. Without
them the alt is the image's file path. On every chapter and lab-notes page: every
output image has alt text that describes it (not a path); every figure holding an
output image has a numbered caption; and every ``[Figure N](#fig-...)`` link in the
prose points at a figure whose caption really says Fig. N (the number Sphinx
gives, counted across the whole book).
"""

from __future__ import annotations

import pytest
from test_book_pages import PAGES, WIDTHS, _open, book, browser  # noqa: F401

pytestmark = pytest.mark.browser

FIGURE_PAGES = [p for p in PAGES if p.startswith(("chapters/", "lab_notes/"))]


_FIGURES = """
const article = document.querySelector('main article, article.bd-article') || document.body;
const pathLike = /(^|[\\s\\/])[\\w.-]+\\.(png|jpe?g|svg|gif)\\b|^\\.{0,2}\\/|_images\\//i;
const images = [], links = [];
article.querySelectorAll('.cell_output img').forEach(img => {
  if (img.closest('.hf-explorer')) return;  // an explorer's tiles: its controls label them
  const figure = img.closest('figure');
  const number = figure && figure.querySelector('figcaption .caption-number');
  const text = figure && figure.querySelector('figcaption .caption-text');
  images.push({
    src: (img.getAttribute('src') || '').slice(-40),
    alt: img.getAttribute('alt') || '',
    pathAlt: pathLike.test(img.getAttribute('alt') || ''),
    inFigure: !!figure,
    id: figure ? figure.id : null,
    number: number ? number.textContent.trim() : null,
    caption: text ? text.textContent.trim() : null,
  });
});
article.querySelectorAll('a[href^="#fig-"]:not(.headerlink)').forEach(a => {
  const target = document.getElementById(a.getAttribute('href').slice(1));
  const number = target && target.querySelector('figcaption .caption-number');
  links.push({text: a.textContent.trim(), href: a.getAttribute('href'),
              number: number ? number.textContent.trim() : null});
});
return {images, links};
"""


@pytest.mark.parametrize("page", FIGURE_PAGES)
def test_output_figures_have_a_number_a_caption_and_alt_text(book, browser, page):  # noqa: F811
    _open(browser, book + page, WIDTHS["desktop"])
    found = browser.execute_script(_FIGURES)
    problems = []
    for image in found["images"]:
        where = f"{page}: image …{image['src']}"
        if len(image["alt"].split()) < 5 or image["pathAlt"]:
            problems.append(f"{where}: alt {image['alt']!r} does not describe the picture")
        if image["inFigure"]:
            if not image["number"] or not image["number"].startswith("Fig. ") \
                    or not image["number"][5:].strip().isdigit():
                problems.append(f"{where}: figure {image['id']} has no number ({image['number']!r})")
            if not image["caption"] or len(image["caption"].split()) < 5:
                problems.append(f"{where}: figure {image['id']} has no caption")
    numbers = [i["number"] for i in found["images"] if i["number"]]
    if len(numbers) != len(set(numbers)):
        problems.append(f"{page}: one number on several figures: {numbers}")
    for link in found["links"]:
        said = link["text"].removeprefix("Figure").strip()
        real = (link["number"] or "").removeprefix("Fig.").strip()
        if not real or said != real:
            problems.append(f"{page}: the link {link['text']!r} -> {link['href']} points at a "
                            f"figure numbered {link['number']!r}")
    assert problems == [], "\n".join(problems)


def test_most_output_images_are_numbered_figures(book, browser):  # noqa: F811
    """Guards the test above against a build where no figure metadata took effect."""
    figures = 0
    for page in FIGURE_PAGES:
        _open(browser, book + page, WIDTHS["desktop"])
        figures += sum(1 for i in browser.execute_script(_FIGURES)["images"] if i["number"])
    assert figures >= 20, f"only {figures} numbered output figures in the book"
