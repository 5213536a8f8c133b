"""Every refusal the issue lists, against the real gateway: refused, nothing stored, outbox unchanged."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest
import requests

from station.store import Store
from sync import envelope as env
from sync import outbox
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.keys import load_or_create, platform_keys
from sync.service import sync_now, sync_status
from sync.settings import configure
from sync.gateway.testing import file_cases, make_platform, make_station
from tests.support import VILLAGE



@pytest.fixture
def setup(tmp_path: Path):
    phome, keys_file = make_platform(tmp_path)
    with Platform.open(phome) as platform:
        platform.config = dataclasses.replace(platform.config, max_body_bytes=64 * 1024)
        with ServerThread(platform) as server:
            village = make_station(tmp_path, phome, keys_file, VILLAGE, url=server.url)
            store = Store.open(village)
            file_cases(store, 3)
            yield tmp_path, platform, server.url, store, keys_file, phome
            store.close()


def _sealed(store: Store) -> tuple[bytes, env.SecretKeys, env.PublicKeys]:
    """The station's first real batch (cut into its outbox, not sent)."""
    keys = load_or_create(store.home, store.station_id)
    plat = platform_keys(store.home).keys
    outbox.cut(store, keys, plat)
    return outbox.get(store, 1).blob, keys, plat  # type: ignore[union-attr]


def _snapshot(platform: Platform, store: Store) -> tuple:
    counts = platform.store.counts()
    rows = store.conn.execute("SELECT seq, state, hash, blob, attempts FROM sync_batches ORDER BY seq").fetchall()
    meta = store.conn.execute("SELECT key, value FROM meta WHERE key LIKE 'sync.%' ORDER BY key").fetchall()
    return ({k: v for k, v in counts.items() if k not in ("refusals", "refusal_rows")}, rows, meta)


def _post(url: str, blob: bytes) -> requests.Response:
    return requests.post(url + "/v1/batches", data=blob, timeout=10)


def _refused(setup, blob: bytes, status: int, code: str) -> None:
    _, platform, url, store, *_ = setup
    before = _snapshot(platform, store)
    refusals = platform.store.counts()["refusals"]
    resp = _post(url, blob)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code
    assert "Traceback" not in resp.text
    assert _snapshot(platform, store) == before  # nothing stored, the outbox as it was
    assert platform.store.counts()["refusals"] == refusals + 1  # but the refusal is on record


def test_tampered_header_byte(setup) -> None:
    blob, *_ = _sealed(setup[3])
    tampered = bytearray(blob)
    tampered[30] ^= 0x40  # inside batch seq / prev hash
    _refused(setup, bytes(tampered), 403, "bad_signature")


def test_tampered_body_byte(setup) -> None:
    blob, *_ = _sealed(setup[3])
    tampered = bytearray(blob)
    tampered[len(blob) // 2] ^= 0x01
    _refused(setup, bytes(tampered), 403, "bad_signature")


def test_wrong_recipient(setup) -> None:
    store = setup[3]
    _, keys, plat = _sealed(store)
    to_other = env.PublicKeys("421381105000", plat.kem, plat.sig)
    blob = env.seal([store.wire_event(e) for e in store.local_events_after(0)], keys, to_other, 1,
                    env.GENESIS_HASH, "1-0")
    _refused(setup, blob, 400, "wrong_recipient")


def test_unknown_sender(setup) -> None:
    root, platform, url, store, keys_file, phome = setup
    stranger = make_station(root, phome, keys_file, "421381105299", url=url, enroll=False)
    with Store.open(stranger) as other:
        file_cases(other, 1)
        blob, *_ = _sealed(other)
    _refused(setup, blob, 403, "unknown_sender")
    with Store.open(stranger) as other:  # and through the station's own sync: refused, kept, said why
        summary = sync_now(other)
        assert not summary.ok and summary.errors[0]["code"] == "unknown_sender"
        assert "登记" in summary.errors[0]["message"]
        assert sync_status(other).batches["acknowledged"] == 0


def test_unknown_suite(setup) -> None:
    blob, *_ = _sealed(setup[3])
    tampered = bytearray(blob)
    tampered[5] = 7
    _refused(setup, bytes(tampered), 400, "unknown_suite")


def test_truncated_upload_body(setup) -> None:
    blob, *_ = _sealed(setup[3])
    _refused(setup, blob[:-100], 400, "bad_format")


def test_upload_cut_off_mid_transfer_stores_nothing(setup) -> None:
    _, platform, url, store, *_ = setup
    blob, *_ = _sealed(store)
    before = _snapshot(platform, store)
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Length: {len(blob)}\r\n\r\n".encode()
                     + blob[: len(blob) // 2])
    assert requests.get(url + "/v1/health", timeout=5).status_code == 200
    assert _snapshot(platform, store) == before
    assert sync_now(store).ok  # the real upload afterwards goes through


def test_oversized_body(setup) -> None:
    _refused(setup, b"VSEB" + bytes(64 * 1024 + 1), 413, "too_large")


def test_replayed_batch_is_acknowledged_again_without_storing_twice(setup) -> None:
    _, platform, url, store, *_ = setup
    blob, keys, plat = _sealed(store)
    first = _post(url, blob)
    assert first.status_code == 200 and first.headers["X-Ack-Status"] == "accepted"
    counts = platform.store.counts()
    again = _post(url, blob)
    assert again.status_code == 200 and again.headers["X-Ack-Status"] == "duplicate"
    assert again.content == first.content  # the same signed ack
    assert platform.store.counts() == counts
    env.verify_ack(again.content, plat, VILLAGE, 1, env.batch_hash(blob))


def test_forked_chain_is_refused_and_recorded(setup) -> None:
    _, platform, url, store, *_ = setup
    blob, keys, plat = _sealed(store)
    assert _post(url, blob).status_code == 200
    events = [store.wire_event(e) for e in store.local_events_after(0)]
    fork = env.seal(events[:1], keys, plat, 1, env.GENESIS_HASH, "1-0")  # same number, other content
    _refused(setup, fork, 409, "fork")
    assert platform.store.refusals(1)[0]["reason"] == "fork"
    broken = env.seal(events[:1], keys, plat, 2, b"\x01" * 32, "1-0")  # does not follow batch 1
    _refused(setup, broken, 409, "chain_broken")


def test_malformed_and_unauthenticated_requests_get_cheap_json_errors(setup) -> None:
    _, platform, url, store, *_ = setup
    for resp, status, code in (
            (requests.post(url + "/v1/batches", data=b"hello", timeout=5), 400, "bad_format"),
            (requests.get(url + "/v1/inbox?after=0", timeout=5), 401, "bad_request_auth"),
            (requests.get(url + "/v1/inbox?after=0", headers={"X-Station-Auth": f"v1 {VILLAGE} n c2ln"},
                          timeout=5), 401, "bad_request_auth"),
            (requests.get(url + "/v1/nothing", timeout=5), 404, "not_found"),
            (requests.get(url + "/v1/batches", timeout=5), 405, "http_error")):
        assert resp.status_code == status, (resp.status_code, resp.text)
        assert resp.json()["error"]["code"] == code
    keys = load_or_create(store.home, store.station_id)
    other = env.sign_request(keys, "GET", "/v1/inbox?after=0")  # signed for another query: refused
    resp = requests.get(url + "/v1/inbox?after=5", headers={"X-Station-Auth": other}, timeout=5)
    assert resp.status_code == 401


def test_rate_limit_per_station(tmp_path: Path) -> None:
    phome, keys_file = make_platform(tmp_path)
    with Platform.open(phome) as platform:
        platform.config = dataclasses.replace(platform.config, rate_per_minute=20)
        with ServerThread(platform) as server:
            village = make_station(tmp_path, phome, keys_file, VILLAGE, url=server.url)
            with Store.open(village) as store:
                keys = load_or_create(village, VILLAGE)
            codes = []
            for _ in range(15):
                auth = env.sign_request(keys, "GET", "/v1/inbox?after=0")
                codes.append(requests.get(server.url + "/v1/inbox?after=0", headers={"X-Station-Auth": auth},
                                          timeout=5).status_code)
            assert codes[0] == 200 and 429 in codes


def test_a_batch_refused_for_good_is_held_and_later_batches_keep_flowing(setup) -> None:
    _, platform, url, store, *_ = setup
    configure(store.home, sync_batch_bytes=1024 * 1024)
    platform.config = dataclasses.replace(platform.config, max_body_bytes=16 * 1024)
    store.close()
    big = Store.open(store.home)
    file_cases(big, 300)  # one batch (~40 KiB) far over the gateway's 16 KiB body limit
    summary = sync_now(big)
    assert summary.batches_held == 1 and summary.errors[0]["code"] == "too_large"
    big.close()
    configure(store.home, sync_batch_bytes=8 * 1024)
    with Store.open(store.home) as later:
        file_cases(later, 3)
        summary = sync_now(later)
        assert summary.batches_acknowledged >= 1 and summary.batches_held == 0
        status = sync_status(later)
        assert status.batches["held"] == 1 and "过大" in status.held[0].reason
        assert status.cursor.acked_seq == 0  # the held batch's events are not acknowledged
        assert platform.store.counts()["gaps"] == 1
        # the operator raises the limit on the platform and retries the held batch
        platform.config = dataclasses.replace(platform.config, max_body_bytes=4 * 1024 * 1024)
        assert sync_now(later, retry_held=True).ok
        status = sync_status(later)
        assert status.pending_events == 0 and status.batches["held"] == 0
        assert platform.store.counts()["gaps"] == 0
        total = platform.store.conn.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM events WHERE station=?",
                                            (VILLAGE,)).fetchone()
        assert total == (later.last_local_seq(), later.last_local_seq())
