"""告知件: an application that could not be taken today, recorded with its own number.

行政许可法 §32: when materials are missing or not in the legal form, the applicant is told everything
to correct at once, in writing; when the matter is not this station's, where to apply. The engine
refuses to file such an application, so without this record the citizen would leave with nothing.
A consultation keeps the application as entered (sealed), lists every missing material and unmet
condition, prints the 一次性告知书 under its own number, counts in the statistics (告知件数), and
turns into a case in one action when the citizen returns with what was missing.

The record is the event ``consultation.recorded``. It carries no case number (nothing was received),
so it is the station's own record on the wire: kept by the platform, not routed (see the report to
the lead: the township needs it routed to count 告知件数 of its villages).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping

from forms.catalog import Catalog
from forms.engine import CONDITION_CODES, MATERIAL_CODES, check_submission
from forms.problems import Problem, StationError
from station import events as ev
from station.clock_check import today as station_today
from station.cases import FiledCase, _check_size, body_names, file_case, item_snapshot
from station.operators import Operator, require
from station.pii import pii
from station.store import Store

MAX_APPLY_TO = 100


@dataclass(frozen=True)
class Consultation:
    number: str
    day: str
    recorded_at: str
    operator: str
    station: str
    item_code: str
    item_name: str
    applicant_name: str
    reasons: tuple[dict[str, Any], ...]
    converted_case: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"consultation_number": self.number, "date": self.day, "recorded_at": self.recorded_at,
                "operator": self.operator, "station": self.station, "item_code": self.item_code,
                "item_name": self.item_name, "applicant_name": self.applicant_name,
                "reasons": list(self.reasons), "converted_case": self.converted_case}


def _next_number(store: Store, day: date) -> str:
    # device 1 keeps G001…; device N numbers its own as GN01… (99 a day), so devices never collide
    prefix = f"{store.division_code}-{day:%y%m%d}-G" + (str(store.device) if store.device > 1 else "")
    row = store.conn.execute("SELECT MAX(number) FROM consultations WHERE number >= ? AND number < ?",
                             (prefix, prefix + "\uffff")).fetchone()
    seq = int(row[0][len(prefix):]) + 1 if row and row[0] else 1
    width = 3 if store.device == 1 else 2
    if seq >= 10 ** width:
        raise StationError("sequence_exhausted", f"本机今日告知书编号已用完（{10 ** width - 1}份）")
    return f"{prefix}{seq:0{width}d}"


def _reasons(item: Any, problems: tuple[Problem, ...], apply_to: str) -> list[dict[str, Any]]:
    """Every reason the application cannot be taken, grouped by kind: jurisdiction, materials,
    conditions, then anything else the form still needs."""
    out: list[dict[str, Any]] = []
    if apply_to:
        out.append({"kind": "jurisdiction", "field": "", "text": f"不在本站受理范围，请到{apply_to}申请"})
    for p in problems:
        if p.code in MATERIAL_CODES:
            key = p.field.removeprefix("materials.")
            m = item.material(key)
            out.append({"kind": "material", "field": p.field, "key": key,
                        "text": f"缺少「{m.name if m else key}」", "waivable": bool(m and m.waivable)})
    out += [{"kind": "condition", "field": p.field, "text": p.message} for p in problems if p.code in CONDITION_CODES]
    out += [{"kind": "other", "field": p.field, "text": p.message} for p in problems
            if p.code not in MATERIAL_CODES | CONDITION_CODES]
    return out


def record(store: Store, catalog: Catalog, item_code: str, data: Mapping[str, Any], operator: Operator,
           apply_to: str = "") -> Consultation:
    """Record a 告知件 for an application that cannot be taken; refused when it could be filed."""
    require(store, operator, "file", "出具一次性告知书")
    if not isinstance(data, Mapping):
        raise StationError("bad_data", "申请数据必须是JSON对象")
    _check_size(data)
    apply_to = (apply_to or "").strip()
    if len(apply_to) > MAX_APPLY_TO:
        raise StationError("bad_apply_to", f"受理机关名称不超过{MAX_APPLY_TO}字",
                           [Problem("apply_to", "too_long", "名称过长")])
    item = catalog.get(item_code).for_province(store.division_code[:2])
    now = store.clock()
    sane = station_today(store)
    if sane != now.date():  # the PC clock is known wrong: date the 告知件 as cases.file_case dates a filing
        now = datetime.combine(sane, now.time())
    result = check_submission(item, data, now.date())
    if result.ok and not apply_to:
        raise StationError("nothing_to_inform", "申请材料齐全、符合条件，应当收件登记（station case file），不需要出具一次性告知书",
                           [Problem("data", "nothing_to_inform", "可以直接收件")])
    if not result.applicant_name:
        raise StationError("name_required", "一次性告知书要写明申请人，请至少填写申请人姓名",
                           [Problem("applicant.name", "required", "请填写申请人姓名")])
    bad_name = [p for p in result.problems if p.field == "applicant.name"]
    if bad_name:  # the notice names its applicant: the same name rule as a filing (not a reason to list)
        raise StationError("bad_name", f"一次性告知书要写明申请人：{bad_name[0].message}", bad_name)
    reasons = _reasons(item, result.problems, apply_to)
    raw_applicant = data.get("applicant") if isinstance(data.get("applicant"), Mapping) else {}
    phone = raw_applicant.get("phone") if isinstance(raw_applicant.get("phone"), str) else ""
    body = {"date": now.date().isoformat(), "item": item_snapshot(item, body_names(store.config)),
            "applicant": {"name": result.applicant_name[:50],
                          "id_number": pii(result.id_number) if result.id_number else None,
                          "phone": pii(phone.strip()) if phone and phone.strip() else None},
            "reasons": reasons, "apply_to": apply_to or None,
            "materials": {m.key: (data.get("materials") or {}).get(m.key, "missing")
                          if isinstance(data.get("materials"), Mapping) else "missing" for m in item.materials},
            "material_specs": [{"key": m.key, "name": m.name, "form": m.form, "form_label": m.form_label,
                                "copies": m.copies, "required": m.required, "waivable": m.waivable}
                               for m in item.materials],
            "data": pii(json.dumps(data, ensure_ascii=False))}
    with store.transaction():
        body["number"] = _next_number(store, now.date())
        store.append(ev.CONSULTATION_RECORDED, body, operator.name)
    return get(store, body["number"])


def get(store: Store, number: str) -> Consultation:
    row = store.conn.execute("SELECT number, day, recorded_at, operator, station, item_code, item_name, applicant_name,"
                             " reasons, converted_case FROM consultations WHERE number=?",
                             (number.strip().upper(),)).fetchone()
    if row is None:
        raise StationError("unknown_consultation", f"本站没有告知书 {number}",
                           [Problem("number", "unknown", "告知书不存在")])
    return Consultation(*row[:8], tuple(json.loads(row[8])), row[9])


def recent(store: Store, limit: int = 50) -> list[Consultation]:
    return [get(store, n) for (n,) in store.conn.execute(
        "SELECT number FROM consultations ORDER BY recorded_at DESC, number DESC LIMIT ?", (limit,))]


def event_body(store: Store, number: str) -> dict[str, Any]:
    """The consultation's event body with personal data opened (for the paper and the conversion)."""
    row = store.conn.execute("SELECT body_event FROM consultations WHERE number=?", (number.strip().upper(),)).fetchone()
    if row is None:
        raise StationError("unknown_consultation", f"本站没有告知书 {number}")
    event = next(store.iter_events("id=?", (row[0],)))
    return store.codec.open_body(event.body)


def convert(store: Store, catalog: Catalog, number: str, operator: Operator,
            data: Mapping[str, Any] | None = None, duplicate_reason: str | None = None) -> FiledCase:
    """The citizen came back with what was missing: file the case in one action.

    The application entered at the consultation is used as it was, with every material that was
    missing marked received now; ``data`` replaces it when something else changed. The engine checks
    it like any filing (still missing something: refused as usual)."""
    c = get(store, number)
    if c.converted_case:
        raise StationError("already_converted", f"告知书 {c.number} 已转为办件 {c.converted_case}")
    if c.station[:12] != store.division_code:
        raise StationError("forbidden", "只能转换本站出具的告知书")
    if data is None:
        body = event_body(store, c.number)
        data = json.loads(body["data"]["$pii"])
        materials = dict(data.get("materials") or {}) if isinstance(data.get("materials"), Mapping) else {}
        for reason in body.get("reasons") or []:
            if reason.get("kind") == "material":
                materials[reason["key"]] = "received"
        data = {**data, "materials": materials}
    return file_case(store, catalog, c.item_code, data, operator, duplicate_reason=duplicate_reason,
                     consultation=c.number)
