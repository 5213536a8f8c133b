"""The materials and timeline tables shown on the case screen and on the review detail."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from rich.text import Text
from textual.widget import Widget
from textual.widgets import DataTable, Static

from station.cases import CaseRecord
from station.decisions import is_superseded

MATERIAL_COLUMNS = ("材料", "形式", "状态", "补交期限")
TIMELINE_COLUMNS = ("时间", "操作员", "事项", "说明")


def compose_case_tables() -> Iterator[Widget]:
    """The two titled tables (#materials, #timeline), for a screen's compose."""
    yield Static("材料", classes="section-title")
    yield DataTable(id="materials", cursor_type="row", show_cursor=False)
    yield Static("办理过程", classes="section-title")
    yield DataTable(id="timeline", cursor_type="row", show_cursor=False)


def setup_case_tables(materials: DataTable, timeline: DataTable) -> None:
    materials.add_columns(*MATERIAL_COLUMNS)
    timeline.add_columns(*TIMELINE_COLUMNS)


def fill_case_tables(materials: DataTable, timeline: DataTable, case: CaseRecord,
                     superseded: Iterable[tuple[str, str]]) -> None:
    """Materials (colour by status) and timeline (events of other stations named; losers struck)."""
    materials.clear()
    for m in case.materials:
        style = "" if m.status == "received" else "yellow" if m.status == "waived" else "red"
        materials.add_row(m.name, m.form or "", Text(m.status_label, style=style), m.due_date or "", key=m.key)
    marks = set(superseded)
    timeline.clear()
    for t in case.timeline:
        who = t.who(case.filed_by_station)
        label: str | Text = t.label
        if is_superseded(t, marks):
            label = Text(t.label, style="strike dim").append(" 已被取代", style="bold red")
        timeline.add_row(t.at[:16].replace("T", " "), who, label, t.detail)
