"""Clocks across sync: a station whose PC clock is years ahead (or behind). The gateway flags and bounds
its stamps, the station learns the platform's time from every answer, and the operator sees a Chinese
warning in `station sync status`."""

from __future__ import annotations

import pytest

import json
from datetime import datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from station.cli import main
from station.testing import cli_login_env
from station.clock_check import assess_store
from station.store import Store
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.service import sync_now, sync_status
from sync.gateway.testing import file_cases, make_platform, make_station
from tests.support import FixedClock
from tests.support import TOWNSHIP, VILLAGE

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores

OTHER = "421381105202"


def _ms(d: datetime) -> int:
    return int(d.timestamp() * 1000)


def test_a_clock_years_ahead_is_flagged_bounded_and_shown(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    now = datetime.now()
    ahead = FixedClock(now + timedelta(days=3 * 365))
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        village = make_station(tmp_path, phome, keys, VILLAGE, url=server.url)
        sane = make_station(tmp_path, phome, keys, OTHER, url=server.url)
        township = make_station(tmp_path, phome, keys, TOWNSHIP, "township", url=server.url)
        with Store.open(village, clock=ahead) as store:
            numbers = file_cases(store, 3)
            summary = sync_now(store)
            assert summary.ok, summary.errors
            platform_ms = int(store.meta_get("sync.platform_time_ms") or 0)
            assert abs(platform_ms - _ms(datetime.now())) < 60_000  # the platform's time, not the PC's
            status = sync_status(store)
            assert any("快约 1095 天" in w for w in status.clock_warnings), status.clock_warnings
            assert "时钟警告" in status.text()
            assert assess_store(store).code == "far_ahead"
        flags = {f["station"]: f for f in platform.store.clock_flags()}
        assert set(flags) == {VILLAGE}
        assert flags[VILLAGE]["stamp_ms"] - flags[VILLAGE]["platform_ms"] > 1000 * 86_400_000
        bound = f"{_ms(datetime.now()) + platform.config.max_future_ms:016d}-9999"
        held = {c["number"]: c["updated_hlc"] for c in platform.store.cases()}
        assert all(held[n] <= bound for n in numbers)  # the platform's own state is not pinned years ahead
        with Store.open(township) as store:
            assert sync_now(store).ok
            stamps = platform.store.conn.execute("SELECT blob FROM inbox_batches WHERE station=?",
                                                 (TOWNSHIP,)).fetchall()
            from sync import envelope as env

            assert stamps and all(env.peek(b).stamp_ms <= _ms(datetime.now()) + platform.config.max_future_ms
                                  for (b,) in stamps)
            # the township's own PC clock is right: not flagged; its log took the village's stamps (causality
            # kept by the hybrid clock), which the local check reports without blaming this PC
            warnings = sync_status(store).clock_warnings
            assert not any("本机电脑时间" in w or "平台发现" in w for w in warnings), warnings
        with Store.open(sane) as store:  # a station with a right clock: no flag, no warning
            file_cases(store, 1)
            assert sync_now(store).ok
            assert sync_status(store).clock_warnings == ()
        assert {f["station"] for f in platform.store.clock_flags()} == {VILLAGE}
        result = CliRunner(env=cli_login_env()).invoke(main, ["sync", "status", "--home", str(village)])
        assert result.exit_code == 0 and "时钟警告" in result.output  # the CLI uses the real clock: still flagged
        overview = CliRunner().invoke(main, ["platform", "cases", "--home", str(phome), "--json"])
        assert json.loads(overview.output)["clock_flags"][0]["station"] == VILLAGE


def test_a_clock_years_behind_learns_the_platform_time_and_warns(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    behind = FixedClock(datetime.now() - timedelta(days=5 * 365))
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        village = make_station(tmp_path, phome, keys, VILLAGE, url=server.url)
        with Store.open(village, clock=behind) as store:
            file_cases(store, 1)
            assert sync_now(store).ok
            assert assess_store(store).code == "behind_platform"
            assert assess_store(store).today == datetime.now().date()  # received dates from a sane clock
            warnings = sync_status(store).clock_warnings
            assert any("慢约" in w for w in warnings) and any("校正" in w for w in warnings)
        assert platform.store.clock_flags() == []
