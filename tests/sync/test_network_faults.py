"""Bad links: a fault-injecting proxy between the stations and the real gateway. Whatever the link does
(drops, resets, 5xx, truncated answers, duplicated requests, stalls), sync converges to exactly once."""

from __future__ import annotations

import pytest

import json
from pathlib import Path

from station.store import Store
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.settings import configure
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.transport import HttpTransport
from bench.fault_proxy import KINDS, FaultPlan, FaultProxy
from bench.network_faults import assert_exactly_once, run, sync_until_ok
from tests.support import TOWNSHIP, VILLAGE

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores

FIGURES: dict[str, object] = {}


def test_every_fault_kind_and_sync_still_converges_exactly_once(tmp_path: Path) -> None:
    """The bench's rounds (bench/network_faults.py) at CI size: at least 50 faults, every kind."""
    figures = run(tmp_path, faults=50, seed=5, rate=0.6)
    assert not figures["kinds_never_injected"], figures
    assert figures["faults"] >= 50 and figures["invariant_checks"] == 6 * figures["rounds"]
    FIGURES.update(figures)


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
            attempts += sync_until_ok(village, transport_of=transport)
            attempts += sync_until_ok(township, transport_of=transport)
        plan.enabled = False
        assert_exactly_once(platform, village, township)
        assert proxy.faults >= 6  # request counts vary with thread timing; the expectation is ~14
        FIGURES["with_retries"] = {"faults": proxy.faults, "requests": proxy.requests, "sync_attempts": attempts,
                                   "syncs_converged": 8}


def test_report_network_fault_figures() -> None:
    """Printed with -s; docs/reliability.md records them."""
    print(json.dumps(FIGURES))
