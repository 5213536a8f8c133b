"""The 审核 screens over real homes: a township and two villages, events moved the way sync moves them.

Every decision is made by keyboard on the township's review detail; refusals from the domain are
shown in Chinese in the form; duplicates are compared side by side and marked; a 差评 follow-up is
closed; decisions arrive at the village home with the notice to print; a superseded decision is
labelled in the timeline.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Label

from station import lifecycle
from station.cases import CaseReader, deliver, file_case
from station.operators import add_operator, get_operator, os_account
from station.ratings import get_rating, rate
from station.review import Decision, decide, find_duplicates
from station.sample_data import make_submission
from station.setup import init_station
from station.store import Store
from station.tui.app import StationApp
from station.tui.screens.home import HomeScreen
from station.tui.screens.review import TABS, ReviewScreen
from station.tui.screens.review_case import DecisionDialog, DuplicateScreen, ReviewCaseScreen
from tests.support.tui import log_in, text_of, wait_for
from tests.support import TOWNSHIP, VILLAGE, VILLAGE_2, FixedClock, ship

ITEM = "RS-CBZT-001"  # 城乡居民养老保险参保暂停: township level, promised 5 working days
REVIEWER = ("赵审核", "secret123")
AGENT = ("王小红", "secret123")
SAME_ID = "11010519491231002X"


def shown(widget: Any) -> str:
    """The text a Static shows, rendering rich tables (grids) the way the screen does."""
    from rich.console import Console

    content = widget.content
    if isinstance(content, str) or hasattr(content, "plain"):
        return text_of(widget)
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    console.print(content)
    return console.export_text()




@dataclass
class World:
    root: Path
    clock: FixedClock
    homes: dict[str, Path]

    def open(self, key: str) -> Store:
        return Store.open(self.homes[key], clock=self.clock)

    def app(self, key: str, catalog: Any) -> StationApp:
        return StationApp(self.homes[key], clock=self.clock, catalog=catalog)

    def ship(self, src: str, dst: str) -> None:
        with self.open(src) as a, self.open(dst) as b:
            ship(a, b)

    def file(self, key: str, catalog: Any, seed: int, item: str = ITEM, duplicate_reason: str | None = None,
             **kw: Any) -> str:
        with self.open(key) as store:
            data = make_submission(catalog.get(item), random.Random(seed), store.clock().date(), **kw)
            return file_case(store, catalog, item, data, os_account(), duplicate_reason=duplicate_reason).number


def make_world(root: Path, now: datetime = datetime(2026, 9, 28, 9, 0)) -> World:
    clock = FixedClock(now)
    homes = {}
    for key, code, role in (("v1", VILLAGE, "village"), ("v2", VILLAGE_2, "village"), ("t", TOWNSHIP, "township")):
        homes[key] = root / key
        init_station(homes[key], code, {"v1": "东风村便民服务站", "v2": "红旗村便民服务站",
                                        "t": "示范镇便民服务中心"}[key], role, clock=clock)
        with Store.open(homes[key], clock=clock) as store:
            if role == "township":
                add_operator(store, REVIEWER[0], "reviewer", REVIEWER[1], os_account())
            else:
                add_operator(store, AGENT[0], "agent", AGENT[1], os_account())
    return World(root, clock, homes)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def status_of(world: World, key: str, number: str) -> str:
    with world.open(key) as store:
        return CaseReader(store).get(number).status


async def open_review(pilot: Any, tab: str = "new") -> ReviewScreen:
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ReviewScreen) and pilot.app.screen.loads >= 1)
    screen = pilot.app.screen
    return await open_review_tab(pilot, screen, tab) if tab != "new" else screen


async def open_review_tab(pilot: Any, queue: ReviewScreen, tab: str) -> ReviewScreen:
    loads = queue.loads
    await pilot.press(str([k for k, _ in TABS].index(tab) + 1))
    await wait_for(pilot, lambda: queue.loads > loads and queue.view.tab == tab)
    return queue


async def open_row(pilot: Any, screen: ReviewScreen, number: str) -> None:
    table = screen.query_one("#queue")
    table.focus()
    rows = [str(k.value) for k in table.rows]
    assert number in rows, (number, rows)
    table.move_cursor(row=rows.index(number))
    await pilot.press("enter")


async def review_case(pilot: Any, queue: ReviewScreen, number: str) -> ReviewCaseScreen:
    await open_row(pilot, queue, number)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ReviewCaseScreen) and pilot.app.screen.view is not None)
    return pilot.app.screen


async def decide_by_keys(pilot: Any, screen: ReviewCaseScreen, key: str, *typed: str, expect: str) -> None:
    """Press the decision key, type into the form (strings are typed, 'tab'/'space' pressed), Ctrl+S."""
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DecisionDialog))
    for part in typed:
        if part in ("tab", "space", "down", "enter"):
            await pilot.press(part)
        else:
            await pilot.press(*part)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: pilot.app.screen is screen and screen.view.case.status == expect)


async def test_every_decision_by_keyboard(world: World, catalog) -> None:
    numbers = [world.file("v1", catalog, seed) for seed in range(1, 6)]
    world.ship("v1", "t")
    world.clock.set_day(date(2026, 9, 29))
    app = world.app("t", catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, REVIEWER)
        queue = await open_review(pilot)
        assert {c.number for c in queue.view.cases} == set(numbers)
        assert "新收件 5" in str(queue.query_one("#tab-new").label)

        # 1. 受理, then 办结 with a certificate number.
        screen = await review_case(pilot, queue, numbers[0])
        assert screen.check_action("decide", ("approve",)) is False  # not accepted yet: not offered
        await decide_by_keys(pilot, screen, "a", expect=lifecycle.ACCEPTED)
        await decide_by_keys(pilot, screen, "y", "暂停2026第7号", expect=lifecycle.APPROVED)
        assert screen.view.case.decision["certificate"] == "暂停2026第7号"
        assert "暂停2026第7号" in shown(screen.query_one("#decision"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: pilot.app.screen is queue and numbers[0] not in [c.number for c in queue.view.cases])

        # 2. 不予受理: without a reason the domain refuses, in Chinese, and the form stays open.
        screen = await review_case(pilot, queue, numbers[1])
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, DecisionDialog))
        dialog = app.screen
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "不予受理必须写明理由" in text_of(dialog.query_one(".problems")))
        assert app.screen is dialog
        await pilot.press(*"不属于本镇受理范围", "ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen and screen.view.case.status == lifecycle.NOT_ACCEPTED)
        assert screen.view.case.decision["reason"] == "不属于本镇受理范围"
        await pilot.press("escape")

        # 3. 补正: materials chosen with checkboxes, a reason; the promised clock stops.
        screen = await review_case(pilot, queue, numbers[2])
        first_material = screen.view.case.materials[0]
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, DecisionDialog))
        dialog = app.screen
        await pilot.press("ctrl+s")  # nothing chosen, no reason: every problem listed at once
        await wait_for(pilot, lambda: "必须选择需要补正的材料" in text_of(dialog.query_one(".problems"))
                       and "要求补正必须写明理由" in text_of(dialog.query_one(".problems")))
        await pilot.press("space", "tab", *"身份证复印件不清晰", "ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen and screen.view.case.status == lifecycle.CORRECTION_REQUESTED)
        requested = {m.key: m.status for m in screen.view.case.materials}
        assert requested[first_material.key] == "requested"
        # 10 working days from 9/29: 9/30, 10/8, 10/9, 10/10 (make-up Saturday), 10/12–10/16, 10/19
        assert screen.view.case.decision["due_date"] == "2026-10-19"
        await pilot.press("escape")

        # 4. 受理, then 不予批准 with a reason.
        screen = await review_case(pilot, queue, numbers[3])
        await decide_by_keys(pilot, screen, "a", expect=lifecycle.ACCEPTED)
        await decide_by_keys(pilot, screen, "j", "不符合暂停条件", expect=lifecycle.REJECTED)
        await pilot.press("escape")

        # 5. 受理, then 转报: the department is required.
        screen = await review_case(pilot, queue, numbers[4])
        await decide_by_keys(pilot, screen, "a", expect=lifecycle.ACCEPTED)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, DecisionDialog))
        dialog = app.screen
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "转报必须写明转报的机关" in text_of(dialog.query_one(".problems")))
        await pilot.press(*"社会保险", "ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen and screen.view.case.status == lifecycle.FORWARDED)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is queue and queue.view.cases == [])
    expected = [lifecycle.APPROVED, lifecycle.NOT_ACCEPTED, lifecycle.CORRECTION_REQUESTED, lifecycle.REJECTED,
                lifecycle.FORWARDED]
    assert [status_of(world, "t", n) for n in numbers] == expected
    with world.open("t") as store:  # the decisions are events by the logged-in reviewer
        by = {e.operator for n in numbers for e in store.case_events(n) if e.type.startswith("case.") and e.type != "case.filed"}
        assert by == {REVIEWER[0]}


async def test_a_correction_deadline_too_far_is_refused_in_the_form_and_nothing_typed_is_lost(
        world: World, catalog) -> None:
    number = world.file("v1", catalog, 11)
    world.ship("v1", "t")
    world.clock.set_day(date(2026, 9, 29))
    app = world.app("t", catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, REVIEWER)
        queue = await open_review(pilot)
        screen = await review_case(pilot, queue, number)
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, DecisionDialog))
        dialog = app.screen
        assert any("最长30个工作日" in text_of(label) for label in dialog.query(Label))
        await pilot.press("space", "tab", *"身份证复印件不清晰")
        dialog.query_one("#due").value = "2099-12-31"
        await pilot.press("ctrl+s")
        # 30 working days after 9/29: 9/30, 18 in October (10/10 a make-up Saturday), 11/2–11/16
        await wait_for(pilot, lambda: "最晚 2026-11-16" in text_of(dialog.query_one(".problems")))
        assert app.screen is dialog and dialog.query_one("#reason").value == "身份证复印件不清晰"
        assert status_of(world, "t", number) == lifecycle.RECEIVED   # nothing recorded
        dialog.query_one("#due").value = "2026-11-16"                  # the latest allowed date is taken
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen
                       and screen.view.case.status == lifecycle.CORRECTION_REQUESTED)
        assert screen.view.case.decision["due_date"] == "2026-11-16"


async def test_agent_at_township_gets_no_review_key(world: World, catalog) -> None:
    with world.open("t") as store:
        add_operator(store, "小李", "agent", "secret123", os_account())
    app = world.app("t", catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, ("小李", "secret123"))
        assert app.screen.check_action("review", ()) is False
        await pilot.press("r")
        await pilot.pause(0.2)
        assert isinstance(app.screen, HomeScreen)


async def test_filters_by_village_and_duplicates_side_by_side(world: World, catalog) -> None:
    a = world.file("v1", catalog, 6, id_number=SAME_ID)
    b = world.file("v2", catalog, 7, id_number=SAME_ID)
    c = world.file("v2", catalog, 8)
    world.ship("v1", "t")
    world.ship("v2", "t")
    app = world.app("t", catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, REVIEWER)
        queue = await open_review(pilot)
        assert {x.number for x in queue.view.cases} == {a, b, c}
        assert [code for _, code in queue.view.villages] == [VILLAGE, VILLAGE_2]
        loads = queue.loads
        queue.query_one("#village").value = VILLAGE_2
        await wait_for(pilot, lambda: queue.loads > loads and {x.number for x in queue.view.cases} == {b, c})
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: {x.number for x in queue.view.cases} == {a, b, c})

        queue = await open_review_tab(pilot, queue, "duplicates")
        assert {x.number for x in queue.view.cases} == {a, b}
        await open_row(pilot, queue, a)
        await wait_for(pilot, lambda: isinstance(app.screen, DuplicateScreen) and app.screen.view is not None)
        pair = app.screen
        left, right = shown(pair.query_one("#left")), shown(pair.query_one("#right"))
        assert a in left and b in right
        assert "1101**********002X" in left and SAME_ID not in left + right  # masked on screen
        assert "东风村" in left and "红旗村" in right
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is queue and queue.view.tab == "duplicates" and queue.view.cases == [])
    with world.open("t") as store:
        assert find_duplicates(store) == []
        assert CaseReader(store).get(a).duplicate_of == b and CaseReader(store).get(b).duplicate_of == a
    world.ship("t", "v1")  # the mark syncs back like a decision
    with world.open("v1") as store:
        assert CaseReader(store).get(a).duplicate_of == b


async def test_a_late_echo_of_the_filter_does_not_reload_under_the_cursor(world: World, catalog) -> None:
    """Refilling the filter options after a load posts Select.Changed messages that can arrive late on a
    busy PC; reloading for them cleared the table and put the cursor back on row 1 while the operator
    was choosing a row. Only a real change of filter reloads."""
    numbers = [world.file("v1", catalog, 6 + i) for i in range(3)]
    world.ship("v1", "t")
    app = world.app("t", catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, REVIEWER)
        queue = await open_review(pilot)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        table = queue.query_one("#queue")
        table.move_cursor(row=2)
        loads = queue.loads
        village = queue.query_one("#village")
        village.post_message(village.Changed(village, village.value))  # the echo, arriving late
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert queue.loads == loads and table.cursor_row == 2
        village.value = VILLAGE
        await wait_for(pilot, lambda: queue.loads > loads and {x.number for x in queue.view.cases} == set(numbers))


async def test_marked_not_duplicate_both_stay_open(world: World, catalog) -> None:
    a = world.file("v1", catalog, 6, id_number=SAME_ID)
    b = world.file("v1", catalog, 7, id_number=SAME_ID, duplicate_reason="代办员坚持再次收件（测试重复件）")
    world.ship("v1", "t")
    app = world.app("t", catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, REVIEWER)
        queue = await open_review(pilot, "duplicates")
        await open_row(pilot, queue, b)
        await wait_for(pilot, lambda: isinstance(app.screen, DuplicateScreen) and app.screen.view is not None)
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is queue and queue.view.tab == "duplicates" and queue.view.cases == [])
        assert queue.view.counts["new"] == 2
    with world.open("t") as store:
        assert find_duplicates(store) == []
        assert {CaseReader(store).get(n).status for n in (a, b)} == {lifecycle.RECEIVED}
        assert not CaseReader(store).get(a).duplicate_of


async def test_close_a_followup(world: World, catalog) -> None:
    a = world.file("v1", catalog, 6, id_number=SAME_ID)
    b = world.file("v1", catalog, 7, id_number=SAME_ID, duplicate_reason="代办员坚持再次收件（测试重复件）")
    world.ship("v1", "t")
    with world.open("t") as t:
        reviewer = get_operator(t, REVIEWER[0])
        decide(t, a, Decision("accept"), reviewer)
        decide(t, a, Decision("approve"), reviewer)
    world.ship("t", "v1")
    with world.open("v1") as v1:
        deliver(v1, a, "本人", True, os_account())
    world.ship("v1", "t")
    with world.open("t") as t:  # the 评价卡 is entered at the township, not by the agent being rated
        rate(t, a, 1, get_operator(t, REVIEWER[0]), detail="来回跑了三趟", channel="纸质")
    app = world.app("t", catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, REVIEWER)
        queue = await open_review(pilot)
        queue = await open_review_tab(pilot, queue, "followups")
        assert [x.number for x in queue.view.cases] == [a]
        screen = await review_case(pilot, queue, a)
        assert "来回跑了三趟" in shown(screen.query_one("#info"))
        await pilot.press("g")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "ReasonDialog")
        dialog = app.screen
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "整改情况" in text_of(dialog.query_one(".problems")))
        await pilot.press(*"已电话回访致歉，材料改为一次告知", "ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen and screen.view.rating.followup_closed_at is not None)
        assert screen.check_action("followup", ()) is False
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is queue and queue.view.cases == [])
    with world.open("t") as store:
        rating = get_rating(store, a)
        assert rating.followup_closed_at and "电话回访" in store.conn.execute(
            "SELECT followup_note FROM ratings WHERE case_number=?", (a,)).fetchone()[0]
        assert CaseReader(store).get(b).status == lifecycle.RECEIVED


async def test_the_duplicates_tab_lists_exactly_what_review_duplicates_lists(world: World, catalog) -> None:
    """One list on both faces (issue 15): at the township and at a village, for township- and
    village-level items, the 疑似重复 tab shows the cases of the CLI's pairs, no more, no fewer."""
    from click.testing import CliRunner

    from station.cli import main
    from station.operators import add_operator
    from station.testing import cli_login_env

    world.file("v1", catalog, 6, id_number=SAME_ID)
    world.file("v2", catalog, 7, id_number=SAME_ID)
    world.file("v1", catalog, 8, item="RS-SBKMM-001", id_number=SAME_ID)  # village level
    world.file("v1", catalog, 9, item="RS-SBKMM-001", id_number=SAME_ID, duplicate_reason="测试重复件")
    world.file("v1", catalog, 10, id_number=SAME_ID, duplicate_reason="测试重复件")  # township level, same village
    world.ship("v1", "t")
    world.ship("v2", "t")
    with world.open("v1") as store:
        add_operator(store, "村审核", "reviewer", "secret123", os_account())
    for key, who in (("t", REVIEWER), ("v1", ("村审核", "secret123"))):
        result = CliRunner().invoke(main, ["review", "duplicates", "--home", str(world.homes[key]), "--json"],
                                    env=cli_login_env(*who))
        listed = {n for pair in json.loads(result.stdout)["pairs"] for n in pair}
        assert listed, key
        app = world.app(key, catalog)
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in(pilot, who)
            queue = await open_review(pilot)
            queue = await open_review_tab(pilot, queue, "duplicates")
            assert {c.number for c in queue.view.cases} == listed, key
