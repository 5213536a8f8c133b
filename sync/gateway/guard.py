"""The HTTP server's guard against slow and idle clients: uvicorn's h11 protocol with deadlines.

uvicorn times out only the idle gap *between* requests (``timeout_keep_alive``), and resets even that
on every byte received; nothing bounds how long a client may take to send a request (uvicorn issue
#157, "--timeout-request-start / --timeout-request-complete", open since 2018). ASGI middleware cannot
close that hole: it runs only once the headers are parsed, and it cannot see a connection that never
sends any. So the guard sits where the bytes arrive, in a subclass of uvicorn's ``H11Protocol``:

* **connections**: beyond ``max_connections`` open at once, a new connection is closed at once;
* **headers**: a request's headers must be complete within ``header_timeout_s`` of its first byte
  (of the connection's opening, for the first request);
* **body**: the body must arrive within ``body_timeout_s`` in all, and, after ``body_grace_s``, at
  an average of at least ``body_min_rate`` bytes a second (time the server itself paused reading
  does not count against the client);
* between requests, uvicorn's keep-alive timeout (``keepalive_timeout_s``) applies as before.

A client that misses a deadline is disconnected (no answer: to a station a cut connection means a
bad link, so it keeps its batch and retries later) and the refusal is counted in the refusal log.
The check runs on one timer per connection, every quarter of the shortest deadline (≤ 1 s).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol

IDLE, HEADERS, BODY, RESPONSE = "idle", "headers", "body", "response"


@dataclass(frozen=True)
class ServerLimits:
    max_connections: int = 1000
    header_timeout_s: float = 10.0
    body_timeout_s: float = 120.0
    body_min_rate: int = 1024
    body_grace_s: float = 10.0

    @property
    def tick(self) -> float:
        return max(0.05, min(1.0, self.header_timeout_s / 4, self.body_grace_s / 4))


Cutoff = Callable[[str, str], None]  # (client host, reason code): told of every client cut off


class GuardedH11Protocol(H11Protocol):
    """One connection, with the deadlines above. Build a configured class with :func:`guarded_protocol`."""

    limits: ClassVar[ServerLimits] = ServerLimits()
    on_cutoff: ClassVar[Cutoff | None] = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._phase, self._started, self._received, self._paused_s = HEADERS, self.loop.time(), 0, 0.0
        self._timer: asyncio.TimerHandle | None = None
        if len(self.connections) > self.limits.max_connections:
            self._cut("too_many_connections")
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == IDLE:  # the first byte of the next request on a kept-alive connection
            self._enter(HEADERS)
        elif self._phase == BODY:
            self._received += len(data)
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle:  # the headers of a new request are in
            self._enter(BODY)
        self._settle()

    def on_response_complete(self) -> None:
        cycle = self.cycle
        super().on_response_complete()
        if self.transport.is_closing():
            return
        if self.cycle is not cycle:  # a pipelined request was waiting
            self._enter(BODY)
            self._settle()
        else:
            self._enter(IDLE)  # uvicorn's keep-alive timeout takes over

    # --- the deadlines -----------------------------------------------------------------------

    def _enter(self, phase: str) -> None:
        self._phase, self._started, self._received, self._paused_s = phase, self.loop.time(), 0, 0.0
        if phase in (HEADERS, BODY):
            self._arm()
        else:
            self._disarm()

    def _settle(self) -> None:
        """The body is in (or there was none), or the answer has begun: the client owes nothing more."""
        cycle = self.cycle
        if self._phase == BODY and (cycle is None or not cycle.more_body or cycle.response_started):
            self._enter(RESPONSE)

    def _arm(self) -> None:
        if self._timer is None:
            self._timer = self.loop.call_later(self.limits.tick, self._check)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        self._settle()
        elapsed = self.loop.time() - self._started
        limits = self.limits
        if self._phase == HEADERS and elapsed > limits.header_timeout_s:
            self._cut("header_timeout")
            return
        if self._phase == BODY:
            if self.flow.read_paused:  # the server is not reading: that time is not the client's
                self._paused_s += limits.tick
            owed = limits.body_min_rate * (elapsed - self._paused_s - limits.body_grace_s)
            if elapsed > limits.body_timeout_s:
                self._cut("body_timeout")
                return
            if self._received < owed:
                self._cut("body_too_slow")
                return
        if self._phase in (HEADERS, BODY):
            self._arm()

    def _cut(self, reason: str) -> None:
        self._disarm()
        host = self.client[0] if self.client else "?"
        self.logger.debug("cutting off %s: %s", host, reason)
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the app's receive() now answers http.disconnect
            self.cycle.message_event.set()
        self.transport.close()
        if self.on_cutoff is not None:
            self.on_cutoff(host, reason)


def guarded_protocol(limits: ServerLimits, on_cutoff: Cutoff | None) -> type[GuardedH11Protocol]:
    """A protocol class bound to these limits, for ``uvicorn.Config(http=…)``."""
    attrs: dict[str, Any] = {"limits": limits, "on_cutoff": staticmethod(on_cutoff) if on_cutoff else None}
    return type("GuardedH11Protocol", (GuardedH11Protocol,), attrs)
