"""The station outbox: local events cut into sealed batches, recorded before anything is sent.

A batch row (``sync_batches``; the table is made by the store's migrations, station/schema.py)
holds its number, the event range, its hash and the previous batch's hash, its state and the sealed
bytes. The bytes are written once, in the same transaction that advances :func:`batched_seq`;
sending, resending and USB export all use those same bytes, so a number never names two contents.
States:

    built         sealed and recorded, not yet handed to any link
    sent          handed to the network or written to a USB folder at least once
    acknowledged  a platform-signed ack for exactly this (station, seq, hash) was verified
    held          refused for a reason retrying cannot fix; shown with the reason, later batches flow

The outbox cursor (``station.sync_state.OutboxCursor``: the highest local event seq such that every
event up to it is in a sent / acknowledged batch) is advanced here and nowhere else; the domain reads
it for the case list's sync column and the pending counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from station.store import Store
from station.sync_state import OutboxCursor, write_cursor
from sync import envelope as env
from sync.batching import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_EVENTS, fit

BUILT, SENT, ACKED, HELD = "built", "sent", "acknowledged", "held"
#: A batch state as the operator reads it (the sync screen, ``station sync status``).
STATE_LABELS = {BUILT: "待发送", SENT: "已发送待确认", ACKED: "已确认", HELD: "已搁置"}

@dataclass(frozen=True)
class OutBatch:
    seq: int
    first_seq: int
    last_seq: int
    events: int
    hash: bytes
    state: str
    blob: bytes
    attempts: int
    refusals: int
    reason_code: str | None
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "events": self.events, "first_event_seq": self.first_seq,
                "last_event_seq": self.last_seq, "bytes": len(self.blob), "hash": self.hash.hex(),
                "state": self.state, "attempts": self.attempts, "reason_code": self.reason_code,
                "reason": self.reason}


_COLS = "seq, first_seq, last_seq, events, hash, state, blob, attempts, refusals, reason_code, reason"


_BATCHED_KEY = "sync.batched_seq"


def batched_seq(store: Store) -> int:
    """The last local event sequence already sealed into a batch."""
    return int(store.meta_get(_BATCHED_KEY, "0") or 0)


def cut(store: Store, sender: env.SecretKeys, platform: env.PublicKeys,
        max_bytes: int = DEFAULT_BATCH_BYTES, max_events: int = DEFAULT_BATCH_EVENTS) -> list[int]:
    """Seal every local event not yet in a batch into new batches; returns their numbers."""
    return list(cut_each(store, sender, platform, max_bytes, max_events))


def cut_each(store: Store, sender: env.SecretKeys, platform: env.PublicKeys,
             max_bytes: int = DEFAULT_BATCH_BYTES, max_events: int = DEFAULT_BATCH_EVENTS) -> Iterator[int]:
    """Seal the local events not yet in a batch, yielding each new batch's number once it is committed
    (so a push can send the first batch while the rest are still being cut).

    Each batch is its own transaction (a power cut keeps the ones already cut), and reads the
    watermark inside it, so two processes cutting at once cannot give two batches the same events.
    """
    want = max_events
    while True:
        with store.transaction():
            after = batched_seq(store)
            events = store.local_events_after(after, limit=want)
            if not events:
                return
            wire = [store.wire_event(e) for e in events]
            n, payload = fit(wire, max_bytes)
            last = store.conn.execute("SELECT seq, hash FROM sync_batches ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, env.GENESIS_HASH)
            blob = env.seal(wire[:n], sender, platform, seq, prev, events[n - 1].hlc, payload=payload)
            store.conn.execute(
                "INSERT INTO sync_batches(seq, first_seq, last_seq, events, hash, prev_hash, state, blob,"
                " created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (seq, events[0].seq, events[n - 1].seq, n, env.batch_hash(blob), prev, BUILT, blob,
                 store.clock().isoformat(timespec="seconds")))
            store.meta_set(_BATCHED_KEY, str(events[n - 1].seq))
        yield seq
        # read about what fits next time (events are opened and compressed only once or twice)
        want = min(max_events, n * 2 if n == len(events) else n + n // 4 + 1)


def batches(store: Store, states: tuple[str, ...]) -> list[OutBatch]:
    marks = ",".join("?" * len(states))
    rows = store.conn.execute(f"SELECT {_COLS} FROM sync_batches WHERE state IN ({marks}) ORDER BY seq", states)
    return [OutBatch(*r) for r in rows]


def get(store: Store, seq: int) -> OutBatch | None:
    row = store.conn.execute(f"SELECT {_COLS} FROM sync_batches WHERE seq=?", (seq,)).fetchone()
    return OutBatch(*row) if row else None


def recompute_cursor(store: Store) -> None:
    """Advance the outbox cursor after the batches changed outside this module's writers (catch-up)."""
    _recompute(store)


def _recompute(store: Store) -> None:
    """Advance the outbox cursor over the contiguous prefix of batches sent / acknowledged."""
    sent = acked = 0
    sent_open = acked_open = True
    for state, last_seq in store.conn.execute("SELECT state, last_seq FROM sync_batches ORDER BY seq"):
        if sent_open and state in (SENT, ACKED):
            sent = last_seq
        else:
            sent_open = False
        if acked_open and state == ACKED:
            acked = last_seq
        else:
            acked_open = False
        if not sent_open and not acked_open:
            break
    write_cursor(store, OutboxCursor(sent, acked))


def mark_sent(store: Store, seq: int, via: str) -> None:
    with store.transaction():
        store.conn.execute("UPDATE sync_batches SET state=CASE WHEN state=? THEN ? ELSE state END,"
                           " sent_at=?, via=?, attempts=attempts+1 WHERE seq=?",
                           (BUILT, SENT, store.clock().isoformat(timespec="seconds"), via, seq))
        _recompute(store)


def mark_acknowledged(store: Store, batch: OutBatch, ack: bytes, platform: env.PublicKeys) -> bool:
    """Verify the ack against this batch and mark it; returns False if it was already acknowledged."""
    env.verify_ack(ack, platform, store.station_id, batch.seq, batch.hash)
    with store.transaction():
        cur = store.conn.execute("UPDATE sync_batches SET state=?, acked_at=?, reason_code=NULL, reason=NULL"
                                 " WHERE seq=? AND state<>?",
                                 (ACKED, store.clock().isoformat(timespec="seconds"), batch.seq, ACKED))
        _recompute(store)
    return cur.rowcount == 1


def record_refusal(store: Store, seq: int, code: str, reason: str, hold: bool) -> None:
    with store.transaction():
        store.conn.execute("UPDATE sync_batches SET refusals=refusals+1, reason_code=?, reason=?,"
                           " state=CASE WHEN ? THEN ? ELSE state END WHERE seq=? AND state<>?",
                           (code, reason, hold, HELD, seq, ACKED))
        _recompute(store)


def release_held(store: Store) -> int:
    """Put held batches back in the queue (after the operator fixed the cause)."""
    with store.transaction():
        cur = store.conn.execute("UPDATE sync_batches SET state=?, refusals=0 WHERE state=?", (SENT, HELD))
        _recompute(store)
    return cur.rowcount


# --- inbox cursor ----------------------------------------------------------------------------

def inbox_cursor(store: Store) -> tuple[int, bytes]:
    row = store.conn.execute("SELECT seq, hash FROM sync_inbox ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, env.GENESIS_HASH)


def record_inbox(store: Store, batch: env.Batch, applied: int, duplicates: int, conflicts: int, via: str) -> None:
    store.conn.execute("INSERT INTO sync_inbox VALUES (?,?,?,?,?,?,?,?)",
                       (batch.seq, batch.hash, len(batch.events), applied, duplicates, conflicts,
                        store.clock().isoformat(timespec="seconds"), via))


def counts(store: Store) -> dict[str, int]:
    out = {BUILT: 0, SENT: 0, ACKED: 0, HELD: 0}
    for state, n in store.conn.execute("SELECT state, COUNT(*) FROM sync_batches GROUP BY state"):
        out[state] = n
    return out
