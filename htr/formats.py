"""Writing a read Page in the formats other tools read: text, JSON, PAGE XML, ALTO, hOCR, and a
searchable PDF (the image with the words laid over it invisibly: htr/pdf.py).

PAGE (2019-07-15) and ALTO (v4.2) documents validate against the schemas shipped in
htr/schemas/ (`schema(name)` loads them offline); hOCR is well-formed XHTML with the standard
ocr_page / ocr_carea / ocr_par / ocr_line / ocrx_word classes and `bbox` titles. A page holds a
text block per column of writing and per stretch of writing across columns, such as a title
(`Line.block`), each with its lines in reading order. `overlay` draws the result on the image.
"""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from htr.imageio import FilePage
from htr.page import Box, Line, Page, Point, Word

FORMATS = ("text", "json", "page-xml", "alto", "hocr", "pdf")
# File name endings (the CLI's --output-dir, the web page's downloads) and media types (the service).
SUFFIXES = {"text": ".txt", "json": ".json", "page-xml": ".xml", "alto": ".alto.xml", "hocr": ".hocr", "pdf": ".pdf"}
MEDIA_TYPES = {"text": "text/plain; charset=utf-8", "json": "application/json", "page-xml": "application/xml",
               "alto": "application/xml", "hocr": "text/html; charset=utf-8", "pdf": "application/pdf"}
SCHEMAS = Path(__file__).parent / "schemas"
PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"
ALTO_NS = "http://www.loc.gov/standards/alto/ns-v4#"
_XLINK_URL = "http://www.loc.gov/standards/xlink/xlink.xsd"


def write(page: Page, fmt: str, image_name: str = "") -> str:
    """The page as a text document of format `fmt` (one of FORMATS but pdf, which needs the image:
    `document`)."""
    writers = {"text": lambda p, n: p.text + "\n",
               "json": lambda p, n: json.dumps({"image": n, **p.to_dict()}, indent=1),
               "page-xml": page_xml, "alto": alto, "hocr": hocr}
    if fmt == "pdf":
        raise ValueError("a PDF holds the image: formats.document(page, 'pdf', name, image)")
    if fmt not in writers:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return writers[fmt](page, image_name)


def document(page: Page, fmt: str, image_name: str = "", image: np.ndarray | FilePage | None = None) -> bytes:
    """The file of format `fmt` for a page: UTF-8 text, or for pdf a searchable PDF of the image
    the page was read from (gray, or RGB: `load_image(..., color=True)`), or of the PDF page it
    was read from, kept as it is (a FilePage holding the PDF's bytes)."""
    if fmt != "pdf":
        return write(page, fmt, image_name).encode("utf-8")
    if image is None:
        raise ValueError("a searchable PDF needs the image the page was read from")
    from htr.pdf import searchable_pdf
    return searchable_pdf([(image, page)], title=image_name)


# -- geometry helpers ---------------------------------------------------------------------------

def _corners(box: Box) -> list[Point]:
    x0, y0, x1, y1 = box
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _points(points: list[Point]) -> str:
    return " ".join(f"{max(int(x), 0)},{max(int(y), 0)}" for x, y in points)


def _union(boxes: list[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


# How a page's orientation (its writing turned clockwise by 0, 90, 180 or 270 degrees) is written:
# PAGE gives the clockwise turn that puts the region right, in -180..180; ALTO's ROTATION and
# hOCR's textangle give the writing's own turn, counter-clockwise.
def _clockwise_fix(orientation: int) -> int:
    return -orientation if orientation < 180 else 360 - orientation


def _counter_clockwise(orientation: int) -> int:
    return (360 - orientation) % 360


def words_of(line: Line) -> list[Word]:
    """The line's words; a line read without word boxes counts as one word."""
    return line.words or [Word(line.text, line.box, line.confidence)]


def blocks(page: Page) -> list[list[Line]]:
    """The page's lines by text block (a column, or writing across columns), in reading order:
    one block, unless segmentation found columns."""
    out: dict[int, list[Line]] = {}
    for line in page.lines:
        out.setdefault(line.block, []).append(line)
    return list(out.values())


# -- PAGE XML -----------------------------------------------------------------------------------

def page_xml(page: Page, image_name: str = "") -> str:
    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<PcGts xmlns="{PAGE_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           f'xsi:schemaLocation="{PAGE_NS} {PAGE_NS}/pagecontent.xsd">',
           f"<Metadata><Creator>htr</Creator><Created>{now}</Created><LastChange>{now}</LastChange></Metadata>",
           f'<Page imageFilename={quoteattr(image_name or "image")} '
           f'imageWidth="{page.width}" imageHeight="{page.height}">']
    turn = f' orientation="{_clockwise_fix(page.orientation)}"' if page.orientation else ""
    for r, lines in enumerate(blocks(page), 1):
        region = _points(_corners(_union([ln.box for ln in lines])))
        out.append(f'<TextRegion id="r{r}"{turn}><Coords points="{region}"/>')
        for i, line in enumerate(lines, 1):
            out.append(f'<TextLine id="r{r}l{i}"><Coords points="{_points(line.polygon or _corners(line.box))}"/>')
            if line.baseline:
                out.append(f'<Baseline points="{_points(line.baseline)}"/>')
            for j, word in enumerate(line.words, 1):
                out.append(f'<Word id="r{r}l{i}w{j}"><Coords points="{_points(_corners(word.box))}"/>'
                           f'{_equiv(word.text, word.confidence)}</Word>')
            out.append(f"{_equiv(line.text, line.confidence)}</TextLine>")
        text = "\n".join(ln.text for ln in lines)
        out.append(f"{_equiv(text, None)}</TextRegion>")
    out += ["</Page>", "</PcGts>", ""]
    return "\n".join(out)


def _equiv(text: str, conf: float | None) -> str:
    c = f' conf="{min(max(conf, 0.0), 1.0):.4f}"' if conf is not None else ""
    return f"<TextEquiv{c}><Unicode>{escape(text)}</Unicode></TextEquiv>"


def read_page_xml(source: str | Path) -> tuple[Page, str]:
    """A PAGE XML file (any version's namespace) as a Page and its image file name.

    Line and word boxes are the bounding boxes of their Coords polygons; a line's block is the
    number of the TextRegion it is in (from 0, in document order).
    """
    try:
        root = ET.parse(source).getroot()
    except (ET.ParseError, OSError) as e:
        raise ValueError(f"{source}: not a readable PAGE XML file ({e})") from None
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    q = (lambda tag: f"{{{ns}}}{tag}") if ns else (lambda tag: tag)
    page_el = root.find(q("Page"))
    if page_el is None:
        raise ValueError(f"{source}: no <Page> element")
    regions = {region: k for k, region in enumerate(page_el.iter(q("TextRegion")))}
    parent = {child: el for el in page_el.iter() for child in el}
    lines = []
    for tl in page_el.iter(q("TextLine")):
        up = parent.get(tl)
        while up is not None and up not in regions:
            up = parent.get(up)
        words = [Word(_text(w, q), _coords_box(w, q, source), _conf(w, q)) for w in tl.findall(q("Word"))]
        base = tl.find(q("Baseline"))
        lines.append(Line(_text(tl, q), _coords_box(tl, q, source), _conf(tl, q), words,
                          polygon=_parse_points(tl.find(q("Coords")).get("points", ""), source),
                          baseline=_parse_points(base.get("points", ""), source) if base is not None else None,
                          block=regions[up] if up is not None else 0))
    page = Page(int(page_el.get("imageWidth", 0)), int(page_el.get("imageHeight", 0)), lines)
    return page, page_el.get("imageFilename", "")


def _parse_points(text: str, source) -> list[Point]:
    try:
        pts = [tuple(int(float(v)) for v in p.split(",")) for p in text.split()]
    except ValueError:
        raise ValueError(f"{source}: bad points {text[:60]!r}") from None
    if not pts or any(len(p) != 2 for p in pts):
        raise ValueError(f"{source}: bad points {text[:60]!r}")
    return pts  # type: ignore[return-value]


def _coords_box(el, q, source) -> Box:
    coords = el.find(q("Coords"))
    if coords is None:
        raise ValueError(f"{source}: {el.get('id')} has no Coords")
    pts = np.array(_parse_points(coords.get("points", ""), source))
    return int(pts[:, 0].min()), int(pts[:, 1].min()), int(pts[:, 0].max()), int(pts[:, 1].max())


def _text(el, q) -> str:
    u = el.find(f"{q('TextEquiv')}/{q('Unicode')}")
    return (u.text or "") if u is not None else ""


def _conf(el, q) -> float:
    te = el.find(q("TextEquiv"))
    return float(te.get("conf", 1.0)) if te is not None else 1.0


# -- ALTO ---------------------------------------------------------------------------------------

def _alto_box(box: Box) -> str:
    x0, y0, x1, y1 = box
    return f'HPOS="{x0}" VPOS="{y0}" WIDTH="{x1 - x0}" HEIGHT="{y1 - y0}"'


def alto(page: Page, image_name: str = "") -> str:
    from htr import __version__
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<alto xmlns="{ALTO_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
           f'xsi:schemaLocation="{ALTO_NS} http://www.loc.gov/alto/v4/alto-4-2.xsd">',
           "<Description><MeasurementUnit>pixel</MeasurementUnit>",
           f"<sourceImageInformation><fileName>{escape(image_name)}</fileName></sourceImageInformation>",
           '<OCRProcessing ID="ocr1"><ocrProcessingStep><processingSoftware><softwareName>htr</softwareName>'
           f"<softwareVersion>{__version__}</softwareVersion></processingSoftware></ocrProcessingStep></OCRProcessing>",
           "</Description>",
           f'<Layout><Page ID="page1" PHYSICAL_IMG_NR="1" WIDTH="{page.width}" HEIGHT="{page.height}">',
           f'<PrintSpace {_alto_box((0, 0, page.width, page.height))}>']
    turn = f' ROTATION="{_counter_clockwise(page.orientation)}"' if page.orientation else ""
    numbered = iter(range(1, len(page.lines) + 1))   # line IDs run on across blocks
    for b, lines in enumerate(blocks(page), 1):
        out.append(f'<TextBlock ID="block{b}" {_alto_box(_union([ln.box for ln in lines]))}{turn}>')
        for line, i in zip(lines, numbered):
            base = f' BASELINE="{" ".join(f"{x},{y}" for x, y in line.baseline)}"' if line.baseline else ""
            out.append(f'<TextLine ID="line{i}" {_alto_box(line.box)}{base}>')
            words = words_of(line)
            for j, word in enumerate(words, 1):
                out.append(f'<String ID="line{i}w{j}" CONTENT={quoteattr(word.text)} {_alto_box(word.box)} '
                           f'WC="{min(max(word.confidence, 0.0), 1.0):.4f}"/>')
                if j < len(words):
                    gap = (word.box[2], words[j].box[0])
                    out.append(f'<SP HPOS="{gap[0]}" VPOS="{word.box[1]}" WIDTH="{max(gap[1] - gap[0], 0)}"/>')
            out.append("</TextLine>")
        out.append("</TextBlock>")
    out += ["</PrintSpace>", "</Page></Layout>", "</alto>", ""]
    return "\n".join(out)


# -- hOCR ---------------------------------------------------------------------------------------

def _title_box(box: Box) -> str:
    return "bbox {} {} {} {}".format(*box)


def hocr(page: Page, image_name: str = "") -> str:
    from htr import __version__
    page_title = f"image {json.dumps(image_name)}; {_title_box((0, 0, page.width, page.height))}; ppageno 0"
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" '
           '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">',
           '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">',
           "<head>", f"<title>{escape(image_name)}</title>",
           '<meta http-equiv="Content-Type" content="text/html; charset=utf-8"/>',
           f'<meta name="ocr-system" content="htr {__version__}"/>',
           '<meta name="ocr-capabilities" content="ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf"/>',
           "</head>", "<body>",
           f'<div class="ocr_page" id="page_1" title={quoteattr(page_title)}>']
    turn = f"; textangle {_counter_clockwise(page.orientation)}" if page.orientation else ""
    numbered = iter(range(1, len(page.lines) + 1))   # line IDs run on across blocks
    for b, lines in enumerate(blocks(page), 1):
        block = _title_box(_union([ln.box for ln in lines]))
        out.append(f'<div class="ocr_carea" id="block_{b}" title="{block}{turn}">'
                   f'<p class="ocr_par" id="par_{b}" title="{block}">')
        for line, i in zip(lines, numbered):
            out.append(f'<span class="ocr_line" id="line_{i}" title="{_title_box(line.box)}; '
                       f'x_wconf {round(line.confidence * 100)}">')
            out.append(" ".join(f'<span class="ocrx_word" id="word_{i}_{j}" title="{_title_box(w.box)}; '
                                f'x_wconf {round(w.confidence * 100)}">{escape(w.text)}</span>'
                                for j, w in enumerate(words_of(line), 1)))
            out.append("</span>")
        out.append("</p></div>")
    out += ["</div>", "</body>", "</html>", ""]
    return "\n".join(out)


# -- validation ---------------------------------------------------------------------------------

def schema(name: str):
    """The XML schema of 'page-xml' or 'alto' from the shipped XSDs, never from the network.

    Needs the `xmlschema` package (a test dependency): validation is for tests and tools,
    not for reading.
    """
    import xmlschema
    if name == "page-xml":
        return xmlschema.XMLSchema(str(SCHEMAS / "pagecontent-2019-07-15.xsd"), allow="local")
    if name == "alto":
        return xmlschema.XMLSchema(str(SCHEMAS / "alto-4-2.xsd"), allow="local",
                                   uri_mapper={_XLINK_URL: (SCHEMAS / "xlink.xsd").resolve().as_uri()})
    raise ValueError(f"no schema for format {name!r}")


# -- overlay ------------------------------------------------------------------------------------

def overlay(image: np.ndarray, page: Page) -> np.ndarray:
    """An RGB picture of the page with line boxes (blue), word boxes (green) and the read text
    with its confidence (red, on a translucent white band above each line)."""
    from PIL import Image, ImageDraw, ImageFont
    canvas = Image.fromarray(image).convert("RGBA")
    labels = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw, write = ImageDraw.Draw(canvas), ImageDraw.Draw(labels)
    for line in page.lines:
        x0, y0, x1, y1 = line.box
        if line.polygon:
            draw.polygon([tuple(p) for p in line.polygon], outline=(40, 90, 230, 255))
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=(40, 90, 230, 255), width=2)
        for word in line.words:
            draw.rectangle((word.box[0], word.box[1], word.box[2] - 1, word.box[3] - 1), outline=(20, 170, 60, 255))
        font = ImageFont.load_default(max(int((y1 - y0) * 0.25), 10))
        label = f"{line.text}  ({line.confidence:.2f})"
        at = (x0, max(y0 - font.size - 4, 0))
        write.rectangle(write.textbbox(at, label, font=font), fill=(255, 255, 255, 170))
        write.text(at, label, fill=(210, 30, 30, 255), font=font)
    return np.asarray(Image.alpha_composite(canvas, labels).convert("RGB"))
