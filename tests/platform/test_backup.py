"""The backup docs/deployment.md prescribes, restored: pg_dump of a live platform database, pg_restore
into a new database, the home pointed at it, and the platform carries on (counts equal, sync works)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from station.store import Store
from sync.gateway.app import ServerThread
from sync.gateway.database import URL_FILE
from sync.gateway.platform import Platform
from sync.gateway.testing import file_cases, free_port, make_platform, make_station
from sync.service import sync_now
from tests.support import TOWNSHIP, VILLAGE
from tests.support.gateway_db import fresh_database


def test_pg_dump_and_restore_give_back_a_working_platform(tmp_path: Path, platform_store_pg: str) -> None:
    phome, keys = make_platform(tmp_path)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    village = make_station(tmp_path, phome, keys, VILLAGE, url=url)
    township = make_station(tmp_path, phome, keys, TOWNSHIP, "township", url=url)
    source = (phome / URL_FILE).read_text()
    dump = tmp_path / "platform.dump"
    with Platform.open(phome) as platform, ServerThread(platform, port=port):
        with Store.open(village) as store:
            file_cases(store, 4)
            assert sync_now(store).ok
        # taken while the gateway runs: pg_dump reads one consistent snapshot
        subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), source], check=True, timeout=120)
        before = platform.overview()
    with fresh_database("restore") as target:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", target, str(dump)], check=True,
                       timeout=120)
        restored = tmp_path / "restored"
        shutil.copytree(phome, restored)  # the home (keys!) comes from its own backup
        (restored / URL_FILE).write_text(target)
        with Platform.open(restored) as platform:
            after = platform.overview()
            assert after["counts"] == before["counts"] and after["cases"] == before["cases"]
            with ServerThread(platform, port=port):
                with Store.open(village) as store:
                    file_cases(store, 1)
                    assert sync_now(store).ok
                with Store.open(township) as store:
                    summary = sync_now(store)
                    assert summary.ok and summary.applied > 0
