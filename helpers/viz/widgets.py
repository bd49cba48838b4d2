"""Latent-space explorers that work with a kernel and without one.

An :class:`Explorer` is a few controls (sliders and pickers) and one ``render``
function that decodes the images a setting of the controls shows. From that one
definition it builds

* a **live** ipywidgets control (:meth:`Explorer.widget`), which decodes on every
  move in a running kernel (Jupyter, Colab, Binder), and
* a **kernel-free twin** (:meth:`Explorer.html`): every setting of the controls'
  grid is decoded once, and the PNGs are embedded with a few lines of plain
  JavaScript that swap them. It needs no kernel, no network and no CDN, so it
  works in the static book and as an output anywhere HTML runs.

Displaying an explorer offers both; a live frontend shows the widget, the book
shows the twin (``_config.yml`` ranks ``text/html`` first). Both call the same
``render``, so at every grid point they show the same pixels.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import ipywidgets as W
import numpy as np
from PIL import Image

from ..core.interface import DisentanglingModel, content_codes, decode_all, encode_all

# A static twin may embed at most this many decoded settings (about 0.5 kB each).
MAX_STATES = 4000
LIVE_NOTE = "Precomputed in the book; run the notebook in Colab or Binder to decode live."


def to_png(img: np.ndarray, scale: int = 1) -> bytes:
    """PNG bytes of one image in [0, 1] (grey or RGB), enlarged ``scale`` times."""
    img = np.clip(np.asarray(img, np.float32), 0, 1)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3):
        raise ValueError(f"to_png expects one (H, W) or (H, W, C) image; got {img.shape}.")
    if img.ndim == 3 and img.shape[-1] == 3 and np.array_equal(img[..., 0], img[..., 1]) \
            and np.array_equal(img[..., 0], img[..., 2]):
        img = img[..., 0]  # grey stored as RGB: one channel is a third of the bytes
    img = np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)
    buf = io.BytesIO()
    Image.fromarray(np.round(img * 255).astype(np.uint8)).save(buf, "PNG", optimize=True)
    return buf.getvalue()


@dataclass(frozen=True)
class Slider:
    """A control over a grid of ``values``; the twin offers exactly these.

    ``continuous=True`` lets the live widget move between grid points too.
    ``labels`` are shown as the readout (the values themselves by default).
    """

    name: str
    values: Sequence[float]
    start: int = 0
    continuous: bool = False
    labels: Sequence[str] | None = None

    def readouts(self) -> list[str]:
        return list(self.labels) if self.labels else [f"{v:.3g}" for v in self.values]


@dataclass(frozen=True)
class Choice:
    """A picker over named options; the value passed to ``render`` is the index."""

    name: str
    options: Sequence[str]
    start: int = 0

    @property
    def values(self) -> list[int]:
        return list(range(len(self.options)))


Control = Slider | Choice
Render = Callable[[dict[str, np.ndarray]], np.ndarray]


@dataclass
class Explorer:
    """Controls, captions and one batched ``render``.

    ``render`` maps a dict ``{control name: array of n values}`` to images of shape
    ``(n, len(captions), H, W, C)`` in [0, 1]. ``play`` names the slider the play
    button steps through.
    """

    controls: Sequence[Control]
    render: Render
    captions: Sequence[str]
    play: str | None = None
    title: str = ""
    _widget: W.Widget | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        names = [c.name for c in self.controls]
        if len(set(names)) != len(names):
            raise ValueError(f"control names must differ; got {names}.")
        for c in self.controls:
            if not len(c.values):
                raise ValueError(f"control {c.name!r} has no values.")
            if not 0 <= c.start < len(c.values):
                raise ValueError(f"control {c.name!r}: start {c.start} is not an index of "
                                 f"its {len(c.values)} values.")
        if self.play is not None and self.play not in names:
            raise ValueError(f"play={self.play!r} is not one of the controls {names}.")

    # ------------------------------------------------------------------ shared
    @property
    def num_states(self) -> int:
        return int(np.prod([len(c.values) for c in self.controls]))

    def images_at(self, indices: Sequence[int]) -> np.ndarray:
        """The tiles shown when control ``i`` is at grid index ``indices[i]``."""
        params = {c.name: np.asarray([c.values[i]]) for c, i in zip(self.controls, indices,
                                                                    strict=True)}
        return self._render(params)[0]

    def _render(self, params: dict[str, np.ndarray]) -> np.ndarray:
        out = np.asarray(self.render(params))
        n = len(next(iter(params.values())))
        if out.ndim != 5 or out.shape[:2] != (n, len(self.captions)):
            raise ValueError(f"render returned shape {out.shape}; expected ({n}, "
                             f"{len(self.captions)}, H, W, C).")
        return out

    # ------------------------------------------------------------------ live
    def widget(self) -> W.Widget:
        """The live ipywidgets control (works with ipywidgets 7 and 8)."""
        if self._widget is not None:
            return self._widget
        inputs: dict[str, W.Widget] = {}
        for c in self.controls:
            if isinstance(c, Choice):
                inputs[c.name] = W.Dropdown(options=[(o, i) for i, o in enumerate(c.options)],
                                            value=c.start, description=c.name)
            elif c.continuous:
                lo, hi = float(min(c.values)), float(max(c.values))
                inputs[c.name] = W.FloatSlider(value=float(c.values[c.start]), min=lo, max=hi,
                                               step=(hi - lo) / (8 * max(len(c.values) - 1, 1)),
                                               description=c.name, readout_format=".2f")
            else:
                inputs[c.name] = W.SelectionSlider(
                    options=list(zip(c.readouts(), c.values, strict=True)),
                    value=c.values[c.start], description=c.name)
        tiles = [W.Image(format="png", width=112, height=112) for _ in self.captions]
        boxes = [W.VBox([t, W.Label(cap)]) for t, cap in zip(tiles, self.captions, strict=True)]

        def redraw(_=None):
            params = {name: np.asarray([w.value]) for name, w in inputs.items()}
            for tile, img in zip(tiles, self._render(params)[0], strict=True):
                tile.value = to_png(img, scale=4)

        for w in inputs.values():
            w.observe(redraw, names="value")
        redraw()
        rows: list[W.Widget] = [W.HBox(list(inputs.values()),
                                       layout=W.Layout(flex_flow="row wrap"))]
        if self.play is not None:
            played = [c for c in self.controls if c.name == self.play][0]
            grid = played.values
            player = W.Play(value=played.start, min=0, max=len(grid) - 1, interval=400,
                            description=f"play {self.play}")

            def step(change):
                inputs[self.play].value = grid[change["new"]]

            player.observe(step, names="value")
            rows.append(W.HBox([player, W.Label(f"steps {self.play} through its values")]))
        rows.append(W.HBox(boxes, layout=W.Layout(flex_flow="row wrap")))
        self._widget = W.VBox(rows)
        return self._widget

    # ------------------------------------------------------------------ kernel-free
    def precompute(self, chunk: int = 500) -> tuple[list[bytes], np.ndarray]:
        """Every grid setting's tiles as PNGs: (unique PNGs, index table).

        The table has shape ``(num_states, num_tiles)``; state ``k`` is the
        row-major index over the controls (the first control varies slowest).
        """
        if self.num_states > MAX_STATES:
            raise ValueError(f"this explorer has {self.num_states} settings; a kernel-free "
                             f"twin embeds at most {MAX_STATES}. Use fewer images or steps.")
        grids = [c.values for c in self.controls]
        states = list(itertools.product(*grids))
        pngs: list[bytes] = []
        seen: dict[bytes, int] = {}
        table = np.zeros((len(states), len(self.captions)), np.int32)
        for start in range(0, len(states), chunk):
            part = states[start:start + chunk]
            params = {c.name: np.asarray([s[i] for s in part])
                      for i, c in enumerate(self.controls)}
            for k, tiles in enumerate(self._render(params)):
                for t, img in enumerate(tiles):
                    png = to_png(img)
                    if png not in seen:
                        seen[png] = len(pngs)
                        pngs.append(png)
                    table[start + k, t] = seen[png]
        return pngs, table

    def html(self) -> str:
        """The kernel-free twin: self-contained HTML and JavaScript, no network."""
        pngs, table = self.precompute()
        data = {
            "sizes": [len(c.values) for c in self.controls],
            "starts": [c.start for c in self.controls],
            "play": None if self.play is None else [c.name for c in self.controls].index(self.play),
            "images": [base64.b64encode(p).decode("ascii") for p in pngs],
            "table": table.ravel().tolist(),
        }
        payload = json.dumps(data, separators=(",", ":"))
        uid = "hf-explorer-" + hashlib.sha1(payload.encode()).hexdigest()[:10]
        controls = []
        for i, c in enumerate(self.controls):
            label = html.escape(c.name)
            if isinstance(c, Choice):
                opts = "".join(f'<option value="{k}"{" selected" if k == c.start else ""}>'
                               f"{html.escape(o)}</option>" for k, o in enumerate(c.options))
                controls.append(f'<label>{label} <select data-control="{i}">{opts}</select>'
                                "</label>")
            else:
                readouts = html.escape(json.dumps(c.readouts()))
                controls.append(
                    f'<label>{label} <input type="range" data-control="{i}" min="0" '
                    f'max="{len(c.values) - 1}" step="1" value="{c.start}" '
                    f"data-readouts='{readouts}'> <output>{html.escape(c.readouts()[c.start])}"
                    "</output></label>")
        if self.play is not None:
            controls.append('<button type="button" class="hf-play">&#9654; play</button>')
        tiles = "".join(f'<figure><img alt="{html.escape(cap)}" width="112" height="112">'
                        f"<figcaption>{html.escape(cap)}</figcaption></figure>"
                        for cap in self.captions)
        title = f"<strong>{html.escape(self.title)}</strong><br>" if self.title else ""
        size = " hf-many" if len(self.captions) > 6 else ""  # small tiles fit one row
        return (f'<div class="hf-explorer{size}" id="{uid}">{title}'
                f'<div class="hf-controls">{"".join(controls)}</div>'
                f'<div class="hf-tiles">{tiles}</div>'
                f'<div class="hf-note">{html.escape(LIVE_NOTE)}</div></div>'
                f"{_STYLE}<script>({_SCRIPT})({json.dumps(uid)}, {payload});</script>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        view = {"version_major": 2, "version_minor": 0, "model_id": self.widget().model_id}
        return {"text/plain": f"<{type(self).__name__}: {len(self.controls)} controls, "
                              f"{self.num_states} precomputed settings>",
                "text/html": self.html(),
                "application/vnd.jupyter.widget-view+json": view}


_STYLE = """<style>
.hf-explorer{border:1px solid #ccc;border-radius:6px;padding:.5em;margin:.5em 0;
 max-width:100%;box-sizing:border-box;font-size:.9em}
.hf-explorer .hf-controls{display:flex;flex-wrap:wrap;gap:.3em 1.2em;align-items:center}
.hf-explorer input[type=range]{width:9em;vertical-align:middle}
.hf-explorer output{display:inline-block;min-width:3.5em}
.hf-explorer .hf-tiles{display:flex;flex-wrap:wrap;gap:.4em;margin-top:.4em}
.hf-explorer figure{margin:0;text-align:center}
.hf-explorer img{image-rendering:pixelated;background:#000;width:84px;height:84px}
.hf-explorer figcaption{font-size:.8em;max-width:90px}
.hf-explorer.hf-many img{width:52px;height:52px}
.hf-explorer .hf-note{font-size:.8em;color:#666;margin-top:.3em}
</style>"""

# Kept small and dependency-free: find the state index from the controls, swap srcs.
_SCRIPT = """function (uid, d) {
  var root = document.getElementById(uid);
  if (!root) { return; }
  var inputs = root.querySelectorAll("[data-control]");
  var imgs = root.querySelectorAll(".hf-tiles img");
  var nt = imgs.length, timer = null;
  function index() {
    var k = 0;
    for (var i = 0; i < d.sizes.length; i++) { k = k * d.sizes[i] + Number(inputs[i].value); }
    return k;
  }
  function draw() {
    var k = index();
    for (var t = 0; t < nt; t++) {
      imgs[t].src = "data:image/png;base64," + d.images[d.table[k * nt + t]];
    }
    inputs.forEach(function (el) {
      if (el.type === "range") {
        el.parentNode.querySelector("output").textContent =
          JSON.parse(el.dataset.readouts)[Number(el.value)];
      }
    });
  }
  inputs.forEach(function (el) {
    el.addEventListener("input", draw);
    el.addEventListener("change", draw);
  });
  var play = root.querySelector(".hf-play");
  if (play && d.play !== null) {
    play.addEventListener("click", function () {
      if (timer) { clearInterval(timer); timer = null; play.innerHTML = "&#9654; play";
        return; }
      var el = inputs[d.play], n = d.sizes[d.play];
      play.innerHTML = "&#9632; stop";
      timer = setInterval(function () { el.value = (Number(el.value) + 1) % n; draw(); }, 400);
    });
  }
  draw();
}"""


# ---------------------------------------------------------------------- explorers
def _class_names(model: DisentanglingModel, class_names: Sequence[str] | None) -> list[str]:
    names = list(class_names or [str(c) for c in range(model.num_classes)])
    if len(names) != model.num_classes:
        raise ValueError(f"class_names has {len(names)} names; the model has "
                         f"{model.num_classes} classes.")
    return names


def _style_frame(model: DisentanglingModel, center, scale) -> tuple[np.ndarray, np.ndarray]:
    d = model.style_dim
    center = np.zeros(d, np.float32) if center is None else np.asarray(center, np.float32)
    scale = np.broadcast_to(np.asarray(1.0 if scale is None else scale, np.float32), (d,))
    if center.shape != (d,):
        raise ValueError(f"center must have one value per style unit ({d}); got "
                         f"shape {center.shape}.")
    if not (np.all(np.isfinite(scale)) and np.all(scale > 0)):
        raise ValueError("scale must be positive and finite for every style unit.")
    return center, np.array(scale)


def _sweep(steps: int, sigmas: float) -> list[float]:
    if steps < 2:
        raise ValueError(f"steps must be at least 2; got {steps}.")
    return [float(v) for v in np.linspace(-sigmas, sigmas, steps)]


def _latent_parts(model, center, scale, steps, sigmas, max_units, class_names):
    center, scale = _style_frame(model, center, scale)
    units = min(model.style_dim, max_units)
    offsets = _sweep(steps, sigmas)
    controls = [Choice("class", _class_names(model, class_names)),
                Choice("z unit", [f"z{i}" for i in range(units)]),
                # Start off-centre (about +2 std): at offset 0 the unit picker would
                # change nothing.
                Slider("offset (std)", offsets, start=steps - 1 if steps < 5 else steps - 2,
                       continuous=True, labels=[f"{v:+.1f}" for v in offsets])]

    def render_one(m, p):
        z = np.repeat(center[None], len(p["class"]), 0)
        unit = p["z unit"].astype(int)
        z[np.arange(len(z)), unit] += p["offset (std)"] * scale[unit]
        return decode_all(m, content_codes(m, p["class"].astype(int)), z)[:, None]

    return controls, render_one


def latent_explorer(model: DisentanglingModel, center: np.ndarray | None = None,
                    scale: float | np.ndarray | None = None, steps: int = 7,
                    sigmas: float = 3.0, max_units: int = 16,
                    class_names: Sequence[str] | None = None) -> Explorer:
    """Pick a class and a style unit; slide that unit and see the decode.

    The style code starts at ``center`` (e.g. the mean ``z`` of the test set) and
    the picked unit moves by ``offset x scale`` with offsets from ``-sigmas`` to
    ``+sigmas`` in ``steps`` steps (``scale``: e.g. each unit's std). The play
    button sweeps the offset.
    """
    controls, render_one = _latent_parts(model, center, scale, steps, sigmas, max_units,
                                         class_names)
    return Explorer(controls, lambda p: render_one(model, p), ["decoded"],
                    play="offset (std)")


def variant_explorer(models: dict[str, DisentanglingModel], steps: int = 7,
                     sigmas: float = 3.0, max_units: int = 8,
                     description: str = "model") -> Explorer:
    """:func:`latent_explorer` with a picker over variants (e.g. ``{"k=1": m1, ...}``).

    Every variant decodes around ``z = 0`` with unit scale (a VAE's prior).
    """
    if not models:
        raise ValueError("variant_explorer needs at least one model, e.g. {'k=1': model}.")
    names = list(models)
    first = models[names[0]]
    for name, m in models.items():
        if (m.style_dim, m.num_classes) != (first.style_dim, first.num_classes):
            raise ValueError(f"variant {name!r} has a different style size or class count "
                             f"from {names[0]!r}; variants must share them.")
    controls, render_one = _latent_parts(first, None, None, steps, sigmas, max_units, None)

    def render(p):
        return _per_model(p[description], names,
                          lambda name, rows: render_one(models[name],
                                                        {k: a[rows] for k, a in p.items()}))

    return Explorer([Choice(description, names), *controls], render, ["decoded"],
                    play="offset (std)")


def _per_model(which: np.ndarray, names: Sequence[str], render_rows) -> np.ndarray:
    """Render a batch whose rows pick a model: ``render_rows(name, rows)`` for each
    model that some row picked, gathered back in the batch's order."""
    which = np.asarray(which).astype(int)
    out = None
    for v, name in enumerate(names):
        rows = np.flatnonzero(which == v)
        if len(rows):
            part = render_rows(name, rows)
            if out is None:
                out = np.zeros((len(which), *part.shape[1:]), np.float32)
            out[rows] = part
    return out


def _image_picker(name: str, n: int, labels: Sequence | None = None,
                  start: int = 0) -> Slider:
    if n < 1:
        raise ValueError(f"{name}: need at least one image; got none.")
    if labels is not None and len(labels) != n:
        raise ValueError(f"{name}: {len(labels)} labels for {n} images.")
    readouts = [f"{i} (label {labels[i]})" if labels is not None else str(i) for i in range(n)]
    return Slider(name, list(range(n)), start=start, labels=readouts)


def every_class_explorer(models: DisentanglingModel | dict[str, DisentanglingModel],
                         x: np.ndarray, class_names: Sequence[str] | None = None,
                         description: str = "model") -> Explorer:
    """Pick an image; see it re-drawn as every class (its style ``z``, each class's content).

    ``models`` may be one model or a dict of models (a picker chooses between them).
    The live twin of :func:`helpers.viz.plots.class_swap_grid`.
    """
    many = isinstance(models, dict)
    table = models if many else {"model": models}
    if not table:
        raise ValueError("every_class_explorer needs at least one model.")
    names = list(table)
    ref = table[names[0]]
    classes = _class_names(ref, class_names)
    codes = {}
    for name, m in table.items():
        if m.num_classes != ref.num_classes:
            raise ValueError(f"model {name!r} has {m.num_classes} classes; {names[0]!r} has "
                             f"{ref.num_classes}.")
        codes[name] = (content_codes(m, np.arange(m.num_classes)), encode_all(m, x)[1])
    x = np.asarray(x, np.float32)

    def render(p):
        idx = p["image"].astype(int)
        k = len(classes)

        def tiles(name, rows):  # the input, then its style decoded as every class
            s, z = codes[name]
            dec = decode_all(table[name], np.tile(s, (len(rows), 1)),
                             np.repeat(z[idx[rows]], k, 0))
            return np.concatenate([x[idx[rows]][:, None],
                                   dec.reshape(len(rows), k, *dec.shape[1:])], axis=1)

        return _per_model(p[description] if many else np.zeros_like(idx), names, tiles)

    controls = ([Choice(description, names)] if many else []) + [_image_picker("image", len(x))]
    return Explorer(controls, render, ["input", *classes], play="image")


def swap_explorer(model: DisentanglingModel, x: np.ndarray, labels: np.ndarray | None = None,
                  steps: int = 5) -> Explorer:
    """Pick a style image and a content image; see the swap and slide between them.

    The decode is ``decode((1-a)·s_style + a·s_content, (1-b)·z_style + b·z_content)``:
    ``a=1, b=0`` is the swap (content of one, style of the other).
    """
    x = np.asarray(x, np.float32)
    s_all, z_all = encode_all(model, x)
    mix = [float(v) for v in np.linspace(0, 1, steps)]
    controls = [_image_picker("style image", len(x), labels),
                _image_picker("content image", len(x), labels, start=min(1, len(x) - 1)),
                Slider("a: s → content", mix, start=steps - 1, continuous=True),
                Slider("b: z → content", mix, start=0, continuous=True)]

    def render(p):
        i, j = p["style image"].astype(int), p["content image"].astype(int)
        a, b = p["a: s → content"][:, None], p["b: z → content"][:, None]
        s = (1 - a) * s_all[i] + a * s_all[j]
        z = (1 - b) * z_all[i] + b * z_all[j]
        return np.stack([x[i], x[j], decode_all(model, s, z)], axis=1)

    return Explorer(controls, render, ["style source", "content source", "decoded"],
                    play="a: s → content")
