"""Bad links: a fault-injecting proxy between the stations and the real gateway. Whatever the link does
(drops, resets, 5xx, truncated answers, duplicated requests, stalls), sync converges to exactly once."""

from __future__ import annotations

import json
from pathlib import Path

from station.store import Store
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.service import sync_now, sync_status
from sync.settings import configure
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.transport import HttpTransport
from tests.support.fault_proxy import KINDS, FaultPlan, FaultProxy
from tests.support import TOWNSHIP, VILLAGE

FIGURES: dict[str, object] = {}


def _sync_until_ok(home: Path, limit: int = 60, transport_of=None) -> int:
    """Run `sync now` until it reports success; returns the number of attempts."""
    for attempt in range(1, limit + 1):
        with Store.open(home) as store:
            summary = sync_now(store, transport_of(store) if transport_of else None)
        if summary.ok:
            return attempt
    raise AssertionError(f"sync did not converge in {limit} attempts: {summary.errors}")


def _assert_exactly_once(platform: Platform, village: Path, township: Path) -> None:
    with Store.open(village) as store:
        last = store.last_local_seq()
        local_ids = {r[0] for r in store.conn.execute("SELECT id FROM events WHERE station=?", (VILLAGE,))}
        status = sync_status(store)
        assert status["acked_seq"] == last and status["pending_events"] == 0
        station_batches = store.conn.execute("SELECT COUNT(*) FROM sync_batches").fetchone()[0]
    rows = platform.store.conn.execute("SELECT id FROM events WHERE station=?", (VILLAGE,)).fetchall()
    assert len(rows) == len({r[0] for r in rows}) == last  # each event exactly once
    assert {r[0] for r in rows} == local_ids
    assert platform.store.counts()["gaps"] == 0
    assert platform.store.conn.execute("SELECT COUNT(*) FROM batches WHERE station=?",
                                       (VILLAGE,)).fetchone()[0] == station_batches
    with Store.open(township) as store:  # the township got every case event of the village once
        got = store.conn.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM events WHERE station=? AND"
                                 " case_number IS NOT NULL", (VILLAGE,)).fetchone()
        held = platform.store.conn.execute("SELECT COUNT(*) FROM events WHERE station=? AND case_number IS NOT"
                                           " NULL", (VILLAGE,)).fetchone()[0]
        assert got == (held, held)


def test_every_fault_kind_and_sync_still_converges_exactly_once(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    plan = FaultPlan(seed=5, rate=0.6, stall_s=1.3)
    with Platform.open(phome) as platform, ServerThread(platform) as server, \
            FaultProxy((server.host, server.port), plan) as proxy:
        village = make_station(tmp_path, phome, keys, VILLAGE, url=proxy.url)
        township = make_station(tmp_path, phome, keys, TOWNSHIP, "township", url=proxy.url)
        for home in (village, township):
            configure(home, sync_batch_bytes=2048, sync_retries=0, sync_timeout_seconds=1)
        attempts = syncs = 0
        for round_ in range(6):
            with Store.open(village) as store:
                file_cases(store, 8)
            attempts += _sync_until_ok(village)
            attempts += _sync_until_ok(township)
            syncs += 2
            plan.enabled = False
            _assert_exactly_once(platform, village, township)
            plan.enabled = True
        missing = set(KINDS) - set(proxy.counts)
        assert not missing, f"fault kinds never injected: {missing}"
        FIGURES.update({"faults": dict(proxy.counts), "requests": proxy.requests, "sync_attempts": attempts,
                        "syncs_converged": syncs})


def test_transport_retries_ride_out_the_faults(tmp_path: Path) -> None:
    """With the transport's own retries on (fast backoff), most syncs succeed at the first call."""
    phome, keys = make_platform(tmp_path)
    plan = FaultPlan(seed=9, rate=0.35, kinds=tuple(k for k in KINDS if k != "stall"))
    with Platform.open(phome) as platform, ServerThread(platform) as server, \
            FaultProxy((server.host, server.port), plan) as proxy:
        village = make_station(tmp_path, phome, keys, VILLAGE, url=proxy.url)
        township = make_station(tmp_path, phome, keys, TOWNSHIP, "township", url=proxy.url)
        configure(village, sync_batch_bytes=2048)

        def transport(store: Store) -> HttpTransport:
            return HttpTransport(proxy.url, retries=4, backoff=0.01, timeout=5)

        attempts = 0
        for _ in range(4):
            with Store.open(village) as store:
                file_cases(store, 10)
            attempts += _sync_until_ok(village, transport_of=transport)
            attempts += _sync_until_ok(township, transport_of=transport)
        plan.enabled = False
        _assert_exactly_once(platform, village, township)
        assert proxy.faults >= 6  # request counts vary with thread timing; the expectation is ~14
        FIGURES["with_retries"] = {"faults": proxy.faults, "requests": proxy.requests, "sync_attempts": attempts,
                                   "syncs_converged": 8}


def test_report_network_fault_figures() -> None:
    """Printed with -s; docs/reliability.md records them."""
    print(json.dumps(FIGURES))
