"""`htr eval`: CER/WER of a model on a dataset, as JSON."""
from __future__ import annotations

import json
import time


def register(sub) -> None:
    p = sub.add_parser("eval", help="measure CER and WER on a dataset")
    p.add_argument("--model", help="model directory (default: the bundled model)")
    p.add_argument("--dataset", required=True, help="dataset name (iam-ondb, iam, folder, ...)")
    p.add_argument("--root", help="dataset folder")
    p.add_argument("--split", help="split name")
    p.add_argument("--decoder", default="greedy")
    p.add_argument("--limit", type=int, default=0, help="only the first N lines")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(func=run)


def evaluate(recognizer, dataset, decoder: str = "greedy", limit: int = 0) -> dict:
    from htr.decoding import decode
    from htr.metrics import cer, wer
    n = min(limit, len(dataset)) if limit else len(dataset)
    t0 = time.perf_counter()
    refs, hyps = [], []
    for s in range(0, n, 64):
        samples = [dataset[i] for i in range(s, min(s + 64, n))]
        for sample, lp in zip(samples, recognizer.logprobs([x.image for x in samples])):
            hyps.append(decode(lp, recognizer.charset, decoder).text)
            refs.append(sample.text)
    return {"cer": round(cer(refs, hyps), 5), "wer": round(wer(refs, hyps), 5), "lines": n,
            "seconds": round(time.perf_counter() - t0, 2)}


def run(args) -> int:
    from htr.datasets import open_dataset
    from htr.recognizer import Recognizer
    options = {k: v for k, v in (("root", args.root), ("split", args.split)) if v}
    result = evaluate(Recognizer.load(args.model), open_dataset(args.dataset, **options), args.decoder, args.limit)
    print(json.dumps(result) if args.json else
          f"CER {result['cer']:.2%}  WER {result['wer']:.2%}  on {result['lines']} lines in {result['seconds']} s")
    return 0
