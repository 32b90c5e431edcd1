"""How reading narrow handwriting a second time, stretched, changes greedy CER: per target letter
width (the model's `frames_per_char`, CTC frames per character) and per threshold (how much
narrower than the target a line's first reading must be to be read again).

Pick the target on lines the model did not train on and the figures are not reported on (the
45 testset_v forms also kept for tuning the decoders), then check it on testset_t
(docs/model.md, "Letter width"):

    python benchmarks/letter_width.py --split testset_v --forms 150:
    python benchmarks/letter_width.py --split testset_t --targets 4.0

`--features-at K...` asks whether a second reading could cost less: the narrow lines' second
reading made from the first reading's convolutional features after the network's first K CNN
layers (torch modules; all of them: only the BiLSTM runs again), stretched instead of the image
(first target and threshold only; needs torch).
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from htr.datasets import open_dataset
from htr.decoding import greedy
from htr.metrics import cer, wer
from htr.recognizer import MAX_STRETCH, Recognizer, characters


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="htr/models/default")
    p.add_argument("--root", default="../shared/data/iam-ondb")
    p.add_argument("--split", default="testset_v")
    p.add_argument("--forms", default="", help="only these forms of the split (a slice, e.g. 150:)")
    p.add_argument("--targets", type=float, nargs="+", default=[3.5, 3.75, 4.0, 4.25, 4.5])
    p.add_argument("--narrow", type=float, nargs="+", default=[0.1, 0.2],
                   help="read again when the first reading is narrower than the target by this share")
    p.add_argument("--features-at", type=int, nargs="*", default=[],
                   help="also read narrow lines again from features stretched after this many CNN layers")
    args = p.parse_args()
    data = open_dataset("iam-ondb", root=args.root, split=args.split, forms=args.forms)
    rec = Recognizer(args.model)
    prepared = [rec.pre(data[i].image) for i in range(len(data))]
    refs = data.labels

    def report(target: float, narrow: float | None) -> None:
        rec.frames_per_char, rec.narrow = target, narrow or 0.0
        logprobs = rec.logprobs_prepared(prepared)
        hyps = [greedy(lp, rec.charset).text for lp in logprobs]
        again = sum(len(lp) > -(-x.shape[1] // rec.factor) for lp, x in zip(logprobs, prepared))
        # how well the characters counted in a reading follow the true ones
        counted = np.corrcoef([characters(lp) for lp in logprobs], [len(r) for r in refs])[0, 1]
        print(json.dumps({"split": args.split, "forms": args.forms, "lines": len(refs), "frames_per_char": target,
                          "narrow": narrow, "read_again": round(again / len(refs), 3),
                          "cer": round(cer(refs, hyps), 4), "wer": round(wer(refs, hyps), 4),
                          "count_correlation": round(float(counted), 3)}), flush=True)

    report(0.0, None)   # each line read once
    for narrow in args.narrow:
        for target in args.targets:
            report(target, narrow)
    for k in args.features_at:
        hyps = features_stretched(args.model, rec, prepared, k, args.targets[0], args.narrow[0])
        print(json.dumps({"split": args.split, "forms": args.forms, "lines": len(refs),
                          "frames_per_char": args.targets[0], "narrow": args.narrow[0], "features_at": k,
                          "cer": round(cer(refs, hyps), 4), "wer": round(wer(refs, hyps), 4)}), flush=True)


def features_stretched(model_dir: str, rec: Recognizer, prepared: list, k: int, target: float,
                       narrow: float) -> list[str]:
    """Greedy readings, narrow lines read again from their features after CNN layer k stretched
    (bilinear) by the factor the image would be stretched by."""
    import torch
    import torch.nn.functional as F

    from htr.train import load_model
    model, _ = load_model(model_dir)

    def rest(features: torch.Tensor) -> np.ndarray:
        return model.head(model.sequence(model.cnn[k:](features))).log_softmax(-1)[:, 0].numpy()

    hyps = []
    with torch.no_grad():
        for x in prepared:
            x = np.pad(x, ((0, 0), (0, -x.shape[1] % rec.factor)))
            features = model.cnn[:k](torch.from_numpy(x)[None, None])
            lp = rest(features)
            f = min(target * max(characters(lp), 1) / len(lp), MAX_STRETCH)
            if f > 1 + narrow:
                size = (features.shape[2], round(features.shape[3] * f))
                lp = rest(F.interpolate(features, size=size, mode="bilinear", align_corners=False))
            hyps.append(greedy(lp, rec.charset).text)
    return hyps


if __name__ == "__main__":
    main()
