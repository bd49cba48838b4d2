"""Training curves read in plain words with whole epochs; traversal rows in σ (issue 36)."""

import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.core.training import TrainingLog  # noqa: E402
from helpers.papers.warmup import ConditionalAutoencoder  # noqa: E402
from helpers.viz import plots  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def teardown_function():
    plt.close("all")


def _titles(fig) -> list[str]:
    return [ax.get_title().replace("\n", " ") for ax in fig.axes if ax.get_visible()]


def test_loss_names_plain_words_and_fallback():
    assert plots.loss_name("rec") == "reconstruction error"
    assert plots.loss_name("ce") == "classifier cross-entropy"
    assert plots.loss_name("ce_scarce") == "classifier cross-entropy (scarce domain)"
    assert plots.loss_name("rec_abundant") == "reconstruction error (abundant domain)"
    assert plots.loss_name("my_metric") == "my_metric"  # unknown keys are their own name
    assert plots.loss_name("ce_other") == "ce_other"


def test_plot_history_titles_are_names_not_keys():
    log = TrainingLog({k: [3.0, 2.0, 1.5] for k in ("rec", "ce", "xcov", "acc")}
                      | {"val_rec": [3.1, 2.2, 1.7]})
    fig = plots.plot_history(log, keys=["rec", "ce", "xcov", "acc"], logy=["ce", "xcov"],
                             title="XCov")
    assert _titles(fig) == ["reconstruction error", "classifier cross-entropy",
                            "XCov penalty", "accuracy"]
    assert fig.axes[1].get_yscale() == "log"
    # a long name wraps onto two lines at a space, never at the hyphen of "cross-entropy"
    fig = plots.plot_history({"ce_abundant": [2.0, 1.0], "adv_ce": [1.0, 2.0]})
    assert fig.axes[0].get_title() == "classifier cross-entropy\n(abundant domain)"
    assert fig.axes[1].get_title() == "adversary's cross-entropy"


@pytest.mark.parametrize("epochs", [1, 2, 4, 7, 10, 30])
def test_plot_history_epoch_ticks_are_whole_numbers(epochs):
    fig = plots.plot_history({"loss": list(np.linspace(2, 1, epochs)),
                              "val_loss": list(np.linspace(2.2, 1.1, epochs))})
    fig.canvas.draw()
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    labels = [t.get_text() for t in ax.get_xticklabels() if lo <= t.get_position()[0] <= hi]
    assert all(re.fullmatch(r"\d+", text) for text in labels), labels


def test_log_axes_read_as_plain_numbers():
    fig = plots.plot_history({"ce": [2.0, 0.5, 0.05]}, logy=["ce"])
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"[0-9.]+", text) for text in labels), labels


def _plotted_keys() -> set[str]:
    """Every key a chapter or lab note plots with plot_history (read from the notebooks)."""
    keys = set()
    for path in [*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("lab_notes/*.ipynb")]:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"])
            for call in re.finditer(r"plot_history\((.*?)\)\s*;?\s*$", source, re.S | re.M):
                listed = re.search(r"keys=\[([^\]]*)\]", call.group(1))
                if listed:
                    keys |= set(re.findall(r"[\"'](\w+)[\"']", listed.group(1)))
    return keys


def test_every_plotted_key_has_a_plain_name():
    keys = _plotted_keys()
    assert {"rec", "ce", "acc"} <= keys  # the notebooks were read
    assert {k for k in keys if plots.loss_name(k) == k} == set()


@pytest.fixture()
def cae():
    return ConditionalAutoencoder(style_dim=2, hidden=(8,))


def _row_labels(fig, rows: int, cols: int) -> list[str]:
    return [fig.axes[r * cols].get_ylabel() for r in range(rows)]


def test_sigma_label_format():
    assert plots.sigma_label(0, -4.0, 0.0, 2.0) == "z0 \u22122\u03c3"
    assert plots.sigma_label(1, 3.0, 3.0, 2.0) == "z1 mean"
    assert plots.sigma_label(1, 3.0 + 2 / 3 * 2.0, 3.0, 2.0) == "z1 +0.67\u03c3"
    assert plots.sigma_label(0, 5.0, 0.0, 2.0) == "z0 +2.5\u03c3"


def test_traversal_rows_in_sigma_as_chapters_sweep(cae):
    # chapter 0's sweep: mean + linspace(-2, 2, 5) * std, other units at their mean
    z_mean = np.array([-9.1, 0.7], np.float32)
    z_scale = np.array([2.75, 0.4], np.float32)
    values = z_mean[0] + np.linspace(-2, 2, 5) * z_scale[0]
    fig = plots.style_traversal_grid(cae, unit=0, values=values, base_z=z_mean, scale=z_scale)
    assert _row_labels(fig, 5, 10) == ["z0 \u22122\u03c3", "z0 \u22121\u03c3", "z0 mean",
                                       "z0 +1\u03c3", "z0 +2\u03c3"]
    # chapter 1's: seven rows; a scalar scale does the same as the unit's entry
    values = z_mean[1] + np.linspace(-2, 2, 7) * z_scale[1]
    fig = plots.style_traversal_grid(cae, unit=1, values=values, base_z=z_mean,
                                     scale=float(z_scale[1]))
    assert _row_labels(fig, 7, 10) == [
        "z1 \u22122\u03c3", "z1 \u22121.33\u03c3", "z1 \u22120.67\u03c3", "z1 mean",
        "z1 +0.67\u03c3", "z1 +1.33\u03c3", "z1 +2\u03c3"]


def test_traversal_labels_do_not_change_the_images(cae):
    z_mean = np.array([1.0, -2.0], np.float32)
    values = [0.0, 1.0, 2.0]

    def pixels(fig):
        return np.stack([im.get_array() for ax in fig.axes for im in ax.get_images()])

    with_sigma = plots.style_traversal_grid(cae, 0, values, base_z=z_mean, scale=0.5)
    without = plots.style_traversal_grid(cae, 0, values, base_z=z_mean)
    np.testing.assert_array_equal(pixels(with_sigma), pixels(without))
    assert _row_labels(without, 3, 10) == ["z0 = +0.0", "z0 = +1.0", "z0 = +2.0"]


def test_traversal_rejects_a_bad_scale(cae):
    with pytest.raises(ValueError, match="positive"):
        plots.style_traversal_grid(cae, 0, [0.0], scale=0.0)
    with pytest.raises(ValueError, match="one per style unit"):
        plots.style_traversal_grid(cae, 0, [0.0], scale=np.ones(3))


def test_the_notation_page_explains_every_curve_title():
    """A curve's title is defined once, on the notation page, next to its key."""
    from pathlib import Path

    from helpers.viz.plots import LOSS_NAMES

    page = (Path(__file__).resolve().parent.parent / "book" / "notation.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| ") and "`" in line]
    for key, name in LOSS_NAMES.items():
        assert any(name in row and f"`{key}`" in row for row in rows), (key, name)
