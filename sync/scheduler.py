"""`station sync run`: sync on a schedule, back off while the platform is unreachable, and sync at
once when it answers again.

Driven by a private ``schedule.Scheduler`` (no global state). While the link is up a full sync runs
every ``interval``; after a sync that found the link down, only a cheap health probe runs, after
30 s, 60 s, 120 s … (with jitter, capped at the interval), and the first probe that succeeds
triggers a full sync immediately. ``stop`` (a threading.Event) and ``max_syncs`` make it stoppable.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import schedule

from station.store import Store
from sync.service import LINK_DOWN, SyncSummary, sync_now
from sync.settings import SyncSettings
from sync.transport import HttpTransport

log = logging.getLogger("sync.scheduler")


@dataclass
class LoopState:
    syncs: int = 0
    probes: int = 0
    failures_in_row: int = 0
    summaries: list[SyncSummary] = field(default_factory=list)


class SyncLoop:
    def __init__(self, home: Path, interval_seconds: float | None = None, probe_seconds: float = 30.0,
                 stop: threading.Event | None = None, max_syncs: int | None = None,
                 on_sync: Callable[[SyncSummary], None] | None = None, rng: random.Random | None = None,
                 first_sync_after: float | None = 0.0):
        self.home = home
        self.interval_seconds = interval_seconds
        self.probe_seconds = probe_seconds
        self.stop = stop or threading.Event()
        self.max_syncs = max_syncs
        self.on_sync = on_sync
        self.rng = rng or random.Random()
        self.state = LoopState()
        self.scheduler = schedule.Scheduler()
        # 0: sync at once (`station sync run`); None: after one interval (the TUI, whose operator can
        # press s any time); else after that many seconds.
        self.first_sync_after = first_sync_after

    def _interval(self, store: Store) -> float:
        if self.interval_seconds is not None:
            return self.interval_seconds
        return SyncSettings.of(store.config).interval_minutes * 60.0

    def _after(self, seconds: float, job: Callable[[], None]) -> None:
        def once() -> schedule.CancelJob:
            job()
            return schedule.CancelJob

        self.scheduler.every(max(1, round(seconds))).seconds.do(once)

    def _sync(self, transport: HttpTransport | None = None) -> None:
        with Store.open(self.home) as store:
            summary = sync_now(store, transport)
            interval = self._interval(store)
        self.state.syncs += 1
        self.state.summaries.append(summary)
        if self.on_sync:
            self.on_sync(summary)
        log.info("sync: %s", "ok" if summary.ok else summary.errors[-1]["message"])
        if self.max_syncs is not None and self.state.syncs >= self.max_syncs:
            self.stop.set()
            return
        if summary.retry_after:  # the platform asked us to wait: the next full sync comes no sooner
            self.state.failures_in_row = 0
            self._after(max(summary.retry_after, 1.0), self._sync)
        elif summary.link == LINK_DOWN:
            self.state.failures_in_row = 1
            self._after(self._backoff(interval), self._probe)
        else:
            self.state.failures_in_row = 0
            self._after(interval, self._sync)

    def _backoff(self, interval: float) -> float:
        base = self.probe_seconds * 2 ** (self.state.failures_in_row - 1)
        return min(interval, base) * (0.8 + 0.4 * self.rng.random())

    def _probe(self) -> None:
        self.state.probes += 1
        with Store.open(self.home) as store:
            settings = SyncSettings.of(store.config)
            interval = self._interval(store)
        # The sync's own transport: the probe does not retry, and when it succeeds the sync that
        # follows at once sends its first batch on the connection the probe opened (one round trip,
        # about a second on an EDGE link, saved).
        transport = HttpTransport(settings.url, settings.ca_bundle, settings.proxy, settings.timeout_seconds,
                                  settings.retries)
        if transport.health(timeout=15):
            self._sync(transport)  # it came back: sync at once
        else:
            transport.close()
            self.state.failures_in_row += 1
            self._after(self._backoff(interval), self._probe)

    def run(self) -> LoopState:
        if self.first_sync_after == 0:
            self._sync()
        else:
            delay = self.first_sync_after
            if delay is None:
                with Store.open(self.home) as store:
                    delay = self._interval(store)
            self._after(delay, self._sync)
        while not self.stop.is_set():
            self.scheduler.run_pending()
            idle = self.scheduler.idle_seconds
            self.stop.wait(min(1.0, max(0.05, idle if idle is not None else 1.0)))
        self.scheduler.clear()
        return self.state
