import hashlib
import io
import os
import time
import urllib.error
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import DripResponse, write_fake_mnist

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
    with pytest.raises(downloads.DownloadError, match="checksum stage: checksum mismatch"):
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
    steps = ds.x_train[:50].astype(np.float64) * 255  # uint8 / 255 exactly: whole multiples of 1/255
    np.testing.assert_allclose(steps, np.round(steps), rtol=0, atol=1e-4)


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


def test_shipped_fallback_is_500_real_training_digits_per_class():
    with np.load(mnist.mnist_fallback_path(), allow_pickle=False) as f:
        x, y, index = f["x"], f["y"], f["mnist_train_index"]
    assert x.dtype == np.uint8 and x.shape == (5000, 28, 28) and x.max() == 255
    assert np.bincount(y, minlength=10).tolist() == [500] * 10
    assert len(np.unique(index)) == 5000 and 0 <= index.min() and index.max() < 60_000
    x_train, y_train, x_test, y_test = mnist._load_mnist_fallback(seed=0)
    assert (len(x_train), len(x_test)) == (4000, 1000)
    assert np.bincount(y_test).tolist() == [100] * 10  # a stratified test split


# ------------------------------------------------------ bounded downloads, progress, .part files
class _Served(io.BytesIO):
    """A fake HTTP response that hands out ``chunk`` bytes per read and may announce its size."""

    def __init__(self, payload: bytes, chunk: int, announce_length: bool = True) -> None:
        super().__init__(payload)
        self.chunk = chunk
        self.headers = {"Content-Length": str(len(payload))} if announce_length else {}

    def read(self, n=-1):
        return super().read(self.chunk if n is None or n < 0 else min(n, self.chunk))

    read1 = read


def test_download_has_a_total_deadline(tmp_path, monkeypatch):
    """A server that trickles bytes (each read within the socket timeout) is cut off in time."""
    drip = DripResponse(n_bytes=200, delay=0.03)  # 6 s in all, far past the 0.2 s deadline
    monkeypatch.setattr(downloads, "_urlopen", lambda url, timeout: drip)
    start = time.monotonic()
    with pytest.raises(downloads.DownloadError, match=r"did not finish within the 0\.2 s deadline"):
        downloads.download_atomic("https://example.invalid/f", tmp_path / "f.bin", "0" * 64,
                                  deadline=0.2)
    assert drip.sent < drip.n_bytes  # stopped before the server was done
    assert time.monotonic() - start < 3.0
    assert os.listdir(tmp_path) == []  # no partial file left behind


def test_slow_server_falls_back_within_the_deadline(tmp_path, monkeypatch, slow_network):
    drip = slow_network
    monkeypatch.setattr(downloads, "DEFAULT_DEADLINE_S", 0.2)
    cache = tmp_path / "cache"
    with pytest.warns(datasets.OfflineFallbackWarning, match="deadline"):
        ds = mnist.load_mnist(cache_dir=cache)
    assert ds.is_fallback and drip.sent < drip.n_bytes
    assert os.listdir(cache) == []  # neither mnist.npz nor a .part file


def test_large_download_shows_progress_on_one_line(tmp_path, monkeypatch, capsys):
    payload = bytes(range(256)) * 40  # 10,240 bytes, served 512 at a time
    monkeypatch.setattr(downloads, "PROGRESS_MIN_BYTES", 1000)
    monkeypatch.setattr(downloads, "_urlopen", lambda url, timeout: _Served(payload, 512))
    sha = hashlib.sha256(payload).hexdigest()
    downloads.download_atomic("https://example.invalid/big.bin", tmp_path / "big.bin", sha)
    err = capsys.readouterr().err
    assert err.count("\r") == 11  # 0%, 10%, ..., 100%: every 10%, not every read (20 reads)
    assert "big.bin" in err and "  0%" in err and " 50%" in err and "100%" in err
    assert err.endswith("\n") and err.count("\n") == 1  # one updating line, ended once
    assert (tmp_path / "big.bin").read_bytes() == payload


@pytest.mark.parametrize("big, announce", [(False, True), (True, False)],
                         ids=["small file", "unknown size"])
def test_small_or_unsized_download_is_silent(tmp_path, monkeypatch, capsys, big, announce):
    payload = bytes(range(256)) * 40
    monkeypatch.setattr(downloads, "PROGRESS_MIN_BYTES", 1000 if big else len(payload) + 1)
    monkeypatch.setattr(downloads, "_urlopen",
                        lambda url, timeout: _Served(payload, 512, announce_length=announce))
    sha = hashlib.sha256(payload).hexdigest()
    downloads.download_atomic("https://example.invalid/f.bin", tmp_path / "f.bin", sha)
    assert capsys.readouterr().err == ""


def test_stale_part_files_are_removed_on_the_next_run(tmp_path, no_network):
    cache = tmp_path / "cache"
    cache.mkdir()
    an_hour_ago = time.time() - 3600
    names = ["mnist.npz.k3j4h5.part",     # ours, left by a killed download: removed
             "mnist.npz.fresh1.part",     # ours but being written right now: kept
             "train_32x32.mat.x1.part",   # another file's download: kept
             "mnist.npz.part", "mnist.npz.notes", "mnistXnpz.a.part", "notes.txt"]  # not ours
    for name in names:
        (cache / name).write_bytes(b"half a file")
        if name != "mnist.npz.fresh1.part":
            os.utime(cache / name, (an_hour_ago, an_hour_ago))
    with pytest.warns(datasets.OfflineFallbackWarning):
        mnist.load_mnist(cache_dir=cache)
    assert sorted(os.listdir(cache)) == sorted(names[1:])


@pytest.mark.parametrize("blocked", ["parent is a file", "folder is a file"])
def test_uncreatable_cache_folder_falls_back_offline(tmp_path, no_network, blocked):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    cache = blocker / "datasets" if blocked == "parent is a file" else blocker
    with pytest.warns(datasets.OfflineFallbackWarning):
        ds = mnist.load_mnist(cache_dir=cache)
    assert ds.is_fallback and blocker.read_text() == "a file where a folder should be"


def test_uncreatable_cache_folder_with_network_says_why(tmp_path, fake_server):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    with pytest.warns(datasets.OfflineFallbackWarning, match="cache folder .* could not be created"):
        assert mnist.load_mnist(cache_dir=blocker / "datasets").is_fallback


# ---------------------------------------------------------- what a data-directory npz holds
def _write_npz(path, **replace):
    """A valid fake mnist.npz with some arrays replaced."""
    write_fake_mnist(path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays.update(replace)
    np.savez(path, **arrays)


def test_pixels_are_divided_by_exactly_255(tmp_path, no_network):
    x = (np.arange(20 * 28 * 28) % 256).astype(np.uint8).reshape(20, 28, 28)
    x[0, 0, :3] = [0, 255, 128]
    _write_npz(tmp_path / "mnist.npz", x_train=x, y_train=np.arange(20) % 10)
    ds = mnist.load_mnist(data_dir=tmp_path)
    assert ds.x_train[0, 0, 0, 0] == 0.0 and ds.x_train[0, 0, 1, 0] == 1.0
    assert ds.x_train[0, 0, 2, 0] == pytest.approx(128 / 255, rel=1e-6)
    assert ds.x_train.max() == 1.0
    np.testing.assert_allclose(ds.x_train[..., 0], x / 255.0, rtol=1e-6, atol=0)


@pytest.mark.parametrize(
    "key, bad, message",
    [
        ("x_train", np.full((50, 28, 28), 0.5, np.float32),
         r"'x_train' in .*already scaled to \[0, 1\].*float32.*uint8 pixel values, integers 0\.\.255"),
        ("x_train", np.full((50, 28, 28), 300, np.int16),
         r"'x_train' in .*outside 0\.\.255.*int16, range \[300, 300\].*Keras layout"),
        ("x_test", np.full((20, 28, 28), -1, np.int32),
         r"'x_test' in .*outside 0\.\.255.*range \[-1, -1\]"),
        ("x_train", np.full((50, 28, 28), np.nan, np.float64), r"'x_train' in .*NaN.*0\.\.255"),
        ("x_test", np.full((20, 28, 28), 12.5, np.float32), r"'x_test' in .*non-integer values"),
        ("y_train", np.arange(50) % 11, r"'y_train' in .*outside 0\.\.9.*range \[0, 10\]"),
        ("y_test", np.full(20, 3.5), r"'y_test' in .*non-integer labels such as 3\.5"),
        ("y_test", np.full(20, np.nan), r"'y_test' in .*NaN"),
    ],
    ids=["floats in [0,1]", "ints up to 300", "negative", "NaN", "fractions", "label 10",
         "label 3.5", "label NaN"],
)
def test_data_dir_npz_with_wrong_values_is_a_clear_error(tmp_path, no_network, key, bad, message):
    _write_npz(tmp_path / "mnist.npz", **{key: bad})
    with pytest.raises(ValueError, match=message):
        mnist.load_mnist(data_dir=tmp_path)


def test_data_dir_npz_with_whole_number_floats_is_accepted(tmp_path, no_network):
    """uint8-like values in a float or wide-int array load exactly like uint8."""
    (tmp_path / "a").mkdir()
    write_fake_mnist(tmp_path / "a" / "mnist.npz")
    reference = mnist.load_mnist(data_dir=tmp_path / "a")
    with np.load(tmp_path / "a" / "mnist.npz") as f:
        wide = {"x_train": f["x_train"].astype(np.float64), "y_train": f["y_train"].astype(float),
                "x_test": f["x_test"].astype(np.int64), "y_test": f["y_test"].astype(np.int32)}
    (tmp_path / "b").mkdir()
    np.savez(tmp_path / "b" / "mnist.npz", **wide)
    ds = mnist.load_mnist(data_dir=tmp_path / "b")
    np.testing.assert_array_equal(ds.x_train, reference.x_train)
    np.testing.assert_array_equal(ds.x_test, reference.x_test)
    np.testing.assert_array_equal(ds.y_train, reference.y_train)


# --------------------------------------------------------- a cached file of another version
def test_readable_cached_file_with_another_checksum_is_not_called_corrupt(tmp_path, no_network):
    write_fake_mnist(tmp_path / "mnist.npz")  # a valid mnist.npz, but not the expected one
    before = (tmp_path / "mnist.npz").read_bytes()
    with pytest.warns(datasets.OfflineFallbackWarning,
                      match="does not match the expected checksum") as record:
        ds = mnist.load_mnist(cache_dir=tmp_path)
    assert ds.is_fallback  # not used: as for a corrupt file, it is never silently trusted
    assert not any("corrupt" in str(w.message) for w in record)
    assert (tmp_path / "mnist.npz").read_bytes() == before  # kept for the next good download


def test_readable_cached_file_with_another_checksum_is_replaced(tmp_path, fake_server):
    cache = tmp_path / "cache"
    cache.mkdir()
    write_fake_mnist(cache / "mnist.npz", seed=5)  # valid, but not what the server serves
    ds = mnist.load_mnist(cache_dir=cache)
    assert "downloaded" in ds.source and len(fake_server) == 1
    assert downloads.sha256_of(cache / "mnist.npz") == mnist.MNIST_SHA256


# ------------------------------------------------------------- load_mnist's arguments
@pytest.mark.parametrize("kwargs, error, message", [
    (dict(train_size="100"), TypeError,
     r"load_mnist: train_size must be a whole number of images.*got '100' of type str\. "
     r"Pass train_size=100 \(a number, without quotes\)"),
    (dict(train_size=10.5), TypeError,
     r"train_size must be a whole number.*got 10\.5 of type float\. Pass a whole number such as "
     r"train_size=10"),
    (dict(test_size=True), TypeError, r"test_size must be a whole number.*got True of type bool"),
    (dict(seed="1"), TypeError,
     r"load_mnist: seed must be a whole number.*got '1' of type str\. Pass seed=1 "
     r"\(a number, without quotes\)"),
    (dict(seed=-1), ValueError, r"load_mnist: seed must be >= 0; got -1\. Pass a seed of 0 or more"),
    (dict(seed=2.5), TypeError, r"seed must be a whole number.*got 2\.5.*Pass a whole number"),
], ids=["train_size '100'", "train_size 10.5", "test_size True", "seed '1'", "seed -1", "seed 2.5"])
def test_load_mnist_arguments_get_three_part_messages(tmp_path, no_network, kwargs, error, message):
    with pytest.raises(error, match=message):
        mnist.load_mnist(cache_dir=tmp_path, **kwargs)
    assert no_network == []  # refused before any data is looked for


def test_seed_none_is_refused_not_a_new_subset_each_call(tmp_path, no_network):
    with pytest.raises(TypeError, match=r"got None, which would draw a different subset on every "
                                        r"call.*Pass seed=0"):
        mnist.load_mnist(train_size=100, seed=None, cache_dir=tmp_path)


def test_train_size_below_the_number_of_classes_is_refused(tmp_path, no_network):
    with pytest.raises(ValueError, match=r"train_size must be at least 10, so that the stratified "
                                         r"subset holds every one of the 10 classes; got 3"):
        mnist.load_mnist(train_size=3, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="test_size must be at least 10"):
        mnist.load_mnist(test_size=9, cache_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", datasets.OfflineFallbackWarning)
        ds = mnist.load_mnist(train_size=10, test_size=10, cache_dir=tmp_path)
    assert sorted(ds.y_train.tolist()) == list(range(10)) == sorted(ds.y_test.tolist())


def test_relative_data_dir_names_the_resolved_folder_and_the_working_folder(tmp_path, no_network,
                                                                            monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setenv("HF_DATA_DIR", "data")
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_mnist(cache_dir=tmp_path / "cache")
    message = str(info.value)
    assert "'data' (from HF_DATA_DIR), a relative folder" in message
    assert f"working folder {tmp_path / 'work'} to {tmp_path / 'work' / 'data'}" in message
    assert "which does not exist" in message and "absolute path" in message
    (tmp_path / "work" / "data").mkdir()
    with pytest.raises(FileNotFoundError, match=r"mnist\.npz.*found none") as info:
        mnist.load_mnist(data_dir="data", cache_dir=tmp_path / "cache")
    assert "(from the data_dir argument)" in str(info.value)
    assert "does not exist" not in str(info.value)


def _deny(monkeypatch, denied: Path) -> None:
    """Make reading ``denied`` fail with PermissionError, as a file of another user would
    (the tests may run as root, whom file permissions do not stop)."""
    real = downloads.sha256_of

    def sha256_of(path):
        if Path(path) == denied:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(downloads, "sha256_of", sha256_of)


def test_unreadable_cache_file_falls_back_with_a_message(tmp_path, no_network, monkeypatch):
    (tmp_path / "mnist.npz").write_bytes(b"someone else's file")
    _deny(monkeypatch, tmp_path / "mnist.npz")
    with pytest.warns(datasets.OfflineFallbackWarning,
                      match=r"cached .*mnist\.npz could not be read \(PermissionError: Permission "
                            r"denied\), so it was not used"):
        ds = mnist.load_mnist(cache_dir=tmp_path)
    assert ds.is_fallback and ds.provenance["source"] == "offline-subset"
    assert (tmp_path / "mnist.npz").read_bytes() == b"someone else's file"


def test_unreadable_cache_file_is_replaced_by_a_download(tmp_path, fake_server, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "mnist.npz").write_bytes(b"someone else's file")
    _deny(monkeypatch, cache / "mnist.npz")
    ds = mnist.load_mnist(cache_dir=cache)
    assert ds.provenance["source"] == "download" and len(fake_server) == 1


@pytest.mark.skipif(not hasattr(os, "getuid") or os.getuid() == 0,
                    reason="file permissions do not stop root")
def test_cache_file_without_read_permission_falls_back(tmp_path, no_network):
    (tmp_path / "mnist.npz").write_bytes(b"no read permission")
    (tmp_path / "mnist.npz").chmod(0)
    try:
        with pytest.warns(datasets.OfflineFallbackWarning, match="could not be read"):
            assert mnist.load_mnist(cache_dir=tmp_path).is_fallback
    finally:
        (tmp_path / "mnist.npz").chmod(0o600)


@pytest.mark.parametrize("home", ["", "/"], ids=["HOME empty", "HOME is /"])
def test_unusable_home_does_not_put_the_cache_in_root(monkeypatch, home):
    import tempfile
    monkeypatch.setenv("HOME", home)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    with pytest.warns(UserWarning, match=r"home folder is not usable here.*temporary folder.*"
                                         r"Set HOME.*or KERAS_HOME"):
        folder = downloads.default_cache_dir()
    assert folder == Path(tempfile.gettempdir()) / ".keras" / "datasets"
    assert not str(folder).startswith("/.keras")


def test_usual_and_keras_home_cache_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KERAS_HOME", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert downloads.default_cache_dir() == tmp_path / ".keras" / "datasets"
        assert downloads.shown_path(tmp_path / ".keras" / "datasets" / "mnist.npz") == \
            str(Path("~/.keras/datasets/mnist.npz"))
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
        assert downloads.default_cache_dir() == tmp_path / "k" / "datasets"


# ------------------------------------------------------------------ where the data came from
def _no_folders(provenance: dict, *folders: Path) -> None:
    """A provenance holds file names only: no folder, no path separator."""
    text = repr(provenance)
    assert "/" not in text and "\\" not in text
    assert not any(str(folder) in text for folder in folders)


def test_provenance_of_a_data_directory_file(tmp_path, no_network):
    write_fake_mnist(tmp_path / "mnist.npz")
    ds = mnist.load_mnist(data_dir=tmp_path, train_size=20)
    assert ds.provenance == {"name": "MNIST", "source": "data-dir", "file": "mnist.npz",
                             "sha256": downloads.sha256_of(tmp_path / "mnist.npz")}
    _no_folders(ds.provenance, tmp_path)
    assert str(tmp_path) not in ds.describe() + ds.source


def test_provenance_of_a_download_then_the_cache(tmp_path, fake_server):
    cache = tmp_path / "cache"
    first = mnist.load_mnist(cache_dir=cache)
    second = mnist.load_mnist(cache_dir=cache, train_size=20)
    expected = {"name": "MNIST", "file": "mnist.npz", "sha256": mnist.MNIST_SHA256}
    assert first.provenance == {**expected, "source": "download"}
    assert second.provenance == {**expected, "source": "keras-cache"}
    _no_folders(first.provenance, tmp_path)


def test_provenance_of_the_offline_subset_survives_subsetting(tmp_path, no_network):
    with pytest.warns(datasets.OfflineFallbackWarning):
        ds = mnist.load_mnist(cache_dir=tmp_path)
    assert ds.provenance == {"name": "MNIST", "source": "offline-subset", "file": "mnist_offline.npz",
                             "sha256": downloads.sha256_of(mnist.mnist_fallback_path())}
    smaller = datasets.subset(ds, train_size=100, test_size=50, seed=1)
    assert smaller.provenance == ds.provenance and smaller.provenance is not ds.provenance


def test_loaders_note_their_provenance_for_run_records(tmp_path, no_network):
    runs = pytest.importorskip("helpers.runs")
    if not hasattr(runs, "data_used"):
        pytest.skip("helpers.runs has no data_used here")
    write_fake_mnist(tmp_path / "mnist.npz")
    ds = mnist.load_mnist(data_dir=tmp_path)
    assert runs.data_used()["MNIST"] == ds.provenance
