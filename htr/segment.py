"""Finding the text lines of a page, and the words inside them, without a trained model.

The steps, each cheap and explainable:
1. flatten the lighting: divide by a background estimate (a grey closing of a shrunken copy),
   so shadows and gradients of phone photos become white paper;
2. binarize with Otsu, but never call anything ink that is not clearly darker than the paper
   (a blank page stays blank);
3. deskew: the angle (within +-MAX_SKEW degrees) whose horizontal projection is sharpest;
4. erase ruled or squared paper: long straight horizontal or vertical runs;
5. measure the writing: the typical height of an ink component and the line pitch (from the
   autocorrelation of row profiles); every other length is in a `unit` of about an x-height;
6. find line cores: ink blurred much more along the line than across it and cut at half of
   the local peak, so ascenders and descenders that reach into the next line do not merge
   lines; pieces of one line (wide word gaps, a t-bar above it) are joined;
7. give every ink component to the core it overlaps; a component spanning two cores (lines that
   touch) is cut pixel by pixel at the seam between their centre lines; specks far from any
   line and lines too small to be writing are dropped. Columns side by side (paper at least
   COLUMN_GAP units wide all the way down between them; two lines or more, and COLUMN_SHARE of the
   writing's width, in each) are taken one at a time, so that their lines stay apart; writing
   across the columns above or below them (a title) is a block of its own (`text_blocks`);
8. order lines top to bottom (block by block: a title, the left column, the right column, what
   runs across below them), cut each out of the deskewed page with other lines' ink erased, and
   split it into words at gaps wider than half a unit;
9. leave out the cut-off neighbouring lines of a crop: slivers at the top or bottom edge.

Pages above WORK_PIXELS are segmented at a reduced size, and a photo of a sheet on a table is
first warped so that the sheet is seen flat (htr/sheet.py); boxes still come in input pixels.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from htr.page import Box, Point
from htr.sheet import find_sheet

MAX_SKEW = 20.0         # degrees searched each way when deskewing: a phone held askew
CUT_LINE = 0.6          # an edge line less than this fraction of the tallest line's height is a sliver
EDGE = 1                # a line ending this many pixels from the top or bottom touches the edge
RULE_LETTERS = 8.0      # a rule is longer than this many text heights (an l or a t-bar is not)
RULE_SHAPE = 4          # ink erased as a rule lies in components this many times longer than wide
MIN_CONTRAST = 50       # ink must be this many grey levels darker than the flattened paper
PAD = 4                 # pixels of paper kept around a line image
WORK_PIXELS = 6_000_000  # larger pages are shrunk to this for segmentation (a 300 dpi A4 page is 8.7 M)
# Paper this many units wide, from the top of the columns to their bottom, parts them. A single gap
# between words is rarely as wide (99% are under 2.4 units on drawn testset_t pages, 3.8 on
# testset_v; the widest 4.4 and 6.6: benchmarks/segment_checks.py), and a band must run past every
# line. Each column must hold at least COLUMN_SHARE of the writing's width: a form's printed labels
# beside the written fields, or a note in the margin, stay on the lines they belong to.
COLUMN_GAP = 4.5
COLUMN_SHARE = 0.25


@dataclass
class LineRegion:
    """One text line: where it is in the input image, and its straightened image to recognize."""
    box: Box                        # tight box of the line's ink, input pixels
    polygon: list[Point]            # the straightened line rectangle, in input pixels
    baseline: list[Point]           # two points, in input pixels
    image: np.ndarray               # uint8, the line cut from the deskewed page, other lines erased
    words: list[tuple[int, int]]    # column ranges of words in `image`, from the gaps between them
    ink: np.ndarray = field(repr=False)        # (N, 2) x, y of the line's ink pixels in `image`
    to_input: np.ndarray = field(repr=False)   # 3x3 map from `image` to input pixels (`_apply`)
    size: tuple[int, int] = field(repr=False)  # input image width, height (boxes stay inside)
    block: int = 0                  # the text block it is in, from 0 in reading order (`text_blocks`)

    def box_of(self, x0: int, x1: int) -> Box:
        """Input-pixel box of the line's ink in columns [x0, x1) of `image` (e.g. a word)."""
        pts = self.ink[(self.ink[:, 0] >= x0) & (self.ink[:, 0] < x1)]
        if len(pts) == 0:
            pts = np.array([[x0, 0], [x1 - 1, self.image.shape[0] - 1]])
        return _bbox(_apply(self.to_input, pts), self.size)


@dataclass
class Layout:
    width: int
    height: int
    lines: list[LineRegion]
    angle: float = 0.0          # skew that was corrected, degrees (counter-clockwise)
    text_height: float = 0.0    # typical height of an ink component, pixels (0: no ink)
    unit: float = 0.0           # the length unit of the segmentation (about an x-height), pixels


# -- image cleaning -----------------------------------------------------------------------------

def flatten(gray: np.ndarray) -> np.ndarray:
    """Divide out the paper's brightness so that paper is ~255 everywhere, whatever the lighting.

    The background is a grey closing (max then min) of a copy shrunk to ~300 px, which wipes out
    pen strokes but follows shadows. A black image has no paper and comes out blank.
    """
    h, w = gray.shape
    f = min(300 / max(h, w), 1.0)
    small = cv2.resize(gray, (max(int(w * f), 1), max(int(h * f), 1)), interpolation=cv2.INTER_AREA)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    bg = cv2.medianBlur(cv2.morphologyEx(small, cv2.MORPH_CLOSE, k, borderType=cv2.BORDER_REPLICATE), 5)
    bg = cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    flat = np.where(bg > MIN_CONTRAST, gray.astype(np.float32) * 255.0 / np.maximum(bg, 1.0), 255.0)
    return np.clip(flat, 0, 255).astype(np.uint8)


def ink_threshold(flat: np.ndarray) -> float:
    """Grey level below which a flattened pixel is ink: Otsu's, capped so that faint noise stays paper."""
    otsu, _ = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return min(float(otsu), 255.0 - MIN_CONTRAST)


def estimate_skew(ink: np.ndarray) -> float:
    """Degrees (counter-clockwise) of the text lines: the rotation giving the sharpest row profile."""
    ys, xs = np.nonzero(ink)
    if len(xs) < 50:
        return 0.0
    if len(xs) > 40000:
        pick = np.random.default_rng(0).choice(len(xs), 40000, replace=False)
        xs, ys = xs[pick], ys[pick]
    xs, ys = xs - xs.mean(), ys.astype(np.float64)

    def score(deg: float) -> float:
        t = np.deg2rad(deg)
        rows = np.round(ys - xs * np.tan(t)).astype(np.int64)  # row of each pixel once rotated by -deg
        return float(np.square(np.bincount(rows - rows.min())).sum())

    coarse = np.arange(-MAX_SKEW, MAX_SKEW + 1e-9, 0.5)
    best = coarse[int(np.argmax([score(a) for a in coarse]))]
    fine = np.arange(best - 0.5, best + 0.5 + 1e-9, 0.1)
    return float(fine[int(np.argmax([score(a) for a in fine]))])


def remove_rules(ink: np.ndarray) -> np.ndarray:
    """Erase ruled and squared paper: straight runs longer than a quarter of the page (at least 60 px)
    and than any letter (RULE_LETTERS text heights).

    Runs are found on a copy thickened across the run direction and with gaps of a few pixels
    bridged, so rules a little off the axis (perspective) or broken by binarization still count.
    Block capitals written close together also make such a run along their tops and feet, so a
    run's ink is erased only in components that are rule-like: elongated (a piece of a rule),
    or holding a long stretch of the run (a rule with the letters that touch it). Ink that
    crosses a rule in a run of its own (a pen stroke through the rule) is kept, so letters
    sitting on the rules are not cut. On a crop of a line or two a quarter of the image is no
    longer than an l or a t-bar, hence the floor in text heights.
    """
    out = ink.copy()
    lengths = {1: _min_run(ink.shape[1]), 0: _min_run(ink.shape[0])}
    runs = {axis: _runs(ink, axis, lengths[axis]) for axis in (0, 1)}
    if not any(r.any() for r in runs.values()):
        return out  # no rule candidates (most pages): spare the component labelling
    n, comps, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    letter = int(RULE_LETTERS * _text_height(stats[1:]))
    for axis in (0, 1):
        if runs[axis].any() and letter > lengths[axis]:
            lengths[axis] = letter
            runs[axis] = _runs(ink, axis, letter)
    for axis, along, across in ((1, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT),     # horizontal rules
                                (0, cv2.CC_STAT_HEIGHT, cv2.CC_STAT_WIDTH)):    # vertical rules
        where = np.nonzero(runs[axis])
        comp, pos = comps[where], where[axis]
        first, last = np.full(n, ink.shape[axis]), np.full(n, -1)
        np.minimum.at(first, comp, pos)
        np.maximum.at(last, comp, pos)
        rule_like = (stats[:, along] >= RULE_SHAPE * stats[:, across]) | (last - first >= lengths[axis])
        out[where[0][rule_like[comp]], where[1][rule_like[comp]]] = 0
    return out


def _min_run(length: int) -> int:
    """How long a straight run must be to be taken for a rule, on a page this long."""
    return max(length // 4, 60)


def _runs(ink: np.ndarray, axis: int, length: int) -> np.ndarray:
    """The ink in straight runs of at least `length` along rows (axis 1) or columns (axis 0) that
    no stroke crosses: rule candidates (`remove_rules`)."""
    if axis == 0:
        return _runs(ink.T, 1, length).T
    if ink.shape[1] < length:
        return np.zeros_like(ink, bool)
    fat = cv2.dilate(ink, np.ones((5, 1), np.uint8))
    fat = cv2.morphologyEx(fat, cv2.MORPH_CLOSE, np.ones((1, 9), np.uint8))
    runs = cv2.morphologyEx(fat, cv2.MORPH_OPEN, np.ones((1, length), np.uint8)) & ink
    if not runs.any():
        return runs.astype(bool)
    crossing = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((7, 1), np.uint8))
    return (runs > 0) & (crossing == 0)


# -- lines --------------------------------------------------------------------------------------

def segment(gray: np.ndarray) -> Layout:
    """Lines (in reading order) and words of a grayscale page; an empty Layout if there is no text."""
    h, w = gray.shape
    sheet = find_sheet(gray)   # a photo of a sheet on a table: the sheet is worked on, seen flat
    work = sheet[1][0] * sheet[1][1] if sheet else h * w
    shrink = min(1.0, (WORK_PIXELS / work) ** 0.5)
    if shrink < 1:
        gray = cv2.resize(gray, (max(int(w * shrink), 1), max(int(h * shrink), 1)), interpolation=cv2.INTER_AREA)
    to_input = np.diag([1 / shrink, 1 / shrink, 1.0])   # from the pixels worked on to the input's
    if sheet is not None:
        warp = np.diag([shrink, shrink, 1.0]) @ sheet[0] @ to_input
        size = (max(int(sheet[1][0] * shrink), 1), max(int(sheet[1][1] * shrink), 1))
        gray = cv2.warpPerspective(gray, warp, size, flags=cv2.INTER_LINEAR, borderValue=255)
        to_input = to_input @ np.linalg.inv(warp)
    flat = flatten(gray)
    threshold = ink_threshold(flat)
    ink = (flat < threshold).astype(np.uint8)
    angle = estimate_skew(ink) if min(ink.shape) >= 64 else 0.0
    angle = angle if abs(angle) >= 0.1 else 0.0
    rot = np.float64([[1, 0, 0], [0, 1, 0]])
    if angle:
        rot, size = _rotation(angle, ink.shape[1], ink.shape[0])
        flat = cv2.warpAffine(flat, rot, size, flags=cv2.INTER_LINEAR, borderValue=255)
        ink = (flat < threshold).astype(np.uint8)
    dark = ink  # all the ink, rules included: what a line's image must not show of other things
    ink = remove_rules(ink)
    _, comps, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    text_height = _text_height(stats[1:])
    if not text_height:
        return Layout(w, h, [], 0.0, 0.0)
    pitch = estimate_pitch(ink, text_height)
    # The unit of every other length: about an x-height. Components are letters in print but
    # whole words in cursive, so where lines are close it is taken from their spacing instead.
    unit = min(text_height, pitch / 2.5) if pitch else text_height
    line_map, order, block_of = _lines_by_block(comps, stats, unit, pitch or 4 * unit)
    to_input = to_input @ np.linalg.inv(np.vstack([rot, [0, 0, 1]]))
    regions = drop_cut_lines(_regions(flat, dark, line_map, order, unit, to_input, (w, h), block_of), h)
    scale = _scale(to_input, flat.shape)
    return Layout(w, h, regions, angle, text_height * scale, unit * scale)


def _rotation(angle: float, w: int, h: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The affine map that turns the page by `angle` degrees on a canvas large enough to keep it all."""
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    c, s = abs(m[0, 0]), abs(m[0, 1])
    size = (int(np.ceil(h * s + w * c)), int(np.ceil(h * c + w * s)))
    m[0, 2] += size[0] / 2 - w / 2
    m[1, 2] += size[1] / 2 - h / 2
    return m, size


def _text_height(stats: np.ndarray) -> float:
    """Typical height of an ink component (a letter or a joined word); 0 when there is no ink."""
    heights = stats[(stats[:, cv2.CC_STAT_AREA] >= 10) & (stats[:, cv2.CC_STAT_HEIGHT] >= 4), cv2.CC_STAT_HEIGHT]
    return float(np.median(heights)) if len(heights) else 0.0


def estimate_pitch(ink: np.ndarray, text_height: float) -> float:
    """Distance between consecutive lines (0 if there are not several): the first clear peak of
    the autocorrelation of row profiles, taken in vertical strips so that drifting lines still
    line up within a strip."""
    H, W = ink.shape
    strip = max(W // 8, 32)
    n = 1 << int(np.ceil(np.log2(2 * H)))
    acc = np.zeros(H)
    for x in range(0, W, strip):
        p = ink[:, x:x + strip].sum(axis=1).astype(np.float64)
        if p.any():
            spectrum = np.fft.rfft(p - p.mean(), n)
            acc += np.fft.irfft(spectrum * np.conj(spectrum), n)[:H]
    if acc[0] <= 0:
        return 0.0
    ac = acc / acc[0]
    lo = max(int(0.6 * text_height), 2)
    for lag in range(lo, H // 2):
        if ac[lag] > 0.1 and ac[lag] == ac[max(lag - lo // 2, 0):lag + lo // 2 + 1].max():
            return float(lag)
    return 0.0


def _big(stats: np.ndarray, unit: float) -> np.ndarray:
    """Per component, whether it is large enough to be writing rather than a dot or a speck."""
    big = np.zeros(len(stats), bool)
    big[1:] = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]) >= unit / 3
    return big


def text_columns(inked_columns: np.ndarray, unit: float) -> list[tuple[int, int]]:
    """Column ranges [x0, x1) of writing, left to right, from whether each column of pixels holds
    any: cut in the middle of every band of paper at least COLUMN_GAP units wide between inked
    columns, when every part is wide (COLUMN_SHARE); else one range."""
    W = len(inked_columns)
    inked = np.flatnonzero(inked_columns)
    gaps = np.flatnonzero(np.diff(inked) > COLUMN_GAP * unit)
    if not len(gaps):
        return [(0, W)]
    starts, ends = inked[np.r_[0, gaps + 1]], inked[np.r_[gaps, len(inked) - 1]]
    if ((ends - starts) < COLUMN_SHARE * (inked[-1] - inked[0])).any():
        return [(0, W)]
    edges = [0, *((ends[:-1] + starts[1:] + 1) // 2).tolist(), W]
    return list(zip(edges[:-1], edges[1:]))


def text_blocks(writing: np.ndarray, unit: float, pitch: float) -> list[tuple[Box, bool]]:
    """Blocks of a mask of writing in reading order, each a box (x0, y0, x1, y1) and whether it is
    a column. The page is cut across at blank rows into stripes; the tallest run of stripes that
    has columns (`text_columns` of that run alone) and, unless it is the whole page, room for two
    lines (1.5 `pitch`) is taken in columns, and the writing above and below it as one block
    each, if it runs across the paper between the columns and has no columns of its own: a
    title, or a closing line. (Else the columns are only closer somewhere else, and the page is
    read as one block.)"""
    H, W = writing.shape
    whole = [((0, 0, W, H), False)]
    rows = np.flatnonzero(writing.any(axis=1))
    if not len(rows):
        return whole
    breaks = np.flatnonzero(np.diff(rows) > 1)
    starts, ends = rows[np.r_[0, breaks + 1]], rows[np.r_[breaks, len(rows) - 1]] + 1
    cuts = [0, *((ends[:-1] + starts[1:]) // 2).tolist(), H]   # stripe s: rows cuts[s] to cuts[s + 1]
    inked = np.stack([writing[a:b].any(axis=0) for a, b in zip(cuts[:-1], cuts[1:])])
    used = np.flatnonzero(inked.any(axis=0))
    lo, hi = int(used[0]), int(used[-1]) + 1
    band = np.ones((1, max(int(COLUMN_GAP * unit), 1)), np.uint8)   # as wide as `text_columns` asks
    n, best = len(inked), None
    for i in range(n):
        blank, union = np.ones(hi - lo, np.uint8), np.zeros(W, bool)
        for j in range(i + 1, n + 1):   # stripes i..j-1 as the part in columns
            blank &= ~inked[j - 1, lo:hi]
            union |= inked[j - 1]
            if not cv2.erode(blank[None], band, borderValue=0).any():
                break   # no band of paper across stripes i..j-1 wide enough: none further down
            if cuts[j] - cuts[i] < 1.5 * pitch and (i, j) != (0, n):
                continue   # too low for two lines: a line with a wide gap, not columns
            columns = text_columns(union, unit)
            if len(columns) > 1 and (best is None or cuts[j] - cuts[i] > cuts[best[1]] - cuts[best[0]]):
                best = (i, j, columns, union.copy())
    if best is None:
        return whole
    i, j, columns, union = best
    inked_x = np.flatnonzero(union)
    papers = [(inked_x[inked_x < x].max() + 1, inked_x[inked_x >= x].min()) for _, x in columns[:-1]]
    for part in (inked[:i], inked[j:]):
        across = part.any(axis=0)
        if len(part) and (len(text_columns(across, unit)) > 1 or not all(across[p0:p1].any() for p0, p1 in papers)):
            return whole
    return [*([((0, 0, W, cuts[i]), False)] if i else []),
            *(((x0, cuts[i], x1, cuts[j]), True) for x0, x1 in columns),
            *([((0, cuts[j], W, H), False)] if j < n else [])]


def _lines_by_block(comps: np.ndarray, stats: np.ndarray, unit: float, pitch: float
                     ) -> tuple[np.ndarray, list[int], dict[int, int]]:
    """`_lines`, block by block (`text_blocks`) when the page has columns of two lines or more
    each (else a gap in a line or two, such as a form's label and its field, would part them);
    with the block of each line number (those left out are in block 0)."""
    blocks = text_blocks(_big(stats, unit)[comps], unit, pitch)
    if len(blocks) > 1:
        line_map, order, block_of = np.zeros(comps.shape, np.int32), [], {}
        for k, ((x0, y0, x1, y1), column) in enumerate(blocks):
            part = (comps[y0:y1, x0:x1] > 0).astype(np.uint8)
            _, sub, sub_stats, _ = cv2.connectedComponentsWithStats(part, connectivity=8)
            lines, sub_order = _lines(sub, sub_stats, unit, pitch)
            if column and len(sub_order) < 2:
                break
            shift = int(line_map.max())
            line_map[y0:y1, x0:x1] = np.where(lines > 0, lines + shift, 0)
            order += [v + shift for v in sub_order]
            block_of.update({v + shift: k for v in sub_order})
        else:
            return line_map, order, block_of
    return *_lines(comps, stats, unit, pitch), {}


def _lines(comps: np.ndarray, stats: np.ndarray, unit: float, pitch: float) -> tuple[np.ndarray, list[int]]:
    """A map of line numbers (0: no line) over the ink, and the line numbers top to bottom.

    Cores come from components of at least a third of the unit (dots and specks make no line);
    every component then joins the core it overlaps most, is cut between the cores it overlaps
    substantially (lines that touch), or, touching none, joins the core whose centre line is
    nearest, if within 0.6 pitch; what is farther is noise, and so is a piece of a line that the
    image's top or bottom edge cut off.
    """
    H, W = comps.shape
    n = len(stats)
    big = _big(stats, unit)
    f = min(6.0 / unit, 1.0)  # cores are found at ~6 px per unit
    core_small, centre, extent = _cores(big[comps].astype(np.float32), f, pitch * f)
    k = len(extent)
    if not k:
        return np.zeros((H, W), np.int32), []
    col_of = np.minimum((np.arange(W) * f).astype(np.int64), core_small.shape[1] - 1)
    core = cv2.resize(core_small, (W, H), interpolation=cv2.INTER_NEAREST)
    ys, xs = np.nonzero(comps)
    cc = comps[ys, xs]
    overlap = np.bincount(cc * (k + 1) + core[ys, xs], minlength=n * (k + 1)).reshape(n, k + 1)[:, 1:]
    line = np.zeros(n, np.int64)
    spans: dict[int, np.ndarray] = {}
    reach = 7  # shrunk columns a loose component may lie beyond the end of a core
    for c in range(1, n):
        x, y, w, h, area = stats[c]
        o = overlap[c]
        if o.max() == 0:
            if y == 0 or y + h == H:
                continue  # a piece of a line cut off by the image's edge
            col = col_of[min(x + w // 2, W - 1)]
            dist = np.abs(centre[:, col] - (y + h / 2))
            dist[(col < extent[:, 0] - reach) | (col > extent[:, 1] + reach)] = np.inf
            if dist.min() <= 0.6 * pitch:
                line[c] = int(np.argmin(dist)) + 1
            continue
        line[c] = int(np.argmax(o)) + 1
        touched = np.flatnonzero(o >= 0.15 * area)
        if len(touched) > 1:
            spans[c] = touched
    line_map = line[comps].astype(np.int32)
    for c, touched in spans.items():  # touching lines: cut the component at the seam between centres
        idx = np.flatnonzero(cc == c)
        d = np.abs(centre[touched][:, col_of[xs[idx]]] - ys[idx][None, :])
        line_map[ys[idx], xs[idx]] = touched[np.argmin(d, axis=0)] + 1
    present = [int(v) for v in np.unique(line_map) if v]
    middle = [float(centre[v - 1, extent[v - 1, 0]:extent[v - 1, 1] + 1].mean()) for v in present]
    return line_map, [v for _, v in sorted(zip(middle, present))]


def _cores(ink: np.ndarray, f: float, pitch: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Line cores of an ink mask shrunk by f: labels (shrunk, int32), centre rows, column extents.

    The ink is blurred 1.5 units along the line and a quarter unit across it; a core is where
    the blur reaches half of the strongest value within a unit above or below, so two lines
    stay apart wherever the density dips between them. Pieces of one line are then joined
    (`_join_cores`). Centre rows (full-size pixels, one per shrunk column, held constant beyond
    a core's ends) say where each line runs.
    """
    H, W = ink.shape
    small = cv2.resize(ink, (max(int(W * f), 1), max(int(H * f), 1)), interpolation=cv2.INTER_AREA)
    density = cv2.GaussianBlur(small, (0, 0), sigmaX=9.0, sigmaY=1.5)
    peak = cv2.dilate(density, np.ones((13, 1), np.uint8))
    floor = 0.25 * float(np.percentile(density, 99.5))
    mask = ((density >= 0.5 * peak) & (density > floor)).astype(np.uint8)
    k, labels = cv2.connectedComponents(mask, connectivity=8)
    labels = _join_cores(labels, pitch, *_core_shape(labels, k, density))
    centre, extent, _ = _core_shape(labels, int(labels.max()) + 1, density)
    return labels.astype(np.int32), (centre + 0.5) / f, extent


def _core_shape(labels: np.ndarray, k: int, density: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per core: centre row in every column (held constant beyond its ends), column extent, mass."""
    centre = np.zeros((k - 1, labels.shape[1]))
    extent = np.zeros((k - 1, 2), np.int64)
    mass = np.zeros(k - 1)
    cols = np.arange(labels.shape[1])
    rows = np.arange(labels.shape[0])[:, None]
    for i in range(1, k):
        weight = np.where(labels == i, density, 0.0)
        col_mass = weight.sum(axis=0)
        has = np.flatnonzero(col_mass > 0)
        centre[i - 1] = np.interp(cols, has, (weight * rows).sum(axis=0)[has] / col_mass[has])
        extent[i - 1] = has[0], has[-1]
        mass[i - 1] = col_mass.sum()
    return centre, extent, mass


def _join_cores(labels: np.ndarray, pitch: float, centre: np.ndarray, extent: np.ndarray,
                mass: np.ndarray) -> np.ndarray:
    """Join cores that are pieces of one line; returns the labels renumbered 1..n.

    A core is joined to
    - a core at least three times heavier over the same columns, less than 0.6 pitch away
      (a t-bar, capitals or quotes standing out above a line);
    - the core to its left whose end is nearest in height, if less than 0.35 pitch off and
      less than 3 pitches away (a wide gap between words, or a word written higher).
    """
    k = len(mass)
    width = extent[:, 1] - extent[:, 0] + 1
    lo = np.maximum(extent[:, None, 0], extent[None, :, 0])
    hi = np.minimum(extent[:, None, 1], extent[None, :, 1])
    shared = np.maximum(hi - lo + 1, 0)  # columns two cores have in common
    parent = list(range(k))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i
    for j in np.argsort(mass):  # lightest first, so that a chain ends in the heaviest core
        host = [i for i in range(k) if i != j and shared[i, j] >= 0.5 * width[j] and mass[j] * 3 <= mass[i]]
        dist = [np.abs(centre[i, lo[i, j]:hi[i, j] + 1] - centre[j, lo[i, j]:hi[i, j] + 1]).mean() for i in host]
        if host and min(dist) < 0.6 * pitch:
            parent[root(j)] = root(host[int(np.argmin(dist))])
    for j in np.argsort(extent[:, 0]):
        left = [i for i in range(k) if root(i) != root(j) and extent[i, 1] < extent[j, 0] + 0.3 * width[j]
                and extent[i, 0] < extent[j, 0] and extent[j, 0] - extent[i, 1] < 3 * pitch]
        if left:
            start = centre[j, extent[j, 0]:extent[j, 0] + 12].mean()  # ~2 units at the facing ends
            off = [abs(centre[i, max(extent[i, 1] - 11, extent[i, 0]):extent[i, 1] + 1].mean() - start) for i in left]
            if min(off) < 0.35 * pitch:
                parent[root(j)] = root(left[int(np.argmin(off))])
    roots = np.array([root(i) for i in range(k)])
    _, renumber = np.unique(roots, return_inverse=True)
    return np.concatenate([[0], renumber + 1])[labels]


def _regions(flat: np.ndarray, dark: np.ndarray, line_map: np.ndarray, order: list[int], unit: float,
             to_input: np.ndarray, size: tuple[int, int], block_of: dict[int, int]) -> list[LineRegion]:
    """Cut each line out of the straightened page and say where it lies in the input image.

    A line's image is its box of the flattened page with the ink of everything else (other
    lines, rules, specks; `dark`) erased, with a margin. Its own strokes stay whole, faint parts
    under the ink threshold included: keeping only the pixels near its thresholded ink broke
    thin strokes of real scans apart ("FOURNEL" read as "AULPPIEI")."""
    ys, xs = np.nonzero(line_map)
    labels = line_map[ys, xs]
    sort = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[sort], np.arange(line_map.max() + 2))
    regions = []
    for n in order:
        idx = sort[bounds[n]:bounds[n + 1]]
        lx, ly = xs[idx], ys[idx]
        if len(idx) < unit * unit / 8 or np.ptp(ly) + 1 < unit / 2:  # specks, or a stroke too flat for text
            continue
        x0, y0 = max(int(lx.min()) - PAD, 0), max(int(ly.min()) - PAD, 0)
        x1, y1 = min(int(lx.max()) + 1 + PAD, flat.shape[1]), min(int(ly.max()) + 1 + PAD, flat.shape[0])
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        mask[ly - y0, lx - x0] = 1
        own = cv2.dilate(mask, np.ones((3, 3), np.uint8))  # anti-aliased edges of the strokes too
        foreign = (dark[y0:y1, x0:x1] > 0) & (line_map[y0:y1, x0:x1] != n)  # other lines, rules, specks
        others = cv2.dilate(foreign.astype(np.uint8), np.ones((5, 5), np.uint8))
        image = np.where((others > 0) & (own == 0), 255, flat[y0:y1, x0:x1]).astype(np.uint8)
        m = to_input @ np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], np.float64)
        ink = np.stack([lx - x0, ly - y0], axis=1)
        iy0, iy1 = int(ly.min()) - y0, int(ly.max()) - y0 + 1
        ix0, ix1 = int(lx.min()) - x0, int(lx.max()) - x0 + 1
        base = _baseline_row(mask)
        polygon = _apply(m, np.array([[ix0, iy0], [ix1, iy0], [ix1, iy1], [ix0, iy1]]))
        baseline = _apply(m, np.array([[ix0, base], [ix1, base]]))
        regions.append(LineRegion(_bbox(_apply(m, ink), size), _int_points(polygon), _int_points(baseline),
                                  image, split_words(mask, unit), ink, m, size, block_of.get(n, 0)))
    return regions


def drop_cut_lines(regions: list[LineRegion], height: int) -> list[LineRegion]:
    """Leave out the cut-off neighbouring lines of a crop: lines that touch the top or bottom
    edge of the image (within EDGE pixels: the corners of a straightened crop are not quite its
    edges) and are less than CUT_LINE times as tall as the tallest line. Crops of form fields and
    scanned lines carry the descenders of the line above or the top of the one below; read, such
    a sliver turns into a line of junk ("-operate, so.# #3211"), and it makes a cropped line look
    like a page. A line that is itself cut by the edge keeps its height."""
    if len(regions) < 2:
        return regions
    tallest = max(r.box[3] - r.box[1] for r in regions)
    return [r for r in regions
            if not ((r.box[1] <= EDGE or r.box[3] >= height - EDGE) and r.box[3] - r.box[1] < CUT_LINE * tallest)]


def _baseline_row(mask: np.ndarray) -> int:
    """The row where the line's core (the densest band of rows) ends: where letters sit."""
    profile = mask.sum(axis=1).astype(np.float64)
    top = int(np.argmax(profile))
    below = np.flatnonzero(profile[top:] < 0.3 * profile[top])
    return top + int(below[0]) if len(below) else mask.shape[0] - 1


def split_words(mask: np.ndarray, unit: float, gap: float = 0.5) -> list[tuple[int, int]]:
    """Column ranges [x0, x1) of the words of a line mask: ink separated by more than gap * unit."""
    cols = np.flatnonzero(mask.any(axis=0))
    if not len(cols):
        return []
    breaks = np.flatnonzero(np.diff(cols) > gap * unit)
    starts = np.concatenate([[cols[0]], cols[breaks + 1]])
    ends = np.concatenate([cols[breaks], [cols[-1]]]) + 1
    return [(int(a), int(b)) for a, b in zip(starts, ends)]


def _apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Points (N, 2) through a 3x3 map: scaling and rotation, or a homography for a photo."""
    p = pts.astype(np.float64) @ m[:, :2].T + m[:, 2]
    return p[:, :2] / p[:, 2:]


def _scale(m: np.ndarray, shape: tuple[int, int]) -> float:
    """How many input pixels one pixel worked on spans, about the middle of the page."""
    h, w = shape
    p = _apply(m, np.array([[w / 2, h / 2], [w / 2 + 1, h / 2], [w / 2, h / 2 + 1]]))
    (ax, ay), (bx, by) = p[1:] - p[0]
    return float(np.sqrt(abs(ax * by - ay * bx)))   # the square root of the area a pixel becomes


def _int_points(pts: np.ndarray) -> list[tuple[int, int]]:
    return [tuple(p) for p in pts.round().astype(int).tolist()]


def _bbox(pts: np.ndarray, size: tuple[int, int]) -> Box:
    """The box (x1, y1 exclusive) around pixel positions, kept inside an image of `size` (w, h)."""
    lo, hi = np.floor(pts.min(axis=0)), np.floor(pts.max(axis=0)) + 1
    return (max(int(lo[0]), 0), max(int(lo[1]), 0), min(max(int(hi[0]), 1), size[0]), min(max(int(hi[1]), 1), size[1]))
