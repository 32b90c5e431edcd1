"""Ink rendering: pen strokes (x, y, t) turned into offline, scanned-looking grayscale images.

Strokes are a list of float arrays of shape (n, 3): x and y in any unit (y down), and time.
Drawing happens once, at twice the target size with anti-aliased OpenCV polylines in
fixed-point coordinates, then is shrunk by area averaging. OpenCV's thick anti-aliased lines
grow in 2-pixel steps (thickness 3 draws like 4); at twice the size the pen grows in 1-pixel
steps of the output, with smoother edges. Rendering stays far faster than training consumes
lines (benchmarks/render_speed.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Strokes = list[np.ndarray]
_SHIFT = 4   # OpenCV fixed-point bits: 1/16 px precision
_SUPER = 2   # drawing resolution relative to the output
_WIDTH_STEPS = 0.25  # speed-dependent widths are quantized to this fraction of the pen width


@dataclass
class InkStyle:
    """How the pen looks. Widths are in output pixels at the target height."""
    height: int = 64            # output image height in pixels (0: keep `scale`)
    scale: float = 0.1          # pixels per stroke unit when height == 0
    pen_width: float = 2.5      # mean pen width
    width_jitter: float = 0.0   # relative std of the width from stroke to stroke
    speed_width: float = 0.0    # how much faster pen motion thins the line (0..1)
    ink: int = 20               # ink gray level
    paper: int = 255            # paper gray level
    margin: float = 0.08        # margin around the ink, as a fraction of the height


def ink_bbox(strokes: Strokes) -> tuple[float, float, float, float]:
    pts = np.concatenate([s[:, :2] for s in strokes if len(s)], axis=0)
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def random_style(rng: np.random.Generator, height: int = 64) -> InkStyle:
    """A plausible pen for one writer: width, its variation, ink darkness."""
    return InkStyle(
        height=height,
        pen_width=float(rng.uniform(0.025, 0.055) * height),
        width_jitter=float(rng.uniform(0.0, 0.25)),
        speed_width=float(rng.uniform(0.0, 0.6)),
        ink=int(rng.integers(0, 90)),
        paper=int(rng.integers(215, 256)),
        margin=float(rng.uniform(0.04, 0.12)),
    )


def fit_scale(strokes: Strokes, style: InkStyle) -> float:
    """Pixels per stroke unit that fit the ink's height into `style.height`, less margins and pen.

    Parts of a line (its words) drawn at the scale of the whole line keep its pen and letter size.
    """
    _, y0, _, y1 = ink_bbox(strokes)
    inner = max(style.height * (1 - 2 * style.margin) - style.pen_width, 1.0)
    return inner / max(y1 - y0, 1e-6)


def vary_writing(strokes: Strokes, rng: np.random.Generator) -> Strokes:
    """The same line as another writer might have drawn it, changed before the pen draws it.

    The line is cut into stretches about as long as its ink is high (a word or part of one);
    each stretch is made narrower or wider, leans its own way and sits a little higher or
    lower, with smooth transitions between them. Unlike warping the drawn image, this keeps
    the pen's width, and unlike one shear per line, deslanting cannot undo it. It stretches the
    few writers of a training set: the shipped model reads its own training lines much better
    than new writers' (docs/model.md)."""
    x0, y0, x1, y1 = ink_bbox(strokes)
    h = max(y1 - y0, 1e-6)
    n = max(int(round((x1 - x0) / h)), 1)
    knots = np.linspace(x0, x1, n + 1)
    moved = x0 + np.concatenate([[0.0], np.cumsum(np.diff(knots) * rng.uniform(0.88, 1.2, n))])
    slant = rng.normal(rng.uniform(-0.2, 0.2), 0.08, n + 1)     # x shift per unit of height above the middle
    lift = rng.normal(0.0, 0.04 * h, n + 1)
    middle = (y0 + y1) / 2
    out = []
    for s in strokes:
        x, y = s[:, 0], s[:, 1]
        nx = np.interp(x, knots, moved) + np.interp(x, knots, slant) * (middle - y)
        ny = y + np.interp(x, knots, lift)
        out.append(np.column_stack([nx, ny, s[:, 2:]]).astype(s.dtype))
    return out


def vary_shape(strokes: Strokes, rng: np.random.Generator, amount: float = 0.02) -> Strokes:
    """The letters themselves drawn a little differently: loops opened or closed, strokes bent.

    Every point moves by a smooth random offset that changes along the pen's path (not across
    the page), so a loop's end can drift from its start the way one writer's "a" differs from
    another's, while the strokes stay smooth; `amount` is the offset's spread per axis as a
    fraction of the ink's height. Ascenders and descenders are also lengthened or shortened
    (0.8 to 1.25 times) around the band that holds the middle half of the points, as their
    proportion to the x-height is a trait of the writer that x-height normalization keeps."""
    _, y0, _, y1 = ink_bbox(strokes)
    h = max(y1 - y0, 1e-6)
    pts = np.concatenate([s[:, :2] for s in strokes]).astype(np.float64)
    path = np.r_[0.0, np.cumsum(np.hypot(*np.diff(pts, axis=0).T))] / h  # pen-up moves count too
    offset = np.zeros_like(pts)
    for axis in range(2):
        for _ in range(3):  # three waves, each half a line-height to two line-heights long
            wave = 2 * np.pi * path / rng.uniform(0.5, 2.0) + rng.uniform(0, 2 * np.pi)
            offset[:, axis] += amount * h * rng.normal() * np.sin(wave) / np.sqrt(3)
    q25, mid, q75 = np.percentile(pts[:, 1], [25, 50, 75])
    half = (q75 - q25) / 2
    y = pts[:, 1] - mid
    beyond = np.abs(y) - half
    stretch = np.where(y < 0, *rng.uniform(0.8, 1.25, 2))  # above the band, below it
    pts[:, 1] = np.where(beyond > 0, mid + np.sign(y) * (half + beyond * stretch), pts[:, 1])
    pts += offset
    bounds = np.cumsum([len(s) for s in strokes])[:-1]
    return [np.column_stack([p, s[:, 2:]]).astype(s.dtype) for p, s in zip(np.split(pts, bounds), strokes)]


def render(strokes: Strokes, style: InkStyle | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """Draw strokes into a uint8 image cropped to the ink with a margin."""
    style = style or InkStyle()
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        raise ValueError("no points to draw")
    x0, y0, x1, y1 = ink_bbox(strokes)
    if style.height:
        margin_px = style.margin * style.height
        scale = fit_scale(strokes, style)
        out_h = style.height
    else:
        scale = style.scale
        margin_px = style.margin * max((y1 - y0) * scale, 8)
        out_h = int(np.ceil((y1 - y0) * scale + 2 * margin_px + style.pen_width))
    pad = margin_px + style.pen_width / 2
    out_w = max(int(np.ceil((x1 - x0) * scale + 2 * pad)), 1)
    # The ink is drawn as intensity on black at _SUPER times the size, then mapped to ink/paper levels.
    canvas = new_canvas(out_w, out_h)
    offset = np.array([pad - x0 * scale, (out_h - (y1 - y0) * scale) / 2 - y0 * scale])
    draw(canvas, strokes, scale, offset, style, rng)
    return shade(canvas, style)


def new_canvas(width: int, height: int) -> np.ndarray:
    """A blank ink canvas for an output image of width x height pixels (drawn at _SUPER times the size)."""
    return np.zeros((height * _SUPER, width * _SUPER), np.uint8)


def draw(canvas: np.ndarray, strokes: Strokes, scale: float, offset, style: InkStyle,
         rng: np.random.Generator | None = None) -> None:
    """Add strokes to a canvas from `new_canvas`: a point lands at output pixel xy * scale + offset.

    Several calls can share one canvas, which is how a whole page of lines is composed.
    """
    for s in strokes:
        width = style.pen_width * _SUPER
        if rng is not None and style.width_jitter:
            width *= float(np.clip(rng.normal(1.0, style.width_jitter), 0.5, 1.6))
        pts = (s[:, :2] * scale + offset) * _SUPER
        fixed = np.round(pts * (1 << _SHIFT)).astype(np.int32)  # OpenCV's fixed-point pixels
        if style.speed_width and len(s) > 2:
            _draw_speed_varying(canvas, fixed, pen_speed(pts, s[:, 2]), width, style.speed_width)
        else:
            _polyline(canvas, fixed, width)


def shade(canvas: np.ndarray, style: InkStyle) -> np.ndarray:
    """The finished grayscale image of a canvas: shrunk to the output size, ink and paper levels applied."""
    out_h, out_w = canvas.shape[0] // _SUPER, canvas.shape[1] // _SUPER
    a = cv2.resize(canvas, (out_w, out_h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    img = style.paper - a * (style.paper - style.ink)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _polyline(canvas: np.ndarray, p: np.ndarray, width: float) -> None:
    """Draw fixed-point points `p` as one anti-aliased polyline with round caps and joints."""
    if len(p) == 1 or not (p != p[0]).any():  # a dot: a filled disc of the pen's size
        cv2.circle(canvas, (int(p[0, 0]), int(p[0, 1])), max(int(width / 2 * (1 << _SHIFT)), 1),
                   255, -1, cv2.LINE_AA, _SHIFT)
        return
    cv2.polylines(canvas, [p], False, 255, max(int(round(width)), 1), cv2.LINE_AA, _SHIFT)


def pen_speed(pts: np.ndarray, t: np.ndarray, window: int = 2) -> np.ndarray:
    """Speed of each segment, averaged over `window` segments on either side.

    The tablet's clock ticks in 10 ms steps and sometimes stamps two points with the same
    time; a per-segment distance/time would flicker between extremes, a windowed one does not.
    """
    n = len(pts) - 1
    k = np.arange(n)
    lo, hi = np.maximum(k - window, 0), np.minimum(k + window + 1, n)
    step = np.diff(pts, axis=0)
    length = np.concatenate([[0.0], np.cumsum(np.hypot(step[:, 0], step[:, 1]))])
    dt = t[hi] - t[lo]
    if (dt <= 0).any():  # a window without clock ticks: assume the stroke's mean time per segment
        dt = np.where(dt > 0, dt, (t[-1] - t[0]) / n * (hi - lo))
    return (length[hi] - length[lo]) / np.maximum(dt, 1e-6)


def _draw_speed_varying(canvas: np.ndarray, p: np.ndarray, speed: np.ndarray, width: float, amount: float) -> None:
    """Fast pen motion leaves a thinner trace, slow motion a bolder one.

    The stroke is cut into runs of equal (quantized) width, each drawn as one polyline, so
    joints inside a run stay smooth and round caps hide the seams between runs.
    """
    median = np.partition(speed, len(speed) // 2)[len(speed) // 2]  # np.median costs 10x more
    factor = 1.0 - amount * 0.5 * (speed / (median + 1e-6) - 1.0)
    level = np.round(np.minimum(np.maximum(factor, 1.0 - amount), 1.0 + amount * 0.5) / _WIDTH_STEPS)
    cuts = np.flatnonzero(np.diff(level)) + 1
    for start, end in zip([0, *cuts], [*cuts, len(level)]):
        _polyline(canvas, p[start:end + 1], width * level[start] * _WIDTH_STEPS)
