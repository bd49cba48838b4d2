"""Paper-scale and sweep runs of the chapters' experiments, one result file per run.

    python experiments/paper_scale.py --list
    python experiments/paper_scale.py two_step sweep-base sweep-wide --seeds 0
    python experiments/paper_scale.py ksparse_cvae paper --seeds 0 1 2
    python experiments/paper_scale.py --recorded

Each run trains with the chapter's own exported code (``helpers.papers``) and writes
``results/<chapter>/paper_scale/<setting>/seed<k>.json``: every number, the setting's
parameters, the seed, the data source, the hardware, the wall time, the date and the
commit. A run whose file exists is skipped, so an interrupted queue resumes where it
stopped; files are written atomically. With ``--lock FILE`` every run holds that
file's lock (``flock``) while it trains, so that nothing else trains at the same
time on a small machine. Chapters read the files with
``helpers.notebook.paper_scale_runs``. Never edit the files by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from helpers import runs  # noqa: E402
from helpers.files import atomic_write, atomic_write_bytes  # noqa: E402
from helpers.notebook import hardware_summary  # noqa: E402
from helpers.runs import figure_path, write_record  # noqa: E402

CHAPTER_DIRS = {"xcov": "01_xcov", "ksparse_cvae": "02_ksparse_cvae", "jade": "03_jade",
                "two_step": "04_two_step"}


# --------------------------------------------------------------------------------------
# The experiments: one function per chapter, (params, seed) -> values
# --------------------------------------------------------------------------------------

def _mnist(train_size: int | None, seed: int):
    from helpers.data import load_mnist
    return load_mnist(train_size=train_size, test_size=None, seed=seed)


def run_two_step(params: dict, seed: int) -> dict:
    """Step 1 (cached per size, epochs and seed), then step 2 with the setting's model
    arguments; the chapter's scorecard on all 10,000 test images."""
    import keras

    from helpers.core.training import train
    from helpers.eval.metrics import classification_accuracy, scorecard
    from helpers.papers.two_step import (
        SETTINGS,
        ContentClassifier,
        FreshBatchTwoStep,
        TwoStepModel,
        compile_two_step,
    )

    data = _mnist(params.get("train_size"), seed)
    keras.utils.set_random_seed(seed)
    content = ContentClassifier(content_dim=10)
    content.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=False)
    content.classify(data.x_test[:2])  # build every weight
    cache = _step1_cache(data, params["epochs_step1"], seed)
    if not _load_weights(content, cache):
        train(content, data.x_train, data.y_train, epochs=params["epochs_step1"],
              batch_size=100, seed=seed, label="step 1")
        _save_weights(content, cache)
    keras.utils.set_random_seed(seed)
    kwargs = {**SETTINGS, "adv_weight": 1.0, **params.get("model", {})}
    if params.get("fresh_adversary"):  # the adversary draws its own batches
        model = FreshBatchTwoStep(content, data.x_train, data.y_train, seed=seed, **kwargs)
    else:
        model = TwoStepModel(content, **kwargs)
    model = compile_two_step(model, **params.get("optim", {}))
    log = train(model, data.x_train, data.y_train, epochs=params["epochs_step2"],
                batch_size=100, seed=seed, label="step 2")
    card = scorecard(model, data.x_train, data.y_train, data.x_test, data.y_test,
                     judge=content, content_probes=True, seed=seed)
    card["step1_acc"] = classification_accuracy(content, data.x_test, data.y_test)
    card["adv_acc_train"] = log.last("adv_acc")
    card["adv_ce_train"] = log.last("adv_ce")
    card["train_images"] = len(data.x_train)
    card["mnist_fallback"] = data.is_fallback
    if params.get("swap_grid"):  # the chapter's swap grid: the same test images
        from helpers.viz.plots import swap_grid

        y = data.y_test
        columns = np.array([np.flatnonzero(y == c)[0] for c in range(10)])
        rows = np.array([np.flatnonzero(y == c)[1] for c in range(10)])
        card["_figures"] = {"swaps": swap_grid(
            model, data.x_test[rows], data.x_test[columns],
            title="Z from the left column, S from the top row")}
    return card


def run_xcov(params: dict, seed: int) -> dict:
    """XCov (gamma = 10) and the same network without the penalty (gamma = 0), trained
    and scored as in the chapter: both probes on up to 10,000 training codes."""
    from helpers.eval.metrics import scorecard
    from helpers.papers.xcov import train_xcov

    data = _mnist(params.get("train_size"), seed)
    n = min(params["n_probe"], len(data.x_train))
    values = {"train_images": len(data.x_train), "mnist_fallback": data.is_fallback}
    for tag, gamma in (("xcov", 10.0), ("nocov", 0.0)):
        model, _ = train_xcov(data, gamma, params["epochs"], batch_size=100, seed=seed,
                              label=f"gamma={gamma:g}")
        card = scorecard(model, data.x_train[:n], data.y_train[:n], data.x_test,
                         data.y_test, probes=("linear", "mlp"), seed=seed)
        values.update({f"{tag}_{k}": v for k, v in card.items()})
    return values


def run_ksparse_cvae(params: dict, seed: int) -> dict:
    """Every variant of the chapter (``k=1``, ``k=3``, ``k=10`` = no gate, no
    classifier), trained and measured as in the chapter."""
    from helpers.core.training import train
    from helpers.papers.ksparse_cvae import build_variant, measure_variant

    data = _mnist(params.get("train_size"), seed)
    values = {"train_images": len(data.x_train), "mnist_fallback": data.is_fallback}
    for variant in params["variants"]:
        model = build_variant(variant, style_dim=8, seed=seed)
        train(model, data.x_train, data.y_train, epochs=params["epochs"], batch_size=100,
              seed=seed, label=variant)
        card = measure_variant(model, data, n_probe=params["n_probe"], seed=seed)
        tag = variant.replace("=", "").replace(" ", "_")
        values.update({f"{tag}_{k}": v for k, v in card.items()})
    return values


def run_jade(params: dict, seed: int) -> dict:
    """Single, paired and JADE classifiers on the scarce domain, as in the chapter."""
    from helpers.data import balanced_subset, load_svhn, normalise_contrast
    from helpers.papers.jade import MODEL_KINDS, domain_accuracy, run_experiment

    kinds = params.get("kinds", MODEL_KINDS)
    for needs in ("legibility", "ablation"):  # checked before hours of training
        if params.get(needs) and kinds[-1] != "jade":
            raise ValueError(f"{needs} needs JADE as the last of the setting's kinds; "
                             f"got kinds={kinds}")
    mnist = _mnist(params.get("train_size"), seed)
    svhn = load_svhn(train_size=params.get("svhn_train_size"),
                     test_size=params.get("svhn_test_size"), seed=seed)
    if params.get("scarce_contrast"):  # grey, stretched, light on dark (judges too)
        svhn = replace(svhn, x_train=normalise_contrast(svhn.x_train),
                       x_test=normalise_contrast(svhn.x_test))
    x_scarce, y_scarce = balanced_subset(svhn.x_train, svhn.y_train,
                                         params["per_class"], seed=seed)
    values = {"abundant_images": len(mnist.x_train), "scarce_labels": len(y_scarce),
              "mnist_fallback": mnist.is_fallback, "scarce_fallback": svhn.is_fallback}
    for kind in kinds:
        extra = params.get("jade", {}) if kind == "jade" else {}
        model, log = run_experiment(kind, x_scarce, y_scarce, mnist.x_train,
                                    mnist.y_train, epochs=params["epochs"],
                                    batch_size=100, seed=seed, **extra)
        values[f"{kind}_acc"] = domain_accuracy(model, svhn.x_test, svhn.y_test)
        if kind != "single":
            values[f"{kind}_abundant_acc"] = domain_accuracy(model, mnist.x_test,
                                                             mnist.y_test, "abundant")
        values[f"{kind}_seconds"] = log.seconds
    if params.get("legibility"):  # of the JADE model (the last), as in the chapter
        values.update(_jade_legibility(model, svhn, mnist, seed,
                                       grid=params.get("swap_grid", True)))
    if params.get("ablation"):  # the JADE model (the last) against one change of it
        values.update(_jade_ablation(model, params, (x_scarce, y_scarce), svhn, mnist,
                                     seed))
    return values


def _jade_ablation(model, params: dict, scarce_set: tuple, svhn, mnist,
                   seed: int) -> dict:
    """The chapter's ablation: ``ablation_card`` of the JADE model and of the same JADE
    with ``params["ablation"]`` changed (e.g. ``match_weight=0``), trained on the same
    data with the same seed; values ``{jade,ablated}_{scarce,abundant}_<column>``."""
    from helpers.papers.jade import ablation_card, domain_accuracy, run_experiment

    ablated, log = run_experiment("jade", *scarce_set, mnist.x_train, mnist.y_train,
                                  epochs=params["epochs"], batch_size=100, seed=seed,
                                  **{**params.get("jade", {}), **params["ablation"]})
    values = {"ablated_acc": domain_accuracy(ablated, svhn.x_test, svhn.y_test),
              "ablated_seconds": log.seconds}
    for tag, trained in (("jade", model), ("ablated", ablated)):
        cards = ablation_card(trained, svhn, mnist, n_var=params["n_var"], seed=seed)
        for domain, card in cards.items():
            values.update({f"{tag}_{domain}_{k}": v for k, v in card.items()})
    return values


def _jade_legibility(model, svhn, mnist, seed: int, grid: bool = True) -> dict:
    """Judges of both domains, how legible the JADE model's swaps are, and a grid."""
    from helpers.papers.jade import judge_swaps
    from helpers.viz.domains import cross_domain_swap_grid

    legible, judge_acc, partner = judge_swaps({"jade": model}, svhn, mnist, steps=2000,
                                              n_pairs=2000, seed=seed)
    values = {f"jade_legible_{k}": v for k, v in legible["jade"].items()}
    values.update({f"judge_{d}_acc": acc for d, acc in judge_acc.items()})
    if not grid:
        return values
    fig = cross_domain_swap_grid(model.domain("scarce"), model.domain("abundant"),
                                 svhn.x_test[:4], mnist.x_test[partner[:4]], steps=6,
                                 title="rows 1, 3, 5, 7: stand-in style; "
                                       "rows 2, 4, 6, 8: MNIST style")
    values["_figures"] = {"swaps": fig}
    return values


RUNNERS: dict[str, Callable[[dict, int], dict]] = {
    "xcov": run_xcov, "two_step": run_two_step, "ksparse_cvae": run_ksparse_cvae,
    "jade": run_jade}

# --------------------------------------------------------------------------------------
# The settings: a name, what it is for, and the parameters of the runner
# --------------------------------------------------------------------------------------

# the sizes of chapter 3's book run (20k MNIST images, 4 epochs, 1,000 stand-in labels)
_JADE_BOOK = dict(train_size=20_000, epochs=4, per_class=100, svhn_train_size=3000,
                  svhn_test_size=4000)
# a longer run: all 60k MNIST images, 10 epochs, every stand-in image (1,000 labels)
_JADE_LONGER = dict(train_size=None, epochs=10, per_class=100, svhn_train_size=None,
                    svhn_test_size=None)
# the chapter's JADE (its jade_kwargs), and the one whose classifier reads the sampled
# content with KL weight 4 (the chapter's second model)
_JADE_CHAPTER = dict(elbo_weight=0.003, match_weight=0.1)
_JADE_SAMPLED = dict(_JADE_CHAPTER, kl_weight=4.0, classifier_input="sample")


def _legible(about: str, **change) -> dict:
    """A JADE setting at book length (sampled content), its swaps judged by classifiers
    trained on every stand-in image; ``change`` overrides the run's sizes or, for
    ``kl_weight`` and ``elbo_weight``, JADE's arguments."""
    jade = {**_JADE_SAMPLED, **{k: change.pop(k) for k in ("kl_weight", "elbo_weight")
                                if k in change}}
    return dict(about=f"book length, JADE with sampled content, judged: {about}",
                **{**_JADE_BOOK, "svhn_train_size": None, "svhn_test_size": None,
                   **change},  # every stand-in image: the judges learn from all of them
                kinds=["jade"], legibility=True, swap_grid=False, jade=jade)


_WIDE = (256, 256, 256)  # an adversary as wide as the probe


def _fresh_wide(about: str, **change) -> dict:
    """A two-step setting with the adversary on fresh batches and the wide adversary,
    by default with an 8-unit Z (the 20k sweep's best model before ``style_dim=4``);
    ``change`` overrides the run's sizes or, for ``adv_weight`` (lambda) and
    ``style_dim``, the model's."""
    model = dict(style_dim=8, adversary_hidden=_WIDE)
    model.update({k: change.pop(k) for k in ("adv_weight", "style_dim") if k in change})
    return dict(about=about, fresh_adversary=True, model=model, **change)


_SWEEP = dict(train_size=20_000, epochs_step1=20, epochs_step2=15)
_PAPER = dict(train_size=None, epochs_step1=30, epochs_step2=30, swap_grid=True)
SETTINGS: dict[str, dict[str, dict]] = {
    "xcov": {
        "paper": dict(about="all 60k images, 30 epochs (the full profile)",
                      train_size=None, epochs=30, n_probe=10_000),
    },
    "two_step": {
        "sweep-base": dict(about="the chapter's settings, 20k images", **_SWEEP),
        "sweep-wide-adversary": dict(
            about="adversary 3 x 256 (the probe's width) instead of 3 x 64",
            model=dict(adversary_hidden=_WIDE), **_SWEEP),
        "sweep-lambda5": dict(about="lambda = 5 instead of 1",
                              model=dict(adv_weight=5.0), **_SWEEP),
        "sweep-uniform": dict(about="bounded loss: adversary's output towards uniform",
                              model=dict(adversarial_loss="uniform"), **_SWEEP),
        "sweep-fast-adversary": dict(about="adversary Adam 1e-3 -> 3e-3, 20 updates",
                                     model=dict(adversary_steps=20),
                                     optim=dict(adversary_learning_rate=3e-3), **_SWEEP),
        "sweep-z8": dict(about="a smaller Z: 8 units instead of 16",
                         model=dict(style_dim=8), **_SWEEP),
        "sweep-fresh-adversary": dict(
            about="the adversary draws a fresh random batch for each of its updates",
            fresh_adversary=True, **_SWEEP),
        "sweep-z8-wide": dict(about="8 units and adversary 3 x 256, together",
                              model=dict(style_dim=8, adversary_hidden=_WIDE),
                              **_SWEEP),
        "sweep-fresh-z8-wide": _fresh_wide(
            "fresh batches for the adversary, 8 units and adversary 3 x 256", **_SWEEP),
        "sweep-fresh-z8-wide-lambda2": _fresh_wide(
            "sweep-fresh-z8-wide with lambda = 2 instead of 1", adv_weight=2.0, **_SWEEP),
        "sweep-fresh-z4-wide": _fresh_wide(
            "sweep-fresh-z8-wide with a 4-unit Z instead of 8", style_dim=4, **_SWEEP),
        "paper-fresh-z8-wide": _fresh_wide(
            "all 60k images, 30 + 30 epochs, sweep-fresh-z8-wide's model", **_PAPER),
        "paper-fresh-z8-wide-lambda2": _fresh_wide(
            "all 60k images, 30 + 30 epochs, sweep-fresh-z8-wide-lambda2's model",
            adv_weight=2.0, **_PAPER),
        "paper-fresh-z4-wide": _fresh_wide(
            "all 60k images, 30 + 30 epochs, sweep-fresh-z4-wide's model", style_dim=4,
            **_PAPER),
        "paper": dict(about="all 60k images, 30 + 30 epochs, adversary 3 x 256",
                      model=dict(adversary_hidden=_WIDE), **_PAPER),
    },
    "ksparse_cvae": {
        "book-seeds": dict(about="the book run (20k images, 15 epochs), more seeds",
                           train_size=20_000, epochs=15, n_probe=10_000,
                           variants=["k=1", "k=3", "k=10", "no classifier"]),
        "paper": dict(about="all 60k images, 50 epochs (the full profile)",
                      train_size=None, epochs=50, n_probe=20_000,
                      variants=["k=1", "k=3", "k=10", "no classifier"]),
    },
    "jade": {
        "book-seeds": dict(about="the book run (4 epochs over 20k MNIST), more seeds",
                           **_JADE_BOOK, jade=dict(_JADE_CHAPTER)),
        "book-seeds-ablation": dict(
            about="the chapter's ablation: its JADE, and the same JADE with "
                  "match_weight=0, each measured with ablation_card (book size)",
            **_JADE_BOOK, kinds=["jade"], jade=dict(_JADE_CHAPTER),
            ablation=dict(match_weight=0.0), n_var=2000),
        "book-seeds-sample": dict(about="book-seeds, the classifier reading the sampled "
                                  "content in training, KL weight 4",
                                  **_JADE_BOOK, jade=dict(_JADE_SAMPLED)),
        "book-seeds-contrast": dict(
            about="book-seeds-sample on grey, contrast-stretched, light-on-dark stand-in "
                  "images (the ladder and judged swaps)",
            **_JADE_BOOK, scarce_contrast=True, legibility=True, jade=dict(_JADE_SAMPLED)),
        "longer-sample": dict(about="longer, the classifier reading the sampled content "
                              "in training, KL weight 4 (JADE only), judged swaps",
                              **_JADE_LONGER, kinds=["jade"], legibility=True,
                              jade=dict(_JADE_SAMPLED)),
        "longer-contrast": dict(
            about="book-seeds-contrast at longer's length (all 60k MNIST images, "
                  "10 epochs, every stand-in image): the ladder and judged swaps",
            **_JADE_LONGER, scarce_contrast=True, legibility=True,
            jade=dict(_JADE_SAMPLED)),
        # what makes the stand-in decoder's swaps legible, one change at a time
        "legible-base": _legible("KL weight 4, as in the chapter"),
        "legible-kl1": _legible("KL weight 1 instead of 4", kl_weight=1.0),
        "legible-labels900": _legible("900 labels per class (9 in 10 stand-in images)",
                                      per_class=900),
        "legible-epochs12": _legible("12 epochs instead of 4", epochs=12),
        "legible-elbo10": _legible("ELBO weight 0.03 instead of 0.003",
                                   elbo_weight=0.03),
        "legible-contrast": _legible("stand-in images grey, contrast-stretched, digit "
                                     "light on dark", scarce_contrast=True),
        "longer": dict(about="all 60k MNIST images, 10 epochs", **_JADE_LONGER,
                       jade=dict(_JADE_CHAPTER)),
    },
}

# --------------------------------------------------------------------------------------
# Running, recording, resuming
# --------------------------------------------------------------------------------------


def _cache_dir() -> Path:
    path = ROOT / "_build" / "paper_scale_cache"  # weights are never committed
    path.mkdir(parents=True, exist_ok=True)
    return path


def _step1_cache(data, epochs: int, seed: int) -> Path:
    """Step 1's weights file, keyed by everything that determines them: the training
    images and labels (digest), the exported two-step code and the helpers' version,
    the number of epochs and the seed."""
    import hashlib

    import helpers
    import helpers.papers.two_step as code

    key = hashlib.sha256()
    for part in (np.ascontiguousarray(data.x_train), np.ascontiguousarray(data.y_train)):
        key.update(part.tobytes())
    key.update(Path(code.__file__).read_bytes())
    key.update(f"{helpers.__version__}|{epochs}|{seed}".encode())
    return _cache_dir() / (f"two_step_step1_n{len(data.x_train)}_e{epochs}_seed{seed}_"
                           f"{key.hexdigest()[:16]}.npz")


def _load_weights(model, cache: Path) -> bool:
    """Load ``model``'s weights from ``cache``; False (and the entry removed, with a
    message) when it is missing, cut short or does not fit the model."""
    if not cache.is_file():
        return False
    try:
        with np.load(cache) as saved:
            arrays = [saved[f"w{i}"] for i in range(len(model.weights))]
            if len(saved.files) != len(arrays) or any(
                    a.shape != tuple(w.shape) for a, w in zip(arrays, model.weights, strict=True)):
                raise ValueError("the saved weights do not fit the model")
    except Exception as err:  # noqa: BLE001 - any broken entry is rebuilt
        print(f"Cached weights {cache.name} unusable ({type(err).__name__}: {err}); "
              "removed, training again.", flush=True)
        cache.unlink(missing_ok=True)
        return False
    for weight, array in zip(model.weights, arrays, strict=True):
        weight.assign(array)
    return True


def _save_weights(model, cache: Path) -> None:
    """Save ``model``'s weights to ``cache`` atomically (a kill never leaves half a file)."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **{f"w{i}": w.numpy() for i, w in enumerate(model.weights)})
    atomic_write_bytes(cache, buffer.getvalue())


def _commit() -> str:
    try:
        # "-dirty" when the run's code differs from the commit (uncommitted changes)
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=7"],
                             cwd=ROOT, capture_output=True, text=True, timeout=10,
                             check=True)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def result_path(chapter: str, setting: str, seed: int, root: Path | None = None) -> Path:
    """Where the run of ``chapter``/``setting``/``seed`` is recorded."""
    base = root if root is not None else ROOT / "results"
    return runs.setting_record_path(CHAPTER_DIRS[chapter], setting, seed, base)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # NumPy scalars
        return value.item()
    return value


@contextlib.contextmanager
def _locked(lock: Path | None):
    if lock is None:
        yield
        return
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_one(chapter: str, setting: str, seed: int, root: Path | None = None,
            lock: Path | None = None, commit: str | None = None) -> Path | None:
    """Run one setting with one seed unless its file exists; return the file's path.

    ``commit``: the code's commit when this process started (its modules were imported
    then); by default, the commit now, before the run (a commit made while it runs
    does not describe its code)."""
    path = result_path(chapter, setting, seed, root)
    if path.exists():
        print(f"{chapter}/{setting}/seed{seed}: recorded already, skipped", flush=True)
        return None
    commit = commit if commit is not None else _commit()
    params = SETTINGS[chapter][setting]
    with _locked(lock):
        print(f"{chapter}/{setting}/seed{seed}: {params['about']}", flush=True)
        start = time.perf_counter()
        values = RUNNERS[chapter]({k: v for k, v in params.items() if k != "about"}, seed)
        seconds = time.perf_counter() - start
    # a runner may return figures: saved next to the record, before it (atomically)
    figures = values.pop("_figures", {})
    if figures:
        import matplotlib.pyplot as plt

        path.parent.mkdir(parents=True, exist_ok=True)
    for name, fig in figures.items():
        with atomic_write(figure_path(path, name), "wb") as handle:
            fig.savefig(handle, format="png", dpi=80, bbox_inches="tight")
        plt.close(fig)
    record = {"chapter": CHAPTER_DIRS[chapter], "setting": setting, "seed": seed,
              "params": params, "values": values, "seconds": round(seconds, 1),
              "hardware": hardware_summary(), "date": date.today().isoformat(),
              "commit": commit, "data": runs.data_used(),
              "mnist": "offline fallback subset" if values.get("mnist_fallback")
              else "real MNIST"}
    # atomic; on a full disk the values are printed and kept (write_record says where)
    write_record(path, _jsonable(record))
    print(f"{chapter}/{setting}/seed{seed}: {seconds / 60:.1f} min -> "
          f"{path.relative_to(ROOT) if root is None else path}", flush=True)
    return path


def recorded_table(root: Path | None = None) -> str:
    """Every recorded run as a Markdown table: what ran, the command that runs it
    again, its wall time, date and commit (the closing notes' list of long runs)."""
    base = root if root is not None else ROOT / "results"
    chapters = {v: k for k, v in CHAPTER_DIRS.items()}
    records = list(runs.all_setting_runs(base))
    if not records:
        return "*(no recorded runs)*"
    lines = ["| chapter | setting | seed | minutes | date | commit | command |",
             "|---|---|---|---|---|---|---|"]
    for r in sorted(records, key=lambda r: (r["chapter"], r["setting"], r["seed"])):
        name = chapters.get(r["chapter"], r["chapter"])
        lines.append(f"| {name} | {r['setting']} | {r['seed']} | {r['seconds'] / 60:.1f} "
                     f"| {r['date']} | {r['commit']} | `experiments/paper_scale.py {name} "
                     f"{r['setting']} --seeds {r['seed']}` |")
    hours = sum(r["seconds"] for r in records) / 3600
    return "\n".join(lines) + f"\n\n{len(records)} runs, {hours:.1f} hours in all."


def _check_names(chapter: str, settings: list[str]) -> None:
    if chapter not in SETTINGS:
        raise SystemExit(f"unknown chapter {chapter!r}; choose from {sorted(SETTINGS)}")
    unknown = [s for s in settings if s not in SETTINGS[chapter]]
    if unknown:
        raise SystemExit(f"unknown setting(s) {unknown} for {chapter}; choose from "
                         f"{sorted(SETTINGS[chapter])} (see --list)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapter", nargs="?", help=f"one of {sorted(SETTINGS)}")
    parser.add_argument("settings", nargs="*", help="setting names (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--list", action="store_true", help="list the settings")
    parser.add_argument("--lock", type=Path, help="hold this file's lock while training")
    parser.add_argument("--recorded", action="store_true",
                        help="print every recorded run (a Markdown table) and stop")
    args = parser.parse_args(argv)
    if args.recorded:
        print(recorded_table())
        return 0
    if args.list or not args.chapter:
        for chapter, settings in SETTINGS.items():
            for name, params in settings.items():
                print(f"{chapter:13s} {name:22s} {params['about']}")
        return 0
    settings = args.settings or list(SETTINGS.get(args.chapter, {}))
    _check_names(args.chapter, settings)
    started_at = _commit()  # the code every run of this process uses
    for seed in args.seeds:
        for setting in settings:
            try:
                run_one(args.chapter, setting, seed, lock=args.lock, commit=started_at)
            except OSError as err:  # the record was printed and kept: stop the queue
                print(f"Stopped: {err}", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
