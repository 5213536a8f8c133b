"""The layers of docs/architecture.md, kept by import-linter's contracts in pyproject.toml.

A module that imports upwards (the form engine importing the domain, the domain importing a face, the
station side of sync importing the platform) fails here, in the suite, not in a review.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    proc = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout and "broken" in proc.stdout


def test_a_wrong_import_is_caught(tmp_path):
    """The contracts are not vacuous: a copy of the tree where forms imports the domain fails them."""
    import shutil

    for pkg in ("forms", "printouts", "station", "sync"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    engine = tmp_path / "forms" / "engine.py"
    engine.write_text(engine.read_text(encoding="utf-8") + "\nfrom station import store as _upward  # noqa\n",
                      encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"],
                          cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0
    assert "forms.engine -> station.store" in proc.stdout


def test_every_screen_is_routed_by_name_and_kept_independent():
    """A new screen module must be in the app's route table and in the independence contract, or a
    screen could start importing another again unnoticed."""
    import tomllib

    from station.tui.routes import ROUTES

    screens = {p.stem for p in (ROOT / "station" / "tui" / "screens").glob("*.py")} - {"__init__", "base", "dialogs"}
    routed = {module.rsplit(".", 1)[1] for module, _ in ROUTES.values()}
    assert screens == routed
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]
    (independence,) = [c for c in contracts if c["type"] == "independence"]
    assert {m.rsplit(".", 1)[1] for m in independence["modules"]} == screens
