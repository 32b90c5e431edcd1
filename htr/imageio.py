"""Loading images from users safely: any format Pillow reads, one grayscale convention, clear errors.

Convention everywhere in htr: uint8 grayscale, paper white (255), ink dark.
"""
from __future__ import annotations

import io
import os
import threading
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageOps

# 50 megapixels covers a 600 dpi A4 scan; more is almost surely a mistake or a decompression bomb.
MAX_PIXELS = 50_000_000
MAX_BYTES = 100 * 1024 * 1024


class ImageError(ValueError):
    """An input that cannot be used as an image; the message names it and says why."""


class ImageTooLarge(ImageError):
    """More pixels than the limit, or a decompression bomb."""


class FilePage(NamedTuple):
    """One page (from 1) of a PDF or a multi-page TIFF, as scanners save a document:
    `load_image` reads it, so `htr.read_many(htr.pages_of(path))` reads the whole document.
    `data` holds the file's bytes when they came from memory (then `path` only names them in
    messages), and `number` is None for such bytes when they hold a single image."""
    path: str
    number: int | None
    data: bytes | None = None

    def __str__(self) -> str:
        return self.path if self.number is None else f"{self.path} (page {self.number})"

    def __repr__(self) -> str:  # not the bytes
        return f"FilePage({self.path!r}, {self.number}{', data=...' if self.data is not None else ''})"


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
    _check_size(img, name, max_pixels)
    return img


def _check_size(img: Image.Image, name: str, max_pixels: int) -> None:
    w, h = img.size
    if w * h > max_pixels:
        raise ImageTooLarge(f"{name}: image is {w}x{h} = {w * h} pixels, more than the limit of {max_pixels} pixels")
    if w < 1 or h < 1:
        raise ImageError(f"{name}: image has no pixels ({w}x{h})")


# PDF pages are drawn at this resolution (capped at MAX_PIXELS): an A4 page at 1654 x 2339 px,
# where an x-height of 2-3 mm is 16-24 px, more than the 13.6 px lines are scaled to.
PDF_DPI = 200


# PDFium is not thread-safe, and the service reads uploads in threads.
PDFIUM = threading.Lock()


def is_pdf(data: bytes) -> bool:
    return data[:5] == b"%PDF-"


def _pdf(data: bytes, name: str):
    import pypdfium2 as pdfium
    try:
        return pdfium.PdfDocument(data)
    except Exception as e:  # pdfium raises PdfiumError for broken or encrypted files
        raise ImageError(f"{name}: not a readable PDF ({type(e).__name__}: {e})") from None


def _render_pdf(data: bytes, name: str, max_pixels: int, page: int | None, color: bool = False) -> Image.Image:
    """A PDF page drawn in grayscale (or colour) at PDF_DPI; a page so large that this would pass
    max_pixels is drawn at the resolution that fits instead of being refused."""
    with PDFIUM:   # closed inside the lock too, not whenever the garbage collector runs
        doc = _pdf(data, name)
        try:
            number = _pick_page(name, "PDF", len(doc), page)
            sheet = doc[number - 1]
            w, h = sheet.get_size()   # in points, 72 to the inch
            scale = min(PDF_DPI / 72, (max_pixels / max(w * h, 1.0)) ** 0.5)
            try:
                bitmap = sheet.render(scale=scale, grayscale=not color)
                return bitmap.to_pil().copy()   # to_pil shares the bitmap's memory
            except Exception as e:
                raise ImageError(f"{name}: PDF page {number} cannot be drawn ({type(e).__name__}: {e})") from None
        finally:
            doc.close()


def _pick_page(name: str, kind: str, pages: int, page: int | None) -> int:
    """The page to read of a file of `pages`; without `page`, a file of several is an error rather
    than its first page read as if it were the whole document."""
    if pages < 1:
        raise ImageError(f"{name}: a {kind} with no pages")
    if page is None and pages > 1:
        raise ImageError(f"{name}: a {kind} of {pages} pages where one image was expected: read it a "
                         "page at a time (`htr read` reads every page; from Python: "
                         "htr.read_many(htr.pages_of(path)); the web service: its option page)")
    if page is not None and not 1 <= page <= pages:
        raise ImageError(f"{name}: has no page {page} (it has {pages})")
    return page or 1


def page_count(img: Image.Image) -> int:
    """How many pages a TIFF holds (1 for any other format: an animated GIF's or a phone JPEG's
    extra frames are not pages of a document)."""
    if img.format != "TIFF":
        return 1
    try:
        return int(getattr(img, "n_frames", 1))
    except Exception:  # a broken directory chain: the first page is still there to try
        return 1


def _open(data: bytes, name: str, max_pixels: int = MAX_PIXELS, page: int | None = None,
          color: bool = False) -> Image.Image:
    """The image in `data`, pixels loaded; `page` picks one of a PDF or a multi-page TIFF (a PDF
    page is drawn in colour only when asked: reading needs gray)."""
    if len(data) > MAX_BYTES:
        raise ImageError(f"{name}: file is {len(data)} bytes, more than the limit of {MAX_BYTES}")
    if not data:
        raise ImageError(f"{name}: file is empty")
    if is_pdf(data):
        return _render_pdf(data, name, max_pixels, page, color)
    img = check_header(data, name, max_pixels)
    page = _pick_page(name, "TIFF", page_count(img), page)
    try:
        if page > 1:
            img.seek(page - 1)
            _check_size(img, f"{name} (page {page})", max_pixels)
        img.load()
    except ImageError:
        raise
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


def to_color(img: Image.Image) -> np.ndarray:
    """What a person sees in an image: uint8 RGB when it has colour (transparency on white, EXIF
    turn applied), else the same grayscale as `to_gray`; same size either way."""
    if img.mode in ("1", "L", "LA", "La", "I;16", "I;16B", "I;16L", "I", "F") or \
            (img.mode == "P" and img.palette is not None and img.palette.mode == "L"):
        return to_gray(img)
    img = ImageOps.exif_transpose(img) or img
    if img.mode in ("P", "PA", "RGBA", "RGBa"):
        img = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", img.size, (255, 255, 255, 255)), img)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


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


def pages_of(source: str | os.PathLike | bytes, name: str | None = None) -> list[str | FilePage]:
    """What `read_many` takes to read every page of a file (a path, or its bytes): one FilePage per
    page of a PDF or a multi-page TIFF, else the path itself, or one FilePage holding the bytes
    (also when the file cannot be read: loading says why). `name` names bytes in messages."""
    data = bytes(source) if isinstance(source, (bytes, bytearray)) else None
    name = name or ("image bytes" if data is not None else str(source))
    try:
        if data is None:
            with open(source, "rb") as f:
                pdf = is_pdf(f.read(5))
        else:
            pdf = is_pdf(data)
        if pdf:
            with PDFIUM:
                doc = _pdf(data if data is not None else _read_file(Path(source), name), name)
                pages = len(doc)
                doc.close()
        else:
            with warnings.catch_warnings(), Image.open(io.BytesIO(data) if data is not None else source) as img:
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # loading refuses those
                pages = page_count(img)
    except Exception:
        pdf, pages = False, 1
    if pdf or pages > 1:
        return [FilePage(name, k, data) for k in range(1, pages + 1)]
    return [str(source) if data is None else FilePage(name, None, data)]


def load_image(source: str | os.PathLike | bytes | np.ndarray | Image.Image | FilePage,
               name: str | None = None, max_pixels: int = MAX_PIXELS, color: bool = False) -> np.ndarray:
    """Read a path, bytes, Pillow image, array or FilePage into uint8 grayscale (white paper,
    dark ink); a PDF page is drawn at PDF_DPI. `color=True` keeps a colour image's colours (RGB,
    for people to look at: a searchable PDF, an overlay); the pixels are the same either way."""
    pixels = to_color if color else to_gray
    if isinstance(source, FilePage):
        name = name or source.path
        data = source.data if source.data is not None else _read_file(Path(source.path), name)
        return pixels(_open(data, name, max_pixels, source.number, color))
    if isinstance(source, np.ndarray):
        gray = array_to_gray(source, name or "array", max_pixels)   # checks it, whatever is asked
        if color and source.dtype == np.uint8 and source.ndim == 3 and source.shape[2] in (3, 4):
            return to_color(Image.fromarray(source))
        return gray
    if isinstance(source, Image.Image):
        return pixels(source)
    if isinstance(source, (bytes, bytearray)):
        return pixels(_open(bytes(source), name or "image bytes", max_pixels, color=color))
    path = Path(source)
    return pixels(_open(_read_file(path, name or str(path)), name or str(path), max_pixels, color=color))


def _read_file(path: Path, name: str) -> bytes:
    if not path.exists():
        raise ImageError(f"{name}: no such file")
    if not path.is_file():
        raise ImageError(f"{name}: not a file")
    if path.stat().st_size > MAX_BYTES:
        raise ImageError(f"{name}: file is {path.stat().st_size} bytes, more than the limit of {MAX_BYTES}")
    return path.read_bytes()
