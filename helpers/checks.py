"""Known-answer checks of the "implement it" exercises: a probe half and a judge half.

Each exercise has a few :class:`Check` s.  A check is split in two so that a
grade never depends on anything the learner's code could write:

* the **probe** calls the learner's function or class on given inputs and
  returns only *raw outputs* — a dict of plain numbers and arrays (values,
  shapes, gradients, weight changes).  It runs wherever the learner's code runs;
* the **judge** compares those raw outputs with answers worked out from the
  inputs (by hand or by construction) and raises :class:`Differs` when they
  disagree.  It uses NumPy only and never calls the learner's code.  Every
  judge makes at least one assertion through its :class:`Verdict`; a check that
  made none is reported as an ``error`` (a broken checker), never as a pass.

**Learners** call :func:`check_exercise` in their notebook: it runs probe and
judge in one go on fixed inputs and prints one line per check — a pass, or what
differs and a hint, never the solution.  Until every check passes it then stops
the notebook there (:class:`ExerciseNotPassed`, shown in Jupyter as one line, no
traceback), so "Run all" never reaches the cells that use the piece: in a chapter
the demo cells come after the check and run only once it passes.

Before values are compared, the common mistakes are named in plain words: None,
NaN, NumPy (or a Python number) where a backend tensor was expected, an error (its
first line and the line of the learner's code that raised it), and — through
:class:`Mistake` s worked out from the inputs — a wrong axis, a missing reduction,
a transposed result, a missing stop-gradient.  Hints come in two stages: a failing
check prints a one-sentence nudge (none when the diagnosis already names the
mistake) and says how to ask for more; ``check_exercise(..., hint=2)`` prints the
recipe as well.

**The class check** (``tools/class_check.py``) runs only the probes, in a
separate sandboxed process, on inputs drawn afresh for every run
(:func:`make_inputs` with a secret seed), gets the raw outputs back as JSON
(:func:`encode_arrays` / :func:`decode_arrays`, size-capped and validated), and
calls :func:`judge` in the teacher's own process.  Nothing is ever read back
from a report file or an environment variable the learner's code could write.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import sysconfig
import textwrap
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .text import LINE_WIDTH

#: the seed of the inputs :func:`check_exercise` uses (the learner's instant feedback)
LEARNER_SEED = 0
#: the most numbers a probe's outputs (or an exercise's inputs) may hold in all
MAX_NUMBERS = 200_000
#: the most characters of JSON :func:`decode_arrays` accepts
MAX_JSON_CHARS = 8_000_000

Arrays = dict[str, np.ndarray]


class Differs(AssertionError):
    """Raised by a judge with what differs (e.g. ``"got 0.25, expected 0.125"``)."""


class Diagnosed(Differs):
    """A :class:`Differs` that names the mistake itself (no nudge is printed with it)."""


@dataclass(frozen=True)
class Mistake:
    """A common wrong answer, worked out from the inputs, and what it says in plain words.

    ``answer`` is what the mistaken code returns on the check's inputs.  A result that
    matches it (shape and values) is told ``says``; with ``by_shape`` a result of the
    same shape is told so even when its values differ (the shape alone gives it away,
    e.g. a vector of one size where a sum over one axis leaves exactly that size).
    """

    says: str
    answer: Any
    by_shape: bool = False


class Verdict:
    """The assertions one judge makes; :func:`judge` refuses a check that made none."""

    def __init__(self) -> None:
        self.assertions = 0

    def close(self, got, expected, what: str, rtol: float = 1e-4, atol: float = 1e-6,
              mistakes: tuple[Mistake, ...] = ()) -> None:
        """Raise :class:`Differs` unless ``got`` is ``expected`` up to rounding.

        A wrong ``got`` that matches one of ``mistakes`` (or is the transpose of the
        answer) is told what went wrong, not only that it differs.
        """
        self.assertions += 1
        _close(got, expected, what, rtol=rtol, atol=atol, mistakes=mistakes)

    def require(self, ok: bool, message: str, names_the_mistake: bool = False) -> None:
        """Raise :class:`Differs` with ``message`` unless ``ok``.

        ``names_the_mistake``: the message says what is wrong and what to do, so no
        nudge follows it (a :class:`Diagnosed`).
        """
        self.assertions += 1
        if not bool(ok):
            raise (Diagnosed if names_the_mistake else Differs)(message)


@dataclass(frozen=True)
class Check:
    """One known-answer test.

    ``probe(target, inputs, state)`` runs the learner's code and returns raw outputs
    (``state`` is a dict shared by the checks of one run, e.g. to build a model once);
    ``judge(inputs, outputs, verdict)`` compares them with the known answers.
    ``hint`` is a nudge (printed with a failure), ``recipe`` the steps (printed only
    when the learner asks for them with ``hint=2``).
    """

    what: str
    probe: Callable[[Any, Arrays, dict], Mapping[str, Any]]
    judge: Callable[[Arrays, Arrays, Verdict], None]
    hint: str  # the nudge: one sentence that points at the idea, no recipe
    recipe: str = ""  # the steps, shown only on request (``hint=2``)
    #: the outputs that the learner's code returned as they came, with who returned them
    #: (``{"value": "xcov_penalty"}``): None, NaN and (when ``tensor``) NumPy in them are
    #: diagnosed before any value is compared
    returns: Mapping[str, str] = field(default_factory=dict)
    tensor: bool = True  # whether ``returns`` must be backend tensors (not NumPy)


@dataclass(frozen=True)
class Exercise:
    """An exercise: its title, what the learner defines, its inputs and its checks.

    ``target`` names what the learner's ``#| export`` cells define; ``build`` turns
    the namespace of those cells into what the probes are given (by default the
    object called ``target``).
    """

    title: str
    target: str
    inputs: Callable[[np.random.Generator], Arrays]
    checks: tuple[Check, ...]
    build: Callable[[Mapping[str, Any]], Any] | None = None

    def build_target(self, namespace: Mapping[str, Any]):
        """What the probes call, from the namespace of the learner's export cells."""
        if self.target not in namespace:
            raise LookupError(f"the #| export cells define no `{self.target}`")
        return self.build(namespace) if self.build else namespace[self.target]


@dataclass(frozen=True)
class ProbeResult:
    """What one probe gave: its raw outputs, or the error the learner's code raised."""

    outputs: Arrays | None = None
    #: (exception type name, first line of its message[, where in the learner's code])
    raised: tuple[str, ...] | None = None


@dataclass
class Report:
    """The outcome of one exercise's checks.

    ``status`` is ``"pass"``, ``"fail"`` (a check found a wrong answer or an error),
    ``"not written"`` (the code still raises ``NotImplementedError``) or ``"error"``
    (the checker itself is broken: no checks, or a check made no assertion, or a
    result is missing).  ``failed`` lists the checks that did not pass.
    """

    exercise: str
    status: str
    passed: int
    total: int
    lines: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.status == "pass"

    def __str__(self) -> str:
        return "\n".join(self.lines)


# ------------------------------------------------------------------ small helpers
def _shape_words(shape: tuple) -> str:
    return "one number, shape ()" if shape == () else f"shape {shape}"


def _close(got, expected, what: str, rtol: float = 1e-4, atol: float = 1e-6,
           mistakes: tuple[Mistake, ...] = ()) -> None:
    """Raise :class:`Differs` unless ``got`` is ``expected`` up to rounding.

    Says which of ``mistakes`` a wrong result matches, or that it is the transpose of
    the answer, or how its shape differs, when it can tell.
    """
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    if got.shape == expected.shape and np.allclose(got, expected, rtol=rtol, atol=atol):
        return

    def same(a, b) -> bool:
        b = np.asarray(b, np.float64)
        return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))

    shapes = f"{what}: got {_shape_words(got.shape)}, expected {_shape_words(expected.shape)}"
    for mistake in mistakes:
        if same(got, mistake.answer):
            raise Diagnosed(f"{shapes if got.shape != expected.shape else what}: "
                            f"{mistake.says}")
    if got.shape != expected.shape:
        # a wrong shape says what to fix by itself: no nudge follows (Diagnosed)
        if got.ndim == 2 and got.T.shape == expected.shape:
            if same(got.T, expected):
                raise Diagnosed(shapes + ": it is the transpose of the answer (axes swapped)")
            raise Diagnosed(shapes + " (the transpose of the expected shape: axes swapped?)")
        for mistake in mistakes:
            if mistake.by_shape and np.shape(mistake.answer) == got.shape:
                raise Diagnosed(f"{shapes}: {mistake.says}")
        if expected.shape == () and got.size == 1:
            raise Diagnosed(f"{shapes}: an axis of length 1 is left over; reduce over "
                            "every axis to a scalar")
        if expected.shape == ():
            raise Diagnosed(f"{shapes}: a reduction (a sum or a mean) is missing")
        raise Diagnosed(shapes)
    if got.size > 8:
        bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
        raise Differs(f"{what}: {int(bad.sum())} of {got.size} numbers differ from the "
                      f"expected ones (by up to {float(np.max(np.abs(got - expected))):.3g})")
    g = np.array2string(got, precision=4, suppress_small=True, max_line_width=60)
    e = np.array2string(expected, precision=4, suppress_small=True, max_line_width=60)
    raise Differs(f"{what}: got {g}, expected {e}")


def _wrap(text: str, indent: int = 6) -> list[str]:
    """``text`` as lines of at most :data:`LINE_WIDTH` characters, indented by ``indent``."""
    pad = " " * indent
    return textwrap.wrap(text, LINE_WIDTH, initial_indent=pad, subsequent_indent=pad + "  ")


def _first_line(err: BaseException | str) -> str:
    """The first line of an error message, without terminal colour codes, at most 160 chars."""
    text = re.sub(r"\x1b\[[0-9;]*m|\[[0-9;]*m", "", str(err)).strip()
    return (text.splitlines() or [""])[0][:160]


def _numpy(t) -> np.ndarray:
    """A tensor (or array, or number) as a NumPy array."""
    if isinstance(t, (np.ndarray, np.generic, float, int, bool, list, tuple)):
        return np.asarray(t)
    from keras import ops

    return np.asarray(ops.convert_to_numpy(t))


#: what a learner's returned value was, sent with it as ``"kind:<name>"`` (a number)
TENSOR, NUMPY, PYTHON, NONE, OTHER = range(5)
KIND_PREFIX = "kind:"


def _kind(value) -> int:
    """Which of :data:`TENSOR`, :data:`NUMPY`, :data:`PYTHON`, :data:`NONE`, :data:`OTHER`."""
    if value is None:
        return NONE
    if isinstance(value, (np.ndarray, np.generic)):
        return NUMPY
    if isinstance(value, (bool, int, float)):
        return PYTHON
    import keras

    if keras.ops.is_tensor(value) or isinstance(value, keras.Variable):
        return TENSOR
    return OTHER


def _with_kinds(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A probe's outputs, each with its kind; None and non-numbers left out (kind only).

    So that a learner's ``None`` or string reaches the judge as a diagnosis, not as an
    error of the checker.
    """
    if not isinstance(raw, Mapping):
        return raw
    out: dict[str, Any] = {}
    for name, value in raw.items():
        kind = _kind(value)
        if kind not in (NONE, OTHER):
            out[name] = value
        elif kind == OTHER:
            try:
                if _numpy(value).dtype.kind in "biuf":
                    out[name] = value
            except Exception:  # noqa: BLE001 - whatever it is, it is not numbers
                pass
        out[f"{KIND_PREFIX}{name}"] = np.int64(kind)
    return out


def to_arrays(outputs: Mapping[str, Any]) -> Arrays:
    """A probe's outputs as plain NumPy arrays of booleans, integers or floats.

    Raises ``TypeError`` for anything else (strings, objects, ``None``), so that raw
    outputs are numbers only.
    """
    if not isinstance(outputs, Mapping):
        raise TypeError(f"a probe returns a dict of numbers; got {type(outputs).__name__}")
    out: Arrays = {}
    for name, value in outputs.items():
        array = _numpy(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"output {name!r} is {array.dtype}, expected numbers or booleans")
        out[str(name)] = array
    return out


# --------------------------------------------------------------- safe transport
def encode_arrays(arrays: Mapping[str, Any]) -> dict:
    """``{name: array}`` as JSON-ready data: ``{name: {"kind", "shape", "data"}}``."""
    out = {}
    for name, value in to_arrays(arrays).items():
        kind = {"b": "bool", "i": "int", "u": "int", "f": "float"}[value.dtype.kind]
        flat = value.ravel()
        data = (flat.astype(bool).tolist() if kind == "bool" else
                flat.astype(np.int64).tolist() if kind == "int" else
                flat.astype(np.float64).tolist())
        out[name] = {"kind": kind, "shape": list(value.shape), "data": data}
    return out


def decode_arrays(data: Any, max_numbers: int = MAX_NUMBERS) -> Arrays:
    """The inverse of :func:`encode_arrays`, for data that may come from untrusted code.

    Accepts only the exact layout (a dict of ``{"kind", "shape", "data"}``), only
    numbers of the declared kind, and at most ``max_numbers`` numbers in all; raises
    ``ValueError`` saying what was expected otherwise.
    """
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object of arrays, got {type(data).__name__}")
    arrays: Arrays = {}
    total = 0
    for name, item in data.items():
        if not isinstance(item, dict) or set(item) != {"kind", "shape", "data"}:
            raise ValueError(f"array {name[:40]!r}: expected keys kind, shape, data")
        kind, shape, values = item["kind"], item["shape"], item["data"]
        if kind not in {"bool", "int", "float"}:
            raise ValueError(f"array {name[:40]!r}: kind {str(kind)[:20]!r} is not bool/int/float")
        if (not isinstance(shape, list) or len(shape) > 8
                or not all(type(d) is int and 0 <= d <= max_numbers for d in shape)):
            raise ValueError(f"array {name[:40]!r}: shape must be at most 8 sizes >= 0")
        size = math.prod(shape)
        total += size
        if not isinstance(values, list) or len(values) != size or total > max_numbers:
            raise ValueError(f"array {name[:40]!r}: expected {size} numbers (and at most "
                             f"{max_numbers} in all)")
        allowed = {"bool": (bool,), "int": (int,), "float": (int, float)}[kind]
        if not all(type(v) in allowed for v in values):  # type() is exact: True is not an int
            raise ValueError(f"array {name[:40]!r}: every value must be a JSON {kind}")
        dtype = {"bool": bool, "int": np.int64, "float": np.float64}[kind]
        try:
            arrays[str(name)] = np.asarray(values, dtype=dtype).reshape(shape)
        except OverflowError as err:
            raise ValueError(f"array {name[:40]!r}: {err}") from None
    return arrays


def decode_json(text: str, max_chars: int = MAX_JSON_CHARS) -> Any:
    """``json.loads`` for text from untrusted code: bounded size, errors as ``ValueError``."""
    if len(text) > max_chars:
        raise ValueError(f"{len(text)} characters of JSON, expected at most {max_chars}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ValueError(f"not valid JSON ({type(err).__name__})") from None


def _where(err: BaseException) -> str:
    """Where in the learner's code ``err`` was raised: ``line 3 of f: y.mean(0)``.

    The innermost frame outside the course's helpers, the libraries and Python itself
    (the learner's notebook cell or export module); ``""`` when there is none.
    """
    skip = [os.path.dirname(os.path.abspath(__file__)) + os.sep]  # the helpers package
    skip += [sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")]
    skip += [sys.prefix, sys.base_prefix]
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if not any(f.filename.startswith(p) for p in skip if p)
              and "site-packages" not in f.filename and "dist-packages" not in f.filename]
    if not frames:
        return ""
    frame = frames[-1]
    line = (frame.line or "").strip()
    return f"line {frame.lineno} of {frame.name}" + (f": {line[:60]}" if line else "")


def encode_probe_results(results: list[ProbeResult]) -> list[dict]:
    """Probe results as JSON-ready data (see :func:`decode_probe_results`)."""
    return [{"raised": list(r.raised)} if r.raised is not None
            else {"outputs": encode_arrays(r.outputs or {})} for r in results]


def decode_probe_results(data: Any, n_checks: int) -> list[ProbeResult]:
    """Probe results sent by untrusted code, validated (``ValueError`` when malformed)."""
    if not isinstance(data, list) or len(data) > n_checks:
        raise ValueError(f"expected a list of at most {n_checks} check results")
    out = []
    for item in data:
        if isinstance(item, dict) and set(item) == {"raised"}:
            raised = item["raised"]
            if (not isinstance(raised, list) or len(raised) not in (2, 3)
                    or not all(isinstance(s, str) for s in raised)):
                raise ValueError("a raised error must be [type name, message(, where)]")
            name = re.sub(r"[^\w.]", "", raised[0])[:60] or "Exception"
            out.append(ProbeResult(raised=(name, *(_first_line(r) for r in raised[1:]))))
        elif isinstance(item, dict) and set(item) == {"outputs"}:
            out.append(ProbeResult(outputs=decode_arrays(item["outputs"])))
        else:
            raise ValueError("each check result must be {'outputs': ...} or {'raised': ...}")
    return out


# --------------------------------------------------------------- probe and judge
def make_inputs(exercise: str, seed: int = LEARNER_SEED) -> Arrays:
    """The inputs of ``exercise``'s checks, drawn with ``seed`` (trusted side)."""
    return {k: np.asarray(v) for k, v in _exercise(exercise).inputs(
        np.random.default_rng(seed)).items()}


def run_probes(exercise: str, target, inputs: Arrays) -> list[ProbeResult]:
    """Call the learner's ``target`` for every check of ``exercise``; raw outputs only.

    Stops after the first ``NotImplementedError`` (every other check would say the
    same).  This runs the learner's code: in the class check, only in the sandbox.
    """
    results: list[ProbeResult] = []
    state: dict = {}
    for check in _exercise(exercise).checks:
        try:
            outputs = to_arrays(_with_kinds(check.probe(target, inputs, state)))
        except NotImplementedError as err:
            results.append(ProbeResult(raised=("NotImplementedError", _first_line(err))))
            break
        except Exception as err:  # noqa: BLE001 - a learner's code may raise anything
            where = _first_line(_where(err))
            results.append(ProbeResult(raised=(type(err).__name__, _first_line(err),
                                               *([where] if where else []))))
        else:
            results.append(ProbeResult(outputs=outputs))
    return results


#: the line that tells a learner how to ask for the recipes (printed after a failure)
RECIPE_LINE = "  stuck? check_exercise(…, hint=2) adds the recipe, step by step"
_KIND_WORDS = {NUMPY: "a NumPy value", PYTHON: "a plain Python number"}


def _diagnose(check: Check, outputs: Arrays) -> tuple[str, str] | None:
    """The common mistake the raw outputs show before any value is compared, if any.

    Returns ``(what to say, a short form for the checks after the first)``: None or
    something other than numbers, NaN, or NumPy where a backend tensor was expected.
    Only the learner's own returns are looked at (``check.returns``).
    """
    for name, who in check.returns.items():
        sent = np.asarray(outputs.get(KIND_PREFIX + name, TENSOR)).reshape(-1)
        kind = int(sent[0]) if sent.size else TENSOR
        if kind == NONE:
            return (f"{who} returned None, expected a tensor: is a `return` missing?",
                    f"{who} returns None")
        if kind == OTHER and name not in outputs:
            return (f"{who} returned something that is not a tensor of numbers",
                    f"{who} returns no tensor")
        if name in outputs and np.asarray(outputs[name]).dtype.kind == "f" and not np.all(
                np.isfinite(outputs[name])):
            bad = "nan" if np.any(np.isnan(outputs[name])) else "inf"
            return (f"{who} returned {bad}: a 0/0, a division by zero, or the log of 0 or of "
                    "a negative number?", f"{who} returns {bad}")
        if check.tensor and kind in (NUMPY, PYTHON):
            what = _KIND_WORDS[kind]
            if kind == NUMPY and name in outputs:
                what = "a NumPy " + ("number" if np.ndim(outputs[name]) == 0 else "array")
            return (f"{who} returned {what} where a backend tensor was "
                    "expected: use keras.ops.… instead of np.… (or float(), .numpy()); "
                    "NumPy cuts the gradient, so nothing could train through it",
                    f"{who} returns {what}, not a tensor")
    return None


def _help(check: Check, hint: int, nudge: bool = True) -> list[str]:
    """The nudge (stage 1) or the nudge and the recipe (stage 2) of a failing check.

    No nudge after a diagnosis that already names the mistake (``nudge=False``).
    """
    lines = _wrap(f"hint: {check.hint}") if nudge else []
    if hint >= 2 and check.recipe:
        lines += _wrap(f"recipe: {check.recipe}")
    return lines


def _raised_help(name: str, message: str, check: Check, hint: int) -> list[str]:
    """What to do about an error: NumPy's methods called on a tensor are named; else the nudge."""
    numpy_method = re.search(r"Tensor' object has no attribute '(\w+)'", message)
    if name == "AttributeError" and numpy_method:
        method = numpy_method.group(1)
        return _wrap(f"the checks pass tensors, and a tensor has no .{method}(): that is "
                     f"NumPy's; use keras.ops (ops.{method}(x, …) where it exists) on "
                     "tensors") + _help(check, hint, nudge=False)
    return _help(check, hint)


def judge(exercise: str, inputs: Arrays, results: list[ProbeResult], hint: int = 1) -> Report:
    """Compare raw probe outputs with the known answers: the trusted half of the checks.

    Never calls the learner's code.  A check without a result (when no earlier one
    said *not written*), a check whose judge made no assertion, or an exercise with
    no checks gives the status ``"error"``.  The common mistakes (None, NaN, NumPy
    instead of a tensor, an error with where it was raised, a wrong axis or shape)
    are named before values are compared.  ``hint=1`` gives each failing check a
    nudge and says how to ask for more; ``hint=2`` adds the recipe.
    """
    spec = _exercise(exercise)
    lines, failed, passed = [], [], 0
    flags: set[str] = set()
    said: set[str] = set()  # diagnoses already printed in full
    if not spec.checks:
        flags.add("error")
        lines.append("  ✗ the exercise has no checks: the checker is broken; tell the teacher")
    for number, check in enumerate(spec.checks):
        if number >= len(results):
            if "not written" in flags:
                break
            flags.add("error")
            failed.append(check.what)
            lines += [f"  ✗ {check.what}", *_wrap("no result came back for this check")]
            continue
        result = results[number]
        if result.raised is not None:
            name, message, *where = result.raised
            failed.append(check.what)
            if name == "NotImplementedError":
                flags.add("not written")
                lines += [f"  ✗ {check.what}",
                          *_wrap(f"not written yet (it raises NotImplementedError). "
                                 f"Hint: {check.hint}"),
                          *(_wrap(f"recipe: {check.recipe}") if hint >= 2 and check.recipe
                            else [])]
                break
            flags.add("fail")
            key = "\0".join(result.raised)
            if key in said:  # the same error again: once in full is enough
                lines += [f"  ✗ {check.what}", *_wrap(f"as above: raised {name}"),
                          *_help(check, hint, nudge=False)]
                continue
            said.add(key)
            lines += [f"  ✗ {check.what}", *_wrap(f"raised {name}: {message}"),
                      *(_wrap(f"at {where[0]}") if where and where[0] else []),
                      *_raised_help(name, message, check, hint)]
            continue
        outputs = result.outputs or {}
        diagnosis = _diagnose(check, outputs)
        if diagnosis is not None:
            flags.add("fail")
            failed.append(check.what)
            full, short = diagnosis
            # the diagnosis says what to do: the check's own nudge would distract
            lines += [f"  ✗ {check.what}", *_wrap(f"as above: {short}" if full in said else full),
                      *_help(check, hint, nudge=False)]
            said.add(full)
            continue
        verdict = Verdict()
        try:
            check.judge(inputs, outputs, verdict)
        except Differs as err:
            flags.add("fail")
            failed.append(check.what)
            lines += [f"  ✗ {check.what}", *_wrap(str(err)),
                      *_help(check, hint, nudge=not isinstance(err, Diagnosed))]
        except Exception as err:  # noqa: BLE001 - malformed outputs: missing key, bad shape
            flags.add("fail")
            failed.append(check.what)
            lines += [f"  ✗ {check.what}",
                      *_wrap(f"its outputs could not be judged ({type(err).__name__}: "
                             f"{_first_line(err)})"), *_help(check, hint)]
        else:
            if verdict.assertions == 0:
                flags.add("error")
                failed.append(check.what)
                lines += [f"  ✗ {check.what}",
                          *_wrap("this check made no assertion: the checker is broken; "
                                 "tell the teacher")]
            else:
                passed += 1
                lines.append(f"  ✓ {check.what}")
    status = next((s for s in ("error", "not written", "fail") if s in flags), "pass")
    if status in ("fail", "not written") and hint < 2 and any(c.recipe for c in spec.checks):
        lines.append(RECIPE_LINE)
    total = len(spec.checks)
    mark = {"pass": "✓ all checks pass", "not written": "✗ not written yet",
            "error": "✗ the checker is broken"}.get(status, f"✗ {passed} of {total} pass")
    return Report(exercise, status, passed, total, [f"{spec.title} — {mark}", *lines], failed)


class ExerciseNotPassed(Exception):
    """Raised by :func:`check_exercise` after its report when a check did not pass.

    It stops "Run all" at the check cell, before the cells that use the piece.  In
    IPython and Jupyter it shows as its message alone: the report above it already
    says what differs, and a traceback would only point into this module.
    """

    def _render_traceback_(self) -> list[str]:  # IPython's hook for custom tracebacks
        return [f"⏹ {self}"]


def check_exercise(exercise: str, target, hint: int = 1, stop: bool = True) -> Report:
    """Run the known-answer checks of ``exercise`` on the learner's ``target``; print them.

    The learner's instant feedback, in their own notebook (fixed inputs).  Hints come
    in stages: a failing check prints a nudge; ``hint=2`` prints the recipe as well.
    Unless every check passes, it then raises :class:`ExerciseNotPassed` (``stop=False``
    only prints and returns the report).  For grading, ``tools/class_check.py`` runs the
    probes in a sandbox instead.
    """
    _exercise(exercise)
    if hint not in (1, 2):
        raise ValueError(f"hint must be 1 (a nudge) or 2 (the recipe); got {hint!r}")
    inputs = make_inputs(exercise)
    report = judge(exercise, inputs, run_probes(exercise, target, inputs), hint=hint)
    print(report)
    if stop and not report:
        state = {"not written": "is not written yet",
                 "error": "could not be checked"}.get(report.status, "is not right yet")
        raise ExerciseNotPassed(
            f"Stopped here: `{exercise}` {state}. The cells below use it: fix it, then run "
            "this cell again.")
    return report


def _exercise(name: str) -> Exercise:
    if name not in EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; the checks know "
                         f"{', '.join(sorted(EXERCISES))}.")
    return EXERCISES[name]


# ---------------------------------------------------------------- XCov (chapter 1)
def _unit_pair(rho: float, rng: np.random.Generator, n: int = 1000) -> tuple[np.ndarray, ...]:
    """Two columns with mean 0, variance 1 (over the batch) and correlation exactly ``rho``."""
    a, b = rng.normal(size=(2, n))
    a = (a - a.mean()) / a.std()
    b = b - b.mean()
    b -= (b @ a) / n * a  # orthogonal to a
    b /= b.std()
    z = rho * a + np.sqrt(1 - rho**2) * b
    return a[:, None].astype(np.float32), z[:, None].astype(np.float32)


def _xcov_inputs(rng: np.random.Generator) -> Arrays:
    y = rng.random((64, 10)).astype(np.float32)
    z = rng.normal(size=(64, 3)).astype(np.float32)
    rho = np.round(rng.uniform(0.3, 0.95, size=2), 3)
    (a0, b0), (a1, b1) = _unit_pair(rho[0], rng), _unit_pair(rho[1], rng)
    constant = np.full((64, 3), np.float32(rng.uniform(1.0, 9.0)), np.float32)
    return dict(y=y, z=z, constant=constant, rho=rho, a0=a0, b0=b0, a1=a1, b1=b1)


def _xcov_expected(y: np.ndarray, z: np.ndarray) -> tuple[float, np.ndarray]:
    """½ Σ C² with C = Yc^T Zc / N, and its gradient with respect to z (NumPy)."""
    y, z = y.astype(np.float64), z.astype(np.float64)
    yc, zc = y - y.mean(0), z - z.mean(0)
    c = yc.T @ zc / len(y)
    return 0.5 * float(np.sum(c**2)), yc @ c / len(y)


def _xcov_mistakes(y: np.ndarray, z: np.ndarray) -> tuple[Mistake, ...]:
    """What the common wrong versions of the penalty give on ``y`` and ``z`` (NumPy)."""
    y, z = y.astype(np.float64), z.astype(np.float64)
    n, k, d = len(y), y.shape[1], z.shape[1]

    def half_sum(yc, zc, divide=n):
        return 0.5 * float(np.sum((yc.T @ zc / divide) ** 2))

    yc, zc = y - y.mean(0), z - z.mean(0)
    c = yc.T @ zc / n
    shapes_tell = k != d
    return (
        Mistake("it is twice the answer: the ½ is missing", 2 * half_sum(yc, zc)),
        Mistake("you centred over axis 1 (the units), not over axis 0 (the batch)",
                half_sum(y - y.mean(1, keepdims=True), z - z.mean(1, keepdims=True))),
        Mistake("you subtracted one mean over all axes; centre each column over axis 0 "
                "(the batch)", half_sum(y - y.mean(), z - z.mean())),
        Mistake("y and z are not centred (subtract each column's batch mean)", half_sum(y, z)),
        Mistake("you divided by N - 1; C = Yc^T Zc / N divides by the batch size N",
                half_sum(yc, zc, n - 1)),
        Mistake("C is not divided by the batch size N", half_sum(yc, zc, 1)),
        Mistake("you took the mean of the squares of C, not their sum", 0.5 * np.mean(c**2)),
        Mistake("you summed over axis 0 of C (the units of y) only: sum over both axes",
                np.sum(0.5 * c**2, axis=0), by_shape=shapes_tell),
        Mistake("you summed over axis 1 of C (the units of z) only: sum over both axes",
                np.sum(0.5 * c**2, axis=1), by_shape=shapes_tell),
        Mistake(f"you returned the {k} × {d} matrix C itself: square, sum and halve it", c),
        Mistake(f"you returned the {k} × {d} matrix ½C²: sum it over both axes", 0.5 * c**2,
                by_shape=True),
        Mistake(f"you multiplied Yc Zc^T ({n} × {n}, the batch with itself); C is "
                f"Yc^T Zc ({k} × {d})", np.zeros((n, n)), by_shape=n not in (k, d)),
    )


def _xcov_checks() -> tuple[Check, ...]:
    returns = {"value": "xcov_penalty"}

    def probe_value(f, i, state):
        return {"value": f(i["y"], i["z"])}

    def judge_value(i, o, v):
        v.close(o["value"], _xcov_expected(i["y"], i["z"])[0], "on a random batch",
                mistakes=_xcov_mistakes(i["y"], i["z"]))

    def probe_constant(f, i, state):
        return {"value": f(i["y"], i["constant"])}

    def judge_constant(i, o, v):
        v.close(o["value"], 0.0, "with a constant z", atol=1e-5,
                mistakes=_xcov_mistakes(i["y"], i["constant"]))

    def probe_rho(f, i, state):
        return {"value0": f(i["a0"], i["b0"]), "value1": f(i["a1"], i["b1"])}

    def judge_rho(i, o, v):
        for k in (0, 1):
            rho = float(i["rho"][k])
            v.close(o[f"value{k}"], 0.5 * rho**2, f"rho = {rho}",
                    mistakes=_xcov_mistakes(i[f"a{k}"], i[f"b{k}"]))

    def probe_gradient(f, i, state):
        import tensorflow as tf

        zv = tf.Variable(i["z"])
        with tf.GradientTape() as tape:
            value = f(tf.constant(i["y"]), zv)
        # NumPy, a Python number or None has no gradient (and tape.gradient would fail)
        grad = tape.gradient(value, zv) if _kind(value) == TENSOR else None
        return {"value": value, "shape": np.asarray(np.shape(value), np.int64),
                "has_gradient": grad is not None,
                "gradient": np.zeros(i["z"].shape) if grad is None else grad}

    def judge_gradient(i, o, v):
        shape = tuple(int(s) for s in o["shape"])
        v.require(shape == (), f"got {_shape_words(shape)}, expected {_shape_words(())}: "
                  "sum over both axes of C", names_the_mistake=True)
        v.require(bool(o["has_gradient"]),
                  "no gradient reaches z although a tensor came back: a NumPy step inside "
                  "(np.…, .numpy(), float()) or an ops.stop_gradient cuts it")
        expected, gradient = _xcov_expected(i["y"], i["z"])
        v.require(np.allclose(np.asarray(o["value"], np.float64), expected, rtol=1e-3, atol=1e-6),
                  "the value it returns for tensors is wrong (see above), so its gradient is "
                  "too", names_the_mistake=True)
        v.close(o["gradient"], gradient, "the gradient with respect to z", rtol=1e-3, atol=1e-6)

    return (
        Check("matches ½ Σ C² with C = Yc^T Zc / N (NumPy)", probe_value, judge_value,
              "compare each step with the definition of C, a covariance over the batch.",
              "centre y and z over the batch (subtract ops.mean(…, axis=0, keepdims=True)), "
              "C = ops.matmul(ops.transpose(yc), zc) / N, then 0.5 * ops.sum(ops.square(C)).",
              returns),
        Check("is zero when z does not vary", probe_constant, judge_constant,
              "a constant z covaries with nothing: what must happen to y and z first?",
              "subtract each column's batch mean (ops.mean(z, axis=0, keepdims=True)) from z, "
              "and likewise from y, before multiplying.", returns),
        Check("is ½ρ² for two unit-variance units with correlation ρ", probe_rho, judge_rho,
              "for unit-variance units C is the correlation ρ itself: look at the constants.",
              "divide by the batch size N (not N - 1), and keep the ½: one pair gives ½ρ².",
              {"value0": "xcov_penalty", "value1": "xcov_penalty"}),
        Check("returns one number that gradients flow through", probe_gradient, judge_gradient,
              "one number, and a Keras tensor from the first step to the last.",
              "use keras.ops throughout (ops.mean, ops.matmul, ops.transpose, ops.square, "
              "ops.sum), never np.… or .numpy(), and sum over both unit axes to one number.",
              returns),
    )


# ---------------------------------------------------------- k-sparse gate (chapter 2)
def _ranked_rows(rng: np.random.Generator, rows: int, width: int) -> tuple[np.ndarray, ...]:
    """Rows of distinct values and, for each row, its positions from smallest to largest."""
    order = np.stack([rng.permutation(width) for _ in range(rows)])
    values = np.sort(rng.uniform(0.05, 0.95, size=(rows, width)), axis=1)
    values += np.arange(width) * 1e-3  # distinct even after rounding to float32
    x = np.zeros((rows, width), np.float32)
    np.put_along_axis(x, order, values.astype(np.float32), axis=1)
    return x, order


def _top_k_mask(order: np.ndarray, k: int) -> np.ndarray:
    """The known mask: ones at the positions of each row's ``k`` largest values."""
    mask = np.zeros(order.shape)
    np.put_along_axis(mask, order[:, order.shape[1] - k:], 1.0, axis=1)
    return mask


def _ksparse_inputs(rng: np.random.Generator) -> Arrays:
    x, order = _ranked_rows(rng, 3, 5)
    t = float(rng.uniform(0.4, 0.9))
    tied = np.array([[t, t, t, t - 0.2]], np.float32)
    return dict(x=x, order=order, tied=tied)


def _ksparse_mask_mistakes(x: np.ndarray, order: np.ndarray, k: int) -> tuple[Mistake, ...]:
    """What the common wrong masks give on ``x`` (rows of distinct values)."""
    by_column = np.zeros(x.shape)
    np.put_along_axis(by_column, np.argsort(-x, axis=0)[:k], 1.0, axis=0)
    smallest = np.zeros(order.shape)
    np.put_along_axis(smallest, order[:, :k], 1.0, axis=1)
    kept = _top_k_mask(order, k)
    return (
        Mistake("you ranked over axis 0 (the batch); rank the units within each row "
                "(axis -1)", by_column),
        Mistake("it keeps the k smallest units of each row, not the k largest", smallest),
        Mistake("it keeps k + 1 units in each row (ranks start at 0: keep rank < k)",
                _top_k_mask(order, min(k + 1, order.shape[1]))),
        Mistake("it returns the kept values x * mask, not the 0/1 mask", x * kept),
    )


def _ksparse_checks() -> tuple[Check, ...]:
    def probe_mask(layer_class, i, state):
        return {"k2": layer_class(2).mask(i["x"]), "k1": layer_class(1).mask(i["x"])}

    def judge_mask(i, o, v):
        for name, k in (("k2", 2), ("k1", 1)):
            v.close(o[name], _top_k_mask(i["order"], k), f"mask, k = {k}",
                    mistakes=_ksparse_mask_mistakes(i["x"], i["order"], k))

    def probe_ties(layer_class, i, state):
        return {"kept": layer_class(2).mask(i["tied"])}

    def judge_ties(i, o, v):
        kept, tied = np.asarray(o["kept"], np.float64), i["tied"]
        v.require(kept.shape == tied.shape and kept.sum() == 2 and kept[0, 3] == 0,
                  f"mask of {np.round(tied[0].astype(float), 2).tolist()} with k = 2 is "
                  f"{kept.reshape(-1).tolist()}: expected two of the three tied units")

    def probe_wide(layer_class, i, state):
        return {"out": layer_class(i["x"].shape[1] + 4)(i["x"])}

    def judge_wide(i, o, v):
        v.close(o["out"], i["x"], f"output with k = {i['x'].shape[1] + 4} > width "
                f"{i['x'].shape[1]}")

    def probe_forward(layer_class, i, state):
        return {mode: layer_class(2, gradient=mode)(i["x"]) for mode in ("masked", "straight_through")}

    def judge_forward(i, o, v):
        kept = i["x"] * _top_k_mask(i["order"], 2)
        v.close(o["masked"], kept, "output (masked)")
        v.close(o["straight_through"], kept, "output (straight_through)", mistakes=(
            Mistake("it is x itself: the value must be x * mask, only the gradient is x's",
                    i["x"]),))

    def probe_gradients(layer_class, i, state):
        import tensorflow as tf

        out = {}
        for mode in ("masked", "straight_through"):
            xv = tf.Variable(i["x"])
            with tf.GradientTape() as tape:
                total = tf.reduce_sum(layer_class(2, gradient=mode)(xv))
            g = tape.gradient(total, xv)
            out[f"{mode}_reaches"] = g is not None
            out[mode] = np.zeros(i["x"].shape) if g is None else g
        return out

    def judge_gradients(i, o, v):
        mask, ones = _top_k_mask(i["order"], 2), np.ones(i["x"].shape)
        v.require(bool(o["masked_reaches"]), "no gradient reaches the input (masked): "
                  "an ops.stop_gradient around x * mask, or a NumPy step, blocks it")
        v.close(o["masked"], mask, "gradient of the sum (masked)", mistakes=(
            Mistake("it is 1 for every unit, as in straight-through; the masked gradient "
                    "is the mask (0 for the dropped units)", ones),))
        v.require(bool(o["straight_through_reaches"]), "no gradient reaches the input "
                  "(straight_through): an ops.stop_gradient around the whole output blocks "
                  "it; stop the gradient of (kept - x) only")
        v.close(o["straight_through"], ones, "gradient of the sum (straight_through)", mistakes=(
            Mistake("it is the mask: a stop-gradient is missing, the gradient flows through "
                    "x * mask; the straight-through gradient is 1 for every unit", mask),
            Mistake("it is 1 + mask: a stop-gradient is missing, the gradient flows through "
                    "both x and x * mask; stop it on (x * mask - x) as a whole", 1 + mask)))

    return (
        Check("mask marks the k largest units of each row", probe_mask, judge_mask,
              "the k largest are chosen within each row (one example), among its units.",
              "rank the units of each row: order = ops.argsort(-x, axis=-1), rank = "
              "ops.argsort(order, axis=-1); keep rank < k, cast to x.dtype.",
              {"k2": "mask(x)", "k1": "mask(x)"}),
        Check("mask keeps exactly k units when values tie", probe_ties, judge_ties,
              "with ties, a threshold at the k-th value keeps too many: think of ranks.",
              "ranks from sorting twice break ties by position: keep rank < k "
              "(order = ops.argsort(-x, axis=-1), rank = ops.argsort(order, axis=-1)).",
              {"kept": "mask(x)"}),
        Check("k at least the width lets everything through", probe_wide, judge_wide,
              "when k is at least the width, every unit is among the k largest.",
              "rank < k holds for every unit when k >= the width; do not index the k-th "
              "largest value, which does not exist then.", {"out": "the layer's call"}),
        Check("call returns x * mask in both gradient modes", probe_forward, judge_forward,
              "the forward pass is the same in both modes: the modes differ backwards only.",
              "kept = x * mask; masked returns kept; straight-through returns "
              "x + ops.stop_gradient(kept - x), whose value is kept.",
              {"masked": "call (masked)", "straight_through": "call (straight_through)"}),
        Check("gradients: the mask (masked) or all ones (straight-through)", probe_gradients,
              judge_gradients, "where may the gradient flow in each mode, and where must it "
              "stop?", "mask = ops.stop_gradient(self.mask(x)); masked: return x * mask; "
              "straight-through: return x + ops.stop_gradient(x * mask - x)."),
    )


# ------------------------------------------------------ class matching (chapter 3)
def _class_matching_inputs(rng: np.random.Generator) -> Arrays:
    c = np.round(rng.uniform(-2, 2, size=3), 3)
    d = np.round(rng.uniform(0.5, 2.0, size=3), 3)
    s = float(np.round(rng.uniform(2.0, 6.0), 3))
    return dict(
        equal_mean=rng.normal(size=(3, 2)).astype(np.float32),
        equal_log_var=rng.normal(scale=0.3, size=(3, 2)).astype(np.float32),
        equal_y=rng.permutation(3), c=c, d=d, s=np.array(s))


def _kl_1d(m1: float, v1: float, m2: float, v2: float) -> float:
    """KL(N(m1, e^v1) || N(m2, e^v2)) of one-dimensional Gaussians (log-variances v)."""
    return 0.5 * (v2 - v1 + (np.exp(v1) + (m1 - m2) ** 2) / np.exp(v2) - 1.0)


def _pair_grid_mistakes(na: int, nb: int) -> tuple[Mistake, ...]:
    """Results whose shape alone says which reduction of the (Na, Nb) grid of pairs is missing."""
    out = [Mistake(f"you returned the whole ({na}, {nb}) grid of pairs: reduce it to one "
                   "number over the same-class pairs", np.zeros((na, nb)), by_shape=True)]
    if na != nb:
        out += [Mistake("you reduced over axis 0 (batch a) only; reduce over both axes",
                        np.zeros(nb), by_shape=True),
                Mistake("you reduced over axis 1 (batch b) only; reduce over both axes",
                        np.zeros(na), by_shape=True)]
    return tuple(out)


def _class_matching_checks() -> tuple[Check, ...]:
    returns = {"value": "class_matching_divergence"}

    def call(f, ma, la, ya, mb, lb, yb):
        arrays = [np.asarray(v, np.float32) for v in (ma, la, mb, lb)]
        return f(arrays[0], arrays[1], np.asarray(ya), arrays[2], arrays[3], np.asarray(yb))

    def probe_equal(f, i, state):
        m, lv, y = i["equal_mean"], i["equal_log_var"], i["equal_y"]
        return {"value": call(f, m, lv, y, m, lv, y)}

    def judge_equal(i, o, v):
        m, lv = i["equal_mean"].astype(np.float64), i["equal_log_var"].astype(np.float64)
        grid = _kl_1d(m[:, None], lv[:, None], m[None], lv[None])
        grid = (grid + np.swapaxes(grid, 0, 1)).sum(-1)  # symmetric KL of every pair
        v.close(o["value"], 0.0, "identical posteriors", atol=1e-5, mistakes=(
            Mistake("you averaged over all pairs, not only the same-class ones", grid.mean()),
            Mistake("you summed over all pairs, not only the same-class ones", grid.sum()),
            *_pair_grid_mistakes(3, 3)))

    def probe_1d(f, i, state):
        c, d, s = float(i["c"][0]), float(i["d"][0]), float(i["s"])
        return {"means": call(f, [[c]], [[0.0]], [0], [[c + d]], [[0.0]], [0]),
                "variances": call(f, [[c]], [[0.0]], [0], [[c]], [[np.log(s)]], [0])}

    def judge_1d(i, o, v):
        d, s = float(i["d"][0]), float(i["s"])
        one_way = "only one direction of the KL: add KL(a ‖ b) and KL(b ‖ a)"
        # KL(N(c,1) || N(c+d,1)) = KL back = d²/2; for variances 1 and s the two KLs add
        # to ½(ln s + 1/s - 1) + ½(-ln s + s - 1) = ½(s + 1/s - 2)
        v.close(o["means"], d**2, f"means {float(i['c'][0]):.3g} and "
                f"{float(i['c'][0]) + d:.3g}, var 1", rtol=1e-4,
                mistakes=(Mistake(one_way, d**2 / 2),))
        v.close(o["variances"], 0.5 * (s + 1 / s - 2), f"variances 1 and {s:.3g}", rtol=1e-4,
                mistakes=(Mistake(one_way, _kl_1d(0, 0, 0, np.log(s))),
                          Mistake(one_way, _kl_1d(0, np.log(s), 0, 0))))

    def probe_others(f, i, state):
        c, d = float(i["c"][1]), float(i["d"][1])
        return {"value": call(f, [[c]], [[0.0]], [0], [[c + d], [50.0]], [[0.0], [0.0]], [0, 1])}

    def judge_others(i, o, v):
        c, d = float(i["c"][1]), float(i["d"][1])
        far = 2 * _kl_1d(c, 0, 50.0, 0)
        v.close(o["value"], d**2, "a far-away posterior of another class added", rtol=1e-4,
                mistakes=(Mistake("you averaged over all pairs, not only the same-class ones",
                                  (d**2 + far) / 2),
                          Mistake("you summed over all pairs, not only the same-class ones",
                                  d**2 + far),
                          *_pair_grid_mistakes(1, 2)))

    def probe_mean(f, i, state):
        c, d1, d2 = float(i["c"][2]), float(i["d"][1]), float(i["d"][2])
        return {"value": call(f, [[c - d1], [c + d2]], [[0.0], [0.0]], [0, 0], [[c]], [[0.0]], [0])}

    def judge_mean(i, o, v):
        d1, d2 = float(i["d"][1]), float(i["d"][2])
        v.close(o["value"], (d1**2 + d2**2) / 2, "two pairs, symmetric KL "
                f"{d1**2:.3g} and {d2**2:.3g}", rtol=1e-4,
                mistakes=(Mistake("you summed over the same-class pairs: average them",
                                  d1**2 + d2**2), *_pair_grid_mistakes(2, 1)))

    def probe_none(f, i, state):
        return {"value": call(f, [[0.0]], [[0.0]], [0], [[1.0]], [[0.0]], [1])}

    def judge_none(i, o, v):
        pair = 2 * _kl_1d(0.0, 0.0, 1.0, 0.0)  # the one (different-class) pair
        v.close(o["value"], 0.0, "batches without a shared class", atol=1e-6, mistakes=(
            Mistake("you averaged over all pairs, not only the same-class ones", pair),))

    return (
        Check("is zero when both domains have the same posteriors", probe_equal, judge_equal,
              "KL(q ‖ q) is 0 for every q: check the closed form of the Gaussian KL.",
              "use helpers.core.losses.gaussian_kl(mean_p, log_var_p, mean_q, log_var_q), "
              "which sums over the last axis.", returns),
        Check("is the symmetric KL of same-class pairs (1-D examples)", probe_1d, judge_1d,
              "symmetric means both directions: from a to b and from b to a.",
              "on the grid of pairs (ops.expand_dims(mean_a, 1) against "
              "ops.expand_dims(mean_b, 0)), sym = gaussian_kl(a, b) + gaussian_kl(b, a).",
              {"means": "class_matching_divergence", "variances": "class_matching_divergence"}),
        Check("ignores pairs with different labels", probe_others, judge_others,
              "only the pairs whose labels agree count.",
              "same = ops.cast(ops.expand_dims(y_a, 1) == ops.expand_dims(y_b, 0), "
              "sym.dtype); weight sym by same.", returns),
        Check("averages over same-class pairs (not a sum)", probe_mean, judge_mean,
              "an average, over the pairs that count.",
              "divide ops.sum(sym * same) by ops.sum(same), the number of same-class pairs.",
              returns),
        Check("is 0, not NaN, when the batches share no class", probe_none, judge_none,
              "what does your average do when no pair counts?",
              "divide by ops.maximum(ops.sum(same), 1.0): no pairs then gives 0 / 1 = 0.",
              returns),
    )


# ------------------------------------------------------- adversary step (chapter 4)
def _adversary_inputs(rng: np.random.Generator) -> Arrays:
    return dict(z=rng.normal(size=(32, 64)).astype(np.float32), y=rng.integers(0, 10, 32))


def _adversary_checks() -> tuple[Check, ...]:
    def model_and_codes(make_model, i, state):
        if "model" not in state:
            import tensorflow as tf

            model = make_model()
            style_dim, classes = int(model.style_dim), int(model.num_classes)
            if not 0 < style_dim <= i["z"].shape[1]:
                raise ValueError(f"the checks need style_dim <= {i['z'].shape[1]}, got {style_dim}")
            state.update(model=model, z=tf.constant(i["z"][:, :style_dim]),
                         y=tf.constant(i["y"] % classes))
        return state["model"], state["z"], state["y"]

    def weights(layer):
        return [np.array(w) for w in layer.weights]

    def change(before, layer) -> float:
        after = weights(layer)
        return max((float(np.max(np.abs(a - b))) for a, b in zip(before, after, strict=True)
                    if a.size), default=0.0)

    def probe_loss(make_model, i, state):
        model, z, y = model_and_codes(make_model, i, state)
        probs = model.adversary(z, training=True)
        out = model.adversary_step(z, y)
        ok = isinstance(out, dict) and {"adv_ce", "adv_acc"} <= set(out)
        return {"probs": probs, "y": y, "is_dict_with_keys": ok,
                **({"adv_ce": out["adv_ce"], "adv_acc": out["adv_acc"]} if ok else {})}

    def judge_loss(i, o, v):
        v.require(bool(o["is_dict_with_keys"]), "did not return a dict with adv_ce and adv_acc")
        probs, y = np.asarray(o["probs"], np.float64), np.asarray(o["y"], np.int64)
        v.require(probs.ndim == 2 and len(y) == len(probs) and 0 <= y.min() and y.max() < probs.shape[1],
                  f"the adversary's output has shape {probs.shape}, expected (batch, classes)")
        before = -np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-7, 1.0)))
        v.close(o["adv_ce"], before, "adv_ce (the loss before the update)", rtol=1e-3)
        acc = float(np.asarray(o["adv_acc"]).reshape(-1)[0])
        v.require(0.0 <= acc <= 1.0, f"adv_acc is {acc}, expected a fraction in [0, 1]")

    def probe_moves(make_model, i, state):
        model, z, y = model_and_codes(make_model, i, state)
        layers = {"z_encoder": model.z_encoder, "decoder": model.decoder,
                  "adversary": model.adversary}
        before = {name: weights(layer) for name, layer in layers.items()}
        model.adversary_step(z, y)
        return {name: change(before[name], layer) for name, layer in layers.items()}

    def judge_moves(i, o, v):
        for name in ("z_encoder", "decoder"):
            v.require(float(o[name]) == 0.0, f"the {name} weights changed")
        v.require(float(o["adversary"]) > 0.0, "the adversary's weights did not change")

    def probe_learns(make_model, i, state):
        model, z, y = model_and_codes(make_model, i, state)
        return {"adv_ce": [float(_numpy(model.adversary_step(z, y)["adv_ce"])) for _ in range(31)]}

    def judge_learns(i, o, v):
        ce = np.asarray(o["adv_ce"], np.float64).reshape(-1)
        v.require(len(ce) >= 2, "fewer than two losses came back")
        v.require(ce[-1] < ce[0], f"cross-entropy went from {ce[0]:.3f} to {ce[-1]:.3f} in "
                  f"{len(ce) - 1} steps")

    returns = {"adv_ce": "adversary_step (its adv_ce)", "adv_acc": "adversary_step (its adv_acc)"}
    return (
        Check("returns adv_ce (before the update) and adv_acc", probe_loss, judge_loss,
              "adv_ce is the adversary's loss on (z, y) as it was before this step's update.",
              "inside a tf.GradientTape: probs = self.adversary(z, training=True), ce = "
              "sparse_cross_entropy(y, probs); return {'adv_ce': ce, 'adv_acc': "
              "accuracy(y, probs)}.", returns, tensor=False),
        Check("updates the adversary's weights and nothing else", probe_moves, judge_moves,
              "this step trains the adversary alone; the rest of the model stays fixed.",
              "weights = self.adversary.trainable_weights; grads = tape.gradient(ce, weights); "
              "apply them with self.adversary_optimizer."),
        Check("lowers the adversary's loss on a fixed batch", probe_learns, judge_learns,
              "step after step, the adversary's loss should go down.",
              "self.adversary_optimizer.apply_gradients(zip(grads, weights)) descends; do not "
              "negate the loss or the gradients in this step."),
    )


def _small_two_step(namespace: Mapping[str, Any]) -> Callable[[], Any]:
    """The chapter's ``lambda: compiled(small_two_step())``, from the learner's own classes."""
    for name in ("ContentClassifier", "TwoStepModel"):
        if name not in namespace:
            raise LookupError(f"the #| export cells define no `{name}`")

    def make_model():
        import keras

        step1 = namespace["ContentClassifier"](content_dim=4, hidden=16, classifier_hidden=(8,))
        model = namespace["TwoStepModel"](step1, style_dim=3, hidden=16, adversary_hidden=(8,))
        model.compile(optimizer=keras.optimizers.Adam(1e-2),
                      adversary_optimizer=keras.optimizers.Adam(1e-2))
        return model

    return make_model


EXERCISES: dict[str, Exercise] = {
    "xcov_penalty": Exercise("Exercise 1 · xcov_penalty", "xcov_penalty", _xcov_inputs,
                             _xcov_checks()),
    "ksparse_gate": Exercise("Exercise 1 · KSparse.mask and KSparse.call", "KSparse",
                             _ksparse_inputs, _ksparse_checks()),
    "class_matching_divergence": Exercise("Exercise 1 · class_matching_divergence",
                                          "class_matching_divergence", _class_matching_inputs,
                                          _class_matching_checks()),
    "adversary_step": Exercise("Exercise 1 · TwoStepModel.adversary_step", "TwoStepModel",
                               _adversary_inputs, _adversary_checks(), build=_small_two_step),
}
