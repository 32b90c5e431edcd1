"""Word images from IAM-OnDB lines, cut at the gaps between words.

IAM-OnDB labels whole lines only. Strokes whose horizontal extents overlap belong to one
cluster (a word, or a piece of a printed word); the gaps between clusters, measured in units
of the line's ink height h, separate letters (narrow) and words (wide). A line with n words
(its CSR text split at spaces) is cut at its n-1 widest gaps and accepted only when that cut
is what some word-gap threshold in [min_gap, max_gap] x h would give on its own: every cut gap
wider than min_gap, every other gap at most max_gap. Lines whose gaps cannot give exactly n
pieces, or whose pieces' widths do not fit their words' lengths, are rejected and listed with
the reason in `skipped`. docs/data.md says how reliable the accepted cuts are.
"""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np

from htr import ink
from htr.datasets.base import Dataset, Sample, log
from htr.datasets.iam_ondb import IamOnDB

# A piece may be this many times wider or narrower per character than the line's median piece.
WIDTH_RATIO = 3.0


def clusters(strokes: ink.Strokes) -> tuple[np.ndarray, np.ndarray]:
    """Group strokes whose x-extents overlap: (cluster index of each stroke, gap after each cluster).

    Clusters are numbered left to right; gaps has one entry fewer than there are clusters.
    """
    lo = np.array([s[:, 0].min() for s in strokes])
    hi = np.array([s[:, 0].max() for s in strokes])
    order = np.argsort(lo, kind="stable")
    reach = np.maximum.accumulate(hi[order])  # rightmost ink seen so far, sweeping left to right
    starts = np.concatenate([[False], lo[order][1:] > reach[:-1]])
    label = np.empty(len(strokes), np.int64)
    label[order] = np.cumsum(starts)
    gaps = lo[order][starts] - reach[:-1][starts[1:]]
    return label, gaps


def split_line(strokes: ink.Strokes, words: list[str], min_gap: float, max_gap: float) -> list[ink.Strokes] | str:
    """The strokes of each word, or the reason the line's gaps do not give its words."""
    y = np.concatenate([s[:, 1] for s in strokes])
    h = max(float(np.percentile(y, 90) - np.percentile(y, 10)), 1e-6)
    label, gaps = clusters(strokes)
    gaps = gaps / h
    n = len(words)
    if len(gaps) < n - 1:
        return f"{len(gaps) + 1} separate pieces of ink for {n} words"
    ranked = np.sort(gaps)[::-1]
    cut_min = ranked[n - 2] if n > 1 else np.inf      # narrowest gap that must be a word gap
    kept_max = ranked[n - 1] if len(gaps) >= n else 0.0  # widest gap that must stay inside a word
    if cut_min <= min_gap:
        return f"only {int(np.sum(gaps > min_gap)) + 1} pieces for {n} words (gaps > {min_gap} h)"
    if kept_max > max_gap or cut_min == kept_max:
        return f"{int(np.sum(gaps > max_gap)) + 1} pieces for {n} words (gaps > {max_gap} h)"
    piece_of_cluster = np.concatenate([[0], np.cumsum(gaps >= cut_min)])
    piece = piece_of_cluster[label]
    pieces = [[s for s, p in zip(strokes, piece) if p == k] for k in range(n)]
    widths = np.array([np.ptp(np.concatenate([s[:, 0] for s in p])) / h for p in pieces])
    per_char = widths / np.array([len(w) for w in words])
    median = np.median(per_char)
    odd = [w for w, r in zip(words, per_char) if not median / WIDTH_RATIO <= r <= median * WIDTH_RATIO]
    if odd:
        return f"piece widths do not fit the word lengths ({' '.join(odd)!r})"
    return pieces


class IamOnDBWords(Dataset):
    """Single words of IAM-OnDB, from the lines whose gaps give exactly their words."""
    name = "iam-ondb-words"

    def __init__(self, root: str | os.PathLike, split: str = "trainset", height: int | str = 64,
                 min_gap: float | str = 0.45, max_gap: float | str = 0.7):
        super().__init__()
        lines = IamOnDB(root, split, int(height))
        self.height = int(height)
        self.skipped = list(lines.skipped)  # forms the line reader skipped (it has warned already)
        self._lines = lines
        self._line: list[int] = []          # the line each word comes from
        self._strokes: list[ink.Strokes] = []
        rejected = 0
        for k in range(len(lines)):
            words = lines.labels[k].split()
            pieces = split_line(lines.strokes(k), words, float(min_gap), float(max_gap)) if words else "no words"
            if isinstance(pieces, str):
                self.skipped.append((lines.ids[k], pieces))  # listed, not logged: rejection is routine
                rejected += 1
                continue
            for j, (word, strokes) in enumerate(zip(words, pieces)):
                self.ids.append(f"{lines.ids[k]}-{j:02d}")
                self.labels.append(word)
                self._line.append(k)
                self._strokes.append(strokes)
        self.lines_accepted = len(lines) - rejected
        log.info("%s: %d of %d lines cut into words, %d rejected (see stats for the reasons)",
                 self.name, self.lines_accepted, len(lines), rejected)

    def _select(self, keep: list[int]) -> None:
        super()._select(keep)
        self._line = [self._line[i] for i in keep]
        self._strokes = [self._strokes[i] for i in keep]

    def stats(self) -> dict:
        return {**super().stats(), "lines": len(set(self._line)), "samples": len(self),
                "lines_accepted": self.lines_accepted, "lines_rejected": len(self._lines) - self.lines_accepted}

    def sample(self, i: int, rng: np.random.Generator | None) -> Sample:
        """The word drawn at the scale its whole line would have, so pen and letters keep their size."""
        style = ink.random_style(rng, self.height) if rng is not None else ink.InkStyle(height=self.height)
        word_style = replace(style, height=0, scale=ink.fit_scale(self._lines.strokes(self._line[i]), style))
        return Sample(ink.render(self._strokes[i], word_style, rng), self.labels[i], self.ids[i])
