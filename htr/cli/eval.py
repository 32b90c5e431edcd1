"""`htr eval`: CER/WER of a model on a dataset, as JSON."""
from __future__ import annotations

import json
import time

from htr.cli.decoders import add_decoder_arguments, add_reading_arguments, decoder_options


def add_model_and_dataset_arguments(p) -> None:
    """What `htr eval` and `htr calibrate` read: a model, and the lines of a dataset (named as
    `htr data` names it, so a spec like folder:items=52: works everywhere)."""
    from htr.cli.data import add_dataset_arguments
    p.add_argument("--model", help="model directory (default: the bundled model)")
    add_dataset_arguments(p)


def register(sub) -> None:
    p = sub.add_parser("eval", help="measure CER and WER on a dataset")
    add_model_and_dataset_arguments(p)
    p.add_argument("--decoder", default="greedy", help="greedy, beam, wordbeam or lm")
    add_decoder_arguments(p)
    p.add_argument("--limit", type=int, default=0, help="only the first N lines")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.add_argument("--task", default="lines", choices=["lines", "pages"],
                   help="lines: CER/WER of line images; pages: line detection precision/recall/F1 "
                        "(IoU >= 0.5) and page CER/WER, on a page dataset such as iam-ondb-pages")
    p.add_argument("--layout", default="line", choices=["line", "auto"],
                   help="lines: line (default) reads each image as one line, as the model is trained; "
                        "auto reads it as `htr read` does, finding the lines first (a crop with a "
                        "printed label above the name is two lines)")
    p.add_argument("--detection-only", action="store_true", help="pages: only line detection, no model needed")
    add_reading_arguments(p)
    p.set_defaults(func=run)


def evaluate(recognizer, dataset, decoder: str = "greedy", limit: int = 0, layout: str = "line",
             **options) -> dict:
    from htr.api import read_image
    from htr.metrics import cer, wer
    n = min(limit, len(dataset)) if limit else len(dataset)
    t0 = time.perf_counter()
    if layout == "line":
        pairs = [(x.text, d.text) for x, d in recognizer.decode_dataset(dataset, decoder, n, **options)]
    else:
        pairs = [(x.text, read_image(x.image, recognizer, decoder, layout, **options).text)
                 for x in (dataset[i] for i in range(n))]
    refs, hyps = [r for r, _ in pairs], [h for _, h in pairs]
    return {"cer": round(cer(refs, hyps), 5), "wer": round(wer(refs, hyps), 5), "lines": n,
            "seconds": round(time.perf_counter() - t0, 2)}


def evaluate_pages(recognizer, dataset, decoder: str = "greedy", limit: int = 0, **options) -> dict:
    """Line detection against the ground-truth boxes (one-to-one, IoU >= 0.5) and, with a
    recognizer, page CER/WER: each page's lines joined by newlines in the order found, so
    lines read out of order count as errors. `cer_true_boxes` reads the same pages from plain
    crops of the true line boxes instead: what the segmentation costs, or saves."""
    from htr.api import read_layout
    from htr.metrics import cer, wer
    from htr.metrics import match
    from htr.segment import PAD, segment
    if not hasattr(dataset, "truth"):
        raise ValueError(f"{dataset.name}: not a page dataset with line boxes (try iam-ondb-pages)")
    n = min(limit, len(dataset)) if limit else len(dataset)
    t0 = time.perf_counter()
    found = truth = matched = 0
    refs, hyps, oracle = [], [], []
    for i in range(n):
        sample = dataset[i]
        layout = segment(sample.image)
        boxes, truth_boxes = [r.box for r in layout.lines], [ln.box for ln in dataset.truth(i).lines]
        found, truth = found + len(boxes), truth + len(truth_boxes)
        matched += len(match(boxes, truth_boxes))
        if recognizer is not None:
            refs.append(sample.text)
            hyps.append(read_layout(layout, recognizer, decoder, **options).text)
            crops = [sample.image[max(y0 - PAD, 0):y1 + PAD, max(x0 - PAD, 0):x1 + PAD]
                     for x0, y0, x1, y1 in truth_boxes]
            oracle.append("\n".join(ln.text for ln in recognizer.read_lines(crops, decoder, **options)))
    precision, recall = matched / max(found, 1), matched / max(truth, 1)
    result = {"precision": round(precision, 5), "recall": round(recall, 5),
              "f1": round(2 * precision * recall / max(precision + recall, 1e-12), 5)}
    if recognizer is not None:
        result.update(cer=round(cer(refs, hyps), 5), wer=round(wer(refs, hyps), 5),
                      cer_true_boxes=round(cer(refs, oracle), 5))
    return {**result, "pages": n, "lines": truth, "found": found, "seconds": round(time.perf_counter() - t0, 2)}


def run(args) -> int:
    from htr.cli.data import open_from_args
    from htr.recognizer import Recognizer
    if args.task == "pages":
        recognizer = None if args.detection_only else Recognizer.load(args.model, reread=not args.single_read)
        result = evaluate_pages(recognizer, open_from_args(args), args.decoder, args.limit,
                                **decoder_options(args))
        print(json.dumps(result) if args.json else
              f"lines P {result['precision']:.2%}  R {result['recall']:.2%}  F1 {result['f1']:.2%}" +
              (f"  page CER {result['cer']:.2%}  WER {result['wer']:.2%}" if "cer" in result else "") +
              f"  on {result['pages']} pages in {result['seconds']} s")
        return 0
    recognizer = Recognizer.load(args.model, reread=not args.single_read)
    result = evaluate(recognizer, open_from_args(args), args.decoder, args.limit,
                      args.layout, **decoder_options(args))
    print(json.dumps(result) if args.json else
          f"CER {result['cer']:.2%}  WER {result['wer']:.2%}  on {result['lines']} lines in {result['seconds']} s")
    return 0
