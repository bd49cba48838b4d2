"""Figures and an explorer for two domains whose images differ in shape and colour.

Used where one model serves two domains (e.g. SVHN and MNIST): images are
shown side by side as RGB, and content and style can be mixed across domains.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..core.interface import DisentanglingModel, decode_all, encode_all
from .plots import COLUMN_WIDTH_IN, image_grid
from .widgets import Explorer, Slider


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
    fig, axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH_IN, 2.8), sharey=True)
    colours = ["tab:blue"] * c + ["tab:orange"] * (n - c)
    for ax, key, name in zip(axes, ("same", "random"), ("(a) same-class inputs",
                                                          "(b) random inputs"), strict=True):
        ax.bar(np.arange(n), var[key], color=colours, width=0.85)
        ax.axvline(c - 0.5, color="k", lw=0.8, ls="--")
        ax.set_title(name)
        ax.set_xlabel("latent unit (blue: s, orange: z)")
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
    return _mix_codes(scarce, abundant, s_a, np.repeat(z_a, len(t), 0),
                      s_b, np.repeat(z_b, len(t), 0), t)


def _mix_codes(scarce, abundant, s_a, z_a, s_b, z_b, t):
    """Each decoder keeps its own style and takes content ``(1 - t)`` own + ``t`` other."""
    return (decode_all(scarce, (1 - t) * s_a + t * s_b, z_a),
            decode_all(abundant, (1 - t) * s_b + t * s_a, z_b))


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
                          x_a: np.ndarray, x_b: np.ndarray, steps: int = 5,
                          names: tuple[str, str] = ("scarce", "MNIST")) -> Explorer:
    """Pick a scarce image and an abundant image; slide their content across domains.

    Tiles: the two sources, the scarce decoder's image with the scarce style and
    mixed content, and the abundant decoder's reverse (see :func:`cross_domain_mix`).
    """
    x_a, x_b = np.asarray(x_a, np.float32), np.asarray(x_b, np.float32)
    (s_a, z_a), (s_b, z_b) = encode_all(scarce, x_a), encode_all(abundant, x_b)
    t_grid = [float(v) for v in np.linspace(0, 1, steps)]
    a, b = names
    controls = [Slider(f"{a} image", list(range(len(x_a)))),
                Slider(f"{b} image", list(range(len(x_b)))),
                Slider("swap t", t_grid, start=steps - 1, continuous=True)]

    def render(p):
        i, j = p[f"{a} image"].astype(int), p[f"{b} image"].astype(int)
        into_a, into_b = _mix_codes(scarce, abundant, s_a[i], z_a[i], s_b[j], z_b[j],
                                    p["swap t"][:, None])
        return np.stack([as_rgb(x_a[i]), as_rgb(x_b[j]), as_rgb(into_a), as_rgb(into_b)], 1)

    return Explorer(controls, render, [f"{a} source", f"{b} source",
                                       f"{a} style, mixed content",
                                       f"{b} style, mixed content"], play="swap t")
