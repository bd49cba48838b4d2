"""The exact words of every validation error a learner can meet in the pure modules
and at the entry points that take a model (train, encode_all, decode_all, ...).

Error messages are part of the course: each says what was expected, what
came and how to fix it.  Pinning the full text catches a message that loses
its hint or its numbers (and the mutation tests count on it).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from helpers.core.profile import check_seed, get_profile
from helpers.data import datasets as d
from helpers.eval.metrics import linear_probe, swap_measurements

F32 = np.float32
LAYOUT = "the Keras layout"
PIXELS = f"expected uint8 pixel values, integers 0..255 ({LAYOUT})"
LABELS = f"expected integer labels 0..9 ({LAYOUT})"

CASES = [
    # ------------------------------------------------------------ check_images
    (lambda: d.check_images(np.zeros((0,), F32)), ValueError,
     "x is empty (0 images); pass at least one image."),
    (lambda: d.check_images(np.zeros((0, 28, 28, 1), F32)), ValueError,
     "x is empty (0 images); pass at least one image."),
    (lambda: d.check_images(np.zeros((2, 28, 28), F32)), ValueError,
     "x has shape (2, 28, 28); images need a channel axis (N, H, W, C). "
     "Add one with `x[..., None]`."),
    (lambda: d.check_images(np.zeros((2, 28), F32)), ValueError,
     "x must be 4-D (N, H, W, C); got shape (2, 28)."),
    (lambda: d.check_images(np.zeros((2, 28, 28, 3), F32), channels=1), ValueError,
     "x must have 1 channel(s); got shape (2, 28, 28, 3)."),
    (lambda: d.check_images(np.zeros((2, 32, 32, 3), F32), shape=(28, 28, 1)), ValueError,
     "this model expects (28, 28, 1) images; x has (32, 32, 3) images (shape (2, 32, 32, 3)). "
     "Use images of the model's domain, or build the model with image_shape=(32, 32, 3)."),
    (lambda: d.check_images(np.zeros((2, 2, 2, 1), np.uint8), name="x_test"), TypeError,
     "x_test is uint8 (0..255); the models expect float32 in [0, 1]. "
     "Use `x_test.astype('float32') / 255`."),
    (lambda: d.check_images(np.zeros((2, 2, 2, 1), np.int64)), TypeError,
     "x must be a float array; got dtype int64."),
    (lambda: d.check_images(np.full((2, 2, 2, 1), np.inf, F32)), ValueError,
     "x contains NaN or infinite values."),
    (lambda: d.check_images(np.full((2, 2, 2, 1), 1.5, F32)), ValueError,
     "x must lie in [0, 1]; got range [1.5, 1.5]. Rescale it (e.g. divide by 255)."),
    (lambda: d.check_images(np.full((2, 2, 2, 1), -0.5, F32)), ValueError,
     "x must lie in [0, 1]; got range [-0.5, -0.5]. Rescale it (e.g. divide by 255)."),
    # ------------------------------------------------------------ check_labels
    (lambda: d.check_labels(np.eye(10), 10), ValueError,
     "y looks one-hot encoded (10, 10); pass integer labels, e.g. `y.argmax(1)`."),
    (lambda: d.check_labels(np.zeros((2, 2)), 10), ValueError,
     "y must be 1-D integer labels; got shape (2, 2)."),
    (lambda: d.check_labels(np.zeros((0,), np.int64), 10), ValueError,
     "y is empty (0 labels); pass at least one label."),
    (lambda: d.check_labels(np.array([0.5, 1.0]), 10), TypeError,
     "y must hold integer class labels; got dtype float64."),
    (lambda: d.check_labels(np.array([0, 1, 2]), 10, n=2), ValueError,
     "y has 3 labels but there are 2 images."),
    (lambda: d.check_labels(np.array([0, 10]), 10), ValueError,
     "y must lie in [0, 9]; got range [0, 10]."),
    (lambda: d.check_labels(np.array([-1, 3]), 10), ValueError,
     "y must lie in [0, 9]; got range [-1, 3]."),
    # -------------------------------------------------------- check_raw_pixels
    (lambda: d.check_raw_pixels(np.array(["a"]), "'x'", LAYOUT), ValueError,
     f"'x' has dtype <U1; {PIXELS}."),
    (lambda: d.check_raw_pixels(np.array([True]), "'x'", LAYOUT), ValueError,
     f"'x' has dtype bool; {PIXELS}."),
    (lambda: d.check_raw_pixels(np.array([[300]]), "'x'", LAYOUT), ValueError,
     f"'x' has values outside 0..255 (found dtype int64, range [300, 300]); {PIXELS}."),
    (lambda: d.check_raw_pixels(np.array([[256.0]]), "'x'", LAYOUT), ValueError,
     f"'x' has values outside 0..255 (found dtype float64, range [256, 256]); {PIXELS}."),
    (lambda: d.check_raw_pixels(np.array([[-1, 3]]), "'x'", LAYOUT), ValueError,
     f"'x' has values outside 0..255 (found dtype int64, range [-1, 3]); {PIXELS}."),
    (lambda: d.check_raw_pixels(np.array([[0.0, 1.0]]), "'x'", LAYOUT), ValueError,
     f"'x' looks already scaled to [0, 1] (found dtype float64, range [0, 1]); {PIXELS}, "
     "which the loader divides by 255 once. Save it as `(x * 255).round().astype('uint8')`."),
    (lambda: d.check_raw_pixels(np.array([[0.0, 2.123456]]), "'x'", LAYOUT), ValueError,
     f"'x' has non-integer values (found dtype float64, range [0, 2.123]); {PIXELS}. "
     "Save it as `x.round().astype('uint8')` if it really is on the 0..255 scale."),
    (lambda: d.check_raw_pixels(np.array([[0, 123456]]), "'x'", LAYOUT), ValueError,
     f"'x' has values outside 0..255 (found dtype int64, range [0, 123456]); {PIXELS}."),
    (lambda: d.check_raw_pixels(np.array([[np.nan]]), "'x'", LAYOUT), ValueError,
     f"'x' contains NaN or infinite values (dtype float64); {PIXELS}."),
    # -------------------------------------------------------- check_raw_labels
    (lambda: d.check_raw_labels(np.array(["a"]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' has dtype <U1; {LABELS}."),
    (lambda: d.check_raw_labels(np.array([True]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' has dtype bool; {LABELS}."),
    (lambda: d.check_raw_labels(np.array([2.123456, 1.0]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' has non-integer labels such as 2.123 (dtype float64); {LABELS}."),
    (lambda: d.check_raw_labels(np.array([2.5, 1.0], np.float32), "'y'", 0, 9, LAYOUT),
     ValueError, f"'y' has non-integer labels such as 2.5 (dtype float32); {LABELS}."),
    (lambda: d.check_raw_labels(np.array([np.nan]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' contains NaN or infinite labels; {LABELS}."),
    (lambda: d.check_raw_labels(np.array([0, 10]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' has labels outside 0..9 (found range [0, 10]); {LABELS}."),
    (lambda: d.check_raw_labels(np.array([0.0, 10.0]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' has labels outside 0..9 (found range [0, 10]); {LABELS}."),
    (lambda: d.check_raw_labels(np.array([-1.0, 2.0]), "'y'", 0, 9, LAYOUT), ValueError,
     f"'y' has labels outside 0..9 (found range [-1, 2]); {LABELS}."),
    # ---------------------------------------------------------------- subsets
    (lambda: d.stratified_indices(np.arange(5), 0), ValueError, "size must be positive; got 0."),
    (lambda: d.balanced_subset(np.zeros(3), np.zeros(2), 1), ValueError,
     "x has 3 images but y has 2 labels."),
    (lambda: d.balanced_subset(np.zeros(3), np.zeros(3), 0), ValueError,
     "per_class must be at least 1; got 0."),
    (lambda: d.balanced_indices(np.repeat(np.arange(3), 5), 6), ValueError,
     "class 0 has only 5 examples; 6 requested."),
    # ----------------------------------------------------------------- probes
    (lambda: linear_probe(np.zeros((3, 2)), np.zeros(2), np.zeros((3, 2)), np.zeros(3)),
     ValueError, "features and labels must have the same number of rows."),
    (lambda: linear_probe(np.zeros((3, 2)), np.zeros(3), np.zeros((2, 2)), np.zeros(3)),
     ValueError, "features and labels must have the same number of rows."),
    (lambda: linear_probe(np.zeros((3, 2)), np.zeros(3), np.zeros((3, 3)), np.zeros(3)),
     ValueError, "train/test features differ in width: 2 vs 3."),
    (lambda: linear_probe(np.zeros((3, 2)), np.zeros(3), np.full((3, 2), np.inf), np.zeros(3)),
     ValueError, "features contain NaN or infinite values (did training diverge?)."),
    (lambda: linear_probe(np.full((3, 2), np.nan), np.zeros(3), np.zeros((3, 2)), np.zeros(3)),
     ValueError, "features contain NaN or infinite values (did training diverge?)."),
    # ------------------------------------------------------------------ swaps
    (lambda: swap_measurements(None, np.zeros((3, 2, 2, 1)), np.zeros(3)), ValueError,
     "a swap needs partners with another label, but y holds a single class; pass images of "
     "at least two classes."),
    (lambda: swap_measurements(None, np.zeros((3, 2, 2, 1)), np.arange(2)), ValueError,
     "x and y must have the same length; got 3 images and 2 labels."),
    # ---------------------------------------------------------- profile, seed
    (lambda: get_profile(3), TypeError,
     "A profile is named by a string, one of 'smoke', 'book', 'full'; got 3 of type int."),
    (lambda: get_profile("huge"), ValueError,
     "Unknown profile 'huge' (from HF_PROFILE or the argument). Valid profiles are 'smoke', "
     "'book', 'full'; e.g. `export HF_PROFILE=smoke`."),
    (lambda: check_seed(2.7), TypeError,
     "seed must be a whole number such as 0 or 1; got 2.7 of type float."),
    (lambda: check_seed(True), TypeError,
     "seed must be a whole number such as 0 or 1; got True of type bool."),
    (lambda: check_seed("1"), TypeError,
     "seed must be a whole number such as 0 or 1; got '1' of type str."),
    (lambda: check_seed(-1), ValueError, "seed must be >= 0; got -1."),
]


@pytest.mark.parametrize("call, error, message", CASES, ids=[c[2][:40] for c in CASES])
def test_error_message_is_exact(call, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        call()


# ============================================= the entry points that take a model
# train, encode_all, decode_all, predict_proba, reconstruct_all, content_codes and
# fit_class_prototypes check every argument before anything runs. Each row: a call,
# the error, its exact words, the argument it must name and what came (as shown).
EPOCHS = "epochs (passes over the training data)"
BATCH = "batch_size (images per training step)"
PAIR = ("validation_data must be a pair (x_val, y_val) of images and labels; got {}. "
        "Pass both, e.g. `validation_data=(data.x_test, data.y_test)`.")


def _batch_of(fn: str) -> str:
    return f"batch_size (images per batch of {fn})"


ENTRY_CASES = [
    # ------------------------------------------------------------------ train
    ("train epochs=2.5", lambda e: e.train(epochs=2.5), TypeError,
     f"{EPOCHS} must be a whole number; got 2.5 of type float. Use a whole number, e.g. "
     "`epochs=2`.", "epochs", "2.5"),
    ("train epochs='2'", lambda e: e.train(epochs="2"), TypeError,
     f"{EPOCHS} must be a whole number; got '2' of type str. Write the number without "
     "quotes: `epochs=2`.", "epochs", "'2'"),
    ("train epochs=None", lambda e: e.train(epochs=None), TypeError,
     f"{EPOCHS} must be a whole number; got None of type NoneType. Use e.g. `epochs=10`.",
     "epochs", "None"),
    ("train epochs=True", lambda e: e.train(epochs=True), TypeError,
     f"{EPOCHS} must be a whole number; got True of type bool. Use e.g. `epochs=10`.",
     "epochs", "True"),
    ("train epochs=np.float64(3.0)", lambda e: e.train(epochs=np.float64(3.0)), TypeError,
     f"{EPOCHS} must be a whole number; got np.float64(3.0) of type float64. Write it as an "
     "int: `epochs=3`.", "epochs", "3.0"),
    ("train epochs=0", lambda e: e.train(epochs=0), ValueError,
     f"{EPOCHS} must be at least 1; got 0. Use e.g. `epochs=10`.", "epochs", "0"),
    ("train batch_size=0", lambda e: e.train(batch_size=0), ValueError,
     f"{BATCH} must be at least 1; got 0. Use e.g. `batch_size=100`.", "batch_size", "0"),
    ("train batch_size=-1", lambda e: e.train(batch_size=-1), ValueError,
     f"{BATCH} must be at least 1; got -1. Use e.g. `batch_size=100`.", "batch_size", "-1"),
    ("train batch_size=None", lambda e: e.train(batch_size=None), TypeError,
     f"{BATCH} must be a whole number; got None of type NoneType. Use e.g. `batch_size=100`.",
     "batch_size", "None"),
    ("train batch_size=2.0", lambda e: e.train(batch_size=2.0), TypeError,
     f"{BATCH} must be a whole number; got 2.0 of type float. Write it as an int: "
     "`batch_size=2`.", "batch_size", "2.0"),
    ("train batch_size=False", lambda e: e.train(batch_size=False), TypeError,
     f"{BATCH} must be a whole number; got False of type bool. Use e.g. `batch_size=100`.",
     "batch_size", "False"),
    ("train seed=1.5", lambda e: e.train(seed=1.5), TypeError,
     "seed must be a whole number such as 0 or 1; got 1.5 of type float.", "seed", "1.5"),
    ("train y=None", lambda e: e.train(y=None), TypeError,
     "y must be integer class labels; got None. Pass them, e.g. `data.y_train`.", "y", "None"),
    ("train y=text", lambda e: e.train(y=e.y.astype(str)), TypeError,
     "y must be integer class labels; got text (dtype <U21, e.g. '0'). Convert it to numbers "
     "first: `np.asarray(y).astype(int)`.", "y", "'0'"),
    ("train y=list of str", lambda e: e.train(y=[str(v) for v in e.y]), TypeError,
     "y must be integer class labels; got text (dtype <U1, e.g. '0'). Convert it to numbers "
     "first: `np.asarray(y).astype(int)`.", "y", "'0'"),
    ("train y=bools", lambda e: e.train(y=e.y > 4), TypeError,
     "y must be integer class labels; got True/False (dtype bool), which are not class "
     "labels. Pass class numbers, e.g. `data.y_train` (or `np.asarray(y, dtype=int)` if 0/1 "
     "is meant).", "y", "dtype bool"),
    ("train x=None", lambda e: e.train(x=None), TypeError,
     "x must be images, an array (N, H, W, C); got None. Pass them, e.g. `data.x_train`.",
     "x", "None"),
    ("train validation_data=(x,)", lambda e: e.train(validation_data=(e.x,)), ValueError,
     PAIR.format("a tuple of 1 item"), "validation_data", "1 item"),
    ("train validation_data=x", lambda e: e.train(validation_data=e.x), TypeError,
     PAIR.format("an array of shape (20, 28, 28, 1)"), "validation_data", "(20, 28, 28, 1)"),
    ("train validation_data=(x, None)", lambda e: e.train(validation_data=(e.x, None)),
     TypeError, "y_val must be integer class labels; got None. Pass them, e.g. `data.y_test`.",
     "y_val", "None"),
    ("train label=3", lambda e: e.train(label=3), TypeError,
     "label (the name shown before the progress line) must be text; got 3 of type int. Use "
     "e.g. `label='3'`.", "label", "3"),
    ("train log={}", lambda e: e.train(log={}), TypeError,
     "log must be the TrainingLog an earlier train() returned (to continue it), or None; got "
     "{} of type dict. Use `log = train(...)` and then `train(..., log=log)`.", "log", "{}"),
    ("train callbacks=cb", lambda e: e.train(callbacks=keras_callback()), TypeError,
     "callbacks must be a list of Keras callbacks; got one Callback. Put it in a list: "
     "`callbacks=[callback]`.", "callbacks", "Callback"),
    ("train callbacks=[cb, 'x']", lambda e: e.train(callbacks=[keras_callback(), "x"]),
     TypeError, "callbacks[1] must be a keras.callbacks.Callback; got 'x' of type str. Pass "
     "callback objects only, e.g. `callbacks=[keras.callbacks.TerminateOnNaN()]`.",
     "callbacks[1]", "'x'"),
    ("train model=None", lambda e: e.train(model=None), TypeError,
     "train needs a Keras model as its first argument; got None of type NoneType. Pass the "
     "model first: `train(model, x, y, epochs=10)`.", "model", "None"),
    ("train model=class", lambda e: e.train(model=type(e.model)), TypeError,
     "train needs a model object; got the class ConditionalAutoencoder itself. Create and "
     "compile one first: `model = ConditionalAutoencoder(...)`, "
     "`model.compile(optimizer='adam')`.", "model", "ConditionalAutoencoder"),
    # ----------------------------------------------- encode_all, decode_all, ...
    ("encode_all batch_size=0", lambda e: e.i.encode_all(e.model, e.x, batch_size=0),
     ValueError, f"{_batch_of('encode_all')} must be at least 1; got 0. Use e.g. "
     "`batch_size=1000`.", "batch_size", "0"),
    ("encode_all batch_size=2.5", lambda e: e.i.encode_all(e.model, e.x, batch_size=2.5),
     TypeError, f"{_batch_of('encode_all')} must be a whole number; got 2.5 of type float. "
     "Use a whole number, e.g. `batch_size=2`.", "batch_size", "2.5"),
    ("encode_all batch_size=True", lambda e: e.i.encode_all(e.model, e.x, batch_size=True),
     TypeError, f"{_batch_of('encode_all')} must be a whole number; got True of type bool. "
     "Use e.g. `batch_size=1000`.", "batch_size", "True"),
    ("encode_all model=None", lambda e: e.i.encode_all(None, e.x), TypeError,
     "encode_all needs a disentangling model (one with encode) as its first argument; got "
     "None of type NoneType, which has no encode. Pass the model first: "
     "`encode_all(model, ...)`.", "model", "None"),
    ("encode_all x=None", lambda e: e.i.encode_all(e.model, None), TypeError,
     "x must be images, an array (N, H, W, C); got None. Pass them, e.g. `data.x_test`.",
     "x", "None"),
    ("decode_all batch_size=0", lambda e: e.i.decode_all(e.model, e.s, e.z, batch_size=0),
     ValueError, f"{_batch_of('decode_all')} must be at least 1; got 0. Use e.g. "
     "`batch_size=1000`.", "batch_size", "0"),
    ("decode_all batch_size=None",
     lambda e: e.i.decode_all(e.model, e.s, e.z, batch_size=None), TypeError,
     f"{_batch_of('decode_all')} must be a whole number; got None of type NoneType. Use "
     "e.g. `batch_size=1000`.", "batch_size", "None"),
    ("decode_all s=None", lambda e: e.i.decode_all(e.model, None, e.z), TypeError,
     "s must be codes of shape (N, 10) for this model; got None. Take them from the model, "
     "e.g. `s, z = encode_all(model, x)`.", "s", "None"),
    ("decode_all s=one code", lambda e: e.i.decode_all(e.model, e.s[0], e.z), ValueError,
     "s must have shape (N, 10) for this model; got (10,), a single code. Add the batch "
     "axis: `s[None]`.", "s", "(10,)"),
    ("decode_all s, z lengths", lambda e: e.i.decode_all(e.model, e.s, e.z[:1]), ValueError,
     "s and z must have the same length; got 2 and 1. Pass one style code per content code "
     "(e.g. `np.repeat(z, len(s), 0)` for one style with every content).", "s and z",
     "2 and 1"),
    ("predict_proba batch_size='10'",
     lambda e: e.i.predict_proba(e.model, e.x, batch_size="10"), TypeError,
     f"{_batch_of('predict_proba')} must be a whole number; got '10' of type str. Write the "
     "number without quotes: `batch_size=10`.", "batch_size", "'10'"),
    ("reconstruct_all batch_size=0",
     lambda e: e.i.reconstruct_all(e.model, e.x, batch_size=0), ValueError,
     f"{_batch_of('reconstruct_all')} must be at least 1; got 0. Use e.g. "
     "`batch_size=1000`.", "batch_size", "0"),
    ("content_codes '3'", lambda e: e.i.content_codes(e.model, "3"), TypeError,
     "labels must be integer class labels; got the text '3'. Write the number without "
     "quotes: `3`.", "labels", "'3'"),
    ("content_codes True", lambda e: e.i.content_codes(e.model, True), TypeError,
     "labels must be integer class labels; got True, a bool, which is not a class label. "
     "Pass class numbers, e.g. `[0, 1, 2]` (or `np.asarray(labels, dtype=int)` if 0/1 is "
     "meant).", "labels", "True"),
    ("content_codes None", lambda e: e.i.content_codes(e.model, None), TypeError,
     "labels must be integer class labels; got None. Pass them, e.g. `[0, 1, 2]`.",
     "labels", "None"),
    ("content_codes ['1', '2']", lambda e: e.i.content_codes(e.model, ["1", "2"]), TypeError,
     "labels must be integer class labels; got text (dtype <U1, e.g. '1'). Convert it to "
     "numbers first: `np.asarray(labels).astype(int)`.", "labels", "'1'"),
    ("content_codes [1, None]", lambda e: e.i.content_codes(e.model, [1, None]), TypeError,
     "labels must be integer class labels; got a mix of values (dtype object) including "
     "None. Pass numbers only, e.g. `[0, 1, 2]`.", "labels", "None"),
    ("content_codes model=None", lambda e: e.i.content_codes(None, [1]), TypeError,
     "content_codes needs a disentangling model (one with content_for_label) as its first "
     "argument; got None of type NoneType, which has no content_for_label. Pass the model "
     "first: `content_codes(model, ...)`.", "model", "None"),
    ("fit_class_prototypes y=None", lambda e: e.i.fit_class_prototypes(e.model, e.x, None),
     TypeError, "y must be integer class labels; got None. Pass them, e.g. `data.y_train`.",
     "y", "None"),
]


def keras_callback():
    """A plain Keras callback (keras is imported only when a case needs it)."""
    import keras

    return keras.callbacks.Callback()


class _Entry:
    """A compiled tiny model and data; ``train(**changes)`` calls train with one change."""

    def __init__(self) -> None:
        from helpers.core import interface
        from helpers.core.training import train
        from helpers.papers.warmup import ConditionalAutoencoder

        self.i, self._train = interface, train
        self.model = ConditionalAutoencoder(style_dim=2, hidden=(8,))
        self.model.compile(optimizer="adam")
        self.x = np.random.default_rng(0).random((20, 28, 28, 1), dtype=F32)
        self.y = np.arange(20) % 10
        self.s, self.z = np.zeros((2, 10), F32), np.zeros((2, 2), F32)

    def train(self, **changes):
        """train(model, x, y, epochs=1) with ``changes`` to any of its arguments."""
        args = {"model": self.model, "x": self.x, "y": self.y, "epochs": 1, **changes}
        return self._train(args.pop("model"), args.pop("x"), args.pop("y"), **args)


@pytest.fixture(scope="module")
def entry() -> _Entry:
    return _Entry()


@pytest.mark.parametrize("call, error, message, argument, came",
                         [c[1:] for c in ENTRY_CASES], ids=[c[0] for c in ENTRY_CASES])
def test_entry_points_say_what_was_expected_what_came_and_the_fix(entry, call, error, message,
                                                                  argument, came):
    with pytest.raises(error) as raised:
        call(entry)
    text = str(raised.value)
    assert text == message
    assert text.startswith(argument) or f" {argument} " in text or f"{argument}=" in text
    assert came in text.split("got", 1)[1]  # what came is shown after "got"
    assert "`" in text or "such as" in text  # a fix to type or an example
    assert entry.model.optimizer.iterations.numpy() == 0  # refused before any training
