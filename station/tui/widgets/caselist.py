"""The case table shared by 首页 and 办件查询: one row per case, keyed by the full case number."""

from __future__ import annotations

from typing import Iterable

from rich.text import Text
from textual.widgets import DataTable

from station import sync_state
from station.cases import CaseRecord

COLUMNS = (("编号", 13), ("申请人", 8), ("事项", 16), ("状态", 12), ("承诺办结", 10), ("同步", 6))


def short_number(number: str) -> str:
    """The part read out at the counter: date, sequence and check (the village code is our own)."""
    parts = number.split("-")
    return "-".join(parts[1:]) if len(parts) == 4 else number


def setup_case_table(table: DataTable) -> None:
    for label, width in COLUMNS:
        table.add_column(label, width=width)


def clip(text: str, cells: int) -> str:
    """Cut ``text`` to ``cells`` terminal cells (CJK characters take two), ending with … when cut."""
    out, used = "", 0
    for ch in text:
        w = 2 if ord(ch) > 0x2E80 else 1
        if used + w > cells:
            return out[:-1] + "…" if out else ""
        out += ch
        used += w
    return out


def due_text(case: CaseRecord) -> Text:
    if not case.promised_due:
        return Text("—")
    label = case.promised_due[5:] + ("*" if case.promised_estimate else "")
    if case.overdue:
        return Text(label + " 超期", style="bold red")
    if case.near_due:
        return Text(label + " 临期", style="yellow")
    return Text(label)


def fill_case_table(table: DataTable, cases: Iterable[CaseRecord]) -> None:
    table.clear()
    for c in cases:
        table.add_row(short_number(c.number), clip(c.applicant_name, 8), clip(c.item_name, 16),
                      clip(c.status_label, 12), due_text(c), sync_state.SHORT_LABELS.get(c.sync_state, c.sync_state),
                      key=c.number)
