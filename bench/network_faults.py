"""Bad links at length: the fault proxy between a village, its township and the real gateway until at
least N faults were injected, with every invariant checked after each round.

    .venv/bin/python bench/network_faults.py --faults 1000 [--seed 5] [--rate 0.6]

Each round the village files a few cases, then village and township sync through the proxy until
each reports success (faults on); then, faults off, every event of the village is on the platform
exactly once, its chain has no gap, its batches match the platform's, and the township holds every
case event of the village exactly once. Prints one JSON document (faults per kind, requests, rounds,
sync attempts, invariant checks, seconds) plus the commit and date, for docs/reliability.md.
tests/sync/test_network_faults.py runs the same rounds at CI size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.fault_proxy import KINDS, FaultPlan, FaultProxy  # noqa: E402
from station.store import Store  # noqa: E402
from station.testing import TOWNSHIP, VILLAGE  # noqa: E402
from sync.gateway.app import ServerThread  # noqa: E402
from sync.gateway.platform import Platform  # noqa: E402
from sync.gateway.testing import file_cases, make_platform, make_station  # noqa: E402
from sync.service import sync_now, sync_status  # noqa: E402
from sync.settings import configure  # noqa: E402


def sync_until_ok(home: Path, limit: int = 80, transport_of=None) -> int:
    """Run `sync now` until it reports success; returns the number of attempts."""
    for attempt in range(1, limit + 1):
        with Store.open(home) as store:
            summary = sync_now(store, transport_of(store) if transport_of else None)
        if summary.ok:
            return attempt
    raise AssertionError(f"sync did not converge in {limit} attempts: {summary.errors}")


def assert_exactly_once(platform: Platform, village: Path, township: Path) -> int:
    """Every invariant of a converged world; returns how many checks held."""
    with Store.open(village) as store:
        last = store.last_local_seq()
        local_ids = {r[0] for r in store.conn.execute("SELECT id FROM events WHERE station=?", (VILLAGE,))}
        status = sync_status(store)
        assert status.cursor.acked_seq == last and status.pending_events == 0, status
        station_batches = store.conn.execute("SELECT COUNT(*) FROM sync_batches").fetchone()[0]
    rows = platform.store.conn.execute("SELECT id FROM events WHERE station=?", (VILLAGE,)).fetchall()
    assert len(rows) == len({r[0] for r in rows}) == last, "each event exactly once"
    assert {r[0] for r in rows} == local_ids
    assert platform.store.counts()["gaps"] == 0
    assert platform.store.conn.execute("SELECT COUNT(*) FROM batches WHERE station=?",
                                       (VILLAGE,)).fetchone()[0] == station_batches
    with Store.open(township) as store:  # the township got every case event of the village once
        got = store.conn.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM events WHERE station=? AND"
                                 " case_number IS NOT NULL", (VILLAGE,)).fetchone()
        held = platform.store.conn.execute("SELECT COUNT(*) FROM events WHERE station=? AND case_number IS NOT"
                                           " NULL", (VILLAGE,)).fetchone()[0]
        assert got == (held, held), (got, held)
    return 6


def run(root: Path, faults: int, seed: int = 5, rate: float = 0.6, cases_per_round: int = 8,
        max_rounds: int = 10_000) -> dict:
    phome, keys = make_platform(root)
    plan = FaultPlan(seed=seed, rate=rate, stall_s=1.3)
    start = time.monotonic()
    rounds = attempts = checks = 0
    with Platform.open(phome) as platform, ServerThread(platform) as server, \
            FaultProxy((server.host, server.port), plan) as proxy:
        village = make_station(root, phome, keys, VILLAGE, url=proxy.url)
        township = make_station(root, phome, keys, TOWNSHIP, "township", url=proxy.url)
        for home in (village, township):
            configure(home, sync_batch_bytes=2048, sync_retries=0, sync_timeout_seconds=1)
        while proxy.faults < faults and rounds < max_rounds:
            with Store.open(village) as store:
                file_cases(store, cases_per_round)
            attempts += sync_until_ok(village)
            attempts += sync_until_ok(township)
            rounds += 1
            plan.enabled = False
            checks += assert_exactly_once(platform, village, township)
            plan.enabled = True
        with Store.open(village) as store:
            cases = store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0]
            events = store.last_local_seq()
        counts = dict(proxy.counts)
        missing = sorted(set(KINDS) - set(counts))
        return {"faults": proxy.faults, "faults_by_kind": counts, "kinds_never_injected": missing,
                "requests": proxy.requests, "rounds": rounds, "syncs_converged": 2 * rounds,
                "sync_attempts": attempts, "invariant_checks": checks, "cases": cases, "events": events,
                "seconds": round(time.monotonic() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--rate", type=float, default=0.6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = run(Path(tmp), args.faults, args.seed, args.rate)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    print(json.dumps({**figures, "commit": commit, "date": date.today().isoformat()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
