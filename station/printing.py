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
from printouts.model import AcceptanceDoc, ApplicationDoc, CommitmentDoc, InformDoc, InformLine, RatingCardDoc
from printouts.model import FigureRow, MonthlyReport
from station import events as ev
from station import lifecycle
from station.cases import CaseReader, CaseRecord
from station.clock_check import today as station_today
from station.operators import Operator, require
from station.projections import QUERY_URL_KEY, calendar_for, correction_deadline, readable_day
from forms.problems import StationError
from station.stats import Figures, compute
from station.settings import check_paper_format
from printouts.formats import ROLL_FORMATS
from printouts.printer import PrintOutcome
from printouts.printer_target import CUPS, PrinterTarget, parse_target
from station.store import Store
from station.sync_state import pending_events
from station.void_notices import NOTICE_KINDS, void_notices

KIND_TITLES = {"receipt": "收件回执", "notice": "一次性告知书", "correction": "补正通知书",
               "result": "办结通知书", "refusal": "不予受理/不予批准告知书", "acceptance": "受理通知书",
               "application": "申请表", "commitment": "容缺受理承诺书", "rating_card": "办事评价卡",
               "inform": "一次性告知书（告知件）", "daily": "日报", "monthly": "政务服务统计月报"}
#: Printed from a 告知件, not a case (print_consultation).
CONSULTATION_KINDS = ("inform",)
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


def paper_for(kind: str, fmt: str) -> str:
    """``fmt`` when the document exists on that paper, else A4 (the 申请表 and the reports are A4 only)."""
    from printouts import KINDS

    formats = KINDS[kind][2] if kind in KINDS else ("a4",)
    return fmt if fmt in formats else "a4"


def print_title(kind: str) -> str:
    """The document's title as a print menu shows it: an A4-only one says so."""
    from printouts import KINDS

    return KIND_TITLES[kind] + ("（A4）" if kind in KINDS and KINDS[kind][2] == ("a4",) else "")


def _decision_type(case: CaseRecord) -> str | None:
    return (case.decision or {}).get("type")


def documents_for(case: CaseRecord) -> list[str]:
    """The documents that apply to the case in its current state, receipt first."""
    kinds = ["receipt", "application"]
    if any(m.status in ("missing", "waived", "requested") for m in case.materials):
        kinds.append("notice")
    if any(m.status == "waived" for m in case.materials):
        kinds.append("commitment")
    if (case.legal.accepted_at or case.legal.deemed_accepted) and case.status not in (
            lifecycle.NOT_ACCEPTED, lifecycle.WITHDRAWN):
        kinds.append("acceptance")
    decision = _decision_type(case)
    if case.status == lifecycle.CORRECTION_REQUESTED:
        kinds.append("correction")
    if decision == ev.CASE_APPROVED and case.status in (lifecycle.APPROVED, lifecycle.DELIVERED):
        kinds.append("result")
    if decision in (ev.CASE_REJECTED, ev.CASE_NOT_ACCEPTED) and case.status in (
            lifecycle.REJECTED, lifecycle.NOT_ACCEPTED, lifecycle.DELIVERED):
        kinds.append("refusal")
    if case.status in lifecycle.DECIDED | {lifecycle.DELIVERED} and case.rating_level is None:
        kinds.append("rating_card")
    return kinds


def published_query_url(store: Store) -> str | None:
    """The query URL template the platform published (``query_url.published``), if any reached us."""
    row = store.conn.execute("SELECT value FROM platform_settings WHERE key=?", (QUERY_URL_KEY,)).fetchone()
    return row[0] if row else None


def _station_info(store: Store) -> StationInfo:
    c = store.config
    return StationInfo(name=c.name, division_code=c.station_id, phone=c.phone or "（未设置）",
                       address=c.address or c.name, query_url=published_query_url(store))


def _material_lines(case: CaseRecord, only: list[str] | None = None) -> list[MaterialLine]:
    lines = []
    for m in case.materials:
        if only is not None and m.key not in only:
            continue
        status = {"requested": "missing"}.get(m.status, m.status)
        lines.append(MaterialLine(key=m.key, name=m.name, form=m.form or "", copies=m.copies or 1,
                                  required=m.required, status=status,  # type: ignore[arg-type]
                                  due_date=date.fromisoformat(m.due_date) if m.due_date else None,
                                  form_label=m.form_label))
    return lines


def _due(day: str | None, estimate: bool) -> DueInfo | None:
    return DueInfo(date.fromisoformat(day), estimate) if day else None


def _case_doc(store: Store, case: CaseRecord, reprints: int) -> CaseDoc:
    g = case.legal
    return CaseDoc(
        case_number=case.number, query_password=case.query_password(store.codec), item_code=case.item_code,
        item_name=case.item_name, department=case.department or "", applicant_name=case.applicant_name,
        applicant_id_number=case.reveal_id(store.codec), applicant_phone=case.reveal_phone(store.codec),
        received_at=datetime.fromisoformat(case.received_at), agent_name=case.operator,
        promised=_due(case.promised_due, case.promised_estimate),
        statutory=_due(case.statutory_due, case.statutory_estimate),
        materials=_material_lines(case), handling_level=case.handling_level or "village",
        status_label=case.status_label, reprint_count=reprints, station=_station_info(store),
        deciding_body=g.deciding_body, accepting_body=g.accepting_body, legal_basis=g.legal_basis,
        handover_due=_due(g.handover_due, g.handover_estimate) if case.status in lifecycle.OPEN else None,
        forwarded_to=g.forwarded_to or "" if case.status == lifecycle.FORWARDED else "",
        forward_due=_due(g.forward_due, g.forward_estimate),
        posting=(date.fromisoformat(g.posting_start), date.fromisoformat(g.posting_end), g.posting_days)
        if g.posting_start and g.posting_end else None,
        replaces_number=str(_filed_body(store, case.number).get("renumbered_from") or ""))


def _filed_body(store: Store, number: str) -> dict[str, Any]:
    """The case.filed event body (stored form) of a case: what the case keeps of its item and filing."""
    for e in store.case_events(number):
        if e.type == ev.CASE_FILED:
            return e.body
    return {}


def _field_labels(item_code: str) -> dict[str, str]:
    """Field labels for the 申请表, from the catalog (a retired item prints its field keys)."""
    from forms.catalog import load_catalog

    try:
        item = load_catalog().get(item_code)
    except StationError:
        return {}
    return {f.key: f.label for f in item.fields}


def _decided_at(case: CaseRecord) -> datetime:
    at = (case.decision or {}).get("at")
    return datetime.fromisoformat(at) if at else datetime.now()


def _document(store: Store, case: CaseRecord, kind: str, reprints: int) -> Any:
    base = _case_doc(store, case, reprints)
    d = case.decision or {}
    g = case.legal
    deciding = g.deciding_body or store.config.authority_name
    accepting = g.accepting_body or deciding
    if kind in ("receipt", "notice"):
        return base
    if kind == "acceptance":
        day = g.accepted_at or case.received_date
        return AcceptanceDoc(case=base, accepted_at=date.fromisoformat(day), accepting_body=accepting,
                             deciding_body=deciding, deemed=not g.accepted_at)
    if kind == "application":
        labels = _field_labels(case.item_code)
        fields = [(labels.get(k, k), "是" if v is True else "否" if v is False else str(v))
                  for k, v in case.fields(store.codec, reveal=True).items() if v not in (None, "")]
        return ApplicationDoc(case=base, applicant_address=case.address or "", relationship=case.relationship or "",
                              sex=case.sex or "", birth_date=date.fromisoformat(case.birth_date) if case.birth_date
                              else None, fields=fields)
    if kind == "commitment":
        return CommitmentDoc(case=base, signer=_filed_body(store, case.number).get("commitment_signer")
                             or case.applicant_name, materials=[m for m in base.materials if m.status == "waived"])
    if kind == "rating_card":
        return RatingCardDoc(case=base)
    if kind == "correction":
        due = d.get("due_date")
        if not readable_day(due) and readable_day(d.get("date")):
            # a missing or mistyped 补正期限 from sync (a number, "2026-02-30"): the one the clock honours
            due = correction_deadline(calendar_for(store.conn), d["date"], due)
        return CorrectionDoc(case=base, requested_at=_decided_at(case), reviewer=accepting,
                             reason=d.get("reason") or "", materials=_material_lines(case, d.get("materials") or []),
                             due=DueInfo(date.fromisoformat(due), False) if due else
                             DueInfo(store.clock().date(), False))
    if kind == "result":
        return ResultDoc(case=base, decided_at=_decided_at(case), decided_by=deciding,
                         result="准予办理" if not d.get("reason") else f"准予办理：{d['reason']}",
                         certificate_no=d.get("certificate"), collect_where=store.config.address or store.config.name,
                         collect_how="请申请人携带本人身份证原件到本站领取；代领的，请携带代领人身份证和申请人身份证")
    if kind == "refusal":
        not_accepted = d.get("type") == ev.CASE_NOT_ACCEPTED
        body = accepting if not_accepted else deciding
        # the accepting body of a township item is the township government (it holds a seal); the
        # deciding body's seal is what the catalog says
        seal = True if not_accepted and g.accepting_body and g.accepting_body != g.deciding_body else g.body_seal
        return RefusalDoc(case=base, kind="不予受理" if not_accepted else "不予批准", decided_at=_decided_at(case),
                          decided_by=body, reason=d.get("reason") or "", authority=body,
                          reconsideration_body=store.config.reconsideration_body, court=store.config.court_name,
                          rights=g.is_administrative_act if g.item_type else True, seal=seal,
                          legal_basis=g.legal_basis, apply_to=d.get("apply_to") or "")
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
            reprints: int, out: Path | None, citizen_pdf: bytes | None = None,
            record_number: str | None = None, citizen_doc: Any = None,
            decision_event: str | None = None) -> PrintResult:
    """Archive ``pdf`` and record the print; print ``citizen_pdf`` (the copy with the query password,
    when it differs from the archived one) or the archived copy. ``record_number``: a record that is
    not a case (a 告知件): named in the body, since the event's case number must be a case's.
    ``citizen_doc``: the receipt's data, for a thermal printer, which prints it in its own font.
    ``decision_event``: the decision a decision notice carries (station/void_notices.py ties prints to it)."""
    now = store.clock()
    path = archive_pdf(store.home, number or record_number, kind, pdf, now)
    body = {"kind": kind, "title": KIND_TITLES[kind], "path": str(path.relative_to(store.home)),
            "format": fmt, "large": large, "reprint": reprints}
    if record_number:
        body["number"] = record_number
    if decision_event:
        body["decision"] = decision_event
    store.append(ev.NOTICE_PRINTED, body, operator.name, number)
    _purge_outgoing(store)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        if citizen_pdf is None:
            shutil.copyfile(path, out)
        else:
            _write_private(out, citizen_pdf)
        path = out
    target, wrong = parse_target(store.config.printer_kind or CUPS, store.config.printer)
    # A setting the 设置 screen refuses (station.toml edited by hand, or restored from someone else's
    # backup) is never handed to lp or opened as a device.
    bad = "打印机设置有误（" + "；".join(p.message for p in wrong) + "），没有打印，请管理员在“设置”中改正。" \
        if target is None else ""
    if target is not None and target.escpos:
        outcome = _thermal(target, kind, fmt, citizen_doc, citizen_pdf or path.read_bytes())
        return PrintResult(path, outcome.sent, outcome.message_zh, reprints, kind)
    transient = None
    if citizen_pdf is not None and out is None:
        name = f"{path.stem}-申请人联.pdf"
        transient = _write_private(store.home / OUTGOING / name, citizen_pdf)
        path = transient
    if store.config.printer and not bad:
        outcome = send_to_printer(path, store.config.printer)
        if transient is not None and outcome.sent and sys.platform != "win32":
            transient.unlink(missing_ok=True)  # lp has handed the job to the spooler
        return PrintResult(path, outcome.sent, outcome.message_zh, reprints, kind)
    if transient is not None:
        return PrintResult(path, False, f"{bad or '未设置打印机：'}交给申请人的一联（含查询密码）在 {path}，"
                                        "请打印后交给申请人；此文件一天后自动删除。存档联不含查询密码", reprints, kind)
    return PrintResult(path, False, f"{bad or '未设置打印机，'}文书已存档（PDF）", reprints, kind)


def _thermal(target: PrinterTarget, kind: str, fmt: str, doc: Any, pdf: bytes) -> PrintOutcome:
    """A thermal (ESC/POS) printer prints the receipt in its own font, any other document as a raster
    image of its roll PDF (``pdf``: the copy handed over); so does a receipt with a character the head's
    font lacks (a 生僻字 in a name or address)."""
    from printouts.texts import load_texts
    from printouts.thermal import fits_printer_font, send_document, send_receipt

    if fmt not in ROLL_FORMATS:
        return PrintOutcome(False, f"{target.describe()}只能打印卷纸：请选择80或58毫米卷纸。{KIND_TITLES[kind]}已存档（PDF）")
    if kind == "receipt" and isinstance(doc, CaseDoc) and fits_printer_font(doc, load_texts(None)):
        return send_receipt(target, doc, load_texts(None), fmt)
    return send_document(target, pdf, fmt, kept=f"{KIND_TITLES[kind]}已存档（PDF），可在修好后补打")


def print_case_document(store: Store, number: str, kind: str, operator: Operator, fmt: str | None = None,
                        large: bool | None = None, out: Path | None = None) -> PrintResult:
    require(store, operator, "handle", "打印文书")
    fmt = fmt or store.config.paper_format or "a4"
    check_paper_format(fmt)
    large = store.config.large_print if large is None else large
    case = CaseReader(store).get(number)
    if kind not in KIND_TITLES or kind in REPORT_KINDS or kind in CONSULTATION_KINDS:
        case_kinds = " ".join(k for k in KIND_TITLES if k not in REPORT_KINDS and k not in CONSULTATION_KINDS)
        raise StationError("bad_kind", f"未知的文书类型 {kind}（可选：{case_kinds}）")
    if kind not in documents_for(case):
        raise StationError("not_applicable", f"办件当前状态为「{case.status_label}」，不能打印{KIND_TITLES[kind]}")
    row = store.conn.execute("SELECT count FROM prints WHERE case_number=? AND kind=?", (case.number, kind)).fetchone()
    reprints = row[0] if row else 0
    document = _document(store, case, kind, reprints)
    decision_event = None
    if kind in NOTICE_KINDS:
        decision_event = str((case.decision or {}).get("event") or "") or None
        replaced = tuple((date.fromisoformat(v.printed_on), v.title) for v in void_notices(store, case.number, True))
        if replaced:  # the notice of the decision in force names the void paper it replaces
            document = replace(document, case=replace(document.case, supersedes=replaced))
    font = store.config.font_path or None
    citizen_pdf = None
    citizen_doc = document
    if kind == "receipt" and document.query_password:
        citizen_pdf = render(document, kind, fmt=fmt, large=large, font_path=font)
        document = replace(document, query_password="")  # the archived copy keeps no secret
    pdf = render(document, kind, fmt=fmt, large=large, font_path=font)
    return _finish(store, pdf, case.number, kind, operator, fmt, large, reprints, out, citizen_pdf,
                   citizen_doc=citizen_doc, decision_event=decision_event)


def consultation_document(store: Store, number: str, reprints: int = 0) -> InformDoc:
    """The 一次性告知书 of a 告知件: every material with its status and every unmet condition."""
    from station.consultations import event_body, get

    c = get(store, number)
    body = event_body(store, c.number)
    item = body["item"]
    authority = item.get("authority") or {}
    missing = {r["key"] for r in body.get("reasons") or [] if r.get("kind") == "material"}
    statuses = body.get("materials") or {}
    lines = []
    for spec in body.get("material_specs") or []:
        status = statuses.get(spec["key"], "missing")
        if status == "received":
            shown = "received"
        elif spec["key"] in missing:
            shown = "waived" if spec.get("waivable") else "missing"
        else:
            shown = "waived" if status == "waived" else "missing"
        lines.append(MaterialLine(key=spec["key"], name=spec["name"], form=spec.get("form") or "",
                                  copies=spec.get("copies") or 1, required=bool(spec.get("required", True)),
                                  status=shown, form_label=spec.get("form_label") or ""))  # type: ignore[arg-type]
    unmet = [InformLine(kind=r["kind"], text=r["text"]) for r in body.get("reasons") or []
             if r.get("kind") in ("condition", "other")]
    sealed_id = (body.get("applicant") or {}).get("id_number")
    id_number = sealed_id.get("$pii", "") if isinstance(sealed_id, dict) else ""
    return InformDoc(number=c.number, station=_station_info(store), made_at=datetime.fromisoformat(c.recorded_at),
                     agent_name=c.operator, applicant_name=c.applicant_name, applicant_id_number=id_number,
                     item_code=c.item_code, item_name=c.item_name, deciding_body=authority.get("decides", ""),
                     accepting_body=authority.get("accepts", ""), legal_basis=tuple(item.get("legal_basis") or ()),
                     materials=lines, unmet=unmet, apply_to=body.get("apply_to") or "", reprint_count=reprints)


def print_consultation(store: Store, number: str, operator: Operator, fmt: str | None = None,
                       large: bool | None = None, out: Path | None = None) -> PrintResult:
    """Print (or reprint) the 一次性告知书 of a 告知件: archived, recorded, then printed."""
    require(store, operator, "handle", "打印一次性告知书")
    fmt = fmt or store.config.paper_format or "a4"
    check_paper_format(fmt)
    large = store.config.large_print if large is None else large
    key = number.strip().upper()
    row = store.conn.execute("SELECT count FROM prints WHERE case_number=? AND kind='inform'", (key,)).fetchone()
    reprints = row[0] if row else 0
    doc = consultation_document(store, key, reprints)
    pdf = render(doc, "inform", fmt=fmt, large=large, font_path=store.config.font_path or None)
    return _finish(store, pdf, None, "inform", operator, fmt, large, reprints, out, record_number=doc.number)


def daily_report(store: Store, day: date) -> DailyReport:
    reader = CaseReader(store, day)
    by_item = store.conn.execute("SELECT item_name, COUNT(*) FROM cases WHERE received_date=? AND substr(filed_by_station, 1, 12)=?"
                                 " GROUP BY item_name ORDER BY 2 DESC, 1", (day.isoformat(), store.division_code)).fetchall()
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
                     followups_open=f.followups_open, followups_overdue=f.followups_overdue,
                     consultations=f.consultations, deemed_accepted=f.deemed_accepted, not_accepted=f.not_accepted,
                     forwarded=f.forwarded, second_corrections=f.second_corrections, early_rate=f.early_rate,
                     on_the_spot_rate=f.on_the_spot_rate, one_trip_rate=f.one_trip_rate,
                     trips_per_case=f.trips_per_case, revisit_rate=f.revisit_rate,
                     rectification_rate=f.rectification_rate, handover_late=f.handover_late,
                     correction_overdue_now=f.correction_overdue_now,
                     label_shares=tuple(f.label_shares.items()))


def monthly_report(store: Store, month: date, today: date | None = None) -> MonthlyReport:
    """The figures of ``month`` (any day in it) by village and by item, as station.stats computes them."""
    first = month.replace(day=1)
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    today = today or station_today(store)
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
