"""The trained model runs in the page (issue 32): the in-page explorer of chapter 1.

Run with ``make browser-test`` after the book is built. The explorer
(``_static/live_model.js``) computes its images from the weights that
``python -m tools.browser_models`` exported into ``_static/live_models/``. Here, in
headless Chromium: the images the page computes for fixed inputs (a digit button and
slider positions) equal what Keras computed for the same inputs (the export's
reference cases) to within 1/255 per pixel; a stroke drawn with real pointer events
(mouse at 1280 px, touch at 390 px) is read by the encoder and redrawn as every digit
exactly as the exported weights compute it; every control changes the image; the
weights are fetched only after the first interaction; nothing is requested from
another origin; the console stays clean. Screenshots of the explorer at both widths
go to ``_build/screenshots/``, and the timings to ``_build/screenshots/live_model_<chapter>.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from test_book_pages import HTML, SHOTS, book, chromium  # noqa: F401

from tools import browser_models as bm

pytestmark = pytest.mark.browser

EXPLORERS = {c: f"chapters/{c}.html" for c in bm.live_models()}  # discovered, not listed
ROOT_CSS = 'div.hf-live-model[data-model="{}"]'


@pytest.fixture()
def driver():
    """A fresh Chromium per test (a fresh cache: every fetch is seen), logging the
    console and every request the page makes."""
    d = chromium(("browser", "performance"))
    yield d
    d.quit()


def _requests(driver) -> list[str]:
    """URLs the page asked for since the last call (from Chromium's network log)."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def _errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def _wait(driver, script: str, timeout: float = 20.0, *args):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = driver.execute_script(script, *args)
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {script}")


def _open(driver, url: str, width: int, chapter: str):
    from selenium.webdriver.common.by import By

    driver.set_window_size(width, 900)
    driver.get(url)
    root = driver.find_element(By.CSS_SELECTOR, ROOT_CSS.format(chapter))
    # The description (not the weights) arrives after the page's load event.
    _wait(driver, "return arguments[0].querySelectorAll('input[type=range]').length > 0",
          20.0, root)
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", root)
    return root


def _pixels(driver, canvas) -> np.ndarray:
    """The grey levels (0-255) a 28x28 canvas shows."""
    data = driver.execute_script(
        "return Array.from(arguments[0].getContext('2d').getImageData(0, 0, 28, 28).data"
        ".filter((v, i) => i % 4 === 0));", canvas)
    return np.array(data, dtype=np.float64)


def _canvas(root, role: str, digit: int | None = None):
    from selenium.webdriver.common.by import By

    css = f'canvas[data-role="{role}"]' + (f'[data-digit="{digit}"]' if digit is not None
                                            else "")
    return root.find_element(By.CSS_SELECTOR, css)


def _description(chapter: str) -> dict:
    return json.loads((bm.OUT_DIR / f"{chapter}.json").read_text(encoding="utf-8"))


def _reference(chapter: str) -> dict:
    return json.loads((bm.OUT_DIR / f"{chapter}.reference.json").read_text(encoding="utf-8"))


def _set_slider(driver, root, unit: int, sigmas: float):
    from selenium.webdriver.common.by import By

    slider = root.find_element(By.CSS_SELECTOR, f'input[type=range][data-unit="{unit}"]')
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", slider, sigmas)


def _click_digit(root, digit: int):
    from selenium.webdriver.common.by import By

    button = root.find_element(By.CSS_SELECTOR, f'button.hf-live-digit[data-digit="{digit}"]')
    button.parent.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()


def _draw(driver, canvas, strokes, touch: bool = False):
    """Draw ``strokes`` (lists of (x, y) offsets from the canvas's centre, in CSS px)
    with real pointer events: a mouse, or a finger."""
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)
    kind = interaction.POINTER_TOUCH if touch else interaction.POINTER_MOUSE
    actions = ActionBuilder(driver, mouse=PointerInput(kind, "finger" if touch else "mouse"))
    for stroke in strokes:
        (x, y), rest = stroke[0], stroke[1:]
        actions.pointer_action.move_to(canvas, x, y).pointer_down()
        for x, y in rest:
            actions.pointer_action.move_to(canvas, x, y)
        actions.pointer_action.pointer_up()
    actions.perform()


SEVEN = [[(-50, -60), (-10, -60), (30, -60), (55, -60), (40, -25), (20, 10), (5, 45),
          (-5, 70)]]
ZERO = [[(0, -70), (-35, -50), (-45, 0), (-30, 55), (0, 70), (30, 55), (45, 0), (35, -50),
         (0, -70)]]


def _check_drawing(driver, root, chapter: str, strokes, touch: bool) -> int:
    """Draw, wait for the encoder, and compare the ten redrawn digits with the exported
    weights' arithmetic on the very input the page made; returns the digit read."""
    d = _description(chapter)
    before = int(root.get_attribute("data-encoded") or 0)
    _draw(driver, root.find_element("css selector", "canvas.hf-live-draw"), strokes, touch)
    _wait(driver, "return Number(arguments[0].dataset.encoded || 0) > arguments[1];", 30.0,
          root, before)
    x = np.array(driver.execute_script("return Array.from(arguments[0].hfExplorer.lastInput);",
                                       root), np.float32)
    assert x.shape == (784,) and x.max() > 0.5, "the drawing made no MNIST-like input"
    ys, xs = np.nonzero(x.reshape(28, 28) > 0.02)
    assert ys.max() - ys.min() <= 20 and xs.max() - xs.min() <= 20, "not in a 20x20 box"
    w = x.reshape(28, 28)
    cy = (w.sum(1) * (np.arange(28) + 0.5)).sum() / w.sum()
    cx = (w.sum(0) * (np.arange(28) + 0.5)).sum() / w.sum()
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5, "not centred by its centre of mass"
    arrays = bm.load_export(d, bm.OUT_DIR)
    probs, style = bm.encode_np(d, arrays, x[None])
    expect = bm.decode_np(d, arrays, np.arange(10), np.repeat(style, 10, axis=0))
    for digit in range(10):
        got = _pixels(driver, _canvas(root, "every", digit))
        worst = np.abs(got - 255 * expect[digit]).max()
        assert worst <= 1.0, f"digit {digit}: {worst:.2f}/255 from the model's arithmetic"
    read = int(np.argmax(probs[0]))
    assert f"read as a {read} " in root.text
    return read


@pytest.mark.parametrize("chapter", EXPLORERS)
def test_weights_load_on_first_interaction_and_never_leave_the_origin(book, driver, chapter):  # noqa: F811
    root = _open(driver, book + EXPLORERS[chapter], 1280, chapter)
    time.sleep(0.5)
    first = _requests(driver)
    assert any(u.endswith(f"live_models/{chapter}.json") for u in first)
    assert not [u for u in first if u.endswith(".bin")], "weights fetched before a touch"
    _click_digit(root, 7)
    _wait(driver, "return arguments[0].dataset.firstImage;", 20.0, root)
    after = _requests(driver)
    assert [u for u in after if u.endswith(f"{chapter}-decoder.bin")]
    assert not [u for u in after if u.endswith(f"{chapter}-encoder.bin")], \
        "the encoder is needed only to read a drawing"
    from selenium.webdriver.common.by import By

    before = int(root.get_attribute("data-encoded") or 0)
    root.find_element(By.CSS_SELECTOR, 'button[data-action="random"]').click()
    _wait(driver, "return Number(arguments[0].dataset.encoded || 0) > arguments[1];", 20.0,
          root, before)
    assert [u for u in _requests(driver) if u.endswith(f"{chapter}-encoder.bin")]
    everything = first + after
    foreign = [u for u in everything if not u.startswith((book, "data:", "blob:"))]
    assert not foreign, f"requests that left the page's origin: {foreign}"
    assert not _errors(driver), f"console errors: {_errors(driver)}"
    timing = driver.execute_script(
        "const r = arguments[0].dataset; return Number(r.firstImage) - "
        "Number(r.firstInteraction);", root)
    sizes = driver.execute_script(
        "return performance.getEntriesByType('resource').filter(e => "
        "e.name.includes('live_models/')).map(e => [e.name.split('/').pop(), "
        "e.encodedBodySize]);")
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"live_model_{chapter}.json").write_text(json.dumps(
        {"chapter": chapter, "first_interaction_to_image_ms": timing, "fetched": sizes},
        indent=1) + "\n")


@pytest.mark.parametrize("chapter", EXPLORERS)
def test_digits_and_sliders_draw_what_keras_draws(book, driver, chapter):  # noqa: F811
    d, ref = _description(chapter), _reference(chapter)
    root = _open(driver, book + EXPLORERS[chapter], 1280, chapter)
    mean, std = np.array(d["style"]["mean"]), np.array(d["style"]["std"])
    worst = 0.0
    for case in ref["decode"]:
        _click_digit(root, case["digit"])
        _wait(driver, "return arguments[0].dataset.firstImage;", 20.0, root)
        for unit, sig in enumerate((np.array(case["style"]) - mean) / std):
            _set_slider(driver, root, unit, float(sig))
        got = _pixels(driver, _canvas(root, "decoded"))
        diff = np.abs(got - 255 * np.array(case["image"])).max()
        worst = max(worst, diff)
        assert diff <= 1.0, f"digit {case['digit']}, z {case['style']}: {diff:.2f}/255 off"
    # the test images' codes, read by the page's encoder, redrawn as every digit
    from selenium.webdriver.common.by import By

    for case in ref["encode"]:
        driver.execute_script("arguments[0].dataset.testImage = arguments[1];", root,
                              case["test_image"])
        before = int(root.get_attribute("data-encoded") or 0)
        root.find_element(By.CSS_SELECTOR, 'button[data-action="random"]').click()
        _wait(driver, "return Number(arguments[0].dataset.encoded || 0) > arguments[1];",
              20.0, root, before)
        for digit in range(10):
            got = _pixels(driver, _canvas(root, "every", digit))
            diff = np.abs(got - 255 * np.array(case["redrawn"][digit])).max()
            worst = max(worst, diff)
            assert diff <= 1.0, f"test image {case['test_image']} as {digit}: {diff:.2f}/255"
    assert not _errors(driver), f"console errors: {_errors(driver)}"
    print(f"{chapter}: largest difference from Keras in the browser: {worst:.3f}/255")


@pytest.mark.parametrize("chapter", EXPLORERS)
def test_every_control_changes_the_image(book, driver, chapter):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    root = _open(driver, book + EXPLORERS[chapter], 1280, chapter)
    _click_digit(root, 3)
    _wait(driver, "return arguments[0].dataset.firstImage;", 20.0, root)
    out = _canvas(root, "decoded")
    seen = [_pixels(driver, out)]

    def changed(what: str):
        now = _pixels(driver, out)
        assert np.abs(now - seen[-1]).max() > 8, f"{what} did not change the image"
        seen.append(now)

    for digit in range(10):
        if digit != 3:
            _click_digit(root, digit)
            changed(f"digit button {digit}")
    # The units the export measured as barely changing the drawing are grouped apart;
    # every other slider, dragged by a third of its width (about 2 sigma) from the
    # average style of a 3, changes the image, and set back, restores it.
    style = _description(chapter)["style"]
    quiet = root.find_elements(By.CSS_SELECTOR, "details.hf-live-quiet input[type=range]")
    assert sorted(int(q.get_attribute("data-unit")) for q in quiet) == [
        u for u, e in enumerate(style["effect"]) if e < style["quiet_below"]]
    if quiet:
        assert f"{len(quiet)} more style units barely change the drawing" in root.text
    _click_digit(root, 3)
    changed("digit button 3")
    for slider in root.find_elements(By.CSS_SELECTOR, "input[type=range]"):
        if slider in quiet:
            continue
        unit = int(slider.get_attribute("data-unit"))
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", slider)
        ActionChains(driver).drag_and_drop_by_offset(slider, slider.size["width"] // 3, 0) \
            .perform()
        changed(f"style unit {unit + 1} (dragged)")
        _set_slider(driver, root, unit, 0.0)
        back = _pixels(driver, out)
        assert np.abs(back - seen[-2]).max() <= 1, f"style unit {unit + 1} set back"
        seen.append(back)
    pad = root.find_element(By.CSS_SELECTOR, "canvas.hf-live-pad")
    if pad.is_displayed():
        ActionChains(driver).move_to_element_with_offset(pad, -50, 50).click().perform()
        changed("the 2-D pad")
        from selenium.webdriver.common.keys import Keys

        y0 = driver.execute_script("return window.scrollY;")
        pad.send_keys(Keys.ARROW_UP * 4 + Keys.ARROW_RIGHT * 4)
        changed("the 2-D pad's arrow keys")
        assert driver.execute_script("return window.scrollY;") == y0, "the arrows scrolled"
    inp = _canvas(root, "input")
    blank = _pixels(driver, inp)
    _check_drawing(driver, root, chapter, SEVEN, touch=False)
    drawn = _pixels(driver, inp)
    assert np.abs(drawn - blank).max() > 100, "the drawing did not reach the encoder's input"
    row = [_pixels(driver, _canvas(root, "every", k)) for k in range(10)]
    root.find_element(By.CSS_SELECTOR, 'button[data-action="clear"]').click()
    _check_drawing(driver, root, chapter, ZERO, touch=False)
    assert np.abs(_pixels(driver, inp) - drawn).max() > 100, "clear + a new drawing"
    again = [_pixels(driver, _canvas(root, "every", k)) for k in range(10)]
    assert max(np.abs(a - b).max() for a, b in zip(row, again, strict=True)) > 8
    before = int(root.get_attribute("data-encoded") or 0)
    root.find_element(By.CSS_SELECTOR, 'button[data-action="random"]').click()
    _wait(driver, "return Number(arguments[0].dataset.encoded || 0) > arguments[1];", 20.0,
          root, before)
    assert np.abs(_pixels(driver, inp) - drawn).max() > 8, "random test image"
    assert not _errors(driver), f"console errors: {_errors(driver)}"
    _shot(driver, root, f"live_model_{chapter}_1280px.png")


@pytest.mark.parametrize("chapter", EXPLORERS)
def test_a_finger_draws_on_a_phone(book, driver, chapter):  # noqa: F811
    root = _open(driver, book + EXPLORERS[chapter], 390, chapter)
    width = driver.execute_script("return arguments[0].getBoundingClientRect().right;", root)
    assert width <= 390, "the explorer is wider than a 390 px phone"
    draw = driver.find_element("css selector", f"{ROOT_CSS.format(chapter)} canvas.hf-live-draw")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", draw)
    y0 = driver.execute_script("return window.scrollY;")
    _check_drawing(driver, root, chapter, SEVEN, touch=True)
    assert draw.get_attribute("data-pointer-type") == "touch"
    assert driver.execute_script("return window.scrollY;") == y0, "the finger scrolled the page"
    _click_digit(root, 5)
    _wait(driver, "return arguments[0].dataset.firstImage;", 20.0, root)
    assert not _errors(driver), f"console errors: {_errors(driver)}"
    _shot(driver, root, f"live_model_{chapter}_390px.png")


OTHER = [c for c in EXPLORERS if "other" in _description(c)]


@pytest.mark.parametrize("chapter", OTHER)
def test_another_domains_image_is_drawn_in_the_sliders_style(book, driver, chapter):  # noqa: F811
    """JADE: a stand-in image's content, read by its own encoder, drawn by the MNIST
    decoder in the sliders' style: at the average style exactly as Keras drew it; a
    slider moves it; a drawing's style moves it too."""
    from selenium.webdriver.common.by import By

    d, ref = _description(chapter), _reference(chapter)
    root = _open(driver, book + EXPLORERS[chapter], 1280, chapter)
    button = root.find_element(By.CSS_SELECTOR, 'button[data-action="other"]')
    out = _canvas(root, "other")
    for case in ref["other"]:
        driver.execute_script("arguments[0].dataset.otherImage = arguments[1];", root,
                              case["test_image"])
        before = int(root.get_attribute("data-other-drawn") or 0)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
        button.click()
        _wait(driver, "return Number(arguments[0].dataset.otherDrawn || 0) > arguments[1];",
              30.0, root, before)
        for unit in range(d["style_dim"]):
            _set_slider(driver, root, unit, 0.0)
        diff = np.abs(_pixels(driver, out) - 255 * np.array(case["image"])).max()
        assert diff <= 1.0, f"{d['other']['title']} image {case['test_image']}: {diff:.2f}/255"
    assert d["other"]["title"] in root.text
    shown = _pixels(driver, out)
    _set_slider(driver, root, 0, 2.5)
    assert np.abs(_pixels(driver, out) - shown).max() > 8, "a style slider left it unchanged"
    moved = _pixels(driver, out)
    _check_drawing(driver, root, chapter, SEVEN, touch=False)
    assert np.abs(_pixels(driver, out) - moved).max() > 8, "a drawing's style left it unchanged"
    assert not _errors(driver), f"console errors: {_errors(driver)}"


def _shot(driver, root, name: str):
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(driver.get_window_size()["width"], 1600)  # the whole explorer
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", root)
    time.sleep(0.2)
    Path(SHOTS / name).write_bytes(root.screenshot_as_png)


def test_the_book_ships_the_exported_model():
    for chapter in EXPLORERS:
        for name in [f"{chapter}.json", *_description(chapter)["files"]]:
            assert (HTML / "_static" / "live_models" / name).is_file(), \
                f"{name} is not in the built book: rebuild it (make book)"


def test_only_pages_with_an_explorer_load_its_script_and_style():
    """book/_ext/live_model_pages.py: other pages' first paint carries none of it."""
    pages = sorted(HTML.glob("**/*.html"))
    assert pages, "No built book in _build/html: run `make book` first."
    for page in pages:
        text = page.read_text(encoding="utf-8")
        shows = 'class="hf-live-model"' in text
        for name in ("live_model.js", "live_model.css"):
            assert (name in text) == shows, (page.relative_to(HTML).as_posix(), name)
    assert any('class="hf-live-model"' in p.read_text(encoding="utf-8") for p in pages)
