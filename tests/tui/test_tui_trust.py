"""The TUI face of issue 11: reveals are audited, a home without operators asks for the first
administrator, and an earlier applicant's full ID reaches the form only through an audited reveal."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from station import events as ev
from station.cases import CaseReader
from station.operators import list_operators
from station.setup import init_station
from station.store import Store
from station.testing import VILLAGE
from station.tui.app import StationApp
from station.tui.screens.first_admin import FirstAdminScreen
from station.tui.screens.login import LoginScreen
from tests.support.tui import AGENT, Clock, TODAY, log_in, text_of, type_fields, wait_for
from tests.tui.test_tui_case import open_case
from tests.tui.test_tui_intake import open_wizard


def shown(widget) -> str:
    """What a Static shows, rendered as plain text (its content may be a rich Table grid)."""
    console = Console(width=200, color_system=None)
    with console.capture() as cap:
        console.print(widget.content)
    return cap.get()


def reveals(home: Path) -> list[ev.Event]:
    with Store.open(home) as store:
        return [e for e in store.iter_events() if e.type == ev.PII_REVEALED]


async def test_reveal_key_shows_the_id_in_full_and_records_who_looked(demo_home: Path, catalog) -> None:
    with Store.open(demo_home) as store:
        case = CaseReader(store, TODAY).list(limit=1)[0]
        full_id = case.reveal_id(store.codec)
    assert reveals(demo_home) == []
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        screen = await open_case(pilot, case.number)
        masked = shown(screen.query_one("#info"))
        assert full_id not in masked and full_id[-4:] in masked  # masked until asked
        await pilot.press("v")
        await wait_for(pilot, lambda: full_id in shown(screen.query_one("#info")))
        await wait_for(pilot, lambda: screen.view.case.timeline[-1].type == ev.PII_REVEALED)
        await pilot.press("v")
        await wait_for(pilot, lambda: full_id not in shown(screen.query_one("#info")))
    (event,) = reveals(demo_home)
    assert event.case_number == case.number and event.operator == AGENT[0]
    assert event.body["face"] == "tui" and "id_number" in event.body["fields"]


async def test_v_pressed_twice_while_the_first_reveal_is_under_way_records_one_look(demo_home: Path,
                                                                                      catalog) -> None:
    with Store.open(demo_home) as store:
        case = CaseReader(store, TODAY).list(limit=1)[0]
        full_id = case.reveal_id(store.codec)
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        screen = await open_case(pilot, case.number)
        with app.session.lock:  # the domain is busy (a slow disk): the first reveal has not answered yet
            await pilot.press("v")
            await pilot.pause(0.2)
            await pilot.press("v")
            await pilot.pause(0.2)
        await wait_for(pilot, lambda: full_id in shown(screen.query_one("#info")))
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert full_id in shown(screen.query_one("#info"))  # shown once, not shown-then-hidden
    assert len(reveals(demo_home)) == 1


async def test_a_home_without_operators_opens_on_creating_the_first_admin(tmp_path: Path, catalog) -> None:
    home = tmp_path / "village"
    init_station(home, VILLAGE, "测试村便民服务站", "village")  # `station init` without --admin
    app = StationApp(home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, FirstAdminScreen))
        app.screen.query_one("#admin").focus()
        await type_fields(pilot, "村管理员", "abc123", "abc124")
        await wait_for(pilot, lambda: "不一致" in text_of(app.screen.query_one("#problems")))
        app.screen.query_one("#password2").value = "abc123"
        app.screen.query_one("#password2").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        assert "村管理员" in text_of(app.screen.query_one("#message"))
        await log_in(pilot, ("村管理员", "abc123"))
    with Store.open(home) as store:
        assert [(o.name, o.role) for o in list_operators(store)] == [("村管理员", "admin")]


async def test_prefill_from_an_earlier_applicant_is_an_audited_reveal(demo_home: Path, catalog) -> None:
    with Store.open(demo_home) as store:
        case = CaseReader(store, TODAY).list(limit=1)[0]
        full_id = case.reveal_id(store.codec)
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(120, 40)) as pilot:
        intake = await open_wizard(pilot)
        await pilot.press(*"gljt", "enter")
        await wait_for(pilot, lambda: intake.state["step"] == 1)
        name_box = intake.query_one("#a-name")
        name_box.focus()
        await pilot.press(*case.applicant_name)
        intake.query_one("#a-address").focus()  # leaving the name box looks the name up
        await wait_for(pilot, lambda: bool(intake.known))
        assert reveals(demo_home) == []  # a masked list of namesakes reveals nothing
        assert full_id not in text_of(intake.query_one("#known"))
        await pilot.press("f4")
        await wait_for(pilot, lambda: intake.query_one("#a-id_number").value == full_id)
    (event,) = reveals(demo_home)
    assert event.body["purpose"] == "prefill" and event.body["face"] == "tui"
    assert set(event.body["fields"]) <= {"id_number", "phone"} and "id_number" in event.body["fields"]
