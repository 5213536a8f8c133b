"""Slow and idle clients are cut off within their deadline while a genuine station syncs (issue 11, hole 6):
a body trickled a byte every two seconds, headers and then nothing, a connection that says nothing, headers
trickled forever, and connections beyond the cap. The real gateway on loopback, with short deadlines."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests

from station.store import Store
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.gateway.testing import file_cases, make_platform, make_station
from sync.service import sync_now
from tests.support import VILLAGE

LIMITS = dict(header_timeout_s=1.0, body_grace_s=1.0, body_min_rate=1024, body_timeout_s=6.0, keepalive_timeout_s=2)
SLACK = 1.5  # the guard checks every quarter second; the rest is a busy 2-core machine


@contextmanager
def gateway(tmp_path: Path, **config) -> Iterator[tuple[Platform, str, Path]]:
    phome, keys = make_platform(tmp_path)
    with Platform.open(phome) as platform:
        platform.config = dataclasses.replace(platform.config, **{**LIMITS, **config})
        with ServerThread(platform) as server:
            village = make_station(tmp_path, phome, keys, VILLAGE, url=server.url)
            yield platform, server.url, village


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _seconds_until_closed(sock: socket.socket, limit: float = 30.0) -> float:
    """How long until the server closes this connection (reads and drops whatever it says)."""
    started = time.monotonic()
    sock.settimeout(limit)
    try:
        while sock.recv(4096):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    return time.monotonic() - started


class Watch(threading.Thread):
    """Waits on a connection from the moment it is made; ``closed_after``: seconds until the server hung up."""

    def __init__(self, sock: socket.socket):
        super().__init__(daemon=True)
        self.sock, self.started, self.closed_after = sock, time.monotonic(), None
        self.start()

    def run(self) -> None:
        _seconds_until_closed(self.sock)
        self.closed_after = time.monotonic() - self.started  # type: ignore[assignment]


class SlowBody(threading.Thread):
    """Declares a 10 kB body and sends one byte of it every two seconds, until the server hangs up."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.sock = _connect(url)
        self.sock.sendall(b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\n\r\n")
        self.started = time.monotonic()
        self.cut_after: float | None = None

    def run(self) -> None:
        try:
            while True:
                self.sock.sendall(b"V")
                self.sock.settimeout(2.0)
                try:
                    if self.sock.recv(1) == b"":
                        break
                except socket.timeout:
                    continue
        except OSError:
            pass
        self.cut_after = time.monotonic() - self.started
        self.sock.close()


def test_slow_body_and_silent_clients_are_cut_off_while_a_station_syncs(tmp_path: Path) -> None:
    with gateway(tmp_path) as (platform, url, village):
        slow = [SlowBody(url) for _ in range(3)]
        for client in slow:
            client.start()
        silent = [Watch(_connect(url)) for _ in range(3)]  # connect, then say nothing at all
        headers_only = []
        for _ in range(3):  # headers without their blank line, then nothing
            sock = _connect(url)
            sock.sendall(b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
            headers_only.append(Watch(sock))
        with Store.open(village) as store:
            file_cases(store, 5)
            summary = sync_now(store)  # the genuine station, meanwhile
        assert summary.ok, summary.errors
        assert summary.batches_acknowledged >= 1
        for watch in silent + headers_only:
            watch.join(15)
            assert watch.closed_after is not None and watch.closed_after < LIMITS["header_timeout_s"] + SLACK
            watch.sock.close()
        for client in slow:
            client.join(15)
            assert client.cut_after is not None
            # one byte every 2 s owes 1 kB/s from the end of the 1 s grace: cut at the first check after it
            assert client.cut_after < LIMITS["body_grace_s"] + SLACK + 1, client.cut_after
        platform.refusals.flush()
        reasons = {r["reason"]: r["count"] for r in platform.store.refusals()}  # type: ignore[attr-defined]
        assert reasons.get("header_timeout", 0) >= 6 and reasons.get("body_too_slow", 0) >= 3, reasons
        assert requests.get(url + "/v1/health", timeout=5).status_code == 200


def test_headers_trickled_forever_and_an_idle_kept_alive_connection_are_cut_off(tmp_path: Path) -> None:
    with gateway(tmp_path) as (platform, url, _):
        trickle = _connect(url)
        started = time.monotonic()
        try:  # every byte is "progress" to uvicorn's keep-alive timer, never to the header deadline
            for byte in b"GET /v1/health HTTP/1.1\r\nX-Slow: " + b"a" * 100:
                trickle.sendall(bytes([byte]))
                time.sleep(0.2)
                if time.monotonic() - started > 10:
                    break
        except OSError:
            pass
        assert time.monotonic() - started < LIMITS["header_timeout_s"] + SLACK + 0.4
        trickle.close()
        kept = _connect(url)  # one whole request, then the connection left open
        kept.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200" in kept.recv(4096)
        assert _seconds_until_closed(kept) < LIMITS["keepalive_timeout_s"] + SLACK
        kept.close()


def test_connections_beyond_the_cap_are_closed_at_once(tmp_path: Path) -> None:
    with gateway(tmp_path, max_connections=4, header_timeout_s=20.0) as (platform, url, _):
        held = [_connect(url) for _ in range(4)]
        time.sleep(0.3)
        extra = _connect(url)
        assert _seconds_until_closed(extra, 5) < 1.0
        extra.close()
        for sock in held:
            sock.close()
        time.sleep(0.3)
        assert requests.get(url + "/v1/health", timeout=5).status_code == 200
        platform.refusals.flush()
        assert any(r["reason"] == "too_many_connections" for r in platform.store.refusals())  # type: ignore[attr-defined]
