"""The common model interface every disentangling model in the course implements.

A *disentangling model* splits an image ``x`` into

* **content** ``s`` — what the label explains (a class code), and
* **style** ``z`` — everything else (slant, stroke width, colour...),

and can put any ``(s, z)`` pair back together.  Writing metrics, plots and
widgets against this small interface means they work unchanged for every
chapter:

=============================  ================================================
``encode(x) -> (s, z)``        content and style codes of a batch of images
``decode(s, z) -> x_hat``      an image from any content/style pair
``classify(x) -> p(y|x)``      class probabilities, shape ``(N, num_classes)``
``content_for_label(y) -> s``  the content code that stands for class ``y``
=============================  ================================================

Three classes, each adding to the one before:

* :class:`TrainableModel` — trained by ``fit`` through one pattern: a subclass
  implements ``compute_losses(x, y)``, returning a dict of scalar tensors with
  a ``"loss"`` entry; the shared ``train_step`` differentiates ``"loss"`` and
  logs *every* entry (the names come from what the method returns).  Models
  with several optimisers (adversaries) override ``train_step`` themselves.
* :class:`Classifier` — adds ``classify``; a classifier-only model stops here.
* :class:`DisentanglingModel` — adds ``encode``/``decode``/``content_for_label``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from ..data.datasets import check_images, check_labels
from .profile import check_count


class TrainableModel(keras.Model):
    """A Keras model trained by minimising ``compute_losses(x, y)["loss"]``.

    Subclasses write :meth:`compute_losses`, returning a dict of scalar tensors
    with a ``"loss"`` entry (what is minimised) and anything else worth
    watching.  Every entry it returns is logged, averaged over each epoch: the
    logged names are read from one call on a small batch
    (:meth:`prepare_logging`, which :func:`helpers.core.training.train` makes
    before ``fit``), so they can never drift from what the method returns.
    """

    @property
    def train_image_shape(self) -> tuple | None:
        """The shape of one image that ``train`` feeds this model (``None``: unchecked).

        ``image_shape`` by default; a model trained on another domain than the one
        its interface serves (JADE trains on the abundant one) overrides this.
        """
        return getattr(self, "image_shape", None)

    def compute_losses(self, x, y, training: bool = False) -> dict:
        """Return a dict of scalar tensors: ``"loss"`` (minimised) and any extras."""
        raise NotImplementedError(
            f"{type(self).__name__} must define compute_losses(x, y, training) returning a "
            "dict with a 'loss' entry."
        )

    # ------------------------------------------------------------------ logging
    @property
    def loss_names(self) -> tuple[str, ...]:
        """The names :meth:`compute_losses` returns (empty before :meth:`prepare_logging`)."""
        return tuple(getattr(self, "_trackers", {}))

    def prepare_logging(self, x, y) -> tuple[str, ...]:
        """Build the model on a small batch and make one epoch-mean tracker per loss entry.

        Runs :meth:`compute_losses` once (``training=False``) and puts back the
        state of every random-number generator it touched, so preparing leaves
        the training run exactly as it would have been.
        """
        if getattr(self, "_trackers", None):
            return self.loss_names
        saved = [(v, ops.convert_to_numpy(v)) for v in self.variables]
        values = self.compute_losses(ops.convert_to_tensor(x), ops.convert_to_tensor(y))
        for variable, value in saved:
            variable.assign(value)
        if not isinstance(values, dict) or "loss" not in values:
            got = sorted(values) if isinstance(values, dict) else type(values).__name__
            raise ValueError(f"{type(self).__name__}.compute_losses must return a dict with a "
                             f"'loss' entry; got {got}.")
        self._trackers = {name: keras.metrics.Mean(name=name) for name in values}
        return self.loss_names

    @property
    def metrics(self):
        return list(getattr(self, "_trackers", {}).values())

    def _log(self, values: dict) -> dict:
        trackers = getattr(self, "_trackers", None)
        if not trackers:
            raise RuntimeError(
                f"{type(self).__name__} has no loss trackers yet. Train it with "
                "`helpers.core.training.train(model, x, y, ...)`, or call "
                "`model.prepare_logging(x[:2], y[:2])` before `model.fit`."
            )
        for name, tracker in trackers.items():
            tracker.update_state(values[name])
        return {name: tracker.result() for name, tracker in trackers.items()}

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            values = self.compute_losses(x, y, training=True)
        grads = tape.gradient(values["loss"], self.trainable_weights)
        self.optimizer.apply_gradients(
            (g, w) for g, w in zip(grads, self.trainable_weights, strict=True) if g is not None
        )
        return self._log(values)

    def test_step(self, data):
        x, y = data
        return self._log(self.compute_losses(x, y, training=False))


class Classifier(TrainableModel):
    """A model that predicts the label: ``classify(x) -> p(y|x)``.

    Args:
        num_classes: number of label classes.
        image_shape: shape of one image, e.g. ``(28, 28, 1)``.
    """

    def __init__(self, num_classes: int, image_shape: Sequence[int] = (28, 28, 1),
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.image_shape = tuple(int(d) for d in image_shape)

    def classify(self, x, training: bool = False):
        """Return class probabilities ``p(y | x)``, shape ``(N, num_classes)``."""
        raise NotImplementedError

    def call(self, x, training: bool = False):
        return self.classify(x, training=training)


class DisentanglingModel(Classifier):
    """A model that splits an image into content ``s`` and style ``z`` and back.

    Args:
        num_classes: number of label classes.
        content_dim: size of the content code ``s``.
        style_dim: size of the style code ``z``.
        image_shape: shape of one image, e.g. ``(28, 28, 1)``.
    """

    def __init__(
        self,
        num_classes: int,
        content_dim: int,
        style_dim: int,
        image_shape: Sequence[int] = (28, 28, 1),
        **kwargs,
    ) -> None:
        super().__init__(num_classes=num_classes, image_shape=image_shape, **kwargs)
        self.content_dim = int(content_dim)
        self.style_dim = int(style_dim)
        self.class_prototypes: np.ndarray | None = None

    # ------------------------------------------------------------ the interface
    def encode(self, x, training: bool = False):
        """Return ``(s, z)`` for a batch of images."""
        raise NotImplementedError

    def decode(self, s, z, training: bool = False):
        """Return images (values in [0, 1]) for content ``s`` and style ``z``."""
        raise NotImplementedError

    def content_for_label(self, labels):
        """Content codes ``s`` that stand for the integer ``labels``.

        Models whose content *is* a class code (one-hot, softmax) override
        this.  The default uses class prototypes — the mean ``s`` of each
        class — computed by :func:`fit_class_prototypes`.
        """
        if self.class_prototypes is None:
            raise RuntimeError(
                f"{type(self).__name__} has no fixed code per class. Call "
                "`helpers.core.interface.fit_class_prototypes(model, x, y)` first to use "
                "the mean content code of each class."
            )
        return ops.convert_to_tensor(self.class_prototypes[np.asarray(labels, dtype=np.int64)])

    def call(self, x, training: bool = False):
        s, z = self.encode(x, training=training)
        return self.decode(s, z, training=training)


# ---------------------------------------------------------- checks at the entry points
def check_model(model, needs: Sequence[str], fn: str, kind: str = "a disentangling model") -> None:
    """Raise a clear ``TypeError`` unless ``model`` is a model object with the methods ``needs``.

    ``fn`` is the function the learner called (named in the fix); ``kind`` says
    which model it takes (``"a disentangling model"``, ``"a classifier"``).
    """
    if isinstance(model, type):
        raise TypeError(f"{fn} needs {kind} object; got the class {model.__name__} itself. "
                        f"Create one first, e.g. `model = {model.__name__}(...)`, and pass `model`.")
    missing = [name for name in needs if not callable(getattr(model, name, None))]
    if missing:
        raise TypeError(f"{fn} needs {kind} (one with {', '.join(needs)}) as its first argument; "
                        f"got {_short(model)} of type {type(model).__name__}, which has no "
                        f"{missing[0]}. Pass the model first: `{fn}(model, ...)`.")


def _short(value, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters, for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


_NUMBERS = object()  # marks "every value was a number"


def check_label_input(labels, name: str = "y", example: str = "data.y_train") -> np.ndarray:
    """Refuse what is not numbers before the label checks do arithmetic on it.

    ``None``, text (``"3"``, ``np.array(["3"])``), booleans, complex numbers and
    mixed objects raise a ``TypeError`` that names ``name``, says what came and
    how to fix it (with ``example``, what to pass instead); anything numeric is
    returned as an array for :func:`helpers.data.datasets.check_labels` to check
    further (shape, whole numbers, range).
    """
    expected = f"{name} must be integer class labels"
    if labels is None:
        raise TypeError(f"{expected}; got None. Pass them, e.g. `{example}`.")
    if isinstance(labels, (str, bytes)):
        fix = (f"Write the number without quotes: `{int(labels)}`." if labels.strip().isdigit()
               else f"Pass numbers, e.g. `{example}`.")
        raise TypeError(f"{expected}; got the text {labels!r}. {fix}")
    try:
        arr = np.asarray(labels)
    except ValueError as error:  # ragged nested lists
        raise TypeError(f"{expected}; got {_short(labels)}, which is no array ({error}). "
                        f"Pass one integer per item, e.g. `{example}`.") from None
    if arr.dtype.kind in "US":
        sample = arr.ravel()[:1].tolist()
        sample = f", e.g. {sample[0]!r}" if sample else ""
        raise TypeError(f"{expected}; got text (dtype {arr.dtype}{sample}). Convert it to "
                        f"numbers first: `np.asarray({name}).astype(int)`.")
    if arr.dtype.kind == "O":
        odd = next((v for v in arr.ravel() if isinstance(v, (bool, np.bool_))
                    or not isinstance(v, (int, float, np.integer, np.floating))), _NUMBERS)
        if odd is _NUMBERS:  # numbers held as Python objects: let NumPy find their type
            return check_label_input(np.asarray(arr.tolist()), name, example)
        raise TypeError(f"{expected}; got a mix of values (dtype object) including {odd!r}. "
                        f"Pass numbers only, e.g. `{example}`.")
    if arr.dtype.kind == "b":
        came = (f"{arr.item()!r}, a bool, which is not a class label" if arr.ndim == 0
                else "True/False (dtype bool), which are not class labels")
        raise TypeError(f"{expected}; got {came}. "
                        f"Pass class numbers, e.g. `{example}` (or `np.asarray({name}, "
                        "dtype=int)` if 0/1 is meant).")
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{expected}; got an array of dtype {arr.dtype}. Pass integer labels, "
                        f"e.g. `{example}`.")
    return arr


def check_images_given(x, name: str = "x", example: str = "data.x_test") -> None:
    """Raise a clear ``TypeError`` when ``x`` is ``None`` instead of images."""
    if x is None:
        raise TypeError(f"{name} must be images, an array (N, H, W, C); got None. Pass them, "
                        f"e.g. `{example}`.")


def _check_batch_size(batch_size, fn: str) -> int:
    """``batch_size`` of the NumPy conveniences: a whole number >= 1."""
    return check_count(batch_size, "batch_size", what=f"images per batch of {fn}", example=1000)


# ---------------------------------------------------------- numpy conveniences
def _batches(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield slice(start, min(n, start + batch_size))


def _images_for(model: Classifier, x, name: str = "x") -> np.ndarray:
    """``x`` checked against what ``model`` takes: float images in [0, 1] of its shape."""
    check_images_given(x, name)
    return check_images(x, name, shape=getattr(model, "image_shape", None))


def _codes(values, width: int, name: str) -> np.ndarray:
    """A 2-D float32 array of codes ``(N, width)``, finite, or a clear error."""
    where = "s, z = encode_all(model, x)"
    if values is None:
        raise TypeError(f"{name} must be codes of shape (N, {width}) for this model; got None. "
                        f"Take them from the model, e.g. `{where}`.")
    arr = np.asarray(values)
    if arr.ndim == 1 and arr.shape[0] == width:
        raise ValueError(f"{name} must have shape (N, {width}) for this model; got {arr.shape}, "
                         f"a single code. Add the batch axis: `{name}[None]`.")
    if arr.ndim != 2 or arr.shape[1] != width:
        raise ValueError(f"{name} must have shape (N, {width}) for this model; got {arr.shape}. "
                         f"Take codes from this model, e.g. `{where}`.")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real numbers; got dtype {arr.dtype}.")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return arr


def encode_all(model: DisentanglingModel, x: np.ndarray, batch_size: int = 1000):
    """``(s, z)`` as NumPy arrays for all images, computed in batches."""
    check_model(model, ("encode",), "encode_all")
    batch_size = _check_batch_size(batch_size, "encode_all")
    x = _images_for(model, x)
    s_parts, z_parts = [], []
    for sl in _batches(len(x), batch_size):
        s, z = model.encode(ops.convert_to_tensor(x[sl]), training=False)
        s_parts.append(ops.convert_to_numpy(s))
        z_parts.append(ops.convert_to_numpy(z))
    return np.concatenate(s_parts), np.concatenate(z_parts)


def decode_all(model: DisentanglingModel, s: np.ndarray, z: np.ndarray,
               batch_size: int = 1000) -> np.ndarray:
    """Images for all ``(s, z)`` pairs as a NumPy array, computed in batches."""
    check_model(model, ("decode",), "decode_all")
    batch_size = _check_batch_size(batch_size, "decode_all")
    s = _codes(s, model.content_dim, "s")
    z = _codes(z, model.style_dim, "z")
    if len(s) != len(z):
        raise ValueError(f"s and z must have the same length; got {len(s)} and {len(z)}. "
                         "Pass one style code per content code (e.g. `np.repeat(z, len(s), 0)` "
                         "for one style with every content).")
    parts = [
        ops.convert_to_numpy(model.decode(ops.convert_to_tensor(s[sl]),
                                          ops.convert_to_tensor(z[sl]), training=False))
        for sl in _batches(len(s), batch_size)
    ]
    return np.concatenate(parts)


def predict_proba(model: Classifier, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Class probabilities for all images as a NumPy array."""
    check_model(model, ("classify",), "predict_proba", kind="a classifier")
    batch_size = _check_batch_size(batch_size, "predict_proba")
    x = _images_for(model, x)
    return np.concatenate([
        ops.convert_to_numpy(model.classify(ops.convert_to_tensor(x[sl]), training=False))
        for sl in _batches(len(x), batch_size)
    ])


def reconstruct_all(model: DisentanglingModel, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Reconstructions ``decode(encode(x))`` for all images."""
    check_model(model, ("encode", "decode"), "reconstruct_all")
    batch_size = _check_batch_size(batch_size, "reconstruct_all")
    s, z = encode_all(model, x, batch_size)  # checks x
    return decode_all(model, s, z, batch_size)


def content_codes(model: DisentanglingModel, labels) -> np.ndarray:
    """``content_for_label`` as a NumPy array (labels checked against ``num_classes``)."""
    check_model(model, ("content_for_label",), "content_codes")
    labels = check_label_input(labels, "labels", example="[0, 1, 2]")
    labels = check_labels(np.atleast_1d(labels), model.num_classes, "labels")
    return ops.convert_to_numpy(model.content_for_label(labels))


def fit_class_prototypes(model: DisentanglingModel, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Store (and return) the mean content code of each class on ``model``.

    Every class must have at least one image in ``x``: a class without one
    would get no prototype.
    """
    check_model(model, ("encode",), "fit_class_prototypes")
    x = _images_for(model, x)
    y = check_labels(check_label_input(y, "y"), model.num_classes, "y", n=len(x))
    absent = sorted(set(range(model.num_classes)) - set(np.unique(y).tolist()))
    if absent:
        raise ValueError(f"fit_class_prototypes needs images of every class; y has none of "
                         f"class(es) {absent}. Pass a set with all {model.num_classes} classes.")
    s, _ = encode_all(model, x)
    protos = np.stack([s[y == c].mean(axis=0) for c in range(model.num_classes)])
    model.class_prototypes = protos.astype(np.float32)
    return model.class_prototypes
