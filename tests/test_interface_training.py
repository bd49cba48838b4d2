import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from helpers.core.interface import (
    DisentanglingModel,
    content_codes,
    decode_all,
    encode_all,
    fit_class_prototypes,
    predict_proba,
    reconstruct_all,
)
from helpers.core.training import (
    STEPS_PER_EXECUTION,
    StuckTrainingWarning,
    TrainingLog,
    WarnIfStuck,
    make_dataset,
    set_seed,
    train,
)
from helpers.papers.warmup import Autoencoder, ConditionalAutoencoder


def test_autoencoder_interface_shapes(tiny_images):
    x, _ = tiny_images
    ae = Autoencoder(code_dim=5, hidden=(32,))
    s, z = encode_all(ae, x)
    assert s.shape == (60, 0) and z.shape == (60, 5)
    assert reconstruct_all(ae, x).shape == x.shape
    with pytest.raises(NotImplementedError, match="cannot classify"):
        predict_proba(ae, x)


def test_conditional_autoencoder_interface(tiny_images):
    x, y = tiny_images
    cae = ConditionalAutoencoder(style_dim=3, hidden=(32,))
    s, z = encode_all(cae, x)
    assert s.shape == (60, 10) and z.shape == (60, 3)
    np.testing.assert_allclose(s.sum(axis=1), 1.0)  # one-hot content
    probs = predict_proba(cae, x)
    assert probs.shape == (60, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(content_codes(cae, [3]), np.eye(10)[[3]])
    out = decode_all(cae, content_codes(cae, y), z)
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1


def test_losses_follow_their_equations(tiny_images):
    """rec from the TRUE label's one-hot code, ce from classify, loss = rec + beta * ce."""
    x = tiny_images[0][:8]

    def nll(x_hat):  # Bernoulli NLL summed over pixels, averaged over images
        x_hat = np.clip(x_hat, 1e-7, 1 - 1e-7)
        per_image = -np.sum(x * np.log(x_hat) + (1 - x) * np.log(1 - x_hat), axis=(1, 2, 3))
        return float(per_image.mean())

    ae = Autoencoder(code_dim=3, hidden=(16,))
    np.testing.assert_allclose(float(ae.compute_losses(x, tiny_images[1][:8])["loss"]),
                               nll(reconstruct_all(ae, x)), rtol=1e-5)
    cae = ConditionalAutoencoder(style_dim=2, hidden=(16,), beta=3.0)
    probs = predict_proba(cae, x)
    y = (probs.argmax(axis=1) + 1) % 10  # never the classifier's guess
    values = {k: float(v) for k, v in cae.compute_losses(x, y).items()}
    assert list(values) == ["loss", "rec", "ce", "acc"]
    _, z = encode_all(cae, x)
    rec = nll(decode_all(cae, np.eye(10)[y], z))
    ce = float(-np.mean(np.log(probs[np.arange(8), y])))
    np.testing.assert_allclose([values["rec"], values["ce"]], [rec, ce], rtol=1e-5)
    assert values["acc"] == 0.0
    np.testing.assert_allclose(values["loss"], rec + 3.0 * ce, rtol=1e-5)

def test_conditional_autoencoder_content_is_exactly_one_hot(tiny_images):
    """encode's s is the one-hot code of the classifier's guess, not its probabilities."""
    x, _ = tiny_images
    cae = ConditionalAutoencoder(style_dim=3, hidden=(32,))
    s, _ = encode_all(cae, x)
    assert set(np.unique(s).tolist()) <= {0.0, 1.0}  # no soft values
    np.testing.assert_array_equal((s == 1.0).sum(axis=1), 1)  # exactly one 1 per row
    np.testing.assert_array_equal(s.argmax(axis=1), predict_proba(cae, x).argmax(axis=1))
    np.testing.assert_array_equal(s, np.eye(10, dtype=s.dtype)[s.argmax(axis=1)])


def test_decode_all_rejects_mismatched_lengths():
    cae = ConditionalAutoencoder(style_dim=2, hidden=(8,))
    with pytest.raises(ValueError, match="same length"):
        decode_all(cae, np.zeros((3, 10)), np.zeros((2, 2)))


def test_prototypes_needed_for_learned_content(tiny_images):
    x, y = tiny_images

    class Learned(ConditionalAutoencoder):
        content_for_label = DisentanglingModel.content_for_label

    model = Learned(style_dim=2, hidden=(8,))
    with pytest.raises(RuntimeError, match="fit_class_prototypes"):
        model.content_for_label([0])
    protos = fit_class_prototypes(model, x, y)
    assert protos.shape == (10, 10)
    np.testing.assert_allclose(content_codes(model, [4])[0], protos[4])


def test_compute_losses_must_return_loss(tiny_images):
    x, y = tiny_images

    class NoLoss(Autoencoder):
        def compute_losses(self, x, y, training=False):
            return {"rec": ops.mean(x)}

    model = NoLoss(code_dim=2, hidden=(8,))
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="'loss'"):
        train(model, x, y, epochs=1)


def test_every_returned_entry_is_logged(tiny_images):
    """The logged names come from compute_losses: an extra entry cannot be left out."""
    x, y = tiny_images

    class Extra(ConditionalAutoencoder):
        def compute_losses(self, x, y, training=False):
            values = super().compute_losses(x, y, training)
            return {**values, "extra": 2.0 * values["rec"]}

    model = Extra(style_dim=2, hidden=(8,))
    model.compile(optimizer="adam")
    log = train(model, x, y, epochs=1, batch_size=20, validation_data=(x, y))
    assert {"extra", "val_extra"} <= set(log.history)
    assert model.loss_names[0] == "loss" and "extra" in model.loss_names
    np.testing.assert_allclose(log["extra"][0], 2.0 * log["rec"][0], rtol=1e-4)


def test_fit_without_prepared_logging_says_what_to_do(tiny_images):
    x, y = tiny_images
    model = ConditionalAutoencoder(style_dim=2, hidden=(8,))
    model.compile(optimizer="adam")
    with pytest.raises(RuntimeError, match="prepare_logging"):
        model.fit(x, y, epochs=1, verbose=0)


def test_preparing_leaves_random_state_alone(tiny_images):
    """prepare_logging runs compute_losses once but restores every generator it drew from."""
    x, y = tiny_images

    class Noisy(Autoencoder):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.noise = keras.random.SeedGenerator(3)

        def compute_losses(self, x, y, training=False):
            values = super().compute_losses(x, y, training)
            eps = keras.random.normal((1,), seed=self.noise)
            return {**values, "loss": values["loss"] + 0.0 * ops.sum(eps), "eps": ops.sum(eps)}

    model = Noisy(code_dim=2, hidden=(8,))
    before = ops.convert_to_numpy(model.noise.state)
    model.prepare_logging(x[:2], y[:2])
    np.testing.assert_array_equal(ops.convert_to_numpy(model.noise.state), before)


def test_classifier_only_model_is_not_a_disentangling_model():
    from helpers.core.interface import Classifier

    assert not issubclass(Classifier, DisentanglingModel)
    assert issubclass(DisentanglingModel, Classifier)


def test_training_reduces_loss_and_logs(tiny_images):
    x, y = tiny_images
    model = ConditionalAutoencoder(style_dim=2, hidden=(64,))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    log = train(model, x, y, epochs=3, batch_size=20, validation_data=(x, y))
    assert set(log.history) >= {"loss", "rec", "ce", "acc", "val_loss"}
    assert log.epochs == 3 and log.history["loss"][-1] < log.history["loss"][0]
    train(model, x, y, epochs=2, batch_size=20, log=log)  # continuing appends
    assert log.epochs == 5 and log.seconds > 0


def test_training_is_reproducible(tiny_images):
    x, y = tiny_images
    losses = []
    for _ in range(2):
        keras.utils.set_random_seed(1)
        model = Autoencoder(code_dim=3, hidden=(16,))
        model.compile(optimizer="adam")
        losses.append(train(model, x, y, epochs=2, batch_size=20, seed=1).history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)


def test_several_steps_per_call_change_nothing_but_speed(tiny_images):
    """train() runs STEPS_PER_EXECUTION steps per call of the compiled step; a model
    compiled with its own number keeps it; the weights are the same bit for bit."""
    x, y = np.concatenate([tiny_images[0]] * 4), np.concatenate([tiny_images[1]] * 4)
    weights = {}
    for steps in (1, 3):
        keras.utils.set_random_seed(2)
        model = ConditionalAutoencoder(style_dim=2, hidden=(16,))
        model.compile(optimizer="adam", steps_per_execution=steps)
        train(model, x, y, epochs=2, batch_size=10, seed=2)  # 24 steps an epoch
        assert model.steps_per_execution == (STEPS_PER_EXECUTION if steps == 1 else 3)
        weights[steps] = [w.numpy() for w in model.trainable_weights]
    assert STEPS_PER_EXECUTION > 3
    for a, b in zip(weights[1], weights[3], strict=True):
        np.testing.assert_array_equal(a, b)


def test_train_requires_compiled_model(tiny_images):
    x, y = tiny_images
    with pytest.raises(RuntimeError, match="compile"):
        train(Autoencoder(code_dim=2, hidden=(8,)), x, y, epochs=1)


def test_train_rejects_bad_data(tiny_images):
    x, y = tiny_images
    model = Autoencoder(code_dim=2, hidden=(8,))
    model.compile(optimizer="adam")
    with pytest.raises(TypeError, match="uint8"):
        train(model, (x * 255).astype(np.uint8), y, epochs=1)
    with pytest.raises(ValueError, match="labels but there are"):
        train(model, x, y[:10], epochs=1)


def test_train_names_the_image_shape_the_model_expects(tiny_images):
    x, y = tiny_images
    model = Autoencoder(code_dim=2, hidden=(8,))
    model.compile(optimizer="adam")
    colour = np.zeros((len(x), 32, 32, 3), np.float32)
    with pytest.raises(ValueError, match=r"expects \(28, 28, 1\) images; x has \(32, 32, 3\)"):
        train(model, colour, y, epochs=1)
    with pytest.raises(ValueError, match=r"expects \(28, 28, 1\) images; x_val has"):
        train(model, x, y, epochs=1, validation_data=(colour, y))


def test_nan_loss_stops_with_clear_error(tiny_images):
    x, y = tiny_images

    class Exploding(Autoencoder):
        def compute_losses(self, x, y, training=False):
            _, z = self.encode(x, training=training)
            return {"loss": ops.sum(z) * np.float32(np.nan)}

    model = Exploding(code_dim=2, hidden=(8,))
    model.compile(optimizer="adam")
    with pytest.raises(FloatingPointError, match="learning rate"):
        train(model, x, y, epochs=2, batch_size=20)


def _stuck_warnings(caught) -> list:
    return [w for w in caught if issubclass(w.category, StuckTrainingWarning)]


class _Frozen(Autoencoder):
    """A loss that cannot move: a constant plus 0 * (something of the weights)."""

    def compute_losses(self, x, y, training=False):
        _, z = self.encode(x, training=training)
        return {"loss": 1.5 + 0.0 * ops.sum(z)}


def test_frozen_loss_warns_what_to_try(tiny_images):
    x, y = tiny_images
    model = _Frozen(code_dim=2, hidden=(8,))
    model.compile(optimizer="adam")
    with pytest.warns(StuckTrainingWarning, match="not changed for 3 epochs") as caught:
        log = train(model, x, y, epochs=5, batch_size=30)
    assert log.epochs == 5  # a warning, not a stop
    assert len(_stuck_warnings(caught)) == 1  # once per run, not every epoch
    message = str(_stuck_warnings(caught)[0].message)
    for advice in ("gone dead", "Lower the learning rate", "re-create the model"):
        assert advice in message


def test_learning_rate_zero_warns(tiny_images):
    """A real model whose weights never move (learning rate 0): the epoch loss freezes."""
    x, y = tiny_images
    model = ConditionalAutoencoder(style_dim=2, hidden=(8,))
    model.compile(optimizer=keras.optimizers.Adam(0.0))
    with pytest.warns(StuckTrainingWarning, match="learning rate"):
        train(model, x, y, epochs=4, batch_size=20)


def test_normal_training_does_not_warn(tiny_images):
    x, y = tiny_images
    model = ConditionalAutoencoder(style_dim=2, hidden=(16,))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log = train(model, x, y, epochs=5, batch_size=20)
    assert log.epochs == 5
    assert _stuck_warnings(caught) == []


def test_stuck_warning_needs_three_unchanged_epochs_and_sees_continued_runs(tiny_images):
    x, y = tiny_images
    model = _Frozen(code_dim=2, hidden=(8,))
    model.compile(optimizer="adam")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        log = train(model, x, y, epochs=3, batch_size=30)  # only 2 epoch-to-epoch changes
    assert _stuck_warnings(caught) == []
    with pytest.warns(StuckTrainingWarning):  # continuing: 3 unchanged epochs in all
        train(model, x, y, epochs=1, batch_size=30, log=log)


def test_stuck_callback_counts_consecutive_unchanged_epochs():
    def warned(losses, **kw):
        cb = WarnIfStuck(**kw)
        cb.on_train_begin()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for epoch, value in enumerate(losses):
                cb.on_epoch_end(epoch, {"loss": value})
        return len(_stuck_warnings(caught))

    assert warned([2.0, 2.0, 2.0, 2.0]) == 1
    assert warned([2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]) == 1  # warns once
    assert warned([2.0, 2.0, 2.0]) == 0
    assert warned([2.0, 2.0, 2.0, 1.9, 1.9, 1.9]) == 0  # the run was interrupted
    assert warned([5.0, 4.0, 3.0, 2.5, 2.4]) == 0  # learning
    assert warned([2.0, 2.0 * (1 + 1e-7), 2.0, 2.0]) == 1  # float noise counts as frozen
    assert warned([2.0, 2.0 * (1 + 1e-4), 2.0, 2.0 * (1 + 1e-4)]) == 0  # slow but alive
    assert warned([2.0, 2.0, float("nan"), 2.0, 2.0]) == 1  # NaN is skipped, not a change
    assert warned([2.0, 2.0], patience=1) == 1
    assert warned([2.0, 2.0], previous=[2.0, 2.0]) == 1
    with pytest.raises(ValueError, match="patience"):
        WarnIfStuck(patience=0)


def test_training_log_access():
    log = TrainingLog()
    log.extend({"loss": [3.0, 2.0]}, 1.5)
    assert log["loss"] == [3.0, 2.0] and log.last("loss") == 2.0 and log.epochs == 2


# ------------------------------------------------------ bad input at the entry points
@pytest.mark.parametrize("bad, match", [
    (lambda x: (x * 255).astype(np.uint8), "uint8"),
    (lambda x: x * 255.0, r"\[0, 1\]"),
    (lambda x: np.where(x > 0.5, np.nan, x), "NaN"),
    (lambda x: np.zeros((3, 32, 32, 3), np.float32), r"expects \(28, 28, 1\) images"),
    (lambda x: x[:0], "empty"),
])
def test_numpy_helpers_reject_bad_images(tiny_images, bad, match):
    x, _ = tiny_images
    cae = ConditionalAutoencoder(style_dim=2, hidden=(8,))
    for fn in (encode_all, predict_proba, reconstruct_all):
        with pytest.raises((TypeError, ValueError), match=match):
            fn(cae, bad(x))


def test_decode_all_checks_code_shapes_and_values():
    cae = ConditionalAutoencoder(style_dim=2, hidden=(8,))
    with pytest.raises(ValueError, match=r"\(N, 10\)"):
        decode_all(cae, np.zeros((3, 4)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"z must have shape \(N, 2\)"):
        decode_all(cae, np.zeros((3, 10)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        decode_all(cae, np.full((3, 10), np.nan), np.zeros((3, 2)))


def test_content_codes_reject_labels_outside_the_classes():
    cae = ConditionalAutoencoder(style_dim=2, hidden=(8,))
    for bad in ([12], [-1]):
        with pytest.raises(ValueError, match=r"\[0, 9\]"):
            content_codes(cae, bad)
    np.testing.assert_array_equal(content_codes(cae, 3), np.eye(10)[[3]])


def test_prototypes_need_every_class(tiny_images):
    x, y = tiny_images

    class Learned(ConditionalAutoencoder):
        content_for_label = DisentanglingModel.content_for_label

    model = Learned(style_dim=2, hidden=(8,))
    keep = y != 7
    with pytest.raises(ValueError, match=r"class\(es\) \[7\]"):
        fit_class_prototypes(model, x[keep], y[keep])


def test_seeds_and_profiles_are_checked():
    from helpers.core.profile import check_seed, get_profile

    for bad in (2.7, True, "1"):
        with pytest.raises(TypeError, match="whole number"):
            check_seed(bad)
    with pytest.raises(ValueError, match=">= 0"):
        check_seed(-1)
    assert check_seed(np.int64(3)) == 3
    with pytest.raises(TypeError, match="string"):
        get_profile(3)


# ------------------------------------------------------ counts: NumPy integers are ints
def test_numpy_integers_are_taken_as_counts(tiny_images):
    x, y = tiny_images
    model = ConditionalAutoencoder(style_dim=2, hidden=(8,))
    model.compile(optimizer="adam")
    log = train(model, x, y, epochs=np.int64(1), batch_size=np.int32(30), seed=np.int64(0))
    assert log.epochs == 1
    s, z = encode_all(model, x, batch_size=np.int64(7))
    assert s.shape == (60, 10)
    assert decode_all(model, s, z, batch_size=np.uint8(9)).shape == x.shape
    np.testing.assert_array_equal(content_codes(model, np.int64(3)), np.eye(10)[[3]])
    np.testing.assert_array_equal(content_codes(model, np.array([1, 2], dtype=object)),
                                  np.eye(10)[[1, 2]])


# ------------------------------------------------ continued training: new shuffle orders
class _Recording(ConditionalAutoencoder):
    """Records which images each training step sees: pixel (0, 0) holds the image's number / n."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.seen: list = []

    def _see(self, ids: np.ndarray) -> np.ndarray:
        self.seen.append(ids.copy())
        return ids

    def train_step(self, data):
        x, y = data
        ids = tf.numpy_function(self._see, [x[:, 0, 0, 0]], tf.float32, stateful=True)
        with tf.control_dependencies([ids]):
            return super().train_step((tf.identity(x), y))


def _numbered_images(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(1).random((n, 28, 28, 1), dtype=np.float32)
    x[:, 0, 0, 0] = np.arange(n) / n
    return x, np.arange(n) % 10


def _orders_and_weights(pieces: list[int], seed: int = 4):
    """Train a new recording model with train() calls of ``pieces`` epochs (batch 10)."""
    x, y = _numbered_images()
    set_seed(seed)
    model = _Recording(style_dim=2, hidden=(8,))
    model.compile(optimizer="adam")
    log = None
    for epochs in pieces:
        log = train(model, x, y, epochs=epochs, batch_size=10, seed=seed, log=log)
    ids = np.round(np.concatenate([np.asarray(b) for b in model.seen]) * len(x)).astype(int)
    return ids.reshape(-1, len(x)), [w.numpy() for w in model.weights], log


def test_continued_training_draws_new_orders_those_of_one_longer_call():
    """Issue 34: a second train() on the same model replayed the first call's orders."""
    whole, whole_weights, _ = _orders_and_weights([5])
    pieces, pieces_weights, log = _orders_and_weights([3, 2])
    assert log.epochs == 5
    for order in pieces:  # every epoch saw every image once
        np.testing.assert_array_equal(np.sort(order), np.arange(40))
    first = {tuple(o) for o in pieces[:3]}
    assert len({tuple(o) for o in whole}) == 5
    assert not first & {tuple(o) for o in pieces[3:]}, "the continued call repeated an order"
    np.testing.assert_array_equal(pieces, whole)  # the orders of one 5-epoch call
    for a, b in zip(pieces_weights, whole_weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_continued_training_is_reproducible_bit_for_bit():
    """The same seed and the same sequence of calls give the same orders and weights."""
    first = _orders_and_weights([2, 1, 2], seed=7)
    again = _orders_and_weights([2, 1, 2], seed=7)
    np.testing.assert_array_equal(first[0], again[0])
    for a, b in zip(first[1], again[1], strict=True):
        np.testing.assert_array_equal(a, b)
    other = _orders_and_weights([2, 1, 2], seed=8)
    assert not np.array_equal(first[0], other[0])  # the seed does choose the orders


def test_continued_noisy_model_equals_one_longer_call(tiny_images):
    """A model that draws noise (its own SeedGenerator): pieces and whole agree bit for bit."""
    from helpers.papers.ksparse_cvae import KSparseCVAE

    x, y = tiny_images
    weights = []
    for pieces in ([4], [1, 3]):
        set_seed(3)
        model = KSparseCVAE(k=2, style_dim=3, hidden=(16,))
        model.compile(optimizer="adam")
        for epochs in pieces:
            train(model, x, y, epochs=epochs, batch_size=20, seed=3)
        weights.append([w.numpy() for w in model.weights])
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_first_call_trains_on_the_seeded_pipeline_as_before(tiny_images):
    """A model's first train() call is unchanged: set_seed(seed), then make_dataset(..., seed)
    fed to fit, as train() did before continued calls drew new orders (chapters' outputs)."""
    x, y = tiny_images
    weights = {}
    for path in ("train", "fit"):
        set_seed(5)
        model = ConditionalAutoencoder(style_dim=2, hidden=(16,))
        model.compile(optimizer="adam", steps_per_execution=STEPS_PER_EXECUTION)
        if path == "train":
            train(model, x, y, epochs=3, batch_size=20, seed=5)
        else:
            model.prepare_logging(x[:2], y[:2])
            set_seed(5)
            model.fit(make_dataset(x, y, 20, shuffle=True, seed=5), epochs=3, verbose=0,
                      shuffle=False)
        weights[path] = [w.numpy() for w in model.weights]
    for a, b in zip(weights["train"], weights["fit"], strict=True):
        np.testing.assert_array_equal(a, b)
