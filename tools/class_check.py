"""Grade a class's notebooks in a sandbox and tabulate which exercise checks pass.

    python -m tools.class_check SUBMISSIONS/ [--out DIR] [--timeout 300] [--jobs N]
    python -m tools.class_check --demo DIR    # five made-up submissions, checked in CI

THIS RUNS YOUR STUDENTS' CODE.  Every ``*.ipynb`` directly in ``SUBMISSIONS/`` is
untrusted code, and the check treats it so.  For each submission, in parallel (one
per core unless ``--jobs`` says otherwise):

1. the file is read without following symbolic links (a symlink is refused and
   never read), at most ``--max-notebook-mb``, and must be a valid notebook;
2. the notebook runs top to bottom, in a fresh kernel, with ``HF_PROFILE=smoke``
   and the time limit, inside a **sandbox**: status ``ran``, ``error`` (which cell,
   which error) or ``timeout``;
3. its ``#| export`` cells alone (not the ``#| exporti`` harness) are run in a **second,
   fresh sandbox** (without the course's own solutions, ``helpers/papers``), where the
   exercise's probes call the student's function or class on inputs drawn afresh for
   this run and send back raw numbers only (JSON, size-capped);
4. this process, which never imports student code, compares those numbers with the
   known answers (``helpers/checks.py``): per exercise ``pass``, ``fail`` (which
   checks), ``not written``, ``no result`` or ``error`` (a broken checker: a check
   that made no assertion never counts as a pass).

The sandbox (bubblewrap, ``bwrap``) gives each run: no network (its own network
namespace), its own process namespace (it cannot see or signal your processes), a
private writable folder (a size-capped tmpfs holding only a copy of that one
submission) and nothing else writable, the course's ``helpers`` and its Python
environment read-only, nothing else of your files, an empty environment but for
what the run needs (no tokens or keys of yours), an unprivileged user when you are
root, limits on memory (address space), CPU time, processes and file size, a cap on
the output kept, and the end of every process it started when it ends.

What the check trusts: the Linux kernel and bubblewrap; this file and
``helpers/checks.py`` (which students' code can read but not change); the course's
Python environment.  What it does not trust: anything a notebook prints, writes or
sends back.  The status of the notebook's own run (``ran``/``error``) comes from
inside the sandbox, so a notebook could misreport it; the grades do not depend on
it.  The raw numbers are checked as data; to fake a pass a student's code must
return the right numbers for inputs it first sees at run time, i.e. solve the
exercise (copying a classmate's solution is not detected).  A kernel exploit that
escapes the sandbox is out of scope.

Without bubblewrap (not installed, or user namespaces blocked) the check refuses
to run unless you pass ``--no-sandbox``: then each notebook runs as an ordinary
process (as an unprivileged user if you are root) that can read your files, use the
network and leave processes behind.  Use it only for code you trust.

Writes ``class_check.csv`` and ``class_check.html`` atomically to ``--out``
(default: the submissions folder), after every submission, and prints the table;
Ctrl-C stops every sandbox and keeps the rows done so far.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import errno
import html
import io
import json
import os
import queue
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK_CALL = re.compile(r"check_exercise\(\s*[\"'](\w+)[\"']")
GRACE_S = 60  # on top of the time limit, for the kernel to start and stop
HOME = "/home/student"  # the private folder inside the sandbox
EXPORT_MARKER = "#| export"
STATUSES = ("ran", "error", "timeout")  # what a notebook's own run may report
NO_SANDBOX_WARNING = """\
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
WARNING: --no-sandbox.  Every notebook runs as an ordinary process on this machine
(an unprivileged user if you are root and the course's Python is readable by
others, otherwise as YOU, root included).  Its code can read your
files, use the network, and leave processes running after its row is done; only
the environment variables, the time, memory, process and file-size limits still
apply.  Use this only for notebooks you trust.
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"""


@dataclass(frozen=True)
class Limits:
    """What one sandboxed run may use."""

    timeout_s: float = 300  # the notebook's run (wall clock)
    check_timeout_s: float = 60  # the checks' run (wall clock)
    memory_mb: int = 4096  # address space of each process
    procs: int = 256  # processes and threads of the run's user
    file_mb: int = 256  # the largest file it may write
    disk_mb: int = 1024  # its private folder and /tmp (memory-backed)
    output_kb: int = 64  # stdout/stderr kept (the rest is read and dropped)
    notebook_mb: int = 50  # the largest submission read
    result_kb: int = 4096  # the largest result a run may send back
    threads: int = 1  # CPU threads per run (TensorFlow, OpenMP)


@dataclass
class Result:
    """One submission's row of the table."""

    student: str
    status: str
    seconds: float
    detail: str = ""
    exercises: dict[str, str] = field(default_factory=dict)
    failed: dict[str, list[str]] = field(default_factory=dict)  # exercise -> failing checks
    counts: dict[str, str] = field(default_factory=dict)  # exercise -> "3 of 4"


@dataclass
class Run:
    """What came back from one sandboxed run."""

    returncode: int | None
    result: bytes
    result_overflow: bool
    stdout_tail: bytes
    stderr_tail: bytes
    timed_out: bool
    interrupted: bool
    seconds: float


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create a sandbox here."""


# -------------------------------------------------------------- small helpers
def _clean(text: str, limit: int = 160) -> str:
    """Untrusted text for one table cell: no control characters, at most ``limit`` chars."""
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", str(text))
    text = "".join(c if c.isprintable() else " " for c in text)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _csv_cell(value: str) -> str:
    """A CSV cell that no spreadsheet runs as a formula (``=``, ``+``, ``-``, ``@``, tab, CR)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _read_capped(fd: int, keep: int, tail: bool, out: dict) -> None:
    """Read ``fd`` to its end, keeping the first (or last) ``keep`` bytes in ``out``."""
    kept, total = bytearray(), 0
    try:
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            total += len(chunk)
            if tail:
                kept += chunk
                if len(kept) > keep:
                    del kept[: len(kept) - keep]
            elif len(kept) < keep + 1:
                kept += chunk[: keep + 1 - len(kept)]
    except OSError:
        pass
    finally:
        os.close(fd)
    out["data"], out["total"] = bytes(kept), total


class _Processes:
    """The sandboxes now running, so that Ctrl-C can stop every one of them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.live: set[subprocess.Popen] = set()
        self.stopping = threading.Event()

    def add(self, proc: subprocess.Popen) -> None:
        with self.lock:
            self.live.add(proc)
        if self.stopping.is_set():
            _kill(proc)

    def discard(self, proc: subprocess.Popen) -> None:
        with self.lock:
            self.live.discard(proc)

    def stop_all(self) -> None:
        self.stopping.set()
        with self.lock:
            procs = list(self.live)
        for proc in procs:
            _kill(proc)


PROCESSES = _Processes()
#: the unprivileged users of the last check_class's sandboxes (root only; for tests)
last_uids: set[int] = set()


def _kill(proc: subprocess.Popen) -> None:
    """Kill a run's process group; with bubblewrap its whole pid namespace goes with it."""
    with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, OSError):
        proc.kill()


def _reachable_by_others(path: str) -> bool:
    """Whether a user other than the owner can reach ``path`` (every folder above it is o+x)."""
    p = Path(os.path.realpath(path))
    try:
        return all(os.stat(q).st_mode & stat.S_IXOTH for q in [p, *p.parents])
    except OSError:
        return False


def _memfd(name: str, data: bytes) -> int:
    """An in-memory file holding ``data``, positioned at its start (for bwrap ``--file``)."""
    fd = os.memfd_create(name, 0)
    view, written = memoryview(data), 0
    while written < len(data):
        written += os.write(fd, view[written:])
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


# ------------------------------------------------------------------- the sandbox
class Sandbox:
    """Builds and runs the command of one isolated run (bubblewrap, or none)."""

    def __init__(self, limits: Limits, profile: str = "smoke", use_bwrap: bool = True,
                 uid_base: int | None = None) -> None:
        self.limits, self.profile, self.use_bwrap = limits, profile, use_bwrap
        self.bwrap = shutil.which("bwrap") if use_bwrap else None
        self.root_mode = os.geteuid() == 0
        self.python = sys.executable
        # unprivileged users for the runs (root only): random, so two class checks
        # on one machine never share a process count
        self.uid_base = uid_base or 1_000_000_000 + secrets.randbelow(500_000_000)
        self.drop_root = self.root_mode and (use_bwrap or all(
            _reachable_by_others(p) for p in (sys.base_prefix, sys.prefix, str(ROOT))))
        # the teacher's data, read-only: HF_DATA_DIR if set, and the Keras download cache
        data = os.environ.get("HF_DATA_DIR", "")
        self.data_dir = os.path.realpath(data) if data and os.path.isdir(data) else None
        cache = os.path.join(os.environ.get("KERAS_HOME") or os.path.join(
            os.path.expanduser("~"), ".keras"), "datasets")
        self.keras_cache = os.path.realpath(cache) if os.path.isdir(cache) else None
        if use_bwrap and self.bwrap is None:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed, so the notebooks cannot be sandboxed. "
                "Install it (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf "
                "install bubblewrap) and run again, or pass --no-sandbox to run the students' "
                "code unsandboxed (read --help first).")

    # ---------------------------------------------------------------- the command
    def _ro_paths(self) -> list[str]:
        """Host paths bound read-only at the same place: the Python environment, the course."""
        exe_dir = os.path.dirname(os.path.realpath(self.python))
        paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, exe_dir,
                 os.path.dirname(os.path.realpath(exe_dir)),
                 str(ROOT / "helpers"), str(Path(__file__).resolve())]
        out: list[str] = []
        for p in sorted({os.path.realpath(p) for p in paths if p}, key=len):
            if p.startswith("/usr/") or p == "/usr" or p == "/":
                continue
            if not any(p == q or p.startswith(q.rstrip("/") + "/") for q in out):
                out.append(p)
        return out

    def _bwrap_args(self, files: list[tuple[str, int]], hide: list[str]) -> list[str]:
        lim = self.limits
        args = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-ipc",
                "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                "--hostname", "sandbox"]
        if not self.root_mode:
            args += ["--unshare-user", "--disable-userns"]
        args += ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = f"/{name}"
            if os.path.islink(host):
                args += ["--symlink", os.readlink(host), host]
            elif os.path.isdir(host):
                args += ["--ro-bind", host, host]
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--size", str(64 << 20), "--perms", "1777", "--tmpfs", "/dev/shm",
                 "--size", str(lim.disk_mb << 19), "--perms", "1777", "--tmpfs", "/tmp",
                 "--perms", "0755", "--dir", "/etc"]
        for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "hosts",
                     "nsswitch.conf", "fonts", "mime.types"):
            if os.path.exists(f"/etc/{name}"):
                args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        made: set[str] = {"/", "/etc", "/tmp", "/usr", "/home"}
        ro = self._ro_paths()
        for path in ro:
            for parent in list(Path(path).parents)[::-1]:
                if str(parent) not in made:
                    made.add(str(parent))
                    args += ["--perms", "0755", "--dir", str(parent)]
            args += ["--ro-bind", path, path]
        if self.data_dir:
            args += ["--ro-bind", self.data_dir, "/data"]
        for path in hide:  # e.g. the course's own solutions, during the checks
            args += ["--tmpfs", path]
        args += ["--perms", "0755", "--dir", "/home",
                 "--size", str(lim.disk_mb << 19), "--perms", "1777", "--tmpfs", HOME]
        for dest, fd in files:
            args += ["--perms", "0444", "--file", str(fd), dest]
        if self.keras_cache:
            args += ["--perms", "1777", "--dir", f"{HOME}/.keras",
                     "--ro-bind", self.keras_cache, f"{HOME}/.keras/datasets"]
        args += ["--chdir", HOME, "--clearenv"]
        return args

    def _env(self, home: str) -> dict[str, str]:
        t = str(max(1, self.limits.threads))
        env = {
            "PATH": os.pathsep.join([os.path.dirname(self.python), "/usr/local/bin", "/usr/bin",
                                     "/bin"]),
            "HOME": home, "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8",
            "TMPDIR": "/tmp" if self.use_bwrap else home,
            "HF_PROFILE": self.profile, "HF_OFFLINE": "1", "MPLBACKEND": "Agg",
            "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
            "PYTHONUNBUFFERED": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0", "KERAS_BACKEND": "tensorflow",
            "OMP_NUM_THREADS": t, "TF_NUM_INTRAOP_THREADS": t, "TF_NUM_INTEROP_THREADS": "2",
            "MALLOC_ARENA_MAX": "2", "MPLCONFIGDIR": os.path.join(home, ".config", "matplotlib"),
        }
        if self.data_dir:
            env["HF_DATA_DIR"] = "/data" if self.use_bwrap else self.data_dir
        return env

    def run(self, mode: str, files: dict[str, bytes], args: list[str], wall_s: float,
            slot: int, hide: list[str] = ()) -> Run:
        """Run ``class_check.py --inside MODE`` isolated; ``files`` go into its private folder."""
        start = time.monotonic()
        lim = self.limits
        limits = {"memory": lim.memory_mb << 20, "procs": lim.procs, "file": lim.file_mb << 20,
                  "cpu": int(wall_s * (lim.threads + 1)) + 30,
                  "uid": self.uid_base + slot if self.drop_root else -1}
        result_r, result_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        fds: list[int] = []
        private = None
        try:
            if self.use_bwrap:
                placed = []
                for name, data in files.items():
                    fd = _memfd(name, data)
                    fds.append(fd)
                    placed.append((f"{HOME}/{name}", fd))
                passwd = (f"student:x:{max(limits['uid'], 0) or os.getuid()}:"
                          f"{max(limits['uid'], 0) or os.getgid()}::{HOME}:/usr/sbin/nologin\n")
                pfd = _memfd("passwd", passwd.encode())
                fds.append(pfd)
                home = HOME
                cmd = [*self._bwrap_args(placed, list(hide)), "--ro-bind-data", str(pfd),
                       "/etc/passwd"]
                for key, value in self._env(home).items():
                    cmd += ["--setenv", key, value]
                cmd += ["--", self.python, str(Path(__file__).resolve())]
                env, cwd = None, None
            else:
                private = tempfile.mkdtemp(prefix="class_check_")
                home = private
                for name, data in files.items():
                    Path(private, name).write_bytes(data)
                if limits["uid"] > 0:
                    for p in [private, *(os.path.join(private, n) for n in files)]:
                        os.chown(p, limits["uid"], limits["uid"])
                cmd = [self.python, str(Path(__file__).resolve())]
                env, cwd = self._env(home), private
            cmd += ["--inside", mode, "--result-fd", str(result_w),
                    "--limits", json.dumps(limits), "--home", home, *args]
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out_w, stderr=err_w,
                                    pass_fds=[result_w, *fds], env=env, cwd=cwd,
                                    start_new_session=True)
        except BaseException:
            for fd in (result_r, result_w, out_r, out_w, err_r, err_w, *fds):
                with contextlib.suppress(OSError):
                    os.close(fd)
            if private:
                shutil.rmtree(private, ignore_errors=True)
            raise
        for fd in (result_w, out_w, err_w, *fds):
            os.close(fd)
        PROCESSES.add(proc)
        got: dict[str, dict] = {"result": {}, "out": {}, "err": {}}
        keep = lim.output_kb << 10
        readers = [threading.Thread(target=_read_capped, args=a, daemon=True) for a in (
            (result_r, lim.result_kb << 10, False, got["result"]), (out_r, keep, True, got["out"]),
            (err_r, keep, True, got["err"]))]
        for r in readers:
            r.start()
        timed_out = False
        try:
            proc.wait(timeout=wall_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(proc)
            proc.wait()
        finally:
            PROCESSES.discard(proc)
        if not self.use_bwrap:
            _kill(proc)  # whatever it left in its process group
        for r in readers:
            r.join(timeout=10)
        if private:
            shutil.rmtree(private, ignore_errors=True)
        res = got["result"]
        return Run(proc.returncode, res.get("data", b""), res.get("total", 0) > lim.result_kb << 10,
                   got["out"].get("data", b""), got["err"].get("data", b""), timed_out,
                   PROCESSES.stopping.is_set(), time.monotonic() - start)

    def self_test(self) -> None:
        """Raise :class:`SandboxUnavailable` unless a trivial run works in the sandbox."""
        run = self.run("selftest", {}, [], 120, 0)
        if run.result != b"ok":
            err = _clean(run.stderr_tail.decode("utf-8", "replace")[-400:], 400)
            raise SandboxUnavailable(
                f"bubblewrap is installed but could not create the sandbox (exit {run.returncode}: "
                f"{err or 'no message'}). Where user namespaces are blocked (e.g. Ubuntu 24.04's "
                "AppArmor default), allow them for bwrap or run as root; or pass --no-sandbox to "
                "run the students' code unsandboxed (read --help first).")


# ------------------------------------------------------- inside the sandbox
def _enter(limits: dict) -> None:
    """First thing inside: drop root, forbid new privileges, set the limits, hide our fds."""
    import ctypes
    import resource

    libc = ctypes.CDLL(None, use_errno=True)
    uid = int(limits.get("uid", -1))
    if uid > 0 and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        try:
            os.setuid(0)
        except PermissionError:
            pass
        else:
            raise SystemExit("could not drop root inside the sandbox")
    libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: the student's kernel cannot open our fds
    for name, value in (("RLIMIT_AS", limits["memory"]), ("RLIMIT_NPROC", limits["procs"]),
                        ("RLIMIT_CPU", limits["cpu"]), ("RLIMIT_FSIZE", limits["file"]),
                        ("RLIMIT_CORE", 0)):
        with contextlib.suppress(ValueError, OSError, AttributeError):
            resource.setrlimit(getattr(resource, name), (value, value))


def _send(fd: int, document) -> None:
    """Write the run's one JSON document to the result pipe and close it."""
    data = json.dumps(document).encode()
    with os.fdopen(fd, "wb", closefd=True) as f:
        f.write(data)


def run_notebook(notebook: Path, limit_s: float) -> dict:
    """Execute ``notebook`` (inside the sandbox); return its status and detail."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(notebook, as_version=4)
    deadline = time.monotonic() + limit_s
    client = NotebookClient(
        nb, kernel_name="python3", allow_errors=True,
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    try:
        client.execute()
    except CellTimeoutError:
        ran = sum(1 for c in code_cells if c.get("execution_count") is not None)
        return {"status": "timeout", "detail": f"over {limit_s:.0f} s (in code cell {ran})"}
    except DeadKernelError as err:
        return {"status": "error", "detail": f"the kernel died: {str(err)[:120]}"}
    for number, cell in enumerate(code_cells, start=1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                evalue = re.sub(r"\x1b\[[0-9;]*m", "", str(out.get("evalue", "")))
                first = (evalue.strip().splitlines() or [""])[0][:120]
                if out.get("ename") == "ExerciseNotPassed":  # the check cell stopped it, as
                    return {"status": "ran",  # it should: the checks grade the exercise
                            "detail": f"stopped at the check in code cell {number}"}
                return {"status": "error",
                        "detail": f"code cell {number}: {out.get('ename')}: {first}"}
    return {"status": "ran", "detail": ""}


def run_checks(source: Path, inputs_path: Path) -> dict:
    """Inside the sandbox: import the student's export cells, run the probes, raw outputs out."""
    import importlib.util

    from helpers import checks

    wanted = json.loads(inputs_path.read_text(encoding="utf-8"))
    spec = importlib.util.spec_from_file_location("student_exports", source)
    module = importlib.util.module_from_spec(spec)
    sys.modules["student_exports"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as err:  # noqa: BLE001 - a SyntaxError, a NameError, a sys.exit ...
        return {"import_error": [type(err).__name__, checks._first_line(err)]}
    namespace = vars(module)
    out: dict[str, dict] = {}
    for name, encoded in wanted.items():
        try:
            target = checks.EXERCISES[name].build_target(namespace)
        except LookupError as err:
            out[name] = {"missing": checks._first_line(err)}
            continue
        results = checks.run_probes(name, target, checks.decode_arrays(encoded))
        out[name] = {"results": checks.encode_probe_results(results)}
    return {"exercises": out}


def inside(args: argparse.Namespace) -> int:
    """The entry point of a sandboxed run: ``--inside notebook|checks|selftest``."""
    _enter(json.loads(args.limits))
    fd = args.result_fd
    if args.inside == "selftest":
        os.write(fd, b"ok")
        return 0
    home = Path(args.home)
    if args.inside == "notebook":
        _send(fd, run_notebook(home / "notebook.ipynb", args.timeout))
    elif args.inside == "checks":
        _send(fd, run_checks(home / "student_exports.py", home / "inputs.json"))
    return 0


# --------------------------------------------------------------- one submission
def expected_exercises(nb_json: dict) -> list[str]:
    """The exercises whose ``check_exercise`` cells a notebook contains, in order."""
    found: list[str] = []
    for cell in nb_json.get("cells", []):
        if cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            found += [m for m in CHECK_CALL.findall(source) if m not in found]
    return found


def export_source(nb_json: dict) -> str:
    """The notebook's ``#| export`` cells, marker lines removed, as one module's text.

    The same cells ``tools/export_papers.py`` turns into the chapters' modules.
    """
    from tools.export_papers import is_export_cell
    parts = []
    for cell in nb_json.get("cells", []):
        if isinstance(cell, dict) and is_export_cell(cell):
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else str(src)
            parts.append("\n".join(src.splitlines()[1:]).strip("\n"))
    return "\n\n\n".join(parts) + "\n"


def exercises_of(nb_json: dict, source: str, forced: list[str] | None) -> list[str]:
    """The exercises to grade: ``forced``, else those whose check cell or target the notebook has."""
    from helpers.checks import EXERCISES

    if forced:
        return list(forced)
    names = [n for n in expected_exercises(nb_json)]
    for name, spec in EXERCISES.items():
        if name not in names and re.search(rf"^(def|class)\s+{re.escape(spec.target)}\b", source,
                                           re.MULTILINE):
            names.append(name)
    return names


def read_submission(folder_fd: int, name: str, max_bytes: int) -> tuple[bytes | None, str, str]:
    """The bytes of ``name`` in the folder, never following a symlink: ``(data, status, detail)``."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags, dir_fd=folder_fd)
    except OSError as err:
        if err.errno == errno.ELOOP:  # O_NOFOLLOW met a symbolic link
            return None, "symlink", "a symbolic link: refused, not followed"
        return None, "unreadable", f"could not be opened ({type(err).__name__})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "not a file", "not a regular file: refused"
        if info.st_size > max_bytes:
            return None, "too large", f"{info.st_size / 1e6:.0f} MB, over {max_bytes / 1e6:.0f} MB"
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            return None, "too large", f"over {max_bytes / 1e6:.0f} MB"
        return b"".join(chunks), "", ""
    finally:
        os.close(fd)


def parse_notebook(data: bytes) -> tuple[dict | None, str]:
    """The validated notebook as JSON, or ``None`` and why (never quoting the file)."""
    import nbformat

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, f"not UTF-8 text (byte {err.start})"
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        return None, f"not valid JSON (line {err.lineno}, column {err.colno})"
    except RecursionError:
        return None, "not valid JSON (nested too deeply)"
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - any unreadable notebook is "malformed"
        return None, f"not a valid notebook ({type(err).__name__})"
    return json.loads(nbformat.writes(nb)), ""


def _runner_failure(run: Run, what: str) -> str:
    """Why a run sent no result, for the detail column."""
    if run.returncode is not None and run.returncode < 0:
        how = f"killed by signal {-run.returncode}"
    elif run.returncode is not None and 128 < run.returncode < 160:  # bwrap: 128 + signal
        how = f"killed by signal {run.returncode - 128}"
    else:
        how = f"exit code {run.returncode}"
    noise = "Kernel is running over TCP without encryption"  # the sandbox's own loopback
    tail = [line for line in run.stderr_tail.decode("utf-8", "replace").splitlines()
            if line.strip() and noise not in line]
    last = _clean(tail[-1], 100) if tail else "no message"
    return f"{what} ended without a result ({how}; last error output: {last})"


def _notebook_status(run: Run, limit_s: float) -> tuple[str, str]:
    if run.interrupted:
        return "interrupted", "stopped by Ctrl-C"
    if run.timed_out:
        return "timeout", f"over {limit_s:.0f} s (stopped from outside)"
    if run.result and not run.result_overflow:
        try:
            doc = json.loads(run.result)
            if (isinstance(doc, dict) and doc.get("status") in STATUSES
                    and isinstance(doc.get("detail"), str)):
                return doc["status"], _clean(doc["detail"])
        except (ValueError, RecursionError):
            pass
        return "error", "the notebook's run sent back a malformed status"
    return "error", _runner_failure(run, "the notebook's run")


def _judge_checks(run: Run | None, wanted: dict, result: Result, limits: Limits) -> None:
    """Fill ``result``'s exercise columns from the checks' run (trusted: numbers only)."""
    from helpers import checks

    def no_result(why: str) -> None:
        for name in wanted:
            result.exercises[name] = "no result"
            result.failed[name] = [why]

    if run is None:
        return no_result("the checks were not run")
    if run.interrupted:
        return no_result("stopped by Ctrl-C")
    if run.timed_out:
        return no_result(f"the checks did not finish in {limits.check_timeout_s:.0f} s")
    if not run.result:
        return no_result(_runner_failure(run, "the checks' run"))
    try:
        if run.result_overflow:
            raise ValueError(f"over {limits.result_kb} KB")
        doc = checks.decode_json(run.result.decode("utf-8"))
        if not isinstance(doc, dict) or len(doc) != 1:
            raise ValueError("expected one JSON object with one key")
        if "import_error" in doc:
            err = doc["import_error"]
            if not (isinstance(err, list) and len(err) == 2 and all(isinstance(s, str) for s in err)):
                raise ValueError("a malformed import error")
            why = (f"the #| export cells raise {_clean(err[0], 40)}: {_clean(err[1], 100)} "
                   "(the checks run the export cells alone)")
            for name in wanted:
                result.exercises[name], result.failed[name] = "fail", [why]
            return None
        per = doc.get("exercises")
        if not isinstance(per, dict):
            raise ValueError("expected 'exercises'")
        for name, (inputs, _) in wanted.items():
            item = per.get(name)
            if isinstance(item, dict) and set(item) == {"missing"} and isinstance(item["missing"], str):
                result.exercises[name] = "not written"
                result.failed[name] = [_clean(item["missing"])]
                continue
            if not (isinstance(item, dict) and set(item) == {"results"}):
                raise ValueError(f"no results for {name}")
            probes = checks.decode_probe_results(item["results"], len(checks.EXERCISES[name].checks))
            report = checks.judge(name, inputs, probes)
            result.exercises[name] = report.status
            result.failed[name] = [_clean(w, 80) for w in report.failed]
            result.counts[name] = f"{report.passed} of {report.total}"
    except (ValueError, UnicodeDecodeError) as err:
        no_result(f"the checks' run sent back malformed results ({_clean(str(err), 80)})")
    return None


def grade(folder_fd: int, name: str, sandbox: Sandbox, slot: int,
          exercises: list[str] | None = None) -> Result:
    """Read, run and check one submission; every failure becomes its row, never an exception."""
    student = name[: -len(".ipynb")]
    start = time.monotonic()
    limits = sandbox.limits
    data, status, detail = read_submission(folder_fd, name, limits.notebook_mb << 20)
    if data is None:
        return Result(student, status, 0.0, detail)
    nb, why = parse_notebook(data)
    if nb is None:
        return Result(student, "malformed", round(time.monotonic() - start, 1), why)
    source = export_source(nb)
    names = exercises_of(nb, source, exercises)
    result = Result(student, "error", 0.0, exercises={n: "no result" for n in names})
    import nbformat

    if PROCESSES.stopping.is_set():
        result.status, result.detail = "interrupted", "stopped by Ctrl-C"
        return result
    run = sandbox.run("notebook", {"notebook.ipynb": nbformat.writes(nbformat.from_dict(nb)).encode()},
                      ["--timeout", str(limits.timeout_s)], limits.timeout_s + GRACE_S, slot)
    result.status, result.detail = _notebook_status(run, limits.timeout_s)
    if names and not PROCESSES.stopping.is_set():
        from helpers import checks

        wanted = {}
        for n in names:
            seed = secrets.randbits(63)
            inputs = checks.make_inputs(n, seed)
            wanted[n] = (inputs, checks.encode_arrays(inputs))
        files = {"student_exports.py": source.encode("utf-8"),
                 "inputs.json": json.dumps({n: enc for n, (_, enc) in wanted.items()}).encode()}
        hide = [str(ROOT / "helpers" / "papers")] if sandbox.use_bwrap else []
        checks_run = sandbox.run("checks", files, [], limits.check_timeout_s, slot, hide=hide)
        _judge_checks(checks_run, wanted, result, limits)
    elif names:
        _judge_checks(Run(None, b"", False, b"", b"", False, True, 0.0), {n: None for n in names},
                      result, limits)
    result.seconds = round(time.monotonic() - start, 1)
    return result


# ------------------------------------------------------------------ the table
def _exercise_names(results: list[Result]) -> list[str]:
    """Every exercise any submission was graded on, in order of first appearance."""
    names: list[str] = []
    for r in results:
        names += [n for n in r.exercises if n not in names]
    return names


def _rows(results: list[Result]) -> tuple[list[str], list[list[str]]]:
    names = _exercise_names(results)
    header = ["student", "status", "seconds"]
    for n in names:
        header += [n, f"{n}: failing checks"]
    header.append("detail")
    rows = []
    for r in results:
        row = [r.student, r.status, f"{r.seconds:.1f}"]
        for n in names:
            row += [r.exercises.get(n, "—"), "; ".join(r.failed.get(n, []))]
        rows.append([*row, r.detail])
    return header, rows


def pass_counts(results: list[Result]) -> dict[str, str]:
    """Per exercise: how many of the graded submissions pass it."""
    out = {}
    for n in _exercise_names(results):
        graded = [r for r in results if n in r.exercises]
        out[n] = f"{sum(r.exercises[n] == 'pass' for r in graded)} of {len(graded)} pass"
    return out


def render_csv(results: list[Result]) -> str:
    """The table as CSV text, every cell safe from formula injection."""
    header, rows = _rows(results)
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[_csv_cell(v) for v in row] for row in [header, *rows]])
    return buffer.getvalue()


def render_html(results: list[Result]) -> str:
    """The table as a small HTML page, with the pass counts per exercise."""
    header, rows = _rows(results)
    colour = {"pass": "#d9f2d9", "ran": "#d9f2d9", "fail": "#f8d7da", "error": "#f8d7da",
              "not written": "#fff3cd", "no result": "#eeeeee", "timeout": "#f8d7da",
              "malformed": "#f8d7da", "symlink": "#f8d7da", "interrupted": "#eeeeee"}

    def td(value: str) -> str:
        style = f' style="background:{colour[value]}"' if value in colour else ""
        return f"<td{style}>{html.escape(value)}</td>"

    body = "\n".join("<tr>" + "".join(td(v) for v in row) + "</tr>" for row in rows)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    counts = pass_counts(results)
    foot = "".join(f"<li>{html.escape(n)}: {html.escape(c)}</li>" for n, c in counts.items())
    return ("<!doctype html><meta charset='utf-8'><title>Class check</title>\n"
            "<style>body{font-family:sans-serif} td,th{border:1px solid #ccc;padding:4px 8px;"
            "text-align:left}table{border-collapse:collapse}</style>\n"
            f"<h1>Class check</h1>\n<table>\n<tr>{head}</tr>\n{body}\n</table>\n"
            f"<h2>Passes per exercise</h2>\n<ul>{foot}</ul>\n")


def write_table(results: list[Result], out: Path) -> tuple[Path, Path]:
    """``class_check.csv`` and ``class_check.html`` in ``out``, each written atomically."""
    from helpers.files import atomic_write, atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = out / "class_check.csv", out / "class_check.html"
    with atomic_write(csv_path, "w", newline="") as f:
        f.write(render_csv(results))
    atomic_write_text(html_path, render_html(results))
    return csv_path, html_path


def format_table(results: list[Result]) -> str:
    """The table as aligned text, then the failing checks, the details and the pass counts."""
    names = _exercise_names(results)
    rows = [["student", "status", "seconds", *names]]
    rows += [[_clean(r.student, 40), r.status, f"{r.seconds:.1f}",
              *[r.exercises.get(n, "—") for n in names]] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    notes = []
    for r in results:
        if r.detail:
            notes.append(f"  {_clean(r.student, 40)}: {r.detail}")
        for n in names:
            if r.failed.get(n):
                notes.append(f"  {_clean(r.student, 40)} · {n}: {'; '.join(r.failed[n])}")
    if notes:
        lines += ["", "details and failing checks:", *notes]
    counts = pass_counts(results)
    if counts:
        lines += ["", "passes per exercise: " + ", ".join(f"{n} {c}" for n, c in counts.items())]
    return "\n".join(lines)


def _submissions(folder: Path) -> list[str]:
    names = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(".ipynb") and not entry.name.startswith("."):
                names.append(entry.name)
    return sorted(names)


def check_class(folder: Path, out: Path | None = None, limits: Limits | float = Limits(),
                profile: str = "smoke", jobs: int | None = None, sandbox: bool = True,
                exercises: list[str] | None = None, uid_base: int | None = None) -> list[Result]:
    """Grade every notebook in ``folder`` (in parallel, sandboxed), write and print the table.

    ``limits`` may be a number: the notebook time limit, in seconds.  Raises
    ``FileNotFoundError`` for a folder without notebooks, :class:`SandboxUnavailable`
    when bubblewrap cannot be used and ``sandbox`` is true, and ``KeyboardInterrupt``
    after Ctrl-C (the table of what was done is printed and written first).
    """
    if isinstance(limits, (int, float)):
        limits = Limits(timeout_s=float(limits))
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of submitted notebooks; give the folder "
                                "that holds the students' .ipynb files.")
    names = _submissions(folder)
    if not names:
        raise FileNotFoundError(f"{folder} holds no .ipynb files; expected one notebook per "
                                "student, directly in the folder.")
    from helpers.checks import EXERCISES

    unknown = [e for e in exercises or [] if e not in EXERCISES]
    if unknown:
        raise ValueError(f"unknown exercise {unknown[0]!r}; expected one of {', '.join(EXERCISES)}")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    jobs = max(1, min(jobs or cores, len(names)))
    from dataclasses import replace

    limits = replace(limits, threads=max(1, cores // jobs))
    box = Sandbox(limits, profile, use_bwrap=sandbox, uid_base=uid_base)
    global last_uids
    last_uids = set(range(box.uid_base, box.uid_base + jobs)) if box.drop_root else set()
    if sandbox:
        box.self_test()
    else:
        print(NO_SANDBOX_WARNING, file=sys.stderr, flush=True)
    out = out or folder
    PROCESSES.stopping.clear()
    results: dict[str, Result] = {}
    slots: queue.Queue[int] = queue.Queue()
    for s in range(jobs):
        slots.put(s)
    folder_fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    lock = threading.Lock()

    def one(name: str) -> Result:
        slot = slots.get()
        try:
            if PROCESSES.stopping.is_set():
                return Result(name[:-6], "interrupted", 0.0, "stopped by Ctrl-C")
            try:
                r = grade(folder_fd, name, box, slot, exercises)
            except Exception as err:  # noqa: BLE001 - one submission never stops the others
                r = Result(name[:-6], "error", 0.0, f"the class check failed on it: "
                           f"{type(err).__name__}: {_clean(str(err), 100)}")
        finally:
            slots.put(slot)
        with lock:
            results[name] = r
            print(f"checked {_clean(name, 60)}: {r.status}", flush=True)
            with contextlib.suppress(OSError):  # partial tables survive a kill
                write_table([results[n] for n in sorted(results)], out)
        return r

    interrupted = False
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [pool.submit(one, name) for name in names]
        for f in futures:
            f.result()
    except KeyboardInterrupt:
        interrupted = True
        PROCESSES.stop_all()
        for f in futures:
            f.cancel()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        os.close(folder_fd)
    rows = [results.get(n) or Result(n[:-6], "interrupted", 0.0, "not started: stopped by Ctrl-C")
            for n in names]
    print(format_table(rows), flush=True)
    try:
        csv_path, html_path = write_table(rows, out)
        print(f"wrote {csv_path} and {html_path}")
    except OSError as err:
        print(f"could not write the table to {out} ({type(err).__name__}: {err}); the table "
              "above is complete. Pass --out a writable folder to keep a copy.", file=sys.stderr)
    if interrupted:
        raise KeyboardInterrupt
    return rows


# ------------------------------------------------------------------- the demo
def make_demo_submissions(folder: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """Five submissions of the XCov exercise; returns the row each one must get.

    ``correct`` implements ``xcov_penalty`` as the chapter does; ``empty`` hands
    the student version in unchanged; ``wrong`` forgets to centre; ``loops``
    never returns; ``broken`` is not valid JSON.
    """
    import nbformat

    from tools.student_version import student_notebook

    chapter = ROOT / "chapters" / "01_xcov.ipynb"
    folder.mkdir(parents=True, exist_ok=True)
    reference = nbformat.read(chapter, as_version=4)
    solution = next(c.source for c in reference.cells
                    if c.cell_type == "code" and "def xcov_penalty" in c.source)
    bodies = {
        "correct": solution,
        "wrong": solution.replace("yc = y - ops.mean(y, axis=0, keepdims=True)", "yc = y")
                         .replace("zc = z - ops.mean(z, axis=0, keepdims=True)", "zc = z"),
        "loops": solution.replace('    y, z = ops.convert_to_tensor(y), ops.convert_to_tensor(z)',
                                  "    while True:\n        pass"),
    }
    assert bodies["wrong"] != solution and bodies["loops"] != solution
    for name in ("correct", "wrong", "loops", "empty"):
        nb, _ = student_notebook(chapter, only={"xcov_penalty"})
        if name in bodies:
            cell = next(c for c in nb.cells if c.cell_type == "code"
                        and "def xcov_penalty" in c.source)
            cell.source = bodies[name]
        nbformat.write(nb, folder / f"{name}.ipynb")
    text = (folder / "correct.ipynb").read_text(encoding="utf-8")
    (folder / "broken.ipynb").write_text(text[: len(text) // 2], encoding="utf-8")
    return {
        "broken": ("malformed", {}),
        "correct": ("ran", {"xcov_penalty": "pass"}),
        "empty": ("ran", {"xcov_penalty": "not written"}),  # stopped at its check
        "loops": ("timeout", {"xcov_penalty": "no result"}),
        "wrong": ("ran", {"xcov_penalty": "fail"}),
    }


def run_demo(folder: Path, limits: Limits, sandbox: bool = True, jobs: int | None = None) -> int:
    """Make the five demo submissions, check them, and compare with the expected rows."""
    if folder.exists():
        shutil.rmtree(folder)
    expected = make_demo_submissions(folder)
    results = check_class(folder, limits=limits, sandbox=sandbox, jobs=jobs)
    got = {r.student: (r.status, r.exercises) for r in results}
    wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
    if wrong:
        for name, (g, e) in wrong.items():
            print(f"DEMO MISMATCH {name}: got {g}, expected {e}", file=sys.stderr)
        return 1
    print("demo: every submission got the expected row")
    return 0


def main() -> int:
    """The command line (see the module's docstring, printed by ``--help``)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", nargs="?", type=Path,
                        help="the folder of submitted notebooks, one .ipynb per student")
    parser.add_argument("--out", type=Path, default=None,
                        help="where the table goes (default: the submissions folder)")
    parser.add_argument("--timeout", type=float, default=Limits.timeout_s,
                        help="seconds each notebook may run (default 300)")
    parser.add_argument("--check-timeout", type=float, default=Limits.check_timeout_s,
                        help="seconds the checks of one submission may run (default 60)")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb,
                        help="address space per process, in MB (default 4096)")
    parser.add_argument("--max-procs", type=int, default=Limits.procs,
                        help="processes and threads per run (default 256)")
    parser.add_argument("--max-notebook-mb", type=int, default=Limits.notebook_mb,
                        help="larger submissions are refused (default 50)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="submissions checked at once (default: one per core)")
    parser.add_argument("--profile", default="smoke", help="HF_PROFILE of the runs (default smoke)")
    parser.add_argument("--exercise", action="append", default=None, metavar="NAME",
                        help="grade these exercises for everyone (default: those each notebook's "
                             "check cells or export cells name)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run WITHOUT bubblewrap: the students' code can read your files, use "
                             "the network and outlive its run. Only for code you trust.")
    parser.add_argument("--demo", type=Path, default=None,
                        help="make five demo submissions in this folder and check them")
    parser.add_argument("--inside", choices=["notebook", "checks", "selftest"],
                        help=argparse.SUPPRESS)
    parser.add_argument("--result-fd", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--limits", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--uid-base", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        return inside(args)
    limits = Limits(timeout_s=args.timeout, check_timeout_s=args.check_timeout,
                    memory_mb=args.memory_mb, procs=args.max_procs,
                    notebook_mb=args.max_notebook_mb)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a kill stops the children too
    try:
        if args.demo is not None:
            return run_demo(args.demo, limits, sandbox=not args.no_sandbox, jobs=args.jobs)
        if args.submissions is None:
            parser.error("give a folder of submitted notebooks (or --demo DIR)")
        check_class(args.submissions, args.out, limits, args.profile, args.jobs,
                    sandbox=not args.no_sandbox, exercises=args.exercise, uid_base=args.uid_base)
    except (FileNotFoundError, ValueError, SandboxUnavailable) as err:
        print(err, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("stopped: every sandbox was ended; the table above holds the rows done.",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
