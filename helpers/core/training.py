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
training and appends to the same log.
"""

from __future__ import annotations

import ctypes
import gc
import math
import sys
import textwrap
import time
import warnings
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from ..data.datasets import check_images, check_labels
from .profile import check_seed


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


def make_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
                 seed: int = 0) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of ``(x, y)`` batches, reshuffled every epoch with a fixed seed.

    Only the *indices* are shuffled; each batch is then gathered from the NumPy
    arrays themselves. ``from_tensor_slices((x, y)).shuffle(len(x))`` would keep
    two more copies of the images alive (a constant and a full shuffle buffer:
    about 375 MB for all of MNIST), too much for Binder's 2 GB. The order is the
    same as that pipeline's for the same seed.
    """
    x, y = np.asarray(x), np.asarray(y)
    ds = tf.data.Dataset.range(len(x))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)

    def take(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[index], y[index]

    def gather(index: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        xb, yb = tf.numpy_function(take, [index], (tf.as_dtype(x.dtype), tf.as_dtype(y.dtype)),
                                   stateful=False)
        xb.set_shape((None, *x.shape[1:]))
        yb.set_shape((None, *y.shape[1:]))
        return xb, yb

    return ds.batch(batch_size).map(gather).prefetch(tf.data.AUTOTUNE)


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

# Longest output line the book's code column shows without cutting it off.
LINE_WIDTH = 80


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
        epochs, batch_size, seed: the usual; the seed fixes initial shuffling.
        validation_data: optional ``(x_val, y_val)`` evaluated after each epoch.
        log: a log to append to (to continue an earlier run).
        label: a name shown in front of the progress line.
        callbacks: extra Keras callbacks (e.g. an annealing schedule).
    """
    if getattr(model, "optimizer", None) is None:
        raise RuntimeError("Compile the model first, e.g. `model.compile(optimizer='adam')`.")
    shape = getattr(model, "train_image_shape", None)  # None: the model does not say
    x = check_images(x, "x", shape=shape)
    num_classes = getattr(model, "num_classes", int(np.max(y)) + 1)
    y = check_labels(y, num_classes, "y", n=len(x))
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1; got {epochs}.")
    if model.steps_per_execution == 1 and getattr(model, "train_function", None) is None:
        # Several steps per call of the compiled step: the same updates in the same order
        # (bit for bit), without Python's per-step overhead, which is most of the time a
        # small model's step takes on a CPU (benchmarks/run.py: ~1.4x at batch 100).
        model.steps_per_execution = STEPS_PER_EXECUTION
    if hasattr(model, "prepare_logging"):  # one tracker per entry of compute_losses
        model.prepare_logging(x[:2], y[:2])
    release_memory()  # what earlier models and cells left behind
    set_seed(seed)
    data = make_dataset(x, y, batch_size, shuffle=True, seed=seed)
    val = None
    if validation_data is not None:
        xv = check_images(validation_data[0], "x_val", shape=shape)
        yv = check_labels(validation_data[1], num_classes, "y_val", n=len(xv))
        val = make_dataset(xv, yv, max(batch_size, 500), shuffle=False)
    log = log if log is not None else TrainingLog()
    start = time.perf_counter()
    result = model.fit(
        data,
        epochs=epochs,
        validation_data=val,
        verbose=0,
        shuffle=False,  # the tf.data pipeline already reshuffles every epoch
        callbacks=[ProgressLine(label=label), StopOnNaN(),
                   WarnIfStuck(previous=log.history.get("loss")), *(callbacks or [])],
    )
    log.extend(result.history, time.perf_counter() - start)
    release_memory()
    return log
