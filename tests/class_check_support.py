"""Shared pieces of the class check's tests: submissions, hashes, leftover processes."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent

#: the class check's tests need its sandbox: skipped (saying why) on a machine without
#: bubblewrap, except in CI (CI=true), which installs it and never skips them
needs_sandbox = pytest.mark.skipif(
    sys.platform != "linux" or (shutil.which("bwrap") is None and os.environ.get("CI") != "true"),
    reason="the class check's sandbox is bubblewrap (Linux): apt-get install bubblewrap "
           "(CI installs it and never skips these)")
# the same limits for every class-check test: generous, as CI runs them beside other
# TensorFlow work; only the timeout test waits out its limit
LIMIT_ARGS = dict(timeout_s=120, check_timeout_s=120, memory_mb=3072, procs=128)

CHECK = 'from helpers.checks import check_exercise\ncheck_exercise("xcov_penalty", xcov_penalty);'


def xcov_solution() -> str:
    """The chapter's own ``#| export`` cell that defines ``xcov_penalty``."""
    nb = nbformat.read(ROOT / "chapters" / "01_xcov.ipynb", as_version=4)
    source = next(c.source for c in nb.cells
                  if c.cell_type == "code" and "def xcov_penalty" in c.source)
    assert source.startswith("#| export"), "the chapter's xcov_penalty cell lost its export marker"
    return source


def xcov_wrong() -> str:
    """The solution without the ½: a typical mistake (three of four checks fail)."""
    source = xcov_solution()
    wrong = source.replace("return 0.5 * ops.sum(ops.square(cov))", "return ops.sum(ops.square(cov))")
    assert wrong != source
    return wrong


def xcov_stub() -> str:
    """What a student version hands out: the function raises ``NotImplementedError``."""
    return ("#| export\ndef xcov_penalty(y, z):\n"
            "    raise NotImplementedError('write it')\n")


def notebook(path: Path, *sources: str) -> Path:
    """Write a notebook with one code cell per source."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def tree_hash(folder: Path, stat_only: bool = False) -> dict[str, str]:
    """``{relative path: digest}`` of everything under ``folder``, symlinks not followed.

    ``stat_only`` hashes size and modification time instead of the content (fast, for
    a whole virtual environment).
    """
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for name in [*filenames, *dirnames]:
            path = Path(dirpath, name)
            rel = str(path.relative_to(folder))
            info = path.lstat()
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_file() and not stat_only:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_file():
                out[rel] = f"{info.st_size}:{info.st_mtime_ns}"
            else:
                out[rel] = "dir"
    return out


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The paths that appeared, disappeared or changed."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def processes_matching(*needles: str) -> list[tuple[int, str]]:
    """Live processes whose command line contains any of ``needles``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes().replace(b"\0", b" ").decode(
                "utf-8", "replace")
        except OSError:
            continue
        if any(n in cmdline for n in needles):
            found.append((int(entry), cmdline[:200]))
    return found


def sandbox_leftovers(uids: set[int]) -> list[tuple[int, str]]:
    """Processes a class check's sandboxes left: a runner (``--inside``) or a kernel of its home.

    As root, only processes of that check's unprivileged users (``uids``) count, so that a
    class check running at the same time (another test worker) is not mistaken for one.
    """
    found = []
    for pid, cmdline in processes_matching("--inside notebook", "--inside checks",
                                           "/home/student/"):
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        if uid in uids or os.geteuid() != 0:
            found.append((pid, cmdline))
    return found
