"""Spelling correction after decoding (`--spell`): an unsure word outside the dictionary becomes
the nearest dictionary word (symspellpy, at most two edits, the most frequent on ties).

Only plain letter words are touched; their capitals (lower, Capitalized, UPPER) and the
punctuation around them are kept; numbers, codes and words the model is sure of stay as read.
The dictionary is the word list of a language model directory (`htr.lm`, default: shipped).
"""
from __future__ import annotations

import os
import re
from dataclasses import replace
from functools import lru_cache

from htr.decoding import Decoded
from htr.lm import model_path, read_words

WORD = re.compile(r"^([^\w]*)([^\W\d_]+)([^\w]*)$")   # punctuation, letters, punctuation


@lru_cache(maxsize=2)
def _speller(directory: str):
    from pathlib import Path

    from symspellpy import SymSpell
    speller = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    for word, count in read_words(Path(directory)).items():
        speller.create_dictionary_entry(word.lower(), count)
    return speller


def recase(word: str, like: str) -> str:
    """`word` written with the capitals of `like`."""
    if len(like) > 1 and like.isupper():
        return word.upper()
    return word[:1].upper() + word[1:] if like[:1].isupper() else word


def correct_word(word: str, speller, max_edits: int = 2) -> str:
    """The corrected spelling of one word (with its punctuation), or the word itself."""
    m = WORD.match(word)
    if m is None:
        return word
    lead, core, trail = m.groups()
    lower = core.lower()
    edits = min(max_edits, (len(core) - 1) // 2)   # 1 edit from 3 letters on, 2 from 5 on
    if edits < 1 or lower in speller.words:
        return word
    from symspellpy import Verbosity
    found = speller.lookup(lower, Verbosity.TOP, max_edit_distance=edits)
    return lead + recase(found[0].term, core) + trail if found else word


def correct(decoded: Decoded, lm: str | os.PathLike | None = None, confident: float = 0.9,
            max_edits: int = 2) -> Decoded:
    """`decoded` with its unsure (confidence < `confident`) out-of-dictionary words corrected.
    A corrected word keeps its frames and its (low) confidence: the model did not read it."""
    speller = _speller(model_path(lm))
    words = [w if w.confidence >= confident else replace(w, text=correct_word(w.text, speller, max_edits))
             for w in decoded.words]
    pieces = iter(w.text for w in words)
    text = re.sub(r"\S+", lambda _: next(pieces), decoded.text)
    return replace(decoded, text=text, words=words)
