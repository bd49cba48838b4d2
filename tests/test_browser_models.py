"""The exporter of the book's in-page models (``python -m tools.browser_models``).

The committed export is checked against itself (files, checksums, shapes) and against
Keras (the reference cases it stored); a fresh export from a scratch weights zip
round-trips; a missing or mismatched zip is refused in words.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tools import browser_models as bm

COMMITTED = sorted(p.stem for p in bm.OUT_DIR.glob("*.json")
                   if not p.name.endswith(".reference.json"))


def _description(chapter: str) -> dict:
    return json.loads((bm.OUT_DIR / f"{chapter}.json").read_text(encoding="utf-8"))


def test_every_declared_model_with_an_export_is_committed_whole():
    assert "01_xcov" in COMMITTED
    for chapter in COMMITTED:
        assert chapter in bm.live_models()
        d = _description(chapter)
        assert d["format"] == bm.FORMAT
        for name, info in d["files"].items():
            data = (bm.OUT_DIR / name).read_bytes()
            assert len(data) == info["bytes"]
            assert hashlib.sha256(data).hexdigest() == info["sha256"]
        assert (bm.OUT_DIR / f"{chapter}.reference.json").is_file()


@pytest.mark.parametrize("chapter", COMMITTED)
def test_layers_chain_and_fit_their_files(chapter):
    d = _description(chapter)
    size = {"float16": 2, "float32": 4}[d["dtype"]]
    n_pixels = int(np.prod(d["image_shape"]))
    widths = {"body": n_pixels, "decoder": d["num_classes"] + d["style_dim"]}
    for name, net in d["networks"].items():
        width = widths.get(name)
        file_bytes = d["files"][net["file"]]["bytes"]
        for layer in net["layers"]:
            assert layer["op"] in {"dense", "relu", "sigmoid", "softmax", "linear"}
            if layer["op"] != "dense":
                continue
            if width is not None:
                assert layer["in"] == width, f"{name}: a layer reads {layer['in']}, not {width}"
            assert layer["kernel"]["shape"] == [layer["in"], layer["out"]]
            assert layer["bias"]["shape"] == [layer["out"]]
            for t in (layer["kernel"], layer["bias"]):
                assert t["offset"] % bm.ALIGN == 0
                assert t["offset"] + size * int(np.prod(t["shape"])) <= file_bytes
            width = layer["out"]
    out = [lay for lay in d["networks"]["decoder"]["layers"] if lay["op"] == "dense"][-1]
    assert out["out"] == n_pixels
    t = d["test_images"]
    assert t["offset"] + t["count"] * n_pixels <= d["files"][t["file"]]["bytes"]
    assert len(t["labels"]) == t["count"]


@pytest.mark.parametrize("chapter", COMMITTED)
def test_the_exported_weights_compute_what_keras_computed(chapter):
    """The page's arithmetic on the committed weights, against Keras's stored answers."""
    d = _description(chapter)
    ref = json.loads((bm.OUT_DIR / f"{chapter}.reference.json").read_text(encoding="utf-8"))
    arrays = bm.load_export(d, bm.OUT_DIR)
    assert d["fidelity"]["pixel"] <= 1 / 255
    for case in ref["decode"]:
        img = bm.decode_np(d, arrays, [case["digit"]], np.array([case["style"]]))[0]
        assert np.abs(img - np.array(case["image"])).max() <= 1 / 255
    size = int(np.prod(d["image_shape"]))
    raw = (bm.OUT_DIR / d["test_images"]["file"]).read_bytes()
    images = np.frombuffer(raw, np.uint8, d["test_images"]["count"] * size,
                           d["test_images"]["offset"]).reshape(-1, size) / 255
    for case in ref["encode"]:
        probs, style = bm.encode_np(d, arrays, images[case["test_image"]][None])
        assert np.abs(probs[0] - case["probs"]).max() < 1e-3
        assert np.abs(style[0] - case["style"]).max() < 1e-2 * (1 + np.abs(case["style"]).max())
        redrawn = bm.decode_np(d, arrays, np.arange(10), np.repeat(np.array([case["style"]]),
                                                                   10, axis=0))
        assert np.abs(redrawn - np.array(case["redrawn"])).max() <= 1 / 255


# ------------------------------------------------------------ a scratch export
def _scratch_zip(folder: Path, chapter: str = "01_xcov", key: str | None = None,
                 style_dim: int = 2) -> Path:
    """A weights zip as a book run leaves it, holding a freshly initialised model."""
    from helpers import pretrained
    from helpers.papers.xcov import XCovAutoencoder

    spec = bm.live_models()[chapter]
    model = XCovAutoencoder(style_dim=style_dim, hidden=(500, 500))
    model.prepare_logging(np.zeros((2, 28, 28, 1), np.float32), np.zeros(2, np.int64))
    npz = folder / "npz"
    pretrained.save(model, key or spec.key, "scratch", {}, 0.0, npz)
    return Path(pretrained.pack(npz, chapter, "book", folder / "results", folder / "weights",
                                "https://example.invalid/")["asset"])


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bm")
    _scratch_zip(folder)
    out = folder / "out"
    d = bm.export("01_xcov", folder / "weights", out, "float32", n_fidelity=50)
    return folder, out, d


def test_a_fresh_export_round_trips(scratch):
    folder, out, d = scratch
    assert d["dtype"] == "float32"
    assert d["fidelity"]["pixel"] < 1e-5 and d["fidelity"]["images"] == 50
    stored = json.loads((out / "01_xcov.json").read_text(encoding="utf-8"))
    assert stored == d
    assert sorted(p.name for p in out.iterdir()) == [
        "01_xcov-decoder.bin", "01_xcov-encoder.bin", "01_xcov.json",
        "01_xcov.reference.json"]
    ref = json.loads((out / "01_xcov.reference.json").read_text(encoding="utf-8"))
    arrays = bm.load_export(stored, out)
    case = ref["decode"][0]
    img = bm.decode_np(stored, arrays, [case["digit"]], np.array([case["style"]]))[0]
    assert np.abs(img - np.array(case["image"])).max() < 1e-5


def test_exporting_again_changes_no_file(scratch):
    folder, out, d = scratch
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()}
    bm.export("01_xcov", folder / "weights", out, "float32", n_fidelity=50)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in out.iterdir()} == before


def test_a_missing_zip_says_how_to_record_it(tmp_path):
    with pytest.raises(bm.ExportError, match=r"make execute NB=chapters/01_xcov\.ipynb"):
        bm.export("01_xcov", tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert bm.main(["01_xcov", "--weights-dir", str(tmp_path), "--out",
                    str(tmp_path / "out")]) == 1


def test_a_zip_without_the_models_call_is_refused(tmp_path):
    _scratch_zip(tmp_path, key="something-else-1")
    with pytest.raises(bm.ExportError, match="has no weights for 'xcov-gamma-10-1'"):
        bm.export("01_xcov", tmp_path / "weights", tmp_path / "out")


def test_weights_of_another_shape_are_refused(tmp_path):
    _scratch_zip(tmp_path, style_dim=3)
    with pytest.raises(bm.ExportError, match="do not fit XCovAutoencoder"):
        bm.export("01_xcov", tmp_path / "weights", tmp_path / "out")


def test_an_unknown_chapter_or_layer_is_refused(tmp_path):
    import keras

    with pytest.raises(bm.ExportError, match="no browser model is declared"):
        bm.export("99_nothing", tmp_path, tmp_path)
    net = keras.Sequential([keras.layers.Dense(3), keras.layers.Dropout(0.5)])
    net.build((None, 4))
    with pytest.raises(bm.ExportError, match="has no browser version yet"):
        bm.network_ops(net)


def test_the_zip_is_read_not_unpacked(tmp_path):
    """The exporter reads the zip in memory: nothing lands next to it."""
    _scratch_zip(tmp_path)
    before = sorted(p.name for p in (tmp_path / "weights").iterdir())
    bm.read_weights("01_xcov", "xcov-gamma-10-1", tmp_path / "weights")
    assert sorted(p.name for p in (tmp_path / "weights").iterdir()) == before
    assert zipfile.is_zipfile(tmp_path / "weights" / "01_xcov-book-weights.zip")
