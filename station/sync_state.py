"""How far this station's events have gone: the outbox cursor, and each case's sync state from it.

The outbox (``sync/outbox.py``) is the only writer of the cursor: ``sent_seq`` / ``acked_seq`` are
the highest local event sequence such that every event up to it is in a batch that was sent /
acknowledged by the platform. The domain reads it here (the case list's sync column, the daily
report, the home dashboard), below the sync package, because station/ never imports sync/.
"""

from __future__ import annotations

from dataclasses import dataclass

from station import events as ev
from station.store import Store

_SENT_KEY = "sync.sent_seq"
_ACKED_KEY = "sync.acked_seq"

PENDING, SENT, ACKNOWLEDGED, REMOTE = "pending", "sent", "acknowledged", "remote"
#: A case's sync state as the case screen shows it, and in the narrow column of a case table.
LABELS = {PENDING: "待同步", SENT: "已发送，待确认", ACKNOWLEDGED: "已确认", REMOTE: "外站办件"}
SHORT_LABELS = {PENDING: "待传", SENT: "已发", ACKNOWLEDGED: "已确认", REMOTE: "外站"}


@dataclass(frozen=True)
class OutboxCursor:
    sent_seq: int = 0
    acked_seq: int = 0

    def case_state(self, last_local_seq: int) -> str:
        """A case's sync state from the sequence of its last local event (0: never changed here)."""
        if last_local_seq == 0:
            return REMOTE
        if last_local_seq > self.sent_seq:
            return PENDING
        if last_local_seq > self.acked_seq:
            return SENT
        return ACKNOWLEDGED


def read_cursor(store: Store) -> OutboxCursor:
    return OutboxCursor(int(store.meta_get(_SENT_KEY, "0") or 0), int(store.meta_get(_ACKED_KEY, "0") or 0))


def write_cursor(store: Store, cursor: OutboxCursor) -> None:
    """Only ``sync.outbox`` calls this, inside the transaction that changed a batch's state."""
    store.meta_set(_SENT_KEY, str(cursor.sent_seq))
    store.meta_set(_ACKED_KEY, str(cursor.acked_seq))


def data_events_after(store: Store, seq: int) -> int:
    """Local events after ``seq`` that carry data: audit-only records (logins and the like,
    ``events.AUDIT_ONLY``) ride with the next batch but are not work waiting to be synced."""
    marks = ",".join("?" * len(ev.AUDIT_ONLY))
    return store.conn.execute(f"SELECT COUNT(*) FROM events WHERE station=? AND seq > ? AND type NOT IN ({marks})",
                              (store.station_id, seq, *sorted(ev.AUDIT_ONLY))).fetchone()[0]


def pending_events(store: Store) -> int:
    """What "未上报" counts everywhere: data events the platform has not acknowledged yet."""
    return data_events_after(store, read_cursor(store).acked_seq)
