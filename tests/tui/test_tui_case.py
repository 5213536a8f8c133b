"""Find and case screens: search as you type, open a case, print, deliver, rate, materials, withdraw."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import RadioSet

from station import lifecycle
from station.cases import CaseReader, CaseRecord
from station.ratings import get_rating
from station.store import Store
from station.tui.app import StationApp
from station.tui.screens.case import CaseScreen
from station.tui.screens.search import SearchScreen
from tests.support.tui import ADMIN, Clock, TODAY, log_in, text_of, wait_for


def find(home: Path, **filters) -> CaseRecord:
    with Store.open(home) as store:
        found = CaseReader(store, TODAY).list(limit=200, **filters)
    assert found, filters
    return found[0]


async def open_case(pilot, number: str) -> CaseScreen:
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SearchScreen))
    search = pilot.app.screen
    await pilot.press(*number.split("-")[1])  # the filing date part: several cases
    await pilot.pause(0.2)
    pilot.app.screen.query_one("#q").value = number
    await wait_for(pilot, lambda: [c.number for c in search.last_results] == [number])
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CaseScreen) and pilot.app.screen.view is not None)
    return pilot.app.screen


async def test_search_as_you_type_and_open(demo_home: Path, catalog) -> None:
    target = find(demo_home, status=lifecycle.RECEIVED)
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen) and app.screen.searches_done >= 1)
        search = app.screen
        assert len(search.last_results) == 40  # everything (under one page), newest first
        await pilot.press(*target.applicant_name)
        await wait_for(pilot, lambda: search.last_results and all(
            target.applicant_name in c.applicant_name for c in search.last_results))
        assert target.number in [c.number for c in search.last_results]
        # Filters: status and a date range narrow the list; a bad date is explained, not a crash.
        await pilot.press("ctrl+r")
        app.screen.query_one("#dates").value = "2026-13-01"
        await wait_for(pilot, lambda: "日期" in text_of(search.query_one("#result-line")))
        app.screen.query_one("#dates").value = target.received_date
        await wait_for(pilot, lambda: search.last_results and all(
            c.received_date == target.received_date for c in search.last_results))
        app.screen.query_one("#dates").value = ""
        app.screen.query_one("#q").value = target.applicant_name
        await wait_for(pilot, lambda: target.number in [c.number for c in search.last_results])
        table = search.query_one("#results")
        await pilot.press("down")
        assert app.focused is table
        while table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value != target.number:
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CaseScreen) and app.screen.view is not None)
        assert app.screen.view.case.number == target.number
        assert app.screen.view.case.timeline[0].label == "收件"
        await pilot.press("escape")
        assert app.screen is search and search.query_one("#q").value == target.applicant_name  # kept


async def test_overdue_list_from_home(demo_home: Path, catalog) -> None:
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen) and app.screen.searches_done >= 1)
        assert app.screen.last_results and all(c.overdue for c in app.screen.last_results)


async def test_print_receipt_and_reprint_from_case_screen(demo_home: Path, catalog) -> None:
    target = find(demo_home, status=lifecycle.RECEIVED)
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        screen = await open_case(pilot, target.number)
        for attempt in range(2):
            await pilot.press("p")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PrintDialog")
            await pilot.press("enter")  # first entry: 受理回执
            await wait_for(pilot, lambda: getattr(screen, "last_print", None) is not None
                           and screen.last_print.reprint_count == attempt, timeout=30)
        result = screen.last_print
        assert result.kind == "receipt" and result.path.is_file()
        assert result.path.read_bytes().startswith(b"%PDF")
        assert result.path.is_relative_to(demo_home / "prints")
        await wait_for(pilot, lambda: any(t.label == "打印" for t in screen.view.case.timeline))


async def test_deliver_then_rate_with_detail_required_below_three(demo_home: Path, catalog) -> None:
    """The agent hands over the result (asking how many trips) and gives out the 评价卡; the agent
    cannot enter the rating of their own case; another operator enters it with its channel; a 回访
    is recorded."""
    target = find(demo_home, status=lifecycle.APPROVED)
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        screen = await open_case(pilot, target.number)
        await pilot.press("r")  # not delivered yet: no rating
        await pilot.pause(0.1)
        assert isinstance(app.screen, CaseScreen)
        await pilot.press("d")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "DeliverDialog")
        dialog = app.screen
        dialog.query_one("#trips").value = "2"
        await pilot.press("enter", "ctrl+s")
        await wait_for(pilot, lambda: screen.view.case.status == lifecycle.DELIVERED)
        assert screen.view.case.legal.trips == 2
        await pilot.press("p")  # the 评价卡 is on the print menu
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PrintDialog")
        options = app.screen.query_one("#kinds")
        assert "办事评价卡" in [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        await pilot.press("escape")
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RatingDialog")
        dialog = app.screen
        dialog.query_one("#detail").value = "等待时间太长"
        dialog.query_one("#channel").value = "纸质"
        await pilot.press("2", "ctrl+s")  # the agent who handled the case: refused, stays open
        await wait_for(pilot, lambda: "不能录入对自己的评价" in text_of(dialog.query_one(".problems")))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, CaseScreen))
        await pilot.press("escape", "escape")
        await pilot.pause(0.2)
        await pilot.press("l")
        await log_in(pilot, ADMIN)           # another operator enters the card
        screen = await open_case(pilot, target.number)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RatingDialog")
        dialog = app.screen
        # nothing is chosen in advance: saving at once records nothing and asks for the level and channel
        assert dialog.query_one(RadioSet).pressed_button is None
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "选择等级" in text_of(dialog.query_one(".problems"))
                       and "评价渠道" in text_of(dialog.query_one(".problems")))
        assert app.screen is dialog
        with Store.open(demo_home) as store:
            assert get_rating(store, target.number) is None
        await pilot.press("2", "ctrl+s")  # the channel still missing
        await wait_for(pilot, lambda: "选择等级" not in text_of(dialog.query_one(".problems"))
                       and "请选择评价渠道" in text_of(dialog.query_one(".problems")))
        dialog.query_one("#channel").value = "纸质"
        await pilot.press("ctrl+s")  # 不满意 without a detail: refused, stays open
        await wait_for(pilot, lambda: "必须写明具体意见" in text_of(dialog.query_one(".problems")))
        assert app.screen is dialog
        dialog.query_one("#detail").focus()
        await pilot.press(*"等待时间太长", "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, CaseScreen) and screen.view.rating is not None)
        await pilot.press("k")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RevisitDialog")
        dialog = app.screen
        await pilot.press("ctrl+s")  # no result: refused with what to write
        await wait_for(pilot, lambda: "回访结果" in text_of(dialog.query_one(".problems")))
        dialog.query_one("#result").value = "已解释原因，群众表示理解"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, CaseScreen)
                       and any(t.label == "回访" for t in screen.view.case.timeline))
    with Store.open(demo_home) as store:
        rating = get_rating(store, target.number)
        assert rating is not None and rating.level == 2 and rating.detail == "等待时间太长"
        assert rating.followup_due is not None and rating.channel == "纸质" and rating.entered_by == ADMIN[0]


async def test_material_brought_in_and_withdraw(demo_home: Path, catalog) -> None:
    waiting = find(demo_home, status=lifecycle.RECEIVED, waiting_materials=True)
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        screen = await open_case(pilot, waiting.number)
        await pilot.press("m")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MaterialsDialog")
        await pilot.press("space", "ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, CaseScreen)
                       and any(t.label == "补交容缺材料" for t in screen.view.case.timeline))
        await pilot.press("w")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ReasonDialog")
        dialog = app.screen
        await pilot.press("ctrl+s")  # no reason: refused with what to do
        await wait_for(pilot, lambda: "撤回原因" in text_of(dialog.query_one(".problems")))
        await pilot.press(*"申请人本人要求撤回", "enter")
        await wait_for(pilot, lambda: screen.view.case.status == lifecycle.WITHDRAWN)
        assert screen.check_action("withdraw", ()) is False  # no longer offered


async def test_hand_over_to_the_township_from_the_case_screen(demo_home: Path, catalog) -> None:
    with Store.open(demo_home) as store:
        target = next(c for c in CaseReader(store, TODAY).list(status=lifecycle.RECEIVED, limit=200)
                      if c.handling_level == "township" and not c.legal.handed_over_at)
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        screen = await open_case(pilot, target.number)
        assert screen.view.case.legal.handover_due is not None
        assert screen.check_action("handover", ()) is True
        await pilot.press("h")
        await wait_for(pilot, lambda: screen.view.case.legal.handed_over_at is not None)
        assert screen.check_action("handover", ()) is False   # recorded once
        assert any(t.label == "移交乡镇" for t in screen.view.case.timeline)
