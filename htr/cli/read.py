"""`htr read IMAGE...`: print the text of each image, or a document with boxes and confidences
(JSON, PAGE XML, ALTO, hOCR); `--overlay` draws what was read over the image."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from htr.cli.decoders import add_decoder_arguments, add_reading_arguments, decoder_options

# What a folder given to `htr read` stands for: the files in it with these suffixes.
STDIN = "<stdin>"  # how an image piped in is named in messages and output ("image" in JSON)
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".pbm", ".pdf", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp")


def register(sub) -> None:
    from htr.formats import FORMATS
    p = sub.add_parser("read", help="read handwriting from images")
    p.add_argument("images", nargs="+", help="image files (any format Pillow reads; every page of "
                   "a PDF or a multi-page TIFF), or folders: each stands for the image files directly "
                   "in it, in name order; - reads one file from standard input")
    p.add_argument("--model", help="model directory (default: the bundled model)")
    p.add_argument("--decoder", help="greedy, beam, wordbeam or lm (default: the best fast one)")
    add_decoder_arguments(p)
    add_reading_arguments(p)
    p.add_argument("--format", default="text", choices=FORMATS, help="output format")
    p.add_argument("--layout", default="auto", choices=["auto", "page", "line"],
                   help="page: find lines and words; line: the image is one line or word; "
                        "auto: a line if the image holds one line filling its height, else a page")
    p.add_argument("--orientation", default="0", choices=["0", "90", "180", "270", "auto"],
                   help="how far the writing is turned clockwise (90: lines run down the image), or auto "
                        "to find it for each image (a page scanned upside down); boxes stay in the "
                        "image's own pixels")
    p.add_argument("--overlay", metavar="PNG", help="draw the boxes and text over the image into this file "
                   "(with several images, IMAGE_STEM is added to the name)")
    p.add_argument("--output-dir", metavar="DIR", help="write one file per image there instead of printing")
    p.set_defaults(func=run)


def run(args) -> int:
    from htr.api import read_many
    from htr.formats import SUFFIXES, write
    from htr.imageio import FilePage, ImageError, load_image, pages_of
    status = 0
    results = []
    sources = [page for path in expand_folders(args.images)
               for page in (pages_of(_stdin(), STDIN) if path == "-" else pages_of(path))]
    many = len(sources) > 1
    if many and args.format not in ("text", "json") and not args.output_dir:
        raise ValueError(f"--format {args.format} writes one document per image: add --output-dir DIR")
    pages = read_many(sources, model=args.model, decoder=args.decoder, layout=args.layout,
                      reread=not args.single_read, orientation=args.orientation, **decoder_options(args))
    for source, page in zip(sources, pages):
        path, number = (source.path, source.number) if isinstance(source, FilePage) else (source, None)
        stem = ("stdin" if path == STDIN else Path(path).stem) + (f"-p{number}" if number else "")
        if isinstance(page, ImageError):
            print(f"htr: error: {page}", file=sys.stderr)
            status = 2
            continue
        if args.overlay:
            _overlay(load_image(source), page, _numbered(Path(args.overlay), stem) if many else Path(args.overlay))
        if args.output_dir:
            out = Path(args.output_dir) / (stem + SUFFIXES[args.format])
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(write(page, args.format, Path(path).name), encoding="utf-8")
        elif args.format == "json":
            results.append({"image": path, **({"page": number} if number else {}), **page.to_dict()})
        elif args.format == "text":
            if many:
                print(f"== {source}")
            print(page.text)
        else:
            sys.stdout.write(write(page, args.format, Path(path).name))
    if args.format == "json" and not args.output_dir:
        print(json.dumps(results if many else (results[0] if results else {}), indent=1))
    return status


def _stdin() -> bytes:
    """The file piped in (`scanimage | htr read -`), up to the size `load_image` takes."""
    from htr.imageio import MAX_BYTES
    if sys.stdin is None or sys.stdin.isatty():
        raise ValueError("- reads an image from standard input, but nothing is piped in")
    data = sys.stdin.buffer.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"{STDIN}: more than the limit of {MAX_BYTES} bytes")
    return data


def expand_folders(paths: list[str]) -> list[str]:
    """Each folder replaced by the image files directly in it (by suffix), in name order."""
    if paths.count("-") > 1:
        raise ValueError("- (standard input) can be read only once")
    out = []
    for path in paths:
        if path == "-" or not Path(path).is_dir():
            out.append(path)
            continue
        found = sorted(str(f) for f in Path(path).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file())
        if not found:
            raise ValueError(f"{path}: a folder with no image files in it ({' '.join(IMAGE_SUFFIXES)})")
        out += found
    return out


def _numbered(path: Path, stem: str) -> Path:
    return path.with_name(f"{path.stem}-{stem}{path.suffix or '.png'}")


def _overlay(image, page, out: Path) -> None:
    from PIL import Image

    from htr.formats import overlay
    Image.fromarray(overlay(image, page)).save(out)
