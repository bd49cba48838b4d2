"""Draw one model diagram per paper chapter as SVG, from this file alone.

    python tools/diagrams.py          # (re)writes book/figures/<model>.svg
    python tools/diagrams.py --check  # exit 1 if a committed SVG differs from what it writes

Each diagram shows what the chapter's code does (``helpers/papers/*.py``): the
encoder(s), the content code ``s`` and the style code ``z``, the decoder, the heads
(classifier, adversary, k-sparse gate), the data flow, and each loss term as a tag
beside what it acts on. Every figure shares one style: the constants below (palette,
fonts, sizes, arrowheads). The SVGs are plain text with no width or height (only a
viewBox, so they scale to their column), ``<title>`` and ``<desc>`` for screen
readers, real ``<text>`` (never paths), and colours in CSS variables with a
``prefers-color-scheme: dark`` variant: the book shows them through ``<img>``,
which the theme's own dark switch does not reach. The output is deterministic:
the same source writes the same bytes.

Legibility: the viewBox is ``WIDTH`` units wide and no text is smaller than
``MIN_FONT`` units, so at a 390 px wide phone column every letter is at least
``MIN_FONT * 390 / WIDTH`` >= 13 px.
"""

from __future__ import annotations

import argparse
import base64
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, unescape

from helpers.files import atomic_write_text

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "book" / "figures"

# ── the one style every diagram shares ───────────────────────────────────────────────
WIDTH = 640                     # viewBox width: 390 px on a phone is a 0.61 scale
PHONE_PX = 390
MIN_FONT = 22                   # 22 * 390 / 640 = 13.4 px on a phone
FONT = {"label": 24, "math": 27, "tag": 24, "sub": 22, "small": 22, "title": 24}
SUB_SHIFT = 7                   # how far a subscript sits below the baseline
STROKE = {"box": 2.5, "flow": 2.5, "loss": 2.5}
ARROWHEAD = 13                  # arrowhead length, user units
RADIUS = {"box": 10, "code": 8, "tag": 19}
TAG_HEIGHT = 38
CODE_HEIGHT = 42
PAD = 14                        # text padding inside tags and codes

SANS = ("system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, "
        "'Liberation Sans', 'DejaVu Sans', sans-serif")
SERIF = ("'STIX Two Math', 'STIX Two Text', 'Cambria Math', Cambria, 'Times New Roman', "
         "'Liberation Serif', 'DejaVu Serif', serif")

# (light, dark) per CSS variable; the roles: net = encoder/decoder, clf = a classifier
# head or gate, adv = the adversary, s = content code, z = style code, loss = loss tags.
PALETTE = {
    "bg": ("#ffffff", "#16191d"),
    "ink": ("#1f2328", "#e8eaed"),
    "muted": ("#59636e", "#a9b1ba"),
    "net": ("#1f5fa8", "#7fb2f0"), "net-f": ("#e6effa", "#1b2a3d"),
    "clf": ("#6a3fb5", "#bda2f2"), "clf-f": ("#f0eafb", "#2a2240"),
    "adv": ("#b3261e", "#f2968e"), "adv-f": ("#fce6e4", "#3d1f1d"),
    "s": ("#a85400", "#f3a953"), "s-f": ("#fdebd5", "#3b2a16"),
    "z": ("#00745a", "#58cfa9"), "z-f": ("#daf2ea", "#133329"),
    "loss": ("#8a6a00", "#e3c35a"), "loss-f": ("#fff5cc", "#38300f"),
    "frozen": ("#6b7580", "#9aa3ad"), "frozen-f": ("#eef0f2", "#262a30"),
    "panel": ("#f6f8fa", "#1d2126"),
}
ROLES = ("net", "clf", "adv", "s", "z", "loss", "frozen")


def _css() -> str:
    """The embedded stylesheet: variables, their dark values, and one class per role."""
    light = ";".join(f"--{k}:{v[0]}" for k, v in PALETTE.items())
    dark = ";".join(f"--{k}:{v[1]}" for k, v in PALETTE.items())

    def var(name: str) -> str:  # a plain colour first, for renderers without var()
        return f"{PALETTE[name][0]};{{prop}}:var(--{name})"

    rules = [
        f"svg{{{light}}}",
        f"@media (prefers-color-scheme: dark){{svg{{{dark}}}}}",
        f"text{{font-family:{SANS};fill:{PALETTE['ink'][0]};fill:var(--ink)}}",
        f".m{{font-family:{SERIF};font-style:italic}}",
        f".bg{{fill:{PALETTE['bg'][0]};fill:var(--bg)}}",
        f".panel{{fill:{PALETTE['panel'][0]};fill:var(--panel)}}",
        f".muted{{fill:{PALETTE['muted'][0]};fill:var(--muted)}}",
    ]
    for role in ROLES:
        stroke, fill = var(role).format(prop="stroke"), var(f"{role}-f").format(prop="fill")
        rules.append(f".{role}{{stroke:{stroke};fill:{fill};stroke-width:{STROKE['box']}}}")
    ink, muted = var("ink"), var("muted")
    rules += [
        f".flow{{fill:none;stroke:{ink.format(prop='stroke')};stroke-width:{STROKE['flow']}}}",
        f".test{{fill:none;stroke:{muted.format(prop='stroke')};stroke-width:{STROKE['flow']};"
        "stroke-dasharray:9 6}",
        f".lossline{{fill:none;stroke:{var('loss').format(prop='stroke')};"
        f"stroke-width:{STROKE['loss']};stroke-dasharray:2 5;stroke-linecap:round}}",
        f".head{{fill:{ink.format(prop='fill')}}}",
        f".headm{{fill:{muted.format(prop='fill')}}}",
        ".frozen{stroke-dasharray:8 5}",
        f".rule{{fill:none;stroke:{muted.format(prop='stroke')};stroke-width:1.5}}",
    ]
    return "".join(rules)


# ── text with a little markup: $math$ (italic serif) and _{subscript} ────────────────
_TOKEN = re.compile(r"(\$[^$]*\$|_\{[^}]*\})")


def _runs(markup: str, sub: bool = False) -> list[tuple[str, str]]:
    """Split ``markup`` into ``(text, kind)`` runs: kind ``sans`` or ``math``, and
    ``sub`` or ``msub`` (math) for the runs of a subscript."""
    runs = []
    for part in _TOKEN.split(markup):
        if not part:
            continue
        if part.startswith("_{") and not sub:
            runs += _runs(part[2:-1], sub=True)
        elif part.startswith("$"):
            runs.append((part[1:-1], "msub" if sub else "math"))
        else:
            runs.append((part, "sub" if sub else "sans"))
    return runs


def text_width(markup: str, size: int) -> float:
    """A generous estimate of the rendered width of ``markup`` (no font metrics here)."""
    width = 0.0
    for text, kind in _runs(markup):
        em = {"sans": 0.60 * size, "math": 0.56 * FONT["math"] * size / FONT["label"],
              "sub": 0.60 * FONT["sub"], "msub": 0.56 * FONT["sub"]}[kind]
        width += sum(em * (0.45 if ch in " ,.|()'·−-" else 1.0)
                     for ch in text if not 0x300 <= ord(ch) < 0x370)
    return width


def _text(x: float, y: float, markup: str, size: int, anchor: str = "middle",
          cls: str = "") -> str:
    """A ``<text>`` whose baseline sits at ``y`` (``cls``: extra classes)."""
    spans, shift = [], 0
    for text, kind in _runs(markup):
        fs = FONT["sub"] if kind in ("sub", "msub") else (
            round(FONT["math"] * size / FONT["label"]) if kind == "math" else size)
        want = SUB_SHIFT if kind in ("sub", "msub") else 0
        attrs = f' font-size="{fs}"'
        if want != shift:
            attrs += f' dy="{want - shift}"'
            shift = want
        if kind in ("math", "msub"):
            attrs += ' class="m"'
        spans.append(f"<tspan{attrs}>{escape(text)}</tspan>")
    c = f' class="{cls}"' if cls else ""
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" '
            f'text-anchor="{anchor}"{c}>{"".join(spans)}</text>')


def _n(v: float) -> str:
    """A coordinate, written the same way on every run."""
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _baseline(cy: float, size: int) -> float:
    """The baseline that centres a line of text of ``size`` on ``cy``."""
    return cy + 0.35 * size


# ── the shapes ────────────────────────────────────────────────────────────────────────
@dataclass
class Box:
    """A rectangle's extent, with its anchor points for arrows."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def left(self, dy: float = 0) -> tuple[float, float]:
        return (self.x, self.cy + dy)

    def right(self, dy: float = 0) -> tuple[float, float]:
        return (self.x + self.w, self.cy + dy)

    def top(self, dx: float = 0) -> tuple[float, float]:
        return (self.cx + dx, self.y)

    def bottom(self, dx: float = 0) -> tuple[float, float]:
        return (self.cx + dx, self.y + self.h)


@dataclass
class Diagram:
    """One figure: its elements in drawing order, then ``svg()`` writes it."""

    name: str
    title: str
    desc: str
    height: int = 0                # 0: the legend's end decides
    items: list[str] = field(default_factory=list)
    boxes: list[tuple[str, Box]] = field(default_factory=list)  # for the overlap check

    # nodes ---------------------------------------------------------------------------
    def net(self, x: float, y: float, w: float, h: float, label: str, role: str = "net",
            shape: str = "rect", frozen: bool = False, sublabel: str = "",
            taper: float = 0.2) -> Box:
        """A network: ``rect``, or a trapezoid narrowing (``enc``) or widening (``dec``)
        by ``taper`` of its height at each corner."""
        cls = "frozen" if frozen else role
        inset = h * taper
        if shape == "rect":
            self.items.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}"'
                              f' rx="{RADIUS["box"]}" class="{cls}"/>')
        else:
            a, b = (0, inset) if shape == "enc" else (inset, 0)
            pts = [(x, y + a), (x + w, y + b), (x + w, y + h - b), (x, y + h - a)]
            self.items.append(f'<polygon points="{_pts(pts)}" stroke-linejoin="round"'
                              f' class="{cls}"/>')
        box = Box(x, y, w, h)
        if sublabel:
            self.items.append(_text(box.cx, _baseline(box.cy - 14, FONT["label"]), label,
                                    FONT["label"]))
            self.items.append(_text(box.cx, _baseline(box.cy + 16, FONT["small"]), sublabel,
                                    FONT["small"], cls="muted"))
        else:
            self.items.append(_text(box.cx, _baseline(box.cy, FONT["label"]), label,
                                    FONT["label"]))
        self.boxes.append((label, box))
        return box

    def code(self, cx: float, cy: float, label: str, role: str, w: float = 0) -> Box:
        """A code or a head's output (``s``, ``z``, ``p(y|x)``): a small rounded box."""
        w = w or text_width(label, FONT["label"]) + 2 * PAD
        box = Box(cx - w / 2, cy - CODE_HEIGHT / 2, w, CODE_HEIGHT)
        self.items.append(f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(w)}"'
                          f' height="{CODE_HEIGHT}" rx="{RADIUS["code"]}" class="{role}"/>')
        self.items.append(_text(cx, _baseline(cy, FONT["label"]), label, FONT["label"]))
        self.boxes.append((label, box))
        return box

    def data(self, cx: float, cy: float, label: str) -> Box:
        """An image or a label (``x``, ``x̂``, ``y``): bare italic text."""
        self.items.append(_text(cx, _baseline(cy, FONT["label"]), label, FONT["label"]))
        w = text_width(label, FONT["label"]) + 8
        box = Box(cx - w / 2, cy - 16, w, 32)
        self.boxes.append((label, box))
        return box

    def tag(self, cx: float, cy: float, label: str) -> Box:
        """A loss term: a pill beside what it acts on."""
        w = text_width(label, FONT["tag"]) + 2 * PAD
        box = Box(cx - w / 2, cy - TAG_HEIGHT / 2, w, TAG_HEIGHT)
        self.items.append(f'<rect x="{_n(box.x)}" y="{_n(box.y)}" width="{_n(w)}"'
                          f' height="{TAG_HEIGHT}" rx="{RADIUS["tag"]}" class="loss"/>')
        self.items.append(_text(cx, _baseline(cy, FONT["tag"]) - 2, label, FONT["tag"]))
        self.boxes.append((label, box))
        return box

    def note(self, x: float, y: float, markup: str, anchor: str = "start",
             muted: bool = True, size: int = 0) -> None:
        """Free text (a line of a legend, a panel's heading) with its baseline at ``y``."""
        size = size or FONT["small"]
        self.items.append(_text(x, y, markup, size, anchor=anchor,
                                cls="muted" if muted else ""))
        w = text_width(markup, size)
        left = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
        self.boxes.append((markup, Box(left, y - 0.75 * size, w, 0.95 * size)))

    def panel(self, x: float, y: float, w: float, h: float, heading: str) -> None:
        """A shaded panel (a training step) with its heading in the top-left corner."""
        self.items.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}"'
                          f' rx="{RADIUS["box"]}" class="panel"/>')
        self.note(x + 14, y + 30, heading, muted=False, size=FONT["title"])

    # lines ---------------------------------------------------------------------------
    def arrow(self, *points: tuple[float, float], kind: str = "flow",
              label: str = "", at: tuple[float, float] | None = None) -> None:
        """A polyline ending in an arrowhead: ``flow`` (data) or ``test`` (test time only)."""
        *body, (x2, y2) = points
        x1, y1 = body[-1]
        length = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1e-9)
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        base = (x2 - ux * ARROWHEAD, y2 - uy * ARROWHEAD)
        self.items.append(f'<polyline points="{_pts([*body, base])}" class="{kind}"/>')
        half = ARROWHEAD * 0.42
        head = [(x2, y2), (base[0] - uy * half, base[1] + ux * half),
                (base[0] + uy * half, base[1] - ux * half)]
        cls = "headm" if kind == "test" else "head"
        self.items.append(f'<polygon points="{_pts(head)}" class="{cls}"/>')
        if label and at:
            self.note(at[0], at[1], label, anchor="middle", muted=kind == "test")

    def line(self, *points: tuple[float, float]) -> None:
        """A data-flow line without an arrowhead (up to a junction)."""
        self.items.append(f'<polyline points="{_pts(points)}" class="flow"/>')

    def loss_line(self, *points: tuple[float, float]) -> None:
        """A dotted line from a loss tag to what the loss compares or acts on."""
        self.items.append(f'<polyline points="{_pts(points)}" class="lossline"/>')

    def rule(self, y: float) -> None:
        """A thin line that separates the legend from the drawing."""
        self.items.append(f'<line x1="20" y1="{_n(y)}" x2="{WIDTH - 20}" y2="{_n(y)}"'
                          ' class="rule"/>')

    # the legend ----------------------------------------------------------------------
    def legend(self, y: float, entries: list[tuple[str, str]]) -> float:
        """Legend rows from ``y`` down: a sample of each line style, then its meaning.

        ``entries``: ``(kind, text)`` with kind ``flow``, ``test``, ``loss``, ``frozen``,
        ``update1``/``update2`` (a numbered training update) or ``text`` (a plain line).
        """
        self.rule(y)
        y += 32
        for kind, text in entries:
            mid = y - 7
            if kind in ("flow", "test"):
                self.arrow((24, mid), (72, mid), kind=kind)
            elif kind == "loss":
                self.loss_line((24, mid), (58, mid))
                self.items.append(f'<rect x="58" y="{_n(mid - 11)}" width="18" height="22"'
                                  ' rx="9" class="loss"/>')
            elif kind == "frozen":
                self.items.append(f'<rect x="24" y="{_n(mid - 13)}" width="52" height="26"'
                                  f' rx="{RADIUS["code"]}" class="frozen"/>')
            elif kind.startswith("update"):
                self.badge(50, mid, kind[-1])
            x = 24 if kind == "text" else 90
            self.note(x, y, text)
            y += 34
        self.height = self.height or round(y - 14)
        return y

    def dot(self, cx: float, cy: float) -> None:
        """A junction: one output feeding two boxes."""
        self.items.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="4.5" class="head"/>')

    def badge(self, cx: float, cy: float, number: str) -> None:
        """A numbered circle: which of a step's alternating updates trains this box."""
        self.items.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="15" class="loss"/>')
        self.items.append(_text(cx, _baseline(cy, FONT["small"]), number, FONT["small"]))

    def problems(self) -> list[str]:
        """What a reader would trip over: a box or a line of text (at its estimated
        width) outside the viewBox, or two of them overlapping."""
        out = []
        for label, b in self.boxes:
            if b.x < 0 or b.y < 0 or b.x + b.w > WIDTH or b.y + b.h > self.height:
                out.append(f"{self.name}: {label!r} leaves the figure")
        for i, (la, a) in enumerate(self.boxes):
            for lb, b in self.boxes[i + 1:]:
                if (a.x < b.x + b.w and b.x < a.x + a.w
                        and a.y < b.y + b.h and b.y < a.y + a.h):
                    out.append(f"{self.name}: {la!r} overlaps {lb!r}")
        return out

    def svg(self) -> str:
        """The whole figure as SVG text (no width/height: it scales to its column)."""
        head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {self.height}"'
                f' role="img" aria-labelledby="{self.name}-title {self.name}-desc"'
                ' style="max-width:100%;height:auto">\n'
                f'<title id="{self.name}-title">{escape(self.title)}</title>\n'
                f'<desc id="{self.name}-desc">{escape(self.desc)}</desc>\n'
                f"<style>{_css()}</style>\n"
                f'<rect width="{WIDTH}" height="{self.height}" rx="12" class="bg"/>\n')
        return head + "\n".join(self.items) + "\n</svg>\n"


def _pts(points) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


# ── the five models ──────────────────────────────────────────────────────────────────
ONE_LOSS = "One loss, the sum of the tags: all train at once."
LEGEND_ONE_LOSS = [("flow", "data flow"),
                   ("loss", "loss term, dotted to what it compares"),
                   ("text", ONE_LOSS)]



def encoder_with_two_codes(d: Diagram, x_y: float, enc_y: float,
                           top: tuple[float, float, str, str], z_y: float, split: float,
                           spread: float) -> tuple[Box, Box, Box, Box]:
    """Image ``x`` into an encoder that forks into a code ``top`` (x, y, label, role)
    and the style code ``z``; returns the four boxes."""
    x = d.data(24, x_y, "$x$")
    enc = d.net(52, enc_y, 120, 120, "encoder", shape="enc")
    d.arrow(x.right(), enc.left())
    upper = d.code(*top)
    z = d.code(top[0], z_y, "$z$", "z", w=64)
    d.arrow(enc.right(-spread), (split, enc.cy - spread), (split, upper.cy), upper.left())
    d.arrow(enc.right(spread), (split, enc.cy + spread), (split, z.cy), z.left())
    return x, enc, upper, z


def reconstruction_loop(d: Diagram, dec: Box, x: Box, y: float) -> None:
    """The ℒ_rec tag at height ``y``, dotted to the decoder's output and back to ``x``."""
    rec = d.tag(560, y, "ℒ_{rec}")
    d.loss_line((612, dec.cy + 16), (612, rec.cy), rec.right())
    d.loss_line(rec.left(), (24, rec.cy), (24, x.y + x.h))


#: one diagram per drawing function below, named after it (the chapter's module name)
MODELS: dict[str, Callable[[], Diagram]] = {}


def model(build: Callable[[], Diagram]) -> Callable[[], Diagram]:
    """Register a drawing function as the diagram of the model it is named after."""
    MODELS[build.__name__] = build
    return build


@model
def warmup() -> Diagram:
    """Chapter 0: ``ConditionalAutoencoder`` (helpers/papers/warmup.py)."""
    d = Diagram("warmup", "Conditional autoencoder (chapter 0)",
                "An encoder reads image x into class probabilities p(y|x), trained by "
                "cross-entropy against the label y, and a style code z; the decoder redraws "
                "x-hat from the one-hot true label (the classifier's guess at test time) and "
                "z, trained by reconstruction loss.")
    x, enc, p, z = encoder_with_two_codes(d, 210, 150, (270, 130, "$p$($y$|$x$)", "clf"),
                                          270, split=205, spread=20)
    dec = d.net(455, 190, 120, 120, "decoder", shape="dec")
    y = d.data(dec.cx, 40, "$y$")
    s = d.code(dec.cx, p.cy, "onehot($y$)", "s")
    d.arrow(y.bottom(), s.top())
    d.arrow(s.bottom(), (dec.cx, dec.y + 12), label="$s$", at=(dec.cx + 20, 171))
    d.arrow(z.right(), dec.left(20))
    d.arrow(p.right(), s.left(), kind="test")
    xh = d.data(612, dec.cy, "$x̂$")
    d.arrow(dec.right(), xh.left())
    ce = d.tag(270, 40, "$β$ ℒ_{CE}")
    d.loss_line(ce.bottom(), p.top())
    d.loss_line(ce.right(), y.left())
    reconstruction_loop(d, dec, x, 370)
    d.legend(405, [("flow", "data flow in training"),
                   ("test", "at test time: $s$ = onehot(argmax $p$)"),
                   ("loss", "loss term, dotted to what it compares"),
                   ("text", ONE_LOSS)])
    return d


@model
def xcov() -> Diagram:
    """Chapter 1: ``XCovAutoencoder`` (helpers/papers/xcov.py)."""
    d = Diagram("xcov", "XCov autoencoder (chapter 1)",
                "An encoder reads image x into a softmax y, used as the content code s and "
                "trained by cross-entropy against the label, and a linear style code z; a "
                "cross-covariance penalty between y and z keeps the class out of z, and the "
                "decoder redraws x-hat from [y, z] under a reconstruction loss.")
    x, enc, s, z = encoder_with_two_codes(d, 190, 130, (275, 120, "$s$ = $y$", "s"),
                                          262, split=200, spread=22)
    dec = d.net(455, 130, 120, 120, "decoder", shape="dec")
    d.arrow(s.right(), (420, s.cy), (420, dec.cy - 22), (dec.x, dec.cy - 22))
    d.arrow(z.right(), (420, z.cy), (420, dec.cy + 22), (dec.x, dec.cy + 22))
    xh = d.data(612, dec.cy, "$x̂$")
    d.arrow(dec.right(), xh.left())
    ce = d.tag(275, 36, "$β$ ℒ_{CE}")
    d.loss_line(ce.bottom(), s.top())
    d.note(ce.x + ce.w + 10, 44, "with label $y$", anchor="start")
    xc = d.tag(318, 191, "$γ$ XCov($y$, $z$)")
    d.loss_line((s.cx, s.y + s.h), (s.cx, xc.y))
    d.loss_line((z.cx, xc.y + xc.h), (z.cx, z.y))
    rec = d.tag(545, 335, "$α$ ℒ_{rec}")
    d.loss_line((612, 205), (612, rec.cy), rec.right())
    d.loss_line(rec.left(), (24, rec.cy), (24, 205))
    d.legend(372, LEGEND_ONE_LOSS)
    return d


@model
def ksparse_cvae() -> Diagram:
    """Chapter 2: ``KSparseCVAE`` (helpers/papers/ksparse_cvae.py)."""
    d = Diagram("ksparse_cvae", "K-sparse conditional VAE (chapter 2)",
                "An encoder reads image x into class probabilities p(c|x), trained by "
                "cross-entropy against the label y, which a k-sparse gate turns into the "
                "content code s, and into a Gaussian q(z|x) whose sample z a KL term pulls "
                "toward N(0, I); the decoder redraws x-hat from [s, z] under a "
                "reconstruction loss.")
    x = d.data(24, 210, "$x$")
    enc = d.net(52, 150, 120, 120, "encoder", shape="enc")
    d.arrow(x.right(), enc.left())
    p = d.code(258, 130, "$p$($c$|$x$)", "clf")
    gate = d.net(340, 109, 76, 42, "Γ_{$k$}", role="clf")
    dec = d.net(455, 190, 120, 120, "decoder", shape="dec")
    s = d.code(dec.cx, p.cy, "$s$", "s", w=64)
    d.arrow(enc.right(-20), (205, enc.cy - 20), (205, p.cy), p.left())
    d.arrow(p.right(), gate.left())
    d.arrow(gate.right(), s.left())
    d.arrow(s.bottom(), (dec.cx, dec.y + 12))
    q = d.code(258, 270, "$q$($z$|$x$)", "z")
    z = d.code(378, 270, "$z$", "z", w=64)
    d.arrow(enc.right(20), (205, enc.cy + 20), (205, q.cy), q.left())
    d.arrow(q.right(), z.left())
    d.note((q.x + q.w + z.x) / 2, 242, "sample", anchor="middle")
    d.arrow(z.right(), dec.left(20))
    xh = d.data(612, dec.cy, "$x̂$")
    d.arrow(dec.right(), xh.left())
    ce = d.tag(p.cx, 40, "$γ$ ℒ_{CE}")
    d.loss_line(ce.bottom(), p.top())
    d.note(ce.x + ce.w + 10, 48, "with label $y$")
    kl = d.tag(q.cx, 345, "$β$ D_{KL}")
    d.loss_line(q.bottom(), kl.top())
    d.note(kl.x + kl.w + 10, 353, "to $N$(0, $I$)")
    reconstruction_loop(d, dec, x, 405)
    d.legend(440, [("flow", "data flow"),
                   ("loss", "loss term, dotted to what it compares"),
                   ("text", "Γ_{$k$}: keep the $k$ largest, zero the rest."),
                   ("text", ONE_LOSS)])
    return d


@model
def jade() -> Diagram:
    """Chapter 3: ``JADE`` (helpers/papers/jade.py)."""
    d = Diagram("jade", "JADE: two domains, one shared classifier (chapter 3)",
                "Each of two domains, scarce and abundant, has its own encoder, which splits "
                "image x_d into content s_d and style z_d, and its own decoder, which redraws "
                "x-hat_d under an ELBO loss; one shared classifier h reads both contents under "
                "cross-entropy, and a matching term pulls the content codes of same-class "
                "pairs together.")
    rows = {1: (70, "scarce"), 2: (330, "abundant")}
    codes = {}
    for i, (top, name) in rows.items():
        x = d.data(24, top + 70, f"$x$_{{{i}}}")
        enc = d.net(52, top, 130, 140, "encoder", shape="enc", sublabel=name)
        dec = d.net(455, top, 130, 140, "decoder", shape="dec", sublabel=name)
        d.arrow(x.right(), enc.left())
        s_y, z_y = (40, -30) if i == 1 else (-30, 40)
        s = d.code(262, enc.cy + s_y, f"$s$_{{{i}}}", "s", w=76)
        z = d.code(262, enc.cy + z_y, f"$z$_{{{i}}}", "z", w=76)
        for c in (s, z):
            d.arrow((enc.x + enc.w, c.cy), c.left())
            d.arrow(c.right(), (dec.x, c.cy))
        xh = d.data(617, dec.cy, f"$x̂$_{{{i}}}")
        d.arrow((dec.x + dec.w, dec.cy), xh.left())
        codes[i] = (s, x, xh)
    h = d.net(355, 250, 70, 40, "$h$", role="clf")
    for i, end in ((1, h.top()), (2, h.bottom())):
        s = codes[i][0]
        d.arrow((h.cx, s.cy), end)
        d.dot(h.cx, s.cy)
    match = d.tag(262, 270, "$λ$_{match} $M$")
    d.loss_line(codes[1][0].bottom(), match.top())
    d.loss_line(match.bottom(), codes[2][0].top())
    ce = d.tag(545, 270, "ℒ_{CE}")
    d.loss_line(h.right(), ce.left())
    d.note(ce.cx, 318, "summed over $d$", anchor="middle")
    for i, yline in ((1, 28), (2, 512)):
        _, x, xh = codes[i]
        end_x = x.y if i == 1 else x.y + x.h
        end_xh = xh.y if i == 1 else xh.y + xh.h
        elbo = d.tag(330, yline, "$λ$_{ELBO} (ℒ_{rec} + KL)")
        d.loss_line((24, end_x), (24, yline), elbo.left())
        d.loss_line(elbo.right(), (617, yline), (617, end_xh))
    d.legend(548, [("flow", "data flow"),
                   ("loss", "loss term, dotted to what it acts on"),
                   ("text", "$h$: one classifier for both domains"),
                   ("text", "$M$: matches same-class contents across them"),
                   ("text", "One loss per batch pair: all train at once.")])
    return d


@model
def two_step() -> Diagram:
    """Chapter 4: ``ContentClassifier`` then ``TwoStepModel`` (helpers/papers/two_step.py)."""
    d = Diagram("two_step", "Two-step disentanglement (chapter 4)",
                "Step 1 trains an S-encoder and a classifier on the labels, then freezes them; "
                "step 2 trains a Z-encoder and a decoder, which redraws x-hat from [S, Z], to "
                "reconstruct x while raising the cross-entropy of an adversary that learns to "
                "read the label from Z.")
    d.panel(8, 8, WIDTH - 16, 196, "Step 1: train, then freeze")
    x = d.data(30, 120, "$x$")
    enc_s = d.net(56, 72, 110, 96, "Enc_{$S$}", shape="enc")
    d.arrow(x.right(), enc_s.left())
    s = d.code(230, 120, "$S$", "s", w=60)
    d.arrow(enc_s.right(), s.left())
    clf = d.net(300, 100, 80, 40, "Clf", role="clf")
    d.arrow(s.right(), clf.left())
    p = d.code(490, 120, "$p$($y$|$x$)", "clf")
    d.arrow(clf.right(), p.left())
    cls = d.tag(490, 50, "ℒ_{class}")
    d.loss_line(cls.bottom(), p.top())
    d.note(cls.x + cls.w + 8, 58, "with $y$")
    d.panel(8, 216, WIDTH - 16, 372, "Step 2: $Z$ against an adversary")
    x = d.data(20, 380, "$x$")
    enc_s = d.net(56, 262, 110, 96, "Enc_{$S$}", shape="enc", frozen=True)
    enc_z = d.net(56, 402, 110, 96, "Enc_{$Z$}", shape="enc")
    d.line(x.right(), (38, x.cy))  # the image feeds both encoders
    d.dot(38, x.cy)
    d.arrow((38, x.cy), (38, enc_s.cy), enc_s.left())
    d.arrow((38, x.cy), (38, enc_z.cy), enc_z.left())
    s = d.code(230, enc_s.cy, "$S$", "s", w=60)
    z = d.code(230, enc_z.cy, "$Z$", "z", w=60)
    d.arrow(enc_s.right(), s.left())
    d.arrow(enc_z.right(), z.left())
    dec = d.net(440, 290, 120, 180, "Dec", shape="dec", taper=0.1)
    d.arrow(s.right(), (dec.x, s.cy))
    d.arrow(z.right(), (dec.x, z.cy))
    xh = d.data(610, dec.cy, "$x̂$")
    d.arrow(dec.right(), xh.left())
    adv = d.net(290, 520, 80, 40, "Adv", role="adv")
    d.arrow((265, z.cy), (265, adv.cy), adv.left())
    d.dot(265, z.cy)
    la = d.tag(445, adv.cy, "ℒ_{adv}")
    d.loss_line(adv.right(), la.left())
    d.badge(adv.x + adv.w, adv.y, "1")
    d.badge(enc_z.x + enc_z.w - 4, enc_z.y + 14, "2")
    d.badge(dec.x + dec.w - 4, dec.y + 2, "2")
    rec = d.tag(568, 528, "$β$ ℒ_{rec}")
    d.loss_line((610, dec.cy + 16), (610, rec.y))
    d.legend(600, [("flow", "data flow"),
                   ("loss", "loss term, dotted to what it acts on"),
                   ("frozen", "frozen in step 2 (from step 1)"),
                   ("update1", "Adv lowers ℒ_{adv}: 10 updates, then"),
                   ("update2", "Enc_{$Z$}, Dec lower $β$ ℒ_{rec} − $λ$ ℒ_{adv}")])
    return d




# ── writing and checking ─────────────────────────────────────────────────────────────
def render_all() -> dict[str, str]:
    """``{file name: SVG text}`` for every model."""
    return {f"{name}.svg": build().svg() for name, build in MODELS.items()}


def stale(folder: Path = FIGURES) -> list[str]:
    """The SVGs in ``folder`` that are missing or differ from what this script writes."""
    return [name for name, text in render_all().items()
            if not (folder / name).is_file()
            or (folder / name).read_text(encoding="utf-8") != text]


def write_all(folder: Path = FIGURES) -> list[Path]:
    """Write every SVG into ``folder``; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_all().items():
        path = folder / name
        atomic_write_text(path, text)
        paths.append(path)
    return paths


#: a chapter shows a diagram as an <img> whose source is the SVG itself (a data URI;
#: Markdown's image syntax refuses SVG data), after a marker naming it: the picture
#: travels inside the notebook, so Jupyter, Colab (which opens one notebook, not the
#: repository) and the book all show it.
EMBED = re.compile(r'<!--diagram:(?P<name>\w+)-->\n<img class="hf-diagram" alt="(?P<alt>[^"]*)" '
                   r'src="data:image/svg\+xml;base64,(?P<data>[A-Za-z0-9+/=]*)" '
                   r'style="width: 640px; max-width: 100%;">')


def data_uri(svg: str) -> str:
    """``svg`` as the data URI a Markdown image can show."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def embedded(name: str, alt: str) -> str:
    """The Markdown that shows diagram ``name`` (with its marker) in a chapter's cell."""
    return _img(name, alt, render_all()[name + ".svg"])


def _img(name: str, alt: str, svg: str) -> str:
    alt = escape(alt, QUOTE)
    return (f'<!--diagram:{name}-->\n<img class="hf-diagram" alt="{alt}" '
            f'src="{data_uri(svg)}" style="width: 640px; max-width: 100%;">')


QUOTE = {'"': "&quot;"}


def _notebooks() -> list[Path]:
    return sorted((ROOT / "chapters").glob("*.ipynb"))


def embed_all(notebooks: list[Path] | None = None, check: bool = False) -> list[str]:
    """Rewrite every embedded diagram in ``notebooks`` from the current SVG; return the
    notebooks whose copy was stale (with ``check``, write nothing)."""
    import json

    svgs = {name.removesuffix(".svg"): text for name, text in render_all().items()}
    stale_in = []
    for path in notebooks if notebooks is not None else _notebooks():
        nb = json.loads(path.read_text())
        changed = False
        for cell in nb["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            source = "".join(cell["source"])

            def fresh(match: re.Match, where: str = path.name) -> str:
                name = match["name"]
                if name not in svgs:
                    raise SystemExit(f"{where}: no diagram called {name!r} "
                                     f"(there are {', '.join(sorted(svgs))})")
                return _img(name, unescape(match["alt"], {v: k for k, v in QUOTE.items()}),
                            svgs[name])

            new = EMBED.sub(fresh, source)
            if new != source:
                changed = True
                cell["source"] = new.splitlines(keepends=True)
        if changed:
            stale_in.append(path.name)
            if not check:
                atomic_write_text(path, json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    return stale_in


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a committed SVG differs from what this script writes")
    parser.add_argument("--out", type=Path, default=FIGURES, help="the folder of the SVGs")
    args = parser.parse_args(argv)
    if args.check:
        bad = stale(args.out) + embed_all(check=True)
        if bad:
            print(f"Out of date in {args.out}: {', '.join(bad)}. "
                  "Run `python -m tools.diagrams` and commit the SVGs and chapters.")
            return 1
        print(f"{len(MODELS)} diagrams up to date.")
        return 0
    for path in write_all(args.out):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    for name in embed_all():
        print(f"refreshed the diagram embedded in chapters/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
