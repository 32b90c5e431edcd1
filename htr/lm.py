"""Word n-gram language models: built from text we may ship, stored as ARPA, used by the decoders.

A model is built offline from two sources (`htr lm build`):
- in-domain lines (IAM-OnDB *training* transcriptions, or any text files), estimated with
  interpolated Kneser-Ney;
- the English frequency lists inside the symspellpy package (82,765 words, 242,342 word pairs
  counted in Google Books), read as a pruned bigram model.
The two are mixed linearly and written as one ARPA file (gzip) plus the word list (`words.txt`,
"spelling count" per line, which also feeds the spelling corrector). KenLM reads the ARPA file
directly, so no binary format is needed.

Tokens are runs of letters (words, lowercased) and every other non-space character on its own;
digits are one class, "0", since which digit stands there is the recognizer's business, not
the language's: "Mr. Foot's 1959" -> mr . foot ' s 0 0 0 0. So the model also knows that "."
follows "mr" and that digits come in runs.

The `lm` decoder at the end of this file runs flashlight-text's lexicon beam search with this
model; `htr.wordbeam` reads the same files.
"""
from __future__ import annotations

import contextlib
import gzip
import io
import math
import os
import re
import string
import sys
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, TextIO

import numpy as np

from htr.charset import Charset

DEFAULT_DIR = Path(__file__).parent / "lm"      # the shipped model (package data)
ARPA, WORDS = "lm.arpa.gz", "words.txt"
BOS, EOS, UNK = "<s>", "</s>", "<unk>"
TOKEN = re.compile(r"[^\W\d_]+|\S")            # a run of letters, or any other single non-space


def token(piece: str) -> str:
    """The model's token for a piece of text TOKEN found."""
    return "0" if piece.isdigit() else piece.lower()


def tokens(text: str) -> list[str]:
    return [token(t) for t in TOKEN.findall(text)]


def words(text: str) -> list[str]:
    """The letter runs of a text, as written."""
    return [w for w in TOKEN.findall(text) if is_word(w)]


def is_word(token: str) -> bool:
    return token[:1].isalpha()


def case_forms(word: str) -> tuple[str, str, str]:
    """How a dictionary word may be written: as listed, Capitalized (sentence starts), UPPER."""
    return word, word[:1].upper() + word[1:], word.upper()


Gram = tuple[str, ...]


# -- estimation ------------------------------------------------------------------------------

class NGrams:
    """A backoff n-gram model: P(w | h) for listed n-grams h+w; others back off to P(w | h[1:])
    times a weight per history, computed here so that every distribution sums to one."""

    def __init__(self, prob: dict[Gram, float]):
        self.prob = prob
        self.order = max(len(g) for g in prob)
        self.backoff: dict[Gram, float] = {}
        listed: dict[Gram, list[Gram]] = defaultdict(list)
        for g in prob:
            if len(g) > 1:
                listed[g[:-1]].append(g)
        for h in sorted(listed, key=len):   # lower orders first: p() of a shorter history needs them
            grams = listed[h]
            kept = 1.0 - sum(prob[g] for g in grams)
            lower = 1.0 - sum(self.p(g[1:]) for g in grams)
            self.backoff[h] = max(kept, 1e-12) / max(lower, 1e-12)

    def p(self, gram: Gram) -> float:
        if gram in self.prob:
            return self.prob[gram]
        if len(gram) == 1:
            return 0.0
        return self.backoff.get(gram[:-1], 1.0) * self.p(gram[1:])


def count_ngrams(lines: Iterable[str], order: int) -> list[Counter]:
    """counts[n][gram] for n = 1..order over lines padded with <s> ... </s>."""
    counts = [Counter() for _ in range(order + 1)]
    for line in lines:
        seq = [BOS] + tokens(line) + [EOS]
        for n in range(1, order + 1):
            for i in range(len(seq) - n + 1):
                counts[n][tuple(seq[i:i + n])] += 1
    del counts[1][(BOS,)]  # <s> is a context, never predicted
    return counts


def kneser_ney(counts: list[Counter], vocab: set[str]) -> dict[Gram, float]:
    """Interpolated Kneser-Ney: every order discounts its counts and hands the mass to the next
    lower one, whose counts are the number of different words seen before a gram (how readily
    it follows anything), not how often it occurs. Words of `vocab` never seen get a uniform share."""
    order = len(counts) - 1
    adjusted = [Counter() for _ in range(order + 1)]
    adjusted[order] = counts[order]
    for n in range(order - 1, 0, -1):
        for g in counts[n + 1]:
            adjusted[n][g[1:]] += 1
        for g, c in counts[n].items():
            if g[0] == BOS:  # nothing stands before <s>: keep the plain count
                adjusted[n][g] = c
    vocab = vocab | {g[0] for g in counts[1]} | {EOS, UNK}
    prob: dict[Gram, float] = {}
    for n in range(1, order + 1):
        of_count = Counter(adjusted[n].values())
        d = of_count[1] / (of_count[1] + 2 * of_count[2]) if of_count[1] else 0.5
        total, types = Counter(), Counter()
        for g, c in adjusted[n].items():
            total[g[:-1]] += c
            types[g[:-1]] += 1
        for g, c in adjusted[n].items():
            h = g[:-1]
            lower = prob[g[1:]] if n > 1 else 1.0 / len(vocab)
            prob[g] = (max(c - d, 0.0) + d * types[h] * lower) / total[h]
        if n == 1:
            floor = d * types[()] / total[()] / len(vocab)
            for w in vocab - {g[0] for g in adjusted[1]}:
                prob[(w,)] = floor
    return prob


def symspell_files() -> tuple[Path, Path]:
    import symspellpy
    root = Path(symspellpy.__file__).parent
    return root / "frequency_dictionary_en_82_765.txt", root / "frequency_bigramdictionary_en_243_342.txt"


def symspell_model(top: int | None = None) -> tuple[dict[Gram, float], Counter]:
    """The symspellpy lists as a bigram model (and their word counts for the word list).

    The pair list was counted on a ~40x larger corpus than the word list and keeps only the
    frequent pairs, so P(w | v) = pair count / (scale x count of v) with the scale taken from
    the best covered words; what the list leaves out of each v backs off to the word counts.
    """
    words_file, pairs_file = symspell_files()
    counts = Counter()
    for line in words_file.read_text().splitlines()[:top]:
        word, count = line.split()
        counts[word] = int(count)
    words = {w: c for w, c in counts.items() if len(tokens(w)) == 1}
    total = sum(words.values())
    prob: dict[Gram, float] = {(w,): c / total for w, c in words.items()}
    pairs: dict[Gram, int] = {}
    following = Counter()
    for line in pairs_file.read_text().splitlines():
        v, w, count = line.split()
        if v in words and w in words:
            pairs[(v, w)] = int(count)
            following[v] += int(count)
    scale = float(np.percentile([following[v] / words[v] for v in following], 99))
    for (v, w), c in pairs.items():
        prob[(v, w)] = c / (scale * words[v]) * min(1.0, 0.95 * scale * words[v] / following[v])
    return prob, counts


def mix(models: list[tuple[float, NGrams]]) -> NGrams:
    """Linear interpolation, written back as one backoff model over all listed n-grams."""
    grams = set().union(*(m.prob for _, m in models))
    return NGrams({g: sum(w * m.p(g) for w, m in models) for g in grams})


# -- ARPA files ------------------------------------------------------------------------------

@contextlib.contextmanager
def _open(path: Path, mode: str) -> Iterator[TextIO]:
    """Text file, gzip-compressed when named .gz; written without a time stamp, so that the
    same text gives the same bytes (the shipped model can be rebuilt and compared)."""
    if not str(path).endswith(".gz"):
        with open(path, mode, encoding="utf-8") as f:
            yield f
    elif mode == "r":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            yield f
    else:
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, \
                io.TextIOWrapper(gz, encoding="utf-8") as f:
            yield f


def write_arpa(model: NGrams, path: Path) -> None:
    by_order: dict[int, list[Gram]] = defaultdict(list)
    for g in model.prob:
        by_order[len(g)].append(g)
    by_order[1].append((BOS,))
    with _open(path, "w") as f:
        f.write("\\data\\\n")
        for n in sorted(by_order):
            f.write(f"ngram {n}={len(by_order[n])}\n")
        for n in sorted(by_order):
            f.write(f"\n\\{n}-grams:\n")
            for g in sorted(by_order[n]):
                p = -99.0 if g == (BOS,) else math.log10(max(model.prob[g], 1e-99))
                line = f"{p:.5f}\t{' '.join(g)}"
                if n < model.order:
                    line += f"\t{math.log10(model.backoff.get(g, 1.0)):.5f}"
                f.write(line + "\n")
        f.write("\n\\end\\\n")


def read_arpa(path: Path, max_order: int = 2) -> tuple[list[str], np.ndarray, np.ndarray, dict[int, float]]:
    """Vocabulary, unigram log-probs and backoffs (natural log), and bigram log-probs keyed
    by v * len(vocab) + w: what a bigram decoder needs; higher orders are skipped."""
    vocab: list[str] = []
    uni, back = [], []
    pairs: list[tuple[str, str, float]] = []
    order = 0
    with _open(path, "r") as f:
        for line in f:
            if line.startswith("\\") and line.rstrip().endswith("-grams:"):
                order = int(line[1:line.index("-")])
                continue
            parts = line.split()
            if order == 0 or not parts or parts[0].startswith("\\"):
                continue
            if order > max_order:
                break
            if order == 1:
                vocab.append(parts[1])
                uni.append(float(parts[0]))
                back.append(float(parts[2]) if len(parts) > 2 else 0.0)
            else:
                pairs.append((parts[1], parts[2], float(parts[0])))
    if not vocab or UNK not in vocab:
        raise ValueError(f"{path}: not an ARPA language model with {UNK} in its unigrams")
    index = {w: i for i, w in enumerate(vocab)}
    ln10 = math.log(10)
    bigrams = {index[v] * len(vocab) + index[w]: p * ln10 for v, w, p in pairs}
    return vocab, np.array(uni) * ln10, np.array(back) * ln10, bigrams


# -- building a model directory ----------------------------------------------------------------

def build(texts: Iterable[str], out: Path, order: int = 2, symspell: bool = True,
          symspell_words: int | None = None, symspell_weight: float = 0.5) -> dict:
    """Write `out/lm.arpa.gz` and `out/words.txt`; returns what went in."""
    lines = [t for t in texts if t.strip()]
    if not lines and not symspell:
        raise ValueError("no text to build a language model from")
    out.mkdir(parents=True, exist_ok=True)
    counts = count_ngrams(lines, order)
    word_counts = Counter(w for line in lines for w in words(line))
    vocab = set("0" + string.punctuation + string.ascii_lowercase)   # codes, initials
    word_counts.update(string.ascii_lowercase)
    models: list[tuple[float, NGrams]] = []
    if symspell:
        ss_prob, ss_counts = symspell_model(symspell_words)
        vocab |= {g[0] for g in ss_prob if len(g) == 1}
        for word, count in ss_counts.items():  # Google Books counts, in millions
            for w in words(word):
                word_counts[w] += max(1, round(count / 1e6))
        models.append((symspell_weight, NGrams(ss_prob)))
    if lines:
        models.append((1.0 - symspell_weight if symspell else 1.0, NGrams(kneser_ney(counts, vocab))))
    model = models[0][1] if len(models) == 1 else mix(models)
    write_arpa(model, out / ARPA)
    with open(out / WORDS, "w", encoding="utf-8") as f:
        for w, c in sorted(word_counts.items(), key=lambda wc: (-wc[1], wc[0])):
            f.write(f"{w} {c}\n")
    return {"lines": len(lines), "tokens": sum(counts[1].values()), "words": len(word_counts),
            "ngrams": {n: sum(len(g) == n for g in model.prob) for n in range(1, model.order + 1)},
            "arpa_bytes": (out / ARPA).stat().st_size, "words_bytes": (out / WORDS).stat().st_size}


@lru_cache(maxsize=16)
def model_path(path: str | os.PathLike | None) -> str:
    """`model_dir`, resolved, as the key of the decoders' caches; checked once, not per line."""
    return str(model_dir(path).resolve())


def model_dir(path: str | os.PathLike | None) -> Path:
    d = Path(path) if path else DEFAULT_DIR
    for name in (ARPA, WORDS):
        if not (d / name).is_file():
            raise ValueError(f"{d}: no language model here ({name} is missing; `htr lm build -o {d}` writes one)")
    return d


def read_words(d: Path) -> dict[str, int]:
    words = {}
    for k, line in enumerate((d / WORDS).read_text(encoding="utf-8").splitlines()):
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise ValueError(f"{d / WORDS}:{k + 1}: expected 'word count', got {line!r}")
        words[parts[0]] = int(parts[1])
    return words


def spellings(words: Iterable[str], charset: Charset) -> list[str]:
    """What a dictionary word may look like on the page: as listed, with a capital first letter
    (sentence starts) or in capitals; only spellings the model can write."""
    out = set()
    for w in words:
        for s in case_forms(w):
            if s.isalpha() and s in charset:
                out.add(s)
    return sorted(out)


# -- the `lm` decoder: flashlight-text lexicon beam search with KenLM ------------------------

@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """KenLM prints a progress bar on the C++ side while loading; keep the terminal clean."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@lru_cache(maxsize=2)
def _lexicon(directory: str, chars: str) -> tuple:
    """KenLM and the trie of dictionary spellings for a charset: built once (seconds), shared by
    every setting of the search. Returns (kenlm, trie, unknown word id)."""
    from flashlight.lib.text.decoder import SmearingMode, Trie
    from flashlight.lib.text.decoder.kenlm import KenLM
    from flashlight.lib.text.dictionary import Dictionary

    charset, d = Charset(chars), Path(directory)
    vocab, *_ = read_arpa(d / ARPA, max_order=1)
    index = {w: i for i, w in enumerate(vocab)}
    dictionary = Dictionary()
    for w in vocab:
        dictionary.add_entry(w)
    with _quiet_stderr():
        kenlm = KenLM(str(d / ARPA), dictionary)
    trie = Trie(len(charset), charset.chars.index(" ") + 1)
    start = kenlm.start(False)
    unk = index[UNK]
    entries = [(s, index.get(s.lower(), unk)) for s in spellings(read_words(d), charset)]
    entries += [(c, index.get(token(c), unk)) for c in charset.chars if c != " " and not c.isalpha()]
    for spelling, label in entries:
        trie.insert(charset.encode(spelling), label, kenlm.score(start, label)[1])
    trie.smear(SmearingMode.MAX)
    return kenlm, trie, unk


class LexiconSearch:
    """flashlight's LexiconDecoder over our CTC classes: words come from the dictionary (a trie of
    spellings), digits and punctuation are one-character words, and a piece of a letter string
    no entry completes may still be read as an unknown word at `unk_score` (names, codes)."""

    def __init__(self, directory: str, charset: Charset, width: int, lm_weight: float,
                 word_score: float, unk_score: float, token_beam: int, threshold: float):
        from flashlight.lib.text.decoder import CriterionType, LexiconDecoder, LexiconDecoderOptions

        if " " not in charset.chars:
            raise ValueError("the lm decoder needs a space in the charset to separate words")
        self.charset = charset
        self.space = charset.chars.index(" ") + 1
        # The decoder keeps pointers to the model and the trie: hold them as long as it lives.
        self.lm, self.trie, unk = _lexicon(directory, charset.chars)
        options = LexiconDecoderOptions(
            beam_size=width, beam_size_token=token_beam, beam_threshold=threshold, lm_weight=lm_weight,
            word_score=word_score, unk_score=unk_score, sil_score=0.0, log_add=False,
            criterion_type=CriterionType.CTC)
        self.decoder = LexiconDecoder(options, self.trie, self.lm, self.space, 0, unk, [], False)

    def __call__(self, logprobs: np.ndarray) -> str:
        from htr.decoding import from_path
        emissions = np.ascontiguousarray(logprobs, dtype=np.float32)
        T, C = emissions.shape
        path = np.array(self.decoder.decode(emissions.ctypes.data, T, C)[0].tokens[1:-1])  # one per frame
        # Once a word is complete the decoder cannot repeat its last letter: it puts a word
        # boundary on the frames where the ink still shows that letter. Read those as the letter.
        space = self.space
        for t in range(1, T):
            if path[t] == space and path[t - 1] not in (0, space) and logprobs[t, path[t - 1]] > logprobs[t, space]:
                path[t] = path[t - 1]
        return " ".join(from_path(path, logprobs, self.charset).text.split())   # a boundary may repeat


@lru_cache(maxsize=8)
def _search(directory: str, chars: str, width: int, lm_weight: float, word_score: float,
            unk_score: float, token_beam: int, threshold: float) -> LexiconSearch:
    return LexiconSearch(directory, Charset(chars), width, lm_weight, word_score, unk_score,
                         token_beam, threshold)


def lm_decode(logprobs: np.ndarray, charset: Charset, lm: str | os.PathLike | None = None,
              width: int = 48, lm_weight: float = 1.6, word_score: float = 0.0,
              unk_score: float = -6.0, token_beam: int = 8, threshold: float = 25.0):
    """Lexicon beam search with the word n-gram model in `lm` (a directory; default: shipped).
    lm_weight multiplies KenLM's log10 scores; word_score is added per word, unk_score per
    unknown word. The search structures are built once per setting and cached; the defaults
    were tuned on IAM-OnDB testset_v (benchmarks/decoders.py --tune)."""
    from htr.decoding import decoded_text
    search = _search(model_path(lm), charset.chars, width, lm_weight, word_score,
                     unk_score, token_beam, threshold)
    return decoded_text(search(logprobs), logprobs, charset)
