"""How often `orientation="auto"` finds which way up an image is, and what finding it costs.

Each image is turned to every orientation (0, 90, 180, 270) and judged by
htr.orientation.find_orientation (its time per judgement, segmentation included). Then the first
--timed images are read with greedy decoding as they stand, and with orientation="auto" upright
and turned 180 (median seconds per read: what finding the way up adds). Pages written by
`htr data pages`, or any images:

    python benchmarks/orientation.py /tmp/pages/pages/*.png
    python benchmarks/orientation.py --line ../shared/data/scans/kaggle-names-sample/*.jpg
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter

import htr
from htr.imageio import load_image
from htr.orientation import ORIENTATIONS, find_orientation, upright
from htr.recognizer import Recognizer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="+")
    ap.add_argument("--model", help="model directory (default: the bundled model)")
    ap.add_argument("--line", action="store_true", help="each image is one line (layout 'line')")
    ap.add_argument("--verbose", action="store_true", help="print every wrong judgement")
    ap.add_argument("--timed", type=int, default=20, help="images whose reading is timed")
    args = ap.parse_args()
    recognizer = Recognizer.load(args.model)
    found, seconds = Counter(), {k: [] for k in ORIENTATIONS}
    for path in args.images:
        img = load_image(path)
        for truth in ORIENTATIONS:
            # writing turned `truth` degrees clockwise: the upright image turned back that far
            turned = upright(img, (360 - truth) % 360)
            t0 = time.perf_counter()
            judged, _ = find_orientation(turned, recognizer, line=args.line)
            seconds[truth].append(time.perf_counter() - t0)
            found[truth, judged] += 1
            if judged != truth and args.verbose:
                print(f"{path}: turned {truth}, judged {judged}")
    n = len(args.images)
    layout = "line" if args.line else "auto"
    timed = {"as it stands": [], "auto, upright": [], "auto, upside down": []}
    htr.read(load_image(args.images[0]), model=args.model, decoder="greedy", layout=layout)  # warm up
    for path in args.images[: args.timed]:
        img = load_image(path)
        for key, image, orientation in [("as it stands", img, 0), ("auto, upright", img, "auto"),
                                        ("auto, upside down", upright(img, 180), "auto")]:
            t0 = time.perf_counter()
            htr.read(image, model=args.model, decoder="greedy", layout=layout, orientation=orientation)
            timed[key].append(time.perf_counter() - t0)
    print(json.dumps({
        "images": n,
        "right": {str(k): found[k, k] for k in ORIENTATIONS},
        "wrong": {f"{t}->{j}": c for (t, j), c in sorted(found.items()) if t != j},
        "accuracy": round(sum(found[k, k] for k in ORIENTATIONS) / (4 * n), 4),
        "judging_ms_per_image": {str(k): round(1000 * sum(v) / len(v), 1) for k, v in seconds.items()},
        "read_ms_median": {k: round(1000 * statistics.median(v), 1) for k, v in timed.items() if v},
    }, indent=1))


if __name__ == "__main__":
    main()
