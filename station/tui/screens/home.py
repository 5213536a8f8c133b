"""首页: what is still to do today, each list a key away; warnings that never stop intake."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from datetime import date

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Static

from station.cases import CaseReader, CaseRecord, Worklist, worklist
from station.decisions import Arrival, arrivals
from station.operators import PERMISSIONS
from station.printing import PrintResult, paper_for, print_case_document, print_daily
from station.tui.widgets.print_status import PRINT_FORMATS, print_toast
from station.health import station_health
from station.store import Store
from station.tui.screens.base import StationScreen
from station.tui.widgets.caselist import clip, fill_case_table, setup_case_table, short_number
from sync.service import sync_status

COUNT_CAP = 1000  # a tile shows "1000+" from here on


@dataclass(frozen=True)
class Dashboard:
    station_name: str
    today: date
    counts: Worklist
    today_cases: list[CaseRecord]
    unsynced_cases: int
    link: str
    last_sync: str
    warnings: list[str] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)


ARRIVAL_COLUMNS = (("编号", 13), ("申请人", 8), ("事项", 14), ("结果", 14), ("通知书", 14))
TILES = [("today", "今日收件", "t"), ("waiting", "待补材料", "w"), ("near_due", "临期", "d"),
         ("overdue", "超期", "o"), ("unsynced", "未同步", "u")]


def build_dashboard(store: Store, today: date) -> Dashboard:
    reader = CaseReader(store, today)
    iso = today.isoformat()
    today_cases = reader.list(received_from=iso, received_to=iso, limit=50)
    status = sync_status(store, with_health=False)  # the health is read once, below, with the pending count
    counts = worklist(reader)
    # One figure for "not yet synced", in cases (件), the unit the agent counts in; the sync screen
    # has the record-level detail.
    pending, link, last_when = counts.unsynced, status.link_label, status.last_success_at
    last_label = last_when.isoformat(" ", "minutes") if last_when else "从未同步"
    # days since sync and backup, calendar reach, catalog age: warnings only, intake never stops
    warnings = list(station_health(store, today, pending).warnings)
    return Dashboard(store.config.name, today, counts, today_cases, pending, link, last_label, warnings,
                     arrivals(store, today))


class HomeScreen(StationScreen):
    BINDINGS = [
        Binding("n", "new_case", "新建"),
        Binding("f", "find", "查询"),
        # The tiles show these keys ([t] …), so the footer keeps its room for the rest.
        Binding("t", "list('today')", "今日", show=False),
        Binding("w", "list('waiting')", "待补", show=False),
        Binding("d", "list('near_due')", "临期", show=False),
        Binding("o", "list('overdue')", "超期", show=False),
        Binding("u", "list('unsynced')", "未同步", show=False),
        Binding("p", "print_arrival", "打印通知"),
        Binding("b", "print_daily", "日报"),
        Binding("r", "review", "审核"),
        Binding("g", "stats", "统计"),
        Binding("s", "sync", "同步"),
        Binding("c", "settings", "设置"),
        Binding("l", "logout", "注销"),
        Binding("f5", "refresh", "刷新", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Static("", id="title", classes="screen-title")
        yield Static("", id="warnings", classes="warnings")
        with Horizontal(id="tiles"):
            for key, label, shortcut in TILES:
                yield Static(f"{label}\n…", id=f"tile-{key}", classes="tile")
        yield Static("", id="sync-line", classes="sync-line")
        yield Static("新的审核结果（Enter 打印通知书）", id="arrivals-title", classes="section-title")
        yield DataTable(id="arrivals", cursor_type="row", zebra_stripes=True)
        yield Static("今日收件（Enter 打开）", classes="section-title")
        yield DataTable(id="today-table", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.arrivals: list[Arrival] = []
        self.last_print: PrintResult | None = None
        setup_case_table(self.query_one("#today-table", DataTable))
        table = self.query_one("#arrivals", DataTable)
        for label, width in ARRIVAL_COLUMNS:
            table.add_column(label, width=width)
        self._show_arrivals([])
        self.query_one("#warnings", Static).display = False
        self.query_one("#today-table", DataTable).focus()
        self.action_refresh()

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def action_refresh(self) -> None:
        today = self.session.today()
        self.call_domain(lambda: build_dashboard(self.session.require_store(), today), self._show,
                         group="dashboard", exclusive=True)

    def _show(self, board: Dashboard) -> None:
        op = self.session.operator
        who = f"{op.name}（{op.role_label}）" if op else ""
        self.query_one("#title", Static).update(f"首页 · {board.station_name} · {who} · {board.today.isoformat()}")
        warnings = self.query_one("#warnings", Static)
        warnings.update("\n".join("⚠ " + w for w in board.warnings))
        warnings.display = bool(board.warnings)
        for key, label, shortcut in TILES:
            n = getattr(board.counts, key)
            shown = f"{n}+" if n >= COUNT_CAP else str(n)
            text = Text(f"{label} ", style="bold")
            text.append(f"[{shortcut}]", style="dim")
            text.append(f"\n{shown}", style="bold red" if key == "overdue" and n else "bold")
            tile = self.query_one(f"#tile-{key}", Static)
            tile.update(text)
            tile.set_class(key == "overdue" and n > 0, "alert")
        self.query_one("#sync-line", Static).update(
            f"未同步办件 {board.unsynced_cases} 件 · 网络：{board.link} · 上次同步：{board.last_sync}")
        fill_case_table(self.query_one("#today-table", DataTable), board.today_cases)
        self._show_arrivals(board.arrivals)
        self.refresh_bindings()

    # --- decisions that arrived from the township ----------------------------------------------

    def _show_arrivals(self, found: list[Arrival]) -> None:
        had = bool(self.arrivals)
        self.arrivals = found
        table = self.query_one("#arrivals", DataTable)
        table.clear()
        for a in found:
            c = a.case
            notice = Text(clip(a.void_title, 14), style="bold red") if a.void else clip(a.title, 14)
            table.add_row(short_number(c.number), clip(c.applicant_name, 8), clip(c.item_name, 14),
                          clip(c.status_label, 14), notice, key=c.number)
        shown = bool(found)
        table.display = shown
        self.query_one("#arrivals-title", Static).display = shown
        if shown and not had:
            table.focus()  # a decision came in: it is the first thing to deal with

    def _arrival(self, number: str | None) -> Arrival | None:
        return next((a for a in self.arrivals if a.case.number == number), None)

    def action_print_arrival(self) -> None:
        table = self.query_one("#arrivals", DataTable)
        if not self.arrivals:
            return
        number = None
        if table.row_count:
            number = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        self._offer(self._arrival(number) or self.arrivals[0])

    def _offer(self, arrival: Arrival) -> None:
        from station.tui.screens.dialogs import PrintDialog

        number = arrival.case.number
        config = self.session.require_store().config
        choices = [(arrival.kind, f"打印{arrival.title}")] if arrival.kind else []
        if arrival.void:  # void paper to recover: the case screen says which and records the recall
            choices.append(("open", "打开办件详情（原文书作废，须收回）"))
        else:
            choices.append(("open", "打开办件详情"))
        self.app.push_screen(PrintDialog(choices,
                                         config.paper_format or "a4", config.large_print, PRINT_FORMATS),
                             lambda choice: self._print_arrival(number, choice))

    def _print_arrival(self, number: str, choice: Any) -> None:
        if not choice:
            return
        if choice.kind == "open":
            self.app.open_case(number)
            return
        store, op = self.session.require_store(), self.session.operator
        self.app.notify("正在生成文书……", timeout=2)
        fmt = paper_for(choice.kind, choice.fmt)
        self.call_domain(lambda: print_case_document(store, number, choice.kind, op, fmt=fmt,
                                                     large=choice.large), self._printed, group="print")

    def action_print_daily(self) -> None:
        """Today's 日报 (A4), archived and sent to the printer like any document."""
        store, op, today = self.session.require_store(), self.session.operator, self.session.today()
        self.app.notify("正在生成日报……", timeout=2)
        self.call_domain(lambda: print_daily(store, today, op), self._printed, group="print")

    def _printed(self, result: PrintResult) -> None:
        self.last_print = result
        title, line = print_toast(result)
        self.app.notify(f"{line}：{result.message}", title=title, timeout=4)
        self.action_refresh()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if not event.row_key.value:
            return
        if event.data_table.id == "arrivals":
            arrival = self._arrival(str(event.row_key.value))
            if arrival is not None:
                self._offer(arrival)
            return
        self.app.open_case(str(event.row_key.value))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "review":
            op = self.session.operator
            return op is not None and op.role in PERMISSIONS["decide"]
        if action == "print_arrival":
            return bool(getattr(self, "arrivals", None))
        return True

    def action_review(self) -> None:
        self.app.open("review")

    def action_stats(self) -> None:
        self.app.open("stats")

    def action_new_case(self) -> None:
        self.app.open("intake")

    def action_find(self) -> None:
        self.app.open("search")

    def action_list(self, preset: str) -> None:
        self.app.open("search", preset=preset)

    def action_sync(self) -> None:
        self.app.open("sync")

    def action_settings(self) -> None:
        op = self.session.operator
        if op is None or op.role != "admin":
            self.app.notify("设置只有管理员可以修改，请用管理员账户登录", severity="warning")
            return
        self.app.open("settings")

    def action_logout(self) -> None:
        self.app.log_out()
