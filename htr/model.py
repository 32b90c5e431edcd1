"""The recognizer network: a CRNN (convolutions, then a bidirectional LSTM) trained with CTC.

A preset is a plain dict of architecture and input settings; the config saved beside the
weights holds the preset, so a model can be rebuilt from its JSON alone.

- `simplehtr`: the classic SimpleHTR baseline — 5 conv layers (5x5, 5x5, 3x3, 3x3, 3x3;
  32-64-128-128-256 channels), 2 BiLSTM layers of 256, 32 px high input (lines up to 256 px
  wide), width downsampled 4x.
- `base`: the default. 40 px high input scaled by the x-height (`core`, htr/preprocess.py),
  six 3x3 conv layers with batch norm (32-64-96-96-128-128 channels, cheaper than SimpleHTR's
  5x5 layers), the height pooled to 2 rows instead of 1 so the LSTM still sees where ink sits
  vertically, 2 BiLSTM layers of 192, dropout 0.2, and no width cap (whole lines, not 256 px
  crops). Per line it trains at less than half SimpleHTR's speed, which only ever sees 256 px
  (benchmarks/train_speed.py; docs/model.md has the figures).
- `large`: `base`'s input with wider convolutions (up to 192 channels) and 4 BiLSTM layers of
  256, 6.9 M weights: to find out on a GPU how far the architecture goes with more capacity and
  compute than two CPU hours allow (docs/model.md, "More capacity, on a GPU").

`seq_convs` (0 in every preset) puts that many residual 1-D convolution blocks before the BiLSTM,
or in its place with `rnn_layers` 0 (`htr train --arch rnn_layers=0 seq_convs=6`): a sequence
model without the LSTM's step-by-step recurrence (docs/model.md, "Convolutions instead of the
BiLSTM").
"""
from __future__ import annotations

import re

import torch
from torch import nn

PRESETS: dict[str, dict] = {
    "simplehtr": {
        "height": 32, "max_width": 256,
        # (out channels, kernel, pool (h, w)) per conv layer
        "convs": [(32, 5, (2, 2)), (64, 5, (2, 2)), (128, 3, (2, 1)), (128, 3, (2, 1)), (256, 3, (2, 1))],
        "rnn_hidden": 256, "rnn_layers": 2, "dropout": 0.0, "seq_convs": 0,
    },
    "base": {
        "height": 40, "core": 0.34, "max_width": 2048,
        "convs": [(32, 3, (2, 2)), (64, 3, (2, 2)), (96, 3, (1, 1)), (96, 3, (2, 1)),
                  (128, 3, (1, 1)), (128, 3, (2, 1))],
        "rnn_hidden": 192, "rnn_layers": 2, "dropout": 0.2, "seq_convs": 0,
    },
    "large": {
        "height": 40, "core": 0.34, "max_width": 2048,
        "convs": [(32, 3, (2, 2)), (64, 3, (2, 2)), (128, 3, (1, 1)), (128, 3, (2, 1)),
                  (192, 3, (1, 1)), (192, 3, (2, 1))],
        "rnn_hidden": 256, "rnn_layers": 4, "dropout": 0.3, "seq_convs": 0,
    },
    # For tests: trains in seconds.
    "tiny": {
        "height": 32, "max_width": 1024,
        "convs": [(16, 3, (2, 2)), (32, 3, (2, 2)), (48, 3, (2, 1)), (64, 3, (4, 1))],
        "rnn_hidden": 64, "rnn_layers": 1, "dropout": 0.0, "seq_convs": 0,
    },
}


def width_factor(arch: dict) -> int:
    """How many input columns make one output frame."""
    f = 1
    for _, _, (_, pw) in arch["convs"]:
        f *= pw
    return f


def out_rows(arch: dict) -> int:
    h = arch["height"]
    for _, _, (ph, _) in arch["convs"]:
        h //= ph
    return h


class CRNN(nn.Module):
    def __init__(self, arch: dict, num_classes: int):
        super().__init__()
        self.arch = dict(arch)
        layers: list[nn.Module] = []
        cin = 1
        for cout, k, pool in arch["convs"]:
            layers += [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            if pool != (1, 1):
                layers.append(nn.MaxPool2d(pool, pool))
            cin = cout
        self.cnn = nn.Sequential(*layers)
        rows = out_rows(arch)
        if rows < 1:
            raise ValueError(f"input height {arch['height']} is too small for the pooling of this architecture")
        self.dropout = nn.Dropout(arch["dropout"])
        n = cin * rows
        self.seq = ConvSequence(n, arch["seq_convs"], arch["dropout"]) if arch.get("seq_convs") else None
        self.rnn = BiLSTM(n, arch["rnn_hidden"], arch["rnn_layers"], arch["dropout"]) if arch["rnn_layers"] else None
        self.head = nn.Linear(2 * arch["rnn_hidden"] if self.rnn else n, num_classes)

    def forward(self, x: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """(N, 1, H, W) ink maps, and per image its width in frames (None: all of W) ->
        (T, N, C) log-probabilities, T = W / width_factor."""
        return self.head(self.dropout(self.features(x, frames))).log_softmax(-1)

    def features(self, x: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """The sequence model's output, (T, N, features): what the head reads (and, in training,
        the n-gram heads of htr/ngrams.py)."""
        return self.sequence(self.cnn(x), frames)

    def sequence(self, f: torch.Tensor, frames: torch.Tensor | None = None) -> torch.Tensor:
        """The sequence model's output for the convolutions' (N, C, h, T) feature maps."""
        n, c, h, t = f.shape
        f = f.reshape(n, c * h, t).permute(2, 0, 1)       # T, N, C*h
        if frames is None:
            frames = torch.full((n,), t, dtype=torch.long, device=f.device)
        f = self.dropout(f)
        if self.seq is not None:
            f = self.seq(f, frames)
        return self.rnn(f, frames) if self.rnn is not None else f


class ConvSequence(nn.Module):
    """Residual 1-D convolutions over the frames (kernel 3, dilations 1, 2, 4, 8, 1, 2, ...): a
    sequence model that, unlike an LSTM, computes all frames at once.

    Frames past each line's own end are set to zero before every block, so that no line reads
    what lies beyond it in a padded batch: a line gives the same alone or in any batch."""

    def __init__(self, width: int, blocks: int, dropout: float):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv1d(width, width, 3, padding=d, dilation=d, bias=False), nn.BatchNorm1d(width),
                          nn.ReLU(inplace=True), nn.Dropout(dropout))
            for d in (2 ** (k % 4) for k in range(blocks)))

    def forward(self, x: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        t = x.shape[0]
        x = x.permute(1, 2, 0)                                                        # N, C, T
        inside = (torch.arange(t, device=x.device) < frames.unsqueeze(1)).unsqueeze(1).to(x.dtype)  # N,1,T
        for block in self.blocks:
            x = x * inside
            x = x + block(x)
        return (x * inside).permute(2, 0, 1)


class BiLSTM(nn.Module):
    """Bidirectional LSTM layers whose backward direction starts at each line's own last frame.

    A batch pads its lines on the right; torch's bidirectional LSTM would start the backward
    pass in that padding, so a model trained on padded batches learns to expect it and reads
    worse without it (benchmarks/padding.py). Here each line is reversed within its own length,
    read forward, and reversed back, which gives every line the same result alone or in any
    batch, and exports to ONNX as plain LSTM and Gather ops.
    """

    def __init__(self, n_in: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.fwd = nn.ModuleList(nn.LSTM(n_in if k == 0 else 2 * hidden, hidden) for k in range(layers))
        self.bwd = nn.ModuleList(nn.LSTM(n_in if k == 0 else 2 * hidden, hidden) for k in range(layers))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        flip = _flip_index(x.shape[0], frames).unsqueeze(-1)  # T, N, 1
        for k, (fwd, bwd) in enumerate(zip(self.fwd, self.bwd)):
            if k:
                x = self.dropout(x)
            ahead, _ = fwd(x)
            back, _ = bwd(x.gather(0, flip.expand_as(x)))
            x = torch.cat([ahead, back.gather(0, flip.expand_as(back))], -1)
        return x


def _flip_index(t: int, frames: torch.Tensor) -> torch.Tensor:
    """(T, N) source frame per frame: frames[n]-1-i for i < frames[n], padding left in place."""
    i = torch.arange(t, device=frames.device).unsqueeze(1)
    j = frames.unsqueeze(0) - 1 - i
    return torch.where(j >= 0, j, i)


def from_bidirectional(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename the tensors of a model saved with torch's nn.LSTM(bidirectional=True) (models
    before BiLSTM) to BiLSTM's names; the weights are the same."""
    out = {}
    for name, tensor in state.items():
        m = re.fullmatch(r"rnn\.(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?", name)
        out[f"rnn.{'bwd' if m[3] else 'fwd'}.{m[2]}.{m[1]}_l0" if m else name] = tensor
    return out
