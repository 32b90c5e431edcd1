"""Ink rendering: pen strokes (x, y, t) turned into offline, scanned-looking grayscale images.

Strokes are a list of float arrays of shape (n, 3): x and y in any unit (y down), and time.
Drawing happens once, directly at the target size, with anti-aliased OpenCV polylines in
fixed-point coordinates, so rendering stays far faster than training consumes lines.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

Strokes = list[np.ndarray]
_SHIFT = 4  # OpenCV fixed-point bits: 1/16 px precision


@dataclass
class InkStyle:
    """How the pen looks. Widths are in output pixels at the target height."""
    height: int = 64            # output image height in pixels (None-like 0: keep `scale`)
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


def render(strokes: Strokes, style: InkStyle | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """Draw strokes into a uint8 image cropped to the ink with a margin."""
    style = style or InkStyle()
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        raise ValueError("no points to draw")
    x0, y0, x1, y1 = ink_bbox(strokes)
    if style.height:
        margin_px = style.margin * style.height
        inner = max(style.height - 2 * margin_px - style.pen_width, 1.0)
        scale = inner / max(y1 - y0, 1e-6)
        out_h = style.height
    else:
        scale = style.scale
        margin_px = style.margin * max((y1 - y0) * scale, 8)
        out_h = int(np.ceil((y1 - y0) * scale + 2 * margin_px + style.pen_width))
    pad = margin_px + style.pen_width / 2
    out_w = int(np.ceil((x1 - x0) * scale + 2 * pad))
    # The ink (dark) is drawn as intensity on black, then mapped to ink/paper levels.
    canvas = np.zeros((out_h, max(out_w, 1)), np.uint8)
    offset = np.array([pad - x0 * scale, (out_h - (y1 - y0) * scale) / 2 - y0 * scale])
    for s in strokes:
        width = style.pen_width
        if rng is not None and style.width_jitter:
            width *= float(np.clip(rng.normal(1.0, style.width_jitter), 0.5, 1.6))
        pts = s[:, :2] * scale + offset
        if style.speed_width and len(s) > 2:
            _draw_speed_varying(canvas, pts, s[:, 2], width, style.speed_width)
        else:
            _polyline(canvas, pts, width)
    a = canvas.astype(np.float32) / 255.0
    img = style.paper - a * (style.paper - style.ink)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def _polyline(canvas: np.ndarray, pts: np.ndarray, width: float) -> None:
    p = np.round(pts * (1 << _SHIFT)).astype(np.int32)
    t = max(int(round(width)), 1)
    if len(p) == 1:
        cv2.circle(canvas, tuple(p[0]), max(int(width / 2 * (1 << _SHIFT)), 1), 255, -1, cv2.LINE_AA, _SHIFT)
        return
    cv2.polylines(canvas, [p], False, 255, t, cv2.LINE_AA, _SHIFT)


def _draw_speed_varying(canvas: np.ndarray, pts: np.ndarray, t: np.ndarray, width: float, amount: float) -> None:
    """Fast pen motion leaves a thinner trace: split the stroke into runs of three width levels."""
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    dt = np.maximum(np.diff(t), 1e-3)
    speed = seg / dt
    ref = np.median(speed) + 1e-6
    factor = np.clip(1.0 - amount * (speed / ref - 1.0) * 0.5, 1.0 - amount, 1.0 + amount * 0.5)
    level = np.digitize(factor, [0.85, 1.1])  # 0 thin, 1 normal, 2 thick
    widths = (0.75, 1.0, 1.25)
    start = 0
    for i in range(1, len(level) + 1):
        if i == len(level) or level[i] != level[start]:
            _polyline(canvas, pts[start:i + 1], width * widths[level[start]])
            start = i
