"""The PostgreSQL store's schema, as numbered migrations (applied by :func:`migrate`).

Every migration runs once, in its own transaction with its row in ``schema_migrations``. All of them
run under one session-level advisory lock, so several workers (or hosts) starting at once against one
database apply each migration exactly once: the first takes the lock and migrates, the others wait
and then find nothing left to do.

Text columns that are compared or ordered are ``COLLATE "C"`` (byte order, as SQLite compares), so
range scans on station prefixes and orderings by id, number and time mean the same on both stores
whatever the database's default collation.

Adding a migration: append ``Migration(n, "what", [SQL, ...])`` to :data:`MIGRATIONS`; a new database
runs them all from 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync.errors import SyncError

MIGRATION_LOCK = 7_301_913  # pg_advisory_lock key: "one migrator at a time" for this schema

T = 'text COLLATE "C"'


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "platform state as of issue 11 (authority, deferred events, case owners)", (
        f"""CREATE TABLE stations (id {T} PRIMARY KEY, role {T} NOT NULL, name text NOT NULL,
            kem_public bytea NOT NULL, sig_public bytea NOT NULL, enrolled_at {T} NOT NULL)""",
        f"""CREATE TABLE batches (station {T} NOT NULL, seq bigint NOT NULL, hash bytea NOT NULL,
            prev_hash bytea NOT NULL, events integer NOT NULL, received_at {T} NOT NULL, via {T} NOT NULL,
            PRIMARY KEY (station, seq))""",
        f"""CREATE TABLE refusals (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, station {T}, seq bigint,
            hash bytea, reason {T} NOT NULL, detail text, at {T} NOT NULL, peer {T}, minute {T},
            count bigint NOT NULL DEFAULT 1)""",
        "CREATE UNIQUE INDEX refusals_key ON refusals(peer, reason, minute)",
        f"""CREATE TABLE event_refusals (pos bigint GENERATED ALWAYS AS IDENTITY, event_id {T} PRIMARY KEY,
            station {T} NOT NULL, batch_seq bigint NOT NULL, case_number {T}, type {T} NOT NULL,
            reason {T} NOT NULL, body text NOT NULL, at {T} NOT NULL)""",
        f"""CREATE TABLE deferred_events (event_id {T} PRIMARY KEY, station {T} NOT NULL, batch_seq bigint NOT NULL,
            case_number {T} NOT NULL, type {T} NOT NULL, reason {T} NOT NULL, body text NOT NULL, at {T} NOT NULL)""",
        "CREATE INDEX deferred_case ON deferred_events(case_number)",
        f"""CREATE TABLE gaps (station {T} NOT NULL, seq bigint NOT NULL, noted_at {T} NOT NULL,
            PRIMARY KEY (station, seq))""",
        # pos: arrival order (SQLite's rowid); (station, seq) is unique: one event per station sequence
        f"""CREATE TABLE events (pos bigint GENERATED ALWAYS AS IDENTITY, id {T} PRIMARY KEY, station {T} NOT NULL,
            seq bigint NOT NULL, hlc {T} NOT NULL, case_number {T}, type {T} NOT NULL, body text NOT NULL,
            received_at {T} NOT NULL, UNIQUE (station, seq))""",
        "CREATE INDEX events_type ON events(type, pos)",
        "CREATE INDEX events_case ON events(case_number)",
        f"""CREATE TABLE cases (number {T} PRIMARY KEY, village {T} NOT NULL, item_code {T} NOT NULL,
            item_name text NOT NULL, status {T} NOT NULL, updated_hlc {T} NOT NULL, events integer NOT NULL DEFAULT 1,
            owner {T} NOT NULL DEFAULT '', level {T} NOT NULL DEFAULT '')""",
        f"""CREATE TABLE conflicts (event_id {T} PRIMARY KEY, case_number {T}, type {T} NOT NULL, reason {T} NOT NULL,
            status_then {T}, at {T} NOT NULL)""",
        f"""CREATE TABLE inbox (station {T} NOT NULL, idx bigint NOT NULL, event_id {T} NOT NULL,
            PRIMARY KEY (station, idx), UNIQUE (station, event_id))""",
        f"""CREATE TABLE inbox_batches (station {T} NOT NULL, seq bigint NOT NULL, hash bytea NOT NULL,
            first_idx bigint NOT NULL, last_idx bigint NOT NULL, events integer NOT NULL, blob bytea NOT NULL,
            created_at {T} NOT NULL, PRIMARY KEY (station, seq))""",
        f"CREATE TABLE meta (key {T} PRIMARY KEY, value text NOT NULL)",
        f"""CREATE TABLE clock_flags (station {T} PRIMARY KEY, stamp_ms bigint NOT NULL, platform_ms bigint NOT NULL,
            at {T} NOT NULL, batches integer NOT NULL DEFAULT 1)""",
        "CREATE SEQUENCE platform_seq",
    )),
    Migration(2, "inbox heads: each station's last inbox index, bumped in the writing transaction (gapless)", (
        f"CREATE TABLE inbox_heads (station {T} PRIMARY KEY, last_idx bigint NOT NULL)",
        "INSERT INTO inbox_heads SELECT station, max(idx) FROM inbox GROUP BY station",
    )),
    Migration(3, "stations' last contact and acknowledged inbox cursor (status, metrics, inbox trimming)", (
        f"""CREATE TABLE station_activity (station {T} PRIMARY KEY, last_batch_at {T}, last_pull_at {T},
            acked_seq bigint NOT NULL DEFAULT 0)""",
        """INSERT INTO station_activity(station, last_batch_at)
            SELECT station, max(received_at) FROM batches GROUP BY station""",
    )),
    Migration(4, "devices (issue 12): revocation, the event seqs each batch carried, own events by station", (
        f"ALTER TABLE stations ADD COLUMN revoked_at {T}",
        "ALTER TABLE batches ADD COLUMN first_event bigint NOT NULL DEFAULT 0",
        "ALTER TABLE batches ADD COLUMN last_event bigint NOT NULL DEFAULT 0",
        "CREATE INDEX event_refusals_station ON event_refusals(station)",
        "CREATE INDEX deferred_station ON deferred_events(station)",
    )),
    Migration(5, "events by type only for the platform's own (the only type lookups); one index less per event", (
        "CREATE INDEX events_platform_type ON events(type, pos) WHERE station = 'platform'",
        "DROP INDEX events_type",
    )),
    Migration(6, "event bodies stored with their batch, sealed whole (sync/gateway/batch_bodies.py)", (
        "ALTER TABLE events ADD COLUMN batch bigint",
        "ALTER TABLE events ADD COLUMN line integer",
        f"""CREATE TABLE batch_bodies (station {T} NOT NULL, seq bigint NOT NULL, body bytea NOT NULL,
            PRIMARY KEY (station, seq))""",
    )),
)

LATEST = MIGRATIONS[-1].version


def applied_versions(conn: Any) -> set[int]:
    exists = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0]
    if exists is None:
        return set()
    return {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}


def migrate(conn: Any, upto: int | None = None) -> list[int]:
    """Apply the migrations not applied yet (up to ``upto``), each in its own transaction; the versions
    applied now. ``conn`` is an autocommit psycopg connection."""
    done: list[int] = []
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
    try:
        conn.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY,
                        name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())""")
        have = applied_versions(conn)
        unknown = sorted(have - {m.version for m in MIGRATIONS})
        if unknown:  # a newer release migrated it: old code must not write to a schema it does not know
            raise SyncError("schema_too_new", f"平台数据库的架构版本（{'、'.join(map(str, unknown))}）比本程序认识的"
                                              f"（{LATEST}）新：它已被更新版本的网关升级过。请升级本机的程序后再运行，"
                                              "数据库未作任何改动")
        for m in MIGRATIONS:
            if m.version in have or (upto is not None and m.version > upto):
                continue
            with conn.transaction():
                for sql in m.statements:
                    conn.execute(sql)
                conn.execute("INSERT INTO schema_migrations(version, name) VALUES (%s, %s)", (m.version, m.name))
            done.append(m.version)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return done
