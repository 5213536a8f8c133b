"""Cutting a run of events into envelopes bounded in bytes (shared by the outbox and the platform inbox)."""

from __future__ import annotations

from typing import Any

from sync.envelope import encode_events

# Header (≤ 200 bytes with 32-byte ids) + HPKE enc (32) + GCM tag (16) + signature (64).
ENVELOPE_OVERHEAD = 320
DEFAULT_BATCH_BYTES = 32 * 1024
DEFAULT_BATCH_EVENTS = 2000


def fit(events: list[dict[str, Any]], max_bytes: int) -> tuple[int, bytes]:
    """How many leading events fit one envelope of at most ``max_bytes``, and their payload.

    Compresses, and if too big shrinks the count in proportion and tries again. A single event
    larger than the bound travels alone (the gateway's body limit is far above any one event).
    """
    n = len(events)
    budget = max(1024, max_bytes - ENVELOPE_OVERHEAD)
    while True:
        payload = encode_events(events[:n])
        if len(payload) <= budget or n == 1:
            return n, payload
        n = max(1, min(n - 1, int(n * budget / len(payload) * 0.97)))
