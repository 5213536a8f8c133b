"""Review: the decisions a township (or, for village-level items, the village) records on a case.

Decisions are events like every other change, signed and synced back to the filing village. The
rules of the domain live here: which action needs a reason, materials, a certificate or a
department; who may decide which case (role and jurisdiction); duplicates across villages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from station import events as ev
from station import lifecycle
from station.lifecycle import CORRECTION_WORKING_DAYS, MAX_CORRECTION_WORKING_DAYS
from station.cases import CaseReader, CaseRecord
from station.clock_check import today as station_today
from forms.identity import parse_division
from station.operators import Operator, require
from forms.problems import Problem, ProblemList, StationError
from station.projections import calendar_for
from station.store import Store

ACTIONS: dict[str, str] = {
    "accept": ev.CASE_ACCEPTED,
    "refuse": ev.CASE_NOT_ACCEPTED,
    "correct": ev.CASE_CORRECTION_REQUESTED,
    "approve": ev.CASE_APPROVED,
    "reject": ev.CASE_REJECTED,
    "forward": ev.CASE_FORWARDED,
    "post": ev.CASE_POSTING_STARTED,
}
ACTION_LABELS = {"accept": "受理", "refuse": "不予受理", "correct": "要求补正", "approve": "办结（准予）",
                 "reject": "不予批准", "forward": "转报", "post": "开始公示"}
# CORRECTION_WORKING_DAYS (default 补正期限) and MAX_CORRECTION_WORKING_DAYS (latest allowed) live in
# station/lifecycle.py with the clock rules, where the fold can reach them too.
MAX_REASON = 500


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str = ""
    materials: tuple[str, ...] = ()
    certificate: str = ""
    to: str = ""
    due_date: date | None = None
    exception_reason: str = ""   # an administrator's reason for a second (or late) correction request
    apply_to: str = ""           # 不予受理 for want of jurisdiction: the body to apply to (§32(2))


def may_decide(store: Store, case: CaseRecord) -> str | None:
    """Why this station may not decide the case (None when it may)."""
    me = store.config
    if me.role == "township":
        if not parse_division(me.station_id).covers(case.village_code):
            return f"办件属于 {case.village_code}，不在本乡镇（{me.station_id}）辖区内"
        return None
    if case.handling_level != "village":
        return "该事项由乡镇办结，村站不能作出审核决定"
    if case.village_code != me.station_id:
        return "不是本站收件的办件"
    return None


def forward_body(case: CaseRecord, to: str) -> tuple[str, dict[str, Any]]:
    """The body of the item's forward list that ``to`` names (full name, or a unique part of it)."""
    bodies = case.legal.forward_bodies
    if not bodies:
        raise StationError("no_forward_body", "该事项在目录中没有可转报的机关，不能转报",
                           [Problem("to", "no_forward_body", "该事项没有转报机关")])
    text = to.strip()
    exact = [b for b in bodies if b[0] == text]
    hits = exact or [b for b in bodies if text and text in b[0]]
    if len(hits) != 1:
        names = "、".join(b for b, _ in bodies)
        raise StationError("bad_forward_body", f"转报机关须从目录所列机关中选择：{names}",
                           [Problem("to", "department_required" if not text else "unknown_body",
                                    f"可选：{names}")], candidates=[b for b, _ in bodies])
    return hits[0]


def _check(store: Store, case: CaseRecord, d: Decision, operator: Operator | None = None) -> dict[str, Any]:
    problems = ProblemList()
    if d.action not in ACTIONS:
        raise StationError("bad_action", f"未知的审核动作 {d.action}，可选：{', '.join(ACTIONS)}",
                           [Problem("action", "unknown", "未知的审核动作")])
    reason = (d.reason or "").strip()
    if d.action in ("refuse", "reject", "correct") and not reason:
        problems.add("reason", "reason_required", f"{ACTION_LABELS[d.action]}必须写明理由")
    if len(reason) > MAX_REASON:
        problems.add("reason", "too_long", f"理由不超过{MAX_REASON}字")
    today = station_today(store)
    body: dict[str, Any] = {"reason": reason or None, "date": today.isoformat()}
    if d.action == "correct":
        window_passed = bool(case.legal.correction_deadline and today.isoformat() > case.legal.correction_deadline)
        exception = (d.exception_reason or "").strip()
        lifecycle.check_correction(case.corrections, window_passed,
                                   operator is not None and operator.role == "admin", exception)
        if case.corrections or window_passed:
            body["exceptional"] = True
            body["exception_reason"] = exception[:MAX_REASON]
        keys = {m.key for m in case.materials}
        if not d.materials:
            problems.add("materials", "materials_required", "要求补正时必须选择需要补正的材料")
        for key in d.materials:
            if key not in keys:
                problems.add(f"materials.{key}", "unknown_material", f"该事项没有材料 {key}")
        cal = calendar_for(store.conn)
        due = d.due_date or cal.add_working_days(today, CORRECTION_WORKING_DAYS).date
        latest = cal.add_working_days(today, MAX_CORRECTION_WORKING_DAYS).date
        if due <= today:
            problems.add("due_date", "invalid_due_date", "补正期限必须晚于今天")
        elif due > latest:
            problems.add("due_date", "due_date_too_far",
                         f"补正期限最长为{MAX_CORRECTION_WORKING_DAYS}个工作日，最晚 {latest.isoformat()}")
        body["materials"] = list(d.materials)
        body["material_names"] = [m.name for m in case.materials if m.key in d.materials]
        body["due_date"] = due.isoformat()
    if d.action == "approve" and d.certificate:
        if len(d.certificate) > 100:
            problems.add("certificate", "too_long", "证书编号不超过100字")
        body["certificate"] = d.certificate.strip()
    if d.action == "forward":
        if not d.to.strip():
            problems.add("to", "department_required", "转报必须写明转报的机关（从目录所列机关中选择）")
        else:
            name, limit = forward_body(case, d.to)
            body["to"], body["limit"] = name, limit
    if d.action == "refuse" and d.apply_to.strip():
        body["ground"] = "jurisdiction"
        body["apply_to"] = d.apply_to.strip()[:100]
    if d.action == "post":
        if case.legal.posting_days <= 0:
            problems.add("action", "no_posting", "该事项不需要公示")
        body["days"] = case.legal.posting_days
    problems.raise_if_any("invalid_decision", "审核决定有误，请按提示修改")
    return body


def decide(store: Store, number: str, decision: Decision, operator: Operator) -> CaseRecord:
    """Record a decision; refused when the role, jurisdiction or the case's state does not allow it."""
    require(store, operator, "decide", f"作出「{ACTION_LABELS.get(decision.action, decision.action)}」决定")
    reader = CaseReader(store)
    case = reader.get(number)
    why_not = may_decide(store, case)
    if why_not:  # audited outside the write transaction, so the refusal record is kept
        store.append(ev.ACCESS_REFUSED, {"name": operator.name, "action": decision.action, "reason": why_not},
                     operator.name, case.number)
        raise StationError("forbidden", f"不能审核该办件：{why_not}", [Problem("case_number", "forbidden", why_not)])
    with store.transaction():
        case = reader.get(number)
        if decision.action not in ACTIONS:
            raise StationError("bad_action", f"未知的审核动作 {decision.action}，可选：{', '.join(ACTIONS)}",
                               [Problem("action", "unknown", "未知的审核动作")])
        event_type = ACTIONS[decision.action]
        lifecycle.next_status(case.status, event_type)
        body = _check(store, case, decision, operator)
        lifecycle.check_decision(event_type, case.legal.posting_days, case.legal.posting_end, body["date"])
        store.append(event_type, body, operator.name, case.number)
    return CaseReader(store).get(case.number)


# --- the queue ---------------------------------------------------------------------------------

QUEUE_FILTERS = {
    "new": "待受理/待审核",
    "correction": "等待补正",
    "near_due": "临近到期",
    "overdue": "已超期",
    "duplicates": "疑似重复",
    "followups": "差评整改",
}


QUEUE_ALIASES = {"新件": "new", "待审核": "new", "待受理": "new", "等待补正": "correction", "临期": "near_due",
                 "超期": "overdue", "重复": "duplicates", "整改": "followups"}


def queue_key(text: str | None) -> str | None:
    """A queue filter from its key, its Chinese name (QUEUE_FILTERS) or a case status in any form."""
    if text is None or text in QUEUE_FILTERS:
        return text
    value = text.strip()
    for key, label in QUEUE_FILTERS.items():
        if value == label or value in label.split("/"):
            return key
    if value in QUEUE_ALIASES:
        return QUEUE_ALIASES[value]
    try:
        return lifecycle.parse_status(value)
    except StationError:
        names = "、".join(f"{label}（{key}）" for key, label in QUEUE_FILTERS.items())
        raise StationError("bad_status", f"未知的队列「{value}」，可选：{names}，或办件状态（如 已受理）",
                           [Problem("status", "unknown", "未知的队列或状态")]) from None


def review_queue(store: Store, status: str | None = None, village: str | None = None, item: str | None = None,
                 limit: int = 200) -> list[CaseRecord]:
    """Cases waiting for this station's review, oldest due first."""
    status = queue_key(status)
    reader = CaseReader(store)
    if status in (None, "new"):
        cases = reader.list(status="received", limit=limit) + reader.list(status="supplemented", limit=limit) + \
            reader.list(status="accepted", limit=limit)
    elif status == "correction":
        cases = reader.list(status="correction_requested", limit=limit)
    elif status == "near_due":
        cases = reader.list(near_due=True, limit=limit)
    elif status == "overdue":
        cases = reader.list(overdue=True, limit=limit)
    elif status == "duplicates":
        numbers = {n for pair in find_duplicates(store) for n in pair}
        cases = [reader.get(n) for n in sorted(numbers)]
    elif status == "followups":
        numbers = [n for (n,) in store.conn.execute(
            "SELECT case_number FROM ratings WHERE level < 3 AND followup_closed_at IS NULL ORDER BY followup_due")]
        cases = [reader.get(n) for n in numbers]
    else:
        cases = reader.list(status=status, limit=limit)
    if store.config.role == "village":  # a village reviews its village-level items; duplicates and
        # follow-ups are listed whole, exactly as `station review duplicates` lists them
        cases = [c for c in cases if c.handling_level == "village" or status in ("followups", "duplicates")]
    if village:
        cases = [c for c in cases if c.village_code == village]
    if item:
        cases = [c for c in cases if c.item_code == item]
    return sorted(cases, key=lambda c: (c.promised_due or "9999", c.number))[:limit]


def find_duplicates(store: Store) -> list[tuple[str, str]]:
    """Pairs of open cases with the same applicant (keyed ID hash) and item, not yet marked."""
    open_states = sorted(lifecycle.OPEN)
    marks = ",".join("?" * len(open_states))
    rows = store.conn.execute(
        f"SELECT a.number, b.number FROM cases a JOIN cases b ON a.id_hash = b.id_hash AND a.item_code = b.item_code"
        f" AND a.number < b.number WHERE a.status IN ({marks}) AND b.status IN ({marks})"
        f" AND a.duplicate_of IS NULL AND b.duplicate_of IS NULL ORDER BY a.number",
        (*open_states, *open_states)).fetchall()
    return [(a, b) for a, b in rows]


def mark_duplicate(store: Store, number: str, other: str, duplicate: bool, operator: Operator) -> CaseRecord:
    """The reviewer's verdict on a flagged pair; syncs back like a decision."""
    require(store, operator, "decide", "标记重复件")
    reader = CaseReader(store)
    case, peer = reader.get(number), reader.get(other)
    for c in (case, peer):
        why_not = may_decide(store, c)
        if why_not and store.config.role == "township":
            raise StationError("forbidden", f"不能标记：{why_not}")
    with store.transaction():
        for a, b in ((case, peer), (peer, case)):
            store.append(ev.DUPLICATE_MARKED, {"other": b.number, "duplicate": duplicate}, operator.name, a.number)
    return CaseReader(store).get(case.number)
