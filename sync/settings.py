"""Sync settings of a station, read from its station.toml.

``sync_url`` and ``sync_interval_minutes`` are StationConfig fields; the rest lives under
``[extra]`` (``sync_ca_bundle``, ``sync_proxy``, ``sync_batch_bytes``, ``sync_timeout_seconds``, ``sync_retries``)
so the station settings file needs no new columns for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forms.problems import ProblemList, StationError
from station import settings as rules
from station.home import StationConfig, read_config, update_config
from sync.batching import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_EVENTS

EXTRA_KEYS = ("sync_ca_bundle", "sync_proxy", "sync_batch_bytes", "sync_timeout_seconds", "sync_retries",
              "sync_batch_events")


@dataclass(frozen=True)
class SyncSettings:
    url: str
    interval_minutes: int
    ca_bundle: str = ""
    proxy: str = ""
    batch_bytes: int = DEFAULT_BATCH_BYTES
    batch_events: int = DEFAULT_BATCH_EVENTS
    timeout_seconds: float = 60.0
    retries: int = 3

    @classmethod
    def of(cls, config: StationConfig) -> "SyncSettings":
        x = config.extra or {}
        return cls(url=config.sync_url.rstrip("/"), interval_minutes=max(1, int(config.sync_interval_minutes)),
                   ca_bundle=str(x.get("sync_ca_bundle", "")), proxy=str(x.get("sync_proxy", "")),
                   batch_bytes=int(x.get("sync_batch_bytes", DEFAULT_BATCH_BYTES)),
                   batch_events=int(x.get("sync_batch_events", DEFAULT_BATCH_EVENTS)),
                   timeout_seconds=float(x.get("sync_timeout_seconds", 60)),
                   retries=int(x.get("sync_retries", 3)))


def check(url: str | None = None, interval_minutes: int | None = None, **extra: Any) -> None:
    """Refuse sync settings that break ``station.settings``' rules, every problem listed (the error's
    code and message are the first problem's, as ``station sync configure`` reports them)."""
    problems = ProblemList()
    if url is not None:
        problems.extend(rules.sync_url_problems(url.strip(), "url"))
    if interval_minutes is not None:
        problems.extend(rules.parse_interval(interval_minutes, "interval")[1])
    if extra.get("sync_batch_bytes") is not None:
        problems.extend(rules.batch_bytes_problems(int(extra["sync_batch_bytes"])))
    if extra.get("sync_ca_bundle"):
        problems.extend(rules.ca_bundle_problems(str(extra["sync_ca_bundle"])))
    if problems:
        first = problems.items[0]
        raise StationError(first.code, first.message, problems.items)


def configure(home: Path, url: str | None = None, interval_minutes: int | None = None,
              **extra: Any) -> StationConfig:
    """Check (:func:`check`) and save sync settings; ``extra`` takes the keys of ``EXTRA_KEYS``."""
    check(url, interval_minutes, **extra)
    config = read_config(home)
    changes: dict[str, Any] = {}
    if url is not None:
        changes["sync_url"] = url.strip().rstrip("/")
    if interval_minutes is not None:
        changes["sync_interval_minutes"] = interval_minutes
    merged = dict(config.extra or {})
    for key, value in extra.items():
        if key not in EXTRA_KEYS:
            raise KeyError(key)
        if value is None:
            continue
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    changes["extra"] = merged
    return update_config(home, **changes)
