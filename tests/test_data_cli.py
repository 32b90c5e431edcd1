"""`htr data stats` and `htr data preview` on every dataset, good and bad input."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from datafixtures import (folder_root, iam_offline_root, real_forms, scans_root,  # noqa: F401
                          small_iam_ondb)
from htr.cli import main


def _stats(capsys, *args) -> dict:
    assert main(["data", "stats", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_stats_of_iam_ondb_count_lines_words_and_the_skipped_form(capsys, mini_iam_ondb):
    (mini_iam_ondb / "mismatch.txt").write_text("a08-551z\na01-020x\n")
    s = _stats(capsys, "--dataset", "iam-ondb", "--root", str(mini_iam_ondb), "--split", "mismatch")
    assert s["lines"] == s["samples"] == 6 and s["outside_charset"] == ""
    assert s["skipped"] == [{"id": "a08-551z", "reason": "9 stroke files but 8 CSR lines: cannot align them"}]
    assert s["words"] > s["lines"] and s["characters"] > 5 * s["words"] and "a" in s["charset"]


def test_stats_of_words_report_accepted_and_rejected_lines(capsys, small_iam_ondb):
    s = _stats(capsys, "--dataset", f"iam-ondb-words:root={small_iam_ondb}", "--split", "forms")
    assert s["lines_accepted"] + s["lines_rejected"] == 18 and s["lines"] == s["lines_accepted"]
    assert s["samples"] == s["words"] and len(s["skipped"]) == s["lines_rejected"]
    assert all(re.search(r"pieces(| of ink) for \d+ words|widths do not fit", row["reason"]) for row in s["skipped"])


def test_stats_of_a_folder_name_missing_and_unreadable_images(capsys, folder_root):
    s = _stats(capsys, "--dataset", "folder", "--root", str(folder_root))
    assert s["lines"] == 6
    skipped = {row["id"]: row["reason"] for row in s["skipped"]}
    assert "no such file" in skipped["img/missing.png"] and "not a readable image" in skipped["img/not-an-image.png"]
    assert main(["data", "stats", "--dataset", "folder", "--root", str(folder_root)]) == 0
    text = capsys.readouterr().out
    assert "skipped          6" in text and "img/missing.png" in text and "labels.tsv:9" in text


def test_stats_drop_unknown_names_the_item_and_the_character(capsys, folder_root):
    (folder_root / "labels.tsv").write_text("img/a.jpg\tKEVIN\nimg/b.png\tLÉNA\n")
    s = _stats(capsys, "--dataset", "folder", "--root", str(folder_root))
    assert s["outside_charset"] == "É" and s["lines"] == 2
    s = _stats(capsys, "--dataset", "folder", "--root", str(folder_root), "--drop-unknown")
    assert s["lines"] == 1 and s["skipped"] == [{"id": "img/b.png", "reason": "characters 'É' not in the charset"}]


def test_stats_of_iam_offline_with_options(capsys, iam_offline_root):
    s = _stats(capsys, "--dataset", "iam-offline", "--root", str(iam_offline_root),
               "--option", "level=words", "--option", "ok-only=1")
    assert s["dropped_er"] > 0 and s["samples"] == s["words"] and len(s["skipped"]) == 4


@pytest.mark.parametrize("args, message", [
    (["--dataset", "folder", "--root", "/nonexistent"], "manifest /nonexistent/labels.tsv not found"),
    (["--dataset", "nosuch", "--root", "."], "unknown dataset 'nosuch'"),
    (["--dataset", "folder", "--option", "oops"], "dataset option 'oops' is not key=value"),
])
def test_bad_arguments_give_a_clear_error(capsys, args, message):
    assert main(["data", "stats", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("htr: error: ") and message in err


def _sheet(path, width: int) -> np.ndarray:
    sheet = np.asarray(Image.open(path))
    assert sheet.ndim == 2 and sheet.shape[1] == width
    return sheet


def test_preview_draws_a_contact_sheet_for_every_dataset(capsys, tmp_path, small_iam_ondb, iam_offline_root,
                                                         folder_root, iam_ondb_root):
    runs = {
        "iam-ondb": ["--dataset", "iam-ondb", "--root", str(small_iam_ondb), "--split", "forms"],
        "iam-ondb-words": ["--dataset", "iam-ondb-words", "--root", str(small_iam_ondb), "--split", "forms"],
        "iam-offline": ["--dataset", "iam-offline", "--root", str(iam_offline_root), "--option", "level=lines"],
        "folder": ["--dataset", "folder", "--root", str(folder_root)],
        "synthetic": ["--dataset", f"synthetic:fonts={iam_ondb_root.parent / 'fonts'},n=20"],
    }
    for name, args in runs.items():
        out = tmp_path / f"{name}.png"
        assert main(["data", "preview", *args, "-n", "6", "-o", str(out), "--width", "900"]) == 0
        assert f"wrote {out}: 6 samples of {name}" in capsys.readouterr().out
        sheet = _sheet(out, 900)
        assert sheet.shape[0] > 64 and (sheet < 100).mean() > 0.005  # ink and labels, on white
        assert np.percentile(sheet, 50) > 200


def test_preview_of_more_samples_than_there_are_shows_them_all(capsys, tmp_path, folder_root):
    out = tmp_path / "all.png"
    assert main(["data", "preview", "--dataset", "folder", "--root", str(folder_root), "-n", "50", "-o", str(out)]) == 0
    assert "6 samples of folder" in capsys.readouterr().out


def test_preview_names_an_image_that_breaks_after_indexing(capsys, tmp_path, folder_root, caplog):
    """A file whose header reads but whose pixels do not is left off the sheet, by name."""
    png = (folder_root / "img" / "b.png").read_bytes()
    (folder_root / "img" / "b.png").write_bytes(png[: len(png) // 2])
    (folder_root / "labels.tsv").write_text("img/a.jpg\tKEVIN\nimg/b.png\tKEVIN\n")
    out = tmp_path / "s.png"
    assert main(["data", "preview", "--dataset", "folder", "--root", str(folder_root), "-o", str(out)]) == 0
    assert "1 samples of folder (1 unreadable)" in capsys.readouterr().out
    assert "img/b.png" in caplog.text
