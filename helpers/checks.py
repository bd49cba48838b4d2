"""Instant feedback on the "implement it" exercises: known answers, clear hints.

A check cell after an exercise calls :func:`check_exercise` with the learner's
own function or class.  Each check compares it with an answer worked out by
hand (values on fixed inputs, shapes, gradients, invariances) and prints one
line per check: a pass, or what differs and a hint.  No check shows the
solution.  The checks never raise, so a learner reads the report and goes on;
:func:`check_exercise` returns the :class:`Report`.

With the environment variable ``HF_CHECK_REPORT`` set to a file path, every
report is also appended to that file as one JSON line; the class check
(``tools/class_check.py``) collects them per student.
"""

from __future__ import annotations

import json
import os
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

REPORT_ENV = "HF_CHECK_REPORT"


class Differs(AssertionError):
    """Raised by a check with what differs (e.g. ``"got 0.25, expected 0.125"``)."""


@dataclass(frozen=True)
class Check:
    """One known-answer test: ``run()`` raises :class:`Differs` when the answer is wrong."""

    what: str
    run: Callable[[], None]
    hint: str


@dataclass
class Report:
    """The outcome of one exercise's checks.

    ``status`` is ``"pass"``, ``"fail"`` (a check found a wrong answer or an
    error) or ``"not written"`` (the function still raises ``NotImplementedError``).
    """

    exercise: str
    status: str
    passed: int
    total: int
    lines: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return self.status == "pass"

    def __str__(self) -> str:
        return "\n".join(self.lines)


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
    """``text`` as lines of at most 80 characters, indented by ``indent`` spaces."""
    pad = " " * indent
    return textwrap.wrap(text, 80, initial_indent=pad, subsequent_indent=pad + "  ")


def _first_line(err: Exception) -> str:
    """The first line of an error message, without terminal colour codes, at most 160 chars."""
    text = re.sub(r"\x1b\[[0-9;]*m|\[[0-9;]*m", "", str(err)).strip()
    return (text.splitlines() or [""])[0][:160]


def _numpy(t) -> np.ndarray:
    from keras import ops

    return np.asarray(ops.convert_to_numpy(t))


def check_exercise(exercise: str, target) -> Report:
    """Run the known-answer checks of ``exercise`` on the learner's ``target``; print them."""
    if exercise not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}; the checks know "
                         f"{', '.join(sorted(EXERCISES))}.")
    title, make_checks = EXERCISES[exercise]
    checks = make_checks(target)
    lines, passed, status = [], 0, "pass"
    for check in checks:
        try:
            check.run()
        except NotImplementedError:
            status = "not written"
            lines += [f"  ✗ {check.what}",
                      *_wrap("not written yet (it raises NotImplementedError). "
                             f"Hint: {check.hint}")]
            break  # every other check would say the same
        except Differs as err:
            status = "fail"
            lines += [f"  ✗ {check.what}", *_wrap(str(err)), *_wrap(f"hint: {check.hint}")]
        except Exception as err:  # noqa: BLE001 - a learner's code may raise anything
            status = "fail"
            lines += [f"  ✗ {check.what}",
                      *_wrap(f"raised {type(err).__name__}: {_first_line(err)}"),
                      *_wrap(f"hint: {check.hint}")]
        else:
            passed += 1
            lines.append(f"  ✓ {check.what}")
    mark = {"pass": "✓ all checks pass", "not written": "✗ not written yet"}.get(
        status, f"✗ {passed} of {len(checks)} pass")
    head = f"{title} — {mark}"
    report = Report(exercise, status, passed, len(checks), [head, *lines])
    print(report)
    path = os.environ.get(REPORT_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"exercise": exercise, "status": status, "passed": passed,
                                "total": len(checks)}) + "\n")
    return report


# ---------------------------------------------------------------- XCov (chapter 1)
def _unit_pair(rho: float, n: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two columns with mean 0, variance 1 (over the batch) and correlation exactly ``rho``."""
    a, b = np.random.default_rng(seed).normal(size=(2, n))
    a = (a - a.mean()) / a.std()
    b = b - b.mean()
    b -= (b @ a) / n * a  # orthogonal to a
    b /= b.std()
    z = rho * a + np.sqrt(1 - rho**2) * b
    return a[:, None].astype(np.float32), z[:, None].astype(np.float32)


def _xcov_checks(xcov_penalty) -> list[Check]:
    rng = np.random.default_rng(1)
    y = rng.random((64, 10)).astype(np.float32)
    z = rng.normal(size=(64, 3)).astype(np.float32)

    def numpy_value():
        yc, zc = y - y.mean(0), z - z.mean(0)
        _close(_numpy(xcov_penalty(y, z)), 0.5 * np.sum((yc.T @ zc / len(y)) ** 2),
               "on a random batch")

    def zero_for_constant():
        _close(_numpy(xcov_penalty(y, np.full((64, 3), 5.0, np.float32))), 0.0,
               "with a constant z", atol=1e-5)

    def half_rho_squared():
        for rho in (0.5, 0.9):
            a, b = _unit_pair(rho)
            _close(_numpy(xcov_penalty(a, b)), 0.5 * rho**2, f"rho = {rho}")

    def one_number_with_gradient():
        import tensorflow as tf

        zv = tf.Variable(z)
        with tf.GradientTape() as tape:
            value = xcov_penalty(tf.constant(y), zv)
        if tuple(value.shape) != ():
            raise Differs(f"returned shape {tuple(value.shape)}, expected one number ()")
        if tape.gradient(value, zv) is None:
            raise Differs("no gradient reaches z")

    return [
        Check("matches ½ Σ C² with C = Yc^T Zc / N (NumPy)", numpy_value,
              "centre both y and z over the batch, divide by N, square, sum, halve"),
        Check("is zero when z does not vary", zero_for_constant,
              "subtract each column's batch mean before multiplying"),
        Check("is ½ρ² for two unit-variance units with correlation ρ", half_rho_squared,
              "divide by the batch size N (not N - 1), and keep the ½"),
        Check("returns one number that gradients flow through", one_number_with_gradient,
              "sum over both unit axes with keras.ops, not NumPy"),
    ]


# ---------------------------------------------------------- k-sparse gate (chapter 2)
def _ksparse_checks(layer_class) -> list[Check]:
    x = np.array([[0.1, 0.5, 0.2, 0.9], [0.4, 0.3, 0.8, 0.0]], np.float32)

    def largest_k():
        _close(_numpy(layer_class(2).mask(x)), [[0, 1, 0, 1], [1, 0, 1, 0]], "mask, k = 2")
        _close(_numpy(layer_class(1).mask(x)), [[0, 0, 0, 1], [0, 0, 1, 0]], "mask, k = 1")

    def exactly_k_with_ties():
        tied = np.array([[0.3, 0.3, 0.3, 0.1]], np.float32)
        kept = _numpy(layer_class(2).mask(tied))
        if kept.sum() != 2 or kept[0, 3] != 0:
            raise Differs(f"mask of {np.round(tied[0].astype(float), 2).tolist()} with k = 2 is "
                          f"{kept[0].tolist()}: expected two of the three tied units")

    def wide_k_is_identity():
        _close(_numpy(layer_class(9)(x)), x, "output with k = 9 > width 4")

    def forward():
        for mode in ("masked", "straight_through"):
            _close(_numpy(layer_class(2, gradient=mode)(x)),
                   x * np.array([[0, 1, 0, 1], [1, 0, 1, 0]]), f"output ({mode})")

    def gradients():
        import tensorflow as tf

        expected = {"masked": [[0, 1, 0, 1], [1, 0, 1, 0]], "straight_through": np.ones((2, 4))}
        for mode, grad in expected.items():
            xv = tf.Variable(x)
            with tf.GradientTape() as tape:
                total = tf.reduce_sum(layer_class(2, gradient=mode)(xv))
            g = tape.gradient(total, xv)
            if g is None:
                raise Differs(f"no gradient reaches the input ({mode})")
            _close(_numpy(g), grad, f"gradient of the sum ({mode})")

    return [
        Check("mask marks the k largest units of each row", largest_k,
              "rank the units of each row (argsort of the argsort) and compare with k"),
        Check("mask keeps exactly k units when values tie", exactly_k_with_ties,
              "a threshold at the k-th value keeps every tied unit; use ranks"),
        Check("k at least the width lets everything through", wide_k_is_identity,
              "the mask should be all ones when k >= the number of units"),
        Check("call returns x * mask in both gradient modes", forward,
              "the forward pass is the same for both modes"),
        Check("gradients: the mask (masked) or all ones (straight-through)", gradients,
              "stop the gradient through the mask; straight-through is "
              "x + stop_gradient(kept - x)"),
    ]


# ------------------------------------------------------ class matching (chapter 3)
def _class_matching_checks(divergence) -> list[Check]:
    def f(ma, la, ya, mb, lb, yb) -> float:
        arrays = [np.asarray(v, np.float32) for v in (ma, la, mb, lb)]
        out = divergence(arrays[0], arrays[1], np.asarray(ya), arrays[2], arrays[3],
                         np.asarray(yb))
        return float(_numpy(out))

    def zero_for_equal():
        m = np.array([[0.5, -1.0], [2.0, 0.0]])
        lv = np.array([[0.1, -0.3], [0.0, 0.2]])
        _close(f(m, lv, [0, 1], m, lv, [0, 1]), 0.0, "identical posteriors", atol=1e-6)

    def symmetric_kl_in_1d():
        # KL(N(0,1) || N(1,1)) = KL(N(1,1) || N(0,1)) = 0.5
        _close(f([[0.0]], [[0.0]], [0], [[1.0]], [[0.0]], [0]), 1.0, "means 0 and 1, var 1")
        # KL(N(0,1)||N(0,4)) + KL(N(0,4)||N(0,1)) = 0.5(ln4 + 1/4 - 1) + 0.5(-ln4 + 4 - 1)
        _close(f([[0.0]], [[0.0]], [0], [[0.0]], [[np.log(4.0)]], [0]), 1.125,
               "variances 1 and 4")

    def other_classes_ignored():
        _close(f([[0.0]], [[0.0]], [0], [[1.0], [50.0]], [[0.0], [0.0]], [0, 1]), 1.0,
               "a far-away posterior of another class added")

    def mean_over_pairs():
        _close(f([[0.0], [2.0]], [[0.0], [0.0]], [0, 0], [[1.0]], [[0.0]], [0]), 1.0,
               "two pairs, each with symmetric KL 1")

    def no_shared_class():
        value = f([[0.0]], [[0.0]], [0], [[1.0]], [[0.0]], [1])
        if not np.isfinite(value) or abs(value) > 1e-6:
            raise Differs(f"batches without a shared class give {value}, expected 0.0")

    return [
        Check("is zero when both domains have the same posteriors", zero_for_equal,
              "KL(q || q) is 0; check the closed form of the Gaussian KL"),
        Check("is the symmetric KL of same-class pairs (1-D examples)", symmetric_kl_in_1d,
              "add KL(a || b) and KL(b || a); helpers.core.losses.gaussian_kl has one"),
        Check("ignores pairs with different labels", other_classes_ignored,
              "weight each pair by (y_a[i] == y_b[j])"),
        Check("averages over same-class pairs (not a sum)", mean_over_pairs,
              "divide by the number of same-class pairs"),
        Check("is 0, not NaN, when the batches share no class", no_shared_class,
              "guard the division when there are no pairs"),
    ]


# ------------------------------------------------------- adversary step (chapter 4)
def _adversary_checks(make_model) -> list[Check]:
    import tensorflow as tf

    from .core.losses import sparse_cross_entropy

    rng = np.random.default_rng(0)
    state: dict = {}

    def model_and_codes():
        if "model" not in state:
            model = make_model()
            z = tf.constant(rng.normal(size=(32, model.style_dim)).astype(np.float32))
            y = tf.constant(rng.integers(0, model.num_classes, 32))
            state.update(model=model, z=z, y=y)
        return state["model"], state["z"], state["y"]

    def weights(layer):
        return [np.array(w) for w in layer.weights]

    def returns_the_loss():
        model, z, y = model_and_codes()
        before = float(sparse_cross_entropy(y, model.adversary(z, training=True)))
        out = model.adversary_step(z, y)
        if not isinstance(out, dict) or not {"adv_ce", "adv_acc"} <= set(out):
            raise Differs(f"returned {type(out).__name__} {out!r:.60}, expected a dict "
                          "with adv_ce and adv_acc")
        _close(float(out["adv_ce"]), before, "adv_ce (the loss before the update)",
               rtol=1e-3)
        acc = float(out["adv_acc"])
        if not 0.0 <= acc <= 1.0:
            raise Differs(f"adv_acc is {acc}, expected a fraction in [0, 1]")

    def moves_only_the_adversary():
        model, z, y = model_and_codes()
        others = [model.z_encoder, model.decoder]
        before = [weights(layer) for layer in others]
        adv_before = weights(model.adversary)
        model.adversary_step(z, y)
        for layer, old in zip(others, before, strict=True):
            if any(not np.array_equal(a, b) for a, b in zip(old, weights(layer), strict=True)):
                raise Differs(f"the {layer.name} weights changed")
        if all(np.array_equal(a, b) for a, b in zip(adv_before, weights(model.adversary),
                                                        strict=True)):
            raise Differs("the adversary's weights did not change")

    def learns():
        model, z, y = model_and_codes()
        first = float(model.adversary_step(z, y)["adv_ce"])
        for _ in range(30):
            last = float(model.adversary_step(z, y)["adv_ce"])
        if not last < first:
            raise Differs(f"cross-entropy went from {first:.3f} to {last:.3f} in 30 steps")

    return [
        Check("returns adv_ce (before the update) and adv_acc", returns_the_loss,
              "compute the adversary's cross-entropy on (z, y) inside the tape"),
        Check("updates the adversary's weights and nothing else", moves_only_the_adversary,
              "take the gradient with respect to self.adversary.trainable_weights only"),
        Check("lowers the adversary's loss on a fixed batch", learns,
              "apply the gradients with self.adversary_optimizer (descent, not ascent)"),
    ]


EXERCISES: dict[str, tuple[str, Callable[..., list[Check]]]] = {
    "xcov_penalty": ("Exercise 1 · xcov_penalty", _xcov_checks),
    "ksparse_gate": ("Exercise 1 · KSparse.mask and KSparse.call", _ksparse_checks),
    "class_matching_divergence": ("Exercise 1 · class_matching_divergence",
                                  _class_matching_checks),
    "adversary_step": ("Exercise 1 · TwoStepModel.adversary_step", _adversary_checks),
}
