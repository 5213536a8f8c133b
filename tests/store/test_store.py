"""The store: durability settings, the append-only log, the clock, personal data at rest."""

from __future__ import annotations

from datetime import datetime, timedelta

from station import hlc
from station.cases import CaseReader, file_case
from station.sample_data import make_submission
from station.store import Store
from tests.support import item_by_initials


def test_wal_and_full_sync(store) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_migrations_are_versioned_and_idempotent(village_home) -> None:
    with Store.open(village_home) as a:
        version = a.schema_version
        tables = {r[0] for r in a.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    with Store.open(village_home) as b:  # reopening applies nothing twice
        assert b.schema_version == version
    assert {"events", "meta", "cases", "materials", "applicants", "cases_fts"} <= tables


def test_events_have_gapless_sequence_and_increasing_stamps_even_when_the_clock_goes_back(
        store, catalog, agent, rng, clock) -> None:
    item = item_by_initials(catalog, "sbkqy")
    for offset in (0, -3600 * 24 * 400, 5, -10):  # the PC clock jumps back more than a year
        clock.now = clock.now + timedelta(seconds=offset)
        file_case(store, catalog, item.code, make_submission(item, rng, clock().date()), agent)
    rows = store.conn.execute("SELECT seq, hlc FROM events WHERE station=? ORDER BY seq",
                              (store.station_id,)).fetchall()
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    stamps = [hlc.Stamp.parse(r[1]) for r in rows]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_hlc_merge_orders_remote_after_seen() -> None:
    last = hlc.Stamp(1000, 0)
    remote = hlc.Stamp(5000, 3)
    merged = hlc.merge(last, remote, wall_ms=10)
    assert merged > remote and merged > last
    assert hlc.tick(merged, wall_ms=0) > merged


def test_personal_data_is_not_in_the_database_file(village_home, catalog, rng, clock) -> None:
    from station.operators import os_account

    item = item_by_initials(catalog, "gljt")
    with Store.open(village_home, clock=clock) as store:
        data = make_submission(item, rng, clock().date(), id_number="11010519401231018X")
        file_case(store, catalog, item.code, data, os_account())
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = b"".join(p.read_bytes() for p in village_home.glob("station.db*"))
    for secret in ("11010519401231018X", "110105194012", data["applicant"]["phone"], data["fields"]["bank_account"]):
        assert secret.encode() not in raw, secret
    assert "欧" not in data["applicant"]["name"]  # the name itself is not secret; it is searchable
    assert data["applicant"]["name"].encode("utf-8") in raw


def test_lookup_by_exact_id_uses_the_keyed_hash(store, catalog, agent, rng) -> None:
    item = item_by_initials(catalog, "gljt")
    file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date(),
                                                         id_number="11010519401231018X"), agent)
    h = store.codec.lookup_hash("11010519401231018X")
    assert store.conn.execute("SELECT COUNT(*) FROM cases WHERE id_hash=?", (h,)).fetchone()[0] == 1
    import hashlib
    assert h != hashlib.sha256(b"11010519401231018X").hexdigest()


def test_remote_events_are_idempotent_and_conflicts_are_kept(store, catalog, agent, rng) -> None:
    item = item_by_initials(catalog, "gljt")
    filed = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date()), agent)
    stamp = str(hlc.Stamp(int(datetime(2026, 9, 22).timestamp() * 1000), 0))
    accept = {"id": "421381105000:1", "station": "421381105000", "seq": 1, "hlc": stamp, "operator": "审核员",
              "case": filed.number, "type": "case.accepted", "body": {}, "recorded_at": "2026-09-22T09:00:00"}
    again = dict(accept)
    illegal = {**accept, "id": "421381105000:2", "seq": 2, "type": "case.supplemented"}
    result = store.ingest_remote([accept, again, illegal])
    assert (result.applied, result.duplicates, result.conflicts) == (1, 1, 1)
    assert CaseReader(store).get(filed.number).status == "accepted"
    conflict = store.conn.execute("SELECT event_id, reason FROM conflicts").fetchall()
    assert conflict == [("421381105000:2", "illegal_transition")]
    assert store.ingest_remote([accept]).duplicates == 1
