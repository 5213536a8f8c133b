"""Over the real gateway on 127.0.0.1: the sync screen shows a per-batch progress bar that reaches 100 %,
and a decision made at the township arrives on the village 首页 after the next sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import ProgressBar

from station.operators import add_operator, os_account
from station.review import Decision, decide
from station.store import Store
from station.tui.app import StationApp
from station.tui.screens.home import HomeScreen
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.service import sync_now
from sync.settings import configure
from sync.gateway.testing import file_cases, make_platform, make_station
from tests.support.tui import log_in, sync_from_screen, wait_for
from tests.support import TOWNSHIP, VILLAGE

AGENT = ("王小红", "secret123")


@pytest.fixture
def online(tmp_path: Path):
    platform_home, keys = make_platform(tmp_path)
    with Platform.open(platform_home) as platform, ServerThread(platform) as server:
        village = make_station(tmp_path, platform_home, keys, VILLAGE, "village", server.url)
        township = make_station(tmp_path, platform_home, keys, TOWNSHIP, "township", server.url)
        configure(village, sync_batch_events=4)  # small batches: several steps of progress
        with Store.open(village) as store:
            numbers = file_cases(store, 6)
        yield village, township, numbers


async def test_progress_per_batch_and_a_decision_back_at_the_village(online, catalog) -> None:
    village, township, numbers = online
    app = StationApp(village, catalog=catalog)
    async with app.run_test(size=(80, 24)) as pilot:
        await log_in(pilot, AGENT)
        screen = await sync_from_screen(pilot)
        assert screen.last_summary.ok, screen.last_summary.text()
        pushes = [(done, total) for phase, done, total in screen.progress_seen if phase == "push"]
        total = pushes[-1][1]
        assert total >= 3, pushes  # 6 cases and the station's own events, 4 events a batch
        assert pushes == [(i, total) for i in range(total + 1)]  # every batch, in order, to the last
        assert screen.last_summary.batches_acknowledged == total
        assert any(phase == "pull" for phase, _, _ in screen.progress_seen)
        assert screen.query_one(ProgressBar).percentage == 1.0
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, HomeScreen))

        with Store.open(township) as store:  # the township pulls, decides, pushes
            assert sync_now(store).ok
            reviewer = add_operator(store, "赵审核", "reviewer", "secret123", os_account())
            decide(store, numbers[0], Decision("refuse", reason="不属于本镇受理范围"), reviewer)
            assert sync_now(store).ok

        home = app.screen
        assert home.arrivals == []
        await sync_from_screen(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: [a.case.number for a in home.arrivals] == [numbers[0]])
        assert home.arrivals[0].kind == "refusal"
        await pilot.press("enter")  # the arrivals table has the focus: offer the notice
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "PrintDialog")
        await pilot.press("enter")
        await wait_for(pilot, lambda: home.last_print is not None, timeout=30)
        assert home.last_print.kind == "refusal" and home.last_print.path.read_bytes().startswith(b"%PDF")
