"""The first and last cells of every chapter, and what chapters use to show their code.

* :func:`setup` — profile, seeds, plotting defaults and a banner (first cell);
* :func:`report` — print a measured number and glue it for the prose;
* :func:`runtime_note` — the last cell: how long this run took, on what; when
  ``HF_RESULTS_DIR`` is set (``tools/execute_notebook.py`` sets it) it also
  writes every reported number to ``results/<chapter>/<profile>.json``;
* :func:`recorded_results` — read such a file back (e.g. the ``full`` run), and
  :func:`glue_record` — make its values citable in prose;
* :func:`paper_scale_runs` — read the runs of ``experiments/paper_scale.py`` (one
  file per setting and seed; ``helpers.eval.tables.runs_table`` shows them);

reading and writing records is :mod:`helpers.runs`'s job (these are its chapter-facing
names).  :func:`~helpers.core.classes.add_to_class`, which defines a class across
several short cells, lives next to the model interface in :mod:`helpers.core.classes`.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import platform
import sys
import time
from pathlib import Path

from . import pretrained as pretrained_weights
from . import runs
from .core.profile import Profile, check_seed, get_profile
from .runs import PAPER_SCALE_DIR, RESULTS_DIR_ENV_VAR, figure_path, write_record  # noqa: F401
from .text import LINE_WIDTH, wrap  # noqa: F401  (chapters import wrap from here)

NOTEBOOK_ENV_VAR = "HF_NOTEBOOK"
#: set to 1 to let a run on fallback data replace a record measured on real data
REPLACE_REAL_ENV_VAR = "HF_REPLACE_REAL"

_RUN: dict = {"start": None, "profile": None, "seed": None, "values": {}}


def hardware_summary() -> str:
    """A short description of the machine: CPU cores and any GPU TensorFlow sees."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    gpu = ""
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        gpu = f", GPU: {details.get('device_name', gpus[0].name)}"
    return f"{platform.machine()} CPU, {os.cpu_count()} cores{gpu}"


def _sharp_figures() -> None:
    """In a notebook, draw figures at twice their pixel size (sharp on high-DPI screens)."""
    try:
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    if get_ipython() is not None:
        set_matplotlib_formats("retina")


def setup(profile: str | None = None, seed: int | None = None, quiet: bool = False,
          chapter: str | None = None, pretrained: bool | None = None) -> Profile:
    """Read ``HF_PROFILE``, seed everything, set plot defaults; return the profile.

    ``seed`` overrides the profile's seed (``P.seed`` of the returned profile).
    Values :func:`report`-ed before (an earlier cell, or a re-run of this one) are
    kept for the run's record; a change of profile starts a fresh record.

    Prints a short banner (profile, seed, library versions, hardware) that stays
    in the rendered book, so every result carries what produced it. Sizes are
    not printed here: each chapter picks its own from the profile and prints
    them where it loads its data and trains.  The clock of
    :func:`runtime_note` starts here.

    ``pretrained=True`` (the chapter's ``PRETRAINED`` switch; ``None`` reads
    ``HF_PRETRAINED``) makes every ``train`` call of ``chapter`` load the book run's
    weights instead of training (:mod:`helpers.pretrained`); the default trains.
    """
    import keras
    import matplotlib.pyplot as plt
    import tensorflow as tf

    P = get_profile(profile)
    if seed is not None:  # the returned profile carries it, so every later `P.seed` follows
        P = dataclasses.replace(P, seed=check_seed(seed))
    keras.utils.set_random_seed(P.seed)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "font.size": 10,
                         "axes.titlesize": 10, "xtick.labelsize": 9, "ytick.labelsize": 9,
                         "legend.fontsize": 9, "figure.max_open_warning": 50})
    _sharp_figures()
    values = _RUN["values"] if _RUN["profile"] in (None, P.name) else {}
    _RUN.update(start=time.perf_counter(), profile=P.name, seed=P.seed, values=values)
    loading = pretrained_weights.configure(chapter, P.name, pretrained)
    if not quiet:
        print(f"Hidden Factors · profile={P.name} (set HF_PROFILE to change) · "
              f"seed={P.seed}")
        if loading:
            print("PRETRAINED: models load the book run's weights instead of training "
                  "(set PRETRAINED = False to train them yourself)")
        print(f"keras {keras.__version__} · tensorflow {tf.__version__} · {hardware_summary()}")
    return P


def report(name: str, value: float, fmt: str = "{:.4g}", label: str | None = None,
           show: bool = True) -> None:
    """Print a measured number and make it citable in the book's prose.

    The value is printed (``label: value``) and, when ``myst_nb`` is present
    (the book build), also *glued* under ``name``: the executed notebook keeps it
    in an output, and Markdown cells cite it as ``<!--#name:.1%-->…<!--/-->`` (any
    Python format spec), which :mod:`helpers.cited_numbers` fills from the run.
    Numbers in the text are therefore always the ones this run measured.
    The value is also kept for the run's results file (see :func:`runtime_note`).
    ``show=False`` records and glues without printing (when a table shows it).
    """
    value = float(value)
    if show:
        print(wrap(f"{label or name}: {fmt.format(value)}"))
    _RUN["values"][name] = value
    try:
        from myst_nb import glue
    except ImportError:  # e.g. on Colab: printing is enough
        return
    glue(name, value, display=False)


def runtime_note() -> None:
    """Print how long the chapter took since :func:`setup`, on what (a chapter's last cell).

    With ``HF_RESULTS_DIR`` (and ``HF_NOTEBOOK``) set, the record — profile,
    seed, seconds, hardware, library versions and every :func:`report`-ed
    value — is written to ``$HF_RESULTS_DIR/<notebook>/<profile>.json``.
    """
    import keras
    import tensorflow as tf

    if _RUN["start"] is None:
        raise RuntimeError("runtime_note() measures from setup(); call setup() first.")
    seconds = time.perf_counter() - _RUN["start"]
    record = {
        "notebook": os.environ.get(NOTEBOOK_ENV_VAR, ""),
        "profile": _RUN["profile"], "seed": _RUN["seed"], "seconds": round(seconds, 1),
        "hardware": hardware_summary(),
        "versions": {"keras": keras.__version__, "tensorflow": tf.__version__},
        "date": datetime.date.today().isoformat(),
        "values": dict(_RUN["values"]),
    }
    data = runs.data_used()
    if data:
        record["data"] = data
    minutes = f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"
    print(wrap(f"Runtime: this page's outputs come from one top-to-bottom run in {minutes} "
               f"(profile {record['profile']}, seed {record['seed']}, {record['hardware']})."))
    out_dir = os.environ.get(RESULTS_DIR_ENV_VAR)
    if out_dir and record["notebook"]:
        path = runs.chapter_record_path(record["notebook"], record["profile"], Path(out_dir))
        replace_real = os.environ.get(REPLACE_REAL_ENV_VAR, "") == "1"
        try:
            write_record(path, record, replace_real=replace_real)
        except OSError as err:  # printed and kept by write_record; the page itself is fine
            print(wrap(f"The run record was not written: {err}"), file=sys.stderr)


def recorded_results(notebook: str, profile: str = "full") -> dict | None:
    """The record a repo run of ``notebook`` in ``profile`` wrote, or ``None``.

    Looks where :func:`helpers.runs.results_dirs` says: ``HF_RESULTS_DIR``, the
    repository, and the records shipped with the installed package.
    """
    return runs.chapter_record(notebook, profile)


def paper_scale_runs(notebook: str, setting: str) -> list[dict]:
    """The records of ``experiments/paper_scale.py`` for one setting, one per seed.

    An empty list when nothing is recorded.
    """
    return runs.setting_runs(notebook, setting)


def paper_scale_figure(notebook: str, setting: str, seed: int, name: str) -> Path | None:
    """The saved figure ``name`` of one paper-scale run, or None if there is none."""
    return runs.setting_figure(notebook, setting, seed, name)


def show_paper_scale_figure(notebook: str, setting: str, runs: list[dict],
                            name: str = "swaps", width: int = 560) -> None:
    """Show the saved figure ``name`` of the first recorded run of ``setting``, or print
    the command that records it (nothing recorded, e.g. outside a clone).

    ``runs`` are the setting's records as :func:`paper_scale_runs` reads them; the
    first seed of a run saves its figures.  Returns nothing, so that a cell ending
    with the call shows only the figure.
    """
    png = paper_scale_figure(notebook, setting, runs[0]["seed"], name) if runs else None
    if png is None:
        from .chapters import module_name

        chapter = module_name(notebook)  # "03_jade" -> "jade", as the script says
        print(wrap(f"No {name} figure recorded in this copy: python "
                   f"experiments/paper_scale.py {chapter} {setting} --seeds 0 1 2"))
        return
    from IPython.display import Image, display

    display(Image(filename=str(png), width=width))


def glue_record(record: dict, prefix: str) -> None:
    """Glue every value of a recorded run as ``prefix + name``, so prose can cite it.

    Nothing is printed: show the values in a table next to it.  E.g. the
    value ``ks_k1_accuracy`` of a ``full`` record glued with prefix ``full_``
    is cited as ``<!--#full_ks_k1_accuracy:.1%-->…<!--/-->``.
    """
    try:
        from myst_nb import glue
    except ImportError:  # e.g. on Colab: the table shows the values
        return
    for name, value in record["values"].items():
        glue(prefix + name, float(value), display=False)
