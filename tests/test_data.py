import hashlib
import io
import os
import urllib.error
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import write_fake_mnist

from helpers.data import datasets, downloads, mnist


@pytest.fixture()
def no_network(monkeypatch):
    """Simulate a machine without network: every URL open fails immediately."""
    calls = []

    def refuse(url, timeout):
        calls.append((url, timeout))
        raise urllib.error.URLError("simulated: no network")

    monkeypatch.setattr(downloads, "_urlopen", refuse)
    monkeypatch.delenv("HF_DATA_DIR", raising=False)
    monkeypatch.delenv("HF_OFFLINE", raising=False)
    return calls


@pytest.fixture()
def fake_server(monkeypatch, tmp_path):
    """Serve a fake mnist.npz whose checksum the loader is told to expect."""
    src = tmp_path / "served.npz"
    write_fake_mnist(src, n_train=40, n_test=20, seed=1)
    payload = src.read_bytes()
    monkeypatch.setattr(mnist, "MNIST_SHA256", hashlib.sha256(payload).hexdigest())
    calls = []

    def serve(url, timeout):
        calls.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(downloads, "_urlopen", serve)
    monkeypatch.delenv("HF_DATA_DIR", raising=False)
    monkeypatch.delenv("HF_OFFLINE", raising=False)
    return calls


def test_data_dir_is_used_first(tmp_path, no_network):
    write_fake_mnist(tmp_path / "mnist.npz")
    ds = mnist.load_mnist(data_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert ds.x_train.shape == (50, 28, 28, 1) and ds.x_test.shape == (20, 28, 28, 1)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert "data directory" in ds.source and not ds.is_fallback
    assert str(tmp_path) not in ds.describe()  # outputs never print a machine's folders
    assert no_network == []  # the network was never touched


def test_env_data_dir(tmp_path, no_network, monkeypatch):
    write_fake_mnist(tmp_path / "mnist.npz")
    monkeypatch.setenv("HF_DATA_DIR", str(tmp_path))
    assert "data directory" in mnist.load_mnist(cache_dir=tmp_path / "cache").source


def test_missing_file_in_data_dir_is_a_clear_error(tmp_path, no_network):
    with pytest.raises(FileNotFoundError, match="mnist.npz"):
        mnist.load_mnist(data_dir=tmp_path)


def test_download_is_verified_and_cached(tmp_path, fake_server):
    cache = tmp_path / "cache"
    ds = mnist.load_mnist(cache_dir=cache)
    assert "downloaded" in ds.source and ds.x_train.shape[0] == 40
    assert (cache / "mnist.npz").is_file()
    assert not list(cache.glob("*.part"))  # no temporary file left behind
    ds2 = mnist.load_mnist(cache_dir=cache)
    assert "Keras cache" in ds2.source and len(fake_server) == 1  # second load: no download


def test_corrupt_cache_is_replaced_not_used(tmp_path, fake_server):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mnist.npz").write_bytes(b"this is not a zip file")
    ds = mnist.load_mnist(cache_dir=cache)
    assert "downloaded" in ds.source and len(fake_server) == 1
    assert downloads.sha256_of(cache / "mnist.npz") == mnist.MNIST_SHA256


def test_checksum_mismatch_keeps_existing_file(tmp_path, monkeypatch):
    dest = tmp_path / "file.bin"
    dest.write_bytes(b"old")
    monkeypatch.setattr(downloads, "_urlopen", lambda url, timeout: io.BytesIO(b"tampered"))
    with pytest.raises(downloads.DownloadError, match="Checksum mismatch"):
        downloads.download_atomic("https://example.invalid/f", dest, sha256="0" * 64)
    assert dest.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["file.bin"]


def test_interrupted_download_leaves_nothing(tmp_path, monkeypatch):
    class Broken(io.BytesIO):
        def read(self, n=-1):
            raise ConnectionResetError("simulated: connection dropped")

    monkeypatch.setattr(downloads, "_urlopen", lambda url, timeout: Broken())
    with pytest.raises(downloads.DownloadError):
        downloads.download_atomic("https://example.invalid/f", tmp_path / "f", sha256="0" * 64)
    assert os.listdir(tmp_path) == []


def test_offline_fallback_warns_and_says_so(tmp_path, no_network):
    with pytest.warns(datasets.OfflineFallbackWarning, match="5,000 real MNIST digits"):
        ds = mnist.load_mnist(cache_dir=tmp_path)
    assert ds.is_fallback and "OFFLINE FALLBACK" in ds.source and "OFFLINE" in ds.describe()
    assert ds.x_train.shape == (4000, 28, 28, 1) and ds.x_test.shape == (1000, 28, 28, 1)
    assert np.bincount(ds.y_test).tolist() == [100] * 10
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0 and ds.x_train.max() > 0.9
    assert no_network and all(timeout <= 10 for _, timeout in no_network)  # a short timeout


def test_corrupt_cache_offline_falls_back_and_keeps_file(tmp_path, no_network):
    (tmp_path / "mnist.npz").write_bytes(b"corrupt")
    with pytest.warns(datasets.OfflineFallbackWarning, match="corrupt"):
        ds = mnist.load_mnist(cache_dir=tmp_path)
    assert ds.is_fallback
    assert (tmp_path / "mnist.npz").read_bytes() == b"corrupt"  # never silently used, never deleted


def test_timeout_falls_back(tmp_path, monkeypatch):
    def slow(url, timeout):
        raise TimeoutError("simulated: timed out")

    monkeypatch.setattr(downloads, "_urlopen", slow)
    monkeypatch.delenv("HF_DATA_DIR", raising=False)
    with pytest.warns(datasets.OfflineFallbackWarning):
        assert mnist.load_mnist(cache_dir=tmp_path).is_fallback


def test_hf_offline_skips_network(tmp_path, monkeypatch):
    def must_not_be_called(url, timeout):
        raise AssertionError("network used although HF_OFFLINE=1")

    monkeypatch.setattr(downloads, "_urlopen", must_not_be_called)
    monkeypatch.setenv("HF_OFFLINE", "1")
    monkeypatch.delenv("HF_DATA_DIR", raising=False)
    with pytest.warns(datasets.OfflineFallbackWarning):
        assert mnist.load_mnist(cache_dir=tmp_path).is_fallback


def test_no_fallback_when_disallowed(tmp_path, no_network):
    with pytest.raises(downloads.DownloadError):
        mnist.load_mnist(cache_dir=tmp_path, allow_fallback=False)


def test_subset_is_stratified_and_reproducible(tmp_path, no_network):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", datasets.OfflineFallbackWarning)
        a = mnist.load_mnist(train_size=1000, test_size=200, seed=3, cache_dir=tmp_path)
        b = mnist.load_mnist(train_size=1000, test_size=200, seed=3, cache_dir=tmp_path)
    assert a.x_train.shape[0] == 1000 and a.x_test.shape[0] == 200
    assert np.bincount(a.y_train).tolist() == [100] * 10
    np.testing.assert_array_equal(a.x_train, b.x_train)


def test_stratified_indices_respects_proportions():
    y = np.array([0] * 70 + [1] * 20 + [2] * 10)
    idx = datasets.stratified_indices(y, 10, seed=0)
    assert len(idx) == 10 and len(set(idx)) == 10
    assert np.bincount(y[idx]).tolist() == [7, 2, 1]
    assert len(datasets.stratified_indices(y, 1000)) == 100
    with pytest.raises(ValueError):
        datasets.stratified_indices(y, 0)


def test_balanced_indices():
    y = np.repeat(np.arange(3), 5)
    idx = datasets.balanced_indices(y, 2, seed=1)
    assert np.bincount(y[idx]).tolist() == [2, 2, 2]
    with pytest.raises(ValueError, match="only 5"):
        datasets.balanced_indices(y, 6)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (np.zeros((2, 28, 28), np.float32), ValueError, "channel axis"),
        (np.zeros((2, 28, 28, 1), np.uint8), TypeError, "astype"),
        (np.full((2, 28, 28, 1), 255.0, np.float32), ValueError, r"\[0, 1\]"),
        (np.full((2, 28, 28, 1), np.nan, np.float32), ValueError, "NaN"),
    ],
)
def test_check_images_errors(bad, error, message):
    with pytest.raises(error, match=message):
        datasets.check_images(bad)


def test_check_labels_errors():
    with pytest.raises(ValueError, match="one-hot"):
        datasets.check_labels(np.eye(10), 10)
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        datasets.check_labels(np.array([0, 10]), 10)
    with pytest.raises(ValueError, match="3 labels but there are 2"):
        datasets.check_labels(np.array([0, 1, 2]), 10, n=2)
    assert datasets.check_labels(np.array([1.0, 2.0]), 10).dtype == np.int64


def test_fallback_file_is_found():
    assert Path(mnist.mnist_fallback_path()).is_file()
