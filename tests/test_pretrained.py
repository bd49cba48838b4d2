"""The PRETRAINED switch: a recorded run's weights load instead of training, or it trains loudly."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import keras
import numpy as np
import pytest

from helpers import cited_numbers, pretrained
from helpers.core.training import train
from helpers.papers.xcov import XCovAutoencoder

ROOT = Path(__file__).resolve().parent.parent
X = np.random.default_rng(0).random((120, 28, 28, 1)).astype("float32")
Y = np.arange(120) % 10


def model(style_dim: int = 2) -> XCovAutoencoder:
    keras.utils.set_random_seed(0)
    m = XCovAutoencoder(style_dim=style_dim, alpha=1.0, beta=10.0, gamma=10.0)
    m.compile(optimizer=keras.optimizers.Adam(1e-3))
    return m


def fit_refused(m):
    def refuse(*args, **kwargs):
        raise AssertionError("fit ran: the weights should have been loaded")
    m.fit = refuse
    return m


@pytest.fixture
def recorded(tmp_path, monkeypatch):
    """A recorded run of two calls (one label twice), packed like the book run's."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv(pretrained.WEIGHTS_OUT_ENV_VAR, str(tmp_path / "out"))
    pretrained.configure(None, "smoke", False)
    trained = model()
    first = train(trained, X, Y, epochs=1, batch_size=40, label="XCov (γ = 10)")
    first_weights = [w.numpy().copy() for w in trained.weights]
    train(trained, X, Y, epochs=1, batch_size=40, label="XCov (γ = 10)", log=first)
    monkeypatch.delenv(pretrained.WEIGHTS_OUT_ENV_VAR)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == \
        ["xcov-10-1.npz", "xcov-10-2.npz"]
    manifest = pretrained.pack(tmp_path / "out", "99_test", "smoke", tmp_path / "results",
                               tmp_path / "assets", "http://127.0.0.1:9/download/")
    monkeypatch.setenv("HF_RESULTS_DIR", str(tmp_path / "results"))
    yield dict(model=trained, log=first, first=first_weights, manifest=manifest,
               assets=tmp_path / "assets")
    pretrained.configure(None, "smoke", False)


def test_pack_writes_a_reproducible_asset_and_its_manifest(recorded, tmp_path):
    m = recorded["manifest"]
    asset = recorded["assets"] / m["asset"]
    assert m["asset"] == "99_test-smoke-weights.zip" and m["keys"] == ["xcov-10-1", "xcov-10-2"]
    assert m["bytes"] == asset.stat().st_size and m["url"].endswith("/download/" + m["asset"])
    again = pretrained.pack(tmp_path / "out", "99_test", "smoke", tmp_path / "again",
                            tmp_path / "again", "http://127.0.0.1:9/download/")
    assert again["sha256"] == m["sha256"]  # same weights, same bytes


def test_the_switch_loads_each_call_instead_of_training(recorded, monkeypatch, capsys):
    monkeypatch.setenv(pretrained.WEIGHTS_DIR_ENV_VAR, str(recorded["assets"]))
    assert pretrained.configure("99_test", "smoke", True)
    fresh = fit_refused(model())
    log = train(fresh, X, Y, epochs=1, batch_size=40, label="XCov (γ = 10)")
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(recorded["first"], fresh.weights,
                                                             strict=True))
    log = train(fresh, X, Y, epochs=1, batch_size=40, label="XCov (γ = 10)", log=log)
    assert all(np.array_equal(a.numpy(), w.numpy()) for a, w in
               zip(recorded["model"].weights, fresh.weights, strict=True))
    assert log.history == recorded["log"].history and log.epochs == 2
    assert "loaded the book run's weights" in capsys.readouterr().out


def test_the_asset_is_downloaded_checked_and_cached(recorded, monkeypatch, tmp_path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(recorded["assets"]))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        manifest_file = tmp_path / "results" / "99_test" / "weights-smoke.json"
        manifest = json.loads(manifest_file.read_text())
        manifest["url"] = f"http://127.0.0.1:{server.server_port}/{manifest['asset']}"
        manifest_file.write_text(json.dumps(manifest))
        pretrained.configure("99_test", "smoke", True)
        fresh = fit_refused(model())
        train(fresh, X, Y, epochs=1, batch_size=40, label="XCov (γ = 10)")
        assert all(np.array_equal(a, w.numpy()) for a, w in zip(recorded["first"], fresh.weights,
                                                                 strict=True))
        assert (tmp_path / "keras" / "datasets" / manifest["asset"]).is_file()
    finally:
        server.shutdown()


@pytest.mark.parametrize("fault, says", [
    ("no manifest", "no recorded weights of 98_none"),
    ("offline", "could not be had"),
    ("corrupt asset", "could not be had"),
    ("another model", "training it instead"),
    ("unknown label", "has no weights for 'other-1'"),
])
def test_whatever_fails_is_said_and_that_model_trains(recorded, monkeypatch, capsys, fault, says):
    monkeypatch.setenv("HF_OFFLINE", "1")
    chapter, label, fresh = "99_test", "XCov (γ = 10)", model()
    if fault == "no manifest":
        chapter = "98_none"
    elif fault == "corrupt asset":
        asset = recorded["assets"] / recorded["manifest"]["asset"]
        asset.write_bytes(asset.read_bytes()[:-10])
        monkeypatch.setenv(pretrained.WEIGHTS_DIR_ENV_VAR, str(recorded["assets"]))
    elif fault in ("another model", "unknown label"):
        monkeypatch.setenv(pretrained.WEIGHTS_DIR_ENV_VAR, str(recorded["assets"]))
        fresh = model(style_dim=3) if fault == "another model" else fresh
        label = "other" if fault == "unknown label" else label
    pretrained.configure(chapter, "smoke", True)
    before = [w.numpy().copy() for w in fresh.weights] if fresh.weights else None
    log = train(fresh, X, Y, epochs=1, batch_size=40, label=label)
    out = capsys.readouterr().out
    assert "⚠" in out and says in out, out
    assert log.epochs == 1 and log.seconds > 0  # it trained
    if before:
        assert any(not np.array_equal(a, w.numpy()) for a, w in zip(before, fresh.weights,
                                                                    strict=True))


def test_keys_follow_the_label_and_its_occurrence():
    pretrained.configure(None, "smoke", False)
    assert [pretrained.next_key(label) for label in ["XCov (γ = 10)", "", "XCov (γ = 10)", ""]] \
        == ["xcov-10-1", "model-1", "xcov-10-2", "model-2"]
    pretrained.configure(None, "smoke", False)  # a new run starts the count again
    assert pretrained.next_key("XCov (γ = 10)") == "xcov-10-1"
    with pytest.raises(ValueError, match="needs the chapter's name"):
        pretrained.configure(None, "book", True)
    with pytest.raises(TypeError, match="True or False"):
        pretrained.configure("01_xcov", "book", "yes")


def test_a_chapter_with_the_switch_on_cites_the_recorded_runs_numbers(tmp_path, monkeypatch):
    """Chapter 1 in smoke: recorded (it trains and saves), then with PRETRAINED = True (it
    loads and trains nothing): every number its prose can cite is the same."""
    import nbformat
    from nbclient import NotebookClient


    monkeypatch.setenv("HF_PROFILE", "smoke")
    monkeypatch.setenv("HF_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("HF_OFFLINE", "1")

    def run(switch: bool) -> tuple[dict, str]:
        nb = nbformat.read(ROOT / "chapters" / "01_xcov.ipynb", as_version=4)
        cell = next(c for c in nb.cells if "PRETRAINED = False" in c.source)
        cell.source = cell.source.replace("PRETRAINED = False", f"PRETRAINED = {switch}")
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "chapters")}}).execute()
        glued = cited_numbers.glued_values(nb)
        text = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
        return glued, text

    monkeypatch.setenv(pretrained.WEIGHTS_OUT_ENV_VAR, str(tmp_path / "out"))
    recorded, _ = run(False)
    monkeypatch.delenv(pretrained.WEIGHTS_OUT_ENV_VAR)
    pretrained.pack(tmp_path / "out", "01_xcov", "smoke", tmp_path / "results",
                    tmp_path / "assets", "http://127.0.0.1:9/")
    monkeypatch.setenv(pretrained.WEIGHTS_DIR_ENV_VAR, str(tmp_path / "assets"))
    loaded, text = run(True)
    assert len(recorded) >= 10 and loaded == recorded
    assert "loaded the book run's weights" in text and "⚠ PRETRAINED" not in text


def test_an_asset_that_would_write_outside_its_folder_is_refused(recorded, monkeypatch, capsys,
                                                                tmp_path):
    """A downloaded zip naming ``../`` paths (checksum and all made to match) unpacks nothing."""
    import hashlib
    import zipfile

    asset = recorded["assets"] / recorded["manifest"]["asset"]
    with zipfile.ZipFile(asset, "w") as zf:
        zf.writestr("../escaped.npz", b"x")
    manifest_file = tmp_path / "results" / "99_test" / "weights-smoke.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["sha256"] = hashlib.sha256(asset.read_bytes()).hexdigest()
    manifest_file.write_text(json.dumps(manifest))
    monkeypatch.setenv(pretrained.WEIGHTS_DIR_ENV_VAR, str(recorded["assets"]))
    pretrained.configure("99_test", "smoke", True)
    log = train(model(), X, Y, epochs=1, batch_size=40, label="XCov (γ = 10)")
    out = capsys.readouterr().out
    assert "unexpected file '../escaped.npz'" in out and log.epochs == 1, out
    cache = tmp_path / "keras" / "datasets" / "weights"
    assert not list(tmp_path.rglob("escaped.npz")) and not list(cache.glob("*/*.npz"))
