"""Request budgets: a token bucket per key, and the coarse per-address flood guard in front of the app.

Two budgets, charged at two different moments (docs/security.md, "Anyone on the network"):

* the **flood guard**, per client address (IPv6: per /64), before anything is parsed or verified. It
  is deliberately coarse and large: a county's NAT or VPN may put hundreds of honest stations behind
  one address, and they must not be throttled together;
* the **station quota**, per station, charged only after the station's signature has verified
  (``Platform.ingest(admit=…)`` and the pull's request signature), so nobody can spend a station's
  quota by writing its id into a header.

Both answer 429 with ``Retry-After`` (whole seconds), which the station's transport honours.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

from sync.gateway.refusals import peer_key

MAX_KEYS = 100_000


class RateLimiter:
    """Token bucket per key: ``per_minute`` sustained, bursts up to ``burst`` (default a quarter of that,
    at least 10). Memory is bounded: beyond ``MAX_KEYS`` the least recently seen key is forgotten."""

    def __init__(self, per_minute: int, burst: int | None = None):
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(10, per_minute // 4))
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Take one token: 0.0 when there was one, else the seconds until there will be (nothing taken)."""
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                return (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1, now)
            while len(self._buckets) > MAX_KEYS:
                self._buckets.popitem(last=False)
            return 0.0

    def allow(self, key: str) -> bool:
        return self.wait(key) == 0.0


def retry_after(seconds: float) -> str:
    """The Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))


def too_many(seconds: float, message: str = "请求过于频繁，请稍后再试") -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"error": {"code": "rate_limited", "message": message}}, ensure_ascii=False).encode()
    return 429, [(b"content-type", b"application/json"), (b"retry-after", retry_after(seconds).encode()),
                 (b"content-length", str(len(body)).encode()), (b"connection", b"close")], body


class FloodGuard:
    """ASGI middleware: every HTTP request is charged to its client's address before the app sees it.

    ``record(peer, wait)`` is told of each request turned away (it must not block: it runs on the event
    loop). Sits inside uvicorn's proxy-headers middleware, so behind a trusted proxy the address is
    the client's from X-Forwarded-For, and from anywhere else the socket's."""

    def __init__(self, app: Any, limiter: RateLimiter, record: Callable[[str, float], None]):
        self.app, self.limiter, self.record = app, limiter, record

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        peer = client[0] if client else "?"
        wait = self.limiter.wait("peer:" + peer_key(peer))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        self.record(peer, wait)
        status, headers, body = too_many(wait, f"来自本地址的请求过多，请约 {retry_after(wait)} 秒后再试")
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def in_background(loop: asyncio.AbstractEventLoop | None, fn: Callable[[], None]) -> None:
    """Run ``fn`` in a worker thread without waiting (from the event loop), or now (from a thread)."""
    if loop is None:
        fn()
    else:
        loop.run_in_executor(None, fn)
