"""`htr train`: train a recognizer on one or more datasets."""
from __future__ import annotations

import argparse
import ctypes.util
import json
import os
import sys

# glibc's malloc hands each step's large activation buffers back to the kernel and faults them
# in again on the next step; tcmalloc keeps them (Debian: libtcmalloc-minimal4).
# benchmarks/train_speed.py measures both (HTR_MALLOC=system for glibc's).


def tcmalloc() -> str | None:
    """The tcmalloc library's name for LD_PRELOAD, if it is installed."""
    return ctypes.util.find_library("tcmalloc_minimal")


def with_tcmalloc() -> None:
    """Re-run this command with tcmalloc preloaded, if it is installed and not in use yet
    (HTR_MALLOC=system keeps glibc's)."""
    if os.environ.get("HTR_MALLOC") == "system" or "tcmalloc" in os.environ.get("LD_PRELOAD", ""):
        return
    lib = tcmalloc()
    if lib is None:
        return
    env = {**os.environ, "LD_PRELOAD": ":".join(filter(None, [lib, os.environ.get("LD_PRELOAD")])),
           "HTR_MALLOC": "tcmalloc"}
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)  # the same command line


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model", description=(
        "Train a CRNN+CTC recognizer. Datasets are specs NAME:key=value,... e.g. "
        "iam-ondb:root=../shared/data/iam-ondb,split=trainset  (add weight=W to repeat one W times per epoch)."))
    p.add_argument("--preset", default="base", help="simplehtr, base, large or tiny (htr/model.py)")
    p.add_argument("--data", nargs="+", default=[], help="training dataset specs (not needed with --resume)")
    p.add_argument("--val", default="", help="validation dataset spec (not needed with --resume)")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=8,
                   help="lines per optimizer step (8 learned more per CPU minute than 16 or 32 on an AVX2 CPU: docs/model.md)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--patience", type=int, default=8, help="early stop after N epochs without better val CER")
    p.add_argument("--workers", type=int, default=1, help="data loading processes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-limit", type=int, default=0, help="validate on the first N lines only")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop after this long (0: no limit)")
    p.add_argument("--init", default="", help="start from the weights of this model directory")
    p.add_argument("--add-chars", default="", metavar="CHARS",
                   help="characters to read besides the model's (e.g. 'éèàç'): labels with them are "
                        "kept instead of skipped, and the output layer grows by one row each")
    p.add_argument("--no-augment", action="store_true", help="train on clean images")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                   help="forward pass in bfloat16 (auto: where the CPU or GPU has it)")
    p.add_argument("--ngrams", default="",
                   help="training-only n-gram heads, e.g. 2,3 (htr/ngrams.py; reading is unchanged)")
    p.add_argument("--arch", nargs="+", type=arch_change, default={}, metavar="KEY=NUMBER",
                   help="change numbers of the preset, e.g. dropout=0.1 rnn_hidden=256 (htr/model.py)")
    p.add_argument("--resume", action="store_true", help="continue the killed run in --out from its checkpoint")
    p.set_defaults(func=run)


def arch_change(text: str) -> tuple[str, int | float]:
    """"dropout=0.1" -> ("dropout", 0.1); "rnn_hidden=256" -> ("rnn_hidden", 256)."""
    key, _, value = text.partition("=")
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    raise argparse.ArgumentTypeError(f"{text!r} is not KEY=NUMBER")


def run(args) -> int:
    if not args.resume and (not args.data or not args.val):
        raise SystemExit("htr train: --data and --val are required (except with --resume)")
    if getattr(args, "own_process", False):
        with_tcmalloc()
    from htr.train import TrainConfig, train
    cfg = TrainConfig(preset=args.preset, data=args.data, val=args.val, out=args.out, epochs=args.epochs,
                      batch_size=args.batch_size, lr=args.lr, patience=args.patience, workers=args.workers,
                      seed=args.seed, val_limit=args.val_limit, max_minutes=args.max_minutes, init=args.init,
                      add_chars=args.add_chars,
                      augment=not args.no_augment, precision=args.precision,
                      ngrams=args.ngrams, arch=dict(args.arch))
    print(json.dumps(train(cfg, resume=args.resume)))
    return 0
