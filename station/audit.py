"""Rebuilding projections and checking the log: ``station db rebuild`` and ``station db check``."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from station import projections, schema
from station.events import Event
from station.store import GENESIS, Store

_ROWS_SQL = projections.LOG_ROWS_SQL


@dataclass
class CheckReport:
    events: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, code: str, message: str, **details: Any) -> None:
        self.problems.append({"code": code, "message": message, **details})

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "problems": self.problems}


def rebuild(store: Store) -> int:
    """Drop every projection and fold the whole log again, in one transaction. Returns event count."""
    with store.transaction():
        projections.rebuild(store.db, store.fold_context)
        count = store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    return count


def _check_chain(store: Store, report: CheckReport) -> None:
    previous = GENESIS
    for row in store.conn.execute(
            "SELECT rowid, id, station, seq, hlc, operator, case_number, type, body, recorded_at, origin,"
            " chain_hash FROM events ORDER BY rowid"):
        report.events += 1
        rowid, *fields, link = row
        try:
            event = Event(*fields[:7], json.loads(fields[7]), fields[8], fields[9])
        except ValueError:
            report.add("bad_event_body", f"事件 {fields[0]} 的内容不是有效JSON（数据库被改动）", event=fields[0])
            previous = link
            continue
        expected = event.chain_hash(previous, store.codec.audit_key)
        if expected != link:
            report.add("chain_broken", f"审计链在事件 {event.id}（第{rowid}行）处断开：日志被改动或删除过",
                       event=event.id, rowid=rowid)
            if len(report.problems) > 50:
                return
        previous = link


def _check_sequences(store: Store, report: CheckReport) -> None:
    seqs = [s for (s,) in store.conn.execute("SELECT seq FROM events WHERE station=? ORDER BY seq",
                                             (store.station_id,))]
    # gaps a restore found lost on the dead PC (never synced, never backed up: sync/catchup.py), not deletions
    lost = {tuple(r) for r in json.loads(store.meta_get("catchup.lost_ranges", "") or "[]")}
    expected = 1
    for seq in seqs:
        if seq != expected and (expected, seq - 1) not in lost:
            report.add("sequence_gap", f"本站事件序号缺失：{expected} 到 {seq - 1}（事件被删除）",
                       missing_from=expected, missing_to=seq - 1)
        expected = seq + 1


def _check_projections(store: Store, report: CheckReport) -> None:
    conn = store.conn
    conn.execute("ATTACH DATABASE ':memory:' AS chk")
    try:
        schema.copy_projections(conn, "chk")
        projections.refold(conn, "chk", store.fold_context, conn.execute(_ROWS_SQL).fetchall())
        for table in (spec.name for spec in schema.PROJECTIONS):
            extra = conn.execute(f"SELECT COUNT(*) FROM (SELECT * FROM main.{table} EXCEPT SELECT * FROM chk.{table})").fetchone()[0]
            missing = conn.execute(f"SELECT COUNT(*) FROM (SELECT * FROM chk.{table} EXCEPT SELECT * FROM main.{table})").fetchone()[0]
            if extra or missing:
                report.add("projection_mismatch",
                           f"数据表 {table} 与事件日志不一致（多出 {extra} 行，缺少 {missing} 行）：请运行 station db rebuild",
                           table=table, extra=extra, missing=missing)
        conn.execute("INSERT INTO main.cases_fts(cases_fts, rank) VALUES('integrity-check', 1)")
    except sqlite3.DatabaseError as exc:  # a corrupt FTS index: report it, never hide it
        report.add("index_corrupt", f"检索索引损坏：{exc}；请运行 station db rebuild")
    finally:
        projections.forget_calendar(conn, "chk")
        conn.execute("DETACH DATABASE chk")


def check(store: Store) -> CheckReport:
    report = CheckReport()
    integrity = store.conn.execute("PRAGMA quick_check").fetchone()[0]
    if integrity != "ok":
        report.add("sqlite_corrupt", f"数据库文件损坏：{integrity}")
        return report
    _check_chain(store, report)
    _check_sequences(store, report)
    _check_projections(store, report)
    return report
