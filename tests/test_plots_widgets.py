import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from helpers.core.interface import decode_all, encode_all  # noqa: E402
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
    assert tables.plain(1.2e-5) == "0.0000120" and tables.plain(60000.0) == "60,000"
    assert "e-" not in tables.results_table({"m": {"reconstruction_mse": 3.1e-6}})


def _live_parts(explorer):
    """(inputs by description, image tiles) of an explorer's live widget."""
    rows = explorer.widget().children
    inputs = {w.description: w for w in rows[0].children}
    tiles = [box.children[0] for box in rows[-1].children]
    return inputs, tiles


def _png_pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)), np.float32) / 255


def test_latent_explorer_live_widget_redraws(cae):
    ex = widgets.latent_explorer(cae, scale=2.0)
    inputs, (tile,) = _live_parts(ex)
    assert set(inputs) == {"class", "z unit", "offset (std)"}
    before = tile.value
    inputs["offset (std)"].value = 1.5
    inputs["class"].value = 7
    assert tile.value != before and tile.value[:4] == b"\x89PNG"


def test_live_widget_and_kernel_free_twin_show_the_same_pixels(cae):
    ex = widgets.latent_explorer(cae, scale=2.0, steps=5)
    inputs, (tile,) = _live_parts(ex)
    inputs["class"].value, inputs["z unit"].value = 3, 1
    inputs["offset (std)"].value = ex.controls[2].values[4]
    pngs, table = ex.precompute()
    state = (3 * 2 + 1) * 5 + 4  # row-major over (class, unit, offset), as the JavaScript reads it
    static = _png_pixels(pngs[table[state, 0]])
    live = _png_pixels(tile.value)[::4, ::4]  # the live tile is drawn 4x larger
    assert static.shape == (28, 28)
    np.testing.assert_array_equal(static, live)
    np.testing.assert_allclose(static, ex.images_at([3, 1, 4])[0, ..., 0], atol=1 / 255)


def test_kernel_free_twin_embeds_every_setting_once(cae):
    ex = widgets.latent_explorer(cae, steps=3)
    pngs, table = ex.precompute()
    assert table.shape == (10 * 2 * 3, 1) and ex.num_states == 60
    assert len(set(pngs)) == len(pngs) and table.max() == len(pngs) - 1
    page = ex.html()
    assert page.count("<img") == 1 and page.count('type="range"') == 1
    assert "<select" in page and "hf-play" in page and "http" not in page
    assert page == ex.html()  # deterministic: same id, same bytes on every run
    bundle = ex._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html",
                           "application/vnd.jupyter.widget-view+json"}
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == \
        ex.widget().model_id


def test_swap_explorer_swaps_content_and_keeps_style(cae, tiny_images):
    x, y = tiny_images
    ex = widgets.swap_explorer(cae, x[:4], labels=y[:4], steps=3)
    tiles = ex.images_at([0, 2, 2, 0])  # a=1: content of image 2; b=0: style of image 0
    s, z = encode_all(cae, x[:4])
    np.testing.assert_allclose(tiles[2], decode_all(cae, s[2:3], z[0:1])[0], atol=1e-6)
    np.testing.assert_array_equal(tiles[0], x[0])
    inputs, tiles_live = _live_parts(ex)
    assert inputs["style image"]._options_labels[0] == f"0 (label {y[0]})"
    before = tiles_live[2].value
    inputs["style image"].value = 3
    assert tiles_live[2].value != before


def test_every_class_explorer_over_several_models(cae, tiny_images):
    x, _ = tiny_images
    other = ConditionalAutoencoder(style_dim=2, hidden=(8,))
    ex = widgets.every_class_explorer({"a": cae, "b": other}, x[:3])
    assert len(ex.captions) == 11 and ex.num_states == 2 * 3
    a, b = ex.images_at([0, 1]), ex.images_at([1, 1])
    np.testing.assert_array_equal(a[0], b[0])  # same input image
    assert not np.allclose(a[1:], b[1:])  # decoded by two different models
    inputs, tiles = _live_parts(ex)
    before = tiles[3].value
    inputs["image"].value = 2
    assert tiles[3].value != before


def test_play_button_steps_the_named_slider(cae):
    ex = widgets.latent_explorer(cae)
    player = ex.widget().children[1].children[0]
    inputs, (tile,) = _live_parts(ex)
    before = tile.value
    player.value = 0
    assert inputs["offset (std)"].value == ex.controls[2].values[0]
    assert tile.value != before


def test_explorers_reject_bad_settings(cae, tiny_images):
    x, _ = tiny_images
    with pytest.raises(ValueError, match="at most"):
        widgets.every_class_explorer(cae, np.repeat(x[:1], widgets.MAX_STATES + 1, 0)).html()
    with pytest.raises(ValueError, match="class_names has 3"):
        widgets.latent_explorer(cae, class_names=["a", "b", "c"])
    with pytest.raises(ValueError, match="steps must be at least 2"):
        widgets.latent_explorer(cae, steps=1)
    with pytest.raises(ValueError, match="one value per style unit"):
        widgets.latent_explorer(cae, center=np.zeros(5))
    with pytest.raises(ValueError, match="positive"):
        widgets.latent_explorer(cae, scale=0.0)
    with pytest.raises(ValueError, match="not an index"):
        widgets.Explorer([widgets.Slider("s", [0, 1], start=2)], lambda p: None, ["x"])
    with pytest.raises(ValueError, match="render returned shape"):
        widgets.Explorer([widgets.Choice("c", ["a"])],
                         lambda p: np.zeros((1, 28, 28, 1)), ["x"]).images_at([0])
    with pytest.raises(ValueError, match="at least one image"):
        widgets.swap_explorer(cae, x[:0])


def test_compare_bars_draws_one_bar_per_model_and_number():
    rows = {"a": {"z": 0.5, "c": 0.9}, "b": {"z": 0.1, "c": 0.8}, "c": {"z": 0.3, "c": 0.7}}
    fig = plots.compare_bars(rows, ["z", "c"], chance=0.1, title="t")
    ax = fig.axes[0]
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    assert heights == sorted([50.0, 90.0, 10.0, 80.0, 30.0, 70.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    plt.close(fig)


def test_cross_domain_explorer_swaps_content_between_decoders(cae, tiny_images):
    from helpers.viz.domains import cross_domain_explorer

    x, _ = tiny_images
    other = ConditionalAutoencoder(style_dim=2, hidden=(8,))
    ex = cross_domain_explorer(cae, other, x[:2], x[2:5], steps=3)
    assert ex.num_states == 2 * 3 * 3
    tiles = ex.images_at([1, 2, 2])  # t = 1: the full swap
    assert tiles.shape == (4, 32, 32, 3)
    s_a, z_a = encode_all(cae, x[1:2])
    s_b, z_b = encode_all(other, x[4:5])
    expected = decode_all(cae, s_b, z_a)[0, ..., 0]
    np.testing.assert_allclose(tiles[2, 2:30, 2:30, 0], expected, atol=1e-6)
    np.testing.assert_allclose(tiles[3, 2:30, 2:30, 0], decode_all(other, s_a, z_b)[0, ..., 0],
                               atol=1e-6)


def test_every_latent_control_matters_from_the_start(cae):
    """At offset 0 the unit picker would do nothing: the offset starts off-centre."""
    for steps in (2, 3, 7):
        ex = widgets.latent_explorer(cae, steps=steps)
        start = [c.start for c in ex.controls]
        assert ex.controls[2].values[start[2]] != 0
        other_unit = [start[0], 1, start[2]]
        assert not np.allclose(ex.images_at(start), ex.images_at(other_unit))


def test_results_table_renames_headers_and_lets_them_break():
    table = tables.results_table({"m": {"neg_elbo": 100.0, "z_mlp": 0.5}},
                                 headers={"neg_elbo": "neg_elbo (nats)"})
    assert table.splitlines()[0] == ("| model | neg_<wbr>elbo (nats) | "
                                     "label in z (MLP probe) |")
