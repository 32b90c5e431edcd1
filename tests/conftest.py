"""Shared fixtures: the real data in ../shared/data, and small slices of it for fast tests."""
from __future__ import annotations

import os

# Tests run two at a time (pytest -n 2) on two cores: one thread each, set before torch loads.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HTR_THREADS", "1")
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
IAM_ONDB = DATA / "iam-ondb"


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data not found at {path} (see ../shared/data/README.md)")
    return path


@pytest.fixture(scope="session")
def iam_ondb_root() -> Path:
    return _require(IAM_ONDB)


@pytest.fixture(scope="session")
def mini_iam_ondb(tmp_path_factory, iam_ondb_root) -> Path:
    """An IAM-OnDB root with the real archives and two small split lists: `mini` (2 train forms)
    and `minival` (1 testset_t form)."""
    root = tmp_path_factory.mktemp("mini-iam-ondb")
    for name in ("lineStrokes.tar.gz", "ascii.tar.gz"):
        (root / name).symlink_to(iam_ondb_root / name)
    train = (iam_ondb_root / "trainset.txt").read_text().split()
    val = (iam_ondb_root / "testset_t.txt").read_text().split()
    (root / "mini.txt").write_text("\n".join(train[:2]) + "\n")
    (root / "minival.txt").write_text(val[0] + "\n")
    return root


@pytest.fixture(autouse=True, scope="session")
def _cache(tmp_path_factory):
    """Parsed-dataset caches go to a per-run folder, never into the user's home."""
    os.environ.setdefault("HTR_CACHE", str(tmp_path_factory.mktemp("htr-cache")))
