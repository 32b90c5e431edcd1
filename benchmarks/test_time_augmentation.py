"""Whether reading each line several ways and averaging helps greedy decoding (ONNX Runtime).

Each testset_t line is prepared as reading prepares it, then also moved a row up and down, scaled
8% in height, thickened and thinned, and sheared by 0.1 either way; every copy keeps the line's
width, so its frames line up with the original's. This prints the greedy CER of each copy alone
and of the frame-wise mean of the probabilities of several (docs/model.md, "What is next"):

    python benchmarks/test_time_augmentation.py [--model DIR] [--limit N]
"""
from __future__ import annotations

import argparse
import json

import cv2
import numpy as np

from htr.datasets.iam_ondb import IamOnDB
from htr.decoding import greedy
from htr.metrics import cer, wer
from htr.recognizer import Recognizer


def moved(x: np.ndarray, rows: int) -> np.ndarray:
    """Moved down by `rows` (up if negative), the rows moved in left blank."""
    out = np.zeros_like(x)
    if rows >= 0:
        out[rows:] = x[:len(x) - rows]
    else:
        out[:rows] = x[-rows:]
    return out


def thickness(x: np.ndarray, grow: bool) -> np.ndarray:
    kernel = np.ones((2, 1), np.uint8)
    return cv2.dilate(x, kernel) if grow else cv2.erode(x, kernel)


def height_scaled(x: np.ndarray, f: float) -> np.ndarray:
    """Scaled in height by f about the middle row, cut or padded back to the same height."""
    h, w = x.shape
    y = cv2.resize(x, (w, int(round(h * f))), interpolation=cv2.INTER_LINEAR)
    if len(y) >= h:
        a = (len(y) - h) // 2
        return y[a:a + h]
    out = np.zeros_like(x)
    a = (h - len(y)) // 2
    out[a:a + len(y)] = y
    return out


def sheared(x: np.ndarray, s: float) -> np.ndarray:
    h, w = x.shape
    m = np.array([[1.0, s, -s * h / 2], [0.0, 1.0, 0.0]], np.float32)
    return cv2.warpAffine(x, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)


COPIES = {
    "line": lambda x: x,
    "up": lambda x: moved(x, -1), "down": lambda x: moved(x, 1),
    "thick": lambda x: thickness(x, True), "thin": lambda x: thickness(x, False),
    "taller": lambda x: height_scaled(x, 1.08), "shorter": lambda x: height_scaled(x, 0.92),
    "shear+": lambda x: sheared(x, 0.1), "shear-": lambda x: sheared(x, -0.1),
}
MIXES = [["line", "up", "down"], ["line", "thick", "thin"], ["line", "taller", "shorter"],
         ["line", "shear+", "shear-"], list(COPIES)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="htr/models/default")
    p.add_argument("--root", default="../shared/data/iam-ondb")
    p.add_argument("--split", default="testset_t")
    p.add_argument("--limit", type=int, default=0, help="first N lines only (0: all)")
    args = p.parse_args()
    ds = IamOnDB(args.root, args.split)
    n = min(args.limit, len(ds)) if args.limit else len(ds)
    rec = Recognizer(args.model, reread=False)   # each line once, at the width prepared
    prepared = [rec.pre(ds[i].image) for i in range(n)]
    refs = ds.labels[:n]
    probs = {name: [np.exp(lp) for lp in rec.logprobs_prepared([f(x) for x in prepared])]
             for name, f in COPIES.items()}

    def report(names: list[str]) -> None:
        hyps = [greedy(np.log(np.mean([probs[c][k] for c in names], axis=0) + 1e-12), rec.charset).text
                for k in range(n)]
        print(json.dumps({"copies": names, "lines": n, "cer": round(cer(refs, hyps), 4),
                          "wer": round(wer(refs, hyps), 4)}), flush=True)

    for name in COPIES:
        report([name])
    for names in MIXES:
        report(names)


if __name__ == "__main__":
    main()
