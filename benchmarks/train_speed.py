"""Training throughput (lines/s) of each preset on this machine, data pipeline included.

Runs the same loop as `htr train` (rendering, augmentation, preprocessing in one worker process,
forward, CTC loss, backward, AdamW step) on IAM-OnDB trainset lines, for a fixed number of steps
after a warm-up, and prints one JSON line per preset.

    python benchmarks/train_speed.py --root ../shared/data/iam-ondb --steps 30

Like `htr train`, it runs with tcmalloc when libtcmalloc-minimal4 is installed;
`HTR_MALLOC=system` measures glibc's malloc instead ("malloc" in the output says which).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time

import torch
from torch.utils.data import DataLoader

from htr.charset import Charset
from htr.cli.train import arch_change, with_tcmalloc
from htr.ngrams import with_heads
from htr.preprocess import Preprocess
from htr.train import (WIDTH_BUCKET, Lines, SimilarLengthBatches, build_model, channels_last, collate, ctc_loss,
                       keep_compiled_kernels, model_config, open_training_data, use_bf16)


def measure(preset: str, root: str, steps: int, batch_size: int, workers: int, precision: str, layout: str,
            ngrams: str, arch: dict, bucket: int) -> dict:
    charset = Charset()
    config = model_config(preset, charset, arch)
    data = Lines(open_training_data([f"iam-ondb:root={root},split=trainset"], charset, 64), charset,
                 Preprocess.from_dict(config["preprocess"]), train=True, seed=0)
    factor = config["width_factor"]
    loader = DataLoader(data, batch_sampler=SimilarLengthBatches(data, batch_size, seed=0), num_workers=workers,
                        collate_fn=lambda b: collate(b, factor, bucket))
    bf16 = use_bf16(precision, "cpu")
    nhwc = channels_last(bf16) if layout == "auto" else layout == "nhwc"
    model = with_heads(build_model(config, nhwc), ngrams, data.datasets[0].labels, charset).train()
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    ctc = torch.nn.CTCLoss(zero_infinity=True)
    warmup, seen, t0 = 3, 0, 0.0
    for k, (x, lengths, targets, target_lengths, texts) in enumerate(loader):
        if k == warmup:
            t0, seen = time.perf_counter(), 0
        loss = ctc_loss(model, ctc, (x, lengths, targets, target_lengths), "cpu", bf16, texts)
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(lengths)
        if k == warmup + steps - 1:
            break
    secs = time.perf_counter() - t0
    return {"preset": preset, "lines_per_s": round(seen / secs, 1), "steps": steps, "batch_size": batch_size,
            "threads": torch.get_num_threads(), "malloc": os.environ.get("HTR_MALLOC", "system"),
            "bf16": bf16, "layout": "nhwc" if nhwc else "nchw", "ngrams": ngrams, "arch": arch, "bucket": bucket,
            "kernel_cache": os.environ.get("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "1024"),
            "max_rss_MB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "params_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default="../shared/data/iam-ondb")
    p.add_argument("--presets", nargs="+", default=["simplehtr", "base"])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    p.add_argument("--layout", default="auto", choices=["auto", "nchw", "nhwc"],
                   help="the convolutions' memory layout (auto: what htr train uses)")
    p.add_argument("--ngrams", default="", help="with htr train's --ngrams heads, e.g. 2,3")
    p.add_argument("--arch", nargs="+", type=arch_change, default={}, metavar="KEY=NUMBER",
                   help="htr train's --arch: change numbers of each preset, e.g. height=32")
    p.add_argument("--bucket", type=int, default=WIDTH_BUCKET,
                   help="pad each batch to a multiple of this many frames (1: to the widest line only)")
    p.add_argument("--kernel-cache", type=int, default=1, choices=[0, 1],
                   help="1: raise oneDNN's kernel cache as htr train does; 0: its default of 1,024")
    args = p.parse_args()
    with_tcmalloc()
    if args.kernel_cache:
        keep_compiled_kernels()
    for preset in args.presets:
        print(json.dumps(measure(preset, args.root, args.steps, args.batch_size, args.workers, args.precision,
                                 args.layout, args.ngrams, dict(args.arch), args.bucket)), flush=True)


if __name__ == "__main__":
    main()
