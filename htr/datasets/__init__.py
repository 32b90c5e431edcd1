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


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """'iam-ondb:root=DIR,split=trainset' -> ('iam-ondb', {'root': 'DIR', 'split': 'trainset'})."""
    name, _, rest = spec.partition(":")
    options = {}
    for part in filter(None, rest.split(",")):
        key, eq, value = part.partition("=")
        if not eq:
            raise DatasetError(f"bad dataset spec {spec!r}: {part!r} is not key=value")
        options[key.strip().replace("-", "_")] = value.strip()
    return name.strip(), options


def open_spec(spec: str, **defaults) -> Dataset:
    name, options = parse_spec(spec)
    return open_dataset(name, **{**defaults, **options})


__all__ = ["Dataset", "DatasetError", "Sample", "open_dataset", "open_spec", "parse_spec", "REGISTRY"]
