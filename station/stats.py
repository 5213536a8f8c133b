"""The figures officials are judged by, computed so that anyone can check them by hand.

Definitions (also in docs/统计口径.md):
- 收件 received: cases whose received date lies in the period.
- 受理 accepted: of those, cases the township (or village) accepted (a ``case.accepted`` event).
- 办结 completed: of those, cases with a final decision 准予 (approved) or 不予批准 (rejected).
- 按时办结 on time: completed with the decision date ≤ the promised due date (the due date in force,
  i.e. after any 补正 restart). 按时办结率 = on time / completed.
- 超期 overdue now: cases whose clock is running (received, accepted, supplemented — not while a 补正
  is awaited) and whose promised due date is before today, whatever their received date.
- 平均办理工作日 average working days: mean of working days from received date to decision date
  (working days d with received < d ≤ decided) over completed cases.
- 补正 corrections per case: correction requests / received.
- 满意率: (非常满意 + 满意 + 基本满意) / all ratings given on cases received in the period.
- 差评: ratings below 3; follow-up open / closed / overdue (open past its deadline).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from station import lifecycle
from station.projections import calendar_for
from forms.problems import StationError
from station.store import Store

GROUPINGS = ("village", "item", "operator")


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

    @property
    def on_time_rate(self) -> float | None:
        return round(self.on_time / self.completed, 4) if self.completed else None

    @property
    def avg_working_days(self) -> float | None:
        return round(self.working_days_total / self.completed, 2) if self.completed else None

    @property
    def corrections_per_case(self) -> float | None:
        return round(self.corrections / self.received, 3) if self.received else None

    @property
    def satisfaction_rate(self) -> float | None:
        return round(self.satisfied / self.ratings, 4) if self.ratings else None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(on_time_rate=self.on_time_rate, avg_working_days=self.avg_working_days,
                   corrections_per_case=self.corrections_per_case, satisfaction_rate=self.satisfaction_rate)
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


def compute(store: Store, date_from: date, date_to: date, by: str | None = None,
            today: date | None = None) -> StatsReport:
    if by is not None and by not in GROUPINGS:
        raise StationError("bad_grouping", f"分组只能是 {'、'.join(GROUPINGS)}")
    if date_to < date_from:
        raise StationError("bad_period", "结束日期不能早于开始日期")
    today = today or store.clock().date()
    cal = calendar_for(store.conn)
    accepted = {n for (n,) in store.conn.execute("SELECT DISTINCT case_number FROM events WHERE type='case.accepted'")}
    ratings = {n: (lvl, closed, due) for n, lvl, closed, due in store.conn.execute(
        "SELECT case_number, level, followup_closed_at, followup_due FROM ratings")}
    total = Figures("all", "合计")
    groups: dict[str, Figures] = {}
    daily: dict[str, int] = {}
    cols = ("number, village_code, item_code, item_name, operator, status, received_date, decided_at,"
            " promised_due, corrections, decision, second_corrections")
    for values in store.conn.execute(f"SELECT {cols} FROM cases"):
        row = dict(zip([c.strip() for c in cols.split(",")], values))
        key, label = _group_key(by, row)
        targets = [total] + ([groups.setdefault(key, Figures(key, label))] if by else [])
        in_period = date_from.isoformat() <= row["received_date"] <= date_to.isoformat()
        is_open = row["status"] in lifecycle.CLOCK_RUNNING
        overdue = is_open and row["promised_due"] is not None and row["promised_due"] < today.isoformat()
        if in_period:
            daily[row["received_date"]] = daily.get(row["received_date"], 0) + 1
        decision_type = None
        if row["decision"]:
            decision_type = json.loads(row["decision"]).get("type")
        completed = decision_type in ("case.approved", "case.rejected") and row["decided_at"] is not None
        for f in targets:
            if overdue:
                f.overdue_now += 1
            if not in_period:
                continue
            f.received += 1
            f.corrections += row["corrections"] or 0
            f.second_corrections += row["second_corrections"] or 0
            if row["number"] in accepted:
                f.accepted += 1
            if completed:
                f.completed += 1
                if row["promised_due"] is None or row["decided_at"] <= row["promised_due"]:
                    f.on_time += 1
                f.working_days_total += cal.working_days_between(date.fromisoformat(row["received_date"]),
                                                                 date.fromisoformat(row["decided_at"]))
            if row["number"] in ratings:
                level, closed, due = ratings[row["number"]]
                f.ratings += 1
                f.rating_levels[level] += 1
                if level >= 3:
                    f.satisfied += 1
                else:
                    f.bad_ratings += 1
                    if not closed:
                        f.followups_open += 1
                        if due and due < today.isoformat():
                            f.followups_overdue += 1
    ordered = sorted(groups.values(), key=lambda g: g.group)
    return StatsReport(date_from.isoformat(), date_to.isoformat(), today.isoformat(), by, total, ordered,
                       sorted(daily.items()))


EXPORT_COLUMNS = [("label", "分组"), ("received", "收件"), ("accepted", "受理"), ("completed", "办结"),
                  ("on_time", "按时办结"), ("on_time_rate", "按时办结率"), ("overdue_now", "当前超期"),
                  ("avg_working_days", "平均办理工作日"), ("corrections_per_case", "件均补正次数"),
                  ("ratings", "评价数"), ("satisfaction_rate", "满意率"), ("bad_ratings", "差评"),
                  ("followups_open", "差评待整改"), ("followups_overdue", "整改超期")]


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
