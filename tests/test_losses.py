"""The shared loss terms against values computed by hand or with plain NumPy."""

from __future__ import annotations

import numpy as np
import pytest
from keras import ops

from helpers.core import losses

RNG = np.random.default_rng(0)


def _f(t) -> float:
    return float(ops.convert_to_numpy(t))


def test_bernoulli_nll_sums_pixels_and_averages_images():
    x = RNG.random((3, 2, 2, 1)).astype(np.float32)
    x_hat = RNG.uniform(0.05, 0.95, (3, 2, 2, 1)).astype(np.float32)
    per_pixel = -(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat))
    assert _f(losses.bernoulli_nll(x, x_hat)) == pytest.approx(per_pixel.sum((1, 2, 3)).mean(),
                                                               rel=1e-5)


def test_bernoulli_nll_stays_finite_at_saturated_outputs():
    x = np.array([[0.0, 1.0, 1.0, 0.0]], np.float32)
    x_hat = np.array([[1.0, 0.0, 1.0, 0.0]], np.float32)  # two confident mistakes
    loss = _f(losses.bernoulli_nll(x, x_hat))
    assert np.isfinite(loss)
    assert loss == pytest.approx(2 * -np.log(1e-7), rel=0.02)  # each mistake costs -log(eps)


def test_mean_squared_error_is_per_pixel():
    x, x_hat = RNG.random((4, 3, 3, 1)), RNG.random((4, 3, 3, 1))
    assert _f(losses.mean_squared_error(x, x_hat)) == pytest.approx(np.mean((x - x_hat) ** 2))


def test_half_sum_squared_error_is_cheungs_per_image_scale():
    x, x_hat = RNG.random((4, 3, 3, 1)), RNG.random((4, 3, 3, 1))
    expected = 0.5 * ((x - x_hat) ** 2).sum(axis=(1, 2, 3)).mean()
    assert _f(losses.half_sum_squared_error(x, x_hat)) == pytest.approx(expected)
    assert _f(losses.half_sum_squared_error(x[:2, :, :, 0], x_hat[:2, :, :, 0])) == pytest.approx(
        0.5 * ((x[:2] - x_hat[:2]) ** 2).sum(axis=(1, 2, 3)).mean())


@pytest.mark.parametrize("label_dtype", [np.int64, np.float32])
def test_sparse_cross_entropy_and_accuracy(label_dtype):
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1], [0.0, 1.0, 0.0]],
                     np.float32)
    y = np.array([0, 2, 0, 0], label_dtype)
    expected = -np.mean(np.log([0.7, 0.8, 0.3, 1e-7]))  # a zero probability is clipped
    assert _f(losses.sparse_cross_entropy(y, probs)) == pytest.approx(expected, rel=1e-4)
    assert _f(losses.accuracy(y, probs)) == pytest.approx(0.5)
    assert _f(losses.accuracy(np.array([1, 1], label_dtype), probs[2:])) == 1.0


def test_kl_to_standard_normal():
    mean, log_var = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 3))
    expected = (0.5 * (np.exp(log_var) + mean ** 2 - 1 - log_var).sum(1)).mean()
    assert _f(losses.kl_to_standard_normal(mean, log_var)) == pytest.approx(expected, rel=1e-5)
    assert _f(losses.kl_to_standard_normal(np.zeros((2, 3)), np.zeros((2, 3)))) == 0.0


def test_gaussian_kl():
    # KL(N(1, 1) || N(0, 4)) = 0.5 * (ln 4 + (1 + 1) / 4 - 1)
    kl = losses.gaussian_kl(np.array([[1.0]]), np.array([[0.0]]),
                            np.array([[0.0]]), np.array([[np.log(4.0)]]))
    assert ops.convert_to_numpy(kl).tolist() == pytest.approx([0.5 * (np.log(4) + 0.5 - 1)])
    mp, lp, mq, lq = (RNG.normal(size=(4, 3)) for _ in range(4))
    expected = 0.5 * (lq - lp + (np.exp(lp) + (mp - mq) ** 2) / np.exp(lq) - 1).sum(-1)
    np.testing.assert_allclose(ops.convert_to_numpy(losses.gaussian_kl(mp, lp, mq, lq)),
                               expected, rtol=1e-5)
    assert np.allclose(ops.convert_to_numpy(losses.gaussian_kl(mp, lp, mp, lp)), 0.0)
    zero = np.zeros_like(mp)
    assert float(np.mean(ops.convert_to_numpy(losses.gaussian_kl(mp, lp, zero, zero)))) == \
        pytest.approx(_f(losses.kl_to_standard_normal(mp, lp)), rel=1e-5)
