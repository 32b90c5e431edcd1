"""The public Python API: `htr.read(image) -> Page`, for a whole page or a single line or word.

Layouts:
- "page": find the lines and words (`htr.segment`), recognize the lines in batches, and give
  every box in input-image pixels;
- "line": the whole image is one line (or word), as the models are trained;
- "auto" (default): segment, then read the whole image as one line when it holds exactly one line
  of text that fills at least 40 % of its height (a cropped line or word), else as a page
  (no line found: an empty page).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from htr.imageio import load_image
from htr.page import Line, Page, Word
from htr.recognizer import Recognizer
from htr.segment import Layout, LineRegion, segment

DEFAULT_DECODER = "wordbeam"  # best accuracy under 20 ms per line (docs/decoding.md)
LAYOUTS = ("auto", "page", "line")
LINE_FILL = 0.4  # "auto": a lone line whose ink spans this much of the image height is a line crop


def read(image: str | os.PathLike | bytes | np.ndarray, model: str | Path | None = None,
         decoder: str | None = None, layout: str = "auto", reread: bool = True, **options) -> Page:
    """Read handwriting from a path, bytes or array; returns the lines with boxes and confidences.
    `reread=False` reads each line once: faster, less accurate on narrow handwriting."""
    t0 = time.perf_counter()
    img = load_image(image)
    page = read_image(img, Recognizer.load(model, reread), decoder or DEFAULT_DECODER, layout, **options)
    page.seconds = round(time.perf_counter() - t0, 4)
    return page


def read_image(img: np.ndarray, recognizer: Recognizer, decoder: str = DEFAULT_DECODER,
               layout: str = "auto", **options) -> Page:
    """`read` for a loaded grayscale image and a loaded recognizer (what evaluation loops call)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    h, w = img.shape
    found = segment(img) if layout != "line" else None
    if found is None or (layout == "auto" and is_line_crop(found)):
        lines = recognizer.read_lines([img], decoder, **options)
        return Page(w, h, [ln for ln in lines if ln.text])
    return read_layout(found, recognizer, decoder, **options)


def read_layout(found: Layout, recognizer: Recognizer, decoder: str = DEFAULT_DECODER, **options) -> Page:
    """Recognize the lines of a segmented page in batches; lines read as nothing are dropped."""
    lines = recognizer.read_lines([r.image for r in found.lines], decoder, **options)
    return Page(found.width, found.height,
                [_place(region, line) for region, line in zip(found.lines, lines) if line.text])


def is_line_crop(layout: Layout) -> bool:
    """True for an image that is itself a line or word: one line, filling much of its height."""
    if len(layout.lines) != 1:
        return False  # no line (blank, black, specks): an empty page; several: a page
    _, y0, _, y1 = layout.lines[0].box
    return (y1 - y0) >= LINE_FILL * layout.height


def _place(region: LineRegion, line: Line) -> Line:
    """A line read from a region's image, with its boxes moved to input-image pixels.

    Word boxes come from the gaps in the ink when the gaps give as many words as were read
    (tight boxes), else from the recognizer's character positions.
    """
    spans = region.words if len(region.words) == len(line.words) else \
        [(wd.box[0], wd.box[2]) for wd in line.words]
    words = [Word(wd.text, region.box_of(x0, x1), wd.confidence) for wd, (x0, x1) in zip(line.words, spans)]
    return Line(line.text, region.box, line.confidence, words, polygon=region.polygon, baseline=region.baseline)
