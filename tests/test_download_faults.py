"""Downloads against a real HTTP server on 127.0.0.1 that misbehaves in every way we know of.

Each test starts a small threaded TCP server on the loopback address (an ephemeral
port) that speaks just enough HTTP to misbehave on purpose: it never answers, trickles
its status line a byte at a time, sends one header per second, announces 10 GB, closes
halfway, serves the wrong bytes or a 404.  Every server loop is bounded (a fixed number
of steps, each ending early once the test is over), so nothing outlives the test.

Every failure must end within the deadline plus one second, say at which stage it
failed, name the URL and what to do, and leave neither the file nor a ``.part`` file.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers.data import datasets, downloads, mnist

PAYLOAD = bytes(range(256)) * 8  # 2,048 bytes
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()
DEADLINE_S = 2.0
_PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


class MisbehavingServer:
    """A threaded TCP server on 127.0.0.1 that answers every request with ``behaviour``.

    ``behaviour(server, conn)`` writes the raw bytes of the answer; it should wait with
    ``server.stop.wait(seconds)`` (which returns ``True`` once the test is over) so that
    every loop ends by itself.  ``server.sent`` counts the body bytes handed to the socket.
    """

    def __init__(self, behaviour: Callable[[MisbehavingServer, socket.socket], None]) -> None:
        self.behaviour = behaviour
        self.stop = threading.Event()
        self.sent = 0
        self.requests = 0
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepter.start()

    def url(self, name: str = "file.bin") -> str:
        """The URL of ``name`` on this server."""
        return f"http://127.0.0.1:{self.port}/{name}"

    def _accept_loop(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5.0)
            try:
                request = b""
                while b"\r\n\r\n" not in request and len(request) < 65536:
                    data = conn.recv(4096)
                    if not data:
                        return
                    request += data
                self.requests += 1
                self.behaviour(self, conn)
            except OSError:  # the client went away: that is how most of these end
                return

    def send_body(self, conn: socket.socket, data: bytes) -> None:
        """Send body bytes, counting them."""
        conn.sendall(data)
        self.sent += len(data)

    def close(self) -> None:
        """Stop every loop, close the listener, wait (briefly) for the threads."""
        self.stop.set()
        self._listener.close()
        for thread in [self._accepter, *self._threads]:
            thread.join(timeout=2.0)


# ------------------------------------------------------------------------ behaviours
def never_answers(server: MisbehavingServer, conn: socket.socket) -> None:
    """Accept the connection, read the request, then say nothing (for at most 30 s)."""
    server.stop.wait(30)


def status_line_trickle(server: MisbehavingServer, conn: socket.socket) -> None:
    """A status line with a long reason phrase, one byte every 0.5 s (at most 200 bytes)."""
    for byte in b"HTTP/1.0 200 " + b"O" * 187:
        conn.sendall(bytes([byte]))
        if server.stop.wait(0.5):
            return


def headers_one_per_second(server: MisbehavingServer, conn: socket.socket) -> None:
    """A prompt status line, then one header per second (at most 60)."""
    conn.sendall(b"HTTP/1.0 200 OK\r\n")
    for i in range(60):
        if server.stop.wait(1.0):
            return
        conn.sendall(f"X-Slow-{i}: one per second\r\n".encode())


def _stream_fast(server: MisbehavingServer, conn: socket.socket, header: bytes,
                 limit: int = 64 << 20) -> None:
    """Send ``header``, then zeros as fast as the client takes them (at most ``limit`` bytes)."""
    conn.sendall(header)
    block = bytes(1 << 16)
    while server.sent < limit and not server.stop.is_set():
        server.send_body(conn, block)


def ten_gigabytes_fast(server: MisbehavingServer, conn: socket.socket) -> None:
    """Announce 10 GB and stream fast (the server stops itself after 64 MB)."""
    _stream_fast(server, conn, b"HTTP/1.0 200 OK\r\nContent-Length: 10000000000\r\n\r\n")


def endless_without_length(server: MisbehavingServer, conn: socket.socket) -> None:
    """No Content-Length; stream fast until the client hangs up (at most 64 MB)."""
    _stream_fast(server, conn, b"HTTP/1.0 200 OK\r\n\r\n")


def _answer(body: bytes, length: int | None = None, status: bytes = b"200 OK"):
    """A behaviour that sends ``body`` with a ``Content-Length`` of ``length``, then closes."""
    def behaviour(server: MisbehavingServer, conn: socket.socket) -> None:
        n = len(body) if length is None else length
        conn.sendall(b"HTTP/1.0 " + status + f"\r\nContent-Length: {n}\r\n\r\n".encode())
        server.send_body(conn, body)
    return behaviour


def body_trickle(server: MisbehavingServer, conn: socket.socket) -> None:
    """Headers at once, then the body one byte every 0.1 s (at most 200 bytes)."""
    conn.sendall(f"HTTP/1.0 200 OK\r\nContent-Length: {len(PAYLOAD)}\r\n\r\n".encode())
    for byte in PAYLOAD[:200]:
        server.send_body(conn, bytes([byte]))
        if server.stop.wait(0.1):
            return


# --------------------------------------------------------------------------- fixtures
@pytest.fixture()
def serve(monkeypatch):
    """Start misbehaving servers on 127.0.0.1; all are stopped when the test ends."""
    for var in _PROXY_VARS:  # a proxy would take the loopback requests elsewhere
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("HF_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATA_DIR", raising=False)
    servers: list[MisbehavingServer] = []

    def start(behaviour) -> MisbehavingServer:
        server = MisbehavingServer(behaviour)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _refused_url() -> str:
    """A loopback URL where nothing listens (the port was just freed)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/file.bin"


def _fails_cleanly(url: str, folder: Path, stage: str, max_bytes: int | None = len(PAYLOAD),
                   deadline: float = DEADLINE_S, **kwargs) -> downloads.DownloadError:
    """Fetch ``url`` into ``folder``; check the failure is prompt, clear and leaves nothing."""
    start = time.monotonic()
    with pytest.raises(downloads.DownloadError) as info:
        downloads.fetch_file(url, "file.bin", PAYLOAD_SHA, cache_dir=folder, deadline=deadline,
                             max_bytes=max_bytes, **kwargs)
    elapsed = time.monotonic() - start
    err = info.value
    message = str(err)
    assert elapsed < deadline + 1.0, f"took {elapsed:.1f} s with a {deadline:g} s deadline"
    assert err.stage == stage, message
    assert f"failed at the {stage} stage" in message
    assert url in message
    assert "HF_OFFLINE=1" in message and "HF_DATA_DIR" in message  # what to do
    assert not (folder / "file.bin").exists()
    assert list(folder.glob("*.part")) == []
    return err


# ------------------------------------------------------------------------ the faults
def test_server_that_never_answers_is_abandoned_at_the_deadline(serve, tmp_path):
    server = serve(never_answers)
    err = _fails_cleanly(server.url(), tmp_path, "status line")
    assert "did not finish within the 2 s deadline" in str(err)
    assert "had not sent its status line" in str(err)


def test_status_line_one_byte_per_half_second_is_abandoned_at_the_deadline(serve, tmp_path):
    server = serve(status_line_trickle)
    err = _fails_cleanly(server.url(), tmp_path, "status line")
    assert "did not finish within the 2 s deadline" in str(err)


def test_headers_one_per_second_are_abandoned_at_the_deadline(serve, tmp_path):
    server = serve(headers_one_per_second)
    err = _fails_cleanly(server.url(), tmp_path, "headers", deadline=3.0)
    assert "did not finish within the 3 s deadline" in str(err)
    assert "not all of its headers" in str(err)


def test_body_trickle_is_abandoned_at_the_deadline(serve, tmp_path):
    server = serve(body_trickle)
    err = _fails_cleanly(server.url(), tmp_path, "body")
    assert f"of {len(PAYLOAD):,} bytes of the body had arrived" in str(err)
    assert server.sent < len(PAYLOAD)


def test_ten_gigabytes_announced_are_refused_before_reading(serve, tmp_path):
    server = serve(ten_gigabytes_fast)
    err = _fails_cleanly(server.url(), tmp_path, "size")
    assert "10,000,000,000 bytes" in str(err) and "nothing was read" in str(err)


def test_content_length_above_the_expected_size_is_refused(serve, tmp_path):
    server = serve(_answer(PAYLOAD + b"x" * 100))
    err = _fails_cleanly(server.url(), tmp_path, "size")
    assert f"{len(PAYLOAD) + 100:,} bytes" in str(err) and f"{len(PAYLOAD):,} bytes" in str(err)


def test_endless_body_without_length_is_cut_at_the_size_cap(serve, tmp_path):
    server = serve(endless_without_length)
    err = _fails_cleanly(server.url(), tmp_path, "size", max_bytes=1 << 20)
    assert "more than the 1,048,576 bytes" in str(err)
    assert server.sent < 64 << 20  # stopped long before the server would have stopped


def test_connection_closed_halfway_says_so(serve, tmp_path):
    server = serve(_answer(PAYLOAD[:1000], length=len(PAYLOAD)))
    err = _fails_cleanly(server.url(), tmp_path, "body")
    assert f"connection closed after 1,000 of {len(PAYLOAD):,} bytes" in str(err)
    assert "checksum" not in str(err).lower()


def test_wrong_bytes_fail_the_checksum(serve, tmp_path):
    server = serve(_answer(bytes(len(PAYLOAD))))
    err = _fails_cleanly(server.url(), tmp_path, "checksum")
    assert "checksum mismatch" in str(err) and PAYLOAD_SHA in str(err)


def test_not_found_names_the_status(serve, tmp_path):
    server = serve(_answer(b"not found", status=b"404 Not Found"))
    err = _fails_cleanly(server.url(), tmp_path, "status line")
    assert "HTTP 404 Not Found" in str(err)


def test_connection_refused_fails_at_connect(serve, tmp_path):
    err = _fails_cleanly(_refused_url(), tmp_path, "connect")
    assert "refused" in str(err).lower()


def test_short_read_timeout_inside_the_deadline_names_the_stage(serve, tmp_path):
    """A per-operation timeout shorter than the deadline ends it at that stage, sooner."""
    server = serve(never_answers)
    start = time.monotonic()
    err = _fails_cleanly(server.url(), tmp_path, "status line", timeout=0.5)
    assert time.monotonic() - start < 1.5 and "timed out" in str(err)


def test_a_well_behaved_server_still_works(serve, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(downloads, "PROGRESS_MIN_BYTES", 1000)
    server = serve(_answer(PAYLOAD))
    path, how = downloads.fetch_file(server.url(), "file.bin", PAYLOAD_SHA, cache_dir=tmp_path,
                                     deadline=DEADLINE_S, max_bytes=len(PAYLOAD))
    assert how == "download" and path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]
    err = capsys.readouterr().err
    assert "100% of" in err and err.endswith("\n")
    again = downloads.fetch_file(server.url(), "file.bin", PAYLOAD_SHA, cache_dir=tmp_path,
                                 deadline=DEADLINE_S, max_bytes=len(PAYLOAD))
    assert again == (path, "cache") and server.requests == 1


def test_an_existing_file_survives_every_failed_download(serve, tmp_path):
    """A cached file of another version stays exactly as it was when its replacement fails."""
    (tmp_path / "file.bin").write_bytes(b"the old version")
    server = serve(_answer(PAYLOAD[:1000], length=len(PAYLOAD)))
    with pytest.raises(downloads.DownloadError, match="connection closed after 1,000"):
        downloads.fetch_file(server.url(), "file.bin", PAYLOAD_SHA, cache_dir=tmp_path,
                             deadline=DEADLINE_S, max_bytes=len(PAYLOAD))
    assert (tmp_path / "file.bin").read_bytes() == b"the old version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]


# ------------------------------------------------------------ through the MNIST loader
@pytest.mark.parametrize("behaviour, stage", [
    (status_line_trickle, "status line"),
    (headers_one_per_second, "headers"),
    (ten_gigabytes_fast, "size"),
], ids=["status line trickle", "headers one per second", "10 GB announced"])
def test_load_mnist_falls_back_within_its_deadline(serve, tmp_path, monkeypatch, behaviour, stage):
    server = serve(behaviour)
    monkeypatch.setattr(mnist, "MNIST_URL", server.url("mnist.npz"))
    monkeypatch.setattr(downloads, "DEFAULT_DEADLINE_S", 3.0)
    cache = tmp_path / "cache"
    start = time.monotonic()
    with pytest.warns(datasets.OfflineFallbackWarning, match=f"failed at the {stage} stage"):
        ds = mnist.load_mnist(cache_dir=cache, train_size=100, test_size=100)
    assert time.monotonic() - start < 3.0 + 1.0 + 2.0  # the deadline, a second, loading the subset
    assert ds.is_fallback and ds.provenance["source"] == "offline-subset"
    assert server.sent < 64 << 20
    assert list(cache.iterdir()) == []  # neither mnist.npz nor a .part file


def test_abandoned_download_leaves_no_thread_writing(serve, tmp_path):
    """After the deadline, the worker is shut down: no .part file appears later."""
    server = serve(body_trickle)
    with pytest.raises(downloads.DownloadError):
        downloads.fetch_file(server.url(), "file.bin", PAYLOAD_SHA, cache_dir=tmp_path,
                             deadline=1.0, max_bytes=len(PAYLOAD))
    time.sleep(0.5)
    assert list(tmp_path.iterdir()) == []
    alive = [t.name for t in threading.enumerate() if t.name == "download file.bin"]
    assert alive == []
