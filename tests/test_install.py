"""constraints.txt, the versions `make demo` and `make test` install, against pyproject.toml's
ranges and against what is installed: a dependency added without its version, a version outside
its range, or a .venv that drifted from the file fails here, not in a user's fresh install."""
from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def constraints() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            assert pinned, f"constraints.txt: {line!r} is not NAME==VERSION"
            pins[canonicalize_name(name)] = Version(pinned)
    return pins


def test_every_dependency_is_pinned_within_its_range():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    pins = constraints()
    for requirement in map(Requirement, wanted):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is in pyproject.toml but not in constraints.txt"
        assert requirement.specifier.contains(pins[name]), f"constraints.txt pins {name} {pins[name]}, outside {requirement}"


def test_the_installed_versions_are_the_pinned_ones():
    for name, pinned in constraints().items():
        try:
            installed = Version(version(name))
        except PackageNotFoundError:
            raise AssertionError(f"{name} {pinned} is pinned but not installed: run make test") from None
        assert Version(installed.public) == pinned, f"{name} {installed} is installed, constraints.txt pins {pinned}"
