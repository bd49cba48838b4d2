"""Loss terms shared by the chapters (all written with ``keras.ops``)."""

from __future__ import annotations

from keras import ops

_EPS = 1e-7


def bernoulli_nll(x, x_hat):
    """Per-image binary cross-entropy summed over pixels, averaged over the batch.

    The natural reconstruction loss for images in [0, 1] ("Bernoulli decoder").
    """
    x_hat = ops.clip(x_hat, _EPS, 1.0 - _EPS)
    per_pixel = -(x * ops.log(x_hat) + (1.0 - x) * ops.log(1.0 - x_hat))
    return ops.mean(ops.sum(ops.reshape(per_pixel, (ops.shape(x)[0], -1)), axis=1))


def mean_squared_error(x, x_hat):
    """Mean squared error per pixel (the number reported in results tables)."""
    return ops.mean(ops.square(x - x_hat))


def sparse_cross_entropy(y, probs):
    """Mean cross-entropy of integer labels ``y`` under class probabilities ``probs``."""
    picked = ops.take_along_axis(probs, ops.expand_dims(ops.cast(y, "int32"), -1), axis=1)
    return -ops.mean(ops.log(ops.clip(picked, _EPS, 1.0)))


def accuracy(y, probs):
    """Fraction of rows whose arg-max matches the integer label."""
    hits = ops.equal(ops.cast(ops.argmax(probs, axis=-1), "int32"), ops.cast(y, "int32"))
    return ops.mean(ops.cast(hits, "float32"))


def kl_to_standard_normal(mean, log_var):
    """KL( N(mean, exp(log_var)) || N(0, I) ), summed over units, averaged over the batch."""
    kl = 0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1)
    return ops.mean(kl)


def half_sum_squared_error(x, x_hat):
    """``0.5 * sum_pixels (x - x_hat)**2`` per image, averaged over the batch.

    The squared error of Cheung et al.; its scale (~10 per MNIST image) is
    what their loss weights assume.
    """
    per_image = ops.sum(ops.reshape(ops.square(x - x_hat), (ops.shape(x)[0], -1)), axis=1)
    return 0.5 * ops.mean(per_image)


def gaussian_kl(mean_p, log_var_p, mean_q, log_var_q):
    """``KL(N(mean_p, var_p) || N(mean_q, var_q))`` of diagonal Gaussians, summed over the last axis.

    With ``mean_q = 0`` and ``log_var_q = 0`` it is :func:`kl_to_standard_normal`
    before the batch mean.
    """
    return 0.5 * ops.sum(
        log_var_q - log_var_p
        + (ops.exp(log_var_p) + ops.square(mean_p - mean_q)) / ops.exp(log_var_q) - 1.0,
        axis=-1,
    )
