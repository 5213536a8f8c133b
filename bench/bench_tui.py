"""TUI benchmarks: cold start to a usable login screen, and search-as-you-type over 100,000 cases.

    .venv/bin/python bench/bench_tui.py [--cases 100000] [--runs 5]

Cold start: a fresh Python process per run, timed from spawn until the login screen is mounted and
shows the station's name (the store is open: the operator can type). Search: the real app,
headless, logged in, on the 办件查询 screen; each key is timed from the key event until the result
table holds the answer for it (debounce + query in a worker + table fill; the table is painted on
the next frame). The 100k-case home is bench.common.big_home (built once with the domain's own
``file_case``, cached under bench/_out/).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import BENCH_AGENT as OPERATOR, big_home, last_day  # noqa: E402


CHILD = r"""
import sys, time
from pathlib import Path
from station.tui.app import StationApp
from station.tui.screens.login import LoginScreen

class BenchApp(StationApp):
    def on_ready(self) -> None:
        self.set_interval(0.002, self._check)

    def _check(self) -> None:
        s = self.screen
        if isinstance(s, LoginScreen):
            name = s.query_one("#station-name").content
            if name:
                print("READY", flush=True)
                self.exit()

BenchApp(Path(sys.argv[1])).run(headless=True)
"""


class _Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def cold_start(home: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(home)], cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - t0
        proc.wait(timeout=30)
        if line.strip() != "READY":
            raise SystemExit(f"child did not reach the login screen: {proc.stderr.read() if proc.stderr else ''}")
        times.append(elapsed * 1000)
    return times


async def search_latency(home: Path, queries: list[str], today: date) -> list[tuple[str, float, int, float]]:
    from station.tui.app import StationApp
    from station.tui.screens.home import HomeScreen
    from station.tui.screens.search import SearchScreen

    app = StationApp(home, clock=_Clock(datetime.combine(today, dtime(18, 0))))
    out: list[tuple[str, float, int, float]] = []

    async def until(pilot, cond, limit: float = 60.0) -> None:
        t = time.perf_counter()
        while not cond():
            await asyncio.sleep(0.0005)
            if time.perf_counter() - t > limit:
                raise SystemExit(f"timed out on {app.screen.__class__.__name__}")

    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
        await pilot.press(*OPERATOR[0], "enter", *OPERATOR[1], "enter")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, SearchScreen) and app.screen.searches_done >= 1)
        screen = app.screen
        for query in queries:
            if screen.query_one("#q").value:
                before = screen.searches_done
                screen.query_one("#q").value = ""
                await until(pilot, lambda: screen.searches_done > before)
            for ch in query:
                before = screen.searches_done
                t0 = time.perf_counter()
                app.simulate_key(ch)  # delivered like a keystroke; the pilot's own settling is not timed
                await until(pilot, lambda: screen.searches_done > before)
                out.append((screen.query_one("#q").value, (time.perf_counter() - t0) * 1000,
                            len(screen.last_results), screen.last_elapsed_ms))
    return out


def _stats(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f"median {statistics.median(values):.0f} ms, p95 {p95:.0f} ms, max {values[-1]:.0f} ms (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = big_home(args.cases)
    from station.store import Store
    from station.cases import CaseReader

    today = last_day(home)
    with Store.open(home) as store:
        total = store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
        sample = CaseReader(store, today).list(limit=1, offset=total // 2)[0]
        last4 = sample.id_last4 or "1234"
    queries = ["wang", sample.applicant_name, "zxy", last4, sample.number.split("-")[2], "gljt", "高龄津贴"]
    print(f"cold start to usable login ({total}-case home): {_stats(cold_start(home, args.runs))}")
    rows = asyncio.run(search_latency(home, queries, today))
    for text, ms, n, inner in rows:
        print(f"  key → results  {text!r:14} {ms:6.1f} ms  (in app {inner:5.1f} ms; {n} shown)")
    print(f"search as you type over {total} cases, key → results shown: {_stats([r[1] for r in rows])}")


if __name__ == "__main__":
    main()
