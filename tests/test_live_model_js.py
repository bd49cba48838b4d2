"""The in-page model's JavaScript (``_static/live_model.js``), run by Node.js outside a
browser: on every committed export it computes what Keras computed for the export's
reference cases (digits and style codes, test images read and redrawn as every digit,
the other domain's images), within 1/255 per pixel. A quick check of the arithmetic;
``tests/browser/test_live_model.py`` checks the page itself in Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_browser_models import COMMITTED  # the committed exports, found once

from tools import browser_models as bm

ROOT = Path(__file__).resolve().parents[1]
HARNESS = Path(__file__).with_name("live_model_harness.js")
SCRIPT = ROOT / "_static" / "live_model.js"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js")


def run_page_code(chapter: str, folder: Path = bm.OUT_DIR, script: Path = SCRIPT) -> dict:
    """The reference cases of ``chapter``'s export, computed by the page's script."""
    done = subprocess.run(["node", str(HARNESS), str(script), str(folder), chapter],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _worst(chapter: str, got: dict) -> float:
    """The largest pixel difference (in [0, 1]) from Keras; asserts the codes too."""
    ref = json.loads((bm.OUT_DIR / f"{chapter}.reference.json").read_text(encoding="utf-8"))
    worst = 0.0
    for case, img in zip(ref["decode"], got["decode"], strict=True):
        worst = max(worst, np.abs(np.array(img) - case["image"]).max())
    for case, out in zip(ref["encode"], got["encode"], strict=True):
        assert np.abs(np.array(out["probs"]) - case["probs"]).max() < 1e-3
        scale = 1 + np.abs(case["style"]).max()
        assert np.abs(np.array(out["style"]) - case["style"]).max() < 1e-2 * scale
        worst = max(worst, np.abs(np.array(out["redrawn"]) - case["redrawn"]).max())
    for case, out in zip(ref.get("other", []), got["other"], strict=True):
        scale = 1 + np.abs(case["content"]).max()
        assert np.abs(np.array(out["content"]) - case["content"]).max() < 1e-2 * scale
        worst = max(worst, np.abs(np.array(out["image"]) - case["image"]).max())
    return float(worst)


@pytest.mark.parametrize("chapter", COMMITTED)
def test_the_pages_script_computes_what_keras_computed(chapter):
    worst = _worst(chapter, run_page_code(chapter))
    assert worst <= 1 / 255, f"{chapter}: {worst * 255:.2f}/255 from Keras"


def test_a_broken_op_is_caught(tmp_path):
    """The check can fail: a convolution that pads on the wrong side is off by far more."""
    chapter = next((c for c in COMMITTED if any(
        layer["op"] == "conv2d" for net in json.loads((bm.OUT_DIR / f"{c}.json").read_text())
        ["networks"].values() for layer in net["layers"])), None)
    if chapter is None:
        pytest.skip("no committed export has a convolution")
    broken = tmp_path / "live_model.js"
    broken.write_text(SCRIPT.read_text(encoding="utf-8").replace(
        "var iy = oy * sh - top + ky;", "var iy = oy * sh - top + ky + 1;"), encoding="utf-8")
    assert broken.read_text() != SCRIPT.read_text()
    with pytest.raises(AssertionError):  # the codes or the pixels are off
        assert _worst(chapter, run_page_code(chapter, script=broken)) <= 1 / 255
