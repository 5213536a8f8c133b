"""Child process of the torture loop (bench/torture_kit.py). Prints ``ready`` once set up, then works
until it is killed (or the command ends):

    cut <home> <seed>        file a case, print its number once filing returned, cut the outbox; repeat
                             ($FILING_LIMIT times, or forever)
    cli <station args...>    run one real `station …` command (sync now, sync export / import,
                             platform import, db rebuild)
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path


def _cut(home: Path, seed: int) -> None:
    from forms.catalog import load_catalog
    from station.cases import file_case
    from station.operators import os_account
    from station.sample_data import make_submission
    from station.store import Store
    from sync import outbox
    from sync.keys import load_or_create, platform_keys

    from station.testing import CrowdedDayClock

    catalog = load_catalog(use_cache=False)
    items = list(catalog.items)
    rng = random.Random(seed)
    crowded = CrowdedDayClock(int(os.environ["CROWDED_DAY"])) if os.environ.get("CROWDED_DAY") else None
    with Store.open(home, clock=crowded) as store:
        keys = load_or_create(home, store.station_id)
        plat = platform_keys(home).keys
        print("ready", flush=True)
        for _ in range(int(os.environ.get("FILING_LIMIT", "0")) or 10**9):
            if crowded is not None:
                crowded.follow(store)
            item = rng.choice(items)
            filed = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), os_account())
            print(filed.number, flush=True)
            outbox.cut(store, keys, plat, 2048)


def _cli(args: list[str]) -> None:
    from station.cli import main

    print("ready", flush=True)
    main(args)


if __name__ == "__main__":
    if sys.argv[1] == "cut":
        _cut(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        _cli(sys.argv[2:])
