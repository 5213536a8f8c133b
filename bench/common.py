"""Shared helpers for benchmark scripts: machine description and a cached big station home."""

from __future__ import annotations

import os
import platform
import random
import shutil
import statistics
import time
from datetime import datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parent / "_out"


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, {platform.system()}"


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p95_ms(samples: list[float]) -> float:
    s = sorted(samples)
    return s[int(len(s) * 0.95) - 1] * 1000


class StepClock:
    """A store clock that walks through the days so a big home has realistic dates."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def big_home(cases: int, name: str | None = None) -> Path:
    """A village home with ``cases`` cases, built once and cached under bench/_out/."""
    from forms.catalog import load_catalog
    from station.cases import file_case
    from station.operators import os_account
    from station.sample_data import make_submission
    from station.setup import init_station
    from station.store import Store

    home = OUT / (name or f"home-{cases}")
    if (home / "station.toml").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    init_station(home, "421381105201", "基准测试村")
    catalog = load_catalog()
    items = list(catalog.items)
    rng = random.Random(1)
    op = os_account()
    start = datetime(2026, 1, 5, 8, 0)
    clock = StepClock(start)
    per_day = max(1, cases // 300)
    t0 = time.perf_counter()
    with Store.open(home, clock=clock) as store:
        done = 0
        while done < cases:
            with store.transaction():
                for _ in range(min(1000, cases - done)):
                    clock.now = start + timedelta(days=done // per_day, seconds=done % per_day)
                    item = items[done % len(items)]
                    data = make_submission(item, rng, clock.now.date(), waive=done % 5 == 0)
                    file_case(store, catalog, item.code, data, op)
                    done += 1
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"built {cases} cases in {time.perf_counter() - t0:.1f} s -> {home}")
    return home
