"""Error rate against CTC frames per character: why the default normalizes the x-height.

For each model, the testset_t lines (drawn with the default pen) are prepared as the model
prepares them; a line gives T = width / width_factor CTC frames for its L characters. Lines are
split into five equal groups by T/L, and each group's greedy CER is printed, with the share of
lines below two frames per character (CTC needs at least one per character, two between
repeated letters).

    python benchmarks/frames_per_char.py --models htr/models/default runs/default --lines 400
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from htr.datasets.iam_ondb import IamOnDB
from htr.decoding import greedy
from htr.metrics import cer
from htr.recognizer import Recognizer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["htr/models/default"])
    p.add_argument("--root", default="../shared/data/iam-ondb")
    p.add_argument("--split", default="testset_t")
    p.add_argument("--lines", type=int, default=400)
    args = p.parse_args()
    ds = IamOnDB(args.root, args.split)
    n = min(args.lines, len(ds))
    images, refs = [ds[i].image for i in range(n)], ds.labels[:n]
    for path in args.models:
        rec = Recognizer(path, reread=False)   # each line once, at the width prepared
        prepared = [rec.pre(im) for im in images]
        ratio = np.array([p.shape[1] / rec.factor / len(ref) for p, ref in zip(prepared, refs)])
        hyps = [greedy(lp, rec.charset).text for lp in rec.logprobs_prepared(prepared)]
        groups = []
        for idx in np.array_split(np.argsort(ratio), 5):
            groups.append({"frames_per_char": round(float(ratio[idx].mean()), 2),
                           "cer": round(cer([refs[i] for i in idx], [hyps[i] for i in idx]), 4)})
        print(json.dumps({"model": path, "lines": n, "cer": round(cer(refs, hyps), 4),
                          "under_2_frames_per_char": round(float((ratio < 2).mean()), 3),
                          "by_frames_per_char": groups}), flush=True)


if __name__ == "__main__":
    main()
