"""helpers.files: atomic writes never leave a half-written file or a stray temporary."""

from __future__ import annotations

import json
import multiprocessing
import os
import time

import pytest

from helpers.files import atomic_write, atomic_write_bytes, atomic_write_text, remove_stale_temporaries


def test_a_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "record.json"
    atomic_write_text(path, "old")
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]
    atomic_write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "record.json"
    atomic_write_text(path, "old")
    with pytest.raises(OSError, match="disk full"), atomic_write(path) as f:
        f.write("half of the new")
        raise OSError(28, "disk full")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["record.json"]


def test_a_full_disk_keeps_the_old_file(tmp_path):
    """A real write that runs out of room (a file-size limit stands in for a full disk)."""
    resource = pytest.importorskip("resource")
    path = tmp_path / "big.bin"
    atomic_write_bytes(path, b"old")

    def write_too_much() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        import signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        try:
            atomic_write_bytes(path, b"x" * 100_000)
        except OSError:
            os._exit(3)
        os._exit(0)

    proc = multiprocessing.get_context("fork").Process(target=write_too_much)
    proc.start()
    proc.join(30)
    assert proc.exitcode == 3
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]


def _hammer(path: str, value: int, n: int) -> None:
    for i in range(n):
        atomic_write_text(path, json.dumps({"writer": value, "i": i, "pad": "x" * 2000}))


def test_two_concurrent_writers_never_show_a_reader_a_broken_file(tmp_path):
    path = tmp_path / "shared.json"
    atomic_write_text(path, json.dumps({"writer": -1}))
    ctx = multiprocessing.get_context("fork")
    writers = [ctx.Process(target=_hammer, args=(str(path), k, 300)) for k in range(2)]
    for w in writers:
        w.start()
    bad = reads = 0
    while any(w.is_alive() for w in writers):
        reads += 1
        try:
            json.loads(path.read_text())
        except ValueError:
            bad += 1
    for w in writers:
        w.join()
        assert w.exitcode == 0
    assert reads > 0 and bad == 0
    assert [p.name for p in tmp_path.iterdir()] == ["shared.json"]


def test_stale_temporaries_are_removed_and_fresh_ones_kept(tmp_path):
    path = tmp_path / "r.json"
    stale, fresh = tmp_path / "r.json.abc.part", tmp_path / "r.json.def.part"
    other = tmp_path / "q.json.abc.part"
    for p in (stale, fresh, other):
        p.write_text("x")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    assert remove_stale_temporaries(path) == [stale]
    assert fresh.exists() and other.exists()


def test_bad_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="mode"), atomic_write(tmp_path / "x", "a"):
        pass
