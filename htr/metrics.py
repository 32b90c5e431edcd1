"""Character and word error rates: edits / reference length, as fractions (0.05 = 5 %)."""
from __future__ import annotations

from rapidfuzz.distance import Levenshtein


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
