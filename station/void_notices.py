"""Void notices: paper printed here for a decision that is not the record.

Two devices may decide one case offline; the platform keeps the decision that reached it first and the
other is superseded (station/decisions.py). The losing device may already have printed the written notice
of its decision (补正通知书, 办结通知书, 不予受理/不予批准告知书) and handed it to the citizen. The law wants
the written notice to match the decision in force, so that paper is *void*: it is listed here until an
operator records (``case.notice_recalled``) that it was recovered or the citizen was told, and the notice
printed for the decision in force says which paper it replaces.

A print is tied to the decision it carried by the ``decision`` its ``notice.printed`` event names (the
event id of the case's decision when it was printed, station/printing.py). A print recorded before that
field existed is tied by the log: the last decision before it (HLC order, our device saw the decision
before printing) that took effect here and implies that notice. A print is void when the decision it
carried is superseded and is no longer the case's decision.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from forms.problems import Problem, StationError
from station import events as ev
from station.cases import CaseReader
from station.clock_check import today as station_today
from station.decisions import DECISION_LABELS, NOTICE_TITLES, superseded
from station.devices import device_label, device_of, service_point
from station.events import Event
from station.operators import Operator, require

#: the notice a decision implies (the same as decisions.NOTICE_FOR_STATUS, by event type)
NOTICE_FOR_DECISION = {ev.CASE_CORRECTION_REQUESTED: "correction", ev.CASE_APPROVED: "result",
                       ev.CASE_REJECTED: "refusal", ev.CASE_NOT_ACCEPTED: "refusal"}
NOTICE_KINDS = frozenset(NOTICE_FOR_DECISION.values())
#: decision events that change the case's decision (what a notice could have been printed from)
DECISION_TYPES = frozenset(DECISION_LABELS) | {ev.CASE_POSTING_STARTED}
NOTE_MAX = 200


def notice_title(kind: str, decision_type: str) -> str:
    """The title of the notice ``kind`` printed for a decision of ``decision_type``."""
    if kind == "refusal":
        return "不予受理告知书" if decision_type == ev.CASE_NOT_ACCEPTED else "不予批准告知书"
    return NOTICE_TITLES[kind]


def _place(station: str, names: dict[str, str] | None) -> str:
    where = (names or {}).get(service_point(station), station) if station else ""
    if where and device_of(station) > 1:
        where += f" {device_label(station)}"
    return where


@dataclass(frozen=True)
class DecisionRef:
    """A decision as a void notice names it: its event, label, who, where (device) and when."""

    event: str
    type: str
    by: str
    station: str
    at: str

    @property
    def label(self) -> str:
        return DECISION_LABELS.get(self.type, self.type)

    def who(self, names: dict[str, str] | None = None) -> str:
        where = _place(self.station, names)
        return f"{self.by}（{where}）" if where else self.by

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "type": self.type, "label": self.label, "by": self.by,
                "station": self.station, "at": self.at}


@dataclass(frozen=True)
class Recall:
    """The record that a void notice was recovered or the citizen informed."""

    event: str
    operator: str
    station: str
    at: str
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"event": self.event, "operator": self.operator, "station": self.station, "at": self.at,
                "note": self.note}


@dataclass(frozen=True)
class VoidNotice:
    """A notice printed here (``count`` times, last at ``last_at``) for a decision that was superseded."""

    case_number: str
    kind: str  # correction / result / refusal
    title: str
    count: int
    first_at: str
    last_at: str
    carried: DecisionRef
    in_force: DecisionRef | None  # the case's decision now (None: the case has none, e.g. it was reopened)
    recall: Recall | None = None

    @property
    def printed_on(self) -> str:
        return self.last_at[:10]

    def winner(self, names: dict[str, str] | None = None) -> str:
        return self.in_force.who(names) if self.in_force else "其他审核人"

    def warning(self, names: dict[str, str] | None = None) -> str:
        """The red warning of the case screen and `case show`."""
        return (f"本机于 {self.printed_on} 打印的《{self.title}》所依据的决定未生效（{self.winner(names)} 的决定"
                f"先到平台），该文书作废，请联系申请人收回，并打印现行决定的文书")

    def replacement_line(self) -> str:
        """The line the notice of the decision in force carries (printouts/texts/zh.toml common.supersedes)."""
        return f"本文书取代 {self.printed_on} 所发《{self.title}》，原文书作废。"

    def to_dict(self, names: dict[str, str] | None = None) -> dict[str, Any]:
        return {"case_number": self.case_number, "kind": self.kind, "title": self.title, "count": self.count,
                "first_printed_at": self.first_at, "last_printed_at": self.last_at,
                "decision": self.carried.to_dict(), "in_force": self.in_force.to_dict() if self.in_force else None,
                "recalled": self.recall.to_dict() if self.recall else None, "warning": self.warning(names)}


def _ref(e: Event) -> DecisionRef:
    return DecisionRef(e.id, e.type, e.operator, e.station, e.recorded_at)


def _carried(printed: Event, events: list[Event], by_id: dict[str, Event], unapplied: set[str]) -> Event | None:
    """The decision event a ``notice.printed`` event carried (see the module docstring)."""
    named = printed.body.get("decision")
    if isinstance(named, str) and named:
        return by_id.get(named)
    current: Event | None = None
    for e in events:
        if e.id == printed.id:
            break
        if e.type in DECISION_TYPES and e.id not in unapplied:
            current = e
    if current is None or NOTICE_FOR_DECISION.get(current.type) != printed.body.get("kind"):
        return None
    return current


def void_notices(store: Any, number: str, include_recalled: bool = False) -> list[VoidNotice]:
    """The notices printed on this device for a decision of the case that was superseded, oldest first;
    those whose recall was recorded only with ``include_recalled``."""
    marks = superseded(store, number)
    if not marks:
        return []
    case = CaseReader(store).get(number)
    in_force_id = str((case.decision or {}).get("event") or "")
    events = store.case_events(case.number)
    by_id = {e.id: e for e in events}
    # decisions that arrived and never took effect here (a print cannot have carried them)
    unapplied = {r[0] for r in store.conn.execute("SELECT event_id FROM conflicts WHERE case_number=?", (case.number,))}
    groups: dict[tuple[str, str], list[Event]] = {}
    for e in events:
        kind = e.body.get("kind")
        if e.type != ev.NOTICE_PRINTED or e.station != store.station_id or kind not in NOTICE_KINDS:
            continue
        carried = _carried(e, events, by_id, unapplied)
        if carried is None or (carried.station, carried.hlc) not in marks or carried.id == in_force_id:
            continue
        groups.setdefault((carried.id, str(kind)), []).append(e)
    if not groups:
        return []
    # Only a recall recorded on this device counts: the void paper was printed and handed out here, and only
    # here does record_recall() list it. A recall arriving by sync from another device (another PC of the
    # township, the filing village — the platform lets both send case events) stays in the log and the
    # table, but it cannot make this device's void notice vanish.
    recalls: dict[tuple[str, str], Recall] = {}
    for event_id, decision, kind, note, operator, station, at in store.conn.execute(
            "SELECT event_id, decision_event, kind, note, operator, station, recalled_at FROM notice_recalls"
            " WHERE case_number=? AND station=? ORDER BY rowid", (case.number, store.station_id)):
        recalls.setdefault((decision, kind), Recall(event_id, operator, station, at, note or ""))
    in_force = _ref(by_id[in_force_id]) if in_force_id in by_id else None
    found = []
    for (decision, kind), prints in groups.items():
        carried = _ref(by_id[decision])
        recall = recalls.get((decision, kind))
        if recall is not None and not include_recalled:
            continue
        found.append(VoidNotice(case.number, kind, notice_title(kind, carried.type), len(prints),
                                prints[0].recorded_at, prints[-1].recorded_at, carried, in_force, recall))
    found.sort(key=lambda v: (v.first_at, v.kind))
    return found


def open_void_notices(store: Any) -> dict[str, list[VoidNotice]]:
    """The void notices not yet recalled, by case number. Only a case with a superseded event of ours
    can have one, so only those are looked at (a handful, not the store)."""
    numbers = [r[0] for r in store.conn.execute(
        "SELECT DISTINCT case_number FROM superseded WHERE case_number IS NOT NULL"
        " UNION SELECT DISTINCT case_number FROM conflicts WHERE case_number IS NOT NULL ORDER BY 1")]
    found: dict[str, list[VoidNotice]] = {}
    for number in numbers:
        try:
            notices = void_notices(store, number)
        except StationError:
            continue  # a conflict on a number this store does not hold (an unknown case): nothing printed here
        if notices:
            found[number] = notices
    return found


def cases_with_void_notices(store: Any) -> list[str]:
    """Numbers of the cases with a void notice not yet recalled."""
    return list(open_void_notices(store))


def record_recall(store: Any, number: str, operator: Operator, note: str, kind: str | None = None) -> list[VoidNotice]:
    """Record that the void notices of the case (or only the one of ``kind``) were recovered from the
    citizen or the citizen told they are void: one ``case.notice_recalled`` event each. Returns them."""
    require(store, operator, "handle", "登记作废文书已收回")
    text = (note or "").strip()
    problems = []
    if not text:
        problems.append(Problem("note", "required", "请写明收回情况（如：已收回原件；已电话告知申请人原文书作废）"))
    elif len(text) > NOTE_MAX:
        problems.append(Problem("note", "too_long", f"说明最多{NOTE_MAX}字"))
    elif any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs", "Cn") for c in text):
        # a NUL, an escape sequence or a bidi override would reach the terminal, the screen or the log
        problems.append(Problem("note", "odd_characters", "说明中不能有控制字符或特殊字符，请删去后再填"))
    if kind is not None and kind not in NOTICE_KINDS:
        problems.append(Problem("kind", "invalid", "文书种类只能是 correction（补正通知书）、result（办结通知书）"
                                                   "或 refusal（不予受理/不予批准告知书）"))
    day = station_today(store).isoformat()
    # The void notices are read inside the write transaction (BEGIN IMMEDIATE): two faces recording the
    # same recall at once (the case screen and `station case recall`) record it once, the other is told.
    with store.transaction():
        pending = void_notices(store, number)
        if kind is not None:
            pending = [v for v in pending if v.kind == kind]
        if not pending:
            problems.append(Problem("kind" if kind else "number", "none", "本件没有待收回的作废文书"))
        if problems:
            raise StationError("bad_recall", "不能登记作废文书收回：" + "；".join(p.message for p in problems),
                               problems)
        for v in pending:
            store.append(ev.NOTICE_RECALLED, {"decision": v.carried.event, "kind": v.kind, "title": v.title,
                                              "printed_at": v.last_at, "note": text, "date": day},
                         operator.name, v.case_number)
    return pending
