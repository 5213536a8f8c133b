"""Hybrid logical clock: event ordering that survives village PCs with wrong clocks.

A stamp is (physical milliseconds, counter). Local events take max(wall clock, last stamp); when the
wall clock has not moved past the last stamp (it jumped backwards, or two events in one millisecond)
the counter goes up instead, so stamps from one station are strictly increasing whatever the clock
does. Receiving a remote stamp merges it in, so causality holds across stations (a decision is
always stamped after the filing it answers). Stamps are written as fixed-width strings so that
string order is time order: ``0001764057600000-0003``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Stamp:
    physical_ms: int
    counter: int

    def __str__(self) -> str:
        return f"{self.physical_ms:016d}-{self.counter:04d}"

    @classmethod
    def parse(cls, text: str) -> "Stamp":
        phys, _, count = text.partition("-")
        return cls(int(phys), int(count))


ZERO = Stamp(0, 0)


def tick(last: Stamp, wall_ms: int) -> Stamp:
    """Stamp for a new local event."""
    if wall_ms > last.physical_ms:
        return Stamp(wall_ms, 0)
    return Stamp(last.physical_ms, last.counter + 1)


def merge(last: Stamp, remote: Stamp, wall_ms: int) -> Stamp:
    """Clock state after receiving an event stamped ``remote``."""
    top = max(last.physical_ms, remote.physical_ms, wall_ms)
    if top == last.physical_ms == remote.physical_ms:
        return Stamp(top, max(last.counter, remote.counter) + 1)
    if top == last.physical_ms:
        return Stamp(top, last.counter + 1)
    if top == remote.physical_ms:
        return Stamp(top, remote.counter + 1)
    return Stamp(top, 0)
