"""How long reading a whole page takes: segmentation, recognition, and `htr.read` end to end.

Composes real IAM-OnDB testset_t forms of about 10 lines into pages (as `htr data pages` does),
reads each one `--repeats` times after a warm-up (model loaded once, as a running service or a
batch would), and prints one JSON line: median and worst seconds per page (`htr.read` minus
image decoding), the segmentation's share, and the process CPU seconds per page (which a busy machine does not
inflate the way it inflates wall time).

    python benchmarks/page_speed.py --root ../shared/data/iam-ondb --pages 5 --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from htr.api import DEFAULT_DECODER, read_image
from htr.datasets.iam_ondb import IamOnDB
from htr.pagegen import compose
from htr.recognizer import Recognizer
from htr.segment import segment


def pages(root: str, n: int, lines: int) -> list[tuple[np.ndarray, int]]:
    """n pages of the testset_t forms whose line count is nearest to `lines`."""
    ds = IamOnDB(root, "testset_t")
    chosen = sorted(ds.lines_by_form().values(), key=lambda idx: (abs(len(idx) - lines), idx[0]))[:n]
    rng = np.random.default_rng(0)
    return [(compose([ds.strokes(i) for i in idx], [ds.labels[i] for i in idx], rng)[0], len(idx)) for idx in chosen]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="../shared/data/iam-ondb")
    p.add_argument("--model", help="model directory (default: the bundled model)")
    p.add_argument("--pages", type=int, default=5)
    p.add_argument("--lines", type=int, default=10, help="pick forms with about this many lines")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--decoder", default=DEFAULT_DECODER, help=f"default: {DEFAULT_DECODER}, as htr read")
    args = p.parse_args()
    recognizer = Recognizer.load(args.model)
    todo = pages(args.root, args.pages, args.lines)
    read_image(todo[0][0], recognizer, args.decoder)  # warm-up: ONNX Runtime plans its kernels on the first call
    total, seg, cpu = [], [], []
    for image, _ in todo:
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            segment(image)
            seg.append(time.perf_counter() - t0)
            c0, t0 = os.times(), time.perf_counter()
            read_image(image, recognizer, args.decoder, layout="page")
            total.append(time.perf_counter() - t0)
            c1 = os.times()
            cpu.append(c1.user + c1.system - c0.user - c0.system)  # all threads of this process
    print(json.dumps({
        "pages": len(todo), "repeats": args.repeats, "decoder": args.decoder, "lines_per_page": round(float(np.mean([n for _, n in todo])), 1),
        "page_size": [int(np.mean([im.shape[1] for im, _ in todo])), int(np.mean([im.shape[0] for im, _ in todo]))],
        "seconds_per_page_median": round(float(np.median(total)), 3), "seconds_per_page_max": round(max(total), 3),
        "segmentation_seconds_median": round(float(np.median(seg)), 3),
        "cpu_seconds_per_page_median": round(float(np.median(cpu)), 3),
        "threads": recognizer.session.get_session_options().intra_op_num_threads, "cpus": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
