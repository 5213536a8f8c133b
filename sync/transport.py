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
import struct
import threading
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import InvalidHeader, MaxRetryError, ResponseError
from urllib3.util.retry import Retry

from station.settings import URL_RULE, is_platform_url
from sync import envelope as env
from sync.errors import SyncError

USER_AGENT = "village-station-sync/1"
POOL_SIZE = 8  # ≥ the push window + the inbox pull
MAX_RETRY_WAIT = 10.0  # seconds a request waits in place for a busy platform; asked to wait longer, it stops
MAX_RETRY_AFTER = 24 * 3600  # a larger Retry-After is read as this


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


def retry_after_of(resp: requests.Response) -> float:
    """Seconds a 429/503 answer asked us to wait (0 when it did not say, or said nonsense)."""
    value = resp.headers.get("Retry-After", "").strip()
    if value.isascii() and value.isdigit() and len(value) <= 9:
        return float(min(int(value), MAX_RETRY_AFTER))
    return 0.0


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
        self._adapter = HTTPAdapter(max_retries=retry, pool_maxsize=POOL_SIZE)
        self._probe_adapter = HTTPAdapter(max_retries=Retry(0, read=False), pool_maxsize=POOL_SIZE)
        self._probe_adapter.poolmanager = self._adapter.poolmanager
        self._probe_adapter.proxy_manager = self._adapter.proxy_manager
        self._inbox_adapter = HTTPAdapter(max_retries=retry, pool_maxsize=2)

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
            return (session or self.session).request(method, self.url + path, timeout=timeout or self.timeout,
                                                     verify=self._settings[0] or True, **kw)
        except requests.exceptions.SSLError as exc:
            raise SyncError("tls_failed", f"与平台的加密连接校验失败（证书不受信任或已过期）：{_short(exc)}",
                            retry=True) from None
        except requests.exceptions.ProxyError as exc:
            raise SyncError("proxy_failed", f"代理服务器连接失败：{_short(exc)}", retry=True) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise SyncError("unreachable", f"无法连接平台（网络不通或平台未开启）：{_short(exc)}", retry=True) from None
        except requests.exceptions.RequestException as exc:
            raise SyncError("http_failed", f"与平台通信失败：{_short(exc)}", retry=True) from None

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
            return self._seen(self._call("GET", "/v1/health", session=session,
                                         timeout=(min(timeout, self.timeout[0]), timeout))).status_code == 200
        except SyncError:
            return False

    def push(self, blob: bytes) -> PushReply:
        resp = self._seen(self._call("POST", "/v1/batches", data=blob,
                                     headers={"Content-Type": "application/vnd.village-station.envelope"}))
        if resp.status_code == 200:
            conflicts = resp.headers.get("X-Conflicts", "0")
            ahead = resp.headers.get("X-Clock-Ahead-Ms", "0")
            return PushReply(resp.content, resp.headers.get("X-Ack-Status") == "duplicate",
                             conflicts=_count(conflicts), clock_ahead_ms=_count(ahead),
                             events_refused=_count(resp.headers.get("X-Events-Refused", "0")))
        code, message = _error_of(resp)
        return PushReply(None, False, code, message, resp.status_code, retry_after=retry_after_of(resp))

    def pull(self, signer: env.SecretKeys, after: int) -> tuple[list[bytes], bool]:
        target = f"/v1/inbox?after={after}"
        session = getattr(self._local, "inbox", None)
        if session is None:
            session = self._local.inbox = self._new_session(self._inbox_adapter)
        resp = self._seen(self._call("GET", target, session=session,
                                     headers={"X-Station-Auth": env.sign_request(signer, "GET", target)}))
        if resp.status_code != 200:
            code, message = _error_of(resp)
            wait = retry_after_of(resp)
            if wait:
                raise busy(wait, message)
            raise SyncError(code, f"下载平台消息失败：{message}", retry=resp.status_code >= 500 or resp.status_code == 429)
        return split_frames(resp.content), resp.headers.get("X-More") == "1"


    def _signed_get(self, signer: env.SecretKeys, target: str, what: str) -> tuple[requests.Response, str]:
        auth = env.sign_request(signer, "GET", target)
        resp = self._seen(self._call("GET", target, headers={"X-Station-Auth": auth}))
        if resp.status_code != 200:
            code, message = _error_of(resp)
            wait = retry_after_of(resp)
            if wait:
                raise busy(wait, message)
            raise SyncError(code, f"{what}失败：{message}", retry=resp.status_code >= 500 or resp.status_code == 429)
        return resp, auth

    def chain(self, signer: env.SecretKeys, platform: env.PublicKeys, after: int = 0) -> dict[str, Any]:
        """The platform's record of this device's own batch chain (catch-up), its signature verified."""
        resp, auth = self._signed_get(signer, f"/v1/chain?after={after}", "向平台核对本机批次链")
        try:
            env.verify_answer(platform, auth, resp.content, resp.headers.get("X-Platform-Signature", ""))
            data = json.loads(resp.content)
            if not isinstance(data, dict) or data.get("station") != signer.id:
                raise ValueError
            return data
        except (env.EnvelopeError, ValueError):
            raise SyncError("bad_answer", "平台对批次链核对的应答无效（签名或内容不对），未作任何改动") from None

    def own(self, signer: env.SecretKeys, after: int) -> tuple[list[bytes], bool]:
        """Envelopes of this device's own events the platform holds above ``after``."""
        resp, _ = self._signed_get(signer, f"/v1/own?after={after}", "从平台取回本机数据")
        return split_frames(resp.content), resp.headers.get("X-More") == "1"


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


def _error_of(resp: requests.Response) -> tuple[str, str]:
    try:
        err = resp.json()["error"]
        return str(err["code"]), str(err["message"])
    except (ValueError, KeyError, TypeError):
        return f"http_{resp.status_code}", f"平台返回错误 HTTP {resp.status_code}"


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "…"
