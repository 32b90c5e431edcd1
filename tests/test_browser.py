"""The page end to end in headless Chromium: upload a real line image, and write a real line on the pad.

The service runs in uvicorn on a free loopback port with the shipped model. Chromium is Debian's
(`make chromium` installs it). Screenshots go to a temporary folder, or to $HTR_SCREENSHOTS
(`HTR_SCREENSHOTS=docs/img pytest tests/test_browser.py` refreshes the ones in the docs).
"""
from __future__ import annotations

import base64
import io
import os
import socket
import threading
import time
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pypdfium2 as pdfium
import pytest
import uvicorn
from PIL import Image

from htr import ink
from htr.datasets.iam_ondb import IamOnDB
from htr.formats import SUFFIXES
from htr.metrics import cer
from htr.service import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LINES = (2, 5)   # testset_t lines: one uploaded as an image, one written on the pad
MAX_CER = 0.35   # generous: the default model reads these lines far better
TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def lines(iam_ondb_root) -> IamOnDB:
    return IamOnDB(iam_ondb_root, "testset_t")


@pytest.fixture(scope="module")
def server() -> str:
    """The service in a uvicorn thread on a loopback port the OS picked; its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` (or apt-get install -y chromium) installs it")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1100, "height": 760}, base_url=server, accept_downloads=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.goto("/")
    page.wait_for_selector("#decoder option", state="attached", timeout=TIMEOUT_MS)  # /health answered
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("HTR_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page, path: Path) -> None:
    page.screenshot(path=str(path))
    assert 0 < path.stat().st_size < 300_000, path


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


def result_words(page) -> tuple[str, int]:
    """The text shown, and how many word boxes are drawn over the input."""
    return page.inner_text("#text").strip(), page.locator("#boxes rect.word").count()


def test_uploading_a_line_image_shows_its_text_and_boxes(page, lines, tmp_path, shots):
    sample = lines[LINES[0]]
    image = ink.render(lines.strokes(LINES[0]), ink.InkStyle(height=96, pen_width=3.5))
    path = tmp_path / "line.png"
    Image.fromarray(image).save(path)

    page.set_input_files("#file", str(path))
    page.wait_for_selector("#result:not([hidden]) #text .word", timeout=TIMEOUT_MS)
    text, boxes = result_words(page)
    assert cer([sample.text], [text]) < MAX_CER, text
    assert boxes == len(text.split())
    assert page.locator("#boxes rect.line").count() == 1
    assert "1 line" in page.inner_text("#meta")
    # the image shown is the one uploaded, at its own size in the boxes' coordinates
    assert page.get_attribute("#boxes", "viewBox") == f"0 0 {image.shape[1]} {image.shape[0]}"
    assert page.evaluate("document.querySelector('#preview').naturalWidth") == image.shape[1]
    screenshot(page, shots / "screenshot-upload.png")

    page.click("#copy")
    page.wait_for_selector("#copy.done", timeout=TIMEOUT_MS)
    assert page.evaluate("navigator.clipboard.readText()") == text
    with page.expect_download() as txt:
        page.click("[data-download=txt]")
    assert txt.value.suggested_filename == "line.txt"
    assert Path(txt.value.path()).read_text().strip() == text
    with page.expect_download() as xml:
        page.click("[data-download=page-xml]")
    assert xml.value.suggested_filename == "line.xml"
    document = Path(xml.value.path()).read_text()
    assert "PcGts" in document and all(escape(word) in document for word in text.split())
    with page.expect_download() as hocr:
        page.click("[data-download=hocr]")
    assert hocr.value.suggested_filename == "line" + SUFFIXES["hocr"]  # the name `htr read` writes
    assert 'class="ocr_line"' in Path(hocr.value.path()).read_text()
    with page.expect_download() as pdf:
        page.click("[data-download=pdf]")
    assert pdf.value.suggested_filename == "line.pdf"
    assert pdfium.PdfDocument(pdf.value.path())[0].get_textpage().get_text_range().split() == text.split()


def test_pasting_or_dropping_an_image_reads_it(page, lines):
    """The clipboard and drag-and-drop hand the page a File, as a browser does."""
    image = ink.render(lines.strokes(LINES[0]), ink.InkStyle(height=80))
    data = base64.b64encode(png_bytes(image)).decode()
    for event, target in (("paste", "body"), ("drop", "#drop")):
        page.evaluate("""([event, data, target]) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], event + ".png", { type: "image/png" }));
            const init = { bubbles: true, cancelable: true };
            document.querySelector(target).dispatchEvent(event === "paste"
                ? new ClipboardEvent("paste", { ...init, clipboardData: dt })
                : new DragEvent("drop", { ...init, dataTransfer: dt }));
        }""", [event, data, target])
        page.wait_for_selector("#result:not([hidden]) #text .word", timeout=TIMEOUT_MS)
        assert cer([lines.labels[LINES[0]]], [page.inner_text("#text").strip()]) < MAX_CER, event
        assert page.get_attribute("#boxes", "viewBox") == f"0 0 {image.shape[1]} {image.shape[0]}"
        page.evaluate("document.querySelector('#result').hidden = true")  # the next event must show it again


def test_writing_a_line_on_the_pad_reads_it(page, lines, shots):
    strokes = lines.strokes(LINES[1])
    page.click("#tab-draw")
    pad = page.locator("#pad").bounding_box()
    # Fit the tablet strokes into the pad: 20 px margins, at most 60 px high, like a hand on a page.
    x0, y0, x1, y1 = ink.ink_bbox(strokes)
    scale = min((pad["width"] - 40) / (x1 - x0), 60 / (y1 - y0))
    origin = np.array([pad["x"] + 20 - x0 * scale, pad["y"] + 40 - y0 * scale])
    for stroke in strokes:
        points = stroke[:, :2] * scale + origin
        page.mouse.move(*points[0])
        page.mouse.down()
        last = points[0]
        for p in points[1:]:
            if np.hypot(*(p - last)) >= 1.5:  # a real mouse reports moves of a pixel or more
                page.mouse.move(*p)
                last = p
        page.mouse.move(*points[-1])
        page.mouse.up()

    # The page reads the drawing once the pen rests; wait for the reading of all of it.
    page.wait_for_selector(f'#result[data-strokes="{len(strokes)}"]:not([hidden]) #text .word',
                           timeout=TIMEOUT_MS)
    text, boxes = result_words(page)
    assert cer([lines.labels[LINES[1]]], [text]) < MAX_CER, text
    assert boxes == len(text.split())
    assert page.get_attribute("#result", "data-input") == "ink"
    screenshot(page, shots / "screenshot-draw.png")

    page.click("#clear")  # clearing the pad clears the result
    page.wait_for_selector("#result", state="hidden", timeout=TIMEOUT_MS)


def test_a_file_that_is_not_an_image_gets_a_clear_message(page, tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are notes, not a picture")
    page.set_input_files("#file", str(path))
    page.wait_for_selector("#status.error", timeout=TIMEOUT_MS)
    assert "not an image" in page.inner_text("#status")
    assert page.is_hidden("#result")


@pytest.mark.parametrize("kind", ["PDF", "TIFF"])
def test_a_pdf_or_tiff_upload_shows_the_page_the_service_read(page, lines, tmp_path, kind):
    """Chromium shows neither in an <img>: the page asks /v1/image for the page as it was read."""
    sample = lines[LINES[0]]
    image = ink.render(lines.strokes(LINES[0]), ink.InkStyle(height=96, pen_width=3.5))
    path = tmp_path / f"line.{kind.lower()}"
    Image.fromarray(image).save(path, kind, resolution=200)

    page.set_input_files("#file", str(path))
    page.wait_for_selector("#result:not([hidden]) #text .word", timeout=TIMEOUT_MS)
    assert cer([sample.text], [result_words(page)[0]]) < MAX_CER
    size = "[document.querySelector('#preview').naturalWidth, document.querySelector('#preview').naturalHeight]"
    deadline = time.monotonic() + TIMEOUT_MS / 1000  # (wait_for_function evaluates a string: the CSP forbids it)
    while not (shown := page.evaluate(size))[0] and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert abs(shown[0] - image.shape[1]) <= 1 and abs(shown[1] - image.shape[0]) <= 1  # PDF: 200 dpi both ways
    assert page.get_attribute("#boxes", "viewBox") == f"0 0 {shown[0]} {shown[1]}"
    assert page.get_attribute("#preview", "src").startswith("blob:")
    assert page.is_hidden("#status")


def test_an_upside_down_upload_is_read_upright(page, lines, tmp_path):
    sample = lines[LINES[0]]
    image = ink.render(lines.strokes(LINES[0]), ink.InkStyle(height=96, pen_width=3.5))
    path = tmp_path / "upside-down.png"
    Image.fromarray(np.ascontiguousarray(image[::-1, ::-1])).save(path)

    page.set_input_files("#file", str(path))
    page.wait_for_selector("#result:not([hidden]) #text .word", timeout=TIMEOUT_MS)
    assert cer([sample.text], [result_words(page)[0]]) < MAX_CER
    assert "turned 180°" in page.inner_text("#meta")
    assert page.get_attribute("#boxes", "viewBox") == f"0 0 {image.shape[1]} {image.shape[0]}"


def test_a_pdf_of_two_pages_is_read_page_by_page(page, lines, tmp_path):
    first, second = (ink.render(lines.strokes(k), ink.InkStyle(height=96, pen_width=3.5)) for k in LINES)
    path = tmp_path / "doc.pdf"
    Image.fromarray(first).save(path, resolution=200, save_all=True, append_images=[Image.fromarray(second)])

    page.set_input_files("#file", str(path))
    page.wait_for_selector("#result:not([hidden]) #text .word", timeout=TIMEOUT_MS)
    assert page.inner_text("#page-of") == "page 1 of 2" and page.is_disabled("#prev")
    assert cer([lines[LINES[0]].text], [result_words(page)[0]]) < MAX_CER
    page.click("#next")
    page.wait_for_selector("#page-of:text('page 2 of 2')", timeout=TIMEOUT_MS)
    page.wait_for_selector("#result:not([hidden]) #text .word", timeout=TIMEOUT_MS)
    assert cer([lines[LINES[1]].text], [result_words(page)[0]]) < MAX_CER and page.is_disabled("#next")
    width, height = map(int, page.get_attribute("#boxes", "viewBox").split()[2:])
    assert abs(width - second.shape[1]) <= 1 and abs(height - second.shape[0]) <= 1   # drawn at 200 dpi
    with page.expect_download() as txt:
        page.click("[data-download=txt]")
    assert txt.value.suggested_filename == "doc-p2.txt"
