"""IAM-OnDB pages: whole-page images composed by `htr data pages`, with PAGE XML ground truth.

Layout of ROOT (what `htr.pagegen.write_pages` writes): `ROOT/SPLIT.txt` lists page ids, and
`ROOT/pages/ID.xml` is the PAGE XML of page ID, naming its image (`ID.png` or `ID.jpg`) beside
it. A sample is the page image with its text, lines joined by newlines in reading order;
`truth(i)` gives the ground-truth Page with the line boxes.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from htr.datasets.base import Dataset, DatasetError, Sample
from htr.formats import read_page_xml
from htr.imageio import load_image
from htr.page import Page


class IamOnDBPages(Dataset):
    name = "iam-ondb-pages"

    def __init__(self, root: str | os.PathLike, split: str = "testset_t"):
        super().__init__()
        self.root = Path(root)
        listing = self.root / f"{split}.txt"
        if not listing.is_file():
            raise DatasetError(f"iam-ondb-pages: {listing} not found; write pages with "
                               f"`htr data pages --dataset iam-ondb --root DIR --split {split} -o {self.root}`")
        self._pages: list[Page] = []
        self._images: list[Path] = []
        for page_id in listing.read_text().split():
            try:
                page, image_name = read_page_xml(self.root / "pages" / f"{page_id}.xml")
            except ValueError as e:
                self.skip(page_id, str(e))
                continue
            image = self.root / "pages" / image_name
            if not image.is_file():
                self.skip(page_id, f"image {image} is missing")
                continue
            self.ids.append(page_id)
            self.labels.append(page.text)
            self._pages.append(page)
            self._images.append(image)

    def _select(self, keep: list[int]) -> None:
        super()._select(keep)
        self._pages = [self._pages[i] for i in keep]
        self._images = [self._images[i] for i in keep]

    def truth(self, i: int) -> Page:
        return self._pages[i]

    def sample(self, i: int, rng: np.random.Generator | None) -> Sample:
        return Sample(load_image(self._images[i]), self.labels[i], self.ids[i])
