"""Run records: the one module that writes, finds and reads ``results/``.

A *record* is a JSON file describing one run — every reported number, the profile or
setting, the seed, the hardware, the time, and where the data came from.  Two kinds:

* a chapter's run (``tools/execute_notebook.py``): ``<chapter>/<profile>.json``;
* a paper-scale or sweep run (``experiments/paper_scale.py``):
  ``<chapter>/paper_scale/<setting>/seed<k>.json``, with its figures beside it.

Writing (:func:`write_record`) is atomic with a unique temporary (two writers never
collide; a reader never sees half a file).  A record made from fallback data (the
offline MNIST subset, the SVHN stand-in) never silently replaces one made from real
data: :class:`RecordRefused` says so unless ``replace_real=True``.  When a record cannot
be written (full disk, read-only folder), its values are printed and kept in a fallback
file (:func:`unsaved_dir`), so hours of training are never lost.

Reading looks, in order, in ``HF_RESULTS_DIR``, in the repository that holds the current
folder or this package, and in the copy of the records shipped inside the installed
package (``helpers/_records``), so a chapter opened outside a clone (Colab, a student's
folder) reads the same records as the book.  With ``HF_REQUIRE_RECORDS=1`` a record
that cannot be found raises :class:`RecordMissing` instead of reading as "nothing
recorded" (the Colab-like check sets it: a chapter outside a clone must show its tables).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from .files import atomic_write_text

__all__ = [
    "PAPER_SCALE_DIR", "REQUIRE_ENV_VAR", "RESULTS_DIR_ENV_VAR", "RecordMissing",
    "RecordRefused", "all_setting_runs",
    "chapter_record", "chapter_record_path", "chapter_runtimes", "data_used",
    "figure_path", "is_fallback_record", "is_real_record", "note_data", "read_record", "results_dirs",
    "setting_figure", "setting_record_path", "setting_runs", "unsaved_dir", "write_dir",
    "write_record",
]

RESULTS_DIR_ENV_VAR = "HF_RESULTS_DIR"
#: set to 1 to make a record that cannot be found an error, not "nothing recorded"
REQUIRE_ENV_VAR = "HF_REQUIRE_RECORDS"
PAPER_SCALE_DIR = "paper_scale"  # <chapter>/paper_scale/<setting>/seed<k>.json
#: the copy of ``results/`` inside an installed package (built into the wheel)
SHIPPED_DIR = Path(__file__).resolve().parent / "_records"
#: data sources that are stand-ins for the real data set
FALLBACK_SOURCES = frozenset({"offline-subset", "stand-in"})


class RecordRefused(RuntimeError):
    """A record from fallback data would have replaced one from real data."""


class RecordMissing(LookupError):
    """A record was asked for, none was found, and ``HF_REQUIRE_RECORDS=1`` is set."""


def _missing(what: str) -> None:
    """Raise :class:`RecordMissing` for ``what`` when records are required."""
    if os.environ.get(REQUIRE_ENV_VAR, "") == "1":
        looked = ", ".join(str(d) for d in results_dirs()) or "no results folder at all"
        raise RecordMissing(
            f"no record of {what} (looked in: {looked}). A chapter opened outside a clone "
            f"reads the records shipped with the helpers (helpers/_records): rebuild the "
            f"wheel from a checkout that has them, or unset {REQUIRE_ENV_VAR}.")


# --------------------------------------------------------------------------------------
# Where records live
# --------------------------------------------------------------------------------------

def _repository_results(start: Path) -> Path | None:
    """``results/`` of the course repository holding ``start``, if any."""
    for folder in (start, *start.parents):
        if (folder / "results").is_dir() and (folder / "_config.yml").is_file():
            return folder / "results"
    return None


def results_dirs() -> list[Path]:
    """The folders records are read from, first match wins.

    ``HF_RESULTS_DIR`` (when set), the repository that holds the current folder, the
    repository that holds this package (a clone used from elsewhere), and the records
    shipped with the installed package.  Folders that do not exist are left out.
    """
    found: list[Path] = []
    env = os.environ.get(RESULTS_DIR_ENV_VAR)
    candidates = [Path(env)] if env else []
    candidates += [_repository_results(Path.cwd().resolve()),
                   _repository_results(Path(__file__).resolve().parent), SHIPPED_DIR]
    for folder in candidates:
        if folder is not None and folder.is_dir() and folder not in found:
            found.append(folder)
    return found


def write_dir() -> Path:
    """Where records are written: ``HF_RESULTS_DIR``, else the repository's ``results/``."""
    env = os.environ.get(RESULTS_DIR_ENV_VAR)
    if env:
        return Path(env)
    repo = (_repository_results(Path.cwd().resolve())
            or _repository_results(Path(__file__).resolve().parent))
    if repo is None:
        raise FileNotFoundError(
            "Where to write run records: expected HF_RESULTS_DIR to be set or the current "
            f"folder ({Path.cwd()}) to be inside a clone of the course; got neither. "
            "Set HF_RESULTS_DIR to a writable folder.")
    return repo


def chapter_record_path(notebook: str, profile: str, base: Path | None = None) -> Path:
    """``<base>/<notebook>/<profile>.json`` (``base``: :func:`write_dir` by default)."""
    return (base if base is not None else write_dir()) / notebook / f"{profile}.json"


def setting_record_path(notebook: str, setting: str, seed: int, base: Path | None = None) -> Path:
    """``<base>/<notebook>/paper_scale/<setting>/seed<seed>.json``."""
    base = base if base is not None else write_dir()
    return base / notebook / PAPER_SCALE_DIR / setting / f"seed{seed}.json"


def figure_path(record: Path, name: str) -> Path:
    """Where the run recorded in ``record`` keeps its figure ``name``."""
    return record.with_name(f"{record.stem}_{name}.png")


# --------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------

def read_record(path: str | os.PathLike) -> dict:
    """Read one record; a file that is not valid JSON gets a message naming it."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(
            f"Run record {path.name} ({path.parent}): expected valid JSON, got {err}. It was "
            "not written by the course's tools (they write atomically): restore it with "
            "git checkout or delete it and re-run the command that records it.") from err


def _first(relative: str) -> Path | None:
    for base in results_dirs():
        if (base / relative).is_file():
            return base / relative
    return None


def chapter_record(notebook: str, profile: str = "full") -> dict | None:
    """The record of a run of chapter ``notebook`` in ``profile``, or ``None``."""
    path = _first(f"{notebook}/{profile}.json")
    if path is None:
        _missing(f"chapter {notebook}'s {profile} run")
        return None
    return read_record(path)


def setting_runs(notebook: str, setting: str) -> list[dict]:
    """Every recorded seed of one paper-scale setting, sorted by seed (``[]`` if none)."""
    for base in results_dirs():
        folder = base / notebook / PAPER_SCALE_DIR / setting
        files = sorted(folder.glob("seed*.json")) if folder.is_dir() else []
        if files:
            return sorted((read_record(p) for p in files), key=lambda r: r["seed"])
    _missing(f"setting {setting!r} of {notebook}")
    return []


def all_setting_runs(base: Path | None = None) -> Iterator[dict]:
    """Every paper-scale record under ``base`` (default: the first results folder)."""
    if base is None:
        dirs = results_dirs()
        if not dirs:
            return
        base = dirs[0]
    for path in sorted(base.glob(f"*/{PAPER_SCALE_DIR}/*/seed*.json")):
        yield read_record(path)


def chapter_runtimes(base: Path | None = None) -> dict[str, dict]:
    """Per chapter: wall time of its ``book`` and ``smoke`` runs, peak memory, hardware.

    Read from ``<chapter>/{book,smoke}.json`` and ``memory/book.json`` of ``base``
    (default: the first results folder); a value never recorded is ``None``.
    """
    if base is None:
        dirs = results_dirs()
        if not dirs:
            return {}
        base = dirs[0]

    def load(path: Path) -> dict:
        return read_record(path) if path.is_file() else {}

    memory = load(base / "memory" / "book.json").get("chapters", {})
    out = {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir() and p.name[:2].isdigit()):
        book, smoke = load(folder / "book.json"), load(folder / "smoke.json")
        out[folder.name] = {
            "book_s": book.get("seconds"),
            "smoke_s": smoke.get("seconds"),
            "peak_mb": memory.get(folder.name, {}).get("peak_mb"),
            "hardware": sorted({r["hardware"] for r in (book, smoke) if "hardware" in r}),
        }
    return out


def setting_figure(notebook: str, setting: str, seed: int, name: str) -> Path | None:
    """The saved figure ``name`` of one paper-scale run, or ``None``."""
    path = _first(f"{notebook}/{PAPER_SCALE_DIR}/{setting}/seed{seed}_{name}.png")
    if path is None:
        _missing(f"the {name} figure of setting {setting!r} of {notebook}, seed {seed}")
    return path


# --------------------------------------------------------------------------------------
# Where the data came from
# --------------------------------------------------------------------------------------

_DATA_USED: dict[str, dict] = {}


def note_data(name: str, provenance: dict) -> None:
    """Remember that this process loaded data set ``name`` from ``provenance``.

    The loaders call it; :func:`data_used` gives what a run's record says of its data.
    """
    _DATA_USED[str(name)] = dict(provenance)


def data_used() -> dict[str, dict]:
    """The data sets this process loaded: ``{name: provenance}`` (see :func:`note_data`)."""
    return {name: dict(info) for name, info in _DATA_USED.items()}


def is_real_record(record: dict) -> bool:
    """True only when ``record`` says it was measured on real data for every data set.

    A record that does not say where its data came from (written before records did)
    is neither real nor fallback as far as this check knows: False.
    """
    data = record.get("data")
    if isinstance(data, dict) and data:
        infos = [data] if "source" in data else list(data.values())
        return all(isinstance(i, dict) and i.get("source") and
                   i["source"] not in FALLBACK_SOURCES for i in infos)
    return record.get("mnist") == "real MNIST" and not record.get("values", {}).get(
        "scarce_fallback", False)


def is_fallback_record(record: dict) -> bool:
    """True when ``record`` was measured on stand-in data (offline MNIST, SVHN stand-in).

    Reads the record's ``data`` field (one provenance per data set) and the older
    ``mnist`` / ``values.mnist_fallback`` fields.
    """
    data = record.get("data")
    if isinstance(data, dict):
        sources = [d.get("source") for d in data.values()] if "source" not in data else [data["source"]]
        if any(s in FALLBACK_SOURCES for s in sources):
            return True
    if record.get("mnist") == "offline fallback subset":
        return True
    return bool(record.get("values", {}).get("mnist_fallback"))


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------

def unsaved_dir() -> Path:
    """Where a record that could not be written is kept (outside the results folder)."""
    return Path(tempfile.gettempdir()) / "hidden-factors-unsaved-records"


def _keep_unsaved(path: Path, text: str, err: OSError) -> Path | None:
    """Print a record that could not be written and keep a copy; return the copy's path."""
    print(f"Could not write the run record {path} ({err}). Its content follows, so the "
          "run is not lost:", file=sys.stderr)
    print(text, file=sys.stderr, flush=True)
    try:
        folder = unsaved_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        parts = path.parts[-4:] if PAPER_SCALE_DIR in path.parts else path.parts[-2:]
        copy = folder / f"{stamp}_{os.getpid()}_{'_'.join(parts)}"
        atomic_write_text(copy, text)
    except OSError as second:
        print(f"A copy could not be kept either ({second}).", file=sys.stderr)
        return None
    print(f"A copy is kept in {copy}: move it to {path} once there is room.", file=sys.stderr)
    return copy


def write_record(path: str | os.PathLike, record: dict, replace_real: bool = False) -> Path:
    """Write ``record`` to ``path`` as JSON, atomically; return ``path``.

    Refuses (:class:`RecordRefused`) to replace a record that says it was measured on
    real data with one measured on fallback data, unless ``replace_real`` (a record that
    does not say where its data came from is replaced).  If the file cannot be written
    (``OSError``: full disk, read-only folder), the record is printed to stderr and kept
    in :func:`unsaved_dir`, and the ``OSError`` is raised again with that copy's path.
    """
    path = Path(path)
    text = json.dumps(record, indent=1, sort_keys=True) + "\n"
    if not replace_real and is_fallback_record(record) and path.is_file():
        try:
            old = read_record(path)
        except ValueError:
            old = None
        if old is not None and is_real_record(old):
            raise RecordRefused(
                f"Run record {path.name}: expected a run on the real data set to replace the "
                "recorded one, which was measured on real data; got a run on fallback data "
                f"({_describe_data(record)}). Put the data in HF_DATA_DIR (or go online) and "
                "run again, or pass replace_real=True (tools: --replace-real) to replace it "
                "anyway.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, text)
    except OSError as err:
        copy = _keep_unsaved(path, text, err)
        where = f"; the record is kept in {copy}" if copy else ""
        raise OSError(err.errno, f"{err.strerror or err} writing the run record {path}{where}") from err
    return path


def _describe_data(record: dict) -> str:
    data = record.get("data")
    if isinstance(data, dict):
        if "source" in data:
            return str(data["source"])
        return ", ".join(f"{k}: {v.get('source')}" for k, v in data.items() if isinstance(v, dict))
    return "offline fallback subset"
