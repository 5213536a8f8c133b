"""审核: the review queue — new, waiting for correction, near-due, overdue, duplicates, 差评整改.

One tab per queue of ``station.review.review_queue`` (with its count), filters by village and by
item, a table; Enter opens the case for review (or, for a flagged duplicate, the two cases side by
side). The queue is read in a thread worker and re-read whenever the screen comes back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Select, Static, Tab, Tabs

from station.cases import CaseRecord
from station.ratings import Rating, get_rating
from station.review import find_duplicates, review_queue
from station.printing import station_names
from station.tui.names import village_label
from station.tui.screens.base import StationScreen
from station.tui.widgets.caselist import clip, due_text, short_number

TABS: list[tuple[str, str]] = [("new", "新收件"), ("correction", "待补正"), ("near_due", "临近到期"),
                               ("overdue", "已超期"), ("duplicates", "疑似重复"), ("followups", "差评整改")]
COLUMNS = (("编号", 13), ("申请人", 8), ("事项", 14), ("村", 10), ("状态", 10), ("期限/说明", 12))


@dataclass(frozen=True)
class QueueView:
    tab: str
    cases: list[CaseRecord]
    counts: dict[str, int]
    villages: list[tuple[str, str]]  # (label, code) for the village filter
    items: list[tuple[str, str]]     # (label, code) for the item filter
    names: dict[str, str]
    today: str
    pairs: dict[str, str] = field(default_factory=dict)       # duplicates: number -> the other number
    ratings: dict[str, Rating] = field(default_factory=dict)  # 差评整改: number -> rating


def load_queue(store: Any, tab: str, village: str | None, item: str | None, today: date) -> QueueView:
    names = station_names(store)
    everything = {key: review_queue(store, key) for key, _ in TABS}
    counts = {key: len(cases) for key, cases in everything.items()}
    seen = {c.number: c for cases in everything.values() for c in cases}.values()
    villages = sorted({(village_label(c.village_code, names), c.village_code) for c in seen}, key=lambda v: v[1])
    items = sorted({(c.item_name, c.item_code) for c in seen}, key=lambda v: v[1])
    cases = [c for c in everything[tab] if (not village or c.village_code == village)
             and (not item or c.item_code == item)]
    pairs: dict[str, str] = {}
    if tab == "duplicates":
        for a, b in find_duplicates(store):
            pairs.setdefault(a, b)
            pairs.setdefault(b, a)
    ratings: dict[str, Rating] = {}
    if tab == "followups":
        for c in cases:
            rating = get_rating(store, c.number)
            if rating is not None:
                ratings[c.number] = rating
    return QueueView(tab, cases, counts, villages, items, names, today.isoformat(), pairs, ratings)


def note_text(view: QueueView, case: CaseRecord) -> Text:
    if view.tab == "duplicates" and case.number in view.pairs:
        return Text("同 " + short_number(view.pairs[case.number]), style="yellow")
    if view.tab == "followups" and case.number in view.ratings:
        r = view.ratings[case.number]
        late = bool(r.followup_due and r.followup_due < view.today)
        return Text(f"整改 {(r.followup_due or '')[5:]}" + (" 超期" if late else ""), style="bold red" if late else "")
    return due_text(case)


class ReviewScreen(StationScreen):
    BINDINGS = [
        Binding("escape", "back", "返回"),
        Binding("1", "tab('new')", "切换队列", key_display="1-6"),
        Binding("2", "tab('correction')", "待补正", show=False),
        Binding("3", "tab('near_due')", "临近到期", show=False),
        Binding("4", "tab('overdue')", "已超期", show=False),
        Binding("5", "tab('duplicates')", "疑似重复", show=False),
        Binding("6", "tab('followups')", "差评整改", show=False),
        Binding("ctrl+r", "clear", "清空筛选"),
        Binding("f5", "refresh", "刷新"),
    ]

    def __init__(self, tab: str = "new") -> None:
        super().__init__()
        self.tab = tab
        self.view: QueueView | None = None
        self.loads = 0
        self._filling = False
        self._requested_filters: tuple[str | None, str | None] | None = None

    def compose(self) -> ComposeResult:
        yield Static("审核 · 待办队列", id="title", classes="screen-title")
        yield Tabs(*[Tab(label, id=f"tab-{key}") for key, label in TABS], active=f"tab-{self.tab}", id="queues")
        with Horizontal(id="review-filters"):
            yield Select([], prompt="全部村", id="village")
            yield Select([], prompt="全部事项", id="item")
        yield Static("", id="queue-line", classes="result-line")
        yield DataTable(id="queue", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#queue", DataTable)
        for label, width in COLUMNS:
            table.add_column(label, width=width)
        table.focus()
        self.action_refresh()

    def on_screen_resume(self) -> None:
        self.action_refresh()

    # --- loading ------------------------------------------------------------------------------

    def _filters(self) -> tuple[str | None, str | None]:
        village = self.query_one("#village", Select).value
        item = self.query_one("#item", Select).value
        return (None if village is Select.NULL else str(village), None if item is Select.NULL else str(item))

    def action_refresh(self) -> None:
        tab = self.tab
        village, item = self._filters()
        self._requested_filters = (village, item)
        today = self.session.today()
        self.call_domain(lambda: load_queue(self.session.require_store(), tab, village, item, today), self._show,
                         group="queue", exclusive=True)

    def _show(self, view: QueueView) -> None:
        if view.tab != self.tab:
            return  # an answer for a tab the operator has left
        self.view = view
        for key, label in TABS:
            self.query_one(f"#tab-{key}", Tab).label = f"{label} {view.counts.get(key, 0)}"
        self._filling = True
        try:
            for sel_id, options in (("#village", view.villages), ("#item", view.items)):
                select = self.query_one(sel_id, Select)
                current = select.value
                select.set_options(options)
                if current is not Select.NULL and any(code == current for _, code in options):
                    select.value = current
        finally:
            self.call_after_refresh(self._filled)
        table = self.query_one("#queue", DataTable)
        table.clear()
        for c in view.cases:
            table.add_row(short_number(c.number), clip(c.applicant_name, 8), clip(c.item_name, 14),
                          clip(village_label(c.village_code, view.names), 10), clip(c.status_label, 10),
                          note_text(view, c), key=c.number)
        label = dict(TABS)[view.tab]
        if view.cases:
            line = f"{label}：{len(view.cases)} 件（Enter 打开）"
        elif not any(view.counts.values()) and self.session.store is not None \
                and self.session.store.config.role == "township":
            line = (f"{label}：没有待办。村里收的件经省平台转到本中心：有网络时按 Esc 回首页再按 s 同步；"
                    "没有网络时在“同步”里从U盘导入（U盘须先在平台导入过）。")
        else:
            line = f"{label}：没有待办"
        self.query_one("#queue-line", Static).update(line)
        self.loads += 1

    def _filled(self) -> None:
        self._filling = False

    # --- events -------------------------------------------------------------------------------

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        tab_id = event.tab.id or ""
        key = tab_id.removeprefix("tab-")
        if key and key != self.tab:
            self.tab = key
            self.query_one("#queue", DataTable).clear()
            self.action_refresh()

    def on_select_changed(self, event: Select.Changed) -> None:
        # Refilling the options after a load posts Changed messages that may arrive late; reloading for
        # them would clear the table under the operator's cursor. Only a real change of filter reloads.
        if not self._filling and self._filters() != self._requested_filters:
            self.action_refresh()

    def action_tab(self, key: str) -> None:
        self.query_one(Tabs).active = f"tab-{key}"

    def action_clear(self) -> None:
        self.query_one("#village", Select).clear()
        self.query_one("#item", Select).clear()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        number = event.row_key.value
        if not number or self.view is None:
            return
        if self.view.tab == "duplicates" and number in self.view.pairs:
            self.app.open("duplicates", number=str(number), other=self.view.pairs[str(number)])
            return
        self.app.open("review_case", number=str(number))

    def action_back(self) -> None:
        self.app.pop_screen()
