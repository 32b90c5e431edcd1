"""A model directory's `config.json` (docs/model.md, its first table), read with errors
that name the file: a hand-edited or half-copied config should not end in a bare JSON or
KeyError traceback. And how htr writes its files (models, checkpoints, `htr read`'s outputs):
whole or not at all."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

# What reading and rebuilding a model cannot do without.
REQUIRED = ("charset", "preprocess", "width_factor", "arch")


def read_config(model_dir: str | Path) -> dict:
    path = Path(model_dir) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{model_dir}: not a model directory (config.json is missing)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable model config ({e})") from None
    missing = [key for key in REQUIRED if key not in (config if isinstance(config, dict) else {})]
    if missing:
        raise ValueError(f"{path}: not a model config (no {', '.join(repr(k) for k in missing)})")
    return config


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """`write(tmp)`, then `tmp` renamed to `path`: a run killed half-way leaves the old file or
    none, never a truncated one that a resumed run or a reader would trust."""
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)
