"""The reading and decoding options shared by `htr read` and `htr eval`."""
from __future__ import annotations

import argparse


def add_decoder_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spell", action="store_true", help="correct unsure words outside the dictionary")
    p.add_argument("--no-mend", action="store_true",
                   help="keep words that mix capitals with small letters or digits (HU6O) as read")
    p.add_argument("--beam-width", type=int, metavar="N", help="hypotheses kept by beam, wordbeam and lm")
    p.add_argument("--lm-weight", type=float, metavar="W", help="weight of the language model (wordbeam, lm)")
    p.add_argument("--lm", metavar="DIR", help="language model directory from `htr lm build` (default: shipped)")


def add_reading_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--single-read", action="store_true",
                   help="read each line once: no second reading of narrow handwriting stretched to the "
                        "model's frames_per_char (faster, less accurate; docs/model.md, \"Letter width\")")


def decoder_options(args: argparse.Namespace) -> dict:
    """Only the options given: each decoder names those it does not take."""
    given = {"width": args.beam_width, "lm_weight": args.lm_weight, "lm": args.lm}
    flags = ({"spell": True} if args.spell else {}) | ({"mend": False} if args.no_mend else {})
    return {k: v for k, v in given.items() if v is not None} | flags
