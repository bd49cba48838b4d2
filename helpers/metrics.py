"""How much label information sits where: accuracies, probes, reconstruction error.

The central tool is a **probe**: a fresh classifier trained on a frozen code
(``s`` or ``z``) of the training images and tested on the test images.  If a
probe reads the label from the style code ``z`` far above chance, the label
has leaked into ``z`` — the model is not disentangled.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .interface import DisentanglingModel, decode_all, encode_all, predict_proba, reconstruct_all


def chance_accuracy(y: np.ndarray) -> float:
    """Accuracy of always guessing the most frequent class."""
    _, counts = np.unique(np.asarray(y), return_counts=True)
    return float(counts.max() / counts.sum())


def _check_features(f_train, y_train, f_test, y_test):
    f_train, f_test = np.asarray(f_train, np.float64), np.asarray(f_test, np.float64)
    f_train = f_train.reshape(len(f_train), -1)
    f_test = f_test.reshape(len(f_test), -1)
    if len(f_train) != len(y_train) or len(f_test) != len(y_test):
        raise ValueError("features and labels must have the same number of rows.")
    if f_train.shape[1] != f_test.shape[1]:
        raise ValueError(f"train/test features differ in width: {f_train.shape[1]} vs "
                         f"{f_test.shape[1]}.")
    if not (np.isfinite(f_train).all() and np.isfinite(f_test).all()):
        raise ValueError("features contain NaN or infinite values (did training diverge?).")
    return f_train, f_test


def linear_probe(f_train, y_train, f_test, y_test, max_iter: int = 500, seed: int = 0) -> float:
    """Test accuracy of a (standardised) logistic-regression probe on frozen features."""
    f_train, f_test = _check_features(f_train, y_train, f_test, y_test)
    if f_train.shape[1] == 0:
        return chance_accuracy(y_test)
    probe = make_pipeline(StandardScaler(),
                          LogisticRegression(max_iter=max_iter, random_state=seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(f_train, y_train)
    return float(probe.score(f_test, y_test))


def mlp_probe(f_train, y_train, f_test, y_test, hidden: tuple[int, ...] = (256, 256),
              max_iter: int = 200, seed: int = 0) -> float:
    """Test accuracy of a fresh non-linear (MLP) probe on frozen features.

    Stronger than :func:`linear_probe`: it finds label information that is
    present but not linearly readable.  Uses early stopping on 10% of the
    training features.
    """
    f_train, f_test = _check_features(f_train, y_train, f_test, y_test)
    if f_train.shape[1] == 0:
        return chance_accuracy(y_test)
    probe = make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=hidden, max_iter=max_iter, early_stopping=True,
                      random_state=seed),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(f_train, y_train)
    return float(probe.score(f_test, y_test))


PROBES = {"linear": linear_probe, "mlp": mlp_probe}


def classification_accuracy(model: DisentanglingModel, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of ``model.classify`` (NaN for models that cannot classify)."""
    try:
        probs = predict_proba(model, x)
    except NotImplementedError:
        return float("nan")
    return float(np.mean(probs.argmax(axis=1) == np.asarray(y)))


def reconstruction_mse(model: DisentanglingModel, x: np.ndarray) -> float:
    """Mean squared error per pixel of ``decode(encode(x))``."""
    return float(np.mean((reconstruct_all(model, x) - x) ** 2))


def disentanglement_report(model: DisentanglingModel, x_train, y_train, x_test, y_test,
                           probe: str = "linear", seed: int = 0) -> dict[str, float]:
    """The course's standard numbers for one model.

    Returns a dict with ``accuracy`` (from ``classify``), ``s_probe`` and
    ``z_probe`` (fresh probes on the frozen codes), ``chance`` and
    ``reconstruction_mse`` — all on the test images.
    """
    if probe not in PROBES:
        raise ValueError(f"probe must be one of {sorted(PROBES)}; got {probe!r}.")
    fit_probe = PROBES[probe]
    s_tr, z_tr = encode_all(model, x_train)
    s_te, z_te = encode_all(model, x_test)
    return {
        "accuracy": classification_accuracy(model, x_test, y_test),
        "s_probe": fit_probe(s_tr, y_train, s_te, y_test, seed=seed),
        "z_probe": fit_probe(z_tr, y_train, z_te, y_test, seed=seed),
        "chance": chance_accuracy(y_test),
        "reconstruction_mse": reconstruction_mse(model, x_test),
    }


def swap_measurements(model: DisentanglingModel, judge: DisentanglingModel, x: np.ndarray,
                      y: np.ndarray, seed: int = 0) -> dict[str, float]:
    """What a swap does: which digit it shows, and how much the style code matters.

    Each image ``i`` keeps its content ``s_i`` and gets the style ``z_j`` of a
    random partner ``j`` with a different label.  Returns

    * ``follows_content`` / ``follows_style``: the fraction of swaps that
      ``judge`` (a classifier trained on real images) labels as the content
      image's class / the style image's class;
    * ``mse_own_z`` / ``mse_foreign_z``: per-pixel squared error between
      ``x_i`` and ``decode(s_i, z_i)`` / ``decode(s_i, z_j)``.  If the two are
      close, ``z`` hardly changes the image: the style sits in ``s``.

    A disentangled model has ``follows_content`` near the judge's accuracy,
    ``follows_style`` near zero and ``mse_foreign_z`` clearly above ``mse_own_z``.
    """
    x, y = np.asarray(x, np.float32), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length; got {len(x)} images and {len(y)} labels.")
    if len(np.unique(y)) < 2:
        raise ValueError("a swap needs partners with another label, but y holds a single class; "
                         "pass images of at least two classes.")
    rng = np.random.default_rng(seed)
    partner = rng.permutation(len(x))
    clash = y[partner] == y
    while clash.any():  # re-draw partners that share the label
        partner[clash] = rng.integers(0, len(x), clash.sum())
        clash = y[partner] == y
    s, z = encode_all(model, x)
    own, swapped = decode_all(model, s, z), decode_all(model, s, z[partner])
    pred = predict_proba(judge, swapped).argmax(axis=1)
    return {"follows_content": float(np.mean(pred == y)),
            "follows_style": float(np.mean(pred == y[partner])),
            "mse_own_z": float(np.mean((own - x) ** 2)),
            "mse_foreign_z": float(np.mean((swapped - x) ** 2))}


def scorecard(model: DisentanglingModel, x_train, y_train, x_test, y_test,
              judge: DisentanglingModel, seed: int = 0) -> dict[str, float]:
    """Every number the course uses to compare methods, for one model (test set).

    ``accuracy`` (from ``classify``; NaN for a model without a classifier),
    ``z_linear`` and ``z_mlp`` (fresh linear and MLP probes on frozen ``z``),
    ``reconstruction_mse``, the swap numbers of :func:`swap_measurements`
    (``follows_content``, ``follows_style``) and ``z_effect`` =
    ``mse_foreign_z / mse_own_z`` — how much the picture depends on ``z``
    (1.0: not at all).  ``judge`` is a classifier trained on real images.
    """
    _, z_tr = encode_all(model, x_train)
    _, z_te = encode_all(model, x_test)
    swaps = swap_measurements(model, judge, x_test, y_test, seed=seed)
    return {
        "accuracy": classification_accuracy(model, x_test, y_test),
        "z_linear": linear_probe(z_tr, y_train, z_te, y_test, seed=seed),
        "z_mlp": mlp_probe(z_tr, y_train, z_te, y_test, seed=seed),
        "reconstruction_mse": swaps["mse_own_z"],  # decode(encode(x)): already computed there
        "follows_content": swaps["follows_content"],
        "follows_style": swaps["follows_style"],
        "z_effect": swaps["mse_foreign_z"] / max(swaps["mse_own_z"], 1e-12),
    }
