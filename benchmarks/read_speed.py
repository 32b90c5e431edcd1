"""Reading throughput (lines/s) with ONNX Runtime: one line per call, and batched.

The same IAM-OnDB testset_t lines (drawn once with the default pen) go through each model:
preprocessing, the ONNX network and greedy decoding, all included; and, on its own, the
preprocessing (contrast, deslanting, scaling: one core, best of 3). Reading as it is by default
(narrow handwriting read a second time, stretched: docs/model.md, "Letter width"), and batched
with one reading per line (`htr eval --single-read`). Prints one JSON line per model; with
`--batch-sizes`, also the batched speed for each number of lines per ONNX call (the recognizer
splits a batch into calls of `htr.recognizer.BATCH` lines). With `--api`, the same lines as
image files would come to `htr read`: `htr.read` one image at a time, and `htr.api.read_many`
(what `htr read A B ...` calls), greedy, segmentation included. With `--profile`, the share of
the network's time each kind of ONNX operation takes (ONNX Runtime's profiler, reading batched).

    python benchmarks/read_speed.py --models htr/models/default runs/simplehtr --lines 200 --threads 2
    python benchmarks/read_speed.py --batch-sizes 1 2 4 8 16 32 64
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter

import onnxruntime as ort

import htr
from htr import recognizer
from htr.api import read_many
from htr.datasets.iam_ondb import IamOnDB
from htr.preprocess import ink_map, prepare_ink
from htr.recognizer import Recognizer


def lines_per_second(rec: Recognizer, images: list, batch: int) -> float:
    rec.read_lines(images[:batch])  # warm-up
    t0 = time.perf_counter()
    for s in range(0, len(images), batch):
        rec.read_lines(images[s:s + batch])
    return len(images) / (time.perf_counter() - t0)


def network_shares(rec: Recognizer, images: list, threads: int) -> dict[str, float]:
    """Share of the network's time per ONNX operation type, the four largest."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.enable_profiling = True
    opts.profile_file_prefix = os.path.join(tempfile.gettempdir(), "htr_read_speed")
    rec.session = ort.InferenceSession(str(rec.model_dir / "model.onnx"), opts, providers=["CPUExecutionProvider"])
    rec.read_lines(images)
    path = rec.session.end_profiling()
    with open(path) as f:
        events = json.load(f)
    os.remove(path)
    time_by_op = Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            time_by_op[e["args"]["op_name"]] += e["dur"]
    total = sum(time_by_op.values())
    return {op: round(t / total, 3) for op, t in time_by_op.most_common(4)}


def prepare_ms(rec: Recognizer, images: list) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for im in images:
            prepare_ink(ink_map(im), rec.pre)
        best = min(best, time.perf_counter() - t0)
    return 1000 * best / len(images)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["htr/models/default"])
    p.add_argument("--root", default="../shared/data/iam-ondb")
    p.add_argument("--lines", type=int, default=200)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=64, help="lines per call in the batched run")
    p.add_argument("--batch-sizes", type=int, nargs="*", default=[],
                   help="also time the batched run with these numbers of lines per ONNX call")
    p.add_argument("--api", action="store_true", help="also time htr.read and htr.api.read_many")
    p.add_argument("--profile", action="store_true", help="also the network's time by ONNX operation type")
    p.add_argument("--margin", type=int, help="blank columns after each batch (default: the model's edge margin)")
    args = p.parse_args()
    ds = IamOnDB(args.root, "testset_t")
    images = [ds[i].image for i in range(min(args.lines, len(ds)))]
    for path in args.models:
        rec = Recognizer(path, threads=args.threads)
        once = Recognizer(path, threads=args.threads, reread=False)
        if args.margin is not None:
            rec.tail = once.tail = args.margin
        print(json.dumps({"model": path, "preset": rec.config.get("preset"), "lines": len(images),
                          "threads": args.threads, "margin": rec.tail,
                          "batch1_lines_per_s": round(lines_per_second(rec, images, 1), 1),
                          f"batch{args.batch}_lines_per_s": round(lines_per_second(rec, images, args.batch), 1),
                          f"single_read_batch{args.batch}_lines_per_s":
                              round(lines_per_second(once, images, args.batch), 1),
                          "prepare_ms_per_line": round(prepare_ms(rec, images), 2)}),
              flush=True)
        default = recognizer.BATCH
        for size in args.batch_sizes:
            recognizer.BATCH = size
            print(json.dumps({"model": path, "lines_per_onnx_call": size,
                              f"batch{args.batch}_lines_per_s": round(lines_per_second(rec, images, args.batch), 1),
                              f"single_read_batch{args.batch}_lines_per_s":
                                  round(lines_per_second(once, images, args.batch), 1)}), flush=True)
        recognizer.BATCH = default
        if args.profile:
            print(json.dumps({"model": path, "network_time_by_op": network_shares(
                Recognizer(path, threads=args.threads), images, args.threads)}), flush=True)
        if args.api:
            htr.read(images[0], model=path, decoder="greedy")   # warm-up
            t0 = time.perf_counter()
            for im in images:
                htr.read(im, model=path, decoder="greedy")
            t1 = time.perf_counter()
            list(read_many(images, model=path, decoder="greedy"))
            t2 = time.perf_counter()
            print(json.dumps({"model": path, "read_one_by_one_lines_per_s": round(len(images) / (t1 - t0), 1),
                              "read_many_lines_per_s": round(len(images) / (t2 - t1), 1)}), flush=True)


if __name__ == "__main__":
    main()
