"""What reading returns: a page of lines of words, each with where it stands and how sure we are.

Coordinates are pixels of the input image, origin top-left, x right, y down.
A box is (x0, y0, x1, y1) with x1/y1 exclusive.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

Box = tuple[int, int, int, int]
Point = tuple[int, int]


@dataclass
class Word:
    text: str
    box: Box
    confidence: float


@dataclass
class Line:
    text: str
    box: Box
    confidence: float
    words: list[Word] = field(default_factory=list)
    polygon: list[Point] | None = None
    baseline: list[Point] | None = None
    block: int = 0   # its text block (a column, or writing across columns), from 0 in reading order


@dataclass
class Page:
    width: int
    height: int
    lines: list[Line] = field(default_factory=list)
    seconds: float = 0.0
    # How far the writing is turned clockwise from upright, in degrees (0, 90, 180 or 270): 90
    # means its lines run down the image. Boxes are in the input's pixels whichever way up.
    orientation: int = 0

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["text"] = self.text
        return d
