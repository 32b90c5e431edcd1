"""Word confidences that mean what they say: of the words read at 0.9, about nine in ten right.

A decoder's raw word confidence (its least sure character's best frame probability) ranks words
well but is not a probability: read greedily, the shipped model's words at 0.6 were right a
third of the time, and with word beam search, which mends words from its dictionary, words at
0.2 were right two times in three. What else tells: whether the word is in the language model's
word list (read greedily on testset_t, most of those were right and few of the others;
docs/decoding.md has the figures). Platt scaling with that second feature turns both into a
probability, per decoder: p = sigmoid(a * logit(raw) + b + c * known), with a, b and c fitted by
logistic regression on lines the model did not train on, and kept in the model's `config.json`
(`calibration`: decoder -> [a, b, c]).
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
from rapidfuzz.distance import Levenshtein

from htr.lm import case_forms, model_path, read_words, words


@lru_cache(maxsize=2)
def _spellings(directory: str) -> frozenset[str]:
    return frozenset(form for word in read_words(Path(directory)) for form in case_forms(word))


def known(word: str, lm: str | os.PathLike | None = None) -> bool:
    """Whether a read word (with its punctuation) is made of words of the language model's word
    list (`lm`, default: shipped), as listed, Capitalized or in capitals."""
    runs, spellings = words(word), _spellings(model_path(lm))
    return bool(runs) and all(r in spellings for r in runs)


def word_outcomes(recognizer, dataset, decoder: str, limit: int = 0,
                  **options) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every word read from the dataset's lines: its raw confidence, whether it is `known`,
    and whether it is right (kept as it is by the alignment of the read words with the
    transcription's words)."""
    conf, familiar, right = [], [], []
    for sample, decoded in recognizer.decode_dataset(dataset, decoder, limit, **options):
        read = decoded.words
        kept = {k for op in Levenshtein.opcodes([w.text for w in read], sample.text.split())
                if op.tag == "equal" for k in range(op.src_start, op.src_end)}
        conf += [w.confidence for w in read]
        familiar += [known(w.text, options.get("lm")) for w in read]
        right += [k in kept for k in range(len(read))]
    return np.array(conf, np.float64), np.array(familiar, bool), np.array(right, bool)


def _features(conf: np.ndarray, familiar: np.ndarray) -> np.ndarray:
    c = np.clip(np.asarray(conf, np.float64), 1e-6, 1 - 1e-6)
    return np.stack(np.broadcast_arrays(np.log(c / (1 - c)), 1.0, np.asarray(familiar, np.float64)), axis=-1)


def fit(conf: np.ndarray, familiar: np.ndarray, right: np.ndarray) -> tuple[float, float, float]:
    """(a, b, c) of the logistic regression of `right` on logit(conf) and `familiar`, by Newton's
    method (a whisker of ridge keeps it solvable when every word is known, or none)."""
    if len(conf) < 20 or right.all() or not right.any():
        raise ValueError(f"cannot calibrate on {len(conf)} words with {int(right.sum())} right: "
                         "need at least 20, some right and some wrong")
    x = _features(conf, familiar)
    w = np.zeros(3)
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ w))
        step = np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(3), x.T @ (p - right))
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return round(float(w[0]), 4), round(float(w[1]), 4), round(float(w[2]), 4)


def calibrate(conf: np.ndarray | float, familiar: np.ndarray | bool,
              params: tuple[float, ...] | list[float]) -> np.ndarray | float:
    """Calibrated confidences (for words alike in being known or not, the order is kept)."""
    p = 1 / (1 + np.exp(-(_features(conf, familiar) @ np.asarray(params, np.float64))))
    return float(p) if np.ndim(p) == 0 else p


def reliability(conf: np.ndarray, right: np.ndarray, bins: int = 10) -> list[tuple[float, int, float, float]]:
    """Per confidence bin of equal width that holds words: (bin start, words, mean confidence,
    share right). Calibrated, the last two agree."""
    which = np.minimum((np.asarray(conf) * bins).astype(int), bins - 1)
    return [(k / bins, int((which == k).sum()), round(float(conf[which == k].mean()), 4),
             round(float(right[which == k].mean()), 4)) for k in range(bins) if (which == k).any()]


def expected_calibration_error(conf: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    """Mean gap between confidence and the share of words right over the bins of `reliability`,
    weighted by the words in each: 0 for perfectly calibrated confidences."""
    rows = reliability(conf, right, bins)
    return round(sum(n * abs(c - r) for _, n, c, r in rows) / max(len(conf), 1), 4)
