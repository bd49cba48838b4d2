"""Fixtures shared by the browser tests (``make browser-test``)."""

from __future__ import annotations

import pytest
from test_book_pages import serving


@pytest.fixture(scope="module")
def book():
    """The built book on 127.0.0.1, for one test module (no screenshots are touched)."""
    with serving() as url:
        yield url
