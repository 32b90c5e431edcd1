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
"""
from __future__ import annotations

import torch
from torch import nn

PRESETS: dict[str, dict] = {
    "simplehtr": {
        "height": 32, "max_width": 256,
        # (out channels, kernel, pool (h, w)) per conv layer
        "convs": [(32, 5, (2, 2)), (64, 5, (2, 2)), (128, 3, (2, 1)), (128, 3, (2, 1)), (256, 3, (2, 1))],
        "rnn_hidden": 256, "rnn_layers": 2, "dropout": 0.0,
    },
    "base": {
        "height": 40, "core": 0.34, "max_width": 2048,
        "convs": [(32, 3, (2, 2)), (64, 3, (2, 2)), (96, 3, (1, 1)), (96, 3, (2, 1)),
                  (128, 3, (1, 1)), (128, 3, (2, 1))],
        "rnn_hidden": 192, "rnn_layers": 2, "dropout": 0.2,
    },
    # For tests: trains in seconds.
    "tiny": {
        "height": 32, "max_width": 1024,
        "convs": [(16, 3, (2, 2)), (32, 3, (2, 2)), (48, 3, (2, 1)), (64, 3, (4, 1))],
        "rnn_hidden": 64, "rnn_layers": 1, "dropout": 0.0,
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
        self.rnn = nn.LSTM(cin * rows, arch["rnn_hidden"], num_layers=arch["rnn_layers"], bidirectional=True,
                           dropout=arch["dropout"] if arch["rnn_layers"] > 1 else 0.0)
        self.head = nn.Linear(2 * arch["rnn_hidden"], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, H, W) ink maps -> (T, N, C) log-probabilities, T = W / width_factor."""
        f = self.cnn(x)                                   # N, C, h, T
        n, c, h, t = f.shape
        f = f.reshape(n, c * h, t).permute(2, 0, 1)       # T, N, C*h
        f, _ = self.rnn(self.dropout(f))
        return self.head(self.dropout(f)).log_softmax(-1)
