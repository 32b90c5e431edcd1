"""Export a trained model directory to ONNX, so that reading needs ONNX Runtime only."""
from __future__ import annotations

import os
from pathlib import Path

import torch


def export(model_dir: str | Path, out: str | Path) -> Path:
    from htr.train import load_model
    model, config = load_model(model_dir)
    h = config["preprocess"]["height"]
    dummy = torch.zeros(2, 1, h, 16 * config["width_factor"])
    frames = torch.tensor([16, 9])   # two lines of different lengths: frames is traced as data
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    torch.onnx.export(model, (dummy, frames), str(tmp), input_names=["image", "frames"], output_names=["logprobs"],
                      dynamic_axes={"image": {0: "batch", 3: "width"}, "frames": {0: "batch"},
                                    "logprobs": {0: "time", 1: "batch"}},
                      opset_version=17, dynamo=False)
    os.replace(tmp, out)
    return out
