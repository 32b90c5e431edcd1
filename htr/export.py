"""Export a trained model directory to ONNX, so that reading needs ONNX Runtime only.

The graph takes a batch of line images of any width and each line's width in frames. torch's
own exporter (`torch.export`, the default since torch 2.9) froze the example's width into the
graph wherever the BiLSTM reverses a line within its length, up to torch 2.14
(pytorch/pytorch#191855): the file read only lines of that one width. Before 2.15 the TorchScript
exporter is used instead, which torch has deprecated and means to remove; from 2.15 on, torch's.
"""
from __future__ import annotations

from pathlib import Path

import torch

from htr.modeldir import atomic_write

NAMES = {"input_names": ["image", "frames"], "output_names": ["logprobs"]}


def export(model_dir: str | Path, out: str | Path) -> Path:
    from htr.train import load_model
    model, config = load_model(model_dir)
    factor = config["width_factor"]
    example = (torch.zeros(2, 1, config["preprocess"]["height"], 16 * factor),
               torch.tensor([16, 9]))   # two lines of different lengths: frames is data, not a constant
    out = Path(out)
    atomic_write(out, lambda tmp: _write(model, example, factor, tmp))
    return out


def _write(model: torch.nn.Module, example: tuple[torch.Tensor, torch.Tensor], factor: int, path: Path) -> None:
    if _torch_export_keeps_widths():
        batch, frames = torch.export.Dim("batch", min=1), torch.export.Dim("frames", min=1)
        program = torch.onnx.export(model, example, dynamo=True, dynamic_shapes=(
            {0: batch, 3: factor * frames}, {0: batch}), opset_version=18, verbose=False, **NAMES)
        program.save(str(path))
    else:
        torch.onnx.export(model, example, str(path), dynamo=False, opset_version=17, dynamic_axes={
            "image": {0: "batch", 3: "width"}, "frames": {0: "batch"}, "logprobs": {0: "time", 1: "batch"}},
            **NAMES)


def _torch_export_keeps_widths() -> bool:
    """Whether this torch's own ONNX exporter gives a graph that reads lines of every width."""
    major, minor = (int(part) for part in torch.__version__.split(".")[:2])
    return (major, minor) >= (2, 15)
