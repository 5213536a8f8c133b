"""The figures officials are judged by, computed so that anyone can check them by hand.

Every figure counts an event in the period **by the date of that event** (docs/统计口径.md defines each
with its source): 收件 by the receipt date, 受理 by the acceptance date, 办结 by the decision date,
不予受理 and 转报 by theirs (the national 办结结果 codes 6 and 4 are not 办结), 补正 by the request date,
评价 by the rating date, 告知件 by the consultation date, trips by the delivery date. So a month's
report printed again later shows the same figures (only the 当前超期 / 整改超期 of the stat day move).

- 按时办结: completed with the decision date ≤ the promised due date in force (lengthened by the days
  the clock was paused for 补正 and 公示, never restarted). 提前办结: decided before the statutory due date.
- 当前超期: on the stat day, the clock runs (received, accepted, supplemented, 公示, forwarded) and the
  promised date has passed, whatever the receipt date.
- 补正逾期未补: on the stat day, the case still awaits the citizen's 补正 (its clock is stopped, so it is
  never 当前超期) and the 补正期限 has passed, whatever the receipt date. The 补正期限 is the one the
  clock honours (station.projections.correction_deadline: at most MAX_CORRECTION_WORKING_DAYS working
  days after the request), so a far-off date synced from elsewhere cannot keep the case out of it.
- 平均办理工作日: working days from receipt (exclusive) to decision (inclusive), less the paused days.
- 视为受理: received in the period and not accepted, refused or told to correct within 5 working days.
- 现场办结: completed on the day of receipt. 一次办结: delivered with at most one trip by the citizen.
- 回访率 / 整改率: of the 差评 given in the period, those with a 回访 record / a closed follow-up.
- 撤回 by its date; 超期撤回/不予受理: withdrawn or refused in the period while the clock ran and after the
  promised date had passed, so an overdue case never leaves the figures without a trace.

The stat day defaults to the station's sane date (station/clock_check.py), never a PC clock set back.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from station import events as ev
from station import lifecycle
from station.clock_check import today as station_today
from station.projections import calendar_for, correction_deadline
from forms.problems import StationError
from station.store import Store

GROUPINGS = ("village", "item", "operator")
LABELS = ("马上办", "网上办", "就近办", "一次办")
CHANNELS = ("窗口", "代办", "上门", "网办")


def _rate(num: int, den: int, digits: int = 4) -> float | None:
    return round(num / den, digits) if den else None


@dataclass
class Figures:
    group: str
    label: str
    received: int = 0
    accepted: int = 0
    completed: int = 0
    on_time: int = 0
    overdue_now: int = 0
    working_days_total: int = 0
    corrections: int = 0
    second_corrections: int = 0
    ratings: int = 0
    satisfied: int = 0
    bad_ratings: int = 0
    followups_open: int = 0
    followups_overdue: int = 0
    rating_levels: dict[int, int] = field(default_factory=lambda: {5: 0, 4: 0, 3: 0, 2: 0, 1: 0})
    # the legal record and the seeds' measures (issue 14)
    consultations: int = 0
    deemed_accepted: int = 0
    not_accepted: int = 0
    forwarded: int = 0
    forward_overdue_now: int = 0
    early: int = 0
    on_the_spot: int = 0
    delivered_with_trips: int = 0
    one_trip: int = 0
    trips_total: int = 0
    bad_revisited: int = 0
    bad_rectified: int = 0
    handover_late: int = 0
    withdrawn: int = 0
    ended_overdue: int = 0   # withdrawn or refused in the period after the promised date had passed
    correction_overdue_now: int = 0   # awaiting the citizen's 补正 on the stat day, its 补正期限 passed
    labels: dict[str, int] = field(default_factory=lambda: {k: 0 for k in LABELS})
    channels: dict[str, int] = field(default_factory=lambda: {k: 0 for k in CHANNELS})
    assisted: dict[str, int] = field(default_factory=lambda: {"帮办": 0, "代办": 0})

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.on_time, self.completed)

    @property
    def avg_working_days(self) -> float | None:
        return round(self.working_days_total / self.completed, 2) if self.completed else None

    @property
    def corrections_per_case(self) -> float | None:
        return _rate(self.corrections, self.received, 3)

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.satisfied, self.ratings)

    @property
    def early_rate(self) -> float | None:
        return _rate(self.early, self.completed)

    @property
    def on_the_spot_rate(self) -> float | None:
        return _rate(self.on_the_spot, self.completed)

    @property
    def one_trip_rate(self) -> float | None:
        return _rate(self.one_trip, self.delivered_with_trips)

    @property
    def trips_per_case(self) -> float | None:
        return _rate(self.trips_total, self.delivered_with_trips, 2)

    @property
    def revisit_rate(self) -> float | None:
        return _rate(self.bad_revisited, self.bad_ratings)

    @property
    def rectification_rate(self) -> float | None:
        return _rate(self.bad_rectified, self.bad_ratings)

    @property
    def label_shares(self) -> dict[str, float | None]:
        return {k: _rate(v, self.received) for k, v in self.labels.items()}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(on_time_rate=self.on_time_rate, avg_working_days=self.avg_working_days,
                   corrections_per_case=self.corrections_per_case, satisfaction_rate=self.satisfaction_rate,
                   early_rate=self.early_rate, on_the_spot_rate=self.on_the_spot_rate,
                   one_trip_rate=self.one_trip_rate, trips_per_case=self.trips_per_case,
                   revisit_rate=self.revisit_rate, rectification_rate=self.rectification_rate,
                   label_shares=self.label_shares)
        return out


@dataclass(frozen=True)
class StatsReport:
    date_from: str
    date_to: str
    today: str
    by: str | None
    total: Figures
    groups: list[Figures]
    daily_received: list[tuple[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.date_from, "to": self.date_to, "today": self.today, "by": self.by,
                "total": self.total.to_dict(), "groups": [g.to_dict() for g in self.groups],
                "daily_received": self.daily_received}


def _group_key(by: str | None, row: dict[str, Any]) -> tuple[str, str]:
    if by == "village":
        return row["village_code"], row["village_code"]
    if by == "item":
        return row["item_code"], row["item_name"]
    if by == "operator":
        return row["operator"], row["operator"]
    return "all", "合计"


_COLS = ("number, village_code, item_code, item_name, operator, status, received_date, decided_at, promised_due,"
         " statutory_due, decision, accepted_at, correction_deadline, paused_days, forwarded_at, forward_due,"
         " handover_due, handed_over_at, delivered_at, trips, labels, channel, assist, withdrawn_at, ended_overdue")


def _decision_events(store: Store) -> dict[str, list[tuple[str, str, bool]]]:
    """Per case, its decision events that took effect: (type, date, exceptional), in log order.
    Events kept as conflicts or superseded did not take effect and are not counted."""
    ignored = {e for (e,) in store.conn.execute("SELECT event_id FROM conflicts UNION SELECT event_id FROM superseded")}
    types = (ev.CASE_ACCEPTED, ev.CASE_NOT_ACCEPTED, ev.CASE_CORRECTION_REQUESTED)
    out: dict[str, list[tuple[str, str, bool]]] = {}
    for id_, number, type_, body, recorded_at in store.conn.execute(
            f"SELECT id, case_number, type, body, recorded_at FROM events WHERE type IN ({','.join('?' * len(types))})"
            " ORDER BY rowid", types):
        if id_ in ignored:
            continue
        b = json.loads(body)
        out.setdefault(number, []).append((type_, b.get("date") or recorded_at[:10], bool(b.get("exceptional"))))
    return out


def compute(store: Store, date_from: date, date_to: date, by: str | None = None,
            today: date | None = None) -> StatsReport:
    if by is not None and by not in GROUPINGS:
        raise StationError("bad_grouping", f"分组只能是 {'、'.join(GROUPINGS)}")
    if date_to < date_from:
        raise StationError("bad_period", "结束日期不能早于开始日期")
    today = today or station_today(store)
    lo, hi, now = date_from.isoformat(), date_to.isoformat(), today.isoformat()

    def within(day: str | None) -> bool:
        return bool(day) and lo <= day <= hi  # type: ignore[operator]

    cal = calendar_for(store.conn)
    decisions = _decision_events(store)
    ratings = {n: (lvl, closed, due, day) for n, lvl, closed, due, day in store.conn.execute(
        "SELECT case_number, level, followup_closed_at, followup_due, rated_at FROM ratings")}
    revisited = {n for (n,) in store.conn.execute("SELECT DISTINCT case_number FROM revisits")}
    total = Figures("all", "合计")
    groups: dict[str, Figures] = {}
    daily: dict[str, int] = {}
    names = [c.strip() for c in _COLS.split(",")]
    for values in store.conn.execute(f"SELECT {_COLS} FROM cases"):
        row = dict(zip(names, values))
        key, label = _group_key(by, row)
        targets = [total] + ([groups.setdefault(key, Figures(key, label))] if by else [])
        received = row["received_date"]
        status = row["status"]
        decision = json.loads(row["decision"]) if row["decision"] else {}
        running = status in lifecycle.CLOCK_RUNNING
        overdue = running and row["promised_due"] is not None and row["promised_due"] < now
        correction_overdue = (status == lifecycle.CORRECTION_REQUESTED
                              and decision.get("type") == ev.CASE_CORRECTION_REQUESTED and bool(decision.get("date"))
                              and correction_deadline(cal, decision["date"], decision.get("due_date")) < now)
        completed = decision.get("type") in (ev.CASE_APPROVED, ev.CASE_REJECTED) and within(row["decided_at"])
        not_accepted = decision.get("type") == ev.CASE_NOT_ACCEPTED and within(row["decided_at"])
        steps = decisions.get(row["number"], [])
        first_step = min((d for _, d, _ in steps), default=None)
        deemed = bool(row["correction_deadline"]) and (
            (first_step is None and now > row["correction_deadline"]) or
            (first_step is not None and first_step > row["correction_deadline"]))
        if within(received):
            daily[received] = daily.get(received, 0) + 1
        for f in targets:
            if overdue:
                f.overdue_now += 1
            if status == lifecycle.FORWARDED and row["forward_due"] and row["forward_due"] < now:
                f.forward_overdue_now += 1
            if correction_overdue:
                f.correction_overdue_now += 1
            if within(received):
                f.received += 1
                if deemed:
                    f.deemed_accepted += 1
                for lab in json.loads(row["labels"] or "[]"):
                    if lab in f.labels:
                        f.labels[lab] += 1
                f.channels[row["channel"] or "窗口"] = f.channels.get(row["channel"] or "窗口", 0) + 1
                if row["assist"] in f.assisted:
                    f.assisted[row["assist"]] += 1
                if row["handover_due"] and ((row["handed_over_at"] or "9999") > row["handover_due"]) and (
                        row["handed_over_at"] or now > row["handover_due"]):
                    f.handover_late += 1
            if within(row["accepted_at"]):
                f.accepted += 1
            for type_, day, exceptional in steps:
                if type_ == ev.CASE_CORRECTION_REQUESTED and within(day):
                    f.corrections += 1
                    f.second_corrections += int(exceptional)
            if not_accepted:
                f.not_accepted += 1
            if within(row["withdrawn_at"]):
                f.withdrawn += 1
            if row["ended_overdue"] and (not_accepted or within(row["withdrawn_at"])):
                f.ended_overdue += 1
            if within(row["forwarded_at"]):
                f.forwarded += 1
            if completed:
                decided = row["decided_at"]
                f.completed += 1
                if row["promised_due"] is None or decided <= row["promised_due"]:
                    f.on_time += 1
                if row["statutory_due"] is None or decided < row["statutory_due"]:
                    f.early += 1
                if decided == received:
                    f.on_the_spot += 1
                f.working_days_total += max(0, cal.working_days_between(date.fromisoformat(received),
                                                                        date.fromisoformat(decided))
                                            - int(row["paused_days"] or 0))
            if within(row["delivered_at"]) and row["trips"] is not None:
                f.delivered_with_trips += 1
                f.trips_total += int(row["trips"])
                f.one_trip += int(int(row["trips"]) <= 1)
            rating = ratings.get(row["number"])
            if rating and within(rating[3]):
                level, closed, due, _ = rating
                f.ratings += 1
                f.rating_levels[level] += 1
                if level >= 3:
                    f.satisfied += 1
                else:
                    f.bad_ratings += 1
                    f.bad_revisited += int(row["number"] in revisited)
                    f.bad_rectified += int(bool(closed))
                    if not closed:
                        f.followups_open += 1
                        if due and due < now:
                            f.followups_overdue += 1
    for number, day, village, item_code, item_name, operator in store.conn.execute(
            "SELECT number, day, station, item_code, item_name, operator FROM consultations"):
        if not within(day):
            continue
        key, label = _group_key(by, {"village_code": village, "item_code": item_code, "item_name": item_name,
                                     "operator": operator})
        for f in [total] + ([groups.setdefault(key, Figures(key, label))] if by else []):
            f.consultations += 1
    ordered = sorted(groups.values(), key=lambda g: g.group)
    return StatsReport(lo, hi, now, by, total, ordered, sorted(daily.items()))


EXPORT_COLUMNS = [("label", "分组"), ("received", "收件"), ("accepted", "受理"), ("completed", "办结"),
                  ("on_time", "按时办结"), ("on_time_rate", "按时办结率"), ("overdue_now", "当前超期"),
                  ("avg_working_days", "平均办理工作日"), ("corrections_per_case", "件均补正次数"),
                  ("ratings", "评价数"), ("satisfaction_rate", "满意率"), ("bad_ratings", "差评"),
                  ("followups_open", "差评待整改"), ("followups_overdue", "整改超期"),
                  ("consultations", "告知件数"), ("deemed_accepted", "视为受理"), ("not_accepted", "不予受理"),
                  ("forwarded", "转报"), ("second_corrections", "例外补正"), ("early_rate", "提前办结率"),
                  ("on_the_spot_rate", "现场办结率"), ("one_trip_rate", "一次办结率"), ("trips_per_case", "件均跑动次数"),
                  ("revisit_rate", "回访率"), ("rectification_rate", "整改率"), ("handover_late", "移交超期"),
                  ("withdrawn", "撤回"), ("ended_overdue", "超期撤回/不予受理"),
                  ("correction_overdue_now", "补正逾期未补")]


def export(report: StatsReport, path: Path) -> Path:
    rows = [g.to_dict() for g in report.groups] + [report.total.to_dict()]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:  # BOM so Excel/WPS reads Chinese
            writer = csv.writer(fh)
            writer.writerow([zh for _, zh in EXPORT_COLUMNS])
            for r in rows:
                writer.writerow(["" if r[k] is None else r[k] for k, _ in EXPORT_COLUMNS])
        return path
    if suffix == ".xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "统计"
        ws.append([f"统计期间 {report.date_from} 至 {report.date_to}（统计日 {report.today}）"])
        ws.append([zh for _, zh in EXPORT_COLUMNS])
        for r in rows:
            ws.append([r[k] for k, _ in EXPORT_COLUMNS])
        wb.save(path)
        return path
    raise StationError("bad_export", "导出文件只能是 .csv 或 .xlsx")
