"""Child process for the power-cut and concurrency tests: files cases (forever, or $FILING_LIMIT),
printing each number once its filing returned."""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from forms.catalog import load_catalog
from station.cases import file_case
from station.operators import os_account
from station.sample_data import make_submission
from station.store import Store
from station.testing import CrowdedDayClock


def main() -> None:
    home, seed = Path(sys.argv[1]), int(sys.argv[2])
    catalog = load_catalog(use_cache=False)
    items = list(catalog.items)
    rng = random.Random(seed)
    op = os_account()
    limit = int(os.environ.get("FILING_LIMIT", "0")) or None
    crowded = CrowdedDayClock(int(os.environ["CROWDED_DAY"])) if os.environ.get("CROWDED_DAY") else None
    with Store.open(home, clock=crowded) as store:
        print("ready", flush=True)
        done = 0
        while limit is None or done < limit:
            done += 1
            if crowded is not None:  # a device has 999 case numbers a day: the torture loop files more
                crowded.follow(store)
            item = rng.choice(items)
            filed = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date(),
                                                                         waive=rng.random() < 0.3), op)
            print(filed.number, flush=True)


if __name__ == "__main__":
    main()
