"""The two-step disentanglement method of Hadad, Wolf & Shahar (CVPR 2018).

**Step 1** — :class:`ContentClassifier`: an S-encoder with a classifier head is
trained to predict the label, so the content code ``s`` holds what the label
explains.  It is then frozen.

**Step 2** — :class:`TwoStepModel`: a Z-encoder and a decoder rebuild the image
from ``[s, z]`` while an *adversary* tries to read the label from ``z``::

    Z-encoder, decoder:  minimise  rec_weight * L_rec  -  adv_weight * L_adv
    adversary:           minimise  L_adv  (its cross-entropy on z)

The two alternate inside one :meth:`TwoStepModel.train_step`, with two
optimisers; the adversary takes ``adversary_steps`` updates per autoencoder
update (the authors trained it more often than the autoencoder).

The ablations reuse the same classes: ``adv_weight=0`` removes the adversary's
pressure (it is still trained, as a monitor), and ``freeze_content=False`` with
a fresh :class:`ContentClassifier` is the *one-step* variant, where S, Z and
the decoder learn together from scratch (``class_weight`` weighs the S
classifier's cross-entropy in the joint loss).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from .blocks import conv_decoder, conv_encoder, mlp
from .interface import DisentanglingModel
from .losses import accuracy, mean_squared_error, sparse_cross_entropy
from .metrics import swap_measurements  # noqa: F401  (lives in metrics; kept importable here)


def _code_encoder(code_dim: int, hidden: int, name: str) -> keras.Sequential:
    """Conv encoder body (16-8-8 channels, Dense ``hidden``) and a linear code layer."""
    return keras.Sequential([*conv_encoder(dense=(hidden,)).layers, layers.Dense(code_dim)],
                            name=name)


def _check_positive_int(value: int, name: str) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


class ContentClassifier(DisentanglingModel):
    """Step 1: the S-encoder and its classifier, trained with cross-entropy.

    ``encode`` returns ``(s, empty z)``: on its own this model has no style code.

    Args:
        content_dim: size of the content code ``s`` (10 in the paper's MNIST setup).
        hidden: width of the Dense layer after the convolutions.
        classifier_hidden: hidden widths of the classifier head (Dense + BN + ReLU each).
    """

    def __init__(self, content_dim: int = 10, num_classes: int = 10, hidden: int = 256,
                 classifier_hidden: Sequence[int] = (64, 64),
                 image_shape: Sequence[int] = (28, 28, 1), **kwargs):
        content_dim = _check_positive_int(content_dim, "content_dim")
        super().__init__(num_classes=num_classes, content_dim=content_dim, style_dim=0,
                         image_shape=image_shape, loss_names=("loss", "acc"), **kwargs)
        self.s_encoder = _code_encoder(content_dim, hidden, name="s_encoder")
        self.classifier = mlp(classifier_hidden, output_units=num_classes,
                              output_activation="softmax", batch_norm=True, name="s_classifier")

    def encode(self, x, training=False):
        s = self.s_encoder(x, training=training)
        return s, ops.zeros((ops.shape(x)[0], 0), dtype=s.dtype)

    def classify(self, x, training=False):
        return self.classifier(self.s_encoder(x, training=training), training=training)

    def decode(self, s, z, training=False):
        raise NotImplementedError("Step 1 has no decoder; wrap it in a TwoStepModel.")

    def compute_losses(self, x, y, training=False):
        probs = self.classify(x, training=training)
        return {"loss": sparse_cross_entropy(y, probs), "acc": accuracy(y, probs)}


class TwoStepModel(DisentanglingModel):
    """Step 2 (and the one-step variant): Z-encoder + decoder against an adversary on ``z``.

    Content is ``s`` from ``content`` (a :class:`ContentClassifier`), style is
    ``z``; ``classify`` is the content classifier; ``content_for_label`` uses
    class prototypes (call :func:`helpers.interface.fit_class_prototypes`).

    Compile with two optimisers::

        model.compile(optimizer=keras.optimizers.Adam(1e-4, beta_1=0.5),  # Z-encoder, decoder
                      adversary_optimizer=keras.optimizers.Adam(1e-3))    # adversary

    Each training step first gives the adversary ``adversary_steps`` updates
    on the batch's (fixed) ``z``, then gives the Z-encoder and decoder one.
    ``freeze_content`` sets ``content.trainable``.

    Args:
        content: the step-1 model (trained, for the two-step method; fresh, for one-step).
        style_dim: size of ``z`` (16 in the paper's MNIST setup).
        adv_weight: ``lambda``, the weight of the adversary's loss (0 = no adversary).
        rec_weight: the weight of the reconstruction error (mean squared error per pixel).
        freeze_content: ``True`` (two-step) keeps ``s`` fixed; ``False`` trains it jointly.
        class_weight: weight of the S classifier's cross-entropy when ``s`` is trained jointly.
        adversary_steps: adversary updates per autoencoder update.
        hidden: width of the Z-encoder's Dense layer.
        adversary_hidden: hidden widths of the adversary (Dense + BN + ReLU each).
        adversarial_loss: ``"ce"`` (the paper): the Z-encoder *maximises* the
            adversary's cross-entropy, ``- adv_weight * L_adv`` (unbounded: it can
            also be raised by making the adversary confidently wrong);
            ``"uniform"``: the Z-encoder pushes the adversary's output towards the
            uniform distribution, ``+ adv_weight * CE(uniform, p_adv)`` (bounded
            below by ``log K``, reached when the adversary can only guess).
    """

    def __init__(self, content: ContentClassifier, style_dim: int = 16, adv_weight: float = 1.0,
                 rec_weight: float = 50.0, freeze_content: bool = True, class_weight: float = 1.0,
                 adversary_steps: int = 1, hidden: int = 256,
                 adversary_hidden: Sequence[int] = (64, 64, 64), adversarial_loss: str = "ce",
                 **kwargs):
        if not isinstance(content, ContentClassifier):
            raise TypeError(f"content must be a ContentClassifier (step 1); got "
                            f"{type(content).__name__}.")
        if adv_weight < 0 or rec_weight <= 0 or class_weight < 0:
            raise ValueError(
                f"need adv_weight >= 0, rec_weight > 0 and class_weight >= 0; got adv_weight="
                f"{adv_weight}, rec_weight={rec_weight}, class_weight={class_weight}. (A negative "
                "adv_weight would make the Z-encoder *help* the adversary.)")
        style_dim = _check_positive_int(style_dim, "style_dim")
        if adversarial_loss not in ("ce", "uniform"):
            raise ValueError(f"adversarial_loss must be 'ce' (the paper's) or 'uniform'; got "
                             f"{adversarial_loss!r}.")
        super().__init__(num_classes=content.num_classes, content_dim=content.content_dim,
                         style_dim=style_dim, image_shape=content.image_shape,
                         loss_names=("loss", "rec", "adv_ce", "adv_acc", "s_acc"), **kwargs)
        self.content = content
        self.adversarial_loss = adversarial_loss
        self.freeze_content = bool(freeze_content)
        content.trainable = not self.freeze_content
        self.adv_weight, self.rec_weight = float(adv_weight), float(rec_weight)
        self.class_weight = float(class_weight)
        self.adversary_steps = _check_positive_int(adversary_steps, "adversary_steps")
        self.z_encoder = _code_encoder(style_dim, hidden, name="z_encoder")
        self.decoder = conv_decoder(self.image_shape, name="decoder")
        self.adversary = mlp(adversary_hidden, output_units=self.num_classes,
                             output_activation="softmax", batch_norm=True, name="adversary")
        self.adversary_optimizer: keras.optimizers.Optimizer | None = None

    # ------------------------------------------------------------ the interface
    def _content(self, x, training=False):
        return self.content.s_encoder(x, training=training and not self.freeze_content)

    def encode(self, x, training=False):
        return self._content(x, training), self.z_encoder(x, training=training)

    def decode(self, s, z, training=False):
        return self.decoder(ops.concatenate([s, z], axis=-1), training=training)

    def classify(self, x, training=False):
        return self.content.classifier(self._content(x, training),
                                       training=training and not self.freeze_content)

    # ----------------------------------------------------------------- training
    @property
    def autoencoder_weights(self) -> list:
        """What the autoencoder step updates: Z-encoder, decoder (and S, unless frozen)."""
        weights = self.z_encoder.trainable_weights + self.decoder.trainable_weights
        if not self.freeze_content:
            weights = weights + self.content.trainable_weights
        return weights

    def compile(self, optimizer="adam", adversary_optimizer=None, **kwargs):
        """Compile with the autoencoder's ``optimizer`` and the ``adversary_optimizer``."""
        super().compile(optimizer=optimizer, **kwargs)
        self.adversary_optimizer = keras.optimizers.get(adversary_optimizer or "adam")
        dummy = np.zeros((2, *self.image_shape), np.float32)
        self.compute_losses(dummy, np.zeros(2, np.int64))  # create every weight now
        self.optimizer.build(self.autoencoder_weights)
        self.adversary_optimizer.build(self.adversary.trainable_weights)

    def compute_losses(self, x, y, training=False):
        """The autoencoder's objective ``rec_weight * L_rec - adv_weight * L_adv`` and what to log."""
        s, z = self.encode(x, training=training)
        rec = mean_squared_error(x, self.decode(s, z, training=training))
        adv_probs = self.adversary(z, training=training)
        adv_ce = sparse_cross_entropy(y, adv_probs)
        s_probs = self.content.classifier(s, training=training and not self.freeze_content)
        if self.adversarial_loss == "ce":
            loss = self.rec_weight * rec - self.adv_weight * adv_ce
        else:  # cross-entropy against the uniform target: mean over classes of -log p
            to_uniform = -ops.mean(ops.mean(ops.log(ops.clip(adv_probs, 1e-7, 1.0)), axis=-1))
            loss = self.rec_weight * rec + self.adv_weight * to_uniform
        if not self.freeze_content:
            loss = loss + self.class_weight * sparse_cross_entropy(y, s_probs)
        return {"loss": loss, "rec": rec, "adv_ce": adv_ce, "adv_acc": accuracy(y, adv_probs),
                "s_acc": accuracy(y, s_probs)}

    def adversary_step(self, z, y) -> dict:
        """One update of the adversary: minimise its cross-entropy on (frozen) ``z``."""
        with tf.GradientTape() as tape:
            probs = self.adversary(z, training=True)
            ce = sparse_cross_entropy(y, probs)
        weights = self.adversary.trainable_weights
        self.adversary_optimizer.apply_gradients(zip(tape.gradient(ce, weights), weights,
                                                     strict=True))
        return {"adv_ce": ce, "adv_acc": accuracy(y, probs)}

    def autoencoder_step(self, x, y) -> dict:
        """One update of the Z-encoder and decoder (and S, unless frozen); the adversary is fixed."""
        with tf.GradientTape() as tape:
            values = self.compute_losses(x, y, training=True)
        weights = self.autoencoder_weights
        grads = tape.gradient(values["loss"], weights)
        self.optimizer.apply_gradients(
            (g, w) for g, w in zip(grads, weights, strict=True) if g is not None)
        return values

    def train_step(self, data):
        x, y = data
        if self.adversary_optimizer is None:
            raise RuntimeError("Compile with `model.compile(optimizer=..., adversary_optimizer=...)`.")
        z = ops.stop_gradient(self.z_encoder(x, training=True))

        def one_adversary_step(i):
            self.adversary_step(z, y)
            return (i + 1,)

        # a graph loop, not an unrolled Python loop: tracing stays fast for many steps
        tf.while_loop(lambda i: i < self.adversary_steps, one_adversary_step, (tf.constant(0),))
        return self._log(self.autoencoder_step(x, y))
