"""`station platform migrate --to URL`: move a platform's state from its SQLite file to PostgreSQL.

Stop the gateway first. Every table is copied with COPY in arrival order (so ``events.pos`` keeps
SQLite's rowid order), the inbox heads and the platform's event sequence are set from the data, the
database is claimed for this platform (its key fingerprint) and recorded in the home. Counts are
compared table by table before the home is switched; on any difference nothing is switched. The
SQLite file stays where it is, untouched, as the copy to fall back on.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sync.errors import SyncError
from sync.gateway import database

# table -> (columns, order); columns as in both schemas (PostgreSQL's identity columns left out)
TABLES: dict[str, tuple[str, str]] = {
    "stations": ("id, role, name, kem_public, sig_public, enrolled_at, revoked_at", "id"),
    "batches": ("station, seq, hash, prev_hash, events, received_at, via, first_event, last_event", "station, seq"),
    "refusals": ("station, seq, hash, reason, detail, at, peer, minute, count", "id"),
    "event_refusals": ("event_id, station, batch_seq, case_number, type, reason, body, at", "rowid"),
    "deferred_events": ("event_id, station, batch_seq, case_number, type, reason, body, at", "rowid"),
    "gaps": ("station, seq, noted_at", "station, seq"),
    "events": ("id, station, seq, hlc, case_number, type, body, received_at, batch, line", "rowid"),
    "batch_bodies": ("station, seq, body", "station, seq"),
    "cases": ("number, village, item_code, item_name, status, updated_hlc, events, owner, level", "number"),
    "conflicts": ("event_id, case_number, type, reason, status_then, at", "rowid"),
    "inbox": ("station, idx, event_id", "station, idx"),
    "inbox_batches": ("station, seq, hash, first_idx, last_idx, events, blob, created_at", "station, seq"),
    "clock_flags": ("station, stamp_ms, platform_ms, at, batches", "station"),
    "station_activity": ("station, last_batch_at, last_pull_at, acked_seq", "station"),
}


def move_to_postgres(home: Path, url: str) -> dict[str, Any]:
    """Copy the home's SQLite state into the (empty) database at ``url`` and switch the home to it."""
    from sync.gateway.platform import DB_FILE, read_platform_config
    from sync.gateway.store import SqliteGatewayStore
    from sync.keys import load_or_create

    url = database.check_url(url)
    config = read_platform_config(home)
    if (home / database.URL_FILE).is_file():
        raise SyncError("already_postgres", f"平台已使用 PostgreSQL：{database.mask_url(database.resolve(home))}")
    if not (home / DB_FILE).is_file():
        raise SyncError("no_sqlite", f"平台目录中没有 {DB_FILE}，没有可迁移的数据")
    fingerprint = load_or_create(home, config.id).public.fingerprint()
    SqliteGatewayStore(home / DB_FILE).close()  # brings an older file up to date (its own migrations)
    src = sqlite3.connect(f"file:{home / DB_FILE}?mode=ro", uri=True)
    try:
        with database.open_store(home, url) as store:
            owner = store.meta(database.FINGERPRINT_KEY)
            if owner is not None:
                raise SyncError("database_foreign", f"数据库 {database.mask_url(url)} 已属于一个平台（公钥核对码"
                                                    f" {owner}），请迁移到一个空数据库")
            if any(store.counts().values()):
                raise SyncError("database_not_empty", f"数据库 {database.mask_url(url)} 中已有平台数据，请迁移到一个空数据库")
            with store.pool.connection() as conn, conn.transaction():
                copied = {t: _copy(src, conn, t, cols, order) for t, (cols, order) in TABLES.items()}
                conn.execute("INSERT INTO station_activity(station, last_batch_at) SELECT station, max(received_at)"
                             " FROM batches GROUP BY station ON CONFLICT (station) DO NOTHING")
                conn.execute("INSERT INTO inbox_heads SELECT station, max(idx) FROM inbox GROUP BY station")
                for key, value in src.execute("SELECT key, value FROM meta"):
                    if key == "platform_seq":
                        conn.execute("SELECT setval('platform_seq', %s)", (int(value),))
                    else:
                        conn.execute("INSERT INTO meta VALUES (%s, %s)", (key, value))
                conn.execute("INSERT INTO meta VALUES (%s, %s)", (database.FINGERPRINT_KEY, fingerprint))
                held = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
                if held != copied:
                    raise SyncError("migrate_mismatch", f"迁移后行数不符，已撤销：{copied} → {held}")
    finally:
        src.close()
    database.record(home, url)
    return {"home": str(home), "database": database.mask_url(url), "tables": copied}


def _copy(src: sqlite3.Connection, conn: Any, table: str, cols: str, order: str) -> int:
    have = {r[1] for r in src.execute(f"PRAGMA table_info({table})")}
    if not have:
        return 0
    n = 0
    with conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in src.execute(f"SELECT {cols} FROM {table} ORDER BY {order}"):
            copy.write_row(row)
            n += 1
    return n
