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

It also turns oneDNN's custom operations off (``TF_ENABLE_ONEDNN_OPTS=0``), so
that training gives the book's weights bit for bit on every CPU.  TensorFlow
reads that variable once, while it is imported: set later it changes nothing.
So when TensorFlow (or Keras) was imported *before* helpers and runs with
oneDNN on, importing helpers warns (:class:`OneDNNWarning`) and says how to
fix it: restart, and import helpers first.
"""

from __future__ import annotations

import os
import sys
import warnings

ONEDNN_VAR = "TF_ENABLE_ONEDNN_OPTS"


class OneDNNWarning(UserWarning):
    """TensorFlow runs with oneDNN on: results will differ (slightly) from the book's."""


def _onednn_enabled() -> bool | None:
    """Whether the TensorFlow already imported runs oneDNN's operations (``None``: cannot tell).

    TensorFlow decides this once, while it is imported; asking afterwards
    changes nothing.  Only call this when ``tensorflow`` is in ``sys.modules``.
    """
    try:
        from tensorflow.python.util import _pywrap_util_port
        return bool(_pywrap_util_port.IsMklEnabled())
    except Exception:  # a TensorFlow without this (private) switch: unknown
        return None


def _onednn_advice(tf_imported_first: bool, value: str | None, enabled: bool | None) -> str | None:
    """The warning to give about oneDNN, or ``None`` when all is as the book ran.

    Args:
        tf_imported_first: TensorFlow was imported before helpers.
        value: ``TF_ENABLE_ONEDNN_OPTS`` as helpers found it (``None``: unset).
        enabled: whether TensorFlow runs oneDNN's operations (``None``: unknown).
    """
    if not tf_imported_first or enabled is False:
        return None  # helpers' setting came in time, or oneDNN is off anyway
    chosen = value is not None and value.strip().lower() in ("1", "true")
    if chosen:
        return None  # turned on on purpose: the learner's choice wins
    if enabled is None and value is not None and value.strip().lower() in ("0", "false"):
        return None  # cannot tell, but it was off when TensorFlow read it (most likely)
    state = "runs with oneDNN's custom operations on" if enabled else \
        "may run with oneDNN's custom operations on"
    return (
        f"TensorFlow was imported before helpers, so helpers' {ONEDNN_VAR}=0 came too late: "
        f"TensorFlow reads it only once, while it is imported, and now {state}. "
        "Everything works, but trained weights and numbers will differ slightly from the "
        "book's. To get the book's results bit for bit, restart the kernel (or Python) and "
        "`import helpers` before tensorflow or keras, or set the environment variable "
        f"{ONEDNN_VAR}=0 before Python starts."
    )


_TF_IMPORTED_FIRST = "tensorflow" in sys.modules
_ONEDNN_VALUE = os.environ.get(ONEDNN_VAR)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault(ONEDNN_VAR, "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

_advice = _onednn_advice(_TF_IMPORTED_FIRST, _ONEDNN_VALUE,
                         _onednn_enabled() if _TF_IMPORTED_FIRST else None)
if _advice:
    warnings.warn(_advice, OneDNNWarning, stacklevel=2)

from .core.profile import PROFILES, Profile, get_profile  # noqa: E402

__version__ = "0.2.0"
__all__ = ["PROFILES", "OneDNNWarning", "Profile", "get_profile", "__version__"]
