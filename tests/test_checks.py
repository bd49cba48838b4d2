"""The exercise checks: they pass the chapters' own code and catch typical mistakes."""

from __future__ import annotations

import dataclasses
import json

import keras
import numpy as np
import pytest
from keras import ops

from helpers import checks
from helpers.checks import EXERCISES, check_exercise
from helpers.papers.jade import class_matching_divergence
from helpers.papers.ksparse_cvae import KSparse
from helpers.papers.two_step import ContentClassifier, TwoStepModel
from helpers.papers.xcov import xcov_penalty


def small_two_step() -> TwoStepModel:
    model = TwoStepModel(ContentClassifier(content_dim=4, hidden=16, classifier_hidden=(8,)),
                         style_dim=3, hidden=16, adversary_hidden=(8,))
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  adversary_optimizer=keras.optimizers.Adam(1e-2))
    return model


REFERENCE = {
    "xcov_penalty": xcov_penalty,
    "ksparse_gate": KSparse,
    "class_matching_divergence": class_matching_divergence,
    "adversary_step": small_two_step,
}


def test_every_exercise_has_a_reference():
    assert set(REFERENCE) == set(EXERCISES)


@pytest.mark.parametrize("exercise", sorted(REFERENCE))
def test_the_chapters_code_passes(exercise, capsys):
    report = check_exercise(exercise, REFERENCE[exercise])
    out = capsys.readouterr().out
    assert report and report.status == "pass" and report.passed == report.total >= 3, out
    assert "✗" not in out and out.count("✓") == report.total + 1
    assert max(len(line) for line in out.splitlines()) <= 80


def _stub(*args, **kwargs):
    raise NotImplementedError("write it")


# ---------------------------------------------------------------- typical mistakes
def xcov_uncentred(y, z):
    n = ops.cast(ops.shape(y)[0], "float32")
    return 0.5 * ops.sum(ops.square(ops.matmul(ops.transpose(y), z) / n))


def xcov_no_half(y, z):
    return 2.0 * xcov_penalty(y, z)


def xcov_numpy(y, z):
    y, z = np.asarray(y), np.asarray(z)
    yc, zc = y - y.mean(0), z - z.mean(0)
    return np.float32(0.5 * np.sum((yc.T @ zc / len(y)) ** 2))


class ThresholdGate(KSparse):
    """Keeps every unit >= the k-th largest value: too many units on ties."""

    def mask(self, x):
        kth = ops.expand_dims(ops.sort(x, axis=-1)[:, -self.k], -1)
        return ops.cast(x >= kth, x.dtype)


class NoStopGradient(KSparse):
    """Straight-through mode written as x * mask: the gradient is the mask."""

    def call(self, x):
        return x * self.mask(x)


def divergence_sum(*args):
    ya, yb = args[2], args[5]
    pairs = float(np.sum(np.asarray(ya)[:, None] == np.asarray(yb)[None, :]))
    return class_matching_divergence(*args) * max(pairs, 1.0)


def divergence_one_way(ma, va, ya, mb, vb, yb):
    from helpers.core.losses import gaussian_kl

    kl = gaussian_kl(ops.expand_dims(ma, 1), ops.expand_dims(va, 1),
                     ops.expand_dims(mb, 0), ops.expand_dims(vb, 0))
    same = ops.cast(ops.expand_dims(ya, 1) == ops.expand_dims(yb, 0), kl.dtype)
    return ops.sum(kl * same) / ops.maximum(ops.sum(same), 1.0)


def two_step_moving_everything():
    model = small_two_step()

    def step(z, y):
        import tensorflow as tf

        from helpers.core.losses import accuracy, sparse_cross_entropy

        with tf.GradientTape() as tape:
            probs = model.adversary(z, training=True)
            ce = sparse_cross_entropy(y, probs)
        ws = model.adversary.trainable_weights + model.decoder.trainable_weights
        grads = tape.gradient(ce + 0.0 * ops.sum(model.decoder.trainable_weights[0]), ws)
        model.decoder.trainable_weights[0].assign_add(
            ops.ones_like(model.decoder.trainable_weights[0]))
        model.adversary_optimizer.apply_gradients(
            (g, w) for g, w in zip(grads, ws, strict=True) if g is not None)
        return {"adv_ce": ce, "adv_acc": accuracy(y, probs)}

    model.adversary_step = step
    return model


def two_step_ascent():
    model = small_two_step()
    model.adversary_optimizer = keras.optimizers.SGD(-0.5)
    return model


def two_step_stub():
    model = small_two_step()
    model.adversary_step = _stub
    return model


@pytest.mark.parametrize("exercise, wrong, failing", [
    ("xcov_penalty", xcov_uncentred, "zero when z does not vary"),
    ("xcov_penalty", xcov_no_half, "½ρ²"),
    ("xcov_penalty", xcov_numpy, "gradients flow"),
    ("ksparse_gate", ThresholdGate, "exactly k"),
    ("ksparse_gate", NoStopGradient, "gradients:"),
    ("class_matching_divergence", divergence_sum, "averages"),
    ("class_matching_divergence", divergence_one_way, "symmetric KL"),
    ("adversary_step", two_step_moving_everything, "nothing else"),
    ("adversary_step", two_step_ascent, "lowers"),
])
def test_a_typical_mistake_fails_with_a_hint(exercise, wrong, failing, capsys):
    report = check_exercise(exercise, wrong, stop=False)
    out = capsys.readouterr().out
    assert not report and report.status == "fail", out
    failed = [line for line in out.splitlines() if line.startswith("  ✗")]
    assert any(failing in line for line in failed), out
    assert checks.RECIPE_LINE in out and "recipe:" not in out, out
    assert max(len(line) for line in out.splitlines()) <= 80


@pytest.mark.parametrize("exercise, stub", [
    ("xcov_penalty", _stub),
    ("class_matching_divergence", _stub),
    ("adversary_step", two_step_stub),
])
def test_a_stub_is_reported_as_not_written(exercise, stub, capsys):
    report = check_exercise(exercise, stub, stop=False)
    out = capsys.readouterr().out
    assert report.status == "not written" and report.passed == 0
    assert "not written yet" in out and "Hint:" in out


@pytest.mark.parametrize("target, state", [(_stub, "is not written yet"),
                                           (lambda y, z: ops.sum(y) * 0.0, "is not right yet")])
def test_a_check_that_does_not_pass_stops_the_notebook_there(target, state, capsys):
    """"Run all" stops at the check cell, after its report, with one line and no traceback."""
    with pytest.raises(checks.ExerciseNotPassed) as err:
        check_exercise("xcov_penalty", target)
    assert "✗" in capsys.readouterr().out  # the report came first
    assert f"`xcov_penalty` {state}" in str(err.value)
    assert err.value._render_traceback_() == [f"⏹ {err.value}"]
    assert check_exercise("xcov_penalty", xcov_penalty)  # a right answer passes through


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown exercise 'xcov'; the checks know"):
        check_exercise("xcov", xcov_penalty)


# ------------------------------------------------------- probe / judge, the grading half
@pytest.mark.parametrize("exercise", sorted(REFERENCE))
def test_the_chapters_code_passes_on_inputs_of_any_seed(exercise):
    """The class check draws new inputs every run: the reference passes on all of them."""
    for seed in (1, 2**40 + 3):
        inputs = checks.make_inputs(exercise, seed)
        report = checks.judge(exercise, inputs, checks.run_probes(exercise, REFERENCE[exercise],
                                                                  inputs))
        assert report.status == "pass", (seed, str(report))


@pytest.mark.parametrize("exercise, wrong", [
    ("xcov_penalty", xcov_uncentred), ("xcov_penalty", xcov_no_half),
    ("ksparse_gate", ThresholdGate), ("class_matching_divergence", divergence_sum),
    ("class_matching_divergence", divergence_one_way)])
def test_a_typical_mistake_fails_on_inputs_of_any_seed(exercise, wrong):
    for seed in (1, 2**40 + 3):
        inputs = checks.make_inputs(exercise, seed)
        report = checks.judge(exercise, inputs, checks.run_probes(exercise, wrong, inputs))
        assert report.status == "fail", (seed, str(report))


def test_raw_outputs_survive_the_json_round_trip():
    inputs = checks.make_inputs("xcov_penalty", 5)
    results = checks.run_probes("xcov_penalty", xcov_penalty, inputs)
    sent = json.loads(json.dumps(checks.encode_probe_results(results)))
    back = checks.decode_probe_results(sent, len(EXERCISES["xcov_penalty"].checks))
    assert checks.judge("xcov_penalty", inputs, back).status == "pass"
    assert checks.decode_arrays(json.loads(json.dumps(checks.encode_arrays(inputs)))).keys() == \
        inputs.keys()


def test_the_judge_never_calls_the_learners_code():
    calls = []

    def spy(y, z):
        calls.append(1)
        return xcov_penalty(y, z)

    inputs = checks.make_inputs("xcov_penalty", 3)
    results = checks.run_probes("xcov_penalty", spy, inputs)
    n = len(calls)
    assert checks.judge("xcov_penalty", inputs, results).status == "pass" and len(calls) == n


@pytest.mark.parametrize("bad, why", [
    ([], "expected a JSON object"),
    ({"v": {"kind": "str", "shape": [], "data": ["x"]}}, "is not bool/int/float"),
    ({"v": {"kind": "float", "shape": [2], "data": [1.0]}}, "expected 2 numbers"),
    ({"v": {"kind": "float", "shape": [10**9], "data": []}}, "shape must be"),
    ({"v": {"kind": "float", "shape": [1], "data": ["1"]}}, "every value must be"),
    ({"v": {"kind": "int", "shape": [1], "data": [True]}}, "every value must be"),
    ({"v": {"kind": "float", "shape": [], "data": [1.0], "code": "x"}}, "expected keys"),
])
def test_untrusted_outputs_are_validated(bad, why):
    with pytest.raises(ValueError, match=why):
        checks.decode_arrays(bad)


def test_untrusted_results_are_validated():
    with pytest.raises(ValueError, match="at most 4 check results"):
        checks.decode_probe_results([{"raised": ["E", ""]}] * 5, 4)
    with pytest.raises(ValueError, match="must be"):
        checks.decode_probe_results([{"outputs": {}, "raised": ["E", "x"]}], 4)
    with pytest.raises(ValueError, match="not valid JSON"):
        checks.decode_json("[" * 100_000)
    (result,) = checks.decode_probe_results([{"raised": ["Not<b>Impl\x1b[31m", "a\nb"]}], 4)
    assert result.raised == ("NotbImpl31m", "a")  # a name of word characters, one line


def test_missing_results_and_malformed_outputs_never_pass():
    inputs = checks.make_inputs("xcov_penalty", 3)
    results = checks.run_probes("xcov_penalty", xcov_penalty, inputs)
    short = checks.judge("xcov_penalty", inputs, results[:2])
    assert short.status == "error" and short.passed == 2
    renamed = [checks.ProbeResult(outputs={"other": np.zeros(())})] * 4
    assert checks.judge("xcov_penalty", inputs, renamed).status == "fail"


def test_a_check_without_an_assertion_is_an_error_not_a_pass(monkeypatch, capsys):
    silent = checks.Check("checks nothing", lambda f, i, s: {"value": f(i["y"], i["z"])},
                          lambda i, o, v: None, "no hint")
    spec = EXERCISES["xcov_penalty"]
    monkeypatch.setitem(EXERCISES, "xcov_penalty", dataclasses.replace(
        spec, checks=(*spec.checks, silent)))
    report = check_exercise("xcov_penalty", xcov_penalty, stop=False)
    assert report.status == "error" and not report and report.failed == ["checks nothing"]
    assert "made no assertion" in capsys.readouterr().out
    monkeypatch.setitem(EXERCISES, "xcov_penalty", dataclasses.replace(spec, checks=()))
    report = check_exercise("xcov_penalty", xcov_penalty, stop=False)
    assert report.status == "error" and report.total == 0 and not report


def test_no_report_file_is_written(tmp_path, monkeypatch):
    """Grades never travel through a file the learner's code could write."""
    monkeypatch.setenv("HF_CHECK_REPORT", str(tmp_path / "checks.jsonl"))
    check_exercise("xcov_penalty", xcov_penalty)
    assert not (tmp_path / "checks.jsonl").exists()
    assert not hasattr(checks, "REPORT_ENV")


# ------------------------------------------- the common mistakes, named before values
def xcov_centred_over_units(y, z):
    y, z = ops.convert_to_tensor(y), ops.convert_to_tensor(z)
    yc, zc = y - ops.mean(y, axis=1, keepdims=True), z - ops.mean(z, axis=1, keepdims=True)
    return 0.5 * ops.sum(ops.square(ops.matmul(ops.transpose(yc), zc) / ops.shape(y)[0]))


def xcov_summed_over_one_axis(y, z):
    y, z = ops.convert_to_tensor(y), ops.convert_to_tensor(z)
    yc, zc = y - ops.mean(y, axis=0), z - ops.mean(z, axis=0)
    return 0.5 * ops.sum(ops.square(ops.matmul(ops.transpose(yc), zc) / ops.shape(y)[0]), axis=0)


def xcov_without_return(y, z):
    0.5 * xcov_penalty(y, z)  # noqa: B018 - the mistake under test


def xcov_dividing_by_zero(y, z):
    scale = 1 / (len(y) - len(y))
    return xcov_penalty(y, z) * scale


def xcov_nan(y, z):
    return xcov_penalty(y, z) * float("nan")


def xcov_numpy_methods(y, z):
    yc, zc = y - y.mean(0), z - z.mean(0)  # fine on NumPy arrays, not on tensors
    return xcov_penalty(yc, zc)


class MaskByColumn(KSparse):
    """Ranks each column over the batch instead of each row over its units."""

    def mask(self, x):
        rank = ops.argsort(ops.argsort(-x, axis=0), axis=0)
        return ops.cast(rank < self.k, x.dtype)


class MaskTransposed(KSparse):
    def mask(self, x):
        return ops.transpose(KSparse.mask(self, x))


class MaskInNumpy(KSparse):
    def mask(self, x):
        x = np.asarray(x)
        return (np.argsort(np.argsort(-x, axis=-1), axis=-1) < self.k).astype(x.dtype)


class StraightThroughWithoutStop(KSparse):
    """The straight-through mode lets the gradient through both x and x * mask."""

    def call(self, x):
        kept = x * ops.stop_gradient(self.mask(x))
        return kept if self.gradient == "masked" else x + kept - ops.stop_gradient(x)


def divergence_over_one_axis(ma, va, ya, mb, vb, yb):
    from helpers.core.losses import gaussian_kl

    a, b = (ops.expand_dims(ma, 1), ops.expand_dims(va, 1)), (ops.expand_dims(mb, 0),
                                                               ops.expand_dims(vb, 0))
    sym = gaussian_kl(*a, *b) + gaussian_kl(*b, *a)
    same = ops.cast(ops.expand_dims(ya, 1) == ops.expand_dims(yb, 0), sym.dtype)
    return ops.sum(sym * same, axis=0) / ops.maximum(ops.sum(same), 1.0)


def divergence_as_float(*args):
    return float(class_matching_divergence(*args))


def divergence_unguarded(ma, va, ya, mb, vb, yb):
    """Divides by the number of same-class pairs unguarded: 0 / 0 when there are none."""
    same = ops.cast(ops.expand_dims(ya, 1) == ops.expand_dims(yb, 0), "float32")
    return class_matching_divergence(ma, va, ya, mb, vb, yb) * ops.maximum(
        ops.sum(same), 1.0) / ops.sum(same)


def _run(exercise, target, capsys, **kwargs):
    report = check_exercise(exercise, target, stop=False, **kwargs)
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80, out
    return report, out


def _failure_of(out: str, check: str) -> str:
    """The lines under the failing check whose name contains ``check``, joined."""
    lines = out.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("  ✗") and check in line)
    body = []
    for line in lines[start + 1:]:
        if not line.startswith("      "):
            break
        body.append(line.strip())
    return " ".join(body)


@pytest.mark.parametrize("exercise, wrong, check, says", [
    ("xcov_penalty", xcov_numpy, "matches ½ Σ C²",
     "xcov_penalty returned a NumPy number where a backend tensor was expected: use "
     "keras.ops.… instead of np.… (or float(), .numpy()); NumPy cuts the gradient"),
    ("class_matching_divergence", divergence_as_float, "is zero when",
     "class_matching_divergence returned a plain Python number where a backend tensor was "
     "expected"),
    ("ksparse_gate", MaskInNumpy, "k largest units",
     "mask(x) returned a NumPy array where a backend tensor was expected"),
])
def test_numpy_instead_of_keras_ops_is_named(exercise, wrong, check, says, capsys):
    report, out = _run(exercise, wrong, capsys)
    assert report.status == "fail" and says in _failure_of(out, check), out
    assert "as above:" in out and "_id" not in out, out  # said once, in full


def test_a_numpy_penalty_never_gets_a_checker_error(capsys):
    """It used to crash the gradient probe: 'numpy.float32' object has no attribute '_id'."""
    report, out = _run("xcov_penalty", xcov_numpy, capsys)
    assert report.passed == 0 and "gradients flow" in report.failed[-1]
    assert "returns a NumPy number, not a tensor" in _failure_of(out, "gradients flow"), out


@pytest.mark.parametrize("exercise, wrong, check, says", [
    ("xcov_penalty", xcov_centred_over_units, "matches ½ Σ C²",
     "on a random batch: you centred over axis 1 (the units), not over axis 0 (the batch)"),
    ("xcov_penalty", xcov_summed_over_one_axis, "matches ½ Σ C²",
     "got shape (3,), expected one number, shape (): you summed over axis 0 of C (the "
     "units of y) only: sum over both axes"),
    ("xcov_penalty", xcov_uncentred, "is zero when z does not vary",
     "with a constant z: y and z are not centred"),
    ("ksparse_gate", MaskByColumn, "k largest units",
     "mask, k = 2: you ranked over axis 0 (the batch); rank the units within each row"),
    ("ksparse_gate", MaskTransposed, "k largest units",
     "mask, k = 2: got shape (5, 3), expected shape (3, 5): it is the transpose of the "
     "answer (axes swapped)"),
    ("class_matching_divergence", divergence_over_one_axis, "ignores pairs",
     "got shape (2,), expected one number, shape (): you reduced over axis 0 (batch a) only"),
    ("class_matching_divergence", divergence_one_way, "symmetric KL",
     "only one direction of the KL: add KL(a ‖ b) and KL(b ‖ a)"),
])
def test_a_wrong_axis_or_shape_is_named(exercise, wrong, check, says, capsys):
    report, out = _run(exercise, wrong, capsys)
    assert report.status == "fail", out
    assert says in _failure_of(out, check), out


def test_a_missing_stop_gradient_is_named(capsys):
    for wrong, says in [(NoStopGradient, "it is the mask: a stop-gradient is missing, the "
                                         "gradient flows through x * mask"),
                        (StraightThroughWithoutStop, "it is 1 + mask: a stop-gradient is "
                                                     "missing")]:
        report, out = _run("ksparse_gate", wrong, capsys)
        assert report.failed == ["gradients: the mask (masked) or all ones (straight-through)"]
        assert says in _failure_of(out, "gradients:"), out


def test_returning_none_is_named(capsys):
    report, out = _run("xcov_penalty", xcov_without_return, capsys)
    assert report.status == "fail" and report.passed == 0, out
    assert _failure_of(out, "matches") == ("xcov_penalty returned None, expected a tensor: "
                                           "is a `return` missing?"), out
    assert "KeyError" not in out and "could not be judged" not in out, out


def test_an_error_is_shown_with_its_first_line_and_where(capsys):
    report, out = _run("xcov_penalty", xcov_dividing_by_zero, capsys)
    said = _failure_of(out, "matches")
    assert said.startswith("raised ZeroDivisionError: division by zero at line "), out
    assert "of xcov_dividing_by_zero: scale = 1 / (len(y) - len(y))" in said, out
    assert "hint:" in said and report.status == "fail" and report.passed == 0
    assert _failure_of(out, "is zero when") == "as above: raised ZeroDivisionError", out


def test_numpy_methods_on_a_tensor_are_named(capsys):
    _, out = _run("xcov_penalty", xcov_numpy_methods, capsys)
    said = _failure_of(out, "gradients flow")
    assert "object has no attribute 'mean'" in said and "of xcov_numpy_methods" in said, out
    assert "a tensor has no .mean(): that is NumPy's; use keras.ops (ops.mean(x, …)" in said


@pytest.mark.parametrize("exercise, wrong, check", [
    ("xcov_penalty", xcov_nan, "matches ½ Σ C²"),
    ("class_matching_divergence", divergence_unguarded, "not NaN"),
])
def test_nan_is_named(exercise, wrong, check, capsys):
    report, out = _run(exercise, wrong, capsys)
    assert report.status == "fail" and check in report.failed[0], out
    assert " returned nan: a 0/0, a division by zero, or the log of 0" in \
        _failure_of(out, check), out


# ----------------------------------------------------------------- hints in two stages
def xcov_off(y, z):
    """Wrong in no way the checks know: only the nudge can help."""
    return xcov_penalty(y, z) + 0.01


def test_hints_come_in_stages(capsys):
    _, first = _run("xcov_penalty", xcov_off, capsys)
    assert "hint: compare each step with the definition of C" in first
    assert "recipe:" not in first and first.rstrip().endswith(checks.RECIPE_LINE.strip())
    _, second = _run("xcov_penalty", xcov_off, capsys, hint=2)
    assert "hint: compare each step" in second
    assert "recipe: centre y and z over the batch (subtract ops.mean(" in second
    assert checks.RECIPE_LINE not in second
    _, stub = _run("xcov_penalty", _stub, capsys, hint=2)
    assert "not written yet" in stub and "recipe: centre y and z over the batch" in stub
    with pytest.raises(ValueError, match="hint must be 1"):
        check_exercise("xcov_penalty", xcov_penalty, hint=3)


def test_a_diagnosed_mistake_needs_no_nudge(capsys):
    _, out = _run("xcov_penalty", xcov_no_half, capsys)
    assert "the ½ is missing" in _failure_of(out, "matches") and "hint:" not in \
        _failure_of(out, "matches"), out


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_every_check_has_a_nudge_and_a_recipe(exercise):
    for check in EXERCISES[exercise].checks:
        assert check.recipe and check.recipe != check.hint, check.what
        # a nudge is one short sentence and names no function to call
        assert len(check.hint) <= 80, check.hint
        assert ". " not in check.hint.rstrip(".") and "ops." not in check.hint, check.hint


def test_diagnoses_and_where_survive_the_class_checks_transport():
    """The class check judges decoded numbers: the diagnoses must come through JSON."""
    for wrong, says in [(xcov_numpy, "returned a NumPy number"),
                        (xcov_without_return, "returned None"),
                        (xcov_dividing_by_zero, "of xcov_dividing_by_zero: scale = 1 /")]:
        inputs = checks.make_inputs("xcov_penalty", 7)
        sent = json.loads(json.dumps(checks.encode_probe_results(
            checks.run_probes("xcov_penalty", wrong, inputs))))
        back = checks.decode_probe_results(sent, len(EXERCISES["xcov_penalty"].checks))
        report = checks.judge("xcov_penalty", inputs, back)
        assert report.status == "fail" and says in " ".join(report.lines), str(report)
