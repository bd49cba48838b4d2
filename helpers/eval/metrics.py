"""How much label information sits where: accuracies, probes, reconstruction error.

The central tool is a **probe**: a fresh classifier trained on a frozen code
(``s`` or ``z``) of the training images and tested on the test images.  If a
probe reads the label from the style code ``z`` far above chance, the label
has leaked into ``z`` — the model is not disentangled.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..core.interface import (
    Classifier,
    DisentanglingModel,
    decode_all,
    encode_all,
    predict_proba,
    reconstruct_all,
)


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


def classification_accuracy(model: Classifier, x: np.ndarray, y: np.ndarray) -> float:
    """Accuracy of ``model.classify`` (NaN for models that cannot classify)."""
    try:
        probs = predict_proba(model, x)
    except NotImplementedError:
        return float("nan")
    return float(np.mean(probs.argmax(axis=1) == np.asarray(y)))


def reconstruction_mse(model: DisentanglingModel, x: np.ndarray) -> float:
    """Mean squared error per pixel of ``decode(encode(x))``."""
    return float(np.mean((reconstruct_all(model, x) - x) ** 2))


# The course's one vocabulary for results: every chapter's tables use these names.
COLUMNS = {
    "accuracy": "test accuracy of the model's own classifier",
    "s_linear": "linear probe: label read from frozen s (test accuracy)",
    "s_mlp": "MLP probe: label read from frozen s",
    "z_linear": "linear probe: label read from frozen z (chance = no leak)",
    "z_mlp": "MLP probe: label read from frozen z (finds non-linear leaks too)",
    "reconstruction_mse": "mean squared error per pixel of decode(encode(x))",
    "follows_content": "swaps the judge labels as the content image's class",
    "follows_style": "swaps the judge labels as the style image's class",
    "z_effect": "error with a foreign z / error with the image's own z (1 = z does nothing)",
    "chance": "accuracy of always guessing the most frequent class",
}
#: what a table's header says for each measure (the notation page defines each once)
HEADERS = {
    "accuracy": "accuracy",
    "s_linear": "label in s (linear probe)",
    "s_mlp": "label in s (MLP probe)",
    "z_linear": "label in z (linear probe)",
    "z_mlp": "label in z (MLP probe)",
    "reconstruction_mse": "reconstruction error",
    "follows_content": "swaps follow content",
    "follows_style": "swaps follow style",
    "z_effect": "effect of z",
    "chance": "chance",
    "seeds": "seeds",
    "min / seed": "minutes per seed",
}
PERCENT_COLUMNS = ("accuracy", "s_linear", "s_mlp", "z_linear", "z_mlp", "follows_content",
                   "follows_style", "chance")


def latent_variances(model: DisentanglingModel, x: np.ndarray, y: np.ndarray,
                     seed: int = 0) -> dict[str, np.ndarray]:
    """Variance of every latent unit over same-class inputs and over random inputs.

    ``same[k]`` is the variance of unit ``k`` (content units first, then
    style) within each class, averaged over classes; ``random[k]`` the
    variance over random groups of the same size, averaged the same way.
    Both are divided by the largest ``random`` variance, so they share one
    scale (the "normalised variance" of Banijamali et al.'s Figure 2).
    """
    s, z = encode_all(model, x)
    codes = np.concatenate([s, z], axis=1)
    rng = np.random.default_rng(seed)
    classes = np.unique(y)
    same = np.mean([codes[y == c].var(axis=0) for c in classes], axis=0)
    size = int(np.mean([np.sum(y == c) for c in classes]))
    rand = np.mean([codes[rng.choice(len(codes), size, replace=False)].var(axis=0)
                    for _ in classes], axis=0)
    scale = max(float(rand.max()), 1e-12)
    return {"same": same / scale, "random": rand / scale, "content_dim": np.array(s.shape[1])}


def variance_ratio(var: dict[str, np.ndarray], units: str = "content") -> float:
    """Same-class over random variance of the ``"content"`` or ``"style"`` units of
    :func:`latent_variances`'s output, each averaged over those units: near 0 the
    class fixes them, near 1 it does not matter to them."""
    if units not in ("content", "style"):
        raise ValueError(f'units must be "content" or "style"; got {units!r}.')
    c = int(var["content_dim"])
    part = slice(None, c) if units == "content" else slice(c, None)
    return float(var["same"][part].mean() / max(var["random"][part].mean(), 1e-12))


def most_label_informative_unit(model: DisentanglingModel, x: np.ndarray, y: np.ndarray) -> int:
    """The style unit whose class means differ most (largest between/within variance ratio).

    Sweeping this unit is the quickest way to see whether ``z`` stores the class.
    """
    _, z = encode_all(model, x)
    y = np.asarray(y)
    means = np.stack([z[y == c].mean(axis=0) for c in np.unique(y)])
    within = np.mean([z[y == c].var(axis=0) for c in np.unique(y)], axis=0)
    return int(np.argmax(means.var(axis=0) / (within + 1e-8)))


def swap_partners(y: np.ndarray, seed: int = 0) -> np.ndarray:
    """For every image, the index of a random partner with a different label."""
    rng = np.random.default_rng(seed)
    partner = rng.permutation(len(y))
    clash = y[partner] == y
    while clash.any():  # re-draw partners that share the label
        partner[clash] = rng.integers(0, len(y), clash.sum())
        clash = y[partner] == y
    return partner


def swap_measurements(model: DisentanglingModel, x: np.ndarray, y: np.ndarray,
                      judge: Classifier | None = None, seed: int = 0) -> dict[str, float]:
    """What a swap does: which digit it shows, and how much the style code matters.

    Each image ``i`` keeps its content ``s_i`` and gets the style ``z_j`` of a
    random partner ``j`` with a different label.  Returns

    * ``follows_content`` / ``follows_style`` (only with a ``judge``, a
      classifier trained on real images): the fraction of swaps that it
      labels as the content image's class / the style image's class;
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
    partner = swap_partners(y, seed)
    s, z = encode_all(model, x)
    own, swapped = decode_all(model, s, z), decode_all(model, s, z[partner])
    out = {"mse_own_z": float(np.mean((own - x) ** 2)),
           "mse_foreign_z": float(np.mean((swapped - x) ** 2))}
    if judge is not None:
        pred = predict_proba(judge, swapped).argmax(axis=1)
        out.update(follows_content=float(np.mean(pred == y)),
                   follows_style=float(np.mean(pred == y[partner])))
    return out


def scorecard(model: DisentanglingModel, x_train, y_train, x_test, y_test,
              judge: Classifier | None = None, probes: Sequence[str] = ("linear", "mlp"),
              content_probes: bool = False, seed: int = 0) -> dict[str, float]:
    """Every number the course uses to compare methods, for one model (test set).

    The names are those of :data:`COLUMNS`: ``accuracy`` (from ``classify``;
    NaN for a model without a classifier), ``z_linear`` / ``z_mlp`` (fresh
    probes on frozen ``z``, for each of ``probes``), ``s_linear`` / ``s_mlp``
    with ``content_probes=True``, ``reconstruction_mse``, ``z_effect`` =
    ``mse_foreign_z / mse_own_z`` (how much the picture depends on ``z``;
    1.0: not at all), ``chance``, and — given a ``judge``, a classifier
    trained on real images — ``follows_content`` and ``follows_style``.
    Probes train on the codes of ``x_train`` and are tested on ``x_test``.
    """
    unknown = set(probes) - set(PROBES)
    if unknown:
        raise ValueError(f"probes must be among {sorted(PROBES)}; got {sorted(unknown)}.")
    s_tr, z_tr = encode_all(model, x_train)
    s_te, z_te = encode_all(model, x_test)
    card = {"accuracy": classification_accuracy(model, x_test, y_test)}
    for name in probes:
        if content_probes:
            card[f"s_{name}"] = PROBES[name](s_tr, y_train, s_te, y_test, seed=seed)
        card[f"z_{name}"] = PROBES[name](z_tr, y_train, z_te, y_test, seed=seed)
    swaps = swap_measurements(model, x_test, y_test, judge=judge, seed=seed)
    card["reconstruction_mse"] = swaps["mse_own_z"]  # decode(encode(x)): computed there
    card.update({k: swaps[k] for k in ("follows_content", "follows_style") if k in swaps})
    card["z_effect"] = swaps["mse_foreign_z"] / max(swaps["mse_own_z"], 1e-12)
    card["chance"] = chance_accuracy(y_test)
    return card
