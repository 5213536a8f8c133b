"""Open the station's terminal UI (`station` with no arguments)."""

from __future__ import annotations

from pathlib import Path


def launch(home: Path, debug: bool = False) -> None:
    from station.tui.app import run_app

    run_app(home, debug=debug)
