"""After decoding: mend readings that mix kinds of characters the way handwriting rarely does.

A decoder reads every character on its own, so a name in block capitals can come out as
"HU6O", "MARDINi" or "DEBOR A H": a digit or a small letter where the model hesitated between
look-alikes (6/G, i/I), and a space where the writer left room between two capitals. Two
rules, each taking the next best reading only when the model found it nearly as likely:

- Kind: a run of letters and digits (punctuation and spaces end it) is a word here. In a word
  of capitals (at least two, more than its small letters and digits together) each small letter
  and digit becomes the likeliest capital over that character's frames; in a word of letters
  with a digit among them (more letters than digits) the digit becomes the likeliest letter.
  The word changes only when its path loses less than `margin` (natural log) by it. Numbers
  ("8.", "lead-210") and mixed abbreviations ("Mr.T.") are words of their own and stay.
- Spaces: a space between two capitals, with no small letter in the words on either side, that
  the model gives less than `space_sure` at every one of its frames is letter spacing, and goes.

On IAM-OnDB testset_t (mostly small letters) the rules leave CER and WER as they were; on the
Kaggle name scans they take 4.6 points off the greedy CER (docs/decoding.md, "Mending").
"""
from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np

from htr.charset import Charset
from htr.decoding import Decoded, align, char_runs, decoded_text

CAPITAL_GAP = re.compile(r"(?<=[A-Z]) (?=[A-Z])")
ALNUM = re.compile(r"[^\W_]+")   # a run of letters and digits


def _target(word: str) -> str | None:
    """Which kind the stray characters of `word` should be: 'upper', 'letter' or None (none)."""
    upper, lower = sum(c.isupper() for c in word), sum(c.islower() for c in word)
    digits = sum(c.isdigit() for c in word)
    if upper >= 2 and upper > lower + digits and lower + digits >= 1:
        return "upper"
    if upper + lower >= 2 and digits >= 1 and upper + lower > digits:
        return "letter"
    return None


@lru_cache(maxsize=8)
def _kinds(chars: str) -> dict[str, np.ndarray]:
    """Per class (blank first), whether it is a capital / a letter."""
    return {"upper": np.array([False] + [c.isalpha() and c.isupper() for c in chars]),
            "letter": np.array([False] + [c.isalpha() for c in chars])}


def consistent(decoded: Decoded, logprobs: np.ndarray, charset: Charset, margin: float = 4.0,
               space_sure: float = 0.9) -> Decoded:
    """`decoded` with mixed-kind words and unsure spaces between capitals mended (module doc);
    as it was when neither rule applies, which is most lines."""
    text = decoded.text
    if not CAPITAL_GAP.search(text) and not any(_target(w) for w in ALNUM.findall(text)):
        return decoded
    runs = char_runs(align(logprobs, charset.encode(text)))   # one run per character of text
    chars = list(text)
    for m in CAPITAL_GAP.finditer(text):
        i = m.start()
        left, right = text[:i].rsplit(" ", 1)[-1], text[i + 1:].split(" ", 1)[0]
        if any(c.islower() for c in left + right):
            continue   # "M Ps": the capitals of an abbreviation beside small letters
        space, first, last = runs[i]
        if math.exp(float(logprobs[first:last + 1, space].max())) < space_sure:
            chars[i] = ""
    words, word = [], []   # alphanumeric runs as positions in `text`, the dropped spaces gone
    for i, c in enumerate(chars):
        if c.isalnum():
            word.append(i)
        elif c:
            words.append(word)
            word = []
    words.append(word)
    kinds = _kinds(charset.chars)
    for idx in words:
        target = _target("".join(text[i] for i in idx))
        if target is None:
            continue
        allowed = kinds[target]
        loss, new = 0.0, {}
        for i in idx:
            k, first, last = runs[i]
            if allowed[k]:
                continue
            scores = logprobs[first:last + 1].sum(axis=0)
            best = int(np.argmax(np.where(allowed, scores, -np.inf)))
            loss += float(scores[k] - scores[best])
            new[i] = charset.chars[best - 1]
        if loss <= margin:
            for i, c in new.items():
                chars[i] = c
    mended = "".join(chars)
    if mended == text:
        return decoded
    try:
        return decoded_text(mended, logprobs, charset)
    except ValueError:   # a new repeat needs a blank frame the line has no room for: keep it
        return decoded
