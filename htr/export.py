"""Export a trained model directory to ONNX, so that reading needs ONNX Runtime only."""
from __future__ import annotations

from pathlib import Path

import torch

from htr.modeldir import atomic_write


def export(model_dir: str | Path, out: str | Path) -> Path:
    from htr.train import load_model
    model, config = load_model(model_dir)
    h = config["preprocess"]["height"]
    dummy = torch.zeros(2, 1, h, 16 * config["width_factor"])
    frames = torch.tensor([16, 9])   # two lines of different lengths: frames is traced as data
    out = Path(out)
    atomic_write(out, lambda tmp: torch.onnx.export(
        model, (dummy, frames), str(tmp), input_names=["image", "frames"], output_names=["logprobs"],
        dynamic_axes={"image": {0: "batch", 3: "width"}, "frames": {0: "batch"}, "logprobs": {0: "time", 1: "batch"}},
        opset_version=17, dynamo=False))
    return out
