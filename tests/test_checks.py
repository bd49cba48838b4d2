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
    report = check_exercise(exercise, wrong)
    out = capsys.readouterr().out
    assert not report and report.status == "fail", out
    failed = [line for line in out.splitlines() if line.startswith("  ✗")]
    assert any(failing in line for line in failed), out
    assert "hint:" in out and max(len(line) for line in out.splitlines()) <= 80


@pytest.mark.parametrize("exercise, stub", [
    ("xcov_penalty", _stub),
    ("class_matching_divergence", _stub),
    ("adversary_step", two_step_stub),
])
def test_a_stub_is_reported_as_not_written(exercise, stub, capsys):
    report = check_exercise(exercise, stub)
    out = capsys.readouterr().out
    assert report.status == "not written" and report.passed == 0
    assert "not written yet" in out and "Hint:" in out


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
    report = check_exercise("xcov_penalty", xcov_penalty)
    assert report.status == "error" and not report and report.failed == ["checks nothing"]
    assert "made no assertion" in capsys.readouterr().out
    monkeypatch.setitem(EXERCISES, "xcov_penalty", dataclasses.replace(spec, checks=()))
    report = check_exercise("xcov_penalty", xcov_penalty)
    assert report.status == "error" and report.total == 0 and not report


def test_no_report_file_is_written(tmp_path, monkeypatch):
    """Grades never travel through a file the learner's code could write."""
    monkeypatch.setenv("HF_CHECK_REPORT", str(tmp_path / "checks.jsonl"))
    check_exercise("xcov_penalty", xcov_penalty)
    assert not (tmp_path / "checks.jsonl").exists()
    assert not hasattr(checks, "REPORT_ENV")
