"""Shared fixtures: tiny data so the unit tests stay fast and offline."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import helpers  # noqa: F401  (sets the TF logging defaults before TF is imported)


def load_script(path: Path) -> ModuleType:
    """Import a tool or benchmark (``tools/*.py``, ``benchmarks/*.py``: modules of the
    packages ``tools`` and ``benchmarks``, as ``python -m tools.<name>`` runs them) or
    a script that is not in a package.

    A script's folder goes on ``sys.path`` and the module into ``sys.modules``
    (dataclasses look their module up there).
    """
    if (path.parent / "__init__.py").exists():  # tools/, benchmarks/: packages
        return importlib.import_module(f"{path.parent.name}.{path.stem}")
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture()
def tiny_images() -> tuple[np.ndarray, np.ndarray]:
    """60 random 28x28x1 images in [0, 1] and balanced labels 0..9."""
    rng = np.random.default_rng(0)
    x = rng.random((60, 28, 28, 1), dtype=np.float32)
    y = np.tile(np.arange(10), 6).astype(np.int64)
    return x, y


def write_fake_mnist(path, n_train: int = 50, n_test: int = 20, seed: int = 0) -> None:
    """A Keras-layout mnist.npz with random uint8 digits (for loader tests)."""
    rng = np.random.default_rng(seed)
    np.savez(
        path,
        x_train=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        y_train=np.arange(n_train, dtype=np.uint8) % 10,
        x_test=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        y_test=np.arange(n_test, dtype=np.uint8) % 10,
    )


class DripResponse:
    """A fake HTTP response from a server that trickles one byte per read.

    Every read returns within ``delay`` seconds, so a per-read socket timeout
    never fires; only a deadline for the whole download can stop it.  After
    ``n_bytes`` bytes it ends (so code without a deadline finishes, late).
    """

    def __init__(self, n_bytes: int = 200, delay: float = 0.03) -> None:
        self.n_bytes, self.delay, self.sent = n_bytes, delay, 0

    def read(self, n: int = -1) -> bytes:
        """One byte after ``delay`` seconds, or ``b""`` once all were sent."""
        if self.sent >= self.n_bytes:
            return b""
        time.sleep(self.delay)
        self.sent += 1
        return b"x"

    read1 = read

    def __enter__(self) -> DripResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.fixture()
def slow_network(monkeypatch) -> DripResponse:
    """Every download talks to a server that trickles (see :class:`DripResponse`);
    no data directory and no offline switch, so the loaders really try it."""
    from helpers.data import downloads

    drip = DripResponse(n_bytes=200, delay=0.03)
    monkeypatch.setattr(downloads, "_urlopen", lambda url, timeout: drip)
    monkeypatch.delenv("HF_DATA_DIR", raising=False)
    monkeypatch.delenv("HF_OFFLINE", raising=False)
    return drip
