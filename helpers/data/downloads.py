"""Checksummed, atomic, time-limited file downloads into a cache folder.

Every dataset loader in the course goes through :func:`fetch_file`, so the
same rules hold everywhere:

* a cached file is used only if its SHA-256 matches; a corrupt one (or a
  different version of the file) is never silently used: it is replaced by
  the next good download;
* a download goes to a temporary ``<name>.<random>.part`` file in the same
  folder, is checked, and is only then moved into place with
  :func:`os.replace` — an interrupted download can never leave a half-written
  file behind, and ``.part`` files left by a killed process are removed by
  the next run;
* the network gets a short timeout per read *and* a deadline for the whole
  download, so an offline machine fails in seconds and a server that trickles
  bytes cannot hang a notebook; ``HF_OFFLINE=1`` skips the network entirely;
* large downloads (known ``Content-Length``) show one updating progress line
  on stderr; small ones stay silent.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

OFFLINE_ENV_VAR = "HF_OFFLINE"
DATA_DIR_ENV_VAR = "HF_DATA_DIR"
#: seconds one network operation (connect, one read) may take
DEFAULT_TIMEOUT_S = 8.0
#: seconds the whole download of one file may take (read at call time, so it can be changed)
DEFAULT_DEADLINE_S = 60.0
#: downloads at least this large (by ``Content-Length``) show a progress line on stderr
PROGRESS_MIN_BYTES = 5 * 1024 * 1024
#: a ``.part`` file untouched for this long (or 4 read timeouts) belongs to no live download
STALE_PART_AGE_S = 60.0
_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """The file could not be fetched (offline, timeout, deadline, bad checksum...)."""


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


def remove_stale_parts(folder: Path, name: str, older_than_s: float = STALE_PART_AGE_S) -> list[Path]:
    """Delete ``<name>.*.part`` files in ``folder`` not written to for ``older_than_s`` seconds.

    Such files are left by a download whose process was killed (a kernel
    restart) before it could clean up.  Only this exact pattern is touched —
    never other files — and a recently written ``.part`` file is kept, since
    it may belong to a download running in another process (a live download
    writes at least once per read timeout).  Errors (a missing or unreadable
    folder, a file removed meanwhile) are ignored.

    Returns:
        The files that were removed.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    now, prefix, suffix = time.time(), name + ".", ".part"
    for entry in entries:
        ours = (entry.name.startswith(prefix) and entry.name.endswith(suffix)
                and len(entry.name) > len(prefix) + len(suffix))  # <name>.<random>.part
        if not ours:
            continue
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat().st_mtime > older_than_s:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _content_length(response) -> int | None:
    """The ``Content-Length`` a response announces, or ``None`` if unknown."""
    headers = getattr(response, "headers", None)
    try:
        value = int(headers.get("Content-Length")) if headers is not None else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and value > 0 else None


class _Progress:
    """One updating stderr line, every 10% of a large download of known size."""

    def __init__(self, name: str, total: int | None) -> None:
        self.name, self.total = name, total
        self.enabled = total is not None and total >= PROGRESS_MIN_BYTES
        self.shown = -1  # last tenth shown

    def update(self, received: int) -> None:
        if not self.enabled:
            return
        tenth = min(10, received * 10 // self.total)
        if tenth > self.shown:
            self.shown = tenth
            print(f"\rDownloading {self.name}: {10 * tenth:3d}% of {self.total / 1e6:.1f} MB",
                  end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled and self.shown >= 0:
            print(file=sys.stderr, flush=True)  # end the progress line


def download_atomic(
    url: str,
    dest: Path,
    sha256: str,
    timeout: float = DEFAULT_TIMEOUT_S,
    deadline: float | None = None,
) -> Path:
    """Download ``url`` to ``dest``, verifying ``sha256`` before moving into place.

    Args:
        url: where to download from.
        dest: the final path; its folder is created if needed.
        sha256: the expected hex SHA-256 of the file.
        timeout: seconds one network operation (connect, one read) may take.
        deadline: seconds the whole download may take (``None``:
            :data:`DEFAULT_DEADLINE_S`).  It is checked between reads, so the
            download ends at most ``deadline + timeout`` seconds after it began.

    Raises:
        DownloadError: when offline, on timeout, past the deadline, when the
            cache folder cannot be created, or when the checksum differs.
            ``dest`` is left exactly as it was, and no ``.part`` file is left
            behind, in every failure case.
    """
    if network_disabled():
        raise DownloadError(f"{OFFLINE_ENV_VAR} is set, so {url} was not downloaded.")
    deadline = DEFAULT_DEADLINE_S if deadline is None else float(deadline)
    if not deadline > 0:
        raise ValueError(f"deadline must be a positive number of seconds; got {deadline}.")
    start = time.monotonic()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # the folder's parent is a file, no permission, ...
        raise DownloadError(
            f"The cache folder {dest.parent} could not be created ({type(err).__name__}: {err}), "
            f"so {url} was not downloaded. Pass cache_dir= a writable folder, or set "
            f"{DATA_DIR_ENV_VAR} to a folder that holds {dest.name}."
        ) from err
    tmp: Path | None = None
    progress = _Progress(dest.name, None)
    try:
        with _urlopen(url, min(timeout, deadline)) as response:
            progress = _Progress(dest.name, _content_length(response))
            read = getattr(response, "read1", None) or response.read  # read1: what has arrived
            fd, tmp_name = tempfile.mkstemp(prefix=dest.name + ".", suffix=".part", dir=dest.parent)
            tmp = Path(tmp_name)
            digest, received = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as out:
                while True:
                    if time.monotonic() - start > deadline:
                        got = f"{received:,} of {progress.total:,}" if progress.total else \
                            f"{received:,}"
                        raise DownloadError(
                            f"Downloading {url} did not finish within the {deadline:g} s deadline "
                            f"({got} bytes received); the partial file was removed. On a slow "
                            f"connection, download {dest.name} yourself into {dest.parent}, or set "
                            f"{DATA_DIR_ENV_VAR} to a folder that holds it."
                        )
                    chunk = read(_CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    out.flush()  # a live download keeps its .part file's mtime fresh
                    digest.update(chunk)
                    received += len(chunk)
                    progress.update(received)
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
        progress.close()
        if tmp is not None and tmp.exists():
            tmp.unlink()


def fetch_file(
    url: str,
    filename: str,
    sha256: str,
    cache_dir: str | os.PathLike | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    deadline: float | None = None,
    validate: Callable[[Path], object] | None = None,
) -> tuple[Path, str]:
    """Return a verified local copy of ``url``, downloading it if needed.

    Args:
        url, filename, sha256: what to fetch, its name in the cache, its checksum.
        cache_dir: the cache folder (default: :func:`default_cache_dir`).
        timeout: seconds one network operation may take.
        deadline: seconds the whole download may take (``None``:
            :data:`DEFAULT_DEADLINE_S`).
        validate: optional reader that raises on a file it cannot use; it is
            only called to tell, in an error message, a cached file that is
            corrupt from a readable one that is merely a different version.

    Returns:
        ``(path, how)`` where ``how`` is ``"cache"`` or ``"download"``.

    Raises:
        DownloadError: when no verified copy can be had.  A cached file with
            the wrong checksum is reported in the message (as corrupt, or as
            not matching the expected checksum) and left for the next good
            download to replace.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    dest = cache / filename
    remove_stale_parts(cache, filename, max(STALE_PART_AGE_S, 4 * timeout))
    if cached_file_ok(dest, sha256):
        return dest, "cache"
    mismatched = dest.is_file()
    try:
        return download_atomic(url, dest, sha256, timeout=timeout, deadline=deadline), "download"
    except DownloadError as err:
        if mismatched:
            raise DownloadError(_describe_mismatch(dest, sha256, validate) +
                                f" It could not be replaced: {err}") from err
        raise


def _describe_mismatch(dest: Path, sha256: str, validate: Callable[[Path], object] | None) -> str:
    """Say why a cached file with the wrong checksum was not used."""
    readable = False
    if validate is not None:
        try:
            validate(dest)
            readable = True
        except Exception:  # any failure to read it means the file is unusable
            readable = False
    if readable:
        return (
            f"The cached {dest} is a readable file but does not match the expected checksum "
            f"(SHA-256 {sha256_of(dest)[:16]}..., expected {sha256[:16]}...): probably another "
            "version of the file, so it was not used. Delete it (the next run downloads the "
            f"expected one), or set {DATA_DIR_ENV_VAR} to its folder to use it on purpose."
        )
    return (
        f"The cached {dest} is corrupt (checksum mismatch), so it was not used. Delete it; the "
        "next run with network access downloads it again."
    )
