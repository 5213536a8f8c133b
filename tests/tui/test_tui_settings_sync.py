"""设置 and 同步 for real offices (issue 15): a USB-only village loads the platform's key file from a
stick in 设置 and the sync screen says which mode it is in; errors stand under their field; the
interval set in 设置 drives an automatic sync while the UI is open; an empty township queue says where
cases come from; 首页 counts what is unsynced once, in cases."""

from __future__ import annotations

import shutil
from pathlib import Path

from station.cases import CaseReader
from station.setup import init_station
from station.store import Store
from station.testing import TEST_ADMIN, TEST_PASSWORD, TOWNSHIP, VILLAGE
from station.tui.app import StationApp
from station.tui.screens.home import HomeScreen
from station.tui.screens.review import ReviewScreen
from station.tui.screens.settings import SettingsScreen
from station.tui.screens.sync import SyncScreen
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.service import sync_status

from tests.support.tui import log_in, text_of, wait_for
from tests.tui.test_tui_trust import shown

ADMIN = (TEST_ADMIN, TEST_PASSWORD)


async def open_settings(pilot) -> SettingsScreen:
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SettingsScreen))
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.query_one("#s-name").value != "")
    return screen


async def test_a_usb_only_village_loads_the_platform_key_from_a_stick(tmp_path: Path, catalog) -> None:
    phome, keys = make_platform(tmp_path)
    stick = tmp_path / "usb"
    stick.mkdir()
    shutil.copy(keys, stick / "platform-keys.json")
    (stick / "notes.json").write_text('{"not": "keys"}', encoding="utf-8")  # other files on the stick
    home = tmp_path / "village"
    init_station(home, VILLAGE, "测试村便民服务站", "village", admin=ADMIN)
    app = StationApp(home, catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, ADMIN)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SyncScreen))
        await wait_for(pilot, lambda: "同步方式" in shown(app.screen.query_one("#sync-status")))
        assert "未配置" in shown(app.screen.query_one("#sync-status"))
        await pilot.press("escape")
        settings = await open_settings(pilot)
        settings.query_one("#s-platform_keys").value = str(stick)  # the folder, as the agent picks it
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: "核对码" in text_of(settings.query_one("#platform-keys-info")))
        with Platform.open(phome) as platform:
            assert platform.keys.public.fingerprint() in text_of(settings.query_one("#platform-keys-info"))
        await pilot.press("escape")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SyncScreen))
        await wait_for(pilot, lambda: "仅U盘同步" in shown(app.screen.query_one("#sync-status")))
    with Store.open(home) as store:
        assert sync_status(store).mode == "usb"


async def test_a_settings_error_stands_under_its_field(tmp_path: Path, catalog) -> None:
    home = tmp_path / "village"
    init_station(home, VILLAGE, "测试村便民服务站", "village", admin=ADMIN)
    app = StationApp(home, catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, ADMIN)
        settings = await open_settings(pilot)
        settings.query_one("#s-sync_url").value = "gateway.example"          # no http(s)://
        settings.query_one("#s-sync_interval_minutes").value = "0"           # out of range
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: text_of(settings.query_one("#err-s-sync_url")) != "")
        assert "http" in text_of(settings.query_one("#err-s-sync_url"))
        assert "1440" in text_of(settings.query_one("#err-s-sync_interval_minutes"))
        assert text_of(settings.query_one("#err-s-name")) == ""
        label = settings.query_one("#s-large_print")
        assert label.region.width >= len("默认大字打印（方便老年人）") * 2  # the whole label, on its own row
    with Store.open(home) as store:
        assert store.config.sync_url == ""  # nothing saved


async def test_the_interval_set_in_settings_syncs_while_the_ui_is_open(tmp_path: Path, catalog) -> None:
    phome, keys = make_platform(tmp_path)
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        home = make_station(tmp_path, phome, keys, VILLAGE, url=server.url)
        with Store.open(home) as store:
            file_cases(store, 2)
        app = StationApp(home, catalog=catalog, autosync_after=0.5)
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in(pilot, ADMIN)
            await wait_for(pilot, lambda: getattr(app, "last_autosync", None) is not None, timeout=60)
            assert app.last_autosync.ok
            home_screen = app.screen
            assert isinstance(home_screen, HomeScreen)
            await wait_for(pilot, lambda: "未同步办件 0 件" in text_of(home_screen.query_one("#sync-line")))
    with Store.open(home) as store:
        assert {c.sync_state for c in CaseReader(store).list()} == {"acknowledged"}


async def test_home_counts_unsynced_once_in_cases(tmp_path: Path, catalog) -> None:
    phome, keys = make_platform(tmp_path)
    home = make_station(tmp_path, phome, keys, VILLAGE)
    with Store.open(home) as store:
        file_cases(store, 3)
    app = StationApp(home, catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, ADMIN)
        line = text_of(app.screen.query_one("#sync-line"))
        assert "未同步办件 3 件" in line and "记录" not in line
        tile = str(app.screen.query_one("#tile-unsynced").content)
        assert "3" in tile


async def test_an_empty_township_queue_says_where_cases_come_from(tmp_path: Path, catalog) -> None:
    phome, keys = make_platform(tmp_path)
    home = make_station(tmp_path, phome, keys, TOWNSHIP, "township")
    app = StationApp(home, catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, ADMIN)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen) and app.screen.view is not None)
        line = text_of(app.screen.query_one("#queue-line"))
        assert "没有待办" in line and "同步" in line and "U盘" in line

