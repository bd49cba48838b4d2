"""Tests for the k-sparse gate, its annealing callback and the (C)VAE models.

They test the code of chapters/02_ksparse_cvae.ipynb, exported to
``helpers.papers.ksparse_cvae``.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from helpers.core.training import train
from helpers.eval.metrics import most_label_informative_unit, scorecard
from helpers.papers.ksparse_cvae import (
    VAE,
    KAnnealing,
    KSparse,
    KSparseCVAE,
    negative_elbo,
)
from helpers.viz.plots import morph_rows
from helpers.viz.widgets import variant_explorer


def _rows(n=64, width=10, seed=0):
    return np.random.default_rng(seed).normal(size=(n, width)).astype("float32")


@pytest.mark.parametrize("k", [1, 3, 7])
def test_exactly_k_nonzeros_and_they_are_the_largest(k):
    x = _rows()
    out = keras.ops.convert_to_numpy(KSparse(k)(x))
    assert ((out != 0).sum(axis=1) == k).all()
    top = np.sort(x, axis=1)[:, -k:]
    np.testing.assert_allclose(np.sort(out[out != 0].reshape(len(x), k), axis=1), top)


def test_ties_still_keep_exactly_k():
    x = np.ones((4, 10), "float32")
    out = keras.ops.convert_to_numpy(KSparse(3)(x))
    assert ((out != 0).sum(axis=1) == 3).all()


@pytest.mark.parametrize("k", [10, 25])
def test_k_at_least_width_is_identity(k):
    x = _rows()
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(KSparse(k)(x)), x)


def test_masked_gradient_reaches_only_kept_units():
    x = tf.constant(_rows(8))
    layer = KSparse(2)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x)
        loss = tf.reduce_sum(out * tf.range(1.0, 11.0))
    grad = tape.gradient(loss, x).numpy()
    kept = out.numpy() != 0
    np.testing.assert_allclose(grad[kept], np.tile(np.arange(1.0, 11.0), (8, 1))[kept])
    assert (grad[~kept] == 0).all()


def test_straight_through_gradient_reaches_every_unit():
    x = tf.constant(_rows(8))
    layer = KSparse(2, gradient="straight_through")
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x)
        loss = tf.reduce_sum(out)
    assert ((out.numpy() != 0).sum(axis=1) == 2).all()
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), 1.0)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "3", True, None])
def test_invalid_k_raises_clear_error(bad):
    with pytest.raises(ValueError, match="k must be"):
        KSparse(bad)
    layer = KSparse(2)
    with pytest.raises(ValueError, match="k must be"):
        layer.k = bad


def test_invalid_gradient_mode_raises():
    with pytest.raises(ValueError, match="gradient must be one of"):
        KSparse(1, gradient="magic")


def test_k_can_change_inside_a_compiled_function():
    layer = KSparse(5)
    fn = tf.function(lambda t: layer(t), jit_compile=True)
    x = _rows()
    assert ((fn(x).numpy() != 0).sum(axis=1) == 5).all()
    layer.k = 2
    assert ((fn(x).numpy() != 0).sum(axis=1) == 2).all()


def test_annealing_schedule_and_validation():
    layer = KSparse(10)
    cb = KAnnealing(layer, start_k=10, final_k=1, anneal_epochs=3)
    assert [cb.k_at(e) for e in range(5)] == [10, 7, 4, 1, 1]
    cb.on_epoch_begin(1)
    assert layer.k == 7
    with pytest.raises(ValueError, match="start_k"):
        KAnnealing(layer, start_k=1, final_k=3, anneal_epochs=2)
    with pytest.raises(TypeError, match="KSparse"):
        KAnnealing(object(), 3, 1, 2)


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=120)
    x = np.zeros((120, 8, 8, 1), "float32")
    for c in range(3):
        x[y == c, 2 * c:2 * c + 3, :, 0] = 1.0  # a class-dependent bar
    x += rng.uniform(0, 0.2, x.shape).astype("float32")
    return np.clip(x, 0, 1), y


def _cvae(k=1, **kw):
    model = KSparseCVAE(k=k, style_dim=2, hidden=(32,), image_shape=(8, 8, 1), num_classes=3, **kw)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), jit_compile=False)
    return model


def test_cvae_trains_learns_labels_and_follows_interface(tiny_data):
    x, y = tiny_data
    model = _cvae(k=1)
    log = train(model, x, y, epochs=8, batch_size=40, seed=0)
    assert set(log.history) >= {"loss", "rec", "kl", "ce", "acc"}
    assert log["loss"][-1] < log["loss"][0]
    assert log["acc"][-1] > 0.9
    s, z = model.encode(x[:5])
    assert tuple(s.shape) == (5, 3) and tuple(z.shape) == (5, 2)
    assert ((keras.ops.convert_to_numpy(s) != 0).sum(axis=1) == 1).all()  # k = 1 gate
    assert tuple(model.decode(model.content_for_label([0, 2]), z[:2]).shape) == (2, 8, 8, 1)
    card = scorecard(model, x, y, x, y)
    assert card["accuracy"] > 0.9
    assert np.isfinite(negative_elbo(model, x))


def _gated(probs, k):
    """NumPy reference: keep the k largest probabilities of each row, zero the rest."""
    rank = np.argsort(np.argsort(-probs, axis=1, kind="stable"), axis=1)
    return np.where(rank < k, probs, 0.0)


def _spy_on_decoder(model, monkeypatch):
    """Record the content code ``s`` of every ``decode`` call the model makes."""
    seen, decode = [], model.decode

    def spy(s, z, training=False):
        seen.append(keras.ops.convert_to_numpy(s))
        return decode(s, z, training=training)

    monkeypatch.setattr(model, "decode", spy)
    return seen


@pytest.mark.parametrize("k", [1, 2])
def test_decoder_is_fed_the_gated_class_code(tiny_data, k, monkeypatch):
    """In the loss, in encode and in negative_elbo the decoder sees KSparse_k(p(c|x)), never p(c|x)."""
    x, y = tiny_data[0][:16], tiny_data[1][:16]
    keras.utils.set_random_seed(0)
    model = _cvae(k=k)
    probs = keras.ops.convert_to_numpy(model.classify(x))
    seen = _spy_on_decoder(model, monkeypatch)
    model.compute_losses(x, y, training=True)
    s, _ = model.encode(x)
    negative_elbo(model, x)
    assert len(seen) == 2  # compute_losses and negative_elbo decode; encode does not
    for code in (*seen, keras.ops.convert_to_numpy(s)):
        np.testing.assert_array_equal((code != 0).sum(axis=1), k)  # k survivors per row
        np.testing.assert_allclose(code, _gated(probs, k), rtol=1e-6, atol=0)
    assert not np.allclose(seen[0], probs)  # the gate did something to compare against


def test_reconstruction_term_decodes_the_gated_code(tiny_data, monkeypatch):
    """rec = Bernoulli NLL of decode(KSparse_1(p(c|x)), z), with z pinned to the posterior mean."""
    x, y = tiny_data[0][:16], tiny_data[1][:16]
    keras.utils.set_random_seed(0)
    model = _cvae(k=1)
    monkeypatch.setattr(model, "sample_z", lambda mean, log_var: mean)
    rec = float(model.compute_losses(x, y)["rec"])
    probs = keras.ops.convert_to_numpy(model.classify(x))
    _, z = model.encode(x)  # the posterior mean

    def nll(s):
        x_hat = np.clip(keras.ops.convert_to_numpy(model.decode(s.astype("float32"), z)), 1e-7, 1 - 1e-7)
        return float(np.mean(-np.sum(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat), axis=(1, 2, 3))))

    np.testing.assert_allclose(rec, nll(_gated(probs, 1)), rtol=1e-5)
    assert abs(rec - nll(probs)) > 1e-3  # the ungated code would give another value


def test_annealing_callback_runs_in_training(tiny_data):
    x, y = tiny_data
    model = _cvae(k=3)
    cb = KAnnealing(model.gate, start_k=3, final_k=1, anneal_epochs=2)
    train(model, x, y, epochs=3, batch_size=40, callbacks=[cb])
    assert cb.schedule == [3, 2, 1] and model.gate.k == 1


def test_plain_vae_has_no_content_and_cannot_classify(tiny_data):
    x, y = tiny_data
    model = VAE(style_dim=2, hidden=(32,), image_shape=(8, 8, 1), num_classes=3)
    model.compile(optimizer="adam")
    log = train(model, x, y, epochs=2, batch_size=40)
    assert set(log.history) == {"loss", "rec", "kl"}
    s, z = model.encode(x[:4])
    assert tuple(s.shape) == (4, 0) and tuple(z.shape) == (4, 2)
    with pytest.raises(NotImplementedError, match="cannot classify"):
        model.classify(x[:4])
    assert np.isnan(scorecard(model, x, y, x, y)["accuracy"])
    unit = most_label_informative_unit(model, x, y)
    assert 0 <= unit < 2
    rows = morph_rows(model, x[:3], unit, [-2, 0, 2])
    assert rows.shape == (3, 3, 8, 8, 1)


def test_negative_weights_raise():
    with pytest.raises(ValueError, match="beta"):
        VAE(beta=-1.0)
    with pytest.raises(ValueError, match="gamma"):
        KSparseCVAE(gamma=-1.0)


def test_variant_explorer_switches_gate(tiny_data):
    models = {"k=1": _cvae(k=1), "k=3": _cvae(k=3)}
    for m in models.values():
        m(tiny_data[0][:2])
    explorer = variant_explorer(models, max_units=2, steps=3, description="gate")
    assert explorer.num_states == 2 * 3 * 2 * 3  # gates x classes x units x offsets
    k1, k3 = explorer.images_at([0, 2, 1, 2]), explorer.images_at([1, 2, 1, 2])
    assert not np.allclose(k1, k3)
    inputs = {w.description: w for w in explorer.widget().children[0].children}
    tile = explorer.widget().children[-1].children[0].children[0]
    before = tile.value
    inputs["gate"].value = 1
    assert tile.value != before
    with pytest.raises(ValueError, match="at least one"):
        variant_explorer({})
