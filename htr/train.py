"""Training a recognizer: datasets in, a model directory out.

A model directory holds everything needed to read with it:
  config.json         architecture, charset, preprocessing (plain JSON)
  model.safetensors   the best weights on validation CER
  model.onnx          the same weights for ONNX Runtime (written at the end; `htr export` too)
and, for training only:
  checkpoint.pt       last epoch's weights + optimizer state, to resume a killed run
  metrics.jsonl       one JSON record per epoch
  curves.png          learning curves
Every file is written to a temporary name and renamed, so a kill never leaves a broken file.

Runs on CUDA when present, else CPU; under `torchrun` it trains with DistributedDataParallel.
"""
from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset as TorchDataset
from tqdm import tqdm

from htr import augment as aug
from htr.charset import Charset
from htr.datasets import Dataset, open_dataset, parse_spec
from htr.decoding import greedy
from htr.metrics import cer, wer
from htr.model import CRNN, PRESETS, from_bidirectional, width_factor
from htr.modeldir import atomic_write, read_config
from htr.ngrams import WEIGHT as NGRAM_WEIGHT, with_heads
from htr.preprocess import Preprocess, batch

log = logging.getLogger("htr.train")


@dataclass
class TrainConfig:
    preset: str = "base"
    data: list[str] = field(default_factory=list)   # dataset specs, "name:key=value,...[,weight=W]"
    val: str = ""                                    # one dataset spec for validation
    out: str = "runs/base"
    epochs: int = 40
    batch_size: int = 8                              # lines per optimizer step (docs/model.md, "Batch size")
    lr: float = 1e-3
    weight_decay: float = 1e-2
    patience: int = 8                                # epochs without a better validation CER
    augment: bool = True
    workers: int = 1
    seed: int = 0
    val_limit: int = 0                               # validate on the first N lines only (0: all)
    max_minutes: float = 0.0                         # stop after this many minutes (0: no limit)
    init: str = ""                                   # start from the weights of another model directory
    add_chars: str = ""                              # characters to read besides the charset (e.g. "éèàç")
    precision: str = "auto"                          # fp32, bf16, or auto: bf16 where the hardware has it
    ngrams: str = ""                                 # training-only n-gram heads, e.g. "2,3" (htr/ngrams.py)
    arch: dict = field(default_factory=dict)         # the preset's numbers changed, e.g. {"dropout": 0.1}


# ---------------------------------------------------------------------------------------
# Model directories
# ---------------------------------------------------------------------------------------
def model_config(preset: str, charset: Charset, changes: dict | None = None) -> dict:
    """The config of a new model: a preset, with some of its numbers changed (`changes`, e.g.
    {"dropout": 0.1, "rnn_hidden": 256}) to try a variant without writing a preset."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(sorted(PRESETS))}")
    arch = dict(PRESETS[preset])
    numbers = {k: type(v) for k, v in arch.items() if isinstance(v, (int, float))}
    for key, value in (changes or {}).items():
        if key not in numbers or isinstance(value, bool) or not isinstance(value, numbers[key] | int):
            raise ValueError(f"cannot set {key}={value!r} in preset {preset!r}: its numbers are "
                             f"{', '.join(f'{k} ({t.__name__})' for k, t in numbers.items())}")
        arch[key] = numbers[key](value)
    pre = Preprocess(height=arch["height"], max_width=arch["max_width"], core=arch.get("core", 0.0))
    return {"format": "htr-crnn/1", "preset": preset, "arch": arch, "charset": charset.chars,
            "preprocess": pre.to_dict(), "width_factor": width_factor(arch)}


def build_model(config: dict, nhwc: bool = False) -> CRNN:
    """The network of a model config; `nhwc`: in channels-last layout (see `channels_last`)."""
    arch = {**config["arch"], "convs": [(c, k, tuple(p)) for c, k, p in config["arch"]["convs"]]}
    model = CRNN(arch, len(Charset(config["charset"])))
    return model.to(memory_format=torch.channels_last) if nhwc else model


def channels_last(bf16: bool) -> bool:
    """The convolutions' memory layout for training (benchmarks/train_speed.py --layout).

    Channels-last (NHWC) under bf16 autocast: there oneDNN's max pooling and batch norm are much
    slower in torch's default NCHW (base: 63.3 instead of 54.1 lines/s on an AVX512-BF16 CPU).
    In float32 on an AVX2-only CPU NCHW is the faster one (13.1 instead of 11.9 lines/s)."""
    return bf16


def load_model(model_dir: str | Path, device: str = "cpu") -> tuple[CRNN, dict]:
    """Model + config from a model directory, with clear errors for mismatched files."""
    model_dir = Path(model_dir)
    config = read_config(model_dir)
    model = build_model(config)
    load_weights(model, model_dir / "model.safetensors", config)
    return model.to(device).eval(), config


def load_weights(model: torch.nn.Module, path: Path, config: dict, chars: str | None = None) -> None:
    """Weights from `path` into `model`, checked tensor by tensor. With `chars`, the charset the
    weights were trained for: the output layer is matched character by character, so a model can
    learn new characters on top of what it reads (`htr train --init M --add-chars éè`)."""
    try:
        state = from_bidirectional(load_file(str(path)))
    except Exception as e:  # safetensors raises its own error for a truncated or foreign file
        raise ValueError(f"{path}: not readable as safetensors weights ({e})") from None
    own = model.state_dict()
    if chars is not None and chars != config["charset"]:
        state.update(_grown_head(state, own, chars, config["charset"]))
    missing = sorted(set(own) - set(state))
    if missing:
        raise ValueError(f"{path}: weights lack {len(missing)} tensors (first: {missing[0]}); "
                         f"they do not belong to preset {config.get('preset')!r}")
    for name, tensor in state.items():
        if name not in own:
            raise ValueError(f"{path}: unexpected tensor {name!r} for preset {config.get('preset')!r}")
        if tuple(tensor.shape) != tuple(own[name].shape):
            hint = " (the charset differs)" if name.startswith("head.") else ""
            raise ValueError(f"{path}: tensor {name} has shape {tuple(tensor.shape)}, "
                             f"the model expects {tuple(own[name].shape)}{hint}")
    model.load_state_dict(state)


def _grown_head(state: dict, own: dict, old: str, new: str) -> dict:
    """The output layer for charset `new` from one trained for `old`: the blank's and each known
    character's row as trained, a new character's row as the fresh model drew it."""
    rows = [0] + [1 + new.index(c) for c in old if c in new]   # where each kept old class goes
    kept = [0] + [1 + i for i, c in enumerate(old) if c in new]
    grown = {}
    for name in ("head.weight", "head.bias"):
        grown[name] = own[name].clone()
        grown[name][rows] = state[name][kept].to(grown[name].dtype)
    return grown


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------
class Lines(TorchDataset):
    """Mixes datasets (each repeated `weight` times per epoch) into preprocessed, encoded samples."""

    def __init__(self, datasets: list[tuple[Dataset, float]], charset: Charset, pre: Preprocess,
                 train: bool, seed: int):
        self.datasets = [d for d, _ in datasets]
        self.index = []
        for k, (d, weight) in enumerate(datasets):
            reps = int(weight) + (1 if np.random.default_rng(seed + k).random() < weight % 1 else 0)
            self.index += [(k, i) for i in range(len(d))] * reps
        self.charset, self.pre, self.train, self.seed = charset, pre, train, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.index)

    def lengths(self) -> list[int]:
        return [len(self.datasets[k].labels[i]) for k, i in self.index]

    def __getitem__(self, j: int):
        k, i = self.index[j]
        rng = np.random.default_rng((self.seed, self.epoch, j)) if self.train else None
        s = self.datasets[k].sample(i, rng)
        img = aug.augment(s.image, rng) if rng is not None else s.image
        return self.pre(img), self.charset.encode(s.text), s.text


# oneDNN, which runs torch's convolutions and LSTMs on a CPU, compiles kernels for each input
# shape and by default keeps the last 1,024. A line batch's width varies, so nearly every batch
# had a new shape and paid for compiling its kernels again. Batches are padded to a multiple of
# WIDTH_BUCKET frames, which bounds the shapes, and the cache keeps them all: 12-20% more lines
# per second (benchmarks/train_speed.py --bucket --kernel-cache; docs/model.md).
WIDTH_BUCKET = 8
KERNEL_CACHE = "16384"


def keep_compiled_kernels() -> None:
    """Raise oneDNN's kernel cache (read when torch first uses it), unless the user set it."""
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", KERNEL_CACHE)


class SimilarLengthBatches(torch.utils.data.Sampler):
    """Shuffled batches of lines with similar label lengths (a proxy for image width).

    A batch is padded to its widest line, so mixing a two-word line with a ten-word one wastes
    most of the computation; grouping within random pools of 50 batches keeps the epoch random.
    """

    def __init__(self, data: Lines, batch_size: int, seed: int, pool: int = 50):
        self.data, self.batch_size, self.seed, self.pool = data, batch_size, seed, pool

    def _batches(self) -> list[list[int]]:
        rng = np.random.default_rng((self.seed, self.data.epoch))
        lengths = self.data.lengths()
        order = rng.permutation(len(lengths))
        batches = []
        step = self.batch_size * self.pool
        for s in range(0, len(order), step):
            chunk = sorted(order[s:s + step], key=lambda i: lengths[i])
            batches += [chunk[b:b + self.batch_size] for b in range(0, len(chunk), self.batch_size)
                        if len(chunk[b:b + self.batch_size]) == self.batch_size]
        return [batches[i] for i in rng.permutation(len(batches))]

    def __iter__(self):
        return iter(self._batches())

    def __len__(self) -> int:
        return len(self.data) // self.batch_size


def collate(items, factor: int, bucket: int = WIDTH_BUCKET):
    images, labels, texts = zip(*items)
    x, frames = batch(list(images), factor, bucket)
    targets = torch.tensor([c for lab in labels for c in lab], dtype=torch.long)
    return (torch.from_numpy(x), torch.from_numpy(frames), targets,
            torch.tensor([len(lab) for lab in labels], dtype=torch.long), list(texts))


def open_training_data(specs: list[str], charset: Charset, height: int) -> list[tuple[Dataset, float]]:
    """Open dataset specs; an optional `weight=W` option repeats a dataset W times per epoch."""
    out = []
    for spec in specs:
        name, options = parse_spec(spec)
        weight = float(options.pop("weight", 1.0))
        d = open_dataset(name, **{"height": height, **options})
        d.drop_unknown(charset)
        if len(d) == 0:
            raise ValueError(f"dataset {spec!r} has no usable samples")
        out.append((d, weight))
    return out


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------
def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def evaluate(model: CRNN, loader: DataLoader, charset: Charset, device: str) -> dict:
    """Greedy-decoded CER/WER on a validation loader."""
    model.eval()
    refs, hyps = [], []
    with torch.no_grad():
        for x, lengths, _, _, texts in loader:
            out = model(x.to(device), lengths.to(device)).float().cpu().numpy()
            for k, n in enumerate(lengths.tolist()):
                hyps.append(greedy(out[:n, k], charset).text)
            refs += texts
    model.train()
    return {"cer": cer(refs, hyps), "wer": wer(refs, hyps), "lines": len(refs)}


def use_bf16(precision: str, device: str) -> bool:
    """bfloat16 autocast for the forward pass (weights, gradients and the CTC loss stay float32).

    On a CPU with native bf16 instructions (AVX512-BF16, AMX) training runs about 1.3 to 1.6
    times faster (benchmarks/train_speed.py --precision); without them bf16 is emulated and
    slower, so `auto` keeps float32 there."""
    if precision not in ("auto", "fp32", "bf16"):
        raise ValueError(f"unknown precision {precision!r}; choose auto, fp32 or bf16")
    if precision != "auto":
        return precision == "bf16"
    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def ctc_loss(model: torch.nn.Module, ctc: torch.nn.CTCLoss, batch: tuple, device: str, bf16: bool,
             texts: list[str] = ()) -> torch.Tensor:
    """The CTC loss of one collated batch (images, frames, targets, target lengths); the
    forward pass under bf16 autocast if asked, the loss always in float32. A model with n-gram
    heads (htr/ngrams.py) adds their losses, from the batch's `texts`.

    `ctc` averages each line's loss per target unit. An n-gram head's units are about n
    characters each, so its per-unit loss would weigh about n times its share against the
    character head's; each line's n-gram losses are divided by its characters instead, so that
    a head weighs `NGRAM_WEIGHT` of the character head per line."""
    x, lengths, targets, target_lengths = batch
    frames = lengths.to(device)
    with torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
        out = model(x.to(device, non_blocking=True), frames)
    outs = [out] if isinstance(out, torch.Tensor) else out
    target_lengths = target_lengths.to(device)
    loss = ctc(outs[0].float(), targets.to(device), frames, target_lengths)
    if len(outs) > 1:
        heads = getattr(model, "module", model)   # inside DistributedDataParallel or not
        for logp, (t, t_lengths) in zip(outs[1:], heads.targets(texts)):
            per_line = torch.nn.functional.ctc_loss(logp.float(), t.to(device), frames, t_lengths.to(device),
                                                    blank=ctc.blank, reduction="none", zero_infinity=ctc.zero_infinity)
            loss = loss + NGRAM_WEIGHT * (per_line / target_lengths.clamp(min=1)).mean()
    return loss


def train(cfg: TrainConfig, resume: bool = False) -> dict:
    keep_compiled_kernels()
    rank, world = _distributed()
    device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if resume:
        if not (out / "checkpoint.pt").is_file():
            raise ValueError(f"--resume: no checkpoint in {out}")
        saved = json.loads((out / "train.json").read_text())
        cfg = TrainConfig(**{**saved, "out": cfg.out, "workers": cfg.workers})
    # The starting weights of a new run; a resumed run has its own in checkpoint.pt.
    init = Path(cfg.init) / "model.safetensors" if cfg.init and not resume else None
    if init and not init.is_file():
        raise ValueError(f"--init: no model.safetensors in {cfg.init}")
    # The config the run starts from: its own when resumed, the --init model's, or none.
    start = read_config(out) if resume else read_config(cfg.init) if init else {}
    chars = start.get("charset", Charset().chars)
    charset = Charset(chars + "".join(c for c in dict.fromkeys(cfg.add_chars) if c not in chars))
    config = model_config(cfg.preset, charset, cfg.arch)
    # The letter width the weights read best at (docs/model.md, "Letter width") stays about the
    # same when they train on: a model fine-tuned from the shipped one keeps reading narrow lines
    # twice (README, "Your own handwriting"), resumed or not. Calibration is not kept: it is per weights.
    if "frames_per_char" in start:
        config["frames_per_char"] = start["frames_per_char"]
    pre = Preprocess.from_dict(config["preprocess"])
    factor = config["width_factor"]

    train_sets = open_training_data(cfg.data, charset, height=64)
    val_set = open_training_data([cfg.val], charset, height=64)[0][0]
    if cfg.val_limit:
        val_set._select(list(range(min(cfg.val_limit, len(val_set)))))
    train_data = Lines(train_sets, charset, pre, train=cfg.augment, seed=cfg.seed)
    val_data = Lines([(val_set, 1.0)], charset, pre, train=False, seed=cfg.seed)

    def loader(data, shuffle, bs):
        # Workers are not persistent: they restart each epoch and so see the new epoch's seed.
        common = dict(num_workers=cfg.workers, collate_fn=lambda b: collate(b, factor))
        if shuffle and world == 1:
            return DataLoader(data, batch_sampler=SimilarLengthBatches(data, bs, cfg.seed), **common)
        sampler = torch.utils.data.DistributedSampler(data, world, rank, shuffle=shuffle, seed=cfg.seed) \
            if world > 1 else None
        return DataLoader(data, batch_size=bs, sampler=sampler, drop_last=shuffle, **common)

    train_loader, val_loader = loader(train_data, True, cfg.batch_size), loader(val_data, False, 64)
    bf16 = use_bf16(cfg.precision, device)
    model = build_model(config, channels_last(bf16)).to(device)
    if init:
        load_weights(model, init, config, start["charset"])
    # What trains: the model, with n-gram heads if asked.
    net = with_heads(model, cfg.ngrams, [t for d, _ in train_sets for t in d.labels], charset).to(device)
    ddp = torch.nn.parallel.DistributedDataParallel(net) if world > 1 else net
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = max(cfg.epochs * len(train_loader), 1)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    history: list[dict] = []
    start_epoch, best, bad_epochs, step, minutes0 = 0, math.inf, 0, 0, 0.0
    if resume:
        try:
            ck = torch.load(out / "checkpoint.pt", map_location=device, weights_only=True)
        except Exception as e:  # torch raises RuntimeError, EOFError, pickle errors... for a broken file
            raise ValueError(f"{out / 'checkpoint.pt'}: not a readable checkpoint ({type(e).__name__}); "
                             f"the best weights so far are in {out / 'model.safetensors'}: go on from "
                             f"them with a new run and --init {out}") from None
        model.load_state_dict(ck["model"])
        if cfg.ngrams:
            net.heads.load_state_dict(ck["heads"])
        opt.load_state_dict(ck["optimizer"])
        start_epoch, best, bad_epochs = ck["epoch"], ck["best"], ck["bad_epochs"]
        step, minutes0 = ck["step"], ck["minutes"]
        # The log may hold one epoch more than the checkpoint if a kill fell between the two writes.
        history = [json.loads(ln) for ln in (out / "metrics.jsonl").read_text().splitlines() if ln][:start_epoch]
        log.info("resuming %s at epoch %d (best CER %.4f)", out, start_epoch, best)
    if rank == 0:
        atomic_write(out / "config.json", lambda p: p.write_text(json.dumps(config, indent=1)))
        atomic_write(out / "train.json", lambda p: p.write_text(json.dumps(asdict(cfg), indent=1)))
    t_start = time.time()

    def minutes() -> float:  # training time so far, across resumes
        return minutes0 + (time.time() - t_start) / 60

    def run_progress() -> float:  # what the learning rate schedule follows, 0 to 1
        progress = step / total_steps
        return max(progress, minutes() / cfg.max_minutes) if cfg.max_minutes else progress

    progress0 = run_progress()

    def run_eta() -> str:  # the whole run's time left: it ends when progress reaches 1
        return time_left(time.time() - t_start, progress0, run_progress())

    for epoch in range(start_epoch, cfg.epochs):
        train_data.epoch = epoch
        if world > 1:
            train_loader.sampler.set_epoch(epoch)
        model.train()
        t0, seen, loss_sum = time.time(), 0, 0.0
        bar = tqdm(train_loader, desc=f"epoch {epoch + 1}/{cfg.epochs}{run_eta()}", disable=rank != 0,
                   leave=False, dynamic_ncols=True)
        for x, lengths, targets, target_lengths, texts in bar:
            loss = ctc_loss(ddp, ctc, (x, lengths, targets, target_lengths), device, bf16, texts)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            progress = run_progress()
            for group in opt.param_groups:
                group["lr"] = learning_rate(progress, cfg.lr)
            opt.step()
            step += 1
            seen += len(lengths)
            loss_sum += loss.item() * len(lengths)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", best_cer=f"{best:.4f}" if best < math.inf else "-")
        train_secs = time.time() - t0
        record = {"epoch": epoch + 1, "loss": loss_sum / max(seen, 1), "lines_per_s": seen * world / train_secs, "bf16": bf16,
                  "lr": opt.param_groups[0]["lr"], "minutes": minutes()}
        if rank == 0:
            record.update({f"val_{k}": v for k, v in evaluate(model, val_loader, charset, device).items()})
            history.append(record)
            improved = record["val_cer"] < best
            if improved:
                best, bad_epochs = record["val_cer"], 0
                state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
                atomic_write(out / "model.safetensors", lambda p: save_file(state, str(p)))
            else:
                bad_epochs += 1
            ck = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": epoch + 1, "best": best,
                  "bad_epochs": bad_epochs, "step": step, "minutes": minutes()}
            if cfg.ngrams:
                ck["heads"] = net.heads.state_dict()
            atomic_write(out / "checkpoint.pt", lambda p: torch.save(ck, p))
            atomic_write(out / "metrics.jsonl", lambda p: p.write_text("".join(json.dumps(r) + "\n" for r in history)))
            plot_curves(history, out / "curves.png")
            tqdm.write(f"epoch {epoch + 1}: loss {record['loss']:.3f}  val CER {record['val_cer']:.4f}  "
                       f"WER {record['val_wer']:.4f}  {record['lines_per_s']:.0f} lines/s"
                       + ("  *" if improved else "") + run_eta())
        stop = torch.tensor([bad_epochs >= cfg.patience or best == 0.0 or  # nothing left to gain
                             (cfg.max_minutes and minutes() >= cfg.max_minutes)], dtype=torch.int)
        if world > 1:
            dist.broadcast(stop, 0)
        if stop.item():
            break
    if rank == 0:
        export_onnx(out)
    if world > 1:
        # Leave together: a rank that tears its gloo group down while rank 0 is still exporting
        # can abort on exit ("terminate called without an active exception"), seen under load.
        dist.barrier()
        dist.destroy_process_group()
    return {"best_cer": best, "epochs": len(history), "out": str(out)}


def time_left(elapsed: float, progress0: float, progress: float) -> str:
    """", run ends in H:MMh" from the pace since this process started (progress0 to progress, in
    `elapsed` seconds); "" before there is a pace to go by or once the run is over (the last
    epoch may overshoot a --max-minutes budget)."""
    if progress <= progress0 or progress >= 1:
        return ""
    left = elapsed * (1 - progress) / (progress - progress0)
    return f", run ends in {int(left // 3600)}:{int(left % 3600 // 60):02d}h"


def learning_rate(progress: float, peak: float, warmup: float = 0.1) -> float:
    """One-cycle shape: linear warm-up to `peak`, then cosine down to 1% of it at progress 1.

    Progress is the larger of steps done / steps planned and minutes used / --max-minutes, so
    a run on a time budget ends annealed even if it gets through fewer epochs than planned.
    """
    progress = min(max(progress, 0.0), 1.0)
    if progress < warmup:
        return peak * (0.04 + 0.96 * progress / warmup)
    cos = 0.5 * (1 + math.cos(math.pi * (progress - warmup) / (1 - warmup)))
    return peak * (0.01 + 0.99 * cos)


def export_onnx(model_dir: Path) -> None:
    from htr.export import export
    export(model_dir, model_dir / "model.onnx")


def plot_curves(history: list[dict], path: Path) -> None:
    """Loss and validation CER per epoch, drawn with OpenCV (no plotting library needed)."""
    import cv2
    w, h, m = 640, 360, 40
    img = np.full((h, w, 3), 255, np.uint8)
    epochs = [r["epoch"] for r in history]
    series = [("train loss", [r["loss"] for r in history], (200, 80, 0)),
              ("val CER", [r["val_cer"] for r in history], (0, 0, 200))]
    cv2.rectangle(img, (m, m // 2), (w - m // 2, h - m), (0, 0, 0), 1)
    for k, (name, ys, colour) in enumerate(series):
        top = max(max(ys), 1e-6)
        pts = [(int(m + (e - 1) / max(max(epochs) - 1, 1) * (w - 1.5 * m)),
                int(h - m - y / top * (h - 1.5 * m))) for e, y in zip(epochs, ys)]
        if len(pts) > 1:
            cv2.polylines(img, [np.array(pts, np.int32)], False, colour, 2, cv2.LINE_AA)
        cv2.putText(img, f"{name} (max {top:.3g}, last {ys[-1]:.3g})", (m + 10, m + 10 + 20 * k),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    cv2.putText(img, f"epoch (1..{max(epochs)})", (w // 2 - 40, h - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    atomic_write(path, lambda p: cv2.imwrite(str(p) + ".png", img) and os.replace(str(p) + ".png", p))
