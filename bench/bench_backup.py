"""Backup, restore and catch-up (issue 12): how long they take and how big a backup is.

    python -m bench.bench_backup [cases]

Builds a village home with ``cases`` filed cases (spread over days: 999 numbers a device a day) on a
platform served on 127.0.0.1, syncs it, backs it up, files and syncs a tenth more, then restores the
backup on a new home and lets it catch up from the platform. Prints one JSON document.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from station.backup import make_backup, restore_station
from station.store import Store
from station.testing import VILLAGE
from sync import catchup
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.service import sync_now

PASS = "bench-backup-passphrase"


def _file(home: Path, count: int, rng: random.Random, start_day: int) -> None:
    for done in range(0, count, 900):
        day = datetime.now() + timedelta(days=start_day + done // 900)
        with Store.open(home, clock=lambda d=day: d) as store:
            file_cases(store, min(900, count - done), rng)


def main(cases: int = 5000) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        phome, keys = make_platform(root)
        config = phome / "platform.toml"
        config.write_text(config.read_text(encoding="utf-8").replace("rate_per_minute = 600", "rate_per_minute = 1000000"),
                          encoding="utf-8")
        with Platform.open(phome) as platform, ServerThread(platform) as server:
            village = make_station(root, phome, keys, VILLAGE, url=server.url)
            rng = random.Random(12)
            _file(village, cases, rng, 0)
            with Store.open(village) as store:
                assert sync_now(store).ok
            t = time.perf_counter()
            info = make_backup(village, root / "b.vsbak", PASS)
            backup_s = time.perf_counter() - t
            db_bytes = (village / "station.db").stat().st_size
            later = max(1, cases // 10)
            _file(village, later, rng, cases // 900 + 1)
            with Store.open(village) as store:
                assert sync_now(store).ok
                last = store.last_local_seq()
            t = time.perf_counter()
            restore_station(Path(info.path), root / "new", PASS)
            restore_s = time.perf_counter() - t
            catchup.forget_checks()
            t = time.perf_counter()
            with Store.open(root / "new") as store:
                report = catchup.check_chain(store, _transport(server.url))
                assert store.last_local_seq() == last, (store.last_local_seq(), last)
            catchup_s = time.perf_counter() - t
    result = {"cases": cases, "db_bytes": db_bytes, "backup_bytes": info.bytes, "backup_s": round(backup_s, 2),
              "restore_s": round(restore_s, 2), "catchup_events": report.adopted_events,
              "catchup_batches": report.adopted_batches, "catchup_s": round(catchup_s, 2)}
    print(json.dumps(result))
    return result


def _transport(url: str):
    from sync.transport import HttpTransport

    return HttpTransport(url)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
