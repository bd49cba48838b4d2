"""Datasets as the course passes them around, and the checks every entry point uses.

* :class:`Dataset` — train/test images (float32 in [0, 1], ``(N, H, W, C)``), labels
  and where they came from (``provenance``, built by :func:`make_provenance`);
* :func:`check_images`, :func:`check_labels` — validate what a learner passes in,
  with errors that say how to fix it; :func:`check_subset_size` and
  :func:`check_subset_seed` do the same for the loaders' sizes and seed;
* :func:`check_raw_pixels`, :func:`check_raw_labels` — validate what a data file holds
  before the loaders scale it;
* :func:`stratified_indices`, :func:`balanced_indices`, :func:`balanced_subset`,
  :func:`subset` — reproducible subsets.
"""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import dataclass, field

import numpy as np

from ..validate import check_seed

MNIST_CLASSES = tuple(str(d) for d in range(10))
#: where a loader's data came from (``Dataset.provenance["source"]``)
PROVENANCE_SOURCES = ("data-dir", "keras-cache", "download", "offline-subset", "stand-in")

class OfflineFallbackWarning(UserWarning):
    """Warned when a loader falls back to a small offline stand-in."""


@dataclass
class Dataset:
    """Images and labels, split into train and test.

    Images are float32 in ``[0, 1]`` shaped ``(N, H, W, C)``; labels are int64
    in ``[0, num_classes)``.

    ``provenance`` says where the data came from, for run records (see
    :func:`make_provenance`): ``{"name", "source", "file", "sha256"}``, all strings,
    file *names* only — never a folder.  It is empty for a dataset built by hand, and
    :func:`subset` keeps it.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    class_names: tuple[str, ...] = MNIST_CLASSES
    is_fallback: bool = False
    provenance: dict[str, str] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def describe(self) -> str:
        """A short summary that notebooks print under the loading cell (lines ≤ 80 chars)."""
        lines = [f"{self.name}: train {self.x_train.shape}, test {self.x_test.shape}, "
                 f"{self.num_classes} classes",
                 *textwrap.wrap(f"source: {self.source}", 78, initial_indent="  ",
                                subsequent_indent="    ")]
        if self.is_fallback:
            lines.append("  ⚠ OFFLINE FALLBACK — not the full dataset")
        return "\n".join(lines)


# --------------------------------------------------------------------------- checks
def check_images(x: np.ndarray, name: str = "x", channels: int | None = None,
                 shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Validate a batch of images: 4-D ``(N, H, W, C)``, float, values in [0, 1].

    ``shape`` (e.g. a model's ``image_shape``) is the ``(H, W, C)`` every image
    must have.  Returns the images as float32.  Raises ``ValueError``/``TypeError``
    with a message that says what was expected, what came, and how to fix it.
    """
    x = np.asarray(x)
    if x.ndim >= 1 and len(x) == 0:
        raise ValueError(f"{name} is empty (0 images); pass at least one image.")
    if x.ndim == 3:
        raise ValueError(
            f"{name} has shape {x.shape}; images need a channel axis (N, H, W, C). "
            f"Add one with `{name}[..., None]`."
        )
    if x.ndim != 4:
        raise ValueError(f"{name} must be 4-D (N, H, W, C); got shape {x.shape}.")
    if channels is not None and x.shape[-1] != channels:
        raise ValueError(f"{name} must have {channels} channel(s); got shape {x.shape}.")
    if shape is not None and tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(
            f"this model expects {tuple(shape)} images; {name} has {tuple(x.shape[1:])} "
            f"images (shape {x.shape}). Use images of the model's domain, or build the "
            f"model with image_shape={tuple(x.shape[1:])}."
        )
    if x.dtype == np.uint8:
        raise TypeError(
            f"{name} is uint8 (0..255); the models expect float32 in [0, 1]. "
            f"Use `{name}.astype('float32') / 255`."
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name} must be a float array; got dtype {x.dtype}.")
    x = x.astype(np.float32, copy=False)
    if x.size and not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    if x.size and (x.min() < 0.0 or x.max() > 1.0):
        raise ValueError(
            f"{name} must lie in [0, 1]; got range [{x.min():.3g}, {x.max():.3g}]. "
            "Rescale it (e.g. divide by 255)."
        )
    return x


def check_labels(y: np.ndarray, num_classes: int, name: str = "y", n: int | None = None) -> np.ndarray:
    """Validate integer class labels in ``[0, num_classes)``; returns int64."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == num_classes:
        raise ValueError(
            f"{name} looks one-hot encoded {y.shape}; pass integer labels, e.g. `{name}.argmax(1)`."
        )
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D integer labels; got shape {y.shape}.")
    if y.size == 0:
        raise ValueError(f"{name} is empty (0 labels); pass at least one label.")
    if not (np.issubdtype(y.dtype, np.integer) or (y.size and np.all(np.mod(y, 1) == 0))):
        raise TypeError(f"{name} must hold integer class labels; got dtype {y.dtype}.")
    if n is not None and len(y) != n:
        raise ValueError(f"{name} has {len(y)} labels but there are {n} images.")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{name} must lie in [0, {num_classes - 1}]; got range [{y.min()}, {y.max()}]."
        )
    return y


def _fmt(v) -> str:
    """A number for an error message: integers as is, floats with 4 significant digits."""
    return f"{v:.4g}" if isinstance(v, float | np.floating) else str(v)


def check_raw_pixels(x: np.ndarray, name: str, layout: str) -> np.ndarray:
    """Validate raw pixels read from a data file: uint8-like integers 0..255; returns uint8.

    The loaders divide raw pixels by 255 exactly once, so values already scaled
    to [0, 1] (or non-integer, negative, NaN or > 255 values) would silently give
    wrong images.  ``name`` says where the array came from (e.g.
    ``"'x_train' in /data/mnist.npz"``), ``layout`` which file layout is expected
    (e.g. ``"the Keras layout of mnist.npz: uint8 0..255"``); both appear in the
    ``ValueError``, with the dtype and range found.
    """
    x = np.asarray(x)
    expected = f"expected uint8 pixel values, integers 0..255 ({layout})"
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)) \
            or x.dtype == np.bool_:
        raise ValueError(f"{name} has dtype {x.dtype}; {expected}.")
    if x.dtype == np.uint8:
        return x
    if x.size == 0:
        return x.astype(np.uint8)
    is_float = np.issubdtype(x.dtype, np.floating)
    if is_float and not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values (dtype {x.dtype}); {expected}.")
    lo, hi = x.min(), x.max()
    found = f"found dtype {x.dtype}, range [{_fmt(lo)}, {_fmt(hi)}]"
    if lo < 0 or hi > 255:
        raise ValueError(f"{name} has values outside 0..255 ({found}); {expected}.")
    if is_float and hi <= 1:
        raise ValueError(
            f"{name} looks already scaled to [0, 1] ({found}); {expected}, which the loader "
            "divides by 255 once. Save it as `(x * 255).round().astype('uint8')`."
        )
    if is_float and not np.array_equal(x, np.round(x)):
        raise ValueError(
            f"{name} has non-integer values ({found}); {expected}. "
            "Save it as `x.round().astype('uint8')` if it really is on the 0..255 scale."
        )
    return x.astype(np.uint8)


def check_raw_labels(y: np.ndarray, name: str, low: int, high: int, layout: str) -> np.ndarray:
    """Validate integer labels read from a data file: whole numbers in ``low..high``; returns int64.

    Float labels are accepted only when every value is a whole number (``3.0``),
    so a label such as ``10.5`` is an error instead of being truncated.
    ``name``/``layout`` appear in the ``ValueError`` as in :func:`check_raw_pixels`.
    """
    y = np.asarray(y)
    expected = f"expected integer labels {low}..{high} ({layout})"
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)) \
            or y.dtype == np.bool_:
        raise ValueError(f"{name} has dtype {y.dtype}; {expected}.")
    if y.size == 0:
        return y.astype(np.int64)
    if np.issubdtype(y.dtype, np.floating):
        if not np.isfinite(y).all():
            raise ValueError(f"{name} contains NaN or infinite labels; {expected}.")
        fractional = y[y != np.round(y)]
        if fractional.size:
            raise ValueError(
                f"{name} has non-integer labels such as {_fmt(fractional[0])} (dtype {y.dtype}); "
                f"{expected}."
            )
    lo, hi = y.min(), y.max()
    if lo < low or hi > high:
        raise ValueError(
            f"{name} has labels outside {low}..{high} (found range [{_fmt(lo)}, {_fmt(hi)}]); "
            f"{expected}."
        )
    return y.astype(np.int64)


def make_provenance(name: str, source: str, files: dict[str, str]) -> dict[str, str]:
    """Where a loader's data came from, as a run record stores it.

    Args:
        name: the data set (``"MNIST"``, ``"SVHN"``).
        source: one of :data:`PROVENANCE_SOURCES`.
        files: ``{file name: hex SHA-256}`` of the files used, in order (for the
            SVHN stand-in, which has no file: ``{"": digest of its rendered arrays}``).

    Returns:
        ``{"name": name, "source": source, "file": names, "sha256": digests}``;
        with several files, ``file`` and ``sha256`` list them comma-separated in the
        same order.  Only file *names* are kept: a folder never reaches a record.

    Raises:
        ValueError: for an unknown ``source`` or a file name that holds a folder.
    """
    if source not in PROVENANCE_SOURCES:
        raise ValueError(f"provenance source must be one of {PROVENANCE_SOURCES}; got {source!r}.")
    for file in files:
        if "/" in file or "\\" in file:
            raise ValueError(f"provenance keeps file names only, never a folder; got {file!r}.")
    return {"name": name, "source": source, "file": ",".join(files),
            "sha256": ",".join(files.values())}


def digest_arrays(*arrays: np.ndarray) -> str:
    """The hex SHA-256 of arrays' dtypes, shapes and bytes (data that has no file)."""
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.data)
    return digest.hexdigest()


def note_provenance(ds: Dataset) -> None:
    """Tell :mod:`helpers.runs` (when it is there) which data this process loaded."""
    try:
        from ..runs import note_data
    except ImportError:  # an installation without run records
        return
    note_data(ds.provenance.get("name", ds.name), ds.provenance)


# -------------------------------------------------------------------- loader arguments
def check_subset_size(size, name: str, where: str, num_classes: int) -> int | None:
    """A subset size: ``None`` (everything) or a whole number of at least ``num_classes``.

    A stratified subset smaller than the number of classes would silently leave
    classes out (``train_size=3`` kept only the digits 0, 1 and 2).  Raises
    ``TypeError``/``ValueError`` saying what was expected, what came, and how to fix it.
    """
    if size is None:
        return None
    if isinstance(size, bool) or not isinstance(size, int | np.integer):
        if isinstance(size, str) and size.strip().isdigit():
            fix = f"Pass {name}={int(size)} (a number, without quotes)"
        elif isinstance(size, float | np.floating) and np.isfinite(size) and size >= 1:
            fix = f"Pass a whole number such as {name}={int(size)}"
        else:
            fix = f"Pass a whole number such as {name}=600"
        raise TypeError(f"{where}: {name} must be a whole number of images, or None for all of "
                        f"them; got {size!r} of type {type(size).__name__}. {fix}.")
    if size < num_classes:
        raise ValueError(
            f"{where}: {name} must be at least {num_classes}, so that the stratified subset holds "
            f"every one of the {num_classes} classes; got {size}. Pass {name}={num_classes} or "
            "more, or None for all images."
        )
    return int(size)


def check_subset_seed(seed, where: str) -> int:
    """The seed of a subset draw: a whole number >= 0 (``None`` is refused).

    ``None`` would draw a different subset on every call, so no number measured on
    it could be repeated; the course always draws with a fixed seed.  Raises
    ``TypeError``/``ValueError`` saying what was expected, what came, and how to fix it.
    """
    if seed is None:
        raise TypeError(
            f"{where}: seed must be a whole number >= 0; got None, which would draw a different "
            "subset on every call, so results could not be repeated. Pass seed=0 (or the "
            "profile's seed, get_profile().seed); another seed gives another, equally "
            "reproducible subset."
        )
    try:
        return check_seed(seed)
    except TypeError as err:
        if isinstance(seed, str) and seed.strip().isdigit():
            fix = f"Pass seed={int(seed)} (a number, without quotes)."
        elif isinstance(seed, float | np.floating) and np.isfinite(seed) and seed >= 0:
            fix = f"Pass a whole number such as seed={int(seed)}."
        else:
            fix = "Pass a whole number such as seed=0."
        raise TypeError(f"{where}: {err} {fix}") from None
    except ValueError as err:
        raise ValueError(f"{where}: {err} Pass a seed of 0 or more, such as seed=0.") from None


# ------------------------------------------------------------------------ subsets
def stratified_indices(y: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Indices of a class-stratified random subset of ``size`` labels.

    Each class gets a share proportional to its frequency (rounded so the
    total is exactly ``size``); the result is sorted, so the original order
    is kept.  ``size >= len(y)`` returns every index.
    """
    y = np.asarray(y)
    if size <= 0:
        raise ValueError(f"size must be positive; got {size}.")
    if size >= len(y):
        return np.arange(len(y))
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * size / len(y)
    take = np.floor(quota).astype(int)
    # hand out the remainder to the classes with the largest fractional parts
    for i in np.argsort(-(quota - take), kind="stable")[: size - take.sum()]:
        take[i] += 1
    picked = [rng.choice(np.flatnonzero(y == c), k, replace=False)
              for c, k in zip(classes, take, strict=True)]
    return np.sort(np.concatenate(picked))


def balanced_indices(y: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Indices of exactly ``per_class`` examples of every class (sorted)."""
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    picked = []
    for c in np.unique(y):
        pool = np.flatnonzero(y == c)
        if len(pool) < per_class:
            raise ValueError(f"class {c} has only {len(pool)} examples; {per_class} requested.")
        picked.append(rng.choice(pool, per_class, replace=False))
    return np.sort(np.concatenate(picked))


def subset_indices(y_train: np.ndarray, y_test: np.ndarray, train_size: int | None,
                   test_size: int | None, seed: int = 0) -> tuple:
    """Which train and test examples :func:`subset` keeps.

    ``None`` keeps everything and gives ``slice(None)``, so indexing with it
    makes a view, not a copy (60,000 float images are 188 MB).
    """
    tr = slice(None) if train_size is None else stratified_indices(y_train, train_size, seed)
    te = slice(None) if test_size is None else stratified_indices(y_test, test_size, seed + 1)
    return tr, te


def subset(ds: Dataset, train_size: int | None = None, test_size: int | None = None,
           seed: int = 0) -> Dataset:
    """A stratified subset of a :class:`Dataset` (``None`` keeps everything).

    Every class must fit: a size below the number of classes is an error.  The
    subset keeps the dataset's ``source``, ``is_fallback`` and ``provenance``.
    """
    train_size = check_subset_size(train_size, "train_size", "subset", ds.num_classes)
    test_size = check_subset_size(test_size, "test_size", "subset", ds.num_classes)
    seed = check_subset_seed(seed, "subset")
    tr, te = subset_indices(ds.y_train, ds.y_test, train_size, test_size, seed)
    return Dataset(ds.name, ds.x_train[tr], ds.y_train[tr], ds.x_test[te], ds.y_test[te],
                   ds.source, ds.class_names, ds.is_fallback, dict(ds.provenance))


def balanced_subset(x: np.ndarray, y: np.ndarray, per_class: int,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Exactly ``per_class`` labelled examples of every class, drawn reproducibly.

    ``balanced_subset(x, y, 100)`` gives the 1,000-label scarce domain of the
    JADE chapter.  The same seed always gives the same images.
    """
    y = np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels.")
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1; got {per_class}.")
    idx = balanced_indices(y, per_class, seed=seed)
    return x[idx], y[idx]
