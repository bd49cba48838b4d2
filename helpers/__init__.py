"""Hidden Factors — the helper package behind the course notebooks.

The package is organised by what flows through it::

    data/    MNIST, SVHN and its offline stand-in, input checks, subsets
    core/    the profile, the common model interface, blocks, losses, training
    eval/    probes, swaps, the scorecard, results tables
    viz/     figures and interactive explorers
    papers/  the chapters' own models and losses, exported from their notebooks
    notebook the first cell of every chapter (setup, report, runtime note)

Importing :mod:`helpers` quietens TensorFlow's start-up chatter (it would
otherwise land in the rendered book as red stderr) and selects the TensorFlow
backend for Keras.  Both are only defaults: variables you set yourself win.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from .core.profile import PROFILES, Profile, get_profile  # noqa: E402

__version__ = "0.1.0"
__all__ = ["PROFILES", "Profile", "get_profile", "__version__"]
