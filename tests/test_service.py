"""The web service with the shipped model: reading images and strokes, and every refusal."""
from __future__ import annotations

import asyncio
import base64
import io
import re
import struct
import threading
import time
import xml.etree.ElementTree as ET
import zlib
from xml.sax.saxutils import escape

import httpx2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

import htr
from htr.api import DEFAULT_DECODER
from htr.datasets.iam_ondb import IamOnDB
from htr.metrics import cer
from htr.formats import MEDIA_TYPES
from htr.service import Limits, WorkerPool, create_app, ink_lines

LINE = 2       # a testset_t line used where one image is enough: "life Peers is to be made at a"
SAMPLE = range(8)  # the testset_t lines whose reading is scored (CER over all of them)
MAX_CER = 0.35     # generous: the default model reads IAM-OnDB test lines far better than this


@pytest.fixture(scope="module")
def lines(iam_ondb_root) -> IamOnDB:
    return IamOnDB(iam_ondb_root, "testset_t", height=64)


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(limits=Limits(max_upload_bytes=200_000, max_pixels=4_000_000, max_points=20_000)))


def png(image: np.ndarray | Image.Image) -> bytes:
    buf = io.BytesIO()
    (image if isinstance(image, Image.Image) else Image.fromarray(image)).save(buf, "PNG")
    return buf.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims width x height but carries a single row: what a decompression bomb's header says."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 8)) + chunk(b"IEND", b"")


def strokes_json(strokes: list[np.ndarray]) -> list:
    return [s.round(2).tolist() for s in strokes]


# -- reading --------------------------------------------------------------------------------------

def test_health_lists_the_options(client):
    r = client.get("/health")
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "ok" and "greedy" in h["decoders"] and "auto" in h["layouts"]
    assert {"json", "text"} <= set(h["formats"]) and "auto" in h["orientations"]
    assert h["capacity"] >= h["workers"] >= 1 and h["pending"] == 0


def test_multipart_uploads_are_read_with_boxes_and_timing(client, lines):
    refs, hyps = [], []
    for i in SAMPLE:
        sample = lines[i]
        r = client.post("/v1/read", files={"image": (f"{sample.id}.png", png(sample.image), "image/png")})
        assert r.status_code == 200, r.text
        page = r.json()
        refs.append(sample.text)
        hyps.append(page["text"])
        h, w = sample.image.shape
        assert (page["width"], page["height"]) == (w, h)
        assert len(page["lines"]) == 1  # a line image is one line
        words = page["lines"][0]["words"]
        assert [word["text"] for word in words] == page["text"].split()
        for item in [*page["lines"], *words]:
            x0, y0, x1, y1 = item["box"]
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
            assert 0.0 <= item["confidence"] <= 1.0
        starts = [word["box"][0] for word in words]
        assert starts == sorted(starts)  # words come left to right
        assert set(page["timing"]) == {"queue_ms", "read_ms", "total_ms"}
        assert page["timing"]["total_ms"] >= page["timing"]["read_ms"] > 0
        assert page["input"] == "image" and page["decoder"] == DEFAULT_DECODER
    assert cer(refs, hyps) < MAX_CER, list(zip(refs, hyps))


def test_json_base64_and_bare_body_read_the_same(client, lines):
    data = png(lines[LINE].image)
    multipart = client.post("/v1/read", files={"image": ("x.png", data)}).json()["text"]
    as_json = client.post("/v1/read", json={"image": base64.b64encode(data).decode()})
    data_url = client.post("/v1/read", json={"image": "data:image/png;base64," + base64.b64encode(data).decode()})
    bare = client.post("/v1/read", content=data, headers={"content-type": "application/octet-stream"})
    assert [r.status_code for r in (as_json, data_url, bare)] == [200, 200, 200]
    assert as_json.json()["text"] == data_url.json()["text"] == bare.json()["text"] == multipart
    assert cer([lines[LINE].text], [multipart]) < MAX_CER, multipart


def test_a_page_of_lines_is_read_line_by_line_unless_told_it_is_one_line(client, lines):
    """Three real lines one below the other: `auto` finds them in order; `layout=line` reads one line."""
    chosen = [lines[i] for i in (LINE, LINE + 3, LINE + 6)]
    width = max(s.image.shape[1] for s in chosen) + 80
    rows = [np.full((40, width), 255, np.uint8)]
    for sample in chosen:
        row = np.full((sample.image.shape[0] + 30, width), 255, np.uint8)
        row[:sample.image.shape[0], 40:40 + sample.image.shape[1]] = sample.image
        rows.append(row)
    files = {"image": ("page.png", png(np.vstack(rows)), "image/png")}
    page = client.post("/v1/read", files=files).json()
    assert len(page["lines"]) == 3, page["text"]
    tops = [line["box"][1] for line in page["lines"]]
    assert tops == sorted(tops)
    assert cer([s.text for s in chosen], [line["text"] for line in page["lines"]]) < MAX_CER, page["text"]
    one = client.post("/v1/read", files=files, data={"layout": "line"}).json()
    assert len(one["lines"]) == 1


def test_jpeg_photo_in_colour_is_read(client, lines):
    """Dark blue ink on cream paper, as a phone photo: JPEG, three channels."""
    gray = lines[LINE].image.astype(np.float32) / 255
    paper, ink_colour = np.array([250, 244, 225]), np.array([30, 40, 110])
    rgb = (gray[..., None] * paper + (1 - gray[..., None]) * ink_colour).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=85)
    r = client.post("/v1/read", files={"image": ("photo.jpg", buf.getvalue(), "image/jpeg")})
    assert r.status_code == 200
    assert cer([lines[LINE].text], [r.json()["text"]]) < MAX_CER, r.json()["text"]


def test_strokes_are_read_and_boxed_in_their_own_coordinates(client, lines):
    refs, hyps = [], []
    for i in SAMPLE:
        strokes = lines.strokes(i)
        r = client.post("/v1/read", json={"strokes": strokes_json(strokes)})
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["input"] == "ink" and len(page["lines"]) == 1
        refs.append(lines.labels[i])
        hyps.append(page["text"])
        pts = np.concatenate(strokes)
        (x0, y0), (x1, y1) = pts[:, :2].min(axis=0), pts[:, :2].max(axis=0)
        for word in page["lines"][0]["words"]:
            bx0, by0, bx1, by1 = word["box"]
            assert x0 - 1 <= bx0 < bx1 <= x1 + 1 and y0 - 1 <= by0 < by1 <= y1 + 1
    assert cer(refs, hyps) < MAX_CER, list(zip(refs, hyps))


def test_strokes_without_time_and_two_written_lines(client, lines):
    """Points may be [x, y]; a second line written below the first comes back as a second line."""
    a, b = lines.strokes(LINE), lines.strokes(LINE + 3)
    ya = np.concatenate(a)[:, 1]
    yb = np.concatenate(b)[:, 1]
    shift = ya.max() - yb.min() + 0.8 * (ya.max() - ya.min())  # b starts below a, with a gap
    b = [s + np.array([0, shift, 0], np.float32) for s in b]
    r = client.post("/v1/read", json={"strokes": [s[:, :2].round(1).tolist() for s in a + b]})
    assert r.status_code == 200, r.text
    page = r.json()
    assert len(page["lines"]) == 2
    assert page["lines"][0]["box"][3] < page["lines"][1]["box"][1]
    assert page["text"] == "\n".join(line["text"] for line in page["lines"])
    assert cer([lines.labels[LINE], lines.labels[LINE + 3]], page["text"].split("\n")) < MAX_CER, page["text"]


def test_ink_lines_keep_dots_and_bars_with_their_line(lines):
    """Every real IAM-OnDB line, i-dots, t-bars and commas included, is grouped as one line."""
    for i in range(40):
        groups = ink_lines(lines.strokes(i))
        assert len(groups) == 1, (lines.ids[i], [len(g) for g in groups])
        assert len(groups[0]) == len(lines.strokes(i))


def test_text_and_document_formats(client, lines):
    files = {"image": ("line.png", png(lines[LINE].image), "image/png")}
    text = client.post("/v1/read", files=files, data={"format": "text"})
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    as_json = client.post("/v1/read", files=files).json()
    assert text.text.strip() == as_json["text"]
    for fmt in ("page-xml", "alto", "hocr"):
        doc = client.post(f"/v1/read?format={fmt}", files=files)
        assert doc.status_code == 200, (fmt, doc.text)
        assert doc.headers["content-type"].split(";")[0] == MEDIA_TYPES[fmt].split(";")[0]
        ET.fromstring(doc.content)  # well-formed
        assert all(escape(w["text"]) in doc.text for w in as_json["lines"][0]["words"]), fmt


def test_a_searchable_pdf_of_an_upload_or_of_strokes(client, lines):
    """format=pdf answers the page image with its words laid over it (copied out as read); strokes
    are drawn into it first, where they were written."""
    import pypdfium2 as pdfium
    files = {"image": ("line.png", png(lines[LINE].image), "image/png")}
    read = client.post("/v1/read", files=files).json()
    doc = client.post("/v1/read", files=files, data={"format": "pdf"})
    assert doc.status_code == 200 and doc.headers["content-type"] == "application/pdf"
    assert pdfium.PdfDocument(doc.content)[0].get_textpage().get_text_range().split() == read["text"].split()
    strokes = {"strokes": strokes_json(lines.strokes(LINE))}
    read = client.post("/v1/read", json=strokes).json()
    doc = client.post("/v1/read", json={**strokes, "format": "pdf"})
    assert doc.status_code == 200 and doc.headers["content-type"] == "application/pdf"
    sheet = pdfium.PdfDocument(doc.content)[0]
    assert sheet.get_textpage().get_text_range().split() == read["text"].split()
    drawn = sheet.render(scale=read["width"] / sheet.get_size()[0], grayscale=True).to_numpy()   # (H, W)
    x0, y0, x1, y1 = read["lines"][0]["box"]
    dark = drawn < 128
    assert dark[y0:y1, x0:x1].mean() > 0.005 and dark[y0:y1, x0:x1].sum() > 0.95 * dark.sum()   # in its box


# -- refusals -------------------------------------------------------------------------------------

def test_upload_over_the_byte_limit_is_413(client, lines):
    noisy = np.random.default_rng(0).integers(0, 256, (300, 900), dtype=np.uint8)  # does not compress
    data = png(noisy)
    assert len(data) > 200_000
    r = client.post("/v1/read", files={"image": ("big.png", data, "image/png")})
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    r = client.post("/v1/read", content=data, headers={"content-type": "image/png"})
    assert r.status_code == 413


def test_streamed_body_without_length_is_cut_at_the_limit(client):
    """A chunked upload declares no size: it is counted as it arrives and refused once past the limit."""
    sent = []

    def chunks():
        for _ in range(100):
            sent.append(1)
            yield b"\0" * 65536

    r = client.post("/v1/read", content=chunks(), headers={"content-type": "image/png"})
    assert r.status_code == 413 and "more than the limit" in r.json()["detail"]
    assert "content-length" not in r.request.headers


def test_too_many_pixels_is_413_from_the_header(client):
    r = client.post("/v1/read", files={"image": ("wide.png", png_header(4000, 2000), "image/png")})
    assert r.status_code == 413 and "4000x2000" in r.json()["detail"]
    bomb = png_header(100_000, 100_000)  # 10 gigapixels in 60 bytes
    assert len(bomb) < 100
    r = client.post("/v1/read", content=bomb, headers={"content-type": "image/png"})
    assert r.status_code == 413 and "pixels" in r.json()["detail"]


@pytest.mark.parametrize("data", [b"hello, I am text", b"", b"\x89PNG\r\n\x1a\n"],
                         ids=["text", "empty", "png-magic-only"])
def test_non_images_are_415_whatever_their_name_or_declared_type(client, data):
    r = client.post("/v1/read", files={"image": ("photo.png", data, "image/png")})
    assert r.status_code == 415, r.text
    assert "not an image" in r.json()["detail"]


def test_svg_and_eps_are_refused_even_though_they_are_images(client):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n"
    for data in (svg, eps):
        assert client.post("/v1/read", content=data, headers={"content-type": "image/svg+xml"}).status_code == 415


def test_truncated_image_is_422_naming_the_upload(client, lines):
    data = png(lines[LINE].image)
    r = client.post("/v1/read", files={"image": ("cut.png", data[: len(data) // 2], "image/png")})
    assert r.status_code == 422
    assert "cut.png" in r.json()["detail"]


def test_multi_page_tiff_is_422_naming_its_pages(client, lines):
    """One request reads one image: the first page of a scanned document alone would lose the rest."""
    first, second = (Image.fromarray(lines[k].image) for k in (LINE, LINE + 1))
    buf = io.BytesIO()
    first.save(buf, format="TIFF", save_all=True, append_images=[second])
    r = client.post("/v1/read", files={"image": ("doc.tif", buf.getvalue(), "image/tiff")})
    assert r.status_code == 422, r.text
    assert "doc.tif: a TIFF of 2 pages" in r.json()["detail"]


def test_pdf_of_one_page_is_read_like_its_image_and_of_two_is_422(client, lines):
    """Scanners and phones' scan apps send PDFs: a page is drawn (200 dpi) and read as an image."""
    first, second = (Image.fromarray(lines[k].image) for k in (LINE, LINE + 1))
    one, two = io.BytesIO(), io.BytesIO()
    first.save(one, format="PDF", resolution=200)
    first.save(two, format="PDF", resolution=200, save_all=True, append_images=[second])
    as_image = client.post("/v1/read", files={"image": ("line.png", png(first), "image/png")}).json()
    r = client.post("/v1/read", files={"image": ("line.pdf", one.getvalue(), "application/pdf")})
    assert r.status_code == 200, r.text
    assert r.json()["text"] == as_image["text"] != ""
    r = client.post("/v1/read", files={"image": ("doc.pdf", two.getvalue(), "application/pdf")})
    assert r.status_code == 422 and "doc.pdf: a PDF of 2 pages" in r.json()["detail"] and "page" in r.json()["detail"]
    # one page of several, chosen with `page`; the answer says how many there are
    second_alone = client.post("/v1/read", files={"image": ("b.png", png(second), "image/png")}).json()
    r = client.post("/v1/read", files={"image": ("doc.pdf", two.getvalue(), "application/pdf")}, data={"page": "2"})
    assert r.status_code == 200 and (r.json()["text"], r.json()["pages"]) == (second_alone["text"], 2)
    assert as_image["pages"] == 1
    r = client.post("/v1/image?page=2", content=two.getvalue())
    assert np.asarray(Image.open(io.BytesIO(r.content))).shape[1] == pytest.approx(second.size[0], abs=1)
    for bad, why in [("3", "has no page 3 (it has 2)"), ("0", "not a page number"), ("x", "not a page number")]:
        r = client.post("/v1/read", files={"image": ("doc.pdf", two.getvalue(), "application/pdf")}, data={"page": bad})
        assert r.status_code == 422 and why in r.json()["detail"], (bad, r.text)
    r = client.post("/v1/read", files={"image": ("cut.pdf", one.getvalue()[:300], "application/pdf")})
    assert r.status_code == 422 and "cut.pdf: not a readable PDF" in r.json()["detail"]
    # made searchable, the page is kept as it is: its own image, not one drawn again at 200 dpi
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c
    r = client.post("/v1/read", files={"image": ("doc.pdf", two.getvalue(), "application/pdf")},
                    data={"page": "2", "format": "pdf"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    kept = pdfium.PdfDocument(r.content)
    assert len(kept) == 1 and kept[0].get_textpage().get_text_range().split() == second_alone["text"].split()
    assert [obj.get_px_size() for obj in kept[0].get_objects() if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE] == \
        [second.size]


def test_orientation_is_an_option(client, lines):
    """A line scanned upside down: `orientation=auto` finds it, `180` says it, boxes stay on the upload."""
    gray = lines[LINE].image
    upright = client.post("/v1/read", files={"image": ("line.png", png(gray), "image/png")}).json()
    turned = png(np.ascontiguousarray(gray[::-1, ::-1]))
    for value in ("auto", "180"):
        r = client.post("/v1/read", files={"image": ("line.png", turned, "image/png")}, data={"orientation": value})
        assert r.status_code == 200, r.text
        assert (r.json()["orientation"], r.json()["text"]) == (180, upright["text"])
        assert (r.json()["width"], r.json()["height"]) == (gray.shape[1], gray.shape[0])
    assert upright["orientation"] == 0
    r = client.post("/v1/read", files={"image": ("line.png", turned, "image/png")}, data={"orientation": "45"})
    assert r.status_code == 422 and "unknown orientation '45'" in r.json()["detail"]


def test_image_endpoint_gives_back_the_page_as_it_is_read(client, lines):
    """The web page shows this when the browser cannot show the upload: its pixels must be those of
    /v1/read's boxes (a PDF drawn at 200 dpi, a photo turned upright as its EXIF says)."""
    gray = lines[LINE].image
    pdf, tiff, jpeg = io.BytesIO(), io.BytesIO(), io.BytesIO()
    Image.fromarray(gray).save(pdf, format="PDF", resolution=200)
    Image.fromarray(gray).save(tiff, format="TIFF")
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: the camera was turned; the picture must be turned back 90 degrees
    Image.fromarray(np.ascontiguousarray(np.rot90(gray, 1))).save(jpeg, format="JPEG", quality=95, exif=exif)
    for name, data in [("line.pdf", pdf), ("line.tif", tiff), ("photo.jpg", jpeg)]:
        r = client.post("/v1/image", files={"image": (name, data.getvalue(), "application/octet-stream")})
        assert r.status_code == 200 and r.headers["content-type"] == "image/png", (name, r.text)
        shown = np.asarray(Image.open(io.BytesIO(r.content)))
        read = client.post("/v1/read", files={"image": (name, data.getvalue(), "image/png")}).json()
        assert shown.shape == (read["height"], read["width"]), name
        assert abs(shown.shape[0] - gray.shape[0]) <= 1 and abs(shown.shape[1] - gray.shape[1]) <= 1, name
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(client.post("/v1/image", content=tiff.getvalue()).content))), gray)
    assert np.abs(shown.astype(int) - gray).mean() < 3  # the JPEG, turned back upright

    assert client.post("/v1/image", json={"strokes": [[[0, 0], [5, 5]]]}).status_code == 422
    assert client.post("/v1/image", content=b"not an image").status_code == 415
    r = client.post("/v1/image", files={"image": ("cut.pdf", pdf.getvalue()[:300], "application/pdf")})
    assert r.status_code == 422 and "cut.pdf: not a readable PDF" in r.json()["detail"]


@pytest.mark.parametrize("raw", [b'{"strokes": [[[1, 2', b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000,
                                 b'{"a":' * 5000 + b"1" + b"}" * 5000],
                         ids=["cut", "not-utf8", "deep-list", "deep-dict"])
def test_malformed_json_is_400(client, raw):
    r = client.post("/v1/read", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "JSON" in r.json()["detail"], r.text


def test_malformed_multipart_is_400(client):
    r = client.post("/v1/read", content=b"--xyz\r\nnonsense", headers={"content-type": "multipart/form-data"})
    assert r.status_code == 400, r.text
    body = b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\nabc"  # never ends
    r = client.post("/v1/read", content=body, headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code in (400, 422), r.text


@pytest.mark.parametrize("body, names", [
    ({}, "exactly one of"),
    ({"image": "aGVsbG8=", "strokes": [[[0, 0]]]}, "exactly one of"),
    ({"image": "not base64!!"}, "base64"),
    ({"strokes": [[[0, 0, 0, 0]]]}, "strokes[0][0]"),
    ({"strokes": [[[1, 2], [3]]]}, "strokes[0][1]"),
    ({"strokes": [[[1, "two"]]]}, "strokes[0][0][1]"),
    ({"strokes": [[]]}, "no points"),
    ({"strokes": "abc"}, "strokes"),
    ({"strokes": [[[0, 0]]], "colour": "red"}, "colour"),
    ({"strokes": [[[0, 0]]], "decoder": "magic"}, "unknown decoder"),
    ({"strokes": [[[0, 0]]], "format": "docx"}, "unknown format"),
    ({"strokes": [[[0, 0]]], "layout": "spiral"}, "unknown layout"),
])
def test_bad_json_requests_are_422_naming_the_problem(client, body, names):
    r = client.post("/v1/read", json=body)
    assert r.status_code == 422, r.text
    assert names in r.json()["detail"]


def test_non_finite_and_huge_coordinates_are_422(client):
    for raw in (b'{"strokes": [[[0, 0], [NaN, 1]]]}', b'{"strokes": [[[0, 0], [1, Infinity]]]}',
                b'{"strokes": [[[0, 0], [1, 1]], [[0, 0], [1e300, 1]]]}', b'{"strokes": [[[0, -2e6]]]}'):
        r = client.post("/v1/read", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text
        assert "strokes[0]" in r.json()["detail"] or "strokes[1]" in r.json()["detail"], r.text


def test_too_many_points_strokes_or_lines_is_413(client):
    r = client.post("/v1/read", json={"strokes": [[[i % 300, i // 300] for i in range(20_001)]]})
    assert r.status_code == 413 and "20001 points" in r.json()["detail"]
    r = client.post("/v1/read", json={"strokes": [[[i, 0]] for i in range(5001)]})
    assert r.status_code == 413 and "5001 strokes" in r.json()["detail"]
    # The brackets are counted before the JSON is parsed into Python objects.
    r = client.post("/v1/read", content=b'{"strokes": [[' + b"[0,0]," * 30_000 + b"[0,0]]]}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and "'['" in r.json()["detail"]
    # Each line of writing is a read of its own: 51 short dashes one below the other are refused.
    r = client.post("/v1/read", json={"strokes": [[[0, 100 * i], [50, 100 * i + 10]] for i in range(51)]})
    assert r.status_code == 413 and "51 lines" in r.json()["detail"]


def test_multipart_without_an_image_file_is_422(client):
    r = client.post("/v1/read", files={"picture": ("x.png", b"abc")})
    assert r.status_code == 422 and "'image'" in r.json()["detail"]
    r = client.post("/v1/read", data={"image": "just text"}, files={"other": ("x", b"")})
    assert r.status_code == 422


# -- load -----------------------------------------------------------------------------------------

def test_full_queue_answers_503_with_retry_after_and_recovers(lines):
    """One worker, one waiting slot: while a read is held, a third and fourth request are refused at once."""
    release = threading.Event()
    started = threading.Event()

    def held(image, **options):
        started.set()
        release.wait(30)
        return htr.read(image, **options)

    app = create_app(held, max_workers=1, queue_size=1)
    files = {"image": ("line.png", png(lines[LINE].image), "image/png")}

    async def scenario():
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as http:
            first = asyncio.create_task(http.post("/v1/read", files=files))
            second = asyncio.create_task(http.post("/v1/read", files=files))
            await asyncio.to_thread(started.wait, 10)
            await until(lambda: app.state.pool.pending == 2)  # one read held, one queued
            refused = await asyncio.gather(*(http.post("/v1/read", files=files) for _ in range(2)))
            health = (await http.get("/health")).json()
            release.set()
            done = await asyncio.gather(first, second)
            after = await http.post("/v1/read", files=files)
            return refused, health, done, after

    refused, health, done, after = asyncio.run(scenario())
    assert [r.status_code for r in refused] == [503, 503]
    assert all(int(r.headers["retry-after"]) >= 1 for r in refused)
    assert "busy" in refused[0].json()["detail"]
    assert health["pending"] == 2
    assert [r.status_code for r in done] == [200, 200]
    assert after.status_code == 200 and after.json()["text"] == done[0].json()["text"]


async def until(condition, timeout: float = 10.0) -> None:
    """Wait for a condition to hold, checking often; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def test_a_request_given_up_while_queued_frees_its_slot():
    """A client that goes away while its read waits must not keep the slot: the count stays true."""
    pool = WorkerPool(workers=1, queue_size=1)
    release = threading.Event()

    async def scenario():
        running = asyncio.create_task(pool.run(lambda: release.wait(10)))
        await until(lambda: pool.pending == 1)
        queued = asyncio.create_task(pool.run(lambda: "never runs"))
        await until(lambda: pool.pending == 2)
        queued.cancel()
        release.set()
        result, waited, ran = await running
        await until(lambda: pool.pending == 0)
        return result, waited, ran, await pool.run(lambda: 42)

    result, waited, ran, after = asyncio.run(scenario())
    pool.shutdown()
    assert result is True and waited >= 0 and ran > 0
    assert after[0] == 42 and pool.pending == 0


def test_a_model_that_cannot_load_fails_at_start(tmp_path):
    with pytest.raises(ValueError, match="not a model directory"):
        create_app(model=tmp_path)
    with pytest.raises(ValueError, match="at least 1 worker"):
        create_app(lambda image, decoder=None: None, max_workers=0)


# -- documentation --------------------------------------------------------------------------------

def test_openapi_and_docs_work_without_a_cdn(client):
    spec = client.get("/openapi.json").json()
    read = spec["paths"]["/v1/read"]["post"]
    assert {"multipart/form-data", "application/json"} <= set(read["requestBody"]["content"])
    assert {"413", "415", "422", "503"} <= set(read["responses"])
    assert "/health" in spec["paths"]
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", html)
        urls = [a or b for a, b in assets]
        assert any(u.endswith(".js") for u in urls), (page, urls)
        for url in urls:
            assert url.startswith("/"), (page, url)  # served here, never from a CDN
            assert client.get(url).status_code == 200, (page, url)


def test_the_page_and_its_assets_are_local(client):
    r = client.get("/")
    assert r.status_code == 200 and "default-src 'self'" in r.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/style.css", "/static/favicon.svg"):
        assert asset in r.text
        assert client.get(asset).status_code == 200
    assert "http://" not in r.text and "https://" not in r.text


def test_serve_command_refuses_a_pool_without_workers():
    import argparse

    from htr.cli import serve  # only this command: the others import torch
    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers())
    args = parser.parse_args(["serve", "--workers", "0", "--port", "1"])
    with pytest.raises(ValueError, match="at least 1 worker"):
        args.func(args)
