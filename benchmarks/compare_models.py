"""Where two models' errors differ, line by line, under one decoder.

A difference of a few tenths of a point in CER can be spread over every line (the model is
better or worse in general) or sit in a handful of lines (a word the language model swapped
for another); this tells the two apart. It also prints how sure each model is (the mean
highest probability per frame), since a model that is surer of itself leaves the language model
less to choose from.

    python benchmarks/compare_models.py --models htr/models/default runs/d0 --decoder wordbeam
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from htr.datasets import open_dataset
from htr.decoding import decode
from htr.metrics import edits
from htr.recognizer import Recognizer


def edits_per_line(model: str, decoder: str, images: list, refs: list[str]) -> tuple[np.ndarray, float]:
    recognizer = Recognizer.load(model, reread=False)   # the networks alone, each line read once
    logprobs = recognizer.logprobs(images)
    hyps = [decode(lp, recognizer.charset, decoder).text for lp in logprobs]
    sure = float(np.mean([np.exp(lp.max(-1)).mean() for lp in logprobs]))
    return np.array([edits(r, h) for r, h in zip(refs, hyps)]), sure


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs=2, required=True, metavar=("A", "B"))
    ap.add_argument("--decoder", default="wordbeam")
    ap.add_argument("--root", default="../shared/data/iam-ondb")
    ap.add_argument("--split", default="testset_t")
    ap.add_argument("--top", type=int, default=20, help="how many of the lines B loses most on to sum")
    args = ap.parse_args()
    dataset = open_dataset("iam-ondb", root=args.root, split=args.split)
    samples = [dataset[i] for i in range(len(dataset))]
    images, refs = [s.image for s in samples], [s.text for s in samples]
    (a, sure_a), (b, sure_b) = (edits_per_line(m, args.decoder, images, refs) for m in args.models)
    chars = sum(len(r) for r in refs)
    diff = b - a
    print(json.dumps({
        "decoder": args.decoder, "lines": len(refs), "models": args.models,
        "cer": [round(a.sum() / chars, 4), round(b.sum() / chars, 4)],
        "mean_top_probability": [round(sure_a, 4), round(sure_b, 4)],
        "lines_b_worse": int((diff > 0).sum()), "lines_b_better": int((diff < 0).sum()),
        "lines_same": int((diff == 0).sum()), "edits_b_minus_a": int(diff.sum()),
        f"edits_b_minus_a_in_its_worst_{args.top}_lines": int(np.sort(diff)[::-1][:args.top].sum()),
    }))


if __name__ == "__main__":
    main()
