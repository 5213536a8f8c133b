"""Several devices (PCs) of one service point on a world with a real gateway (tests/sync/conftest.py's
``world``: root, platform home, platform keys, gateway URL, platform)."""

from __future__ import annotations

from pathlib import Path

from station.store import Store
from sync.gateway.testing import make_station
from sync.service import sync_now


def device(world, code: str, n: int, role: str = "village") -> Path:
    """Device ``n`` of station ``code`` (a village's or a township's), enrolled on the world's platform."""
    root, home, keys, url, _ = world
    return make_station(root, home, keys, code, role, url, device=n)


def synced(home: Path) -> None:
    """One sync of the station at ``home``, which must succeed."""
    with Store.open(home) as store:
        summary = sync_now(store)
        assert summary.ok, summary.errors
