"""统计: the figures officials are judged by, for a period, by village / item / operator, with charts.

The figures come from ``station.stats.compute`` (definitions in docs/统计口径.md); this screen only
lays them out: a total line, a Sparkline of the cases received each day (zero-filled, so a quiet day
shows as a gap), and a table with a bar per row comparing what each village (item, operator)
received. Export to .xlsx/.csv goes to the home's exports/ folder; the 月报 is printed in a worker.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Select, Sparkline, Static

from forms.problems import StationError
from station.stats import StatsReport, compute
from station.stats import export as export_report
from station.printing import PrintResult, print_monthly, station_names
from station.tui.names import village_label
from station.tui.screens.base import StationScreen
from station.tui.widgets.caselist import clip

EXPORT_DIR = "exports"
PERIODS = [("本月", "this"), ("上月", "last"), ("自定义", "custom")]
GROUPINGS = [("按村", "village"), ("按事项", "item"), ("按操作员", "operator")]
COLUMNS = (("分组", 12), ("收件", 4), ("受理", 4), ("办结", 4), ("按时率", 6), ("超期", 4), ("满意率", 6),
           ("差评", 4), ("收件对比", 12))
BLOCKS = " ▏▎▍▌▋▊▉█"
DEBOUNCE_SECONDS = 0.3
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def bar(value: int, most: int, cells: int) -> str:
    """A horizontal bar of block characters, eighths included, ``cells`` wide at ``most``."""
    if most <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / most * cells * 8))
    return "█" * (eighths // 8) + (BLOCKS[eighths % 8] if eighths % 8 else "")


def period_dates(kind: str, today: date) -> tuple[date, date]:
    first = today.replace(day=1)
    if kind == "last":
        last_month_end = first - timedelta(days=1)
        return last_month_end.replace(day=1), last_month_end
    return first, today


def daily_series(report: StatsReport) -> list[int]:
    """Cases received per day over the whole period, days without cases as 0."""
    counts = dict(report.daily_received)
    start, end = date.fromisoformat(report.date_from), date.fromisoformat(report.date_to)
    return [counts.get((start + timedelta(days=i)).isoformat(), 0) for i in range((end - start).days + 1)]


@dataclass(frozen=True)
class StatsView:
    report: StatsReport
    names: dict[str, str]


def load_stats(store: Any, start: date, end: date, by: str, today: date) -> StatsView:
    return StatsView(compute(store, start, end, by=by, today=today), station_names(store))


def parse_day(text: str, what: str) -> date:
    text = text.strip()
    if not _ISO.match(text):
        raise StationError("bad_date", f"{what}格式应为 2026-09-01")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise StationError("bad_date", f"{what} {text} 不存在，请核对") from None


class StatsScreen(StationScreen):
    BINDINGS = [
        Binding("escape", "back", "返回"),
        Binding("ctrl+o", "export('xlsx')", "导出Excel"),
        Binding("ctrl+t", "export('csv')", "导出CSV"),
        Binding("ctrl+p", "print_monthly", "打印月报"),
        Binding("f5", "refresh", "刷新"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: StatsView | None = None
        self.loads = 0
        self.last_export: Path | None = None
        self.last_print: Any = None
        self.label_cells = self.bar_cells = 12
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("统计", id="title", classes="screen-title")
        with Horizontal(id="stats-filters"):
            yield Select(PERIODS, value="this", allow_blank=False, id="period")
            yield Input(placeholder="开始 2026-09-01", id="from")
            yield Input(placeholder="结束 2026-09-30", id="to")
            yield Select(GROUPINGS, value="village", allow_blank=False, id="by")
        yield Static("正在统计……", id="totals")
        yield Static("", id="trend-title", classes="hint")
        yield Sparkline([], summary_function=max, id="trend")
        yield DataTable(id="figures", cursor_type="row", zebra_stripes=True)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one("#figures", DataTable)
        extra = max(0, self.app.size.width - 80)  # a wider terminal: longer names and bars
        self.label_cells, self.bar_cells = 12 + extra // 4, 12 + extra // 2
        for label, width in COLUMNS:
            table.add_column(label, width={"分组": self.label_cells, "收件对比": self.bar_cells}.get(label, width))
        self._set_period("this")
        table.focus()
        self.action_refresh()

    # --- period -------------------------------------------------------------------------------

    def _set_period(self, kind: str) -> None:
        if kind == "custom":
            return
        start, end = period_dates(kind, self.session.today())
        self.query_one("#from", Input).value = start.isoformat()
        self.query_one("#to", Input).value = end.isoformat()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "period":
            self._set_period(str(event.value))
        self.action_refresh()

    def on_input_changed(self, event: Input.Changed) -> None:
        period = self.query_one("#period", Select)
        typed = (self.query_one("#from", Input).value.strip(), self.query_one("#to", Input).value.strip())
        if period.value != "custom":
            preset = tuple(d.isoformat() for d in period_dates(str(period.value), self.session.today()))
            if typed == preset:
                return  # the preset filled the dates in; its own change already recomputes
            period.value = "custom"
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self.action_refresh)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_refresh()

    # --- computing ----------------------------------------------------------------------------

    def action_refresh(self) -> None:
        try:
            start = parse_day(self.query_one("#from", Input).value, "开始日期")
            end = parse_day(self.query_one("#to", Input).value, "结束日期")
        except StationError as exc:
            self._problem(exc)
            return
        by = str(self.query_one("#by", Select).value)
        today = self.session.today()
        self.call_domain(lambda: load_stats(self.session.require_store(), start, end, by, today), self._show,
                         failed=self._problem, group="stats", exclusive=True)

    def _problem(self, exc: StationError) -> None:
        self.query_one("#totals", Static).update(Text(exc.message + "（改正后按 Enter）", style="bold red"))

    def _show(self, view: StatsView) -> None:
        self.view = view
        r, t = view.report, view.report.total
        by_label = dict((v, k) for k, v in GROUPINGS).get(r.by or "", "合计")
        self.query_one("#title", Static).update(f"统计 · {r.date_from} 至 {r.date_to} · {by_label}（统计日 {r.today}）")
        line = Text()
        line.append("合计 ", style="bold")
        line.append(f"收件 {t.received} · 受理 {t.accepted} · 办结 {t.completed} · 按时办结 {t.on_time} · ")
        line.append(f"按时办结率 {percent(t.on_time_rate)}", style="bold")
        line.append(" · 当前超期 ")
        line.append(str(t.overdue_now), style="bold red" if t.overdue_now else "bold")
        line.append(" · 补正逾期未补 ")
        line.append(str(t.correction_overdue_now), style="bold red" if t.correction_overdue_now else "bold")
        line.append("\n平均 " + ("—" if t.avg_working_days is None else f"{t.avg_working_days:.1f}") + " 工作日"
                    + " · 件均补正 " + ("—" if t.corrections_per_case is None else f"{t.corrections_per_case:.2f}")
                    + f" · 评价 {t.ratings} · ")
        line.append(f"满意率 {percent(t.satisfaction_rate)}", style="bold")
        line.append(f" · 差评 {t.bad_ratings}（待整改{t.followups_open}/超期{t.followups_overdue}）")
        line.append(f"\n告知件 {t.consultations} · 视为受理 {t.deemed_accepted} · 不予受理 {t.not_accepted}"
                    f" · 转报 {t.forwarded} · 一次办结 {percent(t.one_trip_rate)} · 回访 {percent(t.revisit_rate)}"
                    f" · 整改 {percent(t.rectification_rate)}")
        self.query_one("#totals", Static).update(line)
        series = daily_series(r)
        self.query_one("#trend-title", Static).update(
            f"每日收件趋势（{r.date_from[5:]} ~ {r.date_to[5:]}，{len(series)} 天，最多 {max(series, default=0)} 件/日）")
        self.query_one("#trend", Sparkline).data = series
        table = self.query_one("#figures", DataTable)
        table.clear()
        most = max((g.received for g in r.groups), default=0)
        for g in r.groups:
            label = village_label(g.group, view.names) if r.by == "village" else g.label
            table.add_row(clip(label, self.label_cells), str(g.received), str(g.accepted), str(g.completed), percent(g.on_time_rate),
                          Text(str(g.overdue_now), style="bold red" if g.overdue_now else ""),
                          percent(g.satisfaction_rate), str(g.bad_ratings), Text(bar(g.received, most, self.bar_cells), style="green"),
                          key=g.group)
        table.add_row(Text("合计", style="bold"), str(t.received), str(t.accepted), str(t.completed),
                      percent(t.on_time_rate), str(t.overdue_now), percent(t.satisfaction_rate), str(t.bad_ratings),
                      "", key="__total__")
        self.loads += 1
        self.refresh_bindings()

    # --- export and print ---------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("export", "print_monthly"):
            return self.view is not None
        return True

    def action_export(self, kind: str) -> None:
        if self.view is None:
            return
        r = self.view.report
        path = self.session.home / EXPORT_DIR / f"stats-{r.date_from}-{r.date_to}-{r.by or 'all'}.{kind}"

        def run() -> Path:
            path.parent.mkdir(parents=True, exist_ok=True)
            return export_report(r, path)

        self.call_domain(run, self._exported, group="export")

    def _exported(self, path: Path) -> None:
        self.last_export = path
        self.app.notify(f"已导出：{path}", title="导出完成")

    def action_print_monthly(self) -> None:
        if self.view is None:
            return
        month = date.fromisoformat(self.view.report.date_from).replace(day=1)
        store, op = self.session.require_store(), self.session.operator
        last = calendar.monthrange(month.year, month.month)[1]
        self.app.notify(f"正在生成 {month.year}年{month.month}月 月报（{month.isoformat()} 至 "
                        f"{month.replace(day=last).isoformat()}）……", timeout=3)
        self.call_domain(lambda: print_monthly(store, month, op), self._printed, group="print")

    def _printed(self, result: PrintResult) -> None:
        self.last_print = result
        self.app.notify(f"{result.message}\n{result.path}", title="已打印" if result.sent else "已存档")

    def action_back(self) -> None:
        self.app.pop_screen()
