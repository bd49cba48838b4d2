"""SVHN loading (on a tiny .mat fixture), the offline stand-in, balanced subsets."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.io import savemat

from helpers.data import svhn
from helpers.data.datasets import OfflineFallbackWarning, balanced_subset
from helpers.data.downloads import DownloadError


def _write_mat(path, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A tiny SVHN-layout .mat file: X (32, 32, 3, N) uint8, y (N, 1) in 1..10."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    y = (np.arange(n) % 10 + 1).astype(np.uint8).reshape(-1, 1)  # 1..10, 10 = digit 0
    savemat(path, {"X": x, "y": y})
    return x, y


@pytest.fixture
def mat_dir(tmp_path):
    _write_mat(tmp_path / "train_32x32.mat", 40, seed=1)
    _write_mat(tmp_path / "test_32x32.mat", 20, seed=2)
    return tmp_path


def test_read_svhn_mat_transposes_and_maps_label_10_to_0(mat_dir):
    x_raw, _ = _write_mat(mat_dir / "one.mat", 12, seed=3)
    x, y = svhn.read_svhn_mat(mat_dir / "one.mat")
    assert x.shape == (12, 32, 32, 3) and x.dtype == np.uint8
    np.testing.assert_array_equal(x[5], x_raw[..., 5])
    assert y.dtype == np.int64 and y.min() == 0 and y.max() == 9
    assert y[9] == 0  # the file's label 10 is the digit 0
    assert y[0] == 1


def test_read_svhn_mat_rejects_bad_files(tmp_path):
    savemat(tmp_path / "bad.mat", {"X": np.zeros((28, 28, 3, 2), np.uint8),
                                   "y": np.ones((2, 1), np.uint8)})
    with pytest.raises(ValueError, match="expected"):
        svhn.read_svhn_mat(tmp_path / "bad.mat")
    savemat(tmp_path / "labels.mat", {"X": np.zeros((32, 32, 3, 2), np.uint8),
                                      "y": np.array([[0], [11]], np.uint8)})
    with pytest.raises(ValueError, match="1..10"):
        svhn.read_svhn_mat(tmp_path / "labels.mat")
    (tmp_path / "junk.mat").write_bytes(b"not a mat file")
    with pytest.raises(ValueError, match="not a readable"):
        svhn.read_svhn_mat(tmp_path / "junk.mat")


def test_load_svhn_from_data_dir(mat_dir):
    ds = svhn.load_svhn(data_dir=mat_dir)
    assert not ds.is_fallback and "data directory" in ds.source
    assert ds.x_train.shape == (40, 32, 32, 3) and ds.x_test.shape == (20, 32, 32, 3)
    assert ds.x_train.dtype == np.float32 and 0 <= ds.x_train.min() and ds.x_train.max() <= 1
    assert set(ds.y_train) == set(range(10))
    small = svhn.load_svhn(train_size=20, test_size=10, data_dir=mat_dir)
    assert len(small.y_train) == 20 and np.bincount(small.y_train, minlength=10).min() == 2


def test_explicit_data_dir_without_files_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="train_32x32.mat"):
        svhn.load_svhn(data_dir=tmp_path)


@pytest.fixture
def cached(tmp_path, monkeypatch, mat_dir):
    """SVHN loaded offline from a verified cached copy: ``(dataset, {key: (name, sha256)})``."""
    import hashlib

    sums = {}
    (tmp_path / "cache").mkdir()
    for key, (name, _) in svhn.SVHN_FILES.items():
        data = (mat_dir / name).read_bytes()
        (tmp_path / "cache" / name).write_bytes(data)
        sums[key] = (name, hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(svhn, "SVHN_FILES", sums)
    monkeypatch.delenv("HF_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_OFFLINE", "1")
    return svhn.load_svhn(cache_dir=tmp_path / "cache"), sums


def test_cache_is_used_after_checksum(cached):
    """A verified cached copy is used without touching the network."""
    ds, _ = cached
    assert "cache" in ds.source and not ds.is_fallback and len(ds.y_train) == 40


def test_offline_falls_back_to_the_standin_loudly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_OFFLINE", "1")
    monkeypatch.setenv("HF_DATA_DIR", str(tmp_path))  # a shared folder without SVHN is skipped
    with pytest.warns(OfflineFallbackWarning, match="STAND-IN"):
        ds = svhn.load_svhn(train_size=30, test_size=20, cache_dir=tmp_path / "cache")
    assert ds.is_fallback and "STAND-IN" in ds.source and "OFFLINE" in ds.describe()
    assert ds.x_train.shape == (30, 32, 32, 3) and ds.x_test.shape == (20, 32, 32, 3)
    with pytest.raises(DownloadError):
        svhn.load_svhn(cache_dir=tmp_path / "cache", allow_fallback=False)


def test_standin_is_deterministic_in_range_and_varied():
    labels = np.arange(50) % 10
    a = svhn.render_standin(labels, seed=7)
    b = svhn.render_standin(labels, seed=7)
    c = svhn.render_standin(labels, seed=8)
    assert a.shape == (50, 32, 32, 3) and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.05
    assert a.std(axis=(1, 2, 3)).min() > 0.02  # every image shows something
    with pytest.raises(ValueError, match="lie in"):
        svhn.render_standin(np.array([3, 10]))


def test_make_standin_svhn_is_a_flagged_reproducible_dataset():
    """Every class appears, the same seed gives the same data, train and test differ."""
    ds = svhn.make_standin_svhn(200, 50, seed=0)
    assert ds.is_fallback and ds.y_train.dtype == np.int64
    assert set(ds.y_train) == set(range(10))
    again = svhn.make_standin_svhn(200, 50, seed=0)
    np.testing.assert_array_equal(ds.x_test, again.x_test)
    assert not np.array_equal(ds.x_train[:50], ds.x_test)


def test_balanced_subset_is_balanced_and_reproducible():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 500)
    x = np.arange(500)
    xa, ya = balanced_subset(x, y, 7, seed=3)
    xb, _ = balanced_subset(x, y, 7, seed=3)
    assert len(ya) == 70 and np.all(np.bincount(ya, minlength=10) == 7)
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(y[xa], ya)
    with pytest.raises(ValueError, match="per_class"):
        balanced_subset(x, y, 0)
    with pytest.raises(ValueError, match="requested"):
        balanced_subset(x, y, 400)


def test_load_svhn_divides_pixels_by_exactly_255(tmp_path):
    x_raw, _ = _write_mat(tmp_path / "test_32x32.mat", 20, seed=2)
    x = np.zeros((32, 32, 3, 20), np.uint8)
    x[0, 0, :, 0] = [0, 255, 128]
    x[1:] = x_raw[1:]
    savemat(tmp_path / "train_32x32.mat", {"X": x, "y": (np.arange(20) % 10 + 1).reshape(-1, 1)})
    ds = svhn.load_svhn(data_dir=tmp_path)
    assert ds.x_train[0, 0, 0, 0] == 0.0 and ds.x_train[0, 0, 0, 1] == 1.0
    assert ds.x_train[0, 0, 0, 2] == pytest.approx(128 / 255, rel=1e-6)
    assert ds.x_train.max() == 1.0
    np.testing.assert_allclose(ds.x_train, np.transpose(x, (3, 0, 1, 2)) / 255.0, rtol=1e-6, atol=0)


@pytest.mark.parametrize(
    "X, y, message",
    [
        (np.full((32, 32, 3, 2), 0.5, np.float32), [[1], [2]],
         r"'X' in .*already scaled to \[0, 1\].*integers 0\.\.255"),
        (np.full((32, 32, 3, 2), 300, np.int16), [[1], [2]], r"'X' in .*outside 0\.\.255.*300"),
        (np.zeros((32, 32, 3, 2), np.uint8), [[1.0], [10.5]],
         r"'y' in .*non-integer labels such as 10\.5.*1\.\.10"),
        (np.zeros((32, 32, 3, 2), np.uint8), [[1.0], [np.nan]], r"'y' in .*NaN"),
    ],
    ids=["floats in [0,1]", "ints up to 300", "label 10.5", "label NaN"],
)
def test_read_svhn_mat_rejects_wrong_values(tmp_path, X, y, message):
    savemat(tmp_path / "bad.mat", {"X": X, "y": np.asarray(y)})
    with pytest.raises(ValueError, match=message):
        svhn.read_svhn_mat(tmp_path / "bad.mat")


def test_read_svhn_mat_accepts_whole_number_float_labels(tmp_path):
    """MATLAB often stores labels as doubles: 1.0..10.0 read like 1..10."""
    savemat(tmp_path / "doubles.mat", {"X": np.zeros((32, 32, 3, 3), np.uint8),
                                       "y": np.array([[1.0], [10.0], [5.0]])})
    x, y = svhn.read_svhn_mat(tmp_path / "doubles.mat")
    assert x.dtype == np.uint8 and y.dtype == np.int64 and y.tolist() == [1, 0, 5]


def test_slow_svhn_server_falls_back_within_the_deadline(tmp_path, monkeypatch, slow_network):
    drip = slow_network
    monkeypatch.setattr(svhn, "SVHN_DEADLINE_S", 0.2)
    with pytest.warns(OfflineFallbackWarning, match="deadline"):
        ds = svhn.load_svhn(train_size=20, test_size=10, cache_dir=tmp_path / "cache")
    assert ds.is_fallback and drip.sent < drip.n_bytes
    assert os.listdir(tmp_path / "cache") == []  # no partial file left behind


def test_normalise_contrast_greys_stretches_and_puts_the_digit_light_on_dark():
    dark_on_light = np.full((2, 32, 32, 3), 0.8, np.float32)
    dark_on_light[:, 10:22, 13:19] = (0.1, 0.3, 0.2)  # a dark bar in the middle
    dark_on_light[1] = 1.0 - dark_on_light[1]  # the second light on dark already
    out = svhn.normalise_contrast(dark_on_light)
    assert out.shape == (2, 32, 32, 1) and out.dtype == np.float32
    assert np.allclose(out.min(axis=(1, 2, 3)), 0) and np.allclose(out.max(axis=(1, 2, 3)), 1)
    for image in out[..., 0]:
        assert image[16, 16] == pytest.approx(1.0) and image[0, 0] == pytest.approx(0.0)
    flat = svhn.normalise_contrast(np.full((1, 32, 32, 3), 0.5, np.float32))
    assert np.isfinite(flat).all()  # a blank image does not divide by zero


@pytest.mark.parametrize("x, message", [
    (np.zeros((2, 32, 32, 1), np.float32), r"3 channel\(s\)"),
    (np.zeros((2, 32, 32, 3), np.uint8), "uint8"),
    (np.zeros((2, 4, 4, 3), np.float32), "at least 8x8"),
])
def test_normalise_contrast_says_what_it_needs(x, message):
    with pytest.raises((ValueError, TypeError), match=message):
        svhn.normalise_contrast(x)


# ------------------------------------------------------ arguments and where the data came from
@pytest.mark.parametrize("kwargs, error, message", [
    (dict(seed=None), TypeError, r"load_svhn: seed must be a whole number >= 0; got None"),
    (dict(seed=-1), ValueError, r"load_svhn: seed must be >= 0; got -1"),
    (dict(train_size=5), ValueError, r"load_svhn: train_size must be at least 10"),
    (dict(test_size="20"), TypeError, r"Pass test_size=20 \(a number, without quotes\)"),
], ids=["seed None", "seed -1", "train_size 5", "test_size '20'"])
def test_load_svhn_checks_its_arguments(mat_dir, kwargs, error, message):
    with pytest.raises(error, match=message):
        svhn.load_svhn(data_dir=mat_dir, **kwargs)


def test_relative_data_dir_without_files_names_the_resolved_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        svhn.load_svhn(data_dir="svhn")
    message = str(info.value)
    assert "train_32x32.mat and test_32x32.mat" in message
    assert f"working folder {tmp_path} to {tmp_path / 'svhn'}" in message


def test_provenance_of_a_data_directory(mat_dir):
    from helpers.data.downloads import sha256_of
    ds = svhn.load_svhn(train_size=20, test_size=10, data_dir=mat_dir)
    assert ds.provenance == {
        "name": "SVHN", "source": "data-dir", "file": "train_32x32.mat,test_32x32.mat",
        "sha256": f"{sha256_of(mat_dir / 'train_32x32.mat')},{sha256_of(mat_dir / 'test_32x32.mat')}",
    }
    assert str(mat_dir) not in repr(ds.provenance) + ds.describe()


def test_provenance_of_the_cache(cached):
    ds, sums = cached
    assert ds.provenance == {"name": "SVHN", "source": "keras-cache",
                             "file": "train_32x32.mat,test_32x32.mat",
                             "sha256": f"{sums['train'][1]},{sums['test'][1]}"}


def test_provenance_of_the_standin_is_a_digest_of_what_was_rendered(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_OFFLINE", "1")
    monkeypatch.delenv("HF_DATA_DIR", raising=False)
    with pytest.warns(OfflineFallbackWarning):
        a = svhn.load_svhn(train_size=20, test_size=10, cache_dir=tmp_path / "cache")
    with pytest.warns(OfflineFallbackWarning):
        b = svhn.load_svhn(train_size=20, test_size=10, seed=1, cache_dir=tmp_path / "cache")
    assert a.provenance["source"] == "stand-in" and a.provenance["file"] == ""
    assert len(a.provenance["sha256"]) == 64 and a.provenance["sha256"] != b.provenance["sha256"]
    assert svhn.make_standin_svhn(20, 10).provenance == a.provenance  # the same data, the same digest


def test_svhn_downloads_are_capped_at_the_known_sizes():
    assert svhn.SVHN_BYTES == {"train_32x32.mat": 182_040_794, "test_32x32.mat": 64_275_384}
    assert set(svhn.SVHN_BYTES) == {name for name, _ in svhn.SVHN_FILES.values()}
