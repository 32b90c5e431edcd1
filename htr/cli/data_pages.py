"""`htr data pages`: compose IAM-OnDB forms into page images with PAGE XML ground truth."""
from __future__ import annotations

import sys


def register(actions) -> None:
    from htr.cli.data import add_dataset_arguments
    p = actions.add_parser("pages", help="compose each IAM-OnDB form into a page image with PAGE XML ground truth")
    add_dataset_arguments(p)
    p.add_argument("-o", "--out", required=True, help="output folder (pages/ and SPLIT.txt are written there)")
    p.add_argument("--degrade", default="", metavar="NAME[=V],...",
                   help="rotation[=3 degrees], perspective[=0.02], lighting[=0.5], texture[=0.5], "
                        "ruled[=0.4], jpeg[=60 quality], photo[=0.08: the sheet on a table, seen at "
                        "an angle]; e.g. rotation,lighting,jpeg")
    p.add_argument("--seed", type=int, default=0, help="draws pens, scales and degradations")
    p.add_argument("--limit", type=int, default=0, help="only the first N pages")
    p.add_argument("--columns", type=int, default=1,
                   help="forms side by side on a page, one column each (2: two-column pages)")
    p.add_argument("--heading", action="store_true",
                   help="the first form's first line stands above the page's columns as its title")
    p.set_defaults(func=run)


def run(args) -> int:
    from htr.cli.data import open_from_args
    from htr.pagegen import Degrade, write_pages
    degrade = Degrade.parse(args.degrade)  # a bad spec fails before the dataset is read
    dataset = open_from_args(args)
    if not hasattr(dataset, "strokes"):
        raise ValueError(f"{dataset.name}: pages are drawn from pen strokes; use --dataset iam-ondb")

    def progress(done: int, total: int) -> None:
        print(f"\r{done}/{total} pages", end="" if done < total else "\n", file=sys.stderr)
    ids = write_pages(dataset, args.out, dataset.split, degrade, args.seed, args.limit, progress, args.columns,
                      args.heading)
    print(f"wrote {len(ids)} pages to {args.out}/pages and their list to {args.out}/{dataset.split}.txt")
    return 0
