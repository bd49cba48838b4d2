"""JADE: joint autoencoders for disentanglement (Banijamali et al. 2017).

A *scarce* labelled domain (SVHN, 1,000 labels) borrows from an *abundant*
one (MNIST) that shares the content factor (the digit).  Three models, as in
the paper's Section 3:

* :class:`SingleClassifier` — CNN -> bottleneck -> MLP -> softmax on the scarce
  domain alone (the benchmark);
* :class:`PairedClassifier` — one CNN per domain, one **shared** MLP; every
  training step sees a batch of each domain and minimises the sum of the two
  cross-entropies;
* :class:`JADE` — each CNN becomes a VAE encoder whose latent is twice the
  bottleneck; only the *content* half ``s`` feeds the shared MLP, a decoder per
  domain rebuilds the image from ``[s, z]``, and a matching term pulls the
  content posteriors of same-class images of the two domains together.

The abundant domain is what :func:`helpers.training.train` iterates over;
the scarce labelled set is small, so the paired models keep it and draw a
random scarce batch (seeded) inside every training step.  ``JADE`` implements
the common model interface for the scarce domain, and :meth:`JADE.domain`
gives a :class:`~helpers.interface.DisentanglingModel` view of either domain.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from keras import layers, ops

from .blocks import conv_decoder, conv_encoder, mlp
from .data import check_images, check_labels
from .interface import DisentanglingModel
from .losses import accuracy, bernoulli_nll, kl_to_standard_normal, sparse_cross_entropy

DOMAINS = ("scarce", "abundant")


# ------------------------------------------------------------------ building blocks
def cnn_features(out_dim: int, filters: Sequence[int] = (32, 64), kernel_size: int = 5,
                 activation: str | None = "relu", name: str | None = None) -> keras.Sequential:
    """The per-domain CNN: strided ReLU convolutions, flattened, a ``Dense(out_dim)`` head.

    Two stride-2 convolutions halve the image twice (32x32 -> 8x8, 28x28 -> 7x7),
    playing the part of the paper's pooling layers.
    """
    body = conv_encoder(filters=filters, strides=(2,) * len(filters), kernel_size=kernel_size,
                        dense=(), batch_norm=False)
    return keras.Sequential([*body.layers, layers.Dense(out_dim, activation=activation)],
                            name=name)


def cnn_decoder(image_shape: Sequence[int], filters: Sequence[int] = (32, 16),
                kernel_size: int = 3, name: str | None = None) -> keras.Sequential:
    """The mirror of :func:`cnn_features`: upsampling where the encoder downsampled.

    Lighter than the encoder by default (3x3 kernels, 32 and 16 channels): the
    decoders are most of JADE's compute, and a CPU budget is tight.
    """
    return conv_decoder(image_shape, filters=filters, upsample=(True,) * len(filters),
                        kernel_size=kernel_size, name=name)


def shared_mlp(num_classes: int, hidden: Sequence[int] = (256,), dropout: float = 0.5,
               name: str = "shared_mlp") -> keras.Sequential:
    """Fully connected + ReLU + dropout blocks ending in a softmax (shared by the domains)."""
    return mlp(hidden, dropout=dropout, output_units=num_classes, output_activation="softmax",
               name=name)


def gaussian_kl(mean_p, log_var_p, mean_q, log_var_q):
    """``KL(N(mean_p, var_p) || N(mean_q, var_q))`` of diagonal Gaussians, summed over the last axis."""
    return 0.5 * ops.sum(
        log_var_q - log_var_p
        + (ops.exp(log_var_p) + ops.square(mean_p - mean_q)) / ops.exp(log_var_q) - 1.0,
        axis=-1,
    )


def class_matching_divergence(mean_a, log_var_a, y_a, mean_b, log_var_b, y_b):
    """Mean symmetric KL between content posteriors of same-class pairs across domains.

    For every pair ``(i, j)`` with ``y_a[i] == y_b[j]`` it computes
    ``KL(q_a,i || q_b,j) + KL(q_b,j || q_a,i)`` in closed form and averages over
    those pairs (zero when the two batches share no class).
    """
    ma, va = ops.expand_dims(mean_a, 1), ops.expand_dims(log_var_a, 1)
    mb, vb = ops.expand_dims(mean_b, 0), ops.expand_dims(log_var_b, 0)
    sym = gaussian_kl(ma, va, mb, vb) + gaussian_kl(mb, vb, ma, va)  # (Na, Nb)
    same = ops.cast(ops.equal(ops.expand_dims(ops.cast(y_a, "int32"), 1),
                              ops.expand_dims(ops.cast(y_b, "int32"), 0)), sym.dtype)
    return ops.sum(sym * same) / ops.maximum(ops.sum(same), 1.0)


# ---------------------------------------------------------------------- the models
class SingleClassifier(DisentanglingModel):
    """CNN -> bottleneck -> shared-style MLP -> softmax, trained on one domain only.

    A classifier, not an autoencoder: it has no ``encode``/``decode``.
    """

    def __init__(self, image_shape: Sequence[int] = (32, 32, 3), num_classes: int = 10,
                 bottleneck: int = 32, hidden: Sequence[int] = (256,), dropout: float = 0.5,
                 **kwargs) -> None:
        super().__init__(num_classes, content_dim=bottleneck, style_dim=0, image_shape=image_shape,
                         loss_names=("loss", "acc"), **kwargs)
        self.cnn = cnn_features(bottleneck, name="cnn")
        self.head = shared_mlp(num_classes, hidden, dropout)

    def classify(self, x, training=False):
        return self.head(self.cnn(x, training=training), training=training)

    def compute_losses(self, x, y, training=False):
        probs = self.classify(x, training=training)
        return {"loss": sparse_cross_entropy(y, probs), "acc": accuracy(y, probs)}


class _ScarceSampler:
    """Keeps the small scarce labelled set and draws a seeded random batch of it."""

    def _init_scarce(self, x_scarce, y_scarce, seed: int) -> None:
        x_scarce = check_images(x_scarce, "x_scarce", channels=self.image_shape[-1])
        if tuple(x_scarce.shape[1:]) != self.image_shape:
            raise ValueError(f"x_scarce has images of shape {x_scarce.shape[1:]}; the model was "
                             f"built for {self.image_shape}.")
        y_scarce = check_labels(y_scarce, self.num_classes, "y_scarce", n=len(x_scarce))
        self.n_scarce = len(x_scarce)
        self.scarce_x = keras.Variable(x_scarce, trainable=False, name="scarce_x")
        self.scarce_y = keras.Variable(y_scarce.astype("int32"), trainable=False, name="scarce_y")
        self.sampler_seed = keras.random.SeedGenerator(seed)

    def scarce_batch(self, batch_size):
        """A random batch ``(x, y)`` of the scarce labelled set (with replacement)."""
        idx = keras.random.randint((batch_size,), 0, self.n_scarce, seed=self.sampler_seed)
        return ops.take(self.scarce_x, idx, axis=0), ops.take(self.scarce_y, idx, axis=0)


class PairedClassifier(_ScarceSampler, DisentanglingModel):
    """One CNN per domain feeding one shared MLP; loss = sum of both cross-entropies.

    Train it with ``train(model, x_abundant, y_abundant, ...)``: each step takes
    the abundant batch it is given plus an equally large random batch of the
    scarce set passed here.  ``classify`` is the scarce domain's classifier;
    ``classify_domain(x, "abundant")`` the other one.
    """

    def __init__(self, x_scarce: np.ndarray, y_scarce: np.ndarray,
                 abundant_shape: Sequence[int] = (28, 28, 1), num_classes: int = 10,
                 bottleneck: int = 32, hidden: Sequence[int] = (256,), dropout: float = 0.5,
                 seed: int = 0, **kwargs) -> None:
        super().__init__(num_classes, content_dim=bottleneck, style_dim=0,
                         image_shape=np.shape(x_scarce)[1:],
                         loss_names=("loss", "ce_scarce", "ce_abundant", "acc_scarce",
                                     "acc_abundant"), **kwargs)
        self.abundant_shape = tuple(int(d) for d in abundant_shape)
        self.cnn_scarce = cnn_features(bottleneck, name="cnn_scarce")
        self.cnn_abundant = cnn_features(bottleneck, name="cnn_abundant")
        self.head = shared_mlp(num_classes, hidden, dropout)
        self._init_scarce(x_scarce, y_scarce, seed)

    def classify_domain(self, x, domain: str, training=False):
        """Class probabilities for images of ``domain`` ("scarce" or "abundant")."""
        cnn = {"scarce": self.cnn_scarce, "abundant": self.cnn_abundant}[_check_domain(domain)]
        return self.head(cnn(x, training=training), training=training)

    def classify(self, x, training=False):
        return self.classify_domain(x, "scarce", training)

    def compute_losses(self, x, y, training=False):
        xs, ys = self.scarce_batch(ops.shape(x)[0])
        ps = self.classify_domain(xs, "scarce", training)
        pa = self.classify_domain(x, "abundant", training)
        ce_s, ce_a = sparse_cross_entropy(ys, ps), sparse_cross_entropy(y, pa)
        return {"loss": ce_s + ce_a, "ce_scarce": ce_s, "ce_abundant": ce_a,
                "acc_scarce": accuracy(ys, ps), "acc_abundant": accuracy(y, pa)}


def _check_domain(domain: str) -> str:
    if domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}; got {domain!r}.")
    return domain


class JADE(_ScarceSampler, DisentanglingModel):
    """Joint VAEs of two domains with a shared content classifier and matched content.

    Each domain ``d`` has an encoder ``q_d(s, z | x)`` (diagonal Gaussian,
    ``2 * bottleneck`` units: content ``s`` first, style ``z`` second) and a
    decoder ``p_d(x | s, z)``.  The loss of one step is::

        CE_scarce + CE_abundant
        + elbo_weight * (NLL + KL)_scarce + elbo_weight * (NLL + KL)_abundant
        + match_weight * mean over same-class pairs of symmetric KL(q_scarce(s) , q_abundant(s))

    Args:
        x_scarce, y_scarce: the scarce labelled set (sampled inside each step).
        abundant_shape: image shape of the abundant domain.
        bottleneck: size of the content code (and of the style code).
        elbo_weight: weight of the two ELBO terms (reconstruction NLL is summed
            over pixels, so a small weight keeps it from drowning the classifier).
        match_weight: weight of the class-conditional matching term.
        kl_weight: weight of the KL-to-prior inside each ELBO.
    """

    def __init__(self, x_scarce: np.ndarray, y_scarce: np.ndarray,
                 abundant_shape: Sequence[int] = (28, 28, 1), num_classes: int = 10,
                 bottleneck: int = 32, hidden: Sequence[int] = (256,), dropout: float = 0.5,
                 elbo_weight: float = 0.003, match_weight: float = 0.1, kl_weight: float = 1.0,
                 seed: int = 0, **kwargs) -> None:
        super().__init__(num_classes, content_dim=bottleneck, style_dim=bottleneck,
                         image_shape=np.shape(x_scarce)[1:],
                         loss_names=("loss", "ce_scarce", "ce_abundant", "rec_scarce",
                                     "rec_abundant", "kl", "match", "acc_scarce",
                                     "acc_abundant"), **kwargs)
        self.abundant_shape = tuple(int(d) for d in abundant_shape)
        self.elbo_weight, self.match_weight = float(elbo_weight), float(match_weight)
        self.kl_weight = float(kl_weight)
        latent = 2 * bottleneck
        self.encoders = {
            "scarce": cnn_features(2 * latent, activation=None, name="enc_scarce"),
            "abundant": cnn_features(2 * latent, activation=None, name="enc_abundant"),
        }
        self.decoders = {
            "scarce": cnn_decoder(self.image_shape, name="dec_scarce"),
            "abundant": cnn_decoder(self.abundant_shape, name="dec_abundant"),
        }
        self.head = shared_mlp(num_classes, hidden, dropout)
        self.noise_seed = keras.random.SeedGenerator(seed + 1)
        self._init_scarce(x_scarce, y_scarce, seed)

    # ----------------------------------------------------------- per-domain parts
    def posterior(self, x, domain: str = "scarce", training=False):
        """Mean and log-variance of ``q(s, z | x)``, each ``(N, 2 * bottleneck)``."""
        h = self.encoders[_check_domain(domain)](x, training=training)
        mean, log_var = ops.split(h, 2, axis=-1)
        return mean, ops.clip(log_var, -8.0, 8.0)

    def split(self, latent):
        """``(s, z)``: the content half and the style half of a latent vector."""
        return latent[:, : self.content_dim], latent[:, self.content_dim:]

    def encode_domain(self, x, domain: str, training=False):
        """Posterior means of content and style for images of ``domain``."""
        mean, _ = self.posterior(x, domain, training)
        return self.split(mean)

    def decode_domain(self, s, z, domain: str, training=False):
        """Images of ``domain`` with content ``s`` and style ``z``."""
        return self.decoders[_check_domain(domain)](ops.concatenate([s, z], axis=-1),
                                                    training=training)

    def classify_domain(self, x, domain: str, training=False):
        s, _ = self.encode_domain(x, domain, training)
        return self.head(s, training=training)

    # -------------------------------------------- the common interface (scarce)
    def encode(self, x, training=False):
        return self.encode_domain(x, "scarce", training)

    def decode(self, s, z, training=False):
        return self.decode_domain(s, z, "scarce", training)

    def classify(self, x, training=False):
        return self.classify_domain(x, "scarce", training)

    def domain(self, name: str) -> JadeDomain:
        """A :class:`~helpers.interface.DisentanglingModel` view of one domain."""
        return JadeDomain(self, _check_domain(name))

    # ------------------------------------------------------------------ training
    def _domain_terms(self, x, y, domain: str, training):
        mean, log_var = self.posterior(x, domain, training)
        eps = keras.random.normal(ops.shape(mean), seed=self.noise_seed)
        latent = mean + ops.exp(0.5 * log_var) * eps if training else mean
        s, z = self.split(latent)
        probs = self.head(mean[:, : self.content_dim], training=training)
        x_hat = self.decode_domain(s, z, domain, training)
        return {"mean": mean, "log_var": log_var, "probs": probs,
                "ce": sparse_cross_entropy(y, probs), "rec": bernoulli_nll(x, x_hat),
                "kl": kl_to_standard_normal(mean, log_var)}

    def compute_losses(self, x, y, training=False):
        xs, ys = self.scarce_batch(ops.shape(x)[0])
        sc = self._domain_terms(xs, ys, "scarce", training)
        ab = self._domain_terms(x, y, "abundant", training)
        c = self.content_dim
        match = class_matching_divergence(sc["mean"][:, :c], sc["log_var"][:, :c], ys,
                                          ab["mean"][:, :c], ab["log_var"][:, :c], y)
        kl = sc["kl"] + ab["kl"]
        elbo = sc["rec"] + ab["rec"] + self.kl_weight * kl
        loss = sc["ce"] + ab["ce"] + self.elbo_weight * elbo + self.match_weight * match
        return {"loss": loss, "ce_scarce": sc["ce"], "ce_abundant": ab["ce"],
                "rec_scarce": sc["rec"], "rec_abundant": ab["rec"], "kl": kl, "match": match,
                "acc_scarce": accuracy(ys, sc["probs"]), "acc_abundant": accuracy(y, ab["probs"])}


class JadeDomain(DisentanglingModel):
    """One domain of a trained :class:`JADE`, behind the common model interface.

    It shares every layer with its parent (nothing is copied or retrained).
    """

    def __init__(self, parent: JADE, domain: str) -> None:
        shape = parent.image_shape if domain == "scarce" else parent.abundant_shape
        super().__init__(parent.num_classes, parent.content_dim, parent.style_dim, shape,
                         name=f"jade_{domain}")
        self.parent_model, self.domain_name = parent, domain

    def encode(self, x, training=False):
        return self.parent_model.encode_domain(x, self.domain_name, training)

    def decode(self, s, z, training=False):
        return self.parent_model.decode_domain(s, z, self.domain_name, training)

    def classify(self, x, training=False):
        return self.parent_model.classify_domain(x, self.domain_name, training)


# ------------------------------------------------------------------ experiments
MODEL_KINDS = ("single", "paired", "jade")


def run_experiment(kind: str, x_scarce: np.ndarray, y_scarce: np.ndarray,
                   x_abundant: np.ndarray, y_abundant: np.ndarray, *, epochs: int,
                   batch_size: int = 100, seed: int = 0, learning_rate: float = 1e-3,
                   label: str | None = None, **model_kwargs):
    """Build, compile and train one model of the chapter; return ``(model, log)``.

    ``epochs`` counts passes over the *abundant* set.  The single classifier
    never sees it, so it gets the same number of optimiser steps on the scarce
    set instead (``epochs * ceil(N_abundant / batch_size)`` steps): every model
    takes as many gradient steps on scarce-domain batches as the others.
    """
    from .training import set_seed, train

    if kind not in MODEL_KINDS:
        raise ValueError(f"kind must be one of {MODEL_KINDS}; got {kind!r}.")
    set_seed(seed)
    label = label or f"{kind} · seed {seed}"
    if kind == "single":
        model = SingleClassifier(image_shape=np.shape(x_scarce)[1:], **model_kwargs)
        steps = epochs * int(np.ceil(len(x_abundant) / batch_size))
        per_epoch = int(np.ceil(len(x_scarce) / batch_size))
        data, n_epochs = (x_scarce, y_scarce), max(1, int(round(steps / per_epoch)))
    else:
        cls = PairedClassifier if kind == "paired" else JADE
        model = cls(x_scarce, y_scarce, abundant_shape=np.shape(x_abundant)[1:], seed=seed,
                    **model_kwargs)
        data, n_epochs = (x_abundant, y_abundant), epochs
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), jit_compile=True)
    log = train(model, *data, epochs=n_epochs, batch_size=batch_size, seed=seed, label=label)
    return model, log


def domain_accuracy(model: DisentanglingModel, x: np.ndarray, y: np.ndarray,
                    domain: str = "scarce", batch_size: int = 1000) -> float:
    """Test accuracy of ``model`` on images of ``domain`` (the single model: scarce only)."""
    _check_domain(domain)
    fn = (model.classify if domain == "scarce" else
          lambda xb: model.classify_domain(xb, domain))
    probs = np.concatenate([ops.convert_to_numpy(fn(ops.convert_to_tensor(x[i:i + batch_size])))
                            for i in range(0, len(x), batch_size)])
    return float(np.mean(probs.argmax(axis=1) == np.asarray(y)))
