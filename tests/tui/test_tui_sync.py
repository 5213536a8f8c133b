"""The sync screen against the real gateway on 127.0.0.1: progress shown, outbox acknowledged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from station.cases import CaseReader
from station.store import Store
from station.tui.app import StationApp
from station.tui.screens.dialogs import FolderDialog
from station.tui.screens.sync import SyncScreen
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.gateway.testing import file_cases, make_platform, make_station
from tests.support.tui import log_in, sync_from_screen, text_of, wait_for
from tests.support import VILLAGE



@pytest.fixture
def village_online(tmp_path: Path):
    platform_home, keys = make_platform(tmp_path)
    with Platform.open(platform_home) as platform, ServerThread(platform) as server:
        home = make_station(tmp_path, platform_home, keys, VILLAGE, "village", server.url)
        with Store.open(home) as store:
            file_cases(store, 3)
        yield home



async def stick_through_dialog(pilot: Any, screen: Any, key: str, stick: Path) -> None:
    """On the sync screen: e (export) or i (import) through the folder dialog, until the work is done."""
    app = pilot.app
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, FolderDialog))
    app.screen.query_one("#folder").value = str(stick)
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: app.screen is screen and not screen.busy, timeout=60)

async def test_sync_now_from_the_sync_screen(village_online: Path, catalog) -> None:
    app = StationApp(village_online, catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, ("王小红", "secret123"))
        screen = await sync_from_screen(pilot)
        assert screen.query_one("#sync-progress").display  # the bar was put up for the run
        assert screen.progress_seen, "no progress reported"
        assert screen.last_summary is not None and screen.last_summary.ok, screen.last_summary
        assert "同步完成" in text_of(screen.query_one("#sync-result"))
        assert screen.query_one("#sync-progress").percentage == 1.0
    with Store.open(village_online) as store:
        assert {c.sync_state for c in CaseReader(store).list()} == {"acknowledged"}


async def test_sync_failure_is_explained_in_chinese(tmp_path: Path, catalog) -> None:
    platform_home, keys = make_platform(tmp_path)
    home = make_station(tmp_path, platform_home, keys, VILLAGE, "village", "http://127.0.0.1:9")  # nothing listens
    with Store.open(home) as store:
        file_cases(store, 1)
    app = StationApp(home, catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, ("王小红", "secret123"))
        screen = await sync_from_screen(pilot, timeout=90)
        result = text_of(screen.query_one("#sync-result"))
        assert not screen.last_summary.ok
        assert "办件都已保存在本机" in result and "Traceback" not in result


async def test_usb_export_and_import_from_the_sync_screen(tmp_path: Path, catalog) -> None:
    """No network: export to a folder from the screen, the platform imports it, the acks come back."""
    from sync.gateway.usb_import import platform_import

    platform_home, keys = make_platform(tmp_path)
    home = make_station(tmp_path, platform_home, keys, VILLAGE, "village", "")
    with Store.open(home) as store:
        file_cases(store, 3)
        last = store.last_local_seq()
    stick = tmp_path / "U盘" / "同步"
    app = StationApp(home, catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, ("王小红", "secret123"))
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SyncScreen))
        screen = app.screen

        async def through_dialog(key: str) -> None:
            await stick_through_dialog(pilot, screen, key, stick)

        await through_dialog("e")
        assert "导出" in text_of(screen.query_one("#sync-result"))
        assert any(stick.glob("*")), "nothing written to the stick"
        with Platform.open(platform_home) as platform:
            platform_import(platform, stick)
        await through_dialog("i")
        assert "导入" in text_of(screen.query_one("#sync-result"))
    with Store.open(home) as store:
        assert int(store.meta_get("sync.acked_seq")) >= last  # the filings and the TUI's own login event
        assert {c.sync_state for c in CaseReader(store).list()} == {"acknowledged"}


async def test_a_restored_usb_station_is_told_on_the_sync_screen_to_catch_up_first(tmp_path: Path, catalog) -> None:
    """A home restored from a backup: the screen's export says it cuts nothing until the stick went to the
    platform and back; the import after that shows what the catch-up brought back (sync/usb_catchup.py)."""
    from station.backup import backup_station, restore_station
    from station.operators import get_operator
    from station.testing import TEST_ADMIN
    from sync.gateway.usb_import import platform_import
    from sync.usb import export, import_

    platform_home, keys = make_platform(tmp_path)
    home = make_station(tmp_path, platform_home, keys, VILLAGE, "village", "")
    stick = tmp_path / "U盘"

    def round_trip() -> None:
        with Store.open(home) as store:
            export(store, stick)
        with Platform.open(platform_home) as platform:
            platform_import(platform, stick)
        with Store.open(home) as store:
            import_(store, stick)

    with Store.open(home) as store:
        file_cases(store, 2)
        info = backup_station(store, tmp_path, "备份口令-2026-村", get_operator(store, TEST_ADMIN))
        file_cases(store, 2)
    round_trip()
    new = tmp_path / "new-pc"
    restore_station(Path(info.path), new, "备份口令-2026-村")
    app = StationApp(new, catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, ("王小红", "secret123"))
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SyncScreen))
        screen = app.screen

        async def through_dialog(key: str) -> None:
            await stick_through_dialog(pilot, screen, key, stick)

        await through_dialog("e")
        text = text_of(screen.query_one("#sync-result"))
        assert "没有导出新数据" in text and "catchup_pending" in text and "不会丢失" in text
        with Platform.open(platform_home) as platform:
            platform_import(platform, stick)
        await through_dialog("i")
        assert "已从平台取回本机已上报" in text_of(screen.query_one("#sync-result"))
