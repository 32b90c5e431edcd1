"""A line reads the same alone or beside any others (htr.recognizer.edge_margin), so reading many
images together (htr.api.read_many, `htr read A B ...`) gives what reading each alone gives."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import htr
from htr import recognizer
from htr.api import read_many
from htr.datasets import open_dataset
from htr.imageio import ImageError
from htr.model import CRNN, PRESETS, width_factor
from htr.preprocess import batch
from htr.recognizer import Recognizer, edge_margin

MODEL = Path(htr.__file__).parent / "models" / "default"


@pytest.fixture(scope="module")
def lines(iam_ondb_root):
    data = open_dataset("iam-ondb", root=iam_ondb_root, split="testset_t")
    return [data[i] for i in range(5, 245, 12)]   # 20 lines of several writers


def logprobs_in_batches_of(size: int, rec: Recognizer, images: list, monkeypatch) -> list[np.ndarray]:
    monkeypatch.setattr(recognizer, "BATCH", size)
    return rec.logprobs(images)


def test_a_line_reads_the_same_alone_and_in_any_batch(lines, monkeypatch):
    images = [s.image for s in lines]
    rec = Recognizer(MODEL)
    alone = logprobs_in_batches_of(1, rec, images, monkeypatch)
    for size in (4, 20):
        together = logprobs_in_batches_of(size, rec, images, monkeypatch)
        for a, b in zip(alone, together):
            assert a.shape == b.shape
            assert np.allclose(a, b, atol=1e-4)
    # Without the margin, some of these lines' last frames read the batch's edge when alone.
    rec.tail = 0
    alone = logprobs_in_batches_of(1, rec, images, monkeypatch)
    together = logprobs_in_batches_of(20, rec, images, monkeypatch)
    assert any(a.shape == b.shape and not np.allclose(a, b, atol=1e-3) for a, b in zip(alone, together))


CONV_SEQUENCE = {"rnn_layers": 0, "seq_convs": 6}   # base with 1-D convolutions for the BiLSTM


@pytest.mark.parametrize("preset, changes", [(p, {}) for p in sorted(PRESETS)] + [("base", CONV_SEQUENCE)])
def test_edge_margin_keeps_every_preset_from_the_batch_edge(preset, changes):
    """Blank columns past the margin change none of a line's frames, for every architecture
    (batch norm given offsets, so that blank columns are not zeros after it)."""
    import torch
    arch = {**PRESETS[preset], **changes}
    torch.manual_seed(0)
    model = CRNN(arch, num_classes=10).eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d):
            m.bias.data.normal_()
            m.running_mean.normal_()
    factor = width_factor(arch)
    tail = edge_margin(arch["convs"], factor)
    line = np.random.default_rng(0).random((arch["height"], 30 * factor), dtype=np.float32)
    x, frames = batch([line], factor, tail=tail)
    wider = np.pad(x, ((0, 0), (0, 0), (0, 0), (0, 8 * factor)))
    with torch.no_grad():
        a = model(torch.from_numpy(x), torch.from_numpy(frames))[: frames[0]]
        b = model(torch.from_numpy(wider), torch.from_numpy(frames))[: frames[0]]
    assert torch.allclose(a, b, atol=1e-5)


def test_read_many_gives_each_image_what_reading_it_alone_gives(lines, tmp_path):
    paths = []
    for k, s in enumerate(lines[:6]):
        paths.append(tmp_path / f"line{k}.png")
        cv2.imwrite(str(paths[-1]), s.image)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    paths.insert(3, broken)
    pages = list(read_many(paths, decoder="greedy"))
    assert len(pages) == len(paths)
    assert isinstance(pages[3], ImageError) and "broken.png" in str(pages[3])
    for path, page in zip(paths, pages):
        if path != broken:
            assert page.text == htr.read(path, decoder="greedy").text
            assert page.lines and page.seconds > 0


def test_htr_read_of_a_folder_reads_its_images_in_name_order(lines, tmp_path, capsys):
    import json

    from htr.cli import main
    folder = tmp_path / "crops"
    folder.mkdir()
    for k, s in enumerate(lines[:3]):
        cv2.imwrite(str(folder / f"line{2 - k}.png"), s.image)   # names in the reverse order of lines
    (folder / "notes.txt").write_text("not an image, and not taken for one")
    assert main(["read", str(folder), "--format", "json", "--decoder", "greedy"]) == 0
    pages = json.loads(capsys.readouterr().out)
    assert [Path(p["image"]).name for p in pages] == ["line0.png", "line1.png", "line2.png"]
    for p in pages:
        assert p["text"] == htr.read(p["image"], decoder="greedy").text
    (tmp_path / "empty").mkdir()
    assert main(["read", str(tmp_path / "empty")]) == 2
    assert "no image files" in capsys.readouterr().err
