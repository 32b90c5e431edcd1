"""A page benchmark from real handwriting: each IAM-OnDB form drawn as one page image.

IAM-OnDB keeps whiteboard coordinates across the lines of a form, so a page keeps the writer's
own layout (line spacing, indents, drift, ascenders reaching into the line above). Only when the
lines of a form do not stand one under the other are they stacked with spacing drawn from the
real forms. Ground truth is the tight box of each line's ink on the page, after any distortion,
with the text, written as PAGE XML by `htr.formats`.

Degradations imitate phone photos and scans: rotation, perspective, a lighting gradient with a
soft shadow, paper texture, ruled paper, JPEG compression, and the whole sheet photographed on a
table at an angle.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from htr import ink
from htr.page import Line, Page

SCALE = 0.15          # page pixels per whiteboard unit (~0.1 mm): a 600-unit line is 90 px tall
MARGIN = 0.07         # page margin, as a fraction of the text block width


@dataclass
class Degrade:
    """How strongly to spoil a page; 0 turns a degradation off."""
    rotation: float = 0.0     # largest rotation in degrees (drawn uniformly in +-rotation)
    perspective: float = 0.0  # largest corner displacement, as a fraction of the page size
    lighting: float = 0.0     # depth of the lighting gradient and shadow (0..1)
    texture: float = 0.0      # strength of paper fibres and grain (0..1)
    ruled: float = 0.0        # darkness of ruled lines under the writing (0..1)
    jpeg: int = 0             # JPEG quality; 0 writes lossless PNG
    photo: float = 0.0        # the sheet on a darker table, each corner pulled by up to this fraction
    framed: float = 0.0       # with photo: each side's chance that the sheet runs out of the picture there

    # the strength a bare name in a spec gets ("rotation" means "rotation=3")
    DEFAULTS = {"rotation": 3.0, "perspective": 0.02, "lighting": 0.5, "texture": 0.5, "ruled": 0.4, "jpeg": 60,
                "photo": 0.08, "framed": 0.5}

    @classmethod
    def parse(cls, spec: str | None) -> "Degrade":
        """'rotation=3,lighting,jpeg=50' -> Degrade; bare names take their usual strength."""
        d = cls()
        for part in filter(None, (spec or "").split(",")):
            key, eq, value = (s.strip() for s in part.partition("="))
            if key not in cls.DEFAULTS:
                raise ValueError(f"unknown degradation {key!r}; choose from {', '.join(cls.DEFAULTS)}")
            try:
                setattr(d, key, type(cls.DEFAULTS[key])(value) if eq else cls.DEFAULTS[key])
            except ValueError:
                raise ValueError(f"degradation {key!r}: {value!r} is not a number") from None
        return d


def line_offsets(lines: list[ink.Strokes], rng: np.random.Generator) -> list[np.ndarray]:
    """A 2-vector offset (whiteboard units) per line: zero where the writer's layout is usable.

    The real layout is kept when each line's centre lies below the previous one's; otherwise
    lines are stacked in their given order, left-aligned with the first line (give or take a
    tenth of a line height), with gaps of 0.1-0.4 line heights.
    """
    boxes = np.array([ink.ink_bbox(s) for s in lines])
    centres = (boxes[:, 1] + boxes[:, 3]) / 2
    if np.all(np.diff(centres) > 0):
        return [np.zeros(2)] * len(lines)
    offsets, y = [], boxes[0, 1]
    height = float(np.median(boxes[:, 3] - boxes[:, 1]))
    for x0, y0, _, y1 in boxes:
        offsets.append(np.array([boxes[0, 0] - x0 + rng.normal(0, 0.1 * height), y - y0]))
        y += (y1 - y0) + rng.uniform(0.1, 0.4) * height
    return offsets


def compose(lines: list[ink.Strokes], texts: list[str], rng: np.random.Generator,
            degrade: Degrade | None = None, scale: float = SCALE, columns: list[int] | None = None,
            heading: bool = False) -> tuple[np.ndarray, Page]:
    """Draw the lines of one form as a page; returns the image and the ground-truth Page.
    `columns` (line counts, e.g. [9, 8]) lays out several forms side by side, each in the
    writer's layout, one column per form: the truth lists the left column's lines first.
    `heading`: the first line is a title centred above the columns (not counted in `columns`)."""
    degrade = degrade or Degrade()
    scale *= rng.uniform(0.85, 1.15)
    if heading:
        body = side_by_side(lines[1:], columns or [len(lines) - 1], rng)
        lines = [above(lines[0], body, rng), *body]
    else:
        lines = side_by_side(lines, columns or [len(lines)], rng)
    x0, y0, x1, y1 = ink.ink_bbox([s for strokes in lines for s in strokes])
    margin = MARGIN * (x1 - x0) * scale
    width, height = int((x1 - x0) * scale + 2 * margin), int((y1 - y0) * scale + 2 * margin)
    offset = np.array([margin - x0 * scale, margin - y0 * scale])
    style = ink.random_style(rng, height=int(600 * scale))  # pen widths sized for a typical line
    canvas = ink.new_canvas(width, height)
    for strokes in lines:
        ink.draw(canvas, strokes, scale, offset, style, rng)
    image = ink.shade(canvas, style)
    if degrade.ruled:
        image = _ruled(image, lines, scale, offset, degrade.ruled, style.paper)
    if degrade.texture:
        image = _texture(image, rng, degrade.texture)
    warp = _warp(width, height, rng, degrade)
    if warp is not None:
        image = cv2.warpPerspective(image, warp, (width, height), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)
    if degrade.photo:
        image, on_table = _photo(image, rng, degrade.photo)
        warp = on_table if warp is None else on_table @ warp
        if degrade.framed:
            sheet = np.float64([[0, 0], [width, 0], [width, height], [0, height]])
            writing = np.concatenate([s[:, :2] for strokes in lines for s in strokes]) * scale + offset
            image, (x, y) = _framed(image, *(cv2.perspectiveTransform(pts[None], warp)[0] for pts in (sheet, writing)),
                                    rng, degrade.framed)
            warp = np.float64([[1, 0, -x], [0, 1, -y], [0, 0, 1]]) @ warp
        height, width = image.shape
    if degrade.lighting:
        image = _lighting(image, rng, degrade.lighting)
    truth = []
    for strokes, text in zip(lines, texts):
        pts = np.concatenate([s[:, :2] for s in strokes]) * scale + offset
        if warp is not None:
            pts = cv2.perspectiveTransform(pts[None].astype(np.float64), warp)[0]
        pad = style.pen_width / 2
        box = (max(int(pts[:, 0].min() - pad), 0), max(int(pts[:, 1].min() - pad), 0),
               min(int(np.ceil(pts[:, 0].max() + pad)), width), min(int(np.ceil(pts[:, 1].max() + pad)), height))
        truth.append(Line(text, box, 1.0))
    return image, Page(width, height, truth)


def side_by_side(lines: list[ink.Strokes], columns: list[int], rng: np.random.Generator) -> list[ink.Strokes]:
    """The lines laid out (`line_offsets`) column by column, `columns` giving each one's line
    count; each column's top left at the first's top, after a gap of 2-4 of its line heights."""
    out, x = [], None
    ends = np.cumsum(columns)
    for k, (start, end) in enumerate(zip(ends - columns, ends)):
        block = lines[start:end]
        block = [[s + np.array([*o, 0], np.float32) for s in strokes] for strokes, o in zip(block, line_offsets(block, rng))]
        x0, y0, x1, y1 = ink.ink_bbox([s for strokes in block for s in strokes])
        if x is None:
            x, top = x0, y0
        shift = np.array([x - x0, top - y0, 0], np.float32)
        out += [[s + shift for s in strokes] for strokes in block]
        if k < len(columns) - 1:   # (a single column draws nothing more: its pages stay as they were)
            height = float(np.median([b[3] - b[1] for b in map(ink.ink_bbox, block)]))
            x += (x1 - x0) + rng.uniform(2, 4) * height
    return out


def above(title: ink.Strokes, body: list[ink.Strokes], rng: np.random.Generator) -> ink.Strokes:
    """The title line moved to stand centred above the body's lines, 1-2 line heights over them:
    a heading across every column, as a page of two columns often has."""
    x0, y0, x1, _ = ink.ink_bbox([s for strokes in body for s in strokes])
    tx0, ty0, tx1, ty1 = ink.ink_bbox(title)
    shift = np.array([(x0 + x1) / 2 - (tx0 + tx1) / 2, y0 - ty1 - rng.uniform(1, 2) * (ty1 - ty0), 0], np.float32)
    return [s + shift for s in title]


def _warp(width: int, height: int, rng: np.random.Generator, degrade: Degrade) -> np.ndarray | None:
    """One homography for rotation about the centre and a random pull of the four corners."""
    if not (degrade.rotation or degrade.perspective):
        return None
    angle = rng.uniform(-degrade.rotation, degrade.rotation)
    rot = np.vstack([cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0), [0, 0, 1]])
    corners = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    moved = corners + rng.uniform(-1, 1, (4, 2)).astype(np.float32) * degrade.perspective * np.float32([width, height])
    return cv2.getPerspectiveTransform(corners, moved) @ rot


def _photo(page: np.ndarray, rng: np.random.Generator, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """The sheet photographed lying on a table: seen at an angle (each corner pulled by up to
    `strength` of the sheet's size), a margin of grained wood-like surface around it, darker than
    the paper. Returns the photo and the homography from the sheet to it."""
    h, w = page.shape
    margin = 0.2 + strength
    width, height = int(w * (1 + 2 * margin)), int(h * (1 + 2 * margin))
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    placed = corners + np.float32([margin * w, margin * h])
    placed += rng.uniform(-1, 1, (4, 2)).astype(np.float32) * strength * np.float32([w, h])
    m = cv2.getPerspectiveTransform(corners, placed)
    sheet = cv2.warpPerspective(page, m, (width, height), flags=cv2.INTER_LINEAR, borderValue=0)
    inside = cv2.warpPerspective(np.full_like(page, 255), m, (width, height), flags=cv2.INTER_LINEAR, borderValue=0)
    level = rng.uniform(40, 150)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0),
                             sigmaX=rng.uniform(4, 12), sigmaY=rng.uniform(0.5, 2))
    if rng.random() < 0.5:   # the grain running the other way
        grain = cv2.resize(grain.T, (width, height))
    table = np.clip(level * (1 + 0.6 * grain / max(float(grain.std()), 1e-6) * 0.25)
                    + rng.normal(0, 4, (height, width)), 0, 255)
    alpha = inside.astype(np.float32) / 255
    return (sheet * alpha + table * (1 - alpha)).astype(np.uint8), m


def _framed(photo: np.ndarray, sheet: np.ndarray, writing: np.ndarray, rng: np.random.Generator,
            chance: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The photo cut so that, on each side with the given chance, the sheet runs out of the
    picture: the cut falls between the sheet's edge and the writing, so no line is cut. Returns
    the cut photo and where its top left was in the photo."""
    h, w = photo.shape
    wx0, wy0 = writing.min(axis=0) - 20
    wx1, wy1 = writing.max(axis=0) + 20
    sx0, sy0 = sheet[[0, 3], 0].max(), sheet[[0, 1], 1].max()   # inside the sheet's left and top edges
    sx1, sy1 = sheet[[1, 2], 0].min(), sheet[[2, 3], 1].min()   # and its right and bottom edges
    x0, y0, x1, y1 = 0, 0, w, h
    if rng.random() < chance and sx0 < wx0:
        x0 = int(rng.uniform(sx0, wx0))
    if rng.random() < chance and sy0 < wy0:
        y0 = int(rng.uniform(sy0, wy0))
    if rng.random() < chance and wx1 < sx1:
        x1 = int(np.ceil(rng.uniform(wx1, sx1)))
    if rng.random() < chance and wy1 < sy1:
        y1 = int(np.ceil(rng.uniform(wy1, sy1)))
    return np.ascontiguousarray(photo[y0:y1, x0:x1]), (x0, y0)


def _ruled(image: np.ndarray, lines: list[ink.Strokes], scale: float, offset: np.ndarray,
           darkness: float, paper: int) -> np.ndarray:
    """Ruled paper under the ink: rules at the writer's line pitch, one under each line's core."""
    bottoms = [np.percentile(np.concatenate([s[:, 1] for s in strokes]), 80) * scale + offset[1]
               for strokes in lines]
    pitch = float(np.median(np.diff(bottoms))) if len(bottoms) > 1 else 90 * scale / SCALE
    rules = np.full_like(image, 255)
    level = int(255 - darkness * (255 - 60))
    for y in np.arange(bottoms[0] % pitch, image.shape[0], pitch):
        cv2.line(rules, (0, int(y)), (image.shape[1], int(y)), level, max(1, int(round(pitch / 60))), cv2.LINE_AA)
    return np.minimum(image, (rules.astype(np.float32) * paper / 255).astype(np.uint8))


def _texture(image: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Paper: low-frequency blotches, fibres and fine grain, multiplied into the image."""
    h, w = image.shape
    blotch = cv2.resize(rng.normal(0, 1, (max(h // 64, 2), max(w // 64, 2))).astype(np.float32), (w, h),
                        interpolation=cv2.INTER_CUBIC)
    fibres = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), sigmaX=6, sigmaY=0.8)
    grain = rng.normal(0, 1, (h, w)).astype(np.float32)
    factor = 1 - strength * (0.04 * np.abs(blotch) + 0.25 * np.abs(fibres) + 0.03 * grain)
    return np.clip(image * factor, 0, 255).astype(np.uint8)


def _lighting(image: np.ndarray, rng: np.random.Generator, depth: float) -> np.ndarray:
    """Uneven light of a phone photo: a linear gradient in a random direction and a soft shadow."""
    h, w = image.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    theta = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(theta) * xx / w + np.sin(theta) * yy / h)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.2, 0.5) * max(h, w)
    shadow = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
    light = 1 - depth * (0.6 * ramp + 0.4 * shadow)
    return np.clip(image * light, 0, 255).astype(np.uint8)


def encode(image: np.ndarray, degrade: Degrade) -> tuple[bytes, str]:
    """The page as file bytes and suffix: JPEG at the degradation's quality, else PNG."""
    if degrade.jpeg:
        return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(degrade.jpeg)])[1].tobytes(), ".jpg"
    return cv2.imencode(".png", image)[1].tobytes(), ".png"


def write_pages(dataset, out: str | Path, split: str, degrade: Degrade | None = None, seed: int = 0,
                limit: int = 0, progress=None, columns: int = 1, heading: bool = False) -> list[str]:
    """Compose every form of an IAM-OnDB dataset into OUT/pages/ID.{png,jpg} + ID.xml and list the
    page ids in OUT/SPLIT.txt (the layout `iam-ondb-pages` reads). Returns the page ids. With
    `columns` > 1, each page holds that many consecutive forms side by side (ID: FORM+FORM). With
    `heading`, the first form's first line stands above them all as the page's title."""
    from htr.formats import page_xml
    if columns < 1:
        raise ValueError(f"columns must be 1 or more, not {columns}")
    out = Path(out)
    (out / "pages").mkdir(parents=True, exist_ok=True)
    degrade = degrade or Degrade()
    forms = dataset.lines_by_form()
    names = sorted(forms)
    groups = [names[k:k + columns] for k in range(0, len(names) - columns + 1, columns)]
    groups = groups[:limit] if limit else groups
    ids = ["+".join(group) for group in groups]
    for n, (form, group) in enumerate(zip(ids, groups)):
        rng = np.random.default_rng([seed, n])
        idx = [i for name in group for i in forms[name]]
        counts = [len(forms[name]) for name in group]
        counts[0] -= heading   # (a form of one line that gave it leaves no column of its own)
        image, truth = compose([dataset.strokes(i) for i in idx], [dataset.labels[i] for i in idx], rng, degrade,
                               columns=[c for c in counts if c], heading=heading)
        data, suffix = encode(image, degrade)
        (out / "pages" / f"{form}{suffix}").write_bytes(data)
        (out / "pages" / f"{form}.xml").write_text(page_xml(truth, image_name=f"{form}{suffix}"), encoding="utf-8")
        if progress:
            progress(n + 1, len(ids))
    (out / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return ids
