"""Your own scans: a folder of images and a manifest of their transcriptions.

    DIR/labels.tsv      images/0001.jpg<TAB>KEVIN
                        scans/page3-line07.png<TAB>the quick brown fox

One image per line: a path relative to DIR, a tab, the transcription (UTF-8). Any format
Pillow reads works (JPEG, PNG, TIFF, 16-bit, palette, transparency composited on white).
`split=NAME` reads `DIR/NAME.tsv` instead, so train/validation manifests can share a folder;
`items=A:B` keeps the manifest's usable items A to B-1 (a Python slice), so one manifest can also
be cut into training, validation and test parts: `items=:40`, `items=40:52`, `items=52:`.
Lines that are not `path<TAB>text`, images that are missing or unreadable, and repeated
paths are skipped with a warning naming the manifest line or the image.
"""
from __future__ import annotations

import os
from pathlib import Path

from htr.datasets.base import DatasetError, parse_slice
from htr.datasets.images import ImageFiles


class Folder(ImageFiles):
    """Images listed in `DIR/labels.tsv` (or `DIR/<split>.tsv`) with their transcriptions."""
    name = "folder"

    def __init__(self, root: str | os.PathLike, split: str = "labels", height: int | str | None = None,
                 items: str = ""):
        """`height` is accepted like every dataset's, but scans keep their size: preprocessing scales them."""
        super().__init__()
        self.root = Path(root)
        manifest = self.root / f"{split}.tsv"
        if not manifest.is_file():
            have = sorted(p.name for p in self.root.glob("*.tsv")) if self.root.is_dir() else []
            raise DatasetError(f"folder: manifest {manifest} not found "
                               f"(manifests here: {', '.join(have) or 'none'})")
        try:
            lines = manifest.read_text(encoding="utf-8-sig").splitlines()
        except UnicodeDecodeError as e:
            raise DatasetError(f"folder: {manifest} is not UTF-8 text ({e})") from None
        seen: set[str] = set()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{manifest.name}:{number}"
            path, tab, text = line.partition("\t")
            path, text = path.strip(), text.strip()
            if not tab or not path:
                self.skip(where, "not 'path<TAB>transcription' (no tab)" if not tab else "no image path")
            elif not text:
                self.skip(f"{where} {path}", "empty transcription")
            elif path in seen:
                self.skip(f"{where} {path}", "image listed twice; the first line is used")
            else:
                seen.add(path)
                self.add(path, self.root / path, text)
        if items:
            self._select(list(range(len(self)))[parse_slice(items, "folder: items")])
