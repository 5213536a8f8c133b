"""One rule, one wording: the CLI and the screens refuse the same settings with the same messages,
count the same worklist, and name the link the same way (issue 16)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from station.cases import CaseReader, worklist
from station.cli import main
from station.home import read_config
from station.store import Store
from station.testing import cli_login_env
from station.tui.app import StationApp
from station.tui.screens.home import build_dashboard
from station.tui.widgets.problems import ProblemPanel
from tests.support.tui import ADMIN, TODAY, Clock, log_in, text_of, wait_for


def _cli_error(home: Path, *args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--home", str(home), "--json"], env=cli_login_env(*ADMIN))
    assert result.exit_code != 0, result.output
    return json.loads(result.output)["error"]


async def _screen_problems(home: Path, catalog, interval: str, url: str) -> str:
    app = StationApp(home, clock=Clock(), catalog=catalog)
    async with app.run_test(size=(120, 40)) as pilot:
        await log_in(pilot, ADMIN)
        await pilot.press("c")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "SettingsScreen")
        await wait_for(pilot, lambda: app.screen.query_one("#s-name").value != "")
        app.screen.query_one("#s-sync_interval_minutes").value = interval
        app.screen.query_one("#s-sync_url").value = url
        await pilot.press("ctrl+s")
        panel = app.screen.query_one(ProblemPanel)
        await wait_for(pilot, lambda: "设置有误" in text_of(panel))
        under_fields = [text_of(app.screen.query_one(f"#err-s-{key}"))
                        for key in ("sync_interval_minutes", "sync_url")]
        return "\n".join([text_of(panel), *under_fields])


async def test_the_cli_and_the_settings_screen_refuse_a_bad_interval_and_url_in_the_same_words(
        demo_home: Path, catalog) -> None:
    before = (demo_home / "station.toml").read_text(encoding="utf-8")
    interval = _cli_error(demo_home, "sync", "configure", "--interval", "0")
    url = _cli_error(demo_home, "sync", "configure", "--url", "ftp://gateway.example")
    both = _cli_error(demo_home, "sync", "configure", "--url", "gateway", "--interval", "2000")
    assert interval["code"] == "bad_interval" and "1440" in interval["message"]
    assert url["code"] == "bad_url" and "https://" in url["message"]
    assert [p["code"] for p in both["problems"]] == ["bad_url", "bad_interval"]  # every problem at once
    assert (demo_home / "station.toml").read_text(encoding="utf-8") == before  # nothing saved

    shown = await _screen_problems(demo_home, catalog, "0", "ftp://gateway.example")
    assert interval["message"] in shown and url["message"] in shown
    assert read_config(demo_home).sync_interval_minutes == 15  # refused on screen too


def test_a_good_setting_passes_both_faces(demo_home: Path) -> None:
    result = CliRunner().invoke(main, ["sync", "configure", "--home", str(demo_home), "--interval", "1440",
                                       "--url", "https://gateway.example/", "--json"], env=cli_login_env(*ADMIN))
    assert result.exit_code == 0, result.output
    config = read_config(demo_home)
    assert (config.sync_interval_minutes, config.sync_url) == (1440, "https://gateway.example")


def test_init_refuses_a_station_name_over_the_limit_with_the_settings_rule(tmp_path: Path) -> None:
    error = _cli_error(tmp_path / "new", "init", "--division-code", "421381105201", "--name", "村" * 61)
    assert error["code"] == "bad_name" and "60" in error["message"]
    assert not (tmp_path / "new").exists()


def test_dashboard_tiles_count_what_the_case_lists_find(demo_home: Path) -> None:
    with Store.open(demo_home, clock=Clock()) as store:
        reader = CaseReader(store, TODAY)
        counts = worklist(reader)
        day = TODAY.isoformat()
        expected = {"today": dict(received_from=day, received_to=day), "waiting": dict(waiting_materials=True),
                    "near_due": dict(near_due=True), "overdue": dict(overdue=True), "unsynced": dict(unsynced=True)}
        for tile, filters in expected.items():
            assert getattr(counts, tile) == len(reader.list(limit=100_000, **filters)), tile
        assert counts.unsynced > 0 and counts.waiting > 0  # the demo has both, so the test means something
        board = build_dashboard(store, TODAY)
        assert board.counts == counts
        assert board.link == "未配置平台" and board.last_sync == "从未同步"  # the demo has no platform
