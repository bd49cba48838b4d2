"""Weight of each built book page: everything a reader's browser fetches to show it.

    python tools/page_weight.py                 # reads _build/html (run `make book` first)
    python tools/page_weight.py --browser       # measured in headless Chromium instead
    python tools/page_weight.py _build/html chapters/01_xcov.html   # some pages only

A page's weight is its HTML plus the files it loads: images, scripts (``<script src>``
and ``<link rel="preload">``), stylesheets (and their ``@import``s) and the fonts those
stylesheets declare. Files are counted once per page, at their size on disk (what a
server without compression sends). The kernel-free explorers live inside the HTML.

Read from the HTML (the default), fonts are an upper bound: a browser fetches a
declared font only when the page uses it. ``--browser`` opens each page in headless
Chromium (Debian's ``chromium`` and ``chromium-driver``, as ``make browser-test``)
from a server on 127.0.0.1 and adds up what it really fetched (the Resource Timing
API's body sizes), fonts included. Either way, a file from another site (MathJax from
its CDN) is listed but not counted: its size is unknown here.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("images", "scripts", "styles", "fonts")

_IMG = re.compile(r'<img\b[^>]*?\bsrc="([^"]+)"')
_SCRIPT = re.compile(r'<script\b[^>]*?\bsrc="([^"]+)"')
_LINK = re.compile(r"<link\b[^>]*>")
_ATTR = re.compile(r'(\w[\w-]*)="([^"]*)"')
_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*['"]?([^'")\s;]+)""")
_FONT_FACE = re.compile(r"@font-face\s*{([^}]*)}")
_URL = re.compile(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""")


@dataclass
class PageWeight:
    """What one page loads: ``files[kind]`` maps each local file to its size in bytes."""

    html: int
    files: dict[str, dict[Path, int]] = field(default_factory=lambda: {k: {} for k in KINDS})
    external: list[str] = field(default_factory=list)

    def size(self, kind: str) -> int:
        return sum(self.files[kind].values())

    @property
    def total(self) -> int:
        return self.html + sum(self.size(k) for k in KINDS)


def reader_pages(html_root: Path) -> list[Path]:
    """The pages a reader reads (not the index, search page or theme templates)."""
    return sorted(p for p in html_root.glob("**/*.html")
                  if p.name not in {"genindex.html", "search.html"}
                  and not p.relative_to(html_root).as_posix().startswith("_")
                  and 'http-equiv="Refresh"' not in p.read_text(errors="ignore")[:2000])


def _local(base: Path, ref: str, html_root: Path) -> Path | None:
    """The file ``ref`` (relative to ``base``'s folder) names, or None for another site."""
    parts = urlsplit(ref)
    if parts.scheme or parts.netloc or ref.startswith("data:"):
        return None
    path = unquote(parts.path)
    target = (html_root / path.lstrip("/")) if path.startswith("/") else base.parent / path
    return target.resolve()


def _add(weight: PageWeight, kind: str, path: Path | None, ref: str) -> None:
    if path is None:
        if not ref.startswith("data:") and ref not in weight.external:
            weight.external.append(ref)
    elif path.is_file():
        weight.files[kind][path] = path.stat().st_size


def _stylesheet(weight: PageWeight, sheet: Path, html_root: Path) -> None:
    """Count ``sheet``, the stylesheets it imports and the fonts it declares (first
    source of each ``@font-face``: the format a current browser takes)."""
    if sheet in weight.files["styles"] or not sheet.is_file():
        return
    weight.files["styles"][sheet] = sheet.stat().st_size
    css = sheet.read_text(encoding="utf-8", errors="ignore")
    for ref in _IMPORT.findall(css):
        target = _local(sheet, ref, html_root)
        if target is None:
            _add(weight, "styles", None, ref)
        else:
            _stylesheet(weight, target, html_root)
    for face in _FONT_FACE.findall(css):
        urls = _URL.findall(face)
        if urls:
            _add(weight, "fonts", _local(sheet, urls[0], html_root), urls[0])


def page_weight(page: Path, html_root: Path) -> PageWeight:
    """What ``page`` loads, read from its HTML and stylesheets."""
    html = page.read_text(encoding="utf-8")
    weight = PageWeight(html=len(html.encode()))
    for ref in _IMG.findall(html):
        _add(weight, "images", _local(page, ref, html_root), ref)
    for ref in _SCRIPT.findall(html):
        _add(weight, "scripts", _local(page, ref, html_root), ref)
    for tag in _LINK.findall(html):
        attrs = dict(_ATTR.findall(tag))
        rel, ref = attrs.get("rel", "").split(), attrs.get("href", "")
        if "stylesheet" in rel:
            target = _local(page, ref, html_root)
            if target is None:
                _add(weight, "styles", None, ref)
            else:
                _stylesheet(weight, target, html_root)
        elif "preload" in rel and attrs.get("as") == "script":
            _add(weight, "scripts", _local(page, ref, html_root), ref)
        elif "icon" in rel:
            _add(weight, "images", _local(page, ref, html_root), ref)
    return weight


def page_weights(html_root: Path, pages: list[Path] | None = None) -> dict[str, PageWeight]:
    """``{page: PageWeight}`` for ``pages`` (default: every reader page), read from files."""
    return {p.relative_to(html_root).as_posix(): page_weight(p, html_root)
            for p in (pages if pages is not None else reader_pages(html_root))}


# What the browser fetched: the page's body and every resource's, same site only.
_MEASURE = """
const done = arguments[arguments.length - 1];
document.querySelectorAll('img').forEach(i => i.loading = 'eager');
const settle = () => Promise.all(Array.from(document.images).map(
  i => i.complete ? null : new Promise(r => { i.onload = i.onerror = r; })))
  .then(() => document.fonts.ready).then(() => new Promise(r => setTimeout(r, 500)));
const loaded = document.readyState === 'complete' ? Promise.resolve()
  : new Promise(r => window.addEventListener('load', r));
loaded.then(settle).then(() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const rows = performance.getEntriesByType('resource').map(
    e => [e.name, e.initiatorType, e.encodedBodySize]);
  done([nav.encodedBodySize, rows]);
});
"""


def _kind(url: str, initiator: str) -> str:
    path = urlsplit(url).path.lower()
    if path.endswith((".woff2", ".woff", ".ttf", ".otf", ".eot")):
        return "fonts"
    if path.endswith(".css"):
        return "styles"
    if path.endswith(".js") or initiator == "script":
        return "scripts"
    return "images"


def browser_weights(html_root: Path, pages: list[Path] | None = None) -> dict[str, PageWeight]:
    """``{page: PageWeight}`` as headless Chromium fetched each page (fresh cache)."""
    import functools
    import http.server
    import shutil
    import threading

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(html_root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(options=options, service=Service(
        shutil.which("chromedriver") or "/usr/bin/chromedriver"))
    driver.set_window_size(1280, 900)
    driver.set_script_timeout(60)
    out = {}
    try:
        for page in pages if pages is not None else reader_pages(html_root):
            name = page.relative_to(html_root).as_posix()
            driver.execute_cdp_cmd("Network.enable", {})
            driver.execute_cdp_cmd("Network.clearBrowserCache", {})
            driver.get(f"{origin}/{name}")
            html, rows = driver.execute_async_script(_MEASURE)
            weight = PageWeight(html=int(html))
            for url, initiator, size in rows:
                if not url.startswith(origin):
                    weight.external.append(url)
                    continue
                key = Path(urlsplit(url).path)
                weight.files[_kind(url, initiator)][key] = int(size)
            out[name] = weight
    finally:
        driver.quit()
        httpd.shutdown()
    return out


def _kb(n: int) -> str:
    return f"{n / 1e3:7.0f}"


def report(weights: dict[str, PageWeight]) -> str:
    """One line per page (kB; n = files), then the mean of the pages."""
    head = (f"{'page':32s} {'html':>7s} {'images':>11s} {'scripts':>11s} {'css':>11s} "
            f"{'fonts':>11s} {'total':>7s}")
    lines = [head + "   (kB; n = files)"]
    for name, w in weights.items():
        cells = " ".join(f"{len(w.files[k]):3d} {_kb(w.size(k))}" for k in KINDS)
        lines.append(f"{name:32s} {_kb(w.html)} {cells} {_kb(w.total)}")
    if weights:
        n = len(weights)
        mean = {k: sum(w.size(k) for w in weights.values()) / n for k in KINDS}
        html = sum(w.html for w in weights.values()) / n
        cells = " ".join(f"    {_kb(int(mean[k]))}" for k in KINDS)
        total = sum(w.total for w in weights.values()) / n
        lines.append(f"{'mean of ' + str(n) + ' pages':32s} {_kb(int(html))} {cells} "
                     f"{_kb(int(total))}")
    external = sorted({u for w in weights.values() for u in w.external})
    if external:
        lines.append("From other sites (not counted): " + ", ".join(external))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_root", nargs="?", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("pages", nargs="*", help="pages under html_root (default: all)")
    parser.add_argument("--browser", action="store_true",
                        help="measure in headless Chromium instead of reading the files")
    args = parser.parse_args(argv)
    root = args.html_root.resolve()
    pages = [root / p for p in args.pages] or reader_pages(root)
    if not pages:
        print(f"No pages under {root}: run `make book` first.")
        return 1
    weights = (browser_weights if args.browser else page_weights)(root, pages)
    print(report(weights))
    return 0


if __name__ == "__main__":
    sys.exit(main())
