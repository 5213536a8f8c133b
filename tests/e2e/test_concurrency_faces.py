"""The TUI, the background sync loop and CLI filing on one home at the same time (issue 7):
no 'database is locked' reaches anyone, no lost update, every event on the platform exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from station.audit import check
from station.operators import add_operator, os_account
from station.store import Store
from station.testing import cli_login_env
from station.tui.app import StationApp
from station.tui.screens.search import SearchScreen
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.service import sync_now
from sync.gateway.testing import file_cases, make_platform, make_station
from tests.support.tui import log_in, wait_for

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores


async def test_tui_sync_loop_and_cli_together(tmp_path: Path, catalog) -> None:
    platform_home, keys = make_platform(tmp_path)
    with Platform.open(platform_home) as platform, ServerThread(platform) as srv:
        home = make_station(tmp_path, platform_home, keys, "421381105201", url=srv.url)
        with Store.open(home) as store:
            file_cases(store, 5)
            add_operator(store, "李建国", "admin", "admin1234", os_account())
        env = {**os.environ, "PYTHONPATH": str(ROOT), "FILING_LIMIT": "150", **cli_login_env("李建国", "admin1234")}
        loop = subprocess.Popen([sys.executable, "-m", "station", "sync", "run", "--home", str(home),
                                 "--interval-seconds", "0.2", "--max-syncs", "25"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        filers = [subprocess.Popen([sys.executable, str(ROOT / "bench" / "filing_worker.py"), str(home), str(seed)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                  for seed in (1, 2)]
        app = StationApp(home, catalog=catalog)
        async with app.run_test(size=(80, 24)) as pilot:
            await log_in(pilot, ("李建国", "admin1234"))  # a write (login event) while the others write
            await pilot.press("f")
            await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen))
            search = app.screen
            for _ in range(6):  # search while cases land and batches go out
                for ch in "wang":
                    await pilot.press(ch)
                await pilot.pause(0.3)
                for _ in "wang":
                    await pilot.press("backspace")
                await pilot.pause(0.2)
            assert search.searches_done >= 6
        outputs = [p.communicate(timeout=240) for p in filers]
        loop_out, loop_err = loop.communicate(timeout=240)
        for proc, (out, err) in zip(filers, outputs):
            assert proc.returncode == 0, err
        assert loop.returncode == 0, loop_err
        for text in [err for _, err in outputs] + [loop_err]:
            assert "locked" not in text and "Traceback" not in text
        errors_log = home / "logs" / "tui-errors.log"
        assert not errors_log.exists() or "locked" not in errors_log.read_text(encoding="utf-8")
        filed = [n for out, _ in outputs for n in out.splitlines() if n != "ready"]
        assert len(filed) == 300 and len(set(filed)) == 300
        with Store.open(home) as store:
            assert sync_now(store).ok
            assert store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0] == 305
            assert check(store).ok
            local = {r[0] for r in store.conn.execute("SELECT id FROM events WHERE origin='local'")}
            assert store.meta_get("sync.acked_seq") == str(store.last_local_seq())
        held = [row[0] for row in platform.store.query("SELECT id FROM events WHERE station=?", ("421381105201",))]
        assert len(held) == len(set(held)) and set(held) == local
