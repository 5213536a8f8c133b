"""Decisions seen from the village: which arrived and still need their notice, which were superseded.

A decision *arrived* when it was made at another station (the township, or the county) and the
matching notice (补正通知书, 办结通知书, 不予受理/不予批准告知书) has not been printed here since it
came. Nothing is kept per operator: printing the notice (or handing over the result) is what makes
an arrival go away, so a decision is never lost because someone glanced at the screen.

A decision is *superseded* when sync found that another decision reached the platform first: the
losing event is kept in the log and either recorded in this station's ``conflicts`` table (it
arrived after the winner) or named by a ``sync.conflict`` notice from the platform (it was ours).
A notice this station printed for a superseded decision is void (station/void_notices.py): its case
is listed among the arrivals, first, until the paper's recall is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from station.devices import device_label, device_of, service_point
from station import events as ev
from station import lifecycle
from station.cases import CaseReader, CaseRecord, TimelineEntry
from station.projections import readable_day

NOTICE_FOR_STATUS = {lifecycle.CORRECTION_REQUESTED: "correction", lifecycle.APPROVED: "result",
                     lifecycle.REJECTED: "refusal", lifecycle.NOT_ACCEPTED: "refusal"}
NOTICE_TITLES = {"correction": "补正通知书", "result": "办结通知书", "refusal": "不予受理/不予批准告知书"}
DECISION_LABELS = {ev.CASE_ACCEPTED: "已受理", ev.CASE_NOT_ACCEPTED: "不予受理",
                   ev.CASE_CORRECTION_REQUESTED: "要求补正", ev.CASE_APPROVED: "办结（准予）",
                   ev.CASE_REJECTED: "不予批准", ev.CASE_FORWARDED: "已转报"}
ARRIVALS_LIMIT = 200

if TYPE_CHECKING:
    from station.void_notices import VoidNotice


@dataclass(frozen=True)
class Arrival:
    case: CaseRecord
    kind: str  # the notice to print: correction / result / refusal ("" when the decision in force has none)
    void: tuple[VoidNotice, ...] = ()  # notices printed here for a superseded decision, not yet recalled

    @property
    def title(self) -> str:
        if not self.kind:
            return ""
        if self.kind == "refusal":
            return "不予受理告知书" if self.case.status == lifecycle.NOT_ACCEPTED else "不予批准告知书"
        return NOTICE_TITLES[self.kind]

    @property
    def decided_at(self) -> str:
        return str((self.case.decision or {}).get("at") or "")

    @property
    def void_title(self) -> str:
        """What the list shows for a case with void paper: which notice to recover."""
        return "作废待收回：" + "、".join(f"《{v.title}》" for v in self.void) if self.void else ""


def arrivals(store: Any, today: date, limit: int = ARRIVALS_LIMIT) -> list[Arrival]:
    """Decisions made elsewhere whose notice has not been printed here since they arrived, newest first;
    before them, cases with a void notice printed here (station/void_notices.py) not yet recalled."""
    # imported here: void_notices builds on this module (superseded, labels)
    from station.void_notices import open_void_notices

    reader = CaseReader(store, today)
    printed = {(number, kind) for number, kind in store.conn.execute(
        "SELECT case_number, kind FROM prints WHERE kind IN ('correction', 'result', 'refusal')")}
    found: list[Arrival] = []
    for status, kind in NOTICE_FOR_STATUS.items():
        for case in reader.list(status=status, limit=limit):
            decision = case.decision or {}
            if not decision.get("station") or decision["station"][:12] == store.division_code:
                continue  # decided at this service point: the operator who decided knows
            if (case.number, kind) in printed and _printed_since(store, case.number, kind, decision.get("event")):
                continue
            found.append(Arrival(case, kind))
    found.sort(key=lambda a: (a.decided_at, a.case.number), reverse=True)
    voided = []
    for number, notices in open_void_notices(store).items():
        case = reader.get(number)
        voided.append(Arrival(case, NOTICE_FOR_STATUS.get(case.status, ""), tuple(notices)))
    if voided:
        listed = {a.case.number for a in voided}
        found = voided + [a for a in found if a.case.number not in listed]
    return found[:limit]


def _printed_since(store: Any, number: str, kind: str, decision_event: Any) -> bool:
    """Was the notice printed after the decision arrived? By log order, not clocks: the township's
    clock and ours need not agree."""
    seen_decision = decision_event is None
    for e in store.case_events(number):
        if e.id == decision_event:
            seen_decision = True
        elif seen_decision and e.type == ev.NOTICE_PRINTED and e.body.get("kind") == kind:
            return True
    return False


def superseded(store: Any, number: str) -> set[tuple[str, str]]:
    """(station, hlc) of the case's events that lost to a decision that reached the platform first."""
    ids = {event_id for (event_id,) in store.conn.execute(
        "SELECT event_id FROM conflicts WHERE case_number=?", (number,))}
    events = store.case_events(number)
    for e in events:
        if e.type == ev.SYNC_CONFLICT and e.body.get("event"):
            ids.add(str(e.body["event"]))
    return {(e.station, e.hlc) for e in events if e.id in ids}


def is_superseded(entry: TimelineEntry, marks: set[tuple[str, str]]) -> bool:
    return (entry.station, entry.hlc) in marks


def decision_lines(case: CaseRecord, names: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The decision as (label, value) rows: type, reason, materials, certificate, department, who, when."""
    d = case.decision or {}
    if not d.get("type"):
        return []
    rows = [("审核结果", DECISION_LABELS.get(str(d["type"]), str(d["type"])))]
    if d.get("reason"):
        rows.append(("理由", str(d["reason"])))
    if d.get("materials"):
        by_key = {m.key: m.name for m in case.materials}
        rows.append(("需补正材料", "、".join(by_key.get(k, k) for k in d["materials"])))
    if d.get("due_date") and d.get("type") == ev.CASE_CORRECTION_REQUESTED:
        # a mistyped 补正期限 from sync is shown as the one the clock honours (the requested materials carry it)
        asked = d["materials"] if isinstance(d.get("materials"), list) else []
        due = readable_day(d["due_date"]) or next((m.due_date for m in case.materials
                                                   if m.key in asked and m.due_date), None)
        if due:
            rows.append(("补正期限", due))
    if d.get("certificate"):
        rows.append(("证书编号", str(d["certificate"])))
    if d.get("to"):
        rows.append(("转报部门", str(d["to"])))
    station = str(d.get("station") or "")
    where = (names or {}).get(service_point(station), station) if station else ""
    if where and device_of(station) > 1:  # which PC of the service point decided
        where += f" {device_label(station)}"
    rows.append(("审核人", f"{d.get('by', '')}（{where}）" if where else str(d.get("by", ""))))
    rows.append(("时间", str(d.get("at") or "")[:16].replace("T", " ")))
    return rows
