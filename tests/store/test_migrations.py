"""A station.db made before issue 16 (hand-written schema, outbox tables made on first use) opens
with today's code, migrates with its data, and ends up with the tables a new store has.

The old homes are tests/store/fixtures/home-v4/ (the code of 0a3164c) and home-v5/ (main just before
the sqlite-utils schema): schema and rows dumped from a store that code made (fixtures/make_home.py
says how), loaded into a fresh file here.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from station import migrations, schema
from station.audit import check, rebuild
from station.cases import CaseReader, file_case
from station.operators import get_operator
from station.sample_data import make_submission
from station.setup import init_station
from station.store import Store
from station.testing import FixedClock
from sync import outbox
from sync.service import sync_status
from tests.support import item_by_initials

FIXTURES = Path(__file__).parent / "fixtures"
OLD_VERSIONS = (4, 5)


def _old_home(root: Path, version: int) -> Path:
    fixture = FIXTURES / f"home-v{version}"
    home = root / "old"
    shutil.copytree(fixture, home, ignore=shutil.ignore_patterns("station.sql"))
    conn = sqlite3.connect(home / "station.db")
    conn.executescript((fixture / "station.sql").read_text(encoding="utf-8"))
    conn.close()
    return home


def _count(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _shape(conn: sqlite3.Connection) -> dict[str, tuple]:
    """Per table: its columns (name, type, not null, default, pk) and its indexes (columns, unique)."""
    out = {}
    for name in schema.TABLES:
        columns = tuple(tuple(r[1:]) for r in conn.execute(f"PRAGMA table_info({name})"))
        indexes = sorted((tuple(c[2] for c in conn.execute(f"PRAGMA index_info('{ix[1]}')")), ix[2])
                         for ix in conn.execute(f"PRAGMA index_list({name})"))
        out[name] = (columns, tuple(indexes))
    return out


@pytest.fixture(params=OLD_VERSIONS, ids=[f"v{v}" for v in OLD_VERSIONS])
def old_home(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    return _old_home(tmp_path, request.param)


@pytest.mark.parametrize("version", OLD_VERSIONS)
def test_the_fixtures_are_old_stores_with_data(tmp_path: Path, version: int) -> None:
    conn = sqlite3.connect(_old_home(tmp_path, version) / "station.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == version
    assert _count(conn, "cases") == 12 and _count(conn, "events") > 30 and _count(conn, "sync_batches") == 1
    assert "CREATE TABLE events (" in conn.execute("SELECT sql FROM sqlite_master WHERE name='events'").fetchone()[0]


def test_an_old_store_migrates_and_keeps_its_data_its_chain_and_its_outbox(old_home: Path, catalog) -> None:
    raw = sqlite3.connect(old_home / "station.db")
    before = {t: _count(raw, t) for t in ("events", "cases", "materials", "operators", "sync_batches", "meta")}
    names = [r[0] for r in raw.execute("SELECT applicant_name FROM cases ORDER BY rowid")]
    raw.close()
    clock = FixedClock()
    with Store.open(old_home, clock=clock) as store:
        assert store.schema_version == migrations.LATEST
        assert {t: _count(store.conn, t) for t in before} == before
        assert check(store).ok, check(store).problems  # the audit chain and a fresh fold agree
        reader = CaseReader(store, clock().date())
        assert [c.applicant_name for c in reader.list(search=names[3])][:1] == [names[3]]  # the search index
        assert {c.sync_state for c in reader.list(limit=100)} == {"sent"}  # the outbox cursor: sent, no ack
        status = sync_status(store)
        assert status.batches[outbox.SENT] == 1 and status.cursor.sent_seq > 0
        # the store goes on: a new case joins the chain, the search index and the next batch
        item = item_by_initials(catalog, "gljt")
        agent = get_operator(store, "王小红")
        data = make_submission(item, random.Random(5), clock().date(), name="欧阳新来")
        number = file_case(store, catalog, item.code, data, agent).number
        found = CaseReader(store, clock().date()).list(search="欧阳新来")
        assert [(c.number, c.sync_state) for c in found] == [(number, "pending")]
        assert check(store).ok
        assert store.conn.execute("SELECT seq FROM events ORDER BY rowid DESC LIMIT 1").fetchone()[0] \
            == store.last_local_seq()


def test_a_migrated_store_has_the_tables_and_indexes_of_a_new_one(old_home: Path, tmp_path: Path) -> None:
    with Store.open(old_home) as store:
        migrated = _shape(store.conn)
    init_station(tmp_path / "new", "421381105202", "新建村便民服务站")
    with Store.open(tmp_path / "new") as store:
        assert store.schema_version == migrations.LATEST
        fresh = _shape(store.conn)
        fts = store.conn.execute("SELECT sql FROM sqlite_master WHERE name='cases_fts'").fetchone()[0]
    assert migrated == fresh
    assert "unicode61 remove_diacritics 0" in fts


def test_rebuild_of_a_migrated_store_gives_the_same_projections(old_home: Path) -> None:
    with Store.open(old_home) as store:
        tables = [spec.name for spec in schema.PROJECTIONS]
        snapshot = {t: sorted(store.conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}
        rebuild(store)  # drops the old hand-made search index and triggers, makes them with sqlite-utils
        assert {t: sorted(store.conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables} == snapshot
        assert check(store).ok
        name = snapshot["cases"][0][13]
        assert CaseReader(store).list(search=name)


def test_a_transform_migration_keeps_rows_indexes_and_search(old_home: Path, catalog) -> None:
    """What a migration that changes a column does (``migrations.transform``), on a store with data."""
    with Store.open(old_home, clock=FixedClock()) as store:
        rows = store.conn.execute("SELECT rowid, number, promised_amount FROM cases ORDER BY rowid").fetchall()
        indexes = {r[1] for r in store.conn.execute("PRAGMA index_list(cases)")}
        with store.transaction():
            migrations.transform("cases", types={"promised_amount": str})(store)
        assert store.db["cases"].columns_dict["promised_amount"] is str
        after = store.conn.execute("SELECT rowid, number, promised_amount FROM cases ORDER BY rowid").fetchall()
        assert [(r, n, None if a is None else str(a)) for r, n, a in rows] == after  # rowids kept
        assert {r[1] for r in store.conn.execute("PRAGMA index_list(cases)")} == indexes
        item = item_by_initials(catalog, "gljt")
        data = make_submission(item, random.Random(6), store.clock().date(), name="司马改表")
        number = file_case(store, catalog, item.code, data, get_operator(store, "王小红")).number
        assert [c.number for c in CaseReader(store).list(search="司马改表")] == [number]  # triggers made again
        assert check(store).ok


def test_add_column_is_idempotent_because_new_stores_run_every_migration(store) -> None:
    step = migrations.add_column("ratings", "channel", str)
    with store.transaction():
        step(store)
        step(store)
    assert "channel" in store.db["ratings"].columns_dict


def test_migrations_are_numbered_from_one_without_gaps() -> None:
    assert [m.version for m in migrations.MIGRATIONS] == list(range(1, migrations.LATEST + 1))


def test_migration_12_gives_a_store_at_11_the_notice_recalls_table(old_home: Path) -> None:
    """A store of the version before void notices (station/void_notices.py) gets the table their recalls
    fold into, empty (no case.notice_recalled event existed), and passes the check."""
    with Store.open(old_home) as store:
        store.conn.execute("DROP TABLE notice_recalls")
        store.conn.execute("PRAGMA user_version = 11")
    conn = sqlite3.connect(old_home / "station.db")
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name='notice_recalls'").fetchone()
    conn.close()
    with Store.open(old_home) as store:
        assert store.schema_version == migrations.LATEST
        columns = [r[1] for r in store.conn.execute("PRAGMA table_info(notice_recalls)")]
        assert columns == ["event_id", "case_number", "decision_event", "kind", "note", "operator", "station",
                           "recalled_at"]
        assert _count(store.conn, "notice_recalls") == 0
        assert check(store).ok
