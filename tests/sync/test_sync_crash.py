"""Crashes: kill -9 the gateway mid-upload, kill -9 the station mid-sync; after restarting, every
event is on the platform exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time

import pytest
from pathlib import Path


from station.store import Store
from station.testing import cli_login_env
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.service import sync_now, sync_status
from sync.settings import configure
from sync.gateway.testing import STATION_CLI, file_cases, free_port as _free_port, make_platform, make_station, serve_platform as _serve
from tests.support import VILLAGE
from tests.support.gateway_db import platform_count

pytestmark = pytest.mark.usefixtures("platform_store")  # on both platform stores (kill -9 of the gateway too)



def _count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql).fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def _assert_exactly_once(phome: Path, village: Path) -> None:
    with Store.open(village) as store:
        last = store.last_local_seq()
        assert sync_status(store).pending_events == 0
    with Platform.open(phome) as platform:
        total, distinct, top = platform.store.conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT id), MAX(seq) FROM events WHERE station=?", (VILLAGE,)).fetchone()
        batches = platform.store.conn.execute("SELECT COUNT(*) FROM batches").fetchone()[0]
        assert platform.store.counts()["gaps"] == 0
    assert (total, distinct, top) == (last, last, last)
    assert batches == _count(village / "station.db", "SELECT COUNT(*) FROM sync_batches")


def _village(tmp_path: Path, port: int, cases: int) -> tuple[Path, Path]:
    phome, keys = make_platform(tmp_path)
    village = make_station(tmp_path, phome, keys, VILLAGE, url=f"http://127.0.0.1:{port}")
    # ~80 batches for 300 filings (a filing carries its legal record: bodies, basis, labels), under the
    # gateway's burst of 150 requests: the crash, not the rate limit, is what this test is about
    configure(village, sync_batch_bytes=4096, sync_retries=0, sync_timeout_seconds=5)
    with Store.open(village) as store:
        file_cases(store, cases)
    return phome, village


def test_gateway_killed_mid_upload_then_restarted(tmp_path: Path) -> None:
    port = _free_port()
    phome, village = _village(tmp_path, port, 300)
    gateway = _serve(phome, port)
    results: list = []
    with Store.open(village) as store:
        runner = threading.Thread(target=lambda: results.append(sync_now(store)), daemon=True)
        runner.start()
        deadline = time.monotonic() + 30
        while platform_count(phome, "SELECT COUNT(*) FROM batches") < 3 and time.monotonic() < deadline:
            time.sleep(0.002)
        os.kill(gateway.pid, signal.SIGKILL)
        gateway.wait()
        runner.join(timeout=30)
        summary = results[0]
        assert not summary.ok and summary.link == "down"
        held = platform_count(phome, "SELECT COUNT(*) FROM events WHERE station=?", (VILLAGE,))
        assert 0 < held < store.last_local_seq()  # the platform got part of the log, not all of it
    gateway = _serve(phome, port)
    try:
        with Store.open(village) as store:
            assert sync_now(store).ok
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
    _assert_exactly_once(phome, village)


def test_station_killed_mid_sync_then_restarted(tmp_path: Path) -> None:
    port = _free_port()
    phome, village = _village(tmp_path, port, 300)
    with Platform.open(phome) as platform, ServerThread(platform, port=port):
        proc = subprocess.Popen([*STATION_CLI, "sync", "now", "--home", str(village)], env={**os.environ, **cli_login_env()},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while platform.store.counts()["batches"] < 3 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL  # it really died mid-sync
        stored = platform.store.conn.execute("SELECT COUNT(*) FROM events WHERE station=?", (VILLAGE,)).fetchone()[0]
        filed = _count(village / "station.db", f"SELECT MAX(seq) FROM events WHERE station='{VILLAGE}'")
        assert 0 < stored < filed  # the platform got part of the log, not all of it
        with Store.open(village) as store:  # restart: resend what was not acknowledged
            assert sync_now(store).ok
    _assert_exactly_once(phome, village)
