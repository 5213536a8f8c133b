"""A village and its township on one PC's clock, exchanging events by hand (``ship``), for the tests of
the legal clocks and the statistics: the village files a township-level item, the township decides."""

from __future__ import annotations

import random
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

from station.cases import file_case
from station.operators import Operator, add_operator, os_account
from station.sample_data import make_submission
from station.setup import init_station
from station.store import Store
from tests.support import TOWNSHIP, VILLAGE, FixedClock

ITEM = "RS-CBZT-001"  # township level, promised 5 working days: filed Monday 9/28, due 10/10


@contextmanager
def village_and_township(root: Path) -> Iterator[tuple[Store, Store, FixedClock, Operator]]:
    """The village's store, the township's, their clock (Monday 2026-09-28 09:00) and a township reviewer."""
    clock = FixedClock(datetime(2026, 9, 28, 9, 0))
    stores = {}
    for key, code, role in (("v", VILLAGE, "village"), ("t", TOWNSHIP, "township")):
        init_station(root / key, code, f"{key}站", role, clock=clock)
        stores[key] = Store.open(root / key, clock=clock)
    try:
        reviewer = add_operator(stores["t"], "赵审核", "reviewer", "secret123", os_account())
        yield stores["v"], stores["t"], clock, reviewer
    finally:
        for s in stores.values():
            s.close()


def file_item(store: Store, catalog, seed: int) -> str:
    """A case of ITEM filed with a generated application; its number."""
    data = make_submission(catalog.get(ITEM), random.Random(seed), store.clock().date())
    return file_case(store, catalog, ITEM, data, os_account()).number
