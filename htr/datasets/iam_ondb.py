"""IAM-OnDB: pen strokes on a whiteboard, one XML file per text line, labels from the CSR block.

Reads the original distribution as it comes: `lineStrokes.tar.gz` + `ascii.tar.gz` (straight
from the archives) or the extracted `lineStrokes/` and `ascii/` trees. A split is a list of form
ids in `ROOT/NAME.txt`. Parsed strokes are cached as one .npz per split so that a second run
starts in a second, not in the half minute that parsing 300 MB of XML takes.
"""
from __future__ import annotations

import hashlib
import os
import re
import tarfile
import zlib
from pathlib import Path
from typing import Iterator

import numpy as np

from htr import ink
from htr.datasets.base import Dataset, DatasetError, Sample, parse_slice

_POINT = re.compile(rb'<Point\s+x="(-?[\d.]+)"\s+y="(-?[\d.]+)"\s+time="(-?[\d.]+)"')
_STROKE = re.compile(rb"<Stroke\b[^>]*?(/?)>(.*?)(?:</Stroke>|(?=<Stroke\b)|$)", re.S)
_LINE_FILE = re.compile(r"([a-z]\d\d-\d\d\d[a-z]?)-(\d\d)\.xml$")
_FORM_FILE = re.compile(r"([a-z]\d\d-\d\d\d[a-z]?)\.txt$")


def cache_dir() -> Path:
    d = Path(os.environ.get("HTR_CACHE", Path.home() / ".cache" / "htr"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def parse_strokes(data: bytes, name: str) -> list[np.ndarray]:
    """Strokes of one line file as (n, 3) float32 arrays of x, y, time.

    Well-formedness is checked with a real XML parser only when the fast scan finds nothing
    or the document does not close, so broken files are named instead of half-read.
    """
    text = data.strip()
    if not text.endswith(b"</WhiteboardCaptureSession>") or b"<StrokeSet" not in text:
        _check_xml(data, name)
        raise ValueError(f"{name}: not an IAM-OnDB stroke file (no closed WhiteboardCaptureSession/StrokeSet)")
    strokes = []
    for m in re.finditer(rb"<Stroke\b.*?</Stroke>", data, re.S):
        pts = _POINT.findall(m.group(0))
        if pts:
            strokes.append(np.array(pts, dtype=np.float32))
    if not strokes:
        raise ValueError(f"{name}: stroke file has no points")
    return strokes


def _check_xml(data: bytes, name: str) -> None:
    import xml.etree.ElementTree as ET
    try:
        ET.fromstring(data)
    except ET.ParseError as e:
        raise ValueError(f"{name}: XML does not parse ({e})") from None


def parse_csr(text: str) -> list[str] | None:
    """The non-empty lines after 'CSR:' (what the writer wrote), or None if there is no CSR block."""
    lines = text.replace("\r", "").split("\n")
    for k, line in enumerate(lines):
        if line.strip() == "CSR:":
            return [ln.strip() for ln in lines[k + 1:] if ln.strip()]
    return None


def _iter_files(root: Path, tree: str, suffix: str) -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) for every file of a tree, from `tree.tar.gz` or from the folder `tree/`."""
    archive, folder = root / f"{tree}.tar.gz", root / tree
    if folder.is_dir():
        for p in sorted(folder.rglob(f"*{suffix}")):
            yield str(p.relative_to(root)), p.read_bytes()
        return
    if not archive.is_file():
        raise DatasetError(f"iam-ondb: neither {archive} nor {folder}/ exists")
    n = 0
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if member.isfile() and member.name.endswith(suffix):
                    f = tar.extractfile(member)
                    yield member.name, f.read() if f else b""
                    n += 1
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise DatasetError(f"iam-ondb: {archive} is truncated or corrupt after {n} files "
                           f"({type(e).__name__}: {e}); re-download it") from None


def read_split(root: Path, split: str) -> list[str]:
    path = root / f"{split}.txt"
    if not path.is_file():
        have = sorted(p.stem for p in root.glob("*.txt"))
        raise DatasetError(f"iam-ondb: split list {path} not found (lists here: {', '.join(have) or 'none'})")
    forms = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    if not forms:
        raise DatasetError(f"iam-ondb: split list {path} is empty")
    return forms


class IamOnDB(Dataset):
    """Text lines of IAM-OnDB, rendered from their strokes on demand."""
    name = "iam-ondb"

    def __init__(self, root: str | os.PathLike, split: str = "trainset", height: int = 64, forms: str = "",
                 vary: int | str = 0):
        """`forms="A:B"` keeps the split list's forms A to B-1 (Python slice; either end may be
        left out), e.g. to train on most of testset_v and tune decoders on the rest.
        `vary=1`: in training, each line's strokes are also reshaped as another writer might
        have drawn them (`htr.ink.vary_writing`); `vary=2` also changes the letters' shapes
        (`htr.ink.vary_shape`)."""
        super().__init__()
        self.root = Path(root)
        self.split = split
        self.height = height
        if str(vary) not in ("0", "1", "2"):
            raise DatasetError(f"iam-ondb: vary={vary!r} must be 0, 1 or 2")
        self.vary = int(vary)
        self.forms = read_split(self.root, split)
        self._strokes: list[list[np.ndarray]] = []
        self._load()
        if forms:
            self._keep_forms(forms)

    def _keep_forms(self, spec: str) -> None:
        self.forms = self.forms[parse_slice(spec, "iam-ondb: forms")]
        wanted = set(self.forms)
        self._select([i for form, idx in self.lines_by_form().items() if form in wanted for i in idx])

    def lines_by_form(self) -> dict[str, list[int]]:
        """Positions of each form's lines, in id order (a line id is FORM-NN)."""
        forms: dict[str, list[int]] = {}
        for i, item in enumerate(self.ids):
            forms.setdefault(item.rsplit("-", 1)[0], []).append(i)
        return forms

    # -- loading -------------------------------------------------------------------------
    def _cache_path(self) -> Path:
        parts = [str(self.root.resolve()), self.split]
        for name in ("lineStrokes.tar.gz", "ascii.tar.gz", "lineStrokes", "ascii", f"{self.split}.txt"):
            p = self.root / name
            if p.exists():
                st = p.stat()
                parts.append(f"{name}:{st.st_size}:{st.st_mtime_ns}")
        key = hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]
        return cache_dir() / f"iam-ondb-{self.split}-{key}.npz"

    def _load(self) -> None:
        cache = self._cache_path()
        if cache.is_file():
            try:
                self._load_cache(cache)
                return
            except Exception:  # a cache from an interrupted write or an older version: rebuild it
                cache.unlink(missing_ok=True)
                self.ids, self.labels, self.skipped, self._strokes = [], [], [], []
        self._parse()
        self._save_cache(cache)

    def _parse(self) -> None:
        wanted = set(self.forms)
        csr: dict[str, list[str] | None] = {}
        for name, data in _iter_files(self.root, "ascii", ".txt"):
            m = _FORM_FILE.search(name)
            if m and m.group(1) in wanted:
                csr[m.group(1)] = parse_csr(data.decode("latin-1"))
        lines: dict[str, dict[int, list[np.ndarray] | str]] = {f: {} for f in wanted}
        for name, data in _iter_files(self.root, "lineStrokes", ".xml"):
            m = _LINE_FILE.search(name)
            if not m or m.group(1) not in wanted:
                continue
            try:
                lines[m.group(1)][int(m.group(2))] = parse_strokes(data, name)
            except ValueError as e:
                lines[m.group(1)][int(m.group(2))] = str(e)  # keep the slot: it still counts for alignment
        for form in self.forms:
            got, labels = lines.get(form, {}), csr.get(form)
            if labels is None:
                self.skip(form, "no transcription with a CSR: block" if form in csr else "no transcription file")
                continue
            if not got:
                self.skip(form, "no stroke files")
                continue
            if sorted(got) != list(range(1, len(labels) + 1)):
                self.skip(form, f"{len(got)} stroke files but {len(labels)} CSR lines: cannot align them")
                continue
            for k in sorted(got):
                item = f"{form}-{k:02d}"
                if isinstance(got[k], str):
                    self.skip(item, got[k])
                    continue
                self.ids.append(item)
                self.labels.append(labels[k - 1])
                self._strokes.append(got[k])

    def _save_cache(self, path: Path) -> None:
        counts = [len(s) for line in self._strokes for s in line]
        pts = np.concatenate([s for line in self._strokes for s in line]) if counts else np.zeros((0, 3), np.float32)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")   # own name: ranks of a run may write at once
        np.savez(tmp, points=pts, stroke_sizes=np.array(counts, np.int64),
                 line_sizes=np.array([len(line) for line in self._strokes], np.int64),
                 ids=np.array(self.ids), labels=np.array(self.labels, dtype=object).astype(str),
                 skipped=np.array([f"{i}\t{r}" for i, r in self.skipped] or [""]))
        os.replace(tmp, path)

    def _load_cache(self, path: Path) -> None:
        z = np.load(path, allow_pickle=False)
        pts = z["points"]
        strokes = np.split(pts, np.cumsum(z["stroke_sizes"])[:-1]) if len(pts) else []
        bounds = np.concatenate([[0], np.cumsum(z["line_sizes"])])
        self._strokes = [strokes[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        self.ids, self.labels = [str(x) for x in z["ids"]], [str(x) for x in z["labels"]]
        for row in z["skipped"]:
            if row:
                item, reason = str(row).split("\t", 1)
                self.skip(item, reason)

    def _select(self, keep: list[int]) -> None:
        super()._select(keep)
        self._strokes = [self._strokes[i] for i in keep]

    # -- samples -------------------------------------------------------------------------
    def strokes(self, i: int) -> list[np.ndarray]:
        return self._strokes[i]

    def sample(self, i: int, rng: np.random.Generator | None) -> Sample:
        strokes, style = self._strokes[i], ink.InkStyle(height=self.height)
        if rng is not None:  # training: another writer's shape (vary=1, 2), then a random pen
            strokes = ink.vary_writing(strokes, rng) if self.vary >= 1 else strokes
            strokes = ink.vary_shape(strokes, rng) if self.vary >= 2 else strokes
            style = ink.random_style(rng, self.height)
        return Sample(ink.render(strokes, style, rng), self.labels[i], self.ids[i])
