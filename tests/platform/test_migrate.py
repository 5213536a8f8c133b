"""`station platform migrate --to URL`: a SQLite platform with traffic moves to PostgreSQL; counts match
and the next sync works (chains, inboxes and the platform's own event numbers go on)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from station.store import Store
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.gateway.testing import STATION_CLI, file_cases, free_port, make_platform, make_station
from sync.service import sync_now
from tests.support import TOWNSHIP, VILLAGE
from tests.support.gateway_db import fresh_database


def _with_password(url: str, password: str) -> str:
    p = urlsplit(url)
    user, host = p.netloc.split("@", 1)
    return urlunsplit((p.scheme, f"{user}:{password}@{host}", p.path, p.query, p.fragment))


def test_a_sqlite_platform_moves_to_postgres_and_syncs_on(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)  # SQLite
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    village = make_station(tmp_path, phome, keys, VILLAGE, url=url)
    township = make_station(tmp_path, phome, keys, TOWNSHIP, "township", url=url)
    lost = make_station(tmp_path, phome, keys, VILLAGE, url=url, device=2)  # a device that goes missing
    with Platform.open(phome) as platform, ServerThread(platform, port=port):
        with Store.open(village) as store:
            file_cases(store, 5)
            assert sync_now(store).ok
        with Store.open(township) as store:
            assert sync_now(store).ok
        with Store.open(lost) as store:
            file_cases(store, 1)
            assert sync_now(store).ok
            lost_id = store.station_id
        platform.revoke(lost_id)
        before = platform.overview()
        chains = {sid: platform.chain(sid) for sid in (VILLAGE, TOWNSHIP)}
        assert chains[VILLAGE]["batches"][0]["last_event"] > 0  # the event ranges the batches carried
        lost_own = platform.store.own_events_after(lost_id, 0, 1000)
    with fresh_database("move") as target:
        secret = _with_password(target, "s3cret-pw")  # trust auth ignores it; it must never be printed
        out = subprocess.run([*STATION_CLI, "platform", "migrate", "--home", str(phome), "--to", secret, "--json"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert "s3cret-pw" not in out.stdout + out.stderr
        result = json.loads(out.stdout)
        assert result["database"] == _with_password(target, "***")
        assert (phome / "platform.db").is_file()  # kept as it was
        with Platform.open(phome) as platform:
            assert type(platform.store).__name__ == "PostgresGatewayStore"
            after = platform.overview()
            assert after["counts"] == before["counts"] and after["cases"] == before["cases"]
            assert after["stations"] == before["stations"]
            assert platform.is_revoked(lost_id)  # the revocation moved with the data
            assert {sid: platform.chain(sid) for sid in chains} == chains
            assert platform.store.own_events_after(lost_id, 0, 1000) == lost_own
            heads = dict(platform.store.query("SELECT station, last_idx FROM inbox_heads"))
            assert heads == dict(platform.store.query("SELECT station, max(idx) FROM inbox GROUP BY station"))
            with ServerThread(platform, port=port):
                with Store.open(village) as store:  # the next batch links onto the copied chain
                    file_cases(store, 2)
                    summary = sync_now(store)
                    assert summary.ok and summary.batches_acknowledged == 1
                with Store.open(township) as store:  # and the township's inbox goes on from its cursor
                    summary = sync_now(store)
                    assert summary.ok and summary.applied > 0 and summary.duplicates == 0
            counts = platform.store.counts()
            assert counts["cases"] == before["counts"]["cases"] + 2 and counts["gaps"] == 0
        again = subprocess.run([*STATION_CLI, "platform", "migrate", "--home", str(phome), "--to", target],
                               capture_output=True, text=True, timeout=60)
        assert again.returncode != 0 and "已使用 PostgreSQL" in again.stderr
