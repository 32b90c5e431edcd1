"""From CTC log-probabilities to text: the decoders and what they return.

Input everywhere: `logprobs`, a float32 array (T, C) of log-softmax outputs, class 0 = blank,
class i = charset.chars[i-1]. Output: a `Decoded` with the text, a confidence for the line and
each word, and the frame span of each word (so callers can place word boxes on the image).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from htr.charset import Charset


@dataclass
class DecodedWord:
    text: str
    start: int        # first frame of the word
    end: int          # last frame of the word (inclusive)
    confidence: float


@dataclass
class Decoded:
    text: str
    confidence: float
    words: list[DecodedWord] = field(default_factory=list)
    char_frames: list[int] = field(default_factory=list)  # frame where each output character peaks


def words_from_chars(text: str, char_frames: list[int], frame_conf: np.ndarray) -> list[DecodedWord]:
    """Split a decoded line at spaces; a word's confidence is the lowest confidence of its characters."""
    words, start = [], None
    for k, c in enumerate(text + " "):
        if c != " " and start is None:
            start = k
        elif c == " " and start is not None:
            frames = char_frames[start:k]
            conf = float(min(frame_conf[f] for f in frames)) if frames else 0.0
            words.append(DecodedWord(text[start:k], frames[0], frames[-1], conf))
            start = None
    return words


def greedy(logprobs: np.ndarray, charset: Charset) -> Decoded:
    """Best path: the most likely class per frame, repeats merged, blanks removed."""
    best = logprobs.argmax(axis=1)
    probs = np.exp(logprobs.max(axis=1))
    chars, frames, confs = [], [], []
    prev = 0
    for t, k in enumerate(best):
        if k != prev and k != 0:
            chars.append(charset.chars[k - 1])
            frames.append(t)
            confs.append(probs[t])
        elif k == prev and k != 0 and probs[t] > confs[-1]:
            frames[-1], confs[-1] = t, probs[t]
        prev = k
    while chars and chars[0] == " ":
        chars, frames, confs = chars[1:], frames[1:], confs[1:]
    while chars and chars[-1] == " ":
        chars, frames, confs = chars[:-1], frames[:-1], confs[:-1]
    text = "".join(chars)
    # The path probability is harsh on long lines; the geometric mean per frame is comparable across lengths.
    line_conf = float(np.exp(logprobs.max(axis=1).mean())) if len(best) else 0.0
    frame_conf = np.zeros(len(best), np.float32)
    frame_conf[frames] = confs
    return Decoded(text, line_conf, words_from_chars(text, frames, frame_conf), frames)


DECODERS = {"greedy": greedy}


def decode(logprobs: np.ndarray, charset: Charset, decoder: str = "greedy", **options) -> Decoded:
    if decoder not in DECODERS:
        raise ValueError(f"unknown decoder {decoder!r}; choose from {', '.join(DECODERS)}")
    return DECODERS[decoder](logprobs, charset, **options)
