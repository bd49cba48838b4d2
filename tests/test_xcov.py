"""The XCov penalty and autoencoder of chapters/01_xcov.ipynb (via helpers.papers.xcov)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from helpers.core.interface import DisentanglingModel, content_codes, encode_all
from helpers.core.losses import bernoulli_nll, half_sum_squared_error
from helpers.core.training import train
from helpers.papers.xcov import RECONSTRUCTIONS, XCovAutoencoder, xcov_penalty


def _numpy_xcov(y, z):
    yc, zc = y - y.mean(0), z - z.mean(0)
    cov = yc.T @ zc / len(y)
    return 0.5 * np.sum(cov**2)


def test_matches_direct_numpy_computation():
    rng = np.random.default_rng(0)
    y, z = rng.random((64, 10)), rng.normal(size=(64, 3))
    got = float(ops.convert_to_numpy(xcov_penalty(y.astype("float32"), z.astype("float32"))))
    assert got == pytest.approx(_numpy_xcov(y, z), rel=1e-4)


def test_zero_for_independent_and_grows_with_correlation():
    rng = np.random.default_rng(1)
    y = rng.normal(size=(20000, 1)).astype("float32")
    noise = rng.normal(size=(20000, 1)).astype("float32")
    values = [float(xcov_penalty(y, (rho * y + np.sqrt(1 - rho**2) * noise)))
              for rho in (0.0, 0.3, 0.6, 0.9)]
    assert values[0] < 1e-3
    assert values == sorted(values) and values[-1] > 0.3
    # a constant z (no variation) has no covariance with anything
    assert float(xcov_penalty(y, np.ones_like(y))) == pytest.approx(0.0, abs=1e-9)


def test_known_value():
    y = np.array([[1.0], [0.0]], "float32")
    z = np.array([[2.0], [0.0]], "float32")
    # covariance = ((0.5)(1) + (-0.5)(-1)) / 2 = 0.5 ; penalty = 0.5 * 0.25
    assert float(xcov_penalty(y, z)) == pytest.approx(0.125)


def test_gradient_is_finite_and_nonzero():
    rng = np.random.default_rng(2)
    y = tf.Variable(rng.random((32, 10)).astype("float32"))
    z = tf.Variable(rng.normal(size=(32, 2)).astype("float32"))
    with tf.GradientTape() as tape:
        value = xcov_penalty(y, z)
    gy, gz = tape.gradient(value, [y, z])
    assert np.isfinite(gy.numpy()).all() and np.isfinite(gz.numpy()).all()
    assert np.abs(gz.numpy()).sum() > 0


def test_errors_on_bad_shapes():
    with pytest.raises(ValueError, match="same batch"):
        xcov_penalty(np.zeros((8, 10), "float32"), np.zeros((7, 2), "float32"))
    with pytest.raises(ValueError, match="2-D"):
        xcov_penalty(np.zeros((8, 10, 1), "float32"), np.zeros((8, 2), "float32"))


def test_model_interface_and_training(tiny_images):
    x, y = tiny_images
    model = XCovAutoencoder(style_dim=2, hidden=(32,))
    s, z = encode_all(model, x)
    assert s.shape == (60, 10) and z.shape == (60, 2)
    np.testing.assert_allclose(s.sum(1), 1.0, rtol=1e-5)  # softmax content
    np.testing.assert_array_equal(content_codes(model, [2]), np.eye(10)[[2]])
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    log = train(model, x, y, epochs=2, batch_size=20)
    assert {"loss", "rec", "ce", "xcov", "acc"} <= set(log.history)
    assert model.loss_names == ("loss", "rec", "ce", "xcov", "acc")
    assert all(np.isfinite(v).all() for v in log.history.values())


def test_gamma_reduces_cross_covariance(tiny_images):
    """With a large gamma, training drives the batch cross-covariance down."""
    x, y = tiny_images
    results = {}
    for gamma in (0.0, 100.0):
        keras.utils.set_random_seed(0)
        model = XCovAutoencoder(style_dim=2, hidden=(64,), gamma=gamma)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        train(model, x, y, epochs=15, batch_size=60, seed=0)
        s, z = encode_all(model, x)
        results[gamma] = _numpy_xcov(s, z)
    assert results[100.0] < results[0.0]


def test_half_sum_squared_error_and_reconstruction_choice():
    x = np.zeros((2, 2, 2, 1), "float32")
    x_hat = np.full((2, 2, 2, 1), 0.5, "float32")
    assert float(half_sum_squared_error(x, x_hat)) == pytest.approx(0.5 * 4 * 0.25)
    with pytest.raises(ValueError, match="reconstruction"):
        XCovAutoencoder(reconstruction="l1")


@pytest.mark.parametrize("alpha, beta, gamma", [(2.0, 3.0, 5.0), (0.0, 0.0, 5.0)])
def test_loss_is_the_weighted_sum_of_its_terms(tiny_images, alpha, beta, gamma):
    x, y = tiny_images
    keras.utils.set_random_seed(0)
    model = XCovAutoencoder(style_dim=3, hidden=(16,), alpha=alpha, beta=beta, gamma=gamma)
    assert isinstance(model, DisentanglingModel)
    values = {k: float(v) for k, v in model.compute_losses(x[:20], y[:20]).items()}
    assert list(values) == ["loss", "rec", "ce", "xcov", "acc"]
    assert values["xcov"] > 0
    assert values["loss"] == pytest.approx(
        alpha * values["rec"] + beta * values["ce"] + gamma * values["xcov"], rel=1e-5)
    probs, z = model.heads(x[:20])
    assert values["xcov"] == pytest.approx(_numpy_xcov(probs.numpy(), z.numpy()), rel=1e-3)
    np.testing.assert_allclose(model.classify(x[:20]).numpy(), probs.numpy(), rtol=1e-6)
    # the decoder reads the encoder's own softmax y (not the true label)
    x_hat = model.decode(probs, z)
    assert values["rec"] == pytest.approx(float(half_sum_squared_error(x[:20], x_hat)),
                                          rel=1e-5)


def test_bce_reconstruction_option(tiny_images):
    x, y = tiny_images
    assert RECONSTRUCTIONS == ("sse", "bce")
    keras.utils.set_random_seed(0)
    model = XCovAutoencoder(style_dim=2, hidden=(16,), reconstruction="bce")
    rec = float(model.compute_losses(x[:20], y[:20])["rec"])
    s, z = model.encode(x[:20])
    assert rec == pytest.approx(float(bernoulli_nll(x[:20], model.decode(s, z))), rel=1e-5)
