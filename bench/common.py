"""Shared helpers for benchmark scripts: machine description and a cached big station home."""

from __future__ import annotations

import os
import platform
import random
import shutil
import statistics
import time
from datetime import date, datetime, timedelta
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


BENCH_AGENT = ("王小红", "bench1234")  # the agent who files the big home's cases (the TUI bench logs in as her)
START = datetime(2026, 1, 5, 8, 0)


def big_home(cases: int) -> Path:
    """A village home with ``cases`` cases, built once and cached under bench/_out/home-<cases>/.

    Every case goes through the domain's own ``file_case`` (validation, the log, the fold), one
    transaction per filing day, with a clock that walks from ``START``; the station is created on that
    clock too, so the clock check never takes the filing days for a PC clock running behind the log.
    Not a bulk insert: the events must go through the log one by one anyway, and sqlite-utils'
    ``insert_all`` measured slower than the store's own INSERT for event rows (50,000 rows in one
    transaction: 1.78 s against 1.05 s on the bench machine).
    """
    from forms.catalog import load_catalog
    from forms.problems import StationError
    from station.cases import file_case
    from station.operators import add_operator, os_account
    from station.sample_data import make_submission
    from station.setup import init_station
    from station.store import Store

    home = OUT / f"home-{cases}"
    marker = home / "BUILT"
    if marker.exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    clock = StepClock(START)
    init_station(home, "421381105201", "基准测试村便民服务站", clock=clock)
    catalog = load_catalog()
    items = list(catalog.items)
    rng = random.Random(1)
    per_day = max(1, cases // 300)
    t0 = time.perf_counter()
    with Store.open(home, clock=clock) as store:
        agent = add_operator(store, BENCH_AGENT[0], "agent", BENCH_AGENT[1], os_account())
        done = 0
        while done < cases:
            day = START + timedelta(days=done // per_day)
            with store.transaction():
                for i in range(min(per_day, cases - done)):
                    clock.now = day + timedelta(seconds=20 * i)
                    item = items[done % len(items)]
                    for attempt in range(5):  # a generated date can fall outside its bounds: draw again
                        try:
                            data = make_submission(item, rng, day.date(), waive=done % 5 == 0 and attempt == 0)
                            file_case(store, catalog, item.code, data, agent)
                            break
                        except StationError as exc:
                            if exc.code != "invalid_submission":
                                raise
                            item = rng.choice(items)
                    done += 1
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    marker.write_text(last_day(home).isoformat())
    print(f"built {cases} cases in {time.perf_counter() - t0:.1f} s -> {home}")
    return home


def last_day(home: Path) -> date:
    """The last filing day of a big home (the TUI bench runs its clock there)."""
    from station.store import Store

    with Store.open(home) as store:
        row = store.conn.execute("SELECT MAX(received_date) FROM cases").fetchone()
    return date.fromisoformat(row[0])
