"""Export a chapter's trained model for the book's in-page explorer (no kernel, no server).

    python -m tools.browser_models 01_xcov          # after `make execute NB=chapters/01_xcov.ipynb`
    python -m tools.browser_models --all            # every chapter whose CHAPTER declares a live_model

The book run of a chapter leaves its trained weights in
``_build/weights/<chapter>-book-weights.zip`` (:mod:`helpers.pretrained`: one ``.npz``
per ``train()`` call).  This command rebuilds the chapter's model in Keras, loads the
weights of its main call, and writes, into ``_static/live_models/`` (copied into the
built book as it is; nothing is fetched from elsewhere at read time):

``<chapter>.json``
    the model's description, format :data:`FORMAT` (documented below);
``<chapter>-decoder.bin`` and ``<chapter>-encoder.bin``
    the weights, little-endian, in the dtype the description names; the encoder file
    also holds a few dozen test images (``uint8``, row-major 28x28) for the page's
    "random test image" button.  The page loads the decoder on its first interaction
    and the encoder only when the reader draws or asks for a test image;
``<chapter>.reference.json``
    what Keras computes for a few fixed inputs, for the tests (never loaded by the page).

All files are committed, so the book builds from a clean clone without the zip; run the
command again after every book run of the chapter (it rewrites only what changed).

**Format** (``hidden-factors-live-model/1``).  The description holds ``networks``: each
a list of layers applied in order to a flat vector, in a ``file``.  A layer is
``{"op": "dense", "in": n, "out": m, "kernel": T, "bias": T}`` with ``T = {"offset":
bytes, "shape": [...]}`` into the file (kernel ``(in, out)`` row-major, as Keras stores
it), or an activation ``{"op": "relu" | "sigmoid" | "softmax" | "linear"}``.  Later ops
(a folded batch normalisation, ``conv2d``, ``upsample``) will be new ``op`` names; a
page that meets an op it does not know refuses the model.  ``encode`` says which
networks read an image (``body``, then the ``content`` and ``style`` heads);
``decode`` which network reads ``[content, style]``.  ``style`` holds each style unit's
mean and standard deviation over the test images, ``scatter`` a sample of test codes
(for the 2-D pad), ``test_images`` where the shipped images are and their labels,
``fidelity`` the largest difference between these weights (in float32 arithmetic) and
Keras on the first :data:`N_FIDELITY` test images, each redrawn as every digit.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np

import helpers  # noqa: F401  (sets TensorFlow's options before TensorFlow is imported)
from helpers import pretrained

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "_static" / "live_models"
WEIGHTS_DIR = ROOT / pretrained.BUILD_DIR
FORMAT = "hidden-factors-live-model/1"
#: the largest pixel difference (in [0, 1]) float16 weights may cause against Keras
#: for float16 to be chosen; half of the 1/255 the browser test allows
FLOAT16_BUDGET = 0.5 / 255
N_TEST_IMAGES = 40
N_SCATTER = 600
#: test images whose class, style and redrawing as every digit the fidelity check compares
N_FIDELITY = 2000
ALIGN = 8


def live_models() -> dict:
    """``{notebook: LiveModel}`` of every chapter that declares one (``CHAPTER.live_model``,
    in its own exported cells: no chapter is listed here)."""
    from helpers.papers import chapters

    return {c.notebook: c.spec.live_model for c in chapters() if c.spec.live_model}


class ExportError(RuntimeError):
    """The chapter's weights are missing or do not fit the model (said in words)."""


# ------------------------------------------------------------------ Keras side
def zip_path(chapter: str, weights_dir: Path = WEIGHTS_DIR) -> Path:
    """Where the book run leaves the chapter's weights."""
    return Path(weights_dir) / pretrained.asset_name(chapter, "book")


def read_weights(chapter: str, key: str, weights_dir: Path = WEIGHTS_DIR
                 ) -> tuple[dict, list[np.ndarray], str]:
    """``(meta, arrays, sha256 of the zip)`` of call ``key`` in the chapter's zip."""
    path = zip_path(chapter, weights_dir)
    if not path.is_file():
        raise ExportError(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
                          f"is missing: record the book run first: make execute "
                          f"NB=chapters/{chapter}.ipynb")
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        if f"{key}.npz" not in names:
            raise ExportError(f"{path.name} has no weights for {key!r} (it has "
                              f"{', '.join(n.removesuffix('.npz') for n in names)}): the "
                              "chapter's training calls changed; update its CHAPTER's live_model key.")
        meta, arrays = pretrained.read(io.BytesIO(zf.read(f"{key}.npz")))
    return meta, arrays, hashlib.sha256(data).hexdigest()


def build_model(live, meta: dict, arrays: list[np.ndarray]):
    """The chapter's Keras model (``live.build()``) with the book run's weights."""
    model = live.build()
    if meta.get("model") != type(model).__name__:
        raise ExportError(f"{live.key!r} holds a {meta.get('model')}, not a "
                          f"{type(model).__name__}.")
    x = np.zeros((2, *model.image_shape), np.float32)
    model.prepare_logging(x, np.zeros(2, np.int64))
    try:
        pretrained.assign(model, meta, arrays)
    except pretrained.WeightsMismatch as err:
        raise ExportError(f"the weights of {live.key!r} do not fit "
                          f"{type(model).__name__}: {err}") from err
    return model


def _layers(network) -> list:
    """The layers of a Keras Sequential, nested Sequentials flattened."""
    import keras

    out = []
    for layer in network.layers:
        out += _layers(layer) if isinstance(layer, keras.Sequential) else [layer]
    return out


def network_ops(network) -> list[tuple[dict, list[np.ndarray]]]:
    """Each layer of ``network`` as ``(op, arrays)``: what the page computes."""
    from keras import layers

    ops: list[tuple[dict, list[np.ndarray]]] = []
    for layer in _layers(network):
        if isinstance(layer, layers.Flatten | layers.Reshape):
            continue  # the page works on flat row-major vectors (channels last)
        if isinstance(layer, layers.Dense):
            kernel, bias = (np.asarray(w.numpy(), np.float32) for w in layer.weights)
            ops.append(({"op": "dense", "in": int(kernel.shape[0]),
                         "out": int(kernel.shape[1])}, [kernel, bias]))
            act = layer.activation.__name__
            if act != "linear":
                ops.append(({"op": act}, []))
            continue
        if isinstance(layer, layers.Activation):
            ops.append(({"op": layer.activation.__name__}, []))
            continue
        raise ExportError(f"layer {layer.name} ({type(layer).__name__}) has no browser "
                          "version yet: add it to network_ops and to _static/live_model.js.")
    for op, _ in ops:
        if op["op"] not in {"dense", "relu", "sigmoid", "softmax", "linear"}:
            raise ExportError(f"activation {op['op']!r} has no browser version yet.")
    return ops


# ------------------------------------------------------- the page's arithmetic
def forward(layers: list[dict], arrays: dict, x: np.ndarray) -> np.ndarray:
    """What the page computes: ``layers`` (the description's) on rows ``x``, in float32."""
    h = np.asarray(x, np.float32)
    for layer in layers:
        op = layer["op"]
        if op == "dense":
            h = h @ arrays[id(layer)][0] + arrays[id(layer)][1]
        elif op == "relu":
            h = np.maximum(h, 0)
        elif op == "sigmoid":
            h = 1 / (1 + np.exp(-h))
        elif op == "softmax":
            e = np.exp(h - h.max(-1, keepdims=True))
            h = e / e.sum(-1, keepdims=True)
        elif op != "linear":
            raise ValueError(f"unknown op {op!r}")
    return h.astype(np.float32)


def load_export(description: dict, folder: Path) -> dict:
    """``{id(layer): [kernel, bias]}`` read back from the written binaries (float32)."""
    out = {}
    for net in description["networks"].values():
        data = (Path(folder) / net["file"]).read_bytes()
        for layer in net["layers"]:
            if layer["op"] == "dense":
                out[id(layer)] = [_tensor(data, layer[k], description["dtype"])
                                  for k in ("kernel", "bias")]
    return out


def _tensor(data: bytes, t: dict, dtype: str) -> np.ndarray:
    n = int(np.prod(t["shape"]))
    arr = np.frombuffer(data, dtype="<" + ("f2" if dtype == "float16" else "f4"),
                        count=n, offset=t["offset"])
    return arr.astype(np.float32).reshape(t["shape"])


def encode_np(description: dict, arrays: dict, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(class probabilities, style)`` of flat images ``x`` as the page computes them."""
    nets, enc = description["networks"], description["encode"]
    h = forward(nets[enc["body"]]["layers"], arrays, x)
    return (forward(nets[enc["content"]]["layers"], arrays, h),
            forward(nets[enc["style"]]["layers"], arrays, h))


def decode_np(description: dict, arrays: dict, digits, style: np.ndarray) -> np.ndarray:
    """Flat images for one-hot ``digits`` and ``style`` as the page computes them."""
    onehot = np.eye(description["num_classes"], dtype=np.float32)[np.asarray(digits)]
    net = description["networks"][description["decode"]["network"]]
    return forward(net["layers"], arrays, np.concatenate(
        [onehot, np.asarray(style, np.float32)], axis=1))


# ----------------------------------------------------------------- writing
def _pack(ops: list[tuple[dict, list[np.ndarray]]], dtype: str, file: str,
          extra: bytes = b"") -> tuple[list[dict], bytes, int]:
    """The layers' descriptions and their binary (``extra`` appended at the end)."""
    out = io.BytesIO()
    layers = []
    for op, arrays in ops:
        op = dict(op)
        for name, a in zip(("kernel", "bias"), arrays, strict=False):
            out.write(b"\0" * (-out.tell() % ALIGN))
            op[name] = {"offset": out.tell(), "shape": list(a.shape)}
            out.write(np.asarray(a, "<f2" if dtype == "float16" else "<f4").tobytes())
        layers.append(op)
    out.write(b"\0" * (-out.tell() % ALIGN))
    extra_offset = out.tell()
    out.write(extra)
    return layers, out.getvalue(), extra_offset


def _fidelity(model, description: dict, arrays: dict, x: np.ndarray) -> dict:
    """Largest differences between the exported weights' arithmetic and Keras, on the
    test images: every image's class probabilities and style, and each image redrawn
    as every digit."""
    from keras import ops

    probs_k, z_k = (np.asarray(a) for a in model.heads(ops.convert_to_tensor(
        x.reshape(-1, *model.image_shape)), training=False))
    flat = x.reshape(len(x), -1)
    probs_p, z_p = encode_np(description, arrays, flat)
    worst = 0.0
    n = description["num_classes"]
    for d in range(n):
        digits = np.full(len(x), d)
        img_k = np.asarray(model.decode(model.content_for_label(digits), z_k)).reshape(len(x), -1)
        img_p = decode_np(description, arrays, digits, z_k)
        worst = max(worst, float(np.abs(img_k - img_p).max()))
    return {"images": len(x), "pixel": worst,
            "probability": float(np.abs(probs_k - probs_p).max()),
            "style": float(np.abs(z_k - z_p).max())}


def export(chapter: str, weights_dir: Path = WEIGHTS_DIR, out_dir: Path = OUT_DIR,
           dtype: str = "auto", data_dir: str | None = None,
           n_fidelity: int = N_FIDELITY) -> dict:
    """Write the chapter's browser model into ``out_dir``; return its description.

    ``dtype`` "auto" takes float16 when it keeps every pixel of the fidelity check
    (the first ``n_fidelity`` test images, each redrawn as every digit) within
    :data:`FLOAT16_BUDGET` of Keras, else float32.
    """
    from keras import ops

    from helpers.data import load_mnist

    models = live_models()
    if chapter not in models:
        raise ExportError(f"no browser model is declared for {chapter!r} (its CHAPTER has no "
                          f"live_model); declared: {', '.join(models) or 'none'}.")
    spec = models[chapter]
    meta, weights, zip_sha = read_weights(chapter, spec.key, weights_dir)
    model = build_model(spec, meta, weights)
    data = load_mnist(test_size=None, data_dir=data_dir)
    x_test = data.x_test.astype(np.float32)
    probs, z = (np.asarray(a) for a in model.heads(ops.convert_to_tensor(x_test),
                                                   training=False))
    rng = np.random.default_rng(0)
    shown = np.sort(rng.choice(len(x_test), N_TEST_IMAGES, replace=False))
    scatter = np.sort(rng.choice(len(x_test), N_SCATTER, replace=False))
    images = np.round(x_test[shown].reshape(N_TEST_IMAGES, -1) * 255).astype(np.uint8)

    enc_ops = {"body": network_ops(model.body), "content": network_ops(model.to_y),
               "style": network_ops(model.to_z)}
    dec_ops = network_ops(model.decoder)
    choices = ("float16", "float32") if dtype == "auto" else (dtype,)
    for choice in choices:
        description, blobs = _describe(chapter, spec, meta, zip_sha, model, enc_ops, dec_ops, choice,
                                       images, data.y_test[shown], z, data.y_test, scatter)
        arrays = _arrays_from_blobs(description, blobs)
        fidelity = _fidelity(model, description, arrays, x_test[:n_fidelity])
        if choice == "float32" or fidelity["pixel"] <= FLOAT16_BUDGET or dtype != "auto":
            break
    description["fidelity"] = {k: (round(v, 7) if isinstance(v, float) else v)
                               for k, v in fidelity.items()}
    reference = _reference(model, description, x_test, shown, z)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, blob in blobs.items():
        _write_if_changed(out_dir / name, blob)
    _write_if_changed(out_dir / f"{chapter}.json",
                      (json.dumps(description, indent=1, ensure_ascii=False) + "\n").encode())
    _write_if_changed(out_dir / f"{chapter}.reference.json",
                      (json.dumps(reference, ensure_ascii=False) + "\n").encode())
    return description


def _describe(chapter, spec, meta, zip_sha, model, enc_ops, dec_ops, dtype, images, image_labels,
              z, labels, scatter) -> tuple[dict, dict[str, bytes]]:
    enc_file, dec_file = f"{chapter}-encoder.bin", f"{chapter}-decoder.bin"
    networks, blobs = {}, {}
    dec_layers, blobs[dec_file], _ = _pack(dec_ops, dtype, dec_file)
    networks["decoder"] = {"file": dec_file, "layers": dec_layers}
    all_enc = [*enc_ops["body"], *enc_ops["content"], *enc_ops["style"]]
    enc_layers, blobs[enc_file], img_offset = _pack(all_enc, dtype, enc_file,
                                                   images.tobytes())
    i = 0
    for name in ("body", "content", "style"):
        networks[name] = {"file": enc_file,
                          "layers": enc_layers[i:i + len(enc_ops[name])]}
        i += len(enc_ops[name])
    z_mean, z_std = z.mean(0), z.std(0)
    description = {
        "format": FORMAT, "chapter": chapter, "title": spec.title,
        "model": meta["model"], "key": spec.key, "label": meta.get("label"),
        "weights": {"asset": zip_path(chapter).name, "sha256": zip_sha},
        "dtype": dtype, "image_shape": list(model.image_shape),
        "num_classes": int(model.num_classes), "style_dim": int(model.style_dim),
        "files": {name: {"bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                  for name, b in sorted(blobs.items())},
        "networks": networks,
        "encode": {"body": "body", "content": "content", "style": "style"},
        "decode": {"network": "decoder", "inputs": ["content", "style"]},
        "style": {"mean": [round(float(v), 5) for v in z_mean],
                  "std": [round(float(v), 5) for v in z_std]},
        "scatter": {"style": [[round(float(v), 2) for v in row] for row in z[scatter]],
                    "labels": [int(v) for v in labels[scatter]]},
        "test_images": {"file": enc_file, "offset": img_offset, "count": len(images),
                        "dtype": "uint8", "labels": [int(v) for v in image_labels]},
    }
    return description, blobs


def _arrays_from_blobs(description: dict, blobs: dict[str, bytes]) -> dict:
    out = {}
    for net in description["networks"].values():
        for layer in net["layers"]:
            if layer["op"] == "dense":
                out[id(layer)] = [_tensor(blobs[net["file"]], layer[k], description["dtype"])
                                  for k in ("kernel", "bias")]
    return out


def _reference(model, description: dict, x_test: np.ndarray, shown: np.ndarray,
               z: np.ndarray) -> dict:
    """What Keras computes for fixed inputs: the tests compare the page with these."""
    from keras import ops

    mean, std = np.array(description["style"]["mean"]), np.array(description["style"]["std"])
    cases = [(3, mean), (7, mean + np.array([2.0, -1.5])[: len(mean)] * std),
             (0, mean - 1.0 * std), (9, mean + np.array([-2.5, 2.5])[: len(mean)] * std)]
    decode = []
    for digit, style in cases:
        style = np.round(style.astype(np.float32), 4)
        img = np.asarray(model.decode(model.content_for_label(np.array([digit])),
                                      ops.convert_to_tensor(style[None])))
        decode.append({"digit": digit, "style": [float(v) for v in style],
                       "image": [round(float(v), 6) for v in img.reshape(-1)]})
    encode = []
    for k in (0, 1):
        x = x_test[shown[k]][None]
        probs, zz = (np.asarray(a) for a in model.heads(ops.convert_to_tensor(x)))
        redrawn = np.asarray(model.decode(model.content_for_label(np.arange(10)),
                                          np.repeat(zz, 10, axis=0)))
        encode.append({"test_image": k, "probs": [round(float(v), 7) for v in probs[0]],
                       "style": [round(float(v), 6) for v in zz[0]],
                       "redrawn": [[round(float(v), 6) for v in r.reshape(-1)]
                                   for r in redrawn]})
    return {"format": FORMAT, "chapter": description["chapter"], "decode": decode,
            "encode": encode}


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return True


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="e.g. 01_xcov")
    parser.add_argument("--all", action="store_true", help="every chapter that declares a live model")
    parser.add_argument("--dtype", choices=("auto", "float16", "float32"), default="auto",
                        help="auto: float16 when it keeps every test pixel within "
                             "half of 1/255 of Keras, else float32")
    parser.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument("--data-dir", default=None, help="folder with mnist.npz "
                        "(default: HF_DATA_DIR or the Keras cache)")
    args = parser.parse_args(argv)
    chapters = list(live_models()) if args.all else args.chapters
    if not chapters:
        parser.error("name a chapter (e.g. 01_xcov) or --all")
    failed = 0
    for chapter in chapters:
        try:
            d = export(chapter, args.weights_dir, args.out, args.dtype, args.data_dir)
        except ExportError as err:
            print(f"{chapter}: {err}", file=sys.stderr)
            failed += 1
            continue
        sizes = ", ".join(f"{n} {v['bytes'] / 1024:.0f} kB" for n, v in d["files"].items())
        print(f"{chapter}: {d['dtype']} ({sizes}); largest pixel difference from Keras "
              f"over {d['fidelity']['images']} test images x {d['num_classes']} digits: "
              f"{d['fidelity']['pixel'] * 255:.3f}/255")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
