"""The IAM Handwriting Database (scanned forms) as users download it: word or line images.

Layout (the official archives extracted into ROOT; `words.txt`/`lines.txt` may also sit in
`ROOT/ascii/`):

    ROOT/words.txt   a01-000u-00-00 ok 154 408 768 27 51 AT A
    ROOT/words/a01/a01-000u/a01-000u-00-00.png
    ROOT/lines.txt   a01-000u-00 ok 154 19 408 746 1663 91 A|MOVE|to|stop|Mr.|Gaitskell|from
    ROOT/lines/a01/a01-000u/a01-000u-00.png

`#` lines are comments. The second field is the segmentation flag: `ok`, or `er` where the
word cut (or a line's words) may be wrong; `ok_only=1` keeps only `ok`. In lines.txt the words
are joined by `|`, read here as spaces. A split is a list `ROOT/NAME.txt` of form or line ids
(e.g. the official `trainset.txt` of line ids); without one, every item is used.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from htr.datasets.base import DatasetError, as_bool, log
from htr.datasets.images import ImageFiles

# Images shipped broken in the official distribution (they decode to nothing usable).
KNOWN_BROKEN = {"a01-117-05-02", "r06-022-03-05"}
LEVELS = {"words": r"[a-z]\d\d-\d\d\d[a-z]?-\d\d-\d\d", "lines": r"[a-z]\d\d-\d\d\d[a-z]?-\d\d"}
FLAGS = {"ok", "er", "err"}


def parse_entry(line: str, level: str) -> tuple[str, str, str]:
    """(id, flag, text) of one words.txt/lines.txt entry; ValueError saying what is wrong."""
    fields = line.split()
    if len(fields) < 3 or not re.fullmatch(LEVELS[level], fields[0]):
        raise ValueError(f"not a {level[:-1]} entry (it should start like "
                         f"{'a01-000u-00-00' if level == 'words' else 'a01-000u-00'} ok)")
    if fields[1] not in FLAGS:
        raise ValueError(f"segmentation flag {fields[1]!r} is neither ok nor er")
    if level == "lines":  # gray level, components, x y w h, then the words joined by '|'
        numeric, text = fields[2:8], " ".join(filter(None, " ".join(fields[8:]).split("|")))
    else:  # gray level, [components,] x y w h, a grammatical tag, then the word
        k = 2
        while k < len(fields) and re.fullmatch(r"-?\d+", fields[k]):
            k += 1
        numeric, text = fields[2:k], " ".join(fields[k + 1:])
    if len(numeric) < 5 or not all(re.fullmatch(r"-?\d+", x) for x in numeric):
        raise ValueError("gray level and bounding box fields are missing or not numbers")
    if not text.strip():
        raise ValueError("no transcription")
    return fields[0], fields[1], text


def _index_file(root: Path, level: str) -> Path:
    for path in (root / f"{level}.txt", root / "ascii" / f"{level}.txt"):
        if path.is_file():
            return path
    raise DatasetError(f"iam-offline: {level}.txt not found in {root} or {root / 'ascii'}")


class IamOffline(ImageFiles):
    """Word or line images of the IAM Handwriting Database, with their transcriptions."""
    name = "iam-offline"

    def __init__(self, root: str | os.PathLike, level: str = "lines", split: str | None = None,
                 ok_only: bool | str = False, height: int | str | None = None):
        """`height` is accepted like every dataset's, but scans keep their size: preprocessing scales them."""
        super().__init__()
        if level not in LEVELS:
            raise DatasetError(f"iam-offline: level must be words or lines, not {level!r}")
        self.root, self.level = Path(root), level
        ok_only = as_bool(ok_only)
        images = self.root / level
        if not images.is_dir():
            raise DatasetError(f"iam-offline: image folder {images} not found (extract {level}.tgz into {self.root})")
        index = _index_file(self.root, level)
        wanted = self._split_ids(split)
        self.dropped_er = 0
        for number, line in enumerate(index.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if not line.strip() or line.startswith("#"):
                continue
            try:
                item, flag, text = parse_entry(line, level)
            except ValueError as e:
                self.skip(f"{index.name}:{number}", str(e))
                continue
            form = "-".join(item.split("-")[:2])
            if wanted is not None and form not in wanted and "-".join(item.split("-")[:3]) not in wanted:
                continue
            if ok_only and flag != "ok":
                self.dropped_er += 1
                continue
            if item in KNOWN_BROKEN:
                self.skip(item, "known to be broken in the IAM distribution")
                continue
            self.add(item, images / item[:3] / form / f"{item}.png", text)
        if self.dropped_er:
            log.info("%s: left out %d %s flagged 'er' (ok_only)", self.name, self.dropped_er, level)

    def _split_ids(self, split: str | None) -> set[str] | None:
        if not split:
            return None
        path = self.root / f"{split}.txt"
        if not path.is_file():
            raise DatasetError(f"iam-offline: split list {path} not found")
        ids = {x.strip() for x in path.read_text().split() if x.strip()}
        if not ids:
            raise DatasetError(f"iam-offline: split list {path} is empty")
        return ids

    def stats(self) -> dict:
        lines = {"-".join(i.split("-")[:3]) for i in self.ids}
        return {**super().stats(), "lines": len(lines), "samples": len(self), "dropped_er": self.dropped_er}
