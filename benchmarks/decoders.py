"""Decoders compared: CER, WER and decoding time per line on IAM-OnDB, with the shipped model.

The network runs once per line (ONNX Runtime, batched); every decoder then reads the same
log-probabilities, so ms/line is the decoder's own CPU time on one core (process time, so that
other work on the machine does not count; the network's wall time is printed apart). The table in README/docs comes from:

    python benchmarks/decoders.py --split testset_t [--limit N] [--options JSON]

`--tune` searches the language model weight and word score of `wordbeam` and `lm` instead,
among the settings that keep 90% of the numbers and names greedy decoding read right; it
only runs on a split we do not report: the forms of testset_v the shipped model did not train
on (it trains on forms 0:150):

    python benchmarks/decoders.py --split testset_v --forms 150: --tune
"""
from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

from htr.datasets import open_dataset
from htr.decoding import decode
from htr.metrics import cer, kept_tokens, wer
from htr.recognizer import Recognizer

ROOT = Path(__file__).resolve().parents[1]

# name in the table -> (decoder, options); the options are the decoders' defaults unless tuned.
RUNS = {
    "greedy": ("greedy", {}),
    "beam": ("beam", {}),
    "wordbeam words": ("wordbeam", {"mode": "words"}),
    "wordbeam ngrams": ("wordbeam", {"mode": "ngrams"}),
    "wordbeam forecast": ("wordbeam", {"mode": "forecast"}),
    "lm": ("lm", {}),
    "wordbeam + spell": ("wordbeam", {"spell": True}),
}
GRIDS = {   # what --tune searches
    "wordbeam": {"lm_weight": [0.35, 0.5, 0.7], "oov_score": [-5.0, -7.0, -8.5, -10.0], "word_score": [0.0, 0.5, 1.0]},
    "lm": {"lm_weight": [0.5, 0.8, 1.2, 1.6, 2.2], "word_score": [-1.0, 0.0, 1.0]},
}
KEEP = 0.9  # of the numbers and names greedy read right, what a tuned setting must keep


def run(decoder: str, options: dict, logprobs: list, refs: list[str], charset) -> tuple[dict, list[str]]:
    decode(logprobs[0], charset, decoder, **options)   # load dictionaries outside the timing
    t0 = time.process_time()   # CPU time: fair on a machine shared with other work
    hyps = [decode(lp, charset, decoder, **options).text for lp in logprobs]
    ms = (time.process_time() - t0) * 1000 / len(logprobs)
    return {"cer": round(cer(refs, hyps), 4), "wer": round(wer(refs, hyps), 4), "ms_per_line": round(ms, 2)}, hyps


def tune(logprobs: list, refs: list[str], charset) -> dict:
    """The lowest WER (then CER) per decoder among the settings that keep at least KEEP of the
    numbers and names greedy decoding read right (htr.metrics.kept_tokens)."""
    greedy_hyps = run("greedy", {}, logprobs, refs, charset)[1]
    best = {}
    for decoder, grid in GRIDS.items():
        scored = []
        for values in itertools.product(*grid.values()):
            options = dict(zip(grid, values))
            result, hyps = run(decoder, options, logprobs, refs, charset)
            kept, found = kept_tokens(refs, greedy_hyps, hyps)
            result["kept"] = round(kept / max(found, 1), 3)
            if result["kept"] >= KEEP:
                scored.append((result["wer"], result["cer"], options))
            print(json.dumps({"decoder": decoder, **options, **result}), flush=True)
        wer_, cer_, options = min(scored, key=lambda s: (s[0], s[1]))
        best[decoder] = {"options": options, "wer": wer_, "cer": cer_}
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="model directory (default: the shipped model)")
    ap.add_argument("--root", default=str(ROOT.parent / "shared" / "data" / "iam-ondb"))
    ap.add_argument("--split", default="testset_t")
    ap.add_argument("--forms", default="", help="only these forms of the split (a slice, e.g. 150:)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N lines")
    ap.add_argument("--only", nargs="*", choices=list(RUNS), help="only these rows")
    ap.add_argument("--tune", action="store_true", help="grid-search wordbeam and lm options (testset_v only)")
    ap.add_argument("--options", type=json.loads, default={}, metavar="JSON",
                    help='options over the defaults, per decoder, e.g. \'{"wordbeam": {"oov_score": -10}}\'')
    ap.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")
    args = ap.parse_args()
    if args.tune and args.split.startswith("testset_t"):
        ap.error("tune on testset_v: testset_t is where the figures are reported")

    recognizer = Recognizer.load(args.model)
    dataset = open_dataset("iam-ondb", root=args.root, split=args.split, forms=args.forms)
    n = min(args.limit or len(dataset), len(dataset))
    samples = [dataset[i] for i in range(n)]
    t0 = time.perf_counter()
    logprobs = recognizer.logprobs([s.image for s in samples])
    network_ms = (time.perf_counter() - t0) * 1000 / n
    refs = [s.text for s in samples]
    if args.tune:
        print(json.dumps(tune(logprobs, refs, recognizer.charset), indent=1))
        return
    rows = {}
    for name in args.only or RUNS:
        decoder, options = RUNS[name]
        options = {**options, **args.options.get(decoder, {})}
        rows[name] = run(decoder, options, logprobs, refs, recognizer.charset)[0]
    if args.json:
        print(json.dumps({"split": args.split, "lines": n, "network_ms_per_line": round(network_ms, 2),
                          "decoders": rows}, indent=1))
        return
    print(f"IAM-OnDB {args.split}, {n} lines; the network takes {network_ms:.1f} ms/line batched, "
          f"not counted below.\n")
    print("| decoder | CER | WER | ms/line |\n| --- | ---: | ---: | ---: |")
    for name, r in rows.items():
        print(f"| {name} | {r['cer']:.2%} | {r['wer']:.2%} | {r['ms_per_line']:.2f} |")


if __name__ == "__main__":
    main()
