"""The idle lock on the shared PC: after the 设置 minutes without a key or mouse event the session locks
behind the login screen. The same operator comes back to exactly where they were; another operator
starts at 首页 and the first one's draft stays theirs. The clock is injected: no test waits minutes."""

from __future__ import annotations

from pathlib import Path

from textual import events

from station import events as ev
from station.home import update_config
from station.store import Store
from station.tui import drafts
from station.tui.app import StationApp
from station.tui.screens.home import HomeScreen
from station.tui.screens.intake import IntakeScreen
from station.tui.screens.login import LoginScreen
from tests.support.tui import ADMIN, AGENT, Clock, log_in, text_of, type_fields, wait_for


class IdleClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def start_intake(pilot) -> IntakeScreen:
    await log_in(pilot)
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, IntakeScreen) and pilot.app.screen.catalog is not None)
    screen = pilot.app.screen
    await pilot.press(*"gljt", "enter")  # 高龄津贴申领
    await wait_for(pilot, lambda: screen.state["step"] == 1)
    await type_fields(pilot, "张秀英", submit=False)
    await wait_for(pilot, lambda: screen.state["applicant"].get("name") == "张秀英")
    return screen


async def locked_screen(pilot) -> LoginScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LoginScreen) and pilot.app.screen.query("#password"))
    return pilot.app.screen


async def unlock(pilot, password: str) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, LoginScreen)
    box = screen.query_one("#password")
    await wait_for(pilot, lambda: pilot.app.focused is box)
    await pilot.press(*password, "enter")


async def idle_past_the_limit(pilot, idle: IdleClock) -> LoginScreen:
    """Let a minute pass without input (the apps here lock after 60 s) and wait for the lock screen."""
    idle.advance(61)
    pilot.app.check_idle_lock()
    return await locked_screen(pilot)


def lock_events(home: Path) -> list:
    with Store.open(home, clock=Clock()) as store:
        return [e for e in store.iter_events() if e.type == ev.OPERATOR_LOCKED]


async def test_same_operator_returns_to_the_intake_in_progress(demo_home: Path, catalog) -> None:
    idle = IdleClock()
    app = StationApp(demo_home, clock=Clock(), catalog=catalog, idle_lock_after=60, idle_clock=idle)
    async with app.run_test(size=(80, 24)) as pilot:
        intake = await start_intake(pilot)
        stack = list(app.screen_stack)
        # Typing keeps the session open: the idle time counts from the last key.
        idle.advance(50)
        await pilot.press("space", "backspace")
        idle.advance(50)
        app.check_idle_lock()
        assert app.screen is intake and app.locked is None
        idle.advance(11)
        app.check_idle_lock()
        lock = await locked_screen(pilot)
        assert app.locked is not None and app.locked.name == AGENT[0]
        assert lock.query_one("#operator").value == AGENT[0]
        assert "已自动锁定：1 分钟无操作，请重新输入密码" in text_of(lock.query_one("#message"))
        # The draft was written before the lock screen appeared (no 0.4 s debounce to wait for).
        store = app.session.require_store()
        draft = drafts.load_draft(demo_home, store.codec, AGENT[0])
        assert draft is not None and draft["applicant"]["name"] == "张秀英"
        # Keys go to the lock screen, never to the intake under it.
        await wait_for(pilot, lambda: app.focused is lock.query_one("#password"))
        await pilot.press(*"wrong1", "enter")
        await wait_for(pilot, lambda: "用户名或密码错误" in text_of(lock.query_one("#message")))
        assert isinstance(app.screen, LoginScreen) and intake.state["applicant"]["name"] == "张秀英"
        await unlock(pilot, AGENT[1])
        await wait_for(pilot, lambda: app.screen is intake)
        assert app.screen_stack == stack and app.locked is None
        assert intake.state["step"] == 1 and intake.query_one("#a-name").value == "张秀英"
        assert app.session.operator is not None and app.session.operator.name == AGENT[0]
        await wait_for(pilot, lambda: len(lock_events(demo_home)) == 1)
    (event,) = lock_events(demo_home)
    assert event.operator == AGENT[0]


async def test_another_operator_starts_at_home_and_the_draft_stays_sealed(demo_home: Path, catalog) -> None:
    idle = IdleClock()
    app = StationApp(demo_home, clock=Clock(), catalog=catalog, idle_lock_after=60, idle_clock=idle)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_intake(pilot)
        lock = await idle_past_the_limit(pilot, idle)
        await wait_for(pilot, lambda: text_of(lock.query_one("#station-name")) != "")
        lock.query_one("#operator").value = ADMIN[0]
        await unlock(pilot, ADMIN[1])
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and len(app.screen_stack) == 2)
        assert not any(isinstance(s, (IntakeScreen, LoginScreen)) for s in app.screen_stack)
        assert app.session.operator is not None and app.session.operator.name == ADMIN[0]
        await wait_for(pilot, lambda: text_of(app.screen.query_one("#title")).startswith("首页"))
        store = app.session.require_store()
        assert drafts.load_draft(demo_home, store.codec, ADMIN[0]) is None
        draft = drafts.load_draft(demo_home, store.codec, AGENT[0])
        assert draft is not None and draft["applicant"]["name"] == "张秀英"


async def test_navigation_asked_for_while_locked_waits_for_the_unlock(demo_home: Path, catalog) -> None:
    """A worker answering a screen under the lock (a save that opens its result, a dialog closing) must
    not replace or close the lock screen; it happens once the same operator is back."""
    idle = IdleClock()
    app = StationApp(demo_home, clock=Clock(), catalog=catalog, idle_lock_after=60, idle_clock=idle)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_intake(pilot)
        await idle_past_the_limit(pilot, idle)
        app.back()  # what the intake's leave does
        app.open("search")
        await pilot.pause(0.1)
        assert isinstance(app.screen, LoginScreen)
        await unlock(pilot, AGENT[1])
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SearchScreen")
        assert [type(s).__name__ for s in app.screen_stack[1:]] == ["HomeScreen", "SearchScreen"]


async def test_the_timer_locks_by_the_setting_and_zero_never_locks(demo_home: Path, catalog) -> None:
    update_config(demo_home, idle_lock_minutes=0)
    idle = IdleClock()
    app = StationApp(demo_home, clock=Clock(), catalog=catalog, idle_clock=idle)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        assert app.idle_lock_seconds() == 0
        idle.advance(24 * 3600)
        app.check_idle_lock()
        await pilot.pause(0.1)
        assert isinstance(app.screen, HomeScreen)
        app.session.require_store().config = update_config(demo_home, idle_lock_minutes=15)
        assert app.idle_lock_seconds() == 15 * 60
        # A mouse move counts as activity too (sent the way the terminal driver sends it: to the app;
        # Pilot.hover hands mouse events to the screen directly).
        app.post_message(events.MouseMove(None, 5, 5, 1, 1, 0, False, False, False, screen_x=5, screen_y=5))
        await wait_for(pilot, lambda: app.last_input == idle.now)
        idle.advance(15 * 60 - 1)
        app.check_idle_lock()
        await pilot.pause(0.1)
        assert isinstance(app.screen, HomeScreen)
        idle.advance(1)
        app.check_idle_lock()
        await locked_screen(pilot)
        assert "15 分钟无操作" in text_of(app.screen.query_one("#message"))


async def test_the_interval_timer_does_the_locking(demo_home: Path, catalog) -> None:
    """No manual check: the app's own interval notices the idle time (0.1 s checks for a 0.4 s lock)."""
    idle = IdleClock()
    app = StationApp(demo_home, clock=Clock(), catalog=catalog, idle_lock_after=0.4, idle_clock=idle)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)  # the idle clock stands still: nothing locks while logging in
        assert isinstance(app.screen, HomeScreen)
        idle.advance(1)
        await wait_for(pilot, lambda: isinstance(app.screen, LoginScreen))
        assert app.locked is not None


def test_the_setting_is_checked_once_for_every_face(demo_home: Path) -> None:
    from station.home import read_config
    from station.settings import IDLE_LOCK_RULE, parse_idle_lock, save_local

    assert parse_idle_lock("") == (15, [])
    assert parse_idle_lock(" 0 ") == (0, [])
    assert parse_idle_lock("240") == (240, [])
    for bad in ("241", "-1", "1.5", "十五"):
        value, problems = parse_idle_lock(bad)
        assert value is None and [p.message for p in problems] == [IDLE_LOCK_RULE]
    config = read_config(demo_home)
    values = {"name": config.name, "sync_interval_minutes": "15", "paper_format": "a4", "printer_kind": "cups",
              "idle_lock_minutes": "30"}
    assert save_local(demo_home, values).idle_lock_minutes == 30
    assert read_config(demo_home).idle_lock_minutes == 30


async def test_a_toast_raised_while_locked_waits_for_the_same_operator(demo_home: Path, catalog) -> None:
    """Work under the lock screen ending with a toast ("已保存：张秀英…") must not show it to whoever stands
    at the PC; the operator sees it after unlocking, another operator never does."""
    idle = IdleClock()
    app = StationApp(demo_home, clock=Clock(), catalog=catalog, idle_lock_after=60, idle_clock=idle)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot)
        await idle_past_the_limit(pilot, idle)
        app.notify("已保存：张秀英的办件", title="保存")
        await pilot.press("ctrl+c")  # the operator's own key on the lock screen still answers
        await pilot.pause(0.1)
        shown = [n.message for n in app._notifications]
        assert "已保存：张秀英的办件" not in shown and any("Ctrl+Q" in m for m in shown)
        await unlock(pilot, AGENT[1])
        await wait_for(pilot, lambda: "已保存：张秀英的办件" in [n.message for n in app._notifications])
        lock = await idle_past_the_limit(pilot, idle)
        assert not list(app._notifications)  # cleared when locking
        app.notify("已保存：李桂兰的办件", title="保存")
        await wait_for(pilot, lambda: text_of(lock.query_one("#station-name")) != "")
        lock.query_one("#operator").value = ADMIN[0]
        await unlock(pilot, ADMIN[1])
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and len(app.screen_stack) == 2)
        await pilot.pause(0.1)
        assert "已保存：李桂兰的办件" not in [n.message for n in app._notifications]
