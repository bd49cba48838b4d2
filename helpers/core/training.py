"""One way of training, used by every chapter: ``keras.Model.fit`` + callbacks.

:func:`train` validates the data, builds a shuffled, seeded ``tf.data``
pipeline, and calls ``model.fit`` with three callbacks:

* :class:`ProgressLine` — a single progress line, updated in place live and
  left as one tidy line in the saved notebook (no thousands of log lines);
* :class:`StopOnNaN` — stops with a clear error the moment a loss turns NaN;
* :class:`WarnIfStuck` — warns (:class:`StuckTrainingWarning`) when the loss
  has stopped changing for several epochs: training has probably gone dead.

Unless the model was compiled with its own ``steps_per_execution``, ten training
steps run per call of the compiled step (:data:`STEPS_PER_EXECUTION`): the same
updates, bit for bit, with less Python between them.

It returns a :class:`TrainingLog` (losses per epoch, ready for
:func:`helpers.viz.plots.plot_history`).  Calling :func:`train` again continues
training (pass ``log=`` to append to the same log) with new shuffle orders: the
ones a single longer call would have drawn.

Every argument of :func:`train` is checked before anything runs, with errors
that say what was expected, what came and how to fix it.
"""

from __future__ import annotations

import ctypes
import gc
import math
import sys
import textwrap
import time
import warnings
import weakref
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from .. import pretrained
from ..data.datasets import check_images, check_labels
from ..text import LINE_WIDTH  # its one home
from .interface import _short, check_images_given, check_label_input
from .profile import check_count, check_seed


def set_seed(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (via ``keras.utils.set_random_seed``)."""
    keras.utils.set_random_seed(check_seed(seed))


def release_memory() -> None:
    """Collect garbage and hand freed memory back to the operating system.

    TensorFlow frees a lot of memory after each ``fit`` (graphs, compilation,
    batches), but glibc keeps it in its arenas, so a notebook that trains several
    models looks ever bigger to the machine (Binder stops a kernel at 2 GB).
    ``malloc_trim`` returns those free pages; elsewhere than glibc this only
    collects garbage. It changes no result.
    """
    gc.collect()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
            pass


def shuffled_indices(n: int, seed: int = 0) -> tf.data.Dataset:
    """The indices ``0..n-1`` in a new order every time the pipeline is iterated.

    The orders form one stream fixed by ``seed`` and TensorFlow's global seed
    (which :func:`set_seed` sets) at the moment this is called; each pass over
    the pipeline (each epoch) draws the next order from that stream, also
    through pipelines built on top of it later.
    """
    return tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True)


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
                 seed: int = 0, order: tf.data.Dataset | None = None) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of ``(x, y)`` batches, reshuffled every epoch with a fixed seed.

    Only the *indices* are shuffled; each batch is then gathered from the NumPy
    arrays themselves. ``from_tensor_slices((x, y)).shuffle(len(x))`` would keep
    two more copies of the images alive (a constant and a full shuffle buffer:
    about 375 MB for all of MNIST), too much for Binder's 2 GB. The order is the
    same as that pipeline's for the same seed.

    ``order`` (from :func:`shuffled_indices`) is an index stream to go on
    drawing from instead of a new one; :func:`train` passes the one a model's
    earlier run drew from, so a continued run gets new orders.
    """
    batch_size = check_count(batch_size, "batch_size", what="images per training step",
                             example=100)
    x, y = np.asarray(x), np.asarray(y)
    if order is not None:
        ds = order
    elif shuffle:
        ds = shuffled_indices(len(x), check_seed(seed))
    else:
        ds = tf.data.Dataset.range(len(x))

    def take(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[index], y[index]

    def gather(index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        xb, yb = tf.numpy_function(take, [index], (tf.as_dtype(x.dtype), tf.as_dtype(y.dtype)),
                                   stateful=False)
        xb.set_shape((None, *x.shape[1:]))
        yb.set_shape((None, *y.shape[1:]))
        return xb, yb

    return ds.batch(batch_size).map(gather).prefetch(tf.data.AUTOTUNE)


# Each model's shuffle streams, by (seed, number of images): a continued train() call
# draws its orders from where the model's earlier calls left the stream.
_STREAMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _order_for(model: keras.Model, n: int, seed: int) -> tf.data.Dataset:
    """The index stream of ``model`` for ``seed`` and ``n`` images, new on its first use.

    Call it right after :func:`set_seed`: a new stream takes the global seed then.
    """
    streams = _STREAMS.setdefault(model, {})
    if (seed, n) not in streams:
        streams[(seed, n)] = shuffled_indices(n, seed)
    return streams[(seed, n)]


@dataclass
class TrainingLog:
    """Per-epoch values of every logged loss/metric (``val_*`` for validation)."""

    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0

    def extend(self, history: dict[str, list[float]], seconds: float) -> None:
        for key, values in history.items():
            self.history.setdefault(key, []).extend(float(v) for v in values)
        self.seconds += seconds

    @property
    def epochs(self) -> int:
        return len(next(iter(self.history.values()), []))

    def last(self, key: str) -> float:
        return self.history[key][-1]

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the course
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


# Training steps per call of the compiled step (unless the model was compiled with its
# own ``steps_per_execution``): callbacks then see every tenth batch.
STEPS_PER_EXECUTION = 10


def _fmt(logs: dict, order: tuple[str, ...] = ()) -> str:
    rank = {name: i for i, name in enumerate(order)}
    keys = sorted(logs, key=lambda k: (k.startswith("val_"), rank.get(k.removeprefix("val_"), 99), k))
    return " · ".join(f"{k} {float(logs[k]):.4g}" for k in keys)


class ProgressLine(keras.callbacks.Callback):
    """A compact progress display: one bar line (and its numbers), updated in place.

    In a notebook the line is a display that is *updated*, so the saved
    output is a single line with the final numbers.  Elsewhere one line is
    printed every ``print_every`` epochs.
    """

    def __init__(self, label: str = "", width: int = 20, print_every: int = 1,
                 refresh_s: float = 0.5) -> None:
        super().__init__()
        self.label, self.width, self.print_every, self.refresh_s = label, width, print_every, refresh_s
        self._handle = None
        self._last_draw = 0.0

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._epochs = self.params.get("epochs", 1)
        self._steps = self.params.get("steps") or 0
        self._epoch = 0
        self._logs: dict = {}
        if _in_notebook():
            from IPython.display import Pretty, display
            self._handle = display(Pretty(self._line(0.0)), display_id=True)

    def _line(self, fraction: float) -> str:
        filled = int(round(self.width * fraction))
        bar = "█" * filled + "░" * (self.width - filled)
        elapsed = time.perf_counter() - self._start
        prefix = f"{self.label}: " if self.label else ""
        stats = _fmt(self._logs, tuple(getattr(self.model, "loss_names", ())))
        head = f"{prefix}epoch {self._epoch}/{self._epochs} {bar} {elapsed:5.1f}s"
        # The numbers go on lines of at most LINE_WIDTH characters under the bar, so
        # nothing is cut off in the book's code column or a narrow notebook.
        return "\n".join([head, *textwrap.wrap(stats, LINE_WIDTH, initial_indent="  ",
                                                subsequent_indent="  ")])

    def _draw(self, fraction: float, force: bool = False) -> None:
        now = time.perf_counter()
        if self._handle is None or (not force and now - self._last_draw < self.refresh_s):
            return
        from IPython.display import Pretty
        self._handle.update(Pretty(self._line(fraction)))
        self._last_draw = now

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        if self._steps:
            done = ((self._epoch - 1) + (batch + 1) / self._steps) / self._epochs
            self._draw(done)

    def on_epoch_end(self, epoch, logs=None):
        self._logs = dict(logs or {})
        self._draw(self._epoch / self._epochs, force=True)
        if self._handle is None and (self._epoch % self.print_every == 0
                                     or self._epoch == self._epochs):
            print(self._line(self._epoch / self._epochs), flush=True)


class StopOnNaN(keras.callbacks.Callback):
    """Raise a clear error as soon as any logged loss becomes NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if not math.isfinite(float(value)):
                self.model.stop_training = True
                raise FloatingPointError(
                    f"'{key}' became {float(value)} at batch {batch}. Training was stopped. "
                    "Usual causes: a learning rate that is too high, inputs outside [0, 1], "
                    "or a log/division of zero in a custom loss. Lower the learning rate or "
                    "check the data, then re-create the model and train again."
                )


class StuckTrainingWarning(UserWarning):
    """Training goes on, but the loss no longer changes: the model has probably stopped learning."""


class WarnIfStuck(keras.callbacks.Callback):
    """Warn once when the training loss has not changed for ``patience`` epochs in a row.

    An epoch counts as "unchanged" when its loss differs from the previous
    epoch's by less than ``rtol`` relative to its size.  A loss that is frozen
    like this almost always means training has gone dead — typically a
    learning rate so high that every ReLU now outputs zero, so no gradient
    flows — and more epochs will not help.  ``previous`` holds losses of
    earlier epochs (a continued run), so a run trained in pieces is judged as
    a whole.
    """

    def __init__(self, patience: int = 3, rtol: float = 1e-6, key: str = "loss",
                 previous: list[float] | None = None) -> None:
        super().__init__()
        if patience < 1:
            raise ValueError(f"patience must be at least 1; got {patience}.")
        self.patience, self.rtol, self.key = int(patience), float(rtol), key
        self._previous = list(previous or [])
        self.warned = False

    def on_train_begin(self, logs=None):
        self._losses = list(self._previous)
        self.warned = False

    def _unchanged_epochs(self) -> int:
        """How many of the latest epochs left the loss where the epoch before had it."""
        count, losses = 0, self._losses
        for i in range(len(losses) - 1, 0, -1):
            before, after = losses[i - 1], losses[i]
            if abs(after - before) > self.rtol * max(abs(before), abs(after)):
                break
            count += 1
        return count

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.key)
        if value is None or not math.isfinite(float(value)):
            return
        self._losses.append(float(value))
        if self.warned or self._unchanged_epochs() < self.patience:
            return
        self.warned = True
        warnings.warn(
            f"'{self.key}' has not changed for {self.patience} epochs in a row (it stays at "
            f"{float(value):.6g}, epoch {epoch + 1}): training has probably gone dead and more "
            "epochs will not help. Usual cause: a learning rate so high that the units died "
            "(every ReLU outputs zero, so no gradient flows). Lower the learning rate, "
            "re-create the model (its weights are stuck) and train again. (If the loss is "
            "already as low as it can go, training has simply finished.)",
            StuckTrainingWarning, stacklevel=2,
        )


def _check_model(model) -> None:
    """A compiled Keras model, or a clear error."""
    if isinstance(model, type):
        raise TypeError(f"train needs a model object; got the class {model.__name__} itself. "
                        f"Create and compile one first: `model = {model.__name__}(...)`, "
                        "`model.compile(optimizer='adam')`.")
    if not isinstance(model, keras.Model):
        raise TypeError(f"train needs a Keras model as its first argument; got {_short(model)} of "
                        f"type {type(model).__name__}. Pass the model first: "
                        "`train(model, x, y, epochs=10)`.")
    if getattr(model, "optimizer", None) is None:
        raise RuntimeError("Compile the model first, e.g. `model.compile(optimizer='adam')`.")


def _check_validation_data(validation_data) -> tuple:
    """``(x_val, y_val)``: a tuple or list of two, or a clear error."""
    fix = "Pass both, e.g. `validation_data=(data.x_test, data.y_test)`."
    if not isinstance(validation_data, (tuple, list)):
        came = (f"an array of shape {validation_data.shape}" if hasattr(validation_data, "shape")
                else f"{_short(validation_data)} of type {type(validation_data).__name__}")
        raise TypeError(f"validation_data must be a pair (x_val, y_val) of images and labels; "
                        f"got {came}. {fix}")
    if len(validation_data) != 2:
        raise ValueError(f"validation_data must be a pair (x_val, y_val) of images and labels; "
                         f"got a {type(validation_data).__name__} of {len(validation_data)} "
                         f"item{'' if len(validation_data) == 1 else 's'}. {fix}")
    return tuple(validation_data)


def _check_options(label, log, callbacks) -> list:
    """Check ``label``, ``log`` and ``callbacks``; return the callbacks as a list."""
    if not isinstance(label, str):
        raise TypeError(f"label (the name shown before the progress line) must be text; got "
                        f"{_short(label)} of type {type(label).__name__}. Use e.g. "
                        f"`label={str(label)!r}`.")
    if log is not None and not isinstance(log, TrainingLog):
        raise TypeError(f"log must be the TrainingLog an earlier train() returned (to continue "
                        f"it), or None; got {_short(log)} of type {type(log).__name__}. Use "
                        "`log = train(...)` and then `train(..., log=log)`.")
    if callbacks is None:
        return []
    if isinstance(callbacks, keras.callbacks.Callback):
        raise TypeError(f"callbacks must be a list of Keras callbacks; got one "
                        f"{type(callbacks).__name__}. Put it in a list: `callbacks=[callback]`.")
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of Keras callbacks; got {_short(callbacks)} of "
                        f"type {type(callbacks).__name__}. Use e.g. `callbacks=[my_callback]`.")
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, keras.callbacks.Callback):
            raise TypeError(f"callbacks[{i}] must be a keras.callbacks.Callback; got "
                            f"{_short(callback)} of type {type(callback).__name__}. Pass "
                            "callback objects only, e.g. "
                            "`callbacks=[keras.callbacks.TerminateOnNaN()]`.")
    return list(callbacks)


def train(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 100,
    seed: int = 0,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    log: TrainingLog | None = None,
    label: str = "",
    callbacks: list[keras.callbacks.Callback] | None = None,
) -> TrainingLog:
    """Train a compiled model with ``model.fit`` and return its :class:`TrainingLog`.

    Args:
        model: a compiled :class:`keras.Model` whose ``train_step`` takes ``(x, y)``.
        x, y: images in [0, 1] shaped ``(N, H, W, C)`` and integer labels.
        epochs, batch_size: whole numbers >= 1 (``bool``, floats and text are refused).
        seed: fixes the random state and the stream of shuffle orders, one per epoch.
            The first call on a model takes the stream's first orders; a continued
            call (the same model, seed and number of images) goes on with the next
            ones, so it never repeats an order: ``train(epochs=3)`` then
            ``train(epochs=2)`` sees the orders of one ``train(epochs=5)``, and the
            same calls with the same seeds give the same weights, bit for bit.
        validation_data: optional ``(x_val, y_val)`` evaluated after each epoch.
        log: a log to append to (to continue an earlier run).
        label: a name shown in front of the progress line.
        callbacks: extra Keras callbacks (e.g. an annealing schedule), in a list.

    Every argument is checked before anything runs; a wrong one raises a
    ``TypeError`` or ``ValueError`` that says what was expected, what came and
    how to fix it.
    """
    _check_model(model)
    epochs = check_count(epochs, "epochs", what="passes over the training data", example=10)
    batch_size = check_count(batch_size, "batch_size", what="images per training step",
                             example=100)
    seed = check_seed(seed)
    extra_callbacks = _check_options(label, log, callbacks)
    shape = getattr(model, "train_image_shape", None)  # None: the model does not say
    check_images_given(x, "x", "data.x_train")
    x = check_images(x, "x", shape=shape)
    y = check_label_input(y, "y")
    num_classes = getattr(model, "num_classes", None)
    if num_classes is None:  # a model without classes: labels 0..max(y)
        num_classes = int(np.max(y)) + 1 if y.size and np.isfinite(y).all() else 1
    y = check_labels(y, num_classes, "y", n=len(x))
    if validation_data is not None:
        xv, yv = _check_validation_data(validation_data)
        check_images_given(xv, "x_val")
        xv = check_images(xv, "x_val", shape=shape)
        yv = check_labels(check_label_input(yv, "y_val", "data.y_test"), num_classes, "y_val",
                          n=len(xv))
    if model.steps_per_execution == 1 and getattr(model, "train_function", None) is None:
        # Several steps per call of the compiled step: the same updates in the same order
        # (bit for bit), without Python's per-step overhead, which is most of the time a
        # small model's step takes on a CPU (benchmarks/run.py: ~1.4x at batch 100).
        model.steps_per_execution = STEPS_PER_EXECUTION
    if hasattr(model, "prepare_logging"):  # one tracker per entry of compute_losses
        model.prepare_logging(x[:2], y[:2])
    key = pretrained.next_key(label)
    log = log if log is not None else TrainingLog()
    if pretrained.loading():  # the chapter's PRETRAINED switch: the book run's weights
        meta = pretrained.load(model, key)
        if meta is not None:
            _replay_callbacks(extra_callbacks, model, meta["history"])
            log.extend(meta["history"], meta["seconds"])
            n = log.epochs
            print(f"{label or 'model'}: loaded the book run's weights after {n} "
                  f"epoch{'s' if n != 1 else ''} (it trained them in {meta['seconds']:.0f} s)")
            return log
    release_memory()  # what earlier models and cells left behind
    set_seed(seed)
    # A model's first call: a new stream, as make_dataset(..., seed=seed) would make it; a
    # continued call goes on drawing from that stream (new orders, never the first ones again).
    data = make_dataset(x, y, batch_size, order=_order_for(model, len(x), seed))
    val = None
    if validation_data is not None:
        val = make_dataset(xv, yv, max(batch_size, 500), shuffle=False)
    start = time.perf_counter()
    result = model.fit(
        data,
        epochs=epochs,
        validation_data=val,
        verbose=0,
        shuffle=False,  # the tf.data pipeline already reshuffles every epoch
        callbacks=[ProgressLine(label=label), StopOnNaN(),
                   WarnIfStuck(previous=log.history.get("loss")), *extra_callbacks],
    )
    seconds = time.perf_counter() - start
    log.extend(result.history, seconds)
    if pretrained.saving_folder() is not None:  # a recorded run: keep this call's weights
        history = {k: [float(v) for v in values] for k, values in result.history.items()}
        pretrained.save(model, key, label, history, seconds, pretrained.saving_folder())
    release_memory()
    return log


def _replay_callbacks(callbacks: list, model: keras.Model, history: dict) -> None:
    """Give loaded weights what training would have left in the extra callbacks (e.g. a
    schedule's last value): their hooks run once per recorded epoch, with its logs."""
    epochs = len(next(iter(history.values()), []))
    for cb in callbacks:
        cb.set_model(model)
        cb.on_train_begin()
        for epoch in range(epochs):
            cb.on_epoch_begin(epoch)
            cb.on_epoch_end(epoch, {k: v[epoch] for k, v in history.items()})
        cb.on_train_end()
