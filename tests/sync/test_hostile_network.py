"""A hostile network between the station and the gateway (a captive portal, a proxy, anyone on a plain-HTTP
link): it cannot forge the platform's signatures but can answer anything else. Each attack is a real HTTP
server on 127.0.0.1 that forwards to the real gateway except on the path it attacks. The sync must stay
bounded in memory and time, say what happened in Chinese with a code, apply nothing unverified, keep the
outbox, and the next sync (the attack gone) must complete."""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

import pytest
import requests

from station.store import Store
from sync import outbox
from sync.service import SyncSummary, sync_now, sync_status
from sync.gateway.testing import file_cases, make_station
from sync.transport import HttpTransport
from tests.support import TOWNSHIP, VILLAGE

Attack = Callable[[BaseHTTPRequestHandler, bytes], bool]  # True: answered (the request is not forwarded)


class Hostile:
    """A forwarding HTTP server; ``attacks[path prefix]`` answers instead of the gateway while set."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.attacks: dict[str, Attack] = {}
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hostile.seen.append((self.command, self.path, dict(self.headers)))
                for prefix, attack in list(hostile.attacks.items()):
                    if self.path.startswith(prefix):
                        try:
                            if attack(self, body):
                                self.close_connection = True
                                return
                        except (BrokenPipeError, ConnectionResetError):
                            self.close_connection = True
                            return
                up = requests.request(self.command, hostile.upstream + self.path, data=body, timeout=30,
                                      headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                self.send_response(up.status_code)
                for k, v in up.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(up.content)))
                self.end_headers()
                self.wfile.write(up.content)

            do_GET = do_POST = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _head(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    h.send_response(status)
    for k, v in headers.items():
        h.send_header(k, v)
    h.end_headers()


@pytest.fixture
def net(world) -> Iterator[tuple[Path, Hostile]]:
    root, phome, keys, url, platform = world
    hostile = Hostile(url)
    village = make_station(root, phome, keys, VILLAGE, url=hostile.url)
    platform.publish_query_url("https://zwfw.example/q?n={case_number}")  # an envelope for every inbox
    township = make_station(root, phome, keys, TOWNSHIP, "township", url=url)
    with Store.open(village) as store:
        file_cases(store, 2)
    with Store.open(township) as store:  # something for the village's inbox
        assert sync_now(store).ok
    try:
        yield village, hostile
    finally:
        hostile.close()


def _sync(village: Path, timeout: float = 2.0, limit: float = 60.0) -> tuple[SyncSummary, float]:
    """One sync in a thread (an infinite loop must fail the test, not hang it)."""
    out: list[SyncSummary] = []

    def run() -> None:
        with Store.open(village) as store:
            out.append(sync_now(store, HttpTransport(_url(village), retries=0, timeout=timeout,
                                                     connect_timeout=timeout)))

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), "the sync did not end"
    return out[0], time.monotonic() - started


def _url(village: Path) -> str:
    with Store.open(village) as store:
        from sync.settings import SyncSettings

        return SyncSettings.of(store.config).url


def _recovers(village: Path, hostile: Hostile) -> None:
    hostile.attacks.clear()
    summary, _ = _sync(village)
    assert summary.ok, summary.errors
    with Store.open(village) as store:
        assert sync_status(store, with_health=False).pending_events == 0


def _failed(summary: SyncSummary, code: str) -> str:
    assert not summary.ok and summary.errors[-1]["code"] == code, summary.errors
    return summary.errors[-1]["message"]


def test_a_gigabyte_inbox_answer_is_cut_off_not_read_into_memory(net) -> None:
    village, hostile = net

    def flood(h: BaseHTTPRequestHandler, body: bytes) -> bool:
        _head(h, 200, {"Content-Type": "application/vnd.village-station.envelopes",
                       "Content-Length": str(4 * 1024 ** 3), "X-More": "0"})
        chunk = b"\0\0\0\0" * (256 * 1024)
        for _ in range(4 * 1024):  # 4 GiB if the client keeps reading
            h.wfile.write(chunk)
        return True

    hostile.attacks["/v1/inbox"] = flood
    summary, took = _sync(village)
    assert "上限" in _failed(summary, "answer_too_large")
    assert summary.inbox_batches == 0 and took < 30
    with Store.open(village) as store:
        assert outbox.inbox_cursor(store)[0] == 0
    _recovers(village, hostile)


def test_a_gzip_bomb_is_not_inflated_past_the_bound(net) -> None:
    village, hostile = net
    bomb = gzip.compress(b"\0" * (256 * 1024 * 1024), 9)  # 256 MiB inflated, ~250 KiB on the wire

    def answer(h: BaseHTTPRequestHandler, body: bytes) -> bool:
        _head(h, 200, {"Content-Type": "application/vnd.village-station.envelopes", "Content-Encoding": "gzip",
                       "Content-Length": str(len(bomb)), "X-More": "0"})
        h.wfile.write(bomb)
        return True

    hostile.attacks["/v1/inbox"] = answer
    summary, _ = _sync(village)
    _failed(summary, "answer_too_large")
    _recovers(village, hostile)


def test_a_body_trickled_a_byte_at_a_time_ends_within_the_time_bound(net) -> None:
    village, hostile = net

    def trickle(h: BaseHTTPRequestHandler, body: bytes) -> bool:
        _head(h, 200, {"Content-Type": "application/vnd.village-station.envelopes", "Content-Length": "100000",
                       "X-More": "0"})
        for _ in range(100000):
            h.wfile.write(b"\0")
            h.wfile.flush()
            time.sleep(0.2)  # always within the read timeout, never done
        return True

    hostile.attacks["/v1/inbox"] = trickle
    summary, took = _sync(village, timeout=1.0)
    assert "秒内" in _failed(summary, "answer_too_slow")
    assert took < 20, took
    _recovers(village, hostile)


@pytest.mark.parametrize("path", ["/v1/batches", "/v1/inbox"])
def test_headers_trickled_a_byte_at_a_time_end_within_the_time_bound(net, path: str) -> None:
    village, hostile = net
    done = threading.Event()  # without the bound, ends the trickle once the test has failed

    def trickle(h: BaseHTTPRequestHandler, body: bytes) -> bool:
        """Forward the request (the gateway stores the batch), then send the genuine status line and
        headers a byte at a time, each well within the read timeout, and never the end of them."""
        up = requests.request(h.command, hostile.upstream + h.path, data=body, timeout=30,
                              headers={k: v for k, v in h.headers.items() if k.lower() != "host"})
        head = f"HTTP/1.1 {up.status_code} {up.reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in up.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"))
        for byte in (head + "X-Pad: " + "a" * 60000).encode():
            if done.wait(0.2):
                break
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
        return True

    with Store.open(village) as store:
        acked_before = outbox.counts(store)[outbox.ACKED]
    hostile.attacks[path] = trickle
    try:
        summary, took = _sync(village, timeout=1.0, limit=30)
    finally:
        done.set()
    assert "报头" in _failed(summary, "answer_too_slow")
    assert took < 10, took
    with Store.open(village) as store:
        assert outbox.inbox_cursor(store)[0] == 0
        if path == "/v1/batches":  # the gateway stored the batches, but no ack arrived: nothing marked
            counts = outbox.counts(store)
            assert counts[outbox.ACKED] == acked_before and counts[outbox.SENT] == 0, counts
            assert sync_status(store, with_health=False).pending_events > 0
    _recovers(village, hostile)


def test_a_redirect_to_another_host_is_not_followed_with_the_signed_request(net) -> None:
    village, hostile = net
    elsewhere = Hostile("http://127.0.0.1:9")  # records what reaches it

    def redirect(h: BaseHTTPRequestHandler, body: bytes) -> bool:
        _head(h, 307 if h.command == "POST" else 302, {"Location": elsewhere.url + "/steal", "Content-Length": "0"})
        return True

    elsewhere.attacks["/"] = lambda h, body: (_head(h, 200, {"Content-Length": "0"}), True)[1]
    try:
        for path in ("/v1/inbox", "/v1/batches"):
            hostile.attacks.clear()
            hostile.attacks[path] = redirect
            with Store.open(village) as store:
                file_cases(store, 1)  # something to push
            summary, _ = _sync(village)
            assert "未跟随" in _failed(summary, "redirected")
            assert elsewhere.seen == []
        hostile.attacks["/v1/batches"] = lambda h, body: (_head(h, 302, {"Location": "file:///etc/passwd",
                                                                          "Content-Length": "0"}), True)[1]
        summary, _ = _sync(village)
        _failed(summary, "redirected")
        with Store.open(village) as store:
            assert sync_status(store, with_health=False).pending_events > 0
    finally:
        elsewhere.close()
    _recovers(village, hostile)


def test_a_captive_portal_page_is_named_and_nothing_is_marked(net) -> None:
    village, hostile = net
    page = "<!DOCTYPE html><html><body>请登录后上网</body></html>".encode()

    def portal(h: BaseHTTPRequestHandler, body: bytes) -> bool:
        _head(h, 200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(page))})
        h.wfile.write(page)
        return True

    for path in ("/v1/batches", "/v1/inbox"):
        hostile.attacks.clear()
        with Store.open(village) as store:
            file_cases(store, 1)
        hostile.attacks[path] = portal
        summary, _ = _sync(village)
        assert "网络登录页" in _failed(summary, "captive_portal")
        with Store.open(village) as store:
            assert outbox.inbox_cursor(store)[0] == 0
            assert path != "/v1/batches" or sync_status(store, with_health=False).pending_events > 0
    hostile.attacks.clear()
    hostile.attacks["/v1/inbox"] = lambda h, body: (_head(h, 200, {"Content-Length": "4"}), h.wfile.write(b"\0\0\0\0"),
                                                    True)[2]
    summary, _ = _sync(village)  # no Content-Type at all
    _failed(summary, "bad_response")
    _recovers(village, hostile)


def test_lying_frame_lengths_apply_nothing(net) -> None:
    village, hostile = net

    def lie(h: BaseHTTPRequestHandler, body: bytes) -> bool:
        data = b"\xff\xff\xff\xff" + b"x" * 100
        _head(h, 200, {"Content-Type": "application/vnd.village-station.envelopes", "Content-Length": str(len(data)),
                       "X-More": "1"})
        h.wfile.write(data)
        return True

    hostile.attacks["/v1/inbox"] = lie
    summary, _ = _sync(village)
    _failed(summary, "bad_response")
    with Store.open(village) as store:
        assert outbox.inbox_cursor(store)[0] == 0
    _recovers(village, hostile)


def test_an_old_inbox_page_replayed_with_more_forever_does_not_loop(net) -> None:
    village, hostile = net
    recorded: dict[str, bytes] = {}

    def record(h: BaseHTTPRequestHandler, body: bytes) -> bool:
        """Pass the genuine first page through, keeping a copy (what anyone on the path can do)."""
        up = requests.get(hostile.upstream + h.path, timeout=30, headers={"X-Station-Auth": h.headers["X-Station-Auth"]})
        if up.status_code == 200 and up.content and "page" not in recorded:
            recorded["page"] = up.content
        _head(h, up.status_code, {"Content-Type": up.headers.get("Content-Type", ""),
                                  "Content-Length": str(len(up.content)), "X-More": up.headers.get("X-More", "0")})
        h.wfile.write(up.content)
        return True

    hostile.attacks["/v1/inbox"] = record
    summary, _ = _sync(village)
    assert summary.ok, summary.errors
    with Store.open(village) as store:
        cursor = outbox.inbox_cursor(store)[0]
    assert cursor >= 1 and recorded  # the published query URL's envelope: applied, and a copy kept

    def replay(h: BaseHTTPRequestHandler, body: bytes) -> bool:
        _head(h, 200, {"Content-Type": "application/vnd.village-station.envelopes",
                       "Content-Length": str(len(recorded["page"])), "X-More": "1"})
        h.wfile.write(recorded["page"])
        return True

    # every request (signed for after=N) answered with the old page and "more": the signature binds only the request
    hostile.attacks["/v1/inbox"] = replay
    summary, _ = _sync(village, limit=30)
    _failed(summary, "inbox_stalled")
    with Store.open(village) as store:
        assert outbox.inbox_cursor(store)[0] == cursor
    _recovers(village, hostile)


@pytest.mark.parametrize("value", ["-5", "abc", "1e9", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_a_strange_retry_after_ends_the_sync_at_once(net, value: str) -> None:
    village, hostile = net

    def busy(h: BaseHTTPRequestHandler, body: bytes) -> bool:
        _head(h, 429, {"Retry-After": value, "Content-Length": "0"})
        return True

    hostile.attacks["/v1/batches"] = busy
    summary, took = _sync(village)
    assert not summary.ok and took < 15
    if value.startswith("Wed"):
        assert summary.errors[-1]["code"] == "rate_limited" and summary.retry_after == 24 * 3600
    with Store.open(village) as store:
        assert sync_status(store, with_health=False).pending_events > 0
    _recovers(village, hostile)
