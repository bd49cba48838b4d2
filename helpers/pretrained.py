"""The book run's trained weights: saved when the run is recorded, loaded instead of training.

A chapter's first cells carry one switch (the UvA notebooks' convention)::

    PRETRAINED = False  # True: load the book run's trained weights instead of training
    P = setup(chapter="01_xcov", pretrained=PRETRAINED)

With the switch off (the default) every model trains, as always.  With it on,
each call of :func:`helpers.core.training.train` loads the weights that the same
call reached in the recorded book run, and returns that run's training log, so
the figures and numbers that follow are the book's.  Nothing else changes: the
same cells build the same models and measure them the same way.

**Keys.**  A call is known by its ``label`` and how many calls with that label came
before it since :func:`configure` (``setup`` calls it): ``xcov-10-1`` is the
first call labelled "XCov (γ = 10)".  Variables are matched by position in
``model.variables`` (the weights and the random generators' states, so that what
samples after loading samples as after training) and checked by shape (Keras' layer
names depend on how many layers a process created before; they are only kept for
reading).

**Saving.**  ``tools/execute_notebook.py``, the command that records a run, sets
``HF_WEIGHTS_OUT`` to a fresh folder: every ``train`` call writes one
``<key>.npz`` there (the weights as float32 arrays, plus a JSON description: the
label, the model's class, its weights' names and shapes, the log).  After the
run, :func:`pack` zips the folder into one asset per chapter and profile and
writes its manifest, ``results/<chapter>/weights-<profile>.json`` (asset name,
SHA-256, size, keys, the release URL).  The manifest is committed and shipped in
the wheel; the asset is never committed: ``tools/release.py`` checks it and
says how to attach it to the release.  The same ``.npz`` files are what the
book's in-page models are exported from.

**Loading.**  The asset is looked for in ``HF_WEIGHTS_DIR`` (a folder), then in a
clone's ``_build/weights/`` (where a local recorded run left it), then fetched
from the manifest's URL with :func:`helpers.data.downloads.fetch_file`
(checksummed, atomic, bounded, with progress).  Whatever fails — no manifest for
this profile, offline, a wrong checksum, a model that does not match — is said
loudly, and that call trains instead: the switch can never leave a learner
without a model, and never hangs.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .files import atomic_write_bytes, atomic_write_text

WEIGHTS_OUT_ENV_VAR = "HF_WEIGHTS_OUT"
WEIGHTS_DIR_ENV_VAR = "HF_WEIGHTS_DIR"
PRETRAINED_ENV_VAR = "HF_PRETRAINED"
#: where a recorded run leaves its packed assets, in a clone (never committed)
BUILD_DIR = Path("_build") / "weights"
#: the most bytes one chapter's asset may have (the largest book asset is a few MB)
MAX_ASSET_BYTES = 200 * 1024 * 1024
#: seconds a download of one asset may take, first byte to last
DOWNLOAD_DEADLINE_S = 300.0
FORMAT = "hidden-factors-weights/1"


class WeightsMismatch(ValueError):
    """Saved weights that do not fit the model being loaded (count or shapes differ)."""


@dataclass
class _State:
    chapter: str | None = None
    profile: str | None = None
    pretrained: bool = False
    counts: collections.Counter = field(default_factory=collections.Counter)
    folder: Path | None = None  # the unpacked asset, once fetched
    failed: str | None = None  # why the asset could not be had (said once, then train)
    always_train: int = 0  # > 0 inside always_train(): a check of training itself


_STATE = _State()


def configure(chapter: str | None, profile: str, pretrained: bool | None = None) -> bool:
    """Start a chapter's run: which chapter, which profile, whether to load weights.

    ``pretrained=None`` reads ``HF_PRETRAINED`` ("1" loads).  The count of calls per
    label starts again, so re-running a chapter from the top meets the same keys.
    Returns whether weights will be loaded.
    """
    if pretrained is None:
        pretrained = os.environ.get(PRETRAINED_ENV_VAR, "") == "1"
    if not isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be True or False; got {pretrained!r}.")
    if pretrained and os.environ.get(WEIGHTS_OUT_ENV_VAR):
        raise RuntimeError("This run is being recorded (HF_WEIGHTS_OUT is set), and a "
                           "recorded run must train: set PRETRAINED = False.")
    if pretrained and not chapter:
        raise ValueError("pretrained=True needs the chapter's name, e.g. "
                         "setup(chapter=\"01_xcov\", pretrained=True).")
    same = (_STATE.chapter, _STATE.profile) == (chapter, profile)
    _STATE.chapter, _STATE.profile, _STATE.pretrained = chapter, profile, pretrained
    _STATE.counts = collections.Counter()
    if not same:
        _STATE.folder, _STATE.failed = None, None
    return pretrained


def slug(label: str) -> str:
    """A file-name-safe form of a training label ("XCov (γ = 10)" -> "xcov-10")."""
    text = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return text[:60].strip("-") or "model"


def next_key(label: str) -> str:
    """The key of this ``train`` call: the label's slug and its occurrence (from 1)."""
    base = slug(label)
    _STATE.counts[base] += 1
    return f"{base}-{_STATE.counts[base]}"


# ------------------------------------------------------------------------ saving
def save(model, key: str, label: str, history: dict, seconds: float,
         folder: str | os.PathLike) -> Path:
    """Write one call's weights and log to ``folder/<key>.npz`` (atomically)."""
    weights = list(model.variables)
    meta = {"format": FORMAT, "key": key, "label": label, "model": type(model).__name__,
            "names": [w.path for w in weights],
            "shapes": [list(w.shape) for w in weights],
            "history": history, "seconds": round(float(seconds), 3)}
    arrays = {f"w{i:03d}": np.asarray(w.numpy()) for i, w in enumerate(weights)}
    buffer = io.BytesIO()
    np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
    Path(folder).mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(Path(folder) / f"{key}.npz", buffer.getvalue())


def saving_folder() -> Path | None:
    """The folder this run saves its weights to (``HF_WEIGHTS_OUT``), if any."""
    out = os.environ.get(WEIGHTS_OUT_ENV_VAR)
    return Path(out) if out else None


def read(path: str | os.PathLike) -> tuple[dict, list[np.ndarray]]:
    """``(meta, arrays)`` of one saved call (a ``.npz`` that :func:`save` wrote)."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("format") != FORMAT:
            raise WeightsMismatch(f"{Path(path).name} is not a {FORMAT} file.")
        arrays = [data[f"w{i:03d}"] for i in range(len(meta["shapes"]))]
    return meta, arrays


def assign(model, meta: dict, arrays: list[np.ndarray]) -> None:
    """Set ``model``'s weights to ``arrays`` after checking their count and shapes."""
    weights = list(model.variables)
    if len(weights) != len(arrays):
        raise WeightsMismatch(
            f"the saved {meta.get('model')} has {len(arrays)} weight arrays, this "
            f"{type(model).__name__} has {len(weights)}: the model was changed after the "
            "book run (or the cells ran in another order).")
    for i, (w, a) in enumerate(zip(weights, arrays, strict=True)):
        if tuple(w.shape) != tuple(a.shape):
            raise WeightsMismatch(
                f"weight {i} ({w.path}) has shape {tuple(w.shape)}; the book run's has "
                f"{tuple(a.shape)}: the model was changed after the book run.")
    for w, a in zip(weights, arrays, strict=True):
        w.assign(a)


# ---------------------------------------------------------------- packing assets
def asset_name(chapter: str, profile: str) -> str:
    """The release asset of a chapter's weights, e.g. ``01_xcov-book-weights.zip``."""
    return f"{chapter}-{profile}-weights.zip"


def manifest_path(chapter: str, profile: str, base: Path) -> Path:
    """Where a chapter's weights manifest lives under a results folder."""
    return base / chapter / f"weights-{profile}.json"


def pack(folder: str | os.PathLike, chapter: str, profile: str, results: Path,
         assets: Path, url: str) -> dict | None:
    """Zip ``folder``'s ``.npz`` files into ``assets/<asset>`` and write the manifest.

    The zip is reproducible (sorted names, fixed dates).  ``url`` is where the release
    will serve the asset (:func:`asset_name` is appended when it ends in ``/``).
    Returns the manifest, or ``None`` when the run saved nothing.
    """
    files = sorted(Path(folder).glob("*.npz"))
    if not files:
        return None
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            info = zipfile.ZipInfo(f.name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, f.read_bytes())
    data = buffer.getvalue()
    name = asset_name(chapter, profile)
    Path(assets).mkdir(parents=True, exist_ok=True)
    manifest_path(chapter, profile, Path(results)).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(assets) / name, data)
    manifest = {"format": FORMAT, "chapter": chapter, "profile": profile, "asset": name,
                "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                "url": url + name if url.endswith("/") else url,
                "keys": [f.stem for f in files]}
    atomic_write_text(manifest_path(chapter, profile, Path(results)),
                      json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


# ---------------------------------------------------------------------- loading
def _manifest(chapter: str, profile: str) -> dict | None:
    from .runs import results_dirs

    for base in results_dirs():
        path = manifest_path(chapter, profile, base)
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    return None


def _local_asset(manifest: dict) -> Path | None:
    """A copy of the asset already on this machine with the right checksum, if any."""
    from .data.downloads import cached_file_ok
    from .runs import _repository_results

    folders = []
    if os.environ.get(WEIGHTS_DIR_ENV_VAR):
        folders.append(Path(os.environ[WEIGHTS_DIR_ENV_VAR]))
    results = _repository_results(Path.cwd())
    if results is not None:
        folders.append(results.parent / BUILD_DIR)
    for folder in folders:
        path = folder / manifest["asset"]
        if cached_file_ok(path, manifest["sha256"]):
            return path
    return None


def _unpack(asset: Path, sha256: str) -> Path:
    """The asset unpacked into the cache (once per checksum; atomic)."""
    from .data.downloads import default_cache_dir

    target = default_cache_dir() / "weights" / sha256[:16]
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    try:
        with zipfile.ZipFile(asset) as zf:
            for name in zf.namelist():  # only flat .npz names: nothing can land elsewhere
                if "/" in name or "\\" in name or not name.endswith(".npz"):
                    raise WeightsMismatch(f"unexpected file {name!r} in {asset.name}")
                (tmp / name).write_bytes(zf.read(name))
        with contextlib.suppress(OSError):
            os.replace(tmp, target)  # another process may have won the race: fine
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _folder() -> Path | None:
    """The unpacked weights of this chapter and profile, or None (said once why)."""
    if _STATE.folder is not None or _STATE.failed is not None:
        return _STATE.folder
    from .data.downloads import DownloadError, fetch_file

    chapter, profile = _STATE.chapter, _STATE.profile
    manifest = _manifest(chapter, profile)
    if manifest is None:
        _STATE.failed = (f"no recorded weights of {chapter} for profile {profile!r} "
                         "(the book publishes the 'book' profile's: HF_PROFILE=book)")
    else:
        try:
            asset = _local_asset(manifest)
            if asset is None:
                asset, _ = fetch_file(manifest["url"], manifest["asset"], manifest["sha256"],
                                      deadline=DOWNLOAD_DEADLINE_S,
                                      max_bytes=min(int(manifest["bytes"]), MAX_ASSET_BYTES))
            _STATE.folder = _unpack(asset, manifest["sha256"])
        except (DownloadError, OSError, zipfile.BadZipFile, WeightsMismatch) as err:
            _STATE.failed = f"the book run's weights could not be had: {err}"
    if _STATE.failed:
        print(f"⚠ PRETRAINED is on, but {_STATE.failed}. Every model of this chapter "
              "trains instead.")
    return _STATE.folder


def load(model, key: str) -> dict | None:
    """Load the weights of call ``key`` into ``model``; its saved meta, or None to train.

    ``model`` must have its weights created (``train`` builds them first).  Anything
    that goes wrong is printed and gives ``None``: the caller then trains.
    """
    folder = _folder()
    if folder is None:
        return None
    path = folder / f"{key}.npz"
    if not path.is_file():
        print(f"⚠ PRETRAINED: the book run has no weights for {key!r}; training it instead.")
        return None
    try:
        meta, arrays = read(path)
        assign(model, meta, arrays)
    except (WeightsMismatch, OSError, ValueError, KeyError) as err:
        print(f"⚠ PRETRAINED: {key!r} could not be loaded ({err}); training it instead.")
        return None
    return meta


def loading() -> bool:
    """Whether this run loads weights instead of training (the chapter's switch)."""
    return _STATE.pretrained and not _STATE.always_train


@contextlib.contextmanager
def always_train():
    """Train inside this block whatever the switch says: for a check of training itself
    (how many updates a step makes, what it leaves frozen), which loaded weights would
    skip."""
    _STATE.always_train += 1
    try:
        yield
    finally:
        _STATE.always_train -= 1
