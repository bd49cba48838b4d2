"""SVHN (Street View House Numbers), real or an honest offline stand-in.

:func:`load_svhn` resolves the cropped-digit SVHN files (``train_32x32.mat``
and ``test_32x32.mat``; label ``10`` means the digit ``0``) with the same rules
as :func:`helpers.data.load_mnist`:

1. a data directory — the ``data_dir`` argument or ``HF_DATA_DIR`` — holding
   both ``.mat`` files (an explicit ``data_dir`` without them is an error; the
   shared ``HF_DATA_DIR`` folder without them is simply skipped);
2. the Keras cache, checksum-verified;
3. the real download (short timeout, one deadline from connecting to the last
   byte, a size cap of :data:`SVHN_BYTES`, SHA-256 check, atomic write);
4. **offline stand-in**: :func:`make_standin_svhn` renders house-number-like
   colour digits with the fonts matplotlib ships.  It is *not* SVHN: the
   dataset is flagged ``is_fallback=True`` and a warning says so.

The stand-in shares SVHN's content (a centred digit 0-9 on a 32x32 colour
crop, with parts of its neighbours cut at the edges) but not its statistics:
real SVHN has photographs, perspective, lighting and far more variety.

The dataset's ``provenance`` records which source was used, with the files'
names and SHA-256 digests (see :func:`helpers.data.datasets.make_provenance`).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .datasets import (
    Dataset,
    OfflineFallbackWarning,
    check_images,
    check_labels,
    check_raw_labels,
    check_raw_pixels,
    check_subset_seed,
    check_subset_size,
    digest_arrays,
    make_provenance,
    note_provenance,
    subset,
)
from .downloads import DATA_DIR_ENV_VAR, DownloadError, data_dir_error, fetch_file, sha256_of

SVHN_URL = "http://ufldl.stanford.edu/housenumbers/{name}"
SVHN_FILES = {
    "train": ("train_32x32.mat",
              "435e94d69a87fde4fd4d7f3dd208dfc32cb6ae8af2240d066de1df7508d083b8"),
    "test": ("test_32x32.mat",
             "cdce80dfb2a2c4c6160906d0bd7c68ec5a99d7ca4831afa54f09182025b6a75b"),
}
#: the size of each file: a download may bring no more
SVHN_BYTES = {"train_32x32.mat": 182_040_794, "test_32x32.mat": 64_275_384}
#: seconds the whole download of one SVHN file may take (train_32x32.mat is 182 MB)
SVHN_DEADLINE_S = 600.0
#: how many stand-in images :func:`load_svhn` renders when no size is asked for
STANDIN_DEFAULT_SIZES = (10_000, 5_000)
#: matplotlib's bundled text fonts used by the stand-in (symbol fonts left out)
STANDIN_FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
    "DejaVuSerif-Italic.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf",
    "cmr10.ttf", "cmss10.ttf", "cmb10.ttf", "cmtt10.ttf",
)
_GLYPH = 40  # glyphs are stored as 40x40 masks (height 40, width <= 40)


# ------------------------------------------------------------------- real files
def read_svhn_mat(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one cropped-digit SVHN ``.mat`` file.

    Returns:
        ``(x, y)``: uint8 images ``(N, 32, 32, 3)`` and int64 labels in
        ``[0, 9]`` (the file's label ``10`` is the digit ``0``).

    Raises:
        ValueError: naming the file and the variable, when the file cannot be
            read, ``X``/``y`` have the wrong shapes, ``X`` is not uint8-like
            integers 0..255 (e.g. already scaled to [0, 1]) or ``y`` is not
            whole numbers 1..10 (``10.5`` is an error, never truncated).
    """
    from scipy.io import loadmat

    try:
        mat = loadmat(path)
        x, y = np.asarray(mat["X"]), np.asarray(mat["y"]).reshape(-1)
    except Exception as err:  # OSError, ValueError, KeyError, ...
        raise ValueError(f"{path} is not a readable SVHN .mat file with 'X' and 'y' ({err}).") \
            from err
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != len(y):
        raise ValueError(f"{path}: X has shape {x.shape} and y {y.shape}; expected (32, 32, 3, N) "
                         "and N labels.")
    x = check_raw_pixels(x, f"'X' in {path}", "the cropped-digit SVHN layout: uint8 0..255")
    y = check_raw_labels(y, f"'y' in {path}", 1, 10,
                         "the cropped-digit SVHN layout: 1..10, where 10 is the digit 0")
    y[y == 10] = 0
    return np.ascontiguousarray(np.transpose(x, (3, 0, 1, 2))), y


def _find_real_svhn(data_dir, cache_dir) -> tuple[dict[str, Path], str, dict[str, str]]:
    """Paths of both real files, where they came from (in words), and their provenance.

    Raises:
        FileNotFoundError: when an explicit ``data_dir`` lacks the files.
        DownloadError: when the cache and the download both fail.
    """
    explicit = data_dir is not None
    folder = data_dir if explicit else os.environ.get(DATA_DIR_ENV_VAR) or None
    if folder is not None:
        paths = {k: Path(folder).expanduser() / name for k, (name, _) in SVHN_FILES.items()}
        if all(p.is_file() for p in paths.values()):
            provenance = make_provenance("SVHN", "data-dir",
                                         {p.name: sha256_of(p) for p in paths.values()})
            return paths, "data directory (train_32x32.mat, test_32x32.mat)", provenance
        if explicit:
            raise data_dir_error(folder, "the data_dir argument",
                                 tuple(name for name, _ in SVHN_FILES.values()),
                                 "the cropped-digit SVHN files")
    paths, hows, sums = {}, set(), {}
    for key, (name, sha) in SVHN_FILES.items():
        paths[key], how = fetch_file(SVHN_URL.format(name=name), name, sha, cache_dir=cache_dir,
                                     timeout=8.0, deadline=SVHN_DEADLINE_S,
                                     validate=read_svhn_mat, max_bytes=SVHN_BYTES.get(name))
        hows.add(how)
        sums[name] = sha  # verified by fetch_file
    where = "Keras cache" if hows == {"cache"} else "downloaded into the Keras cache"
    provenance = make_provenance("SVHN", "keras-cache" if hows == {"cache"} else "download", sums)
    return paths, f"{where} (train_32x32.mat, test_32x32.mat)", provenance


def load_svhn(
    train_size: int | None = None,
    test_size: int | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    allow_fallback: bool = True,
) -> Dataset:
    """Load cropped-digit SVHN as float32 images in [0, 1] shaped ``(N, 32, 32, 3)``.

    Args:
        train_size, test_size: optional stratified subset sizes (``None`` =
            everything; for the stand-in :data:`STANDIN_DEFAULT_SIZES`).
        seed: seed of the subset draw (and of the stand-in renderer).
        data_dir: folder with ``train_32x32.mat`` and ``test_32x32.mat``;
            defaults to ``HF_DATA_DIR`` (skipped if it lacks them).
        cache_dir: download cache (default: the Keras cache folder).
        allow_fallback: if ``False``, raise instead of rendering the stand-in.

    ``train_size``/``test_size`` must be whole numbers of at least 10 (every digit
    in the subset) or ``None``; ``seed`` a whole number >= 0 — ``None`` is refused,
    as in :func:`helpers.data.load_mnist`, so that every subset can be drawn again.

    Returns:
        A :class:`Dataset` whose ``provenance`` is ``{"name": "SVHN", "source":
        "data-dir" | "keras-cache" | "download" | "stand-in", "file":
        "train_32x32.mat,test_32x32.mat", "sha256": "<train digest>,<test digest>"}``
        (for the stand-in ``file`` is ``""`` and ``sha256`` the digest of its
        rendered arrays).
    """
    train_size = check_subset_size(train_size, "train_size", "load_svhn", 10)
    test_size = check_subset_size(test_size, "test_size", "load_svhn", 10)
    seed = check_subset_seed(seed, "load_svhn")
    try:
        paths, source, provenance = _find_real_svhn(data_dir, cache_dir)
    except DownloadError as err:
        if not allow_fallback:
            raise
        warnings.warn(
            f"Real SVHN is not available here ({err}). Using the OFFLINE STAND-IN: digits "
            "rendered from matplotlib's fonts with random colours, neighbours, blur and noise. "
            "It shares SVHN's content but it is NOT SVHN; numbers measured on it are not "
            f"comparable with published SVHN results. Set {DATA_DIR_ENV_VAR} to a folder with "
            "train_32x32.mat and test_32x32.mat to use the real data.",
            OfflineFallbackWarning,
            stacklevel=2,
        )
        n_train = train_size if train_size is not None else STANDIN_DEFAULT_SIZES[0]
        n_test = test_size if test_size is not None else STANDIN_DEFAULT_SIZES[1]
        ds = make_standin_svhn(n_train, n_test, seed=seed)
        note_provenance(ds)
        return ds
    x_train, y_train = read_svhn_mat(paths["train"])
    x_test, y_test = read_svhn_mat(paths["test"])
    ds = Dataset("SVHN", x_train, y_train, x_test, y_test, source=source, provenance=provenance)
    ds = subset(ds, train_size, test_size, seed)
    ds.x_train = ds.x_train.astype(np.float32) / 255.0
    ds.x_test = ds.x_test.astype(np.float32) / 255.0
    note_provenance(ds)
    return ds


# ---------------------------------------------------------------- the stand-in
@dataclass(frozen=True)
class GlyphAtlas:
    """Digit masks: ``masks[f, d]`` is digit ``d`` in font ``f`` (40x40, ink in [0, 1])."""

    masks: np.ndarray   # (F, 10, 40, 40) float32
    widths: np.ndarray  # (F, 10) ink width in atlas pixels
    fonts: tuple[str, ...]


def _render_glyph(font_path: str, char: str) -> np.ndarray:
    """The ink of one character as a float mask cropped to its bounding box."""
    from matplotlib.ft2font import FT2Font

    font = FT2Font(font_path)
    font.set_size(64, 72)
    font.set_text(char)
    font.draw_glyphs_to_bitmap(antialiased=True)
    ink = np.asarray(font.get_image(), np.float32) / 255.0
    rows, cols = np.flatnonzero(ink.max(1) > 0.05), np.flatnonzero(ink.max(0) > 0.05)
    if not len(rows):
        raise ValueError(f"{font_path} has no visible glyph for {char!r}.")
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


@lru_cache(maxsize=1)
def glyph_atlas() -> GlyphAtlas:
    """Render digits 0-9 in every available :data:`STANDIN_FONTS` font once (cached)."""
    import matplotlib
    from scipy.ndimage import zoom

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    fonts = tuple(f for f in STANDIN_FONTS if (folder / f).is_file())
    if not fonts:
        raise FileNotFoundError(f"None of matplotlib's fonts were found in {folder}.")
    masks = np.zeros((len(fonts), 10, _GLYPH, _GLYPH), np.float32)
    widths = np.zeros((len(fonts), 10), np.float32)
    for fi, name in enumerate(fonts):
        for d in range(10):
            ink = _render_glyph(str(folder / name), str(d))
            scale = _GLYPH / ink.shape[0]
            width = min(_GLYPH, max(4, int(round(ink.shape[1] * scale))))
            glyph = np.clip(zoom(ink, (_GLYPH / ink.shape[0], width / ink.shape[1]), order=1), 0, 1)
            left = (_GLYPH - glyph.shape[1]) // 2
            masks[fi, d, :, left:left + glyph.shape[1]] = glyph[:_GLYPH]
            widths[fi, d] = glyph.shape[1]
    return GlyphAtlas(masks, widths, fonts)


def _blur3(m: np.ndarray) -> np.ndarray:
    """A separable [1, 2, 1] / 4 blur over the last two axes (edges repeated)."""
    p = np.pad(m, ((0, 0), (1, 1), (0, 0)), mode="edge")
    m = (p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]) / 4
    p = np.pad(m, ((0, 0), (0, 0), (1, 1)), mode="edge")
    return (p[:, :, :-2] + 2 * p[:, :, 1:-1] + p[:, :, 2:]) / 4


def _luminance(c: np.ndarray) -> np.ndarray:
    return c @ np.array([0.299, 0.587, 0.114], np.float32)


def render_standin(labels: np.ndarray, seed: int = 0, size: int = 32) -> np.ndarray:
    """Render one house-number-like colour image per label (float32 in [0, 1]).

    Each image shows the digit ``labels[i]`` in the middle, in a random font,
    height, stretch, slant and small rotation, with random neighbouring
    digits cut at the left/right edges, a random background colour with a
    gradient, a contrasting ink colour, a random blur and pixel noise.  The
    same ``(labels, seed)`` always gives the same images.
    """
    labels = check_labels(labels, 10, "labels")
    atlas = glyph_atlas()
    rng = np.random.default_rng(seed)
    n, n_fonts = len(labels), len(atlas.fonts)
    u = lambda lo, hi: rng.uniform(lo, hi, n).astype(np.float32)  # noqa: E731
    font = rng.integers(0, n_fonts, n)
    left, right = rng.integers(0, 10, n), rng.integers(0, 10, n)
    height, stretch, gap = u(0.5, 0.95) * size, u(0.7, 1.3), u(0.0, 4.0)
    angle, shear = u(-0.2, 0.2), u(-0.3, 0.3)
    dx, dy = u(-2.5, 2.5), u(-2.0, 2.0)
    k = _GLYPH / height  # atlas pixels per output pixel (vertically)

    # output pixel grid, centred, mapped back through rotation + shear
    g = np.arange(size, dtype=np.float32) - (size - 1) / 2
    yy, xx = np.meshgrid(g, g, indexing="ij")
    xx, yy = xx[None] - dx[:, None, None], yy[None] - dy[:, None, None]
    c, s = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    xr, yr = c * xx + s * yy, -s * xx + c * yy
    xr = xr + shear[:, None, None] * yr
    # horizontal layout: [left neighbour] gap [centre digit] gap [right neighbour]
    wid = lambda d: (atlas.widths[font, d] / k * stretch)[:, None, None]  # noqa: E731
    wc, wl, wr = wid(labels), wid(left), wid(right)
    gap3 = gap[:, None, None]
    centre_l = -wc / 2 - gap3 - wl / 2
    centre_r = wc / 2 + gap3 + wr / 2
    slot = np.where(xr < -wc / 2 - gap3 / 2, 0, np.where(xr > wc / 2 + gap3 / 2, 2, 1))
    offset = np.choose(slot, [centre_l, np.zeros_like(wc), centre_r])
    digit = np.choose(slot, [left[:, None, None], labels[:, None, None], right[:, None, None]])
    kk = k[:, None, None]
    gx = (xr - offset) / stretch[:, None, None] * kk + (_GLYPH - 1) / 2
    gy = yr * kk + (_GLYPH - 1) / 2
    # bilinear lookup into the atlas, padded with a zero border so that
    # coordinates outside a glyph box clip onto zeros
    padded = np.pad(atlas.masks, ((0, 0), (0, 0), (1, 1), (1, 1)))
    side = _GLYPH + 2
    flat = padded.reshape(-1)
    base = (font[:, None, None] * 10 + digit) * side * side
    gx, gy = np.clip(gx + 1, 0, side - 1.001), np.clip(gy + 1, 0, side - 1.001)
    x0, y0 = gx.astype(np.int64), gy.astype(np.int64)
    fx, fy = gx - x0, gy - y0
    i00 = base + y0 * side + x0
    ink = ((flat[i00] * (1 - fx) + flat[i00 + 1] * fx) * (1 - fy)
           + (flat[i00 + side] * (1 - fx) + flat[i00 + side + 1] * fx) * fy)
    # blur: mix the sharp mask with a blurred one
    t = u(0.0, 1.0)[:, None, None]
    ink = (1 - t) * ink + t * _blur3(_blur3(_blur3(ink)))
    # colours: random background, ink that contrasts with it
    bg = rng.uniform(0, 1, (n, 3)).astype(np.float32)
    fg = rng.uniform(0, 1, (n, 3)).astype(np.float32)
    weak = np.abs(_luminance(fg) - _luminance(bg)) < 0.2
    push = np.where(_luminance(bg) > 0.5, -1.0, 1.0)[:, None] * rng.uniform(0.25, 0.6, (n, 1))
    fg = np.where(weak[:, None], np.clip(bg + push, 0, 1), fg).astype(np.float32)
    # a soft lighting gradient across the background
    theta = u(0, 2 * np.pi)
    ramp = (np.cos(theta)[:, None, None] * xx + np.sin(theta)[:, None, None] * yy) / size
    light = (u(0.0, 0.4)[:, None, None] * ramp)[..., None]
    # blotchy background texture: coarse random noise, upsampled 8x
    blotch = np.repeat(np.repeat(rng.standard_normal((n, size // 8, size // 8, 1),
                                                     dtype=np.float32), 8, 1), 8, 2)
    light = light + _blur3(_blur3(blotch[..., 0]))[..., None] * u(0.0, 0.12)[:, None, None, None]
    img = bg[:, None, None] * (1 - ink[..., None]) + fg[:, None, None] * ink[..., None] + light
    img += rng.standard_normal(img.shape, dtype=np.float32) * u(0.01, 0.1)[:, None, None, None]
    return np.clip(img, 0, 1).astype(np.float32)


def normalise_contrast(x: np.ndarray, name: str = "x") -> np.ndarray:
    """Grey, contrast-stretched, light-on-dark versions of colour digit crops.

    Each image becomes its luminance, stretched to fill ``[0, 1]``, and is inverted
    where its border (the outermost 3 pixels, mostly background) is brighter than its
    centre, so the digit is light on a dark ground as in MNIST. A common preprocessing
    of SVHN; it removes colour and lighting, not the neighbours or the blur.
    Returns float32 images shaped ``(N, H, W, 1)``.
    """
    x = check_images(x, name, channels=3)
    if min(x.shape[1:3]) < 8:
        raise ValueError(f"{name} has {x.shape[1]}x{x.shape[2]} images; "
                         "normalise_contrast needs at least 8x8 (a border and a centre).")
    grey = _luminance(x)
    lo = grey.min(axis=(1, 2), keepdims=True)
    span = grey.max(axis=(1, 2), keepdims=True) - lo
    grey = (grey - lo) / np.maximum(span, 1e-6)
    border = np.ones(grey.shape[1:], bool)
    border[3:-3, 3:-3] = False
    h, w = grey.shape[1:]
    centre = grey[:, h // 4: h - h // 4, w // 4: w - w // 4].mean(axis=(1, 2))
    flip = grey[:, border].mean(axis=1) > centre
    grey = np.where(flip[:, None, None], 1.0 - grey, grey)
    return grey[..., None].astype(np.float32)


def make_standin_svhn(train_size: int, test_size: int, seed: int = 0,
                      chunk: int = 2000) -> Dataset:
    """The offline stand-in for SVHN as a :class:`Dataset` (``is_fallback=True``).

    Labels are uniform over 0-9; train and test are rendered with different
    seeds (same fonts).  Rendering goes in chunks to keep memory small.
    """
    if train_size < 1 or test_size < 1:
        raise ValueError(f"train_size and test_size must be positive; got {train_size}, "
                         f"{test_size}.")

    def split(n: int, split_seed: int) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(split_seed)
        y = rng.integers(0, 10, n).astype(np.int64)
        x = np.concatenate([render_standin(y[i:i + chunk], seed=split_seed * 7919 + i)
                            for i in range(0, n, chunk)])
        return check_images(x, "stand-in images", channels=3), y

    x_train, y_train = split(train_size, 2 * seed + 1)
    x_test, y_test = split(test_size, 2 * seed + 2)
    provenance = make_provenance("SVHN", "stand-in",
                                 {"": digest_arrays(x_train, y_train, x_test, y_test)})
    return Dataset("SVHN stand-in", x_train, y_train, x_test, y_test,
                   source="OFFLINE STAND-IN: rendered from matplotlib fonts (not real SVHN)",
                   is_fallback=True, provenance=provenance)
