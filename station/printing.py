"""Printing a case's documents: build the printout data, render, archive, record, send to the printer.

The printed PDF is always archived under the home first and recorded as a ``notice.printed`` event;
only then is it sent to the configured printer. A printer failure is reported in Chinese and never
loses the document. A reprint is marked 补打 with its count.

The query password is a secret of the citizen's, sealed in the store: the archived copy of a receipt
(存档联) leaves it out, and only the citizen's copy (申请人联) carries it. That copy goes to the printer
through a transient owner-only file removed once the print command has taken it, or to ``--out``,
or (no printer set) to ``prints/outgoing/`` where it is removed a day later (docs/security.md).
"""

from __future__ import annotations

import calendar
import os
import shutil
import sys
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from printouts import (CaseDoc, CorrectionDoc, DailyReport, DueInfo, MaterialLine, RefusalDoc, ResultDoc,
                       StationInfo, archive_pdf, render, send_to_printer)
from printouts.model import FigureRow, MonthlyReport
from station import events as ev
from station import lifecycle
from station.cases import CaseReader, CaseRecord
from station.operators import Operator, require
from forms.problems import StationError
from station.stats import Figures, compute
from station.settings import PAPER_FORMATS
from station.store import Store
from station.sync_state import pending_events

KIND_TITLES = {"receipt": "受理回执", "notice": "一次性告知书", "correction": "补正通知书",
               "result": "办结通知书", "refusal": "不予受理/不予批准告知书", "daily": "日报",
               "monthly": "政务服务统计月报"}
#: Station-wide reports, printed without a case (not through print_case_document).
REPORT_KINDS = ("daily", "monthly")
OUTGOING = Path("prints") / "outgoing"   # citizens' copies waiting to be printed by hand (owner-only)
OUTGOING_KEEP = timedelta(days=1)


@dataclass(frozen=True)
class PrintResult:
    path: Path
    sent: bool
    message: str
    reprint_count: int
    kind: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": str(self.path), "printed": self.sent, "message": self.message,
                "reprint_count": self.reprint_count, "kind": self.kind, "title": KIND_TITLES[self.kind]}


def _decision_type(case: CaseRecord) -> str | None:
    return (case.decision or {}).get("type")


def documents_for(case: CaseRecord) -> list[str]:
    """The documents that apply to the case in its current state, receipt first."""
    kinds = ["receipt"]
    if any(m.status in ("missing", "waived", "requested") for m in case.materials):
        kinds.append("notice")
    decision = _decision_type(case)
    if case.status == lifecycle.CORRECTION_REQUESTED:
        kinds.append("correction")
    if decision == ev.CASE_APPROVED and case.status in (lifecycle.APPROVED, lifecycle.DELIVERED):
        kinds.append("result")
    if decision in (ev.CASE_REJECTED, ev.CASE_NOT_ACCEPTED) and case.status in (
            lifecycle.REJECTED, lifecycle.NOT_ACCEPTED, lifecycle.DELIVERED):
        kinds.append("refusal")
    return kinds


def _station_info(store: Store) -> StationInfo:
    c = store.config
    return StationInfo(name=c.name, division_code=c.station_id, phone=c.phone or "（未设置）",
                       address=c.address or c.name, lookup_url=c.lookup_url or None)


def _material_lines(case: CaseRecord, only: list[str] | None = None) -> list[MaterialLine]:
    lines = []
    for m in case.materials:
        if only is not None and m.key not in only:
            continue
        status = {"requested": "missing"}.get(m.status, m.status)
        lines.append(MaterialLine(key=m.key, name=m.name, form=m.form or "", copies=m.copies or 1,
                                  required=m.required, status=status,  # type: ignore[arg-type]
                                  due_date=date.fromisoformat(m.due_date) if m.due_date else None))
    return lines


def _due(day: str | None, estimate: bool) -> DueInfo | None:
    return DueInfo(date.fromisoformat(day), estimate) if day else None


def _case_doc(store: Store, case: CaseRecord, reprints: int) -> CaseDoc:
    return CaseDoc(
        case_number=case.number, query_password=case.query_password(store.codec), item_code=case.item_code,
        item_name=case.item_name, department=case.department or "", applicant_name=case.applicant_name,
        applicant_id_number=case.reveal_id(store.codec), applicant_phone=case.reveal_phone(store.codec),
        received_at=datetime.fromisoformat(case.received_at), agent_name=case.operator,
        promised=_due(case.promised_due, case.promised_estimate),
        statutory=_due(case.statutory_due, case.statutory_estimate),
        materials=_material_lines(case), handling_level=case.handling_level or "village",
        status_label=case.status_label, reprint_count=reprints, station=_station_info(store))


def _decided_at(case: CaseRecord) -> datetime:
    at = (case.decision or {}).get("at")
    return datetime.fromisoformat(at) if at else datetime.now()


def _document(store: Store, case: CaseRecord, kind: str, reprints: int) -> Any:
    base = _case_doc(store, case, reprints)
    d = case.decision or {}
    if kind in ("receipt", "notice"):
        return base
    if kind == "correction":
        due = d.get("due_date")
        return CorrectionDoc(case=base, requested_at=_decided_at(case), reviewer=d.get("by", ""),
                             reason=d.get("reason") or "", materials=_material_lines(case, d.get("materials") or []),
                             due=DueInfo(date.fromisoformat(due), False) if due else
                             DueInfo(store.clock().date(), False))
    if kind == "result":
        return ResultDoc(case=base, decided_at=_decided_at(case), decided_by=d.get("by", ""),
                         result="准予办理" if not d.get("reason") else f"准予办理：{d['reason']}",
                         certificate_no=d.get("certificate"), collect_where=store.config.address or store.config.name,
                         collect_how="请申请人携带本人身份证原件到本站领取；代领的，请携带代领人身份证和申请人身份证")
    if kind == "refusal":
        refusal_kind = "不予受理" if d.get("type") == ev.CASE_NOT_ACCEPTED else "不予批准"
        return RefusalDoc(case=base, kind=refusal_kind, decided_at=_decided_at(case), decided_by=d.get("by", ""),
                          reason=d.get("reason") or "", authority=store.config.authority_name,
                          reconsideration_body=store.config.reconsideration_body, court=store.config.court_name)
    raise StationError("bad_kind", f"未知的文书类型 {kind}")


def _write_private(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def _purge_outgoing(store: Store) -> None:
    """Citizens' copies older than a day are removed: the password is in the store, a reprint makes one."""
    folder = store.home / OUTGOING
    if not folder.is_dir():
        return
    cutoff = (datetime.now() - OUTGOING_KEEP).timestamp()
    for old in folder.glob("*.pdf"):
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass  # a copy still open in a viewer on Windows: removed on a later print


def _finish(store: Store, pdf: bytes, number: str | None, kind: str, operator: Operator, fmt: str, large: bool,
            reprints: int, out: Path | None, citizen_pdf: bytes | None = None) -> PrintResult:
    """Archive ``pdf`` and record the print; print ``citizen_pdf`` (the copy with the query password,
    when it differs from the archived one) or the archived copy."""
    now = store.clock()
    path = archive_pdf(store.home, number, kind, pdf, now)
    store.append(ev.NOTICE_PRINTED, {"kind": kind, "title": KIND_TITLES[kind], "path": str(path.relative_to(store.home)),
                                     "format": fmt, "large": large, "reprint": reprints},
                 operator.name, number)
    _purge_outgoing(store)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        if citizen_pdf is None:
            shutil.copyfile(path, out)
        else:
            _write_private(out, citizen_pdf)
        path = out
    transient = None
    if citizen_pdf is not None and out is None:
        name = f"{path.stem}-申请人联.pdf"
        transient = _write_private(store.home / OUTGOING / name, citizen_pdf)
        path = transient
    if store.config.printer:
        outcome = send_to_printer(path, store.config.printer)
        if transient is not None and outcome.sent and sys.platform != "win32":
            transient.unlink(missing_ok=True)  # lp has handed the job to the spooler
        return PrintResult(path, outcome.sent, outcome.message_zh, reprints, kind)
    if transient is not None:
        return PrintResult(path, False, f"未设置打印机：交给申请人的一联（含查询密码）在 {path}，请打印后交给申请人；"
                                        "此文件一天后自动删除。存档联不含查询密码", reprints, kind)
    return PrintResult(path, False, "未设置打印机，文书已存档（PDF）", reprints, kind)


def print_case_document(store: Store, number: str, kind: str, operator: Operator, fmt: str | None = None,
                        large: bool | None = None, out: Path | None = None) -> PrintResult:
    require(store, operator, "handle", "打印文书")
    fmt = fmt or store.config.paper_format or "a4"
    if fmt not in PAPER_FORMATS:
        raise StationError("bad_format", f"纸张格式只能是 a4 或 roll80，收到 {fmt}")
    large = store.config.large_print if large is None else large
    case = CaseReader(store).get(number)
    if kind not in KIND_TITLES or kind in REPORT_KINDS:
        raise StationError("bad_kind", f"未知的文书类型 {kind}（可选：receipt notice correction result refusal）")
    if kind not in documents_for(case):
        raise StationError("not_applicable", f"办件当前状态为「{case.status_label}」，不能打印{KIND_TITLES[kind]}")
    row = store.conn.execute("SELECT count FROM prints WHERE case_number=? AND kind=?", (case.number, kind)).fetchone()
    reprints = row[0] if row else 0
    document = _document(store, case, kind, reprints)
    font = store.config.font_path or None
    citizen_pdf = None
    if kind == "receipt" and document.query_password:
        citizen_pdf = render(document, kind, fmt=fmt, large=large, font_path=font)
        document = replace(document, query_password="")  # the archived copy keeps no secret
    pdf = render(document, kind, fmt=fmt, large=large, font_path=font)
    return _finish(store, pdf, case.number, kind, operator, fmt, large, reprints, out, citizen_pdf)


def daily_report(store: Store, day: date) -> DailyReport:
    reader = CaseReader(store, day)
    by_item = store.conn.execute("SELECT item_name, COUNT(*) FROM cases WHERE received_date=? AND filed_by_station=?"
                                 " GROUP BY item_name ORDER BY 2 DESC, 1", (day.isoformat(), store.station_id)).fetchall()
    pending = pending_events(store)

    def rows(cases: list[CaseRecord]) -> list:
        return [(c.number, c.item_name, c.applicant_name, DueInfo(date.fromisoformat(c.promised_due), c.promised_estimate))
                for c in cases if c.promised_due]

    return DailyReport(station=_station_info(store), day=day, received_by_item=[(n, c) for n, c in by_item],
                       pending_sync_events=pending, near_due=rows(reader.list(near_due=True, limit=200)),
                       overdue=rows(reader.list(overdue=True, limit=200)))


def print_daily(store: Store, day: date, operator: Operator, out: Path | None = None) -> PrintResult:
    require(store, operator, "handle", "打印日报")
    pdf = render(daily_report(store, day), "daily", fmt="a4", font_path=store.config.font_path or None)
    return _finish(store, pdf, None, "daily", operator, "a4", False, 0, out)


def station_names(store: Store) -> dict[str, str]:
    """Division code -> station name, from the ``station.initialised`` events this store has seen."""
    names: dict[str, str] = {}
    for event in store.iter_events("type=?", (ev.STATION_INITIALISED,)):
        body = store.codec.open_body(event.body)
        if body.get("station_id") and body.get("name"):
            names[str(body["station_id"])] = str(body["name"])
    return names


def _figure_row(f: Figures, name: str = "") -> FigureRow:
    return FigureRow(code=f.group if f.group != "all" else "", name=name or (f.label if f.label != f.group else ""),
                     received=f.received, accepted=f.accepted, completed=f.completed, on_time=f.on_time,
                     on_time_rate=f.on_time_rate, overdue_now=f.overdue_now, avg_working_days=f.avg_working_days,
                     corrections_per_case=f.corrections_per_case, ratings=f.ratings,
                     satisfaction_rate=f.satisfaction_rate, bad_ratings=f.bad_ratings,
                     followups_open=f.followups_open, followups_overdue=f.followups_overdue)


def monthly_report(store: Store, month: date, today: date | None = None) -> MonthlyReport:
    """The figures of ``month`` (any day in it) by village and by item, as station.stats computes them."""
    first = month.replace(day=1)
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    today = today or store.clock().date()
    by_village = compute(store, first, last, by="village", today=today)
    by_item = compute(store, first, last, by="item", today=today)
    names = station_names(store)
    return MonthlyReport(
        station=_station_info(store), month=first, date_from=first, date_to=last, made_on=today,
        total=_figure_row(by_village.total),
        by_village=[_figure_row(g, names.get(g.group, "")) for g in by_village.groups],
        by_item=[_figure_row(g) for g in by_item.groups],
        daily_received=[(date.fromisoformat(d), n) for d, n in by_village.daily_received])


def print_monthly(store: Store, month: date, operator: Operator, out: Path | None = None) -> PrintResult:
    """Print the 政务服务统计月报 of ``month``: archived, recorded as ``notice.printed``, then printed."""
    require(store, operator, "handle", "打印统计月报")
    pdf = render(monthly_report(store, month), "monthly", fmt="a4", font_path=store.config.font_path or None)
    return _finish(store, pdf, None, "monthly", operator, "a4", False, 0, out)
