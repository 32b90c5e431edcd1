"""Would int8 weights read faster? ONNX Runtime's quantizations of a model, against the float32
network it ships with: batched reading speed (as benchmarks/read_speed.py times it) and greedy
CER on IAM-OnDB testset_t.

- `dynamic-rnn`: the BiLSTM and the head with int8 weights, activations quantized on the fly;
- `dynamic`: the convolutions too (ConvInteger);
- `static-qdq` and `static-qop`: the convolutions with int8 weights (per channel) and uint8
  activations, scaled on 64 trainset lines (min-max), written as QDQ pairs or as QLinearConv.

Whether int8 pays depends on the CPU: one without VNNI (AVX2 only) has no fast int8 dot product.

    python benchmarks/quantized.py --lines 200
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic,
                                      quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

from htr.datasets.iam_ondb import IamOnDB
from htr.decoding import greedy
from htr.metrics import cer
from htr.preprocess import batch, ink_map, prepare_ink
from htr.recognizer import Recognizer

from read_speed import lines_per_second

VARIANTS = ["float32", "dynamic-rnn", "dynamic", "static-qdq", "static-qop"]


class Lines(CalibrationDataReader):
    """Batches of prepared lines, as the network sees them, for scaling the activations."""

    def __init__(self, prepared: list[np.ndarray], factor: int, size: int = 8):
        self.batches = iter([dict(zip(["image", "frames"], batch(prepared[k:k + size], factor)))
                             for k in range(0, len(prepared), size)])

    def get_next(self) -> dict | None:
        return next(self.batches, None)


def quantize(variant: str, src: Path, out: Path, calibration: list[np.ndarray], factor: int) -> None:
    out.mkdir(parents=True)
    shutil.copy(src / "config.json", out / "config.json")
    model, target = str(src / "model.onnx"), str(out / "model.onnx")
    if variant == "float32":
        shutil.copy(model, target)
    elif variant.startswith("dynamic"):
        ops = ["LSTM", "MatMul"] if variant == "dynamic-rnn" else None
        quantize_dynamic(model, target, op_types_to_quantize=ops, weight_type=QuantType.QInt8)
    else:
        pre = str(out / "pre.onnx")
        quant_pre_process(model, pre, skip_symbolic_shape=True)
        quantize_static(pre, target, Lines(calibration, factor),
                        quant_format=QuantFormat.QDQ if variant == "static-qdq" else QuantFormat.QOperator,
                        op_types_to_quantize=["Conv"], per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="htr/models/default")
    p.add_argument("--root", default="../shared/data/iam-ondb")
    p.add_argument("--lines", type=int, default=200, help="testset_t lines timed")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    args = p.parse_args()
    src = Path(args.model)
    test, train = IamOnDB(args.root, "testset_t"), IamOnDB(args.root, "trainset")
    shipped = Recognizer(src, reread=False)
    rng = np.random.default_rng(0)
    calibration = [prepare_ink(ink_map(train[int(i)].image), shipped.pre)
                   for i in rng.choice(len(train), 64, replace=False)]
    images = [test[i].image for i in range(min(args.lines, len(test)))]
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants:
            out = Path(tmp) / variant
            quantize(variant, src, out, calibration, shipped.factor)
            rec = Recognizer(out, threads=args.threads)
            once = Recognizer(out, threads=args.threads, reread=False)
            hyps = [d.text for _, d in rec.decode_dataset(test)]
            print(json.dumps({"variant": variant, "megabytes": round((out / "model.onnx").stat().st_size / 2**20, 1),
                              "batch64_lines_per_s": round(lines_per_second(rec, images, 64), 1),
                              "single_read_batch64_lines_per_s": round(lines_per_second(once, images, 64), 1),
                              "testset_t_cer": round(cer(test.labels, hyps), 4)}), flush=True)


if __name__ == "__main__":
    main()
