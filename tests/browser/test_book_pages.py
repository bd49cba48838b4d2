"""The built book, opened in a real browser (headless Chromium from Debian's packages).

Run with ``make browser-test`` (it builds the book first). The pages are served
from ``_build/html`` on 127.0.0.1; every other host is unreachable, so a page
that needs the network fails here. MathJax, which readers online get from a
CDN, is served from the npm package in ``.cache/mathjax3`` for these tests only.

For every page: no console errors and every image loaded. For every chapter:
each kernel-free explorer's controls change the picture they show, nothing in
the main column is wider than the column (tables, equations, figures, code),
and the tab title holds no LaTeX. Full-page screenshots at 1280 px and 390 px
go to ``_build/screenshots/``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import json
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
NODE_MODULES = ROOT / ".cache" / "mathjax" / "node_modules"
CDN = "https://cdn.jsdelivr.net/npm/"  # MathJax and its fonts; served from NODE_MODULES
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WIDTHS = {"desktop": 1280, "phone": 390}


def _is_page(path: Path) -> bool:
    """A page a reader reads: not an index, a theme template or a bare redirect."""
    rel = path.relative_to(HTML).as_posix()
    return (path.name not in {"genindex.html", "search.html"} and not rel.startswith("_")
            and 'http-equiv="Refresh"' not in path.read_text(errors="ignore")[:2000])


PAGES = sorted(p.relative_to(HTML).as_posix() for p in HTML.glob("**/*.html")
               if _is_page(p)) if HTML.exists() else []
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the book; CDN addresses in pages and scripts point to local npm packages."""

    def log_message(self, *args):  # keep the test output quiet
        pass

    def translate_path(self, path):
        if path.startswith("/__npm__/"):
            # /__npm__/mathjax@4/x.js -> mathjax/x.js; /__npm__/@scope/pkg@1/x -> @scope/pkg/x
            parts = path.removeprefix("/__npm__/").split("?")[0].split("/")
            name = 1 if parts[0].startswith("@") else 0
            parts[name] = parts[name].split("@")[0]
            return str(NODE_MODULES.joinpath(*parts))
        return super().translate_path(path)

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.suffix not in {".html", ".js"} or not path.is_file():
            return super().send_head()
        body = path.read_bytes().replace(CDN.encode(), b"/__npm__/")
        self.send_response(200)
        kind = "text/html" if path.suffix == ".html" else "text/javascript"
        self.send_header("Content-Type", f"{kind}; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


@contextlib.contextmanager
def serving() -> Iterator[str]:
    """The built book on 127.0.0.1 for the duration of the block: its base URL."""
    if not PAGES:
        pytest.fail("No built book in _build/html: run `make book` first.")
    handler = functools.partial(_Handler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def book():
    """The built book on 127.0.0.1, for one test module (no screenshots are touched)."""
    with serving() as url:
        yield url


@pytest.fixture(scope="module")
def server():
    if not (NODE_MODULES / "mathjax" / "es5" / "tex-mml-chtml.js").is_file():
        pytest.fail("MathJax for the offline test is missing: `make browser-test` installs "
                    "the npm package `mathjax@3` into .cache/mathjax.")
    shutil.rmtree(SHOTS, ignore_errors=True)  # screenshots of this run only
    with serving() as url:
        yield url


def chromium(logs: tuple[str, ...] = ("browser",)):
    """A headless Chromium that reaches nothing but 127.0.0.1 and keeps the ``logs`` kinds
    (``"browser"``: the console; ``"performance"``: every request)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--force-device-scale-factor=1",
                # Nothing but the local server can be reached, as on an offline laptop.
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", dict.fromkeys(logs, "ALL"))
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


@pytest.fixture(scope="module")
def browser():
    driver = chromium()
    yield driver
    driver.quit()


def _open(driver, url: str, width: int):
    driver.set_window_size(width, 900)
    driver.get(url)
    # Load lazy images and let MathJax typeset, then wait until images are decoded.
    driver.execute_script("document.querySelectorAll('img').forEach(i => i.loading = 'eager');")
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const mj = window.MathJax && MathJax.startup && MathJax.startup.promise;
        Promise.resolve(mj).then(() => Promise.all(Array.from(document.images).map(
            i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; }))))
            .then(() => new Promise(r => setTimeout(r, 200)))  // book.js lays out
            .then(() => done(true), () => done(false));
    """)


def _errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _screenshot(driver, name: str, step: int = 1200):
    """A full-page PNG, stitched from window-high slices (one capture of a very
    tall page comes out shifted); the sticky header is unpinned while capturing."""
    from PIL import Image

    driver.execute_script(
        "const s = document.createElement('style'); s.id = 'hf-shot';"
        "s.textContent = '.bd-header, .bd-header-article, .bd-sidebar-primary, "
        ".bd-sidebar-secondary {position: static !important; top: auto !important}';"
        "document.head.appendChild(s);")
    width, height = driver.execute_script(
        "return [window.innerWidth, document.documentElement.scrollHeight];")
    view = driver.execute_script("return window.innerHeight;")
    page = Image.new("RGB", (width, height), "white")
    for top in range(0, height, view):
        driver.execute_script("window.scrollTo(0, arguments[0]);", top)
        time.sleep(0.05)
        shot = Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB")
        y = driver.execute_script("return window.scrollY;")
        page.paste(shot.crop((0, 0, width, min(view, height - y))), (0, y))
    driver.execute_script("document.getElementById('hf-shot').remove(); window.scrollTo(0, 0);")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.save(SHOTS / name, optimize=True)


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_offline_without_errors(server, browser, page):
    browser.get_log("browser")  # drop what earlier pages logged
    _open(browser, server + page, WIDTHS["desktop"])
    broken = browser.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.getAttribute('src').slice(0, 80));")
    assert not broken, f"{page}: images that did not load: {broken}"
    assert not _errors(browser), f"{page}: console errors: {_errors(browser)}"


@pytest.mark.parametrize("width", WIDTHS.values(), ids=list(WIDTHS))
@pytest.mark.parametrize("page", PAGES)
def test_nothing_is_wider_than_the_column(server, browser, page, width):
    _open(browser, server + page, width)
    name = page.replace("/", "_").removesuffix(".html")
    too_wide = json.loads(browser.execute_script(_TOO_WIDE, width < 700))
    _screenshot(browser, f"{name}_{width}px.png")
    assert not too_wide, (f"{page} at {width} px: elements wider than the text column "
                          f"(tag, class, width, column): {too_wide}")


# Tables, display equations, figures, code blocks and explorers that are wider than
# the article column, or cut off inside a scrolling box.
_TOO_WIDE = """
const phone = arguments[0];  // only on a phone may a table scroll (first column fixed)
const column = document.querySelector('main article, article.bd-article');
const limit = column.getBoundingClientRect().right + 1;
const width = column.clientWidth;
const found = [];
const sel = 'table, mjx-container[display="true"], img, pre, .hf-explorer, figure, svg';
column.querySelectorAll(sel).forEach(el => {
  const r = el.getBoundingClientRect();
  if (r.width === 0 || el.closest('.bd-toc, nav')) return;
  let wide = r.right > limit;
  if (!wide && (el.tagName === 'PRE' || el.tagName === 'MJX-CONTAINER'))
    wide = el.scrollWidth > el.clientWidth + 1;
  if (!wide && el.tagName === 'MJX-CONTAINER')
    wide = el.firstElementChild.getBoundingClientRect().right > limit;
  if (el.tagName === 'TABLE') {
    // A table may be wider than the column only inside a box that scrolls
    // sideways, with its first (model) column fixed so every row stays labelled.
    const box = el.parentElement;
    const first = el.querySelector('th, td');
    const scrolls = ['auto', 'scroll'].includes(getComputedStyle(box).overflowX)
      && box.getBoundingClientRect().right <= limit;
    const sticky = first && getComputedStyle(first).position === 'sticky';
    wide = (r.right > limit || box.scrollWidth > box.clientWidth + 1)
      && !(phone && scrolls && sticky);
  }
  if (wide) found.push([el.tagName, String(el.className.baseVal ?? el.className).slice(0, 40),
    Math.round(Math.max(r.width, el.scrollWidth || 0)), width,
    (el.textContent || '').trim().slice(0, 50)]);
});
// book.js shrinks a too-wide display equation on a phone; below 0.7 it is too
// small to read (split it in the chapter instead).
column.querySelectorAll('mjx-container[display="true"]').forEach(el => {
  if (Number(el.dataset.hfScale || 1) < 0.7)
    found.push(['MJX-CONTAINER', 'scaled to ' + el.dataset.hfScale, el.scrollWidth,
                el.clientWidth, (el.textContent || '').trim().slice(0, 40)]);
});
// Inline maths cannot wrap: it must fit too.
column.querySelectorAll('mjx-container:not([display="true"])').forEach(el => {
  if (el.getBoundingClientRect().right > limit)
    found.push(['MJX-INLINE', '', Math.round(el.getBoundingClientRect().width), width,
                (el.textContent || '').trim().slice(0, 40)]);
});
if (document.documentElement.scrollWidth > window.innerWidth + 1)
  found.push(['PAGE', 'scrolls sideways', document.documentElement.scrollWidth,
              window.innerWidth, '']);
document.querySelectorAll('.prev-next-area a').forEach(a => {
  if (a.getBoundingClientRect().right > window.innerWidth + 1 || a.scrollWidth > a.clientWidth + 1)
    found.push(['A', 'prev-next link', a.scrollWidth, a.clientWidth, a.textContent.trim()]);
});
return JSON.stringify(found);
"""


@pytest.mark.parametrize("page", CHAPTERS)
def test_title_holds_no_latex(server, browser, page):
    _open(browser, server + page, WIDTHS["desktop"])
    title = browser.title
    assert not re.search(r"\\\(|\\\)|\$|\\[a-zA-Z]+", title), f"{page}: tab title {title!r}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_every_chapter_has_a_working_kernel_free_explorer(server, browser, page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    _open(browser, server + page, WIDTHS["desktop"])
    explorers = browser.find_elements(By.CSS_SELECTOR, ".hf-explorer")
    assert explorers, f"{page}: no kernel-free explorer"
    assert not browser.find_elements(By.CSS_SELECTOR, ".jupyter-widgets, .widget-area"), \
        f"{page}: a saved ipywidgets view (dead controls without a kernel)"
    for k, explorer in enumerate(explorers):
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", explorer)
        tiles = explorer.find_element(By.CSS_SELECTOR, ".hf-tiles")

        def picture(tiles=tiles) -> bytes:
            return tiles.screenshot_as_png

        for control in explorer.find_elements(By.CSS_SELECTOR, "[data-control]"):
            label = control.find_element(By.XPATH, "..").text.split("\n")[0][:30]
            start, changed = picture(), False
            if control.tag_name == "select":
                choices = Select(control)
                for i in range(1, len(choices.options)):
                    choices.select_by_index(i)
                    if picture() != start:
                        changed = True
                        break
            else:
                for key in (Keys.HOME, *[Keys.ARROW_RIGHT] * 12):
                    control.send_keys(key)
                    time.sleep(0.05)
                    if picture() != start:
                        changed = True
                        break
            assert changed, f"{page}: explorer {k}: moving '{label}' left the images unchanged"
        assert not _errors(browser), f"{page}: console errors: {_errors(browser)}"
