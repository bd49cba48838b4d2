"""Measure how fast every chapter's model trains here, against the framework's ceiling.

    .venv/bin/python benchmarks/run.py            # ~20 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --quick    # seconds: one model, one setting

For each chapter's model (the sizes of its ``book`` run) and each batch size
(100, 256) and XLA setting, it times

* **ours**: ``helpers.core.training.train`` — the course's one way of training
  (the seeded index-shuffling ``tf.data`` pipeline, the progress line and the
  loss trackers, ten steps per call of the compiled step);
* **plain**: the same model, compiled the same way, fed by
  ``tf.data.Dataset.from_tensor_slices(...).batch(...).prefetch(...)`` to
  ``model.fit(verbose=0)`` without callbacks, Keras' defaults otherwise (one step
  per call): the practical ceiling of this computation in Keras on this machine;

as images per second over timed epochs after one warm-up epoch (compilation): the
median epoch of each run, and the median of three runs, ours and plain interleaved
(this machine's speed drifts between runs; the page reports the spread).
It also measures the machine's sustained float32 matrix-multiply rate and each
model's floating-point operations per training image (TensorFlow's graph
profiler on one training step: forward, backward and, for two-step, its
adversary updates), so the achieved rate is a fraction of the machine's.
Wall times of whole chapters (``book``/``smoke``) and peak memory are read from
the recorded runs in ``results/``.

Writes ``results/benchmarks/<machine>.json``, prints a table, and (without
``--quick``) rewrites the table and the figure of the book's Runtimes page
(``book/runtimes.md``, ``book/_static/runtimes.png``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import helpers  # noqa: E402, F401  (first: it sets TensorFlow's defaults, oneDNN off)

# isort: split
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers.core.training import set_seed, train  # noqa: E402
from helpers.files import atomic_write, atomic_write_text  # noqa: E402
from helpers.runs import chapter_runtimes  # noqa: E402

PAGE = ROOT / "book" / "runtimes.md"
FIGURE = ROOT / "book" / "_static" / "runtimes.png"
CI_TIMES = ROOT / "results" / "benchmarks" / "ci.json"  # from .ci/run's _build/ci_times.json
START, END = "<!-- benchmark: start -->", "<!-- benchmark: end -->"


# ------------------------------------------------------------------ the machine
def machine() -> dict:
    """What ran the benchmark."""
    return {"platform": platform.platform(terse=True), "machine": platform.machine(),
            "cpu_cores": os.cpu_count(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "gpus": len(tf.config.list_physical_devices("GPU"))}


def matmul_gflops(n: int = 1024, seconds: float = 3.0) -> float:
    """Sustained float32 matrix-multiply rate (GFLOP/s) of one ``n x n`` product in a loop."""
    a = tf.random.normal((n, n), seed=0)
    b = tf.random.normal((n, n), seed=1)

    @tf.function
    def ten(a, b):
        c = a
        for _ in range(10):
            c = tf.matmul(c, b) * 1e-3
        return c

    ten(a, b).numpy()  # trace and warm up
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        ten(a, b).numpy()
        done += 10
    return 2 * n**3 * done / (time.perf_counter() - start) / 1e9


# ------------------------------------------------------------------ the models
def _images(n: int, shape=(28, 28, 1), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random images in [0, 1] and labels 0..9 (speed does not depend on the pixels)."""
    rng = np.random.default_rng(seed)
    return rng.random((n, *shape), dtype=np.float32), rng.integers(0, 10, n).astype(np.int64)


def _benchmarked() -> dict[str, object]:
    """``{chapter title: benchmark_model}``, from the chapters' own declarations."""
    from helpers.papers import chapters

    return {c.title: c.spec.benchmark_model for c in chapters() if c.spec.benchmark_model}


def build(name: str) -> keras.Model:
    """A fresh model of the chapter titled ``name``, with the sizes of its ``book`` run."""
    models = _benchmarked()
    if name not in models:
        raise ValueError(f"Benchmark model: expected one of {sorted(models)}; got {name!r}.")
    return models[name]()


MODELS = tuple(_benchmarked())


def _compile(model: keras.Model, name: str, xla: bool) -> None:
    kwargs = {"optimizer": keras.optimizers.Adam(1e-3), "jit_compile": xla}
    if hasattr(model, "adversary"):  # a model with a second optimiser (two-step)
        kwargs["adversary_optimizer"] = keras.optimizers.Adam(1e-3)
    model.compile(**kwargs)


class _EpochTimes(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times = [*getattr(self, "times", []), time.perf_counter() - self.start]


def images_per_second(name: str, path: str, batch: int, xla: bool, n: int,
                      epochs: int) -> float:
    """Training throughput of one fresh model, after one warm-up epoch."""
    set_seed(0)
    model = build(name)
    _compile(model, name, xla)
    x, y = _images(n)
    timer = _EpochTimes()
    if path == "ours":
        with contextlib.redirect_stdout(io.StringIO()):  # the progress line
            train(model, x, y, epochs=epochs + 1, batch_size=batch, callbacks=[timer])
    else:
        model.prepare_logging(x[:2], y[:2])
        data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).prefetch(
            tf.data.AUTOTUNE)
        model.fit(data, epochs=epochs + 1, verbose=0, shuffle=False, callbacks=[timer])
    return n / statistics.median(timer.times[1:])


def flops_per_image(name: str, batch: int = 100) -> float | None:
    """Floating-point operations of one training step per image (graph profiler)."""
    from tensorflow.python.profiler import model_analyzer, option_builder

    set_seed(0)
    model = build(name)
    _compile(model, name, xla=False)
    x, y = _images(batch)
    model.prepare_logging(x[:2], y[:2])
    model.optimizer.build(model.trainable_variables)
    if getattr(model, "adversary_optimizer", None) is not None:
        model.adversary_optimizer.build(model.adversary.trainable_variables)
    step = tf.function(model.train_step)
    try:
        graph = step.get_concrete_function(
            (tf.TensorSpec((batch, 28, 28, 1), tf.float32), tf.TensorSpec((batch,), tf.int64))
        ).graph
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            stats = model_analyzer.profile(
                graph, options=option_builder.ProfileOptionBuilder.float_operation())
    except Exception:  # noqa: BLE001 - a model whose step the profiler cannot read
        return None
    return stats.total_float_ops / batch


# ------------------------------------------------------------------ reporting
def table(result: dict) -> str:
    """The Markdown table of the throughput runs (images per second, medians)."""
    peak = result["matmul_gflops"]
    rows = ["| model | batch, XLA | ours | plain fit | ours / plain | share of matmul rate |",
            "|---|---|---|---|---|---|"]
    for r in result["runs"]:
        flops = result["flops_per_image"].get(r["model"])
        share = f"{flops * r['ours'] / 1e9 / peak:.1%}" if flops else "—"
        rows.append(f"| {r['model']} | {r['batch']}, {'on' if r['xla'] else 'off'} | "
                    f"{r['ours']:,.0f} | {r['plain']:,.0f} | {r['ours'] / r['plain']:.2f} | "
                    f"{share} |")
    return "\n".join(rows)


def spread(result: dict) -> str:
    """One sentence on how much the repeated runs of one setting disagree."""
    ratios = [max(v) / min(v) for r in result["runs"]
              for v in (r.get("ours_all"), r.get("plain_all")) if v and min(v) > 0]
    if not ratios:
        return "Single runs: no spread measured."
    return (f"The repeated runs of one setting differ by a factor of up to {max(ratios):.2f} "
            f"(median {statistics.median(ratios):.2f}): this machine's speed drifts, so a ratio "
            "within about ±0.15 of 1 is not a measured difference.")


def flops_table(result: dict) -> str:
    """GFLOP of one training step per image, per model."""
    rows = ["| model | GFLOP per training image |", "|---|---|"]
    for name, flops in result["flops_per_image"].items():
        rows.append(f"| {name} | {flops / 1e9:.4f} |" if flops else f"| {name} | — |")
    return "\n".join(rows)


def chapter_table(recorded: dict) -> str:
    """Each chapter's latest recorded runs (``helpers.runs.chapter_runtimes``)."""
    rows = ["| chapter | book run | smoke run | peak memory |", "|---|---|---|---|"]
    for name, r in recorded.items():
        book = f"{r['book_s'] / 60:.1f} min" if r["book_s"] else "—"
        smoke = f"{r['smoke_s']:.0f} s" if r["smoke_s"] else "—"
        peak = f"{r['peak_mb']:,} MB" if r["peak_mb"] else "—"
        rows.append(f"| {name} | {book} | {smoke} | {peak} |")
    return "\n".join(rows)


def _targets() -> tuple:
    """Each chapter's target numbers, from its declaration: (notebook, what, threshold,
    at least?, book record's key(s), paper-scale setting, its key(s)); with several keys
    the best counts."""
    from helpers.papers import chapters

    return tuple((c.notebook, t.what, t.threshold, t.at_least, t.book_keys, t.setting, t.keys)
                 for c in chapters() for t in c.spec.targets)


TARGETS = _targets()


def targets_table() -> str:
    """Each target number: reached or not, by the ``book`` run (the whole chapter's wall
    time) and at paper scale (``experiments/paper_scale.py``: mean over the seeds, wall
    time of one seed)."""
    from helpers.runs import chapter_record as recorded_results
    from helpers.runs import setting_runs as paper_scale_runs

    def best(values: list[float], at_least: bool) -> float:
        return max(values) if at_least else min(values)

    def cell(value: float | None, minutes: float, threshold: float, at_least: bool,
             seeds: int = 0) -> str:
        if value is None:
            return "not run"
        met = value >= threshold if at_least else value <= threshold
        shown = f"{value:.2%}"
        if shown == f"{threshold:.2%}" and value != threshold:  # a hair off: say so
            shown = f"{value:.3%}"
        over = f", mean of {seeds} seeds" if seeds > 1 else ""
        return (f"{shown} {'✓' if met else '✗'} ({minutes:.1f} min"
                f"{' / seed' if seeds else ''}{over})")

    rows = ["| chapter | target | book run | paper scale |", "|---|---|---|---|"]
    for chapter, what, threshold, at_least, book_keys, setting, keys in TARGETS:
        book = recorded_results(chapter, "book")
        book_cell = "not run"
        if book is not None:
            value = best([book["values"][k] for k in book_keys], at_least)
            book_cell = cell(value, book["seconds"] / 60, threshold, at_least)
        runs = paper_scale_runs(chapter, setting)
        paper_cell = "not run"
        if runs:
            value = statistics.mean(best([r["values"][k] for k in keys], at_least)
                                    for r in runs)
            minutes = statistics.mean(r["seconds"] for r in runs) / 60
            paper_cell = cell(value, minutes, threshold, at_least, seeds=len(runs))
        sign = "≥" if at_least else "≤"
        rows.append(f"| {chapter} | {what} {sign} {100 * threshold:g}% | {book_cell} | "
                    f"{paper_cell} |")
    return "\n".join(rows)


def ci_block(ci: dict | None) -> str:
    """The continuous-integration run on a clean clone: total and seconds per stage."""
    if not ci:
        return ""
    rows = ["| stage | seconds |", "|---|---|"]
    rows += [f"| {name} | {seconds:,} |" for name, seconds in ci["stages"].items()]
    return (f"\nThe continuous-integration run (`.ci/run` on a clean clone of commit "
            f"`{ci['commit']}`, {ci['cores']} CPU cores, {ci['date']}) took "
            f"**{ci['seconds'] / 60:.1f} minutes**:\n\n" + "\n".join(rows) + "\n")


def load_ci(path: Path | None = None) -> dict | None:
    """The recorded CI times: ``path`` (a fresh ``_build/ci_times.json``, then saved as
    ``results/benchmarks/ci.json``) or the saved file; None when there is none."""
    if path is not None:
        ci = json.loads(path.read_text())
        for key in ("date", "commit", "cores", "seconds", "stages"):
            if key not in ci:
                raise ValueError(f"{path} is not a CI times file (written by .ci/run): it "
                                 f"has no {key!r}.")
        atomic_write_text(CI_TIMES, json.dumps(ci, indent=1) + "\n")
        return ci
    return json.loads(CI_TIMES.read_text()) if CI_TIMES.exists() else None


def figure(result: dict, path: Path) -> None:
    """Bars: ours and plain fit, images per second, per model (batch 100, XLA as chapters)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [r for r in result["runs"] if r["batch"] == 100][::-1]
    labels = [f"{r['model']}, XLA {'on' if r['xla'] else 'off'}" for r in runs]
    pos = np.arange(len(runs))
    fig, ax = plt.subplots(figsize=(7, 0.42 * len(runs) + 1.2), dpi=150)
    ax.barh(pos + 0.2, [r["ours"] for r in runs], 0.4, label="ours: train()")
    ax.barh(pos - 0.2, [r["plain"] for r in runs], 0.4, label="plain model.fit")
    ax.set_yticks(pos, labels, fontsize=8)
    ax.set_xlabel("training images per second (batch 100)")
    ax.set_xscale("log")
    ax.set_title(f"{result['machine']['cpu_cores']} CPU cores, no GPU" if not
                 result["machine"]["gpus"] else "with a GPU", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)


def render_page(page: str, result: dict, ci: dict | None = None) -> str:
    m = result["machine"]
    block = (
        f"Measured on {m['platform']}, {m['machine']}, {m['cpu_cores']} CPU cores, "
        f"{'no GPU' if not m['gpus'] else str(m['gpus']) + ' GPU'}; TensorFlow "
        f"{m['tensorflow']}, Keras {m['keras']}; on {result['date']}, "
        f"{result['seconds'] / 60:.0f} minutes. Sustained float32 matrix multiply: "
        f"**{result['matmul_gflops']:.0f} GFLOP/s**.\n\n"
        "Training throughput in images per second:\n\n"
        f"{table(result)}\n\n"
        f"{spread(result)}\n\n"
        "Work per image (forward and backward pass, optimiser update):\n\n"
        f"{flops_table(result)}\n\n"
        f"```{{figure}} _static/runtimes.png\n:alt: training throughput per model\n\n"
        "Training throughput at batch 100: the course's `train` and a plain `model.fit` "
        "of the same model.\n```\n\n"
        "Whole chapters, as recorded by `tools/execute_notebook.py`:\n\n"
        f"{chapter_table(chapter_runtimes(ROOT / 'results'))}\n"
        "\nThe chapters' target numbers, and the wall time of the runs that reached them "
        "(✓) or not (✗): the `book` run of the whole chapter, and one seed of the paper-scale "
        "setting (`experiments/paper_scale.py`; chapter 3's ladder has no single target "
        "number):\n\n"
        f"{targets_table()}\n"
        f"{ci_block(ci)}"
    )
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    return pattern.sub(lambda _: f"{START}\n{block}{END}", page)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="one model, batch 100, no XLA, small data (a smoke test)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--report", type=Path, default=None,
                        help="only redraw the page and figure from this result file")
    parser.add_argument("--ci", type=Path, default=None,
                        help="CI times to show (.ci/run's _build/ci_times.json); saved as "
                             "results/benchmarks/ci.json")
    args = parser.parse_args()
    ci = load_ci(args.ci)
    if args.report is not None:
        result = json.loads(args.report.read_text())
        figure(result, FIGURE)
        atomic_write_text(PAGE, render_page(PAGE.read_text(encoding="utf-8"), result, ci))
        print(f"wrote {PAGE.relative_to(ROOT)} and {FIGURE.relative_to(ROOT)}")
        return 0
    start = time.perf_counter()
    if args.quick:
        models, settings, n, epochs, reps = ("XCov",), [(100, False)], 1000, 1, 1
    else:
        models, settings, n, epochs, reps = MODELS, [(100, False), (100, True), (256, False),
                                                     (256, True)], 6000, 3, 3
    result = {"date": time.strftime("%Y-%m-%d"), "machine": machine(),
              "matmul_gflops": matmul_gflops(seconds=1.0 if args.quick else 3.0),
              "images_per_epoch": n, "timed_epochs": epochs, "repetitions": reps, "runs": [],
              "flops_per_image": {}}
    for name in models:
        result["flops_per_image"][name] = flops_per_image(name)
        for batch, xla in settings:
            run = {"model": name, "batch": batch, "xla": xla, "ours_all": [], "plain_all": []}
            for _ in range(reps):  # interleaved, so a slow spell of the machine hits both
                for path in ("ours", "plain"):
                    run[f"{path}_all"].append(images_per_second(name, path, batch, xla, n,
                                                                epochs))
                    keras.backend.clear_session()
            run["ours"] = statistics.median(run["ours_all"])
            run["plain"] = statistics.median(run["plain_all"])
            result["runs"].append(run)
            print(f"{name:18s} batch {batch:3d} XLA {'on ' if xla else 'off'}  ours "
                  f"{run['ours']:8.0f}  plain {run['plain']:8.0f} img/s  "
                  f"({run['ours'] / run['plain']:.2f})", flush=True)
    result["seconds"] = round(time.perf_counter() - start, 1)
    name = "quick" if args.quick else f"{platform.machine()}-{os.cpu_count()}cores"
    out = args.out or ROOT / "results" / "benchmarks" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(result, indent=1) + "\n")
    print(table(result))
    print(f"wrote {out}")
    if not args.quick:
        figure(result, FIGURE)
        atomic_write_text(PAGE, render_page(PAGE.read_text(encoding="utf-8"), result, ci))
        print(f"wrote {PAGE.relative_to(ROOT)} and {FIGURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
