"""Datasets of image files on disk (scans, photos) with their transcriptions.

Each file is checked when the index is built, by reading its header only (fast, even for
100,000 files): a missing file, an empty one or one that is not an image is skipped with a
warning naming it, instead of stopping a training run hours later. Pixels are decoded on
demand by `htr.imageio.load_image`, which handles every mode Pillow reads.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from htr.datasets.base import Dataset, Sample
from htr.imageio import MAX_PIXELS, is_pdf, load_image, page_count


def unreadable(path: Path) -> str | None:
    """Why `path` cannot be used as an image, from its header alone; None if it looks fine."""
    if not path.is_file():
        return "no such file" if not path.exists() else "not a file"
    if path.stat().st_size == 0:
        return "file is empty"
    try:
        with Image.open(path) as img:
            w, h = img.size
            pages = page_count(img)
    except Exception as e:  # Pillow raises many types for files it cannot identify
        with open(path, "rb") as f:
            if is_pdf(f.read(5)):
                return "a PDF (an item is one image: `htr read` reads a PDF's pages)"
        return f"not a readable image ({type(e).__name__}: {e})"
    if pages > 1:
        return f"a TIFF of {pages} pages (an item is one image: `htr read` reads its pages)"
    if w < 1 or h < 1 or w * h > MAX_PIXELS:
        return f"image size {w}x{h} is outside 1..{MAX_PIXELS} pixels"
    return None


class ImageFiles(Dataset):
    """Items are image files; subclasses call `add` for each while building their index."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[Path] = []

    def add(self, item: str, path: Path, text: str) -> bool:
        """Index one image with its text, or skip it naming the reason; True if it was kept."""
        reason = unreadable(path)
        if reason:
            self.skip(item, f"{path}: {reason}")
            return False
        self.ids.append(item)
        self.labels.append(text)
        self.paths.append(path)
        return True

    def _select(self, keep: list[int]) -> None:
        super()._select(keep)
        self.paths = [self.paths[i] for i in keep]

    def sample(self, i: int, rng: np.random.Generator | None = None) -> Sample:
        return Sample(load_image(self.paths[i]), self.labels[i], self.ids[i])
