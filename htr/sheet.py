"""Finding the sheet of paper in a photo, so that its page is read flat.

A phone photo of a page shows the table around the sheet and the sheet at an angle: its lines
converge, and the table's grain looks like ink to the line finder (htr/segment.py). The sheet is
the photo's largest bright region, and it has four straight edges: when such a region is found,
with a sharp step down to the table all along its edges, the photo is warped so that the sheet
fills a rectangle, and every box found on it is mapped back to the photo through the inverse
warp. A photo framed so tightly that the sheet runs out of it on some sides takes the picture's
edges as those sides. A scan, or a photo filled by paper, has no table around the sheet and is
left as it is.
"""
from __future__ import annotations

import cv2
import numpy as np

SEARCH_SIDE = 512    # the photo is searched at this longer side
MIN_SIDE = 300       # images with a shorter side (line and word crops) are not searched
MIN_SHARE = 0.1      # the sheet covers at least this share of the photo,
MAX_SHARE = 0.95     # and at most this share, so that some table is in view
MIN_FILL = 0.75      # the bright region fills at least this share of the sheet's outline
EDGE_STEP = 20       # across each edge the paper is this many grey levels brighter than the table,
EDGE_REACH = 4       # comparing pixels this far (at SEARCH_SIDE) inside and outside the edge,
EDGE_ALONG = 0.75    # at this share of the points along it or more
SHARP = 0.5          # outline points with a step at least this share of the sharpest tenth's
ANYWHERE_POINTS = 4000  # the sharp points of the whole photo are thinned to about this many
LINE_POINTS = 30     # a side of the sheet has this many edge points on its line or more
LINE_TOLERANCE = 2.0  # (within this many pixels of it at SEARCH_SIDE, when it is fitted to them)
OUT_OF_PICTURE = 0.3  # the sheet runs out of the picture where it covers this share of its edge
INSET = 0.025        # the sheet's edges are cut this far inside, so that no table shows


def find_sheet(gray: np.ndarray) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The homography (3x3) from the photo to the sheet seen flat, and the flat sheet's size
    (width, height) in pixels about as many as it has in the photo; None when there is no sheet
    with a table around it to find."""
    h, w = gray.shape
    if min(h, w) < MIN_SIDE:
        return None
    f = SEARCH_SIDE / max(h, w)
    small = cv2.medianBlur(cv2.resize(gray, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA), 5)
    _, bright = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))   # the writing on it
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))    # bright specks of table
    if (bright > 0).mean() > MAX_SHARE:
        return None   # all paper, but for the writing: a scan
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    region = max(contours, key=cv2.contourArea)   # the sheet, and any bright table touching it
    filled = cv2.drawContours(np.zeros_like(small), [region], -1, 1, cv2.FILLED)
    # the sides (top, right, bottom, left) where the sheet runs out of the picture: framed tightly
    out = tuple(bool(edge.mean() > OUT_OF_PICTURE) for edge in (filled[0], filled[:, -1], filled[-1], filled[:, 0]))
    region = region[:, 0]
    # Bright patches of table can join the sheet in the threshold, but their edges are soft: the
    # outline is taken from the points where the step across it is among the sharpest. Where the
    # table is as bright as the paper, the sheet's edge is not on that outline at all: then from
    # every point of the photo with so sharp a step.
    gx, gy = (cv2.Sobel(small, cv2.CV_32F, dx, 1 - dx, ksize=5) for dx in (1, 0))
    step = cv2.dilate(np.hypot(gx, gy), np.ones((5, 5), np.uint8))
    sharp = SHARP * np.percentile(step[region[:, 1], region[:, 0]], 90)
    anywhere = np.argwhere(step >= sharp)[:, ::-1]
    # A sheet wholly in the picture first; then one running out of it where the region does.
    layouts = [(False,) * 4] + ([out] if any(out) else [])
    thinned = anywhere[::max(len(anywhere) // ANYWHERE_POINTS, 1)]
    tries = [(points, sides) for sides in layouts for points in (region, thinned)]
    for points, sides in tries:
        x, y = points[:, 0], points[:, 1]
        on_photo = (x > 1) & (y > 1) & (x < small.shape[1] - 2) & (y < small.shape[0] - 2)   # not its border
        quad = _four_corners(points[(step[y, x] >= sharp) & on_photo], small.shape, sides)
        if quad is not None and _is_sheet(small, bright, quad, sides):
            break
    else:
        return None
    quad /= f
    tl, tr, br, bl = quad
    width = int(max(np.hypot(*(tr - tl)), np.hypot(*(br - bl))))
    height = int(max(np.hypot(*(bl - tl)), np.hypot(*(br - tr))))
    dx, dy = INSET * width, INSET * height
    flat = np.float32([[-dx, -dy], [width + dx, -dy], [width + dx, height + dy], [-dx, height + dy]])
    return cv2.getPerspectiveTransform(quad.astype(np.float32), flat), (width, height)


def _is_sheet(small: np.ndarray, bright: np.ndarray, quad: np.ndarray, out: tuple[bool, ...]) -> bool:
    """Whether an outline found is the sheet's: of a sheet's size, mostly bright inside, and with
    sharp edges where it is in the picture."""
    if not MIN_SHARE <= cv2.contourArea(quad) / small.size <= MAX_SHARE:
        return False
    inside = np.zeros_like(small)
    cv2.fillConvexPoly(inside, quad.round().astype(np.int32), 1)
    if (bright[inside > 0] > 0).mean() < MIN_FILL:   # the outline holds more table than paper
        return False
    return _sharp_edges(small, quad, out)


def _sharp_edges(small: np.ndarray, quad: np.ndarray, out: tuple[bool, ...]) -> bool:
    """Whether every side in the picture (one at least) has a step from bright paper to darker
    table across it: a sheet's edge is sharp, where the edge of a shadow or of a lighting gradient
    across the paper (which Otsu's threshold also cuts along) is a slow ramp."""
    h, w = small.shape
    if all(out):
        return False
    centre = quad.mean(axis=0)
    along = np.linspace(0.1, 0.9, 50)[:, None]
    for a, b in (pair for pair, beyond in zip(zip(quad, np.roll(quad, -1, axis=0)), out) if not beyond):
        normal = np.array([b[1] - a[1], a[0] - b[0]]) / max(float(np.hypot(*(b - a))), 1e-6)
        normal *= np.sign(normal @ (centre - a)) or 1.0   # pointing into the sheet
        pts = a + along * (b - a)
        paper, table = ((pts + s * EDGE_REACH * normal).round().astype(int) for s in (1, -1))
        seen = ((paper >= 0) & (table >= 0) & (paper < (w, h)) & (table < (w, h))).all(axis=1)
        if seen.sum() < len(pts) / 2:
            return False   # a side running out of the picture that was not taken as such
        paper, table = paper[seen], table[seen]
        steps = small[paper[:, 1], paper[:, 0]].astype(np.int32) - small[table[:, 1], table[:, 0]]
        if (steps >= EDGE_STEP).mean() < EDGE_ALONG:   # all along: not ink (a line of writing)
            return False
    return True


def _four_corners(points: np.ndarray, shape: tuple[int, int], out: tuple[bool, ...]) -> np.ndarray | None:
    """The corners of the quadrilateral whose sides run along the edge points (N, 2) of an image
    of `shape`, or along its own edges where the sheet runs out of it (`out`: top, right, bottom,
    left): top left, top right, bottom right, bottom left (float32, 4x2); None if they do not
    outline one. The sides are the distinct lines that the most points lie on (a Hough transform;
    stray points of the table lie on no long line), each then fitted to its points, and the
    corners are where they meet, so a corner lost in shadow is still found."""
    h, w = shape
    picture = [(np.array([0.0, 0.0]), np.array([1.0, 0.0])), (np.array([w - 1.0, 0.0]), np.array([0.0, 1.0])),
               (np.array([0.0, h - 1.0]), np.array([1.0, 0.0])), (np.array([0.0, 0.0]), np.array([0.0, 1.0]))]
    need = {"across": 2 - out[0] - out[2], "down": 2 - out[1] - out[3]}
    lines: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"across": [], "down": []}
    mask = np.zeros(shape, np.uint8)
    mask[points[:, 1], points[:, 0]] = 255
    found = cv2.HoughLines(mask, 1, np.pi / 180, LINE_POINTS)
    for rho, theta in ([] if found is None else found[:, 0]):
        normal = np.array([np.cos(theta), np.sin(theta)])
        kind = "down" if abs(normal[0]) > abs(normal[1]) else "across"
        if len(lines[kind]) == need[kind] or \
                any(abs(normal @ u) < 0.17 and abs(normal @ p - rho) < 20 for p, u in lines[kind]):
            continue   # enough of these, or the same side again (within 10 degrees and 20 px)
        on = np.abs(points @ normal - rho) < LINE_TOLERANCE
        vx, vy, x0, y0 = cv2.fitLine(points[on].astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01)[:, 0]
        lines[kind].append((np.array([x0, y0]), np.array([vx, vy])))
        if all(len(lines[k]) == need[k] for k in need):
            break
    if any(len(lines[k]) < need[k] for k in need):
        return None
    across = sorted(lines["across"], key=lambda ln: ln[0][1] - ln[0][0] * ln[1][1] / ln[1][0])   # by where they
    down = sorted(lines["down"], key=lambda ln: ln[0][0] - ln[0][1] * ln[1][0] / ln[1][1])       # cross an axis
    top = picture[0] if out[0] else across.pop(0)
    bottom = picture[2] if out[2] else across.pop()
    left = picture[3] if out[3] else down.pop(0)
    right = picture[1] if out[1] else down.pop()
    corners = [_meet(top, left), _meet(top, right), _meet(bottom, right), _meet(bottom, left)]
    return np.float32(corners) if all(c is not None for c in corners) else None


def _meet(first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]) -> np.ndarray | None:
    """Where two lines (point, direction) cross; None if they are nearly parallel."""
    (p, u), (q, v) = first, second
    det = v[0] * u[1] - u[0] * v[1]
    if abs(det) < 0.2:
        return None
    t = (v[0] * (q - p)[1] - v[1] * (q - p)[0]) / det
    return p + t * u
