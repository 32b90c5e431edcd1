"""How blank padding after a line changes what the model reads (ONNX Runtime, greedy).

Models trained before htr.model.BiLSTM (the one shipped first on 25 Nov included) saw each line of
a batch padded with blank columns up to the widest line, read by the backward LSTM before the
line, while reading pads only to a multiple of the width factor. This prints the CER of the
testset_t lines with `--tails` blank columns appended to each line's own image (for a model
trained with the padding masked, how much trailing blank still matters).

The recognizer also pads each line up to the widest of the lines it runs through the network
with it (sorted by width, `--batch-sizes` a call), and then `--margin` blank columns more (by
default the model's `htr.recognizer.edge_margin`, which makes a line's reading the same in any
batch); `differ` counts the lines read otherwise than with the first batch size.

    python benchmarks/padding.py --tails 0 80 320
    python benchmarks/padding.py --tails 0 --batch-sizes 1 16 --margin 0
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from htr import recognizer
from htr.datasets.iam_ondb import IamOnDB
from htr.decoding import greedy
from htr.metrics import cer
from htr.recognizer import Recognizer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="htr/models/default")
    p.add_argument("--root", default="../shared/data/iam-ondb")
    p.add_argument("--split", default="testset_t")
    p.add_argument("--tails", type=int, nargs="+", default=[0, 80, 320])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[recognizer.BATCH],
                   help="lines per ONNX call")
    p.add_argument("--margin", type=int, help="blank columns after each batch (default: the model's edge margin)")
    args = p.parse_args()
    ds = IamOnDB(args.root, args.split)
    rec = Recognizer(args.model, reread=False)   # each line once, at the width prepared
    if args.margin is not None:
        rec.tail = args.margin
    prepared = [rec.pre(ds[i].image) for i in range(len(ds))]
    for tail in args.tails:
        padded = [np.pad(x, ((0, 0), (0, tail))) for x in prepared]
        first = None
        for size in args.batch_sizes:
            recognizer.BATCH = size
            hyps = [greedy(lp, rec.charset).text for lp in rec.logprobs_prepared(padded)]
            first = first or hyps
            print(json.dumps({"model": args.model, "lines": len(ds), "lines_per_onnx_call": size,
                              "margin": rec.tail, "tail_columns": tail, "cer": round(cer(ds.labels, hyps), 4),
                              "differ": sum(a != b for a, b in zip(first, hyps))}), flush=True)


if __name__ == "__main__":
    main()
