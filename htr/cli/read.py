"""`htr read IMAGE...`: print the text of each image (or JSON with boxes and confidences)."""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("read", help="read handwriting from images")
    p.add_argument("images", nargs="+", help="image files (any format Pillow reads)")
    p.add_argument("--model", help="model directory (default: the bundled model)")
    p.add_argument("--decoder", help="greedy, beam, wordbeam or lm (default: the best fast one)")
    p.add_argument("--format", default="text", choices=["text", "json"], help="output format")
    p.set_defaults(func=run)


def run(args) -> int:
    from htr.api import read
    from htr.imageio import ImageError
    status = 0
    results = []
    for path in args.images:
        try:
            page = read(path, model=args.model, decoder=args.decoder)
        except ImageError as e:
            print(f"htr: error: {e}", file=sys.stderr)
            status = 2
            continue
        if args.format == "json":
            results.append({"image": path, **page.to_dict()})
        else:
            if len(args.images) > 1:
                print(f"== {path}")
            print(page.text)
    if args.format == "json":
        print(json.dumps(results if len(args.images) > 1 else (results[0] if results else {}), indent=1))
    return status
