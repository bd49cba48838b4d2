"""JADE chapter models: shapes, the interface per domain, losses, the matching term."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers.core.interface import (
    Classifier,
    DisentanglingModel,
    decode_all,
    encode_all,
    predict_proba,
)
from helpers.core.losses import gaussian_kl
from helpers.core.training import train
from helpers.papers.jade import (
    JADE,
    JadeDomain,
    PairedClassifier,
    SingleClassifier,
    class_matching_divergence,
    domain_accuracy,
    other_class_partners,
    run_experiment,
    scarce_epochs,
    swap_legibility,
    train_judge,
)


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    xs = rng.uniform(0, 1, (n, 32, 32, 3)).astype("float32")
    ys = np.arange(n) % 10
    xa = rng.uniform(0, 1, (n, 28, 28, 1)).astype("float32")
    ya = (np.arange(n) + 3) % 10
    return xs, ys, xa, ya


def test_gaussian_kl_closed_form():
    m1, v1 = np.array([[0.5, -1.0]], "float32"), np.log(np.array([[2.0, 0.5]], "float32"))
    m2, v2 = np.zeros((1, 2), "float32"), np.zeros((1, 2), "float32")
    expected = 0.5 * np.sum(np.exp(v1) + m1 ** 2 - 1 - v1)
    assert float(gaussian_kl(m1, v1, m2, v2)[0]) == pytest.approx(expected, rel=1e-5)
    assert float(gaussian_kl(m1, v1, m1, v1)[0]) == pytest.approx(0.0, abs=1e-6)


def test_matching_only_counts_same_class_pairs():
    mean_a = np.array([[0.0], [5.0]], "float32")
    mean_b = np.array([[1.0], [-7.0]], "float32")
    zeros = np.zeros((2, 1), "float32")
    # pairs (0, 0) share class 3: symmetric KL of unit Gaussians 1 apart = 1.0
    value = class_matching_divergence(mean_a, zeros, np.array([3, 4]), mean_b, zeros,
                                      np.array([3, 5]))
    assert float(value) == pytest.approx(1.0, rel=1e-5)
    none = class_matching_divergence(mean_a, zeros, np.array([1, 2]), mean_b, zeros,
                                     np.array([3, 4]))
    assert float(none) == 0.0


def test_matching_equals_a_loop_over_same_class_pairs():
    rng = np.random.default_rng(3)
    m_a, v_a = rng.normal(size=(7, 4)).astype("float32"), rng.normal(size=(7, 4)).astype("float32")
    m_b, v_b = rng.normal(size=(5, 4)).astype("float32"), rng.normal(size=(5, 4)).astype("float32")
    y_a, y_b = rng.integers(0, 3, 7), rng.integers(0, 3, 5)

    def kl(m1, v1, m2, v2):
        return 0.5 * np.sum(v2 - v1 + (np.exp(v1) + (m1 - m2) ** 2) / np.exp(v2) - 1)

    pairs = [kl(m_a[i], v_a[i], m_b[j], v_b[j]) + kl(m_b[j], v_b[j], m_a[i], v_a[i])
             for i in range(7) for j in range(5) if y_a[i] == y_b[j]]
    assert pairs, "the seed must give some same-class pairs"
    value = float(class_matching_divergence(m_a, v_a, y_a, m_b, v_b, y_b))
    assert value == pytest.approx(np.mean(pairs), rel=1e-4)


def test_scarce_epochs_match_the_abundant_steps():
    # 40 abundant images / 10 = 4 steps per epoch; 20 scarce images = 2 steps per epoch
    assert scarce_epochs(20, 40, epochs=1, batch_size=10) == 2
    assert scarce_epochs(200, 600, epochs=1, batch_size=100) == 3
    assert scarce_epochs(1000, 100, epochs=1, batch_size=100) == 1  # never zero


def test_single_classifier_shapes_and_training():
    xs, ys, _, _ = _data()
    model = SingleClassifier(bottleneck=8, hidden=(16,))
    assert isinstance(model, Classifier) and not isinstance(model, DisentanglingModel)
    model.compile(optimizer="adam")
    log = train(model, xs, ys, epochs=2, batch_size=20)
    assert set(log.history) == {"loss", "acc"}
    p = predict_proba(model, xs)
    assert p.shape == (40, 10) and np.allclose(p.sum(1), 1, atol=1e-5)


def test_paired_classifier_uses_both_domains():
    xs, ys, xa, ya = _data()
    model = PairedClassifier(xs, ys, bottleneck=8, hidden=(16,))
    assert isinstance(model, Classifier) and not isinstance(model, DisentanglingModel)
    model.compile(optimizer="adam")
    log = train(model, xa, ya, epochs=1, batch_size=20)
    assert {"ce_scarce", "ce_abundant"} <= set(log.history)
    assert predict_proba(model, xs).shape == (40, 10)
    assert model.classify_domain(xa[:5], "abundant").shape == (5, 10)
    with pytest.raises(ValueError, match="domain"):
        model.classify_domain(xa[:5], "mnist")
    # train feeds it the abundant domain: scarce-domain images are refused, by name
    assert model.train_image_shape == xa.shape[1:]
    with pytest.raises(ValueError, match=r"expects \(28, 28, 1\) images; x has \(32, 32, 3\)"):
        train(model, xs, ys, epochs=1, batch_size=20)


def test_paired_classifier_rejects_bad_scarce_data():
    xs, ys, _, _ = _data()
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        PairedClassifier(xs * 255, ys)
    with pytest.raises(ValueError, match="lie in"):
        PairedClassifier(xs, ys + 5)


def test_jade_interface_for_both_domains_and_a_training_step():
    keras.utils.set_random_seed(0)
    xs, ys, xa, ya = _data()
    model = JADE(xs, ys, bottleneck=4, hidden=(16,))
    assert isinstance(model, DisentanglingModel)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    log = train(model, xa, ya, epochs=2, batch_size=20)
    for key in ("ce_scarce", "rec_abundant", "kl", "match"):
        assert np.isfinite(log.history[key]).all()
    s, z = encode_all(model, xs)
    assert s.shape == (40, 4) and z.shape == (40, 4)
    assert decode_all(model, s, z).shape == (40, 32, 32, 3)
    mnist_view = model.domain("abundant")
    assert isinstance(mnist_view, JadeDomain) and isinstance(mnist_view, DisentanglingModel)
    sa, za = encode_all(mnist_view, xa)
    assert sa.shape == (40, 4)
    # cross-domain: MNIST content with SVHN style and the other way round
    assert decode_all(model, sa, z).shape == (40, 32, 32, 3)
    assert decode_all(mnist_view, s, za).shape == (40, 28, 28, 1)
    assert predict_proba(mnist_view, xa).shape == (40, 10)
    # the view shares its parent's weights
    np.testing.assert_allclose(predict_proba(model.domain("scarce"), xs), predict_proba(model, xs),
                               atol=1e-6)
    with pytest.raises(ValueError, match="domain"):
        model.domain("mnist")


def test_the_classifier_reads_the_sampled_content_only_in_training():
    xs, ys, xa, ya = _data()
    with pytest.raises(ValueError, match='classifier_input must be "mean" or "sample"'):
        JADE(xs, ys, classifier_input="noisy")
    ce = {}
    for source in ("mean", "sample"):
        keras.utils.set_random_seed(0)
        model = JADE(xs, ys, bottleneck=4, hidden=(16,), dropout=0.0, seed=0,
                     classifier_input=source)
        ce[source] = {training: float(model.domain_terms(xa, ya, "abundant", training)["ce"])
                      for training in (False, True)}
    assert ce["mean"][False] == pytest.approx(ce["sample"][False])  # evaluation: the mean
    assert ce["mean"][True] != pytest.approx(ce["sample"][True], rel=1e-3)  # training: noise


def test_jade_matching_term_pulls_same_class_content_together():
    """With only the matching term switched on, it goes down when trained."""
    keras.utils.set_random_seed(1)
    xs, ys, xa, ya = _data(60)
    model = JADE(xs, ys, bottleneck=4, hidden=(16,), elbo_weight=0.0, match_weight=1.0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = float(model.compute_losses(xa, ya, training=False)["match"])
    train(model, xa, ya, epochs=8, batch_size=30)
    after = float(model.compute_losses(xa, ya, training=False)["match"])
    assert after < before


def test_run_experiment_matches_steps_and_evaluates():
    xs, ys, xa, ya = _data()
    single, log_s = run_experiment("single", xs[:20], ys[:20], xa, ya, epochs=1, batch_size=10,
                                   bottleneck=4, hidden=(8,))
    # 40 abundant images / 10 = 4 steps -> 2 epochs of the 20 scarce images
    assert log_s.epochs == 2
    jade, log_j = run_experiment("jade", xs, ys, xa, ya, epochs=1, batch_size=20, bottleneck=4,
                                 hidden=(8,))
    assert log_j.epochs == 1
    for model in (single, jade):
        acc = domain_accuracy(model, xs, ys)
        assert 0.0 <= acc <= 1.0
    assert 0.0 <= domain_accuracy(jade, xa, ya, "abundant") <= 1.0
    with pytest.raises(ValueError, match="kind"):
        run_experiment("triple", xs, ys, xa, ya, epochs=1)


class _SaysThree(Classifier):
    """A judge that reads a 3 in every image."""

    def classify(self, x, training=False):
        return keras.ops.one_hot(keras.ops.full((keras.ops.shape(x)[0],), 3), 10)


def test_swap_legibility_asks_each_domains_judge_for_the_intended_digit():
    keras.utils.set_random_seed(0)
    xs, _, xa, _ = _data()
    model = JADE(xs, np.arange(40) % 10, bottleneck=4, hidden=(16,))
    judges = {"scarce": _SaysThree(10, image_shape=(32, 32, 3)),
              "abundant": _SaysThree(10, image_shape=(28, 28, 1))}
    # every scarce image is a 3, every abundant one a 5: only the decoded images that
    # should show the scarce image's digit are read right
    out = swap_legibility(model, judges, xs, np.full(40, 3), xa, np.full(40, 5))
    assert out == {"rec_scarce": 1.0, "rec_abundant": 0.0, "swap_scarce": 0.0,
                   "swap_abundant": 1.0}


def test_partners_are_of_another_class_and_judges_train():
    y_from, y_pool = np.arange(50) % 10, np.arange(200) % 10
    idx = other_class_partners(y_from, y_pool, seed=1)
    assert idx.shape == (50,) and np.all(y_pool[idx] != y_from)
    assert np.array_equal(idx, other_class_partners(y_from, y_pool, seed=1))
    xs, ys, _, _ = _data(n=400)  # random images: no judge can learn their labels
    with pytest.raises(RuntimeError, match="no judge learnt the labels in 2 tries"):
        train_judge(xs, ys, steps=4, tries=2)
    easy = np.zeros((400, 32, 32, 3), np.float32)
    for i, c in enumerate(ys):  # the class is the row of a bright bar
        easy[i, 3 * c:3 * c + 3] = 1.0
    judge = train_judge(easy, ys, steps=60)
    assert isinstance(judge, SingleClassifier)
    assert domain_accuracy(judge, easy, ys) > 0.9
