"""Preprocessing on real lines: the core-zone normalization gives letters one size whatever
else is on the line, a drifting baseline is levelled, cut-off neighbouring lines at the edges
of a crop are left out, and a fine pen at a high resolution reads like a broad one."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from htr import ink
from htr.datasets.iam_ondb import IamOnDB
from htr.preprocess import (Preprocess, core_zone, crop_to_ink, deskew, drop_cut_lines, normalize_contrast, prepare,
                            stroke_width)

CORE = Preprocess(height=40, max_width=4096, core=0.34)
BOX = Preprocess(height=40, max_width=4096)


@pytest.fixture(scope="module")
def lines(mini_iam_ondb) -> list[tuple[list[np.ndarray], str]]:
    d = IamOnDB(mini_iam_ondb, "mini")
    return [(d.strokes(i), d.labels[i]) for i in range(len(d))]


def _with_speck_above(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """The same line with a dot of ink far above it (a stray mark, a quote of the line above)."""
    pts = np.concatenate(strokes)[:, :2]
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    dot = np.array([[(x0 + x1) / 2, y0 - 1.5 * (y1 - y0), 0.0]], np.float32)
    return [*strokes, dot]


def test_a_speck_above_the_line_does_not_shrink_its_letters(lines):
    for strokes, text in lines[:4]:
        clean = ink.render(strokes, ink.InkStyle(height=0, scale=0.1))
        specked = ink.render(_with_speck_above(strokes), ink.InkStyle(height=0, scale=0.1))
        w_core = prepare(clean, CORE).shape[1], prepare(specked, CORE).shape[1]
        w_box = prepare(clean, BOX).shape[1], prepare(specked, BOX).shape[1]
        assert abs(w_core[1] / w_core[0] - 1) < 0.1, text       # the same letter size, near enough
        assert w_box[1] / w_box[0] < 0.6, text                   # the old scaling shrank the line


def test_a_fine_pen_at_a_high_resolution_reads_like_a_broad_one(lines):
    """Lines 512 px high drawn with a 2.5 px pen (a fine pen scanned at 1200 dpi): averaged down
    to 40 px, its strokes faded out of the shear estimate's 32 px copy, which then sheared the
    line by 45 degrees, and out of the input (41% CER on testset_t lines,
    benchmarks/line_heights.py); now widened first, they read about as well as a broad pen's."""
    import htr
    from htr.metrics import cer
    texts = [text for _, text in lines[:8]]
    fine = [ink.render(strokes, ink.InkStyle(height=512, pen_width=2.5)) for strokes, _ in lines[:8]]
    broad = [ink.render(strokes, ink.InkStyle(height=512, pen_width=13.0)) for strokes, _ in lines[:8]]
    assert 2 < np.median([stroke_width(normalize_contrast(im)) for im in fine]) < 4   # as drawn
    read = {name: cer(texts, [p.text for p in htr.read_many(images, layout="line")])
            for name, images in (("fine", fine), ("broad", broad))}
    assert read["broad"] < 0.15 and read["fine"] < read["broad"] + 0.05, read


def test_core_zone_is_the_x_height_band(lines):
    """On real lines the core zone is a third to two thirds of the ink height, and the prepared
    line gives CTC at least two frames (4 columns each) per character."""
    for strokes, text in lines:
        x = normalize_contrast(ink.render(strokes, ink.InkStyle(height=0, scale=0.1)))
        top, bottom = core_zone(x)
        assert 0.2 <= (bottom - top) / x.shape[0] <= 0.7, text
        out = prepare(ink.render(strokes, ink.InkStyle(height=0, scale=0.1)), CORE)
        assert out.shape[0] == CORE.height and out.dtype == np.float32 and out.max() > 0.5
        assert out.shape[1] / 4 >= 2 * len(text), text


def _stack(*parts: np.ndarray) -> np.ndarray:
    """Images one above the other, left-aligned on white paper."""
    out = np.full((sum(p.shape[0] for p in parts), max(p.shape[1] for p in parts)), 255, np.uint8)
    y = 0
    for p in parts:
        out[y:y + p.shape[0], :p.shape[1]] = p
        y += p.shape[0]
    return out


def test_cut_off_neighbouring_lines_at_the_edges_are_left_out(lines):
    """A crop of one real line that also holds the bottom of the line above and the top of the
    line below (as scanned form fields do) prepares like the line alone; without the slivers
    removed the core zone would lock onto them."""
    style = ink.InkStyle(height=0, scale=0.1)
    above, line, below = (ink.render(lines[k][0], style) for k in (1, 0, 2))
    gap = np.full((12, line.shape[1]), 255, np.uint8)
    crop = _stack(above[-above.shape[0] // 3:], gap, line, gap, below[:below.shape[0] // 3])
    alone = _stack(np.full((above.shape[0] // 3, 1), 255, np.uint8), gap, line, gap,
                   np.full((below.shape[0] // 3, 1), 255, np.uint8))
    x = normalize_contrast(crop)
    assert x[:3].max() > 0.5 and x[-3:].max() > 0.5               # the slivers are there...
    assert np.array_equal(crop_to_ink(drop_cut_lines(x)), crop_to_ink(normalize_contrast(alone)))
    assert np.array_equal(prepare(crop, CORE), prepare(alone, CORE))  # ...and read past


def test_whole_lines_and_tight_crops_are_left_as_they_are(lines):
    """No ink of a real line is taken for a cut-off neighbour, tightly cropped or not
    (i dots and quote marks at the top edge included)."""
    for strokes, text in lines:
        x = normalize_contrast(ink.render(strokes, ink.InkStyle(height=0, scale=0.1)))
        for image in (x, crop_to_ink(x, threshold=0.05)):
            assert np.array_equal(drop_cut_lines(image), image), text


def _rotated(strokes: list[np.ndarray], degrees: float) -> list[np.ndarray]:
    a = np.deg2rad(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], np.float32)
    return [np.column_stack([s[:, :2] @ rot.T, s[:, 2]]) for s in strokes]


def test_deskew_levels_a_tilted_line(lines):
    """The same line tilted 3 degrees up or down comes out level: about equally high, and lower
    than the tilted ink."""
    strokes, _ = lines[0]
    tilted = [normalize_contrast(ink.render(_rotated(strokes, a), ink.InkStyle(height=0, scale=0.1)))
              for a in (-3.0, 3.0)]
    level = [deskew(x).shape[0] for x in tilted]
    assert max(level) < 0.85 * max(x.shape[0] for x in tilted)
    assert abs(level[0] - level[1]) <= 0.15 * min(level)


@pytest.mark.parametrize("image", [np.full((50, 200), 255, np.uint8), np.full((1, 1), 0, np.uint8),
                                   np.zeros((30, 400), np.uint8)])
def test_blank_and_degenerate_images_give_a_short_input_of_the_right_height(image):
    out = prepare(image, CORE)
    assert out.shape[0] == CORE.height and np.isfinite(out).all()


def test_old_configs_keep_whole_box_scaling():
    """Model configs saved before `core` existed load with it off, so old models read as before."""
    assert Preprocess.from_dict({"height": 32, "max_width": 256, "deslant": True}).core == 0.0


def test_a_sliver_with_faint_rows_beyond_it_is_still_at_the_edge(lines):
    """A line cut out of a page ends where its own ink ends, so a cut-off neighbour's sliver
    inside it may have a row or two of faint ink (anti-aliasing, paper) between it and the edge."""
    style = ink.InkStyle(height=0, scale=0.1)
    above, line = (ink.render(lines[k][0], style) for k in (1, 0))
    sliver = above[-above.shape[0] // 4:]
    crop = _stack(np.full((2, line.shape[1]), 200, np.uint8), sliver, np.full((12, line.shape[1]), 255, np.uint8),
                  line)
    cut = 2 + sliver.shape[0]
    for flip in (1, -1):  # the sliver at the top, then at the bottom (all compared the right way up)
        x = normalize_contrast(crop[::flip])
        x, out = x[::flip], drop_cut_lines(x)[::flip]
        assert x[2:cut].max() > 0.5 and x[:2].max() <= 0.5    # a sliver, and faint rows beyond it
        assert out[:cut].max() < 0.25                          # no ink left there for crop_to_ink
        assert np.array_equal(out[cut:], x[cut:])              # and the line untouched


def test_shear_scores_from_histograms_pick_what_warping_picks(lines):
    """`_best_shear` scores each shear from where the ink pixels land instead of warping the
    image: it must pick the shear the warps pick, on real lines, both ways (slant and skew)."""
    import cv2

    from htr.preprocess import _SHEARS, _SKEWS, _best_shear, _shear, _vshear

    def by_warping(x: np.ndarray, shears: np.ndarray, vertical: bool) -> float:
        h, w = x.shape
        if h > 32:
            x = cv2.resize(x, (max(int(w * 32 / h), 1), 32), interpolation=cv2.INTER_AREA)
        binary = (x > 0.5).astype(np.float32)
        shear, axis = (_vshear, 1) if vertical else (_shear, 0)
        return float(shears[int(np.argmax([np.square(shear(binary, s).sum(axis=axis)).sum() for s in shears]))])
    for strokes, _ in lines:
        for height in (0, 64):
            x = crop_to_ink(normalize_contrast(ink.render(strokes, ink.InkStyle(height=height, scale=0.1))))
            for shears, vertical in ((_SHEARS, False), (_SKEWS, True)):
                assert _best_shear(x, shears, vertical) == by_warping(x, shears, vertical)


@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 255), st.integers(0, 3), st.integers(0, 2**32 - 1))
def test_percentiles_of_8_bit_images_are_numpys(h, w, level, kind, seed):
    """The histogram percentiles of `normalize_contrast` equal np.percentile's, on flat, two-level
    and noisy images."""
    from htr.preprocess import _percentiles
    rng = np.random.default_rng(seed)
    image = [np.full((h, w), level), np.where(rng.random((h, w)) < 0.9, 255, level),
             rng.integers(0, 256, (h, w)), rng.integers(level, 256, (h, w))][kind].astype(np.uint8)
    for q in (0, 0.5, 50, 90, 100):
        assert _percentiles(image, q)[0] == pytest.approx(float(np.percentile(image.astype(np.float32), q)), abs=1e-4)
