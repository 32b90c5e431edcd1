"""Ink rendering speed: IAM-OnDB lines (and words) drawn per second on one CPU core.

Training draws every line afresh each epoch (a random pen per sample), so rendering must
outpace the model by a wide margin. This draws the first N lines of a split exactly as
training does (`dataset.sample(i, rng)`), pinned to one core with OpenCV single-threaded,
and prints one JSON line per dataset.

    nice -n 19 python benchmarks/render_speed.py --root ../shared/data/iam-ondb --lines 1000
"""
from __future__ import annotations

import argparse
import json
import os
import time

import cv2
import numpy as np

from htr.datasets import open_dataset


def measure(name: str, root: str, split: str, n: int, height: int) -> dict:
    dataset = open_dataset(name, root=root, split=split, height=height)
    n = min(n, len(dataset))
    rng = np.random.default_rng(0)
    dataset.sample(0, rng)  # warm-up
    t0 = time.perf_counter()
    widths = [dataset.sample(i, rng).image.shape[1] for i in range(n)]
    secs = time.perf_counter() - t0
    return {"dataset": name, "split": split, "samples": n, "per_s": round(n / secs, 1),
            "ms_each": round(1000 * secs / n, 2), "height": height, "mean_width": round(float(np.mean(widths)), 1),
            "cores": 1}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="../shared/data/iam-ondb")
    p.add_argument("--split", default="trainset")
    p.add_argument("--lines", type=int, default=1000, help="samples to draw per dataset")
    p.add_argument("--height", type=int, default=64)
    args = p.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    cv2.setNumThreads(1)
    for name in ("iam-ondb", "iam-ondb-words"):
        print(json.dumps(measure(name, args.root, args.split, args.lines, args.height)), flush=True)


if __name__ == "__main__":
    main()
