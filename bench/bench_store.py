"""Store benchmarks (issue 2): filing latency, search over 100,000 cases, rebuild of 100,000 cases.

Run: .venv/bin/python bench/bench_store.py [--cases 100000]
Prints one line per figure; copy them into docs/benchmarks.md with the machine and date.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import OUT, big_home, machine, median_ms, p95_ms  # noqa: E402
from forms.catalog import load_catalog  # noqa: E402
from station.audit import rebuild  # noqa: E402
from station.cases import CaseReader, file_case  # noqa: E402
from station.operators import os_account  # noqa: E402
from station.sample_data import make_submission  # noqa: E402
from station.setup import init_station  # noqa: E402
from station.store import Store  # noqa: E402


def bench_filing(n: int = 300) -> None:
    home = OUT / "filing"
    shutil.rmtree(home, ignore_errors=True)
    init_station(home, "421381105201", "基准测试村")
    catalog = load_catalog()
    items = list(catalog.items)
    rng = random.Random(2)
    op = os_account()
    samples = []
    with Store.open(home) as store:
        for i in range(n):
            item = items[i % len(items)]
            data = make_submission(item, rng, date.today(), waive=i % 4 == 0)
            t = time.perf_counter()
            file_case(store, catalog, item.code, data, op)  # validate + append + fold + durable commit
            samples.append(time.perf_counter() - t)
    print(f"filing a case (durable commit, synchronous=FULL): median {median_ms(samples):.2f} ms, "
          f"p95 {p95_ms(samples):.2f} ms over {n} cases")


def bench_search(home: Path) -> None:
    with Store.open(home) as store:
        reader = CaseReader(store)
        rows = store.conn.execute("SELECT number, applicant_name, applicant_pinyin FROM cases "
                                  "ORDER BY random() LIMIT 200").fetchall()
        kinds = {
            "full name": [r[1] for r in rows],
            "pinyin prefix (4 letters)": [r[2][:4] for r in rows],
            "case number": [r[0] for r in rows],
            "last 4 of case number": [r[0].split("-")[2] for r in rows],
        }
        total = store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
        for label, queries in kinds.items():
            samples, hits = [], 0
            for q in queries:
                t = time.perf_counter()
                found = reader.list(search=q, limit=50)
                samples.append(time.perf_counter() - t)
                hits += len(found)
            print(f"search by {label} over {total} cases: median {median_ms(samples):.2f} ms, "
                  f"p95 {p95_ms(samples):.2f} ms (avg {hits / len(queries):.1f} hits, first 50 shown)")


def bench_rebuild(home: Path) -> None:
    with Store.open(home) as store:
        t = time.perf_counter()
        events = rebuild(store)
        seconds = time.perf_counter() - t
        cases = store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
    print(f"db rebuild: {events} events / {cases} cases in {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    bench_filing()
    home = big_home(args.cases)
    bench_search(home)
    bench_rebuild(home)


if __name__ == "__main__":
    main()
