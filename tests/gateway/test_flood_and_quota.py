"""Anyone on the network: junk naming a station does not spend its quota or delay its sync; a coarse
per-address flood guard answers 429 with Retry-After; the refusal log stays bounded however much junk
comes; X-Forwarded-For is believed only from a configured proxy. All against the real gateway on
loopback (127.0.0.2 is a second loopback address: another client, seen by the gateway as such)."""

from __future__ import annotations

import dataclasses
import http.client
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

from station.store import Store
from sync import envelope as env
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.keys import platform_keys
from sync.service import sync_now
from tests.support import VILLAGE


@contextmanager
def gateway(tmp_path: Path, **config) -> Iterator[tuple[Platform, str, Path]]:
    phome, keys = make_platform(tmp_path)
    with Platform.open(phome) as platform:
        platform.config = dataclasses.replace(platform.config, **config)
        with ServerThread(platform) as server:
            village = make_station(tmp_path, phome, keys, VILLAGE, url=server.url)
            yield platform, server.url, village


def _junk_batch(village: Path) -> bytes:
    """A well-formed envelope naming the village, signed by someone else: the signature fails."""
    stranger = env.SecretKeys.generate(VILLAGE)
    return env.seal([{"x": 1}], stranger, platform_keys(village).keys, 1, env.GENESIS_HASH, "1-0")


def _from(source: str, url: str, method: str, path: str, body: bytes = b"",
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers={"Content-Length": str(len(body)), **(headers or {})})
        resp = conn.getresponse()
        resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()


def test_junk_naming_a_station_does_not_spend_its_quota_or_delay_its_sync(tmp_path: Path) -> None:
    """Issue 11, hole 5: the quota was charged on the sender id in the header before any verification."""
    with gateway(tmp_path, rate_per_minute=20) as (platform, url, village):
        junk = _junk_batch(village)
        forged_auth = f"v1 {VILLAGE} bm9uY2U {'A' * 86}=="
        for _ in range(60):  # six times the station's burst, naming it in a batch and in a pull
            assert requests.post(url + "/v1/batches", data=junk, timeout=10).status_code == 403
            assert requests.get(url + "/v1/inbox?after=0", headers={"X-Station-Auth": forged_auth},
                                timeout=10).status_code == 401
        stop = threading.Event()

        def keep_junking() -> None:
            with requests.Session() as session:
                while not stop.is_set():
                    session.post(url + "/v1/batches", data=junk, timeout=10)

        junker = threading.Thread(target=keep_junking, daemon=True)
        junker.start()
        try:
            with Store.open(village) as store:
                file_cases(store, 5)
                started = time.monotonic()
                summary = sync_now(store)
                took = time.monotonic() - started
        finally:
            stop.set()
            junker.join(10)
        assert summary.ok, summary.errors
        assert summary.batches_acknowledged >= 1 and summary.retry_after == 0
        assert took < 10, took  # no Retry-After wait, no backoff: the junk cost the station nothing
        platform.refusals.flush()
        reasons = {r["reason"] for r in platform.store.refusals()}  # type: ignore[attr-defined]
        assert {"bad_signature", "bad_request_auth"} <= reasons


def test_the_flood_guard_turns_one_address_away_with_retry_after_and_not_the_others(tmp_path: Path) -> None:
    with gateway(tmp_path, flood_per_minute=60, flood_burst=20) as (platform, url, village):
        statuses = [_from("127.0.0.2", url, "GET", "/v1/health") for _ in range(30)]
        assert [s for s, _ in statuses[:20]] == [200] * 20
        refused = [h for s, h in statuses[20:] if s == 429]
        assert len(refused) >= 9 and all(int(h["retry-after"]) >= 1 for h in refused)
        with Store.open(village) as store:  # 127.0.0.1: its own budget, untouched
            file_cases(store, 2)
            summary = sync_now(store)
            assert summary.ok, summary.errors


def test_a_junk_flood_writes_a_bounded_number_of_refusal_rows(tmp_path: Path) -> None:
    with gateway(tmp_path) as (platform, url, village):
        junk = b"VSEB" + bytes(200)
        with requests.Session() as session:
            for _ in range(500):
                assert session.post(url + "/v1/batches", data=junk, timeout=10).status_code == 400
        platform.refusals.flush()
        rows = platform.store.conn.execute(  # type: ignore[attr-defined]
            "SELECT peer, reason, minute, count FROM refusals").fetchall()
        assert len(rows) <= 2, rows  # one per (peer, reason, minute): two if the flood straddled a minute
        assert sum(r[3] for r in rows) == 500 and {r[:2] for r in rows} == {("127.0.0.1", "unknown_version")}
        assert platform.store.counts()["refusals"] == 500


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    junk = b"VSEB" + bytes(200)
    with gateway(tmp_path / "a", flood_per_minute=60, flood_burst=5) as (platform, url, _):
        # loopback is not a proxy unless configured: the header is ignored, for the log and the guard alike
        codes = [requests.post(url + "/v1/batches", data=junk, headers={"X-Forwarded-For": f"203.0.113.{i}"},
                               timeout=10).status_code for i in range(8)]
        assert codes[:5] == [400] * 5 and 429 in codes[5:]  # rotating the header does not escape the guard
        platform.refusals.flush()
        assert {r["peer"] for r in platform.store.refusals()} == {"127.0.0.1"}  # type: ignore[attr-defined]
    with gateway(tmp_path / "b", trusted_proxies=("127.0.0.1",)) as (platform, url, _):
        requests.post(url + "/v1/batches", data=junk, headers={"X-Forwarded-For": "198.51.100.9, 203.0.113.7"},
                      timeout=10)
        platform.refusals.flush()
        # the right-most address not itself a trusted proxy is the client
        assert {r["peer"] for r in platform.store.refusals()} == {"203.0.113.7"}  # type: ignore[attr-defined]
