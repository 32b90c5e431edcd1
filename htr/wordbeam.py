"""Word beam search: CTC prefix beam search whose words must come from a dictionary.

After Scheidl, Fiel and Sablatnig, "Word Beam Search: A Connectionist Temporal Classification
Decoding Algorithm" (ICFHR 2018). Letters may only spell a word of the dictionary (or the start
of one); anything else (digits, punctuation, the space) is free between words, so numbers and
codes such as "A4-17" come through. The dictionary is the word list of a language model
directory (`htr.lm`), sorted: every word start then owns one contiguous range of it, which is
the prefix tree laid flat (found by bisection, nothing to build).

Modes, as in the paper:
- `words`: the dictionary constraint only;
- `ngrams`: each finished word also weighs P(word | previous word) from the bigram model;
- `forecast`: while a word is being written it already weighs the probability of all the words
  it can still become, sum over the range of P(w | previous word), so that unlikely word
  starts leave the beam early.

A word is allowed in lower case, with a capital first letter, or in capitals. A letter string
outside the dictionary (a name, a misspelling) costs `oov_score` on top of the forecast of the
word start it left the dictionary at, instead of being impossible; `oov_score=-inf` gives the
strict search of the paper.
"""
from __future__ import annotations

import math
import os
from bisect import bisect_left
from functools import lru_cache
from pathlib import Path

import numpy as np

from htr.charset import Charset
from htr.decoding import Decoded, decoded_text, prefix_beam_search
from htr.lm import ARPA, BOS, UNK, case_forms, is_word, model_path, read_arpa, token

MODES = ("words", "ngrams", "forecast")
LAST = "\U0010ffff"   # sorts after every letter: prefix + LAST bounds the words with that prefix


class Dictionary:
    """The words of a bigram model in sorted order, with natural-log unigram and bigram
    probabilities; bigrams are kept as sorted keys prev * V + next for bisection."""

    def __init__(self, directory: Path):
        vocab, uni, back, bigrams = read_arpa(directory / ARPA, max_order=2)
        words = sorted(w for w in vocab if is_word(w))
        order = words + [w for w in vocab if not is_word(w)]
        old = {w: i for i, w in enumerate(vocab)}
        perm = np.array([old[w] for w in order])
        self.words = words
        self.id = {w: i for i, w in enumerate(order)}
        uni, back = uni[perm], back[perm]   # in the new order from here on
        self.unigram, self.backoff = uni.tolist(), back.tolist()
        self.bos, self.unk = self.id[BOS], self.id[UNK]
        V = self.size = len(order)
        remap = np.empty(len(vocab), dtype=np.int64)
        remap[perm] = np.arange(V)
        keys = np.array(list(bigrams), dtype=np.int64)
        logp = np.array(list(bigrams.values()))
        keys = remap[keys // len(vocab)] * V + remap[keys % len(vocab)]
        sort = np.argsort(keys)
        keys, logp = keys[sort], logp[sort]
        prev, nxt = keys // V, keys % V
        # How much a listed bigram adds over its backoff estimate, summed along the keys: the
        # forecast of a word range is then backoff mass plus one difference of these sums.
        extra = np.exp(logp) - np.exp(back[prev] + uni[nxt])
        self.keys = keys.tolist()
        self.bigram = logp.tolist()
        self.extra = np.concatenate(([0.0], np.cumsum(extra))).tolist()
        self.cum_unigram = np.concatenate(([0.0], np.cumsum(np.exp(uni[:len(words)])))).tolist()

    def prefix(self, text: str, lo: int = 0, hi: int | None = None) -> tuple[int, int]:
        """The range of words starting with `text` (lower case), searched within [lo, hi)."""
        hi = len(self.words) if hi is None else hi
        first = bisect_left(self.words, text, lo, hi)
        return first, bisect_left(self.words, text + LAST, first, hi)

    def logp(self, prev: int, token: int) -> float:
        """ln P(token | prev), backing off to the unigram."""
        key = prev * self.size + token
        i = bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            return self.bigram[i]
        return self.backoff[prev] + self.unigram[token]

    def forecast(self, prev: int, lo: int, hi: int) -> float:
        """ln of the summed P(w | prev) over the words lo..hi-1."""
        base = prev * self.size
        a, b = bisect_left(self.keys, base + lo), bisect_left(self.keys, base + hi)
        p = math.exp(self.backoff[prev]) * (self.cum_unigram[hi] - self.cum_unigram[lo])
        p += self.extra[b] - self.extra[a]
        return math.log(max(p, 1e-300))   # rounding in the sums must not make a word impossible


def case_ok(word: str) -> bool:
    """lower, Capitalized or UPPER (a single letter is any of them)."""
    return word in case_forms(word.lower())


class WordLanguage:
    """The `Language` of word beam search. State: (previous token id, the open word as written,
    its dictionary range lo..hi (lo == hi: outside the dictionary), the score it holds so far)."""

    def __init__(self, dictionary: Dictionary, mode: str, lm_weight: float, oov_score: float,
                 word_score: float):
        if mode not in MODES:
            raise ValueError(f"unknown word beam mode {mode!r}; choose from {', '.join(MODES)}")
        if lm_weight < 0:
            raise ValueError(f"lm_weight must not be negative, got {lm_weight}")
        self.d, self.mode = dictionary, mode
        self.lm_weight = lm_weight if mode != "words" else 0.0
        self.oov_score, self.word_score = oov_score, word_score
        # Narrowing a forecast or finishing a word never gains; only these can.
        self.bound = max(0.0, word_score, oov_score)

    def start(self) -> tuple:
        return (self.d.bos, "", 0, 0, 0.0)

    def step(self, state: tuple, char: str) -> tuple[tuple, float] | None:
        prev, word, lo, hi, held = state
        if char.isalpha():
            grown = word + char
            if word and lo == hi:   # already outside the dictionary: nothing more to pay
                return (prev, grown, lo, hi, held), 0.0
            if not word:
                lo, hi = self.d.prefix(char.lower())
            else:
                lo, hi = self.d.prefix(grown.lower(), lo, hi) if case_ok(grown) else (lo, lo)
            if lo == hi:   # leaves the dictionary here: it began like those words, then was none
                worth = held + self.oov_score
            elif self.mode == "forecast":
                worth = self.lm_weight * self.d.forecast(prev, lo, hi)
            else:
                worth = 0.0
            if worth == -math.inf:
                return None
            return (prev, grown, lo, hi, worth), worth - held
        bonus = 0.0
        if word:
            prev, score = self._close(prev, word, lo, hi, held)
            if score == -math.inf:
                return None
            bonus = score - held
        if char != " ":   # digits and punctuation: free, but the next word's context
            prev = self.d.id.get(token(char), self.d.unk)
        return (prev, "", 0, 0, 0.0), bonus

    def _close(self, prev: int, word: str, lo: int, hi: int, held: float) -> tuple[int, float]:
        """The next context and the full score of a finished word."""
        if lo < hi and self.d.words[lo] == word.lower():
            return lo, self.word_score + self.lm_weight * self.d.logp(prev, lo)
        penalty = 0.0 if lo == hi else self.oov_score   # a word start no entry ends with
        return self.d.unk, self.word_score + held + penalty

    def open_word(self, state: tuple) -> str:
        return state[1]

    def finish(self, state: tuple) -> float | None:
        prev, word, lo, hi, held = state
        if not word:
            return 0.0
        score = self._close(prev, word, lo, hi, held)[1]
        return None if score == -math.inf else score - held


@lru_cache(maxsize=4)
def _dictionary(directory: str) -> Dictionary:
    return Dictionary(Path(directory))


def wordbeam(logprobs: np.ndarray, charset: Charset, lm: str | os.PathLike | None = None,
             mode: str = "forecast", width: int = 32, lm_weight: float = 0.5,
             oov_score: float = -10.0, word_score: float = 0.0, prune: float = 1e-3) -> Decoded:
    """Word beam search with the dictionary and bigrams of the model in `lm` (default: shipped).
    Scores are natural logs: lm_weight scales ln P(word | previous), oov_score is added per
    word outside the dictionary, word_score per word. The defaults were tuned on IAM-OnDB
    testset_v (benchmarks/decoders.py --tune)."""
    language = WordLanguage(_dictionary(model_path(lm)), mode, lm_weight, oov_score,
                            word_score)
    text = prefix_beam_search(logprobs, charset, width, prune, language)
    return decoded_text(text, logprobs, charset)
