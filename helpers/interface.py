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

Training follows one pattern (see :mod:`helpers.training`): a subclass
implements :meth:`DisentanglingModel.compute_losses`, returning a dict of scalar
tensors with a ``"loss"`` entry; the shared :meth:`train_step` differentiates
``"loss"`` and logs every entry through a Keras metric tracker.  Models with
several optimisers (adversaries) override :meth:`train_step` themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import ops


class DisentanglingModel(keras.Model):
    """Base class: a Keras model with ``encode``/``decode``/``classify``.

    Args:
        num_classes: number of label classes.
        content_dim: size of the content code ``s``.
        style_dim: size of the style code ``z``.
        image_shape: shape of one image, e.g. ``(28, 28, 1)``.
        loss_names: the entries :meth:`compute_losses` returns (``"loss"``
            first); one ``keras.metrics.Mean`` tracker is made for each.
    """

    def __init__(
        self,
        num_classes: int,
        content_dim: int,
        style_dim: int,
        image_shape: Sequence[int] = (28, 28, 1),
        loss_names: Sequence[str] = ("loss",),
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.content_dim = int(content_dim)
        self.style_dim = int(style_dim)
        self.image_shape = tuple(int(d) for d in image_shape)
        if "loss" not in loss_names:
            raise ValueError(f"loss_names must include 'loss'; got {tuple(loss_names)}.")
        self.loss_names = tuple(loss_names)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_names}
        self.class_prototypes: np.ndarray | None = None

    # ------------------------------------------------------------ the interface
    def encode(self, x, training: bool = False):
        """Return ``(s, z)`` for a batch of images."""
        raise NotImplementedError

    def decode(self, s, z, training: bool = False):
        """Return images (values in [0, 1]) for content ``s`` and style ``z``."""
        raise NotImplementedError

    def classify(self, x, training: bool = False):
        """Return class probabilities ``p(y | x)``, shape ``(N, num_classes)``."""
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
                "`helpers.interface.fit_class_prototypes(model, x, y)` first to use "
                "the mean content code of each class."
            )
        return ops.convert_to_tensor(self.class_prototypes[np.asarray(labels, dtype=np.int64)])

    def call(self, x, training: bool = False):
        s, z = self.encode(x, training=training)
        return self.decode(s, z, training=training)

    # ----------------------------------------------------------------- training
    def compute_losses(self, x, y, training: bool = False) -> dict:
        """Return a dict of scalar tensors: ``"loss"`` (minimised) and any extras."""
        raise NotImplementedError

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _log(self, values: dict) -> dict:
        for name, tracker in self.trackers.items():
            if name in values:
                tracker.update_state(values[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

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


# ---------------------------------------------------------- numpy conveniences
def _batches(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield slice(start, min(n, start + batch_size))


def encode_all(model: DisentanglingModel, x: np.ndarray, batch_size: int = 1000):
    """``(s, z)`` as NumPy arrays for all images, computed in batches."""
    s_parts, z_parts = [], []
    for sl in _batches(len(x), batch_size):
        s, z = model.encode(ops.convert_to_tensor(x[sl]), training=False)
        s_parts.append(ops.convert_to_numpy(s))
        z_parts.append(ops.convert_to_numpy(z))
    return np.concatenate(s_parts), np.concatenate(z_parts)


def decode_all(model: DisentanglingModel, s: np.ndarray, z: np.ndarray,
               batch_size: int = 1000) -> np.ndarray:
    """Images for all ``(s, z)`` pairs as a NumPy array, computed in batches."""
    s, z = np.asarray(s, np.float32), np.asarray(z, np.float32)
    if len(s) != len(z):
        raise ValueError(f"s and z must have the same length; got {len(s)} and {len(z)}.")
    parts = [
        ops.convert_to_numpy(model.decode(ops.convert_to_tensor(s[sl]),
                                          ops.convert_to_tensor(z[sl]), training=False))
        for sl in _batches(len(s), batch_size)
    ]
    return np.concatenate(parts)


def predict_proba(model: DisentanglingModel, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Class probabilities for all images as a NumPy array."""
    return np.concatenate([
        ops.convert_to_numpy(model.classify(ops.convert_to_tensor(x[sl]), training=False))
        for sl in _batches(len(x), batch_size)
    ])


def reconstruct_all(model: DisentanglingModel, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Reconstructions ``decode(encode(x))`` for all images."""
    s, z = encode_all(model, x, batch_size)
    return decode_all(model, s, z, batch_size)


def content_codes(model: DisentanglingModel, labels) -> np.ndarray:
    """``content_for_label`` as a NumPy array."""
    return ops.convert_to_numpy(model.content_for_label(np.asarray(labels, dtype=np.int64)))


def fit_class_prototypes(model: DisentanglingModel, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Store (and return) the mean content code of each class on ``model``."""
    s, _ = encode_all(model, x)
    protos = np.stack([s[y == c].mean(axis=0) for c in range(model.num_classes)])
    model.class_prototypes = protos.astype(np.float32)
    return model.class_prototypes
