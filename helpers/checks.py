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
differs and a hint, never the solution.  It never raises for a wrong answer.

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
import re
import textwrap
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


class Verdict:
    """The assertions one judge makes; :func:`judge` refuses a check that made none."""

    def __init__(self) -> None:
        self.assertions = 0

    def close(self, got, expected, what: str, rtol: float = 1e-4, atol: float = 1e-6) -> None:
        """Raise :class:`Differs` unless ``got`` is ``expected`` up to rounding."""
        self.assertions += 1
        _close(got, expected, what, rtol=rtol, atol=atol)

    def require(self, ok: bool, message: str) -> None:
        """Raise :class:`Differs` with ``message`` unless ``ok``."""
        self.assertions += 1
        if not bool(ok):
            raise Differs(message)


@dataclass(frozen=True)
class Check:
    """One known-answer test.

    ``probe(target, inputs, state)`` runs the learner's code and returns raw outputs
    (``state`` is a dict shared by the checks of one run, e.g. to build a model once);
    ``judge(inputs, outputs, verdict)`` compares them with the known answers.
    """

    what: str
    probe: Callable[[Any, Arrays, dict], Mapping[str, Any]]
    judge: Callable[[Arrays, Arrays, Verdict], None]
    hint: str


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
    raised: tuple[str, str] | None = None  # (exception type name, first line of its message)


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
def _close(got, expected, what: str, rtol: float = 1e-4, atol: float = 1e-6) -> None:
    """Raise :class:`Differs` unless ``got`` is ``expected`` up to rounding."""
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    if got.shape != expected.shape:
        raise Differs(f"{what}: shape {got.shape}, expected {expected.shape}")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
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
            if (not isinstance(raised, list) or len(raised) != 2
                    or not all(isinstance(s, str) for s in raised)):
                raise ValueError("a raised error must be [type name, message]")
            name = re.sub(r"[^\w.]", "", raised[0])[:60] or "Exception"
            out.append(ProbeResult(raised=(name, _first_line(raised[1]))))
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
            outputs = to_arrays(check.probe(target, inputs, state))
        except NotImplementedError as err:
            results.append(ProbeResult(raised=("NotImplementedError", _first_line(err))))
            break
        except Exception as err:  # noqa: BLE001 - a learner's code may raise anything
            results.append(ProbeResult(raised=(type(err).__name__, _first_line(err))))
        else:
            results.append(ProbeResult(outputs=outputs))
    return results


def judge(exercise: str, inputs: Arrays, results: list[ProbeResult]) -> Report:
    """Compare raw probe outputs with the known answers: the trusted half of the checks.

    Never calls the learner's code.  A check without a result (when no earlier one
    said *not written*), a check whose judge made no assertion, or an exercise with
    no checks gives the status ``"error"``.
    """
    spec = _exercise(exercise)
    lines, failed, passed = [], [], 0
    flags: set[str] = set()
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
            name, message = result.raised
            failed.append(check.what)
            if name == "NotImplementedError":
                flags.add("not written")
                lines += [f"  ✗ {check.what}",
                          *_wrap("not written yet (it raises NotImplementedError). "
                                 f"Hint: {check.hint}")]
                break
            flags.add("fail")
            lines += [f"  ✗ {check.what}", *_wrap(f"raised {name}: {message}"),
                      *_wrap(f"hint: {check.hint}")]
            continue
        verdict = Verdict()
        try:
            check.judge(inputs, result.outputs or {}, verdict)
        except Differs as err:
            flags.add("fail")
            failed.append(check.what)
            lines += [f"  ✗ {check.what}", *_wrap(str(err)), *_wrap(f"hint: {check.hint}")]
        except Exception as err:  # noqa: BLE001 - malformed outputs: missing key, bad shape
            flags.add("fail")
            failed.append(check.what)
            lines += [f"  ✗ {check.what}",
                      *_wrap(f"its outputs could not be judged ({type(err).__name__}: "
                             f"{_first_line(err)})"), *_wrap(f"hint: {check.hint}")]
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
    total = len(spec.checks)
    mark = {"pass": "✓ all checks pass", "not written": "✗ not written yet",
            "error": "✗ the checker is broken"}.get(status, f"✗ {passed} of {total} pass")
    return Report(exercise, status, passed, total, [f"{spec.title} — {mark}", *lines], failed)


def check_exercise(exercise: str, target) -> Report:
    """Run the known-answer checks of ``exercise`` on the learner's ``target``; print them.

    The learner's instant feedback, in their own notebook (fixed inputs).  For
    grading, ``tools/class_check.py`` runs the probes in a sandbox instead.
    """
    _exercise(exercise)
    inputs = make_inputs(exercise)
    report = judge(exercise, inputs, run_probes(exercise, target, inputs))
    print(report)
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


def _xcov_checks() -> tuple[Check, ...]:
    def probe_value(f, i, state):
        return {"value": f(i["y"], i["z"])}

    def judge_value(i, o, v):
        v.close(o["value"], _xcov_expected(i["y"], i["z"])[0], "on a random batch")

    def probe_constant(f, i, state):
        return {"value": f(i["y"], i["constant"])}

    def judge_constant(i, o, v):
        v.close(o["value"], 0.0, "with a constant z", atol=1e-5)

    def probe_rho(f, i, state):
        return {"value0": f(i["a0"], i["b0"]), "value1": f(i["a1"], i["b1"])}

    def judge_rho(i, o, v):
        for k in (0, 1):
            rho = float(i["rho"][k])
            v.close(o[f"value{k}"], 0.5 * rho**2, f"rho = {rho}")

    def probe_gradient(f, i, state):
        import tensorflow as tf

        zv = tf.Variable(i["z"])
        with tf.GradientTape() as tape:
            value = f(tf.constant(i["y"]), zv)
        grad = tape.gradient(value, zv)
        return {"shape": np.asarray(tuple(value.shape), np.int64),
                "has_gradient": grad is not None,
                "gradient": np.zeros(i["z"].shape) if grad is None else grad}

    def judge_gradient(i, o, v):
        shape = tuple(int(s) for s in o["shape"])
        v.require(shape == (), f"returned shape {shape}, expected one number ()")
        v.require(bool(o["has_gradient"]), "no gradient reaches z")
        v.close(o["gradient"], _xcov_expected(i["y"], i["z"])[1], "the gradient with respect to z",
                rtol=1e-3, atol=1e-6)

    return (
        Check("matches ½ Σ C² with C = Yc^T Zc / N (NumPy)", probe_value, judge_value,
              "centre both y and z over the batch, divide by N, square, sum, halve"),
        Check("is zero when z does not vary", probe_constant, judge_constant,
              "subtract each column's batch mean before multiplying"),
        Check("is ½ρ² for two unit-variance units with correlation ρ", probe_rho, judge_rho,
              "divide by the batch size N (not N - 1), and keep the ½"),
        Check("returns one number that gradients flow through", probe_gradient, judge_gradient,
              "sum over both unit axes with keras.ops, not NumPy"),
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


def _ksparse_checks() -> tuple[Check, ...]:
    def probe_mask(layer_class, i, state):
        return {"k2": layer_class(2).mask(i["x"]), "k1": layer_class(1).mask(i["x"])}

    def judge_mask(i, o, v):
        v.close(o["k2"], _top_k_mask(i["order"], 2), "mask, k = 2")
        v.close(o["k1"], _top_k_mask(i["order"], 1), "mask, k = 1")

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
        for mode in ("masked", "straight_through"):
            v.close(o[mode], i["x"] * _top_k_mask(i["order"], 2), f"output ({mode})")

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
        expected = {"masked": _top_k_mask(i["order"], 2), "straight_through": np.ones(i["x"].shape)}
        for mode, grad in expected.items():
            v.require(bool(o[f"{mode}_reaches"]), f"no gradient reaches the input ({mode})")
            v.close(o[mode], grad, f"gradient of the sum ({mode})")

    return (
        Check("mask marks the k largest units of each row", probe_mask, judge_mask,
              "rank the units of each row (argsort of the argsort) and compare with k"),
        Check("mask keeps exactly k units when values tie", probe_ties, judge_ties,
              "a threshold at the k-th value keeps every tied unit; use ranks"),
        Check("k at least the width lets everything through", probe_wide, judge_wide,
              "the mask should be all ones when k >= the number of units"),
        Check("call returns x * mask in both gradient modes", probe_forward, judge_forward,
              "the forward pass is the same for both modes"),
        Check("gradients: the mask (masked) or all ones (straight-through)", probe_gradients,
              judge_gradients, "stop the gradient through the mask; straight-through is "
              "x + stop_gradient(kept - x)"),
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


def _class_matching_checks() -> tuple[Check, ...]:
    def call(f, ma, la, ya, mb, lb, yb):
        arrays = [np.asarray(v, np.float32) for v in (ma, la, mb, lb)]
        return f(arrays[0], arrays[1], np.asarray(ya), arrays[2], arrays[3], np.asarray(yb))

    def probe_equal(f, i, state):
        m, lv, y = i["equal_mean"], i["equal_log_var"], i["equal_y"]
        return {"value": call(f, m, lv, y, m, lv, y)}

    def judge_equal(i, o, v):
        v.close(o["value"], 0.0, "identical posteriors", atol=1e-5)

    def probe_1d(f, i, state):
        c, d, s = float(i["c"][0]), float(i["d"][0]), float(i["s"])
        return {"means": call(f, [[c]], [[0.0]], [0], [[c + d]], [[0.0]], [0]),
                "variances": call(f, [[c]], [[0.0]], [0], [[c]], [[np.log(s)]], [0])}

    def judge_1d(i, o, v):
        d, s = float(i["d"][0]), float(i["s"])
        # KL(N(c,1) || N(c+d,1)) = KL back = d²/2; for variances 1 and s the two KLs add
        # to ½(ln s + 1/s - 1) + ½(-ln s + s - 1) = ½(s + 1/s - 2)
        v.close(o["means"], d**2, f"means {float(i['c'][0]):.3g} and "
                f"{float(i['c'][0]) + d:.3g}, var 1", rtol=1e-4)
        v.close(o["variances"], 0.5 * (s + 1 / s - 2), f"variances 1 and {s:.3g}", rtol=1e-4)

    def probe_others(f, i, state):
        c, d = float(i["c"][1]), float(i["d"][1])
        return {"value": call(f, [[c]], [[0.0]], [0], [[c + d], [50.0]], [[0.0], [0.0]], [0, 1])}

    def judge_others(i, o, v):
        v.close(o["value"], float(i["d"][1]) ** 2,
                "a far-away posterior of another class added", rtol=1e-4)

    def probe_mean(f, i, state):
        c, d1, d2 = float(i["c"][2]), float(i["d"][1]), float(i["d"][2])
        return {"value": call(f, [[c - d1], [c + d2]], [[0.0], [0.0]], [0, 0], [[c]], [[0.0]], [0])}

    def judge_mean(i, o, v):
        d1, d2 = float(i["d"][1]), float(i["d"][2])
        v.close(o["value"], (d1**2 + d2**2) / 2, "two pairs, symmetric KL "
                f"{d1**2:.3g} and {d2**2:.3g}", rtol=1e-4)

    def probe_none(f, i, state):
        return {"value": call(f, [[0.0]], [[0.0]], [0], [[1.0]], [[0.0]], [1])}

    def judge_none(i, o, v):
        value = float(np.asarray(o["value"]).reshape(-1)[0]) if np.size(o["value"]) else np.nan
        v.require(np.isfinite(value) and abs(value) <= 1e-6,
                  f"batches without a shared class give {value}, expected 0.0")

    return (
        Check("is zero when both domains have the same posteriors", probe_equal, judge_equal,
              "KL(q || q) is 0; check the closed form of the Gaussian KL"),
        Check("is the symmetric KL of same-class pairs (1-D examples)", probe_1d, judge_1d,
              "add KL(a || b) and KL(b || a); helpers.core.losses.gaussian_kl has one"),
        Check("ignores pairs with different labels", probe_others, judge_others,
              "weight each pair by (y_a[i] == y_b[j])"),
        Check("averages over same-class pairs (not a sum)", probe_mean, judge_mean,
              "divide by the number of same-class pairs"),
        Check("is 0, not NaN, when the batches share no class", probe_none, judge_none,
              "guard the division when there are no pairs"),
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
                "adv_ce": out["adv_ce"] if ok else np.nan, "adv_acc": out["adv_acc"] if ok else np.nan}

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

    return (
        Check("returns adv_ce (before the update) and adv_acc", probe_loss, judge_loss,
              "compute the adversary's cross-entropy on (z, y) inside the tape"),
        Check("updates the adversary's weights and nothing else", probe_moves, judge_moves,
              "take the gradient with respect to self.adversary.trainable_weights only"),
        Check("lowers the adversary's loss on a fixed batch", probe_learns, judge_learns,
              "apply the gradients with self.adversary_optimizer (descent, not ascent)"),
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
