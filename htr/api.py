"""The public Python API: `htr.read(image) -> Page`."""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from htr.imageio import load_image
from htr.page import Page
from htr.recognizer import Recognizer

DEFAULT_DECODER = "greedy"


def read(image: str | os.PathLike | bytes | np.ndarray, model: str | Path | None = None,
         decoder: str | None = None, **options) -> Page:
    """Read handwriting from a path, bytes or array; returns the lines with boxes and confidences."""
    t0 = time.perf_counter()
    img = load_image(image)
    rec = Recognizer.load(model)
    lines = rec.read_lines([img], decoder or DEFAULT_DECODER, **options)
    lines = [ln for ln in lines if ln.text]
    return Page(img.shape[1], img.shape[0], lines, seconds=round(time.perf_counter() - t0, 4))
