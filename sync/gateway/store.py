"""The platform's storage, behind one interface (:class:`GatewayStore`) so PostgreSQL can follow.

Only the gateway logic (sync/gateway/gateway.py) calls it; it never sees keys or envelopes'
plaintext other than the event rows it is handed (personal data already sealed under the
platform data key). Every multi-row change happens inside :meth:`transaction`.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

from sync.gateway.tx_buffer import BufferedWrites, TxBuffer, per_station


@dataclass(frozen=True)
class StationRow:
    id: str
    role: str
    name: str
    kem_public: bytes
    sig_public: bytes
    enrolled_at: str
    revoked_at: str | None = None  # `station platform revoke`: its batches are refused from then on


@dataclass(frozen=True)
class BatchRow:
    station: str
    seq: int
    hash: bytes
    prev_hash: bytes
    events: int
    first_event: int = 0  # the sender's event seqs the batch carried (0: not recorded, before issue 12)
    last_event: int = 0


@dataclass(frozen=True)
class EventRow:
    id: str
    station: str
    seq: int
    hlc: str
    case_number: str | None
    type: str
    body: str  # canonical JSON, personal data sealed; '' when the event is in its batch's body:
    batch: int | None = None  # the sender's batch whose stored body holds the event (batch_bodies.py)
    line: int | None = None  # its line there, from 0


@dataclass(frozen=True)
class RefusalRow:
    """Refusals of one (peer, reason, minute): how many, and the latest one's particulars."""

    peer: str
    reason: str
    minute: str  # "YYYY-MM-DDTHH:MM", platform clock
    station: str | None
    seq: int | None
    hash: bytes
    detail: str
    at: str
    count: int = 1


@dataclass(frozen=True)
class EventRefusalRow:
    """An event of an accepted batch that its sender had no authority to send (sync/gateway/authority.py):
    kept with the reason, never folded, never routed."""

    event_id: str
    station: str
    batch_seq: int
    case_number: str | None
    type: str
    reason: str
    body: str  # canonical JSON of the whole wire event, personal data sealed
    at: str


@dataclass(frozen=True)
class CaseFactsRow:
    number: str
    owner: str
    level: str


@dataclass(frozen=True)
class InboxBatchRow:
    station: str
    seq: int
    hash: bytes
    last_idx: int
    blob: bytes


class GatewayStore(Protocol):
    """What the gateway needs from a database. SQLite here; a PostgreSQL store implements the same."""

    def transaction(self) -> AbstractContextManager[None]: ...
    def close(self) -> None: ...
    # concurrency (sync/gateway/pg_store.py): inside a transaction, wait for and hold a named lock until
    # it ends; a hint that these event ids are about to be added (one lookup instead of one per event)
    def serialize(self, key: str) -> None: ...
    def prefetch_events(self, ids: list[str]) -> None: ...
    # stations
    def put_station(self, row: StationRow) -> None: ...
    def get_station(self, station_id: str) -> StationRow | None: ...
    def stations(self) -> list[StationRow]: ...
    def revoke_station(self, station_id: str, at: str) -> bool: ...
    # batches from stations
    def get_batch(self, station: str, seq: int) -> BatchRow | None: ...
    def batches_near(self, station: str, seq: int) -> dict[int, BatchRow]: ...
    def add_batch(self, row: BatchRow, received_at: str, via: str) -> None: ...
    def add_batch_body(self, station: str, seq: int, body: bytes) -> None: ...
    def batch_bodies(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], bytes]: ...
    def record_refusals(self, rows: list[RefusalRow]) -> None: ...
    def add_event_refusals(self, rows: list[EventRefusalRow]) -> int: ...
    def add_deferred(self, rows: list[EventRefusalRow]) -> int: ...
    def take_deferred(self, case_number: str) -> list[EventRefusalRow]: ...
    def deferred_cases(self, numbers: list[str]) -> set[str]: ...
    def add_gap(self, station: str, seq: int, at: str) -> None: ...
    def batches_after(self, station: str, seq: int) -> list[BatchRow]: ...
    def own_events_after(self, station: str, seq: int, limit: int) -> list[EventRow]: ...
    def last_event_seq(self, station: str) -> int: ...
    def close_gap(self, station: str, seq: int) -> None: ...
    # events and cases
    def add_event(self, row: EventRow, received_at: str) -> bool: ...
    def get_event(self, event_id: str) -> EventRow | None: ...
    def events_of(self, station_prefix: str, case_events_only: bool = True) -> list[EventRow]: ...
    def events_of_type(self, type_: str) -> list[EventRow]: ...  # the platform's own
    def case_events_under(self, number_prefix: str) -> list[EventRow]: ...
    def case_status(self, number: str) -> str | None: ...
    def case_facts(self, numbers: list[str]) -> list[CaseFactsRow]: ...
    def put_case(self, number: str, village: str, item_code: str, item_name: str, status: str, hlc: str,
                 owner: str, level: str) -> None: ...
    def set_case_status(self, number: str, status: str, hlc: str) -> None: ...
    def add_conflict(self, event_id: str, case_number: str | None, type_: str, reason: str,
                     status: str | None, at: str) -> None: ...
    def next_platform_seq(self) -> int: ...
    # inboxes
    def add_inbox(self, station: str, event_id: str) -> None: ...
    def inbox_pending(self, station: str, after_idx: int, limit: int) -> list[tuple[int, EventRow]]: ...
    def last_inbox_batch(self, station: str) -> InboxBatchRow | None: ...
    def add_inbox_batch(self, row: InboxBatchRow, first_idx: int, events: int, at: str) -> None: ...
    def inbox_batches_after(self, station: str, seq: int, max_bytes: int) -> tuple[list[bytes], bool]: ...
    def flag_clock(self, station: str, stamp_ms: int, platform_ms: int, at: str) -> None: ...
    # reading
    def counts(self) -> dict[str, int]: ...
    def cases(self) -> list[dict]: ...
    # operations (sync/gateway/ops.py): ad-hoc reads in ``?`` style, a station's pull, inbox trimming
    def query(self, sql: str, params: tuple = ()) -> list[tuple]: ...
    def note_pull(self, station: str, acked_seq: int, at: str) -> None: ...
    def trim_inboxes(self, cutoff: str) -> int: ...


EVENT_COLS = "id, station, seq, hlc, case_number, type, body, batch, line"
# The writer's page cache (SQLite's default is 2,000 KiB): every batch inserts into the event,
# case and inbox indexes at places spread over the whole file, so once the file outgrows the cache each
# insert reads its pages back (docs/benchmarks.md: 2,000 stations' events per gateway CPU second).
WRITER_CACHE_KIB = 256 * 1024

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS stations (
        id TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT NULL, kem_public BLOB NOT NULL,
        sig_public BLOB NOT NULL, enrolled_at TEXT NOT NULL, revoked_at TEXT)""",
    """CREATE TABLE IF NOT EXISTS batches (
        station TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, prev_hash BLOB NOT NULL,
        events INTEGER NOT NULL, received_at TEXT NOT NULL, via TEXT NOT NULL,
        first_event INTEGER NOT NULL DEFAULT 0, last_event INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (station, seq))""",
    # Transport refusals, one row per (peer, reason, minute) with a count (sync/gateway/refusals.py)
    """CREATE TABLE IF NOT EXISTS refusals (
        id INTEGER PRIMARY KEY, station TEXT, seq INTEGER, hash BLOB, reason TEXT NOT NULL, detail TEXT,
        at TEXT NOT NULL, peer TEXT, minute TEXT, count INTEGER NOT NULL DEFAULT 1)""",
    # Events of accepted batches refused by authority (sync/gateway/authority.py), never folded or routed
    """CREATE TABLE IF NOT EXISTS event_refusals (
        event_id TEXT PRIMARY KEY, station TEXT NOT NULL, batch_seq INTEGER NOT NULL, case_number TEXT,
        type TEXT NOT NULL, reason TEXT NOT NULL, body TEXT NOT NULL, at TEXT NOT NULL)""",
    # A village's events on its own case numbers not filed here yet (its batches may arrive out of
    # order): held back, not folded or routed, judged again when the filing arrives
    """CREATE TABLE IF NOT EXISTS deferred_events (
        event_id TEXT PRIMARY KEY, station TEXT NOT NULL, batch_seq INTEGER NOT NULL, case_number TEXT NOT NULL,
        type TEXT NOT NULL, reason TEXT NOT NULL, body TEXT NOT NULL, at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS deferred_case ON deferred_events(case_number)",
    """CREATE TABLE IF NOT EXISTS gaps (
        station TEXT NOT NULL, seq INTEGER NOT NULL, noted_at TEXT NOT NULL, PRIMARY KEY (station, seq))""",
    """CREATE TABLE IF NOT EXISTS events (
        id TEXT PRIMARY KEY, station TEXT NOT NULL, seq INTEGER NOT NULL, hlc TEXT NOT NULL,
        case_number TEXT, type TEXT NOT NULL, body TEXT NOT NULL, received_at TEXT NOT NULL,
        batch INTEGER, line INTEGER)""",
    # each accepted batch's payload, sealed whole (sync/gateway/batch_bodies.py); events point into it
    """CREATE TABLE IF NOT EXISTS batch_bodies (
        station TEXT NOT NULL, seq INTEGER NOT NULL, body BLOB NOT NULL, PRIMARY KEY (station, seq))""",
    "CREATE INDEX IF NOT EXISTS events_station ON events(station, seq)",
    # type lookups are only ever of the platform's own events (calendars, query URLs: enrolment backfill)
    "CREATE INDEX IF NOT EXISTS events_platform_type ON events(type) WHERE station = 'platform'",
    """CREATE TABLE IF NOT EXISTS cases (
        number TEXT PRIMARY KEY, village TEXT NOT NULL, item_code TEXT NOT NULL, item_name TEXT NOT NULL,
        status TEXT NOT NULL, updated_hlc TEXT NOT NULL, events INTEGER NOT NULL DEFAULT 1,
        owner TEXT NOT NULL DEFAULT '', level TEXT NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS conflicts (
        event_id TEXT PRIMARY KEY, case_number TEXT, type TEXT NOT NULL, reason TEXT NOT NULL,
        status_then TEXT, at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS inbox (
        station TEXT NOT NULL, idx INTEGER NOT NULL, event_id TEXT NOT NULL, PRIMARY KEY (station, idx),
        UNIQUE (station, event_id))""",
    """CREATE TABLE IF NOT EXISTS inbox_batches (
        station TEXT NOT NULL, seq INTEGER NOT NULL, hash BLOB NOT NULL, first_idx INTEGER NOT NULL,
        last_idx INTEGER NOT NULL, events INTEGER NOT NULL, blob BLOB NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (station, seq))""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # Stations whose batches carried clock stamps too far ahead of the platform's time (the latest per station)
    # A station's last batch and pull, and the inbox batch it has acknowledged (status, metrics, trimming)
    """CREATE TABLE IF NOT EXISTS station_activity (
        station TEXT PRIMARY KEY, last_batch_at TEXT, last_pull_at TEXT, acked_seq INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS clock_flags (
        station TEXT PRIMARY KEY, stamp_ms INTEGER NOT NULL, platform_ms INTEGER NOT NULL, at TEXT NOT NULL,
        batches INTEGER NOT NULL DEFAULT 1)""",
]


class ReportReads:
    """Whole-table reads for reports, in SQL that SQLite and PostgreSQL read alike (no parameters)."""

    def _all(self, sql: str, params: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    def clock_flags(self) -> list[dict]:
        keys = ("station", "stamp_ms", "platform_ms", "at", "batches")
        return [dict(zip(keys, r)) for r in self._all(f"SELECT {', '.join(keys)} FROM clock_flags ORDER BY station")]

    def cases(self) -> list[dict]:
        keys = ("number", "village", "item_code", "item_name", "status", "updated_hlc", "events", "owner", "level")
        rows = self._all(f"SELECT {', '.join(keys)} FROM cases ORDER BY number")
        return [dict(zip(keys, r)) for r in rows]

    def conflicts(self) -> list[dict]:
        keys = ("event_id", "case_number", "type", "reason", "status_then", "at")
        return [dict(zip(keys, r)) for r in self._all(f"SELECT {', '.join(keys)} FROM conflicts ORDER BY at")]


class SqliteGatewayStore(BufferedWrites, ReportReads):
    """The default store: one SQLite file in WAL mode, fsync on every commit (an ack means stored).

    One writer at a time (a lock and BEGIN IMMEDIATE); its hot writes are buffered and sent in bulk
    (sync/gateway/tx_buffer.py). Reads from any other thread go through that thread's own read
    connection, so a station's request never waits behind another station's ingest (WAL readers do
    not block on the writer)."""

    def __init__(self, path: Path):
        self.path = path
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        self.conn.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        self._lock = threading.RLock()
        self._depth = 0
        self._buf: TxBuffer | None = None
        self._writer: int | None = None  # the thread inside the transaction
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        with self.transaction():
            for sql in SCHEMA:
                self.conn.execute(sql)
            self._migrate()

    def _migrate(self) -> None:
        """Bring a platform.db made before issue 11 up to date: refusal counts, case owners and levels.

        A case held from before owners were recorded gets its village (the number's division code,
        the only station that could file it) and the level from its stored ``case.filed`` event."""
        def columns(table: str) -> set[str]:
            return {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}

        if "count" not in columns("refusals"):
            self.conn.execute("ALTER TABLE refusals ADD COLUMN minute TEXT")
            self.conn.execute("ALTER TABLE refusals ADD COLUMN count INTEGER NOT NULL DEFAULT 1")
        self.conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS refusals_key ON refusals(peer, reason, minute)")
        if "revoked_at" not in columns("stations"):  # issue 12: devices, revocation, catch-up
            self.conn.execute("ALTER TABLE stations ADD COLUMN revoked_at TEXT")
        if "first_event" not in columns("batches"):
            self.conn.execute("ALTER TABLE batches ADD COLUMN first_event INTEGER NOT NULL DEFAULT 0")
            self.conn.execute("ALTER TABLE batches ADD COLUMN last_event INTEGER NOT NULL DEFAULT 0")
        self.conn.execute("CREATE INDEX IF NOT EXISTS event_refusals_station ON event_refusals(station)")
        self.conn.execute("CREATE INDEX IF NOT EXISTS deferred_station ON deferred_events(station)")
        self.conn.execute("DROP INDEX IF EXISTS events_type")  # one index less to keep per event (issue 13)
        if "batch" not in columns("events"):  # issue 13: event bodies stored with their batch
            self.conn.execute("ALTER TABLE events ADD COLUMN batch INTEGER")
            self.conn.execute("ALTER TABLE events ADD COLUMN line INTEGER")
        if "owner" not in columns("cases"):
            self.conn.execute("ALTER TABLE cases ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
            self.conn.execute("ALTER TABLE cases ADD COLUMN level TEXT NOT NULL DEFAULT ''")
            self.conn.execute(
                "UPDATE cases SET owner = village, level = coalesce((SELECT json_extract(e.body,"
                " '$.body.item.handling_level') FROM events e WHERE e.case_number = cases.number"
                " AND e.type = 'case.filed' ORDER BY e.rowid LIMIT 1), '')")

    def close(self) -> None:
        with self._lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One writer at a time (the lock), one BEGIN IMMEDIATE; nested use joins the outer one. The
        buffered writes are sent before COMMIT (or dropped with a ROLLBACK)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth, self._buf, self._writer = 1, TxBuffer(), threading.get_ident()
            try:
                yield
                self._flush()
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth, self._buf, self._writer = 0, None, None

    def serialize(self, key: str) -> None:
        """Nothing to do: a SQLite transaction is already the only writer (BEGIN IMMEDIATE)."""

    def _buffer(self) -> TxBuffer | None:
        """This thread's open transaction's buffer, if it is inside one."""
        return self._buf if self._writer == threading.get_ident() else None

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._readers.append(conn)
        return conn

    def _exec(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        """A statement on the writer's connection, after the buffered writes it might read (the lock: a
        thread outside the transaction waits for it to end, as the connection is shared)."""
        with self._lock:
            self._flush()
            return self.conn.execute(sql, params)

    def _execmany(self, sql: str, rows: list) -> None:
        with self._lock:
            self._flush()
            self.conn.executemany(sql, rows)

    def _one(self, sql: str, params: tuple = ()) -> tuple | None:
        if self._buffer() is not None:
            return self._exec(sql, params).fetchone()
        return self._reader().execute(sql, params).fetchone()

    def _all(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self._buffer() is not None:
            return self._exec(sql, params).fetchall()
        return self._reader().execute(sql, params).fetchall()

    def _flush(self) -> None:
        """Send the buffered events, case rows and inbox rows (one executemany each)."""
        buf = self._buffer()  # only the writer's own buffer, and only by the writer
        if buf is None or not buf.pending():
            return
        if buf.events:
            self.conn.executemany("INSERT OR IGNORE INTO events(id, station, seq, hlc, case_number, type, body,"
                                  " received_at, batch, line) VALUES (?,?,?,?,?,?,?,?,?,?)", buf.take_events())
        if buf.new_cases:
            self.conn.executemany("INSERT INTO cases(number, village, item_code, item_name, status, updated_hlc,"
                                  " owner, level) VALUES (?,?,?,?,?,?,?,?)", buf.take_new_cases())
        if buf.case_updates:
            self.conn.executemany("UPDATE cases SET status=?2, updated_hlc=max(updated_hlc, ?3), events=events+?4"
                                  " WHERE number=?1", buf.take_case_updates())
        if buf.inbox:
            fresh, old = buf.take_inbox()
            if old:  # events held before: maybe in that inbox already
                held = {p for p in old if self.conn.execute("SELECT 1 FROM inbox WHERE station=? AND event_id=?",
                                                            p).fetchone()}
                fresh = [p for p in fresh if p not in held]
            rows = []
            for station, ids in per_station(fresh).items():
                last = self.conn.execute("SELECT MAX(idx) FROM inbox WHERE station=?", (station,)).fetchone()[0] or 0
                rows += [(station, last + i, event_id) for i, event_id in enumerate(ids, 1)]
            self.conn.executemany("INSERT INTO inbox VALUES (?,?,?)", rows)

    def prefetch_events(self, ids: list[str]) -> None:
        """Look up in one query which of these event ids are held already (answers ``add_event``)."""
        buf = self._buffer()
        if buf is None or not ids:
            return
        held: set[str] = set()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            held |= {r[0] for r in self._all(f"SELECT id FROM events WHERE id IN ({','.join('?' * len(chunk))})",
                                             tuple(chunk))}
        buf.known.update({i: i in held for i in ids})

    # --- stations ---------------------------------------------------------------------------

    _STATION_COLS = "id, role, name, kem_public, sig_public, enrolled_at, revoked_at"

    def put_station(self, row: StationRow) -> None:
        self._exec(f"INSERT OR REPLACE INTO stations({self._STATION_COLS}) VALUES (?,?,?,?,?,?,?)",
                          (row.id, row.role, row.name, row.kem_public, row.sig_public, row.enrolled_at, row.revoked_at))

    def get_station(self, station_id: str) -> StationRow | None:
        r = self._one(f"SELECT {self._STATION_COLS} FROM stations WHERE id=?", (station_id,))
        return StationRow(*r) if r else None

    def stations(self) -> list[StationRow]:
        return [StationRow(*r) for r in self._all(f"SELECT {self._STATION_COLS} FROM stations ORDER BY id")]

    def revoke_station(self, station_id: str, at: str) -> bool:
        """Mark a device revoked (once; the first time is kept). False when it is not enrolled."""
        cur = self._exec("UPDATE stations SET revoked_at=coalesce(revoked_at, ?) WHERE id=?", (at, station_id))
        return cur.rowcount == 1

    # --- batches ----------------------------------------------------------------------------

    _BATCH_COLS = "station, seq, hash, prev_hash, events, first_event, last_event"

    def get_batch(self, station: str, seq: int) -> BatchRow | None:
        r = self._one(f"SELECT {self._BATCH_COLS} FROM batches WHERE station=? AND seq=?", (station, seq))
        return BatchRow(*r) if r else None

    def batches_near(self, station: str, seq: int) -> dict[int, BatchRow]:
        """The station's batches numbered seq-1, seq and seq+1 held here, by number (one read)."""
        rows = self._all(f"SELECT {self._BATCH_COLS} FROM batches WHERE station=? AND seq BETWEEN ? AND ?",
                         (station, seq - 1, min(seq + 1, 2**63 - 1)))  # the last number has no successor
        return {r[1]: BatchRow(*r) for r in rows}

    def add_batch(self, row: BatchRow, received_at: str, via: str) -> None:
        self._exec("INSERT INTO batches(station, seq, hash, prev_hash, events, received_at, via, first_event,"
                          " last_event) VALUES (?,?,?,?,?,?,?,?,?)",
                          (row.station, row.seq, row.hash, row.prev_hash, row.events, received_at, via,
                           row.first_event, row.last_event))
        self._exec("INSERT INTO station_activity(station, last_batch_at) VALUES (?, ?) ON CONFLICT(station)"
                          " DO UPDATE SET last_batch_at = max(coalesce(last_batch_at, ''), excluded.last_batch_at)",
                          (row.station, received_at))

    def add_batch_body(self, station: str, seq: int, body: bytes) -> None:
        self._exec("INSERT INTO batch_bodies VALUES (?,?,?)", (station, seq, body))

    def batch_bodies(self, keys: list[tuple[str, int]]) -> dict[tuple[str, int], bytes]:
        out = {}
        for station, seq in keys:
            r = self._one("SELECT body FROM batch_bodies WHERE station=? AND seq=?", (station, seq))
            if r is not None:
                out[(station, seq)] = r[0]
        return out

    def batches_after(self, station: str, seq: int) -> list[BatchRow]:
        """A station's batches held here with a number above ``seq``, in order (its chain, for catch-up)."""
        return [BatchRow(*r) for r in self._all(f"SELECT {self._BATCH_COLS} FROM batches WHERE station=? AND seq>?"
                                                " ORDER BY seq", (station, seq))]

    def own_events_after(self, station: str, seq: int, limit: int) -> list[EventRow]:
        """A station's own events above ``seq`` that the platform holds in any form: stored, refused by
        authority, or held back for their filing (all of them were acknowledged to it), in seq order."""
        return [EventRow(*r) for r in self._all(
            f"SELECT {EVENT_COLS} FROM events WHERE station=? AND seq>?"
            " UNION ALL SELECT event_id, station, CAST(substr(event_id, instr(event_id, ':') + 1) AS INTEGER),"
            " json_extract(body, '$.hlc'), case_number, type, body, NULL, NULL FROM event_refusals WHERE station=?"
            " AND CAST(substr(event_id, instr(event_id, ':') + 1) AS INTEGER) > ?"
            " UNION ALL SELECT event_id, station, CAST(substr(event_id, instr(event_id, ':') + 1) AS INTEGER),"
            " json_extract(body, '$.hlc'), case_number, type, body, NULL, NULL FROM deferred_events WHERE station=?"
            " AND CAST(substr(event_id, instr(event_id, ':') + 1) AS INTEGER) > ?"
            " ORDER BY 3 LIMIT ?", (station, seq, station, seq, station, seq, limit))]

    def last_event_seq(self, station: str) -> int:
        """The highest seq of the station's events held here in any form (0: none)."""
        r = self._one(
            "SELECT max(coalesce((SELECT MAX(seq) FROM events WHERE station=?), 0),"
            " coalesce((SELECT MAX(CAST(substr(event_id, instr(event_id, ':') + 1) AS INTEGER)) FROM event_refusals"
            " WHERE station=?), 0), coalesce((SELECT MAX(CAST(substr(event_id, instr(event_id, ':') + 1) AS INTEGER))"
            " FROM deferred_events WHERE station=?), 0))", (station, station, station))
        return int(r[0]) if r else 0

    def record_refusals(self, rows: list[RefusalRow]) -> None:
        """Add counts per (peer, reason, minute); the row keeps the latest refusal's particulars."""
        with self.transaction():
            self._execmany(
                "INSERT INTO refusals(station, seq, hash, reason, detail, at, peer, minute, count)"
                " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(peer, reason, minute) DO UPDATE SET"
                " count = count + excluded.count, station = excluded.station, seq = excluded.seq,"
                " hash = excluded.hash, detail = excluded.detail, at = excluded.at",
                [(r.station, r.seq, r.hash, r.reason, r.detail, r.at, r.peer, r.minute, r.count) for r in rows])

    def refusals(self, limit: int = 100) -> list[dict]:
        rows = self._all("SELECT station, seq, hex(hash), reason, detail, at, peer, count FROM refusals"
                         " ORDER BY at DESC, id DESC LIMIT ?", (limit,))
        keys = ("station", "seq", "hash", "reason", "detail", "at", "peer", "count")
        return [dict(zip(keys, r)) for r in rows]

    def add_event_refusals(self, rows: list[EventRefusalRow]) -> int:
        """Keep refused events (an id already kept is not kept twice); how many were new."""
        self._flush()
        before = self.conn.total_changes
        self._execmany("INSERT OR IGNORE INTO event_refusals VALUES (?,?,?,?,?,?,?,?)",
                              [(r.event_id, r.station, r.batch_seq, r.case_number, r.type, r.reason, r.body, r.at)
                               for r in rows])
        return self.conn.total_changes - before

    def add_deferred(self, rows: list[EventRefusalRow]) -> int:
        """Hold events back until their case is filed (an id already held, stored or refused is skipped)."""
        self._flush()
        before = self.conn.total_changes
        self._execmany(
            "INSERT OR IGNORE INTO deferred_events SELECT ?,?,?,?,?,?,?,? WHERE NOT EXISTS"
            " (SELECT 1 FROM events WHERE id=?) AND NOT EXISTS (SELECT 1 FROM event_refusals WHERE event_id=?)",
            [(r.event_id, r.station, r.batch_seq, r.case_number, r.type, r.reason, r.body, r.at, r.event_id,
              r.event_id) for r in rows])
        return self.conn.total_changes - before

    def deferred_cases(self, numbers: list[str]) -> set[str]:
        """Which of ``numbers`` have events held back for their filing."""
        out: set[str] = set()
        for i in range(0, len(numbers), 500):
            chunk = numbers[i:i + 500]
            out |= {r[0] for r in self._all(f"SELECT DISTINCT case_number FROM deferred_events WHERE case_number"
                                            f" IN ({','.join('?' * len(chunk))})", tuple(chunk))}
        return out

    def take_deferred(self, case_number: str) -> list[EventRefusalRow]:
        """Remove and return the events held back for a case, in their sender's order."""
        rows = self._exec(
            "SELECT event_id, station, batch_seq, case_number, type, reason, body, at FROM deferred_events"
            " WHERE case_number=? ORDER BY station, CAST(substr(event_id, instr(event_id, ':') + 1) AS INTEGER)",
            (case_number,)).fetchall()
        self._exec("DELETE FROM deferred_events WHERE case_number=?", (case_number,))
        return [EventRefusalRow(*r) for r in rows]

    def event_refusals(self, limit: int = 100) -> list[dict]:
        keys = ("event_id", "station", "batch_seq", "case_number", "type", "reason", "at")
        rows = self._all(f"SELECT {', '.join(keys)} FROM event_refusals ORDER BY rowid DESC LIMIT ?", (limit,))
        return [dict(zip(keys, r)) for r in rows]

    def add_gap(self, station: str, seq: int, at: str) -> None:
        self._exec("INSERT OR IGNORE INTO gaps VALUES (?,?,?)", (station, seq, at))

    def close_gap(self, station: str, seq: int) -> None:
        self._exec("DELETE FROM gaps WHERE station=? AND seq=?", (station, seq))

    # --- events and cases -------------------------------------------------------------------

    def get_event(self, event_id: str) -> EventRow | None:
        r = self._one(f"SELECT {EVENT_COLS} FROM events WHERE id=?", (event_id,))
        return EventRow(*r) if r else None

    def events_of(self, station_prefix: str, case_events_only: bool = True) -> list[EventRow]:
        where = " AND case_number IS NOT NULL" if case_events_only else ""
        return [EventRow(*r) for r in self._all(
            f"SELECT {EVENT_COLS} FROM events"
            f" WHERE station >= ? AND station < ?{where} ORDER BY station, seq",
            (station_prefix, station_prefix + "\uffff"))]

    def case_events_under(self, number_prefix: str) -> list[EventRow]:
        """Every event held on a case whose number starts with ``number_prefix`` (a village's code, a
        township's jurisdiction prefix), in the order the platform received them."""
        return [EventRow(*r) for r in self._all(
            f"SELECT {EVENT_COLS} FROM events"
            " WHERE case_number >= ? AND case_number < ? ORDER BY rowid",
            (number_prefix, number_prefix + "\uffff"))]

    def events_of_type(self, type_: str) -> list[EventRow]:
        """The platform's own events of a type (only the platform emits calendars and query URLs)."""
        return [EventRow(*r) for r in self._all(
            f"SELECT {EVENT_COLS} FROM events WHERE type=? AND station='platform'"
            " ORDER BY rowid", (type_,))]

    def _event_held(self, event_id: str) -> bool:
        return self._one("SELECT 1 FROM events WHERE id=?", (event_id,)) is not None

    def _stored_status(self, number: str) -> str | None:
        r = self._one("SELECT status FROM cases WHERE number=?", (number,))
        return r[0] if r else None

    def case_facts(self, numbers: list[str]) -> list[CaseFactsRow]:
        """Owner and level of the held cases among ``numbers`` (one query per 500 numbers); inside a
        transaction their statuses are remembered for ``case_status``."""
        rows: list[tuple] = []
        for i in range(0, len(numbers), 500):
            chunk = numbers[i:i + 500]
            rows += self._all(f"SELECT number, owner, level, status FROM cases WHERE number IN"
                              f" ({','.join('?' * len(chunk))})", tuple(chunk))
        buf = self._buffer()
        if buf is not None:
            buf.note_cases(numbers, rows)  # type: ignore[arg-type]
        return [CaseFactsRow(r[0], r[1], r[2]) for r in rows]

    def add_conflict(self, event_id: str, case_number: str | None, type_: str, reason: str,
                     status: str | None, at: str) -> None:
        self._exec("INSERT OR IGNORE INTO conflicts VALUES (?,?,?,?,?,?)",
                          (event_id, case_number, type_, reason, status, at))

    def next_platform_seq(self) -> int:
        r = self._exec("SELECT value FROM meta WHERE key='platform_seq'").fetchone()
        seq = int(r[0]) + 1 if r else 1
        self._exec("INSERT OR REPLACE INTO meta VALUES ('platform_seq', ?)", (str(seq),))
        return seq

    # --- inboxes ----------------------------------------------------------------------------

    def inbox_pending(self, station: str, after_idx: int, limit: int) -> list[tuple[int, EventRow]]:
        rows = self._all(
            "SELECT i.idx, e.id, e.station, e.seq, e.hlc, e.case_number, e.type, e.body, e.batch, e.line FROM inbox i"
            " JOIN events e ON e.id = i.event_id WHERE i.station=? AND i.idx>? ORDER BY i.idx LIMIT ?",
            (station, after_idx, limit))
        return [(r[0], EventRow(*r[1:])) for r in rows]

    def last_inbox_batch(self, station: str) -> InboxBatchRow | None:
        r = self._one("SELECT station, seq, hash, last_idx, blob FROM inbox_batches WHERE station=?"
                      " ORDER BY seq DESC LIMIT 1", (station,))
        return InboxBatchRow(*r) if r else None

    def add_inbox_batch(self, row: InboxBatchRow, first_idx: int, events: int, at: str) -> None:
        self._exec("INSERT INTO inbox_batches VALUES (?,?,?,?,?,?,?,?)",
                          (row.station, row.seq, row.hash, first_idx, row.last_idx, events, row.blob, at))

    def inbox_batches_after(self, station: str, seq: int, max_bytes: int) -> tuple[list[bytes], bool]:
        out: list[bytes] = []
        size = 0
        run = self._exec if self._buffer() is not None else self._reader().execute
        for (blob,) in run("SELECT blob FROM inbox_batches WHERE station=? AND seq>? ORDER BY seq", (station, seq)):
            if out and size + len(blob) > max_bytes:
                return out, True
            out.append(blob)
            size += len(blob)
        return out, False

    def flag_clock(self, station: str, stamp_ms: int, platform_ms: int, at: str) -> None:
        with self.transaction():
            self._exec("INSERT INTO clock_flags VALUES (?,?,?,?,1) ON CONFLICT(station) DO UPDATE SET"
                              " stamp_ms=excluded.stamp_ms, platform_ms=excluded.platform_ms, at=excluded.at,"
                              " batches=batches+1", (station, stamp_ms, platform_ms, at))

    # --- reading ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows per table; ``refusals`` is how many refusals were counted, ``refusal_rows`` the rows holding them."""
        out = {t: self._one(f"SELECT COUNT(*) FROM {t}")[0]  # type: ignore[index]
               for t in ("stations", "batches", "events", "cases", "conflicts", "event_refusals", "deferred_events",
                         "gaps", "inbox", "inbox_batches")}
        out["refusals"], out["refusal_rows"] = self._one("SELECT coalesce(SUM(count), 0), COUNT(*) FROM refusals")  # type: ignore[misc]
        return out

    # --- operations -------------------------------------------------------------------------

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self._all(sql, params)

    def note_pull(self, station: str, acked_seq: int, at: str) -> None:
        with self.transaction():
            self._exec(TRIM_SQL["pull"], (station, at, acked_seq))

    def trim_inboxes(self, cutoff: str) -> int:
        """Remove inbox envelopes acknowledged and older than ``cutoff`` (each station's last one stays: its
        chain goes on from it), and the inbox rows they carried; how many envelopes went."""
        with self.transaction():
            gone = self._exec(TRIM_SQL["batches"], (cutoff,)).rowcount
            if gone:
                self._exec(TRIM_SQL["rows"])
        return gone


# Shared by both stores (plain SQL that SQLite and PostgreSQL read alike; ? or %s placeholders)
TRIM_SQL = {
    "pull": "INSERT INTO station_activity(station, last_pull_at, acked_seq) VALUES (?, ?, ?) ON CONFLICT (station)"
            " DO UPDATE SET last_pull_at = excluded.last_pull_at,"
            " acked_seq = CASE WHEN excluded.acked_seq > station_activity.acked_seq THEN excluded.acked_seq"
            " ELSE station_activity.acked_seq END",
    "batches": "DELETE FROM inbox_batches WHERE created_at < ?"
               " AND seq <= (SELECT a.acked_seq FROM station_activity a WHERE a.station = inbox_batches.station)"
               " AND seq < (SELECT max(b.seq) FROM inbox_batches b WHERE b.station = inbox_batches.station)",
    "rows": "DELETE FROM inbox WHERE idx < (SELECT min(b.first_idx) FROM inbox_batches b WHERE b.station = inbox.station)",
}
