"""Atomic file writes: a file the course writes is either the old one or the new one.

Every file the course writes — run records, executed notebooks, caches, tables,
figures, generated modules — goes through :func:`atomic_write` (or one of its two
shortcuts).  The content is written to a temporary file with a *unique* name in the
same folder (``<name>.<random>.part``), flushed to disk, and only then moved over the
final path with :func:`os.replace`, which is atomic on every platform Python runs on.
So:

* a full disk, a kill or an exception mid-write leaves the final path untouched (the
  temporary is removed on an exception; a killed process's temporary is removed by
  :func:`remove_stale_temporaries`, which the next write calls);
* two processes writing the same path never share a temporary, and a reader sees one
  complete version or the other, never a mixture.

Only the standard library is used, so tools and tests can import this module without
TensorFlow.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "remove_stale_temporaries"]

#: a temporary untouched for this long belongs to no live writer
STALE_TEMPORARY_AGE_S = 3600.0
_SUFFIX = ".part"


def remove_stale_temporaries(path: str | os.PathLike,
                             older_than_s: float = STALE_TEMPORARY_AGE_S) -> list[Path]:
    """Delete ``<name>.*.part`` temporaries of ``path`` not written to for ``older_than_s`` s.

    Only plain files of this one pattern are touched, and a recent one is kept (another
    process may be writing it: a live download writes at least once per read timeout).
    Errors (a missing or unreadable folder, a file removed meanwhile) are ignored.
    Returns the removed paths.
    """
    path = Path(path)
    prefix = path.name + "."
    removed: list[Path] = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        ours = (entry.name.startswith(prefix) and entry.name.endswith(_SUFFIX)
                and len(entry.name) > len(prefix) + len(_SUFFIX))  # <name>.<random>.part
        if not ours:
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and now - entry.stat().st_mtime > older_than_s:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                 newline: str | None = None) -> Iterator[IO]:
    """Open a unique temporary beside ``path`` for writing; move it into place on success.

    Use as ``with atomic_write(path) as f: f.write(...)``.  ``mode`` is ``"w"`` (text)
    or ``"wb"`` (bytes).  If the block raises (a full disk, an interrupt), the temporary
    is removed, the exception propagates, and ``path`` keeps its old content.  The
    parent folder must exist.
    """
    if mode not in {"w", "wb"}:
        raise ValueError(f"atomic_write: expected mode 'w' or 'wb', got {mode!r}.")
    path = Path(path)
    remove_stale_temporaries(path)
    fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=_SUFFIX, dir=path.parent)
    tmp = Path(tmp_name)
    try:
        kwargs = {} if mode == "wb" else {"encoding": encoding, "newline": newline}
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(OSError):  # keep the old file's permission bits
            os.chmod(tmp, (path.stat().st_mode if path.exists() else 0o666 & ~_umask()) & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`); return the path."""
    with atomic_write(path, "w", encoding=encoding) as handle:
        handle.write(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`); return the path."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)
