"""Exact answers of the pure data functions: checks, subsets and summaries.

``test_data.py`` tests the loaders end to end; here every function of
``helpers.data.datasets`` is held to values worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers.core.profile import PROFILES, get_profile
from helpers.data import datasets as d


# ------------------------------------------------------------------ checks return
def test_check_images_returns_float32_without_copying():
    x = np.full((2, 3, 3, 1), 0.5, np.float32)
    assert d.check_images(x) is x  # no copy of a learner's (possibly large) batch
    x64 = np.array(x, np.float64)
    out = d.check_images(x64)
    assert out.dtype == np.float32 and np.array_equal(out, x)
    assert d.check_images(np.ones((1, 2, 2, 3), np.float32), channels=3,
                          shape=(2, 2, 3)).shape == (1, 2, 2, 3)


@pytest.mark.parametrize("raw, expected", [
    (np.array([[0, 1, 255]], np.int64), [[0, 1, 255]]),
    (np.array([[0, 1]], np.int64), [[0, 1]]),  # integer images may hold 0 and 1 only
    (np.array([[0.0, 2.0]]), [[0, 2]]),                 # whole-number floats above 1
    (np.array([[0.0, 255.0]], np.float32), [[0, 255]]),
    (np.array([[7]], np.int32), [[7]]),
])
def test_check_raw_pixels_converts_to_uint8(raw, expected):
    out = d.check_raw_pixels(raw, "'x'", "layout")
    assert out.dtype == np.uint8 and out.tolist() == expected


def test_check_raw_pixels_keeps_uint8_and_empty_arrays():
    x = np.zeros((2, 2), np.uint8)
    assert d.check_raw_pixels(x, "'x'", "layout") is x
    empty = d.check_raw_pixels(np.zeros((0, 28, 28)), "'x'", "layout")
    assert empty.dtype == np.uint8 and empty.shape == (0, 28, 28)


@pytest.mark.parametrize("raw, expected", [
    (np.array([0, 9], np.uint8), [0, 9]),
    (np.array([3.0, 1.0]), [3, 1]),
    (np.zeros(0), []),
])
def test_check_raw_labels_converts_to_int64(raw, expected):
    out = d.check_raw_labels(raw, "'y'", 0, 9, "layout")
    assert out.dtype == np.int64 and out.tolist() == expected


def test_check_raw_labels_uses_the_given_bounds():
    # SVHN's .mat files label the digit 0 as 10: 1..10 is valid there, 0 is not
    assert d.check_raw_labels(np.array([1, 10]), "'y'", 1, 10, "svhn").tolist() == [1, 10]
    with pytest.raises(ValueError, match="outside 1..10"):
        d.check_raw_labels(np.array([0, 5]), "'y'", 1, 10, "svhn")


# ------------------------------------------------------------------ subsets
@pytest.mark.parametrize("counts, size, expected", [
    # quotas 2.5, 1.5, 1.0: the one left over goes to the first of the tied remainders
    ([5, 3, 2], 5, [3, 1, 1]),
    # quotas 3.0, 1.5, 0.5: the remainder goes to the largest fractional part (class 1)
    ([6, 3, 1], 5, [3, 2, 0]),
    ([70, 20, 10], 10, [7, 2, 1]),
    ([2, 2, 2], 1, [1, 0, 0]),
])
def test_stratified_indices_hands_out_the_largest_remainders(counts, size, expected):
    y = np.repeat(np.arange(len(counts)), counts)
    idx = d.stratified_indices(y, size, seed=0)
    assert len(idx) == size and len(set(idx.tolist())) == size
    assert np.all(np.diff(idx) > 0)  # sorted: the original order is kept
    assert np.bincount(y[idx], minlength=len(counts)).tolist() == expected


def test_stratified_indices_seeds():
    y = np.repeat(np.arange(4), 50)
    default = d.stratified_indices(y, 20)
    assert np.array_equal(default, d.stratified_indices(y, 20, seed=0))
    assert not np.array_equal(default, d.stratified_indices(y, 20, seed=1))
    assert d.stratified_indices(y, 200).tolist() == list(range(200))
    tr, te = d.subset_indices(y, y, 20, 20)
    assert np.array_equal(tr, default) and np.array_equal(te, d.stratified_indices(y, 20, seed=1))


def test_balanced_indices_takes_every_example_of_a_class_that_has_just_enough():
    y = np.array([0, 0, 1, 1, 1])
    idx = d.balanced_indices(y, 2)
    assert np.bincount(y[idx]).tolist() == [2, 2] and {0, 1} <= set(idx.tolist())
    y = np.repeat(np.arange(3), 5)
    assert len(set(d.balanced_indices(y, 5).tolist())) == 15  # without replacement
    assert np.array_equal(d.balanced_indices(y, 2), d.balanced_indices(y, 2, seed=0))


def test_balanced_subset_passes_its_seed():
    x, y = np.arange(30) * 10, np.repeat(np.arange(3), 10)
    xs, ys = d.balanced_subset(x, y, 1)
    assert len(xs) == 3 and np.bincount(ys).tolist() == [1, 1, 1]
    for seed in (0, 5):
        idx = d.balanced_indices(y, 4, seed=seed)
        xs, ys = d.balanced_subset(x, y, 4, seed=seed)
        assert np.array_equal(xs, x[idx]) and np.array_equal(ys, y[idx])
    assert np.array_equal(d.balanced_subset(x, y, 4)[0], d.balanced_subset(x, y, 4, seed=0)[0])


def _dataset(is_fallback=False):
    rng = np.random.default_rng(0)
    return d.Dataset("Bars", rng.random((40, 2, 2, 1)), np.repeat(np.arange(4), 10),
                     rng.random((20, 2, 2, 1)), np.repeat(np.arange(4), 5), "made up",
                     class_names=("a", "b", "c", "d"), is_fallback=is_fallback)


def test_subset_keeps_everything_but_the_dropped_examples():
    ds = _dataset(is_fallback=True)
    sub = d.subset(ds, train_size=8, test_size=4, seed=3)
    tr = d.stratified_indices(ds.y_train, 8, seed=3)
    te = d.stratified_indices(ds.y_test, 4, seed=4)  # the test split draws with seed + 1
    assert np.array_equal(sub.x_train, ds.x_train[tr]) and np.array_equal(sub.y_train, ds.y_train[tr])
    assert np.array_equal(sub.x_test, ds.x_test[te]) and np.array_equal(sub.y_test, ds.y_test[te])
    assert (sub.name, sub.source, sub.class_names, sub.is_fallback) == (
        "Bars", "made up", ("a", "b", "c", "d"), True)
    default = d.subset(ds, 8, 4)
    again = d.subset(ds, 8, 4, seed=0)
    assert np.array_equal(default.y_test, again.y_test)
    assert np.array_equal(default.x_train, again.x_train)
    assert np.array_equal(default.x_test, ds.x_test[d.stratified_indices(ds.y_test, 4, seed=1)])
    only_train = d.subset(ds, train_size=8)
    assert len(only_train.x_train) == 8 and only_train.x_test is not None
    assert np.shares_memory(only_train.x_test, ds.x_test)  # None keeps a view, not a copy
    assert len(d.subset(ds, test_size=4).x_test) == 4


# ------------------------------------------------------------------ summaries
def test_dataset_describe_wraps_the_source_and_flags_a_fallback():
    ds = _dataset()
    assert ds.num_classes == 4 and ds.image_shape == (2, 2, 1)
    assert ds.describe() == ("Bars: train (40, 2, 2, 1), test (20, 2, 2, 1), 4 classes\n"
                             "  source: made up")
    long = d.Dataset("MNIST", ds.x_train, ds.y_train, ds.x_test, ds.y_test,
                     "the Keras mnist.npz from storage.googleapis.com, checked against its "
                     "SHA-256 and cached in the Keras folder for the next run", is_fallback=True)
    assert long.describe().split("\n") == [
        "MNIST: train (40, 2, 2, 1), test (20, 2, 2, 1), 10 classes",
        "  source: the Keras mnist.npz from storage.googleapis.com, checked against its",
        "    SHA-256 and cached in the Keras folder for the next run",
        "  ⚠ OFFLINE FALLBACK — not the full dataset",
    ]
    # lines are at most 78 characters: a 79-character source line is wrapped
    edge = d.Dataset("E", ds.x_train, ds.y_train, ds.x_test, ds.y_test, "a" * 67 + " b")
    assert edge.describe().split("\n")[1:] == ["  source: " + "a" * 67, "    b"]


def test_profile_describe_and_pick():
    assert [PROFILES[k].describe() for k in ("smoke", "book", "full")] == [
        "profile=smoke · train images=600 · test images=300 · batch=100 · seed=0",
        "profile=book · train images=20,000 · test images=10,000 · batch=100 · seed=0",
        "profile=full · train images=all · test images=all · batch=100 · seed=0",
    ]
    assert [get_profile(k).pick(smoke="s", book="b", full="f")
            for k in ("smoke", "book", "full")] == ["s", "b", "f"]


# ------------------------------------------------------------------ provenance and checks
def test_subset_keeps_the_provenance_and_refuses_to_drop_classes():
    ds = _dataset()
    ds.provenance = d.make_provenance("Bars", "data-dir", {"bars.npz": "ab" * 32})
    sub = d.subset(ds, train_size=8, test_size=4)
    assert sub.provenance == {"name": "Bars", "source": "data-dir", "file": "bars.npz",
                              "sha256": "ab" * 32}
    with pytest.raises(ValueError, match=r"subset: train_size must be at least 4.*got 3"):
        d.subset(ds, train_size=3)
    with pytest.raises(TypeError, match=r"subset: seed must be a whole number >= 0; got None"):
        d.subset(ds, train_size=8, seed=None)
    assert _dataset().provenance == {}  # a dataset built by hand says nothing of its origin


def test_make_provenance_keeps_file_names_only():
    two = d.make_provenance("SVHN", "download", {"a.mat": "1" * 64, "b.mat": "2" * 64})
    assert two == {"name": "SVHN", "source": "download", "file": "a.mat,b.mat",
                   "sha256": "1" * 64 + "," + "2" * 64}
    with pytest.raises(ValueError, match="file names only"):
        d.make_provenance("MNIST", "data-dir", {"/data/shared/mnist.npz": "0" * 64})
    with pytest.raises(ValueError, match="must be one of"):
        d.make_provenance("MNIST", "somewhere", {"mnist.npz": "0" * 64})


def test_digest_arrays_tells_shapes_and_values_apart():
    a = np.arange(6, dtype=np.float32)
    assert d.digest_arrays(a) == d.digest_arrays(a.copy())
    assert d.digest_arrays(a) != d.digest_arrays(a.reshape(2, 3))
    assert d.digest_arrays(a) != d.digest_arrays(a + 1)


@pytest.mark.parametrize("size, error, message", [
    (np.int64(12), None, None),
    (None, None, None),
    (2.0, TypeError, r"got 2\.0 of type float\. Pass a whole number such as n=2"),
    ("x", TypeError, r"got 'x' of type str\. Pass a whole number such as n=600"),
    (0, ValueError, r"n must be at least 10.*got 0"),
])
def test_check_subset_size(size, error, message):
    if error is None:
        assert d.check_subset_size(size, "n", "f", 10) == (None if size is None else int(size))
    else:
        with pytest.raises(error, match=message):
            d.check_subset_size(size, "n", "f", 10)
