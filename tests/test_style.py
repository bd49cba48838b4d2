"""Morphometry, the known-factor digits and the style scores, against known answers."""

import numpy as np
import pytest
from keras import ops

from helpers.core.interface import DisentanglingModel
from helpers.data.known_factors import FACTORS, SLANT_RANGE, THICKNESS_STEPS, make_known_factors
from helpers.eval.morphometry import binarise, measure, skeletonise
from helpers.eval.style import mig, style_r2, transfer_correlation, unit_effects, unit_summary


def stroke(thickness: float, angle: float, length: float = 16.0) -> np.ndarray:
    """An anti-aliased straight stroke through the centre, ``angle`` (radians) from the
    vertical, top to the right for positive angles, of the given thickness in pixels."""
    yy, xx = np.mgrid[0:28, 0:28] + 0.5
    d = np.array([np.sin(angle), -np.cos(angle)])  # towards the top
    px, py = xx - 14, yy - 14
    t = np.clip(px * d[0] + py * d[1], -length / 2, length / 2)
    dist = np.hypot(px - t * d[0], py - t * d[1])
    return np.clip(thickness / 2 - dist + 0.5, 0, 1).astype(np.float32)


# ---------------------------------------------------------------- morphometry


@pytest.mark.parametrize("thickness", [2.0, 3.0, 4.0])
@pytest.mark.parametrize("angle", [-0.4, 0.0, 0.3])
def test_thickness_and_slant_of_known_strokes(thickness, angle):
    m = measure(stroke(thickness, angle))
    assert m["thickness"][0] == pytest.approx(thickness, abs=0.3)
    assert m["slant"][0] == pytest.approx(angle, abs=0.03)


def test_width_height_and_area_of_an_upright_rectangle():
    img = np.zeros((28, 28), np.float32)
    img[4:24, 10:16] = 1.0  # 20 rows, 6 columns
    m = measure(img)
    assert m["height"][0] == pytest.approx(20, abs=0.5)
    assert m["width"][0] == pytest.approx(6, abs=0.5)
    assert m["area"][0] == pytest.approx(120, rel=0.05)
    assert m["slant"][0] == pytest.approx(0.0, abs=1e-6)


def test_width_is_measured_after_removing_the_slant():
    upright, slanted = measure(np.stack([stroke(3, 0.0), stroke(3, 0.5)]))["width"]
    assert slanted < upright / np.cos(0.5) + 0.8  # not the bounding box (~ 10 px)


def test_measurements_follow_the_stroke():
    thin, thick = measure(np.stack([stroke(2, 0.2), stroke(4, 0.2)]))["thickness"]
    assert thick > thin + 1.5
    left, right = measure(np.stack([stroke(3, -0.3), stroke(3, 0.3)]))["slant"]
    assert left < -0.25 and right > 0.25


def test_a_blank_image_gets_nan_and_shapes_are_accepted():
    batch = np.stack([np.zeros((28, 28), np.float32), stroke(3, 0.0)])
    m = measure(batch[..., None])  # (N, 28, 28, 1) works as well as (N, 28, 28)
    assert all(np.isnan(m[k][0]) for k in m)
    assert np.isfinite(m["thickness"][1])


@pytest.mark.parametrize("bad, message", [
    (np.zeros((2, 28, 28, 3)), "expected grey images"),
    (np.full((1, 28, 28), np.nan), "NaN"),
])
def test_bad_images_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        measure(bad)


def test_skeleton_of_a_line_is_the_line_and_of_a_block_is_thin():
    line = np.zeros((1, 20, 20), bool)
    line[0, 10, 3:17] = True
    assert np.array_equal(skeletonise(line), line)
    block = binarise(stroke(6, 0.0), scale=1)
    skel = skeletonise(block)
    assert skel.sum() < block.sum() / 3
    assert skel[0].sum(axis=1).max() <= 2  # one or two pixels wide on every row


# ---------------------------------------------------------------- known factors


@pytest.fixture(scope="module")
def digits():
    from helpers.data import load_mnist

    data = load_mnist(train_size=100, test_size=600, seed=0, allow_fallback=True)
    return data.x_test, data.y_test


def test_known_factors_are_deterministic_and_in_range(digits):
    a = make_known_factors(*digits, seed=3)
    b = make_known_factors(*digits, seed=3)
    c = make_known_factors(*digits, seed=4)
    assert np.array_equal(a.images, b.images)
    assert not np.array_equal(a.factors["slant"], c.factors["slant"])
    assert a.images.shape == digits[0].shape and a.images.dtype == np.float32
    assert 0 <= a.images.min() and a.images.max() <= 1
    assert np.all((SLANT_RANGE[0] <= a.factors["slant"]) & (a.factors["slant"] <= SLANT_RANGE[1]))
    assert set(np.unique(a.factors["thickness"] * 4)) <= set(THICKNESS_STEPS)
    assert a.factor_matrix().shape == (len(a.labels), len(FACTORS))


def test_known_factors_are_what_morphometry_measures(digits):
    kf = make_known_factors(*digits, seed=0)
    m = measure(kf.images)
    assert np.corrcoef(kf.factors["slant"], m["slant"])[0, 1] > 0.95
    assert np.corrcoef(kf.factors["thickness"], m["thickness"])[0, 1] > 0.5
    assert np.corrcoef(kf.factors["scale"], m["height"])[0, 1] > 0.5
    # drawn independently of the class: no factor predicts the label linearly
    onehot = np.eye(10)[kf.labels]
    assert style_r2((onehot, onehot), (onehot, onehot), kf.factors,
                    kf.factors)["slant"]["s"] < 0.05


def test_known_factors_refuse_bad_input(digits):
    with pytest.raises(ValueError, match="images"):
        make_known_factors(digits[0][:, :20], digits[1])


# ---------------------------------------------------------------- scores


def test_mig_is_high_for_one_unit_per_factor_and_low_otherwise():
    rng = np.random.default_rng(0)
    f = rng.uniform(size=(5000, 3))
    noise = rng.normal(size=(5000, 2))
    assert mig(np.c_[f, noise], f)["mig"] > 0.8
    assert mig(np.c_[f, f], f)["mig"] < 0.05  # every factor in two units: no gap
    rotated = np.c_[f[:, 0] + f[:, 1], f[:, 0] - f[:, 1], f[:, 2], noise]
    assert mig(rotated, f)["mig"] < mig(np.c_[f, noise], f)["mig"] - 0.2
    assert mig(rng.normal(size=(5000, 4)), f)["mig"] < 0.05


def test_mig_keeps_discrete_factor_levels_and_checks_shapes():
    levels = np.repeat(np.arange(4), 500)[:, None].astype(float)
    codes = np.c_[levels[:, 0], np.random.default_rng(1).normal(size=2000)]
    assert mig(codes, levels)["factor_0"] == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match="at least 2 code units"):
        mig(codes[:, :1], levels)
    with pytest.raises(ValueError, match="one row per image"):
        mig(codes[:10], levels)


def test_style_r2_reads_a_linear_target_from_the_right_code():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 3))
    s = rng.normal(size=(400, 2))
    target = {"slant": z @ np.array([1.0, -2.0, 0.5]) + 3}
    r = style_r2((s[:300], z[:300]), (s[300:], z[300:]),
                 {"slant": target["slant"][:300]}, {"slant": target["slant"][300:]})
    assert r["slant"]["z"] == pytest.approx(1.0, abs=1e-9)
    assert r["slant"]["s"] < 0.1


def test_unit_summary_on_a_hand_made_table():
    effects = np.array([[0.1, 0.1, 0.1, 0.1],     # small, same way for every class
                        [0.5, -0.5, 0.5, -0.5],   # large but cancels: mean 0
                        [0.4, 0.2, 0.4, 0.2]])    # largest mean: 0.3
    out = unit_summary(effects)
    assert out["unit"] == 2
    assert out["effect"] == pytest.approx(0.3)
    assert out["consistency"] == pytest.approx(1.0)
    assert out["spread"] == pytest.approx(0.1 / 0.3)
    flipped = unit_summary(np.array([[0.2, -0.1, 0.2, -0.1]]))
    assert flipped["consistency"] == pytest.approx(0.05 / 0.15)


class Stroker(DisentanglingModel):
    """Images are strokes; ``z`` = (slant, thickness, an unused unit), ``s`` = one-hot
    class; the decoder draws the stroke that ``z`` says and ignores ``s``. The index of
    each training image is hidden in a faint corner pixel."""

    def __init__(self, angles, widths, labels):
        super().__init__(num_classes=10, content_dim=10, style_dim=3,
                         image_shape=(28, 28, 1))
        self.table = np.c_[angles, widths, np.zeros(len(angles))].astype(np.float32)
        self.labels = np.asarray(labels)

    def images(self):
        x = np.stack([stroke(w, a) for a, w, _ in self.table])[..., None]
        x[:, 0, 0, 0] = (np.arange(len(x)) + 1) * 1e-5
        return x

    def encode(self, x, training=False):
        i = np.rint(ops.convert_to_numpy(x)[:, 0, 0, 0] * 1e5).astype(int) - 1
        return (ops.convert_to_tensor(np.eye(10, dtype=np.float32)[self.labels[i]]),
                ops.convert_to_tensor(self.table[i]))

    def decode(self, s, z, training=False):
        z = ops.convert_to_numpy(z)
        return ops.convert_to_tensor(
            np.stack([stroke(float(np.clip(w, 1.5, 6)), float(a)) for a, w, _ in z])[..., None])


@pytest.fixture(scope="module")
def stroker():
    rng = np.random.default_rng(0)
    n = 200
    model = Stroker(rng.uniform(-0.4, 0.4, n), rng.uniform(2, 4, n), np.arange(n) % 10)
    return model, model.images(), model.labels


def test_unit_effects_find_what_each_unit_does(stroker):
    model, x, y = stroker
    effects = unit_effects(model, x, y, per_class=4)
    slant, thick = unit_summary(effects["slant"]), unit_summary(effects["thickness"])
    assert slant["unit"] == 0 and thick["unit"] == 1
    assert slant["consistency"] > 0.99 and thick["consistency"] > 0.95
    assert np.allclose(effects["slant"][2], 0, atol=1e-6)  # the unused unit does nothing


def test_transfer_follows_the_style_image(stroker):
    model, x, y = stroker
    out = transfer_correlation(model, x, y, seed=0)
    assert out["slant"]["style"] > 0.95 and abs(out["slant"]["content"]) < 0.3
    assert out["thickness"]["style"] > 0.8
