"""The platform's state in PostgreSQL (psycopg 3 and its connection pool): the same
:class:`~sync.gateway.store.GatewayStore` as the SQLite file, for several workers and hosts at once.

Exactly once, in order, whichever worker receives a batch (docs/architecture.md, "Several workers"):

* ``serialize(key)`` takes a transaction-scoped advisory lock; ingest holds ``batches:<station>`` for
  the whole transaction that checks a batch's chain and stores its events, so one station's batches
  are applied one at a time, in the order their transactions get the lock, on any worker or host;
* the unique constraints are the backstop: ``batches (station, seq)``, ``events (id)`` and
  ``events (station, seq)``, ``inbox (station, idx)`` and ``inbox (station, event_id)``: a second
  copy fails its transaction instead of being stored;
* the case rows a batch touches are locked up front (``case_facts`` inside a transaction is
  ``SELECT … ORDER BY number FOR UPDATE``), always in the same order, so a village's filing and a
  township's decision on the same case are applied one after the other;
* inbox indexes come from a counter row per station (``inbox_heads``), bumped in the transaction that
  adds the rows: the next writer waits on that row until this one commits, so indexes are handed out
  and become visible in order, with no gaps, and a rolled-back transaction gives its numbers back.

Bulk writes: inside a transaction the connection is in pipeline mode, so writes are sent without
waiting for their answers; events and inbox rows are buffered and written as one ``unnest`` statement
each, just before the next statement that could read them (or at commit). A batch of 100 events is a
handful of round trips, none per event. ``prefetch_events`` looks up which of a batch's event ids are
held already in one query, so ``add_event`` can answer without asking.
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from sync.gateway.pg_migrations import LATEST, applied_versions, migrate
from sync.gateway.tx_buffer import BufferedWrites, TxBuffer, per_station
from sync.gateway.store import (TRIM_SQL, BatchRow, CaseFactsRow, EventRefusalRow, EventRow, InboxBatchRow,
                                RefusalRow, ReportReads, StationRow)

POOL_WAIT_S = 10.0
CONNECT_TIMEOUT_S = 5  # one connection attempt (sync/gateway/database.py probes with the same)
LOCK_SPACE = 7_301_914  # first key of the two-key advisory locks taken by serialize()
EVENT_COLS = "id, station, seq, hlc, case_number, type, body, batch, line"
STATION_COLS = "id, role, name, kem_public, sig_public, enrolled_at, revoked_at"
BATCH_COLS = "station, seq, hash, prev_hash, events, first_event, last_event"
# a refused or held-back event's seq: its id is "<station>:<seq>"
ID_SEQ = "substr(event_id, strpos(event_id, ':') + 1)::bigint"


@dataclass
class _Tx(TxBuffer):
    """One open transaction: its connection, and what it has written but not yet sent."""

    conn: psycopg.Connection = None  # type: ignore[assignment]
    depth: int = 1


class PostgresGatewayStore(BufferedWrites, ReportReads):
    """The gateway store in PostgreSQL. Thread-safe: a transaction holds one pooled connection for its
    thread; reads outside a transaction borrow one for the statement."""

    def __init__(self, url: str, pool_size: int = 10, migrate_schema: bool = True):
        self.url = url
        # timeout: how long a request waits for a pooled connection. psycopg_pool's 30 s default let a scrape
        # of /metrics or a batch hang for 30 s when the database is gone; 10 s answers "unreachable" sooner.
        # connect_timeout: libpq waits for ever on a host that drops packets; the URL's own value wins
        timeout = {} if "connect_timeout" in conninfo_to_dict(url) else {"connect_timeout": CONNECT_TIMEOUT_S}
        self.pool = ConnectionPool(url, min_size=1, max_size=max(1, pool_size), kwargs={"autocommit": True, **timeout},
                                   configure=_configure, open=True, name="gateway", timeout=POOL_WAIT_S)
        self._local = threading.local()
        try:
            self.pool.wait(timeout=10)
            if migrate_schema:
                with self.pool.connection() as conn:
                    migrate(conn)
        except BaseException:
            self.pool.close()
            raise

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> "PostgresGatewayStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions -------------------------------------------------------------------------

    def _tx(self) -> _Tx | None:
        return getattr(self._local, "tx", None)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN … COMMIT on one pooled connection in pipeline mode; nested use joins the outer one."""
        tx = self._tx()
        if tx is not None:
            tx.depth += 1
            try:
                yield
            finally:
                tx.depth -= 1
            return
        with self.pool.connection() as conn:
            tx = _Tx(conn=conn)
            self._local.tx = tx
            try:
                with conn.pipeline(), conn.transaction():
                    yield
                    self._flush(tx)
            finally:
                self._local.tx = None

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection]:
        """The transaction's connection (its buffered writes sent first), or a pooled one for one statement."""
        tx = self._tx()
        if tx is not None:
            self._flush(tx)
            yield tx.conn
        else:
            with self.pool.connection() as conn:
                yield conn

    def _one(self, sql: str, params: Any = ()) -> tuple | None:
        with self._conn() as conn:
            return conn.execute(sql, params).fetchone()

    def _all(self, sql: str, params: Any = ()) -> list[tuple]:
        with self._conn() as conn:
            return conn.execute(sql, params).fetchall()

    def _write(self, sql: str, params: Any = ()) -> None:
        """A write whose answer nobody waits for (pipelined inside a transaction). It may go out before the
        buffered events and inbox rows: none of these statements reads ``events`` or ``inbox``."""
        tx = self._tx()
        if tx is None:
            with self.transaction():
                self._write(sql, params)
            return
        tx.conn.execute(sql, params)

    def _flush(self, tx: _Tx) -> None:
        """Send the buffered events, case rows and inbox rows: one statement each (arrays in binary)."""
        if not tx.pending():
            return
        if tx.events:
            tx.conn.execute(
                "INSERT INTO events(id, station, seq, hlc, case_number, type, body, received_at, batch, line)"
                " SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[],"
                " %b::text[], %b::text[], %b::bigint[], %b::int[])", [list(c) for c in zip(*tx.take_events())])
        if tx.new_cases:
            tx.conn.execute(
                "INSERT INTO cases(number, village, item_code, item_name, status, updated_hlc, owner, level)"
                " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::text[],"
                " %b::text[], %b::text[])", [list(c) for c in zip(*tx.take_new_cases())])
        if tx.case_updates:
            tx.conn.execute(
                "UPDATE cases c SET status = u.status, updated_hlc = greatest(c.updated_hlc, u.hlc),"
                " events = c.events + u.n FROM unnest(%b::text[], %b::text[], %b::text[], %b::bigint[])"
                " AS u(number, status, hlc, n) WHERE c.number = u.number",
                [list(c) for c in zip(*tx.take_case_updates())])
        if tx.inbox:
            self._write_inbox(tx, *tx.take_inbox())

    def _write_inbox(self, tx: _Tx, fresh: list[tuple[str, str]], old: list[tuple[str, str]]) -> None:
        """Append (station, event) pairs to inboxes, gapless: each station's head row is bumped by how many
        it gets, in station order (no two writers wait on each other's heads in opposite orders)."""
        if old:  # events held before: maybe in that inbox already
            held = set(map(tuple, tx.conn.execute(
                "SELECT station, event_id FROM inbox WHERE (station, event_id) IN"
                " (SELECT * FROM unnest(%b::text[], %b::text[]))",
                [[s for s, _ in old], [e for _, e in old]]).fetchall()))
            fresh = [p for p in fresh if p not in held]
        if not fresh:
            return
        per = per_station(fresh)
        stations = list(per)
        st, ev, ordinal, count = [], [], [], []
        for s in stations:
            for i, e in enumerate(per[s], 1):
                st.append(s), ev.append(e), ordinal.append(i), count.append(len(per[s]))
        tx.conn.execute(
            "WITH bump AS (INSERT INTO inbox_heads AS h(station, last_idx)"
            " SELECT * FROM unnest(%b::text[], %b::bigint[]) ORDER BY 1"
            " ON CONFLICT (station) DO UPDATE SET last_idx = h.last_idx + excluded.last_idx"
            " RETURNING h.station, h.last_idx)"
            " INSERT INTO inbox(station, idx, event_id)"
            " SELECT i.s, b.last_idx - i.n + i.o, i.e FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::bigint[])"
            " AS i(s, e, o, n) JOIN bump b ON b.station = i.s",
            [stations, [len(per[s]) for s in stations], st, ev, ordinal, count])

    def serialize(self, key: str) -> None:
        """Inside a transaction: wait until no other transaction holds ``key``; held until commit or rollback."""
        self._one("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_SPACE, key))

    def prefetch_events(self, ids: list[str]) -> None:
        """Look up in one query which of these event ids are held already (answers ``add_event`` without asking)."""
        tx = self._tx()
        if tx is None or not ids:
            return
        held = {r[0] for r in self._all("SELECT id FROM events WHERE id = ANY(%s)", (ids,))}
        tx.known.update({i: i in held for i in ids})

    # --- migrations and health ----------------------------------------------------------------

    def schema_version(self) -> tuple[int, int]:
        """(applied, latest): the database is ready when they are equal."""
        with self.pool.connection() as conn:
            have = applied_versions(conn)
        return (max(have) if have else 0), LATEST

    def meta(self, key: str) -> str | None:
        r = self._one("SELECT value FROM meta WHERE key=%s", (key,))
        return r[0] if r else None

    def set_meta(self, key: str, value: str) -> None:
        self._write("INSERT INTO meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value))

    # --- stations ---------------------------------------------------------------------------

    def put_station(self, row: StationRow) -> None:
        """Insert or replace the whole row (as SQLite's INSERT OR REPLACE), ``revoked_at`` included."""
        self._write(f"INSERT INTO stations({STATION_COLS}) VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO UPDATE"
                    " SET role=excluded.role, name=excluded.name, kem_public=excluded.kem_public,"
                    " sig_public=excluded.sig_public, enrolled_at=excluded.enrolled_at, revoked_at=excluded.revoked_at",
                    (row.id, row.role, row.name, row.kem_public, row.sig_public, row.enrolled_at, row.revoked_at))

    def get_station(self, station_id: str) -> StationRow | None:
        r = self._one(f"SELECT {STATION_COLS} FROM stations WHERE id=%s", (station_id,))
        return StationRow(*r) if r else None

    def stations(self) -> list[StationRow]:
        return [StationRow(*r) for r in self._all(f"SELECT {STATION_COLS} FROM stations ORDER BY id")]

    def revoke_station(self, station_id: str, at: str) -> bool:
        """Mark a device revoked (once; the first time is kept). False when it is not enrolled."""
        return self._one("UPDATE stations SET revoked_at=coalesce(revoked_at, %s) WHERE id=%s RETURNING 1",
                         (at, station_id)) is not None

    # --- batches ----------------------------------------------------------------------------

    def get_batch(self, station: str, seq: int) -> BatchRow | None:
        r = self._one(f"SELECT {BATCH_COLS} FROM batches WHERE station=%s AND seq=%s", (station, seq))
        return BatchRow(*r) if r else None

    def batches_near(self, station: str, seq: int) -> dict[int, BatchRow]:
        """The station's batches numbered seq-1, seq and seq+1 held here, by number (one read)."""
        rows = self._all(f"SELECT {BATCH_COLS} FROM batches WHERE station=%s AND seq BETWEEN %s AND %s",
                         (station, seq - 1, min(seq + 1, 2**63 - 1)))  # the last number has no successor
        return {r[1]: BatchRow(*r) for r in rows}

    def add_batch(self, row: BatchRow, received_at: str, via: str) -> None:
        self._write("INSERT INTO batches(station, seq, hash, prev_hash, events, received_at, via, first_event,"
                    " last_event) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                    (row.station, row.seq, row.hash, row.prev_hash, row.events, received_at, via,
                     row.first_event, row.last_event))
        self._write("INSERT INTO station_activity(station, last_batch_at) VALUES (%s, %s) ON CONFLICT (station)"
                    " DO UPDATE SET last_batch_at = greatest(station_activity.last_batch_at, excluded.last_batch_at)",
                    (row.station, received_at))

    def add_batch_body(self, station: str, seq: int, body: bytes) -> None:
        self._write("INSERT INTO batch_bodies VALUES (%s,%s,%s)", (station, seq, body))

    def batch_bodies(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], bytes]:
        if not keys:
            return {}
        rows = self._all("SELECT b.station, b.seq, b.body FROM batch_bodies b"
                         " JOIN unnest(%s::text[], %s::bigint[]) AS k(station, seq) USING (station, seq)",
                         ([k[0] for k in keys], [k[1] for k in keys]))
        return {(r[0], int(r[1])): bytes(r[2]) for r in rows}

    def batches_after(self, station: str, seq: int) -> list[BatchRow]:
        """A station's batches held here with a number above ``seq``, in order (its chain, for catch-up)."""
        return [BatchRow(*r) for r in self._all(
            f"SELECT {BATCH_COLS} FROM batches WHERE station=%s AND seq>%s ORDER BY seq", (station, seq))]

    def own_events_after(self, station: str, seq: int, limit: int) -> list[EventRow]:
        """A station's own events above ``seq`` that the platform holds in any form: stored, refused by
        authority, or held back for their filing (all of them were acknowledged to it), in seq order."""
        return [EventRow(*r) for r in self._all(
            f"SELECT {EVENT_COLS} FROM events WHERE station=%s AND seq>%s"
            f" UNION ALL SELECT event_id, station, {ID_SEQ}, (body::json)->>'hlc', case_number, type, body,"
            " NULL::bigint, NULL::integer"
            f" FROM event_refusals WHERE station=%s AND {ID_SEQ} > %s"
            f" UNION ALL SELECT event_id, station, {ID_SEQ}, (body::json)->>'hlc', case_number, type, body,"
            " NULL::bigint, NULL::integer"
            f" FROM deferred_events WHERE station=%s AND {ID_SEQ} > %s"
            " ORDER BY 3 LIMIT %s", (station, seq, station, seq, station, seq, limit))]

    def last_event_seq(self, station: str) -> int:
        """The highest seq of the station's events held here in any form (0: none)."""
        r = self._one(
            "SELECT greatest(coalesce((SELECT max(seq) FROM events WHERE station=%s), 0),"
            f" coalesce((SELECT max({ID_SEQ}) FROM event_refusals WHERE station=%s), 0),"
            f" coalesce((SELECT max({ID_SEQ}) FROM deferred_events WHERE station=%s), 0))",
            (station, station, station))
        return int(r[0]) if r else 0

    def record_refusals(self, rows: list[RefusalRow]) -> None:
        """Add counts per (peer, reason, minute); the row keeps the latest refusal's particulars."""
        rows = sorted(rows, key=lambda r: (r.peer, r.reason, r.minute))  # one lock order for every writer
        with self.transaction():
            tx = self._tx()
            assert tx is not None
            self._flush(tx)
            tx.conn.cursor().executemany(
                "INSERT INTO refusals(station, seq, hash, reason, detail, at, peer, minute, count)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (peer, reason, minute) DO UPDATE SET"
                " count = refusals.count + excluded.count, station = excluded.station, seq = excluded.seq,"
                " hash = excluded.hash, detail = excluded.detail, at = excluded.at",
                [(r.station, r.seq, r.hash, r.reason, r.detail, r.at, r.peer, r.minute, r.count) for r in rows])

    def refusals(self, limit: int = 100) -> list[dict]:
        rows = self._all("SELECT station, seq, upper(encode(coalesce(hash, ''::bytea), 'hex')), reason, detail, at,"
                         " peer, count FROM refusals ORDER BY at DESC, id DESC LIMIT %s", (limit,))
        keys = ("station", "seq", "hash", "reason", "detail", "at", "peer", "count")
        return [dict(zip(keys, r)) for r in rows]

    def _insert_returning_count(self, sql: str, rows: list[tuple]) -> int:
        if not rows:
            return 0
        with self._conn() as conn:
            return conn.execute(sql, [list(c) for c in zip(*rows)]).fetchone()[0]

    def add_event_refusals(self, rows: list[EventRefusalRow]) -> int:
        """Keep refused events (an id already kept is not kept twice); how many were new."""
        return self._insert_returning_count(
            "WITH ins AS (INSERT INTO event_refusals(event_id, station, batch_seq, case_number, type, reason, body, at)"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[],"
            " %b::text[], %b::text[]) ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM ins",
            [(r.event_id, r.station, r.batch_seq, r.case_number, r.type, r.reason, r.body, r.at) for r in rows])

    def add_deferred(self, rows: list[EventRefusalRow]) -> int:
        """Hold events back until their case is filed (an id already held, stored or refused is skipped)."""
        return self._insert_returning_count(
            "WITH ins AS (INSERT INTO deferred_events"
            " SELECT * FROM unnest(%b::text[], %b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[],"
            " %b::text[], %b::text[]) AS d(event_id, station, batch_seq, case_number, type, reason, body, at)"
            " WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = d.event_id)"
            " AND NOT EXISTS (SELECT 1 FROM event_refusals WHERE event_id = d.event_id)"
            " ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) FROM ins",
            [(r.event_id, r.station, r.batch_seq, r.case_number, r.type, r.reason, r.body, r.at) for r in rows])

    def deferred_cases(self, numbers: list[str]) -> set[str]:
        if not numbers:
            return set()
        return {r[0] for r in self._all("SELECT DISTINCT case_number FROM deferred_events"
                                        " WHERE case_number = ANY(%s)", (numbers,))}

    def take_deferred(self, case_number: str) -> list[EventRefusalRow]:
        """Remove and return the events held back for a case, in their sender's order."""
        rows = self._all(
            "DELETE FROM deferred_events WHERE case_number=%s RETURNING event_id, station, batch_seq, case_number,"
            " type, reason, body, at", (case_number,))
        rows.sort(key=lambda r: (r[1], int(r[0].rsplit(":", 1)[1])))
        return [EventRefusalRow(*r) for r in rows]

    def event_refusals(self, limit: int = 100) -> list[dict]:
        keys = ("event_id", "station", "batch_seq", "case_number", "type", "reason", "at")
        rows = self._all(f"SELECT {', '.join(keys)} FROM event_refusals ORDER BY pos DESC LIMIT %s", (limit,))
        return [dict(zip(keys, r)) for r in rows]

    def add_gap(self, station: str, seq: int, at: str) -> None:
        self._write("INSERT INTO gaps VALUES (%s,%s,%s) ON CONFLICT DO NOTHING", (station, seq, at))

    def close_gap(self, station: str, seq: int) -> None:
        self._write("DELETE FROM gaps WHERE station=%s AND seq=%s", (station, seq))

    # --- events and cases -------------------------------------------------------------------

    def get_event(self, event_id: str) -> EventRow | None:
        r = self._one(f"SELECT {EVENT_COLS} FROM events WHERE id=%s", (event_id,))
        return EventRow(*r) if r else None

    def events_of(self, station_prefix: str, case_events_only: bool = True) -> list[EventRow]:
        where = " AND case_number IS NOT NULL" if case_events_only else ""
        return [EventRow(*r) for r in self._all(
            f"SELECT {EVENT_COLS} FROM events WHERE station >= %s AND station < %s{where} ORDER BY station, seq",
            (station_prefix, station_prefix + "\uffff"))]

    def case_events_under(self, number_prefix: str) -> list[EventRow]:
        """Every event held on a case whose number starts with ``number_prefix`` (a village's code, a
        township's jurisdiction prefix), in the order the platform received them."""
        return [EventRow(*r) for r in self._all(
            f"SELECT {EVENT_COLS} FROM events WHERE case_number >= %s AND case_number < %s ORDER BY pos",
            (number_prefix, number_prefix + "\uffff"))]

    def events_of_type(self, type_: str) -> list[EventRow]:
        """The platform's own events of a type (only the platform emits calendars and query URLs)."""
        return [EventRow(*r) for r in self._all(
            f"SELECT {EVENT_COLS} FROM events WHERE type=%s AND station='platform' ORDER BY pos", (type_,))]

    def _buffer(self) -> _Tx | None:
        return self._tx()

    def _event_held(self, event_id: str) -> bool:
        return self._one("SELECT 1 FROM events WHERE id=%s", (event_id,)) is not None

    def _stored_status(self, number: str) -> str | None:
        r = self._one("SELECT status FROM cases WHERE number=%s", (number,))
        return r[0] if r else None

    def case_facts(self, numbers: list[str]) -> list[CaseFactsRow]:
        """Owner and level of the held cases among ``numbers``. Inside a transaction the rows are locked
        (in number order) until it ends, and remembered for ``case_status``."""
        if not numbers:
            return []
        tx = self._tx()
        if tx is None:
            return [CaseFactsRow(*r) for r in self._all(
                "SELECT number, owner, level FROM cases WHERE number = ANY(%s)", (numbers,))]
        rows = self._all("SELECT number, owner, level, status FROM cases WHERE number = ANY(%s)"
                         " ORDER BY number FOR UPDATE", (sorted(set(numbers)),))
        tx.note_cases(numbers, rows)  # type: ignore[arg-type]
        return [CaseFactsRow(r[0], r[1], r[2]) for r in rows]

    def add_conflict(self, event_id: str, case_number: str | None, type_: str, reason: str,
                     status: str | None, at: str) -> None:
        self._write("INSERT INTO conflicts VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT DO NOTHING",
                    (event_id, case_number, type_, reason, status, at))

    def next_platform_seq(self) -> int:
        """A sequence: never handed out twice (it may skip numbers a rolled-back transaction took)."""
        seq = int(self._one("SELECT nextval('platform_seq')")[0])  # type: ignore[index]
        tx = self._tx()
        if tx is not None:
            from sync.keys import PLATFORM_ID

            tx.known[f"{PLATFORM_ID}:{seq}"] = False
        return seq

    # --- inboxes ----------------------------------------------------------------------------

    def inbox_pending(self, station: str, after_idx: int, limit: int) -> list[tuple[int, EventRow]]:
        rows = self._all(
            "SELECT i.idx, e.id, e.station, e.seq, e.hlc, e.case_number, e.type, e.body, e.batch, e.line FROM inbox i"
            " JOIN events e ON e.id = i.event_id WHERE i.station=%s AND i.idx>%s ORDER BY i.idx LIMIT %s",
            (station, after_idx, limit))
        return [(r[0], EventRow(*r[1:])) for r in rows]

    def last_inbox_batch(self, station: str) -> InboxBatchRow | None:
        r = self._one("SELECT station, seq, hash, last_idx, blob FROM inbox_batches WHERE station=%s"
                      " ORDER BY seq DESC LIMIT 1", (station,))
        return InboxBatchRow(*r) if r else None

    def add_inbox_batch(self, row: InboxBatchRow, first_idx: int, events: int, at: str) -> None:
        self._write("INSERT INTO inbox_batches VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                    (row.station, row.seq, row.hash, first_idx, row.last_idx, events, row.blob, at))

    def inbox_batches_after(self, station: str, seq: int, max_bytes: int) -> tuple[list[bytes], bool]:
        out: list[bytes] = []
        size = 0
        with self._conn() as conn, conn.cursor() as cur:
            cur.execute("SELECT blob FROM inbox_batches WHERE station=%s AND seq>%s ORDER BY seq", (station, seq))
            for (blob,) in cur:
                if out and size + len(blob) > max_bytes:
                    return out, True
                out.append(blob)
                size += len(blob)
        return out, False

    def flag_clock(self, station: str, stamp_ms: int, platform_ms: int, at: str) -> None:
        self._write("INSERT INTO clock_flags VALUES (%s,%s,%s,%s,1) ON CONFLICT (station) DO UPDATE SET"
                    " stamp_ms=excluded.stamp_ms, platform_ms=excluded.platform_ms, at=excluded.at,"
                    " batches=clock_flags.batches+1", (station, stamp_ms, platform_ms, at))

    # --- reading ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows per table; ``refusals`` is how many refusals were counted, ``refusal_rows`` the rows holding them."""
        tables = ("stations", "batches", "events", "cases", "conflicts", "event_refusals", "deferred_events", "gaps",
                  "inbox", "inbox_batches")
        r = self._one("SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in tables)
                      + ", (SELECT coalesce(sum(count), 0) FROM refusals), (SELECT count(*) FROM refusals)")
        assert r is not None
        out = {t: int(v) for t, v in zip(tables, r)}
        out["refusals"], out["refusal_rows"] = int(r[-2]), int(r[-1])
        return out

    # --- operations -------------------------------------------------------------------------

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self._all(_pg(sql), tuple(params))

    def note_pull(self, station: str, acked_seq: int, at: str) -> None:
        self._write(_pg(TRIM_SQL["pull"]), (station, at, acked_seq))

    def trim_inboxes(self, cutoff: str) -> int:
        """Remove inbox envelopes acknowledged and older than ``cutoff`` (each station's last one stays),
        and the inbox rows they carried; how many envelopes went."""
        with self.transaction():
            tx = self._tx()
            assert tx is not None
            gone = tx.conn.execute(f"WITH d AS ({_pg(TRIM_SQL['batches'])} RETURNING 1) SELECT count(*) FROM d",
                                   (cutoff,)).fetchone()[0]
            if gone:
                tx.conn.execute(_pg(TRIM_SQL["rows"]))
        return gone

    @property
    def conn(self) -> "QmarkConnection":
        """Ad-hoc reads in SQLite's ``?`` placeholder style (tests and the operator's own checks)."""
        return QmarkConnection(self)


def _configure(conn: psycopg.Connection) -> None:
    """Plan every statement for its own parameters. psycopg prepares a statement after five runs, and
    PostgreSQL then keeps a generic plan chosen on the statistics of that moment: on a new platform
    (empty tables) that is a sequential scan of ``cases`` for every batch, kept while the table grows
    (measured: 35 ms a batch at 18,000 cases, one worker thread, until autovacuum's next ANALYZE)."""
    conn.execute("SET plan_cache_mode = force_custom_plan")


def _pg(sql: str) -> str:
    """SQLite's ``?`` placeholders as psycopg's."""
    return re.sub(r"\?", "%s", sql.replace("%", "%%"))


class QmarkConnection:
    """``execute(sql, params)`` with ``?`` placeholders, returning a fully read result."""

    def __init__(self, store: PostgresGatewayStore):
        self.store = store

    def execute(self, sql: str, params: Any = ()) -> "_Rows":
        return _Rows(self.store.query(sql, tuple(params)))


class _Rows:
    def __init__(self, rows: list[tuple]):
        self.rows = [tuple(r) for r in rows]

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple]:
        return self.rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.rows)
