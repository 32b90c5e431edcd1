"""Training-only n-gram heads: a language model learnt inside the network, for greedy reading.

Beside the character head, the network learns to write the same label cut into n-grams
("hello world" -> "he", "ll", "o ", "wo", "rl", "d" for n=2), each n with its own linear head
and CTC loss on the BiLSTM's output (the "block multi-task" scheme of Tassopoulou, Retsinas and
Maragos, ICPR 2020, who report greedy CER 1 point lower on IAM). To predict bigrams and
trigrams, the shared layers must carry which letters go together: the confusions greedy reading
makes most (a/o, r/n, t/l, docs/model.md) are the ones a language model settles. Reading uses
the character head only, so the saved weights, the ONNX file and the reading speed are the
same as without them.

A head's units are the blank, every character of the charset, and the `VOCAB` most frequent
n-grams of the training labels (cut the same way); a chunk outside them is spelt with its
characters.
"""
from __future__ import annotations

from collections import Counter

import torch
from torch import nn

from htr.charset import Charset

VOCAB = 1000   # n-grams per head
WEIGHT = 0.5   # each head's CTC loss per line, relative to the character head's (not tuned)


class NgramUnits:
    """The units of one head and how a label is cut into them."""

    def __init__(self, n: int, ngrams: list[str], charset: Charset):
        if n < 2:
            raise ValueError(f"n-gram heads need n >= 2, not {n}")
        self.n, self.ngrams, self.charset = n, ngrams, charset
        self._index = {g: len(charset) + k for k, g in enumerate(ngrams)}

    @classmethod
    def from_labels(cls, n: int, labels: list[str], charset: Charset, size: int = VOCAB) -> "NgramUnits":
        """The `size` most frequent whole chunks (ties in alphabetical order, so a resumed run
        gets the same units)."""
        counts = Counter(t[i:i + n] for t in labels for i in range(0, len(t) - n + 1, n))
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return cls(n, [g for g, _ in ranked[:size]], charset)

    def __len__(self) -> int:
        """Classes of the head: blank, characters, n-grams."""
        return len(self.charset) + len(self.ngrams)

    def encode(self, text: str) -> list[int]:
        out = []
        for i in range(0, len(text), self.n):
            chunk = text[i:i + self.n]
            unit = self._index.get(chunk)
            out += [unit] if unit is not None else self.charset.encode(chunk)
        return out

    def decode(self, units: list[int]) -> str:
        c = len(self.charset)
        return "".join(self.ngrams[u - c] if u >= c else self.charset.decode([u]) for u in units)


class WithNgramHeads(nn.Module):
    """A CRNN with n-gram heads on its BiLSTM output; the forward pass gives the character
    head's log-probabilities first, then each n-gram head's, all (T, N, classes)."""

    def __init__(self, model: nn.Module, units: list[NgramUnits]):
        super().__init__()
        self.model, self.units = model, units
        self.heads = nn.ModuleList(nn.Linear(model.head.in_features, len(u)) for u in units)

    def forward(self, x: torch.Tensor, frames: torch.Tensor) -> list[torch.Tensor]:
        f = self.model.dropout(self.model.features(x, frames))
        return [self.model.head(f).log_softmax(-1)] + [h(f).log_softmax(-1) for h in self.heads]

    def targets(self, texts: list[str]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per head, the batch's labels as units: (concatenated targets, length of each)."""
        out = []
        for u in self.units:
            encoded = [u.encode(t) for t in texts]
            out.append((torch.tensor([k for e in encoded for k in e], dtype=torch.long),
                        torch.tensor([len(e) for e in encoded], dtype=torch.long)))
        return out


def with_heads(model: nn.Module, spec: str, labels: list[str], charset: Charset) -> nn.Module:
    """What trains for `--ngrams spec`: the model itself, or the model with a head per n whose
    units come from the training `labels`."""
    ns = parse(spec)
    return WithNgramHeads(model, [NgramUnits.from_labels(n, labels, charset) for n in ns]) if ns else model


def parse(spec: str) -> list[int]:
    """"2,3" -> [2, 3]; "" -> []."""
    try:
        ns = [int(s) for s in spec.split(",") if s.strip()]
    except ValueError:
        raise ValueError(f"--ngrams takes sizes like 2,3, not {spec!r}") from None
    if any(n < 2 for n in ns) or len(set(ns)) != len(ns):
        raise ValueError(f"--ngrams takes distinct sizes of 2 or more, not {spec!r}")
    return ns
