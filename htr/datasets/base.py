"""The one dataset interface: a fixed, ordered list of (image, text, id) samples.

Every dataset loads its index (ids and texts) up front, so `texts()` and `stats()` are cheap,
and produces images lazily. Items it cannot use are listed in `skipped` with a reason and
reported through `warnings`, so a single bad file never stops a whole run.
"""
from __future__ import annotations

import logging
from collections import Counter
from typing import NamedTuple

import numpy as np

from htr.charset import Charset

log = logging.getLogger("htr.data")


def parse_slice(spec: str, option: str) -> slice:
    """'A:B' (either end may be left out, as in Python) as a slice; `option` names it in errors."""
    try:
        a, b = (int(v) if v.strip() else None for v in spec.split(":"))
    except ValueError:
        raise DatasetError(f"{option}={spec!r} is not a slice like 0:160") from None
    return slice(a, b)


class Sample(NamedTuple):
    image: np.ndarray  # uint8 grayscale, white paper, dark ink
    text: str
    id: str


def as_bool(value: bool | str) -> bool:
    """A yes/no dataset option: options arrive from specs as text ("1", "true", "yes")."""
    return str(value).lower() in ("1", "true", "yes")


class DatasetError(ValueError):
    """The dataset as a whole cannot be used (missing files, corrupt archive, bad split list)."""


class Dataset:
    name = "dataset"

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.labels: list[str] = []
        self.skipped: list[tuple[str, str]] = []

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> Sample:
        return self.sample(i, None)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def sample(self, i: int, rng: np.random.Generator | None) -> Sample:
        """Sample i; datasets that draw their images (ink, fonts) vary the drawing with `rng`."""
        raise NotImplementedError

    def texts(self) -> list[str]:
        return list(self.labels)

    def skip(self, item: str, reason: str) -> None:
        self.skipped.append((item, reason))
        log.warning("%s: skipping %s: %s", self.name, item, reason)

    def drop_unknown(self, charset: Charset) -> None:
        """Skip items whose label holds characters the model cannot write, naming each."""
        keep = []
        for i, text in enumerate(self.labels):
            bad = charset.unknown(text)
            if bad:
                self.skip(self.ids[i], f"characters {''.join(sorted(bad))!r} not in the charset")
            else:
                keep.append(i)
        self._select(keep)

    def _select(self, keep: list[int]) -> None:
        """Keep only the given item positions; subclasses with per-item data override and call super."""
        self.ids = [self.ids[i] for i in keep]
        self.labels = [self.labels[i] for i in keep]

    def stats(self) -> dict:
        chars = Counter("".join(self.labels))
        return {
            "dataset": self.name,
            "lines": len(self),
            "words": sum(len(t.split()) for t in self.labels),
            "characters": sum(chars.values()),
            "charset": "".join(sorted(chars)),
            "skipped": [{"id": i, "reason": r} for i, r in self.skipped],
        }
