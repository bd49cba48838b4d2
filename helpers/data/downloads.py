"""Checksummed, atomic, size-capped downloads, bounded from the first byte to the last.

Every dataset loader in the course goes through :func:`fetch_file`, so the
same rules hold everywhere:

* a cached file is used only if its SHA-256 matches; a corrupt one (or a
  different version of the file) is never silently used: it is replaced by
  the next good download.  A cached file that cannot be read (permission
  denied) is treated the same way, and said so;
* a download goes to a temporary ``<name>.<random>.part`` file in the same
  folder, is checked, and is only then moved into place with
  :func:`os.replace` — an interrupted download can never leave a half-written
  file behind, and ``.part`` files left by a killed process are removed by
  the next run;
* **one deadline covers the whole download**: connecting, the server's status
  line, its headers and the body.  The transfer runs in a worker thread; the
  calling thread waits until the deadline and then abandons it (its sockets
  are shut, its ``.part`` file removed), so no server — one that never
  answers, trickles its status line a byte at a time or sends one header per
  second — can hold a notebook longer than the deadline plus a fraction of a
  second.  Each network operation also has a short timeout of its own;
* **a size cap** (``max_bytes``, the known size of the file): a
  ``Content-Length`` above it is refused before any byte of the body is read,
  and a body that grows past it is cut off before the extra bytes are written;
* every :class:`DownloadError` says at which **stage** it failed
  (:data:`STAGES`), the URL, and what to do; ``HF_OFFLINE=1`` skips the
  network entirely;
* large downloads (known ``Content-Length``) show one updating progress line
  on stderr; small ones stay silent.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.client
import os
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable
from pathlib import Path

from ..files import remove_stale_temporaries

OFFLINE_ENV_VAR = "HF_OFFLINE"
DATA_DIR_ENV_VAR = "HF_DATA_DIR"
#: seconds one network operation (connect, one read) may take
DEFAULT_TIMEOUT_S = 8.0
#: seconds the whole download of one file may take, connection to last byte (read at call time)
DEFAULT_DEADLINE_S = 60.0
#: downloads at least this large (by ``Content-Length``) show a progress line on stderr
PROGRESS_MIN_BYTES = 5 * 1024 * 1024
#: a ``.part`` file untouched for this long (or 4 read timeouts) belongs to no live download
STALE_PART_AGE_S = 60.0
#: seconds a download abandoned at its deadline is given to close and clean up
CLEANUP_GRACE_S = 0.5
#: the stages a download goes through; :attr:`DownloadError.stage` is one of them
STAGES = ("offline", "cache folder", "connect", "status line", "headers", "size", "body",
          "checksum")
_CHUNK = 1 << 20


class DownloadError(RuntimeError):
    """The file could not be fetched; the message says at which stage, from where, and what to do.

    Attributes:
        stage: one of :data:`STAGES` (``"unknown"`` if not given).
        url: the URL that was being downloaded (``""`` if not given).
    """

    def __init__(self, message: str, stage: str = "unknown", url: str = "") -> None:
        super().__init__(message)
        self.stage, self.url = stage, url


class _Abandoned(Exception):
    """Raised inside a worker whose download the waiting thread gave up on."""


def sha256_of(path: str | os.PathLike) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def shown_path(path: str | os.PathLike) -> str:
    """``path`` for a message, with the home folder written ``~`` (no user name in outputs)."""
    text = str(path)
    home = _usable_home()
    if home and (text == home or text.startswith(home.rstrip(os.sep) + os.sep)):
        return "~" + text[len(home.rstrip(os.sep)):]
    return text


def _usable_home() -> str | None:
    """The user's home folder, or ``None`` when it is empty, unset and unknown, or a root folder.

    ``HOME=""`` makes :func:`os.path.expanduser` give ``"/"`` on POSIX, which would put
    the cache in ``/.keras``: that is never what a learner meant.
    """
    if os.name == "posix" and "HOME" in os.environ and not os.environ["HOME"].strip():
        return None
    try:
        home = os.path.expanduser("~")
    except (KeyError, RuntimeError):  # no HOME and no password-database entry
        return None
    if not home or home.startswith("~") or not os.path.isabs(home):
        return None
    if os.path.dirname(home.rstrip("/\\") or home) == (home.rstrip("/\\") or home):
        return None  # "/" or "C:\": a root folder is nobody's home
    if not os.path.isdir(home):
        return None
    return home


def default_cache_dir() -> Path:
    """The folder Keras uses for datasets (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``).

    When the home folder is unusable (``HOME`` empty, unset with no account entry,
    ``/``, or missing), the cache goes to ``.keras/datasets`` in the system's temporary
    folder — where Keras itself falls back — and a warning says so: the system may
    clean that folder, so the files may be downloaded again later.
    """
    keras_home = os.environ.get("KERAS_HOME", "").strip()
    if keras_home:
        return Path(keras_home).expanduser() / "datasets"
    home = _usable_home()
    if home is not None:
        return Path(home) / ".keras" / "datasets"
    tmp = tempfile.gettempdir()
    warnings.warn(
        f"The home folder is not usable here (HOME={os.environ.get('HOME')!r}), so the download "
        f"cache is .keras/datasets in the system's temporary folder ({tmp}), which the system may "
        "clean. Set HOME to your home folder, or KERAS_HOME to a folder of yours, to keep "
        "downloads between sessions.",
        UserWarning,
        stacklevel=3,
    )
    return Path(tmp) / ".keras" / "datasets"


def data_dir_error(folder: str | os.PathLike, origin: str, names: tuple[str, ...],
                   what: str) -> FileNotFoundError:
    """A data directory that lacks ``names``: say where it was looked for, and how to fix it.

    A relative folder (``HF_DATA_DIR=data``) is resolved against the working folder,
    which is rarely the one a learner has in mind (a notebook runs in its own folder):
    the message names both the resolved absolute folder and the working folder.

    Args:
        folder: the data directory as given.
        origin: where it came from (``"the data_dir argument"`` or ``"HF_DATA_DIR"``).
        names: the files it should hold.
        what: what they are (``"a Keras-layout mnist.npz"``).
    """
    given = Path(folder).expanduser()
    files = " and ".join(names)
    if given.is_absolute():
        where = f"the data directory {given} (from {origin})"
    else:
        where = (f"the data directory {str(folder)!r} (from {origin}), a relative folder resolved "
                 f"against the working folder {Path.cwd()} to {given.resolve()}")
    exists = "" if given.is_dir() else ", which does not exist"
    return FileNotFoundError(
        f"Expected {what} ({files}) in {where}{exists}, but found none. Put {files} there, give "
        f"{origin} as an absolute path to the folder that holds {'them' if len(names) > 1 else 'it'}, "
        f"or unset it to use the cache, the download or the offline data."
    )


def network_disabled() -> bool:
    """True when the learner asked us not to touch the network."""
    return os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() in {"1", "true", "yes", "on"}


def cached_file_ok(path: Path, sha256: str) -> bool:
    """True when ``path`` exists and has the expected checksum.

    Raises:
        OSError: when the file exists but cannot be read (e.g. permission denied).
    """
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
    return remove_stale_temporaries(Path(folder) / name, older_than_s)


def _content_length(response) -> int | None:
    """The ``Content-Length`` a response announces, or ``None`` if unknown."""
    headers = getattr(response, "headers", None)
    try:
        value = int(headers.get("Content-Length")) if headers is not None else None
    except (TypeError, ValueError):
        return None
    return value if value is not None and value >= 0 else None


class _Progress:
    """One updating stderr line, every 10% of a large download of known size."""

    def __init__(self, name: str, total: int | None) -> None:
        self.name, self.total = name, total
        self.enabled = total is not None and total >= PROGRESS_MIN_BYTES
        self.shown = -1  # last tenth shown

    def update(self, received: int) -> None:
        """Show the new tenth, if ``received`` reached one."""
        if not self.enabled:
            return
        tenth = min(10, received * 10 // self.total)
        if tenth > self.shown:
            self.shown = tenth
            print(f"\rDownloading {self.name}: {10 * tenth:3d}% of {self.total / 1e6:.1f} MB",
                  end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        """End the progress line (once)."""
        if self.enabled and self.shown >= 0:
            print(file=sys.stderr, flush=True)
        self.enabled = False


# ------------------------------------------------------------------ the worker's shared state
class _Transfer:
    """What the worker thread of one download shares with the thread that waits for it.

    ``lock`` guards ``cancelled``, ``sockets``, ``tmp`` and the progress line: once the
    waiting thread has set ``cancelled``, the worker never creates a ``.part`` file, never
    moves one into place and never prints.
    """

    def __init__(self, deadline_at: float, name: str) -> None:
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.deadline_at = deadline_at
        self.stage = "connect"
        self.cancelled = False
        self.sockets: list[socket.socket] = []
        self.tmp: Path | None = None
        self.received = 0
        self.total: int | None = None
        self.progress = _Progress(name, None)
        self.error: BaseException | None = None
        self.error_stage = "connect"

    def remaining(self) -> float:
        """Seconds left before the deadline (0 when it has passed)."""
        return max(0.0, self.deadline_at - time.monotonic())

    def enter(self, stage: str) -> None:
        """Record that the download reached ``stage`` (or stop, if it was abandoned)."""
        with self.lock:
            if self.cancelled:
                raise _Abandoned
            self.stage = stage

    def register(self, sock: socket.socket) -> None:
        """Remember a socket, so that abandoning the download can shut it."""
        with self.lock:
            if not self.cancelled:
                self.sockets.append(sock)
                return
        _shut(sock)
        raise _Abandoned

    def cancel(self) -> str:
        """Abandon the download: no move into place, sockets shut. Returns the stage it was at."""
        with self.lock:
            self.cancelled = True
            sockets, self.sockets = self.sockets, []
            stage = self.stage
            self.progress.close()
        for sock in sockets:
            _shut(sock)
        return stage

    def discard_part(self) -> None:
        """Remove the ``.part`` file, if there is one (kept for its writer if still open)."""
        with self.lock:
            tmp, self.tmp = self.tmp, None
        if tmp is None:
            return
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        except OSError:  # still open in the worker (Windows): the worker removes it itself
            with self.lock:
                self.tmp = tmp


def _shut(sock: socket.socket) -> None:
    """Shut a socket down for both directions, waking any thread blocked on it."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


# A download's worker thread finds its _Transfer here, so the seam _urlopen(url, timeout)
# keeps its two arguments (tests replace it with fakes).
_local = threading.local()


# ---------------------------------------------------- http.client, with the stages recorded
class _TrackedResponse(http.client.HTTPResponse):
    """An HTTP response that records when its status line has arrived."""

    def __init__(self, sock, *args, transfer: _Transfer | None = None, **kwargs) -> None:
        super().__init__(sock, *args, **kwargs)
        self._transfer = transfer

    def _read_status(self):
        if self._transfer is not None:
            self._transfer.enter("status line")
        status = super()._read_status()
        if self._transfer is not None:
            self._transfer.enter("headers")
        return status


class _Tracking:
    """Mixin for :class:`http.client.HTTPConnection`: registers sockets, bounds the connect."""

    def _track(self, transfer: _Transfer | None) -> None:
        self._transfer = transfer
        self._create_connection = self._tracked_create_connection
        self.response_class = functools.partial(_TrackedResponse, transfer=transfer)

    def _tracked_create_connection(self, address, timeout=None, *args, **kwargs) -> socket.socket:
        tr = self._transfer
        if tr is not None:
            tr.enter("connect")
            left = max(tr.remaining(), 0.01)
            timeout = left if timeout is None else min(timeout, left)
        sock = socket.create_connection(address, timeout, *args, **kwargs)
        if tr is not None:
            tr.register(sock)
        return sock

    def connect(self) -> None:
        super().connect()
        if self._transfer is not None:
            self._transfer.register(self.sock)  # the TLS socket, for https


class _TrackedHTTPConnection(_Tracking, http.client.HTTPConnection):
    def __init__(self, *args, transfer: _Transfer | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._track(transfer)


class _TrackedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, transfer: _Transfer | None) -> None:
        super().__init__()
        self._transfer = transfer

    def http_open(self, req):
        return self.do_open(functools.partial(_TrackedHTTPConnection, transfer=self._transfer), req)


_HANDLERS: list[type] = [_TrackedHTTPHandler]

if hasattr(http.client, "HTTPSConnection"):  # Python built with ssl
    class _TrackedHTTPSConnection(_Tracking, http.client.HTTPSConnection):
        def __init__(self, *args, transfer: _Transfer | None = None, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._track(transfer)

    class _TrackedHTTPSHandler(urllib.request.HTTPSHandler):
        def __init__(self, transfer: _Transfer | None) -> None:
            super().__init__()
            self._transfer = transfer

        def https_open(self, req):
            return self.do_open(functools.partial(_TrackedHTTPSConnection, transfer=self._transfer),
                                req, context=self._context)

    _HANDLERS.append(_TrackedHTTPSHandler)


def _urlopen(url: str, timeout: float):
    """Open ``url`` (a seam the tests replace to simulate network failures).

    Called in a download's worker thread: the connection records its stages and
    sockets in that download's :class:`_Transfer`, so the waiting thread can tell
    where it stopped and shut it.
    """
    transfer = getattr(_local, "transfer", None)
    opener = urllib.request.build_opener(*(handler(transfer) for handler in _HANDLERS))
    return opener.open(url, timeout=timeout)  # noqa: S310 - fixed https/http URLs of data files


# ---------------------------------------------------------------------------- messages
def _advice(name: str) -> str:
    """What a learner can do when a download fails."""
    return (f"To work without the network, set {OFFLINE_ENV_VAR}=1 (the loaders then use their "
            f"offline data), or download {name} yourself into a folder and set "
            f"{DATA_DIR_ENV_VAR} to that folder.")


def _failure(stage: str, url: str, name: str, what: str) -> DownloadError:
    """A :class:`DownloadError` saying the stage, what happened, the URL and what to do."""
    return DownloadError(f"Downloading {name} failed at the {stage} stage: {what}. URL: {url}. "
                         f"Nothing was saved. {_advice(name)}", stage=stage, url=url)


def _mb(n: int) -> str:
    return f"{n:,} bytes" if n < 10_000_000 else f"{n:,} bytes ({n / 1e6:,.0f} MB)"


def _deadline_failure(stage: str, url: str, name: str, deadline: float, tr: _Transfer) -> DownloadError:
    """The message of a download abandoned at its deadline, by the stage it had reached."""
    where = {
        "connect": "no connection to the server was made in time",
        "status line": "the server accepted the connection but had not sent its status line",
        "headers": "the server sent its status line but not all of its headers",
    }.get(stage)
    if where is None:
        got = f"{tr.received:,} of {tr.total:,}" if tr.total is not None else f"{tr.received:,}"
        where = f"{got} bytes of the body had arrived"
    return _failure(stage, url, name,
                    f"it did not finish within the {deadline:g} s deadline ({where}); on a slow "
                    "connection pass a longer deadline, or fetch the file another way")


# --------------------------------------------------------------------------- the transfer
def _transfer(tr: _Transfer, url: str, dest: Path, sha256: str, timeout: float,
              max_bytes: int | None) -> None:
    """Download ``url`` into ``dest`` (the worker thread's work); raise on any failure."""
    name = dest.name
    try:
        response = _urlopen(url, min(timeout, max(tr.remaining(), 0.01)))
    except urllib.error.HTTPError as err:
        err.close()
        raise _failure("status line", url, name,
                       f"the server answered HTTP {err.code} {err.reason}") from err
    with response:
        status = getattr(response, "status", None)
        if isinstance(status, int) and not 200 <= status < 300:
            raise _failure("status line", url, name, f"the server answered HTTP {status}")
        tr.enter("headers")
        total = _content_length(response)
        tr.total = total
        if max_bytes is not None and total is not None and total > max_bytes:
            raise _failure("size", url, name,
                           f"the server announced a Content-Length of {_mb(total)}, more than the "
                           f"{_mb(max_bytes)} {name} has; nothing was read")
        tr.enter("body")
        with tr.lock:
            if tr.cancelled:
                raise _Abandoned
            tr.progress = _Progress(name, total)
            try:
                fd, tmp_name = tempfile.mkstemp(prefix=name + ".", suffix=".part", dir=dest.parent)
            except OSError as err:
                raise DownloadError(
                    f"Downloading {name} failed at the cache folder stage: no file could be created "
                    f"in {shown_path(dest.parent)} ({type(err).__name__}: {err}). URL: {url}. Pass "
                    f"cache_dir= a writable folder, or set {DATA_DIR_ENV_VAR} to a folder that "
                    f"holds {name}.", stage="cache folder", url=url) from err
            tr.tmp = Path(tmp_name)
        read = getattr(response, "read1", None) or response.read  # read1: what has arrived
        digest, received = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = read(_CHUNK)
                if not chunk:
                    break
                if max_bytes is not None and received + len(chunk) > max_bytes:
                    raise _failure("size", url, name,
                                   f"more than the {_mb(max_bytes)} {name} has arrived; the "
                                   "download was stopped there")
                out.write(chunk)
                out.flush()  # a live download keeps its .part file's mtime fresh
                digest.update(chunk)
                received += len(chunk)
                with tr.lock:
                    if tr.cancelled:
                        raise _Abandoned
                    tr.received = received
                    tr.progress.update(received)
        if total is not None and received < total:
            raise _failure("body", url, name,
                           f"the connection closed after {received:,} of {total:,} bytes")
    if digest.hexdigest() != sha256:
        raise _failure("checksum", url, name,
                       f"checksum mismatch: expected SHA-256 {sha256}, got {digest.hexdigest()} "
                       f"({received:,} bytes received; the server may serve another version of the file)")
    with tr.lock:
        if tr.cancelled:
            raise _Abandoned
        os.replace(tr.tmp, dest)
        tr.tmp = None


def _run_transfer(tr: _Transfer, *args) -> None:
    """The worker thread: run :func:`_transfer`, keep its error, always clean up."""
    _local.transfer = tr
    try:
        _transfer(tr, *args)
    except BaseException as err:  # noqa: BLE001 - handed to the waiting thread
        tr.error, tr.error_stage = err, tr.stage
    finally:
        _local.transfer = None
        with tr.lock:
            sockets, tr.sockets = tr.sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
        tr.discard_part()
        tr.done.set()


def _positive(value, name: str) -> float:
    """``value`` as a positive float, or a ValueError/TypeError saying how to fix it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a positive number of seconds such as 60; got {value!r} "
                        f"of type {type(value).__name__}.")
    if not value > 0:
        raise ValueError(f"{name} must be a positive number of seconds such as 60; got {value}.")
    return float(value)


def download_atomic(
    url: str,
    dest: Path,
    sha256: str,
    timeout: float = DEFAULT_TIMEOUT_S,
    deadline: float | None = None,
    max_bytes: int | None = None,
) -> Path:
    """Download ``url`` to ``dest``, verifying ``sha256`` before moving into place.

    Args:
        url: where to download from.
        dest: the final path; its folder is created if needed.
        sha256: the expected hex SHA-256 of the file.
        timeout: seconds one network operation (connect, one read) may take.
        deadline: seconds the whole download may take — connecting, the status
            line, the headers and the body (``None``: :data:`DEFAULT_DEADLINE_S`).
            The call returns at most :data:`CLEANUP_GRACE_S` seconds after it.
        max_bytes: the most bytes the file may have (its known size); a larger
            ``Content-Length`` is refused before reading, and a body that grows
            past it is stopped before the extra bytes are written.

    Raises:
        DownloadError: when offline, on a timeout, past the deadline, for an HTTP
            error, a size above ``max_bytes``, a connection closed early, when
            the cache folder cannot be created or written, or when the checksum
            differs; its ``stage`` says which (:data:`STAGES`).  ``dest`` is left
            exactly as it was, and no ``.part`` file is left behind, in every
            failure case.
    """
    dest = Path(dest)
    if network_disabled():
        raise DownloadError(
            f"{OFFLINE_ENV_VAR} is set, so {dest.name} was not downloaded (offline stage). URL: "
            f"{url}. Unset {OFFLINE_ENV_VAR} to download it, or set {DATA_DIR_ENV_VAR} to a "
            f"folder that holds {dest.name}.", stage="offline", url=url)
    deadline = _positive(DEFAULT_DEADLINE_S if deadline is None else deadline, "deadline")
    timeout = _positive(timeout, "timeout")
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int)
                                  or max_bytes < 1):
        raise ValueError(f"max_bytes must be a positive whole number of bytes (the file's known "
                         f"size) or None; got {max_bytes!r}.")
    start = time.monotonic()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # the folder's parent is a file, no permission, ...
        raise DownloadError(
            f"The cache folder {shown_path(dest.parent)} could not be created "
            f"({type(err).__name__}: {err}), so {url} was not downloaded (cache folder stage). "
            f"Pass cache_dir= a writable folder, or set {DATA_DIR_ENV_VAR} to a folder that holds "
            f"{dest.name}.", stage="cache folder", url=url,
        ) from err
    tr = _Transfer(start + deadline, dest.name)
    worker = threading.Thread(target=_run_transfer, name=f"download {dest.name}", daemon=True,
                              args=(tr, url, dest, sha256, timeout, max_bytes))
    worker.start()
    try:
        finished = tr.done.wait(tr.remaining())
    except BaseException:  # KeyboardInterrupt while waiting: stop the worker, leave nothing
        tr.cancel()
        tr.done.wait(CLEANUP_GRACE_S)
        tr.discard_part()
        raise
    if not finished:
        stage = tr.cancel()
        tr.done.wait(CLEANUP_GRACE_S)
        tr.discard_part()
        raise _deadline_failure(stage, url, dest.name, deadline, tr)
    with tr.lock:
        tr.progress.close()
    err = tr.error
    if err is None:
        return dest
    if isinstance(err, DownloadError):
        raise err
    if isinstance(err, _Abandoned):  # cannot happen: only the waiting thread cancels
        raise _deadline_failure(tr.error_stage, url, dest.name, deadline, tr) from err
    if isinstance(err, Exception):  # URLError, timeouts, connection resets, ...
        reason = getattr(err, "reason", None) or err  # URLError wraps the real cause
        what = f"{type(reason).__name__}: {reason}" if isinstance(reason, BaseException) else \
            f"{type(err).__name__}: {reason}"
        raise _failure(tr.error_stage, url, dest.name, what) from err
    raise err  # KeyboardInterrupt, SystemExit, ... raised in the worker


def fetch_file(
    url: str,
    filename: str,
    sha256: str,
    cache_dir: str | os.PathLike | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    deadline: float | None = None,
    validate: Callable[[Path], object] | None = None,
    max_bytes: int | None = None,
) -> tuple[Path, str]:
    """Return a verified local copy of ``url``, downloading it if needed.

    Args:
        url, filename, sha256: what to fetch, its name in the cache, its checksum.
        cache_dir: the cache folder (default: :func:`default_cache_dir`).
        timeout: seconds one network operation may take.
        deadline: seconds the whole download may take, first byte to last
            (``None``: :data:`DEFAULT_DEADLINE_S`).
        validate: optional reader that raises on a file it cannot use; it is
            only called to tell, in an error message, a cached file that is
            corrupt from a readable one that is merely a different version.
        max_bytes: the file's known size: the most bytes a download may bring.

    Returns:
        ``(path, how)`` where ``how`` is ``"cache"`` or ``"download"``.

    Raises:
        DownloadError: when no verified copy can be had.  A cached file with
            the wrong checksum, or one that cannot be read (permission denied),
            is reported in the message and left for the next good download to
            replace.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    dest = cache / filename
    remove_stale_parts(cache, filename, max(STALE_PART_AGE_S, 4 * timeout))
    unreadable: OSError | None = None
    try:
        if cached_file_ok(dest, sha256):
            return dest, "cache"
        mismatched = dest.is_file()
    except OSError as err:  # permission denied, a folder where the file should be, ...
        unreadable, mismatched = err, False
    try:
        return download_atomic(url, dest, sha256, timeout=timeout, deadline=deadline,
                               max_bytes=max_bytes), "download"
    except DownloadError as err:
        if unreadable is not None:
            raise DownloadError(
                f"The cached {shown_path(dest)} could not be read ({type(unreadable).__name__}: "
                f"{unreadable.strerror or unreadable}), so it was not used; make it readable "
                f"(or delete it) to use the cache. It could not be replaced: {err}",
                stage=err.stage, url=url) from err
        if mismatched:
            raise DownloadError(_describe_mismatch(dest, sha256, validate) +
                                f" It could not be replaced: {err}", stage=err.stage, url=url) from err
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
            f"The cached {shown_path(dest)} is a readable file but does not match the expected "
            f"checksum (SHA-256 {sha256_of(dest)[:16]}..., expected {sha256[:16]}...): probably "
            "another version of the file, so it was not used. Delete it (the next run downloads "
            f"the expected one), or set {DATA_DIR_ENV_VAR} to its folder to use it on purpose."
        )
    return (
        f"The cached {shown_path(dest)} is corrupt (checksum mismatch), so it was not used. Delete "
        "it; the next run with network access downloads it again."
    )
