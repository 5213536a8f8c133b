"""Running the platform like a service: liveness, readiness, Prometheus metrics, status, inbox trimming.

* ``GET /v1/health``: the process is alive (and which platform, which worker answered);
* ``GET /v1/ready``: the database answers and every migration is applied (503 otherwise), for a load
  balancer or systemd's health checks;
* ``GET /metrics``: Prometheus text. Counted in each worker (summed over workers by prometheus-client's
  multiprocess mode when ``PROMETHEUS_MULTIPROC_DIR`` is set, as ``serve --workers N`` does): batches
  and events ingested, ingest latency. Read from the database at scrape time (so every worker and
  host agrees): refusals by reason, inbox sizes, stations by role and by last contact;
* :func:`platform_status` gives the same figures to ``station platform status``, with the stations not
  heard from for N days;
* :func:`trim_inboxes` removes inbox envelopes that their station has acknowledged, once older than
  ``inbox_retention_days``; each worker runs it about hourly (deleting twice is harmless).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync.gateway.platform import IngestOutcome, Platform

log = logging.getLogger("sync.gateway")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SEEN_WINDOWS = (1, 7, 30)  # days
TRIM_EVERY_S = 3600.0

_METRICS: dict[str, Any] = {}
_LOCK = threading.Lock()


def _metrics() -> dict[str, Any]:
    """This process's counters (made once; prometheus_client is imported only now, after a fork)."""
    with _LOCK:
        if not _METRICS:
            from prometheus_client import Counter, Histogram

            _METRICS["batches"] = Counter("station_gateway_batches", "Batches received and acknowledged",
                                          ["outcome"], registry=None)
            _METRICS["events"] = Counter("station_gateway_events", "Events stored (new to the platform)", registry=None)
            _METRICS["refused_events"] = Counter("station_gateway_events_refused",
                                                 "Events of accepted batches refused by authority", registry=None)
            _METRICS["latency"] = Histogram("station_gateway_ingest_seconds", "Time to verify, store and ack a batch",
                                            buckets=LATENCY_BUCKETS, registry=None)
        return _METRICS


def observe_ingest(outcome: "IngestOutcome", seconds: float) -> None:
    m = _metrics()
    m["batches"].labels("duplicate" if outcome.duplicate else "accepted").inc()
    if outcome.events_new:
        m["events"].inc(outcome.events_new)
    if outcome.events_refused:
        m["refused_events"].inc(outcome.events_refused)
    m["latency"].observe(seconds)


def readiness(platform: "Platform") -> tuple[bool, dict[str, Any]]:
    """(ready, details): the database answers and its schema is the latest this code knows."""
    try:
        version = getattr(platform.store, "schema_version", None)
        applied, latest = version() if version else (1, 1)
        platform.store.query("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database means not ready
        return False, {"database": "unreachable", "error": type(exc).__name__}
    return applied == latest, {"database": "ok", "schema": applied, "schema_latest": latest}


def _days_ago(platform: "Platform", days: float) -> str:
    return (platform.clock() - timedelta(days=days)).isoformat(timespec="seconds")


def figures(platform: "Platform", silent_days: int = 7) -> dict[str, Any]:
    """What `station platform status` shows and /metrics exports from the database."""
    q = platform.store.query
    platform.refusals.flush()
    roles = dict(q("SELECT role, count(*) FROM stations GROUP BY role"))
    seen = {}
    for days in SEEN_WINDOWS:
        seen[f"{days}d"] = q(f"SELECT count(*) FROM stations s JOIN station_activity a ON a.station = s.id"
                             f" WHERE {_LAST} >= ?", (_days_ago(platform, days),))[0][0]
    cutoff = _days_ago(platform, silent_days)
    silent = [{"id": r[0], "role": r[1], "name": r[2], "last_seen": r[3] or None} for r in q(
        f"SELECT s.id, s.role, s.name, {_LAST} FROM stations s LEFT JOIN station_activity a ON a.station = s.id"
        f" WHERE a.station IS NULL OR {_LAST} < ? ORDER BY s.id", (cutoff,))]
    pending = q("SELECT count(*) FROM inbox i WHERE i.idx > coalesce((SELECT max(b.last_idx) FROM inbox_batches b"
                " JOIN station_activity a ON a.station = b.station AND b.seq <= a.acked_seq"
                " WHERE b.station = i.station), 0)")[0][0]
    largest = q("SELECT station, count(*) FROM inbox GROUP BY station ORDER BY count(*) DESC, station LIMIT 1")
    counts = platform.store.counts()
    return {
        "platform": platform.config.name,
        "counts": counts,
        "stations": {"village": roles.get("village", 0), "township": roles.get("township", 0)},
        "stations_seen": seen,
        "refusals_by_reason": dict(q("SELECT reason, sum(count) FROM refusals GROUP BY reason ORDER BY reason")),
        "inbox": {"events": counts["inbox"], "envelopes": counts["inbox_batches"], "unacknowledged_events": pending,
                  "largest": {"station": largest[0][0], "events": largest[0][1]} if largest else None},
        "silent_days": silent_days,
        "silent_stations": silent,
    }


# a station's last contact: its last batch or its last pull, whichever is later
_LAST = ("CASE WHEN coalesce(a.last_batch_at, '') > coalesce(a.last_pull_at, '') THEN a.last_batch_at"
         " ELSE a.last_pull_at END")


class DatabaseCollector:
    """Gauges read from the database at scrape time (the same for every worker and host)."""

    def __init__(self, platform: "Platform"):
        self.platform = platform

    def collect(self):  # type: ignore[no-untyped-def]
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        try:
            f = figures(self.platform)
        except Exception:  # noqa: BLE001 - a scrape must not fail because the database is away
            log.exception("metrics: the database could not be read")
            up = GaugeMetricFamily("station_platform_database_up", "The database answered this scrape")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily("station_platform_database_up", "The database answered this scrape")
        up.add_metric([], 1)
        yield up
        stations = GaugeMetricFamily("station_platform_stations", "Enrolled stations", labels=["role"])
        for role, n in f["stations"].items():
            stations.add_metric([role], n)
        yield stations
        seen = GaugeMetricFamily("station_platform_stations_seen", "Stations heard from within the window",
                                 labels=["within"])
        for window, n in f["stations_seen"].items():
            seen.add_metric([window], n)
        yield seen
        refusals = CounterMetricFamily("station_platform_refusals", "Refusals recorded, by reason", labels=["reason"])
        for reason, n in f["refusals_by_reason"].items():
            refusals.add_metric([reason], n)
        yield refusals
        inbox = GaugeMetricFamily("station_platform_inbox_events", "Events in station inboxes", labels=["state"])
        inbox.add_metric(["held"], f["inbox"]["events"])
        inbox.add_metric(["unacknowledged"], f["inbox"]["unacknowledged_events"])
        yield inbox
        env_ = GaugeMetricFamily("station_platform_inbox_envelopes", "Sealed inbox envelopes held")
        env_.add_metric([], f["inbox"]["envelopes"])
        yield env_
        for key in ("events", "batches", "cases", "conflicts", "event_refusals", "deferred_events", "gaps"):
            g = GaugeMetricFamily(f"station_platform_{key}_held", f"Rows of {key} held")
            g.add_metric([], f["counts"][key])
            yield g


def may_scrape(token: str, peer: str, authorization: str) -> bool:
    """Who may read /metrics: with a token configured, whoever sends it as a bearer token (compared in
    constant time); without one, only a client on this host."""
    if token:
        return hmac.compare_digest(authorization.encode("utf-8", "replace"), f"Bearer {token}".encode("utf-8"))
    try:
        addr = ipaddress.ip_address(peer)
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)  # a dual-stack listener sees 127.0.0.1 as ::ffff:127.0.0.1
    return (mapped or addr).is_loopback


def metrics_text(platform: "Platform") -> tuple[bytes, str]:
    """The /metrics body and content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    _metrics()
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in _METRICS.values():
            registry.register(_Forward(metric))
    registry.register(DatabaseCollector(platform))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forward:
    """Exports one metric of the process's default registry into a scrape's own registry."""

    def __init__(self, metric: Any):
        self.metric = metric

    def collect(self):  # type: ignore[no-untyped-def]
        return self.metric.collect()


def trim_inboxes(platform: "Platform") -> int:
    """Remove acknowledged inbox envelopes older than the retention period; how many went."""
    gone = platform.store.trim_inboxes(_days_ago(platform, platform.config.inbox_retention_days))
    if gone:
        log.info("inbox trimming: %d acknowledged envelopes older than %d days removed", gone,
                 platform.config.inbox_retention_days)
    return gone


def start_trimming(platform: "Platform", every_s: float = TRIM_EVERY_S) -> threading.Event:
    """Trim in a background thread now and then; set the returned event to stop it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s * (0.5 + (os.getpid() % 100) / 100)):  # workers spread out
            try:
                trim_inboxes(platform)
            except Exception:  # noqa: BLE001 - trimming is housekeeping: try again next time
                log.exception("inbox trimming failed")

    threading.Thread(target=loop, name="inbox-trim", daemon=True).start()
    return stop

