"""好差评: the citizen's rating of a case, and the follow-up every 差评 gets (国办发〔2019〕51号)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from station import events as ev
from station import lifecycle
from station.cases import CaseReader
from station.operators import Operator, require
from forms.problems import ProblemList, StationError
from station.projections import calendar_for
from station.store import Store

LEVELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
SUB_SCORES = {"overall": "整体满意度", "efficiency": "服务效率", "quality": "服务水平", "attitude": "服务态度"}
BAD_BELOW = 3  # levels under 3 are 差评 and need a written detail


@dataclass(frozen=True)
class Rating:
    case_number: str
    level: int
    label: str
    detail: str | None
    followup_due: str | None
    followup_closed_at: str | None

    @property
    def is_bad(self) -> bool:
        return self.level < BAD_BELOW

    def to_dict(self) -> dict[str, Any]:
        return {"case_number": self.case_number, "level": self.level, "label": self.label,
                "detail": self.detail, "bad": self.is_bad, "followup_due": self.followup_due,
                "followup_closed_at": self.followup_closed_at}


def get_rating(store: Store, number: str) -> Rating | None:
    row = store.conn.execute("SELECT case_number, level, label, detail, followup_due, followup_closed_at"
                             " FROM ratings WHERE case_number=?", (number,)).fetchone()
    return Rating(*row) if row else None


def rate(store: Store, number: str, level: int, operator: Operator, detail: str = "",
         sub_scores: Mapping[str, int] | None = None, rater_name: str = "") -> Rating:
    """Record the citizen's rating once the result was handed over; a 差评 opens a follow-up."""
    require(store, operator, "handle", "登记评价")
    problems = ProblemList()
    if level not in LEVELS:
        problems.add("level", "bad_level", "评价等级只能是1到5（5=非常满意，1=非常不满意）")
    detail = (detail or "").strip()
    if level in LEVELS and level < BAD_BELOW and not detail:
        problems.add("detail", "detail_required", "不满意或非常不满意时，必须写明具体意见")
    if len(detail) > 500:
        problems.add("detail", "too_long", "评价意见不超过500字")
    scores = dict(sub_scores or {})
    for key, value in scores.items():
        if key not in SUB_SCORES:
            problems.add(f"sub_scores.{key}", "unknown", f"未知的评价分项 {key}")
        elif value not in LEVELS:
            problems.add(f"sub_scores.{key}", "bad_level", f"{SUB_SCORES[key]}只能是1到5")
    problems.raise_if_any("invalid_rating", "评价信息有误")
    reader = CaseReader(store)
    with store.transaction():
        case = reader.get(number)
        if case.status != lifecycle.DELIVERED:
            raise StationError("not_delivered", f"办件「{case.status_label}」：结果交付申请人之后才能评价")
        if get_rating(store, case.number):
            raise StationError("already_rated", "该办件已经评价过（一事一评）")
        today = store.clock().date()
        followup_due = None
        if level < BAD_BELOW:
            days = int(store.config.rating_followup_days)
            followup_due = calendar_for(store.conn).add_working_days(today, days).date.isoformat()
        store.append(ev.RATING_GIVEN, {"level": level, "label": LEVELS[level], "detail": detail or None,
                                       "sub_scores": scores, "rater_name": rater_name or case.applicant_name,
                                       "agent_name": operator.name, "channel": "窗口",
                                       "date": today.isoformat(), "followup_due": followup_due},
                     operator.name, case.number)
    rating = get_rating(store, case.number)
    assert rating is not None
    return rating


def close_followup(store: Store, number: str, note: str, operator: Operator) -> Rating:
    """Close a 差评 follow-up with what was done (整改情况)."""
    require(store, operator, "decide", "办结差评整改")
    rating = get_rating(store, number)
    if rating is None or not rating.is_bad:
        raise StationError("no_followup", "该办件没有需要整改的差评")
    if rating.followup_closed_at:
        raise StationError("followup_closed", "该差评整改已经办结")
    if not note or not note.strip():
        raise StationError("note_required", "请写明整改情况")
    store.append(ev.FOLLOWUP_CLOSED, {"note": note.strip()[:500]}, operator.name, number)
    closed = get_rating(store, number)
    assert closed is not None
    return closed
