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
    """Every network's layers chain shape to shape, from its input to its output; every
    tensor lies inside its file; the encode chains and the decoder fit each other."""
    d = _description(chapter)
    size = {"float16": 2, "float32": 4}[d["dtype"]]
    n_pixels = int(np.prod(d["image_shape"]))
    for name, net in d["networks"].items():
        shape = list(net["input"])
        file_bytes = d["files"][net["file"]]["bytes"]
        for layer in net["layers"]:
            op = layer["op"]
            assert op in {"dense", "conv2d", "upsample", "slice", "relu", "sigmoid",
                          "softmax", "linear"}, f"{name}: unknown op {op}"
            if op == "dense":
                assert [int(np.prod(shape))] == [layer["in"]], f"{name}: reads {layer['in']}"
                assert layer["kernel"]["shape"] == [layer["in"], layer["out"]]
                assert layer["bias"]["shape"] == [layer["out"]]
                shape = [layer["out"]]
            elif op == "slice":
                assert shape == [layer["in"]] and 0 <= layer["start"] < layer["stop"] <= shape[0]
                shape = [layer["stop"] - layer["start"]]
            elif op in ("conv2d", "upsample"):
                assert int(np.prod(layer["in"])) == int(np.prod(shape)), f"{name}: {op} input"
                shape = list(layer["out"])
                if op == "conv2d":
                    kh, kw = layer["kernel_size"]
                    assert layer["kernel"]["shape"] == [kh, kw, layer["in"][2], shape[2]]
                else:
                    assert shape == [layer["in"][0] * layer["factor"][0],
                                     layer["in"][1] * layer["factor"][1], layer["in"][2]]
            for t in (layer.get("kernel"), layer.get("bias")):
                if t:
                    assert t["offset"] % bm.ALIGN == 0
                    assert t["offset"] + size * int(np.prod(t["shape"])) <= file_bytes
        assert int(np.prod(shape)) == int(np.prod(net["output"])), name
    nets = d["networks"]
    for chain, width in (("probs", d["num_classes"]), ("style", d["style_dim"])):
        names = d["encode"][chain]
        assert int(np.prod(nets[names[0]]["input"])) == n_pixels
        for a, b in zip(names, names[1:], strict=False):
            assert nets[a]["output"] == nets[b]["input"], f"{a} -> {b}"
        assert nets[names[-1]]["output"] == [width]
    content = np.array(d["decode"]["content"])
    decoder = nets[d["decode"]["network"]]
    assert content.shape[0] == d["num_classes"]
    assert decoder["input"] == [content.shape[1] + d["style_dim"]]
    assert int(np.prod(decoder["output"])) == n_pixels
    t = d["test_images"]
    assert t["shape"] == d["image_shape"]
    assert t["offset"] + t["count"] * n_pixels <= d["files"][t["file"]]["bytes"]
    assert len(t["labels"]) == t["count"]
    if "other" in d:  # a second domain: its content chain feeds the decoder's content
        other = d["other"]
        assert nets[other["content"][0]]["input"] == other["image_shape"]
        assert nets[other["content"][-1]]["output"] == [content.shape[1]]
        t = other["test_images"]
        size = int(np.prod(other["image_shape"]))
        assert t["shape"] == other["image_shape"] and len(t["labels"]) == t["count"]
        assert t["offset"] + t["count"] * size <= d["files"][t["file"]]["bytes"]


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
    for case in ref.get("other", []):  # the other domain's content, in the average style
        t = d["other"]["test_images"]
        n = int(np.prod(t["shape"]))
        raw = (bm.OUT_DIR / t["file"]).read_bytes()
        x = np.frombuffer(raw, np.uint8, n, t["offset"] + case["test_image"] * n)[None] / 255
        s = bm.other_content_np(d, arrays, x)
        assert np.abs(s[0] - case["content"]).max() < 1e-2 * (1 + np.abs(case["content"]).max())
        img = bm.decode_np(d, arrays, None, np.array([case["style"]]), content=s)
        assert np.abs(img[0] - np.array(case["image"])).max() <= 1 / 255
    assert ("other" in d) == ("other" in ref)


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
    net = keras.Sequential([keras.layers.Dense(3), keras.layers.LayerNormalization()])
    net.build((None, 4))
    with pytest.raises(bm.ExportError, match="has no browser version yet"):
        bm.network_ops(net, (4,))
    net = keras.Sequential([keras.layers.Conv2D(2, 3), keras.layers.BatchNormalization()])
    net.build((None, 6, 6, 1))
    with pytest.raises(bm.ExportError, match="does not follow a Dense"):
        bm.network_ops(net, (6, 6, 1))


@pytest.mark.parametrize("size", [28, 7])
def test_convolutions_upsampling_and_folded_batch_norm_compute_what_keras_computes(size):
    """A network with every op the page runs, trained-looking batch-norm statistics and
    strided "same" convolutions (TensorFlow pads the odd pixel at the bottom and right):
    the page's arithmetic equals Keras's in inference mode."""
    import keras

    keras.utils.set_random_seed(3)
    L = keras.layers
    net = keras.Sequential([
        L.Conv2D(4, 5, strides=2, padding="same", activation="relu"),
        L.Conv2D(3, 3, strides=2, padding="valid"), L.Flatten(), L.Dense(16),
        L.BatchNormalization(epsilon=0.01), L.Activation("relu"), L.Dropout(0.5),
        L.Dense(4 * 4 * 2, activation="relu"), L.Reshape((4, 4, 2)), L.UpSampling2D(2),
        L.Conv2D(2, 3, padding="same", activation="sigmoid"), L.Flatten(),
        L.Dense(10, activation="softmax")])
    net.build((None, size, size, 1))
    bn = net.layers[4]
    rng = np.random.default_rng(0)
    bn.moving_mean.assign(rng.normal(0, 2, 16).astype("float32"))
    bn.moving_variance.assign(rng.uniform(0.1, 4, 16).astype("float32"))
    bn.gamma.assign(rng.normal(1, 0.5, 16).astype("float32"))
    bn.beta.assign(rng.normal(0, 1, 16).astype("float32"))
    x = rng.uniform(0, 1, (8, size, size, 1)).astype("float32")
    ops = bm.network_ops(net, (size, size, 1))
    assert [o["op"] for o, _ in ops] == ["conv2d", "relu", "conv2d", "dense", "relu", "dense",
                                         "relu", "upsample", "conv2d", "sigmoid", "dense",
                                         "softmax"]
    assert ops[0][0]["pad"] == {28: [1, 1], 7: [2, 2]}[size]  # 28: 1 before, 2 after
    layers = [o for o, _ in ops]
    arrays = {id(o): a for o, a in ops if a}
    got = bm.forward(layers, arrays, x.reshape(8, -1))
    want = np.asarray(net(x, training=False))
    assert np.abs(got - want).max() < 1e-5, np.abs(got - want).max()


def test_the_zip_is_read_not_unpacked(tmp_path):
    """The exporter reads the zip in memory: nothing lands next to it."""
    _scratch_zip(tmp_path)
    before = sorted(p.name for p in (tmp_path / "weights").iterdir())
    bm.read_weights("01_xcov", "xcov-gamma-10-1", tmp_path / "weights")
    assert sorted(p.name for p in (tmp_path / "weights").iterdir()) == before
    assert zipfile.is_zipfile(tmp_path / "weights" / "01_xcov-book-weights.zip")
