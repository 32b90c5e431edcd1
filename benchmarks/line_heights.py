"""Do lines read as well whatever their resolution? Draws every Nth line of an IAM-OnDB split at
several heights, with a pen of a fixed width in pixels (a fine pen scanned at ever higher
resolutions: its strokes get thin against the letters) and with one a fixed share of the height
(the same pen and letters, scanned larger), and prints the CER of each, read as `htr read` does
(`layout="auto"`) and as single lines (`layout="line"`).

    python benchmarks/line_heights.py --root ../shared/data/iam-ondb --split testset_t
"""
from __future__ import annotations

import argparse
import json

import htr
from htr import ink
from htr.datasets.iam_ondb import IamOnDB
from htr.metrics import cer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="../shared/data/iam-ondb")
    p.add_argument("--split", default="testset_t")
    p.add_argument("--every", type=int, default=25, help="use every Nth line")
    p.add_argument("--heights", type=int, nargs="+", default=[64, 128, 256, 384, 512, 768, 1024])
    p.add_argument("--pen", type=float, default=2.5, help="the fixed pen's width in pixels")
    p.add_argument("--share", type=float, default=0.035, help="the other pen's width, a share of the height")
    p.add_argument("--model", help="model directory (default: the shipped model)")
    args = p.parse_args()
    ds = IamOnDB(args.root, args.split)
    lines = range(0, len(ds), args.every)
    texts = [ds.labels[i] for i in lines]
    for height in args.heights:
        row = {"height": height, "lines": len(texts)}
        for pen, width in (("fixed_pen", args.pen), ("pen_share", args.share * height)):
            images = [ink.render(ds.strokes(i), ink.InkStyle(height=height, pen_width=width)) for i in lines]
            for layout in ("auto", "line"):
                pages = htr.read_many(images, model=args.model, layout=layout)
                row[f"{pen}_{layout}_cer"] = round(cer(texts, [page.text for page in pages]), 4)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
