"""`htr data`: look at a dataset before training on it: counts (`stats`) and a contact sheet (`preview`).

Each subcommand is added by a small `add_<name>(actions)` function listed in SUBCOMMANDS. A new
one in its own module is a three-line change here:

    def add_pages(actions):
        from htr.cli.data_pages import register
        register(actions)

plus its name in SUBCOMMANDS. `add_dataset_arguments` and `open_from_args` give every
subcommand the same way of naming a dataset.
"""
from __future__ import annotations

import json
import logging

import numpy as np

log = logging.getLogger("htr.data")


def add_dataset_arguments(p) -> None:
    p.add_argument("--dataset", required=True,
                   help="dataset name (iam-ondb, iam-ondb-words, iam-offline, folder, synthetic) "
                        "or a spec NAME:key=value,...")
    p.add_argument("--root", help="dataset folder")
    p.add_argument("--split", help="split name (a list or manifest in the dataset folder)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="a dataset option, e.g. level=words or fonts=DIR (repeatable)")


def open_from_args(args):
    """The dataset named by --dataset/--root/--split/--option."""
    from htr.datasets import open_dataset, parse_option, parse_spec
    name, options = parse_spec(args.dataset)
    options.update(parse_option(option) for option in args.option)
    options.update({k: v for k, v in (("root", args.root), ("split", args.split)) if v})
    return open_dataset(name, **options)


def add_stats(actions) -> None:
    p = actions.add_parser("stats", help="lines, words, characters, charset and skipped items of a dataset")
    add_dataset_arguments(p)
    p.add_argument("--drop-unknown", action="store_true",
                   help="skip items with characters outside the default charset, as training does")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run_stats)


def dataset_stats(dataset, drop_unknown: bool = False) -> dict:
    """The dataset's own stats, plus its size and the characters the default model cannot write."""
    from htr.charset import Charset
    charset = Charset()
    if drop_unknown:
        dataset.drop_unknown(charset)
    stats = dataset.stats()
    stats.setdefault("samples", len(dataset))
    stats["outside_charset"] = "".join(sorted(charset.unknown(stats["charset"])))
    return stats


def run_stats(args) -> int:
    stats = dataset_stats(open_from_args(args), args.drop_unknown)
    if args.json:
        print(json.dumps(stats, ensure_ascii=False))
        return 0
    skipped = stats.pop("skipped")
    for key, value in stats.items():
        print(f"{key:16} {value:,}" if isinstance(value, int) else f"{key:16} {value}")
    print(f"{'skipped':16} {len(skipped):,}")
    for row in skipped[:20]:
        print(f"  {row['id']}: {row['reason']}")
    if len(skipped) > 20:
        print(f"  ... and {len(skipped) - 20:,} more (--json lists all)")
    return 0


def add_preview(actions) -> None:
    p = actions.add_parser("preview", help="a contact sheet of samples with their labels (PNG)")
    add_dataset_arguments(p)
    p.add_argument("-n", type=int, default=32, help="number of samples")
    p.add_argument("-o", "--out", required=True, help="output PNG")
    p.add_argument("--seed", type=int, default=0, help="which samples, and how drawn datasets draw them")
    p.add_argument("--width", type=int, default=1600, help="sheet width in pixels")
    p.add_argument("--height", type=int, default=64, help="height of each image on the sheet")
    p.set_defaults(func=run_preview)


def preview(dataset, n: int, seed: int = 0, **sheet_options) -> tuple[np.ndarray, int]:
    """A contact sheet of n random samples (as training draws them) and how many could not be read."""
    from htr.contact_sheet import contact_sheet
    if len(dataset) == 0:
        raise ValueError(f"{dataset.name}: no samples to show")
    rng = np.random.default_rng(seed)
    items, failed = [], 0
    for i in sorted(rng.choice(len(dataset), min(n, len(dataset)), replace=False)):
        try:
            sample = dataset.sample(int(i), rng)
        except ValueError as e:  # e.g. an image whose header reads but whose pixels do not
            log.warning("%s: cannot show %s: %s", dataset.name, dataset.ids[i], e)
            failed += 1
            continue
        items.append((sample.image, sample.text))
    if not items:
        raise ValueError(f"{dataset.name}: none of the {failed} chosen samples could be drawn")
    return contact_sheet(items, **sheet_options), failed


def run_preview(args) -> int:
    from PIL import Image
    dataset = open_from_args(args)
    sheet, failed = preview(dataset, args.n, args.seed, width=args.width, height=args.height)
    Image.fromarray(sheet).save(args.out, optimize=True)
    shown = min(args.n, len(dataset)) - failed
    print(f"wrote {args.out}: {shown} samples of {dataset.name}" + (f" ({failed} unreadable)" if failed else ""))
    return 0


def add_pages(actions) -> None:
    from htr.cli.data_pages import register
    register(actions)


SUBCOMMANDS = [add_stats, add_preview, add_pages]


def register(sub) -> None:
    p = sub.add_parser("data", help="inspect datasets: stats, preview")
    actions = p.add_subparsers(dest="action", required=True)
    for add in SUBCOMMANDS:
        add(actions)
