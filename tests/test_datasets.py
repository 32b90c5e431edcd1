"""The datasets on real data and on broken copies of it: every bad item is named, nothing else is lost."""
from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest
from PIL import Image

from datafixtures import (folder_root, form_of, iam_offline_root, make_iam_ondb, real_forms,  # noqa: F401
                          scans_root, small_iam_ondb)
from htr.charset import Charset
from htr.datasets import DatasetError, open_dataset, open_spec
from htr.datasets.iam_ondb import IamOnDB
from htr.datasets.iam_ondb_words import IamOnDBWords, clusters, split_line


def _has_ink(image: np.ndarray) -> bool:
    return image.dtype == np.uint8 and image.ndim == 2 and image.min() < 128 < np.percentile(image, 50)


# -- IAM-OnDB lines ---------------------------------------------------------------------------
def test_iam_ondb_archives_and_trees_give_the_same_lines(small_iam_ondb, real_forms, tmp_path):
    strokes, ascii_files = real_forms
    from_archives = IamOnDB(small_iam_ondb, "forms")
    assert len(from_archives) == len(strokes) and not from_archives.skipped
    tree = tmp_path / "tree"
    for name, data in {**strokes, **ascii_files}.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    shutil.copy(small_iam_ondb / "forms.txt", tree)
    from_tree = IamOnDB(tree, "forms")
    assert from_tree.ids == from_archives.ids and from_tree.labels == from_archives.labels
    sample = from_tree.sample(0, np.random.default_rng(0))
    assert sample.image.shape[0] == 64 and _has_ink(sample.image) and sample.text == from_tree.labels[0]


def test_iam_ondb_skips_the_real_mismatched_form(mini_iam_ondb):
    """a08-551z has 9 stroke files but 8 CSR lines in the real archive: skipped, the other form kept."""
    (mini_iam_ondb / "mismatch.txt").write_text("a08-551z\na01-020x\n")
    d = IamOnDB(mini_iam_ondb, "mismatch")
    assert d.skipped == [("a08-551z", "9 stroke files but 8 CSR lines: cannot align them")]
    assert len(d) == 6 and all(i.startswith("a01-020x-") for i in d.ids)


def test_iam_ondb_forms_slice_keeps_whole_forms(small_iam_ondb):
    """forms=A:B keeps those forms of the split list, every line of each, and nothing else."""
    whole = IamOnDB(small_iam_ondb, "forms")
    head, tail = IamOnDB(small_iam_ondb, "forms", forms="0:1"), IamOnDB(small_iam_ondb, "forms", forms="1:")
    assert len(head.forms) == 1 and len(tail.forms) == len(whole.forms) - 1
    assert all(i.startswith(head.forms[0] + "-") for i in head.ids)
    assert head.ids + tail.ids == whole.ids and head.labels + tail.labels == whole.labels
    with pytest.raises(DatasetError, match="not a slice"):
        IamOnDB(small_iam_ondb, "forms", forms="first")


def test_truncated_archive_stops_with_a_clear_error(tmp_path, real_forms):
    root = make_iam_ondb(tmp_path / "t", *real_forms)
    archive = root / "lineStrokes.tar.gz"
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(DatasetError, match=r"lineStrokes\.tar\.gz is truncated or corrupt"):
        IamOnDB(root, "forms")


def test_broken_and_empty_stroke_files_are_skipped_by_name(tmp_path, real_forms, caplog):
    strokes, ascii_files = dict(real_forms[0]), real_forms[1]
    names = sorted(strokes)
    broken, empty = names[1], names[2]
    strokes[broken] = strokes[broken][: len(strokes[broken]) // 2]  # cut mid-file: not well-formed
    strokes[empty] = (b'<?xml version="1.0"?><WhiteboardCaptureSession><StrokeSet>'
                      b'<Stroke colour="black"></Stroke></StrokeSet></WhiteboardCaptureSession>')
    with caplog.at_level(logging.WARNING, "htr.data"):
        d = IamOnDB(make_iam_ondb(tmp_path / "b", strokes, ascii_files), "forms")
    reasons = dict(d.skipped)
    broken_id, empty_id = broken.split("/")[-1][:-4], empty.split("/")[-1][:-4]
    assert "XML does not parse" in reasons[broken_id] and broken in reasons[broken_id]
    assert "no points" in reasons[empty_id]
    assert len(d) == len(strokes) - 2  # the rest of that form (and the others) kept
    assert broken_id in caplog.text and empty_id in caplog.text


def test_label_outside_the_charset_is_dropped_by_name(tmp_path, real_forms):
    strokes, ascii_files = real_forms
    name = sorted(ascii_files)[0]
    text = ascii_files[name].decode("latin-1")
    csr = text.index("CSR:")
    first = text[csr:].split("\n", 3)[2]  # the first CSR line, after the blank one
    changed = {**ascii_files, name: (text[:csr] + text[csr:].replace(first, first + " caf\xe9", 1)).encode("latin-1")}
    d = IamOnDB(make_iam_ondb(tmp_path / "c", strokes, changed), "forms")
    n = len(d)
    d.drop_unknown(Charset())
    item = f"{form_of(sorted(strokes)[0])}-01"
    assert ("characters 'é' not in the charset" in dict(d.skipped)[item]) and len(d) == n - 1
    assert item not in d.ids


def test_missing_split_list_names_the_lists_there(small_iam_ondb):
    with pytest.raises(DatasetError, match="trainset.txt not found .*forms"):
        IamOnDB(small_iam_ondb, "trainset")


def test_ink_pen_width_grows_with_every_pixel(small_iam_ondb):
    """OpenCV's anti-aliased lines thicken 2 px at a time; drawn at twice the size, 1 px more pen shows."""
    from htr import ink
    strokes = IamOnDB(small_iam_ondb, "forms").strokes(0)
    mass = {}
    for w in (1.5, 2.0, 2.5, 3.0, 3.5, 4.0):
        image = ink.render(strokes, ink.InkStyle(height=64, pen_width=w))
        assert image.shape[0] == 64 and image.shape[1] > 5 * 64 and _has_ink(image)
        assert image[:, :2].min() == 255 and image[:, -2:].min() == 255 and image[:2].min() == 255  # margins
        mass[w] = float((255 - image.astype(float)).sum())
    assert all(mass[w + 1] > 1.15 * mass[w] for w in (1.5, 2.0, 2.5, 3.0))
    varying = ink.render(strokes, ink.InkStyle(height=64, pen_width=2.5, speed_width=0.6))
    assert varying.shape[0] == 64 and 0.6 < (255 - varying.astype(float)).sum() / mass[2.5] < 1.4


def test_vary_writing_reshapes_a_real_line_only_in_training(small_iam_ondb):
    """Another writer's version of a line: same strokes and pen times, words stretched, leaning
    and lifted differently, the left-to-right order kept; validation samples stay as written."""
    from htr import ink
    strokes = IamOnDB(small_iam_ondb, "forms").strokes(0)
    varied = ink.vary_writing(strokes, np.random.default_rng(1))
    assert [s.shape for s in varied] == [s.shape for s in strokes]
    assert all(np.array_equal(a[:, 2], b[:, 2]) for a, b in zip(varied, strokes))
    x0, y0, x1, y1 = ink.ink_bbox(strokes)
    moved = np.concatenate([np.abs(a[:, :2] - b[:, :2]).max(axis=0) for a, b in zip(varied, strokes)])
    assert moved.max() > 0.05 * (y1 - y0)  # visibly changed
    assert not np.array_equal(varied[0], ink.vary_writing(strokes, np.random.default_rng(2))[0])
    # Stroke starts keep their left-to-right order where they are far apart (a word or more).
    starts = np.array([s[0, 0] for s in strokes])
    new_starts = np.array([s[0, 0] for s in varied])
    far = np.abs(starts[:, None] - starts[None, :]) > (y1 - y0)
    assert (np.sign(starts[:, None] - starts[None, :]) == np.sign(new_starts[:, None] - new_starts[None, :]))[far].all()
    new_width = ink.ink_bbox(varied)[2] - ink.ink_bbox(varied)[0]
    assert 0.8 < new_width / (x1 - x0) < 1.3

    data = IamOnDB(small_iam_ondb, "forms", vary="1")
    assert data.vary and not IamOnDB(small_iam_ondb, "forms").vary
    assert np.array_equal(data.sample(0, None).image, IamOnDB(small_iam_ondb, "forms").sample(0, None).image)
    a, b = data.sample(0, np.random.default_rng(3)).image, data.sample(0, np.random.default_rng(3)).image
    assert np.array_equal(a, b) and a.shape[0] == 64


def test_vary_shape_bends_letters_smoothly_and_vary_2_uses_it(small_iam_ondb):
    """Letters drawn a little differently: every point moves, neighbours along the pen's path move
    alike (the strokes stay smooth), nothing moves far; `vary=2` adds it to vary=1."""
    from htr import ink
    strokes = IamOnDB(small_iam_ondb, "forms").strokes(0)
    varied = ink.vary_shape(strokes, np.random.default_rng(1))
    assert [s.shape for s in varied] == [s.shape for s in strokes]
    assert all(np.array_equal(a[:, 2], b[:, 2]) for a, b in zip(varied, strokes))
    h = ink.ink_bbox(strokes)[3] - ink.ink_bbox(strokes)[1]
    offset = np.concatenate([a[:, :2] - b[:, :2] for a, b in zip(varied, strokes)])
    moved = np.hypot(*offset.T)
    assert np.median(moved) > 0.005 * h and moved.max() < 0.4 * h
    step = np.concatenate([np.hypot(*np.diff(s[:, :2], axis=0).T) for s in strokes])
    change = np.concatenate([np.hypot(*np.diff(a[:, :2] - b[:, :2], axis=0).T) for a, b in zip(varied, strokes)])
    assert (change <= 0.5 * step + 1e-6).all()  # the offset changes slowly along the path
    assert not np.array_equal(varied[0], ink.vary_shape(strokes, np.random.default_rng(2))[0])

    one, two = IamOnDB(small_iam_ondb, "forms", vary="1"), IamOnDB(small_iam_ondb, "forms", vary="2")
    assert two.vary == 2 and np.array_equal(one.sample(0, None).image, two.sample(0, None).image)
    assert not np.array_equal(one.sample(0, np.random.default_rng(3)).image, two.sample(0, np.random.default_rng(3)).image)
    with pytest.raises(DatasetError, match="vary"):
        IamOnDB(small_iam_ondb, "forms", vary="yes")


# -- IAM-OnDB words ---------------------------------------------------------------------------
def test_clusters_group_overlapping_strokes_and_measure_gaps():
    def box(x0, x1):
        return np.array([[x0, 0, 0], [x1, 10, 1]], np.float32)
    label, gaps = clusters([box(0, 10), box(30, 40), box(5, 12), box(35, 50), box(80, 90)])
    assert label.tolist() == [0, 1, 0, 1, 2]
    assert gaps.tolist() == [18.0, 30.0]


def test_split_line_cuts_only_where_gaps_give_the_words():
    def word(x0, letters):  # letters 8 units wide, 2 apart; ink 20 high
        return [np.array([[x0 + 10 * k, 0, 0], [x0 + 10 * k + 8, 20, 1]], np.float32) for k in range(letters)]
    strokes = word(0, 3) + word(50, 2) + word(90, 4)  # word gaps of 22 units, 1.1 h
    pieces = split_line(strokes, ["abc", "de", "fghi"], 0.45, 0.7)
    assert [len(p) for p in pieces] == [3, 2, 4]
    assert "pieces for 4 words" in split_line(strokes, ["ab", "c", "de", "fghi"], 0.45, 0.7)
    assert "pieces for 2 words" in split_line(strokes, ["abcde", "fghi"], 0.45, 0.7)
    assert "widths do not fit" in split_line(strokes, ["a", "de", "fghijklmnopqrstuvw"], 0.45, 0.7)


def test_iam_ondb_words_come_from_accepted_lines_whole(small_iam_ondb):
    lines = IamOnDB(small_iam_ondb, "forms")
    words = IamOnDBWords(small_iam_ondb, "forms")
    stats = words.stats()
    assert stats["lines_accepted"] + stats["lines_rejected"] == len(lines)
    assert stats["lines_accepted"] > 0 and stats["samples"] == len(words)
    rejected = {i for i, _ in words.skipped}
    for k, line_id in enumerate(lines.ids):
        mine = [i for i, w in enumerate(words.ids) if w.startswith(line_id + "-")]
        if line_id in rejected:
            assert not mine
            continue
        assert " ".join(words.labels[i] for i in mine) == lines.labels[k]
        pieces = [words._strokes[i] for i in mine]
        assert sum(len(p) for p in pieces) == len(lines.strokes(k))  # every stroke in exactly one word
        centers = [np.mean(np.concatenate(p)[:, 0]) for p in pieces]
        assert centers == sorted(centers)
    image = words.sample(0, np.random.default_rng(1)).image
    assert _has_ink(image) and image.shape[0] < 64 * 1.5


# -- IAM offline ------------------------------------------------------------------------------
def test_iam_offline_lines_read_the_scans_and_bar_separated_words(iam_offline_root):
    d = open_dataset("iam-offline", root=str(iam_offline_root), level="lines")
    entries = [ln.split() for ln in (iam_offline_root / "lines.txt").read_text().splitlines() if not ln.startswith("#")]
    assert d.ids == [e[0] for e in entries] and not d.skipped
    assert d.labels == [e[8].replace("|", " ") for e in entries]
    sample = d[3]
    path = iam_offline_root / "lines" / sample.id[:3] / sample.id.rsplit("-", 1)[0] / f"{sample.id}.png"
    assert np.array_equal(sample.image, np.asarray(Image.open(path)))
    assert len(open_dataset("iam-offline", root=str(iam_offline_root), level="lines", ok_only="1")) == len(d) - 1


def test_iam_offline_words_skip_broken_missing_and_malformed_entries(iam_offline_root, caplog):
    with caplog.at_level(logging.WARNING, "htr.data"):
        d = open_dataset("iam-offline", root=str(iam_offline_root), level="words")
    reasons = dict(d.skipped)
    form = "-".join(d.ids[0].split("-")[:2])
    assert reasons["a01-117-05-02"] == "known to be broken in the IAM distribution"
    assert "no such file" in reasons[f"{form}-09-00"]
    assert "not a readable image" in reasons[f"{form}-09-01"] and f"{form}-09-01.png" in reasons[f"{form}-09-01"]
    malformed = [k for k in reasons if k.startswith("words.txt:")]
    assert len(malformed) == 1 and "gray level and bounding box" in reasons[malformed[0]]
    assert len(d.skipped) == 4 and all(k in caplog.text for k in reasons)
    ok = open_dataset("iam-offline", root=str(iam_offline_root), level="words", ok_only="yes")
    assert ok.dropped_er == len(d) // 3 and len(ok) == len(d) - ok.dropped_er
    assert _has_ink(d[0].image) and d[0].text == d.labels[0]


def test_iam_offline_split_lists_and_missing_folders(iam_offline_root):
    d = open_dataset("iam-offline", root=str(iam_offline_root), level="lines")
    form = d.ids[0].rsplit("-", 1)[0]
    (iam_offline_root / "one.txt").write_text(f"{form}\n{d.ids[-1]}\n")  # a form id and a line id
    one = open_dataset("iam-offline", root=str(iam_offline_root), level="lines", split="one")
    assert set(one.ids) == {i for i in d.ids if i.startswith(form)} | {d.ids[-1]}
    shutil.rmtree(iam_offline_root / "words")
    with pytest.raises(DatasetError, match="words not found"):
        open_dataset("iam-offline", root=str(iam_offline_root), level="words")
    with pytest.raises(DatasetError, match="level must be words or lines"):
        open_dataset("iam-offline", root=str(iam_offline_root), level="pages")


# -- folder -----------------------------------------------------------------------------------
def test_folder_reads_the_real_scans(scans_root):
    d = open_dataset("folder", root=str(scans_root))
    rows = [ln.split("\t") for ln in (scans_root / "labels.tsv").read_text().splitlines() if ln.strip()]
    assert d.ids == [r[0] for r in rows] and d.labels == [r[1] for r in rows] and not d.skipped
    assert _has_ink(d[0].image)


def test_folder_reads_every_image_kind_and_names_bad_lines(folder_root, caplog):
    with caplog.at_level(logging.WARNING, "htr.data"):
        d = open_dataset("folder", root=str(folder_root))
    assert [i.split("/")[1] for i in d.ids] == ["a.jpg", "b.png", "c.tif", "d16.png", "e-palette.png", "f-rgba.png"]
    reference = d[1].image  # the PNG: lossless
    for i in range(len(d)):
        image = d[i].image
        assert image.shape == reference.shape and image.dtype == np.uint8
        assert np.abs(image.astype(int) - reference).mean() < 3, d.ids[i]  # same scan, whatever the format
    reasons = dict(d.skipped)
    assert "no such file" in reasons["img/missing.png"]
    assert "not a readable image" in reasons["img/not-an-image.png"]
    assert "no tab" in reasons["labels.tsv:9"] and "empty transcription" in reasons["labels.tsv:10 img/a.jpg"]
    assert "a TIFF of 2 pages" in reasons["img/g-pages.tif"] and "a PDF" in reasons["img/h.pdf"]
    assert "img/missing.png" in caplog.text and "labels.tsv:9" in caplog.text


def test_folder_items_cut_one_manifest_into_parts(folder_root, capsys):
    """Training, validation and test parts of one's own scans without writing three manifests;
    the slice counts usable items, so skipped lines do not shift the parts."""
    whole = open_dataset("folder", root=str(folder_root)).ids
    parts = [open_spec(f"folder:root={folder_root},items={cut}").ids for cut in (":2", "2:4", "4:")]
    assert parts == [whole[:2], whole[2:4], whole[4:]] and len(whole) == 6
    with pytest.raises(DatasetError, match=r"folder: items='2-4' is not a slice"):
        open_spec(f"folder:root={folder_root},items=2-4")
    from htr.cli import main
    assert main(["eval", "--dataset", "folder:items=4:", "--root", str(folder_root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lines"] == 2


def test_folder_without_manifest_says_which_manifests_exist(folder_root):
    with pytest.raises(DatasetError, match=r"train\.tsv not found \(manifests here: labels\.tsv\)"):
        open_spec(f"folder:root={folder_root},split=train")


def test_folder_label_outside_the_charset_is_dropped_by_name(folder_root):
    (folder_root / "labels.tsv").write_text("img/a.jpg\tKEVIN\nimg/b.png\tLÉNA\n")
    d = open_dataset("folder", root=str(folder_root))
    d.drop_unknown(Charset())
    assert d.ids == ["img/a.jpg"] and "'É' not in the charset" in dict(d.skipped)["img/b.png"]


# -- synthetic and the registry ---------------------------------------------------------------
def test_synthetic_leaves_out_unsuitable_fonts_and_draws_text(iam_ondb_root):
    fonts = iam_ondb_root.parent / "fonts"
    d = open_spec(f"synthetic:fonts={fonts},n=5,seed=3")
    assert {name for name, _ in d.skipped} == {"femkeklaver.ttf", "Joscelyn-Regular.otf"}
    assert all(p.name not in dict(d.skipped) for p in d.font_paths) and len(d.font_paths) >= 10
    sample = d.sample(2, np.random.default_rng(0))
    assert _has_ink(sample.image) and sample.text == d.labels[2]


def test_every_registered_dataset_opens_from_a_spec(small_iam_ondb, iam_offline_root, folder_root, iam_ondb_root):
    from htr.datasets import REGISTRY
    specs = {
        "iam-ondb": f"iam-ondb:root={small_iam_ondb},split=forms",
        "iam-ondb-words": f"iam-ondb-words:root={small_iam_ondb},split=forms,max-gap=0.8",
        "iam-offline": f"iam-offline:root={iam_offline_root},level=words,ok-only=1",
        "folder": f"folder:root={folder_root}",
        "synthetic": f"synthetic:fonts={iam_ondb_root.parent / 'fonts'},n=3,words=1",
    }
    assert set(specs) <= set(REGISTRY)
    for name, spec in specs.items():
        d = open_spec(spec, height=48)  # training passes its height to every dataset
        assert d.name == name and len(d) > 0 and d.stats()["characters"] > 0
    with pytest.raises(DatasetError, match="bad options"):
        open_spec(f"folder:root={folder_root},colour=blue")
