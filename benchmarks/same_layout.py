"""Did a change to segmentation move any line? Segments every image of the folders given and
writes each one's line boxes and blocks to a JSON file; with `--against` a file written the same
way by another version of the code, prints how many images now have different lines, per folder.

    git worktree add /tmp/before OLD_COMMIT
    PYTHONPATH=/tmp/before python benchmarks/same_layout.py -o before.json pages/clean/pages ...
    python benchmarks/same_layout.py -o after.json --against before.json pages/clean/pages ...
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from htr.imageio import load_image
from htr.segment import segment

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")


def layouts(folders: list[Path]) -> dict[str, list]:
    """Per image path, its lines as [box, block]."""
    out = {}
    for folder in folders:
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES):
            lines = segment(load_image(path)).lines
            # (code older than blocks called them columns)
            out[str(path)] = [[list(r.box), getattr(r, "block", getattr(r, "column", 0))] for r in lines]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="+", type=Path, help="folders of images")
    p.add_argument("-o", "--out", type=Path, required=True, help="JSON file to write the layouts to")
    p.add_argument("--against", type=Path, help="layouts written by another version, to compare with")
    args = p.parse_args()
    now = layouts(args.folders)
    args.out.write_text(json.dumps(now))
    if args.against:
        before = json.loads(args.against.read_text())
        images, changed = Counter(), Counter()
        for path, lines in now.items():
            folder = str(Path(path).parent)
            images[folder] += 1
            changed[folder] += before.get(path) != lines
        for folder in images:
            print(json.dumps({"folder": folder, "images": images[folder], "changed": changed[folder]}))


if __name__ == "__main__":
    main()
