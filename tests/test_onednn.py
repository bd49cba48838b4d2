"""``import helpers`` and oneDNN: the setting holds when helpers comes first, else a warning.

TensorFlow reads ``TF_ENABLE_ONEDNN_OPTS`` once, while it is imported (checked
below: setting it afterwards changes nothing), so helpers cannot turn oneDNN off
once TensorFlow is loaded.  What it can do is say so.  The import order matters,
so each case runs in a fresh Python.  This machine's CPU may have oneDNN off by
default; ``TF_ENABLE_ONEDNN_OPTS=1`` at TensorFlow's import, removed afterwards,
stands for a CPU where it is on by default.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VAR = "TF_ENABLE_ONEDNN_OPTS"

PROBE = """
import json, os, sys, warnings
{before}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import helpers
    import helpers  # a second import does not warn again
from tensorflow.python.util import _pywrap_util_port
found = [str(w.message) for w in caught if w.category.__name__ == "OneDNNWarning"]
print(json.dumps({{"enabled": _pywrap_util_port.IsMklEnabled(), "var": os.environ.get("{var}"),
                   "warnings": found}}))
"""


def _run(before: str, var: str | None) -> dict:
    """Run PROBE in a fresh Python with ``VAR`` set to ``var`` (None: unset)."""
    env = {k: v for k, v in os.environ.items() if k != VAR}
    if var is not None:
        env[VAR] = var
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    done = subprocess.run([sys.executable, "-c", PROBE.format(before=before, var=VAR)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_helpers_first_turns_onednn_off_without_a_warning():
    result = _run("", var=None)
    assert result == {"enabled": False, "var": "0", "warnings": []}


def test_tensorflow_first_with_onednn_on_warns_once_how_to_fix():
    # On at TensorFlow's import, then the variable removed: a CPU whose default is on.
    # helpers' TF_ENABLE_ONEDNN_OPTS=0 now comes too late: oneDNN stays on.
    result = _run(f"import tensorflow\nos.environ.pop('{VAR}')", var="1")
    assert result["enabled"] is True and result["var"] == "0"
    assert len(result["warnings"]) == 1
    message = result["warnings"][0]
    for part in ("imported before helpers", "too late", "differ slightly from the book's",
                 "restart the kernel", "`import helpers` before tensorflow or keras",
                 f"{VAR}=0 before Python starts"):
        assert part in message


def test_setting_the_variable_after_tensorflow_changes_nothing_and_still_warns():
    """What a learner might try: set the variable to 0 after importing TensorFlow."""
    result = _run(f"import tensorflow\nos.environ['{VAR}'] = '0'", var="1")
    assert result["enabled"] is True  # TensorFlow read the variable at import only
    assert len(result["warnings"]) == 1


def test_tensorflow_first_with_onednn_off_does_not_warn():
    result = _run("import tensorflow", var="0")
    assert result == {"enabled": False, "var": "0", "warnings": []}


@pytest.mark.parametrize("tf_first, value, enabled, warns", [
    (False, None, None, False),   # helpers first: its setting is read by TensorFlow
    (True, None, False, False),   # TensorFlow first, but oneDNN is off on this CPU
    (True, None, True, True),     # TensorFlow first, oneDNN on by default: warn
    (True, "0", True, True),      # set to 0 only after TensorFlow's import: too late
    (True, "1", True, False),     # turned on on purpose: the learner's choice
    (True, "true", True, False),
    (True, None, None, True),     # cannot tell (no switch to ask): warn that it may be on
    (True, "0", None, False),     # cannot tell, but the variable says off
])
def test_onednn_advice(tf_first, value, enabled, warns):
    from helpers import _onednn_advice

    advice = _onednn_advice(tf_first, value, enabled)
    assert (advice is not None) == warns
    if warns:
        assert ("may run" if enabled is None else "now runs") in advice
