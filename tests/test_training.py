"""Training, resuming, checkpoints and the torch/ONNX agreement, on real IAM-OnDB lines with tiny models."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from datafixtures import scans_root  # noqa: F401  (a fixture)
from htr.charset import Charset
from htr.cli.train import tcmalloc
from htr.datasets.iam_ondb import IamOnDB
from htr.model import PRESETS
from htr.preprocess import Preprocess
from htr.train import TrainConfig, load_model, train

ROOT = Path(__file__).resolve().parents[1]


def _cfg(root: Path, out: Path, **kw) -> TrainConfig:
    base = dict(preset="tiny", data=[f"iam-ondb:root={root},split=mini"], val=f"iam-ondb:root={root},split=minival",
                out=str(out), epochs=2, batch_size=8, workers=0, lr=3e-3)
    return TrainConfig(**{**base, **kw})


def test_tiny_model_overfits_real_lines(mini_iam_ondb, tmp_path, capsys):
    """A handful of real lines, no augmentation: the model must learn them exactly (CER 0)."""
    split = (mini_iam_ondb / "mini.txt").read_text().split()[0]
    (mini_iam_ondb / "one.txt").write_text(split + "\n")
    spec = f"iam-ondb:root={mini_iam_ondb},split=one"
    n = len(IamOnDB(mini_iam_ondb, "one"))
    assert 3 <= n <= 12
    # weight=10: ten passes over the lines per epoch, so validation runs every 10 steps.
    cfg = TrainConfig(preset="tiny", data=[spec + ",weight=10"], val=spec, out=str(tmp_path / "m"), epochs=80,
                      batch_size=n, workers=0, lr=3e-3, weight_decay=0.0, augment=False, patience=1000)
    result = train(cfg)
    assert result["best_cer"] == 0.0
    history = [json.loads(x) for x in (tmp_path / "m" / "metrics.jsonl").read_text().splitlines()]
    assert history[0]["val_cer"] > 0.5  # it really learned, it did not start there
    for name in ("config.json", "model.safetensors", "model.onnx", "curves.png"):
        assert (tmp_path / "m" / name).stat().st_size > 0
    # Each epoch ends with a line of its figures and the time left for the whole run (the
    # progress bar shows the same, but only as often as tqdm redraws it).
    out = capsys.readouterr().out
    assert "epoch 1: loss " in out and " val CER " in out and ", run ends in 0:0" in out


def test_fine_tuning_the_shipped_model_on_a_few_real_scans_reads_the_others_better(scans_root, tmp_path):  # noqa: F811
    """What README's "Your own handwriting" promises, in small: the shipped model, trained a little
    further on 32 real name scans, reads 20 scans it never saw far better than before."""
    from htr.cli.eval import evaluate
    from htr.datasets import open_spec
    from htr.recognizer import DEFAULT_MODEL, Recognizer
    held_out = open_spec(f"folder:root={scans_root},items=44:")
    before = evaluate(Recognizer(DEFAULT_MODEL), held_out)["cer"]
    cfg = TrainConfig(preset="base", init=str(DEFAULT_MODEL), data=[f"folder:root={scans_root},items=:32,weight=4"],
                      val=f"folder:root={scans_root},items=32:44", out=str(tmp_path / "mine"), epochs=3,
                      workers=0, lr=3e-4)
    train(cfg)
    after = evaluate(Recognizer(tmp_path / "mine"), held_out)["cer"]
    assert before > 0.5 and after < before - 0.2, (before, after)


def test_killed_run_resumes_from_checkpoint(mini_iam_ondb, tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "htr", "train", "--preset", "tiny", "--epochs", "6", "--batch-size", "8",
           "--workers", "0", "--data", f"iam-ondb:root={mini_iam_ondb},split=mini",
           "--val", f"iam-ondb:root={mini_iam_ondb},split=minival", "--out", str(out),
           "--arch", "rnn_hidden=48", "dropout=0.1"]   # a variant of the preset, which resume must rebuild
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ)
    metrics = out / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (metrics.exists() and metrics.read_text().count("\n") >= 2):
        time.sleep(0.05)
    if tcmalloc():   # `htr train` re-ran itself with tcmalloc (same pid)
        assert b"HTR_MALLOC=tcmalloc" in Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
    proc.kill()
    proc.wait()
    done = metrics.read_text().count("\n")
    assert 2 <= done < 6, "the run should have been killed part-way"
    resume = [sys.executable, "-m", "htr", "train", "--resume", "--out", str(out), "--workers", "0"]  # the rest is saved
    result = subprocess.run(resume, cwd=ROOT, capture_output=True, text=True, env=os.environ)
    assert result.returncode == 0, result.stderr[-2000:]
    epochs = [json.loads(x)["epoch"] for x in metrics.read_text().splitlines()]
    assert epochs == list(range(1, 7)), epochs  # continued where it stopped, no epoch run twice
    arch = json.loads((out / "config.json").read_text())["arch"]
    assert (arch["rnn_hidden"], arch["dropout"], arch["rnn_layers"]) == (48, 0.1, 1)


def test_resume_without_checkpoint_is_a_clear_error(tmp_path, mini_iam_ondb):
    with pytest.raises(ValueError, match="no checkpoint"):
        train(_cfg(mini_iam_ondb, tmp_path / "empty"), resume=True)


@pytest.fixture(scope="module")
def tiny_model(mini_iam_ondb, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny-model")
    train(_cfg(mini_iam_ondb, out, epochs=1))
    return out


def test_wrong_shapes_and_charset_mismatch_are_clear_errors(tiny_model, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    config = json.loads((tiny_model / "config.json").read_text())
    # A charset with fewer characters than the weights were trained for.
    (bad / "config.json").write_text(json.dumps({**config, "charset": config["charset"][:-5]}))
    (bad / "model.safetensors").write_bytes((tiny_model / "model.safetensors").read_bytes())
    with pytest.raises(ValueError, match="charset differs"):
        load_model(bad)
    # Weights of another architecture.
    (bad / "config.json").write_text(json.dumps({**config, "arch": {**config["arch"], "rnn_hidden": 32}}))
    with pytest.raises(ValueError, match="shape"):
        load_model(bad)
    # Missing tensors.
    state = load_file(str(tiny_model / "model.safetensors"))
    save_file({k: v for k, v in state.items() if not k.startswith("head.")}, str(bad / "model.safetensors"))
    (bad / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="lack"):
        load_model(bad)


def test_broken_model_files_are_clear_errors_naming_the_file(tiny_model, tmp_path):
    """A half-copied or hand-edited model directory: each broken file is named, with what to do."""
    from htr.recognizer import Recognizer
    bad = tmp_path / "bad"
    shutil.copytree(tiny_model, bad)
    (bad / "checkpoint.pt").write_bytes((tiny_model / "checkpoint.pt").read_bytes()[:1000])
    with pytest.raises(ValueError, match=r"checkpoint.pt: not a readable checkpoint .*--init"):
        train(TrainConfig(out=str(bad), workers=0), resume=True)
    (bad / "model.safetensors").write_bytes((tiny_model / "model.safetensors").read_bytes()[:3000])
    with pytest.raises(ValueError, match=r"model.safetensors: not readable as safetensors"):
        load_model(bad)
    (bad / "model.onnx").write_bytes((tiny_model / "model.onnx").read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"model.onnx: not a readable ONNX model .*htr export"):
        Recognizer(bad)
    for text, why in (("{bad", "not a readable model config"),
                      ('{"charset": "ab"}', "not a model config \\(no 'preprocess'")):
        (bad / "config.json").write_text(text)
        with pytest.raises(ValueError, match=f"config.json: {why}"):
            Recognizer(bad)
        with pytest.raises(ValueError, match=f"config.json: {why}"):
            load_model(bad)


def test_init_starts_from_another_models_weights(tiny_model, mini_iam_ondb, tmp_path):
    """--init: training goes on from a model's weights (at a learning rate too small to move
    them, they come out as they went in) and its letter width, and weights that do not fit are a
    clear error."""
    out, start = tmp_path / "more", tmp_path / "start"
    shutil.copytree(tiny_model, start)
    config = json.loads((start / "config.json").read_text())
    config.update(frames_per_char=3.5, calibration={"greedy": [1, 0, 0]})
    (start / "config.json").write_text(json.dumps(config))
    train(_cfg(mini_iam_ondb, out, epochs=1, lr=1e-12, weight_decay=0.0, init=str(start)))
    kept = json.loads((out / "config.json").read_text())   # the letter width, not the calibration
    assert kept["frames_per_char"] == 3.5 and "calibration" not in kept
    shutil.rmtree(start)   # a resumed run goes on from its checkpoint, not from --init
    train(TrainConfig(out=str(out), workers=0), resume=True)
    assert json.loads((out / "config.json").read_text())["frames_per_char"] == 3.5   # and keeps it
    before, after = load_file(str(tiny_model / "model.safetensors")), load_file(str(out / "model.safetensors"))
    learned = [k for k in before if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert len(learned) > 10 and all(np.allclose(before[k], after[k], atol=1e-6) for k in learned)
    fresh = tmp_path / "fresh"   # the same run without --init starts elsewhere
    train(_cfg(mini_iam_ondb, fresh, epochs=1, lr=1e-12, weight_decay=0.0))
    assert not np.allclose(before["head.weight"], load_file(str(fresh / "model.safetensors"))["head.weight"])
    with pytest.raises(ValueError, match="shape"):
        train(_cfg(mini_iam_ondb, tmp_path / "other", epochs=1, init=str(tiny_model), arch={"rnn_hidden": 32}))
    with pytest.raises(ValueError, match="--init: no model.safetensors"):
        train(_cfg(mini_iam_ondb, tmp_path / "none", epochs=1, init=str(tmp_path / "missing")))


def test_init_with_new_characters_keeps_what_it_read_and_grows_the_output_layer(tiny_model, mini_iam_ondb,
                                                                                 tmp_path):
    """--add-chars: a model learns accented letters on top of its own; the known characters'
    rows of the output layer start as trained, and the new model reads with ONNX as any other."""
    from htr.recognizer import Recognizer
    out = tmp_path / "accents"
    train(_cfg(mini_iam_ondb, out, epochs=1, lr=1e-12, weight_decay=0.0, init=str(tiny_model), add_chars="éÉaé"))
    start, grown = (json.loads((d / "config.json").read_text())["charset"] for d in (tiny_model, out))
    assert grown == start + "éÉ"   # 'a' is known already, and 'é' comes once
    before, after = (load_file(str(d / "model.safetensors")) for d in (tiny_model, out))
    assert after["head.weight"].shape[0] == before["head.weight"].shape[0] + 2
    assert np.allclose(after["head.weight"][:-2], before["head.weight"], atol=1e-6)
    assert np.allclose(after["head.bias"][:-2], before["head.bias"], atol=1e-6)
    line = IamOnDB(mini_iam_ondb, "minival")[0].image
    assert Recognizer(out).logprobs([line])[0].shape[1] == len(grown) + 1
    for decoder in ("greedy", "beam", "wordbeam", "lm"):   # each decoder takes the longer charset
        assert isinstance(Recognizer(out).read_lines([line], decoder)[0].text, str)


@pytest.fixture(scope="module")
def conv_sequence_model(mini_iam_ondb, tmp_path_factory) -> Path:
    """A tiny model with 1-D convolutions in place of its BiLSTM (htr.model.ConvSequence)."""
    out = tmp_path_factory.mktemp("conv-sequence-model")
    train(_cfg(mini_iam_ondb, out, epochs=1, arch={"rnn_layers": 0, "seq_convs": 2}))
    return out


@pytest.mark.parametrize("model_fixture", ["tiny_model", "conv_sequence_model"])
def test_torch_and_onnx_read_the_same(model_fixture, mini_iam_ondb, request):
    import torch

    from htr.decoding import greedy
    from htr.preprocess import batch
    from htr.recognizer import Recognizer

    model_dir = request.getfixturevalue(model_fixture)
    rec = Recognizer(model_dir)
    model, config = load_model(model_dir)
    ds = IamOnDB(mini_iam_ondb, "minival")
    images = [ds[i].image for i in range(min(5, len(ds)))]
    # One at a time, and batched: padded on the right to a common width, as in training.
    for image in images:
        lp = rec.logprobs([image])[0]
        x, frames = batch([rec.pre(image)], rec.factor, tail=rec.tail)
        with torch.no_grad():
            ref = model(torch.from_numpy(x), torch.from_numpy(frames))[: frames[0], 0].numpy()
        assert lp.shape == ref.shape == (frames[0], len(rec.charset))
        assert np.allclose(ref, lp, atol=1e-3)
        assert greedy(ref, rec.charset).text == greedy(lp, rec.charset).text
    x, frames = batch([rec.pre(image) for image in images], rec.factor, tail=rec.tail)
    with torch.no_grad():
        ref = model(torch.from_numpy(x), torch.from_numpy(frames)).numpy()
    onnx = rec.session.run(None, {"image": x, "frames": frames})[0]
    assert np.allclose(ref, onnx, atol=1e-3)


@pytest.mark.parametrize("preset, changes", [(p, {}) for p in sorted(PRESETS)]
                         + [("base", {"rnn_layers": 0, "seq_convs": 6}), ("base", {"rnn_layers": 1, "seq_convs": 2})])
def test_every_preset_builds_and_gives_one_frame_per_width_factor_columns(preset, changes):
    """Each preset's config (and a preset with 1-D convolutions before or instead of its BiLSTM)
    makes a network whose output has ceil(W / width_factor) frames of charset + blank classes for
    a line of its input height, in training and in reading mode."""
    import torch

    from htr.train import build_model, model_config

    config = model_config(preset, Charset(), changes)
    model = build_model(config)
    height, factor = config["arch"]["height"], config["width_factor"]
    x = torch.rand(2, 1, height, 24 * factor)
    for mode in (model.train, model.eval):
        mode()
        out = model(x, torch.tensor([24, 17]))
        assert out.shape == (24, 2, len(config["charset"]) + 1)
        assert torch.allclose(out.exp().sum(-1), torch.ones(24, 2), atol=1e-4)


def test_padding_does_not_reach_a_line_through_the_lstm():
    """The backward LSTM starts at each line's own end: frames of a line come out the same
    alone or beside a longer line, whatever the padding holds."""
    import torch

    from htr.model import BiLSTM

    torch.manual_seed(0)
    rnn = BiLSTM(8, 16, layers=2, dropout=0.0).eval()
    short, long = torch.randn(5, 1, 8), torch.randn(9, 1, 8)
    padded = torch.cat([torch.cat([short, torch.randn(4, 1, 8) * 10]), long], dim=1)  # garbage padding
    with torch.no_grad():
        alone = rnn(short, torch.tensor([5]))
        together = rnn(padded, torch.tensor([5, 9]))
        assert torch.allclose(together[:5, 0], alone[:, 0], atol=1e-5)
        assert torch.allclose(together[:, 1], rnn(long, torch.tensor([9]))[:, 0], atol=1e-5)
        # Told every line is 9 frames long (what torch's bidirectional LSTM assumes), it lets the padding in.
        assert not torch.allclose(rnn(padded, torch.tensor([9, 9]))[:5, 0], alone[:, 0], atol=1e-3)


def test_training_batches_are_padded_to_a_bucket_without_changing_a_lines_loss(tiny_model, mini_iam_ondb):
    """Training pads a batch to a multiple of WIDTH_BUCKET frames (fewer shapes for oneDNN to
    compile kernels for); each line keeps its own frame count, so its CTC loss is the same."""
    import torch

    from htr.train import WIDTH_BUCKET, collate

    model, config = load_model(tiny_model)
    charset, factor = Charset(config["charset"]), config["width_factor"]
    pre = Preprocess.from_dict(config["preprocess"])
    ds = IamOnDB(mini_iam_ondb, "minival")
    items = [(pre(ds[i].image), charset.encode(ds[i].text), ds[i].text) for i in range(4)]
    ctc = torch.nn.CTCLoss(reduction="none", zero_infinity=True)
    losses = []
    for bucket in (1, WIDTH_BUCKET):
        x, frames, targets, target_lengths, _ = collate(items, factor, bucket)
        assert x.shape[-1] == factor * bucket * -(-int(frames.max()) // bucket)   # the least such width
        assert frames.tolist() == [-(-item[0].shape[1] // factor) for item in items]
        with torch.no_grad():
            losses.append(ctc(model(x, frames), targets, frames, target_lengths))
    assert collate(items, factor)[0].shape == collate(items, factor, WIDTH_BUCKET)[0].shape   # the default
    assert torch.allclose(losses[0], losses[1], atol=1e-4)


def test_models_saved_before_bilstm_load_and_stale_onnx_is_a_clear_error(tiny_model, mini_iam_ondb, tmp_path):
    """Weights saved with torch's bidirectional nn.LSTM load under BiLSTM's names and give the
    same output; their old one-input ONNX file is refused with the command that renews it."""
    import torch

    from htr.export import export
    from htr.preprocess import batch
    from htr.recognizer import Recognizer

    config = json.loads((tiny_model / "config.json").read_text())
    state = load_file(str(tiny_model / "model.safetensors"))
    n_in = state["rnn.fwd.0.weight_ih_l0"].shape[1]
    old_rnn = torch.nn.LSTM(n_in, config["arch"]["rnn_hidden"], config["arch"]["rnn_layers"], bidirectional=True)
    state = {k: v for k, v in state.items() if not k.startswith("rnn.")}
    state.update({f"rnn.{k}": v.clone() for k, v in old_rnn.state_dict().items()})
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.json").write_text(json.dumps(config))
    save_file(state, str(old / "model.safetensors"))

    model, _ = load_model(old)
    x = torch.randn(7, 1, n_in)
    with torch.no_grad():
        assert torch.allclose(model.rnn(x, torch.tensor([7])), old_rnn.eval()(x)[0], atol=1e-5)

    # A graph of the image only, as exported before line lengths were an input.
    torch.onnx.export(model, (torch.zeros(1, 1, config["preprocess"]["height"], 64),), str(old / "model.onnx"),
                      input_names=["image"], output_names=["logprobs"], opset_version=17, dynamo=False)
    with pytest.raises(ValueError, match="htr export --model"):
        Recognizer(old)
    export(old, old / "model.onnx")
    rec = Recognizer(old)
    image = IamOnDB(mini_iam_ondb, "minival")[0].image
    x, frames = batch([rec.pre(image)], rec.factor, tail=rec.tail)
    with torch.no_grad():
        ref = model(torch.from_numpy(x), torch.from_numpy(frames))[: frames[0], 0].numpy()
    assert np.allclose(rec.logprobs([image])[0], ref, atol=1e-3)


def test_distributed_training_with_two_cpu_processes(mini_iam_ondb, tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           "-m", "htr", "train", "--preset", "tiny", "--epochs", "2", "--batch-size", "4", "--workers", "0",
           "--lr", "3e-3", "--data", f"iam-ondb:root={mini_iam_ondb},split=mini,weight=4",
           "--val", f"iam-ondb:root={mini_iam_ondb},split=minival", "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    epochs = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in epochs] == [1, 2]
    assert epochs[1]["loss"] < epochs[0]["loss"]
    assert (out / "model.onnx").stat().st_size > 0


def test_unknown_characters_in_labels_are_skipped_by_name(mini_iam_ondb):
    ds = IamOnDB(mini_iam_ondb, "mini")
    n = len(ds)
    ds.drop_unknown(Charset("abcdefghijklmnopqrstuvwxyz "))  # no capitals, digits or punctuation
    assert len(ds) < n
    assert all("not in the charset" in reason for _, reason in ds.skipped if reason.startswith("characters"))


def test_train_cli_defaults_are_the_config_defaults():
    """The CLI keeps its own copy of the defaults (it must not import torch to build its parser),
    so a default changed in one place only would train differently from Python and the shell."""
    from htr.cli import build_parser
    args = vars(build_parser().parse_args(["train", "--out", "x"]))
    shared = [f for f in fields(TrainConfig) if f.name in args and f.name != "out"]
    assert {"epochs", "batch_size", "lr", "patience", "max_minutes", "precision"} <= {f.name for f in shared}
    for f in shared:
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        assert args[f.name] == default, f.name


def test_arch_changes_are_checked_numbers_of_the_preset():
    from htr.cli import build_parser
    from htr.train import model_config
    args = build_parser().parse_args(["train", "--out", "x", "--arch", "rnn_hidden=256", "dropout=0"])
    assert dict(args.arch) == {"rnn_hidden": 256, "dropout": 0}
    with pytest.raises(SystemExit):   # argparse: "'dropout' is not KEY=NUMBER"
        build_parser().parse_args(["train", "--out", "x", "--arch", "dropout"])
    arch = model_config("base", Charset(), dict(args.arch))["arch"]
    assert (arch["rnn_hidden"], arch["dropout"]) == (256, 0.0) and isinstance(arch["dropout"], float)
    for bad in ({"rnn_hidden": 2.5}, {"convs": 3}, {"lstm": 2}, {"dropout": True}):
        with pytest.raises(ValueError, match="cannot set .* its numbers are height"):
            model_config("base", Charset(), bad)


def test_precision_choices():
    from htr.train import use_bf16
    assert use_bf16("fp32", "cpu") is False and use_bf16("bf16", "cpu") is True
    assert isinstance(use_bf16("auto", "cpu"), bool)
    with pytest.raises(ValueError, match="unknown precision"):
        use_bf16("fp16", "cpu")


def test_time_left_follows_the_pace_and_is_never_negative():
    from htr.train import time_left
    assert time_left(600.0, 0.0, 0.25) == ", run ends in 0:30h"    # a quarter in 10 minutes
    assert time_left(600.0, 0.5, 0.75) == ", run ends in 0:10h"    # resumed half-way
    assert time_left(600.0, 0.5, 0.5) == ""                        # no pace yet
    assert time_left(7000.0, 0.0, 1.03) == ""                      # the last epoch overshot the budget


def test_ngram_heads_train_resume_and_leave_the_saved_model_plain(mini_iam_ondb, tmp_path):
    """--ngrams adds training-only heads: their units spell every real label back, a resumed run
    gets them from the checkpoint, and what is saved for reading is the plain model."""
    import torch

    from htr.ngrams import NgramUnits, parse

    labels = IamOnDB(mini_iam_ondb, "mini").labels
    units = NgramUnits.from_labels(2, labels, Charset(), size=50)
    assert len(units.ngrams) == 50 and units.ngrams[0] in labels[0] + "".join(labels)
    assert all(units.decode(units.encode(t)) == t for t in labels)
    assert sum(len(units.encode(t)) for t in labels) < 0.8 * sum(len(t) for t in labels)  # bigrams are used
    assert parse("2,3") == [2, 3] and parse("") == []
    for bad in ("1", "2,2", "two"):
        with pytest.raises(ValueError, match="--ngrams"):
            parse(bad)

    out = tmp_path / "ngrams"
    train(_cfg(mini_iam_ondb, out, epochs=1, ngrams="2,3"))
    heads = torch.load(out / "checkpoint.pt", weights_only=True)["heads"]
    assert sorted(heads) == ["0.bias", "0.weight", "1.bias", "1.weight"]
    assert not any(k.startswith(("heads", "model.")) for k in load_file(str(out / "model.safetensors")))
    load_model(out)  # a plain CRNN reads it
    settings = json.loads((out / "train.json").read_text())
    (out / "train.json").write_text(json.dumps({**settings, "epochs": 2}))
    train(TrainConfig(out=str(out), workers=0), resume=True)
    epochs = [json.loads(x)["epoch"] for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2]
    resumed = torch.load(out / "checkpoint.pt", weights_only=True)["heads"]
    assert not torch.equal(resumed["0.weight"], heads["0.weight"])  # the heads went on training


def test_ngram_heads_weigh_per_line_not_per_unit():
    """A bigram label is about half as many units as the line has characters; its loss is
    weighed per line (divided by the characters), not per unit, or the heads would outweigh the
    character head n times over."""
    import numpy as np
    import torch

    from htr.ngrams import WEIGHT, with_heads
    from htr.train import build_model, collate, ctc_loss, model_config

    charset = Charset()
    config = model_config("tiny", charset)
    texts = ["hello world", "the quick brown fox"]
    torch.manual_seed(0)
    net = with_heads(build_model(config), "2", texts, charset).eval()
    rng = np.random.default_rng(0)
    items = [(rng.random((32, 8 * len(t))).astype(np.float32), charset.encode(t), t) for t in texts]
    batch = collate(items, config["width_factor"])
    x, frames, targets, target_lengths, _ = batch
    ctc = torch.nn.CTCLoss(zero_infinity=True)
    with torch.no_grad():
        total = ctc_loss(net, ctc, batch[:4], "cpu", False, texts)
        char_lp, bigram_lp = net(x, frames)
        char = ctc(char_lp, targets, frames, target_lengths)
        (t, t_lengths), = net.targets(texts)
        per_line = torch.nn.functional.ctc_loss(bigram_lp, t, frames, t_lengths, reduction="none")
    assert (t_lengths < target_lengths).all()
    assert torch.isclose(total, char + WEIGHT * (per_line / target_lengths).mean())
    assert total < char + WEIGHT * (per_line / t_lengths).mean()   # per unit would weigh more
