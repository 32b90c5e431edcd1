"""Word confidences that mean what they say: of the words read at 0.9, about nine in ten right.

A decoder's raw word confidence (its least sure character's best frame probability) ranks words
well but is not a probability: read greedily, the shipped model's words at 0.6 were right a
third of the time, and with word beam search, which mends words from its dictionary, words at
0.2 were right two times in three. Platt scaling turns it into one, per decoder:
p = sigmoid(a * logit(raw) + b), with a and b fitted by logistic regression on lines the model
did not train on, and kept in the model's `config.json` (`calibration`: decoder -> [a, b]).
"""
from __future__ import annotations

import numpy as np
from rapidfuzz.distance import Levenshtein


def word_outcomes(recognizer, dataset, decoder: str, limit: int = 0, **options) -> tuple[np.ndarray, np.ndarray]:
    """Raw confidence of every word read from the dataset's lines, and whether it is right: kept
    as it is by the alignment of the read words with the transcription's words."""
    from htr.decoding import decode
    n = min(limit, len(dataset)) if limit else len(dataset)
    conf, right = [], []
    for s in range(0, n, 64):
        samples = [dataset[i] for i in range(s, min(s + 64, n))]
        for sample, lp in zip(samples, recognizer.logprobs([x.image for x in samples])):
            words = decode(lp, recognizer.charset, decoder, **options).words
            kept = {k for op in Levenshtein.opcodes([w.text for w in words], sample.text.split())
                    if op.tag == "equal" for k in range(op.src_start, op.src_end)}
            conf += [w.confidence for w in words]
            right += [k in kept for k in range(len(words))]
    return np.array(conf, np.float64), np.array(right, bool)


def _logit(conf: np.ndarray) -> np.ndarray:
    c = np.clip(conf, 1e-6, 1 - 1e-6)
    return np.log(c / (1 - c))


def fit(conf: np.ndarray, right: np.ndarray) -> tuple[float, float]:
    """(a, b) of the logistic regression of `right` on logit(conf), by Newton's method."""
    if len(conf) < 20 or right.all() or not right.any():
        raise ValueError(f"cannot calibrate on {len(conf)} words with {int(right.sum())} right: "
                         "need at least 20, some right and some wrong")
    x = np.stack([_logit(conf), np.ones(len(conf))], axis=1)
    w = np.zeros(2)
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ w))
        step = np.linalg.solve((x * (p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(2), x.T @ (p - right))
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return round(float(w[0]), 4), round(float(w[1]), 4)


def calibrate(conf: np.ndarray | float, params: tuple[float, float] | list[float]) -> np.ndarray | float:
    """The calibrated confidence of raw confidences (monotone: the order of words is kept)."""
    a, b = params
    p = 1 / (1 + np.exp(-(a * _logit(np.asarray(conf, np.float64)) + b)))
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
