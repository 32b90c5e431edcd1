"""Character and word error rates: edits / reference length, as fractions (0.05 = 5 %); and box
overlap, for line detection."""
from __future__ import annotations

import re

from rapidfuzz.distance import Levenshtein

from htr.page import Box


def edits(ref: str, hyp: str) -> int:
    return Levenshtein.distance(ref, hyp)


def word_edits(ref: str, hyp: str) -> int:
    return Levenshtein.distance(ref.split(), hyp.split())


def cer(refs: list[str], hyps: list[str]) -> float:
    total = sum(len(r) for r in refs)
    return sum(edits(r, h) for r, h in zip(refs, hyps)) / max(total, 1)


def wer(refs: list[str], hyps: list[str]) -> float:
    total = sum(len(r.split()) for r in refs)
    return sum(word_edits(r, h) for r, h in zip(refs, hyps)) / max(total, 1)


def kept_tokens(refs: list[str], before: list[str], after: list[str]) -> tuple[int, int]:
    """Of the numbers and capitalized words (names) that `before` (e.g. greedy decoding) read
    right, how many `after` (e.g. a dictionary-constrained decoder) still has: (kept, found).

    A language model earns its word error gains on dictionary words; this counts what it
    costs on the text outside the dictionary that users care most about."""
    kept = found = 0
    for ref, b, a in zip(refs, before, after):
        for token in re.findall(r"\S*\d\S*|[A-Z][a-z]+", ref):
            if token in b.split():
                found += 1
                kept += token in a.split()
    return kept, found


def iou(a: Box, b: Box) -> float:
    ix = max(min(a[2], b[2]) - max(a[0], b[0]), 0)
    iy = max(min(a[3], b[3]) - max(a[1], b[1]), 0)
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match(found: list[Box], truth: list[Box], threshold: float = 0.5) -> list[tuple[int, int]]:
    """One-to-one pairs (found index, truth index) with IoU >= threshold, best pairs first."""
    pairs = sorted(((iou(a, b), i, j) for i, a in enumerate(found) for j, b in enumerate(truth)), reverse=True)
    used_f, used_t, out = set(), set(), []
    for v, i, j in pairs:
        if v < threshold:
            break
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
            out.append((i, j))
    return out
