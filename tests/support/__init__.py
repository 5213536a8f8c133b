"""Helpers every test layer shares: the one set of division codes, the one clock, the ship() shortcut.

The clock and the codes live in ``station.testing`` (shipped, so bench/ uses them without importing a
test module); this package adds what only tests need. TUI helpers are in ``tests.support.tui``, the
network-fault proxy in ``bench.fault_proxy``.
"""

from __future__ import annotations

from forms.catalog import Catalog
from station.store import Store
from station.testing import OTHER_TOWNSHIP, OTHER_VILLAGE, TOWNSHIP, VILLAGE, VILLAGE_2, FixedClock

__all__ = ["OTHER_TOWNSHIP", "OTHER_VILLAGE", "TOWNSHIP", "VILLAGE", "VILLAGE_2", "FixedClock", "ship",
           "item_by_initials"]


def ship(src: Store, dst: Store) -> None:
    """Deliver every local event of ``src`` that ``dst`` has not seen: what sync does, minus the
    envelope (the sync package has its own end-to-end tests over the real gateway)."""
    dst.ingest_remote([src.wire_event(e) for e in src.iter_events("origin='local'")])


def item_by_initials(catalog: Catalog, initials: str):
    hits = catalog.search(initials)
    assert hits, f"no catalog item for {initials}"
    return hits[0]
