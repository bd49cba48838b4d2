"""MNIST digits redrawn with known style factors: slant, scale and stroke thickness.

Each digit is first made upright (its own slant, from image moments, is sheared away),
then redrawn with a stroke thickness change, a size and a slant drawn at random,
independently of each other and of the digit's class. The values used are stored with
the images, so a representation can be scored against the true factors (MIG, in
``helpers.eval.style``). Everything is deterministic given the seed, and works on any
digits the MNIST loader returns (the offline fallback included)::

    from helpers.data import load_mnist
    from helpers.data.known_factors import make_known_factors

    data = load_mnist(test_size=2000)
    kf = make_known_factors(data.x_test, data.y_test, seed=0)
    kf.images, kf.labels, kf.factors["slant"]

The work is done at 4x resolution (112 x 112): thickening or thinning by whole
upsampled pixels changes the stroke's half-width in quarter-pixel steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .datasets import check_images, check_labels

FACTORS = ("slant", "scale", "thickness")
SCALE = 4  # the upsampling the transforms work at
SLANT_RANGE = (-0.6, 0.6)  # radians: the applied slant, atan of the shear
SIZE_RANGE = (0.75, 1.05)  # zoom about the centre of mass
THICKNESS_STEPS = (-1, 0, 1, 2, 3, 4)  # upsampled pixels added to the half-width


@dataclass(frozen=True)
class KnownFactors:
    """Digits with known style: ``images`` (N, 28, 28, 1), ``labels`` (N,), and
    ``factors`` — the applied ``slant`` (radians), ``scale`` (zoom) and ``thickness``
    (change of the stroke's half-width, in pixels of the 28 x 28 image), each (N,)."""

    images: np.ndarray
    labels: np.ndarray
    factors: dict[str, np.ndarray]

    def factor_matrix(self) -> np.ndarray:
        """The factors as columns, in the order of :data:`FACTORS`: shape (N, 3)."""
        return np.stack([self.factors[name] for name in FACTORS], axis=1)


def _disc(radius: int) -> np.ndarray:
    r = np.arange(-radius, radius + 1)
    return (r[:, None] ** 2 + r[None, :] ** 2) <= radius**2


def _upright_shear(img: np.ndarray) -> float:
    """The shear (x per row upwards) of a grey image, from its intensity moments."""
    yy, xx = np.mgrid[0:img.shape[0], 0:img.shape[1]]
    w = img / img.sum()
    dy, dx = yy - (w * yy).sum(), xx - (w * xx).sum()
    mu02, mu11 = (w * dy * dy).sum(), (w * dx * dy).sum()
    return float(-mu11 / mu02) if mu02 > 0 else 0.0


def redraw(image: np.ndarray, slant: float, scale: float, thickness: int) -> np.ndarray:
    """One 28 x 28 digit made upright, then drawn with the given factors.

    ``thickness`` is in upsampled pixels (quarter pixels of the result): dilation
    for positive values, erosion for negative ones, by a disc of that radius.
    """
    big = ndimage.zoom(image, SCALE, order=1, grid_mode=True, mode="nearest")
    big = np.clip(big, 0, 1)
    if thickness > 0:
        big = ndimage.grey_dilation(big, footprint=_disc(thickness))
    elif thickness < 0:
        big = ndimage.grey_erosion(big, footprint=_disc(-thickness))
    if big.sum() <= 0:
        return np.zeros_like(image)
    # output pixel (y, x) samples the input at centre + A^-1 (out - centre), where the
    # forward map first removes the digit's own shear, then zooms and shears again
    yy, xx = np.mgrid[0:big.shape[0], 0:big.shape[1]]
    cy = float((big * yy).sum() / big.sum())
    cx = float((big * xx).sum() / big.sum())
    own, new = _upright_shear(big), float(np.tan(slant))
    # forward: x' = s (x + (new - own) (cy - y)) around the centre; y' = s y
    forward = np.array([[scale, 0.0], [-scale * (new - own), scale]])  # rows: y', x'
    inverse = np.linalg.inv(forward)
    centre = np.array([cy, cx])
    target = np.array([big.shape[0] / 2, big.shape[1] / 2])
    offset = centre - inverse @ target
    out = ndimage.affine_transform(big, inverse, offset=offset, order=1, mode="constant")
    small = out.reshape(28, SCALE, 28, SCALE).mean(axis=(1, 3))
    peak = small.max()
    return (small / peak if peak > 0 else small).astype(np.float32)


def make_known_factors(images, labels, seed: int = 0) -> KnownFactors:
    """Redraw every digit with factors drawn independently of each other and the class.

    Args:
        images: MNIST digits (N, 28, 28, 1) in [0, 1], e.g. ``load_mnist().x_test``.
        labels: their classes (N,).
        seed: fixes every factor drawn (the same seed gives the same dataset).
    """
    x = check_images(images, "images", shape=(28, 28, 1))
    y = check_labels(labels, 10, "labels", n=len(x))
    rng = np.random.default_rng(seed)
    n = len(x)
    slant = rng.uniform(*SLANT_RANGE, n)
    scale = rng.uniform(*SIZE_RANGE, n)
    steps = rng.choice(np.array(THICKNESS_STEPS), n)
    out = np.stack([redraw(x[i, ..., 0], slant[i], scale[i], int(steps[i]))
                    for i in range(n)])[..., None]
    return KnownFactors(images=out, labels=y.copy(),
                        factors={"slant": slant, "scale": scale,
                                 "thickness": steps / SCALE})
