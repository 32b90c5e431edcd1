"""Character and word error rates: edits / reference length, as fractions (0.05 = 5 %)."""
from __future__ import annotations

import re

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
