"""办件查询: search as you type (case number, name, pinyin, last ID digits, item) with filters.

Every keystroke restarts a short debounce; the query then runs in a thread worker on the search
connection (never the UI thread); an older query's answer that arrives late is dropped.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Select, Static

from station import lifecycle
from station.cases import CaseReader, CaseRecord
from forms.problems import StationError
from station.tui.screens.base import StationScreen
from station.tui.widgets.caselist import fill_case_table, setup_case_table

DEBOUNCE_SECONDS = 0.03
PAGE = 50

FLAGS: list[tuple[str, str]] = [("不限", ""), ("超期", "overdue"), ("临期", "near_due"),
                                ("待补材料", "waiting"), ("未同步", "unsynced"), ("今日收件", "today")]
_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})?\s*(?:(~|至)\s*(\d{4}-\d{2}-\d{2})?)?\s*$")


@dataclass(frozen=True)
class Query:
    text: str
    status: str
    flag: str
    dates: str
    today: date

    def filters(self) -> dict[str, Any]:
        f: dict[str, Any] = {}
        if self.status:
            f["status"] = self.status
        if self.flag == "overdue":
            f["overdue"] = True
        elif self.flag == "near_due":
            f["near_due"] = True
        elif self.flag == "waiting":
            f["waiting_materials"] = True
        elif self.flag == "unsynced":
            f["unsynced"] = True
        elif self.flag == "today":
            f["received_from"] = f["received_to"] = self.today.isoformat()
        if self.dates.strip():
            m = _DATE.match(self.dates)
            if not m or not (m.group(1) or m.group(3)):
                raise StationError("bad_date", "日期格式：2026-09-01 或 2026-09-01~2026-09-30")
            start, ranged, end = m.groups()
            try:
                for d in (start, end):
                    if d:
                        date.fromisoformat(d)
            except ValueError:
                raise StationError("bad_date", "日期不存在，请核对") from None
            if start:
                f["received_from"] = start
            if ranged:
                if end:
                    f["received_to"] = end
            elif start:
                f["received_to"] = start
        return f


def run_query(store: Any, q: Query) -> list[CaseRecord]:
    return CaseReader(store, q.today).list(search=q.text or None, limit=PAGE, **q.filters())


class SearchScreen(StationScreen):
    BINDINGS = [
        Binding("escape", "back", "返回"),
        Binding("down", "to_results", "结果", show=False),
        Binding("ctrl+r", "clear", "清空条件"),
        Binding("enter", "open", "打开", show=False),
    ]

    def __init__(self, preset: str = "", text: str = ""):
        super().__init__()
        self.preset = preset
        self.initial_text = text
        self._timer: Timer | None = None
        self._generation = 0
        self._started = 0.0
        self.last_results: list[CaseRecord] = []
        self.last_elapsed_ms: float = 0.0
        self.searches_done = 0

    def compose(self) -> ComposeResult:
        yield Static("办件查询 · 编号、姓名、拼音、身份证后四位、事项", classes="screen-title")
        yield Input(placeholder="输入即查：如 0007、张三、zs、1234、高龄", id="q", value=self.initial_text)
        with Horizontal(id="filters"):
            yield Select([(label, key) for key, label in lifecycle.STATUS_LABELS.items()], prompt="全部状态",
                         id="status")
            yield Select([(label, key) for label, key in FLAGS[1:]], prompt="不限", id="flag",
                         value=self.preset or Select.NULL)
            yield Input(placeholder="收件日期，如 2026-09-01~2026-09-30", id="dates")
        yield Static("", id="result-line", classes="result-line")
        yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        setup_case_table(self.query_one(DataTable))
        self.query_one("#q", Input).focus()
        self._run()

    def _query(self) -> Query:
        status = self.query_one("#status", Select).value
        flag = self.query_one("#flag", Select).value
        return Query(self.query_one("#q", Input).value.strip(),
                     "" if status is Select.NULL else str(status),
                     "" if flag is Select.NULL else str(flag),
                     self.query_one("#dates", Input).value, self.session.today())

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._started = time.perf_counter()
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self._run)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._schedule()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._schedule()

    def _run(self) -> None:
        self._generation += 1
        generation = self._generation
        if not self._started:
            self._started = time.perf_counter()
        try:
            q = self._query()
            q.filters()
        except StationError as exc:
            self.query_one("#result-line", Static).update(exc.message)
            return
        session = self.session

        def search() -> list[CaseRecord]:
            with session.search_lock:
                return run_query(session.search_store, q)

        self.call_domain(search, lambda rows: self._show(generation, rows), failed=self._failed,
                         group="search", lock=False)

    def _failed(self, exc: StationError) -> None:
        self.query_one("#result-line", Static).update(exc.message)

    def _show(self, generation: int, rows: list[CaseRecord]) -> None:
        if generation != self._generation:
            return  # an answer to an older keystroke
        self.last_elapsed_ms = (time.perf_counter() - self._started) * 1000 if self._started else 0.0
        self._started = 0.0
        self.last_results = rows
        table = self.query_one(DataTable)
        fill_case_table(table, rows)
        more = "（仅显示最近50条，请输入更多条件）" if len(rows) >= PAGE else ""
        self.query_one("#result-line", Static).update(
            f"找到 {len(rows)} 件{more}" if rows else "没有找到符合条件的办件")
        self.searches_done += 1

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "q" and self.last_results:
            self.app.open_case(self.last_results[0].number if len(self.last_results) == 1
                               else self._highlighted() or self.last_results[0].number)
        elif event.input.id == "dates":
            self.action_to_results()

    def _highlighted(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value) if key.value else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.app.open_case(str(event.row_key.value))

    def action_open(self) -> None:
        number = self._highlighted()
        if number:
            self.app.open_case(number)

    def action_to_results(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.focus()

    def action_clear(self) -> None:
        self.query_one("#q", Input).value = ""
        self.query_one("#dates", Input).value = ""
        self.query_one("#status", Select).clear()
        self.query_one("#flag", Select).clear()
        self.query_one("#q", Input).focus()

    def action_back(self) -> None:
        self.app.pop_screen()
