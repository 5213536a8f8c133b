"""The gateway store's device methods (issue 12) answer the same on both stores: revocation, batch event
ranges, a device's own events held in any form (stored, refused by authority, held back), its highest
event seq, and the events under a case-number prefix."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from sync.gateway.pg_store import PostgresGatewayStore
from sync.gateway.store import BatchRow, EventRefusalRow, EventRow, SqliteGatewayStore, StationRow
from tests.support.gateway_db import STORES, fresh_database

DEV = "421381105201-d2"
OTHER = "421381105201"


@contextmanager
def open_store(kind: str, tmp_path: Path) -> Iterator[SqliteGatewayStore | PostgresGatewayStore]:
    if kind == "sqlite":
        store = SqliteGatewayStore(tmp_path / "platform.db")
        try:
            yield store
        finally:
            store.close()
        return
    with fresh_database("dev") as url, PostgresGatewayStore(url) as pg:
        yield pg


def _event(station: str, seq: int, case: str | None, hlc: str) -> EventRow:
    body = json.dumps({"id": f"{station}:{seq}", "hlc": hlc, "type": "case.filed"})
    return EventRow(f"{station}:{seq}", station, seq, hlc, case, "case.filed", body)


def _held(station: str, seq: int, case: str, hlc: str, reason: str) -> EventRefusalRow:
    e = _event(station, seq, case, hlc)
    return EventRefusalRow(e.id, station, 2, case, e.type, reason, e.body, "2026-10-01T10:00:00")


@pytest.mark.parametrize("kind", STORES)
def test_device_methods_answer_alike_on_both_stores(kind: str, tmp_path: Path) -> None:
    with open_store(kind, tmp_path) as store:
        with store.transaction():
            for sid in (OTHER, DEV):
                store.put_station(StationRow(sid, "village", "村", b"\x01", b"\x02", "2026-09-01"))
            store.add_batch(BatchRow(DEV, 1, b"\xaa", b"\x00", 2, 1, 2), "2026-10-01T09:00:00", "http")
            store.add_batch(BatchRow(DEV, 2, b"\xbb", b"\xaa", 10, 3, 12), "2026-10-01T10:00:00", "usb")
            # stored: 1, 2 and 12; refused: 3 and 10; held back for their filing: 11 (seq 10 < 11 as numbers,
            # not as text: the seq is read from the id as an integer)
            for seq in (1, 2, 12):
                assert store.add_event(_event(DEV, seq, f"4213811052012026100{seq:02d}", f"h{seq:03d}"),
                                       "2026-10-01T10:00:00")
            assert store.add_event(_event(OTHER, 5, "421381105299202610001", "h900"), "2026-10-01T10:00:00")
        assert store.add_event_refusals([_held(DEV, 3, "421381105201202610003", "h003", "not_owner"),
                                         _held(DEV, 10, "421381105201202610010", "h010", "not_owner")]) == 2
        assert store.add_deferred([_held(DEV, 11, "421381105201202610011", "h011", "awaiting_filing")]) == 1

        assert store.get_station(DEV).revoked_at is None  # type: ignore[union-attr]
        assert store.revoke_station(DEV, "2026-10-02T08:00:00") is True
        assert store.revoke_station(DEV, "2026-10-03T08:00:00") is True  # the first time is kept
        assert store.revoke_station("421381105299", "2026-10-02T08:00:00") is False  # not enrolled
        assert store.get_station(DEV).revoked_at == "2026-10-02T08:00:00"  # type: ignore[union-attr]
        assert [(s.id, s.revoked_at) for s in store.stations()] == [(OTHER, None), (DEV, "2026-10-02T08:00:00")]

        assert store.get_batch(DEV, 2) == BatchRow(DEV, 2, b"\xbb", b"\xaa", 10, 3, 12)
        assert [b.seq for b in store.batches_after(DEV, 0)] == [1, 2]
        assert store.batches_after(DEV, 1) == [BatchRow(DEV, 2, b"\xbb", b"\xaa", 10, 3, 12)]
        assert store.batches_after(DEV, 2) == []

        own = store.own_events_after(DEV, 0, 100)
        assert [(e.seq, e.hlc) for e in own] == [(1, "h001"), (2, "h002"), (3, "h003"), (10, "h010"),
                                                 (11, "h011"), (12, "h012")]
        assert all(e.station == DEV and e.id == f"{DEV}:{e.seq}" and e.case_number for e in own)
        assert [e.seq for e in store.own_events_after(DEV, 2, 3)] == [3, 10, 11]
        assert store.own_events_after(DEV, 12, 100) == []
        assert store.last_event_seq(DEV) == 12
        assert store.last_event_seq(OTHER) == 5
        assert store.last_event_seq("421381105299") == 0

        under = store.case_events_under("421381105201")
        assert [e.seq for e in under] == [1, 2, 12]  # stored events only, in arrival order
        assert [e.station for e in store.case_events_under("4213811052")] == [DEV, DEV, DEV, OTHER]
        assert store.case_events_under("421381105202") == []
