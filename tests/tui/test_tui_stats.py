"""The 统计 screen over the hand-checked data set of tests/store/test_review_stats.py.

Six cases filed on Monday 2026-09-28 at two villages, decided at the township across the National
Day week, two ratings: 按时办结率 2/3 = 66.7 %, 满意率 1/2 = 50.0 %, one case overdue now. The
screen must show exactly these, chart the daily received counts, export and print the 月报.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from textual.widgets import Sparkline

from station.cases import deliver
from station.operators import get_operator, os_account
from station.ratings import rate
from station.review import Decision, decide
from station.tui.screens.stats import StatsScreen, bar, daily_series
from tests.support.tui import log_in, text_of, wait_for
from tests.support import VILLAGE, VILLAGE_2
from tests.tui.test_tui_review import REVIEWER, World, make_world, shown


def hand_checked(world: World, catalog) -> list[str]:
    """The data set of test_review_decisions_flow_back_and_statistics_match_hand_figures."""
    rng_seeds = iter(range(100, 200))
    a, b, c, d, e = (world.file("v1", catalog, next(rng_seeds)) for _ in range(5))
    f = world.file("v2", catalog, next(rng_seeds))
    world.ship("v1", "t")
    world.ship("v2", "t")
    with world.open("t") as t:
        reviewer = get_operator(t, REVIEWER[0])

        def at(day: date, number: str, decision: Decision) -> None:
            world.clock.set_day(day)
            decide(t, number, decision, reviewer)

        at(date(2026, 9, 29), a, Decision("accept"))
        at(date(2026, 9, 29), b, Decision("accept"))
        at(date(2026, 9, 29), c, Decision("accept"))
        at(date(2026, 9, 29), d, Decision("refuse", reason="不属于本镇受理范围"))
        at(date(2026, 9, 30), e, Decision("correct", reason="户口簿复印件不清晰", materials=("id_card",)))
        at(date(2026, 10, 9), c, Decision("reject", reason="不符合暂停条件"))       # on time
        at(date(2026, 10, 10), a, Decision("approve", certificate="暂停2026第1号"))  # exactly on the due date
        at(date(2026, 10, 12), b, Decision("approve"))                               # one working day late
    world.ship("t", "v1")
    world.clock.set_day(date(2026, 10, 13))
    with world.open("v1") as v1:
        deliver(v1, a, "本人", True, os_account(), trips=1)
        deliver(v1, b, "本人", True, os_account(), trips=2)
    world.ship("v1", "t")
    with world.open("t") as t:  # the 评价卡 reaches the township: entered there, not by the agent
        reviewer = get_operator(t, REVIEWER[0])
        rate(t, a, 5, reviewer, channel="纸质")
        rate(t, b, 2, reviewer, detail="超过承诺时间才办好", channel="纸质")
    world.clock.now = datetime(2026, 10, 20, 10, 0)
    return [a, b, c, d, e, f]


@pytest.fixture
def stats_world(tmp_path: Path, catalog) -> World:
    world = make_world(tmp_path)
    hand_checked(world, catalog)
    return world


async def open_stats(pilot) -> StatsScreen:
    await pilot.press("g")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, StatsScreen) and pilot.app.screen.loads >= 1)
    return pilot.app.screen


async def test_last_month_figures_match_the_hand_computed_ones(stats_world: World, catalog) -> None:
    app = stats_world.app("t", catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, REVIEWER)
        screen = await open_stats(pilot)
        # This month (October 1–20) by default: nothing was received in October, but the three cases
        # were completed and rated then (each figure counts its event by its own date).
        assert screen.view.report.date_from == "2026-10-01" and screen.view.report.date_to == "2026-10-20"
        assert screen.view.report.total.received == 0
        totals = shown(screen.query_one("#totals"))
        assert "当前超期 1" in totals  # f is overdue whatever the period
        assert "补正逾期未补 0" in totals  # e awaits 补正: due 10/20, the stat day itself
        assert "办结 3" in totals and "按时办结 2" in totals and "按时办结率 66.7%" in totals
        assert "满意率 50.0%" in totals and "平均 5.0 工作日" in totals and "差评 1（待整改1/超期0）" in totals
        assert "一次办结 50.0%" in totals and "回访 0.0%" in totals
        table = screen.query_one("#figures")
        rows = {str(k.value): [str(c) for c in table.get_row(k)] for k in table.rows}
        assert rows[VILLAGE][:8] == ["东风村", "0", "0", "3", "66.7%", "0", "50.0%", "1"]
        assert rows[VILLAGE_2][:8] == ["红旗村", "0", "0", "0", "—", "1", "—", "0"]
        assert rows["__total__"][1:8] == ["0", "0", "3", "66.7%", "1", "50.0%", "1"]
        loads = screen.loads
        screen.query_one("#period").value = "last"
        await wait_for(pilot, lambda: screen.loads > loads and screen.view.report.date_from == "2026-09-01")
        assert screen.query_one("#from").value == "2026-09-01" and screen.query_one("#to").value == "2026-09-30"
        totals = shown(screen.query_one("#totals"))
        assert "收件 6" in totals and "受理 3" in totals and "办结 0" in totals and "不予受理 1" in totals
        assert "视为受理 1" in totals and "当前超期 1" in totals
        table = screen.query_one("#figures")
        rows = {str(k.value): [str(c) for c in table.get_row(k)] for k in table.rows}
        assert rows[VILLAGE][:4] == ["东风村", "5", "3", "0"]
        assert rows[VILLAGE_2][:4] == ["红旗村", "1", "0", "0"]
        assert rows[VILLAGE][8] == "█" * 12 and rows[VILLAGE_2][8] == bar(1, 5, 12) != ""
        # The chart: one point per day of September, all six cases on the 28th.
        series = screen.query_one("#trend", Sparkline).data
        assert len(series) == 30 and series[27] == 6 and sum(series) == 6
        assert "最多 6 件/日" in text_of(screen.query_one("#trend-title"))


async def test_a_case_past_its_correction_deadline_shows_as_correction_overdue(stats_world: World, catalog) -> None:
    stats_world.clock.now = datetime(2026, 10, 21, 10, 0)  # e: 补正 asked 9/30, due 10/20, nothing brought
    app = stats_world.app("t", catalog)
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, REVIEWER)
        screen = await open_stats(pilot)
        assert screen.view.report.total.correction_overdue_now == 1
        totals = shown(screen.query_one("#totals"))
        assert "补正逾期未补 1" in totals and "当前超期 1" in totals  # f only: e's clock is stopped
        loads = screen.loads
        screen.query_one("#period").value = "last"               # a "now" figure: whatever the period
        await wait_for(pilot, lambda: screen.loads > loads and screen.view.report.date_from == "2026-09-01")
        assert "补正逾期未补 1" in shown(screen.query_one("#totals"))


async def test_grouping_custom_dates_and_bad_dates(stats_world: World, catalog) -> None:
    app = stats_world.app("t", catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, REVIEWER)
        screen = await open_stats(pilot)
        screen.query_one("#from").value = "2026-09-28"
        screen.query_one("#to").value = "2026-09-28"
        await wait_for(pilot, lambda: screen.view.report.date_from == "2026-09-28"
                       and screen.view.report.date_to == "2026-09-28")
        assert screen.query_one("#period").value == "custom"
        assert screen.view.report.total.received == 6
        loads = screen.loads
        screen.query_one("#by").value = "operator"
        await wait_for(pilot, lambda: screen.loads > loads and screen.view.report.by == "operator")
        assert [g.received for g in screen.view.report.groups] == [6]
        screen.query_one("#to").value = "2026-09-31"
        await wait_for(pilot, lambda: "不存在" in shown(screen.query_one("#totals")))
        screen.query_one("#to").value = "2026-09-01"
        await wait_for(pilot, lambda: "结束日期不能早于开始日期" in shown(screen.query_one("#totals")))


async def test_export_and_print_the_monthly_report(stats_world: World, catalog) -> None:
    app = stats_world.app("t", catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, REVIEWER)
        screen = await open_stats(pilot)
        loads = screen.loads
        screen.query_one("#period").value = "last"
        await wait_for(pilot, lambda: screen.loads > loads and screen.view.report.date_from == "2026-09-01")
        screen.query_one("#figures").focus()
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: screen.last_export is not None)
        xlsx = screen.last_export
        assert xlsx.parent == stats_world.homes["t"] / "exports" and xlsx.suffix == ".xlsx"
        ws = load_workbook(xlsx).active
        assert ws.cell(2, 1).value == "分组" and ws.cell(ws.max_row, 2).value == 6
        assert ws.cell(ws.max_row, 4).value == 0       # September: received, not yet completed
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: screen.last_export.suffix == ".csv")
        assert "按时办结率" in screen.last_export.read_text(encoding="utf-8-sig")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: screen.last_print is not None, timeout=30)
        pdf = screen.last_print.path
        assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")
        assert screen.last_print.kind == "monthly"


def test_daily_series_is_zero_filled() -> None:
    from station.stats import Figures, StatsReport

    report = StatsReport("2026-09-01", "2026-09-05", "2026-09-05", None, Figures("all", "合计"), [],
                         [("2026-09-02", 3), ("2026-09-05", 1)])
    assert daily_series(report) == [0, 3, 0, 0, 1]
    assert bar(0, 5, 10) == "" and bar(5, 5, 10) == "█" * 10 and bar(1, 16, 2) == "▏"
