"""XCov — the cross-covariance penalty of Cheung et al. (2014).

An autoencoder whose encoder has two heads, *observed* units ``y`` (a softmax
over the classes, trained with cross-entropy) and *latent* units ``z`` (linear),
and whose decoder draws the image from ``[y, z]``.  To keep the label out of
``z``, the loss adds the squared cross-covariance between ``y`` and ``z`` over
the mini-batch:

.. math::

    \\mathrm{XCov}(y, z) = \\tfrac12 \\sum_{i,j} \\Big[\\tfrac1N \\sum_n
        (y_i^n - \\bar y_i)(z_j^n - \\bar z_j)\\Big]^2 .
"""

from __future__ import annotations

from collections.abc import Sequence

from keras import ops

from .autoencoders import ConditionalAutoencoder
from .losses import accuracy, bernoulli_nll, sparse_cross_entropy

RECONSTRUCTIONS = ("sse", "bce")


def xcov_penalty(y, z):
    """Half the sum of squared cross-covariances between the columns of ``y`` and ``z``.

    Args:
        y: ``(N, K)`` observed units (e.g. softmax class probabilities).
        z: ``(N, D)`` latent units, for the same ``N`` images.

    Returns:
        A scalar: ``0.5 * sum_ij C_ij**2`` with ``C = (y - ȳ)ᵀ (z - z̄) / N``.

    Raises:
        ValueError: if either input is not 2-D or the batch sizes differ.
    """
    y, z = ops.convert_to_tensor(y), ops.convert_to_tensor(z)
    if len(y.shape) != 2 or len(z.shape) != 2:
        raise ValueError(
            f"xcov_penalty needs 2-D inputs (batch, units); got shapes {tuple(y.shape)} and "
            f"{tuple(z.shape)}. Flatten extra axes first."
        )
    if y.shape[0] is not None and z.shape[0] is not None and y.shape[0] != z.shape[0]:
        raise ValueError(
            f"y and z must come from the same batch; got {y.shape[0]} and {z.shape[0]} rows."
        )
    z = ops.cast(z, y.dtype)
    n = ops.cast(ops.shape(y)[0], y.dtype)
    yc = y - ops.mean(y, axis=0, keepdims=True)
    zc = z - ops.mean(z, axis=0, keepdims=True)
    cov = ops.matmul(ops.transpose(yc), zc) / n
    return 0.5 * ops.sum(ops.square(cov))


def half_sum_squared_error(x, x_hat):
    """``0.5 * sum_pixels (x - x_hat)**2`` per image, averaged over the batch (the paper's squared error)."""
    per_image = ops.sum(ops.reshape(ops.square(x - x_hat), (ops.shape(x)[0], -1)), axis=1)
    return 0.5 * ops.mean(per_image)


class XCovAutoencoder(ConditionalAutoencoder):
    """Cheung et al.'s autoencoder: softmax ``y`` + linear ``z`` -> decoder, with the XCov penalty.

    Unlike the warm-up's conditional autoencoder, the decoder always draws from
    the encoder's own *softmax* ``y`` (never the true label), so the label reaches
    the decoder only through ``y`` — and ``gamma`` keeps it out of ``z``.

    Loss: ``alpha * reconstruction + beta * cross_entropy + gamma * XCov(y, z)``,
    each term averaged over the batch.  The reconstruction is, per image and
    summed over pixels, half the squared error (``"sse"``, the paper's choice and
    the default) or the binary cross-entropy (``"bce"``).  With ``"bce"`` the
    reconstruction term is ~10x larger, so ``beta = 10`` then under-weights the
    classifier; the public reimplementations' ``alpha=1, beta=10, gamma=10``
    assume squared error.

    Args:
        style_dim: number of latent units ``z`` (2 in the paper's MNIST figures).
        hidden: encoder widths (the decoder mirrors them); the paper uses (500, 500).
        alpha, beta, gamma: weights of the three terms.
        reconstruction: ``"sse"`` (default) or ``"bce"``, see above.
    """

    def __init__(self, style_dim: int = 2, hidden: Sequence[int] = (500, 500),
                 alpha: float = 1.0, beta: float = 10.0, gamma: float = 10.0,
                 reconstruction: str = "sse", **kwargs):
        if reconstruction not in RECONSTRUCTIONS:
            raise ValueError(f"reconstruction must be one of {RECONSTRUCTIONS}; got {reconstruction!r}.")
        super().__init__(style_dim=style_dim, hidden=hidden, beta=beta,
                         loss_names=("loss", "rec", "ce", "xcov", "acc"), **kwargs)
        self.alpha, self.gamma = float(alpha), float(gamma)
        self.reconstruction = reconstruction

    def encode(self, x, training=False):
        """Content ``s`` is the softmax ``y`` itself; style is ``z``."""
        return self.heads(x, training=training)

    def compute_losses(self, x, y, training=False):
        probs, z = self.heads(x, training=training)
        x_hat = self.decode(probs, z, training=training)
        rec = (half_sum_squared_error if self.reconstruction == "sse" else bernoulli_nll)(x, x_hat)
        ce = sparse_cross_entropy(y, probs)
        xcov = xcov_penalty(probs, z)
        loss = self.alpha * rec + self.beta * ce + self.gamma * xcov
        return {"loss": loss, "rec": rec, "ce": ce, "xcov": xcov, "acc": accuracy(y, probs)}
