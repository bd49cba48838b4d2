"""Sphinx extension: label the reference lists author-year, like the citations.

The text cites author-year (``bibtex_reference_style: author_year`` gives
"[Cheung et al., 2014]"), but sphinxcontrib-bibtex's default list style, pybtex's
``alpha``, labelled the same work "[CLBO14]": a reader could not match the two.
This registers the pybtex formatting style ``author_year`` (set as
``bibtex_default_style`` in ``_config.yml``), sphinxcontrib-bibtex's documented way
to change list labels: pybtex's ``plain`` list (sorted by author, year, title, with
its URL and DOI links) whose label is built by the very template the author-year
citations use, so "[Cheung et al., 2014]" in the text finds "[Cheung et al., 2014]"
in the list.
"""

from __future__ import annotations

from types import SimpleNamespace

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinxcontrib.bibtex.style.referencing import PersonStyle
from sphinxcontrib.bibtex.style.template import join, year

STYLE = "author_year"


def author_year_label(entry) -> str:
    """The text of the author-year citation of ``entry``: 'Cheung et al., 2014'.

    The same template and defaults as sphinxcontrib-bibtex's ``author_year``
    parenthetical citation: one author 'Zeiler, 2012', two 'Kingma and Welling, 2013',
    three or more 'Cheung et al., 2014'.
    """
    person = PersonStyle()
    template = join(sep=", ")[person.author_or_editor_or_title(full=False), year]
    data = {"entry": entry, "style": SimpleNamespace(person=person)}
    return template.format_data(data).render_as("text")


class AuthorYearLabelStyle(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield author_year_label(entry)


class AuthorYearStyle(PlainStyle):
    default_label_style = STYLE


def setup(app) -> dict:
    register_plugin("pybtex.style.labels", STYLE, AuthorYearLabelStyle)
    register_plugin("pybtex.style.formatting", STYLE, AuthorYearStyle)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
