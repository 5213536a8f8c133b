"""Running the platform like a service, on both stores: health, readiness, metrics, status, inbox trimming."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import requests

from station.store import Store
from sync.gateway import ops
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.gateway.testing import STATION_CLI, file_cases, make_platform, make_station
from sync.service import sync_now
from tests.support import TOWNSHIP, VILLAGE, VILLAGE_2
from tests.support.gateway_db import admin

pytestmark = pytest.mark.usefixtures("platform_store")


def _metric(text: str, name: str, default: float | None = None, **labels: str) -> float:
    want = "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else ""
    for line in text.splitlines():
        if line.startswith(name + want + " "):
            return float(line.split()[-1])
    if default is not None:
        return default
    raise AssertionError(f"{name}{want} not in metrics")


def test_health_ready_and_metrics_count_what_happened(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        village = make_station(tmp_path, phome, keys, VILLAGE, url=server.url)
        make_station(tmp_path, phome, keys, TOWNSHIP, "township", url=server.url)
        # the process's own counters run on across tests in this process: compare with before
        before = requests.get(server.url + "/metrics", timeout=5).text
        with Store.open(village) as store:
            file_cases(store, 3)
            summary = sync_now(store)
            assert summary.ok
            sent = store.last_local_seq()
        assert requests.get(server.url + "/v1/health", timeout=5).json()["ok"]
        ready = requests.get(server.url + "/v1/ready", timeout=5)
        assert ready.status_code == 200 and ready.json()["ready"] is True
        requests.post(server.url + "/v1/batches", data=b"junk", timeout=5)  # a refusal: bad_format
        text = requests.get(server.url + "/metrics", timeout=5).text
    def grew(name: str, **labels: str) -> float:
        return _metric(text, name, **labels) - _metric(before, name, 0.0, **labels)

    assert grew("station_gateway_batches_total", outcome="accepted") == summary.batches_acknowledged
    assert grew("station_gateway_events_total") == sent
    assert grew("station_gateway_ingest_seconds_count") == summary.batches_acknowledged
    assert _metric(text, "station_platform_stations", role="village") == 1
    assert _metric(text, "station_platform_stations", role="township") == 1
    assert _metric(text, "station_platform_stations_seen", within="1d") == 1  # the village; the township never synced
    assert _metric(text, "station_platform_refusals_total", reason="bad_format") >= 1
    assert _metric(text, "station_platform_inbox_events", state="held") > 0  # the village's cases, for the township
    assert _metric(text, "station_platform_database_up") == 1


def test_status_lists_the_stations_silent_for_n_days(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        village = make_station(tmp_path, phome, keys, VILLAGE, url=server.url)
        make_station(tmp_path, phome, keys, VILLAGE_2, url=server.url)
        with Store.open(village) as store:
            file_cases(store, 2)
            assert sync_now(store).ok
    out = subprocess.run([*STATION_CLI, "platform", "status", "--home", str(phome), "--json", "--silent-days", "3"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["ready"] is True
    assert [s["id"] for s in data["silent_stations"]] == [VILLAGE_2]
    assert data["silent_stations"][0]["last_seen"] is None
    assert data["stations_seen"]["1d"] == 1 and data["counts"]["batches"] >= 1
    text = subprocess.run([*STATION_CLI, "platform", "status", "--home", str(phome), "--silent-days", "3"],
                          capture_output=True, text=True, timeout=60).stdout
    assert "3 天以上未同步的站点：1 个" in text and VILLAGE_2 in text and "从未同步" in text


def test_acknowledged_inbox_envelopes_are_trimmed_after_the_retention_period(tmp_path: Path) -> None:
    phome, keys = make_platform(tmp_path)
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        village = make_station(tmp_path, phome, keys, VILLAGE, url=server.url)
        township = make_station(tmp_path, phome, keys, TOWNSHIP, "township", url=server.url)
        for _ in range(3):  # three rounds: three inbox envelopes for the township, each pulled
            with Store.open(village) as store:
                file_cases(store, 2)
                assert sync_now(store).ok
            with Store.open(township) as store:
                assert sync_now(store).ok
        with Store.open(township) as store:
            assert sync_now(store).ok  # pulls after its last envelope: all three acknowledged
        before = platform.store.query("SELECT seq FROM inbox_batches WHERE station=? ORDER BY seq", (TOWNSHIP,))
        assert len(before) >= 3
        assert ops.trim_inboxes(platform) == 0  # nothing is old enough yet
        platform.clock = lambda: datetime.now() + timedelta(days=platform.config.inbox_retention_days + 1)
        gone = ops.trim_inboxes(platform)
        kept = platform.store.query("SELECT seq, first_idx FROM inbox_batches WHERE station=? ORDER BY seq", (TOWNSHIP,))
        assert gone >= len(before) - 1 and kept == [(before[-1][0], kept[0][1])]  # only the last one stays
        low = platform.store.query("SELECT min(idx) FROM inbox WHERE station=?", (TOWNSHIP,))[0][0]
        assert low == kept[0][1]  # the rows of the removed envelopes went with them
        platform.clock = datetime.now
        with Store.open(village) as store:  # and the township's inbox goes on from where it was
            file_cases(store, 1)
            assert sync_now(store).ok
        with Store.open(township) as store:
            summary = sync_now(store)
            assert summary.ok and summary.applied >= 1


def test_ready_says_503_when_the_database_is_gone(tmp_path: Path, platform_store: str | None) -> None:
    if platform_store is None:
        phome, _ = make_platform(tmp_path)
        with Platform.open(phome) as platform:
            assert ops.readiness(platform)[0] is True  # SQLite: the file is in the home, always there
        return
    phome, _ = make_platform(tmp_path)
    url = (phome / "database.url").read_text()
    with Platform.open(phome) as platform, ServerThread(platform) as server:
        assert requests.get(server.url + "/v1/ready", timeout=5).status_code == 200
        with admin() as conn:
            conn.execute(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        answer = requests.get(server.url + "/v1/ready", timeout=30)
        assert answer.status_code == 503 and answer.json()["database"] == "unreachable"
        assert requests.get(server.url + "/v1/health", timeout=5).status_code == 200  # alive all the same
        assert "station_platform_database_up 0.0" in requests.get(server.url + "/metrics", timeout=30).text
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)


@pytest.mark.parametrize("token", ["", "s3cret-scrape-token-0123"])
def test_metrics_answer_this_host_or_the_token_holder_only(tmp_path: Path, token: str) -> None:
    """/metrics names every station and reads the database on each scrape: a client elsewhere (here the
    address a trusted proxy forwards for) gets 401 unless it sends the configured bearer token."""
    import dataclasses

    phome, _ = make_platform(tmp_path)
    with Platform.open(phome) as platform:
        platform.config = dataclasses.replace(platform.config, trusted_proxies=("127.0.0.1",), metrics_token=token)
        with ServerThread(platform) as server:
            def scrape(client: str | None = None, auth: str | None = None) -> requests.Response:
                headers = {k: v for k, v in (("X-Forwarded-For", client), ("Authorization", auth)) if v}
                return requests.get(server.url + "/metrics", headers=headers, timeout=10)

            far = scrape("203.0.113.7")
            assert far.status_code == 401 and far.json()["error"]["code"] == "bad_request_auth"
            assert "station_platform_stations" not in far.text
            assert scrape("203.0.113.7", "Bearer wrong-token-wrong-token").status_code == 401
            if token:
                assert scrape("203.0.113.7", f"Bearer {token}").status_code == 200
                assert scrape(auth=f"Bearer {token}").status_code == 200
                assert scrape().status_code == 401  # with a token, this host sends it too
            else:
                ok = scrape()  # this host, no token configured
                assert ok.status_code == 200 and "station_gateway_batches_total" in ok.text
            refused = platform.store.refusals(10)
            assert any(r["reason"] == "bad_request_auth" and r["peer"] == "203.0.113.7" for r in refused)


def test_a_short_metrics_token_is_refused_in_the_configuration(tmp_path: Path) -> None:
    phome, _ = make_platform(tmp_path)
    config = phome / "platform.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('metrics_token = ""', 'metrics_token = "short"'),
                      encoding="utf-8")
    from sync.errors import SyncError

    with pytest.raises(SyncError) as err:
        Platform.open(phome)
    assert "metrics_token" in err.value.message


def test_who_may_scrape_on_a_dual_stack_listener() -> None:
    """A listener on ``::`` sees a local Prometheus as ``::ffff:127.0.0.1``: that is this host; a mapped
    outside address is not, and with a token only the token counts."""
    from sync.gateway.ops import may_scrape

    assert may_scrape("", "::ffff:127.0.0.1", "") and may_scrape("", "::1", "") and may_scrape("", "127.0.0.2", "")
    assert not may_scrape("", "::ffff:203.0.113.7", "") and not may_scrape("", "203.0.113.7", "")
    assert not may_scrape("", "not-an-address", "")
    token = "t" * 20
    assert not may_scrape(token, "::ffff:127.0.0.1", "") and may_scrape(token, "203.0.113.7", f"Bearer {token}")
