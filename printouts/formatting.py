"""Small text formatters shared by every document: dates, the readable case number.

Masking is a field rule and lives with the field checks (``forms.identity``); documents re-use it."""

from __future__ import annotations

import re
from datetime import date, datetime

from .model import DueInfo, MaterialLine
from .texts import Texts

_WEEKDAYS = "一二三四五六日"


def group_case_number(case_number: str, two_lines: bool = False) -> str:
    """Spaced for reading aloud: blocks of four, the check character on its own.

    ``4201021002012026031500071K`` -> ``4201 0210 0201 2026 0315 00071 K`` (a tail shorter than
    three joins the group before it). Existing separators (space, hyphen) are dropped first; the
    characters themselves are unchanged.
    """
    canonical = re.fullmatch(r"(\d{12})-(\d{6})-(\d{4})-([0-9X])", case_number.strip())
    if canonical:
        # The station's own format: village code in fours, then date, day sequence, check character,
        # keeping the hyphens the operator types when searching.
        # With ``two_lines`` (the large number on receipts) the break falls between the village code
        # and the day part instead of wherever the line runs out.
        v, ymd, seq, check = canonical.groups()
        return f"{v[:4]} {v[4:8]} {v[8:]}{chr(10) if two_lines else ' - '}{ymd} - {seq} - {check}"
    compact = re.sub(r"[\s\-]", "", case_number)
    if len(compact) < 2:
        return compact
    body, check = compact[:-1], compact[-1]
    groups = [body[i:i + 4] for i in range(0, len(body), 4)]
    if len(groups) > 1 and len(groups[-1]) < 3:
        groups[-2:] = [groups[-2] + groups[-1]]
    return " ".join(groups + [check])


def fmt_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def fmt_date_weekday(d: date) -> str:
    return f"{fmt_date(d)}（星期{_WEEKDAYS[d.weekday()]}）"


def fmt_datetime(dt: datetime) -> str:
    return f"{fmt_date(dt.date())} {dt.hour:02d}:{dt.minute:02d}"


def fmt_due(due: DueInfo | date | None, texts: Texts, weekday: bool = False) -> str:
    if due is None:
        return texts("common", "none")
    if isinstance(due, DueInfo):
        text = fmt_date_weekday(due.date) if weekday else fmt_date(due.date)
        return text + (texts("common", "estimate_suffix") if due.estimate else "")
    return fmt_date_weekday(due) if weekday else fmt_date(due)


def material_status(m: MaterialLine, texts: Texts) -> str:
    if m.status == "received":
        return texts("common", "status_received")
    due = fmt_date(m.due_date) if m.due_date else None
    if m.status == "waived":
        return (texts("common", "status_waived_due", due=due) if due
                else texts("common", "status_waived"))
    return (texts("common", "status_missing_due", due=due) if due
            else texts("common", "status_missing"))
