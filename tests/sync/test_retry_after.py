"""A busy platform (429 + Retry-After, from the real gateway's station quota): a short wait is waited out in
place and the sync completes; a long one stops the sync at once, keeps the outbox, says in Chinese when to
come back, and `station sync run` does not try again before then."""

from __future__ import annotations

import pytest

import dataclasses
import time
from pathlib import Path

from station.store import Store
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.scheduler import SyncLoop
from sync.service import sync_now, sync_status
from sync.settings import configure
from tests.support import VILLAGE

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores


def _world(tmp_path: Path, rate_per_minute: int):
    phome, keys = make_platform(tmp_path)
    platform = Platform.open(phome)
    platform.config = dataclasses.replace(platform.config, rate_per_minute=rate_per_minute)
    server = ServerThread(platform).__enter__()
    village = make_station(tmp_path, phome, keys, VILLAGE, url=server.url)
    configure(village, sync_batch_events=1)  # one event a batch: a sync of many requests
    return platform, server, village


def test_a_long_retry_after_stops_the_sync_at_once_and_says_when(tmp_path: Path) -> None:
    platform, server, village = _world(tmp_path, rate_per_minute=3)  # burst 10, then one every 20 s
    try:
        with Store.open(village) as store:
            file_cases(store, 8)
            started = time.monotonic()
            summary = sync_now(store)
            took = time.monotonic() - started
            assert not summary.ok and summary.errors[-1]["code"] == "rate_limited"
            assert "本次同步已停止" in summary.errors[-1]["message"] and "后再同步" in summary.errors[-1]["message"]
            assert summary.retry_after >= 10
            assert took < 10, took  # it did not sit out the 20 s in place
            status = sync_status(store)
            assert status.pending_events > 0 and status.batches["held"] == 0  # nothing lost, nothing held
            assert "后再同步" in status.last_error
    finally:
        server.__exit__()
        platform.close()


def test_a_short_retry_after_is_waited_out_and_the_sync_completes(tmp_path: Path) -> None:
    platform, server, village = _world(tmp_path, rate_per_minute=120)  # burst 30, then two a second
    try:
        with Store.open(village) as store:
            file_cases(store, 28)
            requests_needed = store.last_local_seq() + 1  # one push per event, and the pull
            assert 31 < requests_needed < 36  # a few over the burst: each waits about a second
            started = time.monotonic()
            summary = sync_now(store)
            took = time.monotonic() - started
            assert summary.ok, summary.errors
            assert sync_status(store).pending_events == 0
        platform.refusals.flush()
        limited = [r for r in platform.store.refusals() if r["reason"] == "rate_limited"]  # type: ignore[attr-defined]
        assert limited and limited[0]["station"] == VILLAGE  # the gateway did say "wait"…
        assert took >= 0.9  # …and the transport waited before trying again
    finally:
        server.__exit__()
        platform.close()


def test_sync_run_does_not_come_back_before_the_platform_said(tmp_path: Path) -> None:
    platform, server, village = _world(tmp_path, rate_per_minute=3)
    try:
        with Store.open(village) as store:
            file_cases(store, 8)
        loop = SyncLoop(village, interval_seconds=1, max_syncs=5)
        loop._sync()
        summary = loop.state.summaries[-1]
        assert summary.retry_after >= 10
        (job,) = loop.scheduler.jobs
        assert job.interval >= summary.retry_after and job.unit == "seconds"
    finally:
        server.__exit__()
        platform.close()
