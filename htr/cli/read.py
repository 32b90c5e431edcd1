"""`htr read IMAGE...`: print the text of each image, or a document with boxes and confidences
(JSON, PAGE XML, ALTO, hOCR, searchable PDF); `--overlay` draws what was read over the image."""
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
    p.add_argument("--format", default="text", choices=FORMATS, help="output format; pdf: the "
                   "image with the words laid over it, invisible, to search and copy (every image into one "
                   "PDF on stdout, or one each with --output-dir)")
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
    p.add_argument("--skip-existing", action="store_true", help="with --output-dir: do not read again the "
                   "images whose file is already there (to go on with a batch that was stopped)")
    p.set_defaults(func=run)


def run(args) -> int:
    from tqdm import tqdm

    from htr.api import read_many
    from htr.formats import SUFFIXES, document, write
    from htr.imageio import ImageError, load_image, pages_of
    from htr.modeldir import atomic_write
    from htr.pdf import SearchablePdf
    status = 0
    results = []
    sources = [page for path in expand_folders(args.images)
               for page in (pages_of(_stdin(), STDIN) if path == "-" else pages_of(path))]
    many = len(sources) > 1
    if many and args.format not in ("text", "json", "pdf") and not args.output_dir:
        raise ValueError(f"--format {args.format} writes one document per image: add --output-dir DIR")
    if args.format == "pdf" and not args.output_dir and sys.stdout.isatty():
        raise ValueError("--format pdf writes a PDF, not text for a terminal: send it to a file "
                         "(htr read scan.jpg --format pdf > scan.pdf) or add --output-dir DIR")
    if args.skip_existing and not args.output_dir:
        raise ValueError("--skip-existing skips the images whose file is in --output-dir: add --output-dir DIR")
    stems = [_stem(source) for source in sources]
    if many and (args.output_dir or args.overlay):
        _refuse_clashes(sources, stems)
    outs = [Path(args.output_dir) / (stem + SUFFIXES[args.format]) for stem in stems] if args.output_dir else []
    if args.skip_existing:
        todo = [i for i, out in enumerate(outs) if not out.exists()]
        if len(todo) < len(sources):
            print(f"htr: {len(sources) - len(todo)} of {len(sources)} images already read into "
                  f"{args.output_dir}: skipped (--skip-existing)", file=sys.stderr)
        sources, stems, outs = [sources[i] for i in todo], [stems[i] for i in todo], [outs[i] for i in todo]
    # Without --output-dir, every page goes into one PDF on stdout (a scanned document made searchable).
    title = Path(args.images[0]).name if len(args.images) == 1 and args.images[0] != "-" else ""
    combined = SearchablePdf(title) if args.format == "pdf" and not args.output_dir else None
    files: dict[str, bytes] = {}   # the PDF whose pages go into PDFs, read once
    pages = read_many(sources, model=args.model, decoder=args.decoder, layout=args.layout,
                      reread=not args.single_read, orientation=args.orientation, **decoder_options(args))
    # A bar on the terminal (stderr) while many images are read, unless their text is printed there.
    quiet = not many or (args.format == "text" and not args.output_dir and sys.stdout.isatty())
    for i, (source, page) in enumerate(tqdm(zip(sources, pages), total=len(sources), unit="image",
                                            file=sys.stderr, disable=True if quiet else None)):
        path, number = _path_and_page(source)
        if isinstance(page, ImageError):
            tqdm.write(f"htr: error: {page}", file=sys.stderr)
            status = 2
            continue
        kept = _pdf_page(source, files) if args.format == "pdf" else None   # kept as it is in a PDF
        image = load_image(source, color=True) if args.overlay or (args.format == "pdf" and not kept) else None
        if args.overlay:
            _overlay(image, page, _numbered(Path(args.overlay), stems[i]) if many else Path(args.overlay))
        if args.output_dir:
            outs[i].parent.mkdir(parents=True, exist_ok=True)
            data = document(page, args.format, Path(path).name, kept or image)
            atomic_write(outs[i], lambda tmp: tmp.write_bytes(data))
        elif combined is not None:
            combined.add(kept or image, page)
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
    if combined is not None and combined.kids:
        sys.stdout.buffer.write(combined.tobytes())
        sys.stdout.flush()
    return status


def _path_and_page(source) -> tuple[str, int | None]:
    """The file a source comes from, and its page number when it is a page of a document."""
    from htr.imageio import FilePage
    return (source.path, source.number) if isinstance(source, FilePage) else (source, None)


def _pdf_page(source, files: dict[str, bytes]):
    """A page of a PDF as a FilePage holding the file's bytes, for a searchable PDF that keeps the
    page as it is; None for any other image. `files` holds the last PDF read, whose pages follow
    one another."""
    from htr.imageio import FilePage, is_pdf
    if not isinstance(source, FilePage) or source.number is None:
        return None
    data = source.data if source.data is not None else files.get(source.path)
    if data is None:
        with open(source.path, "rb") as f:
            if not is_pdf(f.read(5)):
                return None
            f.seek(0)
            files.clear()
            data = files[source.path] = f.read()
    return FilePage(source.path, source.number, data) if is_pdf(data) else None


def _stem(source) -> str:
    """The name of an image's files in --output-dir and --overlay: its file name's stem, with -pK
    for page K of a document."""
    path, number = _path_and_page(source)
    return ("stdin" if path == STDIN else Path(path).stem) + (f"-p{number}" if number else "")


def _refuse_clashes(sources: list, stems: list[str]) -> None:
    """Two images that would write the same file (a.png and a.jpg, x/a.png and y/a.png) are an
    error before anything is read: the second would overwrite the first's reading."""
    first: dict[str, object] = {}
    for source, stem in zip(sources, stems):
        other = first.setdefault(stem, source)
        if str(other) != str(source):
            raise ValueError(f"{other} and {source} would both be written as {stem}.*: read them into "
                             "different --output-dir folders, or rename one")


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
