"""Preprocessing on real lines: the core-zone normalization gives letters one size whatever
else is on the line, and a drifting baseline is levelled."""
from __future__ import annotations

import numpy as np
import pytest

from htr import ink
from htr.datasets.iam_ondb import IamOnDB
from htr.preprocess import Preprocess, core_zone, deskew, normalize_contrast, prepare

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
