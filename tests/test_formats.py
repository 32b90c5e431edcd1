"""Output formats: PAGE XML and ALTO validate against the shipped schemas (offline), hOCR is
well-formed XHTML with the standard classes, PAGE XML reads back, overlays draw."""
from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from htr import formats
from htr.datasets.iam_ondb import IamOnDB
from htr.page import Line, Page, Word
from htr.pagegen import compose


@pytest.fixture(scope="module")
def real_page(mini_iam_ondb):
    """A page drawn from a real IAM-OnDB form; its lines get word boxes split from the line boxes,
    and one line carries characters that must be escaped."""
    ds = IamOnDB(mini_iam_ondb, "minival")
    image, page = compose([ds.strokes(i) for i in range(len(ds))], list(ds.labels), np.random.default_rng(0))
    for line in page.lines:
        x0, y0, x1, y1 = line.box
        texts = line.text.split()
        edges = np.linspace(x0, x1, len(texts) + 1).astype(int)
        line.words = [Word(t, (int(a), y0, int(b), y1), 0.9) for t, a, b in zip(texts, edges, edges[1:])]
        line.confidence = 0.87
    page.lines[0].text += ' <&> "quoted"'
    page.lines[0].words.append(Word('<&>"', page.lines[0].words[-1].box, 0.5))
    x0, _, x1, y1 = page.lines[1].box
    page.lines[1].baseline = [(x0, y1 - 5), (x1, y1 - 5)]
    return image, page


@pytest.fixture(scope="module")
def schemas():
    return {name: formats.schema(name) for name in ("page-xml", "alto")}


def test_schemas_load_offline_and_complete(schemas):
    """Both schemas resolve every import from htr/schemas (xlink for ALTO) without the network."""
    assert schemas["page-xml"].target_namespace == formats.PAGE_NS
    assert schemas["alto"].target_namespace == formats.ALTO_NS
    assert "{http://www.w3.org/1999/xlink}href" in schemas["alto"].maps.attributes


@pytest.mark.parametrize("fmt", ["page-xml", "alto"])
def test_xml_formats_validate(real_page, schemas, fmt):
    _, page = real_page
    doc = formats.write(page, fmt, "page.png")
    schemas[fmt].validate(doc)  # raises with the reason if invalid
    empty = formats.write(Page(100, 50, []), fmt, "blank.png")
    schemas[fmt].validate(empty)


@pytest.mark.parametrize("orientation, page_fix, counter_clockwise", [(90, -90, 270), (180, 180, 180), (270, 90, 90)])
def test_a_turned_page_says_so_in_each_format(real_page, schemas, orientation, page_fix, counter_clockwise):
    """Writing turned 90 degrees clockwise: PAGE's region must be turned 90 anti-clockwise to be
    right (-90), and ALTO and hOCR give the writing's turn counter-clockwise (270)."""
    page = dataclasses.replace(real_page[1], orientation=orientation)
    doc = formats.write(page, "page-xml", "page.png")
    schemas["page-xml"].validate(doc)
    assert float(ET.fromstring(doc).find(f".//{{{formats.PAGE_NS}}}TextRegion").get("orientation")) == page_fix
    doc = formats.write(page, "alto", "page.png")
    schemas["alto"].validate(doc)
    assert float(ET.fromstring(doc).find(f".//{{{formats.ALTO_NS}}}TextBlock").get("ROTATION")) == counter_clockwise
    assert f"textangle {counter_clockwise}" in formats.write(page, "hocr", "page.png")
    assert json.loads(formats.write(page, "json", "page.png"))["orientation"] == orientation
    assert "orientation" not in formats.write(real_page[1], "page-xml", "page.png")


def test_columns_are_text_blocks_in_each_format(real_page, schemas, tmp_path):
    """Lines of two columns (Line.block) go into two regions / blocks / areas, valid, with IDs
    that stay unique, and come back from PAGE XML in their blocks."""
    _, page = real_page
    half = len(page.lines) // 2
    page = dataclasses.replace(page, lines=[dataclasses.replace(ln, block=int(i >= half))
                                            for i, ln in enumerate(page.lines)])
    for fmt, tag in (("page-xml", "<TextRegion "), ("alto", "<TextBlock ")):
        doc = formats.write(page, fmt, "page.png")
        schemas[fmt].validate(doc)   # IDs are xs:ID in both: a repeated one fails
        assert doc.count(tag) == 2
    root = ET.fromstring(formats.write(page, "hocr", "page.png"))
    areas = [el for el in root.iter() if el.get("class") == "ocr_carea"]
    assert len(areas) == 2 and len({el.get("id") for el in root.iter() if el.get("id")}) == \
        len([el for el in root.iter() if el.get("id")])
    (tmp_path / "page.xml").write_text(formats.write(page, "page-xml", "page.png"))
    back, _ = formats.read_page_xml(tmp_path / "page.xml")
    assert [ln.block for ln in back.lines] == [ln.block for ln in page.lines]
    assert json.loads(formats.write(page, "json"))["lines"][-1]["block"] == 1


def test_xml_validation_catches_a_broken_document(real_page, schemas):
    """The validation is real: a document with a bad coordinate is refused."""
    _, page = real_page
    doc = formats.write(page, "page-xml", "page.png").replace('<Coords points="', '<Coords points="x', 1)
    assert not schemas["page-xml"].is_valid(doc)
    alto = formats.write(page, "alto", "page.png").replace('HPOS="', 'HPOS="left', 1)
    assert not schemas["alto"].is_valid(alto)


def test_page_xml_reads_back(real_page, tmp_path):
    _, page = real_page
    path = tmp_path / "p.xml"
    path.write_text(formats.write(page, "page-xml", "p.png"), encoding="utf-8")
    back, name = formats.read_page_xml(path)
    assert name == "p.png" and (back.width, back.height) == (page.width, page.height)
    assert [ln.text for ln in back.lines] == [ln.text for ln in page.lines]
    assert [ln.box for ln in back.lines] == [ln.box for ln in page.lines]
    assert [w.text for w in back.lines[0].words] == [w.text for w in page.lines[0].words]
    assert back.lines[1].baseline == page.lines[1].baseline
    assert back.lines[0].confidence == pytest.approx(0.87)


def test_read_page_xml_names_a_broken_file(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<PcGts><Page")
    with pytest.raises(ValueError, match="bad.xml"):
        formats.read_page_xml(bad)


def test_hocr_is_xhtml_with_classes_and_boxes(real_page):
    _, page = real_page
    root = ET.fromstring(formats.write(page, "hocr", "page.png"))
    ns = {"h": "http://www.w3.org/1999/xhtml"}
    assert root.tag == "{http://www.w3.org/1999/xhtml}html"
    by_class = lambda c: root.findall(f".//*[@class='{c}']")  # noqa: E731
    assert len(by_class("ocr_page")) == 1 and len(by_class("ocr_carea")) == 1
    lines, words = by_class("ocr_line"), by_class("ocrx_word")
    assert len(lines) == len(page.lines)
    assert len(words) == sum(len(ln.words) for ln in page.lines)
    bbox = re.compile(r"^bbox (\d+) (\d+) (\d+) (\d+); x_wconf \d+$")
    for el, line in zip(lines, page.lines):
        m = bbox.match(el.get("title"))
        assert m and tuple(int(v) for v in m.groups()) == line.box
    assert words[len(page.lines[0].words) - 1].text == '<&>"'
    assert "bbox 0 0 %d %d" % (page.width, page.height) in by_class("ocr_page")[0].get("title")
    assert root.find("h:head/h:meta[@name='ocr-capabilities']", ns) is not None


def test_text_and_json(real_page):
    _, page = real_page
    assert formats.write(page, "text") == page.text + "\n"
    d = json.loads(formats.write(page, "json", "x.png"))
    assert d["image"] == "x.png" and d["text"] == page.text
    assert d["lines"][0]["words"][0]["box"] == list(page.lines[0].words[0].box)
    with pytest.raises(ValueError, match="unknown format"):
        formats.write(page, "docx")


def test_overlay_draws_boxes(real_page):
    image, page = real_page
    drawn = formats.overlay(image, page)
    assert drawn.shape == (*image.shape, 3)
    x0, y0, x1, y1 = page.lines[2].box
    edge = drawn[y0 + 3:y1 - 3, x0].astype(int)  # the left edge of a line (and word) box is drawn in colour
    assert (np.ptp(edge, axis=1) > 30).mean() > 0.9
    blank = formats.overlay(image, Page(image.shape[1], image.shape[0], []))
    assert np.array_equal(blank[:, :, 0], image)


def test_a_searchable_pdf_shows_the_image_and_finds_each_word_in_its_box(real_page):
    """The PDF shows the page as it is (the words laid over it are invisible), its text copies out
    line by line as read, and a viewer finds each word where it is written; a page read turned is
    shown upright. Read by PDFium, as a PDF viewer would."""
    import pypdfium2 as pdfium

    import htr
    from htr.pdf import A4_LONG_INCHES, searchable_pdf
    image, _ = real_page
    for turn in (0, 90, 180, 270):
        turned = np.ascontiguousarray(np.rot90(image, k=-turn // 90))   # the writing turned clockwise
        page = htr.read(turned, decoder="greedy", orientation=turn)
        assert len(page.lines) >= 2
        sheet = pdfium.PdfDocument(searchable_pdf([(turned, page)], title="page.png"))[0]
        assert sheet.get_rotation() == (360 - turn) % 360
        text = sheet.get_textpage()
        assert [line.strip() for line in text.get_text_range().split("\r\n")] == page.text.split("\n")
        h, w = turned.shape
        s = 72 / max(72, max(h, w) / A4_LONG_INCHES)   # points per pixel
        words = [word for line in page.lines for word in line.words]
        found = [text.get_text_bounded(x0 * s, (h - y1) * s, x1 * s, (h - y0) * s).strip() == word.text
                 for word in words for x0, y0, x1, y1 in [word.box]]
        assert np.mean(found) >= 0.9, (turn, [wd.text for wd, f in zip(words, found) if not f])
        if turn == 0:
            shown = sheet.render(scale=1 / s, grayscale=True).to_numpy()   # (H, W)
            assert shown.shape == image.shape
            assert np.abs(shown.astype(int) - image).mean() < 4   # JPEG's loss only: no visible text

    page = htr.read(image, decoder="greedy")   # a colour scan: blue ink on cream paper stays so
    tinted = np.stack([np.minimum(image, 235), np.minimum(image, 225), np.minimum(image, 200)], axis=2)
    tinted[image < 128] = (30, 50, 170)
    sheet = pdfium.PdfDocument(searchable_pdf([(tinted, page)]))[0]
    shown = sheet.render(scale=tinted.shape[1] / sheet.get_size()[0], rev_byteorder=True).to_numpy()[..., :3]
    assert shown.shape == tinted.shape and np.abs(shown.astype(int) - tinted).mean() < 4


def test_a_searchable_pdf_of_a_pdf_page_keeps_the_page_as_it_is(real_page):
    """A page of a PDF (a scan with a margin cropped off, turned by its /Rotate, with text of its
    own) goes into the searchable PDF as it is: its own image at its own resolution (not drawn
    again at 200 dpi), its text, its crop box, and its rotation (plus the turn it was read with),
    with the words read laid over it, invisibly, where they are written."""
    import ctypes
    import io

    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    import htr
    from htr.imageio import PDF_DPI, load_image, pages_of
    from htr.pdf import searchable_pdf
    image, _ = real_page
    for rotation, turn in ((0, 0), (90, 0), (270, 90), (0, 180)):
        # stored so that the page, shown turned by its rotation, has the writing turned by `turn`
        stored = np.ascontiguousarray(np.rot90(image, k=(rotation - turn) // 90))
        own = Page(stored.shape[1], stored.shape[0], [Line("Form 12", (10, 10, 200, 60), 1.0)])
        doc = pdfium.PdfDocument(searchable_pdf([(stored, own)]))
        width, height = doc[0].get_mediabox()[2:]
        doc[0].set_cropbox(8, 6, width, height)
        doc[0].set_rotation(rotation)
        scan = io.BytesIO()
        doc.save(scan)
        [source] = pages_of(scan.getvalue(), "scan.pdf")
        page = htr.read(source, decoder="greedy", orientation=turn)
        assert len(page.lines) >= 2
        kept = pdfium.PdfDocument(formats.document(page, "pdf", "scan.pdf", source))[0]
        assert kept.get_rotation() == (rotation - turn) % 360   # shown upright
        assert kept.get_cropbox() == pytest.approx((8, 6, width, height), abs=0.01)
        images = [obj for obj in kept.get_objects() if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE]
        assert [obj.get_px_size() for obj in images] == [(stored.shape[1], stored.shape[0])]
        text = kept.get_textpage()
        assert text.get_text_range().split() == ["Form", "12", *page.text.split()]   # its own text, then ours
        shown = load_image(source)   # the page as it was read
        h, w = shown.shape
        drawn = kept.render(scale=PDF_DPI / 72, rotation=turn, grayscale=True).to_numpy()
        assert drawn.shape == shown.shape and np.abs(drawn.astype(int) - shown).mean() < 1   # nothing visible added

        def to_page(x: int, y: int) -> tuple[float, float]:   # PDFium's own map from pixels to the page
            px, py = ctypes.c_double(), ctypes.c_double()
            pdfium_c.FPDF_DeviceToPage(kept.raw, 0, 0, w, h, turn // 90, x, y, px, py)
            return px.value, py.value
        words = [word for line in page.lines for word in line.words]
        found = []
        for word in words:
            (ax, ay), (bx, by) = to_page(*word.box[:2]), to_page(*word.box[2:])
            found.append(text.get_text_bounded(min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)).strip() == word.text)
        assert np.mean(found) >= 0.9, (rotation, turn, [wd.text for wd, f in zip(words, found) if not f])
    with pytest.raises(ValueError, match="only a page of a PDF"):
        searchable_pdf([(pages_of(b"GIF89a", "x.gif")[0], page)])


def test_a_searchable_pdf_keeps_paper_sizes_and_pages():
    """A 300 dpi A4 scan stays an A4 page; a line crop is a point a pixel; pages stay in order; a
    line without word boxes is one word; a page read from another image is refused."""
    import pypdfium2 as pdfium

    from htr.pdf import searchable_pdf
    a4 = np.full((3508, 2480), 255, np.uint8)
    crop = np.full((60, 500), 255, np.uint8)
    pages = [(a4, Page(2480, 3508, [])), (crop, Page(500, 60, [Line("one line (no word boxes)", (5, 5, 495, 55), 0.9)]))]
    pdf = pdfium.PdfDocument(searchable_pdf(pages, title="scan (1).tif"))
    assert len(pdf) == 2 and pdf.get_metadata_dict()["Title"] == "scan (1).tif"
    assert pdf[0].get_textpage().get_text_range() == "" and \
        pdf[1].get_textpage().get_text_range() == "one line (no word boxes)"
    assert np.allclose(pdf[0].get_size(), (595.2, 841.7), atol=0.5)   # A4 in points
    assert np.allclose(pdf[1].get_size(), (500, 60))
    words = [Word("a(b)c\\d", (5, 5, 150, 55), 0.9), Word("été€", (160, 5, 300, 55), 0.9), Word("łódź", (310, 5, 495, 55), 0.9)]
    odd = Page(500, 60, [Line("a(b)c\\d été€ łódź", (5, 5, 495, 55), 0.9, words)])
    text = pdfium.PdfDocument(searchable_pdf([(crop, odd)]))[0].get_textpage().get_text_range()
    assert text == "a(b)c\\d été€ ?ód?"   # PDF string escapes; Windows-1252 (Courier's encoding) or ?
    with pytest.raises(ValueError, match="read from a 500x60 image"):
        searchable_pdf([(a4, Page(500, 60, []))])
    with pytest.raises(ValueError, match="needs the image"):
        formats.document(Page(500, 60, []), "pdf")
