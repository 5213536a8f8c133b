"""HTTP transport to the platform gateway (requests): timeouts, retries with exponential backoff and
jitter, TLS verification (system CAs or a custom bundle), an optional proxy.

Retrying a push is safe by design: the gateway acknowledges a repeated batch again without storing
it twice. Failures become :class:`SyncError` with a Chinese message; ``retry`` says whether the
link (not the batch) was the problem.

A busy platform answers 429 (or 503) with ``Retry-After``. The transport waits that long and tries
again when the wait is short (at most ``max_retry_wait`` seconds, within the retry budget); a longer
wait ends the request at once, and the sync stops and says when to come back (``PushReply.retry_after``,
``SyncError.details["retry_after"]``): a station never hammers a platform that asked it to wait.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from email.utils import parsedate_to_datetime
from dataclasses import dataclass
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from station.settings import URL_RULE, is_platform_url
from sync import envelope as env
from sync.errors import SyncError

USER_AGENT = "village-station-sync/1"
POOL_SIZE = 8  # ≥ the push window + the inbox pull
MAX_RETRY_WAIT = 10.0  # seconds a request waits in place for a busy platform; asked to wait longer, it stops
MAX_RETRY_AFTER = 24 * 3600  # a larger Retry-After is read as this
# An answer is read as a stream, never trusted for its size or its pace: a hostile network (a captive
# portal, a proxy, anyone on a plain-HTTP link) can answer gigabytes, a compression bomb, or one byte a
# second. A page of envelopes or the chain record is far below MAX_PAGE_BYTES (the gateway sends about
# 256 KiB a page), an ack or an error far below MAX_SMALL_BYTES; the whole body must arrive within
# BODY_TIME_FACTOR read timeouts. Before the body, the status line and headers (a few hundred bytes, sent
# once the platform has done its work, which the read timeout already bounds) must arrive within
# HEADER_TIME_FACTOR read timeouts of the request being sent.
MAX_PAGE_BYTES = 64 * 1024 * 1024
MAX_SMALL_BYTES = 64 * 1024
BODY_TIME_FACTOR = 5
HEADER_TIME_FACTOR = 2
READ_CHUNK = 64 * 1024
ACK_TYPE = "application/vnd.village-station.ack"
ENVELOPES_TYPE = "application/vnd.village-station.envelopes"
JSON_TYPE = "application/json"


class PoliteRetry(Retry):
    """urllib3's retries, honouring ``Retry-After`` only up to ``max_wait``: asked to wait longer, the
    request ends with that answer (the caller stops the sync and reports when to come back)."""

    max_wait: float = MAX_RETRY_WAIT

    def new(self, **kw: Any) -> "PoliteRetry":
        retry = super().new(**kw)
        retry.max_wait = self.max_wait
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        try:
            return super().get_retry_after(response)
        except InvalidHeader:  # not a number or a date: as if absent
            return None

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None, _stacktrace: Any = None) -> "PoliteRetry":
        if response is not None:
            wait = self.get_retry_after(response)
            if wait is not None and wait > self.max_wait:
                raise MaxRetryError(_pool, url or "", ResponseError(f"Retry-After {wait:.0f} s"))  # type: ignore[arg-type]
        return super().increment(method, url, response, error, _pool, _stacktrace)  # type: ignore[return-value]


class HeadersTooSlow(Exception):
    """The answer's status line and headers did not arrive within the header deadline.

    Deliberately not an OSError or an HTTPException: urllib3 retries those, and a retry would start the
    wait over; this one passes through urllib3 (which closes the connection) and requests to ``_call``."""


class _HeaderDeadline:
    """Shuts a connection's socket down unless stopped within ``seconds``.

    The socket's read timeout restarts with every byte, so a network sending the headers one byte at a
    time, each within it, is never cut off by it. A timer that shuts the socket down (both ways) wakes
    the blocked read at once and leaves nothing waiting behind; the connection is then closed by urllib3.
    ``socket.socket.shutdown`` is called directly so a TLS socket's state is left to the reading thread."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self._sock = sock
        self._lock = threading.Lock()
        self._waiting = True
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:  # never cut a connection whose headers are already in
            if not self._waiting:
                return
            self.expired = True
            try:
                socket.socket.shutdown(self._sock, socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> bool:
        """Stop the timer; True if it had already cut the connection."""
        with self._lock:
            self._waiting = False
        self._timer.cancel()
        return self.expired


class _HeaderBound:
    """A urllib3 connection whose wait for the answer's headers is bounded: at most HEADER_TIME_FACTOR
    read timeouts (``self.timeout`` is the read timeout once the request has been sent)."""

    sock: socket.socket | None
    timeout: float | None

    def getresponse(self) -> Any:
        # TLS through an HTTPS proxy: an SSLTransport over the proxy's socket, which is the one to shut
        sock = self.sock if isinstance(self.sock, socket.socket) else getattr(self.sock, "socket", None)
        if not isinstance(sock, socket.socket) or not isinstance(self.timeout, (int, float)) or self.timeout <= 0:
            return super().getresponse()  # type: ignore[misc]
        limit = HEADER_TIME_FACTOR * self.timeout
        deadline = _HeaderDeadline(sock, limit)
        try:
            response = super().getresponse()  # type: ignore[misc]
        except Exception:
            if deadline.stop():
                raise HeadersTooSlow(limit) from None
            raise
        if deadline.stop():
            response.close()
            raise HeadersTooSlow(limit)
        return response


class _HeaderBoundHTTPConnection(_HeaderBound, HTTPConnection):
    pass


class _HeaderBoundHTTPSConnection(_HeaderBound, HTTPSConnection):
    pass


class _HeaderBoundHTTPPool(HTTPConnectionPool):
    ConnectionCls = _HeaderBoundHTTPConnection


class _HeaderBoundHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HeaderBoundHTTPSConnection


_HEADER_BOUND_POOLS = {"http": _HeaderBoundHTTPPool, "https": _HeaderBoundHTTPSPool}


class BoundedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections (direct, or through an HTTP(S) proxy) bound the wait for headers."""

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        super().init_poolmanager(*args, **kw)
        self.poolmanager.pool_classes_by_scheme = _HEADER_BOUND_POOLS

    def proxy_manager_for(self, proxy: str, **kw: Any) -> Any:
        fresh = proxy not in self.proxy_manager
        manager = super().proxy_manager_for(proxy, **kw)
        if fresh and not proxy.lower().startswith("socks"):  # SOCKS has connection classes of its own
            manager.pool_classes_by_scheme = _HEADER_BOUND_POOLS
        return manager


def retry_after_of(resp: requests.Response) -> float:
    """Seconds a 429/503 answer asked us to wait (0 when it did not say, or said nonsense); an HTTP
    date counts from now. Never more than MAX_RETRY_AFTER."""
    value = resp.headers.get("Retry-After", "").strip()
    if value.isascii() and value.isdigit() and len(value) <= 9:
        return float(min(int(value), MAX_RETRY_AFTER))
    if not value or len(value) > 64:
        return 0.0
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0
    if when.tzinfo is None:
        return 0.0
    return float(min(max(0.0, when.timestamp() - time.time()), MAX_RETRY_AFTER))


@dataclass(frozen=True)
class PushReply:
    """What the gateway said about one batch: an ack, or a refusal (code + Chinese message)."""

    ack: bytes | None
    duplicate: bool
    code: str = ""
    message: str = ""
    status: int = 200
    conflicts: int = 0
    clock_ahead_ms: int = 0  # the gateway found this batch stamped that far ahead of its clock
    retry_after: float = 0.0  # with a 429/503: how long the platform asked us to wait
    events_refused: int = 0  # events of this batch the platform refused (the notices come with the inbox)


class HttpTransport:
    def __init__(self, url: str, ca_bundle: str = "", proxy: str = "", timeout: float = 60.0,
                 retries: int = 3, backoff: float = 1.0, connect_timeout: float = 10.0,
                 max_retry_wait: float = MAX_RETRY_WAIT):
        if not url:
            raise SyncError("not_configured", "尚未配置平台地址：请运行 station sync configure --url 地址")
        if not is_platform_url(url):  # station.toml edited by hand: the same rule as the settings
            raise SyncError("bad_url", f"{URL_RULE}：{url}")
        self.url = url.rstrip("/")
        self.timeout = (connect_timeout, timeout)
        self._settings = (ca_bundle, proxy, retries, backoff)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self.platform_time_ms: int | None = None  # from the latest answer's X-Platform-Time
        # One connection pool for the pushes of every thread: on an 800 ms link a new TCP connection
        # costs a round trip, so a connection a request left open (the scheduler's health probe, an
        # earlier batch) is the one the next batch takes. The probe adapter shares that pool but never
        # retries. The inbox has a pool of its own, so a pull running beside the push never takes the
        # connection the first batch should have.
        retry = PoliteRetry(total=retries, connect=retries, read=retries, status=retries, backoff_factor=backoff,
                            backoff_jitter=backoff / 2, backoff_max=60, status_forcelist=(429, 502, 503, 504),
                            allowed_methods=frozenset({"GET", "POST"}), respect_retry_after_header=True,
                            raise_on_status=False)
        retry.max_wait = max_retry_wait
        self._adapter = BoundedAdapter(max_retries=retry, pool_maxsize=POOL_SIZE)
        self._probe_adapter = BoundedAdapter(max_retries=Retry(0, read=False), pool_maxsize=POOL_SIZE)
        self._probe_adapter.poolmanager = self._adapter.poolmanager
        self._probe_adapter.proxy_manager = self._adapter.proxy_manager
        self._inbox_adapter = BoundedAdapter(max_retries=retry, pool_maxsize=2)

    def _new_session(self, adapter: HTTPAdapter) -> requests.Session:
        ca_bundle, proxy, _, _ = self._settings
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        session.verify = ca_bundle or True
        if proxy:
            session.proxies = {"http": proxy, "https": proxy}
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        with self._lock:
            self._sessions.append(session)
        return session

    @property
    def session(self) -> requests.Session:
        """One requests.Session per thread (pushes run a few at a time), all on the shared pool."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._new_session(self._adapter)
        return session

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        self._adapter.close()
        self._inbox_adapter.close()

    def _call(self, method: str, path: str, session: requests.Session | None = None,
              timeout: float | tuple[float, float] | None = None, **kw: Any) -> requests.Response:
        try:
            # verify is passed per request: requests lets $REQUESTS_CA_BUNDLE / $CURL_CA_BUNDLE override
            # a Session's own verify setting (psf/requests#3829), which would ignore the station's CA bundle.
            # stream: the body is read by _body (bounded in size and time), never by requests at once.
            # No redirects: the platform never sends one, so a 3xx is a captive portal or a hostile proxy,
            # and following it would carry the signed request (X-Station-Auth) to another host.
            resp = (session or self.session).request(method, self.url + path, timeout=timeout or self.timeout,
                                                     verify=self._settings[0] or True, stream=True,
                                                     allow_redirects=False, **kw)
        except HeadersTooSlow as exc:
            raise SyncError("answer_too_slow", f"平台应答的开头（状态行与报头）在 {exc.args[0]:.0f} 秒内没有传完，"
                                               "已断开连接（网络过慢或被拦截），未作任何改动", retry=True) from None
        except requests.exceptions.SSLError as exc:
            raise SyncError("tls_failed", f"与平台的加密连接校验失败（证书不受信任或已过期）：{_short(exc)}",
                            retry=True) from None
        except requests.exceptions.ProxyError as exc:
            raise SyncError("proxy_failed", f"代理服务器连接失败：{_short(exc)}", retry=True) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise SyncError("unreachable", f"无法连接平台（网络不通或平台未开启）：{_short(exc)}", retry=True) from None
        except requests.exceptions.RequestException as exc:
            raise SyncError("http_failed", f"与平台通信失败：{_short(exc)}", retry=True) from None
        if 300 <= resp.status_code < 400:
            resp.close()
            where = _short(resp.headers.get("Location", "")) or "（未说明）"
            raise SyncError("redirected", f"平台地址的应答被转到了别处（HTTP {resp.status_code} → {where}），"
                                          "可能是网络登录页或代理拦截；未跟随，本站数据未发送到别处。"
                                          "请先在浏览器里完成上网登录，或检查平台地址与代理设置",
                            retry=True)
        return resp

    def _body(self, resp: requests.Response, limit: int, expect: str = "") -> bytes:
        """The answer's body, read at most ``limit`` bytes (after decompression) and within
        BODY_TIME_FACTOR read timeouts; with ``expect``, a 200 must carry that Content-Type."""
        try:
            if expect and resp.status_code == 200:
                kind = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if kind == "text/html":
                    raise SyncError("captive_portal", "收到的是一个网页而不是平台的应答，可能是网络登录页（上网认证）"
                                                      "或代理拦截；请先在浏览器里完成上网登录后再同步", retry=True)
                if kind != expect:
                    raise SyncError("bad_response", f"平台应答的类型不对（{_short(kind) or '未说明'}），"
                                                    "可能被代理改动，未作任何改动", retry=True)
            deadline = time.monotonic() + BODY_TIME_FACTOR * self.timeout[1]
            out = bytearray()
            while True:
                # read1: whatever one receive brings (a full-chunk read would wait for a trickle to fill
                # it, out of sight of the deadline); decompressed at most READ_CHUNK at a time
                chunk = resp.raw.read1(READ_CHUNK, decode_content=True)
                if not chunk:
                    break
                out += chunk
                if len(out) > limit:
                    raise SyncError("answer_too_large", f"平台的应答超过 {limit // 1024} KiB 上限，已中止读取"
                                                        "（可能被代理或网络篡改），未作任何改动", retry=True)
                if time.monotonic() > deadline:
                    raise SyncError("answer_too_slow", f"平台的应答在 {BODY_TIME_FACTOR * self.timeout[1]:.0f} 秒内"
                                                       "没有传完，已中止（网络过慢或被拦截），未作任何改动", retry=True)
            return bytes(out)
        except urllib3.exceptions.DecodeError as exc:
            raise SyncError("bad_response", f"平台应答的压缩数据无效：{_short(exc)}", retry=True) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SyncError("unreachable", f"与平台的连接在传输中断开：{_short(exc)}", retry=True) from None
        finally:
            resp.close()

    def _seen(self, resp: requests.Response) -> requests.Response:
        """Remember the platform's clock from an answer (X-Platform-Time, Unix ms)."""
        stamp = resp.headers.get("X-Platform-Time", "")
        if stamp.isascii() and stamp.isdigit() and len(stamp) <= 15:
            with self._lock:
                self.platform_time_ms = max(self.platform_time_ms or 0, int(stamp))
        return resp

    def health(self, timeout: float = 15.0) -> bool:
        """One probe, no retries (the caller schedules the next); the connection it opened stays in
        the pool, so a sync that follows at once does not pay for a new handshake."""
        session = getattr(self._local, "probe", None)
        if session is None:
            session = self._local.probe = self._new_session(self._probe_adapter)
        try:
            resp = self._seen(self._call("GET", "/v1/health", session=session,
                                         timeout=(min(timeout, self.timeout[0]), timeout)))
            self._body(resp, MAX_SMALL_BYTES)  # read (bounded) so the connection goes back to the pool
            return resp.status_code == 200
        except SyncError:
            return False

    def push(self, blob: bytes) -> PushReply:
        resp = self._seen(self._call("POST", "/v1/batches", data=blob,
                                     headers={"Content-Type": "application/vnd.village-station.envelope"}))
        body = self._body(resp, MAX_SMALL_BYTES, ACK_TYPE)
        if resp.status_code == 200:
            conflicts = resp.headers.get("X-Conflicts", "0")
            ahead = resp.headers.get("X-Clock-Ahead-Ms", "0")
            return PushReply(body, resp.headers.get("X-Ack-Status") == "duplicate",
                             conflicts=_count(conflicts), clock_ahead_ms=_count(ahead),
                             events_refused=_count(resp.headers.get("X-Events-Refused", "0")))
        code, message = _error_of(resp, body)
        return PushReply(None, False, code, message, resp.status_code, retry_after=retry_after_of(resp))

    def pull(self, signer: env.SecretKeys, after: int) -> tuple[list[bytes], bool]:
        target = f"/v1/inbox?after={after}"
        session = getattr(self._local, "inbox", None)
        if session is None:
            session = self._local.inbox = self._new_session(self._inbox_adapter)
        resp = self._seen(self._call("GET", target, session=session,
                                     headers={"X-Station-Auth": env.sign_request(signer, "GET", target)}))
        if resp.status_code != 200:
            code, message = _error_of(resp, self._body(resp, MAX_SMALL_BYTES))
            wait = retry_after_of(resp)
            if wait:
                raise busy(wait, message)
            raise SyncError(code, f"下载平台消息失败：{message}", retry=resp.status_code >= 500 or resp.status_code == 429)
        return split_frames(self._body(resp, MAX_PAGE_BYTES, ENVELOPES_TYPE)), resp.headers.get("X-More") == "1"


    def _signed_get(self, signer: env.SecretKeys, target: str, what: str,
                    expect: str) -> tuple[requests.Response, bytes, str]:
        auth = env.sign_request(signer, "GET", target)
        resp = self._seen(self._call("GET", target, headers={"X-Station-Auth": auth}))
        if resp.status_code != 200:
            code, message = _error_of(resp, self._body(resp, MAX_SMALL_BYTES))
            wait = retry_after_of(resp)
            if wait:
                raise busy(wait, message)
            raise SyncError(code, f"{what}失败：{message}", retry=resp.status_code >= 500 or resp.status_code == 429)
        return resp, self._body(resp, MAX_PAGE_BYTES, expect), auth

    def chain(self, signer: env.SecretKeys, platform: env.PublicKeys, after: int = 0) -> dict[str, Any]:
        """The platform's record of this device's own batch chain (catch-up), its signature verified."""
        resp, body, auth = self._signed_get(signer, f"/v1/chain?after={after}", "向平台核对本机批次链", JSON_TYPE)
        try:
            env.verify_answer(platform, auth, body, resp.headers.get("X-Platform-Signature", ""))
            data = json.loads(body)
            if not isinstance(data, dict) or data.get("station") != signer.id:
                raise ValueError
            return data
        except (env.EnvelopeError, ValueError):
            raise SyncError("bad_answer", "平台对批次链核对的应答无效（签名或内容不对），未作任何改动") from None

    def own(self, signer: env.SecretKeys, after: int) -> tuple[list[bytes], bool]:
        """Envelopes of this device's own events the platform holds above ``after``."""
        resp, body, _ = self._signed_get(signer, f"/v1/own?after={after}", "从平台取回本机数据", ENVELOPES_TYPE)
        return split_frames(body), resp.headers.get("X-More") == "1"


def busy(wait: float, message: str = "") -> SyncError:
    """The platform asked this station to wait: stop this sync and say when to come back."""
    seconds = max(1, round(wait))
    when = f"{seconds} 秒" if seconds < 120 else f"{round(seconds / 60)} 分钟"
    return SyncError("rate_limited", f"平台繁忙（{message or '请求过多'}），本次同步已停止，请约 {when}后再同步；"
                                     "待传数据仍保留在本站", retry=True, retry_after=float(seconds))


def _count(value: str) -> int:
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 15 else 0


def split_frames(data: bytes) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 4 > len(data):
            raise SyncError("bad_response", "平台返回的数据不完整", retry=True)
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        if pos + 4 + n > len(data):
            raise SyncError("bad_response", "平台返回的数据不完整", retry=True)
        out.append(data[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def _error_of(resp: requests.Response, body: bytes) -> tuple[str, str]:
    try:
        err = json.loads(body)["error"]
        return str(err["code"]), str(err["message"])
    except (ValueError, KeyError, TypeError):
        return f"http_{resp.status_code}", f"平台返回错误 HTTP {resp.status_code}"


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "…"
