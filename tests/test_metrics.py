import math
import warnings

import numpy as np
import pytest
from keras import ops
from sklearn.neural_network import MLPClassifier

from helpers.core.interface import Classifier, DisentanglingModel, encode_all
from helpers.eval import metrics
from helpers.eval.metrics import (
    COLUMNS,
    chance_accuracy,
    classification_accuracy,
    latent_variances,
    linear_probe,
    mlp_probe,
    most_label_informative_unit,
    reconstruction_mse,
    scorecard,
    swap_measurements,
    variance_ratio,
)
from helpers.papers.warmup import ConditionalAutoencoder


def _blobs(n=400, informative=True, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    f = rng.normal(size=(n, 3))
    if informative:
        f[:, 0] += 8 * y
    return f, y


def test_linear_probe_reads_informative_features():
    f, y = _blobs()
    assert linear_probe(f[:300], y[:300], f[300:], y[300:]) > 0.9


def test_probes_sit_near_chance_on_noise():
    f, y = _blobs(informative=False)
    assert linear_probe(f[:300], y[:300], f[300:], y[300:]) < 0.45
    assert mlp_probe(f[:300], y[:300], f[300:], y[300:], hidden=(16,), max_iter=50) < 0.45


def test_empty_code_gives_chance():
    y = np.array([0, 0, 1, 2])
    assert linear_probe(np.zeros((4, 0)), y, np.zeros((4, 0)), y) == chance_accuracy(y) == 0.5


def test_probe_input_errors():
    f, y = _blobs(n=20)
    with pytest.raises(ValueError, match="same number of rows"):
        linear_probe(f, y[:5], f, y)
    bad = f.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        linear_probe(bad, y, f, y)


def test_scorecard_numbers_and_ranges(tiny_images):
    x, y = tiny_images
    model = ConditionalAutoencoder(style_dim=2, hidden=(8,))
    card = scorecard(model, x, y, x, y, judge=model)
    assert set(card) == {"accuracy", "z_linear", "z_mlp", "reconstruction_mse", "follows_content",
                         "follows_style", "z_effect", "chance"}
    assert set(card) <= set(COLUMNS)  # one vocabulary
    for key in ("accuracy", "z_linear", "z_mlp", "follows_content", "follows_style"):
        assert 0.0 <= card[key] <= 1.0, key
    # a swap never shows both digits at once: content and style image labels differ
    assert card["follows_content"] + card["follows_style"] <= 1.0 + 1e-9
    assert card["z_effect"] > 0
    np.testing.assert_allclose(card["reconstruction_mse"], reconstruction_mse(model, x), rtol=1e-6)


def test_swap_measurements_reject_single_class_and_length_mismatch(tiny_images):
    x, y = tiny_images
    model = ConditionalAutoencoder(style_dim=2, hidden=(8,))
    with pytest.raises(ValueError, match="single class"):
        swap_measurements(model, x, np.zeros_like(y), judge=model)
    with pytest.raises(ValueError, match="same length"):
        swap_measurements(model, x, y[:-1], judge=model)


def test_scorecard_options(tiny_images):
    x, y = tiny_images
    model = ConditionalAutoencoder(style_dim=2, hidden=(8,))
    card = scorecard(model, x, y, x, y, probes=("linear",), content_probes=True)
    assert set(card) == {"accuracy", "s_linear", "z_linear", "reconstruction_mse", "z_effect",
                         "chance"}  # no judge: no follows_* columns
    with pytest.raises(ValueError, match="probes must be"):
        scorecard(model, x, y, x, y, probes=("svm",))


# ------------------------------------------------------------------ oracle models
# Models with known answers, to check that the metrics report what the codes hold.
# An image of class c is a bar (value 1) on row c over a flat background b in
# [0, 0.4] that has nothing to do with the label: the class and the "style" b
# can be read off every image exactly, and drawn back exactly.
CLASSES, WIDTH = 4, 5


def _bar_images(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, n)
    b = rng.uniform(0.0, 0.4, n).astype(np.float32)
    x = np.repeat(b[:, None, None, None], CLASSES, axis=1).repeat(WIDTH, axis=2)
    x[np.arange(n), y] = 1.0
    return x.astype(np.float32), y


def _read_class(x):
    return ops.argmax(ops.mean(x[..., 0], axis=2), axis=-1)  # the bright row


def _draw(onehot, background):
    bar = ops.reshape(onehot, (-1, CLASSES, 1, 1))
    back = ops.reshape(background, (-1, 1, 1, 1))
    return back + (1.0 - back) * ops.tile(bar, (1, 1, WIDTH, 1))


class BarJudge(Classifier):
    """Classifies bar images perfectly: the class is the brightest row."""

    def __init__(self):
        super().__init__(num_classes=CLASSES, image_shape=(CLASSES, WIDTH, 1))

    def classify(self, x, training=False):
        return ops.one_hot(_read_class(x), CLASSES)


class LabelIn(DisentanglingModel):
    """A perfect model that puts the label (one-hot) in ``s`` or in ``z``.

    ``where="s"``: a disentangled model — content = label, style = background.
    ``where="z"``: the label sits in the *style* code and the decoder draws the
    digit from ``z``, so every swap shows the style image's class.
    """

    def __init__(self, where):
        dims = {"s": (CLASSES, 1), "z": (1, CLASSES)}[where]
        super().__init__(num_classes=CLASSES, content_dim=dims[0], style_dim=dims[1],
                         image_shape=(CLASSES, WIDTH, 1))
        self.where = where

    def encode(self, x, training=False):
        label = ops.one_hot(_read_class(x), CLASSES)
        background = ops.expand_dims(ops.min(x, axis=(1, 2, 3)), -1)
        return (label, background) if self.where == "s" else (background, label)

    def decode(self, s, z, training=False):
        label, background = (s, z) if self.where == "s" else (z, s)
        return _draw(label, background)

    def classify(self, x, training=False):
        return ops.one_hot(_read_class(x), CLASSES)


@pytest.fixture(scope="module")
def bars():
    x_train, y_train = _bar_images(300, seed=1)
    x_test, y_test = _bar_images(200, seed=2)
    return x_train, y_train, x_test, y_test


def test_oracles_are_what_they_claim(bars):
    x, y = bars[2], bars[3]
    judge = BarJudge()
    assert float(np.mean(ops.convert_to_numpy(judge.classify(x)).argmax(1) == y)) == 1.0
    for where in "sz":
        assert reconstruction_mse(LabelIn(where), x) < 1e-12, where


def test_swaps_follow_the_code_that_holds_the_label(bars):
    """Label in z: every swap shows the style image's class; label in s: the content image's."""
    x, y = bars[2], bars[3]
    judge = BarJudge()
    in_z = swap_measurements(LabelIn("z"), x, y, judge=judge)
    assert in_z["follows_style"] == 1.0 and in_z["follows_content"] == 0.0
    in_s = swap_measurements(LabelIn("s"), x, y, judge=judge)
    assert in_s["follows_content"] == 1.0 and in_s["follows_style"] == 0.0
    for swaps in (in_z, in_s):  # perfect reconstructions; a foreign z changes the picture
        assert swaps["mse_own_z"] < 1e-12 and swaps["mse_foreign_z"] > 1e-3


@pytest.mark.parametrize("probe", [linear_probe, mlp_probe])
def test_probes_read_a_one_hot_label_and_not_noise(probe):
    """z = one-hot label + small noise: ~100%; pure noise: ~chance (never the majority trick)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 500)
    y[:200] = 0  # class 0 is the most frequent: always guessing it is far from 100%
    rng.shuffle(y)
    y_tr, y_te = y[:300], y[300:]
    onehot = np.eye(4)[y] + 0.05 * rng.normal(size=(500, 4))
    assert probe(onehot[:300], y_tr, onehot[300:], y_te, seed=0) >= 0.98
    noise = rng.normal(size=(500, 4))
    chance = chance_accuracy(y_te)
    assert chance < 0.6
    assert abs(probe(noise[:300], y_tr, noise[300:], y_te, seed=0) - chance) < 0.12


def test_scorecard_knows_where_the_label_is(bars):
    """Through the whole scorecard: probes read the label from whichever code holds it."""
    judge = BarJudge()
    chance = chance_accuracy(bars[3])
    in_s = scorecard(LabelIn("s"), *bars, judge=judge, content_probes=True)
    assert in_s["accuracy"] == 1.0 and in_s["chance"] == chance
    assert in_s["s_linear"] >= 0.98 and in_s["s_mlp"] >= 0.98
    for key in ("z_linear", "z_mlp"):  # z is the background only: no label in it
        assert abs(in_s[key] - chance) < 0.12, key
    assert in_s["follows_content"] == 1.0 and in_s["follows_style"] == 0.0
    assert in_s["reconstruction_mse"] < 1e-12 and in_s["z_effect"] > 1e3
    in_z = scorecard(LabelIn("z"), *bars, judge=judge, content_probes=True)
    assert in_z["z_linear"] >= 0.98 and in_z["z_mlp"] >= 0.98
    for key in ("s_linear", "s_mlp"):
        assert abs(in_z[key] - chance) < 0.12, key
    assert in_z["follows_style"] == 1.0 and in_z["follows_content"] == 0.0


# ------------------------------------------------- exact answers on known codes
class Coded(DisentanglingModel):
    """A bar-image model with hand-made codes: ``s`` = one-hot label, ``z`` = three units.

    ``z = (background, label / 3, 2 * background)``: unit 1 holds the label and
    nothing else, so it is the most label-informative unit.  The decoder ignores
    ``z`` (it draws on a fixed background), and there is no classifier.
    """

    def __init__(self):
        super().__init__(num_classes=CLASSES, content_dim=CLASSES, style_dim=3,
                         image_shape=(CLASSES, WIDTH, 1))

    def encode(self, x, training=False):
        label = _read_class(x)
        background = ops.min(x, axis=(1, 2, 3))
        z = ops.stack([background, ops.cast(label, "float32") / 3.0, 2.0 * background], axis=1)
        return ops.one_hot(label, CLASSES), z

    def decode(self, s, z, training=False):
        return _draw(s, ops.full((ops.shape(s)[0],), 0.2))


def _reference_latent_variances(codes, y, seed):
    """The normalised variances of Banijamali et al.'s Figure 2, written out plainly."""
    classes = sorted(set(y.tolist()))
    same = np.mean([codes[y == c].var(axis=0) for c in classes], axis=0)
    size = int(np.mean([np.sum(y == c) for c in classes]))
    rng = np.random.default_rng(seed)
    groups = [rng.choice(len(codes), size, replace=False) for _ in classes]
    rand = np.mean([codes[g].var(axis=0) for g in groups], axis=0)
    return same / rand.max(), rand / rand.max()


def test_latent_variances_against_a_plain_computation(bars):
    x, y = bars[2], bars[3]
    model = Coded()
    s, z = encode_all(model, x)
    out = latent_variances(model, x, y)
    assert int(out["content_dim"]) == CLASSES
    same, rand = _reference_latent_variances(np.concatenate([s, z], axis=1), y, seed=0)
    np.testing.assert_allclose(out["same"], same, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(out["random"], rand, rtol=1e-5)
    assert np.all(out["same"][:CLASSES] == 0) and out["same"][CLASSES + 1] < 1e-10  # label units
    assert out["random"].max() == 1.0
    again = latent_variances(model, x, y, seed=0)
    assert all(np.array_equal(out[k], again[k]) for k in out)
    other = latent_variances(model, x, y, seed=1)
    np.testing.assert_allclose(other["random"],
                               _reference_latent_variances(np.concatenate([s, z], 1), y, 1)[1],
                               rtol=1e-5)
    assert not np.array_equal(other["random"], out["random"])


def test_latent_variances_of_constant_codes_are_zero_not_nan(bars):
    x = np.repeat(bars[2][:1], 6, axis=0)  # one image six times: every code is constant
    out = latent_variances(Coded(), x, np.array([0, 0, 0, 1, 1, 1]))
    assert np.all(out["same"] == 0) and np.all(out["random"] == 0)


def test_variance_ratio_of_each_half_and_of_constant_codes():
    var = {"same": np.array([0.1, 0.3, 0.8, 1.0]), "random": np.array([0.5, 0.5, 1.0, 1.0]),
           "content_dim": np.array(2)}
    assert variance_ratio(var) == pytest.approx(0.2 / 0.5)
    assert variance_ratio(var, "style") == pytest.approx(0.9 / 1.0)
    zero = {"same": np.zeros(4), "random": np.zeros(4), "content_dim": np.array(2)}
    assert variance_ratio(zero) == 0.0  # constant codes: 0, not NaN
    with pytest.raises(ValueError, match=r'"content" or "style"; got \'s\''):
        variance_ratio(var, "s")


class Table(DisentanglingModel):
    """Image ``i`` is one pixel holding ``i / (n - 1)``; its style code is row ``i`` of ``table``."""

    def __init__(self, table):
        super().__init__(num_classes=4, content_dim=1, style_dim=table.shape[1],
                         image_shape=(1, 1, 1))
        self.table = np.asarray(table, np.float32)

    def images(self):
        n = len(self.table)
        return (np.arange(n, dtype=np.float32) / (n - 1)).reshape(n, 1, 1, 1)

    def encode(self, x, training=False):
        index = ops.cast(ops.round(ops.reshape(x, (-1,)) * (len(self.table) - 1)), "int32")
        return ops.zeros((ops.shape(x)[0], 1)), ops.take(self.table, index, axis=0)


def test_most_label_informative_unit_finds_the_label_unit(bars):
    x, y = bars[2], bars[3]
    assert most_label_informative_unit(Coded(), x, y) == 1
    assert most_label_informative_unit(Coded(), x, y.tolist()) == 1
    assert most_label_informative_unit(LabelIn("s"), x, y) == 0  # z has one unit only


def test_most_label_informative_unit_weighs_between_against_within_class_spread():
    """Unit 0: class means 0.1 apart, spread 0.1 (ratio ~1.2). Unit 1: means 1 apart but
    spread 3 (larger between-class variance, ratio ~0.14). Unit 2: tiny noise, no class."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 100)
    z = np.stack([0.1 * y + 0.1 * rng.normal(size=400), 1.0 * y + 3.0 * rng.normal(size=400),
                  0.001 * rng.normal(size=400)], axis=1)
    model = Table(z)
    assert most_label_informative_unit(model, model.images(), y) == 0


def test_a_model_without_a_classifier_has_nan_accuracy(bars):
    model = Coded()
    assert math.isnan(classification_accuracy(model, bars[2], bars[3]))
    assert classification_accuracy(BarJudge(), bars[2], bars[3]) == 1.0
    assert math.isnan(scorecard(model, *bars, probes=("linear",))["accuracy"])


def test_a_decoder_that_ignores_z_gives_identical_swap_errors(bars):
    swaps = swap_measurements(Coded(), bars[2], bars[3], judge=BarJudge())
    assert swaps["mse_foreign_z"] == swaps["mse_own_z"] > 0.0
    assert swaps["follows_content"] == 1.0 and swaps["follows_style"] == 0.0


def test_swap_partners_always_have_another_label():
    """Images of class 1 can only be paired with the one image of class 0."""
    x, _ = _bar_images(4, seed=0)
    x[:, :, :, 0] = x[:, :, :, 0].min()  # blank bars, then draw class 0, 1, 1, 1
    y = np.array([0, 1, 1, 1])
    x[np.arange(4), y] = 1.0
    for seed in range(5):
        swaps = swap_measurements(LabelIn("z"), x, y, judge=BarJudge(), seed=seed)
        assert swaps["follows_style"] == 1.0 and swaps["follows_content"] == 0.0


def test_swaps_need_only_two_classes_and_default_to_seed_0(bars):
    x, y = bars[2], bars[3]
    two = np.isin(y, [0, 1])
    swaps = swap_measurements(LabelIn("z"), x[two], y[two], judge=BarJudge())
    assert swaps["follows_style"] == 1.0
    assert swap_measurements(LabelIn("s"), x, y) == swap_measurements(LabelIn("s"), x, y, seed=0)
    assert swap_measurements(LabelIn("s"), x, y, seed=1) != swap_measurements(LabelIn("s"), x, y)


@pytest.mark.parametrize("probe", [linear_probe, mlp_probe])
def test_probes_standardise_their_features(probe):
    """The label sits in a 1e-3 wiggle on top of an offset of 1000: only a standardised probe reads it."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 400)
    f = 1000.0 + 1e-3 * (y[:, None] == np.arange(3)) + 1e-5 * rng.normal(size=(400, 3))
    assert probe(f[:300], y[:300], f[300:], y[300:]) >= 0.98
    one_column = 1000.0 + 1e-3 * y[:, None]  # a single feature is a feature, not "no code"
    assert probe(one_column[:300], y[:300], one_column[300:], y[300:]) >= 0.98


def test_probes_of_an_empty_code_give_chance():
    y = np.array([0, 0, 1, 2])
    assert mlp_probe(np.zeros((4, 0)), y, np.zeros((4, 0)), y) == 0.5


def test_linear_probe_iterations_and_silenced_convergence_warnings():
    f, y = _blobs(n=400)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ConvergenceWarning would fail the test
        rushed = linear_probe(f[:300], y[:300], f[300:], y[300:], max_iter=1)
        patient = linear_probe(f[:300], y[:300], f[300:], y[300:])
        mlp_probe(f[:300], y[:300], f[300:], y[300:], hidden=(4,), max_iter=1)
    assert rushed < patient - 0.2


def test_mlp_probe_is_configured_as_documented(monkeypatch):
    """Hidden layers, iterations, early stopping and the seed reach the classifier."""
    made = []

    class Spy(MLPClassifier):
        def __init__(self, **kwargs):
            made.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(metrics, "MLPClassifier", Spy)
    f, y = _blobs(n=100)
    mlp_probe(f[:80], y[:80], f[80:], y[80:], hidden=(7,), max_iter=3, seed=4)
    mlp_probe(f[:80], y[:80], f[80:], y[80:])
    assert made == [
        dict(hidden_layer_sizes=(7,), max_iter=3, early_stopping=True, random_state=4),
        dict(hidden_layer_sizes=(256, 256), max_iter=200, early_stopping=True, random_state=0),
    ]


def test_mlp_probe_is_reproducible_and_seeded():
    f, y = _blobs(n=300, informative=False)
    args = (f[:200], y[:200], f[200:], y[200:])
    runs = {seed: mlp_probe(*args, hidden=(32,), max_iter=50, seed=seed) for seed in range(4)}
    assert mlp_probe(*args, hidden=(32,), max_iter=50) == runs[0]
    assert mlp_probe(*args, hidden=(32,), max_iter=50, seed=2) == runs[2]
    assert len(set(runs.values())) > 1  # the seed matters on noise


def test_scorecard_passes_its_seed_to_every_probe_and_swap(bars):
    model = LabelIn("s")
    s_tr, z_tr = encode_all(model, bars[0])
    s_te, z_te = encode_all(model, bars[2])
    for seed in (0, 3):
        card = scorecard(model, *bars, judge=BarJudge(), content_probes=True, seed=seed)
        assert card["z_mlp"] == mlp_probe(z_tr, bars[1], z_te, bars[3], seed=seed)
        assert card["s_mlp"] == mlp_probe(s_tr, bars[1], s_te, bars[3], seed=seed)
        swaps = swap_measurements(model, bars[2], bars[3], seed=seed)
        assert card["z_effect"] == swaps["mse_foreign_z"] / max(swaps["mse_own_z"], 1e-12)
    assert scorecard(model, *bars, probes=("mlp",)) == scorecard(model, *bars, probes=("mlp",),
                                                                   seed=0)
    label_in_z = LabelIn("z")  # s is the background: its probe depends on the seed
    s_tr, s_te = encode_all(label_in_z, bars[0])[0], encode_all(label_in_z, bars[2])[0]
    card = scorecard(label_in_z, *bars, probes=("mlp",), content_probes=True, seed=3)
    assert card["s_mlp"] == mlp_probe(s_tr, bars[1], s_te, bars[3], seed=3)
    assert card["s_mlp"] != mlp_probe(s_tr, bars[1], s_te, bars[3], seed=0)


def test_the_notation_page_defines_every_header_once():
    from pathlib import Path

    from helpers.eval.metrics import COLUMNS, HEADERS

    page = (Path(__file__).resolve().parent.parent / "book" / "notation.md").read_text()
    assert set(COLUMNS) <= set(HEADERS), "a measure without a header"
    for name, header in HEADERS.items():
        assert header in page, f"notation.md does not define the header {header!r} ({name})"
