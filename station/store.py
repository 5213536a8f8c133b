"""The station store: one SQLite file, an append-only event log, and projections folded from it.

Durability: WAL mode with ``synchronous=FULL``, so a commit that returned survives a power cut.
Every write is one ``BEGIN IMMEDIATE`` transaction that appends the event(s), updates the
projections and the clock together: a kill -9 leaves either all of it or none of it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

import sqlite_utils

from station import hlc, projections
from station.migrations import MIGRATIONS
from station.events import STATION_INITIALISED, Event, canonical_json, event_id
from station.home import DB_FILE, StationConfig, is_station_home, read_config, read_data_key
from station.pii import PiiCodec
from forms.problems import StationError

Clock = Callable[[], datetime]

GENESIS = "0" * 64

@dataclass(frozen=True)
class IngestResult:
    applied: int
    duplicates: int
    conflicts: int


def _store_error(exc: sqlite3.OperationalError) -> StationError:
    text = str(exc).lower()
    if "full" in text:
        return StationError("disk_full", "磁盘空间不足，本次操作没有保存。请清理磁盘（或更换U盘）后重试，已保存的数据不受影响")
    if "locked" in text or "busy" in text:
        return StationError("store_busy", "数据正被另一个程序长时间占用（如同步或导入），本次操作没有保存，请稍后重试")
    if "readonly" in text or "read-only" in text:
        return StationError("store_readonly", "站点目录不可写，本次操作没有保存。请检查目录权限或磁盘是否写保护")
    return StationError("store_error", f"数据库错误，本次操作没有保存：{exc}")


def damaged_store(exc: sqlite3.DatabaseError) -> StationError:
    """A station.db SQLite cannot read (not a database, a damaged page): restore it from a backup."""
    return StationError("store_damaged", f"站点数据库 station.db 已损坏，无法读取（{exc}）。请不要再写入，"
                                         "联系技术支持，或从备份恢复（station restore）")


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA secure_delete=ON")  # deleted or replaced values are zeroed, not left in free pages
    return conn


def connect_store(path: Path) -> sqlite3.Connection:
    """:func:`connect`, with SQLite's refusals (a damaged file, a locked or read-only one) as operator errors."""
    try:
        return connect(path)
    except sqlite3.OperationalError as exc:
        raise _store_error(exc) from None
    except sqlite3.DatabaseError as exc:
        raise damaged_store(exc) from None


def _finish_split(home: Path, conn: sqlite3.Connection, config: StationConfig) -> StationConfig:
    """A split (sync/split.py) commits the log as the new device first; if it stopped before station.toml
    said so, finish it: the old device's sync key goes, the settings name the device the log was written as."""
    try:
        row = conn.execute("SELECT value FROM meta WHERE key='device.id'").fetchone()
    except sqlite3.OperationalError:
        return config  # a store being created
    if not row or not row[0] or row[0] == config.device_id:
        return config
    from station.devices import parse_station_id
    from station.home import update_config

    parsed = parse_station_id(row[0])
    if parsed is None or parsed[0] != config.division_code:
        return config
    (home / "keys" / "sync.key").unlink(missing_ok=True)
    return update_config(home, device=parsed[1])


def _check_identity(store: "Store") -> None:
    """station.toml must still name the role and service point the store was set up as.

    The role decides who may review what (station/review.py) and the division code the jurisdiction; both
    are recorded in the log's first ``station.initialised`` event. A village that writes role = "township"
    (or its township's code) into station.toml would otherwise decide its own township-level cases here
    and print notices the platform (which judges by the role it enrolled) never accepts."""
    row = store.conn.execute("SELECT body FROM events WHERE type=? ORDER BY rowid LIMIT 1",
                             (STATION_INITIALISED,)).fetchone()
    if row is None:
        return  # a store being rebuilt from a backup or the platform: nothing recorded yet
    try:
        first = json.loads(row[0])
        role, code = str(first.get("role") or ""), str(first.get("station_id") or "")[:12]
    except (ValueError, AttributeError):
        return
    config = store.config
    if (role and role != config.role) or (code and code != config.division_code):
        roles = {"village": "村站", "township": "乡镇中心"}
        raise StationError("identity_mismatch",
                           f"站点配置文件 station.toml 与本站数据不符：本站建立时为 {code}（{roles.get(role, role)}），"
                           f"配置文件现为 {config.division_code}（{roles.get(config.role, config.role)}）。"
                           "角色和区划代码不能手工修改，请改回原值或从备份恢复配置文件")


class Store:
    """One station's store. Open it with :meth:`open`; close it when done."""

    def __init__(self, home: Path, conn: sqlite3.Connection, config: StationConfig, codec: PiiCodec,
                 clock: Clock | None = None):
        self.home = home
        self.conn = conn
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        self.config = config
        self.codec = codec
        self.clock: Clock = clock or datetime.now
        self._in_tx = False
        self.fold_context = projections.FoldContext(config.device_id, codec)

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, home: Path, clock: Clock | None = None, create: bool = False) -> "Store":
        if not create and not is_station_home(home):
            raise StationError("not_a_station", f"目录 {home} 不是服务站目录，请先运行 station init 或 station demo")
        config = read_config(home)
        codec = PiiCodec(read_data_key(home))
        conn = connect_store(home / DB_FILE)
        try:
            config = _finish_split(home, conn, config)
            store = cls(home, conn, config, codec, clock)
            store.migrate()
            if not create:
                _check_identity(store)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise (_store_error(exc) if isinstance(exc, sqlite3.OperationalError) else damaged_store(exc)) from None
        except BaseException:
            conn.close()
            raise
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def migrate(self) -> None:
        """Apply the migrations this file has not had yet (``station/migrations.py``), each in its own
        transaction with its version number; then, on a store that had data, wipe what a migration
        removed (:meth:`_scrub`) if one asks for it."""
        current = self.schema_version
        scrub = False
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            with self.transaction():
                migration.apply(self)
                self.conn.execute(f"PRAGMA user_version={migration.version}")
            scrub = scrub or (migration.scrub and current > 0)  # a new store has nothing to wipe
        if scrub:
            self._scrub()

    def _scrub(self) -> None:
        """Wipe what deleted rows left behind: the WAL is checkpointed and truncated, and VACUUM rewrites
        the file, so values removed by a migration cannot be read back from free pages."""
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.execute("VACUUM")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    # --- transactions ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; nested use joins the outer one.

        SQLite's own failures are turned into operator errors here (disk full, store busy for longer
        than the busy timeout), after the rollback, so nothing half-written stays and the operator
        reads what to do instead of a traceback.
        """
        if self._in_tx:
            yield self.conn
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _store_error(exc) from None
        self._in_tx = True
        try:
            yield self.conn
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise _store_error(exc) from None
        except BaseException:
            self._rollback()
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                self._rollback()
                raise _store_error(exc) from None
        finally:
            self._in_tx = False

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    # --- meta --------------------------------------------------------------------------------

    def meta_get(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def meta_set(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta(key, value) VALUES(?, ?) "
                          "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    # --- the log -----------------------------------------------------------------------------

    @property
    def station_id(self) -> str:
        """This device's station id: what its events, batches and keys are named by (station/devices.py)."""
        return self.config.device_id

    @property
    def division_code(self) -> str:
        """The service point (village or township) this device belongs to."""
        return self.config.division_code

    @property
    def device(self) -> int:
        return self.config.device

    def _next_stamp(self) -> hlc.Stamp:
        last = hlc.Stamp.parse(self.meta_get("hlc", str(hlc.ZERO)) or str(hlc.ZERO))
        stamp = hlc.tick(last, int(time.time() * 1000) if self.clock is datetime.now
                         else int(self.clock().timestamp() * 1000))
        self.meta_set("hlc", str(stamp))
        return stamp

    def _chain_head(self) -> str:
        row = self.conn.execute("SELECT chain_hash FROM events ORDER BY rowid DESC LIMIT 1").fetchone()
        return row[0] if row else GENESIS

    def _insert(self, event: Event) -> None:
        link = event.chain_hash(self._chain_head(), self.codec.audit_key)
        self.conn.execute(
            "INSERT INTO events(id, station, seq, hlc, operator, case_number, type, body, recorded_at,"
            " origin, chain_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (event.id, event.station, event.seq, event.hlc, event.operator, event.case_number,
             event.type, canonical_json(event.body), event.recorded_at, event.origin, link))

    def append(self, type_: str, body: dict[str, Any], operator: str,
               case_number: str | None = None) -> Event:
        """Append one local event and fold it into the projections, durably, in one transaction."""
        with self.transaction():
            seq_row = self.conn.execute("SELECT MAX(seq) FROM events WHERE station=?",
                                        (self.station_id,)).fetchone()
            seq = (seq_row[0] or 0) + 1
            stamp = self._next_stamp()
            event = Event(id=event_id(self.station_id, seq), station=self.station_id, seq=seq,
                          hlc=str(stamp), operator=operator, case_number=case_number, type=type_,
                          body=self.codec.seal_body(body),
                          recorded_at=self.clock().isoformat(timespec="seconds"), origin="local")
            self._insert(event)
            projections.apply(self.conn, "main", event, self.fold_context)
        return event

    def ingest_remote(self, wire_events: list[dict[str, Any]]) -> IngestResult:
        """Apply events that arrived from other stations (already verified by the envelope).

        Idempotent by event id: an event seen before is skipped. Business conflicts (a decision on a
        case that has moved on) are kept in the log and recorded in ``conflicts``, never refused.
        """
        applied = duplicates = conflicts = 0
        with self.transaction():
            for raw in wire_events:
                if self.conn.execute("SELECT 1 FROM events WHERE id=?", (raw["id"],)).fetchone():
                    duplicates += 1
                    continue
                last = hlc.Stamp.parse(self.meta_get("hlc", str(hlc.ZERO)) or str(hlc.ZERO))
                merged = hlc.merge(last, hlc.Stamp.parse(raw["hlc"]), int(self.clock().timestamp() * 1000))
                self.meta_set("hlc", str(merged))
                event = Event(id=raw["id"], station=raw["station"], seq=int(raw["seq"]), hlc=raw["hlc"],
                              operator=raw["operator"], case_number=raw.get("case"), type=raw["type"],
                              body=self.codec.seal_body(raw["body"]), recorded_at=raw["recorded_at"],
                              origin="remote")
                self._insert(event)
                if projections.apply(self.conn, "main", event, self.fold_context):
                    applied += 1
                else:
                    conflicts += 1
        return IngestResult(applied, duplicates, conflicts)

    def row_to_event(self, row: sqlite3.Row | tuple) -> Event:
        (id_, station, seq, stamp, operator, case_number, type_, body, recorded_at, origin) = row[:10]
        return Event(id_, station, seq, stamp, operator, case_number, type_, json.loads(body),
                     recorded_at, origin)

    EVENT_COLUMNS = "id, station, seq, hlc, operator, case_number, type, body, recorded_at, origin"

    def iter_events(self, where: str = "", params: tuple = (), order: str = "rowid",
                    limit: int | None = None) -> Iterator[Event]:
        sql = f"SELECT {self.EVENT_COLUMNS} FROM events {('WHERE ' + where) if where else ''} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        for row in self.conn.execute(sql, params):
            yield self.row_to_event(row)

    def case_events(self, case_number: str) -> list[Event]:
        return list(self.iter_events("case_number=?", (case_number,), order="hlc, id"))

    def local_events_after(self, seq: int, limit: int = 1000) -> list[Event]:
        return list(self.iter_events("station=? AND seq>?", (self.station_id, seq), order="seq", limit=limit))

    def wire_event(self, event: Event) -> dict[str, Any]:
        return event.wire(self.codec.open_body(event.body))

    def last_local_seq(self) -> int:
        row = self.conn.execute("SELECT MAX(seq) FROM events WHERE station=?", (self.station_id,)).fetchone()
        return row[0] or 0

    # --- recovery: a restored, copied or split home (sync/catchup.py) --------------------------

    def adopt_own(self, wire_events: list[dict[str, Any]]) -> int:
        """Append this device's own events as the platform holds them (a restored home catching up):
        same ids, seqs and stamps, origin local, folded like any local event. Call inside a transaction,
        with events in seq order that continue the local sequence."""
        adopted = 0
        for raw in wire_events:
            if self.conn.execute("SELECT 1 FROM events WHERE id=?", (raw["id"],)).fetchone():
                continue
            last = hlc.Stamp.parse(self.meta_get("hlc", str(hlc.ZERO)) or str(hlc.ZERO))
            merged = hlc.merge(last, hlc.Stamp.parse(raw["hlc"]), int(self.clock().timestamp() * 1000))
            self.meta_set("hlc", str(merged))
            event = Event(id=raw["id"], station=self.station_id, seq=int(raw["seq"]), hlc=raw["hlc"],
                          operator=raw["operator"], case_number=raw.get("case"), type=raw["type"],
                          body=self.codec.seal_body(raw["body"]), recorded_at=raw["recorded_at"], origin="local")
            self._insert(event)
            projections.apply(self.conn, "main", event, self.fold_context)
            adopted += 1
        return adopted

    def cut_log(self, first_rowid: int) -> list[Event]:
        """Remove the log from ``first_rowid`` on and return what was removed (in log order), for the
        caller to put back re-sequenced (sync/catchup.py: a forked tail). Call inside a transaction;
        the caller rebuilds the projections when done. The audit chain stays whole: every row put back
        is linked to the row before it, and ``station db check`` verifies it."""
        removed = [self.row_to_event(r) for r in self.conn.execute(
            f"SELECT {self.EVENT_COLUMNS} FROM events WHERE rowid >= ? ORDER BY rowid", (first_rowid,))]
        self.conn.execute("DELETE FROM events WHERE rowid >= ?", (first_rowid,))
        return removed

    def put_back(self, event: Event) -> None:
        """Re-insert a removed event as it was (another station's, or ours unchanged)."""
        self._insert(event)

    def reissue(self, event: Event, case_number: str | None, body: dict[str, Any] | None = None) -> Event:
        """Append a removed local event again under this device's next seq and a fresh stamp, keeping its
        operator, type, recorded time and (sealed) body; optionally under another case number."""
        seq = self.last_local_seq() + 1
        fresh = Event(id=event_id(self.station_id, seq), station=self.station_id, seq=seq, hlc=str(self._next_stamp()),
                      operator=event.operator, case_number=case_number, type=event.type,
                      body=self.codec.seal_body(body) if body is not None else event.body,
                      recorded_at=event.recorded_at, origin="local")
        self._insert(fresh)
        return fresh

    def refold_all(self) -> None:
        """Fold the whole log again into fresh projections (inside the caller's transaction)."""
        projections.rebuild(self.db, self.fold_context)
