"""The PostgreSQL store's schema: an old database with data migrates; workers starting at once migrate once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import psycopg

from sync.gateway.pg_migrations import LATEST, MIGRATIONS, migrate
from sync.gateway.pg_store import PostgresGatewayStore
from sync.gateway.store import EventRow
from tests.support.gateway_db import fresh_database


def test_a_version_1_database_with_data_migrates_and_inboxes_go_on_without_gaps() -> None:
    with fresh_database("old") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            assert migrate(conn, upto=1) == [1]  # the schema as issue 11 left it
            conn.execute("INSERT INTO stations VALUES ('421381105201', 'village', '村', '\\x01', '\\x02', '2026-09-01')")
            conn.execute("INSERT INTO batches VALUES ('421381105201', 1, '\\xaa', '\\x00', 2, '2026-09-02T10:00:00',"
                         " 'http'), ('421381105201', 2, '\\xbb', '\\xaa', 1, '2026-09-03T10:00:00', 'usb')")
            for seq in (1, 2, 3):
                conn.execute("INSERT INTO events(id, station, seq, hlc, case_number, type, body, received_at)"
                             " VALUES (%s, '421381105201', %s, '0000000000000001-0000', NULL, 'operator.login', '{}',"
                             " '2026-09-02')", (f"421381105201:{seq}", seq))
                conn.execute("INSERT INTO inbox VALUES ('421381105000', %s, %s)", (seq, f"421381105201:{seq}"))
        with PostgresGatewayStore(url) as store:
            assert store.schema_version() == (LATEST, LATEST)
            assert store.query("SELECT station, last_idx FROM inbox_heads") == [("421381105000", 3)]
            assert store.query("SELECT station, last_batch_at, acked_seq FROM station_activity") == [
                ("421381105201", "2026-09-03T10:00:00", 0)]
            assert store.counts()["events"] == 3 and store.counts()["batches"] == 2
            # migration 4 (devices): old rows read as not revoked, batches without recorded event ranges
            assert store.get_station("421381105201").revoked_at is None  # type: ignore[union-attr]
            assert [(b.first_event, b.last_event) for b in store.batches_after("421381105201", 0)] == [(0, 0), (0, 0)]
            assert store.last_event_seq("421381105201") == 3
            # migration 6 (batch bodies): old rows keep their own text and point into no batch body
            assert [(r.body, r.batch, r.line) for _, r in store.inbox_pending("421381105000", 0, 10)] == [("{}", None, None)] * 3
            with store.transaction():  # a new event lands after the old ones in the inbox: index 4, no gap
                assert store.add_event(EventRow("421381105201:4", "421381105201", 4, "0000000000000002-0000", None,
                                                "operator.login", "{}"), "2026-09-04")
                store.add_inbox("421381105000", "421381105201:4")
            assert [i for i, _ in store.inbox_pending("421381105000", 0, 10)] == [1, 2, 3, 4]
            applied = store.query("SELECT version FROM schema_migrations ORDER BY version")
            assert [v for (v,) in applied] == [m.version for m in MIGRATIONS]


def _open(url: str) -> None:
    PostgresGatewayStore(url).close()


def test_workers_starting_at_once_apply_each_migration_exactly_once() -> None:
    with fresh_database("race") as url:
        ctx = multiprocessing.get_context("spawn")
        procs = [ctx.Process(target=_open, args=(url,)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=60)
        assert [p.exitcode for p in procs] == [0, 0, 0, 0]
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY 1").fetchall()
        assert rows == [(m.version, 1) for m in MIGRATIONS]


def test_every_pooled_connection_plans_each_statement_for_its_own_parameters() -> None:
    """psycopg prepares a statement after five runs and PostgreSQL would then keep a generic plan chosen on
    an empty platform's statistics (a sequential scan of ``cases`` per batch as the table grows)."""
    with fresh_database("plan") as url, PostgresGatewayStore(url, pool_size=3) as store:
        with store.transaction():  # a pooled connection inside a transaction
            assert store.query("SHOW plan_cache_mode") == [("force_custom_plan",)]
        assert store.query("SHOW plan_cache_mode") == [("force_custom_plan",)]


def test_a_database_from_a_newer_release_is_refused_untouched(tmp_path: Path, platform_store_pg: str) -> None:
    """A database a newer gateway has migrated (a rollback of the code, a second host not yet upgraded):
    every command refuses it with a clear message and changes nothing, instead of running old code on it."""
    import json
    import subprocess

    from sync.gateway.testing import STATION_CLI, make_platform

    phome, _ = make_platform(tmp_path)
    url = (phome / "database.url").read_text(encoding="utf-8")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations(version, name) VALUES (%s, 'from a newer release')", (LATEST + 1,))
        before = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    for command in (["status"], ["cases"], ["serve", "--port", "0"]):
        out = subprocess.run([*STATION_CLI, "platform", *command, "--home", str(phome), "--json"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 1, out.stdout + out.stderr
        error = json.loads(out.stdout)["error"]
        assert error["code"] == "schema_too_new" and str(LATEST + 1) in error["message"], error
        assert "Traceback" not in out.stderr
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall() == before
