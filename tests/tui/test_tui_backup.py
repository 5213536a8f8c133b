"""Backup from the TUI (issue 12): the agent backs up to a USB folder from the sync screen; the home
screen reminds when the last backup is older than the 设置 value (default 7 days); intake goes on."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from station.backup import restore_station
from station.health import station_health
from station.home import update_config
from station.store import Store
from station.tui.app import StationApp
from station.tui.screens.dialogs import BackupDialog
from station.tui.screens.home import HomeScreen
from station.tui.screens.sync import SyncScreen
from sync.gateway.testing import file_cases, make_platform, make_station
from tests.support import VILLAGE
from tests.support.tui import log_in, text_of, wait_for


async def test_agent_backs_up_to_a_usb_folder_from_the_sync_screen(tmp_path: Path, catalog) -> None:
    platform_home, keys = make_platform(tmp_path)
    home = make_station(tmp_path, platform_home, keys, VILLAGE, "village", "")
    with Store.open(home) as store:
        numbers = file_cases(store, 3)
    stick = tmp_path / "U盘"
    stick.mkdir()
    app = StationApp(home, catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, ("王小红", "secret123"))
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen) and "备份" in text_of(app.screen.query_one("#warnings")))
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SyncScreen))
        screen = app.screen
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, BackupDialog))
        dialog = app.screen
        dialog.query_one("#folder").value = str(stick)
        dialog.query_one("#passphrase").value = "村里备份口令2026"
        dialog.query_one("#passphrase2").value = "不一样的口令"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "不一样" in text_of(dialog.query_one(".problems")))
        dialog.query_one("#passphrase2").value = "村里备份口令2026"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is screen and "已备份到" in text_of(screen.query_one("#sync-result")))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))
        await wait_for(pilot, lambda: "备份" not in text_of(app.screen.query_one("#warnings")))
    (made,) = list(stick.glob("*.vsbak"))
    restored = restore_station(made, tmp_path / "restored", "村里备份口令2026")
    assert restored.cases == len(numbers)


def test_health_warns_past_each_threshold_and_the_reminder_is_a_setting(tmp_path: Path) -> None:
    platform_home, keys = make_platform(tmp_path)
    home = make_station(tmp_path, platform_home, keys, VILLAGE, "village", "")
    today = date(2026, 10, 20)
    with Store.open(home) as store:
        with store.transaction():
            store.meta_set("sync.last_success", (datetime(2026, 10, 20, 9) - timedelta(days=5)).isoformat())
            store.meta_set("backup.last_at", datetime(2026, 10, 12, 9).isoformat())
        health = station_health(store, today, unsynced_cases=2)
    assert health.days_since_sync == 5 and health.days_since_backup == 8
    assert any("已 5 天没有同步，2 件办件未同步" in w for w in health.warnings)
    assert any("已 8 天没有备份" in w for w in health.warnings)
    assert health.calendar_until is not None and health.catalog_days is not None
    update_config(home, backup_reminder_days=10)
    with Store.open(home) as store:
        health = station_health(store, today)
        assert not any("备份" in w for w in health.warnings)  # 8 days < 10: no reminder yet
        assert any("日历" in w for w in station_health(store, date(2026, 12, 1)).warnings)
        assert not any("备份" in w for w in station_health(store, date(2026, 10, 13)).warnings)
