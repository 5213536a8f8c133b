"""Snapshots of every screen at 80×24 and 120×40 (pytest-textual-snapshot).

Deterministic: a demo station built for a fixed day, the store's clock fixed, and the saved-case
screen fed a fixed FiledCase (a real save draws a random query password). Review a changed
snapshot like code: `pytest tests/tui/test_tui_snapshots.py --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from station import lifecycle
from station.cases import CaseReader, FiledCase
from station.store import Store
from station.tui.app import StationApp
from station.tui.screens.case import CaseScreen
from station.tui.screens.intake import IntakeScreen
from station.tui.screens.login import LoginScreen
from station.tui.screens.result import ResultScreen
from station.tui.screens.search import SearchScreen
from station.tui.screens.setup import SetupScreen
from station.tui.screens.sync import SyncScreen
from tests.support.tui import (ADMIN, Clock, TODAY, log_in, snapshot, text_of, type_fields,
                        wait_for)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


def _app(home: Path, catalog: Any) -> StationApp:
    return StationApp(home, clock=Clock(), catalog=catalog)


@pytest.mark.parametrize("size", SIZES)
def test_setup_screen(snap_compare, tmp_path: Path, catalog, size) -> None:
    async def steps(pilot: Any) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SetupScreen))

    snapshot(snap_compare, _app(tmp_path / "new", catalog), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_login_screen(snap_compare, demo_home: Path, catalog, size) -> None:
    async def steps(pilot: Any) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, LoginScreen))
        await wait_for(pilot, lambda: text_of(pilot.app.screen.query_one("#station-name")) != "")

    snapshot(snap_compare, _app(demo_home, catalog), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_home_screen(snap_compare, demo_home: Path, catalog, size) -> None:
    snapshot(snap_compare, _app(demo_home, catalog), size, log_in)


@pytest.mark.parametrize("size", SIZES)
def test_intake_item_step(snap_compare, demo_home: Path, catalog, size) -> None:
    async def steps(pilot: Any) -> None:
        await log_in(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, IntakeScreen) and pilot.app.screen.catalog)
        await pilot.press(*"gljt")

    snapshot(snap_compare, _app(demo_home, catalog), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_intake_applicant_step(snap_compare, demo_home: Path, catalog, size) -> None:
    async def steps(pilot: Any) -> None:
        await log_in(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, IntakeScreen) and pilot.app.screen.catalog)
        await pilot.press(*"gljt", "enter")
        await wait_for(pilot, lambda: getattr(pilot.app.focused, "id", "") == "a-name")
        await type_fields(pilot, "张秀英", "11010519491231002X", submit=False)

    snapshot(snap_compare, _app(demo_home, catalog), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_search_screen(snap_compare, demo_home: Path, catalog, size) -> None:
    async def steps(pilot: Any) -> None:
        await log_in(pilot)
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SearchScreen) and pilot.app.screen.searches_done)

    snapshot(snap_compare, _app(demo_home, catalog), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_case_screen(snap_compare, demo_home: Path, catalog, size) -> None:
    with Store.open(demo_home) as store:
        number = CaseReader(store, TODAY).list(status=lifecycle.APPROVED, limit=1)[0].number

    async def steps(pilot: Any) -> None:
        await log_in(pilot)
        pilot.app.open_case(number)
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CaseScreen) and pilot.app.screen.view)

    snapshot(snap_compare, _app(demo_home, catalog), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_result_screen(snap_compare, demo_home: Path, catalog, size) -> None:
    filed = FiledCase("421381105201-260921-0001-3", "382916", "2026-10-26", False, (), ("hukou_book",))

    async def steps(pilot: Any) -> None:
        await log_in(pilot)
        pilot.app.push_screen(ResultScreen(filed, "高龄津贴申领"))
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultScreen))

    snapshot(snap_compare, _app(demo_home, catalog), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_sync_screen(snap_compare, demo_home: Path, catalog, size) -> None:
    async def steps(pilot: Any) -> None:
        await log_in(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SyncScreen))
        # The status is read in a worker started on mount: on a loaded machine the screen can be up
        # before that worker exists, so waiting for workers alone could photograph the loading line.
        await wait_for(pilot, lambda: text_of(pilot.app.screen.query_one("#sync-status")) != "正在读取同步状态……")

    snapshot(snap_compare, _app(demo_home, catalog), size, steps)


@pytest.mark.parametrize("size", SIZES)
def test_settings_screen(snap_compare, demo_home: Path, catalog, size) -> None:
    async def steps(pilot: Any) -> None:
        await log_in(pilot, ADMIN)
        await pilot.press("c")
        await wait_for(pilot, lambda: pilot.app.screen.__class__.__name__ == "SettingsScreen")
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#s-name").value != "")

    snapshot(snap_compare, _app(demo_home, catalog), size, steps)
