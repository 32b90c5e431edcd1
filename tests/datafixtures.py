"""Small dataset folders built from the real data, in each dataset's exact on-disk format.

Shared by test_datasets.py and test_data_cli.py (import the fixtures by name). The IAM-OnDB
forms are the first three of the real archive, so reading them costs a fraction of a second.
"""
from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from htr import ink

N_FORMS = 3

WORDS_HEADER = """#--- words.txt ---------------------------------------------------------------#
#
# iam database word information
#
# format: a01-000u-00-00 ok 154 1 408 768 27 51 AT A
#
#     a01-000u-00-00  -> word id for line 00 in form a01-000u
#     ok              -> result of word segmentation
#                            ok: word was correctly
#                            er: segmentation of word can be bad
#
#     154             -> graylevel to binarize the line containing this word
#     1               -> number of components for this word
#     408 768 27 51   -> bounding box around this word in x,y,w,h format
#     AT              -> the grammatical tag for this word, see the
#                        file tagset.txt for an explanation
#     A               -> the transcription for this word
#
"""

LINES_HEADER = """#--- lines.txt ---------------------------------------------------------------#
#
# iam database line information
#
# format: a01-000u-00 ok 154 19 408 746 1663 91 A|MOVE|to|stop|Mr.|Gaitskell|from
#
#     a01-000u-00  -> line id for form a01-000u
#     ok              -> result of word segmentation
#                            ok: line is correctly segmented
#                            er: segmentation of line has one or more errors
#
#                        notice: if the line could not be properly segmented
#                                the transcription and extraction of the whole
#                                line should not be affected negatively
#
#     154             -> graylevel to binarize line
#     19              -> number of components for this line
#     408 746 1663 91 -> bounding box around this line in x,y,w,h format
#
#     A|MOVE|to|stop|Mr.|Gaitskell|from
#                     -> transcription for this line. word tokens are separated
#                        by the character |
#
"""


def form_of(stroke_file: str) -> str:
    """'lineStrokes/a01/a01-020/a01-020x-01.xml' -> 'a01-020x'."""
    return stroke_file.split("/")[-1][:-7]


def write_tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="session")
def real_forms(iam_ondb_root) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(stroke files, transcription files) of the first N_FORMS forms of the real archives."""
    strokes: dict[str, bytes] = {}
    forms: set[str] = set()
    with tarfile.open(iam_ondb_root / "lineStrokes.tar.gz", "r:gz") as tar:
        for member in tar:  # the archive is grouped by form: stop at the first form too many
            forms.add(form_of(member.name))
            if len(forms) > N_FORMS:
                forms.discard(form_of(member.name))
                break
            strokes[member.name] = tar.extractfile(member).read()
    with tarfile.open(iam_ondb_root / "ascii.tar.gz", "r:gz") as tar:
        ascii_files = {m.name: tar.extractfile(m).read() for m in tar
                       if m.isfile() and m.name.split("/")[-1][:-4] in forms}
    assert len(ascii_files) == N_FORMS
    return strokes, ascii_files


def make_iam_ondb(root: Path, strokes: dict[str, bytes], ascii_files: dict[str, bytes],
                  split: str = "forms") -> Path:
    """An IAM-OnDB root with the two archives and a split list of every form in them."""
    root.mkdir(parents=True, exist_ok=True)
    write_tar_gz(root / "lineStrokes.tar.gz", strokes)
    write_tar_gz(root / "ascii.tar.gz", ascii_files)
    forms = sorted({name.split("/")[-1][:-4] for name in ascii_files})
    (root / f"{split}.txt").write_text("\n".join(forms) + "\n")
    return root


@pytest.fixture
def small_iam_ondb(tmp_path, real_forms) -> Path:
    return make_iam_ondb(tmp_path / "iam-ondb", *real_forms)


def _save(image: np.ndarray, path: Path) -> tuple[int, int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return image.shape[1], image.shape[0]


@pytest.fixture
def iam_offline_root(tmp_path, small_iam_ondb) -> Path:
    """The IAM Handwriting Database layout, with real IAM-OnDB lines and words drawn as scans.

    Besides the good entries, words.txt holds: every third word flagged `er`, the real
    known-broken word a01-117-05-02, a word whose PNG is missing, one whose PNG is a text
    file, and a malformed line.
    """
    from htr.datasets.iam_ondb import IamOnDB
    from htr.datasets.iam_ondb_words import IamOnDBWords
    root = tmp_path / "iam"
    style = ink.InkStyle(height=96, pen_width=3.0)
    lines = IamOnDB(small_iam_ondb, "forms")
    entries = []
    for i, (item, text) in enumerate(zip(lines.ids, lines.labels)):
        form = item.rsplit("-", 1)[0]
        w, h = _save(ink.render(lines.strokes(i), style), root / "lines" / item[:3] / form / f"{item}.png")
        flag = "er" if i == 1 else "ok"
        entries.append(f"{item} {flag} 154 19 408 746 {w} {h} {'|'.join(text.split())}")
    (root / "lines.txt").write_text(LINES_HEADER + "\n".join(entries) + "\n")
    words = IamOnDBWords(small_iam_ondb, "forms")
    entries = []
    for i, (item, text) in enumerate(zip(words.ids, words.labels)):
        form = "-".join(item.split("-")[:2])
        w, h = _save(words.sample(i, None).image, root / "words" / item[:3] / form / f"{item}.png")
        entries.append(f"{item} {'er' if i % 3 == 2 else 'ok'} 154 408 768 {w} {h} NN {text}")
    form = "-".join(words.ids[0].split("-")[:2])
    entries += [
        "a01-117-05-02 ok 180 1543 1394 -1 -1 NN broken",
        f"{form}-09-00 ok 154 408 768 27 51 NN missing",
        f"{form}-09-01 ok 154 408 768 27 51 NN notanimage",
        f"{form}-09-02 ok 154 NN malformed",
    ]
    (root / "words" / form[:3] / form / f"{form}-09-01.png").write_text("this is not a PNG\n")
    (root / "words.txt").write_text(WORDS_HEADER + "\n".join(entries) + "\n")
    return root


@pytest.fixture(scope="session")
def scans_root(iam_ondb_root) -> Path:
    root = iam_ondb_root.parent / "scans" / "kaggle-names-sample"
    if not root.is_dir():
        pytest.skip(f"real scans not found at {root} (see ../shared/data/README.md)")
    return root


@pytest.fixture
def folder_root(tmp_path, scans_root) -> Path:
    """A manifest folder of one real scan saved in every kind of file, plus bad entries.

    Good: JPEG, PNG, TIFF, 16-bit PNG, palette PNG, RGBA PNG with a transparent background.
    Bad: a missing image, a text file named .png, a line without a tab, an empty transcription,
    a TIFF of two pages and a PDF (an item is one image).
    """
    root = tmp_path / "scans"
    (root / "img").mkdir(parents=True)
    first = (scans_root / "labels.tsv").read_text().splitlines()[0]
    path, label = first.split("\t")
    gray = np.asarray(Image.open(scans_root / path).convert("L"))
    Image.fromarray(gray).save(root / "img" / "a.jpg", quality=95)
    Image.fromarray(gray).save(root / "img" / "b.png")
    Image.fromarray(gray).save(root / "img" / "c.tif")
    Image.fromarray(gray.astype(np.uint16) * 257).save(root / "img" / "d16.png")
    Image.fromarray(gray).convert("P").save(root / "img" / "e-palette.png")
    rgba = np.zeros(gray.shape + (4,), np.uint8)  # transparent black background, opaque dark ink
    rgba[..., 3] = 255 - gray
    Image.fromarray(rgba, "RGBA").save(root / "img" / "f-rgba.png")
    (root / "img" / "not-an-image.png").write_text("hello\n")
    Image.fromarray(gray).save(root / "img" / "g-pages.tif", save_all=True, append_images=[Image.fromarray(gray)])
    Image.fromarray(gray).save(root / "img" / "h.pdf")
    lines = [f"img/{name}\t{label}" for name in ("a.jpg", "b.png", "c.tif", "d16.png", "e-palette.png", "f-rgba.png")]
    lines += ["img/missing.png\tGHOST", "img/not-an-image.png\tTEXT", "img/b.png KEVIN no tab", "img/a.jpg\t",
              f"img/g-pages.tif\t{label}", f"img/h.pdf\t{label}"]
    (root / "labels.tsv").write_text("\n".join(lines) + "\n")
    return root
