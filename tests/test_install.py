"""constraints.txt, the versions `make demo` and `make test` install, against pyproject.toml's
ranges and against what is installed: a dependency added without its version, a version outside
its range, or a .venv that drifted from the file fails here, not in a user's fresh install.
And the wheel `pip install .` builds: it must hold all that reading needs."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
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


def test_the_wheel_builds_without_warnings_and_reads_without_the_source_tree(tmp_path):
    """`pip install .` or a wheel on an index is how most users get htr: a data file left out of
    package-data (the model, the word list, the web page) or a packaging setting that the build
    backend deprecates (it then stops building on a date it names) would break it for them only."""
    src = tmp_path / "src"   # the tracked files only: no build/ of an earlier build
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "htr", src / "htr", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(tmp_path / "dist")],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    assert "Warning" not in built.stdout + built.stderr, built.stdout + built.stderr
    wheel, = (tmp_path / "dist").glob("htr-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    assert (site / "htr" / "models" / "default" / "model.onnx").is_file()
    no_torch = ("import sys; sys.modules['torch'] = None; import htr; assert htr.__file__.startswith(sys.argv[1]), "
                "htr.__file__; print(htr.read(sys.argv[2], decoder='wordbeam').text)")
    sample = site / "htr" / "samples" / "sample.png"
    read = subprocess.run([sys.executable, "-c", no_torch, str(site), str(sample)], cwd=tmp_path,
                          env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=120)
    assert read.returncode == 0, read.stderr[-3000:]
    from htr.metrics import cer
    assert cer(["The quick brown fox reads my notes"], [read.stdout.strip()]) < 0.2, read.stdout
