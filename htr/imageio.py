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


def array_to_gray(a: np.ndarray, name: str = "array", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A numpy image as uint8 grayscale, whatever its type: arrays from other libraries come as
    floats in 0..1 (scikit-image; floats above 1 are taken as 0..255), 16-bit integers (scanners)
    or booleans (binarized pages), and a plain cast to uint8 would turn those black or wrap them."""
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or a.size == 0 or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)):
        raise ImageError(f"{name}: expected a 2-D grayscale array or a 3-D one with 1-4 channels, "
                         f"got shape {a.shape}")
    if a.shape[0] * a.shape[1] > max_pixels:
        raise ImageTooLarge(f"{name}: {a.shape[1]}x{a.shape[0]} is more than {max_pixels} pixels")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype.kind in "iu":
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi > 65535:
            raise ImageError(f"{name}: integer values {lo}..{hi} are outside 0..255 and 0..65535")
        a = (a.astype(np.float64) / 65535 * 255 + 0.5).astype(np.uint8) if hi > 255 else a.astype(np.uint8)
    elif a.dtype.kind == "f":
        lo, hi = float(np.min(a)), float(np.max(a))
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 255:
            raise ImageError(f"{name}: float values {lo}..{hi} are outside 0..1 and 0..255")
        a = np.clip(a * (255.0 if hi <= 1 else 1.0) + 0.5, 0, 255).astype(np.uint8)
    else:
        raise ImageError(f"{name}: cannot use an array of {a.dtype} as an image")
    if a.ndim == 3:  # LA, RGB or RGBA: transparency goes on white paper, as for files
        return to_gray(Image.fromarray(np.ascontiguousarray(a)))
    return a


def load_image(source: str | os.PathLike | bytes | np.ndarray | Image.Image, name: str | None = None,
               max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a path, bytes, Pillow image or array into uint8 grayscale (white paper, dark ink)."""
    if isinstance(source, np.ndarray):
        return array_to_gray(source, name or "array", max_pixels)
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
