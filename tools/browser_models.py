"""Export a chapter's trained model for the book's in-page explorer (no kernel, no server).

    python -m tools.browser_models 01_xcov          # after `make execute NB=chapters/01_xcov.ipynb`
    python -m tools.browser_models --all            # every chapter whose CHAPTER declares a live_model

The book run of a chapter leaves its trained weights in
``_build/weights/<chapter>-book-weights.zip`` (:mod:`helpers.pretrained`: one ``.npz``
per ``train()`` call).  This command rebuilds the chapter's model in Keras, loads the
weights of the call its ``CHAPTER.live_model`` names, and writes, into
``_static/live_models/`` (copied into the built book as it is; nothing is fetched from
elsewhere at read time):

``<chapter>.json``
    the model's description, format :data:`FORMAT` (documented below);
``<chapter>-decoder.bin`` and ``<chapter>-encoder.bin``
    the weights, little-endian, in the dtype the description names; the encoder file
    also holds a few dozen test images (``uint8``, row-major, channels last) for the
    page's "random test image" button.  The page loads the decoder on its first
    interaction and the encoder only when the reader draws or asks for a test image;
``<chapter>.reference.json``
    what Keras computes for a few fixed inputs, for the tests (never loaded by the page).

All files are committed, so the book builds from a clean clone without the zip; run the
command again after every book run of the chapter (it rewrites only what changed).

**Format** (``hidden-factors-live-model/2``).  ``networks`` maps a name to a list of
``layers`` applied in order to one image or vector, held flat (row-major, channels
last), with the ``input`` and ``output`` shapes of the whole network; its weights are
in ``file``.  A tensor ``T`` is ``{"offset": bytes, "shape": [...]}`` into that file.
The layers:

- ``{"op": "dense", "in": n, "out": m, "kernel": T (n, m), "bias": T (m)}``: a Keras
  ``Dense``, with a ``BatchNormalization`` that follows it folded in (inference mode:
  ``kernel * g`` and ``(bias - mean) * g + beta``, ``g = gamma / sqrt(var + eps)``);
- ``{"op": "conv2d", "in": [h, w, c], "out": [h', w', f], "kernel_size": [kh, kw],
  "strides": [sh, sw], "pad": [top, left], "kernel": T (kh, kw, c, f), "bias": T (f)}``:
  a Keras ``Conv2D``; input pixels outside the image count as zero (``"same"``
  padding puts the odd pixel at the bottom and right, as TensorFlow does);
- ``{"op": "upsample", "in": [h, w, c], "out": [h * fh, w * fw, c], "factor": [fh, fw]}``:
  nearest-neighbour ``UpSampling2D``;
- ``{"op": "slice", "in": n, "out": b - a, "start": a, "stop": b}``: units ``a`` to
  ``b - 1`` of a vector (JADE's content and style halves of one code);
- an activation, ``{"op": "relu" | "sigmoid" | "softmax" | "linear"}``.

``Flatten``, ``Reshape`` and ``Dropout`` (an identity at inference) need no op.  A page
that meets an op it does not know refuses the model.  ``encode`` names the chains of
networks that read an image: ``probs`` ends in the class probabilities, ``style`` in
the style code (chains may share their first networks).  ``decode`` names the
``network`` that reads ``[content, style]`` and holds ``content``, one content code per
digit: the one-hot vector for a class code, the mean code of the digit's training
images for models whose content is a learnt vector (``content_about`` says which).
``style`` holds each style unit's mean and standard deviation over the test images
and its ``effect``: the largest pixel change when the unit alone moves from its mean
by two standard deviations, the median over the ten digits (a unit below
``quiet_below`` barely changes the drawing, and the page groups its slider apart);
``scatter`` a sample of test codes (for the 2-D pad of a 2-unit style),
``test_images`` where the shipped images are, their shape and labels. A model of two
domains (JADE) has ``other``: the second domain's ``title``, ``image_shape``,
``test_images`` (in ``<chapter>-other.bin``, loaded when the reader asks for one) and the
``content`` chain that reads their content code, which the decoder draws in the
explorer's style. ``fidelity`` is the largest
difference between these weights (in float32 arithmetic) and Keras on the first
:data:`N_FIDELITY` test images, each redrawn as every digit (and as many of the other
domain's images, drawn in those images' styles).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
import zipfile
from pathlib import Path

import numpy as np

import helpers  # noqa: F401  (sets TensorFlow's options before TensorFlow is imported)
from helpers import pretrained
from helpers.files import atomic_write_bytes

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "_static" / "live_models"
WEIGHTS_DIR = ROOT / pretrained.BUILD_DIR
FORMAT = "hidden-factors-live-model/2"
#: the largest pixel difference (in [0, 1]) float16 weights may cause against Keras
#: for float16 to be chosen; half of the 1/255 the browser test allows
FLOAT16_BUDGET = 0.5 / 255
N_TEST_IMAGES = 40
N_SCATTER = 600
#: test images whose class, style and redrawing as every digit the fidelity check compares
N_FIDELITY = 2000
#: a style unit whose effect (see the format) is below this barely changes the drawing
QUIET_BELOW = 10 / 255
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


def network(model, path: str):
    """The sub-network at attribute ``path`` of ``model`` (e.g. ``"content.s_encoder"``)."""
    obj = model
    for part in path.split("."):
        if isinstance(obj, dict) and part in obj:
            obj = obj[part]
        elif hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            raise ExportError(f"{type(model).__name__} has no {path!r} (its live_model "
                              "names a network the model does not have).")
    return obj


SLICE = re.compile(r"\[(\d+):(\d+)\]")


def _chain_networks(model, chain, input_shape, nets: dict, shapes: dict, file: str) -> tuple:
    """Add the networks of ``chain`` (read from ``input_shape``) to ``nets`` and
    ``shapes``; return the chain's output shape. A step ``"[a:b]"`` becomes a network
    of one ``slice`` op, named after the network before it."""
    shape, before = tuple(input_shape), "input"
    names = []
    for step in chain:
        cut = SLICE.fullmatch(step)
        name = f"{before}{step}" if cut else step
        if name not in nets:
            if cut:
                a, b = int(cut[1]), int(cut[2])
                if len(shape) != 1 or not 0 <= a < b <= shape[0]:
                    raise ExportError(f"{step} cuts a {shape} tensor (after {before}).")
                ops = [({"op": "slice", "start": a, "stop": b, "in": shape[0],
                         "out": b - a}, [])]
            else:
                ops = network_ops(network(model, step), shape)
            nets[name] = (file, ops)
            shapes[name] = (shape, output_shape(ops, shape))
        elif shapes[name][0] != shape:
            raise ExportError(f"{name!r} reads {shapes[name][0]} in one chain and "
                              f"{shape} in another.")
        shape, before = shapes[name][1], name
        names.append(name)
    return shape, names


def _layers(net) -> list:
    """The layers of a Keras Sequential, nested Sequentials flattened."""
    import keras

    out = []
    for layer in net.layers:
        out += _layers(layer) if isinstance(layer, keras.Sequential) else [layer]
    return out


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """``(output size, padding before)`` of TensorFlow's ``"same"`` padding."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return out, total // 2


def network_ops(net, input_shape) -> list[tuple[dict, list[np.ndarray]]]:
    """Each layer of ``net`` as ``(op, arrays)``, what the page computes, for inputs of
    ``input_shape`` (a tuple without the batch axis)."""
    from keras import layers

    shape = tuple(int(d) for d in input_shape)
    ops: list[tuple[dict, list[np.ndarray]]] = []

    def activation(layer) -> None:
        act = layer.activation.__name__
        if act not in {"relu", "sigmoid", "softmax", "linear"}:
            raise ExportError(f"activation {act!r} of layer {layer.name} has no browser "
                              "version yet: add it to network_ops and to _static/live_model.js.")
        if act != "linear":
            ops.append(({"op": act}, []))

    for layer in _layers(net):
        if isinstance(layer, layers.Dropout):
            continue  # an identity at inference
        if isinstance(layer, layers.Flatten):
            shape = (int(np.prod(shape)),)
            continue  # the page holds every tensor flat, row-major, channels last
        if isinstance(layer, layers.Reshape):
            target = tuple(int(d) for d in layer.target_shape)
            if int(np.prod(target)) != int(np.prod(shape)):
                raise ExportError(f"layer {layer.name} reshapes {shape} to {target}.")
            shape = target
            continue
        if isinstance(layer, layers.Dense):
            if len(shape) != 1:
                raise ExportError(f"Dense layer {layer.name} reads a {shape} tensor; the "
                                  "page's dense op reads vectors (add a Flatten).")
            kernel = np.asarray(layer.kernel.numpy(), np.float32)
            bias = (np.asarray(layer.bias.numpy(), np.float32) if layer.use_bias
                    else np.zeros(kernel.shape[1], np.float32))
            ops.append(({"op": "dense", "in": int(kernel.shape[0]),
                         "out": int(kernel.shape[1])}, [kernel, bias]))
            shape = (int(kernel.shape[1]),)
            activation(layer)
            continue
        if isinstance(layer, layers.BatchNormalization):
            if not ops or ops[-1][0]["op"] != "dense" or len(shape) != 1:
                raise ExportError(f"BatchNormalization {layer.name} does not follow a Dense "
                                  "layer directly: the page folds it into that layer.")
            var = np.asarray(layer.moving_variance.numpy(), np.float64)
            mean = np.asarray(layer.moving_mean.numpy(), np.float64)
            gamma = (np.asarray(layer.gamma.numpy(), np.float64) if layer.scale
                     else np.ones_like(var))
            beta = (np.asarray(layer.beta.numpy(), np.float64) if layer.center
                    else np.zeros_like(var))
            g = gamma / np.sqrt(var + layer.epsilon)
            op, (kernel, bias) = ops[-1]
            ops[-1] = (op, [(kernel * g).astype(np.float32),
                            ((bias - mean) * g + beta).astype(np.float32)])
            continue
        if isinstance(layer, layers.Activation):
            activation(layer)
            continue
        if isinstance(layer, layers.Conv2D) and type(layer) is layers.Conv2D:
            if len(shape) != 3 or layer.data_format != "channels_last" \
                    or tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1:
                raise ExportError(f"Conv2D {layer.name}: the page runs channels-last, "
                                  "undilated, ungrouped convolutions on images only.")
            kernel = np.asarray(layer.kernel.numpy(), np.float32)
            bias = (np.asarray(layer.bias.numpy(), np.float32) if layer.use_bias
                    else np.zeros(kernel.shape[-1], np.float32))
            (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
            if layer.padding == "same":
                (oh, top), (ow, left) = _same_pad(shape[0], kh, sh), _same_pad(shape[1], kw, sw)
            else:
                oh, ow, top, left = (shape[0] - kh) // sh + 1, (shape[1] - kw) // sw + 1, 0, 0
            out = (oh, ow, int(kernel.shape[-1]))
            ops.append(({"op": "conv2d", "in": list(shape), "out": list(out),
                         "kernel_size": [int(kh), int(kw)], "strides": [int(sh), int(sw)],
                         "pad": [int(top), int(left)]}, [kernel, bias]))
            shape = out
            activation(layer)
            continue
        if isinstance(layer, layers.UpSampling2D):
            if layer.interpolation != "nearest" or len(shape) != 3:
                raise ExportError(f"UpSampling2D {layer.name}: the page upsamples images "
                                  "by repeating pixels (interpolation='nearest') only.")
            fh, fw = (int(f) for f in layer.size)
            out = (shape[0] * fh, shape[1] * fw, shape[2])
            ops.append(({"op": "upsample", "in": list(shape), "out": list(out),
                         "factor": [fh, fw]}, []))
            shape = out
            continue
        raise ExportError(f"layer {layer.name} ({type(layer).__name__}) has no browser "
                          "version yet: add it to network_ops and to _static/live_model.js.")
    return ops


def output_shape(ops: list[tuple[dict, list]], input_shape) -> tuple[int, ...]:
    """The shape the ops leave (their last shaped layer's output)."""
    shape = tuple(int(d) for d in input_shape)
    for op, _ in ops:
        if "out" in op:
            shape = tuple(op["out"]) if isinstance(op["out"], list) else (int(op["out"]),)
    return shape


# ------------------------------------------------------- the page's arithmetic
def _conv2d(layer: dict, kernel: np.ndarray, bias: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = len(h)
    (ih, iw, c), (oh, ow, f) = layer["in"], layer["out"]
    (kh, kw), (sh, sw), (top, left) = layer["kernel_size"], layer["strides"], layer["pad"]
    x = h.reshape(n, ih, iw, c)
    bottom = max((oh - 1) * sh + kh - ih - top, 0)
    right = max((ow - 1) * sw + kw - iw - left, 0)
    x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out = np.zeros((n, oh, ow, f), np.float32) + bias
    for ky in range(kh):
        for kx in range(kw):
            patch = x[:, ky:ky + sh * (oh - 1) + 1:sh, kx:kx + sw * (ow - 1) + 1:sw, :]
            out += patch @ kernel[ky, kx]
    return out.reshape(n, -1)


def forward(layers: list[dict], arrays: dict, x: np.ndarray) -> np.ndarray:
    """What the page computes: ``layers`` (the description's) on flat rows ``x``, in float32."""
    h = np.asarray(x, np.float32).reshape(len(x), -1)
    for layer in layers:
        op = layer["op"]
        if op == "dense":
            h = h @ arrays[id(layer)][0] + arrays[id(layer)][1]
        elif op == "conv2d":
            h = _conv2d(layer, *arrays[id(layer)], h)
        elif op == "upsample":
            (ih, iw, c), (fh, fw) = layer["in"], layer["factor"]
            h = h.reshape(len(h), ih, iw, c).repeat(fh, axis=1).repeat(fw, axis=2)
            h = h.reshape(len(h), -1)
        elif op == "slice":
            h = h[:, layer["start"]:layer["stop"]]
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


WEIGHTED = ("dense", "conv2d")


def load_export(description: dict, folder: Path) -> dict:
    """``{id(layer): [kernel, bias]}`` read back from the written binaries (float32)."""
    blobs = {name: (Path(folder) / name).read_bytes() for name in description["files"]}
    return _arrays_from_blobs(description, blobs)


def _arrays_from_blobs(description: dict, blobs: dict[str, bytes]) -> dict:
    out = {}
    for net in description["networks"].values():
        for layer in net["layers"]:
            if layer["op"] in WEIGHTED:
                out[id(layer)] = [_tensor(blobs[net["file"]], layer[k], description["dtype"])
                                  for k in ("kernel", "bias")]
    return out


def _tensor(data: bytes, t: dict, dtype: str) -> np.ndarray:
    n = int(np.prod(t["shape"]))
    arr = np.frombuffer(data, dtype="<" + ("f2" if dtype == "float16" else "f4"),
                        count=n, offset=t["offset"])
    return arr.astype(np.float32).reshape(t["shape"])


def _chain(description: dict, arrays: dict, names: list[str], x: np.ndarray) -> np.ndarray:
    for name in names:
        x = forward(description["networks"][name]["layers"], arrays, x)
    return x


def encode_np(description: dict, arrays: dict, x: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(class probabilities, style)`` of flat images ``x`` as the page computes them."""
    enc = description["encode"]
    return (_chain(description, arrays, enc["probs"], x),
            _chain(description, arrays, enc["style"], x))


def other_content_np(description: dict, arrays: dict, x: np.ndarray) -> np.ndarray:
    """The content codes of the other domain's flat images ``x``, as the page computes them."""
    return _chain(description, arrays, description["other"]["content"], x)


def decode_np(description: dict, arrays: dict, digits, style: np.ndarray,
              batch: int = 500, content: np.ndarray | None = None) -> np.ndarray:
    """Flat images for ``digits`` (their content codes; or the codes ``content``) and
    ``style``, as the page computes them."""
    if content is None:
        content = np.asarray(description["decode"]["content"], np.float32)[np.asarray(digits)]
    x = np.concatenate([np.asarray(content, np.float32), np.asarray(style, np.float32)], axis=1)
    layers = description["networks"][description["decode"]["network"]]["layers"]
    return np.concatenate([forward(layers, arrays, x[i:i + batch])
                           for i in range(0, len(x), batch)])


# ----------------------------------------------------------------- writing
def _pack(ops: list[tuple[dict, list[np.ndarray]]], dtype: str,
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


def _keras_codes(model, x: np.ndarray, batch: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Keras's class probabilities and style codes of images ``x`` (inference mode)."""
    from keras import ops

    probs, style = [], []
    for i in range(0, len(x), batch):
        xb = ops.convert_to_tensor(x[i:i + batch])
        probs.append(np.asarray(model.classify(xb, training=False)))
        style.append(np.asarray(model.encode(xb, training=False)[1]))
    return np.concatenate(probs), np.concatenate(style)


def _keras_decode(model, content: np.ndarray, style: np.ndarray, batch: int = 500) -> np.ndarray:
    from keras import ops

    return np.concatenate([
        np.asarray(model.decode(ops.convert_to_tensor(content[i:i + batch]),
                                ops.convert_to_tensor(style[i:i + batch]), training=False))
        .reshape(len(content[i:i + batch]), -1) for i in range(0, len(content), batch)])


def _fidelity(model, description: dict, arrays: dict, x: np.ndarray, probs_k: np.ndarray,
              z_k: np.ndarray, other: tuple | None = None) -> dict:
    """Largest differences between the exported weights' arithmetic and Keras, on the
    test images ``x`` (Keras's class probabilities ``probs_k`` and styles ``z_k`` of
    them): every image's class probabilities and style, and each image redrawn as
    every digit."""
    probs_p, z_p = encode_np(description, arrays, x.reshape(len(x), -1))
    content = np.asarray(description["decode"]["content"], np.float32)
    worst = 0.0
    for d in range(description["num_classes"]):
        digits = np.full(len(x), d)
        img_k = _keras_decode(model, content[digits], z_k)
        img_p = decode_np(description, arrays, digits, z_k)
        worst = max(worst, float(np.abs(img_k - img_p).max()))
    out = {"images": len(x), "pixel": worst,
           "probability": float(np.abs(probs_k - probs_p).max()),
           "style": float(np.abs(z_k - z_p).max())}
    if other is not None:  # the other domain's content, drawn in each test image's style
        view, x_other = other
        n = min(len(x_other), len(x))
        s_k = np.concatenate([np.asarray(view.encode(x_other[i:i + 500], training=False)[0])
                              for i in range(0, n, 500)])
        s_p = other_content_np(description, arrays, x_other[:n].reshape(n, -1))
        img_k = _keras_decode(model, s_k, z_k[:n])
        img_p = decode_np(description, arrays, None, z_k[:n], content=s_k)
        out.update(other_images=n, other_content=float(np.abs(s_k - s_p).max()),
                   pixel=max(worst, float(np.abs(img_k - img_p).max())))
    return out


def unit_effects(description: dict, arrays: dict) -> list[float]:
    """Each style unit's effect: the largest pixel change when it alone moves from its
    mean by two standard deviations (the page's arithmetic), the median over the digits."""
    mean = np.array(description["style"]["mean"], np.float32)
    std = np.array(description["style"]["std"], np.float32)
    digits = np.arange(description["num_classes"])
    base = decode_np(description, arrays, digits, np.repeat(mean[None], len(digits), 0))
    out = []
    for unit in range(len(mean)):
        moved = np.repeat(mean[None], len(digits), 0)
        moved[:, unit] += 2 * std[unit]
        change = np.abs(decode_np(description, arrays, digits, moved) - base).max(axis=1)
        out.append(float(np.median(change)))
    return out


def content_codes(model, data) -> tuple[np.ndarray, str]:
    """One content code per digit and what it is: the model's own code for a label, or
    (a model whose content is a learnt vector) the mean code of the digit's training
    images (:func:`helpers.core.interface.fit_class_prototypes`)."""
    from helpers.core.interface import fit_class_prototypes

    labels = np.arange(model.num_classes)
    try:
        codes = np.asarray(model.content_for_label(labels), np.float32)
        about = ("one-hot" if np.array_equal(codes, np.eye(model.num_classes)) else
                 "the model's code for each digit")
    except RuntimeError:  # no fixed code per class: the mean code of each digit
        codes = np.asarray(fit_class_prototypes(model, data.x_train, data.y_train), np.float32)
        about = f"the mean content code of each digit's {len(data.x_train):,} training images"
    return codes, about


def export(chapter: str, weights_dir: Path = WEIGHTS_DIR, out_dir: Path = OUT_DIR,
           dtype: str = "auto", data_dir: str | None = None,
           n_fidelity: int = N_FIDELITY) -> dict:
    """Write the chapter's browser model into ``out_dir``; return its description.

    ``dtype`` "auto" takes float16 when it keeps every pixel of the fidelity check
    (the first ``n_fidelity`` test images, each redrawn as every digit) within
    :data:`FLOAT16_BUDGET` of Keras, else float32.
    """
    from helpers.data import load_mnist

    models = live_models()
    if chapter not in models:
        raise ExportError(f"no browser model is declared for {chapter!r} (its CHAPTER has no "
                          f"live_model); declared: {', '.join(models) or 'none'}.")
    spec = models[chapter]
    meta, weights, zip_sha = read_weights(chapter, spec.key, weights_dir)
    full = build_model(spec, meta, weights)
    model = spec.view(full) if spec.view else full  # what the explorer reads and draws
    data = load_mnist(test_size=None, data_dir=data_dir)
    x_test = data.x_test.astype(np.float32)
    if tuple(model.image_shape) != tuple(x_test.shape[1:]):
        raise ExportError(f"the explorer draws MNIST digits; {type(model).__name__} reads "
                          f"{tuple(model.image_shape)} images.")
    probs, z = _keras_codes(model, x_test)  # once: the fidelity check reuses them
    rng = np.random.default_rng(0)
    shown = np.sort(rng.choice(len(x_test), N_TEST_IMAGES, replace=False))
    scatter = np.sort(rng.choice(len(x_test), N_SCATTER, replace=False))
    codes, codes_about = content_codes(model, data)
    image_shape = tuple(model.image_shape)

    nets: dict[str, tuple[str, list]] = {}  # name -> (file kind, ops)
    shapes: dict[str, tuple] = {}
    chains = {}
    for chain, width in (("probs", model.num_classes), ("style", model.style_dim)):
        out, chains[chain] = _chain_networks(full, getattr(spec, chain), image_shape, nets,
                                             shapes, "encoder")
        if out != (int(width),):
            raise ExportError(f"the {chain} chain {getattr(spec, chain)} gives {out}, not "
                              f"({width},).")
    decoder_in = (int(codes.shape[1]) + int(model.style_dim),)
    out, _ = _chain_networks(full, (spec.decoder,), decoder_in, nets, shapes, "decoder")
    if out not in (image_shape, (int(np.prod(image_shape)),)):
        raise ExportError(f"the decoder {spec.decoder!r} draws {out}, not images of "
                          f"{image_shape}.")
    other = None
    if spec.other:
        x_other, y_other = spec.other.images()
        x_other = np.asarray(x_other, np.float32)
        out, chains["other"] = _chain_networks(full, spec.other.content, x_other.shape[1:],
                                               nets, shapes, "other")
        if out != (int(codes.shape[1]),):
            raise ExportError(f"the other domain's content chain gives {out}, not the "
                              f"decoder's content ({codes.shape[1]},).")
        other = (spec.other.view(full), x_other, np.asarray(y_other))
    images = {"encoder": (x_test[shown], data.y_test[shown])}
    if other:
        images["other"] = (other[1][:N_TEST_IMAGES], other[2][:N_TEST_IMAGES])

    choices = ("float16", "float32") if dtype == "auto" else (dtype,)
    for choice in choices:
        description, blobs = _describe(chapter, spec, meta, zip_sha, model, nets, shapes,
                                       chains, choice, codes, codes_about, images, z,
                                       data.y_test, scatter)
        arrays = _arrays_from_blobs(description, blobs)
        fidelity = _fidelity(model, description, arrays, x_test[:n_fidelity],
                             probs[:n_fidelity], z[:n_fidelity],
                             other and (other[0], other[1][:n_fidelity]))
        if choice == "float32" or fidelity["pixel"] <= FLOAT16_BUDGET or dtype != "auto":
            break
    description["fidelity"] = {k: (round(v, 7) if isinstance(v, float) else v)
                               for k, v in fidelity.items()}
    description["style"]["effect"] = [round(v, 4) for v in unit_effects(description, arrays)]
    description["style"]["quiet_below"] = round(QUIET_BELOW, 4)
    reference = _reference(model, description, x_test, shown, other)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, blob in blobs.items():
        _write_if_changed(out_dir / name, blob)
    _write_if_changed(out_dir / f"{chapter}.json",
                      (json.dumps(description, indent=1, ensure_ascii=False) + "\n").encode())
    _write_if_changed(out_dir / f"{chapter}.reference.json",
                      (json.dumps(reference, ensure_ascii=False) + "\n").encode())
    return description


def _describe(chapter, spec, meta, zip_sha, model, nets, shapes, chains, dtype, codes,
              codes_about, images, z, labels, scatter) -> tuple[dict, dict[str, bytes]]:
    kinds = ["decoder", "encoder"] + (["other"] if "other" in images else [])
    files = {kind: f"{chapter}-{kind}.bin" for kind in kinds}
    networks, blobs, at = {}, {}, {}
    for kind, file in files.items():
        names = [n for n, (k, _) in nets.items() if k == kind]
        ops = [op for n in names for op in nets[n][1]]
        pixels = (np.round(images[kind][0].reshape(len(images[kind][0]), -1) * 255)
                  .astype(np.uint8).tobytes() if kind in images else b"")
        layers, blobs[file], at[kind] = _pack(ops, dtype, pixels)
        i = 0
        for name in names:
            count = len(nets[name][1])
            networks[name] = {"file": file, "input": list(shapes[name][0]),
                              "output": list(shapes[name][1]), "layers": layers[i:i + count]}
            i += count

    def shipped(kind: str) -> dict:
        return {"file": files[kind], "offset": at[kind], "count": len(images[kind][0]),
                "shape": list(images[kind][0].shape[1:]), "dtype": "uint8",
                "labels": [int(v) for v in images[kind][1]]}

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
        "encode": {"probs": chains["probs"], "style": chains["style"]},
        "decode": {"network": spec.decoder, "inputs": ["content", "style"],
                   "content": [[round(float(v), 6) for v in row] for row in codes],
                   "content_about": codes_about},
        "style": {"mean": [round(float(v), 5) for v in z_mean],
                  "std": [round(float(v), 5) for v in z_std]},
        "test_images": shipped("encoder"),
    }
    if z.shape[1] == 2:  # the 2-D pad's dots
        description["scatter"] = {"style": [[round(float(v), 2) for v in row] for row in z[scatter]],
                                  "labels": [int(v) for v in labels[scatter]]}
    if "other" in images:
        description["other"] = {"title": spec.other.title, "content": chains["other"],
                                "image_shape": list(images["other"][0].shape[1:]),
                                "test_images": shipped("other")}
    return description, blobs


def _reference(model, description: dict, x_test: np.ndarray, shown: np.ndarray,
               other: tuple | None = None) -> dict:
    """What Keras computes for fixed inputs: the tests compare the page with these."""
    mean, std = np.array(description["style"]["mean"]), np.array(description["style"]["std"])
    content = np.asarray(description["decode"]["content"], np.float32)
    n = len(mean)
    cases = [(3, mean), (7, mean + np.resize([2.0, -1.5], n) * std),
             (0, mean - 1.0 * std), (9, mean + np.resize([-2.5, 2.5, 1.0], n) * std)]
    decode = []
    for digit, style in cases:
        style = np.round(style.astype(np.float32), 4)
        img = _keras_decode(model, content[[digit]], style[None])
        decode.append({"digit": digit, "style": [float(v) for v in style],
                       "image": [round(float(v), 6) for v in img.reshape(-1)]})
    encode = []
    for k in (0, 1):
        probs, zz = _keras_codes(model, x_test[shown[k]][None])
        redrawn = _keras_decode(model, content, np.repeat(zz, len(content), axis=0))
        encode.append({"test_image": k, "probs": [round(float(v), 7) for v in probs[0]],
                       "style": [round(float(v), 6) for v in zz[0]],
                       "redrawn": [[round(float(v), 6) for v in r.reshape(-1)]
                                   for r in redrawn]})
    out = {"format": FORMAT, "chapter": description["chapter"], "decode": decode,
           "encode": encode}
    if other is not None:  # other-domain test images drawn in the average style
        view, x_other, _ = other
        out["other"] = []
        for k in (0, 1):
            s = np.asarray(view.encode(x_other[k][None], training=False)[0])
            img = _keras_decode(model, s, mean.astype(np.float32)[None])
            out["other"].append({"test_image": k, "content": [round(float(v), 6) for v in s[0]],
                                 "style": [float(v) for v in mean],
                                 "image": [round(float(v), 6) for v in img.reshape(-1)]})
    return out


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False
    atomic_write_bytes(path, data)
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
