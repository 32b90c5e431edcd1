"""Figures quoted in docs/pages.md about segmentation, measured on real IAM-OnDB handwriting.

1. forms: how often consecutive lines of a form overlap vertically (ink boxes), and how many
   forms `htr data pages` has to stack because their lines do not stand one under the other;
2. crops: on how many line images (every 7th line, drawn 64 and 128 px tall) and word-sized
   pieces (the strokes in the first 15 % of every 60th line, 24/32/48 px tall) segmentation
   finds exactly one line, which is what `layout="auto"` needs to read them as one line;
3. words: on how many found lines of composed pages the gaps give exactly the transcription's
   number of words (the word boxes then come from the gaps), and how wide the gaps between words
   get, in units (the scale of segment.COLUMN_GAP);
4. rules: on crops of one, two and three consecutive lines of composed pages (every 3rd form),
   how much of the ink the ruled-paper eraser takes (there are no rules: all of it is writing),
   and how the two-line crops read (`htr.read_many`, as `htr read` would).

    python benchmarks/segment_checks.py --root ../shared/data/iam-ondb --split testset_v
    python benchmarks/segment_checks.py --split testset_t --parts rules
"""
from __future__ import annotations

import argparse
import json

import numpy as np

from htr import ink
from htr.api import read_many
from htr.datasets.iam_ondb import IamOnDB
from htr.pagegen import compose, line_offsets
from htr.metrics import cer, match
from htr.segment import flatten, ink_threshold, remove_rules, segment

PARTS = ("forms", "crops", "words", "rules")


def forms_of(ds: IamOnDB) -> list[list[int]]:
    return list(ds.lines_by_form().values())


def layout_stats(ds: IamOnDB) -> dict:
    overlaps, stacked = [], 0
    forms = forms_of(ds)
    for idx in forms:
        strokes = [ds.strokes(i) for i in idx]
        boxes = [ink.ink_bbox(s) for s in strokes]
        for a, b in zip(boxes, boxes[1:]):
            overlaps.append((a[3] - b[1]) / min(a[3] - a[1], b[3] - b[1]))
        stacked += any(o.any() for o in line_offsets(strokes, np.random.default_rng(0)))
    o = np.array(overlaps)
    return {"forms": len(forms), "line_pairs": len(o), "overlapping": round(float((o > 0).mean()), 3),
            "overlapping_by_30pct": round(float((o > 0.3).mean()), 3), "forms_stacked": stacked}


def crop_stats(ds: IamOnDB) -> dict:
    lines = {h: [len(segment(ink.render(ds.strokes(i), ink.InkStyle(height=h))).lines) for i in range(0, len(ds), 7)]
             for h in (64, 128)}
    words = {}
    for h in (24, 32, 48):
        found = []
        for i in range(0, len(ds), 60):
            strokes = ds.strokes(i)
            x0, _, x1, _ = ink.ink_bbox(strokes)
            piece = [s for s in strokes if s[:, 0].max() < x0 + 0.15 * (x1 - x0)] or strokes[:1]
            found.append(len(segment(ink.render(piece, ink.InkStyle(height=h))).lines))
        words[h] = found
    one = lambda counts: f"{sum(c == 1 for c in counts)}/{len(counts)}"  # noqa: E731
    return {"line_images_one_line": {h: one(c) for h, c in lines.items()},
            "word_images_one_line": {h: one(c) for h, c in words.items()}}


def word_stats(ds: IamOnDB, every: int) -> dict:
    same = total = 0
    gaps = []   # between neighbouring words of a found line, in units (segment.COLUMN_GAP's scale)
    for k, idx in enumerate(forms_of(ds)[::every]):
        image, truth = compose([ds.strokes(i) for i in idx], [ds.labels[i] for i in idx], np.random.default_rng(k))
        layout = segment(image)
        for i, j in match([r.box for r in layout.lines], [ln.box for ln in truth.lines]):
            same += len(layout.lines[i].words) == len(truth.lines[j].text.split())
            total += 1
        for region in layout.lines:
            gaps += [(b0 - a1) / layout.unit for (_, a1), (b0, _) in zip(region.words, region.words[1:])]
    return {"lines": total, "gap_words_equal_transcription": round(same / max(total, 1), 3),
            "word_gap_units_p99": round(float(np.percentile(gaps, 99)), 2), "word_gap_units_max": round(max(gaps), 2)}


def rule_stats(ds: IamOnDB, every: int) -> dict:
    erased: dict[int, list[float]] = {1: [], 2: [], 3: []}
    two_lines, texts = [], []
    for k, idx in enumerate(forms_of(ds)[::every]):
        image, truth = compose([ds.strokes(i) for i in idx], [ds.labels[i] for i in idx], np.random.default_rng(k))
        for n, share in erased.items():
            for first in range(len(truth.lines) - n + 1):
                group = truth.lines[first:first + n]
                x0, x1 = min(ln.box[0] for ln in group) - 10, max(ln.box[2] for ln in group) + 10
                crop = image[max(group[0].box[1] - 10, 0):group[-1].box[3] + 10, max(x0, 0):x1]
                flat = flatten(crop)
                dark = (flat < ink_threshold(flat)).astype(np.uint8)
                share.append(1 - remove_rules(dark).sum() / max(dark.sum(), 1))
                if n == 2:
                    two_lines.append(crop)
                    texts.append("\n".join(ln.text for ln in group))
    read = [page.text for page in read_many(two_lines)]
    return {"ink_erased": {n: {"crops": len(v), "with_ink_erased": int((np.array(v) > 0).sum()),
                               "mean_pct": round(100 * float(np.mean(v)), 3), "max_pct": round(100 * max(v), 2)}
                           for n, v in erased.items()},
            "two_line_crops_cer": round(cer(texts, read), 4)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="../shared/data/iam-ondb")
    p.add_argument("--split", default="testset_v")
    p.add_argument("--every", type=int, default=3, help="words, rules: use every Nth form")
    p.add_argument("--parts", nargs="+", choices=PARTS, default=PARTS, help="which figures (default: all)")
    args = p.parse_args()
    ds = IamOnDB(args.root, args.split)
    parts = {"forms": lambda: layout_stats(ds), "crops": lambda: crop_stats(ds),
             "words": lambda: word_stats(ds, args.every), "rules": lambda: rule_stats(ds, args.every)}
    print(json.dumps({"split": args.split, **{k: v for part in args.parts for k, v in parts[part]().items()}}))


if __name__ == "__main__":
    main()
