"""Figures that work for every model of the course (via the common interface)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import LogFormatter, MaxNLocator

from ..core.interface import DisentanglingModel, content_codes, decode_all, encode_all

# The book's text column is about 670 px; at the course's 100 dpi that is 6.7 inches.
# Figures at most this wide are shown at their size, so their text stays legible.
COLUMN_WIDTH_IN = 6.7
#: The course's figure resolution (``helpers.notebook.setup`` sets matplotlib to it) and
#: the one a figure saved to a file needs to be as sharp as the notebooks' "retina"
#: figures when shown at its 100-dpi size (e.g. ``fig.savefig(f, dpi=SHARP_DPI)``).
DPI = 100
SHARP_DPI = 2 * DPI

#: What a training curve's panel is titled, for each key that ``compute_losses`` logs
#: (the course's one list of these names; the chapters' captions use the same words).
LOSS_NAMES = {
    "loss": "total loss",
    "rec": "reconstruction error",
    "ce": "classifier cross-entropy",
    "acc": "accuracy",
    "xcov": "XCov penalty",
    "kl": "KL to the prior",
    "match": "matching term",
    "adv_ce": "adversary's cross-entropy",
    "adv_acc": "adversary's accuracy",
    "s_acc": "accuracy from s",
}
#: A key ending in one of these (JADE's ``ce_scarce``) names that domain's term.
DOMAIN_SUFFIXES = {"scarce": "scarce domain", "abundant": "abundant domain"}


def loss_name(key: str) -> str:
    """The plain name of a logged key (``"ce_scarce"`` -> ``"classifier cross-entropy
    (scarce domain)"``); a key the course does not know is its own name."""
    if key in LOSS_NAMES:
        return LOSS_NAMES[key]
    base, _, suffix = key.rpartition("_")
    if base in LOSS_NAMES and suffix in DOMAIN_SUFFIXES:
        return f"{LOSS_NAMES[base]} ({DOMAIN_SUFFIXES[suffix]})"
    return key


def _as_display(img: np.ndarray) -> tuple[np.ndarray, str | None]:
    img = np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)
    if img.ndim == 3 and img.shape[-1] == 1:
        return img[..., 0], "gray"
    if img.ndim == 2:
        return img, "gray"
    return img, None


def image_grid(
    images: np.ndarray,
    nrows: int | None = None,
    ncols: int | None = None,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    title: str | None = None,
    cell: float = 0.8,
    axes=None,
):
    """Show images in a grid; ``images`` is ``(N, H, W, C)`` or ``(rows, cols, H, W, C)``.

    Returns the matplotlib ``Figure``.
    """
    images = np.asarray(images)
    if images.ndim == 5:
        nrows, ncols = images.shape[:2]
        images = images.reshape(-1, *images.shape[2:])
    n = len(images)
    if ncols is None:
        ncols = min(n, 10) if nrows is None else int(np.ceil(n / nrows))
    if nrows is None:
        nrows = int(np.ceil(n / ncols))
    if nrows * ncols < n:
        raise ValueError(f"a {nrows}x{ncols} grid cannot hold {n} images.")
    own_figure = axes is None
    if own_figure:
        # Margins in inches, so a title never overlaps the column labels and leaves
        # no gap, whatever the grid's size; the width fits the book's text column.
        left = 0.75 if row_labels is not None else 0.05
        top = 0.08 + (0.25 if col_labels is not None else 0) + (0.3 if title else 0)
        cell = min(cell, (COLUMN_WIDTH_IN - left - 0.05) / (ncols * 1.05))
        width, height = left + 0.05 + cell * ncols * 1.05, top + 0.05 + cell * nrows * 1.05
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False)
        fig.subplots_adjust(left=left / width, right=1 - 0.05 / width, top=1 - top / height,
                            bottom=0.05 / height, wspace=0.05, hspace=0.05)
    else:
        axes = np.asarray(axes).reshape(nrows, ncols)
        fig = axes[0, 0].figure
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if i < n:
            img, cmap = _as_display(images[i])
            ax.imshow(img, cmap=cmap, vmin=0, vmax=1)
    if row_labels is not None:
        for r, text in enumerate(row_labels[:nrows]):
            axes[r, 0].set_ylabel(text, rotation=0, ha="right", va="center", fontsize=9)
    if col_labels is not None:
        for c, text in enumerate(col_labels[:ncols]):
            axes[0, c].set_title(text, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10, y=1 - 0.06 / fig.get_figheight(), va="top")
    return fig


class _PlainLogFormatter(LogFormatter):
    """Labels the ticks of a log axis that matplotlib would, as plain numbers ("0.3", "4")."""

    def __call__(self, x, pos=None):
        return f"{x:g}" if super().__call__(x, pos) else ""


def plot_history(log, keys: Sequence[str] | None = None, title: str | None = None,
                 logy: Sequence[str] = ()):
    """One small panel per logged quantity (train and, if present, validation).

    Panels are titled with :func:`loss_name` (``"rec"`` reads "reconstruction error");
    the epoch axis has whole-number ticks only.
    """
    history = getattr(log, "history", log)
    keys = list(keys) if keys is not None else [k for k in history if not k.startswith("val_")]
    ncols = min(len(keys), 3)  # at most three readable panels side by side
    nrows = -(-len(keys) // ncols)
    # wide enough for the title's line (about 0.075 inch a character at 10 pt)
    width = min(COLUMN_WIDTH_IN, max(2.3 * ncols + 0.3, 0.075 * len(title or "") + 0.3))
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 2.2 * nrows + (0.3 if title else 0)),
                             squeeze=False)
    for ax in axes.flat[len(keys):]:
        ax.set_visible(False)
    for ax, key in zip(axes.flat[:len(keys)], keys, strict=True):
        epochs = np.arange(1, len(history[key]) + 1)
        ax.plot(epochs, history[key], label="train")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], label="test", linestyle="--")
        # a long name (a JADE domain's term) takes two lines rather than its neighbour's room
        ax.set_title(textwrap.fill(loss_name(key), 26, break_on_hyphens=False), fontsize=10)
        ax.set_xlabel("epoch", fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        if key in logy:
            ax.set_yscale("log")
            # plain numbers ("0.3", "4"), not "4 x 10^0", on major and labelled minor ticks
            ax.yaxis.set_major_formatter(_PlainLogFormatter())
            ax.yaxis.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False))
        ax.tick_params(labelsize=9)
    axes[0, 0].legend(fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def latent_scatter(codes: np.ndarray, labels: np.ndarray, dims: tuple[int, int] = (0, 1),
                   title: str | None = None, ax=None, max_points: int = 5000, seed: int = 0):
    """Scatter two code units, coloured by class (a sample of ``max_points``)."""
    codes, labels = np.asarray(codes), np.asarray(labels)
    if codes.shape[1] <= max(dims):
        raise ValueError(f"codes have {codes.shape[1]} units; cannot plot units {dims}.")
    idx = np.random.default_rng(seed).permutation(len(codes))[:max_points]
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.8))
    sc = ax.scatter(codes[idx, dims[0]], codes[idx, dims[1]], c=labels[idx], cmap="tab10",
                    s=3, alpha=0.7, vmin=-0.5, vmax=9.5)
    ax.set_xlabel(f"unit {dims[0]}")
    ax.set_ylabel(f"unit {dims[1]}")
    if title:
        ax.set_title(title, fontsize=10)
    ax.figure.colorbar(sc, ax=ax, ticks=range(10), label="class")
    return ax.figure


def class_swap_grid(model: DisentanglingModel, x: np.ndarray, classes: Sequence[int] | None = None,
                    class_names: Sequence[str] | None = None, title: str | None = None):
    """Keep each image's style ``z``, decode it with every class's content code.

    The first column shows the originals; row ``i``, column ``c`` is
    ``decode(content_for_label(c), z_i)`` — the same handwriting, every digit.
    """
    classes = list(range(model.num_classes)) if classes is None else list(classes)
    _, z = encode_all(model, x)
    s = content_codes(model, classes)
    rows = [np.concatenate([x[i:i + 1], decode_all(model, s, np.repeat(z[i:i + 1], len(classes), 0))])
            for i in range(len(x))]
    names = class_names or [str(c) for c in classes]
    return image_grid(np.stack(rows), col_labels=["input", *names], title=title)


def sigma_label(unit: int, value: float, center: float, scale: float) -> str:
    """A swept value as the text speaks of it: ``"z0 −2σ"``, ``"z0 mean"``, ``"z1 +0.67σ"``.

    ``center`` is the unit's mean and ``scale`` its standard deviation (σ).
    """
    k = (value - center) / scale
    if abs(k) < 0.005:
        return f"z{unit} mean"
    text = f"{abs(k):.0f}" if abs(k - round(k)) < 0.005 else f"{abs(k):.2f}".rstrip("0")
    sign = "+" if k > 0 else "\u2212"  # a minus sign, not a hyphen
    return f"z{unit} {sign}{text}\u03c3"


def style_traversal_grid(model: DisentanglingModel, unit: int, values: Sequence[float],
                         base_z: np.ndarray | None = None, classes: Sequence[int] | None = None,
                         title: str | None = None, scale: float | np.ndarray | None = None):
    """One column per class, rows sweep style unit ``unit`` over ``values``.

    Other style units stay at ``base_z`` (zeros by default).  This is the
    layout of Cheung et al.'s Figure 3 and the static twin of the slider widget.

    ``scale``: the unit's standard deviation (σ), or one per style unit (as
    :func:`helpers.viz.widgets.latent_explorer` takes it). Given, the rows are
    labelled in σ from ``base_z[unit]`` (``z0 −2σ``, ``z0 mean``, ``z0 +2σ``) as the
    text speaks of a sweep; without it, by their values (``z0 = −14.6``).
    The images are the same either way.
    """
    classes = list(range(model.num_classes)) if classes is None else list(classes)
    if not 0 <= unit < model.style_dim:
        raise ValueError(f"unit must be in [0, {model.style_dim}); got {unit}.")
    base = np.zeros(model.style_dim, np.float32) if base_z is None else np.asarray(base_z, np.float32)
    if scale is None:
        labels = [f"z{unit} = {v:+.1f}".replace("-", "\u2212") for v in values]
    else:
        sigma = np.asarray(scale, np.float64)
        if sigma.ndim and sigma.shape != (model.style_dim,):
            raise ValueError(f"scale must be one number or one per style unit "
                             f"({model.style_dim}); got shape {sigma.shape}.")
        sigma = float(sigma[unit] if sigma.ndim else sigma)
        if not (np.isfinite(sigma) and sigma > 0):
            raise ValueError(f"scale must be positive and finite; got {sigma} for unit {unit}.")
        labels = [sigma_label(unit, float(v), float(base[unit]), sigma) for v in values]
    z = np.repeat(base[None], len(values) * len(classes), 0)
    z[:, unit] = np.repeat(np.asarray(values, np.float32), len(classes))
    s = content_codes(model, np.tile(classes, len(values)))
    images = decode_all(model, s, z).reshape(len(values), len(classes), *model.image_shape)
    return image_grid(images, row_labels=labels, col_labels=[str(c) for c in classes],
                      title=title)


def swap_grid(model: DisentanglingModel, x_style: np.ndarray, x_content: np.ndarray,
              title: str | None = None):
    """Row ``i`` takes style ``z`` from ``x_style[i]``, column ``j`` content ``s`` from ``x_content[j]``.

    Originals: content images along the top row, style images down the left column.
    """
    s_c, _ = encode_all(model, x_content)
    _, z_s = encode_all(model, x_style)
    n_r, n_c = len(x_style), len(x_content)
    swapped = decode_all(model, np.tile(s_c, (n_r, 1)), np.repeat(z_s, n_c, 0))
    swapped = swapped.reshape(n_r, n_c, *model.image_shape)
    blank = np.ones((1, 1, *model.image_shape), np.float32)
    top = np.concatenate([blank, x_content[None]], axis=1)
    body = np.concatenate([x_style[:, None], swapped], axis=1)
    fig = image_grid(np.concatenate([top, body]), title=title)
    fig.axes[0].set_visible(False)
    return fig


def interpolation_grid(model: DisentanglingModel, x_a: np.ndarray, x_b: np.ndarray,
                       steps: int = 10, title: str | None = None):
    """Interpolate style down the rows and content across the columns between two images."""
    (s_a, z_a), (s_b, z_b) = encode_all(model, x_a[None]), encode_all(model, x_b[None])
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    s_line, z_line = (1 - t) * s_a + t * s_b, (1 - t) * z_a + t * z_b
    images = decode_all(model, np.tile(s_line, (steps, 1)), np.repeat(z_line, steps, 0))
    return image_grid(images.reshape(steps, steps, *model.image_shape),
                      row_labels=[f"z {v:.2f}" for v in t[:, 0]],
                      col_labels=[f"s {v:.2f}" for v in t[:, 0]], title=title)


def compare_bars(rows: dict[str, dict[str, float]], keys: Sequence[str],
                 chance: float | None = None, title: str | None = None):
    """Grouped bars: one group per model (``rows``), one bar per number in ``keys`` (fractions).

    A dashed line marks ``chance`` when given.  The static summary of a
    comparison table such as :func:`helpers.eval.metrics.scorecard`'s.
    """
    import matplotlib.pyplot as plt

    names = list(rows)
    width = 0.8 / len(keys)
    fig, ax = plt.subplots(figsize=(min(COLUMN_WIDTH_IN, 1.6 + 1.5 * len(names)), 3.4))
    for k, key in enumerate(keys):
        values = [100 * rows[name].get(key, float("nan")) for name in names]
        bars = ax.bar(np.arange(len(names)) + (k - (len(keys) - 1) / 2) * width, values, width,
                      label=key)
        ax.bar_label(bars, fmt="%.0f", fontsize=8, padding=1)
    if chance is not None:
        ax.axhline(100 * chance, color="gray", ls="--", lw=1, label="chance")
    ax.set_xticks(np.arange(len(names)), names, fontsize=9)
    ax.set_ylabel("%")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=9, ncols=min(len(keys) + 1, 3), loc="upper center", bbox_to_anchor=(0.5, -0.12),
              frameon=False)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def morph_rows(model: DisentanglingModel, x: np.ndarray, unit: int,
               values: Sequence[float]) -> np.ndarray:
    """For each image: keep its content ``s`` and other style units, sweep ``z[unit]``.

    Returns images shaped ``(len(x), len(values), H, W, C)`` for :func:`image_grid`.
    """
    s, z = encode_all(model, x)
    values = np.asarray(values, np.float32)
    z_sweep = np.repeat(z, len(values), axis=0)
    z_sweep[:, unit] = np.tile(values, len(x))
    imgs = decode_all(model, np.repeat(s, len(values), axis=0), z_sweep)
    return imgs.reshape(len(x), len(values), *imgs.shape[1:])


def unit_effect_maps(effects: dict[str, dict[str, np.ndarray]],
                     measures: Sequence[str] = ("slant", "thickness"), title: str | None = None):
    """What each unit of ``z`` does to each measurement, per class: one row per model.

    ``effects`` maps a model's name to :func:`helpers.eval.style.unit_effects`' output
    (arrays units x classes of slopes per standard deviation of the unit). Red: the
    measurement grows with the unit; blue: it shrinks; a unit with one meaning is one
    colour across its row.
    """
    names = list(effects)
    fig, axes = plt.subplots(len(names), len(measures), squeeze=False,
                             figsize=(COLUMN_WIDTH_IN, 1.0 + 1.45 * len(names)))
    for col, m in enumerate(measures):
        limit = max(np.nanmax(np.abs(effects[n][m])) for n in names) or 1.0
        for row, name in enumerate(names):
            ax = axes[row, col]
            table = effects[name][m]
            image = ax.imshow(table, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
            ax.set_yticks(range(table.shape[0]), [f"z{j}" for j in range(table.shape[0])],
                          fontsize=6)
            ax.set_xticks(range(table.shape[1]), range(table.shape[1]), fontsize=7)
            if row == 0:
                ax.set_title(f"{m} per std of the unit", fontsize=9)
            if col == 0:
                ax.set_ylabel(name, fontsize=8)
            if row == len(names) - 1:
                ax.set_xlabel("class", fontsize=8)
        fig.colorbar(image, ax=axes[:, col], shrink=0.6, pad=0.02)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
