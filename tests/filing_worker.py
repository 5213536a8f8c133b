"""Child process for the power-cut test: files cases forever, printing each number once it returned."""

from __future__ import annotations

import random
import sys
from datetime import date
from pathlib import Path

from forms.catalog import load_catalog
from station.cases import file_case
from station.operators import os_account
from station.sample_data import make_submission
from station.store import Store


def main() -> None:
    home, seed = Path(sys.argv[1]), int(sys.argv[2])
    catalog = load_catalog(use_cache=False)
    items = list(catalog.items)
    rng = random.Random(seed)
    op = os_account()
    with Store.open(home) as store:
        print("ready", flush=True)
        while True:
            item = rng.choice(items)
            filed = file_case(store, catalog, item.code, make_submission(item, rng, date.today(),
                                                                         waive=rng.random() < 0.3), op)
            print(filed.number, flush=True)


if __name__ == "__main__":
    main()
