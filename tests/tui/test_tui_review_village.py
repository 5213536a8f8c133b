"""Decisions arriving at the village: shown on 首页 at once with the matching notice offered, printed
from there; the case screen shows the decision; a decision that lost to an earlier one is 已被取代."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from station.operators import add_operator, get_operator, os_account
from station.review import Decision, decide
from station.store import Store
from station.tui.screens.case import CaseScreen
from station.tui.screens.home import HomeScreen
from tests.support.tui import log_in, wait_for
from tests.tui.test_tui_review import AGENT, REVIEWER, World, make_world, shown

VILLAGE_ITEM = "RS-SBKMM-001"  # decided at the village


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def township_decides(world: World, number: str, *decisions: Decision, key: str = "t") -> None:
    with world.open(key) as t:
        reviewer = get_operator(t, REVIEWER[0])
        for d in decisions:
            decide(t, number, d, reviewer)


def select_row(table: DataTable, key: str) -> None:
    rows = [str(k.value) for k in table.rows]
    assert key in rows, (key, rows)
    table.focus()
    table.move_cursor(row=rows.index(key))


async def test_decisions_arrive_on_home_and_the_notice_is_printed(world: World, catalog) -> None:
    approved, corrected, refused, waiting = (world.file("v1", catalog, seed) for seed in (1, 2, 3, 4))
    world.ship("v1", "t")
    township_decides(world, approved, Decision("accept"), Decision("approve", certificate="暂停2026第3号"))
    township_decides(world, corrected, Decision("correct", reason="复印件不清晰", materials=("id_card",)))
    township_decides(world, refused, Decision("refuse", reason="不属于本镇受理范围"))
    township_decides(world, waiting, Decision("accept"))  # accepted: nothing to print, not listed
    world.ship("t", "v1")
    app = world.app("v1", catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, AGENT)
        home = app.screen
        assert isinstance(home, HomeScreen)
        await wait_for(pilot, lambda: len(home.arrivals) == 3)
        kinds = {a.case.number: (a.kind, a.title) for a in home.arrivals}
        assert kinds == {approved: ("result", "办结通知书"), corrected: ("correction", "补正通知书"),
                         refused: ("refusal", "不予受理告知书")}
        table = home.query_one("#arrivals", DataTable)
        assert table.display and app.focused is table  # the first thing to deal with
        assert home.check_action("print_arrival", ()) is True

        select_row(table, approved)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PrintDialog")
        await pilot.press("enter")  # the first choice: the matching notice
        await wait_for(pilot, lambda: home.last_print is not None, timeout=30)
        result = home.last_print
        assert result.kind == "result" and result.path.is_file() and result.path.read_bytes().startswith(b"%PDF")
        assert result.path.is_relative_to(world.homes["v1"] / "prints")
        await wait_for(pilot, lambda: {a.case.number for a in home.arrivals} == {corrected, refused})

        select_row(table, corrected)
        await pilot.press("p")  # the same from the footer key
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PrintDialog")
        await pilot.press("enter")
        await wait_for(pilot, lambda: home.last_print.kind == "correction", timeout=30)
        await wait_for(pilot, lambda: [a.case.number for a in home.arrivals] == [refused])

        # "打开办件详情": the case screen shows the decision prominently.
        select_row(table, refused)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PrintDialog")
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CaseScreen) and app.screen.view is not None)
        box = shown(app.screen.query_one("#decision"))
        assert "不予受理" in box and "不属于本镇受理范围" in box and REVIEWER[0] in box and "示范镇" in box
        assert "2026-09-28" in box
    with Store.open(world.homes["v1"]) as store:  # printed = recorded, like any print
        kinds = {e.body["kind"] for e in store.iter_events("type='notice.printed'")}
        assert kinds == {"result", "correction"}


async def test_a_decision_that_lost_is_shown_superseded(world: World, catalog) -> None:
    """Two offices decide the same case offline. A village-level item: the village's admin refuses
    it at the counter while the township, offline, accepts it. When the township's acceptance
    arrives the case has moved on: it is kept in the log, not applied, and marked 已被取代."""
    with world.open("v1") as store:
        admin = add_operator(store, "李站长", "admin", "secret123", os_account())
    number = world.file("v1", catalog, 5, item=VILLAGE_ITEM)
    world.ship("v1", "t")
    with world.open("v1") as store:
        decide(store, number, Decision("refuse", reason="材料不齐"), admin)
    township_decides(world, number, Decision("accept"))
    world.ship("t", "v1")
    app = world.app("v1", catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, AGENT)
        app.open_case(number)
        await wait_for(pilot, lambda: isinstance(app.screen, CaseScreen) and app.screen.view is not None)
        screen = app.screen
        assert screen.view.case.status == "not_accepted"
        timeline = screen.query_one("#timeline", DataTable)
        labels = [str(timeline.get_row(k)[2]) for k in timeline.rows]
        assert "受理 已被取代" in labels
        assert "不予受理" in labels  # the decision that stands, unmarked
        assert sum("已被取代" in label for label in labels) == 1
        assert "材料不齐" in shown(screen.query_one("#decision"))
