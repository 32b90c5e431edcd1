"""On-the-fly augmentation of training images (uint8, white paper, dark ink).

Each transform imitates something real: writers shear and tilt (affine), pens wobble
(elastic), ink is thin or bold (erosion/dilation), scans blur and grain (blur, noise),
paper and ink differ in tone and lighting (background variation).
"""
from __future__ import annotations

import cv2
import numpy as np


def affine(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape
    shear = rng.uniform(-0.35, 0.35)
    angle = np.deg2rad(rng.uniform(-2.0, 2.0))
    sx = rng.uniform(0.85, 1.15)
    sy = rng.uniform(0.9, 1.1)
    c, s = np.cos(angle), np.sin(angle)
    m = np.array([[sx * c, sx * (shear - s), 0.0], [sy * s, sy * c, 0.0]], np.float32)
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float32) @ m.T
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    m[:, 2] = -lo
    size = (int(np.ceil(hi[0] - lo[0])), int(np.ceil(hi[1] - lo[1])))
    return cv2.warpAffine(img, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def elastic(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Smooth random displacement: a coarse grid of offsets, upsampled to the image."""
    h, w = img.shape
    amp = rng.uniform(0.5, 2.0)
    grid = (max(w // 24, 2), max(h // 24, 2))
    dx = cv2.resize(rng.normal(0, amp, (grid[1], grid[0])).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(rng.normal(0, amp, (grid[1], grid[0])).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, xs + dx, ys + dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def stroke_width(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    k = np.ones((2, 2), np.uint8)
    # Ink is dark: dilating the image thins the ink, eroding it makes the ink bolder.
    return cv2.dilate(img, k) if rng.random() < 0.5 else cv2.erode(img, k)


def blur(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.2))


def tone(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Paper and ink levels, a lighting gradient and sensor noise."""
    x = img.astype(np.float32) / 255.0
    paper, ink = rng.uniform(0.7, 1.0), rng.uniform(0.0, 0.45)
    x = ink + x * (paper - ink)
    h, w = x.shape
    gx = np.linspace(-1, 1, w, dtype=np.float32)[None, :] * rng.uniform(-0.15, 0.15)
    gy = np.linspace(-1, 1, h, dtype=np.float32)[:, None] * rng.uniform(-0.1, 0.1)
    x = x + gx + gy + rng.normal(0, rng.uniform(0, 0.06), x.shape).astype(np.float32)
    return np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8)


# (transform, probability)
PIPELINE = [(affine, 0.7), (elastic, 0.4), (stroke_width, 0.3), (blur, 0.3), (tone, 0.6)]


def augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    for transform, p in PIPELINE:
        if rng.random() < p:
            img = transform(img, rng)
    return img
