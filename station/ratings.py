"""好差评: the citizen's rating of a case, and the follow-up every 差评 gets (国办发〔2019〕51号)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from station import events as ev
from station import lifecycle
from station.cases import CaseReader
from station.clock_check import today as station_today
from station.operators import Operator, require
from forms.problems import Problem, ProblemList, StationError
from station.projections import calendar_for
from station.store import Store

LEVELS: dict[int, str] = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
#: How the rating reached the system: at the counter (entered by another operator), through the agent
#: who brought the result (代办), from the paper 评价卡, or by a follow-up phone call.
CHANNELS: tuple[str, ...] = ("窗口", "代办", "纸质", "电话回访")
#: How a 回访 was made.
REVISIT_METHODS: tuple[str, ...] = ("电话", "上门", "短信", "其他")
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
    channel: str = "窗口"
    entered_by: str = ""

    @property
    def is_bad(self) -> bool:
        return self.level < BAD_BELOW

    def to_dict(self) -> dict[str, Any]:
        return {"case_number": self.case_number, "level": self.level, "label": self.label,
                "detail": self.detail, "bad": self.is_bad, "followup_due": self.followup_due,
                "followup_closed_at": self.followup_closed_at, "channel": self.channel,
                "entered_by": self.entered_by}


@dataclass(frozen=True)
class Revisit:
    case_number: str
    day: str
    method: str
    result: str
    satisfied: bool | None
    operator: str

    def to_dict(self) -> dict[str, Any]:
        return {"case_number": self.case_number, "date": self.day, "method": self.method, "result": self.result,
                "satisfied": self.satisfied, "operator": self.operator}


def get_rating(store: Store, number: str) -> Rating | None:
    row = store.conn.execute("SELECT case_number, level, label, detail, followup_due, followup_closed_at,"
                             " channel, entered_by FROM ratings WHERE case_number=?", (number,)).fetchone()
    return Rating(*row[:6], row[6] or "窗口", row[7] or "") if row else None


def revisits(store: Store, number: str) -> list[Revisit]:
    return [Revisit(n, d, m, r, None if s is None else bool(s), o) for n, d, m, r, s, o in store.conn.execute(
        "SELECT case_number, day, method, result, satisfied, operator FROM revisits WHERE case_number=?"
        " ORDER BY day, event_id", (number,))]


def rate(store: Store, number: str, level: int, operator: Operator, detail: str = "",
         sub_scores: Mapping[str, int] | None = None, rater_name: str = "", channel: str = "窗口") -> Rating:
    """Record the citizen's rating once the result was handed over; a 差评 opens a follow-up.

    The rating comes through an independent channel (国办发〔2019〕51号: the one rated does not record
    it): the operator who filed or delivered the case cannot enter it; another operator at the village,
    or the township, does, from the counter, the agent, the paper 评价卡 or a follow-up call."""
    require(store, operator, "handle", "登记评价")
    problems = ProblemList()
    if channel not in CHANNELS:
        problems.add("channel", "invalid_choice", f"评价渠道应为：{'、'.join(CHANNELS)}")
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
        handled_by = {case.operator} | {t.operator for t in case.timeline
                                        if t.type == ev.RESULT_DELIVERED and t.station[:12] == store.division_code}
        if operator.name in handled_by:
            raise StationError("not_independent",
                               f"「{operator.name}」经办了此件，不能录入对自己的评价。请由本站其他工作人员或乡镇"
                               "便民服务中心录入（评价卡、电话回访）",
                               [Problem("operator", "not_independent", "经办人不能录入自己的评价")])
        today = station_today(store)
        followup_due = None
        if level < BAD_BELOW:
            days = int(store.config.rating_followup_days)
            followup_due = calendar_for(store.conn).add_working_days(today, days).date.isoformat()
        store.append(ev.RATING_GIVEN, {"level": level, "label": LEVELS[level], "detail": detail or None,
                                       "sub_scores": scores, "rater_name": rater_name or case.applicant_name,
                                       "agent_name": case.operator, "channel": channel,
                                       "date": today.isoformat(), "followup_due": followup_due},
                     operator.name, case.number)
    rating = get_rating(store, case.number)
    assert rating is not None
    return rating


def revisit(store: Store, number: str, method: str, result: str, operator: Operator,
            satisfied: bool | None = None) -> Revisit:
    """回访 as a record: the date, how (电话 / 上门 / 短信), and what the citizen said."""
    require(store, operator, "handle", "登记回访")
    problems = ProblemList()
    if method not in REVISIT_METHODS:
        problems.add("method", "invalid_choice", f"回访方式应为：{'、'.join(REVISIT_METHODS)}")
    result = (result or "").strip()
    if not result:
        problems.add("result", "required", "请写明回访结果（群众怎么说）")
    if len(result) > 500:
        problems.add("result", "too_long", "回访结果不超过500字")
    problems.raise_if_any("invalid_revisit", "回访登记有误")
    case = CaseReader(store).get(number)
    if case.status not in lifecycle.DECIDED | {lifecycle.DELIVERED}:
        raise StationError("not_decided", f"办件「{case.status_label}」：办结或作出决定后才能回访")
    body: dict[str, Any] = {"date": station_today(store).isoformat(), "method": method, "result": result}
    if satisfied is not None:
        body["satisfied"] = bool(satisfied)
    store.append(ev.RATING_REVISITED, body, operator.name, case.number)
    return revisits(store, case.number)[-1]


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
    store.append(ev.FOLLOWUP_CLOSED, {"note": note.strip()[:500], "date": station_today(store).isoformat()}, operator.name, number)
    closed = get_rating(store, number)
    assert closed is not None
    return closed
