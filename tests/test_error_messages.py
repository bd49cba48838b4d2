"""The exact words of every validation error a learner can meet in the pure modules.

Error messages are part of the course: each says what was expected, what
came and how to fix it.  Pinning the full text catches a message that loses
its hint or its numbers (and the mutation tests count on it).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from helpers.core.profile import check_seed, get_profile
from helpers.data import datasets as d
from helpers.eval.metrics import linear_probe, swap_measurements

F32 = np.float32
LAYOUT = "the Keras layout"
PIXELS = f"expected uint8 pixel values, integers 0..255 ({LAYOUT})"
LABELS = f"expected integer labels 0..9 ({LAYOUT})"

CASES = [
    # ------------------------------------------------------------ check_images
    (lambda: d.check_images(np.zeros((0,), F32)), ValueError,
     "x is empty (0 images); pass at least one image."),
    (lambda: d.check_images(np.zeros((0, 28, 28, 1), F32)), ValueError,
     "x is empty (0 images); pass at least one image."),
    (lambda: d.check_images(np.zeros((2, 28, 28), F32)), ValueError,
     "x has shape (2, 28, 28); images need a channel axis (N, H, W, C). "
     "Add one with `x[..., None]`."),
    (lambda: d.check_images(np.zeros((2, 28), F32)), ValueError,
     "x must be 4-D (N, H, W, C); got shape (2, 28)."),
    (lambda: d.check_images(np.zeros((2, 28, 28, 3), F32), channels=1), ValueError,
     "x must have 1 channel(s); got shape (2, 28, 28, 3)."),
    (lambda: d.check_images(np.zeros((2, 32, 32, 3), F32), shape=(28, 28, 1)), ValueError,
     "this model expects (28, 28, 1) images; x has (32, 32, 3) images (shape (2, 32, 32, 3)). "
     "Use images of the model's domain, or build the model with image_shape=(32, 32, 3)."),
    (lambda: d.check_images(np.zeros((2, 2, 2, 1), np.uint8), name="x_test"), TypeError,
     "x_test is uint8 (0..255); the models expect float32 in [0, 1]. "
     "Use `x_test.astype('float32') / 255`."),
    (lambda: d.check_images(np.zeros((2, 2, 2, 1), np.int64)), TypeError,
     "x must be a float array; got dtype int64."),
    (lambda: d.check_images(np.full((2, 2, 2, 1), np.inf, F32)), ValueError,
     "x contains NaN or infinite values."),
    (lambda: d.check_images(np.full((2, 2, 2, 1), 1.5, F32)), ValueError,
     "x must lie in [0, 1]; got range [1.5, 1.5]. Rescale it (e.g. divide by 255)."),
    (lambda: d.check_images(np.full((2, 2, 2, 1), -0.5, F32)), ValueError,
     "x must lie in [0, 1]; got range [-0.5, -0.5]. Rescale it (e.g. divide by 255)."),
    # ------------------------------------------------------------ check_labels
    (lambda: d.check_labels(np.eye(10), 10), ValueError,
     "y looks one-hot encoded (10, 10); pass integer labels, e.g. `y.argmax(1)`."),
    (lambda: d.check_labels(np.zeros((2, 2)), 10), ValueError,
     "y must be 1-D integer labels; got shape (2, 2)."),
    (lambda: d.check_labels(np.zeros((0,), np.int64), 10), ValueError,
     "y is empty (0 labels); pass at least one label."),
    (lambda: d.check_labels(np.array([0.5, 1.0]), 10), TypeError,
     "y must hold integer class labels; got dtype float64."),
    (lambda: d.check_labels(np.array([0, 1, 2]), 10, n=2), ValueError,
     "y has 3 labels but there are 2 images."),
    (lambda: d.check_labels(np.array([0, 10]), 10), ValueError,
     "y must lie in [0, 9]; got range [0, 10]."),
    (lambda: d.check_labels(np.array([-1, 3]), 10), ValueError,
     "y must lie in [0, 9]; got range [-1, 3]."),
    # -------------------------------------------------------- check_raw_pixels
    (lambda: d.check_raw_pixels(np.array(["a"]), "'x'", LAYOUT), ValueError,
     f"'x' has dtype <U1; {PIXELS}."),
    (lambda: d.check_raw_pixels(np.array([True]), "'x'", LAYOUT), ValueError,
     f"'x' has dtype bool; {PIXELS}."),
    (lambda: d.check_raw_pixels(np.array([[300]]), "'x'", LAYOUT), ValueError,
     f"'x' has values outside 0..255 (found dtype int64, range [300, 300]); {PIXELS}."),
    (lambda: d.check_raw_pixels(np.array([[256.0]]), "'x'", LAYOUT), ValueError,
     f"'x' has values outside 0..255 (found dtype float64, range [256, 256]); {PIXELS}."),
    (lambda: d.check_raw_pixels(np.array([[-1, 3]]), "'x'", LAYOUT), ValueError,
     f"'x' has values outside 0..255 (found dtype int64, range [-1, 3]); {PIXELS}."),
    (lambda: d.check_raw_pixels(np.array([[0.0, 1.0]]), "'x'", LAYOUT), ValueError,
     f"'x' looks already scaled to [0, 1] (found dtype float64, range [0, 1]); {PIXELS}, "
     "which the loader divides by 255 once. Save it as `(x * 255).round().astype('uint8')`."),
    (lambda: d.check_raw_pixels(np.array([[0.0, 2.123456]]), "'x'", LAYOUT), ValueError,
     f"'x' has non-integer values (found dtype float64, range [0, 2.123]); {PIXELS}. "
     "Save it as `x.round().astype('uint8')` if it really is on the 0..255 scale."),
    (lambda: d.check_raw_pixels(np.array([[0, 123456]]), "'x'", LAYOUT), ValueError,
     f"'x' has values outside 0..255 (found dtype int64, range [0, 123456]); {PIXELS}."),
    (lambda: d.check_raw_pixels(np.array([[np.nan]]), "'x'", LAYOUT), ValueError,
     f"'x' contains NaN or infinite values (dtype float64); {PIXELS}."),
    # -------------------------------------------------------- check_raw_labels
    (lambda: d.check_raw_labels(np.array(["a"]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' has dtype <U1; {LABELS}."),
    (lambda: d.check_raw_labels(np.array([True]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' has dtype bool; {LABELS}."),
    (lambda: d.check_raw_labels(np.array([2.123456, 1.0]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' has non-integer labels such as 2.123 (dtype float64); {LABELS}."),
    (lambda: d.check_raw_labels(np.array([2.5, 1.0], np.float32), "'y'", 0, 9, LAYOUT),
     ValueError, f"'y' has non-integer labels such as 2.5 (dtype float32); {LABELS}."),
    (lambda: d.check_raw_labels(np.array([np.nan]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' contains NaN or infinite labels; {LABELS}."),
    (lambda: d.check_raw_labels(np.array([0, 10]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' has labels outside 0..9 (found range [0, 10]); {LABELS}."),
    (lambda: d.check_raw_labels(np.array([0.0, 10.0]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' has labels outside 0..9 (found range [0, 10]); {LABELS}."),
    (lambda: d.check_raw_labels(np.array([-1.0, 2.0]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' has labels outside 0..9 (found range [-1, 2]); {LABELS}."),
    # ---------------------------------------------------------------- subsets
    (lambda: d.stratified_indices(np.arange(5), 0), ValueError, "size must be positive; got 0."),
    (lambda: d.balanced_subset(np.zeros(3), np.zeros(2), 1), ValueError,
     "x has 3 images but y has 2 labels."),
    (lambda: d.balanced_subset(np.zeros(3), np.zeros(3), 0), ValueError,
     "per_class must be at least 1; got 0."),
    (lambda: d.balanced_indices(np.repeat(np.arange(3), 5), 6), ValueError,
     "class 0 has only 5 examples; 6 requested."),
    # ----------------------------------------------------------------- probes
    (lambda: linear_probe(np.zeros((3, 2)), np.zeros(2), np.zeros((3, 2)), np.zeros(3)),
     ValueError, "features and labels must have the same number of rows."),
    (lambda: linear_probe(np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), np.zeros(3)),
     ValueError, "features and labels must have the same number of rows."),
    (lambda: linear_probe(np.zeros((3, 2)), np.zeros(3), np.zeros((3, 3)), np.zeros(3)),
     ValueError, "train/test features differ in width: 2 vs 3."),
    (lambda: linear_probe(np.zeros((3, 2)), np.zeros(3), np.full((3, 2), np.inf), np.zeros(3)),
     ValueError, "features contain NaN or infinite values (did training diverge?)."),
    (lambda: linear_probe(np.full((3, 2), np.nan), np.zeros(3), np.zeros((3, 2)), np.zeros(3)),
     ValueError, "features contain NaN or infinite values (did training diverge?)."),
    # ------------------------------------------------------------------ swaps
    (lambda: swap_measurements(None, np.zeros((3, 2, 2, 1)), np.zeros(3)), ValueError,
     "a swap needs partners with another label, but y holds a single class; pass images of "
     "at least two classes."),
    (lambda: swap_measurements(None, np.zeros((3, 2, 2, 1)), np.arange(2)), ValueError,
     "x and y must have the same length; got 3 images and 2 labels."),
    # ---------------------------------------------------------- profile, seed
    (lambda: get_profile(3), TypeError,
     "A profile is named by a string, one of 'smoke', 'book', 'full'; got 3 of type int."),
    (lambda: get_profile("huge"), ValueError,
     "Unknown profile 'huge' (from HF_PROFILE or the argument). Valid profiles are 'smoke', "
     "'book', 'full'; e.g. `export HF_PROFILE=smoke`."),
    (lambda: check_seed(2.7), TypeError,
     "seed must be a whole number such as 0 or 1; got 2.7 of type float."),
    (lambda: check_seed(True), TypeError,
     "seed must be a whole number such as 0 or 1; got True of type bool."),
    (lambda: check_seed("1"), TypeError,
     "seed must be a whole number such as 0 or 1; got '1' of type str."),
    (lambda: check_seed(-1), ValueError, "seed must be >= 0; got -1."),
]


@pytest.mark.parametrize("call, error, message", CASES, ids=[c[2][:40] for c in CASES])
def test_error_message_is_exact(call, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        call()
