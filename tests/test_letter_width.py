"""Narrow handwriting read a second time, stretched to the letter width the model reads best
(`frames_per_char` in the model's config.json; docs/model.md, "Letter width"), on real lines."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import htr
from htr.cli import main
from htr.cli.eval import evaluate
from htr.datasets import open_dataset
from htr.decoding import greedy
from htr.metrics import cer
from htr.recognizer import Recognizer, characters

MODEL = Path(htr.__file__).parent / "models" / "default"


@pytest.fixture(scope="module")
def lines(iam_ondb_root):
    data = open_dataset("iam-ondb", root=iam_ondb_root, split="testset_t")
    return [data[i] for i in range(0, 240, 12)]   # 20 lines of several writers


def test_characters_counts_what_greedy_decoding_reads(lines):
    rec = Recognizer(MODEL, reread=False)
    for lp in rec.logprobs([s.image for s in lines]):
        assert characters(lp) == len(greedy(lp, rec.charset).text)


def test_cramped_writing_reads_better_with_the_second_reading(lines):
    """The same lines squeezed to 60% of their width, as a cramped writer would write them: the
    second reading gets back much of what squeezing cost."""
    squeezed = [cv2.resize(s.image, (int(s.image.shape[1] * 0.6), s.image.shape[0]), interpolation=cv2.INTER_AREA)
                for s in lines]
    refs = [s.text for s in lines]
    once = [ln.text for ln in Recognizer(MODEL, reread=False).read_lines(squeezed, "greedy")]
    twice = [ln.text for ln in Recognizer(MODEL).read_lines(squeezed, "greedy")]
    assert cer(refs, twice) < 0.8 * cer(refs, once)


def test_only_narrow_lines_are_read_again(lines, monkeypatch):
    """A line whose first reading gives it the model's letter width or more is read once, and
    its reading is the same as without rereading; the others are read twice."""
    rec = Recognizer(MODEL)
    images = [s.image for s in lines]
    first = Recognizer(MODEL, reread=False).logprobs(images)
    narrow = [len(lp) / max(characters(lp), 1) < rec.frames_per_char / 1.1 for lp in first]
    assert 0 < sum(narrow) < len(lines)
    calls = []
    run = rec._run
    monkeypatch.setattr(rec, "_run", lambda prepared: calls.append(len(prepared)) or run(prepared))
    again = rec.logprobs(images)
    assert calls == [len(lines), sum(narrow)]
    for lp, lp0, n in zip(again, first, narrow):
        assert (len(lp) > len(lp0)) if n else np.array_equal(lp, lp0)


def test_models_without_a_letter_width_read_once(lines, tmp_path):
    rec = Recognizer(MODEL)
    assert rec.frames_per_char > 0   # the shipped model has one
    config = rec.config.copy()
    config.pop("frames_per_char")
    (tmp_path / "model.onnx").symlink_to(MODEL / "model.onnx")
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert Recognizer(tmp_path).frames_per_char == 0
    x = [s.image for s in lines[:4]]
    a, b = Recognizer(tmp_path).logprobs(x), Recognizer(MODEL, reread=False).logprobs(x)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))


def test_eval_single_read_reads_each_line_once(mini_iam_ondb, capsys):
    data = open_dataset("iam-ondb", root=mini_iam_ondb, split="minival")
    args = ["eval", "--dataset", "iam-ondb", "--root", str(mini_iam_ondb), "--split", "minival", "--json"]
    results = []
    for extra, reread in (([], True), (["--single-read"], False)):
        assert main(args + extra) == 0
        got = json.loads(capsys.readouterr().out)
        want = evaluate(Recognizer(MODEL, reread=reread), data, "greedy", 0, "line")
        assert (got["cer"], got["wer"], got["lines"]) == (want["cer"], want["wer"], want["lines"])
        results.append(got["cer"])
    assert results[0] != results[1]   # this form has narrow lines: the second reading changes them


def test_read_single_read(lines, tmp_path, capsys):
    """`htr.read(..., reread=False)` and `htr read --single-read` read each line once."""
    narrow = cv2.resize(lines[0].image, (int(lines[0].image.shape[1] * 0.6), lines[0].image.shape[0]),
                        interpolation=cv2.INTER_AREA)
    once = Recognizer(MODEL, reread=False).read_lines([narrow], "greedy")[0].text
    twice = Recognizer(MODEL).read_lines([narrow], "greedy")[0].text
    assert once != twice
    assert htr.read(narrow, decoder="greedy", layout="line", reread=False).text == once
    assert htr.read(narrow, decoder="greedy", layout="line").text == twice
    cv2.imwrite(str(tmp_path / "narrow.png"), narrow)
    args = ["read", str(tmp_path / "narrow.png"), "--decoder", "greedy", "--layout", "line"]
    for extra, want in (([], twice), (["--single-read"], once)):
        assert main(args + extra) == 0
        assert capsys.readouterr().out.strip() == want
