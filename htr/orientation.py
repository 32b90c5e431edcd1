"""Which way up a page is. Scanners get pages fed upside down, and a picture without EXIF may lie
on its side; read as they are, such pages give junk with no warning.

The model itself is the judge: it reads upright writing with confident characters and writing
turned over with doubtful ones (the mean log-probability of the greedy path's characters; figures
in docs/pages.md, "Pages on their side or upside down"). A few of the longest lines found are read
the way they stand and turned half round; only when neither reads well is the page turned a
quarter and tried the same way.

An orientation is how far the writing is turned clockwise from upright, in degrees: 90 means
its lines run down the image. Reading turns the image back (`upright`) and boxes are mapped back
to the input's pixels (`box_back`, `point_back`).
"""
from __future__ import annotations

import numpy as np

from htr.recognizer import Recognizer
from htr.segment import Layout, segment

ORIENTATIONS = (0, 90, 180, 270)
PROBE_LINES = 3    # the longest lines found are read to judge a page
READS_WELL = -0.2  # mean log-probability of the characters above which a way up is taken at once
READS_AT_ALL = -0.5  # below this, no way up reads well enough to turn the image for it
# Another way up is taken when its mean log-probability is at most this share of the image's as it
# stands (a ratio, not a difference: faint or odd writing lowers every way's score alike). Chosen
# on pages drawn from testset_v and the Kaggle scans (docs/pages.md).
TURN_RATIO = 0.6
NOTHING = -5.0     # the score of an image in which nothing is read


def orientation_of(value: int | str) -> int | str:
    """An orientation as given (0, 90, 180 or 270, as a number or in digits, or "auto"), checked."""
    if value == "auto":
        return value
    try:
        orientation = int(value)
    except (TypeError, ValueError):
        orientation = None
    if orientation not in ORIENTATIONS:
        raise ValueError(f"unknown orientation {value!r}; choose from 0, 90, 180, 270 or auto")
    return orientation


def upright(img: np.ndarray, orientation: int) -> np.ndarray:
    """The image turned counter-clockwise by `orientation` degrees: writing turned that far
    clockwise stands upright."""
    return np.ascontiguousarray(np.rot90(img, orientation // 90))


def character_scores(recognizer: Recognizer, images: list[np.ndarray]) -> list[float]:
    """Per image, the mean log-probability of the characters greedy decoding reads (blank frames
    left out: a model reads junk as confident blanks); NOTHING for an image read as nothing."""
    scores = []
    for lp in recognizer.logprobs(images, reread=False):
        best = lp.max(axis=1)[lp.argmax(axis=1) != 0]
        scores.append(float(best.mean()) if len(best) else NOTHING)
    return scores


def _probe(recognizer: Recognizer, img: np.ndarray, line: bool) -> tuple[float, float, Layout | None]:
    """How well the image reads as it stands and turned half round; its layout when segmented."""
    if line:
        found, crops = None, [img]
    else:
        found = segment(img)
        crops = [r.image for r in sorted(found.lines, key=lambda r: -r.image.shape[1])[:PROBE_LINES]]
        if not crops:
            return NOTHING, NOTHING, found
    scores = character_scores(recognizer, crops + [np.ascontiguousarray(c[::-1, ::-1]) for c in crops])
    return float(np.mean(scores[:len(crops)])), float(np.mean(scores[len(crops):])), found


def find_orientation(img: np.ndarray, recognizer: Recognizer, line: bool = False) -> tuple[int, Layout | None]:
    """The orientation of the writing in a grayscale image, and the image's layout when the
    writing stands upright as it is (so that reading need not segment it again). `line`: the
    image is one line (layout "line"), read whole instead of segmented."""
    as_is, turned, found = _probe(recognizer, img, line)
    scores = {180: turned}
    if max(as_is, turned) < READS_WELL:
        scores[90], scores[270], _ = _probe(recognizer, upright(img, 90), line)
    best = max(scores, key=scores.get)
    if scores[best] < READS_AT_ALL or scores[best] < as_is * TURN_RATIO:
        return 0, found
    return best, None


def box_back(box: tuple[int, int, int, int], orientation: int, width: int, height: int) -> tuple[int, int, int, int]:
    """A box (x1, y1 exclusive) in the upright image as a box in the input image of `width` x `height`."""
    x0, y0, x1, y1 = box
    if orientation == 90:
        return width - y1, x0, width - y0, x1
    if orientation == 180:
        return width - x1, height - y1, width - x0, height - y0
    if orientation == 270:
        return y0, height - x1, y1, height - x0
    return box


def point_back(point: tuple[int, int], orientation: int, width: int, height: int) -> tuple[int, int]:
    """A pixel of the upright image as the same pixel of the input image."""
    x, y = point
    if orientation == 90:
        return width - 1 - y, x
    if orientation == 180:
        return width - 1 - x, height - 1 - y
    if orientation == 270:
        return y, height - 1 - x
    return point
