"""The station's proxy setting: sync goes through an HTTP proxy on loopback; a dead proxy is named."""

from __future__ import annotations

import pytest

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from station.store import Store
from sync.gateway.app import ServerThread
from sync.gateway.platform import Platform
from sync.service import sync_now
from sync.settings import configure
from sync.gateway.testing import file_cases, make_platform, make_station

pytestmark = pytest.mark.usefixtures("platform_store")  # every test on both platform stores


class ForwardProxy(BaseHTTPRequestHandler):
    """A minimal forward proxy for plain HTTP (absolute-URI requests), recording what it relayed."""

    relayed: list[str] = []

    def _relay(self) -> None:
        target = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
        conn.request(self.command, target.path + (f"?{target.query}" if target.query else ""), body=body,
                     headers=headers)
        reply = conn.getresponse()
        data = reply.read()
        self.relayed.append(f"{self.command} {target.path}")
        self.send_response(reply.status)
        for key, value in reply.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = _relay

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


def test_sync_through_a_proxy_and_a_dead_proxy_is_reported(tmp_path: Path) -> None:
    platform_home, keys = make_platform(tmp_path)
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), ForwardProxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
    try:
        with Platform.open(platform_home) as platform, ServerThread(platform) as srv:
            village = make_station(tmp_path, platform_home, keys, "421381105201", url=srv.url)
            configure(village, srv.url, sync_proxy=proxy_url)
            with Store.open(village) as store:
                file_cases(store, 3)
                summary = sync_now(store)
                assert summary.ok, summary.errors
                assert store.meta_get("sync.acked_seq") == str(store.last_local_seq())
            assert any(r.startswith("POST /v1/batches") for r in ForwardProxy.relayed)
            assert any(r.startswith("GET /v1/inbox") for r in ForwardProxy.relayed)
            configure(village, srv.url, sync_proxy="http://127.0.0.1:9", sync_retries=0)  # nothing listens
            with Store.open(village) as store:
                file_cases(store, 1)
                failed = sync_now(store)
                assert not failed.ok and failed.errors[0]["code"] == "proxy_failed"
                assert "代理" in failed.errors[0]["message"]
                assert int(store.meta_get("sync.acked_seq")) < store.last_local_seq()
    finally:
        proxy.shutdown()
