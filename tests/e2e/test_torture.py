"""kill -9 at random points of every writing operation, on both sides; after each kill nothing returned
is lost, `station db check` passes, the platform holds each event exactly once and the outbox converges.
The engine and the invariants are in bench/torture_kit.py; bench/torture.py runs hundreds of kills."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.torture_kit import INVARIANTS, MODES, Torture


def _torture(tmp_path: Path, kills: int, seed: int) -> dict:
    world = Torture(tmp_path, seed=seed)
    try:
        figures = world.run(kills)
    finally:
        world.close()
    result = figures.to_dict()
    print(json.dumps(result, ensure_ascii=False))
    assert set(figures.kills) == set(MODES)
    assert all(figures.checks[name] == kills for name in INVARIANTS)
    assert figures.cases_returned > 400  # filing children really filed before they died
    # every killed backup and restore left nothing under its name, or a whole, openable result
    assert sum(figures.whole.values()) == figures.kills["backup"] + figures.kills["restore"]
    return result


def test_torture_ci_size(tmp_path: Path) -> None:
    result = _torture(tmp_path, kills=40, seed=1)
    assert result["landed_mid_operation"] >= 20  # most kills hit a working process, not an idle one


@pytest.mark.slow
def test_torture_long(tmp_path: Path) -> None:
    result = _torture(tmp_path, kills=240, seed=2)
    assert result["landed_mid_operation"] >= 150
