"""`htr train`: train a recognizer on one or more datasets."""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("train", help="train a model", description=(
        "Train a CRNN+CTC recognizer. Datasets are specs NAME:key=value,... e.g. "
        "iam-ondb:root=../shared/data/iam-ondb,split=trainset  (add weight=W to repeat one W times per epoch)."))
    p.add_argument("--preset", default="base", help="simplehtr, base or tiny (htr/model.py)")
    p.add_argument("--data", nargs="+", required=True, help="training dataset specs")
    p.add_argument("--val", required=True, help="validation dataset spec")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--patience", type=int, default=8, help="early stop after N epochs without better val CER")
    p.add_argument("--workers", type=int, default=1, help="data loading processes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--val-limit", type=int, default=0, help="validate on the first N lines only")
    p.add_argument("--max-minutes", type=float, default=0.0, help="stop after this long (0: no limit)")
    p.add_argument("--init", default="", help="start from the weights of this model directory")
    p.add_argument("--no-augment", action="store_true", help="train on clean images")
    p.add_argument("--resume", action="store_true", help="continue the killed run in --out from its checkpoint")
    p.set_defaults(func=run)


def run(args) -> int:
    from htr.train import TrainConfig, train
    cfg = TrainConfig(preset=args.preset, data=args.data, val=args.val, out=args.out, epochs=args.epochs,
                      batch_size=args.batch_size, lr=args.lr, patience=args.patience, workers=args.workers,
                      seed=args.seed, val_limit=args.val_limit, max_minutes=args.max_minutes, init=args.init,
                      augment=not args.no_augment)
    print(json.dumps(train(cfg, resume=args.resume)))
    return 0
