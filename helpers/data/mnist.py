"""Datasets for the course, with an honest offline fallback.

:func:`load_mnist` resolves MNIST in this order and tells you which one it
used (``Dataset.source``):

1. a data directory — the ``data_dir`` argument or ``HF_DATA_DIR`` — holding a
   Keras-layout ``mnist.npz``;
2. the Keras cache (``~/.keras/datasets/mnist.npz``), checksum-verified (a
   cached file that cannot be read is reported and skipped);
3. the real download (short timeout, one deadline from connecting to the last
   byte, a size cap of :data:`MNIST_BYTES`, checksum, atomic write into the cache);
4. **offline fallback**: 5,000 real MNIST digits shipped with this package
   (``mnist_offline.npz``, written by ``tools/make_offline_mnist.py``), with a
   loud warning — it is a small subset, not the real benchmark.

The dataset's ``provenance`` records which, with the file's name and SHA-256
(see :func:`helpers.data.datasets.make_provenance`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .datasets import (
    Dataset,
    OfflineFallbackWarning,
    check_labels,
    check_raw_labels,
    check_raw_pixels,
    check_subset_seed,
    check_subset_size,
    make_provenance,
    note_provenance,
    stratified_indices,
    subset_indices,
)
from .downloads import DATA_DIR_ENV_VAR, DownloadError, data_dir_error, fetch_file, sha256_of

MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
#: the size of that file: a download may bring no more
MNIST_BYTES = 11_490_434
#: the offline fallback: 500 real training digits per class (tools/make_offline_mnist.py)
OFFLINE_MNIST_PATH = Path(__file__).with_name("mnist_offline.npz")
OFFLINE_PER_CLASS = 500


# -------------------------------------------------------------------------- MNIST
def _read_mnist_npz(path: Path) -> tuple[np.ndarray, ...]:
    """Read and validate a Keras-layout ``mnist.npz``.

    Returns:
        ``(x_train, y_train, x_test, y_test)``: uint8 images ``(N, 28, 28)``
        and int64 labels 0..9.

    Raises:
        ValueError: naming the file and the key, when the file cannot be read,
            an array has the wrong shape, images are not uint8-like integers
            0..255 (e.g. already scaled to [0, 1], above 255, negative, NaN)
            or labels are not integers 0..9.
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = tuple(np.asarray(f[k]) for k in ("x_train", "y_train", "x_test", "y_test"))
    except PermissionError as err:
        raise PermissionError(
            f"{path.name} in {path.parent} cannot be read by this user ({err.strerror}). Make it "
            f"readable, or copy it into a folder of yours and set {DATA_DIR_ENV_VAR} (or data_dir) "
            "to that folder."
        ) from err
    except Exception as err:  # zipfile.BadZipFile, KeyError, OSError, ...
        raise ValueError(f"{path} is not a readable Keras-layout mnist.npz ({err}).") from err
    x_train, y_train, x_test, y_test = arrays
    if x_train.ndim != 3 or x_train.shape[1:] != (28, 28) or y_train.shape != (len(x_train),):
        raise ValueError(f"{path}: x_train/y_train have unexpected shapes {x_train.shape}, "
                         f"{y_train.shape}; expected (N, 28, 28) and (N,).")
    if x_test.ndim != 3 or x_test.shape[1:] != (28, 28) or y_test.shape != (len(x_test),):
        raise ValueError(f"{path}: x_test/y_test have unexpected shapes {x_test.shape}, "
                         f"{y_test.shape}; expected (N, 28, 28) and (N,).")
    layout = "the Keras layout of mnist.npz: uint8 0..255"
    return (
        check_raw_pixels(x_train, f"'x_train' in {path}", layout),
        check_raw_labels(y_train, f"'y_train' in {path}", 0, 9, "the Keras layout: uint8 0..9"),
        check_raw_pixels(x_test, f"'x_test' in {path}", layout),
        check_raw_labels(y_test, f"'y_test' in {path}", 0, 9, "the Keras layout: uint8 0..9"),
    )


def mnist_fallback_path() -> Path:
    """The offline MNIST subset shipped with the package (5,000 real training digits)."""
    if not OFFLINE_MNIST_PATH.is_file():
        raise FileNotFoundError(
            f"The offline MNIST subset {OFFLINE_MNIST_PATH.name} is missing from the helpers "
            "package; reinstall it (`pip install --force-reinstall` of the course helpers)."
        )
    return OFFLINE_MNIST_PATH


def _load_mnist_fallback(seed: int = 0) -> tuple[np.ndarray, ...]:
    """5,000 real digits (500 per class) split 4,000 train / 1,000 test, stratified."""
    with np.load(mnist_fallback_path(), allow_pickle=False) as f:
        x, y = f["x"], f["y"].astype(np.int64)
    test = stratified_indices(y, 1000, seed=seed)
    train = np.setdiff1d(np.arange(len(y)), test)
    return x[train], y[train], x[test], y[test]


def _to_float_images(x: np.ndarray) -> np.ndarray:
    """uint8 images 0..255 ``(N, 28, 28)`` as float32 in [0, 1] ``(N, 28, 28, 1)``.

    One float copy: the division happens in place.
    """
    out = x.astype(np.float32)
    out /= 255.0
    return out[..., None]


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
        train_size, test_size: optional stratified subset sizes (``None`` =
            everything available); whole numbers of at least 10, so that every
            digit is in the subset.
        seed: seed of the subset draw, a whole number >= 0.  ``None`` is refused
            rather than read as "random": a learner who re-runs a cell expects the
            same images, and every number the course reports must be repeatable.
            Another seed gives another, equally reproducible subset.
        data_dir: folder with a Keras-layout ``mnist.npz``; defaults to the
            ``HF_DATA_DIR`` environment variable.
        cache_dir: download cache (default: the Keras cache folder).
        allow_fallback: if ``False``, raise instead of using the offline subset.

    Returns:
        A :class:`Dataset` whose ``source`` says in words where the data came
        from and whose ``provenance`` says it for run records:
        ``{"name": "MNIST", "source": "data-dir" | "keras-cache" | "download" |
        "offline-subset", "file": "mnist.npz" (or "mnist_offline.npz"),
        "sha256": <the file's digest>}``.

    Raises:
        TypeError, ValueError: for a size or seed of the wrong type or value.
        FileNotFoundError: when the data directory has no ``mnist.npz`` (the
            message names the resolved folder and, for a relative one, the
            working folder).
        DownloadError: when real MNIST cannot be had and ``allow_fallback`` is
            ``False``.
    """
    train_size = check_subset_size(train_size, "train_size", "load_mnist", 10)
    test_size = check_subset_size(test_size, "test_size", "load_mnist", 10)
    seed = check_subset_seed(seed, "load_mnist")
    origin = "the data_dir argument" if data_dir is not None else DATA_DIR_ENV_VAR
    data_dir = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV_VAR) or None
    arrays, source, fallback, provenance = None, "", False, {}
    if data_dir is not None:
        path = Path(data_dir).expanduser() / "mnist.npz"
        if not path.is_file():
            raise data_dir_error(data_dir, origin, ("mnist.npz",), "a Keras-layout mnist.npz")
        arrays, source = _read_mnist_npz(path), f"data directory ({path.name})"
        provenance = make_provenance("MNIST", "data-dir", {path.name: sha256_of(path)})
    if arrays is None:
        try:
            path, how = fetch_file(MNIST_URL, "mnist.npz", MNIST_SHA256, cache_dir=cache_dir,
                                   validate=_read_mnist_npz, max_bytes=MNIST_BYTES)
            arrays = _read_mnist_npz(path)
            source = (f"Keras cache ({path.name})" if how == "cache"
                      else f"downloaded into the Keras cache ({path.name})")
            provenance = make_provenance("MNIST", "keras-cache" if how == "cache" else "download",
                                         {path.name: MNIST_SHA256})  # verified by fetch_file
        except DownloadError as err:
            if not allow_fallback:
                raise
            warnings.warn(
                "Real MNIST is not available offline here "
                f"({err}). Falling back to the 5,000 real MNIST digits shipped with the helpers "
                "(4,000 train / 1,000 test). Results will be lower than with full MNIST; "
                f"set {DATA_DIR_ENV_VAR} to a folder with mnist.npz to use the real thing.",
                OfflineFallbackWarning,
                stacklevel=2,
            )
            arrays = _load_mnist_fallback(seed)
            source, fallback = "OFFLINE FALLBACK: 5,000 real MNIST digits shipped offline", True
            fallback_file = mnist_fallback_path()
            provenance = make_provenance("MNIST", "offline-subset",
                                         {fallback_file.name: sha256_of(fallback_file)})
    x_train, y_train, x_test, y_test = arrays
    y_train, y_test = check_labels(y_train, 10, "y_train"), check_labels(y_test, 10, "y_test")
    # Subset the uint8 images first: only the kept ones become float32.
    tr, te = subset_indices(y_train, y_test, train_size, test_size, seed)
    ds = Dataset("MNIST", _to_float_images(x_train[tr]), y_train[tr],
                 _to_float_images(x_test[te]), y_test[te], source=source,
                 is_fallback=fallback, provenance=provenance)
    note_provenance(ds)
    return ds


def load_mnist_for_profile(profile, **kwargs) -> Dataset:
    """:func:`load_mnist` with the profile's train/test sizes and seed."""
    return load_mnist(train_size=profile.train_size, test_size=profile.test_size,
                      seed=profile.seed, **kwargs)
