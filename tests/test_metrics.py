import numpy as np
import pytest

from helpers.eval.metrics import (
    COLUMNS,
    chance_accuracy,
    linear_probe,
    mlp_probe,
    reconstruction_mse,
    scorecard,
    swap_measurements,
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
