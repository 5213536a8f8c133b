"""The gateway's refusal log, bounded: refusals are counted per (peer, reason, minute).

Anyone on the network can make the gateway refuse something, as often as their link allows. One row
per refusal would let them grow the database without bound and cost a disk sync per junk request,
which is exactly the work a flood wants the platform to do. So the log keeps one row per peer (an
IPv4 address, an IPv6 /64, or ``usb``), reason and minute, with a count and the latest example's
station, sequence, hash and detail.

:meth:`RefusalLog.record` only counts in memory; :meth:`RefusalLog.flush` writes every pending count
in one set-based upsert. A flush is *due* when a new (peer, reason, minute) appeared (so a single
refusal is on record at once) or ``flush_seconds`` have passed; synchronous callers flush then and
there, the event loop hands the flush to a worker thread (it must never wait on the store's lock).
"""

from __future__ import annotations

import ipaddress
import threading
import time
from datetime import datetime
from typing import Callable

from sync.gateway.store import GatewayStore, RefusalRow


def peer_key(host: str) -> str:
    """The unit a refusal (and the flood guard) is counted against: the address, or its /64 for IPv6
    (one subscriber holds a whole /64, so per-address keys would be free to multiply)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class RefusalLog:
    """Counts refusals in memory per (peer, reason, minute) and writes them in sets."""

    def __init__(self, store: GatewayStore, clock: Callable[[], datetime], flush_seconds: float = 2.0):
        self.store, self.clock, self.flush_seconds = store, clock, flush_seconds
        self._pending: dict[tuple[str, str, str], RefusalRow] = {}
        self._written: set[tuple[str, str, str]] = set()
        self._new_key = False
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._flushed_at = time.monotonic()

    def record(self, reason: str, detail: str, station: str | None, seq: int | None, hash_: bytes,
               peer: str) -> bool:
        """Count one refusal (memory only); True when it is the first of its (peer, reason, minute)."""
        now = self.clock()
        key = (peer_key(peer), reason, now.strftime("%Y-%m-%dT%H:%M"))
        with self._lock:
            held = self._pending.get(key)
            first = held is None and key not in self._written
            self._pending[key] = RefusalRow(key[0], reason, key[2], station, seq, hash_, detail[:500],
                                            now.isoformat(timespec="seconds"), held.count + 1 if held else 1)
            self._new_key = self._new_key or first
        return first

    @property
    def due(self) -> bool:
        with self._lock:
            return bool(self._pending) and (self._new_key or time.monotonic() - self._flushed_at >= self.flush_seconds)

    def flush(self) -> None:
        """Write every pending count (one set-based upsert); forget written keys of minutes gone by."""
        with self._flush_lock:  # one writer at a time keeps counts in order
            with self._lock:
                rows, self._pending, self._new_key = list(self._pending.values()), {}, False
                self._flushed_at = time.monotonic()
                minute = self.clock().strftime("%Y-%m-%dT%H:%M")
                self._written = {k for k in self._written if k[2] >= minute}
                self._written |= {(r.peer, r.reason, r.minute) for r in rows}
            if rows:
                self.store.record_refusals(rows)
