"""The GitHub workflows cannot run here: lint them, and check that they call the README's
commands (which the rest of the suite tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _actionlint() -> str | None:
    found = Path(sys.executable).parent / "actionlint"
    return str(found) if found.exists() else shutil.which("actionlint")


def test_there_are_workflows_for_tests_publishing_and_the_weekly_checks():
    assert {p.stem for p in WORKFLOWS} >= {"tests", "publish", "weekly"}


def test_actionlint_passes_and_catches_a_broken_workflow(tmp_path):
    binary = _actionlint()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is missing in CI: it comes with requirements.txt")
        pytest.skip("actionlint is not installed (requirements.txt installs it on Linux x86_64)")
    done = subprocess.run([binary, *map(str, WORKFLOWS)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOWS[0].read_text().replace("runs-on:", "runs_on:", 1))
    assert subprocess.run([binary, str(broken)], capture_output=True).returncode != 0


def _steps() -> dict[str, list[dict]]:
    out = {}
    for path in WORKFLOWS:
        flow = yaml.safe_load(path.read_text())
        out[path.stem] = [s for job in flow["jobs"].values() for s in job.get("steps", [])]
    return out


def test_workflows_call_the_readmes_commands_and_pin_actions():
    steps = _steps()
    runs = {name: "\n".join(s.get("run", "") for s in found) for name, found in steps.items()}
    readme = (ROOT / "README.md").read_text()
    for command in ("tools/course.py test", "tools/course.py book"):
        assert command in readme, f"the README no longer says {command!r}"
    assert "tools/course.py test" in runs["tests"]
    assert "tools/course.py book" in runs["tests"] and "tools/course.py book" in runs["publish"]
    assert "tools.colab_like_check" in runs["weekly"] and "linkcheck" in runs["weekly"]
    assert "tools.release --check-wheel" in runs["publish"]
    for name, found in steps.items():
        for step in found:
            if "uses" in step:
                action, _, ref = step["uses"].partition("@")
                assert ref.startswith("v") or len(ref) == 40, (
                    f"{name}: {action} is not pinned to a major version or a commit")
