"""Preprocessing shared by training and reading, so the model always sees the same kind of input.

uint8 image (white paper, dark ink) -> float32 (height, width) ink map in [0, 1], where:
1. contrast normalization maps the paper to 0 and the darkest ink to 1, whatever the scan's exposure;
2. cut-off neighbouring lines at the top and bottom edges are erased (`drop_cut_lines`);
3. the image is cropped to its ink;
4. deslanting removes the cursive slant (the shear that makes strokes most vertical);
5. height normalization scales it to the model's input height, keeping the aspect ratio
   (squeezed only if wider than `max_width`), strokes that would come out too thin to see
   widened first (`thicken`).

With `core` set (models trained since the x-height measurement below), step 5 instead scales
the line so that its core zone (the x-height band between baseline and mean line, where most
ink lies) is `core` times the input height, after straightening a skewed baseline. Scaling the
whole ink box made letter size depend on the tallest ascender, a stray quote or a drifting
baseline: such lines came out with letters 5 px high, fewer CTC frames than characters, and
three times the error rate of the others (measured on testset_t with the interim model).
Ink far above or below the core (a long descender, a quote mark) is cut off at the edge.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

_SHEARS = np.linspace(-1.0, 1.0, 11)  # tan of the slant angle: +-45 degrees
_SKEWS = np.linspace(-0.08, 0.08, 17)  # tan of the baseline angle: +-4.6 degrees
_EDGE_ROWS = 2                         # a band of ink this close to the top or bottom is at the edge
_ABOVE_CORE = 0.38                     # share of the input height above the core zone (ascenders)
# Strokes that scaling would leave thinner than STROKE_MIN px (a fine pen scanned at a high
# resolution) are first widened so that they come out STROKE_TARGET px wide: averaged down, a
# hairline fades into a trace the model never saw. Low enough that no testset_t line, nor any line
# found on the clean, degraded or photographed testset_t pages, is widened (docs/model.md).
STROKE_MIN = 0.4
STROKE_TARGET = 1.5


@dataclass
class Preprocess:
    height: int = 48
    max_width: int = 2048
    deslant: bool = True
    core: float = 0.0      # core-zone height as a share of `height` (0: scale the whole ink box)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocess":
        return cls(**{k: d[k] for k in ("height", "max_width", "deslant", "core") if k in d})

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return prepare(image, self)


def normalize_contrast(image: np.ndarray) -> np.ndarray:
    """Ink map: paper -> 0, ink -> 1, from robust percentiles (a few dark specks do not set the scale)."""
    img = image.astype(np.float32)
    paper, ink = _percentiles(image, 90, 0.5)
    ink = min(ink, paper - 40.0)  # a blank page must not blow noise up to ink
    return np.clip((paper - img) / (paper - ink), 0.0, 1.0)


def _percentiles(image: np.ndarray, *qs: float) -> list[float]:
    """np.percentile's (linear) percentiles; for 8-bit images from a histogram of the 256 grey
    levels, which gives the same values several times faster than sorting the pixels."""
    if image.dtype != np.uint8 or image.size == 0:
        return [float(np.percentile(image, q)) for q in qs]
    below = np.cumsum(np.bincount(image.ravel(), minlength=256))   # pixels at or below each level
    out = []
    for q in qs:
        at = q / 100 * (image.size - 1)                    # rank in the sorted pixels
        lo, hi = np.searchsorted(below, [np.floor(at), np.ceil(at)], side="right")
        out.append(float(lo + (hi - lo) * (at - np.floor(at))))
    return out


def ink_map(image: np.ndarray) -> np.ndarray:
    """Steps 1 and 2 below: the float ink map every later step, and the reader's line box, use."""
    return drop_cut_lines(normalize_contrast(image))


def drop_cut_lines(x: np.ndarray) -> np.ndarray:
    """Erase the cut-off neighbouring lines of a line crop: bands of ink rows at the top or bottom
    edge (within two rows of it: a line cut out of a page may end in faint rows beyond), parted
    from the rest by blank rows and running along a third of the line or more. Real crops (form
    fields, scanned lines) carry such slivers; read as part of the line they shift its core zone
    and turn into letters. The line itself is the inner band with the most ink; an edge band is
    kept when it has three times as much (the line is the one cut), and when no band is inner,
    the one with the most ink is the line. A dot of an i at the edge of a tight word crop is too
    short to be taken for a line."""
    on = x > 0.5
    rows = on.sum(axis=1) > max(1, x.shape[1] // 300)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], rows.astype(np.int8), [0]])))
    bands = [(a, b, int(on[a:b].sum())) for a, b in zip(edges[::2], edges[1::2])]
    if len(bands) < 2:
        return x
    h = x.shape[0]
    at_edge = [a <= _EDGE_ROWS or b >= h - _EDGE_ROWS for a, b, _ in bands]
    inner = [m for (_, _, m), edge in zip(bands, at_edge) if not edge]
    keep_from = 3 * max(inner) if inner else max(m for _, _, m in bands)   # ink of an edge band kept
    cols = np.flatnonzero(on.any(axis=0))
    extent = cols[-1] - cols[0] + 1
    out = x.copy()
    for (a, b, m), edge in zip(bands, at_edge):
        band_cols = np.flatnonzero(on[a:b].any(axis=0))
        if edge and m < keep_from and band_cols[-1] - band_cols[0] + 1 >= extent / 3:
            out[slice(0, b) if a <= _EDGE_ROWS else slice(a, h)] = 0  # with the faint rows beyond
    return out


def ink_box(x: np.ndarray, threshold: float = 0.25) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the ink of an ink map, or None when there is none."""
    rows = np.flatnonzero((x > threshold).any(axis=1))
    cols = np.flatnonzero((x > threshold).any(axis=0))
    if len(rows) == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def crop_to_ink(x: np.ndarray, threshold: float = 0.25) -> np.ndarray:
    box = ink_box(x, threshold)
    if box is None:
        return x[:0, :0]
    c0, r0, c1, r1 = box
    pad = max(1, (r1 - 1 - r0) // 25)
    return x[max(r0 - pad, 0):min(r1 + pad, x.shape[0]), max(c0 - pad, 0):min(c1 + pad, x.shape[1])]


def _shear(x: np.ndarray, s: float) -> np.ndarray:
    """Shear horizontally by s (x' = x + s*y), widening the image so that no ink is cut off."""
    h, w = x.shape
    extra = int(np.ceil(abs(s) * h))
    m = np.array([[1.0, s, extra if s < 0 else 0.0], [0.0, 1.0, 0.0]], np.float32)
    return cv2.warpAffine(x, m, (w + extra, h), flags=cv2.INTER_LINEAR, borderValue=0)


def _vshear(x: np.ndarray, s: float) -> np.ndarray:
    """Shear vertically by s (y' = y - s*x): a baseline rising by s per column becomes level."""
    return _shear(x.T, -s).T


def _best_shear(x: np.ndarray, shears: np.ndarray, vertical: bool) -> float:
    """The shear under which the ink is most concentrated (sum of squared column sums for a
    horizontal shear, row sums for a vertical one), scored on a copy at most 32 px high (its
    strokes widened first where they would come out too thin: else they fade out of it).

    The sums are histograms of where each ink pixel lands (x + s*y, or y - s*x), each pixel
    split between the two nearest columns as linear interpolation would: what `_shear` would
    give, without warping the image once per shear."""
    h, w = x.shape
    if h > 32:
        x = cv2.resize(thicken(x, 32 / h), (max(int(w * 32 / h), 1), 32), interpolation=cv2.INTER_AREA)
    ys, xs = np.nonzero(x > 0.5)
    if len(xs) == 0:
        return 0.0
    along, across = (ys, -xs) if vertical else (xs, ys)
    pos = along[None, :] + shears.astype(np.float32)[:, None] * across[None, :]  # (shears, pixels)
    pos -= np.floor(pos.min(axis=1, keepdims=True))  # whole columns: the same split as the warp
    left = np.floor(pos).astype(np.int64)
    frac = (pos - left).ravel()
    n = int(left.max()) + 2
    left = (left + n * np.arange(len(shears))[:, None]).ravel()   # one histogram per shear, side by side
    size = n * len(shears)
    hist = np.bincount(left, 1 - frac, minlength=size) + np.bincount(left + 1, frac, minlength=size)
    return float(shears[int(np.argmax(np.square(hist.reshape(len(shears), n)).sum(axis=1)))])


def deslant(x: np.ndarray) -> np.ndarray:
    """Remove the cursive slant: the horizontal shear that makes ink columns tallest and fewest."""
    s = _best_shear(x, _SHEARS, vertical=False)
    return x if s == 0 else crop_to_ink(_shear(x, s), threshold=0.05)


def deskew(x: np.ndarray) -> np.ndarray:
    """Level a drifting baseline: the vertical shear under which the row profile is sharpest."""
    s = _best_shear(x, _SKEWS, vertical=True)
    return x if s == 0 else crop_to_ink(_vshear(x, s), threshold=0.05)


def core_zone(x: np.ndarray) -> tuple[int, int]:
    """Rows [top, bottom) of the core zone: the band around the densest row whose ink density
    stays above half the peak. Sizes are relative to the rows holding the middle 90% of the
    ink, so that a speck far away changes nothing, and the band is kept at least a fifth of
    them high, so that a thin scribble does not blow up the scale."""
    h = x.shape[0]
    profile = (x > 0.5).sum(axis=1).astype(np.float32)
    if profile.sum() == 0:
        return 0, h
    cum = np.cumsum(profile) / profile.sum()
    span = int(np.searchsorted(cum, 0.95)) - int(np.searchsorted(cum, 0.05)) + 1
    k = max(span // 16, 1)
    profile = np.convolve(profile, np.ones(2 * k + 1, np.float32) / (2 * k + 1), mode="same")
    peak = int(np.argmax(profile))
    dense = profile >= 0.5 * profile[peak]
    top, bottom = peak, peak + 1
    while top > 0 and dense[top - 1]:
        top -= 1
    while bottom < h and dense[bottom]:
        bottom += 1
    grow = max(int(np.ceil(0.2 * span)) - (bottom - top), 0)  # too thin: widen around its centre
    top, bottom = max(top - grow // 2, 0), min(bottom + grow - grow // 2, h)
    return top, bottom


def stroke_width(x: np.ndarray) -> float:
    """The mean width of the ink's strokes in pixels: twice the ink's area over its outline
    (a stroke w wide and l long has area w*l and an outline of about 2*l pixels)."""
    ink = (x > 0.5).astype(np.uint8)
    outline = int(ink.sum()) - int(cv2.erode(ink, np.ones((3, 3), np.uint8)).sum())
    return 2 * int(ink.sum()) / outline if outline else 0.0


def thicken(x: np.ndarray, scale: float) -> np.ndarray:
    """The ink map with its strokes widened if scaling by `scale` would leave them thinner than
    STROKE_MIN px; else as it is."""
    if 2 * scale >= STROKE_MIN:
        return x   # no stroke measures under 2 px (a line 1 px wide is all outline): spare measuring
    width = stroke_width(x)
    if not width or width * scale >= STROKE_MIN:
        return x
    k = int(np.ceil(STROKE_TARGET / scale - width)) + 1
    return cv2.dilate(x, np.ones((k, k), np.uint8))


def _fit_core(x: np.ndarray, cfg: Preprocess) -> np.ndarray:
    """Scale so the core zone is `cfg.core * height` high, and place it at a fixed row."""
    x = deskew(x)
    top, bottom = core_zone(x)
    h, w = x.shape
    scale = cfg.core * cfg.height / (bottom - top)
    x = thicken(x, scale)
    new_w = int(np.clip(round(w * scale), 4, cfg.max_width))
    new_h = max(int(round(h * scale)), 1)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    y = cv2.resize(x, (new_w, new_h), interpolation=interp)
    out = np.zeros((cfg.height, new_w), np.float32)
    shift = int(round(_ABOVE_CORE * cfg.height - top * scale))   # output row = input row + shift
    src0, src1 = max(-shift, 0), min(new_h, cfg.height - shift)
    if src1 > src0:
        out[src0 + shift:src1 + shift] = y[src0:src1]
    return out


def prepare(image: np.ndarray, cfg: Preprocess) -> np.ndarray:
    return prepare_ink(ink_map(image), cfg)


def prepare_ink(ink: np.ndarray, cfg: Preprocess) -> np.ndarray:
    """Steps 3-5 on an ink map from `ink_map` (a reader that also needs the map makes it once)."""
    x = crop_to_ink(ink)
    if x.size == 0 or min(x.shape) < 2:
        return np.zeros((cfg.height, cfg.height // 2), np.float32)  # nothing written: a short blank
    if cfg.deslant:
        x = deslant(x)
    if cfg.core:
        return _fit_core(x, cfg)
    h, w = x.shape
    new_w = int(np.clip(round(w * cfg.height / h), 4, cfg.max_width))
    interp = cv2.INTER_AREA if h > cfg.height else cv2.INTER_LINEAR
    return cv2.resize(thicken(x, cfg.height / h), (new_w, cfg.height), interpolation=interp)


def stretch(x: np.ndarray, f: float, max_width: int) -> np.ndarray:
    """A prepared line made f times as wide (at most `max_width`), its height unchanged."""
    h, w = x.shape
    new_w = int(np.clip(round(w * f), 4, max(max_width, w)))
    return cv2.resize(x, (new_w, h), interpolation=cv2.INTER_AREA if new_w < w else cv2.INTER_LINEAR)


def batch(images: list[np.ndarray], factor: int, bucket: int = 1,
          tail: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Pad prepared images on the right to one width, a multiple of the model's width factor
    times `bucket` frames, plus `tail` blank columns that no line's frames count: (N,1,H,W), and
    per image the number of output frames its own columns make (the last one possibly partly
    padding). Reading asks for a tail so that no line's frames see the batch's edge
    (htr.recognizer.edge_margin)."""
    widths = np.array([im.shape[1] for im in images], np.int64)
    frames = np.maximum(-(-widths // factor), 1)
    padded = -(-int(frames.max()) // bucket) * bucket
    out = np.zeros((len(images), 1, images[0].shape[0], padded * factor + tail), np.float32)
    for k, im in enumerate(images):
        out[k, 0, :, : im.shape[1]] = im
    return out, frames
