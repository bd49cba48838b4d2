"""The landing page's picture: a figure a chapter's book run drew, copied as it is.

    python -m tools.landing_figure          # writes book/figures/landing.png
    python -m tools.landing_figure --check  # exit 1 if it differs from the chapter's

The chapter's code cell that draws it carries the tag ``landing-figure``; its first PNG
output is the picture (so the landing page shows what a run produced, never a drawing
made by hand). Re-run after re-executing that chapter.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

from helpers.files import atomic_write

ROOT = Path(__file__).resolve().parents[1]
TAG = "landing-figure"
TARGET = ROOT / "book" / "figures" / "landing.png"


def tagged_png(chapters: Path = ROOT / "chapters") -> tuple[str, bytes]:
    """(notebook name, PNG bytes) of the first output of the cell tagged ``landing-figure``."""
    for path in sorted(chapters.glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if TAG in cell.get("metadata", {}).get("tags", []):
                for output in cell.get("outputs", []):
                    data = output.get("data", {}).get("image/png")
                    if data:
                        return path.name, base64.b64decode("".join(data))
                raise SystemExit(f"{path.name}: the cell tagged {TAG!r} has no PNG output; "
                                 f"execute the chapter first.")
    raise SystemExit(f"no chapter has a code cell tagged {TAG!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if book/figures/landing.png differs from the chapter's")
    args = parser.parse_args(argv)
    name, png = tagged_png()
    if args.check:
        if not TARGET.is_file() or TARGET.read_bytes() != png:
            print(f"{TARGET.relative_to(ROOT)} differs from the figure of {name}: "
                  f"run python -m tools.landing_figure")
            return 1
        print(f"the landing figure is {name}'s")
        return 0
    with atomic_write(TARGET, "wb", encoding=None) as handle:
        handle.write(png)
    print(f"wrote {TARGET.relative_to(ROOT)} from {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
