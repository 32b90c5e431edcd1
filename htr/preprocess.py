"""Preprocessing shared by training and reading, so the model always sees the same kind of input.

uint8 image (white paper, dark ink) -> float32 (height, width) ink map in [0, 1], where:
1. contrast normalization maps the paper to 0 and the darkest ink to 1, whatever the scan's exposure;
2. the image is cropped to its ink;
3. deslanting removes the cursive slant (the shear that makes strokes most vertical);
4. height normalization scales it to the model's input height, keeping the aspect ratio
   (squeezed only if wider than `max_width`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

_SHEARS = np.linspace(-1.0, 1.0, 11)  # tan of the slant angle: +-45 degrees


@dataclass
class Preprocess:
    height: int = 48
    max_width: int = 2048
    deslant: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocess":
        return cls(**{k: d[k] for k in ("height", "max_width", "deslant") if k in d})

    def __call__(self, image: np.ndarray) -> np.ndarray:
        return prepare(image, self)


def normalize_contrast(image: np.ndarray) -> np.ndarray:
    """Ink map: paper -> 0, ink -> 1, from robust percentiles (a few dark specks do not set the scale)."""
    img = image.astype(np.float32)
    paper = np.percentile(img, 90)
    ink = min(np.percentile(img, 0.5), paper - 40.0)  # a blank page must not blow noise up to ink
    return np.clip((paper - img) / (paper - ink), 0.0, 1.0)


def crop_to_ink(x: np.ndarray, threshold: float = 0.25) -> np.ndarray:
    rows = np.flatnonzero((x > threshold).any(axis=1))
    cols = np.flatnonzero((x > threshold).any(axis=0))
    if len(rows) == 0:
        return x[:0, :0]
    pad = max(1, (rows[-1] - rows[0]) // 25)
    r0, r1 = max(rows[0] - pad, 0), min(rows[-1] + pad + 1, x.shape[0])
    c0, c1 = max(cols[0] - pad, 0), min(cols[-1] + pad + 1, x.shape[1])
    return x[r0:r1, c0:c1]


def _shear(x: np.ndarray, s: float) -> np.ndarray:
    """Shear horizontally by s (x' = x + s*y), widening the image so that no ink is cut off."""
    h, w = x.shape
    extra = int(np.ceil(abs(s) * h))
    m = np.array([[1.0, s, extra if s < 0 else 0.0], [0.0, 1.0, 0.0]], np.float32)
    return cv2.warpAffine(x, m, (w + extra, h), flags=cv2.INTER_LINEAR, borderValue=0)


def estimate_slant(x: np.ndarray) -> float:
    """The shear under which ink columns are tallest and fewest (sum of squared column sums)."""
    h, w = x.shape
    small_h = 32
    if h > small_h:
        x = cv2.resize(x, (max(int(w * small_h / h), 1), small_h), interpolation=cv2.INTER_AREA)
    binary = (x > 0.5).astype(np.float32)
    scores = [float(np.square(_shear(binary, s).sum(axis=0)).sum()) for s in _SHEARS]
    return float(_SHEARS[int(np.argmax(scores))])


def deslant(x: np.ndarray) -> np.ndarray:
    s = estimate_slant(x)
    return x if s == 0 else crop_to_ink(_shear(x, s), threshold=0.05)


def prepare(image: np.ndarray, cfg: Preprocess) -> np.ndarray:
    x = crop_to_ink(normalize_contrast(image))
    if x.size == 0 or min(x.shape) < 2:
        return np.zeros((cfg.height, cfg.height // 2), np.float32)  # nothing written: a short blank
    if cfg.deslant:
        x = deslant(x)
    h, w = x.shape
    new_w = int(np.clip(round(w * cfg.height / h), 4, cfg.max_width))
    interp = cv2.INTER_AREA if h > cfg.height else cv2.INTER_LINEAR
    return cv2.resize(x, (new_w, cfg.height), interpolation=interp)


def batch(images: list[np.ndarray], multiple: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Pad prepared images on the right to one width (a multiple of `multiple`): (N,1,H,W), widths."""
    widths = np.array([im.shape[1] for im in images], np.int64)
    width = int(np.ceil(max(widths.max(), multiple) / multiple) * multiple)
    out = np.zeros((len(images), 1, images[0].shape[0], width), np.float32)
    for k, im in enumerate(images):
        out[k, 0, :, : im.shape[1]] = im
    return out, widths
