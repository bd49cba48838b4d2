"""Morphometry of handwritten digits: thickness, slant, width, height and area.

The measurements follow the definitions of Morpho-MNIST (Castro et al. 2019), written
here from those definitions with NumPy and SciPy:

* the image is upsampled ``scale`` times (bilinear) and binarised at half its maximum;
* **area** — foreground pixels, in pixels of the original 28 x 28 grid;
* **slant** — the horizontal shear, in radians, that makes the digit upright, from the
  second-order central moments: ``atan(-mu11 / mu02)`` with ``x`` to the right and
  ``y`` down (positive: the top leans to the right);
* **thickness** — twice the mean distance from the stroke's skeleton to the background
  (Euclidean distance transform), less half an upsampled pixel because the skeleton
  lies on pixel centres, in original pixels;
* **height** — the vertical extent of the foreground; **width** — its horizontal
  extent once the slant is removed, both in original pixels.

The skeleton is a Zhang–Suen thinning, vectorised over the whole batch.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

MEASURES = ("thickness", "slant", "width", "height", "area")


def _as_batch(images) -> np.ndarray:
    """``(N, H, W)`` float images from ``(N, H, W)``, ``(N, H, W, 1)`` or one image."""
    x = np.asarray(images, dtype=np.float32)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or min(x.shape[1:], default=0) < 3:
        raise ValueError(f"expected grey images shaped (N, H, W) or (N, H, W, 1), at "
                         f"least 3 x 3; got shape {np.shape(images)}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("the images contain NaN or infinite values.")
    return x


def binarise(images, scale: int = 4) -> np.ndarray:
    """Upsample ``scale`` times (bilinear) and threshold each image at half its maximum."""
    x = _as_batch(images)
    if int(scale) != scale or scale < 1:
        raise ValueError(f"scale must be a positive integer; got {scale!r}.")
    if scale > 1:
        x = ndimage.zoom(x, (1, scale, scale), order=1, grid_mode=True, mode="nearest")
    peak = x.reshape(len(x), -1).max(axis=1)[:, None, None]
    return (x > 0.5 * peak) & (peak > 0)


def _neighbours(b: np.ndarray) -> list[np.ndarray]:
    """P2..P9 of Zhang–Suen (N, NE, E, SE, S, SW, W, NW) for every pixel of a batch."""
    p = np.pad(b, ((0, 0), (1, 1), (1, 1)))
    h, w = b.shape[1:]
    at = lambda dy, dx: p[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w]  # noqa: E731
    return [at(-1, 0), at(-1, 1), at(0, 1), at(1, 1), at(1, 0), at(1, -1), at(0, -1),
            at(-1, -1)]


def skeletonise(mask: np.ndarray, max_iter: int = 200) -> np.ndarray:
    """Zhang–Suen thinning of a batch of binary images ``(N, H, W)``."""
    b = np.asarray(mask, dtype=bool).copy()
    for _ in range(max_iter):
        changed = False
        for step in (0, 1):
            n = _neighbours(b)
            count = sum(v.astype(np.int8) for v in n)
            ring = n + n[:1]
            transitions = sum((~ring[i] & ring[i + 1]).astype(np.int8) for i in range(8))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if step == 0:
                cond = ~(p2 & p4 & p6) & ~(p4 & p6 & p8)
            else:
                cond = ~(p2 & p4 & p8) & ~(p2 & p6 & p8)
            remove = b & (count >= 2) & (count <= 6) & (transitions == 1) & cond
            if remove.any():
                b &= ~remove
                changed = True
        if not changed:
            break
    return b


def measure(images, scale: int = 4) -> dict[str, np.ndarray]:
    """The five measurements of every image, as arrays of shape ``(N,)``.

    Args:
        images: grey digits, light strokes on a dark background, ``(N, H, W[, 1])``.
        scale: upsampling before binarising (Morpho-MNIST uses 4).

    Blank images get NaN.
    """
    mask = binarise(images, scale)
    n, h, w = mask.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    area = mask.sum(axis=(1, 2)).astype(np.float64)
    out = {k: np.full(n, np.nan) for k in MEASURES}
    skeleton = skeletonise(mask)
    for i in np.flatnonzero(area > 0):
        m = mask[i]
        ys, xs = yy[m], xx[m]
        dy, dx = ys - ys.mean(), xs - xs.mean()
        mu02, mu11 = np.mean(dy * dy), np.mean(dx * dy)
        shear = -mu11 / mu02 if mu02 > 0 else 0.0  # x grows by `shear` per row upwards
        out["slant"][i] = np.arctan(shear)
        upright = xs + shear * dy  # the slant removed: x as if the digit stood upright
        out["width"][i] = (upright.max() - upright.min() + 1) / scale
        out["height"][i] = (ys.max() - ys.min() + 1) / scale
        dist = ndimage.distance_transform_edt(np.pad(m, 1))[1:-1, 1:-1]
        on_skeleton = dist[skeleton[i]]
        if on_skeleton.size:
            out["thickness"][i] = (2 * on_skeleton.mean() - 0.5) / scale
    out["area"] = np.where(area > 0, area / scale**2, np.nan)
    return out
