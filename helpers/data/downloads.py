"""Checksummed, atomic, time-limited file downloads into a cache folder.

Every dataset loader in the course goes through :func:`fetch_file`, so the
same rules hold everywhere:

* a cached file is used only if its SHA-256 matches; a corrupt one is never
  silently used (it is replaced by the next good download);
* a download goes to a temporary file in the same folder, is checked, and is
  only then moved into place with :func:`os.replace` — an interrupted
  download can never leave a half-written file behind;
* the network gets a short timeout, so an offline machine fails in seconds
  instead of hanging, and ``HF_OFFLINE=1`` skips the network entirely.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

OFFLINE_ENV_VAR = "HF_OFFLINE"
DATA_DIR_ENV_VAR = "HF_DATA_DIR"
DEFAULT_TIMEOUT_S = 8.0


class DownloadError(RuntimeError):
    """The file could not be fetched (offline, timeout, bad checksum...)."""


def sha256_of(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_cache_dir() -> Path:
    """The folder Keras uses for datasets (``~/.keras/datasets``)."""
    base = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(base) / "datasets"


def network_disabled() -> bool:
    """True when the learner asked us not to touch the network."""
    return os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() in {"1", "true", "yes", "on"}


def _urlopen(url: str, timeout: float):
    """Open ``url`` (a seam the tests replace to simulate network failures)."""
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - fixed https URLs


def cached_file_ok(path: Path, sha256: str) -> bool:
    """True when ``path`` exists and has the expected checksum."""
    return path.is_file() and sha256_of(path) == sha256


def download_atomic(url: str, dest: Path, sha256: str, timeout: float = DEFAULT_TIMEOUT_S) -> Path:
    """Download ``url`` to ``dest``, verifying ``sha256`` before moving into place.

    Raises:
        DownloadError: when offline, on timeout, or when the checksum differs.
            ``dest`` is left exactly as it was in every failure case.
    """
    if network_disabled():
        raise DownloadError(f"{OFFLINE_ENV_VAR} is set, so {url} was not downloaded.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, _urlopen(url, timeout) as response:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            raise DownloadError(
                f"Checksum mismatch for {url}: expected {sha256}, got {digest.hexdigest()}. "
                "The file was not saved."
            )
        os.replace(tmp, dest)
        return dest
    except DownloadError:
        raise
    except Exception as err:  # URLError, timeouts, connection resets, ...
        raise DownloadError(f"Could not download {url} ({type(err).__name__}: {err}).") from err
    finally:
        if tmp.exists():
            tmp.unlink()


def fetch_file(
    url: str,
    filename: str,
    sha256: str,
    cache_dir: str | os.PathLike | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> tuple[Path, str]:
    """Return a verified local copy of ``url``, downloading it if needed.

    Returns:
        ``(path, how)`` where ``how`` is ``"cache"`` or ``"download"``.

    Raises:
        DownloadError: when no verified copy can be had.  A corrupt cached
            file is reported in the message and left for the next good
            download to replace.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    dest = cache / filename
    if cached_file_ok(dest, sha256):
        return dest, "cache"
    corrupt = dest.is_file()
    try:
        return download_atomic(url, dest, sha256, timeout=timeout), "download"
    except DownloadError as err:
        if corrupt:
            raise DownloadError(
                f"The cached {dest} is corrupt (checksum mismatch) and could not be replaced: {err}"
            ) from err
        raise
