"""Calibrated word confidences: `htr calibrate` fits them on real lines and writes them into a
model; reading applies them; the shipped model's calibration makes its confidences honest on
writers it never saw."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import htr
from htr.calibration import calibrate, expected_calibration_error, fit, known, word_outcomes
from htr.cli import main
from htr.datasets import open_dataset
from htr.recognizer import Recognizer

MODEL = Path(htr.__file__).parent / "models" / "default"


def test_calibrate_writes_a_fit_that_reading_applies(mini_iam_ondb, tmp_path, capsys):
    model = tmp_path / "model"
    shutil.copytree(MODEL, model)
    config = json.loads((model / "config.json").read_text())
    config.pop("calibration", None)
    (model / "config.json").write_text(json.dumps(config))
    args = ["calibrate", "--model", str(model), "--dataset", "iam-ondb", "--root", str(mini_iam_ondb),
            "--split", "mini", "--decoder", "greedy"]
    assert main(args + ["--write"]) == 0
    report = json.loads(capsys.readouterr().out)
    written = json.loads((model / "config.json").read_text())
    assert written["calibration"] == {"greedy": report["calibration"]}
    assert {k: v for k, v in written.items() if k != "calibration"} == config   # nothing else touched
    assert report["words"] >= 20 and report["ece"] < report["ece_raw"]

    line = open_dataset("iam-ondb", root=mini_iam_ondb, split="minival")
    recognizer = Recognizer(model)
    raw, familiar, _ = word_outcomes(recognizer, line, "greedy", limit=1)   # the decoder's own confidences
    read = recognizer.read_lines([line[0].image])[0].words
    assert len(read) == len(raw) > 3 and familiar.any()
    assert [w.confidence for w in read] == pytest.approx(calibrate(raw, familiar, report["calibration"]), abs=1e-4)


def test_fit_refuses_too_few_or_one_sided_outcomes():
    with pytest.raises(ValueError, match="at least 20"):
        fit(np.full(5, 0.9), np.ones(5, bool), np.array([True, False, True, True, False]))
    with pytest.raises(ValueError, match="some right and some wrong"):
        fit(np.linspace(0.1, 0.99, 50), np.ones(50, bool), np.ones(50, bool))


def test_calibration_keeps_the_order_of_words_alike_in_being_known():
    raw = np.linspace(0.01, 0.999, 200)
    for params in Recognizer(MODEL).calibration.values():
        for familiar in (True, False):
            out = calibrate(raw, np.full(200, familiar), params)
            assert np.all(np.diff(out) > 0) and np.all((out > 0) & (out < 1))
        assert np.all(calibrate(raw, np.ones(200, bool), params) > calibrate(raw, np.zeros(200, bool), params))


def test_words_of_the_word_list_are_known_with_their_capitals_and_punctuation():
    assert known("the") and known("The") and known("THE") and known("Brown,") and known("(said")
    assert not known("tHe") and not known("xqzt") and not known("1984") and not known("--")


def test_shipped_calibration_is_honest_on_unseen_writers(iam_ondb_root):
    """Fitted on testset_v forms 150: (not trained on), checked on testset_t: greedy words read
    at 0.6 were right a third of the time; calibrated, the confidence follows the hit rate."""
    recognizer = Recognizer(MODEL)
    assert set(recognizer.calibration) == {"greedy", "beam", "wordbeam", "lm"}
    dataset = open_dataset("iam-ondb", root=iam_ondb_root, split="testset_t")
    conf, familiar, right = word_outcomes(recognizer, dataset, "greedy", limit=300)
    raw_ece = expected_calibration_error(conf, right)
    ece = expected_calibration_error(calibrate(conf, familiar, recognizer.calibration["greedy"]), right)
    assert raw_ece > 0.1 and ece < 0.05
