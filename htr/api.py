"""The public Python API: `htr.read(image) -> Page`, for a whole page or a single line or word.

Layouts:
- "page": find the lines and words (`htr.segment`), recognize the lines in batches, and give
  every box in input-image pixels;
- "line": the whole image is one line (or word), as the models are trained;
- "auto" (default): segment, then read the whole image as one line when it holds exactly one line
  of text that fills at least 40 % of its height (a cropped line or word), else as a page
  (no line found: an empty page).

Orientation: 0 (default) reads the image as it stands; 90, 180 or 270 (or "90"...) says how far its
writing is turned clockwise; "auto" finds it (`htr.orientation`). Boxes are in the input's pixels
either way.
"""
from __future__ import annotations

import os
import time
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from htr.imageio import ImageError, load_image
from htr.orientation import box_back, find_orientation, orientation_of, point_back, upright
from htr.page import Line, Page, Word
from htr.recognizer import Recognizer
from htr.segment import Layout, LineRegion, segment

DEFAULT_DECODER = "wordbeam"  # best accuracy under 20 ms per line (docs/decoding.md)
LAYOUTS = ("auto", "page", "line")
LINE_FILL = 0.4  # "auto": a lone line whose ink spans this much of the image height is a line crop
GROUP = 64  # read_many: images whose lines go through the network together


def read(image: str | os.PathLike | bytes | np.ndarray, model: str | Path | None = None,
         decoder: str | None = None, layout: str = "auto", reread: bool = True,
         orientation: int | str = 0, **options) -> Page:
    """Read handwriting from a path, bytes or array; returns the lines with boxes and confidences.
    `reread=False` reads each line once: faster, less accurate on narrow handwriting.
    `orientation="auto"` finds which way up the writing is (a page scanned upside down)."""
    page = next(read_many([image], model, decoder, layout, reread, orientation, **options))
    if isinstance(page, ImageError):
        raise page
    return page


def read_many(images: Iterable[str | os.PathLike | bytes | np.ndarray], model: str | Path | None = None,
              decoder: str | None = None, layout: str = "auto", reread: bool = True,
              orientation: int | str = 0, **options) -> Iterator[Page | ImageError]:
    """`read` for many images, in order: the lines of up to GROUP images go through the network
    together, so a folder of line or word crops reads about as fast as the lines of one page
    (one image at a time, each crop would be a batch of one). An image that cannot be loaded
    comes back as its ImageError, in its place, and the others are still read."""
    recognizer = Recognizer.load(model, reread)
    todo = iter(images)
    while group := list(islice(todo, GROUP)):
        t0 = time.perf_counter()
        plans: list[tuple[list[np.ndarray], Callable[[list[Line]], Page]] | ImageError] = []
        for image in group:
            try:
                plans.append(_plan(load_image(image), layout, orientation, recognizer))
            except ImageError as e:
                plans.append(e)
        crops = [crop for plan in plans if not isinstance(plan, ImageError) for crop in plan[0]]
        lines = iter(recognizer.read_lines(crops, decoder or DEFAULT_DECODER, **options))
        seconds = round((time.perf_counter() - t0) / len(group), 4)   # the group's time, shared
        for plan in plans:
            if isinstance(plan, ImageError):
                yield plan
                continue
            page = plan[1]([next(lines) for _ in plan[0]])
            page.seconds = seconds
            yield page


def read_image(img: np.ndarray, recognizer: Recognizer, decoder: str = DEFAULT_DECODER,
               layout: str = "auto", **options) -> Page:
    """`read` for a loaded grayscale image and a loaded recognizer (what evaluation loops call)."""
    crops, to_page = _plan(img, layout)
    return to_page(recognizer.read_lines(crops, decoder, **options))


def _plan(img: np.ndarray, layout: str, orientation: int | str = 0, recognizer: Recognizer | None = None
          ) -> tuple[list[np.ndarray], Callable[[list[Line]], Page]]:
    """The line images to recognize in an image, and how their readings make its page."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    orientation = orientation_of(orientation)
    h, w = img.shape
    found = None
    if orientation == "auto":
        orientation, found = find_orientation(img, recognizer, line=layout == "line")
    if orientation:
        crops, to_page = _plan(upright(img, orientation), layout)
        return crops, lambda lines: _turned_back(to_page(lines), orientation, w, h)
    if layout != "line" and found is None:
        found = segment(img)
    if found is None or (layout == "auto" and is_line_crop(found)):
        return [img], lambda lines: Page(w, h, [ln for ln in lines if ln.text])
    return [r.image for r in found.lines], lambda lines: _layout_page(found, lines)


def _turned_back(page: Page, orientation: int, width: int, height: int) -> Page:
    """A page read from the image turned upright, with its boxes in the input image's pixels."""
    def box(b):
        return box_back(b, orientation, width, height)

    def points(pts):
        return [point_back(p, orientation, width, height) for p in pts] if pts else pts
    lines = [Line(ln.text, box(ln.box), ln.confidence, [Word(w.text, box(w.box), w.confidence) for w in ln.words],
                  polygon=points(ln.polygon), baseline=points(ln.baseline), block=ln.block) for ln in page.lines]
    return Page(width, height, lines, page.seconds, orientation)


def read_layout(found: Layout, recognizer: Recognizer, decoder: str = DEFAULT_DECODER, **options) -> Page:
    """Recognize the lines of a segmented page in batches; lines read as nothing are dropped."""
    return _layout_page(found, recognizer.read_lines([r.image for r in found.lines], decoder, **options))


def _layout_page(found: Layout, lines: list[Line]) -> Page:
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
    return Line(line.text, region.box, line.confidence, words, polygon=region.polygon, baseline=region.baseline,
                block=region.block)
