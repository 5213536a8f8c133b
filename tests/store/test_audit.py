"""`db rebuild` gives identical projections; `db check` catches edits made outside the program."""

from __future__ import annotations

import sqlite3

import pytest

from station.audit import check, rebuild
from station.cases import file_case, record_materials, withdraw
from station.schema import PROJECTIONS
from station.sample_data import make_submission
from station.store import Store
from tests.support import item_by_initials


def _snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in (spec.name for spec in PROJECTIONS)}


@pytest.fixture
def busy_store(store, catalog, agent, rng):
    item = item_by_initials(catalog, "gljt")
    numbers = []
    for i in range(12):
        filed = file_case(store, catalog, item.code, make_submission(item, rng, store.clock().date(), waive=i % 3 == 0), agent)
        numbers.append(filed)
    record_materials(store, numbers[0].number, list(numbers[0].waived), agent)
    withdraw(store, numbers[1].number, "申请人要求撤回", agent)
    return store


def test_rebuild_gives_identical_projections_and_search(busy_store) -> None:
    before = _snapshot(busy_store.conn)
    hits_before = busy_store.conn.execute("SELECT rowid FROM cases_fts WHERE cases_fts MATCH 'gljt*'").fetchall()
    events = rebuild(busy_store)
    assert events == busy_store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert _snapshot(busy_store.conn) == before
    hits_after = busy_store.conn.execute("SELECT rowid FROM cases_fts WHERE cases_fts MATCH 'gljt*'").fetchall()
    assert len(hits_after) == len(hits_before) == 12
    assert check(busy_store).ok


def _tamper(home, sql: str) -> None:
    conn = sqlite3.connect(home / "station.db")
    conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize("sql, code", [
    ("UPDATE events SET operator='假冒' WHERE seq=3", "chain_broken"),
    ("UPDATE events SET body=replace(body, '\"received\"', '\"waived\"') WHERE type='case.filed' AND seq=4", "chain_broken"),
    ("DELETE FROM events WHERE seq=5", "sequence_gap"),
    ("UPDATE cases SET status='approved' WHERE rowid=2", "projection_mismatch"),
    ("DELETE FROM materials WHERE rowid=1", "projection_mismatch"),
])
def test_check_detects_edits_outside_the_program(busy_store, village_home, sql, code) -> None:
    assert check(busy_store).ok
    busy_store.close()
    _tamper(village_home, sql)
    with Store.open(village_home) as store:
        report = check(store)
    assert not report.ok
    assert code in {p["code"] for p in report.problems}
    assert all(p["message"] for p in report.problems)


def test_recomputing_the_chain_without_the_key_does_not_help(busy_store, village_home) -> None:
    """An editor who knows the algorithm but not the station key cannot re-link the chain."""
    import hashlib
    import json

    from station.events import Event

    busy_store.close()
    conn = sqlite3.connect(village_home / "station.db")
    conn.execute("UPDATE events SET operator='假冒' WHERE seq=3")
    prev = "0" * 64
    for row in conn.execute("SELECT rowid, id, station, seq, hlc, operator, case_number, type, body, recorded_at,"
                            " origin FROM events ORDER BY rowid").fetchall():
        e = Event(*row[1:8], json.loads(row[8]), row[9], row[10])
        link = e.chain_hash(prev, hashlib.sha256(b"guessed key").digest())
        conn.execute("UPDATE events SET chain_hash=? WHERE rowid=?", (link, row[0]))
        prev = link
    conn.commit()
    conn.close()
    with Store.open(village_home) as store:
        assert "chain_broken" in {p["code"] for p in check(store).problems}
