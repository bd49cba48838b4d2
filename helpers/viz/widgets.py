"""Interactive explorers (ipywidgets) built on the common model interface.

Each widget has a static twin in :mod:`helpers.viz.plots` so the rendered book
shows the same thing without a running kernel.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import ipywidgets as W
import matplotlib.image
import numpy as np

from ..core.interface import DisentanglingModel, content_codes, decode_all, encode_all


def to_png(img: np.ndarray, scale: int = 4) -> bytes:
    """PNG bytes of one image in [0, 1] (grey or RGB), enlarged ``scale`` times."""
    img = np.clip(np.asarray(img, np.float32), 0, 1)
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    img = np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)
    buf = io.BytesIO()
    matplotlib.image.imsave(buf, img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1,
                            format="png")
    return buf.getvalue()


def _image_widget(img: np.ndarray, caption: str) -> tuple[W.VBox, W.Image]:
    image = W.Image(value=to_png(img), format="png", width=112, height=112)
    return W.VBox([image, W.Label(caption)]), image


def latent_explorer(model: DisentanglingModel, z_range: float | Sequence[float] = 3.0,
                    max_sliders: int = 16, class_names: Sequence[str] | None = None,
                    start_z: np.ndarray | None = None) -> W.Widget:
    """Sliders over the style units ``z`` and a class picker, decoding live.

    Args:
        z_range: slider half-width, one number or one per unit (e.g. 3 std devs).
        max_sliders: at most this many ``z`` units get a slider (the rest stay fixed).
        start_z: where the sliders start (zeros by default).
    """
    dims = min(model.style_dim, max_sliders)
    ranges = np.broadcast_to(np.asarray(z_range, np.float32), (model.style_dim,))
    z0 = np.zeros(model.style_dim, np.float32) if start_z is None else np.asarray(start_z, np.float32)
    names = list(class_names or [str(c) for c in range(model.num_classes)])
    picker = W.Dropdown(options=[(n, i) for i, n in enumerate(names)], value=0, description="class")
    sliders = [W.FloatSlider(value=float(z0[i]), min=-float(ranges[i]), max=float(ranges[i]),
                             step=float(ranges[i]) / 20, description=f"z{i}",
                             continuous_update=True, readout_format=".2f")
               for i in range(dims)]
    box, image = _image_widget(np.zeros(model.image_shape), "decoded")

    def redraw(_=None):
        z = z0.copy()
        z[:dims] = [sl.value for sl in sliders]
        img = decode_all(model, content_codes(model, [picker.value]), z[None])[0]
        image.value = to_png(img)

    for w in [picker, *sliders]:
        w.observe(redraw, names="value")
    redraw()
    return W.HBox([W.VBox([picker, *sliders]), box])


def swap_explorer(model: DisentanglingModel, x: np.ndarray, labels: np.ndarray | None = None,
                  x_other: np.ndarray | None = None) -> W.Widget:
    """Pick a content image and a style image; see the swap and slide between them.

    The decoded image is ``decode((1-a)·s_style + a·s_content, (1-b)·z_style + b·z_content)``,
    so ``a=1, b=0`` is the swap (content of one, style of the other).
    ``x_other`` lets the content come from a second dataset (cross-domain swaps).
    """
    pool_c = x if x_other is None else x_other
    s_all, z_all = encode_all(model, x)
    s_c_all, z_c_all = (s_all, z_all) if x_other is None else encode_all(model, pool_c)
    pick_style = W.IntSlider(0, 0, len(x) - 1, description="style img")
    pick_content = W.IntSlider(min(1, len(pool_c) - 1), 0, len(pool_c) - 1,
                               description="content img")
    a = W.FloatSlider(1.0, min=0, max=1, step=0.05, description="s → content")
    b = W.FloatSlider(0.0, min=0, max=1, step=0.05, description="z → content")
    style_box, style_img = _image_widget(x[0], "style source")
    content_box, content_img = _image_widget(pool_c[0], "content source")
    out_box, out_img = _image_widget(x[0], "decoded")
    caption = W.Label()

    def redraw(_=None):
        i, j = pick_style.value, pick_content.value
        s = (1 - a.value) * s_all[i] + a.value * s_c_all[j]
        z = (1 - b.value) * z_all[i] + b.value * z_c_all[j]
        style_img.value, content_img.value = to_png(x[i]), to_png(pool_c[j])
        out_img.value = to_png(decode_all(model, s[None], z[None])[0])
        if labels is not None:
            caption.value = f"style image label: {labels[i]}"

    for w in (pick_style, pick_content, a, b):
        w.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([pick_style, pick_content]), W.HBox([a, b]),
                   W.HBox([style_box, content_box, out_box]), caption])


def every_class_explorer(model: DisentanglingModel, x: np.ndarray,
                         class_names: Sequence[str] | None = None) -> W.Widget:
    """Pick an image; see it re-drawn as every class (its style ``z``, each class's content).

    The live twin of :func:`helpers.viz.plots.class_swap_grid`.
    """
    names = list(class_names or [str(c) for c in range(model.num_classes)])
    s_all = content_codes(model, np.arange(model.num_classes))
    _, z_all = encode_all(model, x)
    pick = W.IntSlider(0, 0, len(x) - 1, description="image")
    source_box, source_img = _image_widget(x[0], "input")
    tiles = [_image_widget(x[0], name) for name in names]

    def redraw(_=None):
        i = pick.value
        source_img.value = to_png(x[i])
        images = decode_all(model, s_all, np.repeat(z_all[i:i + 1], len(s_all), 0))
        for (_, tile), img in zip(tiles, images, strict=True):
            tile.value = to_png(img)

    pick.observe(redraw, names="value")
    redraw()
    return W.VBox([pick, W.HBox([source_box, *[box for box, _ in tiles]],
                                layout=W.Layout(flex_flow="row wrap"))])


def variant_explorer(models: dict[str, DisentanglingModel], z_range: float = 3.0,
                     max_sliders: int = 8, description: str = "model"):
    """A picker over variants of a model (e.g. ``{"k=1": m1, "k=3": m3}``).

    Each variant gets :func:`latent_explorer` (sliders over ``z`` and a class
    picker), built the first time it is picked; the picker swaps which one is shown.
    """
    if not models:
        raise ValueError("variant_explorer needs at least one model, e.g. {'k=1': model}.")
    names = list(models)
    built: dict[str, W.Widget] = {}
    picker = W.ToggleButtons(options=names, value=names[0], description=description)
    holder = W.Box()

    def show(_=None):
        name = picker.value
        if name not in built:
            built[name] = latent_explorer(models[name], z_range=z_range, max_sliders=max_sliders)
        holder.children = (built[name],)

    picker.observe(show, names="value")
    show()
    return W.VBox([picker, holder])
