"""The platform on PostgreSQL with several workers: concurrent stations through `station platform serve
--workers 2`, a worker killed -9 mid-ingest, exactly once and gapless inboxes afterwards."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from station.store import Store
from sync.gateway.testing import file_cases, free_port, make_platform, make_station, serve_platform
from sync.service import sync_now, sync_status
from sync.settings import configure
from tests.support import TOWNSHIP
from tests.support.gateway_db import platform_rows

VILLAGES = [TOWNSHIP[:9] + f"{201 + i:03d}" for i in range(6)]


@pytest.fixture
def pg_platform(platform_store_pg: str, tmp_path: Path):
    phome, keys = make_platform(tmp_path)
    return tmp_path, phome, keys


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _sync_all(homes: list[Path]) -> list:
    results: dict[Path, object] = {}

    def run(home: Path) -> None:
        with Store.open(home) as store:
            results[home] = sync_now(store)

    threads = [threading.Thread(target=run, args=(h,)) for h in homes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return [results.get(h) for h in homes]


def _assert_exactly_once_and_gapless(phome: Path, villages: list[Path], township: Path) -> None:
    for home, code in zip(villages, VILLAGES):
        with Store.open(home) as store:
            last = store.last_local_seq()
            assert sync_status(store).pending_events == 0
        (total, distinct, top), = platform_rows(
            phome, "SELECT count(*), count(DISTINCT id), max(seq) FROM events WHERE station=?", (code,))
        assert (total, distinct, top) == (last, last, last), code
    for station, count, low, high, events in platform_rows(
            phome, "SELECT station, count(*), min(idx), max(idx), count(DISTINCT event_id) FROM inbox GROUP BY station"):
        assert (low, high, events) == (1, count, count), f"inbox of {station} has gaps or repeats"
    heads = dict(platform_rows(phome, "SELECT station, last_idx FROM inbox_heads"))
    assert heads == {s: h for s, _, _, h, _ in platform_rows(
        phome, "SELECT station, count(*), min(idx), max(idx), 0 FROM inbox GROUP BY station")}
    # every village case event reached the township exactly once, and it applies them all
    village_case_events = platform_rows(phome, "SELECT count(*) FROM events WHERE station LIKE ? AND case_number"
                                               " IS NOT NULL", (TOWNSHIP[:9] + "%",))[0][0]
    mine = platform_rows(phome, "SELECT count(*) FROM inbox i JOIN events e ON e.id = i.event_id"
                                " WHERE i.station=? AND e.station != 'platform'", (TOWNSHIP,))[0][0]
    assert mine == village_case_events
    with Store.open(township) as store:
        assert sync_now(store).ok
        remote = store.conn.execute("SELECT count(*) FROM events WHERE origin='remote' AND station != 'platform'"
                                    ).fetchone()[0]
    assert remote == village_case_events


def test_two_workers_take_concurrent_stations_exactly_once_and_inboxes_stay_gapless(pg_platform) -> None:
    root, phome, keys = pg_platform
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    township = make_station(root, phome, keys, TOWNSHIP, "township", url)
    villages = [make_station(root, phome, keys, code, url=url) for code in VILLAGES]
    for home in villages:
        configure(home, sync_batch_bytes=4096)  # many small batches: more interleaving between workers
        with Store.open(home) as store:
            file_cases(store, 12)
    gateway = serve_platform(phome, port, "--workers", "2")
    try:
        workers = _children(gateway.pid)
        assert len(workers) == 2
        served_by = {requests.get(url + "/v1/health", timeout=5).headers.get("x-worker") for _ in range(40)}
        assert len(served_by) == 2  # both workers answer on the one port
        results = _sync_all(villages + [township])
        assert all(r is not None and r.ok for r in results), [r and r.errors for r in results]
        _assert_exactly_once_and_gapless(phome, villages, township)
    finally:
        gateway.terminate()
        gateway.wait(timeout=20)


def test_a_worker_killed_mid_ingest_loses_and_duplicates_nothing(pg_platform) -> None:
    root, phome, keys = pg_platform
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    township = make_station(root, phome, keys, TOWNSHIP, "township", url)
    villages = [make_station(root, phome, keys, code, url=url) for code in VILLAGES[:4]]
    for home in villages:
        configure(home, sync_batch_bytes=4096, sync_retries=0, sync_timeout_seconds=5)
        with Store.open(home) as store:
            file_cases(store, 40)
    gateway = serve_platform(phome, port, "--workers", "2")
    try:
        victim = _children(gateway.pid)[0]
        done: list = []
        runner = threading.Thread(target=lambda: done.extend(_sync_all(villages)), daemon=True)
        runner.start()
        deadline = time.monotonic() + 60
        while platform_rows(phome, "SELECT count(*) FROM batches")[0][0] < 8 and time.monotonic() < deadline:
            time.sleep(0.005)
        os.kill(victim, signal.SIGKILL)  # mid-ingest: batches are arriving on both workers
        runner.join(timeout=120)
        stored = platform_rows(phome, "SELECT count(*) FROM events WHERE station != 'platform'")[0][0]
        assert stored > 0
        deadline = time.monotonic() + 20  # the supervisor replaces the dead worker
        while (victim in _children(gateway.pid) or len(_children(gateway.pid)) < 2) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert victim not in _children(gateway.pid) and len(_children(gateway.pid)) == 2
        for _ in range(3):  # re-send whatever was not acknowledged
            if all(r.ok for r in _sync_all(villages)):
                break
        assert all(r.ok for r in _sync_all(villages + [township]))
        _assert_exactly_once_and_gapless(phome, villages, township)
    finally:
        gateway.terminate()
        gateway.wait(timeout=20)
