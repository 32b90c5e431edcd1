"""`htr calibrate`: how well word confidences match how often words are right; `--write` fits them."""
from __future__ import annotations

import json
from pathlib import Path

from htr.cli.decoders import add_decoder_arguments, decoder_options
from htr.cli.eval import add_model_and_dataset_arguments
from htr.modeldir import atomic_write


def register(sub) -> None:
    p = sub.add_parser("calibrate", help="calibrate word confidences on lines the model did not train on")
    add_model_and_dataset_arguments(p)
    p.add_argument("--forms", help="iam-ondb: only these forms of the split (a slice, e.g. 150:)")
    p.add_argument("--decoder", action="append", help="greedy, beam, wordbeam or lm (repeat for several; "
                                                      "default: all four)")
    add_decoder_arguments(p)
    p.add_argument("--limit", type=int, default=0, help="only the first N lines")
    p.add_argument("--write", action="store_true",
                   help="fit each decoder's calibration and write it into the model's config.json")
    p.set_defaults(func=run)


def run(args) -> int:
    from htr.calibration import calibrate, expected_calibration_error, fit, reliability, word_outcomes
    from htr.cli.data import open_from_args
    from htr.recognizer import DEFAULT_MODEL, Recognizer
    args.option = args.option + ([f"forms={args.forms}"] if args.forms else [])
    dataset = open_from_args(args)
    model_dir = Path(args.model or DEFAULT_MODEL)
    recognizer = Recognizer(model_dir)
    table = dict(recognizer.calibration)
    for decoder in args.decoder or ["greedy", "beam", "wordbeam", "lm"]:
        conf, familiar, right = word_outcomes(recognizer, dataset, decoder, args.limit, **decoder_options(args))
        if args.write:
            table[decoder] = list(fit(conf, familiar, right))
        params = table.get(decoder)
        shown = calibrate(conf, familiar, params) if params else conf   # what reading reports
        print(json.dumps({"decoder": decoder, "words": len(conf), "right": round(float(right.mean()), 4),
                          "known": round(float(familiar.mean()), 4),
                          "right_if_known": round(float(right[familiar].mean()), 4) if familiar.any() else None,
                          "right_if_unknown": round(float(right[~familiar].mean()), 4) if not familiar.all() else None,
                          "mean_confidence_raw": round(float(conf.mean()), 4),
                          "ece_raw": expected_calibration_error(conf, right),
                          "calibration": params,
                          "ece": expected_calibration_error(shown, right) if params else None,
                          "reliability_raw": reliability(conf, right),
                          "reliability": reliability(shown, right)}), flush=True)
    if args.write:
        config_path = model_dir / "config.json"
        config = json.loads(config_path.read_text())
        config["calibration"] = table
        atomic_write(config_path, lambda tmp: tmp.write_text(json.dumps(config, indent=1)))  # as htr train does
    return 0
