"""How often a sheet of paper is found to flatten (htr/sheet.py): on photos of a sheet lying on a
table it should be found every time, on scans and pages that are all paper never (a sheet found
there would crop or warp a page that needs neither). Prints one JSON line per folder: images,
sheets found, and the milliseconds `find_sheet` took per image (median and worst).

    python benchmarks/sheets.py pages/photos/pages pages/clean/pages ../shared/data/scans/kaggle-names-sample/images
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from htr.imageio import load_image
from htr.sheet import find_sheet

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def measure(folder: Path) -> dict:
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
    found, times = 0, []
    for path in images:
        gray = load_image(path)
        t0 = time.perf_counter()
        found += find_sheet(gray) is not None
        times.append(time.perf_counter() - t0)
    ms = np.array(times or [0.0]) * 1000
    return {"folder": str(folder), "images": len(images), "sheets": found,
            "ms_median": round(float(np.median(ms)), 1), "ms_max": round(float(ms.max()), 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="+", type=Path, help="folders of images")
    for folder in p.parse_args().folders:
        print(json.dumps(measure(folder)))


if __name__ == "__main__":
    main()
