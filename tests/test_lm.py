"""The n-gram model we estimate and write as ARPA, the `lm` decoder on it, the shipped model,
`htr lm build`, and spelling correction."""
from __future__ import annotations

import math
import string

import numpy as np
import pytest

from htr.charset import Charset
from htr.cli import main
from htr.decoding import DecodedWord, decode, greedy
from htr.lm import (ARPA, BOS, DEFAULT_DIR, EOS, UNK, WORDS, NGrams, build, count_ngrams, kneser_ney,
                    read_arpa, read_words, tokens)
from htr.spell import correct

CORPUS = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the red car",
          "my red car is fast", "the cat is red"]


def test_tokens_split_words_digits_and_punctuation():
    assert tokens("Mr. Foot's A4-17 car") == ["mr", ".", "foot", "'", "s", "a", "0", "-", "0", "0", "car"]


@pytest.mark.parametrize("order", [2, 3])
def test_kneser_ney_distributions_sum_to_one(order):
    counts = count_ngrams(CORPUS, order)
    vocab = {"zebra"}   # a word never seen in the text still gets some probability
    model = NGrams(kneser_ney(counts, vocab))
    words = {g[0] for g in model.prob if len(g) == 1}
    assert "zebra" in words and UNK in words and EOS in words
    histories = [(BOS,), ("the",), ("red",), ("zebra",), (BOS, "the"), ("the", "cat")][: 4 if order == 2 else 6]
    for h in histories:
        total = sum(model.p(h[-(order - 1):] + (w,)) for w in words)
        assert total == pytest.approx(1.0, abs=1e-9), h
    assert model.p(("the", "cat")) > model.p(("the", "log")) > model.p(("the", "zebra")) > 0


def test_kenlm_reads_our_arpa_with_the_same_probabilities(tmp_path):
    from flashlight.lib.text.decoder.kenlm import KenLM
    from flashlight.lib.text.dictionary import Dictionary

    stats = build(CORPUS, tmp_path, order=2, symspell=False)
    assert stats["ngrams"][2] > 0 and (tmp_path / ARPA).is_file() and (tmp_path / WORDS).is_file()
    vocab, uni, back, bigrams = read_arpa(tmp_path / ARPA)
    dictionary = Dictionary()
    for w in vocab:
        dictionary.add_entry(w)
    kenlm = KenLM(str(tmp_path / ARPA), dictionary)
    index = {w: i for i, w in enumerate(vocab)}
    model = NGrams(kneser_ney(count_ngrams(CORPUS, 2), set("0" + string.punctuation + string.ascii_lowercase)))
    for prev, word in [("the", "cat"), ("red", "car"), ("car", "mat"), ("dog", "q")]:   # seen and backed off
        state, _ = kenlm.score(kenlm.start(False), index[prev])
        _, log10p = kenlm.score(state, index[word])
        assert log10p == pytest.approx(math.log10(model.p((prev, word))), abs=1e-3), (prev, word)
        key = index[prev] * len(vocab) + index[word]
        ours = bigrams.get(key, back[index[prev]] + uni[index[word]])
        assert ours == pytest.approx(math.log(model.p((prev, word))), abs=1e-3)


def word_matrix(charset: Charset, spans: list[dict[str, float]], frames: int = 2) -> np.ndarray:
    """A CTC matrix reading one character position after another: each position is a few
    frames where the given characters share the probability, then one blank frame."""
    rows = []
    for probs in spans:
        row = np.full(len(charset), 1e-6)
        for c, p in probs.items():
            row[charset.encode(c)[0]] = p
        rows += [row] * frames
        blank = np.full(len(charset), 1e-6)
        blank[0] = 1.0
        rows.append(blank)
    m = np.array(rows)
    return np.log(m / m.sum(axis=1, keepdims=True)).astype(np.float32)


def spell_out(text: str, unsure: dict[int, dict[str, float]] | None = None) -> list[dict[str, float]]:
    return [(unsure or {}).get(i, {c: 1.0}) for i, c in enumerate(text)]


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny-lm")
    build(CORPUS * 3, out, order=2, symspell=False)
    return out


def test_lm_decoder_lets_the_language_decide_what_the_ink_leaves_open(tiny_lm):
    charset = Charset(" abcdefghijklmnopqrstuvwxyz0123456789-.")
    # "the red ca?": r or t are equally likely to the eye; "red car" is what the text says.
    lp = word_matrix(charset, spell_out("the red car", {10: {"t": 0.5, "r": 0.5}}), frames=1)
    assert decode(lp, charset, "lm", lm=tiny_lm, lm_weight=1.0).text == "the red car"
    lp = word_matrix(charset, spell_out("the red car", {10: {"t": 0.55, "r": 0.45}}), frames=1)
    assert decode(lp, charset, "lm", lm=tiny_lm, lm_weight=0.0).text == "the red cat"
    assert decode(lp, charset, "lm", lm=tiny_lm, lm_weight=1.0).text == "the red car"


def test_lm_decoder_keeps_numbers_and_codes(tiny_lm):
    charset = Charset(" abcdefghijklmnopqrstuvwxyz0123456789-.")
    lp = word_matrix(charset, spell_out("the cat a4-17"), frames=1)   # peaky, as CTC models are
    d = decode(lp, charset, "lm", lm=tiny_lm)
    assert d.text == "the cat a4-17"
    assert [w.text for w in d.words] == ["the", "cat", "a4-17"]


def test_shipped_model_is_small_and_readable():
    sizes = {p.name: p.stat().st_size for p in DEFAULT_DIR.iterdir()}
    assert set(sizes) == {ARPA, WORDS} and sum(sizes.values()) < 5e6
    words = read_words(DEFAULT_DIR)
    assert len(words) > 50_000 and "the" in words and "Gaitskell" in words   # symspell + IAM-OnDB train


def test_shipped_model_is_what_lm_build_makes_of_the_training_text(iam_ondb_root, tmp_path):
    spec = f"iam-ondb:root={iam_ondb_root},split=trainset"
    assert main(["lm", "build", "--data", spec, "--symspell", "-o", str(tmp_path)]) == 0
    for name in (ARPA, WORDS):
        assert (tmp_path / name).read_bytes() == (DEFAULT_DIR / name).read_bytes(), name


def test_lm_build_rejects_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"caf\xe9 au lait\n")
    assert main(["lm", "build", "--text", str(bad), "-o", str(tmp_path / "out")]) == 2
    assert "bad.txt: not UTF-8" in capsys.readouterr().err
    assert main(["lm", "build", "--text", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "out")]) == 2
    assert "missing.txt" in capsys.readouterr().err
    assert main(["lm", "build", "--order", "9", "--symspell", "-o", str(tmp_path / "out")]) == 2
    assert "--order must be 1 to 5" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no language model here"):
        decode(np.zeros((3, 4), np.float32), Charset("ab "), "lm", lm=tmp_path)


def test_spell_corrects_unsure_unknown_words_only():
    charset = Charset()
    d = greedy(word_matrix(charset, spell_out("Mr. Gaitskel, recieved THW 1959 lettr")), charset)
    d.words = [DecodedWord(w.text, w.start, w.end, conf) for w, conf in zip(d.words, [.5, .5, .5, .5, .5, .99])]
    fixed = correct(d)
    assert fixed.text == "Mr. Gaitskell, received THE 1959 lettr"   # the sure "lettr" stays
    assert [w.text for w in fixed.words] == fixed.text.split()
    assert [w.confidence for w in fixed.words] == [w.confidence for w in d.words]
    lp = word_matrix(charset, spell_out("teh cat"), frames=1)
    assert decode(lp, charset, "greedy", spell=True).text == "teh cat"   # read with confidence 1
