"""Helpers for the TUI tests: a demo station built once per session, copied per test, a fixed clock."""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path
from typing import Any, Awaitable, Callable

from station.demo import create_demo
from station.testing import FixedClock

TODAY = date(2026, 9, 21)
NOW = datetime(2026, 9, 21, 10, 0)
AGENT = ("王小红", "demo1234")
ADMIN = ("李建国", "admin1234")


def Clock(now: datetime = NOW) -> FixedClock:
    """The TUI tests' clock: the one FixedClock, set to the demo's day."""
    return FixedClock(now)


def build_demo(root: Path) -> Path:
    home = root / "demo-template"
    if not home.exists():
        create_demo(home, today=TODAY)
    return home


def copy_home(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest)
    return dest


async def wait_for(pilot: Any, condition: Any, timeout: float = 30.0) -> None:
    """Let workers finish: pause until ``condition()`` holds (fails the test after ``timeout`` seconds
    of wall time; generous because a loaded 2-core CI machine runs thread workers late)."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        await pilot.pause(0.05)
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")


async def type_fields(pilot: Any, *texts: str, submit: bool = True) -> None:
    """Type into consecutive fields the way an operator does, text then Enter, waiting after each Enter
    that moves on for the focus to leave the field: on a loaded machine the next keys can otherwise
    be dispatched before the Enter's focus move is handled, and land in the field just left.
    ``submit=False`` leaves the last text without an Enter."""
    for i, text in enumerate(texts):
        last = i == len(texts) - 1
        before = pilot.app.focused
        await pilot.press(*text)
        if not last or submit:
            await pilot.press("enter")
        if not last:
            await wait_for(pilot, lambda: pilot.app.focused is not before)


async def log_in(pilot: Any, who: tuple[str, str] = AGENT) -> None:
    from station.tui.screens.home import HomeScreen
    from station.tui.screens.login import LoginScreen

    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LoginScreen))
    screen = pilot.app.screen
    # The operator list loads in a worker and may fill the name box and move the focus when it lands;
    # and a key typed right after Enter can reach the name box before Enter's focus move is handled
    # on a loaded machine. So wait for the load, fill both boxes, and submit from the password box.
    # (tests/tui/test_tui_login.py types into the boxes key by key.)
    await wait_for(pilot, lambda: text_of(screen.query_one("#station-name")) != "")
    screen.query_one("#operator").value = who[0]
    password = screen.query_one("#password")
    password.value = who[1]
    password.focus()
    await wait_for(pilot, lambda: pilot.app.focused is password)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HomeScreen))
    await wait_for(pilot, lambda: text_of(pilot.app.screen.query_one("#title")).startswith("首页"))
    await pilot.pause(0.1)


def text_of(widget: Any) -> str:
    """The plain text a Static shows (str or rich Text content)."""
    content = widget.content
    return content.plain if hasattr(content, "plain") else str(content)


async def settle(pilot: Any) -> None:
    """Workers done, the screen repainted, toasts gone: a stable frame for a snapshot."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.1)
    # a screen mounted late (loaded machine) starts its workers after the first wait: wait again
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.05)
    pilot.app.clear_notifications()
    # A blinking cursor is in either phase when a loaded machine takes the picture: hold it visible
    for box in pilot.app.screen.query("Input, TextArea"):
        box.cursor_blink = False
    await pilot.pause(0.05)


def snapshot(snap_compare: Callable[..., bool], app: Any, size: tuple[int, int],
             steps: Callable[[Any], Awaitable[None]]) -> None:
    """Assert the snapshot of ``app`` at ``size`` after ``steps`` (pytest-textual-snapshot)."""
    async def run_before(pilot: Any) -> None:
        await steps(pilot)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def sync_from_screen(pilot: Any, timeout: float = 60.0) -> Any:
    """From 首页 open 同步, press 立即同步 and wait until the run has ended; returns the sync screen."""
    from station.tui.screens.sync import SyncScreen

    app = pilot.app
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, SyncScreen))
    screen = app.screen
    await pilot.pause(0.2)
    await pilot.press("s")
    await wait_for(pilot, lambda: screen.last_summary is not None and not screen.busy, timeout=timeout)
    return screen
