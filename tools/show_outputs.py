"""Print a notebook's text outputs and save its figures as PNGs (for reviewing a run).

    python tools/show_outputs.py chapters/00_warmup.ipynb /tmp/figures
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

import nbformat


def main(path: str, out_dir: str) -> None:
    nb = nbformat.read(path, as_version=4)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for k, o in enumerate(cell.get("outputs", [])):
            data = o.get("data", {})
            if o.output_type == "stream":
                print(f"[{i}] {o.name}: {o.text.strip()[:1500]}")
            elif o.output_type == "error":
                print(f"[{i}] ERROR {o.ename}: {o.evalue}")
            elif "image/png" in data:
                name = out / f"cell{i:02d}_{k}.png"
                name.write_bytes(base64.b64decode(data["image/png"]))
                print(f"[{i}] figure -> {name}")
            elif "text/markdown" in data:
                print(f"[{i}] markdown:\n{data['text/markdown']}")
            elif "application/vnd.jupyter.widget-view+json" in data:
                print(f"[{i}] widget")
            elif "text/plain" in data:
                print(f"[{i}] {data['text/plain'][:300]}")
    print("metadata:", nb.metadata.get("hidden_factors"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "/tmp/nb_figures")
