"""Datasets of handwriting: one interface (`Dataset`, yielding `Sample(image, text, id)`) for all.

`open_dataset("iam-ondb", root=..., split=...)` opens one by name; `parse_spec` reads the
command-line form `NAME:key=value,key=value` used by `htr train --data` and friends.
"""
from __future__ import annotations

from typing import Callable

from htr.datasets.base import Dataset, DatasetError, Sample

# name -> (module, class); imported lazily so that reading images does not pay for every loader.
REGISTRY: dict[str, tuple[str, str]] = {
    "iam-ondb": ("htr.datasets.iam_ondb", "IamOnDB"),
    "iam-ondb-pages": ("htr.datasets.iam_ondb_pages", "IamOnDBPages"),
    "iam-ondb-words": ("htr.datasets.iam_ondb_words", "IamOnDBWords"),
    "iam-offline": ("htr.datasets.iam_offline", "IamOffline"),
    "folder": ("htr.datasets.folder", "Folder"),
    "synthetic": ("htr.datasets.synthetic", "Synthetic"),
}


def open_dataset(name: str, **options) -> Dataset:
    if name not in REGISTRY:
        raise DatasetError(f"unknown dataset {name!r}; choose from {', '.join(sorted(REGISTRY))}")
    module, cls = REGISTRY[name]
    import importlib
    factory: Callable[..., Dataset] = getattr(importlib.import_module(module), cls)
    try:
        return factory(**options)
    except TypeError as e:
        raise DatasetError(f"{name}: bad options {options} ({e})") from None


def parse_option(text: str) -> tuple[str, str]:
    """'max-gap=0.8' -> ('max_gap', '0.8'): dashes in keys become underscores, as in Python names."""
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise DatasetError(f"dataset option {text!r} is not key=value")
    return key.strip().replace("-", "_"), value.strip()


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """'iam-ondb:root=DIR,split=trainset' -> ('iam-ondb', {'root': 'DIR', 'split': 'trainset'})."""
    name, _, rest = spec.partition(":")
    try:
        return name.strip(), dict(parse_option(part) for part in filter(None, rest.split(",")))
    except DatasetError as e:
        raise DatasetError(f"bad dataset spec {spec!r}: {e}") from None


def open_spec(spec: str, **defaults) -> Dataset:
    name, options = parse_spec(spec)
    return open_dataset(name, **{**defaults, **options})


__all__ = ["Dataset", "DatasetError", "Sample", "open_dataset", "open_spec", "parse_option", "parse_spec", "REGISTRY"]
