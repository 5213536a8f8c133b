"""What every screen shares: the open store, the logged-in operator, the catalog and the clock.

Not a god object: it holds references, the screens call the domain with them. SQLite calls go
through ``lock`` (one connection, used from worker threads one at a time); searches use their own
read connection so a long write or a sync never delays a keystroke.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from forms.catalog import Catalog, load_catalog
from station.operators import Operator
from station.store import Store

Clock = Callable[[], datetime]


@dataclass
class Session:
    home: Path
    clock: Clock = datetime.now
    store: Store | None = None
    operator: Operator | None = None
    catalog: Catalog | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    search_lock: threading.Lock = field(default_factory=threading.Lock)
    _search_store: Store | None = None
    _sane_today: date | None = None

    def today(self) -> date:
        """The wall clock's date, unless the open store knows the PC clock is set back (or far ahead):
        then its sane date (station/clock_check.py), so a screen's figures cannot be moved back."""
        store = self.store
        if store is None:
            return self.clock().date()
        from station.clock_check import today as station_today
        if not self.lock.acquire(timeout=0.2):  # a long write holds the store: the last sane date known
            return max(self.clock().date(), self._sane_today or date.min)
        try:
            self._sane_today = station_today(store)
        finally:
            self.lock.release()
        return self._sane_today

    def open_store(self) -> Store:
        """Open the store once (call from a worker: it may migrate)."""
        with self.lock:
            if self.store is None:
                self.store = Store.open(self.home, clock=self.clock)
            return self.store

    @property
    def search_store(self) -> Store:
        """A second connection for searches (WAL: readers never wait for the writer)."""
        if self._search_store is None:
            self._search_store = Store.open(self.home, clock=self.clock)
        return self._search_store

    def load_catalog(self) -> Catalog:
        with self.lock:
            if self.catalog is None:
                self.catalog = load_catalog()
            return self.catalog

    def require_store(self) -> Store:
        if self.store is None:
            return self.open_store()
        return self.store

    def close(self) -> None:
        with self.lock:
            if self.store is not None:
                self.store.close()
                self.store = None
        with self.search_lock:
            if self._search_store is not None:
                self._search_store.close()
                self._search_store = None
