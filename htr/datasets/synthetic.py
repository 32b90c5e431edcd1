"""Synthetic handwriting: text drawn with handwriting fonts, glyph by glyph, with jitter.

IAM-OnDB has few capitals, digits and punctuation; fonts fill that gap (pretraining, block
capitals on forms, codes like "A4-17"). Each glyph gets its own size, baseline offset, slant
and spacing so that no two renderings of a word are the same.

The text comes from symspellpy's English frequency dictionary (shipped with it), mixed with
numbers, codes and capitalized names made up here, and optionally the transcriptions of a
training set (`text=FILE`, one line each). It never reads validation or test transcriptions.
Text i is fixed (seeded by i) so `stats()` is stable; the drawing varies with the rng.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from htr.datasets.base import Dataset, DatasetError, Sample, as_bool

FONT_SUFFIXES = {".ttf", ".otf"}
# Fonts of ../shared/data/fonts that do not look like handwriting on paper (seen on a contact sheet).
UNSUITABLE_FONTS = {
    "femkeklaver.ttf": "letters are drawn as hollow outlines",
    "Joscelyn-Regular.otf": "its swash capitals are unreadable",
}
_PUNCT_AFTER = [",", ".", ";", ":", "!", "?", "'s", ")"]
_SYLLABLES = ["ma", "ri", "jean", "lo", "ar", "ben", "cha", "del", "to", "mi", "son", "vi",
              "que", "el", "an", "ou", "ber", "ka", "ne", "th", "ra", "dre", "lu", "pol"]


@lru_cache(maxsize=1)
def english_words(limit: int = 40000) -> tuple[list[str], np.ndarray]:
    """The `limit` most frequent English words and their sampling weights (frequency^0.4)."""
    import symspellpy
    path = Path(symspellpy.__file__).parent / "frequency_dictionary_en_82_765.txt"
    words, freqs = [], []
    for line in path.read_text(encoding="utf-8").splitlines()[:limit]:
        w, f = line.split()
        words.append(w)
        freqs.append(float(f))
    p = np.asarray(freqs) ** 0.4
    return words, p / p.sum()


def make_text(rng: np.random.Generator, words: bool = False) -> str:
    """A line (or, with words=True, one token) of mixed-case English, names, numbers and codes."""
    vocab, p = english_words()
    kind = rng.random()
    if kind < 0.12:   # a made-up name in capitals, as on forms
        parts = ["".join(rng.choice(_SYLLABLES, rng.integers(1, 4))).upper() for _ in range(rng.integers(1, 3))]
        return (" " if rng.random() < 0.7 else "-").join(parts)[:24] if not words else parts[0]
    if kind < 0.2:    # numbers, dates, codes
        choices = [f"{rng.integers(0, 10000)}", f"{rng.integers(1, 29)}/{rng.integers(1, 13)}/{rng.integers(1900, 2030)}",
                   f"{chr(65 + rng.integers(26))}{rng.integers(1, 10)}-{rng.integers(10, 100)}",
                   f"{rng.integers(1, 100)}.{rng.integers(0, 100):02d}", f"#{rng.integers(1, 999)}",
                   f"({rng.integers(100, 1000)}) {rng.integers(100, 1000)}-{rng.integers(1000, 10000)}"]
        return str(rng.choice(choices))
    n = 1 if words else int(rng.integers(2, 9))
    out = []
    for k in range(n):
        w = str(rng.choice(vocab, p=p))
        r = rng.random()
        if r < 0.08:
            w = w.upper()
        elif r < 0.3 or k == 0 and rng.random() < 0.5:
            w = w.capitalize()
        if not words and rng.random() < 0.1:
            w += str(rng.choice(_PUNCT_AFTER))
        if not words and rng.random() < 0.03:
            w = '"' + w + '"'
        out.append(w)
    return " ".join(out)


class Synthetic(Dataset):
    """`n` synthetic lines (or single words with words=1) drawn with the fonts under `fonts`."""
    name = "synthetic"

    def __init__(self, fonts: str | Path, n: int | str = 10000, words: bool | str = False,
                 text: str | Path | None = None, seed: int | str = 0, height: int | str = 64):
        super().__init__()
        self.height = int(height)
        self.font_paths = []
        for p in sorted(Path(fonts).glob("*")):
            if p.name in UNSUITABLE_FONTS:
                self.skipped.append((p.name, UNSUITABLE_FONTS[p.name]))  # listed in stats, not worth a warning
            elif p.suffix.lower() in FONT_SUFFIXES:
                self.font_paths.append(p)
        if not self.font_paths:
            raise DatasetError(f"synthetic: no .ttf/.otf fonts in {fonts}")
        words = as_bool(words)
        extra = []
        if text:
            extra = [t.strip() for t in Path(text).read_text(encoding="utf-8").splitlines() if t.strip()]
        rng = np.random.default_rng(int(seed))
        for i in range(int(n)):
            if extra and rng.random() < 0.3:
                self.labels.append(str(extra[rng.integers(len(extra))]))
            else:
                self.labels.append(make_text(rng, words))
            self.ids.append(f"synthetic-{i:06d}")

    def sample(self, i: int, rng: np.random.Generator | None) -> Sample:
        rng = rng if rng is not None else np.random.default_rng(i)
        font = self.font_paths[int(rng.integers(len(self.font_paths)))]
        return Sample(draw_text(self.labels[i], font, rng, self.height), self.labels[i], self.ids[i])


@lru_cache(maxsize=64)
def _font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


def draw_text(text: str, font_path: Path, rng: np.random.Generator, height: int = 64) -> np.ndarray:
    """Draw `text` glyph by glyph with jittered size, baseline, spacing and slant; crop to ink."""
    size = int(height * 0.62)
    spacing = rng.uniform(-0.04, 0.08) if rng.random() < 0.9 else rng.uniform(0.2, 0.45)  # wide: boxed forms
    drift = rng.normal(0, 0.02)
    width = int(size * (len(text) + 2) * (1.3 + max(spacing, 0)))
    canvas = Image.new("L", (width, height * 3), 0)  # room for tall capitals and long descenders
    pen = ImageDraw.Draw(canvas)
    x, base = size * 0.5, height * 2.0
    for ch in text:
        s = max(8, int(size * rng.uniform(0.92, 1.08)))
        f = _font(font_path, s)
        y = base + rng.normal(0, 0.025) * size + drift * x
        pen.text((x, y), ch, font=f, fill=255, anchor="ls")
        x += f.getlength(ch) * rng.uniform(0.95, 1.05) + spacing * size
    img = np.asarray(canvas)
    ys, xs = np.nonzero(img > 40)
    if len(xs) == 0:
        raise ValueError(f"font {font_path.name} drew no ink for {text!r}")
    m = int(height * 0.08)
    img = img[max(ys.min() - m, 0):ys.max() + m + 1, max(xs.min() - m, 0):xs.max() + m + 1]
    shear = rng.uniform(-0.35, 0.25)
    h, w = img.shape
    import cv2
    M = np.float32([[1, shear, -shear * h if shear < 0 else 0], [0, 1, 0]])
    img = cv2.warpAffine(img, M, (w + int(abs(shear) * h) + 1, h))
    ink, paper = int(rng.integers(0, 80)), int(rng.integers(215, 256))
    out = paper - (img.astype(np.float32) / 255.0) * (paper - ink)
    return out.astype(np.uint8)
