"""The k-sparse conditional VAE chapter: a top-k gate between a classifier and a decoder.

* :class:`KSparse` — a Keras layer that keeps the ``k`` largest values along
  the last axis and zeros the rest (Makhzani & Frey's k-sparse non-linearity).
* :class:`KAnnealing` — a callback that lowers ``k`` from a large value to the
  target during the first epochs.
* :class:`VAE` — a plain VAE (no classifier; the "no gate at all" baseline).
* :class:`KSparseCVAE` — the VAE plus a classifier ``p(c|x)`` whose output,
  passed through the k-sparse gate, is concatenated with ``z`` and given to
  the decoder.

Both models implement :class:`helpers.interface.DisentanglingModel` and share
the encoder, the reparameterised style code and the decoder (in :class:`VAE`).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers, ops

from .blocks import image_decoder_mlp, image_encoder_mlp, mlp
from .interface import DisentanglingModel, encode_all
from .losses import accuracy, bernoulli_nll, kl_to_standard_normal, sparse_cross_entropy

GRADIENT_MODES = ("masked", "straight_through")


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k must be a positive integer; got {k!r} of type {type(k).__name__}.")
    if k < 1:
        raise ValueError(f"k must be at least 1 (keep at least one unit); got {k}.")
    return int(k)


class KSparse(layers.Layer):
    """Keep the ``k`` largest values along the last axis, set the others to zero.

    Ties are broken by position, so every row has exactly ``k`` kept units
    (``min(k, width)``).  ``k`` lives in a non-trainable variable: it can be
    changed during training (see :class:`KAnnealing`) without re-tracing.
    When ``k`` is at least the width of the input the layer is the identity.

    Args:
        k: how many units to keep (a positive integer).
        gradient: ``"masked"`` (default) — the gradient flows only to the
            kept units, exactly the derivative of ``x * mask``;
            ``"straight_through"`` — the forward pass is masked but the
            gradient flows to every unit as if there were no gate.
    """

    def __init__(self, k: int, gradient: str = "masked", **kwargs) -> None:
        super().__init__(**kwargs)
        if gradient not in GRADIENT_MODES:
            raise ValueError(f"gradient must be one of {GRADIENT_MODES}; got {gradient!r}.")
        self.gradient = gradient
        self._k = self.add_weight(shape=(), initializer=keras.initializers.Constant(_check_k(k)),
                                  dtype="int32", trainable=False, name="k")

    @property
    def k(self) -> int:
        """The current number of kept units (assigning validates and updates it)."""
        return int(ops.convert_to_numpy(self._k))

    @k.setter
    def k(self, value: int) -> None:
        self._k.assign(_check_k(value))

    def mask(self, x):
        """1.0 where a unit is among the ``k`` largest of its row, else 0.0."""
        order = ops.argsort(-x, axis=-1)           # indices, largest value first
        rank = ops.argsort(order, axis=-1)          # rank of every unit (0 = largest)
        return ops.cast(ops.less(rank, ops.cast(self._k, rank.dtype)), x.dtype)

    def call(self, x):
        mask = ops.stop_gradient(self.mask(x))
        kept = x * mask
        if self.gradient == "straight_through":
            return x + ops.stop_gradient(kept - x)
        return kept

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "k": self.k, "gradient": self.gradient}


class KAnnealing(keras.callbacks.Callback):
    """Lower a :class:`KSparse` layer's ``k`` linearly from ``start_k`` to ``final_k``.

    Makhzani & Frey start with a large ``k`` so every unit gets gradient early
    on, then tighten it.  ``k`` reaches ``final_k`` after ``anneal_epochs``
    epochs and stays there.

    Args:
        layer: the gate to schedule (e.g. ``model.gate``).
        start_k, final_k: the first and the last value of ``k``.
        anneal_epochs: epochs over which ``k`` decreases (at least 1).
    """

    def __init__(self, layer: KSparse, start_k: int, final_k: int, anneal_epochs: int) -> None:
        super().__init__()
        if not isinstance(layer, KSparse):
            raise TypeError(f"layer must be a KSparse layer; got {type(layer).__name__}.")
        self.layer, self.start_k, self.final_k = layer, _check_k(start_k), _check_k(final_k)
        if self.final_k > self.start_k:
            raise ValueError(f"annealing lowers k: start_k ({start_k}) must be >= final_k "
                             f"({final_k}).")
        if anneal_epochs < 1:
            raise ValueError(f"anneal_epochs must be at least 1; got {anneal_epochs}.")
        self.anneal_epochs = int(anneal_epochs)
        self.schedule: list[int] = []

    def k_at(self, epoch: int) -> int:
        """The ``k`` used during (0-based) ``epoch``."""
        frac = min(1.0, epoch / self.anneal_epochs)
        return int(round(self.start_k + frac * (self.final_k - self.start_k)))

    def on_epoch_begin(self, epoch, logs=None):
        self.layer.k = self.k_at(epoch)
        self.schedule.append(self.layer.k)


class VAE(DisentanglingModel):
    """A plain VAE ``q(z|x) -> p(x|z)``: no classifier, an empty content code.

    Loss (the negative ELBO with a weight ``beta`` on the KL term)::

        rec(x, x_hat) + beta * KL(q(z|x) || N(0, I))

    ``encode`` returns the posterior mean as ``z`` (no sampling at test time).

    Args:
        style_dim: size of ``z``.
        hidden: widths of the encoder's hidden layers (the decoder mirrors them).
        beta: weight of the KL term (1 = the ELBO).
    """

    def __init__(self, style_dim: int = 8, hidden: Sequence[int] = (512, 256),
                 beta: float = 1.0, image_shape: Sequence[int] = (28, 28, 1),
                 num_classes: int = 10, content_dim: int = 0,
                 loss_names: Sequence[str] = ("loss", "rec", "kl"), **kwargs) -> None:
        super().__init__(num_classes=num_classes, content_dim=content_dim, style_dim=style_dim,
                         image_shape=image_shape, loss_names=loss_names, **kwargs)
        if beta < 0:
            raise ValueError(f"beta (the KL weight) must be >= 0; got {beta}.")
        self.beta = float(beta)
        self.body = image_encoder_mlp(hidden, name="encoder")
        self.to_z_mean = mlp([], output_units=style_dim, name="z_mean")
        self.to_z_log_var = mlp([], output_units=style_dim, name="z_log_var")
        self.decoder = image_decoder_mlp(tuple(reversed(hidden)), image_shape, name="decoder")
        self.seed_generator = keras.random.SeedGenerator(0)

    # --------------------------------------------------------------- pieces
    def posterior(self, h, training=False):
        """Mean and log-variance of ``q(z|x)`` from the encoder features ``h``."""
        return self.to_z_mean(h, training=training), self.to_z_log_var(h, training=training)

    def sample_z(self, mean, log_var):
        """The reparameterisation trick: ``z = mean + exp(log_var / 2) * eps``."""
        eps = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * eps

    def content(self, h, training=False):
        """The content code ``s`` from encoder features (empty for a plain VAE)."""
        return ops.zeros((ops.shape(h)[0], 0), dtype=h.dtype)

    # ------------------------------------------------------------- interface
    def encode(self, x, training=False):
        h = self.body(x, training=training)
        mean, _ = self.posterior(h, training=training)
        return self.content(h, training=training), mean

    def decode(self, s, z, training=False):
        return self.decoder(ops.concatenate([s, z], axis=-1), training=training)

    def classify(self, x, training=False):
        raise NotImplementedError(
            "A plain VAE never sees labels, so it cannot classify. Probe its code instead "
            "(helpers.metrics.linear_probe)."
        )

    def content_for_label(self, labels):
        raise NotImplementedError("A plain VAE has no content code.")

    # --------------------------------------------------------------- losses
    def elbo_terms(self, x, s, h, training=False) -> dict:
        """Reconstruction and KL of one pass, with freshly sampled ``z``."""
        mean, log_var = self.posterior(h, training=training)
        z = self.sample_z(mean, log_var)
        rec = bernoulli_nll(x, self.decode(s, z, training=training))
        kl = kl_to_standard_normal(mean, log_var)
        return {"rec": rec, "kl": kl}

    def compute_losses(self, x, y, training=False):
        h = self.body(x, training=training)
        terms = self.elbo_terms(x, self.content(h, training=training), h, training=training)
        return {"loss": terms["rec"] + self.beta * terms["kl"], **terms}


class KSparseCVAE(VAE):
    """A conditional VAE whose condition is the classifier's output through a k-sparse gate.

    ``x -> encoder -> (q(z|x), p(c|x))``; ``s = KSparse_k(p(c|x))``; the decoder
    draws ``x`` from ``[s, z]``.  Loss::

        rec(x, x_hat) + beta * KL(q(z|x) || N(0, I)) + gamma * CE(y, p(c|x))

    With ``k = 1`` only the winning class's probability reaches the decoder;
    with ``k >= num_classes`` the gate is open and the whole probability
    vector does.  Content ``s`` = the gated class code, style ``z`` = the
    posterior mean.

    Args:
        k: units the gate keeps (``>= num_classes`` = no gating).
        gamma: weight of the classification cross-entropy.
        gradient: the gate's gradient mode (see :class:`KSparse`).
        Others as in :class:`VAE`.
    """

    def __init__(self, k: int = 1, style_dim: int = 8, hidden: Sequence[int] = (512, 256),
                 beta: float = 1.0, gamma: float = 10.0, gradient: str = "masked",
                 image_shape: Sequence[int] = (28, 28, 1), num_classes: int = 10,
                 **kwargs) -> None:
        super().__init__(style_dim=style_dim, hidden=hidden, beta=beta, image_shape=image_shape,
                         num_classes=num_classes, content_dim=num_classes,
                         loss_names=("loss", "rec", "kl", "ce", "acc"), **kwargs)
        if gamma < 0:
            raise ValueError(f"gamma (the classification weight) must be >= 0; got {gamma}.")
        self.gamma = float(gamma)
        self.to_c = mlp([], output_units=num_classes, output_activation="softmax", name="c")
        self.gate = KSparse(k, gradient=gradient, name="gate")

    def content(self, h, training=False):
        return self.gate(self.to_c(h, training=training))

    def classify(self, x, training=False):
        return self.to_c(self.body(x, training=training), training=training)

    def content_for_label(self, labels):
        """The gated code of a perfectly confident classifier: the one-hot vector."""
        return ops.one_hot(ops.convert_to_tensor(labels), self.num_classes)

    def compute_losses(self, x, y, training=False):
        h = self.body(x, training=training)
        probs = self.to_c(h, training=training)
        terms = self.elbo_terms(x, self.gate(probs), h, training=training)
        ce = sparse_cross_entropy(y, probs)
        loss = terms["rec"] + self.beta * terms["kl"] + self.gamma * ce
        return {"loss": loss, **terms, "ce": ce, "acc": accuracy(y, probs)}


def negative_elbo(model: VAE, x: np.ndarray, batch_size: int = 1000, seed: int = 0) -> float:
    """Mean negative ELBO per image (nats): reconstruction NLL + KL, one ``z`` sample each.

    For :class:`KSparseCVAE` it is the bound on ``-log p(x | s)`` given the gated
    class code the model predicts for ``x``.
    """
    keras.utils.set_random_seed(seed)
    total = 0.0
    for start in range(0, len(x), batch_size):
        xb = ops.convert_to_tensor(x[start:start + batch_size])
        h = model.body(xb, training=False)
        terms = model.elbo_terms(xb, model.content(h), h)
        total += float(terms["rec"] + terms["kl"]) * len(xb)
    return total / len(x)


def most_label_informative_unit(model: DisentanglingModel, x: np.ndarray, y: np.ndarray) -> int:
    """The style unit whose class means differ most (largest between/within variance ratio).

    Sweeping this unit is the quickest way to see whether ``z`` stores the class.
    """
    _, z = encode_all(model, x)
    y = np.asarray(y)
    means = np.stack([z[y == c].mean(axis=0) for c in np.unique(y)])
    within = np.mean([z[y == c].var(axis=0) for c in np.unique(y)], axis=0)
    return int(np.argmax(means.var(axis=0) / (within + 1e-8)))


def morph_rows(model: DisentanglingModel, x: np.ndarray, unit: int,
               values: Sequence[float]) -> np.ndarray:
    """For each image: keep its content ``s`` and other style units, sweep ``z[unit]``.

    Returns images shaped ``(len(x), len(values), H, W, C)`` for
    :func:`helpers.plots.image_grid`.
    """
    from .interface import decode_all

    s, z = encode_all(model, x)
    values = np.asarray(values, np.float32)
    z_sweep = np.repeat(z, len(values), axis=0)
    z_sweep[:, unit] = np.tile(values, len(x))
    imgs = decode_all(model, np.repeat(s, len(values), axis=0), z_sweep)
    return imgs.reshape(len(x), len(values), *imgs.shape[1:])


def gate_explorer(models: dict[str, DisentanglingModel], z_range: float = 3.0,
                  max_sliders: int = 8):
    """A variant picker (e.g. ``{"k=1": m1, "k=3": m3}``) over the course's latent explorer.

    Each variant gets :func:`helpers.widgets.latent_explorer` (sliders over ``z``
    and a class picker); the picker swaps which one is shown.
    """
    import ipywidgets as W

    from .widgets import latent_explorer

    if not models:
        raise ValueError("gate_explorer needs at least one model, e.g. {'k=1': model}.")
    names = list(models)
    built: dict[str, W.Widget] = {}
    picker = W.ToggleButtons(options=names, value=names[0], description="gate")
    holder = W.Box()

    def show(_=None):
        name = picker.value
        if name not in built:
            built[name] = latent_explorer(models[name], z_range=z_range, max_sliders=max_sliders)
        holder.children = (built[name],)

    picker.observe(show, names="value")
    show()
    return W.VBox([picker, holder])
