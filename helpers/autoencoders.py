"""The warm-up chapter's models: a plain and a label-conditioned MLP autoencoder.

Both implement :class:`helpers.interface.DisentanglingModel`, so every plot,
metric and widget of the course works with them too.
"""

from __future__ import annotations

from collections.abc import Sequence

from keras import ops

from .blocks import image_decoder_mlp, image_encoder_mlp, mlp
from .interface import DisentanglingModel
from .losses import accuracy, bernoulli_nll, sparse_cross_entropy


class Autoencoder(DisentanglingModel):
    """A plain autoencoder ``x -> z -> x_hat``; it has no content code (``s`` is empty).

    Args:
        code_dim: size of the bottleneck ``z``.
        hidden: widths of the encoder's hidden layers (the decoder mirrors them).
    """

    def __init__(self, code_dim: int = 12, hidden: Sequence[int] = (500, 500),
                 image_shape: Sequence[int] = (28, 28, 1), num_classes: int = 10, **kwargs):
        super().__init__(num_classes=num_classes, content_dim=0, style_dim=code_dim,
                         image_shape=image_shape, loss_names=("loss",), **kwargs)
        self.body = image_encoder_mlp(hidden, name="encoder")
        self.to_z = mlp([], output_units=code_dim, name="z")
        self.decoder = image_decoder_mlp(tuple(reversed(hidden)), image_shape, name="decoder")

    def encode(self, x, training=False):
        z = self.to_z(self.body(x, training=training), training=training)
        s = ops.zeros((ops.shape(x)[0], 0), dtype=z.dtype)
        return s, z

    def decode(self, s, z, training=False):
        return self.decoder(ops.concatenate([s, z], axis=-1), training=training)

    def classify(self, x, training=False):
        raise NotImplementedError(
            "A plain autoencoder never sees labels, so it cannot classify. "
            "Use a probe on its code instead (helpers.metrics.linear_probe)."
        )

    def content_for_label(self, labels):
        raise NotImplementedError("A plain autoencoder has no content code.")

    def compute_losses(self, x, y, training=False):
        _, z = self.encode(x, training=training)
        return {"loss": bernoulli_nll(x, self.decode(_, z, training=training))}


class ConditionalAutoencoder(DisentanglingModel):
    """An autoencoder whose decoder is *told* the class: ``x_hat = g(onehot(y), z)``.

    The encoder has two heads: a softmax classifier ``p(y|x)`` and a linear
    style code ``z``.  During training the decoder gets the true label's
    one-hot code; at test time :meth:`encode` uses the classifier's guess.

    Loss: ``reconstruction + beta * cross_entropy``.
    """

    def __init__(self, style_dim: int = 2, hidden: Sequence[int] = (500, 500),
                 beta: float = 10.0, image_shape: Sequence[int] = (28, 28, 1),
                 num_classes: int = 10,
                 loss_names: Sequence[str] = ("loss", "rec", "ce", "acc"), **kwargs):
        super().__init__(num_classes=num_classes, content_dim=num_classes, style_dim=style_dim,
                         image_shape=image_shape, loss_names=loss_names, **kwargs)
        self.beta = float(beta)
        self.body = image_encoder_mlp(hidden, name="encoder")
        self.to_y = mlp([], output_units=num_classes, output_activation="softmax", name="y")
        self.to_z = mlp([], output_units=style_dim, name="z")
        self.decoder = image_decoder_mlp(tuple(reversed(hidden)), image_shape, name="decoder")

    def heads(self, x, training=False):
        """Return ``(p(y|x), z)``."""
        h = self.body(x, training=training)
        return self.to_y(h, training=training), self.to_z(h, training=training)

    def encode(self, x, training=False):
        probs, z = self.heads(x, training=training)
        return ops.one_hot(ops.argmax(probs, axis=-1), self.num_classes), z

    def decode(self, s, z, training=False):
        return self.decoder(ops.concatenate([s, z], axis=-1), training=training)

    def classify(self, x, training=False):
        return self.heads(x, training=training)[0]

    def content_for_label(self, labels):
        return ops.one_hot(ops.convert_to_tensor(labels), self.num_classes)

    def compute_losses(self, x, y, training=False):
        probs, z = self.heads(x, training=training)
        x_hat = self.decode(self.content_for_label(y), z, training=training)
        rec = bernoulli_nll(x, x_hat)
        ce = sparse_cross_entropy(y, probs)
        return {"loss": rec + self.beta * ce, "rec": rec, "ce": ce, "acc": accuracy(y, probs)}
