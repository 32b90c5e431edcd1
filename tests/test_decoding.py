"""Decoders on CTC matrices whose right answer is known by construction, and their properties."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafixtures import scans_root  # noqa: F401  (a fixture)

from htr.charset import Charset
from htr.decoding import DECODERS, align, beam, decode, greedy, prefix_beam_search

AB = Charset("ab ")   # classes: 0 blank, 1 a, 2 b, 3 space


def matrix(rows: list[list[float]]) -> np.ndarray:
    """Log-probabilities from rows of probabilities (each normalized)."""
    p = np.asarray(rows, dtype=np.float64) + 1e-12
    return np.log(p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def random_logprobs(seed: int, frames: int, classes: int, sharpness: float) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(frames, classes)) * sharpness
    return (x - np.log(np.exp(x).sum(axis=1, keepdims=True))).astype(np.float32)


def exact_best_text(logprobs: np.ndarray, charset: Charset) -> str:
    """The most probable text by summing every frame path (brute force, tiny matrices only)."""
    totals: dict[str, float] = {}
    T, C = logprobs.shape
    for path in itertools.product(range(C), repeat=T):
        labels = [k for i, k in enumerate(path) if k and (i == 0 or k != path[i - 1])]
        text = charset.decode(labels)
        totals[text] = totals.get(text, 0.0) + math.exp(sum(logprobs[t, k] for t, k in enumerate(path)))
    return max(totals, key=totals.get).strip(" ")   # the decoders strip spaces at the ends too


def test_greedy_merges_repeats_and_drops_blanks():
    #              a    a    -    a    b    b    ' '  b    -
    lp = matrix([[0, 1, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0],
                 [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0]])
    d = greedy(lp, AB)
    assert d.text == "aab b"
    assert [(w.text, w.start, w.end) for w in d.words] == [("aab", 0, 5), ("b", 7, 7)]
    assert d.confidence == pytest.approx(1.0, abs=1e-6)


def test_confidence_follows_the_least_sure_character():
    lp = matrix([[0, .9, .1, 0], [.8, .2, 0, 0], [0, 0, .6, .4], [0, 0, 0, 1], [0, .7, 0, .3]])
    d = greedy(lp, AB)
    assert d.text == "ab a"
    assert d.words[0].confidence == pytest.approx(0.6, abs=1e-4)   # "b" was read at 0.6
    assert d.words[1].confidence == pytest.approx(0.7, abs=1e-4)
    assert d.confidence == pytest.approx((.9 * .8 * .6 * 1 * .7) ** (1 / 5), abs=1e-4)


def test_beam_sums_paths_where_greedy_trusts_one():
    # Each frame: blank 0.6, "a" 0.4. Best path: blank blank -> "" (0.36). But "a" is read by
    # a-a, a-blank and blank-a: 0.16 + 0.24 + 0.24 = 0.64, the likelier text.
    lp = matrix([[.6, .4, 0, 0], [.6, .4, 0, 0]])
    assert greedy(lp, AB).text == ""
    assert beam(lp, AB, width=4).text == "a"
    assert exact_best_text(lp, AB) == "a"


def test_beam_and_greedy_disagree_on_a_line_of_three_frames():
    # Frames: b | blank .2, a .5, b .3 | blank .3, a .3, b .4. Best path b-a-b reads "bab" (0.2),
    # but "ba" is read by b-a-a and b-a-blank (0.15 + 0.15 = 0.3), and "b" by four paths (0.27).
    lp = matrix([[0, 0, 1, 0], [.2, .5, .3, 0], [.3, .3, .4, 0]])
    assert greedy(lp, AB).text == "bab"
    assert beam(lp, AB, width=8).text == "ba"
    assert exact_best_text(lp, AB) == "ba"


def test_align_places_each_character_where_it_was_written():
    lp = matrix([[1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]])
    assert align(lp, AB.encode("aab")).tolist() == [0, 1, 1, 0, 1, 2]
    with pytest.raises(ValueError, match="cannot align 4 characters to 3 frames"):
        align(lp[:3], AB.encode("abab"))


def test_every_decoder_handles_an_empty_line():
    lp = np.zeros((0, len(AB)), dtype=np.float32)
    assert greedy(lp, AB).text == "" and beam(lp, AB).text == ""


def test_decode_rejects_bad_requests_by_name():
    lp = matrix([[0, 1, 0, 0]])
    with pytest.raises(ValueError, match="unknown decoder 'best'"):
        decode(lp, AB, "best")
    with pytest.raises(ValueError, match="takes no option 'width'"):
        decode(lp, AB, "greedy", width=3)
    with pytest.raises(ValueError, match=r"must be \(frames, 4\)"):
        decode(np.zeros((3, 7)), AB, "greedy")
    with pytest.raises(ValueError, match="beam width must be at least 1"):
        decode(lp, AB, "beam", width=0)
    assert set(DECODERS) == {"greedy", "beam", "wordbeam", "lm"}


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), frames=st.integers(1, 40), sharpness=st.floats(0.5, 6.0))
def test_beam_of_width_one_is_greedy(seed, frames, sharpness):
    lp = random_logprobs(seed, frames, len(AB), sharpness)
    assert beam(lp, AB, width=1).text == greedy(lp, AB).text


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), frames=st.integers(1, 6))
def test_wide_beam_finds_the_most_probable_text(seed, frames):
    lp = random_logprobs(seed, frames, len(AB), 2.0)
    assert prefix_beam_search(lp, AB, width=10_000, prune=0.0, threshold=math.inf) == exact_best_text(lp, AB)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), frames=st.integers(0, 60),
       chars=st.lists(st.sampled_from("xyz7.- "), min_size=1, max_size=6, unique=True).map("".join),
       name=st.sampled_from(["greedy", "beam"]), width=st.integers(1, 8))
def test_output_is_made_of_charset_characters(seed, frames, chars, name, width):
    charset = Charset(chars)
    lp = random_logprobs(seed, frames, len(charset), 3.0)
    d = decode(lp, charset, name, **({"width": width} if name == "beam" else {}))
    assert set(d.text) <= set(chars)
    assert d.text == d.text.strip(" ")
    assert " ".join(w.text for w in d.words) == " ".join(d.text.split())
    assert all(0.0 <= w.confidence <= 1.0 and 0 <= w.start <= w.end < frames for w in d.words)


# -- mending mixed kinds (htr.consistency) -----------------------------------------------------

KINDS = Charset(" AGHOUgo6")   # classes: 0 blank, 1 space, 2 A, 3 G, 4 H, 5 O, 6 U, 7 g, 8 o, 9 6


def frames(*rows: dict[str, float]) -> np.ndarray:
    """Log-probabilities from frames given as {character: probability} ("-" is the blank)."""
    out = []
    for row in rows:
        p = [0.0] * len(KINDS)
        for c, v in row.items():
            p[0 if c == "-" else KINDS.encode(c)[0]] = v
        out.append(p)
    return matrix(out)


def test_a_digit_in_a_word_of_capitals_becomes_the_likeliest_capital():
    lp = frames({"H": 1}, {"-": 1}, {"U": 1}, {"-": 1}, {"6": .6, "G": .3, "g": .1}, {"-": 1}, {"O": 1})
    assert decode(lp, KINDS, mend=False).text == "HU6O"
    mended = decode(lp, KINDS)
    assert mended.text == "HUGO"
    assert [(w.text, w.start, w.end) for w in mended.words] == [("HUGO", 0, 6)]


def test_a_sure_digit_stays():
    lp = frames({"H": 1}, {"-": 1}, {"U": 1}, {"-": 1}, {"6": .999, "G": .001}, {"-": 1}, {"O": 1})
    assert decode(lp, KINDS).text == "HU6O"   # G is 999 times less likely: more than e^4


def test_small_letters_in_a_word_of_capitals_become_capitals_but_not_in_a_capitalized_word():
    caps = frames({"H": 1}, {"-": 1}, {"O": 1}, {"-": 1}, {"g": .5, "G": .4, "6": .1}, {"-": 1}, {"A": 1})
    assert decode(caps, KINDS).text == "HOGA"
    word = frames({"H": 1}, {"-": 1}, {"o": 1}, {"-": 1}, {"g": .5, "G": .4}, {"-": 1}, {"o": 1})
    assert decode(word, KINDS).text == "Hogo"


def test_an_unsure_space_between_capitals_is_letter_spacing():
    def line(space: float) -> np.ndarray:
        return frames({"H": 1}, {"-": 1}, {"U": 1}, {" ": space, "-": 1 - space}, {"G": 1}, {"-": 1}, {"O": 1})
    assert decode(line(0.6), KINDS, mend=False).text == "HU GO"
    assert decode(line(0.6), KINDS).text == "HUGO"
    assert decode(line(0.95), KINDS).text == "HU GO"   # a sure space is a space


def test_mending_lowers_the_shipped_models_cer_on_real_name_scans(scans_root, capsys):  # noqa: F811
    import json

    from htr.cli import main

    def measure(*flags: str) -> dict:
        assert main(["eval", "--dataset", "folder", "--root", str(scans_root), "--json", *flags]) == 0
        return json.loads(capsys.readouterr().out)
    mended, as_read = measure(), measure("--no-mend")
    assert mended["lines"] == as_read["lines"] == 64
    assert mended["cer"] < as_read["cer"] - 0.02 and mended["wer"] < as_read["wer"]
