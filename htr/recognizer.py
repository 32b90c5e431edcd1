"""Reading line and word images with ONNX Runtime: no torch needed at run time."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np
import onnxruntime as ort

from htr.calibration import calibrate, known
from htr.charset import Charset
from htr.decoding import Decoded, char_runs, decode
from htr.modeldir import read_config
from htr.page import Line, Word
from htr.preprocess import Preprocess, batch, ink_box, ink_map, prepare_ink, stretch

DEFAULT_MODEL = Path(__file__).parent / "models" / "default"
# Lines per ONNX call, sorted by width: fewer pad less, and 8 read fastest on the AVX2-only EPYC
# (benchmarks/read_speed.py --batch-sizes). What a line reads does not depend on it (edge_margin).
BATCH = 8
# A line whose first reading gives it fewer CTC frames per character than the model's
# `frames_per_char` (config.json) by more than NARROW (chosen on the decoder-tuning forms,
# benchmarks/letter_width.py) is stretched to it and read again; MAX_STRETCH bounds what a first
# reading with many false characters can cost.
NARROW = 0.1
MAX_STRETCH = 1.6


class Recognizer:
    def __init__(self, model_dir: str | Path, threads: int | None = None, reread: bool = True):
        model_dir = Path(model_dir)
        onnx_path, cfg_path = model_dir / "model.onnx", model_dir / "config.json"
        for p in (cfg_path, onnx_path):
            if not p.is_file():
                raise ValueError(f"{model_dir}: not a model directory ({p.name} is missing; "
                                 f"`htr export --model {model_dir}` writes model.onnx)")
        self.model_dir = model_dir
        self.config = read_config(model_dir)
        self.charset = Charset(self.config["charset"])
        self.pre = Preprocess.from_dict(self.config["preprocess"])
        self.factor = int(self.config["width_factor"])
        self.tail = edge_margin(self.config["arch"]["convs"], self.factor)
        self.calibration = self.config.get("calibration", {})   # decoder -> [a, b, c] (htr.calibration)
        self.frames_per_char = float(self.config.get("frames_per_char", 0)) if reread else 0.0
        self.narrow = NARROW
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or int(os.environ.get("HTR_THREADS", min(os.cpu_count() or 1, 4)))
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types for broken or foreign files
            raise ValueError(f"{onnx_path}: not a readable ONNX model ({type(e).__name__}); "
                             f"`htr export --model {model_dir} -o {onnx_path}` writes it again") from None
        if "frames" not in {i.name for i in self.session.get_inputs()}:
            # Exported before htr.model.BiLSTM: the weights still load, the ONNX graph is stale.
            raise ValueError(f"{onnx_path} takes no line lengths (exported by an older htr); "
                             f"export it again: htr export --model {model_dir} -o {onnx_path}")

    @classmethod
    def load(cls, path: str | Path | None = None, reread: bool = True) -> "Recognizer":
        return _cached(str(Path(path or DEFAULT_MODEL).resolve()), reread)

    def logprobs(self, images: list[np.ndarray], reread: bool = True) -> list[np.ndarray]:
        """Per image, (T, C) log-probabilities; frame t covers columns [t*f, (t+1)*f) of the prepared
        image, or of its stretched copy when it was read a second time: either way the frames
        span the line evenly, which is all `_to_line` relies on. `reread=False` reads each once."""
        prepared = [self.pre(im) for im in images]
        return self.logprobs_prepared(prepared) if reread else self._run(prepared)

    def decode_dataset(self, dataset, decoder: str = "greedy", limit: int = 0, **options) -> Iterator[tuple]:
        """(sample, Decoded) for the first `limit` lines of a dataset (all when 0), read in
        groups of 64 images: what evaluation and calibration go through."""
        n = min(limit, len(dataset)) if limit else len(dataset)
        for s in range(0, n, 64):
            samples = [dataset[i] for i in range(s, min(s + 64, n))]
            for sample, lp in zip(samples, self.logprobs([x.image for x in samples])):
                yield sample, decode(lp, self.charset, decoder, **options)

    def logprobs_prepared(self, prepared: list[np.ndarray]) -> list[np.ndarray]:
        """Per prepared image, (T, C) log-probabilities. Narrow handwriting is read twice: the
        x-height scaling leaves a cramped writer's letters narrower than the model reads best,
        so a line whose first reading has too few frames per character is stretched to the
        model's `frames_per_char` and read again (docs/model.md, "Letter width")."""
        out = self._run(prepared)
        if self.frames_per_char:
            again = {}
            for i, (x, lp) in enumerate(zip(prepared, out)):
                f = min(self.frames_per_char * max(characters(lp), 1) / len(lp), MAX_STRETCH)
                if f > 1 + self.narrow:
                    again[i] = stretch(x, f, self.pre.max_width)
            for i, lp in zip(again, self._run(list(again.values()))):
                out[i] = lp
        return out

    def _run(self, prepared: list[np.ndarray]) -> list[np.ndarray]:
        out: list[np.ndarray | None] = [None] * len(prepared)
        order = np.argsort([p.shape[1] for p in prepared])  # similar widths together: less padding
        for s in range(0, len(order), BATCH):
            idx = order[s:s + BATCH]
            x, frames = batch([prepared[i] for i in idx], self.factor, tail=self.tail)
            y = self.session.run(None, {"image": x, "frames": frames})[0]  # T, N, C
            for k, i in enumerate(idx):
                out[i] = y[: frames[k], k]
        return out  # type: ignore[return-value]

    def read_lines(self, images: list[np.ndarray], decoder: str = "greedy", **options) -> list[Line]:
        """Recognize each image as one line; word boxes are placed from the CTC frames. When the
        model carries a calibration for the decoder, word confidences are calibrated and a line's
        is the mean of its words': the share of them expected to be right."""
        maps = [ink_map(im) for im in images]
        lines = []
        for ink, lp in zip(maps, self.logprobs_prepared([prepare_ink(m, self.pre) for m in maps])):
            d = decode(lp, self.charset, decoder, **options)
            lines.append(self._to_line(d, ink, lp.shape[0], self.calibration.get(decoder), options.get("lm")))
        return lines

    def _to_line(self, d: Decoded, ink: np.ndarray, frames: int, calibration: list[float] | None,
                 lm: str | None = None) -> Line:
        """Map frames back to image columns: the prepared image is the ink crop, deslanted and scaled."""
        x0, y0, x1, y1 = ink_box(ink) or (0, 0, ink.shape[1], ink.shape[0])
        scale = (x1 - x0) / max(frames, 1)
        conf = np.array([wd.confidence for wd in d.words])
        if calibration and len(conf):
            conf = calibrate(conf, np.array([known(wd.text, lm) for wd in d.words]), calibration)
        words = []
        for wd, c in zip(d.words, conf.tolist()):
            a = int(x0 + wd.start * scale - scale)
            b = int(x0 + (wd.end + 1) * scale + scale)
            words.append(Word(wd.text, (max(a, x0), y0, min(b, x1), y1), round(c, 4)))
        line_conf = float(conf.mean()) if calibration and len(conf) else d.confidence   # words expected right
        return Line(d.text, (x0, y0, x1, y1), round(line_conf, 4), words)


def edge_margin(convs: list, factor: int) -> int:
    """Blank columns to leave after a line's last frame so that no convolution or pooling behind
    its frames reaches the right edge of the batch: the network's reach to the right, in input
    columns, rounded up to whole frames. Without them a line's last frames see the convolutions'
    zero padding at the edge when it is read alone or is the widest of its batch, and blank
    columns when a wider line is beside it (not zeros once batch norm has shifted them), so the
    same line read differently in different company (77 of the 1,518 testset_t lines,
    benchmarks/padding.py --margin 0)."""
    reach, scale = 0, 1
    for _, k, (_, pool_w) in convs:
        reach += (k // 2 + pool_w - 1) * scale
        scale *= pool_w
    return -(-reach // factor) * factor


def characters(logprobs: np.ndarray) -> int:
    """How many characters greedy decoding reads in (T, C) log-probabilities."""
    return len(char_runs(logprobs.argmax(axis=1)))


@lru_cache(maxsize=4)
def _cached(path: str, reread: bool) -> Recognizer:
    return Recognizer(path, reread=reread)
