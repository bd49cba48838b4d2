import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.core.training import TrainingLog  # noqa: E402
from helpers.eval import tables  # noqa: E402
from helpers.papers.warmup import ConditionalAutoencoder  # noqa: E402
from helpers.viz import plots, widgets  # noqa: E402


@pytest.fixture()
def cae():
    return ConditionalAutoencoder(style_dim=2, hidden=(8,))


def teardown_function():
    plt.close("all")


def test_image_grid_layouts(tiny_images):
    x, _ = tiny_images
    assert len(plots.image_grid(x[:12], ncols=5).axes) == 15
    assert len(plots.image_grid(x[:6].reshape(2, 3, 28, 28, 1)).axes) == 6
    with pytest.raises(ValueError, match="cannot hold"):
        plots.image_grid(x[:12], nrows=2, ncols=5)


def test_history_and_scatter():
    log = TrainingLog({"loss": [2.0, 1.0], "val_loss": [2.5, 1.5], "acc": [0.5, 0.9]})
    assert len(plots.plot_history(log).axes) == 2
    z = np.random.default_rng(0).normal(size=(50, 3))
    plots.latent_scatter(z, np.arange(50) % 10, dims=(0, 2))
    with pytest.raises(ValueError, match="units"):
        plots.latent_scatter(z, np.arange(50) % 10, dims=(0, 3))


def test_model_grids(cae, tiny_images):
    x, _ = tiny_images
    assert len(plots.class_swap_grid(cae, x[:3]).axes) == 3 * 11
    assert len(plots.style_traversal_grid(cae, 1, [-1, 0, 1]).axes) == 3 * 10
    assert len(plots.swap_grid(cae, x[:3], x[3:7]).axes) == 4 * 5
    assert len(plots.interpolation_grid(cae, x[0], x[1], steps=4).axes) == 16
    with pytest.raises(ValueError, match="unit must be"):
        plots.style_traversal_grid(cae, 5, [0])


def test_results_table_formats():
    table = tables.results_table({"m": {"accuracy": 0.98765, "reconstruction_mse": 0.0123,
                                       "z_probe": float("nan")}})
    assert "98.8%" in table and "0.0123" in table and "—" in table


def test_latent_explorer_redraws(cae):
    w = widgets.latent_explorer(cae, z_range=2.0)
    controls, image_box = w.children
    picker, slider = controls.children[0], controls.children[1]
    image = image_box.children[0]
    before = image.value
    slider.value = 1.5
    picker.value = 7
    assert image.value != before and image.value[:4] == b"\x89PNG"


def test_swap_explorer_redraws(cae, tiny_images):
    x, y = tiny_images
    w = widgets.swap_explorer(cae, x[:5], labels=y[:5])
    pickers, sliders, images, caption = w.children
    out = images.children[2].children[0]
    before = out.value
    pickers.children[0].value = 3
    assert out.value != before and caption.value.endswith(str(y[3]))


def test_every_class_explorer_redraws(cae, tiny_images):
    x, _ = tiny_images
    w = widgets.every_class_explorer(cae, x[:4])
    pick, row = w.children
    assert len(row.children) == 11
    tile = row.children[3].children[0]
    before = tile.value
    pick.value = 2
    assert tile.value != before


def test_compare_bars_draws_one_bar_per_model_and_number():
    rows = {"a": {"z": 0.5, "c": 0.9}, "b": {"z": 0.1, "c": 0.8}, "c": {"z": 0.3, "c": 0.7}}
    fig = plots.compare_bars(rows, ["z", "c"], chance=0.1, title="t")
    ax = fig.axes[0]
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == sorted([50.0, 90.0, 10.0, 80.0, 30.0, 70.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    plt.close(fig)
