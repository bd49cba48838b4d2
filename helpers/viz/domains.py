"""Figures and a widget for two domains whose images differ in shape and colour.

Used where one model serves two domains (e.g. SVHN and MNIST): images are
shown side by side as RGB, and content and style can be mixed across domains.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ..core.interface import DisentanglingModel, decode_all, encode_all
from .plots import image_grid
from .widgets import to_png


def as_rgb(images: np.ndarray, size: int = 32) -> np.ndarray:
    """Grey or colour images as RGB ``size x size`` (grey is repeated, smaller is padded)."""
    images = np.asarray(images, np.float32)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    pad_h, pad_w = size - images.shape[1], size - images.shape[2]
    if pad_h < 0 or pad_w < 0:
        raise ValueError(f"images of shape {images.shape[1:3]} are larger than {size}x{size}.")
    return np.pad(images, ((0, 0), (pad_h // 2, pad_h - pad_h // 2),
                           (pad_w // 2, pad_w - pad_w // 2), (0, 0)))


def plot_latent_variances(var: dict[str, np.ndarray], title: str = ""):
    """Two bar charts: (a) same-class inputs, (b) random inputs; content units shaded."""
    c = int(var["content_dim"])
    n = len(var["same"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 2.6), sharey=True)
    colours = ["tab:blue"] * c + ["tab:orange"] * (n - c)
    for ax, key, name in zip(axes, ("same", "random"), ("(a) same-class inputs",
                                                          "(b) random inputs"), strict=True):
        ax.bar(np.arange(n), var[key], color=colours, width=0.85)
        ax.axvline(c - 0.5, color="k", lw=0.8, ls="--")
        ax.set_title(name)
        ax.set_xlabel("latent unit (blue: content s, orange: style z)")
    axes[0].set_ylabel("normalised variance")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------ cross-domain swaps
def cross_domain_mix(scarce: DisentanglingModel, abundant: DisentanglingModel,
                     x_a: np.ndarray, x_b: np.ndarray, t: np.ndarray):
    """Decode mixes of content between a scarce image ``x_a`` and an abundant image ``x_b``.

    For each ``t`` returns the scarce decoder's image with style ``z_a`` and content
    ``(1 - t) s_a + t s_b``, and the abundant decoder's image with style ``z_b`` and
    content ``(1 - t) s_b + t s_a``.  ``t = 1`` is the full swap.
    """
    (s_a, z_a), (s_b, z_b) = encode_all(scarce, x_a[None]), encode_all(abundant, x_b[None])
    t = np.asarray(t, np.float32).reshape(-1, 1)
    into_a = decode_all(scarce, (1 - t) * s_a + t * s_b, np.repeat(z_a, len(t), 0))
    into_b = decode_all(abundant, (1 - t) * s_b + t * s_a, np.repeat(z_b, len(t), 0))
    return into_a, into_b


def cross_domain_swap_grid(scarce: DisentanglingModel, abundant: DisentanglingModel,
                           x_a: np.ndarray, x_b: np.ndarray, steps: int = 5, title: str = ""):
    """Static twin of :func:`cross_domain_explorer` for several pairs.

    Each pair takes two rows: the scarce image, then its style with content sliding
    towards the abundant image's digit; the abundant image, then the reverse.
    """
    t = np.linspace(0, 1, steps)
    rows = []
    for xa, xb in zip(x_a, x_b, strict=True):
        into_a, into_b = cross_domain_mix(scarce, abundant, xa, xb, t)
        rows.append(np.concatenate([as_rgb(xa[None]), as_rgb(into_a)]))
        rows.append(np.concatenate([as_rgb(xb[None]), as_rgb(into_b)]))
    labels = ["source"] + [f"t={v:.2g}" for v in t]
    return image_grid(np.stack(rows), col_labels=labels, title=title)


def cross_domain_explorer(scarce: DisentanglingModel, abundant: DisentanglingModel,
                          x_a: np.ndarray, x_b: np.ndarray) -> W.Widget:
    """Pick a scarce image and an abundant image; slide their content across domains."""
    pick_a = W.IntSlider(0, 0, len(x_a) - 1, description="scarce img")
    pick_b = W.IntSlider(0, 0, len(x_b) - 1, description="MNIST img")
    slide = W.FloatSlider(1.0, min=0, max=1, step=0.05, description="swap t")
    boxes = {}
    for key, caption in (("a", "scarce source"), ("b", "MNIST source"),
                         ("ab", "scarce style, mixed content"),
                         ("ba", "MNIST style, mixed content")):
        img = W.Image(format="png", width=112, height=112)
        boxes[key] = (W.VBox([img, W.Label(caption)]), img)

    def redraw(_=None):
        xa, xb = x_a[pick_a.value], x_b[pick_b.value]
        into_a, into_b = cross_domain_mix(scarce, abundant, xa, xb, [slide.value])
        for key, img in (("a", xa), ("b", xb), ("ab", into_a[0]), ("ba", into_b[0])):
            boxes[key][1].value = to_png(img)

    for w in (pick_a, pick_b, slide):
        w.observe(redraw, names="value")
    redraw()
    return W.VBox([W.HBox([pick_a, pick_b, slide]),
                   W.HBox([boxes[k][0] for k in ("a", "b", "ab", "ba")])])
