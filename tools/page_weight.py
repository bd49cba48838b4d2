"""Weight of each built chapter page: its HTML plus the images it loads.

    python tools/page_weight.py            # reads _build/html (run `make book` first)

The kernel-free explorers live inside the HTML; figures are separate PNGs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def page_weights(html_root: Path) -> dict[str, tuple[int, int, int]]:
    """``{page: (html bytes, image count, image bytes)}`` for every chapter page."""
    out = {}
    for page in sorted((html_root / "chapters").glob("*.html")):
        html = page.read_text(encoding="utf-8")
        sources = set(re.findall(r'<img[^>]+src="([^"]+)"', html))
        files = [(page.parent / s).resolve() for s in sources if not s.startswith("data:")]
        out[page.name] = (len(html.encode()), len(files),
                          sum(f.stat().st_size for f in files if f.exists()))
    return out


def main() -> int:
    html_root = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "_build" / "html"
    weights = page_weights(html_root)
    if not weights:
        print(f"No chapter pages under {html_root.name}/chapters: run `make book` first.")
        return 1
    for name, (html, count, images) in weights.items():
        print(f"{name:24s} html {html / 1e3:6.0f} kB · {count:2d} images {images / 1e3:6.0f} kB"
              f" · total {(html + images) / 1e3:6.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
