"""pyproject's package data matches the tree: every pattern finds files, and every file the code
reads at run time (anything in a package that is not Python) is listed, so an installed station
has its catalog, its print texts and its stylesheet."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("forms", "printouts", "station", "sync")


def _package_data() -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["setuptools"]["package-data"]


def test_every_package_data_pattern_matches_files() -> None:
    for package, patterns in _package_data().items():
        for pattern in patterns:
            assert list((ROOT / package).glob(pattern)), f"{package}: {pattern} matches nothing"


def test_every_data_file_in_the_packages_is_listed() -> None:
    data = _package_data()
    listed = {path for package, patterns in data.items() for pattern in patterns
              for path in (ROOT / package).glob(pattern)}
    files = {path for package in PACKAGES for path in (ROOT / package).rglob("*")
             if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts}
    assert files - listed == set()
