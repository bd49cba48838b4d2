"""Write the offline MNIST fallback shipped with the helpers package.

``helpers/data/mnist_offline.npz``: 5,000 real MNIST training digits, 500 per
class, drawn with seed 0 from a Keras-layout ``mnist.npz``, and the index of each
in MNIST's training set. A learner never runs this: the file is committed. An
author re-creates it (the same arrays) with

    HF_DATA_DIR=/folder/with/mnist.npz python tools/make_offline_mnist.py

(without ``HF_DATA_DIR`` the real file is downloaded into the Keras cache).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from helpers.data.datasets import balanced_indices
from helpers.data.downloads import DATA_DIR_ENV_VAR, fetch_file
from helpers.data.mnist import (
    MNIST_SHA256,
    MNIST_URL,
    OFFLINE_MNIST_PATH,
    OFFLINE_PER_CLASS,
    _read_mnist_npz,
)


def main() -> int:
    folder = os.environ.get(DATA_DIR_ENV_VAR)
    if folder:
        source = Path(folder) / "mnist.npz"
    else:
        source, _ = fetch_file(MNIST_URL, "mnist.npz", MNIST_SHA256, validate=_read_mnist_npz)
    x_train, y_train, _, _ = _read_mnist_npz(source)  # shapes, dtype and range checked
    if len(x_train) != 60_000:
        sys.exit(f"Expected MNIST's 60,000 training digits; that mnist.npz has {len(x_train):,}.")
    index = balanced_indices(y_train, OFFLINE_PER_CLASS, seed=0)
    np.savez_compressed(OFFLINE_MNIST_PATH, x=x_train[index], y=y_train[index].astype(np.uint8),
                        mnist_train_index=index.astype(np.int32))
    size = OFFLINE_MNIST_PATH.stat().st_size
    print(f"wrote {OFFLINE_MNIST_PATH.name}: {len(index):,} digits, {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
