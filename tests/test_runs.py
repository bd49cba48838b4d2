"""helpers.runs: the one owner of run records — atomic, honest about its data, never lost."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import load_script

from helpers import runs

ROOT = Path(__file__).resolve().parent.parent
REAL = {"profile": "smoke", "values": {"acc": 0.9}, "data": {"mnist": {"source": "data-dir"}}}
FALLBACK = {"profile": "smoke", "values": {"acc": 0.5},
            "data": {"mnist": {"source": "offline-subset"}}}


def test_a_record_is_written_and_read_back(tmp_path):
    path = runs.write_record(tmp_path / "00_warmup" / "smoke.json", REAL)
    assert runs.read_record(path) == REAL
    assert [p.name for p in path.parent.iterdir()] == ["smoke.json"]


def test_fallback_data_never_silently_replaces_a_real_record(tmp_path):
    path = tmp_path / "00_warmup" / "smoke.json"
    runs.write_record(path, REAL)
    with pytest.raises(runs.RecordRefused, match="real data.*offline-subset.*replace_real"):
        runs.write_record(path, FALLBACK)
    assert runs.read_record(path) == REAL
    runs.write_record(path, FALLBACK, replace_real=True)
    assert runs.read_record(path) == FALLBACK
    runs.write_record(path, FALLBACK)  # fallback over fallback is fine
    runs.write_record(path, REAL)  # and real data may always replace it


def test_a_record_that_does_not_say_its_data_is_replaced(tmp_path):
    """Records written before records named their data (chapter 3's, on the stand-in)."""
    path = tmp_path / "03_jade" / "book.json"
    runs.write_record(path, {"profile": "book", "values": {"acc": 0.5}})
    runs.write_record(path, {**FALLBACK, "data": {"SVHN": {"source": "stand-in"}}})
    assert runs.read_record(path)["data"] == {"SVHN": {"source": "stand-in"}}
    assert not runs.is_real_record({"values": {}})
    assert runs.is_real_record(REAL) and not runs.is_real_record(FALLBACK)
    assert not runs.is_real_record({"data": {"MNIST": {"source": "data-dir"},
                                             "SVHN": {"source": "stand-in"}}})


def test_older_records_say_fallback_their_own_way():
    assert runs.is_fallback_record({"mnist": "offline fallback subset"})
    assert runs.is_fallback_record({"values": {"mnist_fallback": True}})
    assert runs.is_fallback_record({"data": {"source": "stand-in"}})
    assert not runs.is_fallback_record({"mnist": "real MNIST", "values": {"mnist_fallback": False}})


def test_an_unwritable_folder_keeps_the_record_and_says_where(tmp_path, monkeypatch, capsys):
    if os.geteuid() == 0:  # root writes anywhere: a file where the folder should be instead
        blocked = tmp_path / "blocked"
        blocked.write_text("not a folder")
        target = blocked / "smoke.json"
    else:
        blocked = tmp_path / "ro"
        blocked.mkdir()
        blocked.chmod(0o500)
        target = blocked / "smoke.json"
    monkeypatch.setattr(runs, "unsaved_dir", lambda: tmp_path / "unsaved")
    with pytest.raises(OSError, match="kept in"):
        runs.write_record(target, REAL)
    err = capsys.readouterr().err
    assert '"acc": 0.9' in err  # the values are printed
    kept = list((tmp_path / "unsaved").iterdir())
    assert len(kept) == 1 and json.loads(kept[0].read_text()) == REAL


def test_a_broken_record_is_named_in_the_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"half": ')
    with pytest.raises(ValueError, match=r"x\.json.*valid JSON.*git checkout"):
        runs.read_record(path)


def test_records_are_read_from_the_env_folder_first(tmp_path, monkeypatch):
    runs.write_record(tmp_path / "01_xcov" / "full.json", {"values": {"a": 1.0}})
    runs.write_record(tmp_path / "01_xcov" / "paper_scale" / "s" / "seed1.json",
                      {"seed": 1, "values": {}})
    runs.write_record(tmp_path / "01_xcov" / "paper_scale" / "s" / "seed0.json",
                      {"seed": 0, "values": {}})
    monkeypatch.setenv(runs.RESULTS_DIR_ENV_VAR, str(tmp_path))
    assert runs.chapter_record("01_xcov", "full") == {"values": {"a": 1.0}}
    assert [r["seed"] for r in runs.setting_runs("01_xcov", "s")] == [0, 1]
    assert runs.setting_runs("01_xcov", "missing") == []
    assert runs.chapter_record("01_xcov", "nothing") is None


def test_a_missing_record_is_an_error_when_records_are_required(monkeypatch):
    """The Colab-like check sets HF_REQUIRE_RECORDS: a table that would say 'nothing
    recorded' outside a clone fails the check instead."""
    monkeypatch.setenv(runs.REQUIRE_ENV_VAR, "1")
    with pytest.raises(runs.RecordMissing, match="setting 'never-run' of 04_two_step"):
        runs.setting_runs("04_two_step", "never-run")
    with pytest.raises(runs.RecordMissing, match="chapter 01_xcov's nothing run"):
        runs.chapter_record("01_xcov", "nothing")
    with pytest.raises(runs.RecordMissing, match="figure"):
        runs.setting_figure("03_jade", "never-run", 0, "swaps")
    assert runs.chapter_record("00_warmup", "book") is not None  # found ones still read


def test_records_are_found_from_a_folder_outside_the_clone(tmp_path):
    """A chapter run from elsewhere (a student's folder) reads the repository's records."""
    code = ("from helpers import runs; r = runs.chapter_record('00_warmup', 'book'); "
            "print(r is not None and 'values' in r)")
    env = {k: v for k, v in os.environ.items() if k != runs.RESULTS_DIR_ENV_VAR}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "True"


@pytest.fixture(autouse=True)
def fresh_run(monkeypatch):
    """Each test starts as a fresh kernel would: no values reported yet."""
    from helpers import notebook

    monkeypatch.setattr(notebook, "_RUN", {"start": None, "profile": None, "seed": None,
                                           "values": {}})


def test_runtime_note_survives_an_unwritable_results_folder(tmp_path, monkeypatch, capsys):
    from helpers import notebook

    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    monkeypatch.setattr(runs, "unsaved_dir", lambda: tmp_path / "unsaved")
    monkeypatch.setenv(runs.RESULTS_DIR_ENV_VAR, str(blocked))
    monkeypatch.setenv(notebook.NOTEBOOK_ENV_VAR, "00_warmup")
    notebook.setup("smoke", quiet=True)
    notebook.report("answer", 42.0, show=False)
    notebook.runtime_note()  # does not raise: the page is saved, the record kept aside
    captured = capsys.readouterr()
    assert "Runtime:" in captured.out and "was not written" in captured.err
    kept = list((tmp_path / "unsaved").iterdir())
    assert json.loads(kept[0].read_text())["values"] == {"answer": 42.0}


def test_setup_keeps_values_reported_before_it(tmp_path, monkeypatch):
    from helpers import notebook

    monkeypatch.setenv(runs.RESULTS_DIR_ENV_VAR, str(tmp_path))
    monkeypatch.setenv(notebook.NOTEBOOK_ENV_VAR, "00_warmup")
    notebook.setup("smoke", quiet=True)
    notebook.report("early", 1.0, show=False)
    notebook.setup("smoke", quiet=True)  # the first cell run again
    notebook.report("late", 2.0, show=False)
    notebook.runtime_note()
    values = runs.read_record(tmp_path / "00_warmup" / "smoke.json")["values"]
    assert values == {"early": 1.0, "late": 2.0}


def test_runtime_note_records_where_the_data_came_from(tmp_path, monkeypatch):
    from helpers import notebook

    monkeypatch.setenv(runs.RESULTS_DIR_ENV_VAR, str(tmp_path))
    monkeypatch.setenv(notebook.NOTEBOOK_ENV_VAR, "00_warmup")
    monkeypatch.setattr(runs, "_DATA_USED", {})
    notebook.setup("smoke", quiet=True)
    runs.note_data("MNIST", {"source": "offline-subset", "file": "mnist_offline.npz"})
    notebook.runtime_note()
    record = runs.read_record(tmp_path / "00_warmup" / "smoke.json")
    assert record["data"] == {"MNIST": {"source": "offline-subset", "file": "mnist_offline.npz"}}
    assert runs.is_fallback_record(record)


# --------------------------------------------------------------------------------------
# experiments/paper_scale.py through helpers.runs
# --------------------------------------------------------------------------------------

ps = load_script(ROOT / "experiments" / "paper_scale.py")


def test_a_full_disk_at_the_end_of_a_run_loses_no_number(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(ps.RUNNERS, "two_step", lambda params, seed: {"z_mlp": 0.123})
    monkeypatch.setitem(ps.SETTINGS, "two_step", {"tiny": {"about": "a test"}})
    monkeypatch.setattr(runs, "unsaved_dir", lambda: tmp_path / "unsaved")

    real_write = runs.atomic_write_text

    def full_disk(path, text, encoding="utf-8"):  # the results disk is full, /tmp is not
        if "unsaved" not in str(path):
            raise OSError(28, "No space left on device")
        return real_write(path, text, encoding)

    monkeypatch.setattr(runs, "atomic_write_text", full_disk)
    with pytest.raises(OSError, match="No space left.*kept in"):
        ps.run_one("two_step", "tiny", 0, root=tmp_path / "results")
    assert "0.123" in capsys.readouterr().err
    monkeypatch.undo()
    kept = list((tmp_path / "unsaved").iterdir())
    assert json.loads(kept[0].read_text())["values"] == {"z_mlp": 0.123}
    assert not list((tmp_path / "results").rglob("*.part"))


class _Weights:
    def __init__(self, shapes):
        self.weights = [_Var(np.zeros(s, np.float32)) for s in shapes]


class _Var:
    def __init__(self, value):
        self.value, self.shape = value, value.shape

    def assign(self, value):
        self.value = np.asarray(value)

    def numpy(self):
        return self.value


def test_a_broken_weights_cache_is_discarded_and_rebuilt(tmp_path, capsys):
    from helpers.core.weights import load_weights, save_weights

    cache = tmp_path / "step1.npz"
    model = _Weights([(2, 3), (3,)])
    model.weights[0].value = np.ones((2, 3), np.float32)
    save_weights(model, cache)
    other = _Weights([(2, 3), (3,)])
    assert load_weights(other, cache) and other.weights[0].value.sum() == 6
    cache.write_bytes(cache.read_bytes()[:50])  # cut short by a kill
    assert not load_weights(other, cache)
    assert not cache.exists() and "unusable" in capsys.readouterr().out
    save_weights(_Weights([(4,)]), cache)  # the wrong shapes for this model
    assert not load_weights(other, cache)


def test_the_weights_cache_key_follows_the_data(monkeypatch, tmp_path):
    from helpers.core.weights import CACHE_ENV_VAR, cache_path

    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path))
    rng = np.random.default_rng(0)
    x = rng.random((20, 28, 28, 1), np.float32)
    y = np.arange(20) % 10
    key = cache_path("step1", x, y, b"code", "0.1.0", 2, 0)
    assert key.parent == tmp_path and key == cache_path("step1", x, y, b"code", "0.1.0", 2, 0)
    assert key != cache_path("step1", x[::-1].copy(), y, b"code", "0.1.0", 2, 0)  # other images
    assert key != cache_path("step1", x, y, b"code 2", "0.1.0", 2, 0)  # other code
    assert key != cache_path("step1", x, y, b"code", "0.1.0", 3, 0)  # other epochs
    assert key != cache_path("step1", x, y, b"code", "0.1.0", 2, 1)  # other seed


def test_step_1_of_the_two_step_chapter_uses_the_cache(monkeypatch, tmp_path):
    """The chapter's own step 1 trains once, then loads what it saved (same weights)."""
    from helpers.core.weights import CACHE_ENV_VAR
    from helpers.data.datasets import Dataset
    from helpers.papers import two_step

    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path))
    rng = np.random.default_rng(0)
    x = rng.random((40, 28, 28, 1), np.float32)
    y = np.arange(40) % 10
    data = Dataset("mnist", x, y, x[:10], y[:10], "test")
    first = two_step.setting_step1(data, 1, 0)
    assert len(list(tmp_path.glob("two_step_step1_*.npz"))) == 1
    trained = []
    monkeypatch.setattr(two_step, "train", lambda *a, **k: trained.append(1))
    again = two_step.setting_step1(data, 1, 0)
    assert trained == []  # loaded, not trained
    for a, b in zip(first.weights, again.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_the_wheel_ships_the_records_and_an_install_reads_them(tmp_path):
    """Outside any clone, the installed release finds the book's records in itself."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(tmp_path / "dist"), str(ROOT)], check=True, timeout=300,
                   capture_output=True)
    wheel = next((tmp_path / "dist").glob("hidden_factors-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(tmp_path / "site"), str(wheel)], check=True, timeout=300,
                   capture_output=True)
    elsewhere = tmp_path / "student"
    elsewhere.mkdir()
    code = ("from helpers import runs; import json; "
            "print(json.dumps([str(runs.results_dirs()[0]), "
            "runs.chapter_record('00_warmup', 'book')['values'], "
            "len(runs.setting_runs('04_two_step', 'paper-fresh-z4-wide'))]))")
    env = {k: v for k, v in os.environ.items() if k != runs.RESULTS_DIR_ENV_VAR}
    env["PYTHONPATH"] = str(tmp_path / "site")
    out = subprocess.run([sys.executable, "-c", code], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=60, check=True)
    where, values, seeds = json.loads(out.stdout)
    assert where == str(tmp_path / "site" / "helpers" / "_records")
    assert values == runs.read_record(ROOT / "results" / "00_warmup" / "book.json")["values"]
    assert seeds == 3
