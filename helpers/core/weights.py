"""A cache of trained weights, keyed by everything that determines them.

Used where a long run reuses a model it trained before (the two-step chapter's step 1
across paper-scale settings).  The key is a digest of the training data, the code
and every size and seed passed in; an entry that is cut short, unreadable or does not
fit the model is discarded with a message and the model is trained again.  Entries are
written atomically, so a kill or a full disk never leaves half of one.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np

from ..files import atomic_write_bytes

__all__ = ["cache_dir", "cache_path", "load_weights", "save_weights"]

CACHE_ENV_VAR = "HF_CACHE_DIR"


def cache_dir() -> Path:
    """``HF_CACHE_DIR``, else ``~/.cache/hidden-factors/weights`` (created)."""
    folder = os.environ.get(CACHE_ENV_VAR)
    path = Path(folder) if folder else Path.home() / ".cache" / "hidden-factors" / "weights"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_path(name: str, *parts) -> Path:
    """``<cache_dir>/<name>_<digest>.npz``; the digest covers every part: arrays (their
    bytes, dtype and shape), bytes, and anything else by its ``repr``."""
    key = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            key.update(f"{part.dtype}{part.shape}".encode())
            key.update(np.ascontiguousarray(part).tobytes())
        elif isinstance(part, bytes):
            key.update(part)
        else:
            key.update(repr(part).encode())
        key.update(b"|")
    return cache_dir() / f"{name}_{key.hexdigest()[:20]}.npz"


def load_weights(model, path: Path) -> bool:
    """Load ``model``'s (built) weights from ``path``; False when it is missing, and
    False with the entry removed when it is broken or does not fit the model."""
    path = Path(path)
    if not path.is_file():
        return False
    try:
        with np.load(path) as saved:
            arrays = [saved[f"w{i}"] for i in range(len(model.weights))]
            fits = len(saved.files) == len(arrays) and all(
                a.shape == tuple(w.shape) for a, w in zip(arrays, model.weights, strict=True))
        if not fits:
            raise ValueError("the saved weights do not fit the model")
    except Exception as err:  # noqa: BLE001 - any broken entry is rebuilt
        print(f"Cached weights {path.name} unusable ({type(err).__name__}: {err}); "
              "removed, training again.", flush=True)
        path.unlink(missing_ok=True)
        return False
    for weight, array in zip(model.weights, arrays, strict=True):
        weight.assign(array)
    return True


def save_weights(model, path: Path) -> None:
    """Save ``model``'s weights to ``path`` atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, **{f"w{i}": np.asarray(w.numpy()) for i, w in enumerate(model.weights)})
    atomic_write_bytes(path, buffer.getvalue())
