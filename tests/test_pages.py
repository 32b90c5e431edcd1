"""Whole pages end to end: `htr data pages` from real IAM-OnDB forms, the iam-ondb-pages dataset,
`htr eval --task pages`, `htr.read` on pages, lines and words, `htr read --format/--overlay`,
and bad input (tiny, huge, blank, black, not an image)."""
from __future__ import annotations

import fcntl
import json
import os
import select
import struct
import subprocess
import sys
import termios
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

import htr
from datafixtures import scans_root  # noqa: F401  (a fixture)
from htr import formats, ink
from htr.cli import main
from htr.datasets import open_dataset
from htr.datasets.iam_ondb import IamOnDB
from htr.imageio import MAX_PIXELS, ImageError
from htr.metrics import cer
from htr.page import Page
from htr.pagegen import Degrade, compose

MODEL = Path(htr.__file__).parent / "models" / "default"
needs_model = pytest.mark.skipif(not (MODEL / "model.onnx").is_file(),
                                 reason=f"no shipped model in {MODEL} (the model issue places it there)")


@pytest.fixture(scope="module")
def pages(mini_iam_ondb, tmp_path_factory):
    """`htr data pages` on the two training forms of the mini split: clean and degraded."""
    out = tmp_path_factory.mktemp("pages")
    for name, degrade in (("clean", ""), ("degraded", "rotation=3,lighting,jpeg=50")):
        args = ["data", "pages", "--dataset", "iam-ondb", "--root", str(mini_iam_ondb), "--split", "mini",
                "-o", str(out / name)] + (["--degrade", degrade] if degrade else [])
        assert main(args) == 0
    return out


def test_data_pages_writes_pages_with_truth(pages, mini_iam_ondb):
    lines = IamOnDB(mini_iam_ondb, "mini")
    schema = formats.schema("page-xml")
    for name, suffix in (("clean", ".png"), ("degraded", ".jpg")):
        ids = (pages / name / "mini.txt").read_text().split()
        assert ids == sorted({i.rsplit("-", 1)[0] for i in lines.ids})
        ds = open_dataset("iam-ondb-pages", root=str(pages / name), split="mini")
        assert ds.ids == ids and not ds.skipped
        for i, page_id in enumerate(ids):
            schema.validate(str(pages / name / "pages" / f"{page_id}.xml"))
            assert (pages / name / "pages" / f"{page_id}{suffix}").is_file()
            want = [lines.labels[k] for k, item in enumerate(lines.ids) if item.startswith(page_id)]
            assert ds.sample(i, None).text == "\n".join(want) == ds.truth(i).text
            # The true boxes hold the ink: outside them the page is paper.
            image, truth = ds[i].image, ds.truth(i)
            outside = np.ones(image.shape, bool)
            for ln in truth.lines:
                x0, y0, x1, y1 = ln.box
                outside[y0:y1, x0:x1] = False
            dark = image < np.percentile(image, 60) - 80
            assert dark[outside].sum() <= 0.003 * dark.sum()


@pytest.mark.parametrize("heading", [False, True])
def test_two_column_pages_are_written_and_read_column_by_column(mini_iam_ondb, tmp_path, capsys, heading):
    """`htr data pages --columns 2` puts two forms side by side (truth: the left one's lines
    first); page evaluation finds their lines as it finds one form's. With `--heading` the first
    line stands above both columns, across the paper between them, and is found as well."""
    assert main(["data", "pages", "--dataset", "iam-ondb", "--root", str(mini_iam_ondb), "--split", "mini",
                 "-o", str(tmp_path), "--columns", "2", *(["--heading"] if heading else [])]) == 0
    lines = IamOnDB(mini_iam_ondb, "mini")
    forms = sorted({i.rsplit("-", 1)[0] for i in lines.ids})
    ds = open_dataset("iam-ondb-pages", root=str(tmp_path), split="mini")
    assert ds.ids == ["+".join(forms[:2])]
    want = [lines.labels[k] for form in forms[:2] for k, item in enumerate(lines.ids) if item.startswith(form)]
    truth = ds.truth(0).lines
    assert [ln.text for ln in truth] == want
    first = len([i for i in lines.ids if i.startswith(forms[0])])
    left, right = truth[1 if heading else 0].box, truth[-1].box
    assert right[0] > left[2]   # the second form stands to the right of the first
    if heading:
        left_end, right_start = max(ln.box[2] for ln in truth[1:first]), min(ln.box[0] for ln in truth[first:])
        assert truth[0].box[0] < left_end < right_start < truth[0].box[2]   # the title runs across
        assert truth[0].box[3] < min(ln.box[1] for ln in truth[1:])          # above everything
    capsys.readouterr()
    assert main(["eval", "--task", "pages", "--dataset", "iam-ondb-pages", "--root", str(tmp_path), "--split", "mini",
                 "--detection-only", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["f1"] == 1.0


def test_data_pages_refuses_bad_requests(mini_iam_ondb, tmp_path, capsys):
    assert main(["data", "pages", "--dataset", "iam-ondb", "--root", str(mini_iam_ondb), "--split", "mini",
                 "-o", str(tmp_path), "--degrade", "rotation,blur"]) == 2
    assert "unknown degradation 'blur'" in capsys.readouterr().err
    assert main(["data", "pages", "--dataset", "iam-ondb", "--root", str(mini_iam_ondb), "--split", "mini",
                 "-o", str(tmp_path), "--columns", "0"]) == 2
    assert "columns must be 1 or more" in capsys.readouterr().err
    with pytest.raises(ValueError, match="jpeg"):
        Degrade.parse("jpeg=high")
    assert main(["eval", "--task", "pages", "--dataset", "iam-ondb-pages", "--root", str(tmp_path),
                 "--split", "nope", "--detection-only"]) == 2
    assert "nope.txt not found" in capsys.readouterr().err


def test_eval_pages_detection(pages, capsys):
    for name in ("clean", "degraded"):
        assert main(["eval", "--task", "pages", "--dataset", "iam-ondb-pages", "--root", str(pages / name),
                     "--split", "mini", "--detection-only", "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        assert result["pages"] == 2 and result["lines"] >= 10
        assert result["f1"] >= 0.9 and "cer" not in result


@needs_model
def test_eval_pages_reads(pages, capsys):
    assert main(["eval", "--task", "pages", "--dataset", "iam-ondb-pages", "--root", str(pages / "clean"),
                 "--split", "mini", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["f1"] >= 0.9 and 0 <= result["cer"] < 0.4 and result["wer"] < 0.8


@needs_model
def test_read_a_page(mini_iam_ondb):
    ds = IamOnDB(mini_iam_ondb, "minival")
    image, truth = compose([ds.strokes(i) for i in range(len(ds))], list(ds.labels), np.random.default_rng(7),
                           degrade=Degrade(rotation=2, lighting=0.4))
    page = htr.read(image)
    assert (page.width, page.height) == (image.shape[1], image.shape[0])
    assert len(page.lines) == len(truth.lines)
    assert cer([truth.text], [page.text]) < 0.35
    for line in page.lines:
        assert line.polygon and len(line.baseline) == 2 and 0 < line.confidence <= 1
        assert line.words and " ".join(w.text for w in line.words) == line.text
        x0, y0, x1, y1 = line.box
        for w in line.words:
            assert x0 - 2 <= w.box[0] < w.box[2] <= x1 + 2 and y0 - 2 <= w.box[1] < w.box[3] <= y1 + 2
    assert htr.read(image, layout="page").text == page.text


@needs_model
def test_read_a_line_and_a_word(mini_iam_ondb):
    """A cropped line or word is read as one line ("auto" sees it fills the image)."""
    ds = IamOnDB(mini_iam_ondb, "minival")
    sample = ds[0]
    page = htr.read(sample.image)
    assert len(page.lines) == 1 and cer([sample.text], [page.text]) < 0.35
    assert page.text == htr.read(sample.image, layout="line").text
    word = ink.render(ds.strokes(0)[:2], ink.InkStyle(height=48))
    assert len(htr.read(word).lines) <= 1
    with pytest.raises(ValueError, match="layout"):
        htr.read(sample.image, layout="column")


@needs_model
def test_real_form_field_scans_read_as_label_and_name(scans_root, capsys):  # noqa: F811
    """The real name scans are crops of form fields: some hold a printed label ("PRENOM") above
    the handwritten name, and slivers of the fields above and below. `htr.read` finds at most
    the label and the name (before, slivers came out as lines of junk, and the name lines lost
    the faint parts of their strokes), and reads the names under their labels. `htr eval
    --layout auto` measures what `htr.read` gives."""
    labels, texts, refs, names = [], [], [], []
    for entry in (scans_root / "labels.tsv").read_text().splitlines():
        path, label = entry.split("\t")
        page = htr.read(scans_root / path, decoder="greedy")
        assert len(page.lines) <= 2, (path, page.text)
        labels.append(label)
        texts.append(page.text)
        if len(page.lines) == 2:
            refs.append(label)
            names.append(page.lines[1].text)
    assert len(refs) >= 8 and cer(refs, names) < 0.35
    assert main(["eval", "--dataset", "folder", "--root", str(scans_root), "--layout", "auto", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cer"] == round(cer(labels, texts), 5)


@needs_model
def test_cli_formats_and_overlay(mini_iam_ondb, tmp_path, capsys):
    ds = IamOnDB(mini_iam_ondb, "minival")
    image, truth = compose([ds.strokes(i) for i in range(len(ds))], list(ds.labels), np.random.default_rng(2))
    path = tmp_path / "page.jpg"
    cv2.imwrite(str(path), image)
    assert main(["read", str(path), "--format", "alto", "--overlay", str(tmp_path / "o.png")]) == 0
    doc = capsys.readouterr().out
    formats.schema("alto").validate(doc)
    assert doc.count("<TextLine ") == len(truth.lines)
    drawn = cv2.imread(str(tmp_path / "o.png"))
    assert drawn.shape[:2] == image.shape
    assert main(["read", str(path), str(path), "--format", "hocr", "--output-dir", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "page.hocr").read_text().count('class="ocr_line"') == len(truth.lines)
    assert main(["read", str(path), str(path), "--format", "page-xml"]) == 2
    assert "--output-dir" in capsys.readouterr().err


@needs_model
def test_a_batch_read_into_a_folder_goes_on_where_it_stopped(scans_root, tmp_path, capsys):  # noqa: F811
    """`htr read FOLDER --output-dir OUT` writes each file whole; after a stop, --skip-existing reads only
    what is missing; two images that would write the same file are refused before anything is read
    (the second would overwrite the first); on a terminal a bar shows how far the batch is."""
    import shutil
    batch, other, out = tmp_path / "batch", tmp_path / "other", tmp_path / "out"
    batch.mkdir(), other.mkdir()
    for k, row in enumerate((scans_root / "labels.tsv").read_text().splitlines()[:3]):
        shutil.copy(scans_root / row.split("\t")[0], batch / f"scan{k}.jpg")
    assert main(["read", str(batch), "--output-dir", str(out)]) == 0
    texts = {p.name: p.read_text() for p in out.iterdir()}
    assert sorted(texts) == ["scan0.txt", "scan1.txt", "scan2.txt"] and all(t.strip() for t in texts.values())

    (out / "scan0.txt").write_text("kept\n")   # a stopped batch: scan2 not written yet
    (out / "scan2.txt").unlink()
    capsys.readouterr()
    assert main(["read", str(batch), "--output-dir", str(out), "--skip-existing"]) == 0
    assert "2 of 3 images already read" in capsys.readouterr().err
    assert (out / "scan0.txt").read_text() == "kept\n" and (out / "scan2.txt").read_text() == texts["scan2.txt"]
    assert sorted(p.name for p in out.iterdir()) == sorted(texts)   # no half-written .tmp left

    shutil.copy(batch / "scan0.jpg", other / "scan0.png")
    assert main(["read", str(batch), str(other), "--output-dir", str(tmp_path / "clash")]) == 2
    assert "scan0.jpg and" in capsys.readouterr().err and not (tmp_path / "clash").exists()
    assert main(["read", str(batch), "--skip-existing"]) == 2
    assert "add --output-dir" in capsys.readouterr().err

    terminal, other_end = os.openpty()
    fcntl.ioctl(other_end, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))   # 80 columns for the bar
    run = subprocess.run([sys.executable, "-m", "htr", "read", str(batch), "--format", "json"],
                         stdout=subprocess.PIPE, stderr=other_end, timeout=120)
    os.close(other_end)
    bar = b""
    while select.select([terminal], [], [], 0)[0] and (chunk := _read_or_nothing(terminal)):
        bar += chunk
    os.close(terminal)
    assert run.returncode == 0 and len(json.loads(run.stdout)) == 3
    assert b"3/3" in bar


@needs_model
def test_read_makes_a_scanned_document_searchable(scans_root, tmp_path, capsysbinary):  # noqa: F811
    """`htr read doc.pdf --format pdf > out.pdf`: one PDF of every page, each with its words to
    search and copy; with --output-dir one PDF per page; never binary onto a terminal."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c
    from PIL import Image

    from htr.imageio import load_image
    from htr.pdf import searchable_pdf
    rows = (scans_root / "labels.tsv").read_text().splitlines()
    grays = [load_image(scans_root / rows[k].split("\t")[0]) for k in (0, 2)]
    doc = tmp_path / "doc.tif"
    Image.fromarray(grays[0]).save(doc, save_all=True, append_images=[Image.fromarray(grays[1])])
    texts = [page.text for page in htr.read_many(htr.pages_of(doc))]
    assert main(["read", str(doc), "--format", "pdf"]) == 0
    pdf = pdfium.PdfDocument(capsysbinary.readouterr().out)
    assert len(pdf) == 2 and pdf.get_metadata_dict()["Title"] == "doc.tif"
    assert [pdf[k].get_textpage().get_text_range().split() for k in range(2)] == [t.split() for t in texts]
    assert main(["read", str(doc), "--format", "pdf", "--output-dir", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["doc-p1.pdf", "doc-p2.pdf"]
    second = pdfium.PdfDocument(tmp_path / "out" / "doc-p2.pdf")
    assert len(second) == 1 and second[0].get_textpage().get_text_range().split() == texts[1].split()

    # A PDF's pages are kept as they are (their own images, not drawn again), after the TIFF's.
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(searchable_pdf([(gray, Page(gray.shape[1], gray.shape[0], [])) for gray in grays]))
    assert main(["read", str(doc), str(scan), "--format", "pdf"]) == 0
    both = pdfium.PdfDocument(capsysbinary.readouterr().out)
    assert [both[k].get_textpage().get_text_range().split() for k in range(4)] == [t.split() for t in texts * 2]
    for k, gray in enumerate(grays):
        objects = list(both[2 + k].get_objects())
        assert [obj.get_px_size() for obj in objects if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE] == \
            [gray.shape[::-1]]
        assert both[2 + k].get_size() == pdfium.PdfDocument(scan)[k].get_size()
    assert main(["read", str(scan), "--format", "pdf", "--output-dir", str(tmp_path / "kept")]) == 0
    first = pdfium.PdfDocument(tmp_path / "kept" / "scan-p1.pdf")
    assert len(first) == 1 and first[0].get_textpage().get_text_range().split() == texts[0].split()

    terminal, other_end = os.openpty()
    run = subprocess.run([sys.executable, "-m", "htr", "read", str(doc), "--format", "pdf"], stdout=other_end,
                         stderr=subprocess.PIPE, timeout=120)
    os.close(terminal), os.close(other_end)
    assert run.returncode == 2 and b"not text for a terminal" in run.stderr


def test_loading_in_colour_keeps_the_colours_on_the_same_pixels(scans_root, tmp_path):  # noqa: F811
    """What a searchable PDF or an overlay shows: a colour image in colour (a PDF page drawn in
    colour too), a gray one gray, each the size of the gray image that is read."""
    from PIL import Image

    from htr.imageio import FilePage, load_image
    gray = load_image(scans_root / "images" / "TEST_0001.jpg")
    assert load_image(scans_root / "images" / "TEST_0001.jpg", color=True).shape[:2] == gray.shape
    tinted = np.stack([np.minimum(gray, 235), np.minimum(gray, 225), np.minimum(gray, 200)], axis=2)
    tinted[gray < 128] = (30, 50, 170)   # blue ink on cream paper
    rgba = np.dstack([tinted, np.full(gray.shape, 255, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "scan.png")
    Image.fromarray(tinted).save(tmp_path / "scan.pdf", resolution=200)
    assert np.array_equal(load_image(tmp_path / "scan.png", color=True), tinted)
    assert np.array_equal(load_image(rgba, color=True), tinted)
    assert load_image(gray, color=True).shape == gray.shape
    drawn = load_image(FilePage(str(tmp_path / "scan.pdf"), 1), color=True)
    assert drawn.shape[:2] == load_image(tmp_path / "scan.pdf").shape and np.abs(drawn.astype(int) - tinted).mean() < 6


def _read_or_nothing(fd: int) -> bytes:
    try:
        return os.read(fd, 1 << 16)
    except OSError:   # EIO: the other end is closed and all was read
        return b""


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels but holds almost none (a decompression bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@needs_model
def test_bad_input(tmp_path, capsys):
    big = tmp_path / "big.png"
    big.write_bytes(_png_header(8000, 8000))
    limit = f"big.png: image is 8000x8000 = 64000000 pixels, more than the limit of {MAX_PIXELS}"
    with pytest.raises(ImageError, match=limit):
        htr.read(big)
    huge = tmp_path / "huge.png"  # so large that Pillow itself refuses it, from the header, naming its limit
    huge.write_bytes(_png_header(20000, 20000))
    with pytest.raises(ImageError, match=r"huge.png: refused .*400000000 pixels.* limit of \d+"):
        htr.read(huge)
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    with pytest.raises(ImageError, match="notes.png: not a readable image"):
        htr.read(text)
    for image in (np.full((1, 1), 255, np.uint8), np.zeros((1, 1), np.uint8),
                  np.full((1100, 850), 250, np.uint8), np.zeros((1100, 850), np.uint8)):
        page = htr.read(image)
        assert page.lines == [] and page.text == "" and (page.height, page.width) == image.shape
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((600, 400), 255, np.uint8))
    assert main(["read", str(tmp_path / "blank.png"), str(huge), str(text), "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert "huge.png" in captured.err and "notes.png" in captured.err
    assert json.loads(captured.out)[0]["lines"] == []


@needs_model
def test_arrays_of_any_type_read_like_the_file(scans_root):
    """Arrays from other libraries (floats in 0..1, 16-bit, booleans, alpha) are the same picture
    as the scan they came from, not cast to uint8 into black or wrapped-around values."""
    from htr.imageio import load_image
    first = (scans_root / "labels.tsv").read_text().splitlines()[0].split("\t")[0]
    gray = load_image(scans_root / first)
    rgba = np.zeros(gray.shape + (4,), np.uint8)  # transparent black paper, opaque dark ink
    rgba[..., 3] = 255 - gray
    for variant in (gray / 255.0, gray.astype(np.uint16) * 257, gray[:, :, None],
                    np.repeat(gray[:, :, None] / 255.0, 3, axis=2).astype(np.float32), rgba):
        assert np.abs(load_image(variant).astype(int) - gray).max() <= 1, variant.dtype
    assert set(np.unique(load_image(gray > 128))) <= {0, 255}
    assert htr.read(gray / 255.0).text == htr.read(gray).text != ""
    for bad, why in ((np.full((8, 8), np.nan), "float values nan"), (np.full((8, 8), -1), "-1..-1"),
                     (np.zeros((8, 8, 5), np.uint8), "1-4 channels"), (np.zeros((8, 8), complex), "complex")):
        with pytest.raises(ImageError, match=why):
            htr.read(bad)


@needs_model
def test_every_page_of_a_multi_page_tiff_is_read(scans_root, tmp_path, capsys):
    """Scanners save a document as one TIFF of many pages: `htr read` reads each, where reading
    the first page alone would lose the rest without a word."""
    from PIL import Image

    from htr.imageio import load_image
    names = [line.split("\t")[0] for line in (scans_root / "labels.tsv").read_text().splitlines()[:2]]
    grays = [load_image(scans_root / name) for name in names]
    alone = [htr.read(gray).text for gray in grays]
    doc = tmp_path / "doc.tif"
    Image.fromarray(grays[0]).save(doc, save_all=True, append_images=[Image.fromarray(grays[1])])
    with pytest.raises(ImageError, match="doc.tif: a TIFF of 2 pages"):
        htr.read(doc)
    assert [page.text for page in htr.read_many(htr.pages_of(doc))] == alone
    assert main(["read", str(doc), "--format", "json"]) == 0
    read = json.loads(capsys.readouterr().out)
    assert [(r["image"], r["page"], r["text"]) for r in read] == [(str(doc), 1, alone[0]), (str(doc), 2, alone[1])]
    assert main(["read", str(doc), "--format", "page-xml", "--output-dir", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["doc-p1.xml", "doc-p2.xml"]


@needs_model
def test_every_page_of_a_pdf_is_read_like_the_scans_in_it(scans_root, tmp_path, capsys):
    """Scanners often save PDFs: each page is drawn (at 200 dpi) and read, from a file, from bytes
    in Python, or piped into `htr read -`."""
    from PIL import Image

    from htr.imageio import load_image
    rows = (scans_root / "labels.tsv").read_text().splitlines()
    grays = [load_image(scans_root / rows[k].split("\t")[0]) for k in (0, 2)]   # KEVIN, LENA: clear scans
    alone = [htr.read(gray).text for gray in grays]
    doc, one = tmp_path / "doc.pdf", tmp_path / "one.pdf"
    Image.fromarray(grays[0]).save(doc, resolution=200, save_all=True, append_images=[Image.fromarray(grays[1])])
    Image.fromarray(grays[1]).save(one, resolution=200)
    assert htr.read(one).text == alone[1]   # a PDF of one page is one image
    with pytest.raises(ImageError, match="doc.pdf: a PDF of 2 pages"):
        htr.read(doc)
    assert main(["read", str(doc), "--format", "json"]) == 0
    read = json.loads(capsys.readouterr().out)
    assert [(r["page"], r["text"]) for r in read] == [(1, alone[0]), (2, alone[1])]
    assert all(abs(r["height"] - g.shape[0]) <= 1 and abs(r["width"] - g.shape[1]) <= 1 for r, g in zip(read, grays))
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(doc.read_bytes()[:200])
    with pytest.raises(ImageError, match="broken.pdf: not a readable PDF"):
        htr.read(broken)

    assert [page.text for page in htr.read_many(htr.pages_of(doc.read_bytes()))] == alone
    piped = subprocess.run([sys.executable, "-m", "htr", "read", "-", "--format", "json"], input=doc.read_bytes(),
                           capture_output=True, timeout=120)
    assert piped.returncode == 0, piped.stderr.decode()
    assert [(r["image"], r["page"], r["text"]) for r in json.loads(piped.stdout)] == \
        [("<stdin>", 1, alone[0]), ("<stdin>", 2, alone[1])]
    piped = subprocess.run([sys.executable, "-m", "htr", "read", "-"], input=broken.read_bytes(),
                           capture_output=True, timeout=120)
    assert piped.returncode == 2 and "<stdin>: not a readable PDF" in piped.stderr.decode()
    terminal, other_end = os.openpty()   # `htr read -` typed with nothing piped in: no waiting for a keyboard
    typed = subprocess.run([sys.executable, "-m", "htr", "read", "-"], stdin=other_end, capture_output=True, timeout=60)
    os.close(terminal), os.close(other_end)
    assert typed.returncode == 2 and "nothing is piped in" in typed.stderr.decode()
    capsys.readouterr()
    assert main(["read", "-", "-"]) == 2
    assert "- (standard input) can be read only once" in capsys.readouterr().err


@needs_model
def test_pages_turned_any_way_are_found_upright_and_boxed_in_their_own_pixels(pages, scans_root, tmp_path, capsys):
    """A page scanned upside down or lying on its side reads, with orientation="auto", as it reads
    upright, and its boxes land on its own pixels; an upright scan stays as it is."""
    from htr.imageio import load_image
    from htr.orientation import box_back, point_back, upright
    for path in [*sorted((pages / "clean" / "pages").glob("*.png")), *sorted((pages / "degraded" / "pages").glob("*.jpg"))]:
        img = load_image(path)
        read = htr.read(img, decoder="greedy")
        assert len(read.lines) >= 5 and htr.read(img, decoder="greedy", orientation="auto").orientation == 0
        for turn in (90, 180, 270):
            turned = upright(img, 360 - turn)   # the writing turned `turn` degrees clockwise
            got = htr.read(turned, decoder="greedy", orientation="auto")
            assert (got.orientation, got.text, got.width, got.height) == \
                (turn, read.text, turned.shape[1], turned.shape[0]), (path.name, turn)
            assert [ln.box for ln in got.lines] == [box_back(ln.box, turn, *turned.shape[::-1]) for ln in read.lines]
            assert [ln.baseline for ln in got.lines] == \
                [[point_back(p, turn, *turned.shape[::-1]) for p in ln.baseline] for ln in read.lines]
            assert htr.read(turned, decoder="greedy", orientation=turn).text == read.text   # told, not found
    name = (scans_root / "labels.tsv").read_text().splitlines()[0].split("\t")[0]   # KEVIN: a clear scan
    scan = load_image(scans_root / name)
    assert htr.read(scan, decoder="greedy", orientation="auto").orientation == 0
    turned = tmp_path / "upside-down.png"
    cv2.imwrite(str(turned), upright(scan, 180))
    assert main(["read", str(turned), "--decoder", "greedy", "--orientation", "auto", "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["orientation"] == 180 and got["text"] == htr.read(scan, decoder="greedy").text
    with pytest.raises(ValueError, match="unknown orientation 45"):
        htr.read(scan, orientation=45)
