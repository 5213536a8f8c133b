"""Keys pressed twice, or at the wrong moment: a dialog's Ctrl+S pressed again while the first is being
saved, Ctrl+Q with a keystroke not yet in the draft."""

from __future__ import annotations

from pathlib import Path

from station import lifecycle
from station.store import Store
from station.tui import drafts
from station.tui.app import StationApp
from station.tui.screens.case import CaseScreen
from station.tui.screens.dialogs import RevisitDialog
from tests.support.tui import Clock, log_in, wait_for
from tests.tui.test_tui_case import find, open_case
from tests.tui.test_tui_intake import open_wizard


async def test_a_dialog_saved_twice_records_once_and_keeps_the_case_open(demo_home: Path, catalog) -> None:
    """A slow disk: the operator presses Ctrl+S again before the first save came back. One 回访 is
    recorded, and the second answer does not close the case screen under the dialog."""
    number = find(demo_home, status=lifecycle.DELIVERED).number
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        case = await open_case(pilot, number)
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, RevisitDialog))
        app.screen.query_one("#result").value = "群众说已领到"
        with app.session.lock:  # the domain is busy (another write, a slow disk)
            await pilot.press("ctrl+s")
            await pilot.pause(0.2)
            await pilot.press("ctrl+s")
            await pilot.pause(0.2)
        await wait_for(pilot, lambda: not isinstance(app.screen, RevisitDialog))
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert app.screen is case and isinstance(case, CaseScreen)
    with Store.open(demo_home) as store:
        (n,) = store.conn.execute("SELECT count(*) FROM events WHERE case_number=? AND type='rating.revisited'",
                                  (number,)).fetchone()
    assert n == 1


async def test_ctrl_q_in_intake_keeps_what_was_just_typed(demo_home: Path, catalog) -> None:
    """Ctrl+Q says the draft is kept: so are the keys typed in the last moment before it."""
    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_wizard(pilot)
        await pilot.press(*"gljt", "enter")
        await wait_for(pilot, lambda: screen.state["step"] == 1)
        await pilot.press(*"张秀英")
        await pilot.press("ctrl+q")
    with Store.open(demo_home) as store:
        draft = drafts.load_draft(demo_home, store.codec, "王小红")
    assert draft is not None and draft["item_code"] == "MZ-GLJT-001"
    assert draft["applicant"]["name"] == "张秀英"


async def test_esc_while_an_intake_is_being_saved_waits_for_it(demo_home: Path, catalog) -> None:
    """Esc pressed while the 告知件 (or the case) is being saved: the wizard stays until the answer, and
    the answer does not then close 首页 under it (which left an empty screen with no keys)."""
    from tests.tui.test_tui_intake import review_without_the_form
    from station.tui.screens.home import HomeScreen
    from station.tui.screens.intake import IntakeScreen

    app = StationApp(demo_home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await review_without_the_form(pilot)
        with app.session.lock:  # the domain is busy: the save is under way
            await pilot.press("ctrl+g")
            await pilot.pause(0.2)
            await pilot.press("escape", "f8")
            await pilot.pause(0.2)
            assert app.screen is screen
        await wait_for(pilot, lambda: not isinstance(app.screen, IntakeScreen))
        await pilot.pause(0.3)
        assert isinstance(app.screen, HomeScreen)
        assert [type(s).__name__ for s in app.screen_stack][1:] == ["HomeScreen"]
