"""The web service: `POST /v1/read` reads an image or pen strokes, `POST /v1/image` gives back the
page an upload holds as it is read (a browser shows no PDF or TIFF), `GET /health`, and the page at `/`.

One model is loaded when the app is made and shared by every request. Reading runs in a bounded
pool of worker threads (ONNX Runtime's `run()` is thread-safe): at most `max_workers` reads at
once and `queue_size` more waiting; a request beyond that is answered 503 with Retry-After at
once, so an overload sheds requests instead of piling them up in memory.

Input is checked before it costs anything, and each refusal says what was wrong:
413 body or image too large (bytes, or pixels read from the image header: decompression bombs),
415 not an image (judged by its content, never by its name or declared type),
400 unparseable JSON or multipart, 422 a well-formed request that does not make sense,
501 a decoder whose optional parts are not installed.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Callable

import cv2
import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import htr
from htr import formats, ink
from htr.api import DEFAULT_DECODER, LAYOUTS
from htr.decoding import DECODERS
from htr.imageio import MAX_PIXELS, FilePage, ImageError, ImageTooLarge, check_header, is_pdf, load_image, pages_of
from htr.page import Line, Page, Word
from htr.recognizer import Recognizer

STATIC = Path(__file__).parent / "static"
# Image formats a browser or a scanner sends. Pillow opens more (EPS would start Ghostscript): not here.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF", "BMP", "GIF")
INK_HEIGHT = 64        # pixels of a rendered ink line, as the model saw IAM-OnDB lines in training
INK_MAX_ASPECT = 40.0  # a drawn line wider than this many heights is rendered flatter, not wider

# reader(image: np.ndarray, decoder=..., layout=..., orientation=...) -> Page, like htr.read
Reader = Callable[..., Page]
# The options of a request (multipart fields, JSON keys or query parameters), as OpenAPI schemas.
OPTIONS = {"decoder": {"type": "string", "enum": list(DECODERS), "default": DEFAULT_DECODER},
           "layout": {"type": "string", "enum": list(LAYOUTS), "default": "auto"},
           "format": {"type": "string", "enum": list(formats.FORMATS), "default": "json"},
           "orientation": {"type": "string", "enum": ["0", "90", "180", "270", "auto"], "default": "0"}}
PAGE = {"type": "integer", "minimum": 1, "description": "the page of a PDF or multi-page TIFF to read (from 1)"}


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = 10 * 1024 * 1024  # of the image file itself
    max_pixels: int = MAX_PIXELS              # width x height from the header, before decoding
    max_points: int = 100_000                 # pen points in one drawing
    max_strokes: int = 5_000
    max_ink_lines: int = 50                   # lines of writing in one drawing (each is a read)
    max_coordinate: float = 1e6               # |x|, |y| of a pen point: canvas pixels or tablet units

    @property
    def max_body_bytes(self) -> int:
        """Base64 inflates by 4/3; a little more for the multipart or JSON around it."""
        return self.max_upload_bytes * 4 // 3 + 64 * 1024


class RequestError(Exception):
    """A refused request: HTTP status, a message naming the problem, optional headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


# -- the worker pool --------------------------------------------------------------------------

class WorkerPool:
    """Runs reads on `workers` threads with at most `queue_size` more waiting; refuses the rest."""

    def __init__(self, workers: int, queue_size: int):
        if workers < 1 or queue_size < 0:
            raise ValueError(f"need at least 1 worker and a queue of 0 or more (got {workers}, {queue_size})")
        self.workers, self.capacity = workers, workers + queue_size
        self.pending = 0            # running + waiting
        self.mean_seconds = 0.2     # running mean of a read, for Retry-After
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="htr-read")

    async def run(self, fn: Callable[[], Any]) -> tuple[Any, float, float]:
        """fn() on a worker: (result, seconds waited in the queue, seconds it ran)."""
        with self._lock:
            if self.pending >= self.capacity:
                wait = math.ceil(self.mean_seconds * self.pending / self.workers)
                raise RequestError(503, f"busy: {self.pending} reads running or queued; retry shortly",
                                   {"Retry-After": str(min(max(wait, 1), 60))})
            self.pending += 1
        queued = time.perf_counter()
        times: list[float] = []  # start, end

        def job() -> Any:
            times.append(time.perf_counter())
            try:
                return fn()
            finally:
                times.append(time.perf_counter())

        try:
            future = self._executor.submit(job)
        except RuntimeError:  # shutting down
            self._release(times)
            raise RequestError(503, "shutting down", {"Retry-After": "5"}) from None
        # The slot frees when the work ends or is cancelled before it starts (a client that went
        # away while queued), never earlier: the count always matches the threads' real load.
        future.add_done_callback(lambda _: self._release(times))
        result = await asyncio.wrap_future(future)
        return result, times[0] - queued, times[1] - times[0]

    def _release(self, times: list[float]) -> None:
        with self._lock:
            self.pending -= 1
            if len(times) == 2:
                self.mean_seconds = 0.9 * self.mean_seconds + 0.1 * (times[1] - times[0])

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


# -- parsing a request ------------------------------------------------------------------------

Point = Annotated[list[Annotated[float, Field(allow_inf_nan=False)]], Field(min_length=2, max_length=3)]


class ReadRequest(BaseModel):
    """The JSON form of a read request: an image in base64, or pen strokes."""
    model_config = ConfigDict(extra="forbid")
    image: str | None = Field(None, description="image file bytes in base64 (a `data:` URL prefix is allowed)")
    strokes: list[list[Point]] | None = Field(
        None, description="pen strokes: a list of strokes, each a list of [x, y] or [x, y, t] points, y down")
    decoder: str | None = Field(None, description=f"one of: {', '.join(DECODERS)}")
    layout: str | None = Field(None, description=f"an image's layout, one of: {', '.join(LAYOUTS)} (default auto)")
    format: str | None = Field(None, description=f"one of: {', '.join(formats.FORMATS)} (default json)")
    orientation: str | int | None = Field(None, description="how far an image's writing is turned clockwise: "
                                          "0 (default), 90, 180, 270, or auto to find it")
    page: int | None = Field(None, ge=1, description="the page to read of a PDF or a multi-page TIFF (from 1)")


@dataclass
class Job:
    """What one request asks for, checked: image bytes or pen strokes grouped in lines, and the options."""
    image: bytes | None
    ink: list[list[np.ndarray]] | None
    decoder: str
    layout: str
    format: str
    orientation: str = "0"
    name: str = "upload"
    page: int | None = None    # of a PDF or multi-page TIFF; None: the upload must be one image


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to pass `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"request body is {declared} bytes, more than the limit of {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"request body is more than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def parse_request(request: Request, limits: Limits) -> Job:
    """Multipart (field `image`), JSON (ReadRequest) or a bare image body; options also as query parameters."""
    body = await read_body(request, limits.max_body_bytes)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    options = dict(request.query_params)
    image, ink, name = None, None, "upload"
    if kind == "multipart/form-data":
        async def replay() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}
        form = await Request(request.scope, replay).form(max_files=2, max_fields=8)
        try:
            upload = form.get("image")
            if upload is None or isinstance(upload, str):
                raise RequestError(422, "multipart request has no file in the field 'image'")
            image, name = await upload.read(), upload.filename or name
            options.update({k: v for k, v in form.items() if k in (*OPTIONS, "page") and isinstance(v, str)})
        finally:
            await form.close()  # large parts were spooled to temporary files
    elif kind == "application/json" or kind.endswith("+json"):
        req = _parse_json(body, limits)
        if (req.image is None) == (req.strokes is None):
            raise RequestError(422, "JSON request needs exactly one of 'image' (base64) or 'strokes'")
        image = _base64(req.image) if req.image is not None else None
        if req.strokes is not None:
            ink, name = _ink(req.strokes, limits), "ink"
        options.update({k: getattr(req, k) for k in (*OPTIONS, "page") if getattr(req, k) is not None})
    else:  # a bare body: whatever its declared type, its content decides below
        image = body
    if image is not None and len(image) > limits.max_upload_bytes:
        raise RequestError(413, f"image is {len(image)} bytes, more than the limit of {limits.max_upload_bytes}")
    values = {k: str(options.get(k) or schema["default"]) for k, schema in OPTIONS.items()}
    for k, schema in OPTIONS.items():
        if values[k] not in schema["enum"]:
            raise RequestError(422, f"unknown {k} {values[k]!r}; choose from {', '.join(schema['enum'])}")
    page = str(options.get("page", "")) or None
    if page is not None and not (page.isdigit() and int(page) >= 1):
        raise RequestError(422, f"page {page!r} is not a page number (1, 2, ...)")
    return Job(image, ink, values["decoder"], values["layout"], values["format"], values["orientation"], name,
               int(page) if page else None)


def _parse_json(body: bytes, limits: Limits) -> ReadRequest:
    # Each pen point is one '[': counting them refuses an oversized drawing before it becomes
    # millions of Python lists (ten times the body's size in memory).
    brackets = body.count(b"[")
    if brackets > limits.max_points + limits.max_strokes + 1:
        raise RequestError(413, f"JSON body has {brackets} '[' (one per point), more than the limit of "
                                f"{limits.max_points} points")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RequestError(400, f"body is not valid JSON ({e})") from None
    except RecursionError:
        raise RequestError(400, "body is not valid JSON: nested too deeply") from None
    try:
        return ReadRequest.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{_where(err['loc'])}: {err['msg']}" for err in e.errors()[:5])
        raise RequestError(422, f"bad JSON request: {problems}") from None


def _where(loc: tuple) -> str:
    """('strokes', 0, 3) -> 'strokes[0][3]'"""
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(loc))


def _base64(text: str) -> bytes:
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise RequestError(422, f"'image' is not valid base64 ({e})") from None


def _ink(raw: list[list[list[float]]], limits: Limits) -> list[list[np.ndarray]]:
    """Strokes as (n, 3) float32 arrays grouped in lines; a missing time becomes the point's index."""
    if not any(raw):
        raise RequestError(422, "'strokes' has no points")
    if len(raw) > limits.max_strokes:
        raise RequestError(413, f"'strokes' has {len(raw)} strokes, more than the limit of {limits.max_strokes}")
    points = sum(len(s) for s in raw)
    if points > limits.max_points:
        raise RequestError(413, f"'strokes' has {points} points, more than the limit of {limits.max_points}")
    out = []
    for i, stroke in enumerate(raw):
        if stroke:
            a = np.array([p if len(p) == 3 else [p[0], p[1], k] for k, p in enumerate(stroke)], np.float64)
            if np.abs(a[:, :2]).max() > limits.max_coordinate:
                raise RequestError(422, f"'strokes[{i}]' has a coordinate beyond +-{limits.max_coordinate:g}")
            out.append(a.astype(np.float32))
    lines = ink_lines(out)
    if len(lines) > limits.max_ink_lines:
        raise RequestError(413, f"'strokes' make {len(lines)} lines of writing, more than the limit of "
                                f"{limits.max_ink_lines}")
    return lines


def check_image(data: bytes, limits: Limits) -> None:
    """Judge an upload from its header alone: 415 if it is no image we take, 413 if too many pixels.
    A PDF passes: its page is drawn within the pixel limit, and a broken one or one of several
    pages is a 422 when it is read."""
    if is_pdf(data):
        return
    try:
        check_header(data, "upload", limits.max_pixels, IMAGE_FORMATS)
    except ImageTooLarge as e:
        raise RequestError(413, str(e)) from None
    except ImageError:
        raise RequestError(415, f"upload is not an image in a supported format ({', '.join(IMAGE_FORMATS)}, PDF); "
                                f"its first bytes are {data[:8]!r}") from None


# -- reading ink -------------------------------------------------------------------------------

def ink_lines(strokes: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Group strokes into text lines, top to bottom: a stroke that starts less than half a typical
    stroke height below the line above belongs to it (so i-dots and t-bars stay with their line)."""
    typical = float(np.median([np.ptp(s[:, 1]) for s in strokes])) or 1.0
    lines: list[list[np.ndarray]] = []
    bottom = -math.inf  # of the line being gathered
    for s in sorted(strokes, key=lambda s: float(s[:, 1].min())):
        top, low = float(s[:, 1].min()), float(s[:, 1].max())
        if lines and top <= bottom + 0.5 * typical:
            lines[-1].append(s)
            bottom = max(bottom, low)
        else:
            lines.append([s])
            bottom = low
    return lines


def read_ink(groups: list[list[np.ndarray]], reader: Reader, decoder: str) -> Page:
    """Render each drawn line (from `ink_lines`) as the model saw IAM-OnDB lines, read it, and
    place the boxes back on the drawing, in the strokes' own coordinates."""
    t0 = time.perf_counter()
    lines = []
    for group in groups:
        x0, y0, x1, y1 = ink.ink_bbox(group)
        scale = INK_HEIGHT * 0.8 / max(y1 - y0, (x1 - x0) / INK_MAX_ASPECT, 1e-3)
        image = ink.render(group, ink.InkStyle(height=0, scale=scale))
        cols = np.flatnonzero((image < 128).any(axis=0))
        c0, c1 = (int(cols[0]), int(cols[-1]) + 1) if len(cols) else (0, image.shape[1])
        to_x = lambda c: x0 + (c - c0) * (x1 - x0) / max(c1 - c0, 1)  # noqa: E731  image column -> x
        points = np.concatenate(group)
        for line in reader(image, decoder=decoder, layout="line").lines:
            words = [Word(w.text, _ink_box(points, max(to_x(w.box[0]), x0), min(to_x(w.box[2]), x1)), w.confidence)
                     for w in line.words]
            lines.append(Line(line.text, _ink_box(points, x0, x1), line.confidence, words))
    _, _, x_max, y_max = ink.ink_bbox([s for g in groups for s in g])
    width, height = max(math.ceil(x_max), 1), max(math.ceil(y_max), 1)  # points may lie left of or above 0
    return Page(width, height, lines, seconds=round(time.perf_counter() - t0, 4))


def _ink_box(points: np.ndarray, xa: float, xb: float) -> tuple[int, int, int, int]:
    """Box of the pen points between xa and xb (the whole range of the line if none fall there)."""
    inside = points[(points[:, 0] >= xa) & (points[:, 0] <= xb)]
    ys = (inside if len(inside) else points)[:, 1]
    return math.floor(xa), math.floor(ys.min()), math.ceil(xb), math.ceil(ys.max())


def read_job(job: Job, reader: Reader, limits: Limits) -> tuple[Page, int | None, bytes | None]:
    """The work a pool thread does: decode the image (or draw the ink) and read it; with the
    number of pages of the upload (a PDF's or a TIFF's: the web page's pager), None for ink; and
    the document of any format but json (made here too: a PDF's JPEG costs about a line's reading)."""
    if job.ink is not None:
        page, pages = read_ink(job.ink, reader, job.decoder), None
        image = draw_ink([s for group in job.ink for s in group], page) if job.format == "pdf" else None
    else:
        image = load_image(_upload(job), name=job.name, max_pixels=limits.max_pixels)
        page = reader(image, decoder=job.decoder, layout=job.layout, orientation=job.orientation)
        pages = len(pages_of(job.image))
        if job.format == "pdf" and is_pdf(job.image):   # a page of a PDF is kept as it is
            image = FilePage(job.name, job.page or 1, job.image)
        elif job.format == "pdf":   # the upload as it looks, colours and all
            image = load_image(_upload(job), name=job.name, max_pixels=limits.max_pixels, color=True)
    return page, pages, None if job.format == "json" else formats.document(page, job.format, job.name, image)


def draw_ink(strokes: list[np.ndarray], page: Page) -> np.ndarray:
    """The strokes drawn in their own coordinates, the page's pixels: what a PDF of ink shows."""
    style = ink.InkStyle(height=0, scale=1.0)
    canvas = ink.new_canvas(page.width, page.height)
    ink.draw(canvas, strokes, 1.0, (0.0, 0.0), style)
    return ink.shade(canvas, style)


def _upload(job: Job) -> bytes | FilePage:
    """The upload, or the page of it the request asks for."""
    return job.image if job.page is None else FilePage(job.name, job.page, job.image)


def respond(page: Page, pages: int | None, document: bytes | None, job: Job, timing: dict[str, float]) -> Response:
    if document is not None:
        return Response(document, media_type=formats.MEDIA_TYPES[job.format])
    body = page.to_dict()
    if pages is not None:
        body["pages"] = pages
    body.update(input="ink" if job.ink is not None else "image", decoder=job.decoder,
                timing={f"{k}_ms": round(v * 1000, 1) for k, v in timing.items()})
    return JSONResponse(body)


# -- the app -----------------------------------------------------------------------------------

def create_app(reader: Reader | None = None, *, model: str | Path | None = None, max_workers: int = 2,
               queue_size: int = 8, limits: Limits | None = None) -> FastAPI:
    """The service. `reader` defaults to `htr.read` with `model` (the bundled one if None), loaded now."""
    pool = WorkerPool(max_workers, queue_size)
    if reader is None:
        Recognizer.load(model)  # load (and cache) once, so a broken model fails here
        reader = partial(htr.read, model=model)
    limits = limits or Limits()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        pool.shutdown()

    app = FastAPIOffline(title="htr", version=htr.__version__, lifespan=lifespan,
                         description="Handwritten text recognition: read an image or pen strokes.")
    app.state.pool, app.state.limits = pool, limits

    @app.exception_handler(RequestError)
    async def refused(request: Request, e: RequestError) -> JSONResponse:
        return JSONResponse({"detail": e.message}, e.status, headers=e.headers)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={
            "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/health", summary="Liveness, the model's options and the pool's load")
    async def health() -> dict:
        return {"status": "ok", "version": htr.__version__, "decoders": list(DECODERS),
                "layouts": list(LAYOUTS), "formats": list(formats.FORMATS),
                "orientations": OPTIONS["orientation"]["enum"], "workers": pool.workers, "capacity": pool.capacity,
                "pending": pool.pending, "max_upload_bytes": limits.max_upload_bytes,
                "max_pixels": limits.max_pixels, "max_points": limits.max_points}

    @app.post("/v1/read", summary="Read handwriting from an image or pen strokes", openapi_extra=_READ_DOC)
    async def read(request: Request) -> Response:
        t0 = time.perf_counter()
        job = await parse_request(request, limits)
        if job.image is not None:
            check_image(job.image, limits)
        try:
            (page, pages, document), queued, ran = await pool.run(partial(read_job, job, reader, limits))
        except ValueError as e:  # the image does not decode (ImageError), or an option the model refuses
            raise RequestError(422, str(e)) from None
        except ImportError as e:  # a decoder whose optional parts are not installed here
            raise RequestError(501, f"decoder {job.decoder!r} is not available on this server ({e})") from None
        return respond(page, pages, document, job, {"queue": queued, "read": ran, "total": time.perf_counter() - t0})

    @app.post("/v1/image", summary="The page of an uploaded image or PDF as it is read, as PNG",
              openapi_extra=_IMAGE_DOC, response_class=Response)
    async def image(request: Request) -> Response:
        job = await parse_request(request, limits)
        if job.image is None:
            raise RequestError(422, "/v1/image needs an image, not strokes")
        check_image(job.image, limits)
        try:  # on a worker: drawing a PDF page costs as much as reading a line or two
            gray, _, _ = await pool.run(partial(load_image, _upload(job), job.name, limits.max_pixels))
        except ValueError as e:
            raise RequestError(422, str(e)) from None
        return Response(cv2.imencode(".png", gray)[1].tobytes(), media_type="image/png")

    return app


_REFUSALS = {
    "400": {"description": "the body is not valid JSON or multipart"},
    "413": {"description": "body, image or drawing over the limits"},
    "415": {"description": "the upload is not an image"},
    "422": {"description": "a request that does not make sense (the message says why)"},
    "503": {"description": "all workers busy and the queue full: retry after Retry-After seconds"},
}
_BODY = {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["image"], "properties": {
        "image": {"type": "string", "format": "binary"}, **OPTIONS, "page": PAGE}}},
    "application/json": {"schema": ReadRequest.model_json_schema()},
    "image/*": {"schema": {"type": "string", "format": "binary"}},
}}
_READ_DOC = {
    "parameters": [{"name": k, "in": "query", "required": False, "schema": v}
                   for k, v in {**OPTIONS, "page": PAGE}.items()],
    "requestBody": _BODY,
    "responses": {**_REFUSALS,
                  "200": {"description": "the page: lines and words with boxes (x0, y0, x1, y1) and "
                                         "confidences, the text, and timing in ms; or the document asked "
                                         "for with `format`"},
                  "501": {"description": "the decoder asked for is not installed on this server"}},
}
_IMAGE_DOC = {  # the same bodies as /v1/read; of the options, only page counts
    "parameters": [{"name": "page", "in": "query", "required": False, "schema": PAGE}],
    "requestBody": _BODY,
    "responses": {**_REFUSALS,
                  "200": {"description": "the page as the reader sees it: grayscale, turned upright as "
                                         "its EXIF says, a PDF page drawn at 200 dpi; its pixels are "
                                         "those of /v1/read's boxes",
                          "content": {"image/png": {}}}},
}
