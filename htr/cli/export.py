"""`htr export`: write a model directory's weights as ONNX (reading then needs no torch)."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("export", help="export a trained model to ONNX")
    p.add_argument("--model", required=True, help="model directory (config.json + model.safetensors)")
    p.add_argument("-o", "--output", required=True, help="ONNX file to write")
    p.set_defaults(func=run)


def run(args) -> int:
    from htr.export import export
    print(export(args.model, args.output))
    return 0
