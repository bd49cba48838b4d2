"""Run a class's submitted notebooks and tabulate which exercise checks pass.

    python tools/class_check.py SUBMISSIONS/ [--out DIR] [--timeout 300] [--profile smoke]
    python tools/class_check.py --demo DIR    # five made-up submissions, checked in CI

Every ``*.ipynb`` in ``SUBMISSIONS/`` is executed on its own, in a fresh kernel,
in a temporary copy of its folder (nothing of the student's is changed), with
``HF_PROFILE=smoke`` and a time limit.  The ``check_exercise`` cells of the
chapters report to a file (``HF_CHECK_REPORT``); the table has one row per
student and one column per exercise: ``pass``, ``fail``, ``not written``, or
``no result`` (the notebook stopped, timed out or could not be read before the
check ran).  A notebook that crashes, hangs or is not valid JSON gets its own
status and never stops the others.  Writes ``class_check.csv`` and
``class_check.html`` to ``--out`` (default: the submissions folder) and prints
the table.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK_CALL = re.compile(r"check_exercise\(\s*[\"'](\w+)[\"']")
GRACE_S = 60  # on top of the time limit, for the kernel to start and stop


@dataclass
class Result:
    """One submission's row of the table."""

    student: str
    status: str
    seconds: float
    detail: str = ""
    exercises: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------ one notebook
def run_one(notebook: Path, limit_s: float) -> dict:
    """Execute ``notebook`` in place (in a child process); return its status and detail."""
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
                return {"status": "error",
                        "detail": f"code cell {number}: {out.get('ename')}: {first}"}
    return {"status": "ran", "detail": ""}


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


def _read_notebook(path: Path) -> tuple[dict | None, str]:
    """The notebook's JSON, or ``None`` and why it cannot be run."""
    import nbformat

    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # noqa: BLE001 - any unreadable file is "malformed"
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else ""
        return None, f"{type(err).__name__}: {reason}"
    return json.loads(nbformat.writes(nb)), ""


def _stop(proc: subprocess.Popen) -> None:
    """Kill a runner and everything it started (its kernel too, on POSIX)."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def grade(path: Path, limit_s: float, profile: str = "smoke") -> Result:
    """Run one submitted notebook and collect its exercise checks."""
    student = path.stem
    start = time.monotonic()
    nb, why = _read_notebook(path)
    if nb is None:
        return Result(student, "malformed", 0.0, why)
    exercises = {name: "no result" for name in expected_exercises(nb)}
    with tempfile.TemporaryDirectory(prefix="class_check_") as tmp:
        work = Path(tmp) / "work"
        shutil.copytree(path.parent, work, ignore=shutil.ignore_patterns("*.ipynb", ".*"))
        copy = work / path.name
        shutil.copy2(path, copy)
        report, outcome = Path(tmp) / "checks.jsonl", Path(tmp) / "outcome.json"
        env = {**os.environ, "HF_PROFILE": profile, "HF_CHECK_REPORT": str(report),
               "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT) + os.pathsep
               + os.environ.get("PYTHONPATH", "")}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--run-one", str(copy),
               "--timeout", str(limit_s), "--outcome", str(outcome)]
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True,
                                start_new_session=os.name == "posix")
        try:
            _, err = proc.communicate(timeout=limit_s + GRACE_S)
        except subprocess.TimeoutExpired:
            _stop(proc)
            status, detail = "timeout", f"over {limit_s:.0f} s (stopped from outside)"
        else:
            if outcome.is_file():
                done = json.loads(outcome.read_text())
                status, detail = done["status"], done["detail"]
            else:
                tail = (err or "").strip().splitlines()[-1:] or ["no message"]
                status, detail = "error", f"the runner failed: {tail[0][:120]}"
        if report.is_file():
            for line in report.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                exercises[row["exercise"]] = row["status"]
    return Result(student, status, round(time.monotonic() - start, 1), detail, exercises)


# ------------------------------------------------------------------ the table
def _exercise_names(results: list[Result]) -> list[str]:
    """Every exercise any submission reported or expected, in order of first appearance."""
    names: list[str] = []
    for r in results:
        names += [n for n in r.exercises if n not in names]
    return names


def write_table(results: list[Result], out: Path) -> tuple[Path, Path]:
    """``class_check.csv`` and ``class_check.html`` in ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    names = _exercise_names(results)
    header = ["student", "status", "seconds", *names, "detail"]
    rows = [[r.student, r.status, f"{r.seconds:.1f}",
             *[r.exercises.get(n, "—") for n in names], r.detail] for r in results]
    csv_path, html_path = out / "class_check.csv", out / "class_check.html"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    colour = {"pass": "#d9f2d9", "ran": "#d9f2d9", "fail": "#f8d7da", "error": "#f8d7da",
              "not written": "#fff3cd", "no result": "#eeeeee", "timeout": "#f8d7da",
              "malformed": "#f8d7da"}

    def td(value: str) -> str:
        style = f' style="background:{colour[value]}"' if value in colour else ""
        return f"<td{style}>{html.escape(value)}</td>"

    body = "\n".join("<tr>" + "".join(td(v) for v in row) + "</tr>" for row in rows)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    html_path.write_text(
        "<!doctype html><meta charset='utf-8'><title>Class check</title>\n"
        "<style>body{font-family:sans-serif} td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left}table{border-collapse:collapse}</style>\n"
        f"<h1>Class check</h1>\n<table>\n<tr>{head}</tr>\n{body}\n</table>\n",
        encoding="utf-8")
    return csv_path, html_path


def format_table(results: list[Result]) -> str:
    """The table as aligned text (without the detail column)."""
    names = _exercise_names(results)
    rows = [["student", "status", "seconds", *names]]
    rows += [[r.student, r.status, f"{r.seconds:.1f}", *[r.exercises.get(n, "—") for n in names]]
             for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
                     for row in rows)


def check_class(folder: Path, out: Path | None = None, limit_s: float = 300,
                profile: str = "smoke") -> list[Result]:
    """Grade every notebook in ``folder``, write the table, and return its rows."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder of submitted notebooks.")
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"{folder} holds no .ipynb files.")
    results = []
    for path in paths:
        print(f"checking {path.name} ...", flush=True)
        results.append(grade(path, limit_s, profile))
    csv_path, html_path = write_table(results, out or folder)
    print(format_table(results))
    print(f"wrote {csv_path} and {html_path}")
    return results


# ------------------------------------------------------------------- the demo
def make_demo_submissions(folder: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """Five submissions of the XCov exercise; returns the row each one must get.

    ``correct`` implements ``xcov_penalty`` as the chapter does; ``empty`` hands
    the student version in unchanged; ``wrong`` forgets to centre; ``loops``
    never returns; ``broken`` is not valid JSON.
    """
    sys.path.insert(0, str(ROOT / "tools"))
    import nbformat
    from student_version import student_notebook

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
        "empty": ("error", {"xcov_penalty": "not written"}),
        "loops": ("timeout", {"xcov_penalty": "no result"}),
        "wrong": ("ran", {"xcov_penalty": "fail"}),
    }


def run_demo(folder: Path, limit_s: float) -> int:
    """Make the five demo submissions, check them, and compare with the expected rows."""
    if folder.exists():
        shutil.rmtree(folder)
    expected = make_demo_submissions(folder)
    results = check_class(folder, limit_s=limit_s)
    got = {r.student: (r.status, r.exercises) for r in results}
    wrong = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
    if wrong:
        for name, (g, e) in wrong.items():
            print(f"DEMO MISMATCH {name}: got {g}, expected {e}", file=sys.stderr)
        return 1
    print("demo: every submission got the expected row")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="?", type=Path)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds each notebook may run (default 300)")
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--demo", type=Path, default=None,
                        help="make five demo submissions in this folder and check them")
    parser.add_argument("--run-one", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--outcome", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_one is not None:
        args.outcome.write_text(json.dumps(run_one(args.run_one, args.timeout)))
        return 0
    if args.demo is not None:
        return run_demo(args.demo, args.timeout)
    if args.submissions is None:
        parser.error("give a folder of submitted notebooks (or --demo DIR)")
    try:
        check_class(args.submissions, args.out, args.timeout, args.profile)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
