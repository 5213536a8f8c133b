"""Cases: filing, finding, reading and the everyday steps after filing.

The domain face the CLI and the TUI both call. Every change goes through ``Store.append``; reads
come from the projections. Personal data is sealed before it reaches the store and is revealed
only by :meth:`CaseRecord.reveal_id` / :meth:`CaseRecord.reveal_phone` where it is needed in full.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping

from forms.catalog import Catalog
from forms.engine import Submission, validate_submission
from forms.schema import ServiceItem, resolve_body
from station import events as ev
from station import lifecycle
from station.calendar import WorkingCalendar
from station.casenumber import PER_DEVICE_PER_DAY, CaseNumber, serial_block
from station.clock_check import assess_store
from station.clock_check import today as station_today
from station.devices import device_label, device_of, service_point
from station.casenumber import normalise as normalise_number
from station.casenumber import number_query
from forms.identity import mask_id, mask_phone
from station.operators import Operator, require
from station.pii import PiiCodec, pii
from forms.problems import Problem, ProblemList, StationError
from station.projections import calendar_for
from station.search_text import fts_query
from station.store import Store
from station.sync_state import read_cursor

PII_FIELD_TYPES = frozenset({"resident_id", "phone", "bank_account"})
NEAR_DUE_WORKING_DAYS = 3
MAX_DATA_BYTES = 64 * 1024

REVEAL_FIELD_LABELS = {"id_number": "身份证号", "phone": "电话"}


@dataclass(frozen=True)
class FiledCase:
    number: str
    query_password: str
    promised_due: str | None
    promised_estimate: bool
    missing: tuple[str, ...]
    waived: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"case_number": self.number, "query_password": self.query_password,
                "promised_due": self.promised_due, "promised_estimate": self.promised_estimate,
                "missing_materials": list(self.missing), "waived_materials": list(self.waived)}


@dataclass(frozen=True)
class MaterialState:
    key: str
    name: str
    form: str | None
    copies: int | None
    required: bool
    waivable: bool
    status: str
    due_date: str | None
    received_at: str | None
    form_label: str = ""   # 原件（核验后退还） / 原件（留存） / 复印件（留存）

    STATUS_LABELS = {"received": "已收", "missing": "缺", "waived": "容缺", "requested": "待补正"}

    @property
    def status_label(self) -> str:
        return self.STATUS_LABELS.get(self.status, self.status)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "form": self.form, "copies": self.copies,
                "required": self.required, "waivable": self.waivable, "status": self.status,
                "status_label": self.status_label, "due_date": self.due_date,
                "received_at": self.received_at, "form_label": self.form_label}


@dataclass(frozen=True)
class TimelineEntry:
    hlc: str
    at: str
    station: str
    operator: str
    type: str
    label: str
    detail: str

    @property
    def device(self) -> int:
        """Which PC of its service point recorded the event (station/devices.py)."""
        return device_of(self.station)

    def who(self, home: str) -> str:
        """The operator, and where: the device when it is another PC of ``home``'s service point (or
        not its first), the station otherwise."""
        if self.station == home:
            return self.operator
        if service_point(self.station) == service_point(home):
            return f"{self.operator}（{device_label(self.station)}）"
        return f"{self.operator}（{self.station}）"

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "station": self.station, "service_point": service_point(self.station),
                "device": self.device, "operator": self.operator, "type": self.type,
                "label": self.label, "detail": self.detail}


@dataclass(frozen=True)
class LegalRecord:
    """The case's legal record: bodies, basis, the clocks and the dates they set, with flags for today.

    Kept apart from :class:`CaseRecord`'s everyday fields so the screens that do not need it ignore it."""

    item_type: str = ""
    case_kind: str = ""
    deciding_body: str = ""
    accepting_body: str = ""
    body_seal: bool = True
    legal_basis: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    campaign: bool = False
    channel: str = "窗口"
    assist: str = ""
    consultation: str | None = None
    correction_deadline: str | None = None
    accepted_at: str | None = None
    handover_due: str | None = None
    handover_estimate: bool = False
    handed_over_at: str | None = None
    paused_days: int = 0
    pause_started: str | None = None
    second_corrections: int = 0
    forwarded_to: str | None = None
    forwarded_at: str | None = None
    forward_due: str | None = None
    forward_estimate: bool = False
    posting_days: int = 0
    posting_start: str | None = None
    posting_end: str | None = None
    trips: int | None = None
    forward_bodies: tuple[tuple[str, dict[str, Any]], ...] = ()   # (body, limit) the item may forward to
    # derived for the reader's "today"
    deemed_accepted: bool = False     # no 补正 / 不予受理 within 5 working days of receipt (§32)
    handover_overdue: bool = False    # not handed to the township by its due date
    forward_overdue: bool = False     # the forwarded-to body's limit has passed with no result
    posting_day: int = 0              # day N of the 公示 (0 when not posting)
    renumbered_from: str | None = None  # the number this case had before it was renumbered (改号)

    @property
    def is_administrative_act(self) -> bool:
        from forms.schema import ADMINISTRATIVE_ACT_TYPES
        return self.item_type in ADMINISTRATIVE_ACT_TYPES

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict
        out = asdict(self)
        out["legal_basis"] = list(self.legal_basis)
        out["labels"] = list(self.labels)
        out["forward_bodies"] = [{"body": b, "limit": lim} for b, lim in self.forward_bodies]
        return out


@dataclass(frozen=True)
class CaseRecord:
    """One case as the projections hold it, with its derived flags."""

    number: str
    item_code: str
    item_version: int
    item_name: str
    department: str | None
    handling_level: str | None
    village_code: str
    filed_by_station: str
    status: str
    received_at: str
    received_date: str
    operator: str
    applicant_name: str
    id_last4: str | None
    sex: str | None
    birth_date: str | None
    address: str | None
    relationship: str | None
    promised_due: str | None
    promised_estimate: bool
    statutory_due: str | None
    statutory_estimate: bool
    corrections: int
    decision: dict[str, Any] | None
    rating_level: int | None
    sync_state: str
    overdue: bool
    near_due: bool
    duplicate_of: str | None
    _id_enc: str | None = field(default=None, repr=False)
    _phone_enc: str | None = field(default=None, repr=False)
    _fields: str = field(default="{}", repr=False)
    _password_enc: str | None = field(default=None, repr=False)
    materials: tuple[MaterialState, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()
    legal: LegalRecord = LegalRecord()

    @property
    def status_label(self) -> str:
        label = lifecycle.STATUS_LABELS.get(self.status, self.status)
        if self.legal.deemed_accepted:
            return f"{label}（视为受理）"
        if self.status == lifecycle.POSTING and self.legal.posting_day:
            return f"{label}（第{self.legal.posting_day}/{self.legal.posting_days}天）"
        return label

    def masked_id(self, codec: PiiCodec) -> str:
        return mask_id(self.reveal_id(codec)) if self._id_enc else ""

    def reveal_id(self, codec: PiiCodec) -> str:
        return codec.open(json.loads(self._id_enc)) if self._id_enc else ""

    def reveal_phone(self, codec: PiiCodec) -> str:
        return codec.open(json.loads(self._phone_enc)) if self._phone_enc else ""

    @property
    def has_id(self) -> bool:
        return bool(self._id_enc)

    @property
    def has_phone(self) -> bool:
        return bool(self._phone_enc)

    def sealed_field_keys(self) -> list[str]:
        """Form fields holding personal data (sealed in the store): bank accounts and the like."""
        return [k for k, v in json.loads(self._fields).items() if isinstance(v, dict) and "$enc" in v]

    def query_password(self, codec: PiiCodec) -> str:
        return codec.open(json.loads(self._password_enc)) if self._password_enc else ""

    def fields(self, codec: PiiCodec, reveal: bool = False) -> dict[str, Any]:
        """Form data; personal-data fields are masked unless ``reveal``."""
        out: dict[str, Any] = {}
        for key, value in json.loads(self._fields).items():
            if isinstance(value, dict) and "$enc" in value:
                plain = codec.open(value)
                out[key] = plain if reveal else _mask_any(plain)
            else:
                out[key] = value
        return out

    def summary_dict(self) -> dict[str, Any]:
        return {"case_number": self.number, "item_code": self.item_code, "item_name": self.item_name,
                "status": self.status, "status_label": self.status_label,
                "applicant_name": self.applicant_name, "id_last4": self.id_last4,
                "received_at": self.received_at, "promised_due": self.promised_due,
                "promised_estimate": self.promised_estimate, "overdue": self.overdue,
                "near_due": self.near_due, "sync_state": self.sync_state,
                "village_code": self.village_code}

    def to_dict(self, codec: PiiCodec, reveal: bool = False) -> dict[str, Any]:
        phone = self.reveal_phone(codec)
        out = self.summary_dict()
        out.update({
            "item_version": self.item_version, "department": self.department,
            "handling_level": self.handling_level, "filed_by_station": self.filed_by_station,
            "operator": self.operator, "received_date": self.received_date,
            "applicant": {"name": self.applicant_name,
                          "id_number": self.reveal_id(codec) if reveal else self.masked_id(codec),
                          "phone": phone if reveal else mask_phone(phone) if phone else "",
                          "address": self.address, "sex": self.sex, "birth_date": self.birth_date,
                          "relationship": self.relationship},
            "fields": self.fields(codec, reveal),
            "statutory_due": self.statutory_due, "statutory_estimate": self.statutory_estimate,
            "corrections": self.corrections, "decision": self.decision, "rating_level": self.rating_level,
            "duplicate_of": self.duplicate_of, "legal": self.legal.to_dict(),
            "materials": [m.to_dict() for m in self.materials],
            "timeline": [t.to_dict() for t in self.timeline],
        })
        return out


def _id_parts(id_number: str) -> tuple[str, str | None]:
    """(last four characters, ISO birth date) of a resident ID number as shown on screens."""
    birth = None
    if len(id_number) == 18 and id_number[6:14].isdigit():
        birth = f"{id_number[6:10]}-{id_number[10:12]}-{id_number[12:14]}"
    return id_number[-4:], birth


def _mask_any(value: str) -> str:
    if len(value) >= 15:
        return mask_id(value)
    if len(value) >= 7:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    return "*" * len(value)


# --- filing ------------------------------------------------------------------------------------

def _check_size(data: Mapping[str, Any]) -> None:
    try:
        size = len(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError):
        raise StationError("bad_data", "申请数据不是有效的JSON对象") from None
    if size > MAX_DATA_BYTES:
        raise StationError("too_large", f"申请数据过大（{size // 1024} KiB，上限 64 KiB）",
                           [Problem("data", "too_large", "申请数据过大")])


def _next_number(store: Store, day: date) -> CaseNumber:
    """The next number of this device's daily block (station/casenumber.py: the serial's first digit is
    the device), after every number of the block this store holds or has been told it issued."""
    first, last = serial_block(store.device)
    prefix = f"{store.division_code}-{day:%y%m%d}-"
    low, high = f"{prefix}{first:04d}", f"{prefix}{last:04d}-\uffff"
    row = store.conn.execute("SELECT MAX(number) FROM cases WHERE number >= ? AND number < ?", (low, high)).fetchone()
    seq = int(row[0].split("-")[2]) + 1 if row and row[0] else first
    seq = max(seq, issued_floor(store, day) + 1)
    if seq > last:
        raise StationError("sequence_exhausted", f"本机今日办件编号已用完（每台电脑每天{PER_DEVICE_PER_DAY}件），"
                                                 "请明天再登记，或在本服务点的另一台电脑上登记")
    return CaseNumber(store.division_code, day, seq)


def issued_floor(store: Store, day: date) -> int:
    """The highest serial this device is known to have issued on ``day`` beyond its own cases table
    (a restored home learns it from the platform: sync/catchup.py records it), else 0."""
    value = store.meta_get(f"casenumber.issued.{day:%y%m%d}", "") or ""
    return int(value) if value.isdigit() else 0


def _filed_body(item: ServiceItem, sub: Submission, received_at: str, day: date, password: str,
                village_code: str, names: Mapping[str, str]) -> dict[str, Any]:
    a = sub.applicant
    fields: dict[str, Any] = {}
    for key, value in sub.fields.items():
        fd = item.field(key)
        fields[key] = pii(str(value)) if fd is not None and fd.type in PII_FIELD_TYPES and value not in (None, "") else value
    materials = []
    for m in item.materials:
        status = sub.materials.get(m.key, "missing")
        materials.append({"key": m.key, "name": m.name, "form": m.form, "copies": m.copies,
                          "required": m.required, "waivable": m.waivable, "status": status,
                          "due_date": sub.waived.get(m.key)})
        if m.keep_original is not None:  # the default label is computed when folding (keeps events small)
            materials[-1]["form_label"] = m.form_label
    return {
        "item": item_snapshot(item, names),
        "applicant": {"name": a.name, "id_number": pii(a.id_number), "phone": pii(a.phone) if a.phone else None,
                      "address": a.address, "sex": a.sex, "relationship": a.relationship},
        "fields": fields,
        "materials": materials,
        "commitment_signer": sub.commitment_signer,
        "query_password": pii(password),
        "received_at": received_at,
        "received_date": day.isoformat(),
        "village_code": village_code,
        "channel": sub.channel,
        "assist": sub.assist,
    }


def body_names(config: Any) -> dict[str, str]:
    """The station's county and township names, filled into the catalog's body names."""
    township = getattr(config, "township_name", "") or ""
    if not township:
        authority = getattr(config, "authority_name", "") or ""
        township = authority.removesuffix("人民政府") if authority not in ("", "乡镇人民政府") else ""
    return {"county": getattr(config, "county_name", "") or "", "township": township}


def item_snapshot(item: ServiceItem, names: Mapping[str, str]) -> dict[str, Any]:
    """What a case (or a 告知件) keeps of its item, bodies resolved, so folding and printing years later
    need no catalog and every station prints the same names."""
    return {"code": item.code, "version": item.version, "name": item.name, "department": item.department,
            "handling_level": item.handling_level, "case_kind": item.case_kind, "item_type": item.item_type,
            "promised": item.promised_limit.to_dict(), "statutory": item.statutory_limit.to_dict(),
            "posting_days": item.posting_days, "campaign": item.campaign,
            "legal_basis": list(item.legal_basis), "labels": list(item.labels),
            "authority": {"decides": resolve_body(item.authority.decides, names),
                          "accepts": resolve_body(item.authority.accepting(item.handling_level), names),
                          "seal": item.authority.seal},
            "forward": [{"body": resolve_body(f.body, names), "limit": f.limit.to_dict()} for f in item.forward]}


def open_duplicates(store: Store, id_number: str, item_code: str) -> list[CaseRecord]:
    """Open cases of this applicant (by the keyed ID hash) for the same item that this station knows:
    its own, and those it learned from sync. Filing another is allowed only with a stated reason."""
    key = store.codec.lookup_hash(id_number.strip().upper())
    states = sorted(lifecycle.OPEN)
    rows = store.conn.execute(f"SELECT number FROM cases WHERE id_hash=? AND item_code=? AND status IN"
                              f" ({','.join('?' * len(states))}) ORDER BY received_at", (key, item_code, *states))
    reader = CaseReader(store)
    return [reader.get(n) for (n,) in rows]


MAX_REASON = 200


def file_case(store: Store, catalog: Catalog, item_code: str, data: Mapping[str, Any], operator: Operator,
              duplicate_reason: str | None = None, consultation: str | None = None) -> FiledCase:
    """Validate and file a case: issue its number and query password, durably, in one event.

    The same applicant with the same item still open here is refused as ``possible_duplicate`` (naming
    the other case) unless ``duplicate_reason`` says why a second application is right; the reason is
    recorded on the case."""
    if store.config.role != "village":
        raise StationError("wrong_role", "只有村级服务站可以收件登记")
    require(store, operator, "file", "收件登记")
    if not isinstance(data, Mapping):
        raise StationError("bad_data", "申请数据必须是JSON对象")
    _check_size(data)
    item = catalog.get(item_code).for_province(store.division_code[:2])
    now = store.clock()
    sane = assess_store(store)
    if sane.today != now.date():  # the PC clock is known wrong: take the date from a sane reference
        now = datetime.combine(sane.today, now.time())
    sub = validate_submission(item, data, now.date())
    reason = (duplicate_reason or "").strip()
    if len(reason) > MAX_REASON:
        raise StationError("bad_reason", f"理由不能超过{MAX_REASON}个字", [Problem("duplicate_reason", "too_long", "理由过长")])
    password = f"{secrets.randbelow(1_000_000):06d}"
    with store.transaction():
        others = open_duplicates(store, sub.applicant.id_number, item.code)
        if others and not reason:
            listed = "、".join(f"{c.number}（{c.status_label}）" for c in others)
            raise StationError("possible_duplicate",
                               f"此申请人已有同一事项的办件在办：{listed}。请先核实；确需再次申请的，请填写理由后再保存",
                               [Problem("applicant.id_number", "possible_duplicate", f"已有在办件 {others[0].number}")],
                               candidates=[c.number for c in others])
        number = _next_number(store, now.date())
        body = _filed_body(item, sub, now.isoformat(timespec="seconds"), now.date(), password, store.division_code,
                           body_names(store.config))
        if consultation:
            body["consultation"] = consultation
        if others:
            body["duplicate_reason"] = reason
            body["open_cases_then"] = [c.number for c in others]
        store.append(ev.CASE_FILED, body, operator.name, str(number))
        row = store.conn.execute("SELECT promised_due, promised_estimate FROM cases WHERE number=?",
                                 (str(number),)).fetchone()
    return FiledCase(str(number), password, row[0], bool(row[1]), sub.missing, tuple(sub.waived))


# --- reading -----------------------------------------------------------------------------------

_COLUMNS = ("number, item_code, item_version, item_name, department, handling_level, village_code,"
            " filed_by_station, status, received_at, received_date, operator, applicant_name, sex,"
            " address, relationship, promised_due, promised_estimate, statutory_due,"
            " statutory_estimate, corrections, decision, rating_level, duplicate_of, last_local_seq,"
            " id_enc, phone_enc, fields, query_password_enc,"
            " item_type, case_kind, deciding_body, accepting_body, body_seal, legal_basis, labels, campaign,"
            " channel, assist, consultation, correction_deadline, accepted_at, handover_due, handover_estimate,"
            " handed_over_at, paused_days, pause_started, second_corrections, forwarded_to, forwarded_at,"
            " forward_due, forward_estimate, posting_days, posting_start, posting_end, trips, forward_bodies,"
            " renumbered_from")
_BASE_COLUMNS = 29


class CaseReader:
    """Reads cases with their derived flags (overdue, near-due, sync state) for one 'today'."""

    def __init__(self, store: Store, today: date | None = None):
        self.store = store
        self.today = today or store.clock().date()
        self.calendar: WorkingCalendar = calendar_for(store.conn)
        self.near_limit = self.calendar.add_working_days(self.today, NEAR_DUE_WORKING_DAYS).date.isoformat()
        self.cursor = read_cursor(store)

    def _legal(self, status: str, tail: tuple) -> LegalRecord:
        (item_type, case_kind, deciding, accepting, seal, basis, labels, campaign, channel, assist, consultation,
         correction_deadline, accepted_at, handover_due, handover_est, handed_over_at, paused, pause_started,
         second, fwd_to, fwd_at, fwd_due, fwd_est, posting_days, posting_start, posting_end, trips, bodies,
         renumbered_from) = tail
        today = self.today.isoformat()
        posting_day = 0
        if status == lifecycle.POSTING and posting_start:
            posting_day = max(0, min(int(posting_days or 0), (self.today - date.fromisoformat(posting_start)).days))
        return LegalRecord(
            item_type or "", case_kind or "", deciding or "", accepting or "", bool(seal if seal is not None else 1),
            tuple(json.loads(basis or "[]")), tuple(json.loads(labels or "[]")), bool(campaign), channel or "窗口",
            assist or "", consultation, correction_deadline, accepted_at, handover_due, bool(handover_est),
            handed_over_at, int(paused or 0), pause_started, int(second or 0), fwd_to, fwd_at, fwd_due, bool(fwd_est),
            int(posting_days or 0), posting_start, posting_end, trips,
            forward_bodies=tuple((f["body"], f["limit"]) for f in json.loads(bodies or "[]")),
            deemed_accepted=bool(status == lifecycle.RECEIVED and correction_deadline and today > correction_deadline),
            handover_overdue=bool(handover_due and not handed_over_at and status in lifecycle.OPEN
                                  and today > handover_due),
            forward_overdue=bool(status == lifecycle.FORWARDED and fwd_due and today > fwd_due),
            posting_day=posting_day, renumbered_from=renumbered_from)

    def _record(self, row: tuple, materials=(), timeline=()) -> CaseRecord:
        legal = self._legal(row[8], tuple(row[_BASE_COLUMNS:]))
        (number, item_code, item_version, item_name, department, level, village, filed_by, status, received_at,
         received_date, operator, name, sex, address, relationship, pdue, pest, sdue, sest,
         corrections, decision, rating, dup, last_local, id_enc, phone_enc, fields, pw_enc) = row[:_BASE_COLUMNS]
        # The last four digits and the birth date are read from the sealed ID, never from a column.
        last4, birth = _id_parts(self.store.codec.open(json.loads(id_enc))) if id_enc else (None, None)
        open_ = status in lifecycle.CLOCK_RUNNING
        today = self.today.isoformat()
        sync_state = self.cursor.case_state(last_local)
        return CaseRecord(
            number, item_code, item_version, item_name, department, level, village, filed_by, status,
            received_at, received_date, operator, name, last4, sex, birth, address, relationship, pdue,
            bool(pest), sdue, bool(sest), corrections, json.loads(decision) if decision else None, rating,
            sync_state, bool(open_ and pdue and pdue < today),
            bool(open_ and pdue and today <= pdue <= self.near_limit), dup or None,
            id_enc, phone_enc, fields, pw_enc, tuple(materials), tuple(timeline), legal)

    def matching_numbers(self, text: str, limit: int = 20) -> list[str] | None:
        """Case numbers written as ``text`` in any form (casenumber.number_query), newest first, and the
        cases renumbered from such a number (a citizen keeps the receipt with the old one) after them;
        None when ``text`` is no form of a case number."""
        query = number_query(text)
        if query is None:
            return None
        if query.exact:
            match, arg = "=?", query.exact
        else:
            match, arg = " LIKE ?", query.pattern
        order = "ORDER BY received_at DESC, number DESC LIMIT ?"
        found = [n for (n,) in self.store.conn.execute(f"SELECT number FROM cases WHERE number{match} {order}",
                                                       (arg, limit))]
        found += [n for (n,) in self.store.conn.execute(
            f"SELECT number FROM cases WHERE renumbered_from{match} {order}", (arg, limit)) if n not in found]
        return found[:limit]

    def renumberings(self, numbers: list[str]) -> dict[str, str]:
        """new number -> the number it replaced, for those of ``numbers`` that were renumbered."""
        if not numbers:
            return {}
        rows = self.store.conn.execute(
            f"SELECT number, renumbered_from FROM cases WHERE renumbered_from IS NOT NULL"
            f" AND number IN ({','.join('?' * len(numbers))})", numbers)
        return {n: old for n, old in rows}

    def resolve(self, text: str) -> str:
        """The one case number ``text`` stands for: a full number, the tables' short form, or the day
        and sequence, or the number a renumbered case had (a whole number that is a case's own names that
        case). None found or several is a clear error (several are listed, a renumbered one with the number
        it had)."""
        found = self.matching_numbers(text)
        if found is None:
            normalise_number(text)  # raises the format error that says what a number looks like
        if not found:
            key = text.strip()
            raise StationError("unknown_case", f"本站没有办件 {key}", [Problem("case_number", "unknown", "办件不存在")])
        query = number_query(text)
        if query is not None and query.exact in found:
            return query.exact  # a whole number names its case, even when another case was renumbered from it
        if len(found) > 1:
            renumbered = self.renumberings(found)
            listed = [f"{n}（原编号 {renumbered[n]}，已改号）" if n in renumbered else n for n in found[:10]]
            raise StationError("ambiguous_case_number",
                               f"「{text.strip()}」对应多个办件，请输入完整编号：{'、'.join(listed)}",
                               [Problem("case_number", "ambiguous", "对应多个办件")], candidates=found)
        return found[0]

    def get(self, number: str) -> CaseRecord:
        key = self.resolve(number)
        row = self.store.conn.execute(f"SELECT {_COLUMNS} FROM cases WHERE number=?", (key,)).fetchone()
        materials = [MaterialState(k, n, f, c, bool(r), bool(w), s, d, ra, fl or "") for k, n, f, c, r, w, s, d, ra, fl in
                     self.store.conn.execute("SELECT key, name, form, copies, required, waivable, status, due_date,"
                                             " received_at, form_label FROM materials WHERE case_number=? ORDER BY position",
                                             (key,))]
        timeline = [_timeline_entry(e) for e in self.store.case_events(key)]
        return self._record(row, materials, timeline)

    def _filters(self, search: str | None = None, status: str | None = None, overdue: bool = False,
                 near_due: bool = False, unsynced: bool = False, waiting_materials: bool = False,
                 received_from: str | None = None, received_to: str | None = None
                 ) -> tuple[str, list[str], list[Any], str] | None:
        """(source, where clauses, params, order) of a case query; None when the search can match nothing."""
        where: list[str] = []
        params: list[Any] = []
        source = "cases c"
        order = "c.received_at DESC, c.number DESC"
        numbers = self.matching_numbers(search) if search and search.strip() else None
        if numbers:  # a case number in any written form: those cases, not a text search
            where.append(f"c.number IN ({','.join('?' * len(numbers))})")
            params.extend(numbers)
        elif search and search.strip():
            query = fts_query(search, self.store.codec.last4_token)
            if query is None:
                return None
            # Walk the index newest-first and stop at the limit: a one-letter prefix matching half the
            # store costs a few ms instead of sorting every match (rowid order is filing/arrival order).
            source = "cases_fts f JOIN cases c ON c.rowid = f.rowid"
            where.append("cases_fts MATCH ?")
            params.append(query)
            order = "f.rowid DESC"
        if status:
            where.append("c.status=?")
            params.append(lifecycle.parse_status(status))
        running = sorted(lifecycle.CLOCK_RUNNING)
        marks = ",".join("?" * len(running))
        if overdue:
            where.append(f"c.status IN ({marks}) AND c.promised_due < ?")
            params += [*running, self.today.isoformat()]
        if near_due:
            where.append(f"c.status IN ({marks}) AND c.promised_due BETWEEN ? AND ?")
            params += [*running, self.today.isoformat(), self.near_limit]
        if unsynced:
            where.append("c.last_local_seq > ?")
            params.append(self.cursor.acked_seq)
        if waiting_materials:
            where.append("EXISTS (SELECT 1 FROM materials m WHERE m.case_number=c.number"
                         " AND m.status IN ('waived','requested'))")
        if received_from:
            where.append("c.received_date >= ?")
            params.append(received_from)
        if received_to:
            where.append("c.received_date <= ?")
            params.append(received_to)
        return source, where, params, order

    def list(self, search: str | None = None, status: str | None = None, overdue: bool = False,
             near_due: bool = False, unsynced: bool = False, waiting_materials: bool = False,
             received_from: str | None = None, received_to: str | None = None,
             limit: int = 50, offset: int = 0) -> list[CaseRecord]:
        query = self._filters(search, status, overdue, near_due, unsynced, waiting_materials, received_from,
                              received_to)
        if query is None:
            return []
        source, where, params, order = query
        sql = (f"SELECT {', '.join('c.' + c.strip() for c in _COLUMNS.split(','))} FROM {source}"
               f"{' WHERE ' + ' AND '.join(where) if where else ''}"
               f" ORDER BY {order} LIMIT ? OFFSET ?")
        return [self._record(r) for r in self.store.conn.execute(sql, (*params, limit, offset))]

    def count(self, search: str | None = None, status: str | None = None, overdue: bool = False,
              near_due: bool = False, unsynced: bool = False, waiting_materials: bool = False,
              received_from: str | None = None, received_to: str | None = None) -> int:
        """How many cases :meth:`list` would find with no limit (one SQL count)."""
        query = self._filters(search, status, overdue, near_due, unsynced, waiting_materials, received_from,
                              received_to)
        if query is None:
            return 0
        source, where, params, _ = query
        sql = f"SELECT COUNT(*) FROM {source}{' WHERE ' + ' AND '.join(where) if where else ''}"
        return self.store.conn.execute(sql, params).fetchone()[0]


@dataclass(frozen=True)
class Worklist:
    """What is still to do, as the home screen's tiles count it (each a ``case list`` filter)."""

    today: int
    waiting: int
    near_due: int
    overdue: int
    unsynced: int


def worklist(reader: CaseReader) -> Worklist:
    day = reader.today.isoformat()
    return Worklist(today=reader.count(received_from=day, received_to=day),
                    waiting=reader.count(waiting_materials=True), near_due=reader.count(near_due=True),
                    overdue=reader.count(overdue=True), unsynced=reader.count(unsynced=True))


def _timeline_entry(e: ev.Event) -> TimelineEntry:
    b = e.body
    label = lifecycle.ACTION_LABELS.get(e.type, e.type)
    detail = ""
    if e.type == ev.CASE_FILED:
        detail = f"{b['item']['name']}（版本{b['item']['version']}）"
        if b.get("duplicate_reason"):
            detail += f"；同一事项已有在办件 {'、'.join(b.get('open_cases_then') or [])}，再次申请理由：{b['duplicate_reason']}"
    elif b.get("reason"):
        detail = str(b["reason"])
        if b.get("exception_reason"):
            detail += f"（例外补正，理由：{b['exception_reason']}）"
        if b.get("apply_to"):
            detail += f"；请向{b['apply_to']}申请"
    elif e.type == ev.CASE_FORWARDED:
        detail = f"转报至{b.get('to', '')}"
    elif e.type == ev.CASE_POSTING_STARTED:
        detail = f"公示{b.get('days', '')}天"
    elif e.type == ev.CASE_HANDED_OVER:
        detail = f"移交{b.get('to', '乡镇')}"
    elif e.type == ev.RATING_REVISITED:
        detail = f"{b.get('method', '')}：{b.get('result', '')}"
    elif e.type in (ev.MATERIAL_RECEIVED, ev.CASE_SUPPLEMENTED):
        detail = "、".join(b.get("material_names") or b.get("materials") or [])
    elif e.type == ev.RATING_GIVEN:
        detail = b.get("label", "")
    elif e.type == ev.NOTICE_PRINTED:
        detail = b.get("title", b.get("kind", ""))
    elif e.type == ev.RESULT_DELIVERED:
        detail = f"交付给 {b.get('to_whom', '')}"
    elif e.type == ev.PII_REVEALED:
        detail = "、".join(REVEAL_FIELD_LABELS.get(f, f.removeprefix("fields.")) for f in b.get("fields", [])) + \
            f"（{'命令行' if b.get('face') == 'cli' else '操作界面'}）"
    if b.get("certificate"):
        detail += f" 证书编号 {b['certificate']}"
    return TimelineEntry(e.hlc, e.recorded_at, e.station, e.operator, e.type, label, detail.strip())


# --- everyday steps after filing ---------------------------------------------------------------

def _transition(store: Store, number: str, event_type: str, body: dict[str, Any], operator: Operator) -> CaseRecord:
    reader = CaseReader(store)
    with store.transaction():
        case = reader.get(number)
        lifecycle.next_status(case.status, event_type)  # raises on an illegal step
        store.append(event_type, body, operator.name, case.number)
    return CaseReader(store).get(case.number)


def record_materials(store: Store, number: str, keys: list[str], operator: Operator) -> CaseRecord:
    """A material accepted under 容缺 (or asked for in 补正) was brought in."""
    require(store, operator, "handle", "登记补交材料")
    case = CaseReader(store).get(number)
    waiting = {m.key: m for m in case.materials if m.status in ("waived", "missing", "requested")}
    bad = [k for k in keys if k not in waiting]
    if not keys or bad:
        raise StationError("bad_materials", "只能登记尚未收到的材料：" + "、".join(bad or ["（未选择）"]),
                           [Problem(f"materials.{k}", "not_waiting", "该材料不在待补交之列") for k in bad])
    names = [waiting[k].name for k in keys]
    if case.status == lifecycle.CORRECTION_REQUESTED and all(m.status != "requested" or m.key in keys
                                                           for m in case.materials):
        return _transition(store, number, ev.CASE_SUPPLEMENTED,
                           {"materials": keys, "material_names": names, "date": station_today(store).isoformat()},
                           operator)
    store.append(ev.MATERIAL_RECEIVED, {"materials": keys, "material_names": names,
                                        "date": station_today(store).isoformat()}, operator.name, case.number)
    return CaseReader(store).get(case.number)


def withdraw(store: Store, number: str, reason: str, operator: Operator) -> CaseRecord:
    require(store, operator, "handle", "撤回办件")
    if not reason or not reason.strip():
        raise StationError("reason_required", "撤回须写明原因（如：申请人本人要求撤回）",
                           [Problem("reason", "required", "请填写撤回原因")])
    return _transition(store, number, ev.CASE_WITHDRAWN, {"reason": reason.strip()[:500],
                                                          "date": station_today(store).isoformat()}, operator)


MAX_TRIPS = 20


def deliver(store: Store, number: str, to_whom: str, id_checked: bool, operator: Operator,
            trips: int | None = None) -> CaseRecord:
    """The result handed over; ``trips``: how many times the citizen came to a counter for this case
    (asked at delivery: 0 when everything was done at home or by the agent), for 一次办结率."""
    require(store, operator, "handle", "登记结果送达")
    problems = ProblemList()
    if not to_whom or not to_whom.strip():
        problems.add("to_whom", "required", "请填写领取人姓名")
    if trips is not None and (isinstance(trips, bool) or not isinstance(trips, int) or not 0 <= trips <= MAX_TRIPS):
        problems.add("trips", "out_of_range", f"跑动次数应为0到{MAX_TRIPS}之间的整数")
    problems.raise_if_any("invalid_delivery", "送达登记有误")
    body: dict[str, Any] = {"to_whom": to_whom.strip()[:50], "id_checked": bool(id_checked),
                            "date": station_today(store).isoformat()}
    if trips is not None:
        body["trips"] = trips
    return _transition(store, number, ev.RESULT_DELIVERED, body, operator)


def hand_over(store: Store, number: str, operator: Operator, to: str = "") -> CaseRecord:
    """The village agent handed the paper file to the township (due within 3 working days of receipt)."""
    require(store, operator, "handle", "登记移交乡镇")
    case = CaseReader(store).get(number)
    if case.handling_level != "township":
        raise StationError("not_township_item", "该事项在本站办结，不需要移交乡镇")
    if case.village_code != store.division_code:
        raise StationError("forbidden", "只能登记本站收件的办件的移交")
    if case.legal.handed_over_at:
        raise StationError("already_handed_over", f"该办件已于{case.legal.handed_over_at}移交乡镇")
    if case.status not in lifecycle.OPEN:
        raise StationError("not_open", f"办件「{case.status_label}」，不需要再移交")
    store.append(ev.CASE_HANDED_OVER, {"date": station_today(store).isoformat(),
                                       "to": (to or case.legal.accepting_body or "乡镇").strip()[:100]},
                 operator.name, case.number)
    return CaseReader(store).get(case.number)
