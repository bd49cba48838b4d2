"""Tests for the two-step model and the conv blocks it uses.

They test the code of chapters/04_two_step.ipynb, exported to ``helpers.papers.two_step``.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from helpers.core.blocks import conv_decoder, conv_encoder, mlp
from helpers.core.interface import Classifier, DisentanglingModel
from helpers.core.losses import sparse_cross_entropy
from helpers.core.training import set_seed, train
from helpers.eval.metrics import swap_measurements
from helpers.papers.two_step import ContentClassifier, FreshBatchTwoStep, TwoStepModel


def _snapshot(weights) -> list[np.ndarray]:
    return [np.array(w.numpy()) for w in weights]


def _changed(before, weights) -> bool:
    return any(not np.array_equal(b, w.numpy()) for b, w in zip(before, weights, strict=True))


def _two_step(freeze=True, **kwargs) -> TwoStepModel:
    set_seed(0)
    content = ContentClassifier(content_dim=4, hidden=16, classifier_hidden=(8,))
    model = TwoStepModel(content, style_dim=3, hidden=16, adversary_hidden=(8,),
                         freeze_content=freeze, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  adversary_optimizer=keras.optimizers.Adam(1e-2))
    return model


# ----------------------------------------------------------------- blocks
def test_conv_blocks_shapes():
    x = np.zeros((3, 28, 28, 1), np.float32)
    h = conv_encoder(filters=(4, 2), strides=(2, 2), dense=(8,))(x)
    assert tuple(h.shape) == (3, 8)
    out = conv_decoder((28, 28, 1), filters=(2, 2, 4))(np.zeros((3, 5), np.float32))
    assert tuple(out.shape) == (3, 28, 28, 1)
    assert float(ops.min(out)) >= 0.0 and float(ops.max(out)) <= 1.0


def test_conv_blocks_reject_bad_arguments():
    with pytest.raises(ValueError, match="same length"):
        conv_encoder(filters=(4, 2), strides=(2,))
    with pytest.raises(ValueError, match="not divisible"):
        conv_decoder((30, 30, 1), upsample=(True, True, False))


def test_mlp_batch_norm_is_opt_in():
    plain = mlp([5, 5], output_units=2)
    normed = mlp([5, 5], output_units=2, batch_norm=True)
    assert not any(isinstance(la, keras.layers.BatchNormalization) for la in plain.layers)
    assert sum(isinstance(la, keras.layers.BatchNormalization) for la in normed.layers) == 2


# ------------------------------------------------------------------ shapes
def test_shapes_and_interface(tiny_images):
    x, _ = tiny_images
    model = _two_step()
    s, z = model.encode(x[:7])
    assert tuple(s.shape) == (7, 4) and tuple(z.shape) == (7, 3)
    x_hat = model.decode(s, z)
    assert tuple(x_hat.shape) == (7, 28, 28, 1)
    probs = ops.convert_to_numpy(model.classify(x[:7]))
    assert probs.shape == (7, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    # step 1 is a classifier only: its code s is the step-2 model's content code
    s1 = model.content.s_encoder(x[:7])
    assert tuple(s1.shape) == (7, 4)
    np.testing.assert_allclose(ops.convert_to_numpy(s1), ops.convert_to_numpy(s), rtol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(model.content.classify(x[:7])), probs,
                               rtol=1e-6)
    assert (model.content_dim, model.style_dim) == (4, 3)
    assert model.content.content_dim == 4


def test_bad_arguments_give_clear_errors():
    content = ContentClassifier(content_dim=4, hidden=16, classifier_hidden=(8,))
    with pytest.raises(TypeError, match="ContentClassifier"):
        TwoStepModel(keras.Sequential())
    with pytest.raises(ValueError, match="adv_weight"):
        TwoStepModel(content, adv_weight=-1.0)
    with pytest.raises(ValueError, match="adversary_steps"):
        TwoStepModel(content, adversary_steps=0)
    with pytest.raises(ValueError, match="adversarial_loss"):
        TwoStepModel(content, adversarial_loss="hinge")
    with pytest.raises(ValueError, match="style_dim"):
        TwoStepModel(content, style_dim=0)
    with pytest.raises(ValueError, match="content_dim"):
        ContentClassifier(content_dim=1.5)
    # step 1 has no decoder: it is a classifier, not a disentangling model
    assert isinstance(content, Classifier) and not isinstance(content, DisentanglingModel)
    assert not hasattr(content, "decode") and not hasattr(content, "encode")


@pytest.mark.parametrize("fresh", [False, True], ids=["two-step", "fresh-batch"])
def test_fit_without_the_adversary_optimizer_is_refused(tiny_images, fresh):
    x, y = tiny_images
    content = ContentClassifier(content_dim=4, hidden=16, classifier_hidden=(8,))
    args = dict(style_dim=3, hidden=16, adversary_hidden=(8,))
    model = (FreshBatchTwoStep(content, x, y, **args) if fresh
             else TwoStepModel(content, **args))
    with pytest.raises(RuntimeError, match="Compile"):
        model.train_step((x[:4], y[:4]))


# ----------------------------------------------------------------- freezing
def test_step_two_leaves_s_untouched(tiny_images):
    x, y = tiny_images
    model = _two_step(freeze=True, adversary_steps=2)
    frozen_before = _snapshot(model.content.weights)  # incl. batch-norm statistics
    z_before = _snapshot(model.z_encoder.trainable_weights)
    adv_before = _snapshot(model.adversary.trainable_weights)
    log = train(model, x, y, epochs=2, batch_size=20)
    assert not _changed(frozen_before, model.content.weights), "step 2 changed the frozen S part"
    assert _changed(z_before, model.z_encoder.trainable_weights)
    assert _changed(adv_before, model.adversary.trainable_weights)
    assert {"rec", "adv_acc", "s_acc"} <= set(log.history)
    assert model.loss_names == ("loss", "rec", "adv_ce", "adv_acc", "s_acc")
    # 60 images / batches of 20 = 3 steps per epoch; 2 adversary updates per autoencoder update
    assert int(model.optimizer.iterations) == 6
    assert int(model.adversary_optimizer.iterations) == 12


def _fresh(x_pool, y_pool, **kwargs) -> FreshBatchTwoStep:
    set_seed(0)
    content = ContentClassifier(content_dim=4, hidden=16, classifier_hidden=(8,))
    model = FreshBatchTwoStep(content, x_pool, y_pool, style_dim=3, hidden=16,
                              adversary_hidden=(8,), **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  adversary_optimizer=keras.optimizers.Adam(1e-2))
    return model


def test_fresh_batch_adversary_learns_from_its_own_batches(tiny_images):
    x, y = tiny_images
    # the adversary's pool says every image is a 3; the batches train passes say 0..9
    model = _fresh(x, np.full(len(x), 3), adversary_steps=10)
    frozen_before = _snapshot(model.content.weights)
    train(model, x, y, epochs=2, batch_size=20)
    assert int(model.optimizer.iterations) == 6
    assert int(model.adversary_optimizer.iterations) == 60
    assert not _changed(frozen_before, model.content.weights)
    probs = ops.convert_to_numpy(model.adversary(model.z_encoder(x), training=True))
    assert probs[:, 3].mean() > 0.5, probs.mean(0)


def test_fresh_batch_adversary_checks_its_pool(tiny_images):
    x, y = tiny_images
    with pytest.raises(ValueError, match="y_train"):
        _fresh(x, y[:10])
    with pytest.raises(ValueError, match="x_train"):
        _fresh(np.zeros((60, 32, 32, 1), np.float32), y)


def test_one_step_variant_trains_s(tiny_images):
    x, y = tiny_images
    model = _two_step(freeze=False)
    before = _snapshot(model.content.s_encoder.trainable_weights)
    train(model, x, y, epochs=1, batch_size=20)
    assert _changed(before, model.content.s_encoder.trainable_weights)


def test_step_one_trains_and_logs_its_accuracy(tiny_images):
    x, y = tiny_images
    set_seed(0)
    content = ContentClassifier(content_dim=4, hidden=16, classifier_hidden=(8,))
    content.compile(optimizer=keras.optimizers.Adam(1e-2))
    log = train(content, x, y, epochs=2, batch_size=20)
    assert set(log.history) == {"loss", "acc"}
    assert log["loss"][-1] < log["loss"][0]


# ------------------------------------------------------- the adversarial sign
def _adversary_ce(model, x, y) -> float:
    z = model.z_encoder(x, training=True)
    return float(sparse_cross_entropy(y, model.adversary(z, training=True)))


def test_autoencoder_step_increases_the_adversarys_loss(tiny_images):
    x, y = tiny_images
    model = _two_step(adv_weight=1.0, rec_weight=1e-6)
    adv_before = _snapshot(model.adversary.trainable_weights)
    ce_before = _adversary_ce(model, x, y)
    for _ in range(3):
        model.autoencoder_step(x, y)
    assert not _changed(adv_before, model.adversary.trainable_weights), "adversary moved"
    assert _adversary_ce(model, x, y) > ce_before + 1e-3


def test_adversary_step_decreases_its_loss(tiny_images):
    x, y = tiny_images
    model = _two_step()
    z = model.z_encoder(x, training=True)
    z_before = _snapshot(model.z_encoder.trainable_weights)
    ce_before = _adversary_ce(model, x, y)
    for _ in range(3):
        out = model.adversary_step(z, y)
    assert set(out) == {"adv_ce", "adv_acc"}
    assert _adversary_ce(model, x, y) < ce_before - 1e-3
    assert not _changed(z_before, model.z_encoder.trainable_weights), "Z-encoder moved"
    assert int(model.adversary_optimizer.iterations) == 3
    assert int(model.optimizer.iterations) == 0


def test_lambda_zero_ignores_the_adversary(tiny_images):
    x, y = tiny_images
    model = _two_step(adv_weight=0.0, rec_weight=2.0)
    values = model.compute_losses(x, y)
    np.testing.assert_allclose(float(values["loss"]), 2.0 * float(values["rec"]), rtol=1e-6)


def test_adversarial_loss_signs(tiny_images):
    """The paper's loss subtracts the adversary's cross-entropy; the bounded variant adds the
    cross-entropy to the uniform target, which is never below log K (K = 10 classes)."""
    x, y = tiny_images
    paper = _two_step(rec_weight=2.0).compute_losses(x, y)
    np.testing.assert_allclose(float(paper["loss"]),
                               2.0 * float(paper["rec"]) - float(paper["adv_ce"]), rtol=1e-5)
    bounded = _two_step(rec_weight=2.0, adversarial_loss="uniform").compute_losses(x, y)
    to_uniform = float(bounded["loss"]) - 2.0 * float(bounded["rec"])
    assert to_uniform >= np.log(10) - 1e-4
    assert to_uniform < np.log(10) + 5.0  # finite: probabilities are clipped


# ------------------------------------------------------------ measurements
def test_swap_measurements(tiny_images):
    x, y = tiny_images
    model = _two_step()
    out = swap_measurements(model, x, y, judge=model.content)
    assert set(out) == {"follows_content", "follows_style", "mse_own_z", "mse_foreign_z"}
    assert 0.0 <= out["follows_content"] + out["follows_style"] <= 1.0
    assert out["mse_own_z"] > 0 and out["mse_foreign_z"] > 0
