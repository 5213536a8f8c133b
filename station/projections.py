"""Projections: the tables the station reads, folded from the event log and nothing else.

``apply`` folds one event into the tables of a schema ("main" for the live store, an attached
scratch schema for ``station db check``). Folding is deterministic: the same log in the same order
gives the same rows (sealed personal data is copied from the event, never re-encrypted), which is
what ``station db rebuild`` and ``station db check`` rely on. The tables are declared in
station/schema.py.

The fold writes with plain sqlite3, not sqlite-utils: it must fold into an attached scratch schema
as well as "main" (sqlite-utils addresses tables of "main" only), and it is the filing hot path —
filing a case (validate, append, fold, durable commit) takes 0.74 ms median on the bench machine.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlite_utils import Database

from forms.problems import StationError
from forms.schema import form_label
from printouts.query_url import query_url_problems
from station import events as ev
from station import schema as tables
from station import lifecycle
from station.calendar import WorkingCalendar
from station.events import Event, canonical_json
from station.pii import PiiCodec
from station.search_text import case_search_text, name_pinyin


@dataclass(frozen=True)
class FoldContext:
    """What folding needs besides the event: whose store this is, and its key for lookup hashes."""

    station: str
    codec: PiiCodec


#: platform_settings key of the query URL template (event ``query_url.published``)
QUERY_URL_KEY = "query_url"

# --- calendar of a schema ----------------------------------------------------------------------

_calendars: dict[tuple[int, str], WorkingCalendar] = {}


def calendar_for(conn: sqlite3.Connection, schema: str = "main") -> WorkingCalendar:
    """The working-day calendar as the store knows it (package data + holiday table), cached."""
    key = (id(conn), schema)
    cal = _calendars.get(key)
    if cal is None:
        table = {date.fromisoformat(d): k for d, k in conn.execute(f"SELECT day, kind FROM {schema}.holidays")}
        years = [y for (y,) in conn.execute(f"SELECT year FROM {schema}.holiday_years")]
        cal = WorkingCalendar(table, years)
        _calendars[key] = cal
    return cal


def forget_calendar(conn: sqlite3.Connection, schema: str = "main") -> None:
    _calendars.pop((id(conn), schema), None)


# --- folding -----------------------------------------------------------------------------------

def _sealed_text(value: Any) -> str | None:
    return canonical_json(value) if value is not None else None


def _status(conn: sqlite3.Connection, s: str, number: str) -> str | None:
    row = conn.execute(f"SELECT status FROM {s}.cases WHERE number=?", (number,)).fetchone()
    return row[0] if row else None


def _conflict(conn: sqlite3.Connection, s: str, event: Event, reason: str, status: str | None) -> bool:
    conn.execute(f"INSERT OR IGNORE INTO {s}.conflicts(event_id, case_number, type, reason, status_then, hlc)"
                 " VALUES (?,?,?,?,?,?)", (event.id, event.case_number, event.type, reason, status, event.hlc))
    return False


def _touch(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext, extra_sql: str = "",
           params: tuple = ()) -> None:
    local = event.station == ctx.station
    conn.execute(
        f"UPDATE {s}.cases SET updated_hlc=max(updated_hlc, ?),"
        f" last_local_seq=CASE WHEN ? THEN max(last_local_seq, ?) ELSE last_local_seq END"
        f"{extra_sql} WHERE number=?",
        (event.hlc, local, event.seq, *params, event.case_number))


def _due_dates(cal: WorkingCalendar, start: date, body_item: dict[str, Any],
               shifts: tuple[int, int] = (0, 0)) -> tuple:
    """(amount, unit, due, estimate) of the promised and the statutory limit counted from ``start``,
    each lengthened by the days its clock was paused (补正 awaited, 公示) before it fell due.
    A campaign item (yearly batch) has no per-case due date."""
    out: list[Any] = []
    for key, shift in zip(("promised", "statutory"), shifts):
        limit = body_item.get(key)
        if limit and limit.get("amount") and not body_item.get("campaign"):
            due = cal.due(start, int(limit["amount"]) + int(shift), limit["unit"])
            out += [int(limit["amount"]), limit["unit"], due.date.isoformat(), int(due.estimate)]
        else:
            out += [int(limit["amount"]) if limit and limit.get("amount") else None,
                    limit.get("unit") if limit else None, None, None]
    return tuple(out)


def _days_in(cal: WorkingCalendar, unit: str | None, start: date, end: date) -> int:
    """Days of ``unit`` in (start, end]: working days, or calendar days for 自然日 limits."""
    if unit in ("自然日", "natural_day"):
        return max(0, (end - start).days)
    return cal.working_days_between(start, end)


def readable_day(value: Any) -> str | None:
    """``value`` when it is a real day written YYYY-MM-DD, else None (a synced field may be anything)."""
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return value if date.fromisoformat(value).isoformat() == value else None
    except ValueError:
        return None


def correction_deadline(cal: WorkingCalendar, asked: str, due_date: Any) -> str:
    """The 补正期限 the clock honours for a correction asked on ``asked`` (ISO day): the ``due_date`` of
    the request, but never later than MAX_CORRECTION_WORKING_DAYS working days after ``asked``.

    station/review.py refuses a later 补正期限, but events also arrive by sync from other devices and
    townships (an older program, a hand-made or hostile batch). Such an event is kept as it is — it is
    the legal record, and the notice printed from it shows what the citizen was told — yet the fold
    never lets its date stop the clock for longer than the bound: a missing, unreadable or too-late
    due_date counts as the bound (and an unreadable one is shown and printed as the bound). So the pause
    lasts at most the bound (paused_days, promised_due), and the case counts as 补正逾期未补
    (station/stats.py) once the bound has passed. A due_date not after ``asked`` is as unreadable as a
    missing one (the domain refuses it too) and counts as the bound.
    """
    cap = cal.add_working_days(date.fromisoformat(asked), lifecycle.MAX_CORRECTION_WORKING_DAYS).date.isoformat()
    if not isinstance(due_date, str):
        return cap
    try:
        due = date.fromisoformat(due_date).isoformat()
    except ValueError:
        return cap
    return min(due, cap) if due > asked else cap


def _pause(conn: sqlite3.Connection, s: str, number: str, start: date, end: date) -> str:
    """SQL assignments that add a pause (start, end] to the case's clocks: each limit whose due date
    had not passed when the pause began is lengthened by the paused days of its unit (an overdue case
    stays overdue: a pause after the due date moves nothing)."""
    row = conn.execute(f"SELECT received_date, promised_amount, promised_unit, promised_due, promised_shift,"
                       f" statutory_amount, statutory_unit, statutory_due, statutory_shift, campaign"
                       f" FROM {s}.cases WHERE number=?", (number,)).fetchone()
    received, pa, pu, pdue, pshift, sa, su, sdue, sshift, campaign = row
    cal = calendar_for(conn, s)
    shifts = []
    for due, unit, shift in ((pdue, pu, pshift), (sdue, su, sshift)):
        if due and start.isoformat() < due:
            shift += _days_in(cal, unit, start, end)
        shifts.append(shift)
    item = {"promised": {"amount": pa, "unit": pu}, "statutory": {"amount": sa, "unit": su}, "campaign": campaign}
    d = _due_dates(cal, date.fromisoformat(received), item, (shifts[0], shifts[1]))
    conn.execute(f"UPDATE {s}.cases SET promised_shift=?, statutory_shift=?, promised_due=?, promised_estimate=?,"
                 f" statutory_due=?, statutory_estimate=?, paused_days=paused_days+? WHERE number=?",
                 (shifts[0], shifts[1], d[2], d[3], d[6], d[7], cal.working_days_between(start, end), number))
    return ""


def _fold_filed(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    b = event.body
    if conn.execute(f"SELECT 1 FROM {s}.cases WHERE number=?", (event.case_number,)).fetchone():
        return _conflict(conn, s, event, "duplicate_case_number", None)
    item, applicant = b["item"], b["applicant"]
    received_date = date.fromisoformat(b["received_date"])
    cal = calendar_for(conn, s)
    pinyin, initials = name_pinyin(applicant["name"])
    id_sealed = applicant.get("id_number")
    id_plain = ctx.codec.open(id_sealed) if id_sealed else None
    id_hash = ctx.codec.lookup_hash(id_plain) if id_plain else None
    # No column may let a copied database rebuild an ID (docs/security.md): the last four digits are
    # searchable only as a keyed token, and the birth date is not kept (it is in the sealed ID).
    last4_token = ctx.codec.last4_token(id_plain[-4:]) if id_plain else ""
    search = case_search_text(event.case_number or "", applicant["name"], pinyin, initials,
                              last4_token, item["name"])
    local = event.station == ctx.station
    conn.execute(
        f"INSERT INTO {s}.cases(number, item_code, item_version, item_name, department, handling_level,"
        " village_code, filed_by_station, status, received_at, received_date, clock_start, operator,"
        " applicant_name, applicant_pinyin, applicant_initials, id_hash, id_enc, phone_enc,"
        " address, sex, relationship, fields, query_password_enc,"
        " promised_amount, promised_unit, promised_due, promised_estimate,"
        " statutory_amount, statutory_unit, statutory_due, statutory_estimate, posting_days,"
        " last_local_seq, updated_hlc, search_text)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (event.case_number, item["code"], item["version"], item["name"], item.get("department"),
         item.get("handling_level"), b["village_code"], event.station, lifecycle.RECEIVED,
         b["received_at"], b["received_date"], b["received_date"], event.operator,
         applicant["name"], pinyin, initials, id_hash,
         _sealed_text(applicant.get("id_number")), _sealed_text(applicant.get("phone")),
         applicant.get("address"), applicant.get("sex"),
         applicant.get("relationship"), canonical_json(b.get("fields", {})),
         _sealed_text(b.get("query_password")),
         *_due_dates(cal, received_date, item), int(item.get("posting_days") or 0),
         event.seq if local else 0, event.hlc, search))
    for pos, m in enumerate(b.get("materials", [])):
        conn.execute(
            f"INSERT INTO {s}.materials(case_number, key, name, form, copies, required, waivable, status,"
            " due_date, received_at, position, form_label) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (event.case_number, m["key"], m["name"], m.get("form"), m.get("copies"), int(m["required"]),
             int(m["waivable"]), m["status"], m.get("due_date"),
             b["received_date"] if m["status"] == "received" else None, pos,
             m.get("form_label") or form_label(m.get("form") or "", m["name"])))
    _fold_filed_extras(conn, s, event, cal, received_date)
    if id_hash:
        conn.execute(
            f"INSERT INTO {s}.applicants(id_hash, name, pinyin, id_enc, phone_enc, address, sex,"
            " case_count, last_case) VALUES (?,?,?,?,?,?,?,1,?)"
            " ON CONFLICT(id_hash) DO UPDATE SET name=excluded.name, pinyin=excluded.pinyin,"
            " phone_enc=excluded.phone_enc, address=excluded.address, case_count=case_count+1,"
            " last_case=excluded.last_case",
            (id_hash, applicant["name"], pinyin, _sealed_text(id_sealed), _sealed_text(applicant.get("phone")),
             applicant.get("address"), applicant.get("sex"), event.case_number))
    return True


#: 行政许可法 §32 / §82: told within five working days of receipt, or deemed accepted.
CORRECTION_WINDOW = lifecycle.CORRECTION_WINDOW_WORKING_DAYS
#: A village agent hands the file to the township within three working days of receipt.
HANDOVER_WORKING_DAYS = 3


def _fold_filed_extras(conn: sqlite3.Connection, s: str, event: Event, cal: WorkingCalendar,
                       received: date) -> None:
    """The legal record of a filing: bodies, basis, labels, channel, and the dates the clock sets."""
    b = event.body
    item = b["item"]
    authority = item.get("authority") or {}
    handover = (cal.add_working_days(received, HANDOVER_WORKING_DAYS)
                if item.get("handling_level") == "township" else None)
    conn.execute(
        f"UPDATE {s}.cases SET item_type=?, case_kind=?, deciding_body=?, accepting_body=?, body_seal=?,"
        f" legal_basis=?, labels=?, campaign=?, channel=?, assist=?, consultation=?, correction_deadline=?,"
        f" handover_due=?, handover_estimate=?, forward_bodies=?, renumbered_from=? WHERE number=?",
        (item.get("item_type"), item.get("case_kind"), authority.get("decides"), authority.get("accepts"),
         int(bool(authority.get("seal", True))), canonical_json(item.get("legal_basis") or []),
         canonical_json(item.get("labels") or []), int(bool(item.get("campaign"))), b.get("channel") or "窗口",
         b.get("assist") or "", b.get("consultation"),
         cal.add_working_days(received, CORRECTION_WINDOW).date.isoformat(),
         handover.date.isoformat() if handover else None, int(handover.estimate) if handover else None,
         canonical_json(item.get("forward") or []), _text_or_none(b.get("renumbered_from")), event.case_number))
    if b.get("consultation"):
        conn.execute(f"UPDATE {s}.consultations SET converted_case=? WHERE number=?",
                     (event.case_number, b["consultation"]))


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _fold_transition(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    status = _status(conn, s, event.case_number or "")
    if status is None:
        return _conflict(conn, s, event, "unknown_case", None)
    allowed_from, target = lifecycle.TRANSITIONS[event.type]
    if status not in allowed_from:
        return _conflict(conn, s, event, "illegal_transition", status)
    b = event.body
    extra = ", status=?"
    params: list[Any] = [target]
    day = b.get("date") or event.recorded_at[:10]
    due_date = b.get("due_date")
    if event.type == ev.CASE_CORRECTION_REQUESTED:
        # The day a correction was asked starts the pause and its 补正期限: it must be a real day (an
        # unreadable one from sync raises, so the event is a malformed_event conflict and the clock runs
        # on). The decision keeps the due_date as sent; the requested materials get it when it is a
        # readable day, else (a number, a list, "2026-02-30", a long string) the 补正期限 the clock
        # honours (correction_deadline), as the printed 补正通知书 does (station/printing.py).
        day = date.fromisoformat(day).isoformat()
        due_date = readable_day(due_date) or correction_deadline(calendar_for(conn, s), day, due_date)
    if event.type in (ev.CASE_APPROVED, ev.CASE_REJECTED, ev.CASE_NOT_ACCEPTED, ev.CASE_FORWARDED,
                      ev.CASE_ACCEPTED, ev.CASE_CORRECTION_REQUESTED, ev.CASE_POSTING_STARTED):
        decision = {"type": event.type, "reason": b.get("reason"), "certificate": b.get("certificate"),
                    "to": b.get("to"), "materials": b.get("materials"), "by": event.operator,
                    "station": event.station, "at": event.recorded_at, "event": event.id,
                    "due_date": b.get("due_date"), "ground": b.get("ground"), "apply_to": b.get("apply_to"),
                    "exception_reason": b.get("exception_reason"), "date": day}
        extra += ", decision=?"
        params.append(canonical_json(decision))
    if event.type == ev.CASE_ACCEPTED:
        extra += ", accepted_at=?"
        params.append(day)
    if event.type == ev.CASE_FORWARDED:
        limit = b.get("limit") or {}
        cal = calendar_for(conn, s)
        fdue = cal.due(date.fromisoformat(day), int(limit["amount"]), limit["unit"]) if limit.get("amount") else None
        extra += ", forwarded_to=?, forwarded_at=?, forward_amount=?, forward_unit=?, forward_due=?, forward_estimate=?"
        params += [b.get("to"), day, limit.get("amount"), limit.get("unit"),
                   fdue.date.isoformat() if fdue else None, int(fdue.estimate) if fdue else None]
    if event.type == ev.CASE_POSTING_STARTED:
        start = date.fromisoformat(day)
        end = start + timedelta(days=int(b.get("days") or 0))
        _pause(conn, s, event.case_number or "", start, end)
        extra += ", posting_start=?, posting_end=?"
        params += [day, end.isoformat()]
    if event.type in (ev.CASE_APPROVED, ev.CASE_REJECTED, ev.CASE_NOT_ACCEPTED):
        extra += ", decided_at=?"
        params.append(day)
    if event.type == ev.CASE_WITHDRAWN:
        extra += ", withdrawn_at=?"
        params.append(day)
    if event.type in (ev.CASE_WITHDRAWN, ev.CASE_NOT_ACCEPTED) and status in lifecycle.CLOCK_RUNNING:
        # Ended while overdue: the clock was running and the promised date had passed (stats: 超期撤回/不予受理)
        extra += ", ended_overdue=CASE WHEN promised_due IS NOT NULL AND promised_due < ? THEN 1 ELSE 0 END"
        params.append(day)
    if event.type == ev.CASE_CORRECTION_REQUESTED:
        extra += ", corrections=corrections+1, pause_started=?"
        params.append(day)
        if b.get("exceptional"):
            extra += ", second_corrections=second_corrections+1"
        for key in b.get("materials") or []:
            conn.execute(f"UPDATE {s}.materials SET status='requested', due_date=? WHERE case_number=? AND key=?",
                         (due_date, event.case_number, key))
    if event.type == ev.CASE_SUPPLEMENTED:
        # 补正: the clock resumes with the working days already used, never from zero: the due date
        # moves by the days the correction was awaited (if it had not already passed).
        # The pause ends at the 补正期限 at the latest: materials recorded after it (the applicant came late,
        # or the supplement was entered only when the station was ready to decide) do not stop the clock.
        # A 补正期限 beyond the bound (an event from sync) counts as the bound: see correction_deadline().
        row = conn.execute(f"SELECT pause_started, decision FROM {s}.cases WHERE number=?",
                           (event.case_number,)).fetchone()
        if row and row[0]:
            asked = json.loads(row[1]) if row[1] else {}
            deadline = correction_deadline(calendar_for(conn, s), row[0], asked.get("due_date")
                                           if asked.get("type") == ev.CASE_CORRECTION_REQUESTED else None)
            end = min(day, deadline)
            _pause(conn, s, event.case_number or "", date.fromisoformat(row[0]), date.fromisoformat(end))
        extra += ", pause_started=NULL"
        for key in b.get("materials") or []:
            conn.execute(f"UPDATE {s}.materials SET status='received', received_at=?, due_date=NULL"
                         f" WHERE case_number=? AND key=?", (day, event.case_number, key))
    if event.type == ev.RESULT_DELIVERED:
        extra += ", delivered_at=?, trips=?"
        params += [day, b.get("trips")]
    _touch(conn, s, event, ctx, extra, tuple(params))
    return True


def _fold_material(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    status = _status(conn, s, event.case_number or "")
    if status is None:
        return _conflict(conn, s, event, "unknown_case", None)
    day = event.body.get("date") or event.recorded_at[:10]
    for key in event.body.get("materials", []):
        conn.execute(f"UPDATE {s}.materials SET status='received', received_at=?, due_date=NULL"
                     f" WHERE case_number=? AND key=?", (day, event.case_number, key))
    _touch(conn, s, event, ctx)
    return True


def _fold_rating(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    status = _status(conn, s, event.case_number or "")
    if status is None:
        return _conflict(conn, s, event, "unknown_case", None)
    if conn.execute(f"SELECT 1 FROM {s}.ratings WHERE case_number=?", (event.case_number,)).fetchone():
        return _conflict(conn, s, event, "already_rated", status)
    b = event.body
    conn.execute(
        f"INSERT INTO {s}.ratings(case_number, level, label, detail, sub_scores, rater_name, agent_name,"
        " rated_at, followup_due, channel, entered_by, entered_at_station) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (event.case_number, b["level"], b["label"], b.get("detail"), canonical_json(b.get("sub_scores") or {}),
         b.get("rater_name"), b.get("agent_name"), b.get("date") or event.recorded_at[:10], b.get("followup_due"),
         b.get("channel") or "窗口", event.operator, event.station))
    _touch(conn, s, event, ctx, ", rating_level=?", (b["level"],))
    return True


def _fold_handed_over(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    if _status(conn, s, event.case_number or "") is None:
        return _conflict(conn, s, event, "unknown_case", None)
    day = event.body.get("date") or event.recorded_at[:10]
    _touch(conn, s, event, ctx, ", handed_over_at=coalesce(handed_over_at, ?)", (day,))
    return True


def _fold_revisit(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    status = _status(conn, s, event.case_number or "")
    if status is None:
        return _conflict(conn, s, event, "unknown_case", None)
    b = event.body
    satisfied = b.get("satisfied")
    conn.execute(f"INSERT OR IGNORE INTO {s}.revisits(event_id, case_number, day, method, result, satisfied, operator,"
                 f" station) VALUES (?,?,?,?,?,?,?,?)",
                 (event.id, event.case_number, b.get("date") or event.recorded_at[:10], b["method"], b["result"],
                  None if satisfied is None else int(bool(satisfied)), event.operator, event.station))
    _touch(conn, s, event, ctx)
    return True


def _fold_consultation(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    """A 告知件: an application that could not be taken, with everything it lacked. Its own number."""
    b = event.body
    id_sealed = (b.get("applicant") or {}).get("id_number")
    id_plain = ctx.codec.open(id_sealed) if id_sealed else None
    conn.execute(
        f"INSERT OR IGNORE INTO {s}.consultations(number, station, day, recorded_at, operator, item_code, item_name,"
        f" applicant_name, id_hash, reasons, body_event) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (b["number"], event.station, b["date"], event.recorded_at, event.operator, b["item"]["code"],
         b["item"]["name"], b["applicant"]["name"], ctx.codec.lookup_hash(id_plain) if id_plain else None,
         canonical_json(b.get("reasons") or []), event.id))
    converted = conn.execute(f"SELECT number FROM {s}.cases WHERE consultation=?", (b["number"],)).fetchone()
    if converted:  # the case arrived first (sync order): link it now
        conn.execute(f"UPDATE {s}.consultations SET converted_case=? WHERE number=?", (converted[0], b["number"]))
    return True


def _fold_followup(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    conn.execute(f"UPDATE {s}.ratings SET followup_closed_at=?, followup_note=? WHERE case_number=?",
                 (event.body.get("date") or event.recorded_at[:10], event.body.get("note"), event.case_number))
    _touch(conn, s, event, ctx)
    return True


def _fold_printed(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    b = event.body
    conn.execute(
        f"INSERT INTO {s}.prints(case_number, kind, count, last_path, last_at) VALUES (?,?,1,?,?)"
        " ON CONFLICT(case_number, kind) DO UPDATE SET count=count+1, last_path=excluded.last_path,"
        " last_at=excluded.last_at",
        (event.case_number or b.get("number") or "", b["kind"], b.get("path"), event.recorded_at))
    if event.case_number:
        _touch(conn, s, event, ctx)
    return True


#: the notice kinds a void notice can be (station/void_notices.py NOTICE_KINDS)
RECALL_KINDS = ("correction", "result", "refusal")


def _fold_recalled(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    """A void notice (station/void_notices.py) recovered from the citizen, or the citizen told it is void."""
    if _status(conn, s, event.case_number or "") is None:
        return _conflict(conn, s, event, "unknown_case", None)
    b = event.body
    decision, kind = b.get("decision"), b.get("kind")
    if not isinstance(decision, str) or not decision or kind not in RECALL_KINDS \
            or not isinstance(b.get("note"), (str, type(None))):
        # a recall that names no decision or no notice kind recalls nothing: kept in the log, never folded
        return _conflict(conn, s, event, "malformed_event", _status(conn, s, event.case_number or ""))
    conn.execute(f"INSERT OR IGNORE INTO {s}.notice_recalls(event_id, case_number, decision_event, kind, note,"
                 f" operator, station, recalled_at) VALUES (?,?,?,?,?,?,?,?)",
                 (event.id, event.case_number, decision, kind, _text_or_none(b.get("note")),
                  event.operator, event.station, event.recorded_at))
    _touch(conn, s, event, ctx)
    return True


def _fold_duplicate(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    other = event.body.get("other") if event.body.get("duplicate") else None
    _touch(conn, s, event, ctx, ", duplicate_of=?", (other or "",))
    return True


def _fold_operator(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    if event.station[:12] != ctx.station[:12]:
        # another service point's operators are not ours; a home split off as a new device keeps the
        # operators it had (their credentials are local), added under its former device id
        return True
    b = event.body
    if event.type == ev.OPERATOR_ADDED:
        conn.execute(f"INSERT OR REPLACE INTO {s}.operators(name, role, disabled, created_at) VALUES (?,?,0,?)",
                     (b["name"], b["role"], event.recorded_at))
    else:
        if "role" in b:
            conn.execute(f"UPDATE {s}.operators SET role=? WHERE name=?", (b["role"], b["name"]))
        if "disabled" in b:
            conn.execute(f"UPDATE {s}.operators SET disabled=? WHERE name=?", (int(b["disabled"]), b["name"]))
    return True


def _fold_query_url(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    """The platform's query URL template, checked again here: one that is not valid is kept in the log
    and changes nothing (the QR stays what it was); a withdrawal removes it (the QR is text again)."""
    template = event.body.get("template")
    if event.body.get("withdrawn") is True and template == "":
        conn.execute(f"DELETE FROM {s}.platform_settings WHERE key=?", (QUERY_URL_KEY,))
        return True
    if not isinstance(template, str) or query_url_problems(template):
        return True
    conn.execute(f"INSERT OR REPLACE INTO {s}.platform_settings(key, value, event_id, published_at) VALUES (?,?,?,?)",
                 (QUERY_URL_KEY, template, event.id, event.recorded_at))
    return True


def _fold_calendar(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    b = event.body
    for year in b["years"]:
        conn.execute(f"DELETE FROM {s}.holidays WHERE year=?", (year,))
        conn.execute(f"INSERT OR REPLACE INTO {s}.holiday_years(year, source) VALUES (?,?)", (year, b.get("source")))
    for day, kind in b["days"].items():
        conn.execute(f"INSERT OR REPLACE INTO {s}.holidays(day, kind, year) VALUES (?,?,?)", (day, kind, int(day[:4])))
    forget_calendar(conn, s)
    # Open cases' due dates follow the new calendar.
    cal = calendar_for(conn, s)
    open_states = tuple(lifecycle.OPEN)
    marks = ",".join("?" * len(open_states))
    rows = conn.execute(f"SELECT number, received_date, promised_amount, promised_unit, statutory_amount,"
                        f" statutory_unit, promised_shift, statutory_shift, campaign, handling_level, forwarded_at,"
                        f" forward_amount, forward_unit FROM {s}.cases WHERE status IN ({marks})",
                        open_states).fetchall()
    for number, start, pa, pu, sa, su, pshift, sshift, campaign, level, fwd_at, fa, fu in rows:
        item = {"promised": {"amount": pa, "unit": pu}, "statutory": {"amount": sa, "unit": su}, "campaign": campaign}
        received = date.fromisoformat(start)
        d = _due_dates(cal, received, item, (pshift, sshift))
        handover = cal.add_working_days(received, HANDOVER_WORKING_DAYS) if level == "township" else None
        fdue = cal.due(date.fromisoformat(fwd_at), int(fa), fu) if fwd_at and fa else None
        conn.execute(f"UPDATE {s}.cases SET promised_due=?, promised_estimate=?, statutory_due=?,"
                     f" statutory_estimate=?, correction_deadline=?, handover_due=?, handover_estimate=?,"
                     f" forward_due=?, forward_estimate=? WHERE number=?",
                     (d[2], d[3], d[6], d[7], cal.add_working_days(received, CORRECTION_WINDOW).date.isoformat(),
                      handover.date.isoformat() if handover else None, int(handover.estimate) if handover else None,
                      fdue.date.isoformat() if fdue else None, int(fdue.estimate) if fdue else None, number))
    return True


def _fold_superseded(conn: sqlite3.Connection, s: str, event: Event, ctx: FoldContext) -> bool:
    """The platform says one of our events lost to a decision that reached it first.

    The losing event stays in the log; it is marked superseded and the case is folded again without
    it, so the winner (already here, recorded as a conflict, or arriving later) takes effect. Nothing
    is deleted: the timeline shows both, the loser as 已被取代.
    """
    loser = event.body.get("event")
    if not loser or event.body.get("code") != "illegal_transition" or not event.case_number:
        return True
    row = conn.execute("SELECT station FROM events WHERE id=?", (loser,)).fetchone()
    if row is None or row[0] != ctx.station:
        return True  # only our own events can be superseded by a notice addressed to us
    conn.execute(f"INSERT OR IGNORE INTO {s}.superseded(event_id, case_number, notice_id, reason) VALUES (?,?,?,?)",
                 (loser, event.case_number, event.id, event.body.get("reason")))
    _refold_case(conn, s, event.case_number, event.id, ctx)
    return True


def _refold_case(conn: sqlite3.Connection, s: str, number: str, upto_event: str, ctx: FoldContext) -> None:
    """Fold one case again from its events up to ``upto_event`` (log order), skipping superseded ones."""
    limit = conn.execute("SELECT rowid FROM events WHERE id=?", (upto_event,)).fetchone()[0]
    old = conn.execute(f"SELECT id_hash FROM {s}.cases WHERE number=?", (number,)).fetchone()
    if old and old[0]:
        conn.execute(f"UPDATE {s}.applicants SET case_count=case_count-1 WHERE id_hash=?", (old[0],))
    for table, key in (("cases", "number"), ("materials", "case_number"), ("ratings", "case_number"),
                       ("prints", "case_number"), ("conflicts", "case_number"), ("revisits", "case_number"),
                       ("notice_recalls", "case_number")):
        conn.execute(f"DELETE FROM {s}.{table} WHERE {key}=?", (number,))
    skip = {e for (e,) in conn.execute(f"SELECT event_id FROM {s}.superseded WHERE case_number=?", (number,))}
    rows = conn.execute("SELECT id, station, seq, hlc, operator, case_number, type, body, recorded_at, origin"
                        " FROM events WHERE case_number=? AND rowid<? ORDER BY rowid", (number, limit)).fetchall()
    for (id_, station, seq, stamp, operator, case_number, type_, body, recorded_at, origin) in rows:
        if id_ in skip or type_ == ev.SYNC_CONFLICT:
            continue
        apply(conn, s, Event(id_, station, seq, stamp, operator, case_number, type_, json.loads(body), recorded_at,
                             origin), ctx)


# What folding an event whose body is not what its type promises can raise.
# (ProgrammingError and InterfaceError: a value of a type SQLite cannot bind, e.g. a list where a date goes.)
MALFORMED_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError, sqlite3.IntegrityError,
                    sqlite3.ProgrammingError, sqlite3.InterfaceError, StationError)


def apply(conn: sqlite3.Connection, schema: str, event: Event, ctx: FoldContext) -> bool:
    """Fold one event. Returns False when it was recorded as a conflict instead of applied.

    An event from another station whose body this fold cannot take (a ``notice.printed`` without its
    ``kind``, a filing without its applicant) is recorded as a ``malformed_event`` conflict and left
    unapplied, never raised: the platform checks each event's shape and its sender's authority, not
    every field of every type, and one such event must not stop a station from taking the rest of
    its inbox, every sync, forever. The same rule on rebuild gives the same tables."""
    if event.station == ctx.station:
        return _fold(conn, schema, event, ctx)
    conn.execute("SAVEPOINT remote_fold")
    try:
        applied = _fold(conn, schema, event, ctx)
    except MALFORMED_ERRORS:
        conn.execute("ROLLBACK TO remote_fold")
        conn.execute("RELEASE remote_fold")
        forget_calendar(conn, schema)
        return _conflict(conn, schema, event, "malformed_event", None)
    conn.execute("RELEASE remote_fold")
    return applied


def _fold(conn: sqlite3.Connection, schema: str, event: Event, ctx: FoldContext) -> bool:
    t = event.type
    if t == ev.SYNC_CONFLICT:
        return _fold_superseded(conn, schema, event, ctx)
    if t == ev.CASE_FILED:
        return _fold_filed(conn, schema, event, ctx)
    if lifecycle.is_transition(t):
        return _fold_transition(conn, schema, event, ctx)
    if t == ev.MATERIAL_RECEIVED:
        return _fold_material(conn, schema, event, ctx)
    if t == ev.RATING_GIVEN:
        return _fold_rating(conn, schema, event, ctx)
    if t == ev.FOLLOWUP_CLOSED:
        return _fold_followup(conn, schema, event, ctx)
    if t == ev.RATING_REVISITED:
        return _fold_revisit(conn, schema, event, ctx)
    if t == ev.CASE_HANDED_OVER:
        return _fold_handed_over(conn, schema, event, ctx)
    if t == ev.CONSULTATION_RECORDED:
        return _fold_consultation(conn, schema, event, ctx)
    if t == ev.NOTICE_PRINTED:
        return _fold_printed(conn, schema, event, ctx)
    if t == ev.NOTICE_RECALLED:
        return _fold_recalled(conn, schema, event, ctx)
    if t == ev.DUPLICATE_MARKED:
        return _fold_duplicate(conn, schema, event, ctx)
    if t in (ev.OPERATOR_ADDED, ev.OPERATOR_CHANGED):
        return _fold_operator(conn, schema, event, ctx)
    if t == ev.CALENDAR_UPDATED:
        return _fold_calendar(conn, schema, event, ctx)
    if t == ev.QUERY_URL_PUBLISHED:
        return _fold_query_url(conn, schema, event, ctx)
    return True  # audit-only events (logins, refusals, station init) have no projection


LOG_ROWS_SQL = ("SELECT id, station, seq, hlc, operator, case_number, type, body, recorded_at, origin"
                " FROM events ORDER BY rowid")


def rebuild(db: Database, ctx: FoldContext) -> None:
    """Drop every projection, make them again as station/schema.py declares them and fold the whole log
    into them (call inside a transaction)."""
    tables.drop_projections(db)
    tables.create_projections(db)
    refold(db.conn, "main", ctx, db.conn.execute(LOG_ROWS_SQL))


def refold(conn: sqlite3.Connection, schema: str, ctx: FoldContext, rows: Any) -> None:
    """Fold a whole log (rows in rowid order) into empty tables of ``schema``."""
    forget_calendar(conn, schema)
    for row in rows:
        (id_, station, seq, stamp, operator, case_number, type_, body, recorded_at, origin) = row
        apply(conn, schema, Event(id_, station, seq, stamp, operator, case_number, type_, json.loads(body),
                                  recorded_at, origin), ctx)
    forget_calendar(conn, schema)
