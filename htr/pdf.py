"""Searchable PDF: each page image (in colour if it has any) with the words read laid over it as
invisible text (PDF text render mode 3), each word stretched over its box, as OCR tools write
them. A PDF viewer shows the scan and finds, selects and copies its handwritten words; a page
read turned (orientation) is shown upright, its text running along the writing.

Written by hand: a page is a JPEG, one standard font and a few text operators, so no PDF library
is needed. The font is Courier, whose glyphs are all 0.6 em wide: a word's width at any size is
known without font metrics, and horizontal scaling (Tz) fits it to its box exactly. Words sit on
their line's baseline (found by segmentation, skew and all), so that viewers take them as a line.

A page of a PDF is kept as it is instead (its own images at their own resolution, its vector
drawing and any text it has), with the words laid over it: PDFium copies the page in and places
a page of the words alone over it, turned to the page's own rotation.
"""
from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image

from htr.formats import words_of
from htr.imageio import PDFIUM, FilePage, is_pdf
from htr.page import Line, Page

# A page's longer side is at most an A4 page's (11.69 in): a 300 dpi scan keeps its paper size,
# a phone photo becomes a page, and an image too small for that (a line crop) is one point a pixel.
A4_LONG_INCHES = 11.69
MIN_DPI = 72
JPEG_QUALITY = 85
CHAR_WIDTH = 0.6   # Courier: every glyph is 600/1000 of the font size wide
_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>"


class SearchablePdf:
    """A searchable PDF built a page at a time: each image is compressed as it is added, so a long
    document never holds all its images at once."""

    def __init__(self, title: str = ""):
        self.objects: list[bytes] = [b"", b"", _FONT]   # 1 catalog and 2 page tree, written last
        self.kids: list[int] = []
        self.title = title
        self.kept: list[tuple[int, FilePage, Page]] = []   # pages of PDFs, with where they go

    def add(self, image: np.ndarray | FilePage, page: Page) -> None:
        """A page: the image (grayscale, or RGB as `load_image(..., color=True)` gives it), or the
        page of a PDF (a FilePage holding the file's bytes), and the Page read from it (boxes in
        its pixels; a PDF page's as `load_image` draws it)."""
        if isinstance(image, FilePage):
            if image.data is None or not is_pdf(image.data) or image.number is None:
                raise ValueError(f"{image}: only a page of a PDF held in memory is kept as it is")
            self.kids.append(self._add(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 1 1] >>"))  # its place
            self.kept.append((len(self.kids) - 1, image, page))
            return
        h, w = image.shape[:2]
        if (page.width, page.height) != (w, h):
            raise ValueError(f"the page was read from a {page.width}x{page.height} image, not this {w}x{h} one")
        scale = 72 / max(MIN_DPI, max(w, h) / A4_LONG_INCHES)   # points per pixel
        jpeg = io.BytesIO()
        rgb = image.ndim == 3
        Image.fromarray(np.ascontiguousarray(image)).convert("RGB" if rgb else "L").save(jpeg, "JPEG",
                                                                                       quality=JPEG_QUALITY)
        image_ref = self._add(_stream(f"/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace "
                                      f"/Device{'RGB' if rgb else 'Gray'} /BitsPerComponent 8 /Filter /DCTDecode",
                                      jpeg.getvalue()))
        content = zlib.compress(_content(page, w * scale, h * scale, scale).encode("latin-1"))
        content_ref = self._add(_stream("/Filter /FlateDecode", content))
        self.kids.append(self._add(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {w * scale:.2f} {h * scale:.2f}] "
            f"/Rotate {(360 - (page.orientation or 0)) % 360} /Resources << /Font << /F0 3 0 R >> "
            f"/XObject << /Im0 {image_ref} 0 R >> >> /Contents {content_ref} 0 R >>".encode()))

    def tobytes(self) -> bytes:
        if not self.kids:
            raise ValueError("a PDF needs at least one page")
        objects = list(self.objects)
        objects[0] = _CATALOG
        objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in self.kids)}] /Count {len(self.kids)} >>".encode()
        objects.append(b"<< /Producer (htr)" + (b" /Title " + _string(self.title) if self.title else b"") + b" >>")
        data = _document(objects, info=len(objects))
        return _keep_pages(data, self.kept) if self.kept else data

    def _add(self, body: bytes) -> int:
        self.objects.append(body)
        return len(self.objects)   # objects are numbered from 1


def searchable_pdf(pages: list[tuple[np.ndarray, Page]], title: str = "") -> bytes:
    """One PDF of the pages: each an image (gray or RGB) and the Page read from it."""
    doc = SearchablePdf(title)
    for image, page in pages:
        doc.add(image, page)
    return doc.tobytes()


def _keep_pages(data: bytes, kept: list[tuple[int, FilePage, Page]]) -> bytes:
    """The document with each kept page of a PDF copied in at its place, the words over it."""
    import pypdfium2 as pdfium
    with PDFIUM:
        doc, sources = pdfium.PdfDocument(data), {}
        try:
            for index, source, page in kept:
                if id(source.data) not in sources:   # every page of a file shares its bytes
                    sources[id(source.data)] = pdfium.PdfDocument(source.data)
                doc.import_pages(sources[id(source.data)], [source.number - 1], index)
                doc.del_page(index + 1)
                sheet = doc[index]
                width, height = sheet.get_size()   # as shown, turned by the page's rotation
                words = pdfium.PdfDocument(_words_only(page, width, height))
                xobject = words.page_as_xobject(0, doc)
                layer = xobject.as_pageobject()
                rotation = sheet.get_rotation()
                layer.transform(pdfium.PdfMatrix(*_shown_to_page(rotation, sheet.get_cropbox())))
                sheet.insert_obj(layer)
                sheet.gen_content()
                sheet.set_rotation((rotation + 360 - (page.orientation or 0)) % 360)
                for done in (xobject, words, sheet):   # closed here, under the lock, not by the collector
                    done.close()
            out = io.BytesIO()
            doc.save(out)
            return out.getvalue()
        finally:
            for source_doc in sources.values():
                source_doc.close()
            doc.close()


def _words_only(page: Page, width: float, height: float) -> bytes:
    """A PDF of one page, `width` x `height` points, with the page's words alone."""
    content = zlib.compress(_content(page, width, height, width / page.width, image=False).encode("latin-1"))
    return _document([_CATALOG, b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>", _FONT,
                      _stream("/Filter /FlateDecode", content),
                      f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:.2f} {height:.2f}] "
                      f"/Resources << /Font << /F0 3 0 R >> >> /Contents 4 0 R >>".encode()])


def _shown_to_page(rotation: int, crop: tuple[float, float, float, float]) -> tuple[float, ...]:
    """The matrix (a, b, c, d, e, f) from a page's coordinates as shown (turned clockwise by its
    /Rotate; origin at the bottom left of its crop box) to its own coordinates."""
    left, bottom, right, top = crop
    return {0: (1, 0, 0, 1, left, bottom), 90: (0, 1, -1, 0, right, bottom),
            180: (-1, 0, 0, -1, right, top), 270: (0, -1, 1, 0, left, top)}[rotation % 360]


def _content(page: Page, width: float, height: float, scale: float, image: bool = True) -> str:
    """Draw the image over the whole page, then each line's words, invisible, on its baseline."""
    ops = [f"q {width:.2f} 0 0 {height:.2f} 0 0 cm /Im0 Do Q"] if image else []
    ops.append("BT 3 Tr")
    for line in page.lines:
        words = words_of(line)
        start, d = _baseline(line, page.orientation or 0)
        up = np.array([d[1], -d[0]])   # the letters' up, a quarter turn from the writing's direction
        corners = [np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], float) - start
                   for x0, y0, x1, y1 in (word.box for word in words)]
        # One size for the line (how far its words rise above the baseline), so that viewers see
        # one line of text; each word then spans its own box along the baseline.
        size = max(float(np.median([max((c @ up).max(), 1.0) for c in corners])) * scale, 1.0)
        for k, (word, c) in enumerate(zip(words, corners)):
            text = word.text + (" " if k < len(words) - 1 else "")   # spaces copy out as spaces
            if not text.strip():
                continue
            along = c @ d
            ox, oy = (start + along.min() * d) * scale
            stretch = 100 * max((along.max() - along.min()) * scale, 1.0) / (CHAR_WIDTH * size * len(text))
            # image y runs down, PDF's up: the text's x axis is (d0, -d1), its y axis (up0, -up1)
            ops.append(f"/F0 {size:.2f} Tf {stretch:.2f} Tz {d[0]:.4f} {-d[1]:.4f} {up[0]:.4f} {-up[1]:.4f} "
                       f"{ox:.2f} {height - oy:.2f} Tm {_string(text).decode('latin-1')} Tj")
    ops.append("ET")
    return "\n".join(ops)


def _baseline(line: Line, turn: int) -> tuple[np.ndarray, np.ndarray]:
    """Where a line's baseline starts and the unit direction it runs in, in image pixels: from the
    found baseline (its ends), else from the line's box and which way up the writing is."""
    if line.baseline and len(line.baseline) >= 2:
        a, b = np.array(line.baseline[0], float), np.array(line.baseline[-1], float)
    else:
        x0, y0, x1, y1 = line.box
        a, b = {0: ((x0, y1), (x1, y1)), 90: ((x0, y0), (x0, y1)),
                180: ((x1, y0), (x0, y0)), 270: ((x1, y1), (x1, y0))}[turn]
        a, b = np.array(a, float), np.array(b, float)
    d = b - a
    return a, d / max(float(np.hypot(*d)), 1e-9)


def _string(text: str) -> bytes:
    """A PDF literal string in WinAnsi (what Courier is set to); characters it lacks become ?."""
    raw = text.encode("cp1252", errors="replace")
    out = bytearray(b"(")
    for b in raw:
        if b in b"()\\":
            out += b"\\" + bytes([b])
        elif b < 32 or b == 127:
            out += f"\\{b:03o}".encode()
        else:
            out.append(b)
    return bytes(out + b")")


def _stream(header: str, data: bytes) -> bytes:
    return f"<< {header} /Length {len(data)} >>\nstream\n".encode() + data + b"\nendstream"


def _document(objects: list[bytes], info: int | None = None) -> bytes:
    """Objects numbered from 1, with the cross-reference table a reader seeks by."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    info_ref = f" /Info {info} 0 R" if info else ""
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info_ref} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
