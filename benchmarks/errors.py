"""Where a model's greedy errors are: how they concentrate in lines and forms, and which edits
they are (the most frequent substitutions, dropped and added characters).

The lines are drawn with the default pen and read as `htr eval` reads them; a form is one
writer's page. It answers what the next model must fix: a few bad lines or labels (they would
show as a handful of lines holding most of the errors), or a broad weakness on hard writers.

Some IAM-OnDB forms are transcribed in the tokenized style of their printed prompt ("Mr . Brown ,
passionate"), though the ink has no gap before the full stop or the comma; the figures under
`space_before_punctuation` say how much of the CER such spaces make (the headline CER keeps the
transcriptions as they are).

    python benchmarks/errors.py --split testset_t [--model htr/models/default] [--lines N]
"""
from __future__ import annotations

import argparse
import json
import re
from collections import Counter

import numpy as np
from rapidfuzz.distance import Levenshtein

from htr.datasets.iam_ondb import IamOnDB
from htr.decoding import greedy
from htr.recognizer import Recognizer


def edits(ref: str, hyp: str) -> list[str]:
    """Each edit that turns `ref` into `hyp`, named as 'a>o' (read o for a), '-e' (e dropped)
    or '+e' (e added); a space is shown as '␣'."""
    show = {" ": "␣"}
    out = []
    for op in Levenshtein.editops(ref, hyp):
        r = show.get(ref[op.src_pos], ref[op.src_pos]) if op.tag != "insert" else ""
        h = show.get(hyp[op.dest_pos], hyp[op.dest_pos]) if op.tag != "delete" else ""
        out.append({"replace": f"{r}>{h}", "delete": f"-{r}", "insert": f"+{h}"}[op.tag])
    return out


SPACE_BEFORE_PUNCTUATION = re.compile(r" (?=[,.;:?!])")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="htr/models/default")
    p.add_argument("--root", default="../shared/data/iam-ondb")
    p.add_argument("--split", default="testset_t")
    p.add_argument("--lines", type=int, default=0, help="the first N lines only (0: all)")
    p.add_argument("--top", type=int, default=15, help="how many edits to list")
    args = p.parse_args()
    ds = IamOnDB(args.root, args.split)
    n = min(args.lines or len(ds), len(ds))
    rec = Recognizer(args.model, reread=False)   # each line once, at the width prepared
    refs, hyps = ds.labels[:n], []
    for s in range(0, n, 64):
        prepared = [rec.pre(ds[i].image) for i in range(s, min(n, s + 64))]
        hyps += [greedy(lp, rec.charset).text for lp in rec.logprobs_prepared(prepared)]

    errs = np.array([Levenshtein.distance(r, h) for r, h in zip(refs, hyps)])
    chars = np.array([len(r) for r in refs])
    worst = np.argsort(-errs / chars, kind="stable")
    lines = {f"worst {q:.0%}": round(float(errs[worst[:int(q * n)]].sum() / errs.sum()), 3)
             for q in (0.01, 0.05, 0.1, 0.25, 0.5)}
    form_of = [ds.ids[i].rsplit("-", 1)[0] for i in range(n)]
    forms = sorted(set(form_of))
    form_err = np.array([sum(e for e, f in zip(errs, form_of) if f == name) for name in forms])
    form_chars = np.array([sum(c for c, f in zip(chars, form_of) if f == name) for name in forms])
    worst_forms = np.argsort(-form_err / form_chars, kind="stable")
    by_form = {f"worst {q:.0%}": round(float(form_err[worst_forms[:max(1, int(q * len(forms)))]].sum() / errs.sum()), 3)
               for q in (0.05, 0.1, 0.25)}
    counts = Counter(e for r, h in zip(refs, hyps) for e in edits(r, h))
    kinds = Counter(e[0] if e[0] in "+-" else ">" for e in counts.elements())
    spaced = sum(len(SPACE_BEFORE_PUNCTUATION.findall(r)) for r in refs)
    dropped = sum(1 for r, h in zip(refs, hyps) for op in Levenshtein.editops(r, h)
                  if op.tag == "delete" and SPACE_BEFORE_PUNCTUATION.match(r, op.src_pos))
    unspaced = [(SPACE_BEFORE_PUNCTUATION.sub("", r), SPACE_BEFORE_PUNCTUATION.sub("", h)) for r, h in zip(refs, hyps)]
    print(json.dumps({
        "model": args.model, "split": args.split, "lines": n, "forms": len(forms),
        "cer": round(float(errs.sum() / chars.sum()), 4),
        "lines_read_exactly": round(float((errs == 0).mean()), 3),
        "share_of_errors_in_lines": lines, "share_of_errors_in_forms": by_form,
        "form_cer_quartiles": [round(float(x), 4) for x in np.percentile(form_err / form_chars, [25, 50, 75])],
        "edits": {"substituted": kinds[">"], "dropped": kinds["-"], "added": kinds["+"]},
        "most_frequent": counts.most_common(args.top),
        "space_before_punctuation": {
            "in_references": spaced, "dropped": dropped,
            "cer_without_them": round(sum(Levenshtein.distance(r, h) for r, h in unspaced)
                                      / sum(len(r) for r, _ in unspaced), 4)},
    }, ensure_ascii=False))


if __name__ == "__main__":
    main()
