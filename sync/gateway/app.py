"""The gateway's HTTP face: a Starlette ASGI app, served by uvicorn (``station platform serve``).

API v1 (docs/protocol.md):
    GET  /v1/health                       liveness and identity (X-Worker: the process that answered)
    GET  /v1/ready                        503 unless the database answers with every migration applied
    GET  /metrics                         Prometheus metrics (sync/gateway/ops.py): this host, or metrics_token
    POST /v1/batches                      body = one envelope; 200 + signed ack, or 4xx JSON error
    GET  /v1/inbox?after=N                X-Station-Auth signed; 200 + length-prefixed envelopes
    GET  /v1/chain?after=N                X-Station-Auth signed; 200 + JSON of the device's own batch chain,
                                          signed by the platform (X-Platform-Signature) over the request
    GET  /v1/own?after=N                  X-Station-Auth signed; 200 + envelopes of the device's own events
    POST /v1/publish/calendar             X-Station-Auth signed by the platform key; body = holiday table JSON

Cheap refusals first: the per-address flood guard (sync/gateway/limits.py), body size from
Content-Length and while reading, header parse and enrolment before any crypto; a station's quota is
charged only once its signature has verified. Slow and idle clients are cut off by the server's
protocol (sync/gateway/guard.py). Errors are JSON, never a stack trace; a 429 carries Retry-After.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import struct
import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from forms.problems import StationError
from sync import envelope as env
from sync.gateway import ops
from sync.gateway.guard import ServerLimits, guarded_protocol
from sync.gateway.limits import FloodGuard, RateLimiter, in_background, retry_after
from sync.gateway.ingest_queue import IngestQueue
from sync.gateway.platform import Platform, Refused, Upload

log = logging.getLogger("sync.gateway")
ACK_TYPE = "application/vnd.village-station.ack"
ENVELOPES_TYPE = "application/vnd.village-station.envelopes"


class PlatformTime:
    """ASGI wrapper: every answer carries ``X-Platform-Time`` (the platform's clock, Unix ms), so a station
    learns a sane time from each response and can judge its own clock (station/clock_check.py)."""

    def __init__(self, app: Any, now_ms: Any):
        self.app, self.now_ms = app, now_ms

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def stamped(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-platform-time", str(self.now_ms()).encode())]}
            await send(message)

        await self.app(scope, receive, stamped)


def error(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _refusal(err: StationError) -> JSONResponse:
    status = err.status if isinstance(err, Refused) else 400
    response = error(err.code, err.message, status)
    if status == 429:
        response.headers["Retry-After"] = retry_after(getattr(err, "retry_after", 0) or 1)
    return response


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit():
        raise Refused("bad_format", "缺少 Content-Length")
    if int(declared) > limit:
        raise Refused("too_large", f"批次过大：{declared} 字节，平台上限 {limit} 字节")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused("too_large", f"批次过大：超过平台上限 {limit} 字节")
        chunks.append(chunk)
    body = b"".join(chunks)
    if len(body) != int(declared):
        raise Refused("bad_format", "请求体不完整")
    return body


def create_app(platform: Platform) -> Any:
    config = platform.config
    queue = IngestQueue(platform, config.ingest_threads, platform.group_limit())  # sync/gateway/ingest_queue.py
    quota = RateLimiter(config.rate_per_minute)  # per verified station
    flood = RateLimiter(config.flood_per_minute, config.flood_burst)  # per address, before anything

    def peer_of(request: Request) -> str:
        return request.client.host if request.client else "?"

    def loop_or_none() -> asyncio.AbstractEventLoop | None:
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    def note(code: str, detail: str, peer: str, station: str | None = None, wait: float = 0.0) -> Refused:
        """Count a refusal from the event loop (memory only: the answer writes it, see ``answer``)."""
        return platform.refuse(code, detail, station, None, b"", peer, wait, flush=False)

    async def answer(err: StationError) -> Response:
        """The refusal's answer, once the refusal log holds it when a write is due (the first refusal
        of a peer and reason in a minute, or every few seconds): so a refusal is on record when its
        client hears of it. The write runs in a worker thread; repeats within the minute do not wait."""
        if platform.refusals.due:
            await run_in_threadpool(platform.refusals.flush)
        return _refusal(err)

    def admit(station: str) -> float:
        return quota.wait("station:" + station)

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "platform": platform.config.name, "id": platform.config.id,
                             "fingerprint": platform.keys.public.fingerprint(), "api": "v1"},
                            headers={"X-Worker": str(os.getpid())})

    async def ready(request: Request) -> Response:
        ok, details = await run_in_threadpool(ops.readiness, platform)
        return JSONResponse({"ready": ok, **details}, status_code=200 if ok else 503)

    async def metrics(request: Request) -> Response:
        if not ops.may_scrape(config.metrics_token, peer_of(request), request.headers.get("authorization", "")):
            note("bad_request_auth", "/metrics", peer_of(request))
            return await answer(Refused("bad_request_auth", "/metrics 只允许本机访问，或带上 metrics_token"))
        body, content_type = await run_in_threadpool(ops.metrics_text, platform)
        return Response(body, headers={"Content-Type": content_type})

    async def push(request: Request) -> Response:
        peer = peer_of(request)
        try:
            body = await _read_body(request, config.max_body_bytes)
        except ClientDisconnect:
            note("upload_broken", "上传中断", peer)
            return error("bad_format", "上传中断", 400)
        except Refused as err:
            note(err.code, err.message, peer)
            return await answer(err)
        started = time.perf_counter()
        try:
            outcome = await queue.ingest(Upload(body, "http", peer, admit))
        except Refused as err:
            return await answer(err)
        ops.observe_ingest(outcome, time.perf_counter() - started)
        headers = {"X-Ack-Status": "duplicate" if outcome.duplicate else "accepted",
                   "X-Events-New": str(outcome.events_new), "X-Conflicts": str(outcome.conflicts),
                   "X-Events-Refused": str(outcome.events_refused)}
        if outcome.clock_ahead_ms:
            headers["X-Clock-Ahead-Ms"] = str(outcome.clock_ahead_ms)
        return Response(outcome.ack, media_type=ACK_TYPE, headers=headers)

    async def _authenticated(request: Request, body: bytes = b"") -> str:
        """The verified station of a signed request; its quota is charged only after the signature checks."""
        peer = peer_of(request)
        value = request.headers.get("x-station-auth", "")
        try:
            station = env.request_signer(value)
        except env.EnvelopeError as err:
            raise note("bad_request_auth", err.message, peer) from None
        keys = platform.keys.public if station == config.id else platform.station_keys(station)
        if keys is None:
            raise note("bad_request_auth", f"站点 {station} 未登记", peer, station)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            env.verify_request(value, keys, request.method, target, body)
        except env.EnvelopeError as err:
            raise note("bad_request_auth", err.message, peer, station) from None
        if station != config.id and platform.is_revoked(station):
            raise note("revoked", station, peer, station)
        wait = quota.wait("station:" + station)
        if wait > 0:
            raise note("rate_limited", f"约 {retry_after(wait)} 秒后再试", peer, station, wait)
        return station

    async def inbox(request: Request) -> Response:
        try:
            station = await _authenticated(request)
            after = request.query_params.get("after", "0")
            # ASCII digits only ("²".isdigit() is true) and within SQLite's 64-bit integers
            if not (after.isascii() and after.isdigit() and len(after) <= 18):
                raise note("bad_format", "after 应为非负整数", peer_of(request), station)
            blobs, more = await run_in_threadpool(platform.inbox, station, int(after))
        except Refused as err:
            return await answer(err)
        data = b"".join(struct.pack(">I", len(b)) + b for b in blobs)
        return Response(data, media_type=ENVELOPES_TYPE, headers={"X-More": "1" if more else "0",
                                                                  "X-Count": str(len(blobs))})

    def _after(request: Request, station: str) -> int:
        after = request.query_params.get("after", "0")
        if not (after.isascii() and after.isdigit() and len(after) <= 18):
            raise note("bad_format", "after 应为非负整数", peer_of(request), station)
        return int(after)

    async def chain(request: Request) -> Response:
        """Catch-up (issue 12): a restored or copied device checks its chain head before it cuts a batch."""
        try:
            station = await _authenticated(request)
            data = await run_in_threadpool(platform.chain, station, _after(request, station))
        except Refused as err:
            return await answer(err)
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        signature = env.sign_answer(platform.keys, request.headers.get("x-station-auth", ""), body)
        return Response(body, media_type="application/json", headers={"X-Platform-Signature": signature})

    async def own(request: Request) -> Response:
        try:
            station = await _authenticated(request)
            blobs, more = await run_in_threadpool(platform.own_events, station, _after(request, station))
        except Refused as err:
            return await answer(err)
        data = b"".join(struct.pack(">I", len(b)) + b for b in blobs)
        return Response(data, media_type=ENVELOPES_TYPE, headers={"X-More": "1" if more else "0",
                                                                  "X-Count": str(len(blobs))})

    async def publish_calendar(request: Request) -> Response:
        try:
            body = await _read_body(request, config.max_body_bytes)
            station = await _authenticated(request, body)
            if station != platform.config.id:
                raise Refused("bad_request_auth", "只有平台管理员可以发布")
            try:
                data = json.loads(body)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise Refused("bad_format", "节假日安排应为JSON") from None
            result = await run_in_threadpool(platform.publish_calendar, data, "http")
        except StationError as err:
            return await answer(err)
        return JSONResponse(result)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = "not_found" if exc.status_code == 404 else "http_error"
        note(code, f"{request.method} {request.url.path[:100]}", peer_of(request))
        if platform.refusals.due:
            await run_in_threadpool(platform.refusals.flush)
        return error(code, str(exc.detail), exc.status_code)

    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s", request.url.path)
        return error("internal", "服务器内部错误，已记录日志", 500)

    app = Starlette(routes=[Route("/v1/health", health), Route("/v1/ready", ready), Route("/metrics", metrics),
                            Route("/v1/batches", push, methods=["POST"]),
                            Route("/v1/inbox", inbox), Route("/v1/chain", chain), Route("/v1/own", own), Route("/v1/publish/calendar", publish_calendar,
                                                             methods=["POST"])],
                    exception_handlers={HTTPException: http_error, Exception: internal_error})
    def flooded(peer: str, wait: float) -> None:  # before any handler: a due write goes to a worker thread
        note("rate_limited", f"本地址请求过多（{retry_after(wait)} 秒后可再试）", peer)
        if platform.refusals.due:
            in_background(loop_or_none(), platform.refusals.flush)

    return PlatformTime(FloodGuard(app, flood, flooded), platform.now_ms)


def server_limits(platform: Platform) -> ServerLimits:
    c = platform.config
    return ServerLimits(c.max_connections, c.header_timeout_s, c.body_timeout_s, c.body_min_rate, c.body_grace_s)


def make_server(platform: Platform, host: str = "127.0.0.1", port: int = 8700, log_level: str = "warning",
                tls_cert: str | None = None, tls_key: str | None = None) -> Any:
    """A uvicorn Server (run it with ``.run()``; stop with ``.should_exit = True``).

    With ``tls_cert``/``tls_key`` (PEM files) it serves HTTPS itself; a province may instead put it
    behind its own TLS-terminating proxy (docs/deployment.md). X-Forwarded-For is believed only from
    the proxies in ``trusted_proxies`` (uvicorn would otherwise trust it from loopback by default).
    """
    import uvicorn

    c = platform.config

    def cut_off(host: str, reason: str) -> None:  # on the event loop: count now, write in a worker
        platform.refuse(reason, "连接被切断", None, None, b"", host, flush=False)
        if platform.refusals.due:
            in_background(asyncio.get_running_loop(), platform.refusals.flush)

    config = uvicorn.Config(create_app(platform), host=host, port=port, log_level=log_level, access_log=False,
                            http=guarded_protocol(server_limits(platform), cut_off),
                            timeout_keep_alive=c.keepalive_timeout_s, server_header=False,
                            proxy_headers=bool(c.trusted_proxies), forwarded_allow_ips=list(c.trusted_proxies),
                            ssl_certfile=tls_cert, ssl_keyfile=tls_key)
    return uvicorn.Server(config)


class ServerThread:
    """The real gateway on a free loopback port in a background thread (tests and benchmarks)."""

    def __init__(self, platform: Platform, host: str = "127.0.0.1", port: int = 0,
                 tls_cert: str | None = None, tls_key: str | None = None):
        import socket

        if not port:
            with socket.socket() as sock:
                sock.bind((host, 0))
                port = sock.getsockname()[1]
        self.host, self.port = host, port
        self.url = f"{'https' if tls_cert else 'http'}://{host}:{port}"
        self.server = make_server(platform, host, port, tls_cert=tls_cert, tls_key=tls_key)
        self.thread = threading.Thread(target=self.server.run, name="gateway", daemon=True)

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("gateway did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
