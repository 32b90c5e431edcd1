"""Loading images from users safely: any format Pillow reads, one grayscale convention, clear errors.

Convention everywhere in htr: uint8 grayscale, paper white (255), ink dark.
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# 50 megapixels covers a 600 dpi A4 scan; more is almost surely a mistake or a decompression bomb.
MAX_PIXELS = 50_000_000
MAX_BYTES = 100 * 1024 * 1024


class ImageError(ValueError):
    """An input that cannot be used as an image; the message names it and says why."""


class ImageTooLarge(ImageError):
    """More pixels than the limit, or a decompression bomb."""


def check_header(data: bytes, name: str, max_pixels: int = MAX_PIXELS,
                 formats: tuple[str, ...] | None = None) -> Image.Image:
    """Open an image from its header alone, pixels not decoded yet: too many of them is refused
    (ImageTooLarge) before any memory goes to them, anything unreadable is an ImageError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit below
            img = Image.open(io.BytesIO(data), formats=formats)
    except Image.DecompressionBombError as e:
        raise ImageTooLarge(f"{name}: refused as a decompression bomb ({e})") from None
    except Exception as e:  # Pillow raises many types for broken files
        raise ImageError(f"{name}: not a readable image ({type(e).__name__}: {e})") from None
    w, h = img.size
    if w * h > max_pixels:
        raise ImageTooLarge(f"{name}: image is {w}x{h} = {w * h} pixels, more than the limit of {max_pixels} pixels")
    if w < 1 or h < 1:
        raise ImageError(f"{name}: image has no pixels ({w}x{h})")
    return img


def _open(data: bytes, name: str, max_pixels: int = MAX_PIXELS) -> Image.Image:
    if len(data) > MAX_BYTES:
        raise ImageError(f"{name}: file is {len(data)} bytes, more than the limit of {MAX_BYTES}")
    if not data:
        raise ImageError(f"{name}: file is empty")
    img = check_header(data, name, max_pixels)
    try:
        img.load()
    except Exception as e:
        raise ImageError(f"{name}: not a readable image ({type(e).__name__}: {e})") from None
    return img


def to_gray(img: Image.Image) -> np.ndarray:
    """Any Pillow image as uint8 grayscale; transparency is composited on white, 16-bit scaled down."""
    img = ImageOps.exif_transpose(img) or img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(img, dtype=np.float64)
        hi = 65535.0 if a.max() > 255 else 255.0
        return np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if img.mode == "F":
        a = np.asarray(img, dtype=np.float64)
        a = (a - a.min()) / max(a.max() - a.min(), 1e-9)
        return (a * 255 + 0.5).astype(np.uint8)
    if img.mode == "P" or img.mode in ("LA", "PA", "RGBA", "La", "RGBa"):
        img = img.convert("RGBA")
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img)
    return np.asarray(img.convert("L"), dtype=np.uint8).copy()


def load_image(source: str | os.PathLike | bytes | np.ndarray | Image.Image, name: str | None = None,
               max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a path, bytes, Pillow image or array into uint8 grayscale (white paper, dark ink)."""
    if isinstance(source, np.ndarray):
        a = source
        if a.ndim == 3:
            a = np.asarray(Image.fromarray(a.astype(np.uint8)).convert("L"))
        if a.ndim != 2 or a.size == 0:
            raise ImageError(f"{name or 'array'}: expected a 2-D grayscale or 3-D colour array, got shape {a.shape}")
        if a.size > max_pixels:
            raise ImageTooLarge(f"{name or 'array'}: {a.shape[1]}x{a.shape[0]} is more than {max_pixels} pixels")
        return a.astype(np.uint8, copy=False)
    if isinstance(source, Image.Image):
        return to_gray(source)
    if isinstance(source, (bytes, bytearray)):
        return to_gray(_open(bytes(source), name or "image bytes", max_pixels))
    path = Path(source)
    name = name or str(path)
    if not path.exists():
        raise ImageError(f"{name}: no such file")
    if not path.is_file():
        raise ImageError(f"{name}: not a file")
    if path.stat().st_size > MAX_BYTES:
        raise ImageError(f"{name}: file is {path.stat().st_size} bytes, more than the limit of {MAX_BYTES}")
    return to_gray(_open(path.read_bytes(), name, max_pixels))
