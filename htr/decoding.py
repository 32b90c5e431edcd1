"""From CTC log-probabilities to text: the decoders and what they return.

Input everywhere: `logprobs`, a float32 array (T, C) of log-softmax outputs, class 0 = blank,
class i = charset.chars[i-1]. Output: a `Decoded` with the text, a confidence for the line and
each word, and the frame span of each word (so callers can place word boxes on the image).

Decoders, cheapest first (docs/decoding.md compares them):
- `greedy`: best path, the most likely class per frame.
- `beam`: CTC prefix beam search; sums all paths of a text instead of trusting one.
- `wordbeam`: the same search with words restricted to a dictionary and a word bigram model
  (`htr.wordbeam`); digits and punctuation stay free.
- `lm`: flashlight-text's lexicon beam search with a KenLM word n-gram model (`htr.lm`).
After any of them `decode` mends words that mix kinds of characters (`htr.consistency`; off
with `mend=False`), and `spell=True` corrects unsure out-of-dictionary words (`htr.spell`).
"""
from __future__ import annotations

import heapq
import importlib
import inspect
import math
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from typing import Callable, Mapping, Protocol

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


# -- from a frame path to a Decoded ------------------------------------------------------------

def char_runs(path: np.ndarray) -> list[tuple[int, int, int]]:
    """(class, first frame, last frame) of each character a frame path reads as (CTC: a run of
    one class is one character; blanks separate repeats and are dropped)."""
    path = np.asarray(path)
    if len(path) == 0:
        return []
    starts = np.flatnonzero(np.r_[True, path[1:] != path[:-1]])
    ends = np.r_[starts[1:] - 1, len(path) - 1]
    return [(k, s, e) for k, s, e in zip(path[starts].tolist(), starts.tolist(), ends.tolist()) if k != 0]


def from_path(path: np.ndarray, logprobs: np.ndarray, charset: Charset) -> Decoded:
    """Read a frame-level path (one class per frame) the CTC way: repeats merged, blanks dropped.

    Each character spans the frames of its run and is as sure as its most confident frame; a
    word is as sure as its least sure character; the line's confidence is the path probability's
    geometric mean per frame, which stays comparable across line lengths.
    """
    T = len(path)
    if T == 0:
        return Decoded("", 0.0)
    path_lp = logprobs[np.arange(T), path]
    runs = char_runs(path)
    space = charset.chars.index(" ") + 1 if " " in charset.chars else -1
    while runs and runs[0][0] == space:
        runs = runs[1:]
    while runs and runs[-1][0] == space:
        runs = runs[:-1]
    chars = [charset.chars[k - 1] for k, _, _ in runs]
    bounds = np.array([b for _, s, e in runs for b in (s, e + 1)], dtype=np.int64)
    peaks = np.maximum.reduceat(np.append(path_lp, 0.0), bounds)[::2] if runs else np.zeros(0)
    conf = np.exp(peaks.astype(np.float64)).tolist()   # each character's most confident frame
    words, start = [], None
    for k, c in enumerate(chars + [" "]):
        if c != " " and start is None:
            start = k
        elif c == " " and start is not None:
            words.append(DecodedWord("".join(chars[start:k]), runs[start][1], runs[k - 1][2],
                                     min(conf[start:k])))
            start = None
    line_conf = math.exp(float(path_lp.mean()))
    return Decoded("".join(chars), line_conf, words)


def align(logprobs: np.ndarray, labels: list[int]) -> np.ndarray:
    """Most likely frame path (Viterbi) that reads as `labels`: where each character was written.

    States are the labels with blanks around them (b l1 b l2 ... b); a state is entered from
    itself, the one before, or two before when that skips a blank between different labels.
    """
    T = logprobs.shape[0]
    if T == 0:
        if labels:
            raise ValueError(f"cannot align {len(labels)} characters to 0 frames")
        return np.zeros(0, dtype=np.int64)
    ext = np.zeros(2 * len(labels) + 1, dtype=np.int64)
    ext[1::2] = labels
    S = len(ext)
    skip = np.zeros(S, dtype=bool)
    skip[3::2] = ext[3::2] != ext[1:-2:2]
    no_skip = ~skip
    score = np.full(S, -np.inf)
    score[:2] = logprobs[0, ext[:2]]
    back = np.zeros((T, S), dtype=np.int8)   # how many states back each best predecessor lies
    one, two = np.full(S, -np.inf), np.full(S, -np.inf)   # scores of the states 1 and 2 back
    for t in range(1, T):
        one[1:] = score[:-1]
        two[2:] = score[:-2]
        two[no_skip] = -np.inf
        best = np.maximum(score, np.maximum(one, two))
        back[t] = np.where(best == score, 0, np.where(best == one, 1, 2))
        score = best + logprobs[t, ext]
    s = S - 1 if S == 1 or score[S - 1] >= score[S - 2] else S - 2
    if not np.isfinite(score[s]):
        raise ValueError(f"cannot align {len(labels)} characters to {T} frames")
    states = np.empty(T, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        states[t] = s
        s -= int(back[t, s])
    return ext[states]


def decoded_text(text: str, logprobs: np.ndarray, charset: Charset) -> Decoded:
    """The `Decoded` of a text a search found: its characters placed by forced alignment."""
    return from_path(align(logprobs, charset.encode(text)), logprobs, charset)


# -- greedy ------------------------------------------------------------------------------------

def greedy(logprobs: np.ndarray, charset: Charset) -> Decoded:
    """Best path: the most likely class per frame, repeats merged, blanks removed."""
    return from_path(logprobs.argmax(axis=1), logprobs, charset)


# -- prefix beam search ------------------------------------------------------------------------

class Language(Protocol):
    """What a beam search asks of a language: may the text grow by this character, and how much
    likelier or less likely does that make it. A state stands for everything the language needs
    to know about the text so far; scores are natural-log bonuses; None refuses."""

    def start(self) -> object: ...
    def step(self, state: object, char: str) -> tuple[object, float] | None: ...
    def finish(self, state: object) -> float | None: ...
    def open_word(self, state: object) -> str: ...   # the unfinished word the text ends in, if any

    bound: float   # no step's bonus exceeds this: lets the search skip hopeless growths unasked


MISSING = object()   # a child not made yet (None is a child the language refused)


class Node:
    """A text in the search with its language state; each child is made once, on first need."""
    __slots__ = ("text", "last", "state", "score", "weight", "children")

    def __init__(self, text: str, last: int, state: object, score: float):
        self.text, self.last, self.state, self.score = text, last, state, score
        self.weight = math.exp(score)   # the language's factor in the ranking
        self.children: dict[int, Node | None] = {}


def prefix_beam_search(logprobs: np.ndarray, charset: Charset, width: int = 16, prune: float = 1e-3,
                       language: Language | None = None, threshold: float = 12.0) -> str:
    """CTC prefix beam search: the likeliest text, summing all frame paths that read as it.

    A text's paths are split by how they end: in a blank or in its last character (only the
    former may repeat that character). The beam keeps the `width` likeliest of these (text,
    ending) hypotheses; paths of one text that meet again are summed. With width 1 a single
    path survives, which is the best path (`greedy`). Per frame a text grows only by classes
    above `prune` (the frame's best class always qualifies), and a hypothesis more than
    `threshold` (natural log) below the best is dropped. Probabilities are rescaled every frame
    so that long lines cannot underflow. A `language` may refuse or weigh a growth.
    """
    if width < 1:
        raise ValueError(f"beam width must be at least 1, got {width}")
    probs = np.exp(logprobs.astype(np.float64))
    T, C = probs.shape
    prune = min(prune, 0.5 / C)
    frames, classes = np.nonzero(probs[:, 1:] > prune)
    bounds = np.searchsorted(frames, np.arange(T + 1)).tolist()
    classes = (classes + 1).tolist()
    chars = charset.chars

    def grow(node: Node, k: int) -> Node | None:
        char = chars[k - 1]
        if language is None:
            return Node(node.text + char, k, None, 0.0)
        stepped = language.step(node.state, char)
        if stepped is None:
            return None
        state, bonus = stepped
        return Node(node.text + char, k, state, node.score + bonus)

    root = Node("", 0, language.start() if language else None, 0.0)
    beams: dict[Node, list[float]] = {root: [1.0, 0.0]}   # node -> [p ending in blank, p ending in char]
    lift = math.exp(language.bound) if language else 1.0
    drop = math.exp(-threshold)
    for t in range(T):
        row = probs[t].tolist()
        blank = row[0]
        cands = [(k, row[k]) for k in classes[bounds[t]:bounds[t + 1]]]
        # First the texts that stay as they are: the width-th best of them is a floor that a
        # growth must reach to enter the beam, so most growths need no language step at all.
        nxt: dict[Node, list[float]] = {}
        for node, (pb, pnb) in beams.items():
            nxt[node] = [(pb + pnb) * blank, pnb * row[node.last] if node.last else 0.0]
        stays = heapq.nlargest(width, [p * node.weight for node, acc in nxt.items() for p in acc])
        floor = max(stays[-1] if len(stays) == width else 0.0, stays[0] * drop)
        for node, (pb, pnb) in beams.items():
            total = pb + pnb
            last = node.last
            children = node.children
            need = floor / (node.weight * lift) if node.weight > 0.0 else math.inf
            for k, p in cands:
                grown = (pb if k == last else total) * p
                if grown == 0.0:
                    continue
                kid = children.get(k, MISSING)
                if kid is MISSING:
                    if grown < need:   # cannot make the beam, whatever the language says
                        continue
                    kid = children[k] = grow(node, k)
                if kid is None:
                    continue
                kacc = nxt.get(kid)
                if kacc is None:
                    if grown * kid.weight < floor:
                        continue
                    kacc = nxt[kid] = [0.0, 0.0]
                kacc[1] += grown
        ranked = heapq.nlargest(width, ((p * node.weight, p, node, end) for node, acc in nxt.items()
                                        for end, p in enumerate(acc) if p > 0.0 and p * node.weight >= floor),
                                key=itemgetter(0))
        if not ranked:   # nothing possible is left (a language refused every growth): stop here
            break
        scale = 1.0 / ranked[0][1]
        beams = {}
        for _, p, node, end in ranked:
            beams.setdefault(node, [0.0, 0.0])[end] = p * scale
    return _best_final(beams, language)


def _best_final(beams: dict[Node, list[float]], language: Language | None) -> str:
    """The likeliest text once the line is over; a language may refuse an unfinished word."""
    best, best_score = None, -math.inf
    for node, (pb, pnb) in beams.items():
        end = 0.0 if language is None else language.finish(node.state)
        if end is None or pb + pnb <= 0.0:
            continue
        score = math.log(pb + pnb) + node.score + end
        if score > best_score:
            best, best_score = node, score
    if best is None:   # every text ends inside a word no entry completes: keep the likeliest,
        best = max(beams, key=lambda n: sum(beams[n]) * n.weight)   # without that open word
        cut = len(language.open_word(best.state)) if language is not None else 0
        return best.text[:len(best.text) - cut].strip(" ")
    return best.text.strip(" ")


def beam(logprobs: np.ndarray, charset: Charset, width: int = 16, prune: float = 1e-3) -> Decoded:
    """Vanilla CTC prefix beam search (no dictionary, no language model)."""
    return decoded_text(prefix_beam_search(logprobs, charset, width, prune), logprobs, charset)


# -- registry ----------------------------------------------------------------------------------

# name -> "module:function"; the dictionary decoders are imported on first use only.
DECODERS: dict[str, str] = {
    "greedy": "htr.decoding:greedy", "beam": "htr.decoding:beam",
    "wordbeam": "htr.wordbeam:wordbeam", "lm": "htr.lm:lm_decode"}


def decoder_function(name: str) -> Callable[..., Decoded]:
    return _decoder(name)[0]


@lru_cache(maxsize=None)
def _decoder(name: str) -> tuple[Callable[..., Decoded], Mapping[str, inspect.Parameter]]:
    """A decoder's function and its parameters, looked up once, not per line."""
    if name not in DECODERS:
        raise ValueError(f"unknown decoder {name!r}; choose from {', '.join(DECODERS)}")
    module, _, function = DECODERS[name].partition(":")
    fn = getattr(importlib.import_module(module), function)
    return fn, inspect.signature(fn).parameters


def decode(logprobs: np.ndarray, charset: Charset, decoder: str = "greedy", spell: bool = False,
           mend: bool = True, **options) -> Decoded:
    """Decode one line. `options` go to the decoder (width=, lm_weight=, lm=DIR, ...); an option
    it does not take is a ValueError naming it. `mend` then fixes words that mix capitals with
    small letters or digits and unsure spaces between capitals (htr.consistency); `spell=True`
    corrects the out-of-dictionary words the model was unsure of (htr.spell), with the word list
    of `lm` when given."""
    fn, params = _decoder(decoder)
    logprobs = np.asarray(logprobs, dtype=np.float32)
    if logprobs.ndim != 2 or logprobs.shape[1] != len(charset):
        raise ValueError(f"logprobs must be (frames, {len(charset)}) for this charset, got {logprobs.shape}")
    lm = options.get("lm")
    if spell and "lm" not in params:   # the word list is the corrector's alone here
        options.pop("lm", None)
    unknown = [k for k in options if k not in params or k in ("logprobs", "charset")]
    if unknown:
        raise ValueError(f"decoder {decoder!r} takes no option {', '.join(map(repr, unknown))} "
                         f"(it takes: {', '.join(list(params)[2:]) or 'none'})")
    result = fn(logprobs, charset, **options)
    if mend:
        from htr.consistency import consistent
        result = consistent(result, logprobs, charset)
    if spell:
        from htr.spell import correct
        result = correct(result, lm)
    return result
