"""`htr lm build`: a word n-gram language model and word list for the `wordbeam` and `lm` decoders."""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lm", help="build the language model used by the wordbeam and lm decoders")
    lm_sub = p.add_subparsers(dest="lm_command", required=True)
    b = lm_sub.add_parser("build", help="estimate an n-gram model from text; writes lm.arpa.gz and words.txt")
    b.add_argument("--text", nargs="*", default=[], metavar="FILE", help="plain text files, one line per line")
    b.add_argument("--data", nargs="*", default=[], metavar="SPEC",
                   help="transcriptions of datasets, e.g. iam-ondb:root=../shared/data/iam-ondb,split=trainset "
                        "(training splits only: never the text you evaluate on)")
    b.add_argument("--symspell", action="store_true",
                   help="add the English word and word-pair frequencies shipped with symspellpy")
    b.add_argument("--symspell-words", type=int, default=None, metavar="N",
                   help="only the N most frequent symspell words (default: all 82,765)")
    b.add_argument("--symspell-weight", type=float, default=0.5,
                   help="weight of the symspell model in the mix with the text model (default 0.5)")
    b.add_argument("--order", type=int, default=2, help="n-gram order of the text model (default 2)")
    b.add_argument("-o", "--output", required=True, type=Path, help="directory to write")
    b.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    from htr.datasets import open_spec
    from htr.lm import build

    if not 1 <= args.order <= 5:
        raise ValueError(f"--order must be 1 to 5, got {args.order}")
    if not 0.0 <= args.symspell_weight <= 1.0:
        raise ValueError(f"--symspell-weight must be within 0..1, got {args.symspell_weight}")
    texts: list[str] = []
    for path in args.text:
        try:
            texts += Path(path).read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: not UTF-8 text ({e})") from None
    for spec in args.data:
        texts += open_spec(spec).texts()
    stats = build(texts, args.output, order=args.order, symspell=args.symspell,
                  symspell_words=args.symspell_words, symspell_weight=args.symspell_weight)
    grams = ", ".join(f"{n}-grams {c}" for n, c in stats["ngrams"].items())
    print(f"{args.output}: {stats['lines']} lines, {stats['tokens']} tokens, {stats['words']} words; {grams}; "
          f"lm.arpa.gz {stats['arpa_bytes'] / 1e6:.2f} MB, words.txt {stats['words_bytes'] / 1e6:.2f} MB")
    return 0

